//! The `fedsvc` command as a library: argument types and the commands behind them.
//!
//! The binary (`src/main.rs`) only parses arguments and maps the outcome to an exit code, so
//! every command can be run and tested in-process through [`run`].
//!
//! Exit codes: `0` success; [`EXIT_FAILURE`] (1) the command failed (message on stderr);
//! `2` bad usage (from the argument parser); [`EXIT_PARTIAL`] (3) the command ran, but part of
//! the input was refused (each refusal is printed on stderr, naming the object at fault).
//!
//! ```no_run
//! use clap::Parser;
//! let cli = fedsvc_cli::Cli::parse_from(["fedsvc", "plan", "-f", "examples/guide.yaml"]);
//! let code = fedsvc_cli::run(cli, &mut std::io::stdout(), &mut std::io::stderr()).unwrap();
//! assert_eq!(code, 0);
//! ```

mod cluster_cmd;
pub mod demo;
mod dns_cmd;
mod output;
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
#[command(name = "fedsvc", version, about, long_about = None)]
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
    /// the change groups and conflicts.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = Format::Table)]
    pub output: Format,
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

/// Runs a parsed command, writing results to `out` and diagnostics to `err`; returns the exit
/// code.
pub fn run(cli: Cli, out: &mut dyn Write, err: &mut dyn Write) -> anyhow::Result<u8> {
    match cli.command {
        Command::Plan(args) => plan_cmd::run(&args, out, err),
        Command::Diff(args) => dns_cmd::run_diff(&args, out, err),
        Command::Apply(args) => dns_cmd::run_apply(&args, out, err),
        Command::Records(args) => dns_cmd::run_records(&args, out),
        Command::Resolve(args) => resolve_cmd::run(&args, out),
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
