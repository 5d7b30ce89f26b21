//! `products --audit-log FILE` and `verify-audit FILE` as an operator runs them: the records of a
//! few calls, written by the time the server exits on SIGTERM; the chain verified; a file with a
//! record edited, removed or moved names that record.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

fn verify(file: &std::path::Path) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_verify-audit"))
        .arg(file)
        .output()
        .expect("verify-audit runs");
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.success(), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_log_of_a_run_verifies_and_tampering_is_named() {
    let dir = std::env::temp_dir().join(format!("products-audit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("audit.jsonl");
    let mut child = Command::new(env!("CARGO_BIN_EXE_products"))
        .args(["--port", "0", "--stateless", "--audit-log"])
        .arg(&file)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("products starts");
    let (mut url, mut tokens) = (String::new(), Vec::new());
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if let Some(rest) = line.strip_prefix("products MCP server listening on ") {
            url = rest.to_owned();
        }
        for role in ["ADMIN", "USER", "GUEST"] {
            if let Some(token) = line.strip_prefix(&format!("{role}_TOKEN=")) {
                tokens.push(token.to_owned());
            }
        }
        if tokens.len() == 3 {
            break;
        }
    }
    let http = reqwest::Client::new();
    for (i, token) in tokens.iter().enumerate() {
        let call = serde_json::json!({"jsonrpc": "2.0", "id": i, "method": "tools/call",
            "params": {"name": "delete_product", "arguments": {"id": 1_000_000}}});
        let answer = http
            .post(&url)
            .bearer_auth(token)
            .header("accept", "application/json, text/event-stream")
            .json(&call)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200);
    }
    let refused = http
        .post(&url)
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    assert!(child.wait().unwrap().success());

    let lines: Vec<String> = std::fs::read_to_string(&file)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(lines.len(), 4, "{lines:#?}");
    let decisions: Vec<String> = lines
        .iter()
        .map(|l| {
            let record: serde_json::Value = serde_json::from_str(l).unwrap();
            format!(
                "{} {} {}",
                record["subject"], record["name"], record["decision"]
            )
        })
        .collect();
    for expected in [
        r#""admin" "delete_product" "allow""#,
        r#""user" "delete_product" "deny""#,
        r#""guest" "delete_product" "deny""#,
        r#"null "authentication" "deny""#,
    ] {
        assert!(decisions.iter().any(|d| d == expected), "{decisions:#?}");
    }
    assert_eq!(
        verify(&file),
        (
            true,
            format!("{}: 4 records, chain intact\n", file.display())
        )
    );

    let tampered = dir.join("tampered.jsonl");
    let check = |lines: &[String]| {
        std::fs::write(&tampered, lines.join("\n") + "\n").unwrap();
        verify(&tampered)
    };
    let denied = lines.iter().position(|l| l.contains("\"deny\"")).unwrap();
    let mut edited = lines.clone();
    edited[denied] = edited[denied].replace("\"deny\"", "\"allow\"");
    let (ok, text) = check(&edited);
    assert!(
        !ok && text.contains(&format!("record {}: `hash` does not match", denied + 1)),
        "{text}"
    );
    let mut removed = lines.clone();
    removed.remove(1);
    let (ok, text) = check(&removed);
    assert!(!ok && text.contains("record 2: `prev`"), "{text}");
    let mut moved = lines.clone();
    moved.swap(0, 2);
    let (ok, text) = check(&moved);
    assert!(!ok && text.contains("record 1: `prev`"), "{text}");
    std::fs::remove_dir_all(dir).unwrap();
}
