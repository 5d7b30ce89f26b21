//! The `dev-issuer` binary's command line: `hash-password`, and refusing a bad users file.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use mcp_rbac_examples::dev_issuer::Users;

fn run(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_dev-issuer"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("dev-issuer runs");
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(stdin.as_bytes())
        .expect("stdin written");
    child.wait_with_output().expect("dev-issuer exits")
}

#[test]
fn hash_password_prints_a_hash_the_users_file_accepts() {
    let output = run(&["hash-password"], "open sesame\n");
    assert!(output.status.success(), "{output:?}");
    let hash = String::from_utf8(output.stdout).expect("UTF-8");
    let hash = hash.trim();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(!hash.contains("open sesame"));
    let users = Users::from_toml_str(&format!(
        "[users.dana]\npassword_hash = \"{hash}\"\nroles = [\"user\"]\n"
    ))
    .expect("the printed hash loads");
    // The line's newline is not part of the password.
    assert!(users.authenticate("dana", "open sesame").is_some());
    assert!(users.authenticate("dana", "open sesame\n").is_none());
}

#[test]
fn an_empty_password_is_refused() {
    let output = run(&["hash-password"], "\n");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("the password is empty"));
}

#[test]
fn a_missing_or_broken_users_file_stops_the_issuer_with_a_message() {
    let dir = std::env::temp_dir().join(format!("dev-issuer-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let broken = dir.join("users.toml");
    std::fs::write(
        &broken,
        "[users.eve]\npassword_hash = \"plain-text\"\nroles = []\n",
    )
    .expect("users file");
    let missing = dir.join("missing.toml");
    for (path, expected) in [
        (
            &broken,
            "user `eve`: password_hash is not an Argon2 PHC string",
        ),
        (&missing, "cannot read"),
    ] {
        let output = run(
            &["--port", "0", "--users", path.to_str().expect("UTF-8 path")],
            "",
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{stderr}");
        assert!(stderr.contains(expected), "{expected}: {stderr}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
