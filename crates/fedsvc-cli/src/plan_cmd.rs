//! `fedsvc plan`: snapshot in, records out.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::Path;

use anyhow::{Context, bail};
use fedsvc_model::{Diagnostic, Severity, Snapshot};

use crate::output::{RecordsDoc, write_diagnostics, write_records};
use crate::{EXIT_PARTIAL, PlanArgs, show_size};

/// How much of the input is read at a time before it is checked.
const CHUNK: u64 = 1 << 20;

/// Reads at most `limit` bytes of `input` (named `what` in errors) as text.
///
/// The input is read in chunks through `take(limit + 1)`, so an endless or oversized input
/// stops at the limit; a NUL byte (never valid in YAML or JSON text, and all `/dev/zero`
/// holds) stops it at once.
pub(crate) fn read_bounded(
    input: impl Read,
    limit: u64,
    size_hint: Option<u64>,
    what: &str,
) -> anyhow::Result<String> {
    let too_large = || {
        anyhow::anyhow!(
            "{what} is larger than {} (--max-input-size raises the limit)",
            show_size(limit)
        )
    };
    if size_hint.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let capacity = size_hint.unwrap_or(0).min(limit).saturating_add(1);
    let mut buf = Vec::with_capacity(usize::try_from(capacity).unwrap_or(usize::MAX));
    let mut input = input.take(limit.saturating_add(1));
    loop {
        // Straight into the buffer, a chunk at a time, each checked for NUL bytes.
        let start = buf.len();
        let n = (&mut input)
            .take(CHUNK)
            .read_to_end(&mut buf)
            .with_context(|| format!("cannot read {what}"))?;
        if buf[start..].contains(&0) {
            let at = buf[start..].iter().position(|b| *b == 0).unwrap_or(0);
            bail!(
                "{what} is not a YAML or JSON text: it holds a NUL byte at offset {}",
                start + at
            );
        }
        if n == 0 {
            break;
        }
    }
    if buf.len() as u64 > limit {
        return Err(too_large());
    }
    String::from_utf8(buf).map_err(|e| {
        anyhow::anyhow!(
            "{what} is not UTF-8 text (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        )
    })
}

/// Reads a snapshot file (or standard input for `-`) of at most `limit` bytes and validates it.
pub(crate) fn read_snapshot(
    path: &Path,
    limit: u64,
) -> anyhow::Result<(Snapshot, Vec<Diagnostic>)> {
    let timer = crate::phase::Timer::start("read");
    let (text, name) = if path.as_os_str() == "-" {
        let text = read_bounded(
            std::io::stdin().lock(),
            limit,
            None,
            "the snapshot on standard input",
        )?;
        (text, "standard input".to_owned())
    } else {
        let what = format!("snapshot {}", path.display());
        let file = std::fs::File::open(path).with_context(|| format!("cannot read {what}"))?;
        let len = file
            .metadata()
            .ok()
            .filter(std::fs::Metadata::is_file)
            .map(|m| m.len());
        (
            read_bounded(file, limit, len, &what)?,
            path.display().to_string(),
        )
    };
    drop(timer);
    let _timer = crate::phase::Timer::start("parse and validate");
    // The model's errors say "cannot parse snapshot: …" or "invalid snapshot: …".
    let v = Snapshot::from_text(&text).with_context(|| name)?;
    Ok((v.snapshot, v.diagnostics))
}

pub(crate) fn run(args: &PlanArgs, out: &mut dyn Write, err: &mut dyn Write) -> anyhow::Result<u8> {
    let (snapshot, mut diagnostics) = read_snapshot(&args.file, args.max_input_size)?;
    let timer = crate::phase::Timer::start("plan");
    let plan = fedsvc_dns_plan::plan(&snapshot)
        .with_context(|| format!("cannot plan snapshot {}", args.file.display()))?;
    diagnostics.extend(plan.diagnostics.iter().cloned());
    let explanations = if args.explain {
        Some(fedsvc_dns_plan::explain(&snapshot)?)
    } else {
        None
    };
    drop(timer);
    let by_name: HashMap<&str, &[String]> = explanations
        .iter()
        .flatten()
        .map(|x| (x.name.as_str(), x.reasons.as_slice()))
        .collect();
    let lines = |rs: &fedsvc_model::RecordSet| -> Vec<String> {
        by_name
            .get(rs.name().as_str())
            .map(|r| r.to_vec())
            .unwrap_or_default()
    };
    let doc = RecordsDoc {
        records: &plan.records,
        diagnostics: &diagnostics,
        explain: explanations.as_ref(),
    };
    let timer = crate::phase::Timer::start("write");
    write_records(out, args.output, &doc, &lines)?;
    drop(timer);
    write_diagnostics(err, &diagnostics)?;
    let failed = diagnostics.iter().any(|d| d.severity == Severity::Error);
    Ok(if failed { EXIT_PARTIAL } else { 0 })
}
