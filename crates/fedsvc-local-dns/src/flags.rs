//! The command line of `fedsvc-local-dns`.

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::federation_spec::FederationSpec;
use crate::local_dns_config::DEFAULT_TTL;

/// `fedsvc-local-dns`: answers `S.N.F.svc.cluster.local.` inside a member cluster with a CNAME
/// to the local service when it has ready endpoints here, else to the federated name of
/// this cluster's zone (kube-dns `--federations`).
#[derive(Debug, Clone, clap::Parser)]
#[command(name = "fedsvc-local-dns", version, about, long_about = None)]
pub struct Flags {
    /// Address to serve DNS on, UDP and TCP.
    #[arg(long, env = "FEDSVC_LOCAL_DNS_LISTEN", default_value = "0.0.0.0:53")]
    pub listen: SocketAddr,

    /// The cluster domain.
    #[arg(long, env = "FEDSVC_CLUSTER_DOMAIN", default_value = "cluster.local")]
    pub cluster_domain: String,

    /// A federation to answer for: NAME=SUFFIX[:zone|:zone-region] (repeatable).
    #[arg(
        long = "federation",
        value_name = "NAME=SUFFIX[:NAMING]",
        required = true
    )]
    pub federations: Vec<FederationSpec>,

    /// This cluster's zone; read from the nodes' labels when absent (the first zone, sorted).
    #[arg(long, env = "FEDSVC_ZONE")]
    pub zone: Option<String>,

    /// This cluster's region; read from the nodes' labels when absent.
    #[arg(long, env = "FEDSVC_REGION")]
    pub region: Option<String>,

    /// TTL of the answers in seconds.
    #[arg(long, default_value_t = DEFAULT_TTL)]
    pub ttl: u32,

    /// Kubeconfig file; without it, the in-cluster configuration (or $KUBECONFIG,
    /// ~/.kube/config) is used.
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,

    /// Kubeconfig context: of `--kubeconfig`, else of $KUBECONFIG or ~/.kube/config (never the
    /// in-cluster account); an unknown context is an error.
    #[arg(long)]
    pub context: Option<String>,

    /// This cluster's name, for logs.
    #[arg(long, default_value = "local")]
    pub cluster_name: String,

    /// Do not watch the cluster: take NAMESPACE/NAME as the services with ready endpoints
    /// (repeatable; needs --zone and --region). For tests and demos.
    #[arg(long = "static-ready", value_name = "NAMESPACE/NAME")]
    pub static_ready: Vec<String>,

    /// Serve without watching the cluster (no service is local unless --static-ready names it).
    #[arg(long)]
    pub no_cluster: bool,

    /// Where to look up CNAME targets to put their records in the answer: `system` (the
    /// resolvers of /etc/resolv.conf, the cluster DNS in a pod), `none`, or IP:PORT,...
    #[arg(long, default_value = "system")]
    pub upstream: String,

    /// Timeout of one upstream lookup, in milliseconds.
    #[arg(long, default_value_t = 1500)]
    pub upstream_timeout_ms: u64,

    /// How long to wait for the first listing of the cluster's services before serving, in
    /// seconds (answers are federated CNAMEs until then).
    #[arg(long, default_value_t = 30)]
    pub sync_timeout: u64,

    /// Log as JSON lines.
    #[arg(long)]
    pub log_json: bool,
}

impl Flags {
    /// Checks what clap cannot: no federation is given twice (with the same suffix or
    /// another). The error names the federation and both values.
    pub fn check(&self) -> Result<(), String> {
        for (i, f) in self.federations.iter().enumerate() {
            if let Some(first) = self.federations[..i].iter().find(|g| g.name == f.name) {
                return Err(format!(
                    "--federation {} is given twice ({first} and {f}); give each federation once",
                    f.name
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[test]
    fn defaults_and_repeatable_federations() {
        let f = Flags::try_parse_from([
            "fedsvc-local-dns",
            "--federation",
            "myfederation=example.com",
            "--federation",
            "other=example.org:zone-region",
        ])
        .unwrap();
        assert_eq!(f.listen, "0.0.0.0:53".parse().unwrap());
        assert_eq!(f.cluster_domain, "cluster.local");
        assert_eq!(f.federations.len(), 2);
        assert_eq!(f.ttl, DEFAULT_TTL);
        assert_eq!(f.upstream, "system");
    }

    #[test]
    fn a_federation_given_twice_is_refused() {
        let parse =
            |args: &[&str]| Flags::try_parse_from(["fedsvc-local-dns"].iter().chain(args)).unwrap();
        let twice = parse(&[
            "--federation",
            "myfederation=example.com",
            "--federation",
            "other=example.net",
            "--federation",
            "myfederation=example.org:zone-region",
        ]);
        let e = twice.check().unwrap_err();
        assert!(
            e.starts_with("--federation myfederation is given twice"),
            "{e}"
        );
        assert!(
            e.contains("example.com") && e.contains("example.org"),
            "{e}"
        );
        let same = parse(&[
            "--federation",
            "f=example.com",
            "--federation",
            "f=example.com",
        ]);
        assert!(same.check().unwrap_err().contains("f is given twice"));
        let two = parse(&[
            "--federation",
            "a=example.com",
            "--federation",
            "b=example.com",
        ]);
        two.check().unwrap();
    }

    #[test]
    fn a_bad_federation_is_a_usage_error() {
        let err = Flags::try_parse_from(["fedsvc-local-dns", "--federation", "nope"]).unwrap_err();
        assert!(err.to_string().contains("expected NAME=SUFFIX"), "{err}");
        assert!(Flags::try_parse_from(["fedsvc-local-dns"]).is_err());
    }
}
