//! `fedsvc demo`: the whole system on one machine, with no setup.
//!
//! A federation API (a Kubernetes API emulator) and one API server per member cluster (the user
//! guide's 13 GCE zones by default) run in this process, each reachable with `kubectl` through
//! the kubeconfig the demo writes. A simulated cloud gives LoadBalancer services addresses and
//! counts backend pods as ready endpoints. The real controller joins the members, propagates
//! services, watches shards and keeps the records in the memory provider, whose embedded
//! authoritative DNS server answers `dig @127.0.0.1 -p 5353`.

mod cloud;
mod tour;
mod world;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;

pub use world::{
    FEDERATION_CONTEXT, MemberSpec, SYSTEM_NAMESPACE, World, WorldOptions, guide_members,
};

use crate::output::{RecordsDoc, write_records};
use crate::{DemoArgs, Format};

/// The guide's nginx service.
pub const NGINX_YAML: &str = "apiVersion: v1
kind: Service
metadata:
  name: nginx
  namespace: mynamespace
  labels:
    run: nginx
spec:
  type: LoadBalancer
  selector:
    run: nginx
  ports:
  - name: http
    port: 80
    protocol: TCP
";

/// The clusters in which the guide's listing shows healthy backends.
pub const GUIDE_BACKENDS: [&str; 8] = [
    "gce-asia-east1-a",
    "gce-asia-east1-c",
    "gce-us-central1-a",
    "gce-us-central1-b",
    "gce-us-central1-c",
    "gce-us-east1-b",
    "gce-us-east1-c",
    "gce-us-east1-d",
];

/// Creates the namespace and the nginx service on the federation API.
pub fn create_nginx(world: &World) -> anyhow::Result<()> {
    world.federation.create(serde_json::json!({
        "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "mynamespace"}
    }))?;
    let svc: serde_json::Value = serde_saphyr::from_str(NGINX_YAML)?;
    world.federation.create(svc)?;
    Ok(())
}

/// Namespaces in every member for the backends (the controller creates them with the service,
/// but pods may come first).
fn ensure_member_namespaces(world: &World) {
    for (_, api) in &world.members {
        let _ = api.create(serde_json::json!({
            "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "mynamespace"}
        }));
    }
}

pub(crate) fn run(args: &DemoArgs, out: &mut dyn Write) -> anyhow::Result<u8> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(async {
        let opts = WorldOptions {
            dns_listen: args.dns_listen,
            ..WorldOptions::default()
        };
        let world = World::start(&opts).await?;
        let kubeconfig = args
            .kubeconfig
            .clone()
            .unwrap_or_else(|| PathBuf::from("fedsvc-demo.kubeconfig"));
        world.write_kubeconfig(&kubeconfig)?;
        let dns_config = kubeconfig.with_extension("dns.yaml");
        world.write_dns_config(&dns_config)?;
        ensure_member_namespaces(&world);
        let code = if args.tour {
            tour::run(
                &world,
                out,
                Duration::from_secs_f64(args.pause),
                &kubeconfig,
            )
            .await?
        } else {
            live(&world, args, out, &kubeconfig, &dns_config).await?
        };
        world.stop().await;
        Ok(code)
    })
}

async fn live(
    world: &World,
    args: &DemoArgs,
    out: &mut dyn Write,
    kubeconfig: &std::path::Path,
    dns_config: &std::path::Path,
) -> anyhow::Result<u8> {
    if !args.empty {
        create_nginx(world)?;
        for c in GUIDE_BACKENDS {
            if world
                .member(c)?
                .list("v1", "Pod", Some("mynamespace"))?
                .is_empty()
            {
                world.add_backends(c, "mynamespace", "nginx", 1)?;
            }
        }
    }
    let k = kubeconfig.display();
    let d = dns_config.display();
    let header = format!(
        "fedsvc demo: federation {FEDERATION_CONTEXT} and {} member clusters; DNS on {} \
         (records with a TTL of 30 s, for quick failover)\n\
         \n  export KUBECONFIG={k}\n\
         \x20 kubectl --context={FEDERATION_CONTEXT} get services -n mynamespace\n\
         \x20 kubectl --context=gce-us-central1-a delete pod -n mynamespace -l run=nginx    # fail a zone\n\
         \x20 kubectl --context=gce-us-central1-f run nginx -n mynamespace --image=nginx --labels=run=nginx\n\
         \x20 dig @{} -p {} nginx.mynamespace.myfederation.svc.us-central1-f.example.com\n\
         \x20 fedsvc resolve --server {} nginx.mynamespace.myfederation.svc.europe-west1-d.example.com\n\
         \x20 fedsvc records --dns {d}\n\
         \nPress Ctrl-C to stop.\n",
        world.members.len(),
        world.dns_addr,
        world.dns_addr.ip(),
        world.dns_addr.port(),
        world.dns_addr,
    );
    let terminal = std::io::stdout().is_terminal();
    let deadline = args
        .exit_after
        .map(|s| tokio::time::Instant::now() + Duration::from_secs_f64(s.max(0.0)));
    let mut last = None;
    let mut ctrl_c = std::pin::pin!(tokio::signal::ctrl_c());
    loop {
        let records = world.records().await;
        if last.as_ref() != Some(&records) {
            if terminal {
                write!(out, "\x1b[2J\x1b[H")?;
            }
            writeln!(out, "{header}")?;
            let doc = RecordsDoc::<()> {
                records: &records,
                diagnostics: &[],
                explain: None,
            };
            write_records(out, Format::Table, &doc, &|_| Vec::new())?;
            out.flush()?;
            last = Some(records);
        }
        tokio::select! {
            _ = &mut ctrl_c => break,
            () = tokio::time::sleep(Duration::from_millis(250)) => {}
        }
        if deadline.is_some_and(|d| tokio::time::Instant::now() >= d) {
            break;
        }
    }
    Ok(0)
}
