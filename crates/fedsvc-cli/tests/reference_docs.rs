//! The reference pages in `docs/reference/` hold the exact `--help` of every binary and every
//! `fedsvc` subcommand, so that they cannot drift from the code.
//!
//! Each help text sits in a ```` ```text ```` block right below a marker line
//! `<!-- help: BINARY [SUBCOMMAND] -->`. This test runs each binary with `--help` (100 columns
//! wide, in an empty environment so that no `[env: …=value]` of the caller's shows up) and
//! asserts that the page holds that text verbatim. `FEDSVC_BLESS=1` rewrites the blocks instead:
//!
//! ```sh
//! FEDSVC_BLESS=1 cargo test -p fedsvc-cli --all-features --test reference_docs
//! ```
//!
//! `fedsvc` is the test build's own binary. `fedsvc-controller` and `fedsvc-local-dns` are
//! taken from `FEDSVC_SHIPPED_BIN_DIR` when it is set (`scripts/test.sh` builds them there),
//! else from beside `fedsvc` in the target folder (`cargo build -p fedsvc-controller -p
//! fedsvc-local-dns` first); a missing one is skipped with a printed reason, or fails under
//! `FEDSVC_REQUIRE_REAL=1`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use clap::CommandFactory;
use fedsvc_test_support::require_real;

/// The width the help is wrapped at (clap's `wrap_help` reads `COLUMNS` when the output is
/// not a terminal, and never wraps wider than 100).
const COLUMNS: &str = "100";

fn reference(page: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../docs/reference")
        .join(page)
}

fn blessing() -> bool {
    std::env::var_os("FEDSVC_BLESS").is_some_and(|v| v == "1")
}

/// `bin args… --help`, as a page shows it.
fn help(bin: &Path, args: &[&str]) -> String {
    let out = Command::new(bin)
        .args(args)
        .arg("--help")
        .env_clear()
        .env("COLUMNS", COLUMNS)
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .stdout(Stdio::piped())
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", bin.display()));
    assert!(
        out.status.success(),
        "{} {} --help failed: {}",
        bin.display(),
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    let mut text = String::from_utf8(out.stdout).expect("help is UTF-8");
    // Trailing blanks are invisible on a page and stripped by many editors.
    text = text
        .lines()
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n");
    text.push('\n');
    text
}

/// The marker above the block of `title` (`fedsvc plan`, `fedsvc-controller`).
fn marker(title: &str) -> String {
    format!("<!-- help: {title} -->")
}

/// `page` with the block below `title`'s marker holding `text`; `None` without the marker
/// or its block.
fn with_block(page: &str, title: &str, text: &str) -> Option<String> {
    let m = marker(title);
    let at = page.find(&format!("{m}\n"))? + m.len() + 1;
    let rest = &page[at..];
    let body = rest.strip_prefix("```text\n")?;
    let end = if body.starts_with("```\n") {
        0 // an empty block
    } else {
        body.find("\n```\n")? + 1
    };
    let start = at + "```text\n".len();
    Some(format!(
        "{}{}{}",
        &page[..start],
        text,
        &page[start + end..]
    ))
}

/// Checks (or, blessing, rewrites) `page`'s blocks for `(title, help)`.
fn check_page(page: &str, helps: &[(String, String)]) {
    let path = reference(page);
    let mut text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let mut stale = Vec::new();
    for (title, help) in helps {
        if blessing() {
            text = with_block(&text, title, help).unwrap_or_else(|| {
                panic!(
                    "{}: no `{}` line followed by a ```text block",
                    path.display(),
                    marker(title)
                )
            });
        } else {
            let block = format!("{}\n```text\n{help}```\n", marker(title));
            if !text.contains(&block) {
                stale.push(format!("`{title} --help` is now:\n{help}"));
            }
        }
    }
    if blessing() {
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        eprintln!("blessed {}", path.display());
    }
    assert!(
        stale.is_empty(),
        "{} does not show the current help (FEDSVC_BLESS=1 rewrites it):\n\n{}",
        path.display(),
        stale.join("\n")
    );
}

/// The binary `name` beside the test build's `fedsvc`, or in `FEDSVC_SHIPPED_BIN_DIR`; `None`
/// (after saying why) when it is not built.
fn other_binary(name: &str) -> Option<PathBuf> {
    let path = match std::env::var_os("FEDSVC_SHIPPED_BIN_DIR") {
        Some(dir) => PathBuf::from(dir).join(name),
        None => PathBuf::from(env!("CARGO_BIN_EXE_fedsvc")).with_file_name(name),
    };
    if path.is_file() {
        eprintln!("note: the help of {name} is read from {}", path.display());
        return Some(path);
    }
    assert!(
        !require_real(),
        "{} is missing (cargo build -p {name}, or set FEDSVC_SHIPPED_BIN_DIR)",
        path.display()
    );
    eprintln!(
        "skipped: {} is missing (cargo build -p {name} first)",
        path.display()
    );
    None
}

#[test]
fn the_fedsvc_page_shows_the_help_of_every_subcommand() {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_fedsvc"));
    let cli = fedsvc_cli::Cli::command();
    let mut helps = vec![("fedsvc".to_owned(), help(&bin, &[]))];
    for sub in cli.get_subcommands() {
        let name = sub.get_name();
        helps.push((format!("fedsvc {name}"), help(&bin, &[name])));
    }
    assert!(helps.len() > 10, "every subcommand: {helps:?}");
    check_page("fedsvc.md", &helps);
}

#[test]
fn the_controller_page_shows_its_help() {
    if let Some(bin) = other_binary("fedsvc-controller") {
        check_page(
            "fedsvc-controller.md",
            &[("fedsvc-controller".to_owned(), help(&bin, &[]))],
        );
    }
}

#[test]
fn the_local_dns_page_shows_its_help() {
    if let Some(bin) = other_binary("fedsvc-local-dns") {
        check_page(
            "fedsvc-local-dns.md",
            &[("fedsvc-local-dns".to_owned(), help(&bin, &[]))],
        );
    }
}

#[test]
fn a_block_is_found_and_replaced_below_its_marker() {
    let page = "# x\n\n<!-- help: fedsvc plan -->\n```text\nold\nlines\n```\n\nafter\n";
    assert_eq!(
        with_block(page, "fedsvc plan", "new\n").unwrap(),
        "# x\n\n<!-- help: fedsvc plan -->\n```text\nnew\n```\n\nafter\n"
    );
    let empty = "<!-- help: fedsvc -->\n```text\n```\n\n<!-- help: fedsvc plan -->\n```text\n```\n";
    assert_eq!(
        with_block(empty, "fedsvc", "a\n").unwrap(),
        "<!-- help: fedsvc -->\n```text\na\n```\n\n<!-- help: fedsvc plan -->\n```text\n```\n"
    );
    assert!(with_block(page, "fedsvc diff", "x\n").is_none());
}
