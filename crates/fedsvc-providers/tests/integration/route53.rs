//! The Route53 backend against moto's server (the AWS SDK with an endpoint override).

use aws_sdk_route53::types::{
    Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType,
};
use fedsvc_model::RecordSet;
use fedsvc_providers::{Config, DnsProvider, Route53Provider};

use crate::conformance::{self, foreign_records, n};
use crate::support::servers::{Server, ZONE, free_port};

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
