//! Printing record sets as a table, JSON, YAML or zone-file lines.

use std::io::Write;

use fedsvc_model::{Diagnostic, RecordSet};
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

/// Writes `doc` in `format`; `explain` lines (name → reasons) are appended under each table row
/// and as comments in zone output.
pub(crate) fn write_records<E: Serialize>(
    out: &mut dyn Write,
    format: Format,
    doc: &RecordsDoc<'_, E>,
    explain_lines: &dyn Fn(&RecordSet) -> Vec<String>,
) -> anyhow::Result<()> {
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, doc)?;
            writeln!(out)?;
        }
        Format::Yaml => {
            let text = serde_saphyr::to_string(doc)?;
            out.write_all(text.as_bytes())?;
        }
        Format::Zone => {
            for rs in doc.records {
                for line in explain_lines(rs) {
                    writeln!(out, "; {line}")?;
                }
                for line in rs.to_zone_lines() {
                    writeln!(out, "{line}")?;
                }
            }
        }
        Format::Table => write_table(out, doc.records, explain_lines)?,
    }
    Ok(())
}

fn write_table(
    out: &mut dyn Write,
    records: &[RecordSet],
    explain_lines: &dyn Fn(&RecordSet) -> Vec<String>,
) -> std::io::Result<()> {
    let name_w = records
        .iter()
        .map(|r| r.name().as_str().len())
        .max()
        .unwrap_or(0)
        .max(4);
    let type_w = records
        .iter()
        .map(|r| r.rtype().as_str().len())
        .max()
        .unwrap_or(0)
        .max(4);
    let ttl_w = records
        .iter()
        .map(|r| r.ttl().to_string().len())
        .max()
        .unwrap_or(0)
        .max(3);
    writeln!(
        out,
        "{:<name_w$}  {:<type_w$}  {:>ttl_w$}  DATA",
        "NAME", "TYPE", "TTL"
    )?;
    for rs in records {
        let data: Vec<String> = rs.data().iter().map(ToString::to_string).collect();
        writeln!(
            out,
            "{:<name_w$}  {:<type_w$}  {:>ttl_w$}  {}",
            rs.name().as_str(),
            rs.rtype().as_str(),
            rs.ttl(),
            data.join(", ")
        )?;
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
