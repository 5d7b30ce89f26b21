//! The products server's permission surface, as reviewers see it: the committed manifest
//! snapshot (`examples/manifest.json`), `products --manifest`, the `rbac-matrix` command, and the
//! matrix in the README, each checked against the server as built.
//!
//! After an intended change to a requirement or to `examples/products-policy.toml`, run
//! `UPDATE_MANIFEST=1 cargo test -p mcp-rbac-examples --test permission_surface` to rewrite the
//! snapshot and the README block, then review the diff.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mcp_rbac::Manifest;
use mcp_rbac_examples::products::Products;
use serde_json::{json, Value};

const UPDATE_VAR: &str = "UPDATE_MANIFEST";
const BEGIN: &str = "<!-- matrix:begin -->\n";
const END: &str = "<!-- matrix:end -->";

fn updating() -> bool {
    std::env::var_os(UPDATE_VAR).is_some_and(|v| v != "0")
}

fn examples_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(name)
}

fn snapshot_path() -> PathBuf {
    examples_file("manifest.json")
}

fn policy_path() -> String {
    examples_file("products-policy.toml").display().to_string()
}

/// The manifest as `products --manifest` prints it.
fn manifest_text(manifest: &Manifest) -> String {
    manifest.to_json() + "\n"
}

/// `None` when `committed` is `actual`; else which items differ, for the failure message.
fn snapshot_difference(committed: &str, actual: &Manifest) -> Option<String> {
    if committed == manifest_text(actual) {
        return None;
    }
    let Ok(committed) = Manifest::from_json(committed) else {
        return Some("the snapshot is not a manifest".to_owned());
    };
    let mut changes = Vec::new();
    for (kind, old, new) in [
        ("tool", &committed.tools, &actual.tools),
        ("prompt", &committed.prompts, &actual.prompts),
    ] {
        let names: std::collections::BTreeSet<&String> = old.keys().chain(new.keys()).collect();
        for name in names {
            let (was, is) = (old.get(name), new.get(name));
            if was != is {
                changes.push(format!("{kind} {name}: snapshot {was:?}, server {is:?}"));
            }
        }
    }
    if changes.is_empty() {
        changes.push("same rules, different formatting".to_owned());
    }
    Some(changes.join("\n"))
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs `bin` with `args`, feeding `stdin`; a child still running after a minute (a server that
/// started instead of printing) is killed and fails the test.
fn run(bin: &str, args: &[&str], stdin: Option<&str>) -> Run {
    let mut child = Command::new(bin)
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{bin} starts: {e}"));
    if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
        let input = input.to_owned();
        std::thread::spawn(move || {
            let _ = pipe.write_all(input.as_bytes());
        });
    }
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("stdout")));
    let stderr = drain(Box::new(child.stderr.take().expect("stderr")));
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{bin} {args:?} did not exit within a minute");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Run {
        code: status.code(),
        stdout: stdout.join().expect("stdout reader"),
        stderr: stderr.join().expect("stderr reader"),
    }
}

fn products_manifest() -> Run {
    // `--port 0`: were the flag ignored, the server would start on a free port, not on 8000.
    run(
        env!("CARGO_BIN_EXE_products"),
        &["--port", "0", "--manifest"],
        None,
    )
}

fn rbac_matrix(args: &[&str], stdin: Option<&str>) -> Run {
    run(env!("CARGO_BIN_EXE_rbac-matrix"), args, stdin)
}

#[test]
fn manifest_snapshot_is_current() {
    let actual = Products::manifest();
    let path = snapshot_path();
    if updating() {
        std::fs::write(&path, manifest_text(&actual)).expect("write the snapshot");
        return;
    }
    let committed = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; run with {UPDATE_VAR}=1", path.display()));
    if let Some(difference) = snapshot_difference(&committed, &actual) {
        panic!(
            "{} differs from the server's manifest:\n{difference}\nafter an intended change run \
             `{UPDATE_VAR}=1 cargo test -p mcp-rbac-examples --test permission_surface` and review the diff",
            path.display()
        );
    }
}

#[test]
fn a_changed_requirement_fails_the_snapshot() {
    let actual = Products::manifest();
    let committed = manifest_text(&actual);
    assert_eq!(snapshot_difference(&committed, &actual), None);

    let mut loosened = actual.clone();
    loosened
        .tools
        .insert("delete_product".into(), "User.Write".into());
    assert_eq!(
        snapshot_difference(&committed, &loosened).as_deref(),
        Some("tool delete_product: snapshot Some(\"Admin.Write\"), server Some(\"User.Write\")")
    );
    let mut grown = actual.clone();
    grown.prompts.insert("export".into(), "public".into());
    assert_eq!(
        snapshot_difference(&committed, &grown).as_deref(),
        Some("prompt export: snapshot None, server Some(\"public\")")
    );
}

#[test]
fn products_prints_its_manifest_and_exits() {
    let out = products_manifest();
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(out.stdout, manifest_text(&Products::manifest()));
    let printed = Manifest::from_json(&out.stdout).expect("a manifest");
    assert_eq!(printed.tools["delete_product"], "Admin.Write");
    assert_eq!(printed.tools["whoami"], "public");
    assert_eq!(printed.prompts["product_brief"], "User.Read");
    assert!(!out.stdout.contains("TOKEN"), "no server banner");
}

#[test]
fn readme_matrix_is_current() {
    let manifest = products_manifest();
    assert_eq!(manifest.code, Some(0), "{}", manifest.stderr);
    let policy = policy_path();
    let out = rbac_matrix(
        &["--manifest", "-", "--policy", &policy],
        Some(&manifest.stdout),
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let table = out.stdout;

    let readme_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md");
    let readme = std::fs::read_to_string(&readme_path).expect("README.md");
    let start = readme
        .find(BEGIN)
        .expect("README has the matrix:begin marker")
        + BEGIN.len();
    let end = start
        + readme[start..]
            .find(END)
            .expect("README has the matrix:end marker");
    if updating() {
        let updated = format!("{}{table}{}", &readme[..start], &readme[end..]);
        std::fs::write(&readme_path, updated).expect("write README.md");
        return;
    }
    assert_eq!(
        &readme[start..end],
        table,
        "the README's role × tool matrix is stale: run `{UPDATE_VAR}=1 cargo test -p \
         mcp-rbac-examples --test permission_surface` and review the diff"
    );
}

#[test]
fn matrix_json_follows_admin_over_user_over_guest() {
    let snapshot = snapshot_path().display().to_string();
    let policy = policy_path();
    let out = rbac_matrix(
        &[
            "--manifest",
            &snapshot,
            "--policy",
            &policy,
            "--format",
            "json",
        ],
        None,
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let matrix: Value = serde_json::from_str(&out.stdout).expect("JSON");
    assert_eq!(matrix["roles"], json!(["admin", "guest", "user"]));
    let everyone = json!(["admin", "guest", "user"]);
    let writers = json!(["admin", "user"]);
    for (tool, allowed) in [
        ("list_products", &everyone),
        ("get_product", &everyone),
        ("whoami", &everyone),
        ("create_product", &writers),
        ("delete_product", &json!(["admin"])),
    ] {
        assert_eq!(matrix["tools"][tool]["allowed"], *allowed, "{tool}");
    }
    assert_eq!(
        matrix["tools"]["create_product"]["requires"],
        "any(User.Write, Admin.Write)"
    );
    assert_eq!(matrix["prompts"]["product_brief"]["allowed"], writers);
}

#[test]
fn an_item_no_role_reaches_is_flagged_but_listed() {
    let policy = policy_path();
    let out = rbac_matrix(
        &["--manifest", "-", "--policy", &policy],
        Some(r#"{"tools": {"purge": "Admin.Purge", "legacy": "unguarded", "whoami": "public"}}"#),
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(
        out.stderr,
        "rbac-matrix: warning: no role of the policy may call tool `legacy`\n\
         rbac-matrix: warning: no role of the policy may call tool `purge`\n"
    );
    assert!(
        out.stdout
            .contains("| tool `purge` | `Admin.Purge` |  |  |  |\n"),
        "{}",
        out.stdout
    );
}

#[test]
fn bad_input_gets_a_clear_error_and_a_nonzero_exit() {
    let dir = std::env::temp_dir().join(format!("rbac-matrix-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).expect("write");
        path.display().to_string()
    };
    let good_manifest = snapshot_path().display().to_string();
    let good_policy = policy_path();
    let bad_json = file("bad.json", "{\"tools\": {\"whoami\": \"public\"");
    let misspelled = file("misspelled.json", "{\"tool\": {}}");
    let bad_rule = file("bad-rule.json", "{\"tools\": {\"t\": \"any(A,\"}}");
    let bad_toml = file("bad.toml", "[roles.guest]\npermissions = [\"Guest.Read\"\n");
    let orphan = file(
        "orphan.toml",
        "[roles.user]\ninherits = [\"ghost\"]\npermissions = [\"User.Read\"]\n",
    );
    let missing = dir.join("missing.json").display().to_string();

    let cases: [(&[&str], Option<&str>, &str); 9] = [
        (
            &["--manifest", &missing, "--policy", &good_policy],
            None,
            "rbac-matrix: cannot read manifest ",
        ),
        (
            &["--manifest", &bad_json, "--policy", &good_policy],
            None,
            "is not a permission manifest: EOF while parsing an object at line 1",
        ),
        (
            &["--manifest", &misspelled, "--policy", &good_policy],
            None,
            "unknown field `tool`, expected one of `tools`, `prompts`, `resources`, `conditions`",
        ),
        (
            &["--manifest", "-", "--policy", &good_policy],
            Some(""),
            "rbac-matrix: manifest standard input is not a permission manifest",
        ),
        (
            &["--manifest", &bad_rule, "--policy", &good_policy],
            None,
            "tool `t` has the rule `any(A,`, which is not `public`, `unguarded` or a requirement",
        ),
        (
            &["--manifest", &good_manifest, "--policy", &missing],
            None,
            "rbac-matrix: cannot read role policy ",
        ),
        (
            &["--manifest", &good_manifest, "--policy", &bad_toml],
            None,
            "role policy TOML at line 2, column 28: unclosed array",
        ),
        (
            &["--manifest", &good_manifest, "--policy", &orphan],
            None,
            "role `user` inherits from `ghost`, which is not defined",
        ),
        (
            &[
                "--manifest",
                &good_manifest,
                "--policy",
                &good_policy,
                "--format",
                "html",
            ],
            None,
            "invalid value 'html' for '--format <FORMAT>'",
        ),
    ];
    for (args, stdin, expected) in cases {
        let out = rbac_matrix(args, stdin);
        assert!(
            matches!(out.code, Some(code) if code != 0),
            "{args:?} exited {:?}",
            out.code
        );
        assert!(
            out.stderr.contains(expected),
            "{args:?}: expected {expected:?} in {:?}",
            out.stderr
        );
        assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
        assert_eq!(out.stdout, "", "{args:?} printed a matrix");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
