//! Query → reply: the DNS side of [`fedsvc_dns_plan::local_answer`].

use std::fmt;
use std::sync::Arc;

use fedsvc_dns_plan::{LocalAnswer, LocalContext, local_answer};
use fedsvc_model::{DnsName, Label, LabelRules, ServiceKey};
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::rdata::{CNAME, SOA};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};

use crate::error::LocalDnsError;
use crate::federation_spec::FederationSpec;
use crate::local_dns_config::LocalDnsConfig;
use crate::local_services::LocalServices;
use crate::outcome::Outcome;
use crate::reply::Reply;

/// One zone served: `F.svc.<cluster domain>`.
#[derive(Debug)]
struct FederationZone {
    /// The apex, lower case, with its trailing dot.
    apex: String,
    federation: FederationSpec,
    soa: Record,
}

/// Answers queries for the federated forms `S.N.F.svc.<cluster domain>`.
///
/// The responder is authoritative for `F.svc.<cluster domain>` for each configured
/// federation `F`, and for nothing else:
///
/// | query | reply |
/// |---|---|
/// | `S.N.F.svc.<domain>`, any type | CNAME (TTL = configured) to `S.N.svc.<domain>.` when `N/S` has a ready endpoint here, else to the zone-level federated name |
/// | `F.svc.<domain>` (apex) | its SOA for type SOA; NOERROR without data otherwise |
/// | `N.F.svc.<domain>` | NOERROR without data (every `S.N.F…` below it exists) |
/// | deeper names, labels that are not a namespace / service name | NXDOMAIN |
/// | anything else (other domains, unknown federations, `S.N.svc.<domain>`, class ≠ IN) | REFUSED |
///
/// Negative answers carry the zone's SOA, whose minimum is the configured TTL.
///
/// ```
/// use std::sync::Arc;
/// use fedsvc_local_dns::{LocalDnsConfig, Outcome, Responder, StaticServices};
/// use fedsvc_model::{Label, LabelRules, ServiceKey};
/// use hickory_proto::rr::{DNSClass, Name, RecordType};
/// let l = |s: &str| Label::parse(s, LabelRules::Rfc1123, "label").unwrap();
/// let services = StaticServices::new()
///     .with_ready_endpoints(ServiceKey::parse("mynamespace", "nginx").unwrap(), 2);
/// let config = LocalDnsConfig::new(l("us-central1-f"), l("us-central1"))
///     .with_federation("myfederation=example.com".parse().unwrap());
/// let responder = Responder::new(config, Arc::new(services)).unwrap();
/// let q = Name::from_ascii("nginx.mynamespace.myfederation.svc.cluster.local.").unwrap();
/// let reply = responder.answer(&q, DNSClass::IN, RecordType::A);
/// assert_eq!(reply.outcome, Outcome::Local);
/// assert_eq!(reply.cname_target().unwrap(), "nginx.mynamespace.svc.cluster.local.");
/// ```
pub struct Responder {
    config: LocalDnsConfig,
    zones: Vec<FederationZone>,
    services: Arc<dyn LocalServices>,
}

impl Responder {
    /// A responder for `config` that asks `services` whether a service is healthy here.
    pub fn new(
        config: LocalDnsConfig,
        services: Arc<dyn LocalServices>,
    ) -> Result<Self, LocalDnsError> {
        config.validate()?;
        let zones = config
            .federations
            .iter()
            .zip(config.zone_apexes())
            .map(|(f, apex)| {
                let origin = to_name(&apex)?;
                let rname = to_name(&apex.prepend_str("hostmaster").map_err(|source| {
                    LocalDnsError::InvalidName {
                        what: "SOA mailbox",
                        source,
                    }
                })?)?;
                let soa = Record::from_rdata(
                    origin.clone(),
                    config.ttl,
                    RData::SOA(SOA::new(origin, rname, 1, 3600, 600, 86400, config.ttl)),
                );
                Ok(FederationZone {
                    apex: apex.as_str().to_owned(),
                    federation: f.clone(),
                    soa,
                })
            })
            .collect::<Result<Vec<_>, LocalDnsError>>()?;
        Ok(Self {
            config,
            zones,
            services,
        })
    }

    /// The configuration answered from.
    #[must_use]
    pub fn config(&self) -> &LocalDnsConfig {
        &self.config
    }

    /// The source of local health.
    #[must_use]
    pub fn services(&self) -> &Arc<dyn LocalServices> {
        &self.services
    }

    /// Answers one question. Never fails: every question gets a [`Reply`].
    #[must_use]
    pub fn answer(&self, qname: &Name, qclass: DNSClass, qtype: RecordType) -> Reply {
        let mut text = qname.to_ascii().to_ascii_lowercase();
        if !text.ends_with('.') {
            text.push('.');
        }
        let Some(zone) = self
            .zones
            .iter()
            .find(|z| text == z.apex || text.ends_with(&format!(".{}", z.apex)))
        else {
            return Reply::refused();
        };
        if !matches!(qclass, DNSClass::IN | DNSClass::ANY) {
            return Reply::refused();
        }
        let head = text[..text.len() - zone.apex.len()].trim_end_matches('.');
        let labels: Vec<&str> = if head.is_empty() {
            Vec::new()
        } else {
            head.split('.').collect()
        };
        match labels.as_slice() {
            [] if qtype == RecordType::SOA => {
                self.positive(vec![zone.soa.clone()], Outcome::ZoneApex)
            }
            [] => self.negative(zone, ResponseCode::NoError, Outcome::ZoneApex),
            [namespace] if Label::parse(namespace, LabelRules::Rfc1123, "namespace").is_ok() => {
                self.negative(zone, ResponseCode::NoError, Outcome::EmptyNonTerminal)
            }
            [_, _] => self.federated(qname, &text, zone),
            _ => self.negative(zone, ResponseCode::NXDomain, Outcome::NoSuchName),
        }
    }

    fn federated(&self, qname: &Name, text: &str, zone: &FederationZone) -> Reply {
        let Ok(query) = DnsName::parse(text) else {
            return self.negative(zone, ResponseCode::NXDomain, Outcome::NoSuchName);
        };
        let services = &self.services;
        let lookup = |k: &ServiceKey| services.is_ready(k);
        let f = &zone.federation;
        let ctx = LocalContext::new(
            self.config.zone.clone(),
            self.config.region.clone(),
            &lookup,
        )
        .with_cluster_domain(self.config.cluster_domain.clone())
        .with_federation(f.name.clone(), f.dns_suffix.clone(), f.zone_naming);
        let (target, outcome) = match local_answer(&query, &ctx) {
            LocalAnswer::Local { target } => (target, Outcome::Local),
            LocalAnswer::Federated { target } => (target, Outcome::Federated),
            _ => return self.negative(zone, ResponseCode::NXDomain, Outcome::NoSuchName),
        };
        let Ok(target) = to_name(&target) else {
            return self.negative(zone, ResponseCode::NXDomain, Outcome::NoSuchName);
        };
        let cname = Record::from_rdata(qname.clone(), self.config.ttl, RData::CNAME(CNAME(target)));
        self.positive(vec![cname], outcome)
    }

    fn positive(&self, answers: Vec<Record>, outcome: Outcome) -> Reply {
        Reply {
            code: ResponseCode::NoError,
            answers,
            authority: Vec::new(),
            authoritative: true,
            outcome,
        }
    }

    fn negative(&self, zone: &FederationZone, code: ResponseCode, outcome: Outcome) -> Reply {
        Reply {
            code,
            answers: Vec::new(),
            authority: vec![zone.soa.clone()],
            authoritative: true,
            outcome,
        }
    }
}

impl fmt::Debug for Responder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Responder")
            .field("config", &self.config)
            .field("services", &self.services)
            .finish_non_exhaustive()
    }
}

fn to_name(name: &DnsName) -> Result<Name, LocalDnsError> {
    Name::from_ascii(name.as_str())
        .map_err(|e| LocalDnsError::Config(format!("{name} cannot be put in a DNS message: {e}")))
}

#[cfg(test)]
mod tests {
    use fedsvc_model::ZoneNaming;

    use super::*;
    use crate::static_services::StaticServices;

    fn l(s: &str) -> Label {
        Label::parse(s, LabelRules::Rfc1123, "label").unwrap()
    }

    fn key() -> ServiceKey {
        ServiceKey::parse("mynamespace", "nginx").unwrap()
    }

    fn responder(services: &StaticServices) -> Responder {
        let config = LocalDnsConfig::new(l("us-central1-f"), l("us-central1"))
            .with_federation("myfederation=example.com".parse().unwrap())
            .with_federation(
                FederationSpec::new(l("other"), DnsName::parse("example.org").unwrap())
                    .with_zone_naming(ZoneNaming::ZoneRegion),
            )
            .with_ttl(7);
        Responder::new(config, Arc::new(services.clone())).unwrap()
    }

    fn ask(r: &Responder, name: &str, t: RecordType) -> Reply {
        r.answer(&Name::from_ascii(name).unwrap(), DNSClass::IN, t)
    }

    const Q: &str = "nginx.mynamespace.myfederation.svc.cluster.local.";

    #[test]
    fn local_healthy_is_a_cname_to_the_local_service() {
        let s = StaticServices::new().with_ready_endpoints(key(), 3);
        let reply = ask(&responder(&s), Q, RecordType::A);
        assert_eq!(reply.code, ResponseCode::NoError);
        assert_eq!(reply.outcome, Outcome::Local);
        assert!(reply.authoritative);
        assert_eq!(reply.answers.len(), 1);
        assert_eq!(reply.answers[0].ttl, 7);
        assert_eq!(reply.answers[0].name.to_ascii(), Q);
        assert_eq!(
            reply.cname_target().as_deref(),
            Some("nginx.mynamespace.svc.cluster.local.")
        );
        assert!(reply.authority.is_empty());
    }

    #[test]
    fn local_without_endpoints_goes_to_the_zone_name() {
        let s = StaticServices::new().with_ready_endpoints(key(), 0);
        let reply = ask(&responder(&s), Q, RecordType::A);
        assert_eq!(reply.outcome, Outcome::Federated);
        assert_eq!(
            reply.cname_target().as_deref(),
            Some("nginx.mynamespace.myfederation.svc.us-central1-f.example.com.")
        );
    }

    #[test]
    fn not_local_goes_to_the_zone_name_with_zone_region_naming_when_configured() {
        let s = StaticServices::new();
        let r = responder(&s);
        let reply = ask(&r, Q, RecordType::A);
        assert_eq!(
            reply.cname_target().as_deref(),
            Some("nginx.mynamespace.myfederation.svc.us-central1-f.example.com.")
        );
        let reply = ask(
            &r,
            "nginx.mynamespace.other.svc.cluster.local.",
            RecordType::A,
        );
        assert_eq!(
            reply.cname_target().as_deref(),
            Some("nginx.mynamespace.other.svc.us-central1-f.us-central1.example.org.")
        );
    }

    #[test]
    fn every_type_gets_the_cname_and_case_is_folded_for_matching() {
        let s = StaticServices::new().with_ready_endpoints(key(), 1);
        let r = responder(&s);
        for t in [
            RecordType::A,
            RecordType::AAAA,
            RecordType::CNAME,
            RecordType::TXT,
            RecordType::SRV,
            RecordType::ANY,
        ] {
            let reply = ask(&r, "NGINX.MyNamespace.MyFederation.svc.Cluster.Local.", t);
            assert_eq!(reply.outcome, Outcome::Local, "{t}");
            assert_eq!(
                reply.cname_target().as_deref(),
                Some("nginx.mynamespace.svc.cluster.local."),
                "{t}"
            );
            // the owner keeps the case the client sent (0x20 randomisation)
            assert_eq!(
                reply.answers[0].name.to_ascii(),
                "NGINX.MyNamespace.MyFederation.svc.Cluster.Local."
            );
        }
    }

    #[test]
    fn unknown_federation_and_other_domains_are_refused() {
        let s = StaticServices::new().with_ready_endpoints(key(), 1);
        let r = responder(&s);
        for name in [
            "nginx.mynamespace.unknownfed.svc.cluster.local.",
            "nginx.mynamespace.svc.cluster.local.",
            "nginx.mynamespace.myfederation.svc.other.domain.",
            "nginx.mynamespace.myfederation.svc.us-central1-f.example.com.",
            "nginx.mynamespace.myfederation.",
            "nginx.mynamespace.myfederation.mynamespace.svc.cluster.local.",
            "cluster.local.",
            ".",
        ] {
            let reply = ask(&r, name, RecordType::A);
            assert_eq!(reply, Reply::refused(), "{name}");
        }
        let chaos = r.answer(&Name::from_ascii(Q).unwrap(), DNSClass::CH, RecordType::TXT);
        assert_eq!(chaos.code, ResponseCode::Refused);
    }

    #[test]
    fn inside_the_zone_but_not_a_federated_form() {
        let s = StaticServices::new();
        let r = responder(&s);
        let apex = ask(&r, "myfederation.svc.cluster.local.", RecordType::SOA);
        assert_eq!(
            (apex.code, apex.outcome),
            (ResponseCode::NoError, Outcome::ZoneApex)
        );
        assert_eq!(apex.answers[0].record_type(), RecordType::SOA);
        let apex_a = ask(&r, "myfederation.svc.cluster.local.", RecordType::A);
        assert_eq!(apex_a.code, ResponseCode::NoError);
        assert!(apex_a.answers.is_empty());
        assert_eq!(apex_a.authority[0].record_type(), RecordType::SOA);
        let ent = ask(
            &r,
            "mynamespace.myfederation.svc.cluster.local.",
            RecordType::A,
        );
        assert_eq!(
            (ent.code, ent.outcome),
            (ResponseCode::NoError, Outcome::EmptyNonTerminal)
        );
        assert!(ent.answers.is_empty());
        for name in [
            "www.nginx.mynamespace.myfederation.svc.cluster.local.",
            "1nginx.mynamespace.myfederation.svc.cluster.local.",
            "nginx.my_namespace.myfederation.svc.cluster.local.",
            "my_namespace.myfederation.svc.cluster.local.",
        ] {
            let reply = ask(&r, name, RecordType::A);
            assert_eq!(reply.code, ResponseCode::NXDomain, "{name}");
            assert_eq!(reply.outcome, Outcome::NoSuchName, "{name}");
            assert!(reply.authoritative);
            assert_eq!(reply.authority[0].record_type(), RecordType::SOA);
            let RData::SOA(soa) = &reply.authority[0].data else {
                panic!("not a SOA")
            };
            assert_eq!(soa.minimum, 7, "negative TTL is the configured TTL");
        }
    }

    #[test]
    fn health_is_read_on_every_query() {
        let s = StaticServices::new().with_ready_endpoints(key(), 1);
        let r = responder(&s);
        assert_eq!(ask(&r, Q, RecordType::A).outcome, Outcome::Local);
        s.set_ready_endpoints(key(), 0);
        assert_eq!(ask(&r, Q, RecordType::A).outcome, Outcome::Federated);
        s.set_ready_endpoints(key(), 4);
        assert_eq!(ask(&r, Q, RecordType::A).outcome, Outcome::Local);
    }

    #[test]
    fn another_cluster_domain() {
        let s = StaticServices::new().with_ready_endpoints(key(), 1);
        let config = LocalDnsConfig::new(l("z1"), l("r1"))
            .with_cluster_domain(DnsName::parse("k8s.example.net").unwrap())
            .with_federation("myfederation=example.com".parse().unwrap());
        let r = Responder::new(config, Arc::new(s)).unwrap();
        let reply = ask(
            &r,
            "nginx.mynamespace.myfederation.svc.k8s.example.net.",
            RecordType::A,
        );
        assert_eq!(
            reply.cname_target().as_deref(),
            Some("nginx.mynamespace.svc.k8s.example.net.")
        );
        assert_eq!(ask(&r, Q, RecordType::A).code, ResponseCode::Refused);
    }
}
