//! `fedsvc demo --tour`: the user guide's story, scripted, with each failover shown.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::bail;
use fedsvc_model::{RecordSet, RecordType};

use super::world::World;
use super::{GUIDE_BACKENDS, create_nginx};
use crate::Format;
use crate::output::{RecordsDoc, write_records};
use crate::resolve_cmd::{chain, print_chain, resolver};
use serde_json::json;

const NS: &str = "mynamespace";

fn name(level: &str) -> String {
    if level.is_empty() {
        "nginx.mynamespace.myfederation.svc.example.com.".to_owned()
    } else {
        format!("nginx.mynamespace.myfederation.svc.{level}.example.com.")
    }
}

fn holds(records: &[RecordSet], level: &str, t: &RecordType) -> Option<Vec<String>> {
    let n = name(level);
    records
        .iter()
        .find(|r| r.name().as_str() == n && r.rtype() == t)
        .map(|r| r.data().iter().map(ToString::to_string).collect())
}

fn is_cname_to(records: &[RecordSet], level: &str, target: &str) -> bool {
    holds(records, level, &RecordType::Cname).is_some_and(|d| d == [name(target)])
}

fn a_count(records: &[RecordSet], level: &str) -> usize {
    holds(records, level, &RecordType::A).map_or(0, |d| d.len())
}

struct Step {
    title: &'static str,
    took: Duration,
}

async fn until(
    world: &World,
    what: &str,
    check: impl Fn(&[RecordSet]) -> bool,
) -> anyhow::Result<Duration> {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(60) {
        if check(&world.records().await) {
            return Ok(start.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!("the demo did not converge: {what}")
}

async fn show(world: &World, out: &mut dyn Write, names: &[&str]) -> anyhow::Result<()> {
    let r = resolver(Some(world.dns_addr))?;
    for level in names {
        let c = chain(&r, &name(level).parse()?).await;
        print_chain(out, &c)?;
    }
    writeln!(out)?;
    Ok(())
}

/// Runs the story; returns the exit code.
/// The nginx Deployment on the federation API: 8 replicas weighted onto the guide's clusters.
fn create_nginx_deployment(world: &World) -> anyhow::Result<()> {
    let weights: Vec<String> = GUIDE_BACKENDS.iter().map(|c| format!("{c}=1")).collect();
    world.federation.create(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "nginx", "namespace": NS,
                     "annotations": {"fedsvc.io/replica-weights": weights.join(",")}},
        "spec": {
            "replicas": 8,
            "selector": {"matchLabels": {"run": "nginx"}},
            "template": {"metadata": {"labels": {"run": "nginx"}},
                         "spec": {"containers": [{"name": "nginx", "image": "nginx:1.27",
                                                  "ports": [{"containerPort": 80}]}]}},
        },
    }))?;
    Ok(())
}

/// The federated Deployment's division, as its annotation says, without the members that get
/// no copy.
fn division(world: &World) -> anyhow::Result<String> {
    let d = world.federation.get("apps/v1", "Deployment", NS, "nginx")?;
    let all = d["metadata"]["annotations"]["fedsvc.io/replica-division"]
        .as_str()
        .unwrap_or("(not yet divided)");
    Ok(all
        .split(',')
        .filter(|p| !p.ends_with("=0"))
        .collect::<Vec<_>>()
        .join(","))
}

/// Waits (at most a minute) until the division satisfies `check`.
async fn until_division(world: &World, check: impl Fn(&str) -> bool) -> anyhow::Result<()> {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(60) {
        if check(&division(world)?) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!(
        "the replicas were not divided as expected: {}",
        division(world)?
    )
}

pub(super) async fn run(
    world: &World,
    out: &mut dyn Write,
    pause: Duration,
    kubeconfig: &Path,
) -> anyhow::Result<u8> {
    let mut steps: Vec<Step> = Vec::new();
    writeln!(
        out,
        "fedsvc demo tour: {} member clusters, DNS on {}, kubeconfig {}\n",
        world.members.len(),
        world.dns_addr,
        kubeconfig.display()
    )?;

    writeln!(
        out,
        "1. Create the federated service nginx (kubectl --context=federation-cluster create -f nginx.yaml)."
    )?;
    writeln!(
        out,
        "   No backend pods yet, so no shard is healthy: every zone points at its region, every region at the"
    )?;
    writeln!(
        out,
        "   global name, and the global name does not exist yet."
    )?;
    create_nginx(world)?;
    let took = until(world, "every zone a CNAME", |r| {
        world
            .members
            .iter()
            .all(|(s, _)| is_cname_to(r, &s.zone, &s.region))
    })
    .await?;
    steps.push(Step {
        title: "service created in 13 clusters, CNAME hierarchy in place",
        took,
    });
    show(world, out, &["us-central1-a"]).await?;
    tokio::time::sleep(pause).await;

    writeln!(
        out,
        "2. Add the backends with one Deployment on the federation (kubectl --context=federation-cluster"
    )?;
    writeln!(
        out,
        "   create -f nginx-deployment.yaml): 8 replicas, weighted onto the guide's 8 clusters with"
    )?;
    writeln!(
        out,
        "   fedsvc.io/replica-weights. Each of them runs one nginx pod: the guide's listing."
    )?;
    create_nginx_deployment(world)?;
    let took = until(world, "the guide's listing", |r| {
        a_count(r, "") == 8 && is_cname_to(r, "us-central1-f", "us-central1")
    })
    .await?;
    steps.push(Step {
        title: "one Deployment on the federation: the guide's records",
        took,
    });
    writeln!(out, "   replicas divided: {}", division(world)?)?;
    let records = world.records().await;
    write_records(
        out,
        Format::Table,
        &RecordsDoc::<()> {
            records: &records,
            diagnostics: &[],
            explain: None,
        },
        &|_| Vec::new(),
    )?;
    writeln!(out)?;
    tokio::time::sleep(pause).await;

    writeln!(
        out,
        "3. Fail a whole cluster: the API server of gce-us-east1-b stops answering. After three failed health"
    )?;
    writeln!(
        out,
        "   probes it is Offline: its shard leaves DNS, and its replica moves to another cluster."
    )?;
    let outage = Instant::now();
    world.member("gce-us-east1-b")?.set_reachable(false);
    let took = until(world, "us-east1-b out of DNS", |r| {
        is_cname_to(r, "us-east1-b", "us-east1") && a_count(r, "us-east1") == 2
    })
    .await?;
    steps.push(Step {
        title: "cluster gce-us-east1-b offline, removed from DNS",
        took,
    });
    until_division(world, |d| d.contains("gce-us-east1-b=keep")).await?;
    steps.push(Step {
        title: "its replica moved to another cluster",
        took: outage.elapsed(),
    });
    writeln!(out, "   replicas divided: {}", division(world)?)?;
    show(world, out, &["us-east1-b"]).await?;
    tokio::time::sleep(pause).await;

    writeln!(
        out,
        "4. Fail a zone: the nginx pods in us-central1-a stop being ready. Its zone name now leads to the"
    )?;
    writeln!(out, "   rest of us-central1.")?;
    world.member("gce-us-central1-a")?.set_pods_ready(false);
    let took = until(world, "us-central1-a a CNAME", |r| {
        is_cname_to(r, "us-central1-a", "us-central1")
    })
    .await?;
    steps.push(Step {
        title: "zone us-central1-a failed over to its region",
        took,
    });
    show(world, out, &["us-central1-a"]).await?;
    tokio::time::sleep(pause).await;

    writeln!(
        out,
        "5. Fail a region: no ready backends left in asia-east1. Its zones lead to the region, the region to"
    )?;
    writeln!(out, "   the world.")?;
    world.member("gce-asia-east1-a")?.set_pods_ready(false);
    world.member("gce-asia-east1-c")?.set_pods_ready(false);
    let took = until(world, "asia-east1 a CNAME to global", |r| {
        is_cname_to(r, "asia-east1", "")
    })
    .await?;
    steps.push(Step {
        title: "region asia-east1 failed over to the global name",
        took,
    });
    show(world, out, &["asia-east1-a"]).await?;
    tokio::time::sleep(pause).await;

    writeln!(
        out,
        "6. Everything recovers: the cluster comes back, its replica with it, and the pods are ready again."
    )?;
    world.member("gce-us-east1-b")?.set_reachable(true);
    for c in ["gce-us-central1-a", "gce-asia-east1-a", "gce-asia-east1-c"] {
        world.member(c)?.set_pods_ready(true);
    }
    let took = until(world, "full recovery", |r| {
        a_count(r, "") == 8 && a_count(r, "us-central1-a") == 1 && a_count(r, "us-east1-b") == 1
    })
    .await?;
    steps.push(Step {
        title: "recovered: the guide's records again",
        took,
    });
    until_division(world, |d| !d.contains("keep")).await?;
    writeln!(out, "   replicas divided: {}", division(world)?)?;
    show(world, out, &["us-central1-a", "asia-east1-b"]).await?;

    writeln!(
        out,
        "Summary (time from the change until the DNS records showed it):"
    )?;
    for (i, s) in steps.iter().enumerate() {
        writeln!(
            out,
            "  {}. {:<60} {:>6.2} s",
            i + 1,
            s.title,
            s.took.as_secs_f64()
        )?;
    }
    Ok(0)
}
