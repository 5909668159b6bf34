//! The `fedsvc` command as a library: argument types and the commands behind them.
//!
//! The binary (`src/main.rs`) only parses arguments and maps the outcome to an exit code, so
//! every command can be run and tested in-process through [`run`].
//!
//! Exit codes: `0` success; [`EXIT_FAILURE`] (1) the command failed (message on stderr);
//! `2` bad usage (from the argument parser); [`EXIT_PARTIAL`] (3) the command ran, but part of
//! the input was refused (each refusal is printed on stderr, naming the object at fault).
//! When standard output is closed early (`fedsvc plan … | head`), the command stops quietly
//! with `0` (or the code it had already reached), like other tools that write to a pipe.
//!
//! [`run_on_stdio`] is what the binary runs: the commands that print a result (`plan`, `diff`,
//! `records`, `status`, `resolve`, `clusters`, `completions`) write it through one buffer,
//! flushed once at the end, so a large plan costs a few hundred `write` calls, not one per
//! line or per JSON fragment.
//!
//! ```no_run
//! use clap::Parser;
//! let cli = fedsvc_cli::Cli::parse_from(["fedsvc", "plan", "-f", "examples/guide.yaml"]);
//! let code = fedsvc_cli::run(cli, &mut std::io::stdout(), &mut std::io::stderr()).unwrap();
//! assert_eq!(code, 0);
//! ```

mod cluster_cmd;
#[cfg(feature = "demo")]
pub mod demo;
mod dns_cmd;
mod output;
mod phase;
mod plan_cmd;
pub mod resolve_cmd;
mod status_cmd;

use std::io::Write;
use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// The command failed.
pub const EXIT_FAILURE: u8 = 1;
/// The command ran, but part of its input was refused.
pub const EXIT_PARTIAL: u8 = 3;

/// fedsvc: federated Kubernetes services with zone, region and global DNS.
#[derive(Debug, Parser)]
#[command(name = "fedsvc", version = version_text(), about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
#[non_exhaustive]
pub enum Command {
    /// Compute the DNS records a snapshot calls for (reads the snapshot, touches nothing).
    Plan(PlanArgs),
    /// Show what `apply` would change in the DNS provider (reads the zone, writes nothing).
    Diff(DiffArgs),
    /// Bring the DNS provider's zone in line with a snapshot.
    Apply(ApplyArgs),
    /// List the records in the DNS provider's zone.
    Records(RecordsArgs),
    /// Resolve a name through DNS, showing each CNAME hop and the final addresses.
    Resolve(ResolveArgs),
    /// Join a member cluster to the federation.
    Join(JoinArgs),
    /// Remove a member cluster from the federation.
    Unjoin(UnjoinArgs),
    /// List the member clusters with their health, zones and region.
    Clusters(ClustersArgs),
    /// Show where a federated service stands: per cluster, per DNS name, and why.
    Status(StatusArgs),
    /// Print a shell completion script (`fedsvc completions bash > /etc/bash_completion.d/fedsvc`).
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Run the whole system on this machine: a federation of simulated clusters, the controller
    /// and a DNS server, with a live record table.
    #[cfg(feature = "demo")]
    Demo(DemoArgs),
}

/// Arguments of `fedsvc status`.
#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// The service's name.
    pub service: String,
    /// The service's namespace.
    #[arg(short = 'n', long = "namespace", default_value = "default")]
    pub namespace: String,
    /// The federation's name.
    #[arg(long, env = "FEDSVC_FEDERATION")]
    pub federation: String,
    /// The federation's DNS suffix.
    #[arg(long, env = "FEDSVC_DNS_SUFFIX")]
    pub dns_suffix: String,
    /// The federation uses `zoneNaming: zone-region`.
    #[arg(long)]
    pub zone_region: bool,
    /// The kubeconfig context of the federation API (default: the current context).
    #[arg(long, value_name = "CTX")]
    pub host_context: Option<String>,
    /// The kubeconfig file (default: KUBECONFIG or ~/.kube/config).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
}

/// Arguments of `fedsvc join`.
#[derive(Debug, clap::Args)]
pub struct JoinArgs {
    /// The member's name in the federation.
    pub name: String,
    /// The kubeconfig context of the member cluster (used once, to create fedsvc's own account).
    #[arg(long, value_name = "CTX")]
    pub cluster_context: String,
    /// The kubeconfig context of the federation API (default: the current context).
    #[arg(long, value_name = "CTX")]
    pub host_context: Option<String>,
    /// The kubeconfig file (default: KUBECONFIG or ~/.kube/config).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// The member API address as the controller reaches it, when it differs from the
    /// kubeconfig's.
    #[arg(long, value_name = "URL")]
    pub member_server: Option<String>,
    /// Zones of the member, overriding its nodes' labels (repeatable).
    #[arg(long = "zone", value_name = "ZONE")]
    pub zones: Vec<String>,
    /// Region of the member, overriding its nodes' labels.
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// A label of the Cluster object, for placement (`KEY=VALUE`, repeatable).
    #[arg(long = "label", value_name = "KEY=VALUE")]
    pub labels: Vec<String>,
    /// Store `insecure-skip-tls-verify` for the controller when the member's context skips TLS
    /// verification (dangerous: the member's certificate is then never checked). Without it,
    /// such a context is refused.
    #[arg(long)]
    pub insecure_skip_tls_verify: bool,
}

/// Arguments of `fedsvc unjoin`.
#[derive(Debug, clap::Args)]
pub struct UnjoinArgs {
    /// The member's name in the federation.
    pub name: String,
    /// The member's context: also remove fedsvc's ServiceAccount and RBAC from it.
    #[arg(long, value_name = "CTX")]
    pub cluster_context: Option<String>,
    /// The kubeconfig context of the federation API (default: the current context).
    #[arg(long, value_name = "CTX")]
    pub host_context: Option<String>,
    /// The kubeconfig file (default: KUBECONFIG or ~/.kube/config).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
}

/// Arguments of `fedsvc clusters`.
#[derive(Debug, clap::Args)]
pub struct ClustersArgs {
    /// The kubeconfig context of the federation API (default: the current context).
    #[arg(long, value_name = "CTX")]
    pub host_context: Option<String>,
    /// The kubeconfig file (default: KUBECONFIG or ~/.kube/config).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
}

/// Arguments of `fedsvc demo`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Where the embedded authoritative DNS server listens.
    #[arg(long, default_value = "127.0.0.1:5353")]
    pub dns_listen: std::net::SocketAddr,
    /// Where to write the kubeconfig (contexts `federation-cluster` and one per member).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// Run a scripted story (create, add backends, fail a zone, a region, a cluster, recover)
    /// and exit.
    #[arg(long)]
    pub tour: bool,
    /// Seconds to pause between the tour's steps.
    #[arg(long, default_value_t = 2.0)]
    pub pause: f64,
    /// Start without the guide's nginx service and backends.
    #[arg(long)]
    pub empty: bool,
    /// Stop the live view after this many seconds.
    #[arg(long, value_name = "SECS")]
    pub exit_after: Option<f64>,
}

/// Arguments of `fedsvc resolve`.
#[derive(Debug, clap::Args)]
pub struct ResolveArgs {
    /// The name: a full DNS name, or with `--from-zone` a service's short federated name
    /// `SERVICE.NAMESPACE.FEDERATION`.
    pub name: String,
    /// Ask this DNS server (`ADDR:PORT`) instead of the system's resolvers.
    #[arg(long, value_name = "ADDR:PORT")]
    pub server: Option<std::net::SocketAddr>,
    /// Answer as a pod in this zone would be answered.
    #[arg(long, value_name = "ZONE", requires = "from_region")]
    pub from_zone: Option<String>,
    /// The region of `--from-zone`.
    #[arg(long, value_name = "REGION", requires = "from_zone")]
    pub from_region: Option<String>,
    /// The federation's DNS suffix (with `--from-zone`).
    #[arg(long, value_name = "SUFFIX")]
    pub dns_suffix: Option<String>,
    /// The federation uses `zoneNaming: zone-region`.
    #[arg(long)]
    pub zone_region: bool,
    /// Print the chain as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `fedsvc diff`.
#[derive(Debug, clap::Args)]
pub struct DiffArgs {
    /// The snapshot file (YAML or JSON); `-` reads standard input.
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: PathBuf,
    /// The DNS provider configuration (YAML).
    #[arg(long = "dns", value_name = "FILE", env = "FEDSVC_DNS_CONFIG")]
    pub dns: PathBuf,
    /// Output format: `table` (default) lists the changes per name; `json` and `yaml` print
    /// the change groups and conflicts; `zone` prints the change as a diff of zone-file lines,
    /// `-NAME TTL IN TYPE DATA` for each record removed and `+…` for each record added (an
    /// update is both), grouped under a `; NAME` comment.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = Format::Table)]
    pub output: Format,
    /// The largest snapshot accepted, in bytes, or with a unit: `KiB`, `MiB`, `GiB` (also `K`,
    /// `M`, `G`), or `KB`, `MB`, `GB` (powers of 1000).
    #[arg(long, value_name = "SIZE", default_value = "1GiB", value_parser = parse_size)]
    pub max_input_size: u64,
}

/// Arguments of `fedsvc apply`.
#[derive(Debug, clap::Args)]
pub struct ApplyArgs {
    /// The snapshot file (YAML or JSON); `-` reads standard input.
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: PathBuf,
    /// The DNS provider configuration (YAML).
    #[arg(long = "dns", value_name = "FILE", env = "FEDSVC_DNS_CONFIG")]
    pub dns: PathBuf,
    /// Apply without asking.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Apply even when it deletes or updates more than 30 % of the records fedsvc owns in a
    /// zone of 10 or more.
    #[arg(long)]
    pub force: bool,
    /// The largest snapshot accepted, in bytes, or with a unit: `KiB`, `MiB`, `GiB` (also `K`,
    /// `M`, `G`), or `KB`, `MB`, `GB` (powers of 1000).
    #[arg(long, value_name = "SIZE", default_value = "1GiB", value_parser = parse_size)]
    pub max_input_size: u64,
}

/// Arguments of `fedsvc records`.
#[derive(Debug, clap::Args)]
pub struct RecordsArgs {
    /// The DNS provider configuration (YAML).
    #[arg(long = "dns", value_name = "FILE", env = "FEDSVC_DNS_CONFIG")]
    pub dns: PathBuf,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = Format::Table)]
    pub output: Format,
}

/// Arguments of `fedsvc plan`.
#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    /// The snapshot file (YAML or JSON); `-` reads standard input.
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: PathBuf,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = Format::Table)]
    pub output: Format,
    /// Say for each name which shards made its addresses, or why it is a CNAME.
    #[arg(long)]
    pub explain: bool,
    /// The largest snapshot accepted, in bytes, or with a unit: `KiB`, `MiB`, `GiB` (also `K`,
    /// `M`, `G`), or `KB`, `MB`, `GB` (powers of 1000). A larger file, or standard input that
    /// goes on longer, is refused before it fills memory.
    #[arg(long, value_name = "SIZE", default_value = "1GiB", value_parser = parse_size)]
    pub max_input_size: u64,
}

/// `--version`: the version and the DNS providers compiled in, for example
/// `0.1.0 (providers: memory, rfc2136, powerdns, route53, clouddns)`.
pub fn version_text() -> &'static str {
    static TEXT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TEXT.get_or_init(|| {
        format!(
            "{} (providers: {})",
            env!("CARGO_PKG_VERSION"),
            fedsvc_providers::COMPILED_KINDS.join(", ")
        )
    })
}

/// Parses a size such as `1GiB`, `512MiB`, `64K`, `10MB` or `1048576` (bytes).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(digits);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a size (for example 1GiB, 512MiB, 1048576)"))?;
    let scale: u64 = match unit.trim() {
        "" | "B" => 1,
        "K" | "KiB" => 1 << 10,
        "M" | "MiB" => 1 << 20,
        "G" | "GiB" => 1 << 30,
        "T" | "TiB" => 1 << 40,
        "KB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        "TB" => 1_000_000_000_000,
        other => {
            return Err(format!(
                "unknown unit {other:?} (use B, KiB, MiB, GiB, TiB or KB, MB, GB, TB)"
            ));
        }
    };
    number
        .checked_mul(scale)
        .ok_or_else(|| format!("{text:?} is too large"))
}

/// A size in bytes as people read it: `1 GiB`, `512 MiB`, `1000 bytes`.
pub(crate) fn show_size(bytes: u64) -> String {
    for (unit, scale) in [
        ("TiB", 1u64 << 40),
        ("GiB", 1 << 30),
        ("MiB", 1 << 20),
        ("KiB", 1 << 10),
    ] {
        if bytes >= scale && bytes.is_multiple_of(scale) {
            return format!("{} {unit}", bytes / scale);
        }
    }
    format!("{bytes} bytes")
}

/// Output formats for record listings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[non_exhaustive]
pub enum Format {
    /// Aligned columns NAME TYPE TTL DATA, like `gcloud dns record-sets list`.
    Table,
    /// `{"records": [...], "diagnostics": [...]}` (a stable interface).
    Json,
    /// The same document as `json`, in YAML.
    Yaml,
    /// RFC 1035 zone-file lines.
    Zone,
}

/// The buffer in front of standard output for the commands that print a result.
const OUT_BUFFER: usize = 128 * 1024;

/// Runs a parsed command on this process's standard output and error, and returns the exit
/// code: what the `fedsvc` binary does.
///
/// `plan`, `diff`, `records`, `status`, `resolve`, `clusters` and `completions` write through
/// one buffer, flushed once at the end. `apply`, `join`, `unjoin` and `demo` talk to a person
/// as they go (a prompt, progress, a live table), so they write line by line. A closed
/// standard output ends the command quietly (see the crate's exit codes); any other error is
/// printed as `fedsvc: error: …` and gives [`EXIT_FAILURE`].
pub fn run_on_stdio(cli: Cli) -> u8 {
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    let mut err = stderr.lock();
    let interactive = match cli.command {
        Command::Apply(_) | Command::Join(_) | Command::Unjoin(_) => true,
        #[cfg(feature = "demo")]
        Command::Demo(_) => true,
        _ => false,
    };
    let mut reached = 0;
    let outcome = if interactive {
        run(cli, &mut stdout.lock(), &mut err)
    } else {
        let mut out = std::io::BufWriter::with_capacity(OUT_BUFFER, stdout.lock());
        run(cli, &mut out, &mut err).and_then(|code| {
            reached = code;
            out.flush()?;
            Ok(code)
        })
        // On an error the buffer's drop flushes what it holds, ignoring a closed pipe.
    };
    match outcome {
        Ok(code) => code,
        Err(e) if is_broken_pipe(&e) => reached,
        Err(e) => {
            // Not eprintln!: it panics when standard error is closed too.
            let _ = writeln!(err, "fedsvc: error: {e:#}");
            EXIT_FAILURE
        }
    }
}

/// Runs a parsed command, writing results to `out` and diagnostics to `err`; returns the exit
/// code.
pub fn run(cli: Cli, out: &mut dyn Write, err: &mut dyn Write) -> anyhow::Result<u8> {
    match cli.command {
        Command::Plan(args) => plan_cmd::run(&args, out, err),
        Command::Diff(args) => dns_cmd::run_diff(&args, out, err),
        Command::Apply(args) => dns_cmd::run_apply(&args, out, err),
        Command::Records(args) => dns_cmd::run_records(&args, out),
        Command::Resolve(args) => resolve_cmd::run(&args, out),
        #[cfg(feature = "demo")]
        Command::Demo(args) => demo::run(&args, out),
        Command::Status(args) => block_on(status_cmd::run(&args, out)),
        Command::Completions { shell } => {
            use clap::CommandFactory;
            clap_complete::generate(shell, &mut Cli::command(), "fedsvc", out);
            Ok(0)
        }
        Command::Join(args) => block_on(cluster_cmd::join(&args, out)),
        Command::Unjoin(args) => block_on(cluster_cmd::unjoin(&args, out)),
        Command::Clusters(args) => block_on(cluster_cmd::clusters(&args, out)),
    }
}

/// Whether `err` is a closed standard output (as when piping into `head`): not worth an error
/// message.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn block_on<F: std::future::Future<Output = anyhow::Result<u8>>>(f: F) -> anyhow::Result<u8> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| anyhow::anyhow!("cannot start the async runtime: {e}"))?
        .block_on(f)
}
