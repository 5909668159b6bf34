//! Conversions between the model's record sets and hickory's wire records.

use std::collections::BTreeMap;
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
            (RecordType::Txt, RData::Txt(text))
        }
        other => {
            let rtype = RecordType::parse(&other.record_type().to_string());
            (rtype, RData::Other(other.to_string()))
        }
    })
}

/// Groups wire records into canonical record sets. Records whose owner or data cannot be
/// represented are skipped; a set's TTL is the smallest TTL of its records.
pub(crate) fn to_record_sets<'a>(records: impl IntoIterator<Item = &'a Record>) -> Vec<RecordSet> {
    let mut groups: BTreeMap<(DnsName, RecordType), (u32, Vec<RData>)> = BTreeMap::new();
    for r in records {
        let Ok(name) = DnsName::parse(&r.name.to_ascii()) else {
            continue;
        };
        let Some((rtype, data)) = from_rdata(&r.data) else {
            continue;
        };
        let entry = groups.entry((name, rtype)).or_insert((r.ttl, Vec::new()));
        entry.0 = entry.0.min(r.ttl);
        entry.1.push(data);
    }
    groups
        .into_iter()
        .filter_map(|((name, rtype), (ttl, data))| RecordSet::new(name, rtype, ttl, data).ok())
        .collect()
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
                vec![RData::Txt("x".repeat(300))],
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
        let mut back = to_record_sets(&records);
        back.sort();
        let mut want = sets;
        want.sort();
        assert_eq!(back, want);
    }
}
