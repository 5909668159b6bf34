//! The `fedsvc` command: a thin shell over [`fedsvc_cli`].

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = fedsvc_cli::Cli::parse();
    // One TLS crypto provider for every client in the process (kube and reqwest would
    // otherwise disagree about it).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    match fedsvc_cli::run(cli, &mut stdout.lock(), &mut stderr.lock()) {
        Ok(code) => code.into(),
        Err(err) if fedsvc_cli::is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("fedsvc: error: {err:#}");
            ExitCode::from(fedsvc_cli::EXIT_FAILURE)
        }
    }
}
