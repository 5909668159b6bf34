//! The answer a cluster-local DNS server gives for a federated name.

use fedsvc_model::{DnsName, Label, ServiceKey};

use crate::level::Level;
use crate::local_context::LocalContext;
use crate::naming::{Naming, SVC_LABEL};

/// What the cluster-local DNS server answers for a query.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
#[non_exhaustive]
pub enum LocalAnswer {
    /// The service has a healthy shard here: CNAME to its cluster-local name
    /// `S.N.svc.<cluster domain>`.
    Local {
        /// The CNAME target.
        target: DnsName,
    },
    /// No healthy local shard: CNAME to the federated name of this pod's zone, whose records
    /// lead on to the nearest healthy shard.
    Federated {
        /// The CNAME target.
        target: DnsName,
    },
    /// Not a federated name this server answers (another form, an unknown federation, or a
    /// name whose target would be too long): the normal cluster DNS handles it.
    NotFederated,
}

/// Answers `query` the way kube-dns with `--federations` did, for the guide's "from pods
/// inside your federated clusters".
///
/// Only the fully expanded form `S.N.F.svc.<cluster domain>` is federated (a pod's resolver
/// sends `S.N.F` through its search path and so asks exactly that); `S.N.F.` alone is not ours.
///
/// ```
/// use std::collections::BTreeSet;
/// use fedsvc_model::{DnsName, Label, LabelRules, ServiceKey, ZoneNaming};
/// use fedsvc_dns_plan::{local_answer, LocalAnswer, LocalContext};
/// let l = |s: &str| Label::parse(s, LabelRules::Rfc1123, "label").unwrap();
/// let ready: BTreeSet<ServiceKey> = BTreeSet::new(); // no local shard
/// let lookup = |k: &ServiceKey| ready.contains(k);
/// let ctx = LocalContext::new(l("us-central1-f"), l("us-central1"), &lookup)
///     .with_federation(l("myfederation"), DnsName::parse("example.com").unwrap(), ZoneNaming::Zone);
/// let q = DnsName::parse("nginx.mynamespace.myfederation.svc.cluster.local").unwrap();
/// assert_eq!(
///     local_answer(&q, &ctx),
///     LocalAnswer::Federated {
///         target: DnsName::parse("nginx.mynamespace.myfederation.svc.us-central1-f.example.com").unwrap(),
///     },
/// );
/// ```
pub fn local_answer(query: &DnsName, ctx: &LocalContext<'_>) -> LocalAnswer {
    let Some(head) = query.relative_to(&ctx.cluster_domain) else {
        return LocalAnswer::NotFederated;
    };
    let labels: Vec<&str> = head.split('.').collect();
    let [service, namespace, federation, svc] = labels.as_slice() else {
        return LocalAnswer::NotFederated;
    };
    if *svc != SVC_LABEL {
        return LocalAnswer::NotFederated;
    }
    let Some((fed_label, fed)) = ctx
        .federations
        .iter()
        .find(|(name, _)| name.as_str() == *federation)
    else {
        return LocalAnswer::NotFederated;
    };
    let Ok(key) = ServiceKey::parse(namespace, service) else {
        return LocalAnswer::NotFederated;
    };
    if (ctx.local_service_ready)(&key) {
        let local = format!(
            "{}.{}.{SVC_LABEL}.{}",
            key.name, key.namespace, ctx.cluster_domain
        );
        return match DnsName::parse(&local) {
            Ok(target) => LocalAnswer::Local { target },
            Err(_) => LocalAnswer::NotFederated,
        };
    }
    let naming = Naming::new(
        Label::clone(fed_label),
        fed.dns_suffix.clone(),
        fed.zone_naming,
    );
    let level = Level::Zone {
        zone: ctx.zone.clone(),
        region: ctx.region.clone(),
    };
    match naming.name(&key, &level) {
        Ok(target) => LocalAnswer::Federated { target },
        Err(_) => LocalAnswer::NotFederated,
    }
}
