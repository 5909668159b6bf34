//! `fedsvc-controller`: parse flags, set up logging, run until SIGTERM or Ctrl-C.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{CommandFactory, FromArgMatches, Parser};
use fedsvc_controller::config::ControllerConfig;
use fedsvc_controller::controller::{Parts, start};
use fedsvc_controller::members::KubeMemberFactory;

#[cfg(feature = "jemalloc")]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's options, read once when it starts: freed pages go back to the system at once
/// (not after the default ten seconds), so that the memory of a burst (a zone listed, every
/// service planned) does not linger on top of the next one. `_RJEM_MALLOC_CONF` in the
/// environment overrides them.
#[cfg(feature = "jemalloc")]
#[allow(unsafe_code)]
// SAFETY: jemalloc reads this symbol as a NUL-terminated C string, which it is; nothing
// else defines it.
#[unsafe(export_name = "_rjem_malloc_conf")]
pub static JEMALLOC_CONF: &[u8; 34] = b"dirty_decay_ms:0,muzzy_decay_ms:0\0";

/// The fedsvc federation controller.
#[derive(Debug, Parser)]
#[command(name = "fedsvc-controller", about)]
struct Flags {
    /// Check the configuration (every value, the provider's secret files readable) without
    /// contacting anything, print what is wrong or a summary, and exit.
    #[arg(long)]
    check: bool,
    /// Configuration file (YAML); flags and environment variables override it.
    #[arg(long, short = 'c', env = "FEDSVC_CONFIG")]
    config: Option<PathBuf>,
    /// The federation's name.
    #[arg(long, env = "FEDSVC_FEDERATION")]
    federation: Option<String>,
    /// The DNS suffix of the records.
    #[arg(long, env = "FEDSVC_DNS_SUFFIX")]
    dns_suffix: Option<String>,
    /// The DNS provider configuration file.
    #[arg(long = "dns", env = "FEDSVC_DNS_CONFIG")]
    dns: Option<PathBuf>,
    /// The controller's namespace.
    #[arg(long, env = "POD_NAMESPACE")]
    namespace: Option<String>,
    /// Address of /healthz, /readyz and /metrics.
    #[arg(long, env = "FEDSVC_LISTEN")]
    listen: Option<std::net::SocketAddr>,
    /// Run without leader election (a single replica).
    #[arg(long)]
    no_leader_election: bool,
    /// The kubeconfig context of the federation API (default: the current context of
    /// $KUBECONFIG or ~/.kube/config when there is one, else the in-cluster account).
    #[arg(long, env = "FEDSVC_HOST_CONTEXT")]
    host_context: Option<String>,
    /// Log as JSON lines.
    #[arg(long, env = "FEDSVC_LOG_JSON")]
    log_json: bool,
}

/// The configuration from the file or the flags, overridden by the flags; not yet validated.
fn config(flags: &Flags) -> anyhow::Result<ControllerConfig> {
    let mut c = match &flags.config {
        Some(path) => ControllerConfig::from_file(path)?,
        None => {
            let dns = flags.dns.as_ref().context(
                "no configuration: give --config FILE, or --federation, --dns-suffix and --dns",
            )?;
            ControllerConfig::with_dns_file(
                flags.federation.as_deref().unwrap_or_default(),
                flags.dns_suffix.as_deref().unwrap_or_default(),
                dns,
            )
        }
    };
    if let Some(f) = &flags.federation {
        c.federation.clone_from(f);
    }
    if let Some(s) = &flags.dns_suffix {
        c.dns_suffix.clone_from(s);
    }
    if let (Some(d), Some(_)) = (&flags.dns, &flags.config) {
        c.dns = None;
        c.dns_config_file = Some(d.clone());
    }
    if let Some(n) = &flags.namespace {
        c.namespace.clone_from(n);
    }
    if let Some(l) = flags.listen {
        c.listen = l;
    }
    if flags.no_leader_election {
        c.leader_election.enabled = false;
    }
    Ok(c)
}

/// `--check`: every problem on stderr, or the summary on stdout.
fn check(flags: &Flags) -> anyhow::Result<()> {
    let c = config(flags)?;
    for w in c.warnings() {
        eprintln!("fedsvc-controller: warning: {w}");
    }
    c.validate()?;
    println!("configuration OK: {}", c.summary());
    Ok(())
}

async fn host_client(context: Option<&str>) -> anyhow::Result<kube::Client> {
    let cfg = match context {
        Some(ctx) => {
            let opts = kube::config::KubeConfigOptions {
                context: Some(ctx.to_owned()),
                ..Default::default()
            };
            kube::Config::from_kubeconfig(&opts).await?
        }
        None => kube::Config::infer().await?,
    };
    Ok(kube::Client::try_from(cfg)?)
}

async fn run(flags: Flags) -> anyhow::Result<()> {
    let config = config(&flags)?;
    // Everything is checked before the first request to any API.
    config.validate()?;
    for w in config.warnings() {
        tracing::warn!("{w}");
    }
    let host = host_client(flags.host_context.as_deref())
        .await
        .context("cannot reach the federation API")?;
    let running = start(
        &config,
        Parts {
            host,
            members: Arc::new(KubeMemberFactory {
                options: config.member_options(),
            }),
            provider: None,
            resolver: None,
        },
    )
    .await?;
    shutdown_signal().await;
    tracing::info!("shutting down");
    running.shutdown(Duration::from_secs(20)).await;
    Ok(())
}

async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("a SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

/// The error and its causes, `: `-separated, each cause left out when the text before it
/// already ends with it (an error that prints its source, as `cannot read FILE: CAUSE` does).
fn report(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if out.ends_with(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

/// `fedsvc-controller 0.1.0 (providers: memory, rfc2136, …)`: the version, and the DNS
/// providers compiled into this build.
fn version() -> String {
    format!(
        "{} (providers: {})",
        env!("CARGO_PKG_VERSION"),
        fedsvc_providers::COMPILED_KINDS.join(", ")
    )
}

fn main() -> ExitCode {
    let version: &'static str = Box::leak(version().into_boxed_str());
    let command = Flags::command().version(version);
    let flags = match Flags::from_arg_matches(&command.get_matches()) {
        Ok(f) => f,
        Err(e) => e.exit(),
    };
    if flags.check {
        return match check(&flags) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("fedsvc-controller: error: {}", report(&e));
                ExitCode::FAILURE
            }
        };
    }
    let _ = rustls::crypto::ring::default_provider().install_default();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    if flags.log_json {
        tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter)
            .init();
    } else {
        tracing_subscriber::fmt().with_env_filter(filter).init();
    }
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("fedsvc-controller: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(flags)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fedsvc-controller: error: {}", report(&e));
            ExitCode::FAILURE
        }
    }
}
