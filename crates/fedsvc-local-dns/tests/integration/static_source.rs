//! A responder fed by a `StaticServices` table, asked by hickory's client and by `dig`.

use fedsvc_local_dns::StaticServices;
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;

use crate::util::{
    LOCAL_TARGET, QNAME, ZONE_TARGET, ask, dig, dig_available, nginx, start_static, summary,
};

#[tokio::test]
async fn udp_and_tcp_a_and_aaaa_follow_local_health() {
    let services = StaticServices::new().with_ready_endpoints(nginx(), 2);
    let server = start_static(&services).await;
    let addr = server.local_addr();
    let expect = |target: &str| (ResponseCode::NoError, Some(target.to_owned()));
    for tcp in [false, true] {
        for t in [RecordType::A, RecordType::AAAA] {
            let r = ask(addr, QNAME, t, tcp).await;
            assert_eq!(summary(&r), expect(LOCAL_TARGET), "tcp={tcp} {t}");
            assert!(r.metadata.authoritative);
            assert_eq!(r.answers.len(), 1);
            assert_eq!(r.answers[0].ttl, 5);
        }
    }
    // endpoints gone: the zone-level federated name, at once
    services.set_ready_endpoints(nginx(), 0);
    for tcp in [false, true] {
        let r = ask(addr, QNAME, RecordType::A, tcp).await;
        assert_eq!(summary(&r), expect(ZONE_TARGET), "tcp={tcp}");
    }
    // service deleted: same
    services.remove(&nginx());
    let r = ask(addr, QNAME, RecordType::AAAA, false).await;
    assert_eq!(summary(&r), expect(ZONE_TARGET));
    // back
    services.set_ready_endpoints(nginx(), 1);
    let r = ask(addr, QNAME, RecordType::A, true).await;
    assert_eq!(summary(&r), expect(LOCAL_TARGET));
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn names_outside_the_federated_forms() {
    let services = StaticServices::new().with_ready_endpoints(nginx(), 2);
    let server = start_static(&services).await;
    let addr = server.local_addr();
    for name in [
        "nginx.mynamespace.unknownfed.svc.cluster.local.",
        "nginx.mynamespace.myfederation.svc.other.local.",
        "nginx.mynamespace.svc.cluster.local.",
        "nginx.mynamespace.myfederation.mynamespace.svc.cluster.local.",
        "example.com.",
    ] {
        let r = ask(addr, name, RecordType::A, false).await;
        assert_eq!(r.metadata.response_code, ResponseCode::Refused, "{name}");
        assert!(!r.metadata.authoritative, "{name}");
        assert!(r.answers.is_empty(), "{name}");
    }
    let r = ask(addr, &format!("www.{QNAME}"), RecordType::A, false).await;
    assert_eq!(r.metadata.response_code, ResponseCode::NXDomain);
    assert!(r.metadata.authoritative);
    assert_eq!(r.authorities[0].record_type(), RecordType::SOA);
    let r = ask(
        addr,
        "mynamespace.myfederation.svc.cluster.local.",
        RecordType::A,
        true,
    )
    .await;
    assert_eq!(r.metadata.response_code, ResponseCode::NoError);
    assert!(r.answers.is_empty());
    let r = ask(
        addr,
        "myfederation.svc.cluster.local.",
        RecordType::SOA,
        false,
    )
    .await;
    assert_eq!(r.answers[0].record_type(), RecordType::SOA);
}

#[tokio::test]
async fn dig_sees_the_cname_and_its_change() {
    if !dig_available() {
        return;
    }
    let services = StaticServices::new().with_ready_endpoints(nginx(), 3);
    let server = start_static(&services).await;
    let addr = server.local_addr();
    for (qtype, extra) in [("A", &[][..]), ("AAAA", &[][..]), ("A", &["+tcp"][..])] {
        let d = dig(addr, QNAME, qtype, extra).await;
        assert_eq!(d.status, "NOERROR", "{qtype} {extra:?}");
        assert!(
            d.flags.split_whitespace().any(|f| f == "aa"),
            "flags {:?}",
            d.flags
        );
        assert_eq!(
            d.answers,
            vec![(
                QNAME.to_owned(),
                5,
                "CNAME".to_owned(),
                LOCAL_TARGET.to_owned()
            )],
            "{qtype} {extra:?}"
        );
    }
    services.set_ready_endpoints(nginx(), 0);
    let d = dig(addr, QNAME, "A", &[]).await;
    assert_eq!(
        d.answers,
        vec![(
            QNAME.to_owned(),
            5,
            "CNAME".to_owned(),
            ZONE_TARGET.to_owned()
        )]
    );
    let d = dig(
        addr,
        "nginx.mynamespace.unknownfed.svc.cluster.local",
        "A",
        &[],
    )
    .await;
    assert_eq!(d.status, "REFUSED");
    let d = dig(addr, &format!("www.{QNAME}"), "A", &["+tcp"]).await;
    assert_eq!(d.status, "NXDOMAIN");
    server.shutdown().await.unwrap();
}
