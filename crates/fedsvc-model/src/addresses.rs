//! A small set of IP addresses, held compactly.

use std::net::IpAddr;
use std::ops::Deref;

/// IP addresses, sorted and each once. A shard nearly always has one address: that one is held
/// inline, without an allocation of its own, which matters where hundreds of thousands of
/// shards are kept.
///
/// ```
/// use std::net::IpAddr;
/// use fedsvc_model::Addresses;
///
/// let ip = |s: &str| s.parse::<IpAddr>().unwrap();
/// let one = Addresses::from(vec![ip("10.0.0.1")]);
/// assert_eq!(&one[..], &[ip("10.0.0.1")]);
/// let many = Addresses::from(vec![ip("10.0.0.2"), ip("10.0.0.1"), ip("10.0.0.2")]);
/// assert_eq!(&many[..], &[ip("10.0.0.1"), ip("10.0.0.2")]);
/// assert!(Addresses::default().is_empty());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Addresses(Repr);

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Repr {
    One(IpAddr),
    Many(Box<[IpAddr]>),
}

impl Default for Addresses {
    fn default() -> Self {
        Addresses(Repr::Many(Box::default()))
    }
}

impl From<Vec<IpAddr>> for Addresses {
    /// Sorts the addresses and drops repeats.
    fn from(mut all: Vec<IpAddr>) -> Self {
        all.sort_unstable();
        all.dedup();
        match all.as_slice() {
            [one] => Addresses(Repr::One(*one)),
            _ => Addresses(Repr::Many(all.into_boxed_slice())),
        }
    }
}

impl Deref for Addresses {
    type Target = [IpAddr];

    fn deref(&self) -> &[IpAddr] {
        match &self.0 {
            Repr::One(one) => std::slice::from_ref(one),
            Repr::Many(all) => all,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_address_is_held_inline_and_equal_sets_compare_equal() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let a = Addresses::from(vec![ip("::1"), ip("10.0.0.1")]);
        let b = Addresses::from(vec![ip("10.0.0.1"), ip("::1"), ip("::1")]);
        assert_eq!(a, b);
        assert_eq!(a.len(), 2);
        let one = Addresses::from(vec![ip("10.0.0.1"), ip("10.0.0.1")]);
        assert!(matches!(one.0, Repr::One(_)));
        assert_eq!(one, Addresses::from(vec![ip("10.0.0.1")]));
        assert_ne!(one, Addresses::default());
        assert_eq!(Addresses::from(Vec::new()), Addresses::default());
    }
}
