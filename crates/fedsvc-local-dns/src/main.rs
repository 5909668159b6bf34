//! `fedsvc-local-dns`: the in-cluster responder for federated service names.

use std::process::ExitCode;

use anyhow::Context;
use clap::{CommandFactory, Parser};
use fedsvc_local_dns::{Flags, LocalDnsError, run};
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let flags = Flags::parse();
    if let Err(e) = flags.check() {
        // A usage error, as clap reports its own (exit code 2).
        Flags::command()
            .error(clap::error::ErrorKind::ArgumentConflict, e)
            .exit();
    }
    init_tracing(flags.log_json);
    // kube (ring) and other TLS users may both be linked in: pick one provider for the process.
    let _ = rustls::crypto::ring::default_provider().install_default();
    match serve(flags) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("fedsvc-local-dns: {e:#}");
            let config_error = e
                .downcast_ref::<LocalDnsError>()
                .is_some_and(|e| !e.is_retryable());
            ExitCode::from(if config_error { 2 } else { 1 })
        }
    }
}

fn serve(flags: Flags) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async { run(flags, shutdown_signal()).await })?;
    Ok(())
}

/// Completes on SIGTERM (the kubelet stopping the pod) or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => tracing::info!("SIGTERM received"),
                    _ = ctrl_c => tracing::info!("interrupt received"),
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM; only Ctrl-C stops the server");
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

fn init_tracing(json: bool) {
    // hickory-server logs every query at info: keep that for RUST_LOG=hickory_server=info.
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,hickory_server=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}
