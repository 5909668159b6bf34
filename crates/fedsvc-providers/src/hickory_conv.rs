//! Conversions between the model's record sets and hickory's wire records, for the backends
//! that speak DNS: `memory` (its embedded server) and `rfc2136` (UPDATE messages, AXFR).

use std::str::FromStr;

use fedsvc_model::{DnsName, RData, RecordSet, RecordType};
use hickory_proto::rr::rdata::{A, AAAA, CNAME, TXT};
use hickory_proto::rr::{self as hrr, Name, Record};

/// The hickory name of a model name.
pub(crate) fn to_name(name: &DnsName) -> Name {
    // A DnsName is valid, lower-case and absolute: hickory accepts every one of them.
    Name::from_ascii(name.as_str()).unwrap_or_else(|_| Name::root())
}

/// The hickory type of a model type.
pub(crate) fn to_type(rtype: &RecordType) -> hrr::RecordType {
    match rtype {
        RecordType::A => hrr::RecordType::A,
        RecordType::Aaaa => hrr::RecordType::AAAA,
        RecordType::Cname => hrr::RecordType::CNAME,
        RecordType::Txt => hrr::RecordType::TXT,
        other => hrr::RecordType::from_str(other.as_str()).unwrap_or(hrr::RecordType::NULL),
    }
}

/// The hickory data of one model datum, or `None` for data hickory cannot parse.
pub(crate) fn to_rdata(rtype: &RecordType, data: &RData) -> Option<hrr::RData> {
    Some(match data {
        RData::A(ip) => hrr::RData::A(A(*ip)),
        RData::Aaaa(ip) => hrr::RData::AAAA(AAAA(*ip)),
        RData::Cname(target) => hrr::RData::CNAME(CNAME(to_name(target))),
        RData::Txt(text) => hrr::RData::TXT(TXT::new(txt_strings(text))),
        RData::Other(text) => hrr::RData::try_from_str(to_type(rtype), text).ok()?,
        _ => return None,
    })
}

/// TXT data split into character-strings of at most 255 octets (on character boundaries).
fn txt_strings(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for c in text.chars() {
        if cur.len() + c.len_utf8() > 255 {
            out.push(std::mem::take(&mut cur));
        }
        cur.push(c);
    }
    if !cur.is_empty() || out.is_empty() {
        out.push(cur);
    }
    out
}

/// The wire records of a record set (data hickory cannot represent is skipped).
pub(crate) fn to_records(rs: &RecordSet) -> Vec<Record> {
    let name = to_name(rs.name());
    rs.data()
        .iter()
        .filter_map(|d| to_rdata(rs.rtype(), d))
        .map(|rdata| Record::from_rdata(name.clone(), rs.ttl(), rdata))
        .collect()
}

/// The model datum of a wire record's data.
fn from_rdata(rdata: &hrr::RData) -> Option<(RecordType, RData)> {
    Some(match rdata {
        hrr::RData::A(a) => (RecordType::A, RData::A(a.0)),
        hrr::RData::AAAA(a) => (RecordType::Aaaa, RData::Aaaa(a.0)),
        hrr::RData::CNAME(c) => (
            RecordType::Cname,
            RData::Cname(DnsName::parse(&c.0.to_ascii()).ok()?),
        ),
        hrr::RData::TXT(t) => {
            let text: String = t
                .txt_data
                .iter()
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .collect();
            (RecordType::Txt, RData::Txt(text.into()))
        }
        other => {
            let rtype = RecordType::parse(&other.record_type().to_string());
            (rtype, RData::Other(other.to_string()))
        }
    })
}

/// Wire records grouped into record sets as they come (one record at a time, as a zone
/// transfer reads them), so that a zone is never held as wire records: each run of records of
/// one name and type becomes a set as soon as the next record ends it, or the stream does.
/// Records whose owner or data cannot be represented are skipped; a set's TTL is the smallest
/// TTL of its records.
///
/// The records of a set usually come one after the other; when they do not, the set comes in
/// pieces, which [`merge_pieces`] puts together.
#[derive(Default)]
pub(crate) struct SetStream {
    /// The owner of the last record and its model name (`None`: not representable), so that
    /// a name is parsed once for all its records.
    owner: Option<(Name, Option<DnsName>)>,
    /// The run being read: name, type, TTL, data.
    piece: Option<(DnsName, RecordType, u32, Vec<RData>)>,
}

impl SetStream {
    /// Adds one wire record; returns the set (or piece of a set) it ends, if any.
    pub(crate) fn add(&mut self, r: &Record) -> Option<RecordSet> {
        let known = matches!(&self.owner, Some((wire, _)) if *wire == r.name);
        if !known {
            let name = DnsName::parse(&r.name.to_ascii()).ok();
            self.owner = Some((r.name.clone(), name));
        }
        let Some((_, Some(name))) = &self.owner else {
            return None;
        };
        let (rtype, data) = from_rdata(&r.data)?;
        match &mut self.piece {
            Some((n, t, ttl, d)) if n == name && *t == rtype => {
                *ttl = (*ttl).min(r.ttl);
                d.push(data);
                None
            }
            _ => {
                let done = self.piece.replace((name.clone(), rtype, r.ttl, vec![data]));
                done.and_then(|(n, t, ttl, d)| RecordSet::new(n, t, ttl, d).ok())
            }
        }
    }

    /// The last set, once every record was added.
    pub(crate) fn finish(self) -> Option<RecordSet> {
        let (n, t, ttl, d) = self.piece?;
        RecordSet::new(n, t, ttl, d).ok()
    }
}

/// Record sets of which some may have come in pieces (see [`SetStream`]), each set once:
/// the union of its pieces with their smallest TTL. Sorted by name and type.
pub(crate) fn merge_pieces(mut sets: Vec<RecordSet>) -> Vec<RecordSet> {
    let key = |rs: &RecordSet| (rs.name().clone(), rs.rtype().clone());
    if !sets.is_sorted_by(|a, b| (a.name(), a.rtype()) <= (b.name(), b.rtype())) {
        // Stable: the pieces of one set stay in the order they came.
        sets.sort_by(|a, b| (a.name(), a.rtype()).cmp(&(b.name(), b.rtype())));
    }
    // Merge the pieces of each set into its first one, in place.
    sets.dedup_by(|later, first| {
        if key(later) != key(first) {
            return false;
        }
        let mut data = first.data().to_vec();
        data.extend_from_slice(later.data());
        let ttl = first.ttl().min(later.ttl());
        if let Ok(merged) = RecordSet::new(first.name().clone(), first.rtype().clone(), ttl, data) {
            *first = merged;
        }
        true
    });
    sets
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let n = |s: &str| DnsName::parse(s).unwrap();
        let sets = vec![
            RecordSet::new(
                n("a.example.com"),
                RecordType::A,
                60,
                vec![RData::A("10.0.0.1".parse().unwrap())],
            )
            .unwrap(),
            RecordSet::cname(n("c.example.com"), 30, n("a.example.com")),
            RecordSet::new(
                n("t.example.com"),
                RecordType::Txt,
                60,
                vec![RData::Txt("x".repeat(300).into())],
            )
            .unwrap(),
            RecordSet::new(
                n("m.example.com"),
                RecordType::Other("MX".into()),
                60,
                vec![RData::Other("10 mail.example.com.".into())],
            )
            .unwrap(),
        ];
        let records: Vec<Record> = sets.iter().flat_map(to_records).collect();
        assert_eq!(records.len(), 4);
        let back = group(&records);
        let mut want = sets;
        want.sort();
        assert_eq!(back, want);
    }

    fn group<'a>(records: impl IntoIterator<Item = &'a Record>) -> Vec<RecordSet> {
        let mut stream = SetStream::default();
        let mut sets: Vec<RecordSet> = records.into_iter().filter_map(|r| stream.add(r)).collect();
        sets.extend(stream.finish());
        merge_pieces(sets)
    }

    #[test]
    fn pieces_of_a_set_that_do_not_come_together_are_merged() {
        let n = |s: &str| DnsName::parse(s).unwrap();
        let a = |name: &str, ttl: u32, ip: &str| {
            let data = hrr::RData::A(A(ip.parse().unwrap()));
            Record::from_rdata(to_name(&n(name)), ttl, data)
        };
        let records = [
            a("b.example.com", 60, "10.0.0.2"),
            a("b.example.com", 60, "10.0.0.1"),
            a("a.example.com", 60, "10.0.0.9"),
            a("b.example.com", 30, "10.0.0.3"),
            a("b.example.com", 60, "10.0.0.1"),
        ];
        let ips = |ips: &[&str]| {
            ips.iter()
                .map(|i| RData::A(i.parse().unwrap()))
                .collect::<Vec<_>>()
        };
        let want = vec![
            RecordSet::new(n("a.example.com"), RecordType::A, 60, ips(&["10.0.0.9"])).unwrap(),
            RecordSet::new(
                n("b.example.com"),
                RecordType::A,
                30,
                ips(&["10.0.0.1", "10.0.0.2", "10.0.0.3"]),
            )
            .unwrap(),
        ];
        assert_eq!(group(&records), want);
    }
}
