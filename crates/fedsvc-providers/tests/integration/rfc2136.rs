//! The RFC 2136 backend against real BIND 9 and Knot.

use fedsvc_providers::{Config, DnsProvider, ProviderError, Rfc2136Provider};

use crate::conformance::{self, foreign_zone_lines, n};
use fedsvc_test_support::{KEY_NAME, READONLY_KEY, Server, ZONE, free_port};

fn provider(server: &Server, batch: usize) -> Rfc2136Provider {
    Rfc2136Provider::new(n(ZONE), server.addr)
        .with_tsig(KEY_NAME, "hmac-sha256", &server.secret)
        .unwrap()
        .with_batch_size(batch)
}

async fn conformance_on(server: Option<Server>) {
    let Some(server) = server else { return };
    let addr = server.addr;
    conformance::run_all(provider(&server, 3), Some(addr)).await;
    drop(server);
}

async fn wrong_key_on(server: Option<Server>) {
    let Some(server) = server else { return };
    conformance::wait_listable(&provider(&server, 50)).await;
    let wrong = Rfc2136Provider::new(n(ZONE), server.addr)
        .with_tsig(
            KEY_NAME,
            "hmac-sha256",
            "d3Jvbmcgc2VjcmV0IHdyb25nIHNlY3JldCB3cm9uZyE=",
        )
        .unwrap();
    let err = wrong
        .apply(&[conformance::create(vec![conformance::a(
            "x.example.com",
            60,
            &["10.0.0.1"],
        )])])
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, ProviderError::Unauthorized { .. }), "{text}");
    assert!(text.contains(&format!("rfc2136 {}", server.addr)), "{text}");
    assert!(
        text.contains("the server rejected TSIG key ddns-key (BADSIG): wrong secret or algorithm"),
        "{text}"
    );
    let err = wrong.list().await.unwrap_err();
    assert!(matches!(err, ProviderError::Unauthorized { .. }), "{err}");

    let unknown = Rfc2136Provider::new(n(ZONE), server.addr)
        .with_tsig("other-key", "hmac-sha256", &server.secret)
        .unwrap();
    let err = unknown
        .apply(&[conformance::create(vec![conformance::a(
            "x.example.com",
            60,
            &["10.0.0.1"],
        )])])
        .await
        .unwrap_err();
    assert!(matches!(err, ProviderError::Unauthorized { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("the server rejected TSIG key other-key (BADKEY)"),
        "{err}"
    );
    let err = unknown.list().await.unwrap_err();
    assert!(
        err.to_string()
            .contains("the server rejected TSIG key other-key (BADKEY)"),
        "{err}"
    );

    let unsigned = Rfc2136Provider::new(n(ZONE), server.addr);
    let err = unsigned
        .apply(&[conformance::create(vec![conformance::a(
            "x.example.com",
            60,
            &["10.0.0.1"],
        )])])
        .await
        .unwrap_err();
    assert!(matches!(err, ProviderError::Unauthorized { .. }), "{err}");
    println!("wrong key: {text}\nunsigned: {err}");
}

/// Refusals for a zone the server does not serve, a key without update permission and a wrong
/// secret each say what they are.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bind_refusals_name_their_cause() {
    let Some(server) = Server::bind(&[]) else {
        return;
    };
    conformance::wait_listable(&provider(&server, 50)).await;
    let change = |name: &str| {
        vec![conformance::create(vec![conformance::a(
            name,
            60,
            &["10.0.0.1"],
        )])]
    };
    let prefix = format!("rfc2136 {}: ", server.addr);

    // A zone the server does not serve: not a TSIG failure, whatever the server's rcode.
    let other = Rfc2136Provider::new(n("other.org"), server.addr)
        .with_tsig(KEY_NAME, "hmac-sha256", &server.secret)
        .unwrap();
    for err in [
        other.apply(&change("x.other.org")).await.unwrap_err(),
        other.list().await.unwrap_err(),
    ] {
        let text = err.to_string();
        assert!(matches!(err, ProviderError::Invalid { .. }), "{text}");
        assert!(text.starts_with(&prefix), "{text}");
        assert!(
            text.contains("the server does not serve zone other.org ("),
            "{text}"
        );
        assert!(!text.contains("TSIG"), "{text}");
    }

    // A key the server accepts, without the right to update.
    let readonly = Rfc2136Provider::new(n(ZONE), server.addr)
        .with_tsig(READONLY_KEY, "hmac-sha256", &server.secret)
        .unwrap();
    let err = readonly.apply(&change("x.example.com")).await.unwrap_err();
    assert!(matches!(err, ProviderError::Unauthorized { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        format!(
            "{prefix}unauthorized: UPDATE: REFUSED: key {READONLY_KEY} may not update zone {ZONE} (check the server's update-policy, or the acl)"
        )
    );
    readonly.list().await.unwrap();

    // A wrong secret, for both requests.
    let wrong = Rfc2136Provider::new(n(ZONE), server.addr)
        .with_tsig(
            KEY_NAME,
            "hmac-sha256",
            "d3Jvbmcgc2VjcmV0IHdyb25nIHNlY3JldCB3cm9uZyE=",
        )
        .unwrap();
    for (what, err) in [
        (
            "UPDATE",
            wrong.apply(&change("x.example.com")).await.unwrap_err(),
        ),
        ("AXFR", wrong.list().await.unwrap_err()),
    ] {
        assert_eq!(
            err.to_string(),
            format!(
                "{prefix}unauthorized: {what}: the server rejected TSIG key {KEY_NAME} (BADSIG): wrong secret or algorithm"
            )
        );
    }
}

/// Knot: a zone it does not serve and a wrong secret are named as such.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn knot_refusals_name_their_cause() {
    let Some(server) = Server::knot(&[]) else {
        return;
    };
    conformance::wait_listable(&provider(&server, 50)).await;
    let change = |name: &str| {
        vec![conformance::create(vec![conformance::a(
            name,
            60,
            &["10.0.0.1"],
        )])]
    };
    let other = Rfc2136Provider::new(n("other.org"), server.addr)
        .with_tsig(KEY_NAME, "hmac-sha256", &server.secret)
        .unwrap();
    for err in [
        other.apply(&change("x.other.org")).await.unwrap_err(),
        other.list().await.unwrap_err(),
    ] {
        let text = err.to_string();
        assert!(matches!(err, ProviderError::Invalid { .. }), "{text}");
        assert!(
            text.contains("the server does not serve zone other.org ("),
            "{text}"
        );
    }
    let wrong = Rfc2136Provider::new(n(ZONE), server.addr)
        .with_tsig(
            KEY_NAME,
            "hmac-sha256",
            "d3Jvbmcgc2VjcmV0IHdyb25nIHNlY3JldCB3cm9uZyE=",
        )
        .unwrap();
    for err in [
        wrong.apply(&change("x.example.com")).await.unwrap_err(),
        wrong.list().await.unwrap_err(),
    ] {
        let text = err.to_string();
        assert!(
            text.contains(&format!(
                "the server rejected TSIG key {KEY_NAME} (BADSIG): wrong secret or algorithm"
            )),
            "{text}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bind_conformance() {
    conformance_on(Server::bind(&foreign_zone_lines())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bind_wrong_key() {
    wrong_key_on(Server::bind(&[])).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn knot_conformance() {
    conformance_on(Server::knot(&foreign_zone_lines())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn knot_wrong_key() {
    wrong_key_on(Server::knot(&[])).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_down_is_retryable() {
    let addr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let p = Rfc2136Provider::new(n(ZONE), addr)
        .with_tsig(KEY_NAME, "hmac-sha256", "c2VjcmV0")
        .unwrap()
        .with_timeout(std::time::Duration::from_millis(500));
    conformance::down_is_retryable(p).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_bind_is_retryable_and_keeps_zone() {
    let Some(mut server) = Server::bind(&foreign_zone_lines()) else {
        return;
    };
    let p = provider(&server, 50).with_timeout(std::time::Duration::from_millis(500));
    conformance::wait_listable(&p).await;
    server.kill();
    conformance::down_is_retryable(p).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn built_from_config_with_secret_file() {
    let Some(server) = Server::bind(&[]) else {
        return;
    };
    let key_file = server.dir.path().join("fedsvc.key");
    std::fs::write(&key_file, format!("{}\n", server.secret)).unwrap();
    let config = Config::from_yaml(&format!(
        "zone: {ZONE}\nprovider:\n  kind: rfc2136\n  server: {}\n  tsig: {{name: {KEY_NAME}, algorithm: hmac-sha256, secretFile: {}}}\n",
        server.addr,
        key_file.display()
    ))
    .unwrap();
    let p = config.build().await.unwrap();
    assert_eq!(p.name(), format!("rfc2136 {}", server.addr));
    conformance::wait_listable(&*p).await;
    p.apply(&[conformance::create(vec![conformance::a(
        "cfg.example.com",
        60,
        &["10.0.0.9"],
    )])])
    .await
    .unwrap();
    assert!(p.list().await.unwrap().contains(&conformance::a(
        "cfg.example.com",
        60,
        &["10.0.0.9"]
    )));
}

/// A zone too big for one AXFR message: the signed, multi-message transfer is read whole.
async fn large_zone_on(server: Option<Server>) {
    let Some(server) = server else { return };
    let p = fedsvc_providers::Retrying::new(provider(&server, 200));
    conformance::wait_listable(&p).await;
    let groups: Vec<_> = (0..1500)
        .map(|i| {
            conformance::create(vec![conformance::txt(
                &format!("n{i}.bulk.example.com"),
                60,
                &format!("heritage=fedsvc,fedsvc/owner=test,record number {i:05} padding padding"),
            )])
        })
        .collect();
    let report = p
        .apply_changes(&conformance::changes(groups))
        .await
        .unwrap();
    assert_eq!(report.batches, 8);
    let listed = p.list().await.unwrap();
    let bulk = listed
        .iter()
        .filter(|r| r.name().as_str().ends_with(".bulk.example.com."))
        .count();
    assert_eq!(bulk, 1500);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bind_large_zone() {
    large_zone_on(Server::bind(&[])).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn knot_large_zone() {
    large_zone_on(Server::knot(&[])).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bind_hmac_sha384_and_sha512() {
    for algorithm in ["hmac-sha384", "hmac-sha512"] {
        let Some(server) = Server::bind_with(&[], algorithm) else {
            return;
        };
        let p = Rfc2136Provider::new(n(ZONE), server.addr)
            .with_tsig(KEY_NAME, algorithm, &server.secret)
            .unwrap();
        conformance::wait_listable(&p).await;
        let rs = conformance::a("alg.example.com", 60, &["10.0.0.5"]);
        p.apply(&[conformance::create(vec![rs.clone()])])
            .await
            .unwrap();
        assert!(p.list().await.unwrap().contains(&rs), "{algorithm}");
        // The right secret under another algorithm is refused.
        let other = if algorithm == "hmac-sha384" {
            "hmac-sha512"
        } else {
            "hmac-sha384"
        };
        let wrong = Rfc2136Provider::new(n(ZONE), server.addr)
            .with_tsig(KEY_NAME, other, &server.secret)
            .unwrap();
        let err = wrong.list().await.unwrap_err();
        assert!(matches!(err, ProviderError::Unauthorized { .. }), "{err}");
    }
    assert!(
        Rfc2136Provider::new(n(ZONE), "127.0.0.1:53".parse().unwrap())
            .with_tsig(KEY_NAME, "hmac-md5", "c2VjcmV0")
            .unwrap_err()
            .to_string()
            .contains("hmac-md5")
    );
}

/// The zone-file lines and record sets of a zone of `names` × (A with two addresses, TXT):
/// `2 × names` record sets under `big.example.com`.
fn big_zone(names: usize) -> (Vec<String>, Vec<fedsvc_model::RecordSet>) {
    let mut lines = Vec::with_capacity(names * 3);
    let mut sets = Vec::with_capacity(names * 2);
    for i in 0..names {
        let name = format!("n{i}.big.{ZONE}");
        let (x, y) = (i / 250, i % 250 + 1);
        lines.push(format!("{name}. 60 IN A 10.1.{x}.{y}"));
        lines.push(format!("{name}. 60 IN A 10.2.{x}.{y}"));
        lines.push(format!(
            "{name}. 60 IN TXT \"heritage=fedsvc,fedsvc/owner=test,record {i:06}\""
        ));
        sets.push(conformance::a(
            &name,
            60,
            &[&format!("10.1.{x}.{y}"), &format!("10.2.{x}.{y}")],
        ));
        sets.push(conformance::txt(
            &name,
            60,
            &format!("heritage=fedsvc,fedsvc/owner=test,record {i:06}"),
        ));
    }
    (lines, sets)
}

/// A zone far larger than one AXFR message is listed whole, every time.
async fn huge_zone_listed_whole(names: usize, server: Option<Server>) {
    let (_, mut want) = big_zone(names);
    let Some(server) = server else { return };
    let p = provider(&server, 50).with_timeout(std::time::Duration::from_secs(10));
    conformance::wait_listable(&p).await;
    want.sort();
    for round in 0..3 {
        let start = std::time::Instant::now();
        let mut listed: Vec<_> = p
            .list()
            .await
            .unwrap()
            .into_iter()
            .filter(|r| r.name().as_str().ends_with(".big.example.com."))
            .collect();
        listed.sort();
        assert_eq!(
            listed.len(),
            want.len(),
            "{} round {round}: listed {} of {} record sets",
            server.what,
            listed.len(),
            want.len()
        );
        assert!(
            listed == want,
            "{} round {round}: content differs",
            server.what
        );
        println!(
            "{}: listed {} record sets in {:?}",
            server.what,
            listed.len(),
            start.elapsed()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bind_huge_zone_listed_whole() {
    let (lines, _) = big_zone(12_000);
    huge_zone_listed_whole(12_000, Server::bind(&lines)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn knot_huge_zone_listed_whole() {
    let (lines, _) = big_zone(3_000);
    huge_zone_listed_whole(3_000, Server::knot(&lines)).await;
}

/// `names` A sets of `count` addresses at `u{i}.split.example.com`, the third octet `third`.
fn wide_sets(names: usize, count: usize, third: u8) -> Vec<fedsvc_model::RecordSet> {
    (0..names)
        .map(|i| {
            let ips: Vec<String> = (0..count)
                .map(|k| format!("10.{third}.{}.{}", i / 200, (i % 200) + k))
                .collect();
            let ips: Vec<&str> = ips.iter().map(String::as_str).collect();
            conformance::a(&format!("u{i}.split.{ZONE}"), 60, &ips)
        })
        .collect()
}

/// A batch of updates of multi-address sets larger than one DNS message (65 535 bytes) is
/// sent as several UPDATE messages, split between groups, and applied whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bind_batch_larger_than_one_message_is_split() {
    const NAMES: usize = 300;
    let old = wide_sets(NAMES, 13, 1);
    let lines: Vec<String> = old
        .iter()
        .flat_map(|rs| {
            rs.data()
                .iter()
                .map(|d| format!("{} 60 IN A {d}", rs.name()))
                .collect::<Vec<_>>()
        })
        .collect();
    let Some(server) = Server::bind(&lines) else {
        return;
    };
    let p = provider(&server, 10_000);
    conformance::wait_listable(&p).await;
    let new = wide_sets(NAMES, 12, 2);
    let batch: Vec<fedsvc_dns_plan::ChangeGroup> = old
        .iter()
        .zip(&new)
        .map(|(o, n)| {
            let mut g = fedsvc_dns_plan::ChangeGroup::new(o.name().clone());
            g.update_old = vec![o.clone()];
            g.update_new = vec![n.clone()];
            g
        })
        .collect();
    p.apply(&batch).await.unwrap();
    let sent = p.update_messages_sent();
    // ~650 bytes per group: 300 groups need ~195 000 bytes, at most 60 000 per message.
    assert!((4..=6).contains(&sent), "{sent} UPDATE messages");
    let listed = p.list().await.unwrap();
    for rs in &new {
        assert!(listed.contains(rs), "{} not updated", rs.name());
    }
    let split = listed
        .iter()
        .filter(|r| r.name().as_str().ends_with(".split.example.com."))
        .count();
    assert_eq!(split, NAMES);
    println!("{NAMES} updates of 13-address sets: {sent} UPDATE messages");

    // The same batch again: its prerequisites no longer hold, so the first message is refused
    // as a conflict and nothing more is sent.
    let err = p.apply(&batch).await.unwrap_err();
    assert!(matches!(err, ProviderError::Conflict { .. }), "{err}");
    assert_eq!(p.update_messages_sent(), sent + 1);
}

/// One group too large for any DNS message is refused, naming it, before anything is sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bind_group_too_large_for_one_message_is_invalid() {
    let Some(server) = Server::bind(&[]) else {
        return;
    };
    let p = provider(&server, 10_000);
    conformance::wait_listable(&p).await;
    let before = p.list().await.unwrap();
    let small = conformance::create(vec![conformance::a("ok.example.com", 60, &["10.0.0.1"])]);
    // 1 500 addresses (~24 000 bytes) and a 40 000-character TXT: fine apart, too large
    // together, and one group (both at one name) cannot be split.
    let ips: Vec<String> = (0..1500)
        .map(|k| format!("10.0.{}.{}", k / 250, k % 250 + 1))
        .collect();
    let ips: Vec<&str> = ips.iter().map(String::as_str).collect();
    let huge_group = conformance::create(vec![
        conformance::a("huge.example.com", 60, &ips),
        conformance::txt("huge.example.com", 60, &"x".repeat(40_000)),
    ]);
    let err = p.apply(&[small, huge_group]).await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, ProviderError::Invalid { .. }), "{text}");
    assert!(text.contains("huge.example.com"), "{text}");
    assert!(text.contains(&format!("rfc2136 {}", server.addr)), "{text}");
    assert_eq!(p.update_messages_sent(), 0);
    assert_eq!(p.list().await.unwrap(), before);
    println!("oversized group: {text}");
}

/// A primary on 127.0.0.1 that answers every AXFR with the zone's SOA and then A records
/// forever, never the closing SOA; its address.
async fn endless_primary() -> std::net::SocketAddr {
    use hickory_proto::op::{Message, OpCode};
    use hickory_proto::rr::rdata::{A, SOA};
    use hickory_proto::rr::{Name, RData, Record};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut len = [0u8; 2];
                if conn.read_exact(&mut len).await.is_err() {
                    return;
                }
                let mut query = vec![0u8; usize::from(u16::from_be_bytes(len))];
                if conn.read_exact(&mut query).await.is_err() {
                    return;
                }
                let query = Message::from_vec(&query).unwrap();
                let zone = Name::from_ascii(format!("{ZONE}.")).unwrap();
                let frame = |m: Message| {
                    let wire = m.to_vec().unwrap();
                    let mut framed = (wire.len() as u16).to_be_bytes().to_vec();
                    framed.extend_from_slice(&wire);
                    framed
                };
                let mut first = Message::response(query.metadata.id, OpCode::Query);
                first.add_queries(query.queries.clone());
                first.add_answer(Record::from_rdata(
                    zone.clone(),
                    300,
                    RData::SOA(SOA::new(
                        Name::from_ascii("ns.example.com.").unwrap(),
                        Name::from_ascii("hostmaster.example.com.").unwrap(),
                        1,
                        3600,
                        600,
                        86400,
                        60,
                    )),
                ));
                let mut more = Message::response(query.metadata.id, OpCode::Query);
                more.add_answers((0..50u8).map(|i| {
                    Record::from_rdata(
                        Name::from_ascii(format!("n{i}.{ZONE}.")).unwrap(),
                        60,
                        RData::A(A::new(10, 0, 0, i)),
                    )
                }));
                if conn.write_all(&frame(first)).await.is_err() {
                    return;
                }
                let more = frame(more);
                while conn.write_all(&more).await.is_ok() {}
            });
        }
    });
    addr
}

/// A listing through the retry layer, against a server streaming an endless zone transfer:
/// it stops at the configured limit, promptly, with an error naming it, and is not retried.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_transfer_stops_at_the_configured_limit() {
    let addr = endless_primary().await;
    for (settings, words) in [
        (
            "maxListRecords: 5000",
            "goes on past 5000 records, the limit of one listing (provider.maxListRecords)",
        ),
        (
            "maxListBytes: 1048576",
            "goes on past 1 MiB, the limit of one listing (provider.maxListBytes)",
        ),
    ] {
        let config = Config::from_yaml(&format!(
            "zone: {ZONE}\nprovider:\n  kind: rfc2136\n  server: {addr}\n  {settings}\n"
        ))
        .unwrap();
        let p = fedsvc_providers::Retrying::new(config.build().await.unwrap());
        let started = std::time::Instant::now();
        let err = p.list().await.unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, ProviderError::Invalid { .. }), "{text}");
        assert!(text.contains(words), "{text}");
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "took {:?}",
            started.elapsed()
        );
    }
}
