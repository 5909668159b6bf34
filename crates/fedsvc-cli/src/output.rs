//! Printing record sets as a table, JSON, YAML or zone-file lines.
//!
//! Every form is written as a stream into the writer it is given (the binary's one buffered
//! standard output): the document is never built as one string first.

use std::io::Write;

use fedsvc_model::{Diagnostic, RData, RecordSet};
use serde::Serialize;

use crate::Format;

/// The document printed by `-o json` and `-o yaml`.
#[derive(Serialize)]
pub(crate) struct RecordsDoc<'a, E: Serialize> {
    pub(crate) records: &'a [RecordSet],
    pub(crate) diagnostics: &'a [Diagnostic],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) explain: Option<E>,
}

/// A small buffer of a concrete type in front of `out`: serializers write many small pieces,
/// and each piece written to a `&mut dyn Write` is a call that cannot be inlined. The pieces
/// are gathered here and reach `out` (the command's buffered standard output) 64 KiB at a
/// time.
fn staged(out: &mut dyn Write) -> std::io::BufWriter<&mut dyn Write> {
    std::io::BufWriter::with_capacity(64 * 1024, out)
}

/// Writes `value` as pretty JSON followed by a newline.
pub(crate) fn write_json<T: Serialize>(out: &mut dyn Write, value: &T) -> anyhow::Result<()> {
    let mut w = staged(out);
    // As an io::Error, a closed pipe is seen as one (a serde_json::Error hides it from the
    // error's source chain) and ends the command quietly.
    serde_json::to_writer_pretty(&mut w, value).map_err(std::io::Error::from)?;
    w.write_all(b"\n")?;
    w.flush()?;
    Ok(())
}

/// Writes `value` as YAML.
pub(crate) fn write_yaml<T: Serialize>(out: &mut dyn Write, value: &T) -> anyhow::Result<()> {
    let mut w = staged(out);
    // An I/O error stays the error's source, so a closed pipe still ends the command quietly.
    serde_saphyr::to_io_writer(&mut w, value)?;
    w.flush()?;
    Ok(())
}

/// Writes `doc` as YAML, byte for byte as [`write_yaml`] would: the record sets, the bulk of a
/// large plan, by a writer of their own (serde-saphyr spends most of its time deciding how to
/// quote each value), then the rest of the document by serde-saphyr. A value that is not
/// plainly safe to write as it is (see [`plain`]) is handed to serde-saphyr alone, so the two
/// agree on every value.
fn write_records_yaml<E: Serialize>(
    out: &mut dyn Write,
    doc: &RecordsDoc<'_, E>,
) -> anyhow::Result<()> {
    if doc.records.is_empty() || doc.records.iter().any(|rs| rs.data().is_empty()) {
        return write_yaml(out, doc);
    }
    #[derive(Serialize)]
    struct Rest<'a, E: Serialize> {
        diagnostics: &'a [Diagnostic],
        #[serde(skip_serializing_if = "Option::is_none")]
        explain: &'a Option<E>,
    }
    let mut w = staged(out);
    w.write_all(b"records:\n")?;
    let mut text = String::new();
    for rs in doc.records {
        w.write_all(b"- name: ")?;
        yaml_scalar(&mut w, rs.name().as_str())?;
        w.write_all(b"\n  type: ")?;
        yaml_scalar(&mut w, rs.rtype().as_str())?;
        w.write_all(b"\n  ttl: ")?;
        write_u32(&mut w, rs.ttl())?;
        w.write_all(b"\n  data:\n")?;
        for d in rs.data() {
            w.write_all(b"  - ")?;
            match d {
                RData::A(_) => {
                    w.write_all(b"\"")?;
                    write_datum(&mut w, d)?;
                    w.write_all(b"\"")?;
                }
                other => {
                    use std::fmt::Write as _;
                    text.clear();
                    write!(text, "{other}")?;
                    yaml_scalar(&mut w, &text)?;
                }
            }
            w.write_all(b"\n")?;
        }
    }
    serde_saphyr::to_io_writer(
        &mut w,
        &Rest {
            diagnostics: doc.diagnostics,
            explain: &doc.explain,
        },
    )?;
    w.flush()?;
    Ok(())
}

/// Whether serde-saphyr writes `s` as it is, unquoted: a name or a word of letters, digits,
/// dots and hyphens that starts with a letter and cannot be read as anything but a string.
fn plain(s: &str) -> bool {
    const WORDS: [&str; 11] = [
        "y", "n", "yes", "no", "on", "off", "true", "false", "null", "nan", "inf",
    ];
    s.starts_with(|c: char| c.is_ascii_alphabetic())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        && !WORDS.iter().any(|w| s.eq_ignore_ascii_case(w))
}

/// One scalar, as serde-saphyr writes it.
fn yaml_scalar(w: &mut impl Write, s: &str) -> anyhow::Result<()> {
    if plain(s) {
        w.write_all(s.as_bytes())?;
    } else {
        let quoted = serde_saphyr::to_string(&s)?;
        w.write_all(quoted.trim_end_matches('\n').as_bytes())?;
    }
    Ok(())
}

/// Writes `doc` in `format`; `explain` lines (name → reasons) are appended under each table row
/// and as comments in zone output.
pub(crate) fn write_records<E: Serialize>(
    out: &mut dyn Write,
    format: Format,
    doc: &RecordsDoc<'_, E>,
    explain_lines: &dyn Fn(&RecordSet) -> Vec<String>,
) -> anyhow::Result<()> {
    match format {
        Format::Json => write_json(out, doc)?,
        Format::Yaml => write_records_yaml(out, doc)?,
        Format::Zone => {
            let mut w = staged(out);
            for rs in doc.records {
                for line in explain_lines(rs) {
                    writeln!(w, "; {line}")?;
                }
                write_zone_lines(&mut w, "", rs)?;
            }
            w.flush()?;
        }
        Format::Table => {
            let mut w = staged(out);
            write_table(&mut w, doc.records, explain_lines)?;
            w.flush()?;
        }
    }
    Ok(())
}

/// One RFC 1035 zone-file line per record of `rs`, `prefix` first:
/// `PREFIXname<TAB>ttl<TAB>IN<TAB>type<TAB>data` (the text of
/// [`RecordSet::to_zone_lines`], without building it).
pub(crate) fn write_zone_lines<W: Write + ?Sized>(
    out: &mut W,
    prefix: &str,
    rs: &RecordSet,
) -> std::io::Result<()> {
    for d in rs.data() {
        write_zone_line(out, prefix, rs, d)?;
    }
    Ok(())
}

/// The zone-file line of the record of `rs` holding `d`, `prefix` first.
pub(crate) fn write_zone_line<W: Write + ?Sized>(
    out: &mut W,
    prefix: &str,
    rs: &RecordSet,
    d: &RData,
) -> std::io::Result<()> {
    out.write_all(prefix.as_bytes())?;
    out.write_all(rs.name().as_str().as_bytes())?;
    out.write_all(b"\t")?;
    write_u32(out, rs.ttl())?;
    out.write_all(b"\tIN\t")?;
    out.write_all(rs.rtype().as_str().as_bytes())?;
    out.write_all(b"\t")?;
    match d {
        RData::Txt(_) => out.write_all(d.to_zone_text().as_bytes())?,
        _ => write_datum(out, d)?,
    }
    out.write_all(b"\n")
}

/// Writes `n` in decimal (the formatting machinery costs more than the digits, and a plan
/// writes a TTL and an address per line).
fn write_u32<W: Write + ?Sized>(out: &mut W, mut n: u32) -> std::io::Result<()> {
    let mut buf = [0u8; 10];
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.write_all(&buf[at..])
}

/// Writes a datum as its `Display` text, IPv4 addresses without the formatting machinery.
fn write_datum<W: Write + ?Sized>(out: &mut W, d: &RData) -> std::io::Result<()> {
    match d {
        RData::A(ip) => {
            let mut buf = [0u8; 15];
            let mut len = 0;
            for (i, octet) in ip.octets().into_iter().enumerate() {
                if i > 0 {
                    buf[len] = b'.';
                    len += 1;
                }
                if octet >= 100 {
                    buf[len] = b'0' + octet / 100;
                    len += 1;
                }
                if octet >= 10 {
                    buf[len] = b'0' + octet / 10 % 10;
                    len += 1;
                }
                buf[len] = b'0' + octet % 10;
                len += 1;
            }
            out.write_all(&buf[..len])
        }
        RData::Cname(name) => out.write_all(name.as_str().as_bytes()),
        other => write!(out, "{other}"),
    }
}

/// Writes the data of `rs` separated by `, `.
pub(crate) fn write_data<W: Write + ?Sized>(out: &mut W, rs: &RecordSet) -> std::io::Result<()> {
    for (i, d) in rs.data().iter().enumerate() {
        if i > 0 {
            out.write_all(b", ")?;
        }
        write_datum(out, d)?;
    }
    Ok(())
}

/// How many decimal digits `n` has.
fn digits(n: u32) -> usize {
    n.checked_ilog10().map_or(1, |l| l as usize + 1)
}

fn write_table<W: Write + ?Sized>(
    out: &mut W,
    records: &[RecordSet],
    explain_lines: &dyn Fn(&RecordSet) -> Vec<String>,
) -> std::io::Result<()> {
    let (mut name_w, mut type_w, mut ttl_w) = (4, 4, 3);
    for r in records {
        name_w = name_w.max(r.name().as_str().len());
        type_w = type_w.max(r.rtype().as_str().len());
        ttl_w = ttl_w.max(digits(r.ttl()));
    }
    writeln!(
        out,
        "{:<name_w$}  {:<type_w$}  {:>ttl_w$}  DATA",
        "NAME", "TYPE", "TTL"
    )?;
    const SPACES: &[u8] = &[b' '; 256];
    let pad = |out: &mut W, mut n: usize| -> std::io::Result<()> {
        while n > 0 {
            let k = n.min(SPACES.len());
            out.write_all(&SPACES[..k])?;
            n -= k;
        }
        Ok(())
    };
    for rs in records {
        let (name, rtype) = (rs.name().as_str(), rs.rtype().as_str());
        out.write_all(name.as_bytes())?;
        pad(out, name_w - name.len() + 2)?;
        out.write_all(rtype.as_bytes())?;
        pad(out, type_w - rtype.len() + 2 + ttl_w - digits(rs.ttl()))?;
        write_u32(out, rs.ttl())?;
        out.write_all(b"  ")?;
        write_data(out, rs)?;
        out.write_all(b"\n")?;
        for line in explain_lines(rs) {
            writeln!(out, "    # {line}")?;
        }
    }
    Ok(())
}

/// Prints diagnostics, one per line.
pub(crate) fn write_diagnostics(err: &mut dyn Write, diags: &[Diagnostic]) -> std::io::Result<()> {
    for d in diags {
        writeln!(err, "fedsvc: {d}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_of_records_is_serde_saphyrs_byte_for_byte() {
        use fedsvc_model::{DnsName, RecordType};
        let n = |s: &str| DnsName::parse(s).unwrap();
        let mut records = Vec::new();
        for (i, name) in [
            "nginx.mynamespace.myfederation.svc.us-central1-a.example.com",
            "1a.example.com",
            "yes.example.com",
            "y",
            "xn--bcher-kva.example.com",
            "_fedsvc.nginx.example.com",
            "a-b.c-d.example.com",
        ]
        .into_iter()
        .enumerate()
        {
            let ttl = [0, 5, 180, 86_400, u32::MAX][i % 5];
            records.push(
                RecordSet::new(
                    n(name),
                    RecordType::A,
                    ttl,
                    vec![
                        RData::A("10.0.0.1".parse().unwrap()),
                        RData::A("255.255.255.255".parse().unwrap()),
                    ],
                )
                .unwrap(),
            );
            records.push(
                RecordSet::new(
                    n(name),
                    RecordType::Aaaa,
                    ttl,
                    vec![RData::Aaaa("2001:db8::1".parse().unwrap())],
                )
                .unwrap(),
            );
            records.push(
                RecordSet::new(n(name), RecordType::Cname, ttl, vec![RData::Cname(n("no"))])
                    .unwrap(),
            );
            records.push(
                RecordSet::new(
                    n(name),
                    RecordType::Txt,
                    ttl,
                    vec![RData::Txt("heritage=fedsvc,owner=\"x\": 1".into())],
                )
                .unwrap(),
            );
        }
        let diagnostics = [fedsvc_model::Diagnostic::warning(
            "cluster c1",
            "no zones; #skipped",
        )];
        for explain in [None, Some(vec!["a: b", "- c"])] {
            for diagnostics in [&diagnostics[..], &[]] {
                let doc = RecordsDoc {
                    records: &records,
                    diagnostics,
                    explain: explain.clone(),
                };
                let mut fast = Vec::new();
                write_records_yaml(&mut fast, &doc).unwrap();
                let mut reference = Vec::new();
                write_yaml(&mut reference, &doc).unwrap();
                assert_eq!(
                    String::from_utf8(fast).unwrap(),
                    String::from_utf8(reference).unwrap()
                );
            }
        }
    }

    #[test]
    fn fast_paths_write_what_display_writes() {
        for n in [0, 7, 10, 180, 99_999, u32::MAX] {
            let mut out = Vec::new();
            write_u32(&mut out, n).unwrap();
            assert_eq!(String::from_utf8(out).unwrap(), n.to_string());
        }
        for ip in ["0.0.0.0", "10.0.100.9", "255.255.255.255", "1.20.199.250"] {
            let d = RData::A(ip.parse().unwrap());
            let mut out = Vec::new();
            write_datum(&mut out, &d).unwrap();
            assert_eq!(String::from_utf8(out).unwrap(), d.to_string());
        }
        let name = fedsvc_model::DnsName::parse("Web.Example.com").unwrap();
        let d = RData::Cname(name);
        let mut out = Vec::new();
        write_datum(&mut out, &d).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), d.to_string());
    }

    #[test]
    fn table_rows_are_aligned() {
        let long = fedsvc_model::DnsName::parse("a-long-name.example.com").unwrap();
        let short = fedsvc_model::DnsName::parse("b.example.com").unwrap();
        let a = vec![RData::A("10.0.0.1".parse().unwrap())];
        let records = [
            RecordSet::new(long, fedsvc_model::RecordType::A, 5, a).unwrap(),
            RecordSet::new(
                short.clone(),
                fedsvc_model::RecordType::Cname,
                86_400,
                vec![RData::Cname(short)],
            )
            .unwrap(),
        ];
        let mut out = Vec::new();
        write_table(&mut out, &records, &|_| Vec::new()).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "NAME                      TYPE     TTL  DATA\n\
             a-long-name.example.com.  A          5  10.0.0.1\n\
             b.example.com.            CNAME  86400  b.example.com.\n"
        );
    }

    #[test]
    fn digits_of_ttls() {
        for n in [0, 1, 9, 10, 99, 180, 86_400, u32::MAX] {
            assert_eq!(digits(n), n.to_string().len(), "{n}");
        }
    }

    #[test]
    fn zone_lines_are_the_model_s() {
        let name = fedsvc_model::DnsName::parse("a.example.com").unwrap();
        for (rtype, data) in [
            (
                fedsvc_model::RecordType::A,
                vec![
                    RData::A("10.0.0.2".parse().unwrap()),
                    RData::A("10.0.0.1".parse().unwrap()),
                ],
            ),
            (
                fedsvc_model::RecordType::Txt,
                vec![RData::Txt("x y \"z\"".into())],
            ),
        ] {
            let rs = RecordSet::new(name.clone(), rtype, 60, data).unwrap();
            let mut out = Vec::new();
            write_zone_lines(&mut out, "+", &rs).unwrap();
            let want: String = rs
                .to_zone_lines()
                .iter()
                .map(|l| format!("+{l}\n"))
                .collect();
            assert_eq!(String::from_utf8(out).unwrap(), want);
        }
    }
}
