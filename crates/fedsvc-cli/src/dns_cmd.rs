//! `fedsvc diff`, `fedsvc apply` and `fedsvc records`: the plan against a real DNS provider.

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};
use fedsvc_dns_plan::{Changes, Naming, Registry, diff, plan};
use fedsvc_model::{RecordSet, RecordType, Snapshot};
use fedsvc_providers::{Config, DnsProvider, Retrying};

use crate::output::{
    RecordsDoc, write_data, write_diagnostics, write_json, write_records, write_yaml,
    write_zone_line, write_zone_lines,
};
use crate::plan_cmd::read_snapshot;
use crate::{ApplyArgs, DiffArgs, EXIT_FAILURE, Format, RecordsArgs};

/// Refuse, without `--force`, to delete or update more than this share of the record sets we
/// own in a zone…
const SAFETY_SHARE: f64 = 0.30;
/// …when we own at least this many.
const SAFETY_MIN_OWNED: usize = 10;

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

async fn provider(path: &Path) -> anyhow::Result<(Config, Arc<dyn DnsProvider>)> {
    let config =
        Config::from_file(path).with_context(|| format!("DNS configuration {}", path.display()))?;
    let p: Arc<dyn DnsProvider> = Arc::from(
        config
            .build()
            .await
            .with_context(|| format!("DNS configuration {}", path.display()))?,
    );
    Ok((config, p))
}

fn registry(config: &Config, snapshot: &Snapshot) -> anyhow::Result<Registry> {
    if !snapshot.dns_suffix.is_subdomain_of(&config.zone) {
        bail!(
            "the snapshot's dnsSuffix {} does not lie inside the provider's zone {}",
            snapshot.dns_suffix,
            config.zone
        );
    }
    config
        .registry(&Naming::from_snapshot(snapshot))
        .context("ownerId")
}

/// What a diff found, ready to print or apply.
struct Planned {
    changes: Changes,
    owned: usize,
}

async fn plan_against(
    snapshot_path: &Path,
    max_input_size: u64,
    dns_path: &Path,
    err: &mut dyn Write,
) -> anyhow::Result<(Planned, Arc<dyn DnsProvider>, bool)> {
    let (snapshot, mut diagnostics) = read_snapshot(snapshot_path, max_input_size)?;
    let (config, provider) = provider(dns_path).await?;
    let registry = registry(&config, &snapshot)?;
    let planned = plan(&snapshot)
        .with_context(|| format!("cannot plan snapshot {}", snapshot_path.display()))?;
    diagnostics.extend(planned.diagnostics);
    write_diagnostics(err, &diagnostics)?;
    let partial = diagnostics
        .iter()
        .any(|d| d.severity == fedsvc_model::Severity::Error);
    let current = provider
        .list()
        .await
        .with_context(|| format!("cannot list zone {}", config.zone))?;
    let changes = diff(&current, &planned.records, &registry);
    let owned = owned_record_sets(&current, &registry, &Naming::from_snapshot(&snapshot));
    Ok((Planned { changes, owned }, provider, partial))
}

/// How many address or alias record sets in `current` stand at names we own.
fn owned_record_sets(current: &[RecordSet], registry: &Registry, naming: &Naming) -> usize {
    let owned_names: std::collections::BTreeSet<String> = match registry {
        Registry::None { .. } => current
            .iter()
            .filter(|r| naming.parse(r.name()).is_some())
            .map(|r| r.name().to_string())
            .collect(),
        _ => current
            .iter()
            .filter(|r| registry.is_own_ownership_record(r))
            .filter_map(|r| registry.managed_name(r.name().as_str()).map(str::to_owned))
            .collect(),
    };
    current
        .iter()
        .filter(|r| r.rtype().is_address_or_alias() && owned_names.contains(r.name().as_str()))
        .count()
}

fn print_changes(out: &mut dyn Write, changes: &Changes) -> std::io::Result<()> {
    if changes.is_empty() {
        writeln!(
            out,
            "No changes: the zone already holds the planned records."
        )?;
    }
    for g in changes.groups.iter().filter(|g| !g.is_empty()) {
        writeln!(out, "{}", g.name)?;
        // Records at another name than the group's (the ownership record) show their name.
        let at = |rs: &RecordSet| {
            if rs.name() == &g.name {
                String::new()
            } else {
                format!("{} ", rs.name())
            }
        };
        for rs in &g.delete {
            write!(out, "  - {}{} {} ", at(rs), rs.rtype(), rs.ttl())?;
            write_data(out, rs)?;
            writeln!(out)?;
        }
        for (old, new) in g.update_old.iter().zip(&g.update_new) {
            write!(out, "  ~ {}{} {} ", at(new), new.rtype(), new.ttl())?;
            write_data(out, new)?;
            write!(out, "  (was {} ", old.ttl())?;
            write_data(out, old)?;
            writeln!(out, ")")?;
        }
        for rs in &g.create {
            write!(out, "  + {}{} {} ", at(rs), rs.rtype(), rs.ttl())?;
            write_data(out, rs)?;
            writeln!(out)?;
        }
    }
    Ok(())
}

/// `diff -o zone`: each group as a diff of zone-file lines under a `; NAME` comment — `-` and
/// the line for each record removed, `+` and the line for each record added. An update shows
/// the records it removes and adds; a record it keeps is not shown.
fn print_zone_changes(out: &mut dyn Write, changes: &Changes) -> std::io::Result<()> {
    for g in changes.groups.iter().filter(|g| !g.is_empty()) {
        writeln!(out, "; {}", g.name)?;
        for rs in &g.delete {
            write_zone_lines(out, "-", rs)?;
        }
        for (old, new) in g.update_old.iter().zip(&g.update_new) {
            if old.ttl() == new.ttl() && old.rtype() == new.rtype() {
                for d in old.data().iter().filter(|d| !new.data().contains(d)) {
                    write_zone_line(out, "-", old, d)?;
                }
                for d in new.data().iter().filter(|d| !old.data().contains(d)) {
                    write_zone_line(out, "+", new, d)?;
                }
            } else {
                write_zone_lines(out, "-", old)?;
                write_zone_lines(out, "+", new)?;
            }
        }
        for rs in &g.create {
            write_zone_lines(out, "+", rs)?;
        }
    }
    Ok(())
}

fn print_conflicts(err: &mut dyn Write, changes: &Changes) -> std::io::Result<()> {
    for c in &changes.conflicts {
        writeln!(
            err,
            "fedsvc: conflict: {}: {} (left untouched)",
            c.name, c.reason
        )?;
    }
    Ok(())
}

fn summary(changes: &Changes) -> (usize, usize, usize) {
    changes.groups.iter().fold((0, 0, 0), |(c, u, d), g| {
        (
            c + g.create.len(),
            u + g.update_new.len(),
            d + g.delete.len(),
        )
    })
}

/// Deletes and updates of address or alias records (not ownership TXT records).
fn destructive(changes: &Changes) -> usize {
    changes
        .groups
        .iter()
        .flat_map(|g| g.delete.iter().chain(&g.update_old))
        .filter(|r| r.rtype() != &RecordType::Txt)
        .count()
}

pub(crate) fn run_diff(
    args: &DiffArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<u8> {
    runtime()?.block_on(async {
        let (planned, _, partial) =
            plan_against(&args.file, args.max_input_size, &args.dns, err).await?;
        match args.output {
            Format::Json => write_json(out, &planned.changes)?,
            Format::Yaml => write_yaml(out, &planned.changes)?,
            Format::Zone => print_zone_changes(out, &planned.changes)?,
            _ => print_changes(out, &planned.changes)?,
        }
        print_conflicts(err, &planned.changes)?;
        Ok(if partial { crate::EXIT_PARTIAL } else { 0 })
    })
}

pub(crate) fn run_apply(
    args: &ApplyArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<u8> {
    runtime()?.block_on(async {
        let (planned, provider, partial) =
            plan_against(&args.file, args.max_input_size, &args.dns, err).await?;
        let changes = &planned.changes;
        print_changes(out, changes)?;
        print_conflicts(err, changes)?;
        if changes.is_empty() {
            return Ok(if partial { crate::EXIT_PARTIAL } else { 0 });
        }
        let (c, u, d) = summary(changes);
        writeln!(out, "Plan: {c} to create, {u} to update, {d} to delete.")?;
        let risky = destructive(changes);
        if planned.owned >= SAFETY_MIN_OWNED
            && (risky as f64) > SAFETY_SHARE * planned.owned as f64
            && !args.force
        {
            writeln!(
                err,
                "fedsvc: refusing to delete or update {risky} of the {} record sets fedsvc owns in this zone (more than {:.0} %); check the snapshot, then run again with --force",
                planned.owned,
                SAFETY_SHARE * 100.0
            )?;
            return Ok(EXIT_FAILURE);
        }
        if !args.yes {
            if !std::io::stdin().is_terminal() {
                writeln!(err, "fedsvc: not applied: confirm with --yes when standard input is not a terminal")?;
                return Ok(EXIT_FAILURE);
            }
            write!(out, "Apply these changes to {}? [y/N] ", provider.name())?;
            out.flush()?;
            let mut answer = String::new();
            std::io::stdin().lock().read_line(&mut answer)?;
            if !matches!(answer.trim(), "y" | "Y" | "yes") {
                writeln!(out, "Not applied.")?;
                return Ok(EXIT_FAILURE);
            }
        }
        let retrying = Retrying::new(provider.clone());
        let batches = changes.batches(&provider.limits());
        let bar = if std::io::stderr().is_terminal() && batches.len() > 1 {
            let bar = indicatif::ProgressBar::new(batches.len() as u64);
            bar.set_style(
                indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} batches {msg}")
                    .expect("a valid template"),
            );
            Some(bar)
        } else {
            None
        };
        let mut written = 0;
        for (i, groups) in batches.into_iter().enumerate() {
            let batch = Changes {
                groups,
                conflicts: Vec::new(),
            };
            let report = retrying.apply_changes(&batch).await.with_context(|| {
                format!(
                    "applying batch {} to {} ({written} record sets were written before it; run apply again to finish)",
                    i + 1,
                    provider.name()
                )
            })?;
            written += report.record_sets;
            if let Some(b) = &bar {
                b.inc(1);
            }
        }
        if let Some(b) = bar {
            b.finish_and_clear();
        }
        writeln!(out, "Applied: {written} record sets changed in {}.", provider.name())?;
        Ok(if partial { crate::EXIT_PARTIAL } else { 0 })
    })
}

pub(crate) fn run_records(args: &RecordsArgs, out: &mut dyn Write) -> anyhow::Result<u8> {
    runtime()?.block_on(async {
        let (config, provider) = provider(&args.dns).await?;
        let records = provider
            .list()
            .await
            .with_context(|| format!("cannot list zone {}", config.zone))?;
        let doc = RecordsDoc::<()> {
            records: &records,
            diagnostics: &[],
            explain: None,
        };
        write_records(out, args.output, &doc, &|_| Vec::new())?;
        Ok(0)
    })
}

#[cfg(test)]
mod tests {
    use fedsvc_dns_plan::ChangeGroup;
    use fedsvc_model::{DnsName, RData};

    use super::*;

    fn a(name: &DnsName, ttl: u32, ips: &[&str]) -> RecordSet {
        let data = ips.iter().map(|ip| RData::A(ip.parse().unwrap())).collect();
        RecordSet::new(name.clone(), RecordType::A, ttl, data).unwrap()
    }

    #[test]
    fn zone_diff_shows_what_each_change_removes_and_adds() {
        let x = DnsName::parse("x.example.com").unwrap();
        let y = DnsName::parse("y.example.com").unwrap();
        let mut gx = ChangeGroup::new(x.clone());
        // An update that keeps 10.0.0.1, drops 10.0.0.2 and adds 10.0.0.3.
        gx.update_old.push(a(&x, 60, &["10.0.0.1", "10.0.0.2"]));
        gx.update_new.push(a(&x, 60, &["10.0.0.1", "10.0.0.3"]));
        let mut gy = ChangeGroup::new(y.clone());
        gy.delete.push(a(&y, 60, &["10.0.1.1"]));
        // A TTL change replaces every record.
        let mut gz = ChangeGroup::new(DnsName::parse("z.example.com").unwrap());
        gz.update_old.push(a(&gz.name, 60, &["10.0.2.1"]));
        gz.update_new.push(a(&gz.name, 30, &["10.0.2.1"]));
        gz.create.push(
            RecordSet::new(
                DnsName::parse("_fedsvc.z.example.com").unwrap(),
                RecordType::Txt,
                30,
                vec![RData::Txt("owner".into())],
            )
            .unwrap(),
        );
        let changes = Changes {
            groups: vec![
                gx,
                ChangeGroup::new(DnsName::parse("w.example.com").unwrap()),
                gy,
                gz,
            ],
            conflicts: Vec::new(),
        };
        let mut out = Vec::new();
        print_zone_changes(&mut out, &changes).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "; x.example.com.\n\
             -x.example.com.\t60\tIN\tA\t10.0.0.2\n\
             +x.example.com.\t60\tIN\tA\t10.0.0.3\n\
             ; y.example.com.\n\
             -y.example.com.\t60\tIN\tA\t10.0.1.1\n\
             ; z.example.com.\n\
             -z.example.com.\t60\tIN\tA\t10.0.2.1\n\
             +z.example.com.\t30\tIN\tA\t10.0.2.1\n\
             +_fedsvc.z.example.com.\t30\tIN\tTXT\t\"owner\"\n"
        );
    }
}
