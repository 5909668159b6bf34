//! The cluster-local answer for federated names.

use std::collections::BTreeSet;

use fedsvc_dns_plan::{LocalAnswer, LocalContext, local_answer};
use fedsvc_model::{ServiceKey, ZoneNaming};

use crate::fixtures::*;

fn ctx<'a>(lookup: &'a dyn Fn(&ServiceKey) -> bool, zn: ZoneNaming) -> LocalContext<'a> {
    LocalContext::new(label("us-central1-f"), label("us-central1"), lookup).with_federation(
        label("myfederation"),
        name("example.com"),
        zn,
    )
}

#[test]
fn healthy_local_service_is_a_cname_to_its_cluster_local_name() {
    let ready: BTreeSet<ServiceKey> = [ServiceKey::parse("mynamespace", "nginx").unwrap()].into();
    let lookup = |k: &ServiceKey| ready.contains(k);
    let c = ctx(&lookup, ZoneNaming::Zone);
    let q = name("nginx.mynamespace.myfederation.svc.cluster.local");
    assert_eq!(
        local_answer(&q, &c),
        LocalAnswer::Local {
            target: name("nginx.mynamespace.svc.cluster.local")
        }
    );
    // Another service of the same federation, not healthy here.
    let q = name("other.mynamespace.myfederation.svc.cluster.local");
    assert_eq!(
        local_answer(&q, &c),
        LocalAnswer::Federated {
            target: name("other.mynamespace.myfederation.svc.us-central1-f.example.com")
        }
    );
}

#[test]
fn zone_region_naming_targets_the_zone_region_name() {
    let lookup = |_: &ServiceKey| false;
    let c = ctx(&lookup, ZoneNaming::ZoneRegion);
    let q = name("nginx.mynamespace.myfederation.svc.cluster.local");
    assert_eq!(
        local_answer(&q, &c),
        LocalAnswer::Federated {
            target: name(
                "nginx.mynamespace.myfederation.svc.us-central1-f.us-central1.example.com"
            )
        }
    );
}

#[test]
fn other_names_are_not_federated() {
    let lookup = |_: &ServiceKey| true;
    let c = ctx(&lookup, ZoneNaming::Zone);
    for q in [
        "nginx.mynamespace.svc.cluster.local",
        "nginx.mynamespace.otherfed.svc.cluster.local",
        "nginx.mynamespace.myfederation",
        "nginx.mynamespace.myfederation.svc.example.com",
        "nginx.mynamespace.myfederation.pod.cluster.local",
        "a.nginx.mynamespace.myfederation.svc.cluster.local",
        "_x.mynamespace.myfederation.svc.cluster.local",
    ] {
        assert_eq!(local_answer(&name(q), &c), LocalAnswer::NotFederated, "{q}");
    }
}

#[test]
fn a_custom_cluster_domain_is_honoured() {
    let lookup = |_: &ServiceKey| true;
    let c = ctx(&lookup, ZoneNaming::Zone).with_cluster_domain(name("corp.internal"));
    assert_eq!(
        local_answer(&name("web.shop.myfederation.svc.corp.internal"), &c),
        LocalAnswer::Local {
            target: name("web.shop.svc.corp.internal")
        }
    );
    assert_eq!(
        local_answer(&name("web.shop.myfederation.svc.cluster.local"), &c),
        LocalAnswer::NotFederated
    );
}
