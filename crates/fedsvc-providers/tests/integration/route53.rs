//! The Route53 backend against moto's server (the AWS SDK with an endpoint override).

use aws_sdk_route53::types::{
    Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType,
};
use fedsvc_dns_plan::ChangeGroup;
use fedsvc_model::RecordSet;
use fedsvc_providers::{Config, Counting, DnsProvider, ProviderError, Retrying, Route53Provider};

use crate::conformance::{self, foreign_records, n};
use fedsvc_test_support::{Server, ZONE, free_port};

async fn sdk(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_route53::config::Credentials::new(
            "testing",
            "testing",
            None,
            None,
            "fedsvc-tests",
        ))
        .load()
        .await
}

/// Creates the hosted zone and seeds foreign records; returns the zone id.
async fn create_zone(endpoint: &str, foreign: &[RecordSet]) -> String {
    let client = aws_sdk_route53::Client::new(&sdk(endpoint).await);
    let out = client
        .create_hosted_zone()
        .name(format!("{ZONE}."))
        .caller_reference(format!("fedsvc-{}", free_port()))
        .send()
        .await
        .unwrap();
    let id = out
        .hosted_zone()
        .unwrap()
        .id()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    if !foreign.is_empty() {
        let changes = foreign
            .iter()
            .map(|rs| {
                let records = rs
                    .data()
                    .iter()
                    .map(|d| {
                        ResourceRecord::builder()
                            .value(d.to_zone_text())
                            .build()
                            .unwrap()
                    })
                    .collect();
                let rrs = ResourceRecordSet::builder()
                    .name(rs.name().as_str())
                    .r#type(RrType::from(rs.rtype().as_str()))
                    .ttl(i64::from(rs.ttl()))
                    .set_resource_records(Some(records))
                    .build()
                    .unwrap();
                Change::builder()
                    .action(ChangeAction::Create)
                    .resource_record_set(rrs)
                    .build()
                    .unwrap()
            })
            .collect();
        client
            .change_resource_record_sets()
            .hosted_zone_id(&id)
            .change_batch(
                ChangeBatch::builder()
                    .set_changes(Some(changes))
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
    }
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn route53_conformance() {
    let Some(server) = Server::moto() else { return };
    let endpoint = format!("http://{}", server.addr);
    create_zone(&endpoint, &foreign_records()).await;
    // The hosted zone is looked up by name.
    let p = Route53Provider::new(n(ZONE), &sdk(&endpoint).await, None).with_batch_size(3);
    conformance::run_all(p, None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn route53_built_from_config() {
    let Some(server) = Server::moto() else { return };
    let endpoint = format!("http://{}", server.addr);
    let id = create_zone(&endpoint, &[]).await;
    let config = Config::from_yaml(&format!(
        "zone: {ZONE}\nprovider: {{kind: route53, hostedZoneId: {id}, region: us-east-1, endpointUrl: '{endpoint}'}}\n"
    ))
    .unwrap();
    // Credentials come from the environment in production; moto accepts any.
    let p = match config.build().await {
        Ok(p) => p,
        Err(e) => panic!("{e}"),
    };
    assert!(p.name().starts_with("route53 example.com"), "{}", p.name());
    let rs = conformance::a("cfg.example.com", 60, &["10.0.0.9"]);
    match p.apply(&[conformance::create(vec![rs.clone()])]).await {
        Ok(()) => assert!(p.list().await.unwrap().contains(&rs)),
        // Without any AWS credentials in the environment the SDK refuses to sign.
        Err(e) => {
            println!("route53 without credentials: {e}");
            assert!(e.to_string().contains("route53 example.com"), "{e}");
            assert!(
                matches!(e, fedsvc_providers::ProviderError::Unauthorized { .. }),
                "{e}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn route53_missing_zone_and_down() {
    let Some(server) = Server::moto() else { return };
    let endpoint = format!("http://{}", server.addr);
    let p = Route53Provider::new(n(ZONE), &sdk(&endpoint).await, None);
    let err = p.list().await.unwrap_err();
    assert!(
        err.to_string()
            .contains("no hosted zone named example.com."),
        "{err}"
    );
    let down = Route53Provider::new(
        n(ZONE),
        &sdk(&format!("http://127.0.0.1:{}", free_port())).await,
        Some("Z1"),
    );
    conformance::down_is_retryable(down).await;
}

/// (listing pages, change requests) moto has logged so far.
fn moto_calls(server: &Server) -> (usize, usize) {
    let log = server.log();
    let rrset = log.lines().filter(|l| l.contains("/rrset"));
    let (mut pages, mut changes) = (0, 0);
    for line in rrset {
        if line.contains("\"GET /") {
            pages += 1;
        } else if line.contains("\"POST /") {
            changes += 1;
        }
    }
    (pages, changes)
}

/// Waits until moto's log holds `calls` (its log is written after the answer).
async fn moto_calls_settled(server: &Server) -> (usize, usize) {
    let mut last = moto_calls(server);
    for _ in 0..20 {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let now = moto_calls(server);
        if now == last {
            return now;
        }
        last = now;
    }
    last
}

/// `services` names, each an A set of `addresses` addresses plus an ownership TXT set.
fn multi_address_groups(services: usize, addresses: usize, base: u32) -> Vec<ChangeGroup> {
    (0..services)
        .map(|i| {
            let name = format!("s{i:03}.svc.example.com");
            let ips: Vec<String> = (0..addresses)
                .map(|k| std::net::Ipv4Addr::from(base + (i * 64 + k) as u32).to_string())
                .collect();
            let ips: Vec<&str> = ips.iter().map(String::as_str).collect();
            conformance::create(vec![
                conformance::a(&name, 60, &ips),
                conformance::txt(
                    &format!("_fedsvc.{name}"),
                    60,
                    "heritage=fedsvc,fedsvc/owner=test",
                ),
            ])
        })
        .collect()
}

/// A full convergence whose record sets hold several addresses each: more than 1 000 record
/// values in one batch are sent in several requests, each within Route53's quotas, and the
/// batch is checked by reading only the names it touches.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn route53_batch_over_value_quota_is_split() {
    let Some(server) = Server::moto() else { return };
    let endpoint = format!("http://{}", server.addr);
    create_zone(&endpoint, &foreign_records()).await;
    let p = Retrying::new(Counting::new(Route53Provider::new(
        n(ZONE),
        &sdk(&endpoint).await,
        None,
    )));
    let limits = p.limits();
    // 150 names × (A set of 8 addresses + TXT) = 300 record sets, 1 350 record values.
    let groups = multi_address_groups(150, 8, 0x0a00_0000);
    let changes = conformance::changes(groups.clone());
    let values: usize = groups
        .iter()
        .flat_map(|g| &g.create)
        .map(|rs| rs.data().len())
        .sum();
    assert_eq!(values, 1350);
    assert_eq!(changes.batches(&limits).len(), 1, "one batch by the limits");
    let (pages0, posts0) = moto_calls_settled(&server).await;
    let report = p.apply_changes(&changes).await.unwrap();
    assert_eq!(report.batches, 1);
    assert_eq!(report.record_sets, 300);
    assert_eq!(p.inner().stats().writes, 1);
    let (pages1, posts1) = moto_calls_settled(&server).await;
    assert_eq!(posts1 - posts0, 2, "1 350 values need two requests");
    // The names are neighbours and nothing follows them: one page answers for all of them.
    assert_eq!(pages1 - pages0, 1, "pages read to check the batch");
    let all = p.list().await.unwrap();
    for rs in groups.iter().flat_map(|g| &g.create) {
        assert!(all.contains(rs), "{} {} missing", rs.name(), rs.rtype());
    }
    for f in foreign_records() {
        assert!(all.contains(&f), "foreign {} {} lost", f.name(), f.rtype());
    }

    // Updating every address set: 300 changes (an update counts twice), 2 400 values.
    let renumbered = multi_address_groups(150, 8, 0x0a10_0000);
    let updates: Vec<ChangeGroup> = groups
        .iter()
        .zip(&renumbered)
        .map(|(old, new)| {
            let mut g = ChangeGroup::new(old.name.clone());
            g.update_old.push(old.create[0].clone());
            g.update_new.push(new.create[0].clone());
            g
        })
        .collect();
    p.inner().reset();
    let (pages0, posts0) = moto_calls_settled(&server).await;
    let report = p
        .apply_changes(&conformance::changes(updates))
        .await
        .unwrap();
    assert_eq!(report.batches, 1);
    let (pages1, posts1) = moto_calls_settled(&server).await;
    assert_eq!(posts1 - posts0, 3, "2 400 values need three requests");
    // 300 record sets at the names (plus the foreign ones after them), 100 per page: the
    // reads follow the names and stop after the last one.
    assert!(
        (1..=4).contains(&(pages1 - pages0)),
        "{} pages read to check the batch",
        pages1 - pages0
    );
    let all = p.list().await.unwrap();
    for rs in renumbered.iter().map(|g| &g.create[0]) {
        assert!(all.contains(rs), "{} not updated", rs.name());
    }

    // A stale update is refused before anything is written.
    let mut stale = ChangeGroup::new(groups[149].name.clone());
    stale.update_old.push(groups[149].create[0].clone());
    stale.update_new.push(conformance::a(
        groups[149].name.as_str(),
        60,
        &["10.99.0.1"],
    ));
    let (_, posts0) = moto_calls_settled(&server).await;
    let err = p.apply(&[stale]).await.unwrap_err();
    assert!(matches!(err, ProviderError::Conflict { .. }), "{err}");
    assert_eq!(moto_calls_settled(&server).await.1, posts0);

    // One name with more values than one request may carry is refused, naming it.
    let ips: Vec<String> = (0..1001u32)
        .map(|k| std::net::Ipv4Addr::from(0x0b00_0000 + k).to_string())
        .collect();
    let ips: Vec<&str> = ips.iter().map(String::as_str).collect();
    let huge = conformance::create(vec![conformance::a("huge.svc.example.com", 60, &ips)]);
    let err = p.apply(&[huge]).await.unwrap_err();
    assert!(matches!(err, ProviderError::Invalid { .. }), "{err}");
    assert!(err.to_string().contains("huge.svc.example.com."), "{err}");
    assert!(err.to_string().contains("1001 record values"), "{err}");
    assert_eq!(moto_calls_settled(&server).await.1, posts0);
}
