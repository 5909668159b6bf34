//! The PowerDNS backend against a real pdns-server (sqlite backend).

use std::sync::{Arc, Mutex};

use fedsvc_dns_plan::ChangeGroup;
use fedsvc_model::RecordSet;
use fedsvc_providers::{Config, DnsProvider, PowerDnsProvider, ProviderError, Secret};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::conformance::{self, foreign_records, n};
use fedsvc_test_support::{Server, ZONE, free_port};

fn url(server: &Server) -> String {
    format!("http://{}", server.api.unwrap())
}

/// Creates the zone through the API and seeds the foreign records.
async fn create_zone(server: &Server, foreign: &[RecordSet]) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::new();
    let zones = format!("{}/api/v1/servers/localhost/zones", url(server));
    let r = http
        .post(&zones)
        .header("X-API-Key", &server.secret)
        .json(&json!({"name": format!("{ZONE}."), "kind": "Native", "nameservers": [format!("ns.{ZONE}.")]}))
        .send()
        .await
        .unwrap();
    assert!(
        r.status().is_success(),
        "create zone: {} {}",
        r.status(),
        r.text().await.unwrap()
    );
    let rrsets: Vec<_> = foreign
        .iter()
        .map(|rs| {
            json!({
                "name": rs.name().as_str(),
                "type": rs.rtype().as_str(),
                "ttl": rs.ttl(),
                "changetype": "REPLACE",
                "records": rs.data().iter().map(|d| json!({"content": d.to_zone_text(), "disabled": false})).collect::<Vec<_>>(),
            })
        })
        .collect();
    let r = http
        .patch(format!("{zones}/{ZONE}."))
        .header("X-API-Key", &server.secret)
        .json(&json!({ "rrsets": rrsets }))
        .send()
        .await
        .unwrap();
    assert!(
        r.status().is_success(),
        "seed zone: {} {}",
        r.status(),
        r.text().await.unwrap()
    );
}

fn provider(server: &Server) -> PowerDnsProvider {
    PowerDnsProvider::new(
        n(ZONE),
        &url(server),
        Secret::new(server.secret.clone()),
        "localhost",
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pdns_conformance() {
    let Some(server) = Server::powerdns() else {
        return;
    };
    create_zone(&server, &foreign_records()).await;
    conformance::run_all(provider(&server).with_batch_size(3), Some(server.addr)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pdns_wrong_key_and_missing_zone() {
    let Some(server) = Server::powerdns() else {
        return;
    };
    let wrong =
        PowerDnsProvider::new(n(ZONE), &url(&server), Secret::new("wrong"), "localhost").unwrap();
    let err = wrong.list().await.unwrap_err();
    assert!(matches!(err, ProviderError::Unauthorized { .. }), "{err}");
    assert!(
        err.to_string()
            .contains(&format!("powerdns {}", url(&server))),
        "{err}"
    );
    assert!(err.to_string().contains("API key rejected"), "{err}");
    // The zone does not exist yet.
    let err = provider(&server).list().await.unwrap_err();
    assert!(matches!(err, ProviderError::Invalid { .. }), "{err}");
    assert!(err.to_string().contains("example.com. not found"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pdns_down_is_retryable() {
    let p = PowerDnsProvider::new(
        n(ZONE),
        &format!("http://127.0.0.1:{}", free_port()),
        Secret::new("k"),
        "localhost",
    )
    .unwrap();
    conformance::down_is_retryable(p).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pdns_built_from_config_with_key_file() {
    let Some(server) = Server::powerdns() else {
        return;
    };
    create_zone(&server, &[]).await;
    let key_file = server.dir.path().join("api.key");
    std::fs::write(&key_file, format!("{}\n", server.secret)).unwrap();
    let config = Config::from_yaml(&format!(
        "zone: {ZONE}\nprovider:\n  kind: powerdns\n  url: {}\n  apiKeyFile: {}\n",
        url(&server),
        key_file.display()
    ))
    .unwrap();
    let p = config.build().await.unwrap();
    let rs = conformance::a("cfg.example.com", 60, &["10.0.0.9"]);
    p.apply(&[conformance::create(vec![rs.clone()])])
        .await
        .unwrap();
    assert!(p.list().await.unwrap().contains(&rs));
}

/// A TCP proxy in front of the API that keeps what clients send, to count requests.
struct Proxy {
    addr: std::net::SocketAddr,
    sent: Arc<Mutex<Vec<Vec<u8>>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    async fn start(upstream: std::net::SocketAddr) -> Proxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let sent: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
        let log = sent.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let log = log.clone();
                tokio::spawn(async move {
                    let Ok(server) = tokio::net::TcpStream::connect(upstream).await else {
                        return;
                    };
                    let index = {
                        let mut l = log.lock().unwrap();
                        l.push(Vec::new());
                        l.len() - 1
                    };
                    let (mut client_read, mut client_write) = client.into_split();
                    let (mut server_read, mut server_write) = server.into_split();
                    let back = tokio::spawn(async move {
                        let _ = tokio::io::copy(&mut server_read, &mut client_write).await;
                    });
                    let mut buf = vec![0u8; 16 * 1024];
                    loop {
                        let n = match client_read.read(&mut buf).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        log.lock().unwrap()[index].extend_from_slice(&buf[..n]);
                        if server_write.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                    back.abort();
                });
            }
        });
        Proxy { addr, sent, task }
    }

    /// (filtered GETs of the zone, whole-zone GETs, PATCHes) received so far.
    fn counts(&self) -> (usize, usize, usize) {
        let zone = format!("/api/v1/servers/localhost/zones/{ZONE}.");
        let (mut filtered, mut whole, mut patches) = (0, 0, 0);
        for conn in self.sent.lock().unwrap().iter() {
            let text = String::from_utf8_lossy(conn);
            for line in text.split("\r\n") {
                if line.starts_with(&format!("GET {zone}?rrset_name=")) {
                    filtered += 1;
                } else if line.starts_with(&format!("GET {zone} ")) {
                    whole += 1;
                } else if line.starts_with(&format!("PATCH {zone} ")) {
                    patches += 1;
                }
            }
        }
        (filtered, whole, patches)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A batch is checked by reading only the names it touches (`?rrset_name=`), never the whole
/// zone, and the checks still hold against a zone with many other names.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pdns_batch_reads_only_its_names() {
    let Some(server) = Server::powerdns() else {
        return;
    };
    create_zone(&server, &foreign_records()).await;
    let proxy = Proxy::start(server.api.unwrap()).await;
    let p = PowerDnsProvider::new(
        n(ZONE),
        &format!("http://{}", proxy.addr),
        Secret::new(server.secret.clone()),
        "localhost",
    )
    .unwrap();
    // 400 names in one batch, before the zone was listed: one read per name.
    let groups: Vec<ChangeGroup> = (0..400)
        .map(|i| {
            conformance::create(vec![conformance::a(
                &format!("n{i:03}.svc.example.com"),
                60,
                &["10.0.0.1", "10.0.0.2"],
            )])
        })
        .collect();
    p.apply(&groups).await.unwrap();
    assert_eq!(proxy.counts(), (400, 0, 1), "one read per name, one PATCH");

    // A batch of three names in a zone of 400: three reads.
    let mut update = ChangeGroup::new(n("n007.svc.example.com"));
    update.update_old.push(conformance::a(
        "n007.svc.example.com",
        60,
        &["10.0.0.1", "10.0.0.2"],
    ));
    update
        .update_new
        .push(conformance::a("n007.svc.example.com", 30, &["10.0.0.3"]));
    let flip = {
        let mut g = ChangeGroup::new(n("n200.svc.example.com"));
        g.delete.push(conformance::a(
            "n200.svc.example.com",
            60,
            &["10.0.0.1", "10.0.0.2"],
        ));
        g.create.push(conformance::cname(
            "n200.svc.example.com",
            60,
            "n007.svc.example.com",
        ));
        g
    };
    let fresh = conformance::create(vec![conformance::txt(
        "_fedsvc.n299.svc.example.com",
        60,
        "heritage=fedsvc",
    )]);
    p.apply(&[update, flip, fresh]).await.unwrap();
    assert_eq!(proxy.counts(), (403, 0, 2));

    // The checks still see what the names hold.
    let err = p
        .apply(&[conformance::create(vec![conformance::a(
            "n100.svc.example.com",
            60,
            &["10.0.0.1", "10.0.0.2"],
        )])])
        .await
        .unwrap_err();
    assert!(matches!(err, ProviderError::Conflict { .. }), "{err}");
    let err = p
        .apply(&[conformance::create(vec![conformance::txt(
            "n200.svc.example.com",
            60,
            "beside a CNAME",
        )])])
        .await
        .unwrap_err();
    assert!(matches!(err, ProviderError::Invalid { .. }), "{err}");
    assert!(
        err.to_string().contains("CNAME at n200.svc.example.com."),
        "{err}"
    );
    let err = p
        .apply(&[conformance::delete(vec![conformance::a(
            "n007.svc.example.com",
            60,
            &["10.0.0.1", "10.0.0.2"],
        )])])
        .await
        .unwrap_err();
    assert!(matches!(err, ProviderError::Conflict { .. }), "{err}");
    assert_eq!(proxy.counts(), (406, 0, 2), "refused batches were not sent");

    let all = p.list().await.unwrap();
    assert_eq!(proxy.counts(), (406, 1, 2));
    assert!(all.contains(&conformance::a("n007.svc.example.com", 30, &["10.0.0.3"])));
    assert!(all.contains(&conformance::cname(
        "n200.svc.example.com",
        60,
        "n007.svc.example.com"
    )));
    assert_eq!(
        all.iter()
            .filter(|rs| rs.name().as_str().ends_with(".svc.example.com."))
            .count(),
        400 + 1 + 2,
        "400 names, the ownership TXT, and the foreign TXT and MX at api.svc"
    );

    // The zone is known to hold 405 record sets now: a batch at one name still reads it
    // alone; one of 199 names (reads worth 11 940 record sets) reads the zone once.
    p.apply(&[conformance::delete(vec![conformance::txt(
        "_fedsvc.n299.svc.example.com",
        60,
        "heritage=fedsvc",
    )])])
    .await
    .unwrap();
    assert_eq!(proxy.counts(), (407, 1, 3));
    let deletes: Vec<ChangeGroup> = (200..400)
        .map(|i| {
            conformance::delete(vec![conformance::a(
                &format!("n{i:03}.svc.example.com"),
                60,
                &["10.0.0.1", "10.0.0.2"],
            )])
        })
        .filter(|g| g.name != n("n200.svc.example.com"))
        .collect();
    p.apply(&deletes).await.unwrap();
    assert_eq!(proxy.counts(), (407, 2, 4));
    let all = p.list().await.unwrap();
    assert!(!all.iter().any(|rs| rs.name() == &n("n300.svc.example.com")));
}

/// A stand-in for a PowerDNS older than 4.6, which ignores `rrset_name` and answers every
/// `GET` of the zone with all of it; counts (filtered GETs, whole-zone GETs, PATCHes).
async fn old_pdns() -> (String, Arc<Mutex<(usize, usize, usize)>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let counts: Arc<Mutex<(usize, usize, usize)>> = Arc::default();
    let seen = counts.clone();
    let zone = json!({"name": format!("{ZONE}."), "rrsets": [
        {"name": format!("{ZONE}."), "type": "SOA", "ttl": 300, "records": [{"content": format!("ns.{ZONE}. h.{ZONE}. 1 3600 600 86400 60"), "disabled": false}]},
        {"name": "a.svc.example.com.", "type": "A", "ttl": 60, "records": [{"content": "10.0.0.1", "disabled": false}]},
        {"name": "b.svc.example.com.", "type": "TXT", "ttl": 60, "records": [{"content": "\"x\"", "disabled": false}]},
    ]})
    .to_string();
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let seen = seen.clone();
            let zone = zone.clone();
            tokio::spawn(async move {
                let mut data = Vec::new();
                let mut buf = [0u8; 4096];
                loop {
                    // One request: headers, then Content-Length bytes of body.
                    let end = loop {
                        if let Some(i) = data.windows(4).position(|w| w == b"\r\n\r\n") {
                            break i + 4;
                        }
                        match conn.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => data.extend_from_slice(&buf[..n]),
                        }
                    };
                    let head = String::from_utf8_lossy(&data[..end]).to_string();
                    let length: usize = head
                        .lines()
                        .find_map(|l| {
                            let (k, v) = l.split_once(':')?;
                            k.eq_ignore_ascii_case("content-length")
                                .then(|| v.trim().parse().ok())?
                        })
                        .unwrap_or(0);
                    while data.len() < end + length {
                        match conn.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => data.extend_from_slice(&buf[..n]),
                        }
                    }
                    data.drain(..end + length);
                    let answer = if head.starts_with("PATCH ") {
                        seen.lock().unwrap().2 += 1;
                        "HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n".to_owned()
                    } else {
                        if head.contains("rrset_name=") {
                            seen.lock().unwrap().0 += 1;
                        } else {
                            seen.lock().unwrap().1 += 1;
                        }
                        format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{zone}",
                            zone.len()
                        )
                    };
                    if conn.write_all(answer.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (url, counts)
}

/// A server that ignores the `rrset_name` filter is detected: the batch is checked against
/// the whole zone it returned, and later batches read the whole zone once each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pdns_without_rrset_filter_reads_the_zone() {
    let (url, counts) = old_pdns().await;
    let p = PowerDnsProvider::new(n(ZONE), &url, Secret::new("k"), "localhost").unwrap();
    let batch = [
        conformance::create(vec![conformance::a("c.svc.example.com", 60, &["10.0.0.3"])]),
        conformance::create(vec![conformance::a("d.svc.example.com", 60, &["10.0.0.4"])]),
    ];
    p.apply(&batch).await.unwrap();
    let (filtered, whole, patches) = *counts.lock().unwrap();
    assert!((1..=2).contains(&filtered), "{filtered} filtered reads");
    assert_eq!((whole, patches), (0, 1));
    // Now known: one whole-zone read per batch, and the checks see all of it.
    let err = p
        .apply(&[conformance::create(vec![conformance::cname(
            "b.svc.example.com",
            60,
            "a.svc.example.com",
        )])])
        .await
        .unwrap_err();
    assert!(matches!(err, ProviderError::Invalid { .. }), "{err}");
    let err = p
        .apply(&[conformance::create(vec![conformance::a(
            "a.svc.example.com",
            60,
            &["10.0.0.1"],
        )])])
        .await
        .unwrap_err();
    assert!(matches!(err, ProviderError::Conflict { .. }), "{err}");
    assert_eq!(*counts.lock().unwrap(), (filtered, 2, 1));
}
