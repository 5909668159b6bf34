//! `fedsvc resolve`: follow a federated service name through DNS, hop by hop.

use std::io::Write;
use std::net::{IpAddr, SocketAddr};

use anyhow::{Context, bail};
use fedsvc_dns_plan::{Level, Naming};
use fedsvc_model::{DnsName, Label, LabelRules, RecordType, ServiceKey, ZoneNaming};
use hickory_resolver::TokioResolver;
use hickory_resolver::config::{NameServerConfig, ResolverConfig, ResolverOpts};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::{RData, RecordType as HRecordType};

use crate::ResolveArgs;

/// The answer to one name: the CNAME hops and the final addresses.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Chain {
    /// The name asked.
    pub name: String,
    /// Each alias followed: (from, to).
    pub cnames: Vec<(String, String)>,
    /// The final addresses, sorted.
    pub addresses: Vec<IpAddr>,
    /// `NOERROR`, `NXDOMAIN`, `NODATA` or the error.
    pub outcome: String,
}

/// A resolver asking `server` only (or the system's resolvers when `None`).
pub fn resolver(server: Option<SocketAddr>) -> anyhow::Result<TokioResolver> {
    let builder = match server {
        Some(addr) => {
            let mut ns = NameServerConfig::udp_and_tcp(addr.ip());
            for c in &mut ns.connections {
                c.port = addr.port();
            }
            TokioResolver::builder_with_config(
                ResolverConfig::from_name_servers(vec![ns]),
                TokioRuntimeProvider::default(),
            )
        }
        None => TokioResolver::builder_tokio()
            .context("cannot read the system's resolver configuration")?,
    };
    let mut opts = ResolverOpts::default();
    opts.cache_size = 0;
    opts.attempts = 1;
    let mut builder = builder;
    *builder.options_mut() = opts;
    builder.build().context("cannot build a resolver")
}

/// Resolves `name` (A and AAAA) with `resolver`, recording every CNAME hop.
pub async fn chain(resolver: &TokioResolver, name: &DnsName) -> Chain {
    let mut out = Chain {
        name: name.to_string(),
        cnames: Vec::new(),
        addresses: Vec::new(),
        outcome: "NOERROR".into(),
    };
    let mut errors = Vec::new();
    for t in [HRecordType::A, HRecordType::AAAA] {
        match resolver.lookup(name.as_str(), t).await {
            Ok(lookup) => {
                for r in lookup.answers() {
                    match &r.data {
                        RData::CNAME(target) => {
                            let hop = (
                                r.name.to_string().to_ascii_lowercase(),
                                target.0.to_string().to_ascii_lowercase(),
                            );
                            if !out.cnames.contains(&hop) {
                                out.cnames.push(hop);
                            }
                        }
                        RData::A(a) => out.addresses.push(IpAddr::V4(a.0)),
                        RData::AAAA(a) => out.addresses.push(IpAddr::V6(a.0)),
                        _ => {}
                    }
                }
            }
            Err(e) => errors.push(e),
        }
    }
    out.addresses.sort();
    out.addresses.dedup();
    if out.addresses.is_empty() {
        out.outcome = if errors.iter().any(|e| e.is_nx_domain()) {
            "NXDOMAIN".into()
        } else if errors.iter().all(|e| e.is_no_records_found()) {
            "NODATA".into()
        } else {
            errors
                .first()
                .map_or_else(|| "NODATA".into(), ToString::to_string)
        };
    }
    out
}

/// Writes a chain the way `fedsvc resolve` shows it.
pub fn print_chain(out: &mut dyn Write, c: &Chain) -> std::io::Result<()> {
    writeln!(out, "{}", c.name)?;
    for (from, to) in &c.cnames {
        writeln!(out, "  {from} CNAME {to}")?;
    }
    if c.addresses.is_empty() {
        writeln!(out, "  => {}", c.outcome)?;
    } else {
        let list: Vec<String> = c.addresses.iter().map(ToString::to_string).collect();
        writeln!(out, "  => {}", list.join(", "))?;
    }
    Ok(())
}

/// The zone-level name a pod in `zone`/`region` is sent to for `S.N.F` (as the in-cluster
/// responder answers `S.N.F.svc.cluster.local.` when the service is not healthy locally).
fn zone_name(args: &ResolveArgs, short: &str) -> anyhow::Result<(String, DnsName)> {
    let parts: Vec<&str> = short.trim_end_matches('.').split('.').collect();
    let (svc, ns, fed) = match parts.as_slice() {
        [s, n, f] => (*s, *n, *f),
        [s, n, f, "svc", "cluster", "local"] => (*s, *n, *f),
        _ => bail!(
            "with --from-zone, NAME is a federated service's short name SERVICE.NAMESPACE.FEDERATION (got {short:?})"
        ),
    };
    let suffix = args
        .dns_suffix
        .as_deref()
        .context("--from-zone needs --dns-suffix (the federation's DNS suffix)")?;
    let key = ServiceKey::parse(ns, svc)?;
    let federation = Label::parse(fed, LabelRules::Rfc1123, "federation name")?;
    let naming = Naming::new(
        federation,
        DnsName::parse_host_name(suffix).context("--dns-suffix")?,
        if args.zone_region {
            ZoneNaming::ZoneRegion
        } else {
            ZoneNaming::Zone
        },
    );
    let zone = Label::parse(
        args.from_zone.as_deref().unwrap_or_default(),
        LabelRules::Rfc1123,
        "zone label",
    )?;
    let region = Label::parse(
        args.from_region
            .as_deref()
            .context("--from-zone needs --from-region")?,
        LabelRules::Rfc1123,
        "region label",
    )?;
    let name = naming.name(&key, &Level::Zone { zone, region })?;
    Ok((format!("{svc}.{ns}.{fed}.svc.cluster.local."), name))
}

pub(crate) fn run(args: &ResolveArgs, out: &mut dyn Write) -> anyhow::Result<u8> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(async {
        let resolver = resolver(args.server)?;
        let name = if args.from_zone.is_some() {
            let (local, zone) = zone_name(args, &args.name)?;
            writeln!(
                out,
                "a pod in zone {} (region {}) asking {local} is sent to {zone} when the service has no healthy local shard",
                args.from_zone.as_deref().unwrap_or_default(),
                args.from_region.as_deref().unwrap_or_default()
            )?;
            zone
        } else {
            DnsName::parse(&args.name).with_context(|| format!("NAME {:?}", args.name))?
        };
        let c = chain(&resolver, &name).await;
        if args.json {
            crate::output::write_json(out, &c)?;
        } else {
            print_chain(out, &c)?;
        }
        let _ = RecordType::A;
        Ok(if c.addresses.is_empty() { crate::EXIT_FAILURE } else { 0 })
    })
}
