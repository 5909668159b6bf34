//! The PowerDNS backend against a tiny local server that answers with an endless or oversized
//! body: the listing stops at the response limit with an error naming it, and no error shows
//! the API key or a password of the URL. (The Cloud DNS backend reads answers through Google's
//! client library, which offers no such limit; `clouddns.rs` checks that the key is refused.)

use std::time::{Duration, Instant};

use fedsvc_providers::{Config, DnsProvider, PowerDnsProvider, ProviderError, Secret};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::conformance::n;
use fedsvc_test_support::free_port;

const API_KEY: &str = "pdns-api-key-Zq81";
const PASSWORD: &str = "url-password-Xk42";

/// How the tiny server answers every request.
#[derive(Clone, Copy)]
enum Answer {
    /// `200`, chunked, a JSON document that never ends.
    Endless,
    /// `200` announcing a body of 10 GiB (and sending a little of it).
    Announced,
}

/// A server on 127.0.0.1 answering every request as `answer`; its base URL.
async fn serve(answer: Answer) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut conn, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                // Read the request head.
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match conn.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                match answer {
                    Answer::Endless => {
                        let start = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
                        if conn.write_all(start.as_bytes()).await.is_err() {
                            return;
                        }
                        let mut chunk = String::from("{\"rrsets\": [");
                        let piece = r#"{"name": "a.example.com.", "type": "A", "ttl": 60, "records": [{"content": "10.0.0.1"}], "rrdatas": ["10.0.0.1"]}, "#;
                        while chunk.len() < 60_000 {
                            chunk.push_str(piece);
                        }
                        let framed = format!("{:x}\r\n{chunk}\r\n", chunk.len());
                        while conn.write_all(framed.as_bytes()).await.is_ok() {}
                    }
                    Answer::Announced => {
                        let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 10737418240\r\n\r\n{\"rrsets\": [";
                        let _ = conn.write_all(head.as_bytes()).await;
                        tokio::time::sleep(Duration::from_secs(30)).await;
                    }
                }
            });
        }
    });
    format!("http://{addr}")
}

fn powerdns(url: &str, max: u64) -> PowerDnsProvider {
    PowerDnsProvider::new(n("example.com"), url, Secret::new(API_KEY), "localhost")
        .unwrap()
        .with_max_response_bytes(max)
}

fn assert_limit_error(err: &ProviderError, limit: &str, started: Instant) {
    let text = err.to_string();
    assert!(matches!(err, ProviderError::Invalid { .. }), "{text}");
    assert!(!err.is_retryable(), "{text}");
    assert!(
        text.contains(&format!(
            "the answer is larger than {limit} (provider.maxResponseBytes)"
        )),
        "{text}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn powerdns_endless_body_stops_at_the_limit() {
    let url = serve(Answer::Endless).await;
    let started = Instant::now();
    let err = powerdns(&url, 1 << 20).list().await.unwrap_err();
    assert_limit_error(&err, "1 MiB", started);

    let url = serve(Answer::Announced).await;
    let started = Instant::now();
    let err = powerdns(&url, 1 << 30).list().await.unwrap_err();
    assert_limit_error(&err, "1 GiB", started);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn powerdns_limit_from_the_configuration() {
    let url = serve(Answer::Endless).await;
    let config = Config::from_yaml(&format!(
        "zone: example.com\nprovider:\n  kind: powerdns\n  url: {url}\n  apiKey: {API_KEY}\n  maxResponseBytes: 200000\n"
    ))
    .unwrap();
    let p = config.build().await.unwrap();
    let started = Instant::now();
    let err = p.list().await.unwrap_err();
    assert_limit_error(&err, "200000 bytes", started);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn powerdns_errors_show_no_secret() {
    // A password in the URL: neither the provider's name, its Debug, nor any error shows it.
    let closed = format!("http://admin:{PASSWORD}@127.0.0.1:{}", free_port());
    let p = powerdns(&closed, 1 << 20);
    assert_eq!(
        p.name(),
        format!(
            "powerdns http://***@{}",
            &closed[closed.find('@').unwrap() + 1..]
        )
    );
    let debug = format!("{p:?}");
    let err = p.list().await.unwrap_err();
    let served = serve(Answer::Endless).await;
    let with_password = served.replacen("http://", &format!("http://admin:{PASSWORD}@"), 1);
    let err2 = powerdns(&with_password, 1000).list().await.unwrap_err();
    let config = Config::from_yaml(&format!(
        "zone: example.com\nprovider:\n  kind: powerdns\n  url: {with_password}\n  apiKey: {API_KEY}\n"
    ))
    .unwrap();
    let bad_url = PowerDnsProvider::new(
        n("example.com"),
        &format!("ftp://admin:{PASSWORD}@h"),
        Secret::new(API_KEY),
        "localhost",
    )
    .unwrap_err();
    for text in [
        debug,
        err.to_string(),
        format!("{err:?}"),
        err2.to_string(),
        format!("{err2:?}"),
        format!("{config:?}"),
        bad_url.to_string(),
        format!("{bad_url:?}"),
    ] {
        assert!(!text.contains(PASSWORD), "{text}");
        assert!(!text.contains(API_KEY), "{text}");
    }
}
