//! `fedsvc plan`: snapshot in, records out.

use std::io::{Read, Write};
use std::path::Path;

use anyhow::Context;
use fedsvc_model::{Diagnostic, Severity, Snapshot};

use crate::output::{RecordsDoc, write_diagnostics, write_records};
use crate::{EXIT_PARTIAL, PlanArgs};

/// Reads a snapshot file (or standard input for `-`) and validates it.
pub(crate) fn read_snapshot(path: &Path) -> anyhow::Result<(Snapshot, Vec<Diagnostic>)> {
    let text = if path.as_os_str() == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .context("cannot read the snapshot from standard input")?;
        s
    } else {
        std::fs::read_to_string(path)
            .with_context(|| format!("cannot read snapshot {}", path.display()))?
    };
    let v = Snapshot::from_text(&text).with_context(|| format!("snapshot {}", path.display()))?;
    Ok((v.snapshot, v.diagnostics))
}

pub(crate) fn run(args: &PlanArgs, out: &mut dyn Write, err: &mut dyn Write) -> anyhow::Result<u8> {
    let (snapshot, mut diagnostics) = read_snapshot(&args.file)?;
    let plan = fedsvc_dns_plan::plan(&snapshot)
        .with_context(|| format!("cannot plan snapshot {}", args.file.display()))?;
    diagnostics.extend(plan.diagnostics.iter().cloned());
    let explanations = if args.explain {
        Some(fedsvc_dns_plan::explain(&snapshot)?)
    } else {
        None
    };
    let lines = |rs: &fedsvc_model::RecordSet| -> Vec<String> {
        explanations
            .as_ref()
            .and_then(|e| e.iter().find(|x| &x.name == rs.name()))
            .map(|x| x.reasons.clone())
            .unwrap_or_default()
    };
    let doc = RecordsDoc {
        records: &plan.records,
        diagnostics: &diagnostics,
        explain: explanations.as_ref(),
    };
    write_records(out, args.output, &doc, &lines)?;
    write_diagnostics(err, &diagnostics)?;
    let failed = diagnostics.iter().any(|d| d.severity == Severity::Error);
    Ok(if failed { EXIT_PARTIAL } else { 0 })
}
