//! Arbitrary names through the name parsers, the cluster-local answer and the resolver.
#![no_main]

use fedsvc_dns_plan::{LocalContext, Naming, local_answer, resolve};
use fedsvc_model::{DnsName, Label, LabelRules, RecordSet, RecordType, ServiceKey, ZoneNaming};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(query) = DnsName::parse(text) else {
        return;
    };
    let l = |s: &str| Label::parse(s, LabelRules::Rfc1123, "label").expect("valid");
    let suffix = DnsName::parse("example.com").expect("valid");
    for zn in [ZoneNaming::Zone, ZoneNaming::ZoneRegion] {
        let naming = Naming::new(l("fed"), suffix.clone(), zn);
        if let Some(p) = naming.parse(&query) {
            // A parsed global name is rebuilt exactly.
            if p.locality == fedsvc_dns_plan::Locality::Global {
                assert_eq!(naming.global(&p.key).expect("fits"), query);
            }
        }
        let lookup = |k: &ServiceKey| k.name.as_str().len() % 2 == 0;
        let ctx = LocalContext::new(l("z1"), l("r1"), &lookup).with_federation(
            l("fed"),
            suffix.clone(),
            zn,
        );
        let _ = local_answer(&query, &ctx);
    }
    let records = vec![RecordSet::cname(query.clone(), 60, query.clone())];
    let r = resolve(&records, &query, &RecordType::A);
    assert!(!r.is_nxdomain());
});
