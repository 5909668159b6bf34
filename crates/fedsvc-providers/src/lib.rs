//! DNS providers for fedsvc: the [`DnsProvider`] trait and its backends.
//!
//! A provider manages one DNS zone in some backend. It can [`list`](DnsProvider::list) the
//! whole zone and [`apply`](DnsProvider::apply) a batch of
//! [`ChangeGroup`](fedsvc_dns_plan::ChangeGroup)s (the per-name unit of the diff that
//! `fedsvc-dns-plan` computes), atomically where the backend allows: an `A` ↔ `CNAME` flip is
//! one group and goes out in one DNS UPDATE message, one PowerDNS `PATCH`, or one in-memory
//! swap, so that resolvers never see the name vanish.
//!
//! Everything that is the same for every backend lives once, in wrappers:
//!
//! - [`Retrying`] splits [`Changes`](fedsvc_dns_plan::Changes) into batches by the provider's
//!   [`limits`](DnsProvider::limits), spaces writes by its [`rate`](DnsProvider::rate), retries
//!   retryable errors with exponential backoff and jitter, and stops at the first permanent
//!   error, reporting what was applied;
//! - [`Counting`] counts write and list calls (for tests and benchmarks).
//!
//! Every error is a [`ProviderError`] whose message names the provider and the cause, and
//! which says whether a retry can help ([`ProviderError::is_retryable`]):
//!
//! | kind | retryable | for example |
//! |---|---|---|
//! | `Throttled` | yes (after `retry_after`) | HTTP 429, Route53 `Throttling` |
//! | `Unavailable` | yes | connection refused, timeout, SERVFAIL, HTTP 5xx |
//! | `Unauthorized` | no | TSIG `BADSIG`/`BADKEY`, `REFUSED`, HTTP 401/403, no AWS credentials |
//! | `Conflict` | no (list again) | deleting an absent or different record set, creating an existing one |
//! | `Invalid` | no | a CNAME beside other data, a name outside the zone, an unknown zone |
//!
//! Every backend checks a batch the same way as the reference [`MemoryProvider`]: deletes and
//! update-olds must match the zone exactly, creates must not exist, a CNAME stands alone, names
//! lie in the zone. RFC 2136 sends these expectations as UPDATE prerequisites, Route53 and
//! Cloud DNS check them server-side (Route53 and PowerDNS are also checked against the current
//! record sets at the names a batch touches, read just before writing, since not every
//! implementation enforces them). Listings leave out the zone's SOA
//! and apex NS record sets, which belong to the server; everything else, including records
//! fedsvc did not write, is returned.
//!
//! Backends, one cargo feature each:
//!
//! | feature | backend | tested against |
//! |---|---|---|
//! | `memory` (default) | [`MemoryProvider`]: strict in-memory zone, optional embedded authoritative DNS server | itself, over real DNS queries |
//! | `rfc2136` | `Rfc2136Provider`: DNS UPDATE signed with TSIG, listing by AXFR | BIND 9, Knot |
//! | `powerdns` | `PowerDnsProvider`: the PowerDNS HTTP API | pdns-server (sqlite) |
//! | `route53` | `Route53Provider`: Amazon Route53 through the AWS SDK | moto's server |
//! | `clouddns` | `CloudDnsProvider`: Google Cloud DNS through Google's client library, Application Default Credentials | a local fake of the API and of Google's credential services (no emulator exists) |
//!
//! A sixth feature, `serve` (on with `memory`), adds only [`serve`]: hickory-server on one
//! address over UDP and TCP, shared by the embedded server and `fedsvc-local-dns`.
//!
//! The configuration file ([`Config`], DESIGN §5) selects a backend by `provider.kind`;
//! [`Config::build`] returns a boxed provider, or a clear error when the kind's feature is
//! not compiled in.
//!
//! ```no_run
//! use fedsvc_dns_plan::Changes;
//! use fedsvc_providers::{Config, DnsProvider, Retrying};
//!
//! # async fn run(changes: Changes) -> Result<(), Box<dyn std::error::Error>> {
//! let config = Config::from_yaml(
//!     r#"
//! zone: example.com
//! provider:
//!   kind: memory
//!   listen: 127.0.0.1:5353
//! "#,
//! )?;
//! let provider = Retrying::new(config.build().await?);
//! let current = provider.list().await?;
//! println!("{} record sets in {}", current.len(), provider.zone());
//! let report = provider.apply_changes(&changes).await?;
//! println!("applied {report}");
//! # Ok(()) }
//! ```
//!
//! # Layout
//!
//! One folder per backend, holding its settings (`config.rs`, compiled whatever the features,
//! so that every kind can be read and named), its provider (`provider.rs`, behind the
//! backend's feature) and the helpers only it uses; what several backends share stands
//! beside them, each once:
//!
//! | module | what lives there |
//! |---|---|
//! | `memory/` | `MemoryConfig`, `MemoryProvider`, and `server.rs`: the embedded authoritative DNS server |
//! | `rfc2136/` | `Rfc2136Config` and `TsigConfig` with the limits of a zone transfer, `Rfc2136Provider`, and `axfr.rs`: the signed zone transfer that lists the zone |
//! | `powerdns/` | `PowerDnsConfig`, `PowerDnsProvider` |
//! | `route53/` | `Route53Config`, `Route53Provider` |
//! | `clouddns/` | `CloudDnsConfig`, `CloudDnsProvider`, and `credentials.rs`: credentials files and Application Default Credentials |
//! | `config.rs` | [`Config`], [`Registry`] and [`ProviderConfig`]: reads the file, maps `provider.kind` to the backend's settings type, builds the provider |
//! | `provider.rs` | the [`DnsProvider`] trait, [`RateHint`], [`Counting`] |
//! | `retrying.rs` | [`Retrying`]: batches, pacing, retries, the write fence |
//! | `error.rs` | [`ProviderError`], [`ConfigError`], and the pieces of messages several backends make (an error's chain of causes, sizes in words) |
//! | `secret.rs` | [`Secret`], secret files, and keeping secrets and URL passwords out of messages |
//! | `zone_state.rs` | a zone's record sets with a strict server's checks, for every backend: batch checks, which sets belong to the server |
//! | `hickory_conv.rs` | record sets to and from hickory's wire records, for `memory` and `rfc2136` |
//! | `http/` | for the REST backends, `powerdns` and `clouddns`: what an error status means, `Retry-After`; `body.rs`: capped reading of a reqwest answer |
//! | `serve.rs` | [`serve`]: one address over UDP and TCP with hickory-server (public, feature `serve`) |

mod clouddns;
mod config;
mod error;
#[cfg(any(feature = "memory", feature = "rfc2136"))]
#[cfg_attr(not(feature = "rfc2136"), allow(dead_code))]
mod hickory_conv;
#[cfg(any(feature = "powerdns", feature = "clouddns"))]
mod http;
mod memory;
mod powerdns;
mod provider;
mod retrying;
mod rfc2136;
mod route53;
mod secret;
#[cfg(feature = "serve")]
pub mod serve;
#[cfg_attr(not(feature = "memory"), allow(dead_code))]
mod zone_state;

/// The provider kinds compiled into this build, in the order the documentation lists them
/// (each kind is the cargo feature of the same name). Binaries print them in `--version`.
pub const COMPILED_KINDS: &[&str] = &[
    #[cfg(feature = "memory")]
    "memory",
    #[cfg(feature = "rfc2136")]
    "rfc2136",
    #[cfg(feature = "powerdns")]
    "powerdns",
    #[cfg(feature = "route53")]
    "route53",
    #[cfg(feature = "clouddns")]
    "clouddns",
];

pub use clouddns::CloudDnsConfig;
#[cfg(feature = "clouddns")]
pub use clouddns::CloudDnsProvider;
pub use config::{Config, ProviderConfig, Registry};
pub use error::{ConfigError, ProviderError};
pub use memory::MemoryConfig;
#[cfg(feature = "memory")]
pub use memory::MemoryProvider;
pub use powerdns::PowerDnsConfig;
#[cfg(feature = "powerdns")]
pub use powerdns::PowerDnsProvider;
pub use provider::{Counting, DnsProvider, RateHint, Stats};
pub use retrying::{Admission, ApplyError, ApplyReport, RetryPolicy, Retrying, WriteFence};
#[cfg(feature = "rfc2136")]
pub use rfc2136::Rfc2136Provider;
pub use rfc2136::{Rfc2136Config, TsigConfig};
pub use route53::Route53Config;
#[cfg(feature = "route53")]
pub use route53::Route53Provider;
pub use secret::Secret;
