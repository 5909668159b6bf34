//! The `fedsvc` command: a thin shell over [`fedsvc_cli`].

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = fedsvc_cli::Cli::parse();
    // One TLS crypto provider for every client in the process (kube and reqwest would
    // otherwise disagree about it).
    let _ = rustls::crypto::ring::default_provider().install_default();
    ExitCode::from(fedsvc_cli::run_on_stdio(cli))
}
