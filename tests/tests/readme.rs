//! The README is a user guide: short, about the software as it is today, and readable from a
//! clone. It holds no commit hash and no dated measurement (history and figures live in
//! `docs/benchmarks.md`), and no link leads outside the repository. Links between the guides
//! (`README.md`, `docs/`, `mcp-rbac/docs/`, `fuzz/README.md`) must name files that exist.
//!
//! The macro reference's completeness (every argument the parsers accept has a table row) is a
//! unit test of the macro crate, next to the argument lists it reads.

use std::path::{Path, PathBuf};

/// The most lines the README may have.
const MAX_README_LINES: usize = 450;

/// Dates that are MCP protocol revisions, not measurements: the README names them in headers
/// (`MCP-Protocol-Version: 2025-11-25`) and in behaviour that depends on the revision.
const PROTOCOL_REVISIONS: &[&str] = &[
    "2024-11-05",
    "2025-03-26",
    "2025-06-18",
    "2025-11-25",
    "2026-07-28",
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read(relative: &str) -> String {
    std::fs::read_to_string(root().join(relative)).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

/// Every markdown guide of the repository, as paths relative to its root.
fn guides() -> Vec<String> {
    let mut out = vec!["README.md".to_owned(), "fuzz/README.md".to_owned()];
    for dir in ["docs", "mcp-rbac/docs"] {
        let mut found: Vec<String> = std::fs::read_dir(root().join(dir))
            .unwrap_or_else(|e| panic!("{dir}: {e}"))
            .map(|entry| {
                entry
                    .expect("directory entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .filter(|name| name.ends_with(".md"))
            .map(|name| format!("{dir}/{name}"))
            .collect();
        found.sort();
        out.extend(found);
    }
    out
}

/// Runs of lowercase hex digits that read like an abbreviated or full git object name: 7 to 40
/// characters, at least one digit and one letter, not part of a longer word.
fn commit_hashes(text: &str) -> Vec<&str> {
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    text.split(|c: char| !is_word(c))
        .filter(|w| (7..=40).contains(&w.len()))
        .filter(|w| {
            w.chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
        })
        .filter(|w| {
            w.chars().any(|c| c.is_ascii_digit()) && w.chars().any(|c| c.is_ascii_alphabetic())
        })
        .collect()
}

/// Every `YYYY-MM-DD` with a year 20xx.
fn dates(text: &str) -> Vec<&str> {
    let bytes = text.as_bytes();
    let digit = |i: usize| bytes.get(i).is_some_and(u8::is_ascii_digit);
    (0..bytes.len().saturating_sub(9))
        .filter(|&i| {
            text.is_char_boundary(i)
                && bytes[i] == b'2'
                && bytes[i + 1] == b'0'
                && [i + 2, i + 3, i + 5, i + 6, i + 8, i + 9]
                    .iter()
                    .all(|&j| digit(j))
                && bytes[i + 4] == b'-'
                && bytes[i + 7] == b'-'
                && !(i > 0 && digit(i - 1))
                && !digit(i + 10)
        })
        .map(|i| &text[i..i + 10])
        .collect()
}

/// The targets of inline markdown links, `[text](target)`.
fn link_targets(text: &str) -> Vec<&str> {
    text.match_indices("](")
        .filter_map(|(i, _)| {
            let rest = &text[i + 2..];
            rest.find(')').map(|end| &rest[..end])
        })
        .collect()
}

#[test]
fn the_readme_is_a_guide_of_at_most_max_readme_lines() {
    let lines = read("README.md").lines().count();
    assert!(
        lines <= MAX_README_LINES,
        "README.md has {lines} lines (at most {MAX_README_LINES}): move depth to docs/ or mcp-rbac/docs/"
    );
}

#[test]
fn the_readme_names_no_commit() {
    let readme = read("README.md");
    let hashes = commit_hashes(&readme);
    assert!(
        hashes.is_empty(),
        "README.md names commits {hashes:?}: history belongs in docs/benchmarks.md"
    );
}

#[test]
fn the_readme_holds_no_dated_measurement() {
    let readme = read("README.md");
    let found: Vec<&str> = dates(&readme)
        .into_iter()
        .filter(|d| !PROTOCOL_REVISIONS.contains(d))
        .collect();
    assert!(
        found.is_empty(),
        "README.md has dates {found:?}: dated figures belong in docs/benchmarks.md"
    );
}

#[test]
fn the_readme_names_no_path_outside_the_repository() {
    let readme = read("README.md");
    for outside in ["../", "/work", "shared/"] {
        let line = readme.lines().find(|l| l.contains(outside));
        assert!(line.is_none(), "README.md names {outside:?}: {line:?}");
    }
}

#[test]
fn guide_links_stay_inside_the_repository_and_resolve() {
    let root = root().canonicalize().expect("repository root");
    for guide in guides() {
        let text = read(&guide);
        for outside in ["/work/", "../shared", "shared/bench"] {
            assert!(
                !text.contains(outside),
                "{guide} names {outside:?}, outside the repository"
            );
        }
        let dir = root
            .join(&guide)
            .parent()
            .expect("a guide is in a directory")
            .to_path_buf();
        for target in link_targets(&text) {
            if target.contains("://") || target.starts_with('#') || target.starts_with("mailto:") {
                continue;
            }
            let path = target.split('#').next().unwrap_or_default();
            let resolved = dir.join(path).canonicalize();
            match resolved {
                Ok(p) => assert!(
                    p.starts_with(&root),
                    "{guide} links {target} outside the repository"
                ),
                Err(e) => panic!("{guide} links {target}, which does not exist: {e}"),
            }
        }
    }
}

#[test]
fn the_checks_find_what_they_look_for() {
    assert_eq!(commit_hashes("rerun at 7cfb61c (1.07x)"), ["7cfb61c"]);
    assert_eq!(
        commit_hashes("fixed in b80ca1e2, see 9ea265e."),
        ["b80ca1e2", "9ea265e"]
    );
    assert!(commit_hashes("defaced 1234567 sha256 cafe0 x7cfb61cx ES256").is_empty());
    assert_eq!(
        dates("measured 2026-11-30, rev 2025-11-25"),
        ["2026-11-30", "2025-11-25"]
    );
    assert!(dates("12026-11-300 and 2026-1-30").is_empty());
    assert_eq!(
        link_targets("[a](docs/x.md) and [b](https://e.org)"),
        ["docs/x.md", "https://e.org"]
    );
}
