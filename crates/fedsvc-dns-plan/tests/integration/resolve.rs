//! The stub resolver over record lists.

use fedsvc_dns_plan::{Answer, MAX_CHAIN_LEN, resolve};
use fedsvc_model::{RecordSet, RecordType};

use crate::fixtures::*;

#[test]
fn cname_loops_are_detected() {
    let records = vec![
        RecordSet::cname(name("a.example.com"), 60, name("b.example.com")),
        RecordSet::cname(name("b.example.com"), 60, name("a.example.com")),
    ];
    let r = resolve(&records, &name("a.example.com"), &RecordType::A);
    assert!(matches!(r.answer, Answer::Loop { .. }), "{r:?}");
}

#[test]
fn long_chains_stop_at_the_limit() {
    let records: Vec<RecordSet> = (0..MAX_CHAIN_LEN + 2)
        .map(|i| {
            RecordSet::cname(
                name(&format!("n{i}.example.com")),
                60,
                name(&format!("n{}.example.com", i + 1)),
            )
        })
        .collect();
    let r = resolve(&records, &name("n0.example.com"), &RecordType::A);
    assert_eq!(
        r.answer,
        Answer::ChainTooLong {
            limit: MAX_CHAIN_LEN
        }
    );
    assert_eq!(r.chain.len(), MAX_CHAIN_LEN);
}

#[test]
fn nodata_for_other_types_and_empty_non_terminals() {
    let records = vec![
        a_set(&name("x.y.example.com"), 60, &["10.0.0.1"]),
        set(&name("t.example.com"), "TXT", 60, &["hello"]),
    ];
    let r = resolve(&records, &name("x.y.example.com"), &RecordType::Aaaa);
    assert_eq!(
        r.answer,
        Answer::NoData {
            name: name("x.y.example.com")
        }
    );
    let r = resolve(&records, &name("y.example.com"), &RecordType::A);
    assert_eq!(
        r.answer,
        Answer::NoData {
            name: name("y.example.com")
        }
    );
    let r = resolve(&records, &name("t.example.com"), &RecordType::A);
    assert!(matches!(r.answer, Answer::NoData { .. }));
    let r = resolve(&records, &name("z.example.com"), &RecordType::A);
    assert!(r.is_nxdomain());
    assert!(r.chain.is_empty());
}

#[test]
fn asking_for_the_cname_does_not_follow_it() {
    let records = vec![
        RecordSet::cname(name("a.example.com"), 60, name("b.example.com")),
        a_set(&name("b.example.com"), 60, &["10.0.0.1"]),
    ];
    let r = resolve(&records, &name("a.example.com"), &RecordType::Cname);
    assert!(r.chain.is_empty());
    assert!(matches!(&r.answer, Answer::Records(rs) if rs.rtype() == &RecordType::Cname));
    let r = resolve(&records, &name("a.example.com"), &RecordType::A);
    assert_eq!(r.final_name(), &name("b.example.com"));
    assert_eq!(r.addresses(), ips(&["10.0.0.1"]));
}
