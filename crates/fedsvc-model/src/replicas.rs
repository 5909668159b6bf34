//! Dividing a federated Deployment's replicas over its member clusters.
//!
//! [`divide`] is a pure function of four things: the Deployment's `spec.replicas`, the
//! [`Weights`] (the [`WEIGHTS_ANNOTATION`], or [`Weights::even`] without it), the selected
//! members, and which of them are Ready. Equal inputs give equal divisions whatever the
//! order the members come in, so a reconciler can compute the division again on every pass:
//! it changes only when one of those four things changes.
//!
//! # The rules
//!
//! 1. **Weights.** A member named in the weights has that weight. Any other member takes the
//!    `*` weight, or 0 if there is no `*`. Without the annotation every member weighs 1
//!    ([`Weights::even`]).
//! 2. **Weight 0.** A member of weight 0 gets no copy ([`Placement::NoCopy`]), Ready or not,
//!    and has no part in the division.
//! 3. **The all-ready division.** The total is divided over the members of positive weight as
//!    if all were Ready, by largest remainders (Hamilton's method). First each member gets
//!    ⌊total·w/Σw⌋. Then the replicas left over go one each to the members with the largest
//!    remainders of total·w/Σw. Equal remainders go in name order (byte order of the names).
//!    The shares add up to the total, and each is within one replica of its exact quota
//!    total·w/Σw. With equal weights this means: the total is divided evenly, and the
//!    remainder goes one each to the first members in name order.
//! 4. **Members that are not Ready** are left as they are ([`Placement::Keep`]). A copy they
//!    have is neither scaled nor deleted while they cannot be reached, and none is created.
//!    Their shares of the all-ready division go to the Ready members, one replica at a time.
//!    Each replica goes to the Ready member with the fewest replicas for its weight: the
//!    largest w/(2s+1), where s is the member's replicas so far (Sainte-Laguë's highest
//!    averages, starting from the all-ready shares). Ties go to the first name. As a result:
//!    - a Ready member never has fewer replicas than in the all-ready division;
//!    - when one more member stops being Ready, no other member loses a replica: the
//!      replicas only move from that member to the others;
//!    - when members are Ready again, they get their shares back. Once all are Ready, the
//!      division is the all-ready one again, exactly;
//!    - with equal weights (the default) the result is still the even division, now over the
//!      Ready members: the total divided evenly, the remainder one each in name order.
//! 5. **A share of 0** means no copy ([`Placement::NoCopy`]). This includes every member
//!    when the total is 0. Any other share is [`Placement::Run`].
//! 6. **Nothing to schedule on.** If no member of positive weight is Ready, nothing is
//!    scheduled: each of them is [`Placement::Keep`], and the status is
//!    [`Status::NoReadyMember`]. If no selected member has a positive weight (or none is
//!    selected), every member is [`Placement::NoCopy`], and the status is
//!    [`Status::NoWeightedMember`]. Otherwise the status is [`Status::Scheduled`]: the
//!    [`Placement::Run`] shares add up to the total.
//!
//! A member listed more than once counts once. It counts as Ready only if every listing
//! says it is.
//!
//! # Why the shares of members that are not Ready are not divided afresh
//!
//! There is another way to handle members that are not Ready: divide the total afresh by
//! largest remainders over the Ready members only. That would keep every share within one
//! replica of total·w/Σw over the Ready members. But it would also move replicas between
//! healthy members whenever another member fails, even a member that ran none. With 2
//! replicas and weights `a=1,b=1,c=4`, the all-ready division is `a=1,b=0,c=1`. If `b` fails,
//! dividing afresh gives `c=2` and takes `a`'s replica away, though `b` ran nothing.
//!
//! No rule can do both in general: keep every share within one replica of the Ready members'
//! quota, and never take a replica from a Ready member when another fails. Take 9 replicas
//! over `big` (weight 17) and `a` to `e` (weight 1 each). Within one replica of the quota,
//! `big` must get 7 (leaving 1 each for two of `a` to `e`) or 6 (leaving 1 each for three).
//! Now let the members of `a` to `e` that run nothing fail. `big`'s quota rises to 8.05 (or
//! 7.65), so it would need one more replica, while the members that run one must keep it:
//! that makes 10 replicas out of 9. This module keeps healthy members' replicas in place. The
//! price is that while members are not Ready, a share can be more than one replica away from
//! the Ready members' quota. Here `big` keeps 7 of the 9, where its quota is 8.05. With all
//! members Ready, every share is within one replica of its quota.
//!
//! Two things are deliberately not inputs:
//! - **The previous division.** The division is stable because it is a pure function: a
//!   reconciler that computes it again gets the same answer. A history-dependent division
//!   could not promise to go back exactly to the all-ready division when a member recovers.
//! - **Per-member minimum or maximum replicas.** These are not supported.
//!
//! # Examples
//!
//! The default divides evenly, with the remainder going in name order:
//!
//! ```
//! use fedsvc_model::ClusterName;
//! use fedsvc_model::replicas::{divide, Member, Weights};
//!
//! let ready = |n: &str| Member::ready(ClusterName::parse(n).unwrap());
//! let d = divide(5, &Weights::even(), &[ready("c"), ready("a"), ready("b")]);
//! assert_eq!(d.to_string(), "a=2,b=2,c=1");
//!
//! let thirteen: Vec<Member> = (1..=13).map(|i| ready(&format!("m{i:02}"))).collect();
//! let d = divide(26, &Weights::even(), &thirteen);
//! assert!(d.iter().all(|(_, p)| p.replicas() == Some(2)));
//! ```
//!
//! With weights, and with a member that is not Ready:
//!
//! ```
//! use fedsvc_model::ClusterName;
//! use fedsvc_model::replicas::{divide, Member, Placement, Status, Weights};
//!
//! let w = Weights::parse("gce-us-central1-a=3,gce-us-central1-b=1,*=1").unwrap();
//! let name = |n: &str| ClusterName::parse(n).unwrap();
//! let a = name("gce-us-central1-a");
//! let b = name("gce-us-central1-b");
//! let c = name("gce-us-central1-c"); // weight 1 by `*`
//!
//! // Quotas 5.4, 1.8 and 1.8: 5, 1 and 1, then the two left over go to the largest
//! // remainders (b and c).
//! let all = [Member::ready(a.clone()), Member::ready(b.clone()), Member::ready(c.clone())];
//! let d = divide(9, &w, &all);
//! assert_eq!(d.status(), Status::Scheduled);
//! assert_eq!(d.to_string(), "gce-us-central1-a=5,gce-us-central1-b=2,gce-us-central1-c=2");
//!
//! // b is not Ready: it keeps its copy as is. Its 2 replicas go to a, one at a time:
//! // 3/(2·5+1) and then 3/(2·6+1) are both above c's 1/(2·2+1).
//! let b_down = [Member::ready(a.clone()), Member::not_ready(b.clone()), Member::ready(c.clone())];
//! let d = divide(9, &w, &b_down);
//! assert_eq!(d.placement(&b), Some(Placement::Keep));
//! assert_eq!(d.to_string(), "gce-us-central1-a=7,gce-us-central1-b=keep,gce-us-central1-c=2");
//!
//! // Nothing Ready: nothing is scheduled and every copy is kept.
//! let none = [Member::not_ready(a), Member::not_ready(b), Member::not_ready(c)];
//! let d = divide(9, &w, &none);
//! assert_eq!(d.status(), Status::NoReadyMember);
//! assert_eq!(d.scheduled(), 0);
//! ```

use std::cmp::Reverse;
use std::collections::BTreeMap;
use std::fmt;
use std::num::NonZeroU32;
use std::str::FromStr;

use thiserror::Error;

use crate::error::NameError;
use crate::names::ClusterName;

/// The annotation of a federated Deployment that holds its [`Weights`], for example
/// `fedsvc.io/replica-weights: "gce-us-central1-a=3,gce-us-central1-b=1,*=1"`.
pub const WEIGHTS_ANNOTATION: &str = "fedsvc.io/replica-weights";

/// The weight of each member cluster in the division of replicas.
///
/// The text form is a comma-separated list of `name=weight` entries. `*=weight` gives the
/// weight of every member not named. Without `*`, members that are not named weigh 0. Names
/// are cluster names (RFC 1123 subdomains, case folded). Weights are whole numbers from 0 to
/// 4294967295. Spaces around entries, names and numbers are ignored.
///
/// [`Weights::parse`] refuses, with an error naming the entry at fault:
/// - empty text, or an empty entry;
/// - an entry that is not `name=weight`, or has no name;
/// - an invalid cluster name, or a name given twice;
/// - a weight that is negative, not a whole number, or too large;
/// - weights that are all zero. Such weights would place no replica anywhere, so they are
///   refused rather than taken as a division of nothing.
///
/// ```
/// use fedsvc_model::ClusterName;
/// use fedsvc_model::replicas::Weights;
///
/// let w = Weights::parse("gce-us-central1-a=3, gce-us-central1-b=1, *=1").unwrap();
/// assert_eq!(w.weight(&ClusterName::parse("gce-us-central1-a").unwrap()), 3);
/// assert_eq!(w.weight(&ClusterName::parse("gce-europe-west1-b").unwrap()), 1);
/// assert_eq!(w.to_string(), "gce-us-central1-a=3,gce-us-central1-b=1,*=1");
///
/// let e = Weights::parse("gce-us-central1-a=3,gce-us-central1-b=-1").unwrap_err();
/// assert_eq!(e.to_string(), r#"entry 2 ("gce-us-central1-b=-1"): the weight is negative"#);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Weights {
    named: BTreeMap<ClusterName, u32>,
    other: Option<u32>,
}

impl Weights {
    /// Every member weighs 1 (`*=1`). This is the division without the annotation.
    pub fn even() -> Self {
        Self {
            named: BTreeMap::new(),
            other: Some(1),
        }
    }

    /// Weights for the `named` members, and `other` (the `*` weight) for the rest, or 0 if
    /// `other` is `None`. Unlike [`Weights::parse`], this accepts weights that are all zero.
    pub fn new(named: BTreeMap<ClusterName, u32>, other: Option<u32>) -> Self {
        Self { named, other }
    }

    /// Parses the text form, for example `"gce-us-central1-a=3,gce-us-central1-b=1,*=1"`.
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        if text.trim().is_empty() {
            return Err(ParseError::Empty);
        }
        let mut named: BTreeMap<ClusterName, (u32, usize)> = BTreeMap::new();
        let mut other: Option<(u32, usize)> = None;
        for e in split_entries(text)? {
            let weight = e.number(WEIGHT)?;
            if e.name == "*" {
                if let Some((_, first)) = other {
                    return Err(e.duplicate("*".to_owned(), first));
                }
                other = Some((weight, e.index));
                continue;
            }
            let name = e.cluster_name()?;
            if let Some(&(_, first)) = named.get(&name) {
                return Err(e.duplicate(name.to_string(), first));
            }
            named.insert(name, (weight, e.index));
        }
        let weights = Self {
            named: named.into_iter().map(|(n, (w, _))| (n, w)).collect(),
            other: other.map(|(w, _)| w),
        };
        if weights.named.values().all(|w| *w == 0) && weights.other.unwrap_or(0) == 0 {
            return Err(ParseError::AllZero);
        }
        Ok(weights)
    }

    /// The weight of `member`: its own, else the `*` weight, else 0.
    pub fn weight(&self, member: &ClusterName) -> u32 {
        self.named.get(member).copied().or(self.other).unwrap_or(0)
    }

    /// The members named, with their weights.
    pub fn named(&self) -> &BTreeMap<ClusterName, u32> {
        &self.named
    }

    /// The `*` weight, for members not named.
    pub fn other(&self) -> Option<u32> {
        self.other
    }
}

impl Default for Weights {
    /// [`Weights::even`].
    fn default() -> Self {
        Self::even()
    }
}

impl fmt::Display for Weights {
    /// The text form, in canonical order: the names in byte order, then `*`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut sep = "";
        for (name, weight) in &self.named {
            write!(f, "{sep}{name}={weight}")?;
            sep = ",";
        }
        if let Some(weight) = self.other {
            write!(f, "{sep}*={weight}")?;
        }
        Ok(())
    }
}

impl FromStr for Weights {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// A member cluster selected for the Deployment, and whether it is Ready.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Member {
    /// The cluster's name.
    pub name: ClusterName,
    /// Whether the cluster is Ready, so that replicas can be scheduled on it.
    pub ready: bool,
}

impl Member {
    /// A Ready member.
    pub fn ready(name: ClusterName) -> Self {
        Self { name, ready: true }
    }

    /// A member that is not Ready.
    pub fn not_ready(name: ClusterName) -> Self {
        Self { name, ready: false }
    }
}

/// What the reconciler does with one member's copy of the Deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Placement {
    /// The member has a copy with this many replicas: create it, or scale it to this many.
    Run(NonZeroU32),
    /// The member is not Ready. Leave its copy as it is (neither scale nor delete it), and
    /// create none. Its replicas are scheduled on the Ready members until it is Ready again.
    Keep,
    /// The member's share is 0 (or its weight is): it has no copy, so delete one it has.
    NoCopy,
}

impl Placement {
    /// The replicas this member should run: `Some(n)` for [`Run`](Self::Run), `Some(0)` for
    /// [`NoCopy`](Self::NoCopy), `None` for [`Keep`](Self::Keep) (whatever it has).
    pub fn replicas(self) -> Option<u32> {
        match self {
            Placement::Run(n) => Some(n.get()),
            Placement::NoCopy => Some(0),
            Placement::Keep => None,
        }
    }

    fn of_share(share: u64) -> Self {
        let share = u32::try_from(share).expect("a share is at most the total, a u32");
        NonZeroU32::new(share).map_or(Placement::NoCopy, Placement::Run)
    }
}

impl fmt::Display for Placement {
    /// `n` for [`Run`](Self::Run), `keep` for [`Keep`](Self::Keep), `0` for
    /// [`NoCopy`](Self::NoCopy).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Placement::Run(n) => write!(f, "{n}"),
            Placement::Keep => f.write_str("keep"),
            Placement::NoCopy => f.write_str("0"),
        }
    }
}

/// Whether a [`Division`] scheduled the replicas, and if not, why not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// At least one member of positive weight is Ready. The [`Placement::Run`] shares add up
    /// to the total.
    Scheduled,
    /// Members of positive weight are selected, but none is Ready. Nothing is scheduled, and
    /// each of them is [`Placement::Keep`].
    NoReadyMember,
    /// No selected member has a positive weight, or none is selected. Nothing is scheduled,
    /// and every member is [`Placement::NoCopy`].
    NoWeightedMember,
}

/// The division of a Deployment's replicas: one [`Placement`] per selected member.
///
/// Displays as `name=placement` entries in name order, for example
/// `gce-us-central1-a=7,gce-us-central1-b=keep,gce-us-central1-c=2,gce-us-central1-f=0`. A
/// [`Placement::Run`] is shown as its replica count, [`Placement::Keep`] as `keep`, and
/// [`Placement::NoCopy`] as `0`. [`parse_placements`] reads this form back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Division {
    total: u32,
    status: Status,
    placements: BTreeMap<ClusterName, Placement>,
}

impl Division {
    /// The replicas to divide (`spec.replicas`).
    pub fn total(&self) -> u32 {
        self.total
    }

    /// Whether the replicas were scheduled.
    pub fn status(&self) -> Status {
        self.status
    }

    /// The replicas scheduled: the sum of the [`Placement::Run`] shares. This is the total
    /// when the status is [`Status::Scheduled`], and 0 otherwise.
    pub fn scheduled(&self) -> u32 {
        self.placements
            .values()
            .filter_map(|p| match p {
                Placement::Run(n) => Some(n.get()),
                _ => None,
            })
            .sum()
    }

    /// The placement of `member`, or `None` if it is not selected.
    pub fn placement(&self, member: &ClusterName) -> Option<Placement> {
        self.placements.get(member).copied()
    }

    /// Each selected member's placement, in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&ClusterName, Placement)> {
        self.placements.iter().map(|(n, p)| (n, *p))
    }

    /// Each selected member's placement, by name.
    pub fn placements(&self) -> &BTreeMap<ClusterName, Placement> {
        &self.placements
    }
}

impl fmt::Display for Division {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut sep = "";
        for (name, placement) in &self.placements {
            write!(f, "{sep}{name}={placement}")?;
            sep = ",";
        }
        Ok(())
    }
}

/// Divides `total` replicas over the selected `members` by `weights`, following the
/// [module's rules](self).
///
/// The result depends only on `total`, `weights`, the set of members and the set of Ready
/// members, not on the order of `members`. The work is O(n log n) in the number of members,
/// whatever the total.
///
/// ```
/// use fedsvc_model::ClusterName;
/// use fedsvc_model::replicas::{divide, Member, Weights};
///
/// let m = |n: &str, ready: bool| Member { name: ClusterName::parse(n).unwrap(), ready };
/// let w = Weights::parse("a=2,*=1").unwrap();
/// // Quotas 3.5, 1.75 and 1.75: 3, 1 and 1, then b and c have the largest remainders.
/// let all = [m("a", true), m("b", true), m("c", true)];
/// assert_eq!(divide(7, &w, &all).to_string(), "a=3,b=2,c=2");
/// // c is not Ready. Its 2 replicas go to a, one at a time: 2/(2·3+1) and then 2/(2·4+1)
/// // are both above b's 1/(2·2+1).
/// let c_down = [m("a", true), m("b", true), m("c", false)];
/// assert_eq!(divide(7, &w, &c_down).to_string(), "a=5,b=2,c=keep");
/// ```
pub fn divide(total: u32, weights: &Weights, members: &[Member]) -> Division {
    // One entry per name, in name order: the order of `members` cannot matter.
    let mut selected: BTreeMap<&ClusterName, bool> = BTreeMap::new();
    for m in members {
        selected
            .entry(&m.name)
            .and_modify(|ready| *ready &= m.ready)
            .or_insert(m.ready);
    }
    let mut placements: BTreeMap<ClusterName, Placement> = selected
        .keys()
        .map(|n| ((*n).clone(), Placement::NoCopy))
        .collect();
    // The members of positive weight, in name order: (name, weight, ready).
    let weighted: Vec<(&ClusterName, u64, bool)> = selected
        .iter()
        .map(|(n, ready)| (*n, u64::from(weights.weight(n)), *ready))
        .filter(|(_, w, _)| *w > 0)
        .collect();
    let division = |status, placements| Division {
        total,
        status,
        placements,
    };
    if weighted.is_empty() {
        return division(Status::NoWeightedMember, placements);
    }
    if !weighted.iter().any(|(_, _, ready)| *ready) {
        for (name, _, _) in &weighted {
            placements.insert((*name).clone(), Placement::Keep);
        }
        return division(Status::NoReadyMember, placements);
    }

    let all_weights: Vec<u64> = weighted.iter().map(|(_, w, _)| *w).collect();
    let all_ready = largest_remainders(u64::from(total), &all_weights);

    let mut freed = 0;
    let mut ready_weights = Vec::new();
    let mut ready_shares = Vec::new();
    for ((_, w, ready), share) in weighted.iter().zip(&all_ready) {
        if *ready {
            ready_weights.push(*w);
            ready_shares.push(*share);
        } else {
            freed += share;
        }
    }
    let extra = highest_averages(freed, &ready_weights, &ready_shares);

    let mut extra = extra.iter();
    for ((name, _, ready), share) in weighted.iter().zip(&all_ready) {
        let placement = if *ready {
            let more = extra.next().expect("one extra count per Ready member");
            Placement::of_share(share + more)
        } else {
            Placement::Keep
        };
        placements.insert((*name).clone(), placement);
    }
    division(Status::Scheduled, placements)
}

/// Divides `total` in proportion to `weights` (all positive) by largest remainders; equal
/// remainders go to the lower index (the members are in name order).
fn largest_remainders(total: u64, weights: &[u64]) -> Vec<u64> {
    // total < 2^32 and each weight < 2^32, so total·w fits in 64 bits; the sum of the weights
    // is kept in 128 bits so that no count of members can overflow it.
    let sum: u128 = weights.iter().map(|w| u128::from(*w)).sum();
    let quota = |w: u64| (u128::from(total) * u128::from(w)) / sum;
    let remainder = |w: u64| (u128::from(total) * u128::from(w)) % sum;
    let mut shares: Vec<u64> = weights
        .iter()
        .map(|w| u64::try_from(quota(*w)).expect("a share is at most the total"))
        .collect();
    let left = total - shares.iter().sum::<u64>();
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by_key(|&i| (Reverse(remainder(weights[i])), i));
    // Fewer are left over than there are members: the remainders add up to left·Σw, each
    // below Σw.
    for &i in order
        .iter()
        .take(usize::try_from(left).expect("left < members"))
    {
        shares[i] += 1;
    }
    shares
}

/// The level `p / 2^LEVEL_SHIFT` at which [`highest_averages`] counts seats. One member's
/// seats are 2/w apart in level, more than 2^-31 for any w < 2^32, so an interval of width
/// 2^-32 holds at most one seat of each member.
const LEVEL_SHIFT: u32 = 32;

/// Gives `seats` more to members of `weights` (positive) that already have `start`, one at
/// a time, each to the largest w/(2s+1), ties to the lower index (Sainte-Laguë). Returns the
/// seats each one got.
///
/// Rather than one step per seat, this finds the level where the seats run out. A member's
/// n-th seat comes at the level (2n-1)/w. Every seat at or below the highest level that
/// does not give out too many is taken at once. The few left over are the members' next
/// seats, in order of level and then index.
fn highest_averages(seats: u64, weights: &[u64], start: &[u64]) -> Vec<u64> {
    let seats = u128::from(seats);
    // A member's seats at levels up to p / 2^LEVEL_SHIFT, beyond its start.
    let more_at = |p: u128, w: u64, start: u64| -> u128 {
        let upto = (p * u128::from(w) + (1 << LEVEL_SHIFT)) >> (LEVEL_SHIFT + 1);
        upto.saturating_sub(u128::from(start))
    };
    let given_at = |p: u128| -> u128 {
        weights
            .iter()
            .zip(start)
            .map(|(w, s)| more_at(p, *w, *s))
            .sum()
    };
    // At the level 2(seats + max start) + 1 any one member alone has `seats` more, so the
    // level sought is at most that. p stays below 2^67 and p·w below 2^99.
    let max_start = start.iter().copied().max().unwrap_or(0);
    let mut lo: u128 = 0;
    let mut hi: u128 = (2 * (seats + u128::from(max_start)) + 1) << LEVEL_SHIFT;
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        if given_at(mid) <= seats {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    let mut more: Vec<u64> = weights
        .iter()
        .zip(start)
        .map(|(w, s)| u64::try_from(more_at(lo, *w, *s)).expect("at most `seats`, a u32"))
        .collect();
    let left = seats - given_at(lo);
    if left > 0 {
        // Each member's next seat, (2n-1)/w, lies above the level, and only next seats lie
        // within 2^-32 of it; those left go to the lowest of them.
        let next = |i: usize| 2 * (u128::from(start[i]) + u128::from(more[i]) + 1) - 1;
        let mut order: Vec<usize> = (0..weights.len()).collect();
        order.sort_by(|&a, &b| {
            // next(a)/w(a) against next(b)/w(b), multiplied out.
            let by_level =
                (next(a) * u128::from(weights[b])).cmp(&(next(b) * u128::from(weights[a])));
            by_level.then(a.cmp(&b))
        });
        for &i in order
            .iter()
            .take(usize::try_from(left).expect("left < members"))
        {
            more[i] += 1;
        }
    }
    more
}

/// Parses the text form of a [`Division`] (its `Display`) back into placements, for example
/// a division recorded in an annotation. `n` is [`Placement::Run`] (or
/// [`Placement::NoCopy`] if it is 0), and `keep` is [`Placement::Keep`]. Empty text is no
/// placements.
///
/// ```
/// use fedsvc_model::ClusterName;
/// use fedsvc_model::replicas::{parse_placements, Placement};
///
/// let p = parse_placements("a=2,b=keep,c=0").unwrap();
/// assert_eq!(p[&ClusterName::parse("b").unwrap()], Placement::Keep);
/// assert_eq!(p[&ClusterName::parse("c").unwrap()], Placement::NoCopy);
/// assert!(parse_placements("a=2,a=1").is_err());
/// ```
pub fn parse_placements(text: &str) -> Result<BTreeMap<ClusterName, Placement>, ParseError> {
    let mut placements = BTreeMap::new();
    let mut first_entry = BTreeMap::new();
    if text.trim().is_empty() {
        return Ok(placements);
    }
    for e in split_entries(text)? {
        let name = e.cluster_name()?;
        if let Some(&first) = first_entry.get(&name) {
            return Err(e.duplicate(name.to_string(), first));
        }
        let placement = if e.value == "keep" {
            Placement::Keep
        } else {
            Placement::of_share(u64::from(e.number(PLACEMENT)?))
        };
        first_entry.insert(name.clone(), e.index);
        placements.insert(name, placement);
    }
    Ok(placements)
}

/// Text that is not a valid [`Weights`] or [`Division`] form.
///
/// Entries are counted from 1. Each message names the entry and its fault, for example
/// `entry 2 ("b=x"): "x" is not a whole number`. The caller says which text it was, for
/// example the [`WEIGHTS_ANNOTATION`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The text has no entries.
    #[error(
        "no entries: expected name=weight entries separated by commas, such as \"a=3,b=1,*=1\""
    )]
    Empty,
    /// An entry is empty: two commas in a row, or a comma at either end.
    #[error("entry {entry} is empty")]
    EmptyEntry {
        /// The entry's position.
        entry: usize,
    },
    /// An entry has no `=`.
    #[error("entry {entry} ({text:?}) is not name=value")]
    NotAPair {
        /// The entry's position.
        entry: usize,
        /// The entry.
        text: String,
    },
    /// An entry's name is empty.
    #[error("entry {entry} ({text:?}) has no cluster name")]
    EmptyName {
        /// The entry's position.
        entry: usize,
        /// The entry.
        text: String,
    },
    /// An entry's name is not a valid cluster name.
    #[error("entry {entry} ({text:?}): {error}")]
    InvalidName {
        /// The entry's position.
        entry: usize,
        /// The entry.
        text: String,
        /// Why the name is invalid.
        error: NameError,
    },
    /// A name is given twice (case folded).
    #[error("entry {entry} ({text:?}): {name} is already given in entry {first}")]
    Duplicate {
        /// The entry's position.
        entry: usize,
        /// The entry.
        text: String,
        /// The name, case folded (or `*`).
        name: String,
        /// The position of the entry that gave it first.
        first: usize,
    },
    /// The number is negative.
    #[error("entry {entry} ({text:?}): the {what} is negative")]
    Negative {
        /// The entry's position.
        entry: usize,
        /// The entry.
        text: String,
        /// What the number is: `weight` or `replica count`.
        what: &'static str,
    },
    /// The value is not a whole number (or `keep`, where that is allowed).
    #[error("entry {entry} ({text:?}): {value:?} is not {expected}")]
    NotANumber {
        /// The entry's position.
        entry: usize,
        /// The entry.
        text: String,
        /// The value as given.
        value: String,
        /// What was expected, for example "a whole number".
        expected: &'static str,
    },
    /// The number is larger than 4294967295.
    #[error("entry {entry} ({text:?}): the {what} {value} is larger than 4294967295")]
    TooLarge {
        /// The entry's position.
        entry: usize,
        /// The entry.
        text: String,
        /// What the number is: `weight` or `replica count`.
        what: &'static str,
        /// The number as given.
        value: String,
    },
    /// Every weight, `*` included, is 0, so no member would get a replica.
    #[error("every weight is 0, so no cluster would get a replica")]
    AllZero,
}

/// How a number in an entry is named and checked.
struct NumberKind {
    what: &'static str,
    expected: &'static str,
}

const WEIGHT: NumberKind = NumberKind {
    what: "weight",
    expected: "a whole number",
};

const PLACEMENT: NumberKind = NumberKind {
    what: "replica count",
    expected: "a whole number or keep",
};

/// One `name=value` entry of the text forms.
struct Entry<'a> {
    index: usize,
    text: &'a str,
    name: &'a str,
    value: &'a str,
}

fn split_entries(text: &str) -> Result<Vec<Entry<'_>>, ParseError> {
    let mut entries = Vec::new();
    for (i, raw) in text.split(',').enumerate() {
        let index = i + 1;
        let entry = raw.trim();
        if entry.is_empty() {
            return Err(ParseError::EmptyEntry { entry: index });
        }
        let Some((name, value)) = entry.split_once('=') else {
            return Err(ParseError::NotAPair {
                entry: index,
                text: entry.to_owned(),
            });
        };
        let name = name.trim();
        if name.is_empty() {
            return Err(ParseError::EmptyName {
                entry: index,
                text: entry.to_owned(),
            });
        }
        entries.push(Entry {
            index,
            text: entry,
            name,
            value: value.trim(),
        });
    }
    Ok(entries)
}

impl Entry<'_> {
    fn cluster_name(&self) -> Result<ClusterName, ParseError> {
        ClusterName::parse(self.name).map_err(|error| ParseError::InvalidName {
            entry: self.index,
            text: self.text.to_owned(),
            error,
        })
    }

    fn number(&self, kind: NumberKind) -> Result<u32, ParseError> {
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if self.value.strip_prefix('-').is_some_and(digits) {
            return Err(ParseError::Negative {
                entry: self.index,
                text: self.text.to_owned(),
                what: kind.what,
            });
        }
        if !digits(self.value) {
            return Err(ParseError::NotANumber {
                entry: self.index,
                text: self.text.to_owned(),
                value: self.value.to_owned(),
                expected: kind.expected,
            });
        }
        // Only digits: the one way left to fail is being too large.
        self.value.parse().map_err(|_| ParseError::TooLarge {
            entry: self.index,
            text: self.text.to_owned(),
            what: kind.what,
            value: self.value.to_owned(),
        })
    }

    fn duplicate(&self, name: String, first: usize) -> ParseError {
        ParseError::Duplicate {
            entry: self.index,
            text: self.text.to_owned(),
            name,
            first,
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn name(n: &str) -> ClusterName {
        ClusterName::parse(n).unwrap()
    }

    fn ready(names: &[&str]) -> Vec<Member> {
        names.iter().map(|n| Member::ready(name(n))).collect()
    }

    /// The shares of a division: `Run` counts, 0 for `NoCopy`, `None` for `Keep`.
    fn shares(d: &Division) -> BTreeMap<ClusterName, Option<u32>> {
        d.iter().map(|(n, p)| (n.clone(), p.replicas())).collect()
    }

    // ---- the examples of the specification ----

    #[test]
    fn twenty_six_over_thirteen_is_two_each() {
        let names: Vec<String> = (0..13).map(|i| format!("gce-{i}")).collect();
        let members: Vec<Member> = names.iter().map(|n| Member::ready(name(n))).collect();
        let d = divide(26, &Weights::even(), &members);
        assert_eq!(d.status(), Status::Scheduled);
        assert_eq!(d.placements().len(), 13);
        assert!(d.iter().all(|(_, p)| p.replicas() == Some(2)), "{d}");
    }

    #[test]
    fn five_over_three_is_two_two_one() {
        let d = divide(5, &Weights::even(), &ready(&["b", "c", "a"]));
        assert_eq!(d.to_string(), "a=2,b=2,c=1");
        assert_eq!(d.scheduled(), 5);
    }

    #[test]
    fn weighted_example_of_the_annotation() {
        let w = Weights::parse("gce-us-central1-a=3,gce-us-central1-b=1,*=1").unwrap();
        let members = ready(&[
            "gce-us-central1-a",
            "gce-us-central1-b",
            "gce-us-central1-c",
        ]);
        assert_eq!(
            divide(9, &w, &members).to_string(),
            "gce-us-central1-a=5,gce-us-central1-b=2,gce-us-central1-c=2"
        );
        // 10 divides exactly: 6, 2, 2.
        assert_eq!(
            divide(10, &w, &members).to_string(),
            "gce-us-central1-a=6,gce-us-central1-b=2,gce-us-central1-c=2"
        );
    }

    #[test]
    fn the_remainder_goes_in_byte_order_of_names() {
        // '-' < '0' < 'a' in bytes.
        let d = divide(2, &Weights::even(), &ready(&["ab", "a0", "a-b"]));
        assert_eq!(d.to_string(), "a-b=1,a0=1,ab=0");
    }

    #[test]
    fn members_without_a_weight_get_no_copy() {
        let w = Weights::parse("a=1,b=2").unwrap();
        let d = divide(6, &w, &ready(&["a", "b", "c"]));
        assert_eq!(d.to_string(), "a=2,b=4,c=0");
        assert_eq!(d.placement(&name("c")), Some(Placement::NoCopy));
        assert_eq!(d.placement(&name("zz")), None);
        // Not Ready changes nothing for a member of weight 0: it has no copy.
        let d = divide(6, &w, &[Member::not_ready(name("c"))]);
        assert_eq!(d.status(), Status::NoWeightedMember);
        assert_eq!(d.to_string(), "c=0");
    }

    #[test]
    fn a_share_of_zero_is_no_copy() {
        let d = divide(1, &Weights::even(), &ready(&["a", "b"]));
        assert_eq!(
            d.placement(&name("a")),
            Some(Placement::Run(NonZeroU32::MIN))
        );
        assert_eq!(d.placement(&name("b")), Some(Placement::NoCopy));
        let d = divide(0, &Weights::even(), &ready(&["a", "b"]));
        assert_eq!(d.status(), Status::Scheduled);
        assert_eq!(d.to_string(), "a=0,b=0");
    }

    #[test]
    fn nothing_ready_schedules_nothing_and_keeps_every_copy() {
        let w = Weights::parse("a=1,b=1").unwrap();
        let members = [
            Member::not_ready(name("a")),
            Member::not_ready(name("b")),
            Member::ready(name("c")), // weight 0
        ];
        let d = divide(4, &w, &members);
        assert_eq!(d.status(), Status::NoReadyMember);
        assert_eq!(d.scheduled(), 0);
        assert_eq!(d.to_string(), "a=keep,b=keep,c=0");
    }

    #[test]
    fn no_selected_member_has_a_weight() {
        let w = Weights::parse("x=1").unwrap();
        let d = divide(4, &w, &ready(&["a", "b"]));
        assert_eq!(d.status(), Status::NoWeightedMember);
        assert_eq!(d.to_string(), "a=0,b=0");
        let d = divide(4, &Weights::even(), &[]);
        assert_eq!(d.status(), Status::NoWeightedMember);
        assert_eq!(d.to_string(), "");
    }

    #[test]
    fn a_member_listed_twice_is_ready_only_if_every_listing_says_so() {
        let members = [
            Member::ready(name("a")),
            Member::ready(name("b")),
            Member::not_ready(name("b")),
        ];
        let d = divide(4, &Weights::even(), &members);
        assert_eq!(d.to_string(), "a=4,b=keep");
        let mut reversed = members.to_vec();
        reversed.reverse();
        assert_eq!(divide(4, &Weights::even(), &reversed), d);
    }

    #[test]
    fn a_member_that_ran_nothing_moves_nothing_when_it_fails() {
        // Dividing afresh over the Ready members would give big 8 of 9 here (quota 8.05) and
        // take a replica from a or b, though c, d and e ran nothing.
        let w = Weights::parse("big=17,*=1").unwrap();
        let all = ready(&["big", "a", "b", "c", "d", "e"]);
        let before = divide(9, &w, &all);
        assert_eq!(before.to_string(), "a=1,b=1,big=7,c=0,d=0,e=0");
        let mut down = all.clone();
        for m in &mut down[3..] {
            m.ready = false;
        }
        let after = divide(9, &w, &down);
        assert_eq!(after.to_string(), "a=1,b=1,big=7,c=keep,d=keep,e=keep");
    }

    #[test]
    fn a_failed_members_replicas_go_to_the_others() {
        // All ready: a=1, b=0, c=1 (the three remainders are equal; a is first).
        let w = Weights::parse("a=1,b=1,c=4").unwrap();
        let all = ready(&["a", "b", "c"]);
        assert_eq!(divide(2, &w, &all).to_string(), "a=1,b=0,c=1");
        // b ran nothing: nothing moves.
        let b_down = [
            Member::ready(name("a")),
            Member::not_ready(name("b")),
            Member::ready(name("c")),
        ];
        assert_eq!(divide(2, &w, &b_down).to_string(), "a=1,b=keep,c=1");
        // a's replica goes to c, not b: c's 4/(2·1+1) is above b's 1/(2·0+1).
        let a_down = [
            Member::not_ready(name("a")),
            Member::ready(name("b")),
            Member::ready(name("c")),
        ];
        assert_eq!(divide(2, &w, &a_down).to_string(), "a=keep,b=0,c=2");
    }

    #[test]
    fn huge_totals_and_weights_are_quick_and_exact() {
        let w = Weights::parse(&format!("a={m},b=1,c={m},d=3", m = u32::MAX)).unwrap();
        let members = [
            Member::ready(name("a")),
            Member::ready(name("b")),
            Member::not_ready(name("c")),
            Member::ready(name("d")),
        ];
        let all = divide(u32::MAX, &w, &ready(&["a", "b", "c", "d"]));
        assert_eq!(all.scheduled(), u32::MAX);
        let d = divide(u32::MAX, &w, &members);
        assert_eq!(d.scheduled(), u32::MAX);
        for n in ["a", "b", "d"] {
            let (before, after) = (all.placement(&name(n)), d.placement(&name(n)));
            assert!(
                after.unwrap().replicas() >= before.unwrap().replicas(),
                "{n}"
            );
        }
        assert_eq!(
            highest_averages(u64::from(u32::MAX), &[1, 1], &[0, 0]),
            [u64::from(u32::MAX / 2 + 1), u64::from(u32::MAX / 2)]
        );
    }

    // ---- the text forms ----

    #[test]
    fn weights_parse_and_display() {
        let w = Weights::parse(" B = 1 , a=3,*=2 ").unwrap();
        assert_eq!(w.to_string(), "a=3,b=1,*=2");
        assert_eq!(w.weight(&name("a")), 3);
        assert_eq!(w.weight(&name("b")), 1);
        assert_eq!(w.weight(&name("zz")), 2);
        assert_eq!(w.other(), Some(2));
        assert_eq!(w.named().len(), 2);
        assert_eq!(Weights::parse(&w.to_string()).unwrap(), w);
        assert_eq!("a=3,b=1,*=2".parse::<Weights>().unwrap(), w);
        assert_eq!(Weights::default(), Weights::parse("*=1").unwrap());
        // Zero weights are fine as long as one is positive.
        let w = Weights::parse("a=0,b=1").unwrap();
        assert_eq!(w.weight(&name("a")), 0);
        assert_eq!(w.weight(&name("c")), 0);
        assert!(Weights::parse(&format!("a={}", u32::MAX)).is_ok());
    }

    #[test]
    fn weights_errors_name_the_fault() {
        let err = |text: &str| Weights::parse(text).unwrap_err().to_string();
        assert_eq!(
            err(""),
            "no entries: expected name=weight entries separated by commas, such as \"a=3,b=1,*=1\""
        );
        assert_eq!(err("  "), err(""));
        assert_eq!(err("a=1,,b=2"), "entry 2 is empty");
        assert_eq!(err("a=1,"), "entry 2 is empty");
        assert_eq!(err("a=1,b"), r#"entry 2 ("b") is not name=value"#);
        assert_eq!(err("=3"), r#"entry 1 ("=3") has no cluster name"#);
        assert_eq!(
            err("a=1,bad_name=2"),
            "entry 2 (\"bad_name=2\"): cluster name \"bad_name\" is invalid: it must be \
             lower-case letters, digits, '-' and '.', each part starting and ending with a \
             letter or digit"
        );
        assert_eq!(err("a=x"), r#"entry 1 ("a=x"): "x" is not a whole number"#);
        assert_eq!(err("a="), r#"entry 1 ("a="): "" is not a whole number"#);
        assert_eq!(
            err("a=1.5"),
            r#"entry 1 ("a=1.5"): "1.5" is not a whole number"#
        );
        assert_eq!(
            err("a=+1"),
            r#"entry 1 ("a=+1"): "+1" is not a whole number"#
        );
        assert_eq!(err("a=-1"), r#"entry 1 ("a=-1"): the weight is negative"#);
        assert_eq!(
            err("a=4294967296"),
            r#"entry 1 ("a=4294967296"): the weight 4294967296 is larger than 4294967295"#
        );
        assert_eq!(
            err("a=1,b=2,A=3"),
            r#"entry 3 ("A=3"): a is already given in entry 1"#
        );
        assert_eq!(
            err("*=1,a=2,*=3"),
            r#"entry 3 ("*=3"): * is already given in entry 1"#
        );
        assert_eq!(
            err("a=0,*=0"),
            "every weight is 0, so no cluster would get a replica"
        );
        assert_eq!(err("a=0"), err("a=0,*=0"));
        assert_eq!(
            Weights::parse("a=1,b=-2").unwrap_err(),
            ParseError::Negative {
                entry: 2,
                text: "b=-2".into(),
                what: "weight"
            }
        );
    }

    #[test]
    fn placements_parse_back_the_display() {
        let w = Weights::parse("a=2,b=1,c=1,d=0").unwrap();
        let members = [
            Member::ready(name("a")),
            Member::not_ready(name("b")),
            Member::ready(name("c")),
            Member::ready(name("d")),
        ];
        let d = divide(3, &w, &members);
        assert_eq!(d.to_string(), "a=2,b=keep,c=1,d=0");
        assert_eq!(&parse_placements(&d.to_string()).unwrap(), d.placements());
        assert!(parse_placements(" ").unwrap().is_empty());
        let err = |text: &str| parse_placements(text).unwrap_err().to_string();
        assert_eq!(
            err("a=2,b=x"),
            r#"entry 2 ("b=x"): "x" is not a whole number or keep"#
        );
        assert_eq!(
            err("a=-2"),
            r#"entry 1 ("a=-2"): the replica count is negative"#
        );
        assert_eq!(
            err("a=1,a=keep"),
            r#"entry 2 ("a=keep"): a is already given in entry 1"#
        );
        assert!(matches!(
            parse_placements("*=1"),
            Err(ParseError::InvalidName { entry: 1, .. })
        ));
    }

    // ---- properties ----

    /// Dividing one replica at a time: the definition that `divide` computes quickly.
    fn reference(total: u32, weights: &Weights, members: &[Member]) -> BTreeMap<String, String> {
        let mut selected: BTreeMap<String, bool> = BTreeMap::new();
        for m in members {
            *selected.entry(m.name.to_string()).or_insert(true) &= m.ready;
        }
        let w = |n: &str| u128::from(weights.weight(&name(n)));
        let weighted: Vec<&String> = selected.keys().filter(|n| w(n) > 0).collect();
        let mut out: BTreeMap<String, String> =
            selected.keys().map(|n| (n.clone(), "0".into())).collect();
        if weighted.is_empty() {
            return out;
        }
        if !weighted.iter().any(|n| selected[*n]) {
            for n in weighted {
                out.insert(n.clone(), "keep".into());
            }
            return out;
        }
        // Hamilton, exactly as stated.
        let sum: u128 = weighted.iter().map(|n| w(n)).sum();
        let t = u128::from(total);
        let mut share: BTreeMap<&String, u128> =
            weighted.iter().map(|n| (*n, t * w(n) / sum)).collect();
        let mut by_remainder = weighted.clone();
        by_remainder.sort_by_key(|n| Reverse(t * w(n) % sum)); // stable: name order
        let left = t - share.values().sum::<u128>();
        for n in by_remainder.iter().take(left as usize) {
            *share.get_mut(n).unwrap() += 1;
        }
        // The not-Ready members' replicas, one at a time, to the largest w/(2s+1).
        let mut freed: u128 = weighted
            .iter()
            .filter(|n| !selected[**n])
            .map(|n| share[n])
            .sum();
        let ready: Vec<&String> = weighted.iter().copied().filter(|n| selected[*n]).collect();
        while freed > 0 {
            let best = ready
                .iter()
                .copied()
                .reduce(|a, b| {
                    // a wins ties (name order); b only if w(b)/(2s(b)+1) > w(a)/(2s(a)+1).
                    if w(b) * (2 * share[a] + 1) > w(a) * (2 * share[b] + 1) {
                        b
                    } else {
                        a
                    }
                })
                .unwrap();
            *share.get_mut(best).unwrap() += 1;
            freed -= 1;
        }
        for n in weighted {
            let v = if selected[n] {
                share[n].to_string()
            } else {
                "keep".into()
            };
            out.insert(n.clone(), v);
        }
        out
    }

    /// Up to 8 members from a pool of 10 names, each with a weight (or `*`'s) and readiness.
    fn scenario() -> impl Strategy<Value = (u32, Weights, Vec<Member>)> {
        let names = [
            "a", "b", "c", "d", "e", "f", "g", "gce-1", "gce-10", "gce-2",
        ];
        (
            0u32..60,
            proptest::collection::btree_map(0usize..10, 0u32..8, 0..8),
            proptest::option::of(0u32..4),
            proptest::sample::subsequence(names.to_vec(), 0..=8),
            proptest::collection::vec(proptest::bool::weighted(0.75), 8),
        )
            .prop_map(move |(total, named, other, members, ready)| {
                let named = named
                    .into_iter()
                    .map(|(i, w)| (name(names[i]), w))
                    .collect();
                let members = members
                    .iter()
                    .zip(ready)
                    .map(|(n, ready)| Member {
                        name: name(n),
                        ready,
                    })
                    .collect();
                (total, Weights::new(named, other), members)
            })
    }

    fn all_ready(members: &[Member]) -> Vec<Member> {
        members
            .iter()
            .map(|m| Member::ready(m.name.clone()))
            .collect()
    }

    proptest! {
        #[test]
        fn matches_the_one_replica_at_a_time_reference((total, w, members) in scenario()) {
            let d = divide(total, &w, &members);
            let got: BTreeMap<String, String> =
                d.iter().map(|(n, p)| (n.to_string(), p.to_string())).collect();
            prop_assert_eq!(got, reference(total, &w, &members));
        }

        #[test]
        fn shares_add_up_to_the_total((total, w, members) in scenario()) {
            let d = divide(total, &w, &members);
            let weighted_ready = members.iter().any(|m| m.ready && w.weight(&m.name) > 0);
            match d.status() {
                Status::Scheduled => prop_assert_eq!(d.scheduled(), total),
                Status::NoReadyMember | Status::NoWeightedMember => {
                    prop_assert_eq!(d.scheduled(), 0)
                }
            }
            // The names here are distinct, so each member's one listing says if it is Ready.
            prop_assert_eq!(d.status() == Status::Scheduled, weighted_ready);
            for m in &members {
                let p = d.placement(&m.name).unwrap();
                if w.weight(&m.name) == 0 {
                    prop_assert_eq!(p, Placement::NoCopy);
                } else if !m.ready {
                    prop_assert_eq!(p, Placement::Keep);
                } else {
                    prop_assert_ne!(p, Placement::Keep);
                }
            }
        }

        #[test]
        fn all_ready_shares_are_within_one_of_the_weighted_quota(
            (total, w, members) in scenario()
        ) {
            let members = all_ready(&members);
            let d = divide(total, &w, &members);
            let sum: u64 = members.iter().map(|m| u64::from(w.weight(&m.name))).sum();
            for m in &members {
                let share = u64::from(d.placement(&m.name).unwrap().replicas().unwrap());
                // |share − total·w/Σw| < 1, multiplied by Σw.
                let exact = u64::from(total) * u64::from(w.weight(&m.name));
                if sum > 0 {
                    prop_assert!((share * sum).abs_diff(exact) < sum, "{m:?}: {share} of {d}");
                }
            }
        }

        #[test]
        fn the_order_of_members_does_not_matter(
            ((total, w, members), seed) in (scenario(), any::<u64>())
        ) {
            let d = divide(total, &w, &members);
            let mut shuffled = members.clone();
            // A Fisher–Yates shuffle driven by the seed.
            let mut x = seed | 1;
            for i in (1..shuffled.len()).rev() {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                shuffled.swap(i, (x % (i as u64 + 1)) as usize);
            }
            prop_assert_eq!(divide(total, &w, &shuffled), d);
            // Listing a member twice with the same readiness changes nothing either.
            let mut twice = members.clone();
            twice.extend(members.iter().cloned());
            prop_assert_eq!(divide(total, &w, &twice), divide(total, &w, &members));
        }

        #[test]
        fn a_member_going_down_only_gives_its_replicas_to_the_others(
            ((total, w, members), pick) in (scenario(), any::<prop::sample::Index>())
        ) {
            let ready: Vec<usize> = (0..members.len()).filter(|&i| members[i].ready).collect();
            prop_assume!(!ready.is_empty());
            let r = ready[pick.index(ready.len())];
            let before = divide(total, &w, &members);
            let mut down = members.clone();
            down[r].ready = false;
            let after = divide(total, &w, &down);
            for (i, m) in members.iter().enumerate() {
                if i == r || !m.ready {
                    continue;
                }
                let (b, a) = (shares(&before)[&m.name], shares(&after)[&m.name]);
                prop_assert!(a >= b, "{}: {before} then {after}", m.name);
            }
            if after.status() == Status::Scheduled {
                prop_assert_eq!(after.scheduled(), total);
            }
            // Ready again: exactly the first division.
            prop_assert_eq!(divide(total, &w, &members), before);
        }

        #[test]
        fn ready_members_never_have_less_than_in_the_all_ready_division(
            (total, w, members) in scenario()
        ) {
            let all = shares(&divide(total, &w, &all_ready(&members)));
            let d = divide(total, &w, &members);
            for m in members.iter().filter(|m| m.ready) {
                prop_assert!(shares(&d)[&m.name] >= all[&m.name], "{}: {d}", m.name);
            }
        }

        #[test]
        fn the_default_is_every_weight_one((total, _w, members) in scenario()) {
            let even = divide(total, &Weights::even(), &members);
            let star = divide(total, &Weights::parse("*=1").unwrap(), &members);
            let each = Weights::new(members.iter().map(|m| (m.name.clone(), 1)).collect(), None);
            prop_assert_eq!(&star, &even);
            prop_assert_eq!(&divide(total, &each, &members), &even);
        }

        #[test]
        fn even_weights_divide_evenly_over_the_ready_members(
            (total, _w, members) in scenario()
        ) {
            let d = divide(total, &Weights::even(), &members);
            let mut ready: Vec<&ClusterName> =
                members.iter().filter(|m| m.ready).map(|m| &m.name).collect();
            ready.sort();
            prop_assume!(!ready.is_empty());
            let n = u32::try_from(ready.len()).unwrap();
            for (i, m) in ready.iter().enumerate() {
                let want = total / n + u32::from((i as u32) < total % n);
                prop_assert_eq!(d.placement(m).unwrap().replicas(), Some(want), "{}", d);
            }
        }

        #[test]
        fn the_text_forms_read_back((total, w, members) in scenario()) {
            let d = divide(total, &w, &members);
            prop_assert_eq!(&parse_placements(&d.to_string()).unwrap(), d.placements());
            if let Ok(again) = Weights::parse(&w.to_string()) {
                prop_assert_eq!(again, w);
            }
        }
    }
}
