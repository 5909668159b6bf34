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

/// Writes `value` as pretty JSON followed by a newline.
pub(crate) fn write_json<T: Serialize>(out: &mut dyn Write, value: &T) -> anyhow::Result<()> {
    // As an io::Error, a closed pipe is seen as one (a serde_json::Error hides it from the
    // error's source chain) and ends the command quietly.
    serde_json::to_writer_pretty(&mut *out, value).map_err(std::io::Error::from)?;
    writeln!(out)?;
    Ok(())
}

/// Writes `value` as YAML.
pub(crate) fn write_yaml<T: Serialize>(out: &mut dyn Write, value: &T) -> anyhow::Result<()> {
    // An I/O error stays the error's source, so a closed pipe still ends the command quietly.
    serde_saphyr::to_io_writer(&mut &mut *out, value)?;
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
        Format::Yaml => write_yaml(out, doc)?,
        Format::Zone => {
            for rs in doc.records {
                for line in explain_lines(rs) {
                    writeln!(out, "; {line}")?;
                }
                write_zone_lines(out, "", rs)?;
            }
        }
        Format::Table => write_table(out, doc.records, explain_lines)?,
    }
    Ok(())
}

/// One RFC 1035 zone-file line per record of `rs`, `prefix` first:
/// `PREFIXname<TAB>ttl<TAB>IN<TAB>type<TAB>data` (the text of
/// [`RecordSet::to_zone_lines`], without building it).
pub(crate) fn write_zone_lines(
    out: &mut dyn Write,
    prefix: &str,
    rs: &RecordSet,
) -> std::io::Result<()> {
    for d in rs.data() {
        write_zone_line(out, prefix, rs, d)?;
    }
    Ok(())
}

/// The zone-file line of the record of `rs` holding `d`, `prefix` first.
pub(crate) fn write_zone_line(
    out: &mut dyn Write,
    prefix: &str,
    rs: &RecordSet,
    d: &RData,
) -> std::io::Result<()> {
    write!(
        out,
        "{prefix}{}\t{}\tIN\t{}\t",
        rs.name(),
        rs.ttl(),
        rs.rtype()
    )?;
    match d {
        RData::Txt(_) => writeln!(out, "{}", d.to_zone_text()),
        _ => writeln!(out, "{d}"),
    }
}

/// Writes the data of `rs` separated by `, `.
pub(crate) fn write_data(out: &mut dyn Write, rs: &RecordSet) -> std::io::Result<()> {
    for (i, d) in rs.data().iter().enumerate() {
        if i > 0 {
            out.write_all(b", ")?;
        }
        write!(out, "{d}")?;
    }
    Ok(())
}

/// How many decimal digits `n` has.
fn digits(n: u32) -> usize {
    n.checked_ilog10().map_or(1, |l| l as usize + 1)
}

fn write_table(
    out: &mut dyn Write,
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
    for rs in records {
        write!(
            out,
            "{:<name_w$}  {:<type_w$}  {:>ttl_w$}  ",
            rs.name().as_str(),
            rs.rtype().as_str(),
            rs.ttl(),
        )?;
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
