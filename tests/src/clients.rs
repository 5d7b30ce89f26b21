//! Real MCP clients for the cross-client tests (`tests/tests/clients.rs`) and the official
//! conformance suite (`tests/tests/conformance.rs`), run as child processes against the products
//! server started in this process.
//!
//! They live in `tests/clients/`: an npm project (the TypeScript SDK, the Inspector CLI, the
//! conformance suite, and the Node 22 they need, itself an npm package) and a Python virtual
//! environment with the Python SDK (`tests/clients/.venv`, from `requirements.txt`). The first test
//! that needs one installs it (see [`crate::kits`]).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use mcp_rbac_examples::products::{self, Running};
use serde_json::Value;
use tokio::process::Command;

/// How long one client run may take (they take seconds; the machine may be busy).
pub const RUN_TIMEOUT: Duration = Duration::from_secs(180);

/// `tests/clients/`.
pub fn clients_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("clients")
}

/// The Node 22 of the npm project in `tests/clients/`, installed on first use (see
/// [`crate::kits`]), with `package` (a path under its `node_modules`).
pub fn node_with(package: &str) -> PathBuf {
    let modules = crate::kits::npm_project(&clients_dir(), &["node/bin/node"]);
    assert!(
        modules.join(package).exists(),
        "{package} is not in {}: is it in tests/clients/package.json?",
        modules.display()
    );
    modules.join("node/bin/node")
}

/// The Python of the virtual environment `tests/clients/.venv`, with the `mcp` SDK of
/// `requirements.txt`, installed on first use (see [`crate::kits`]).
pub fn python() -> PathBuf {
    let dir = clients_dir();
    crate::kits::python_venv(&dir.join(".venv"), &dir.join("requirements.txt"))
}

/// What a client process did.
#[derive(Debug)]
pub struct Output {
    /// Its exit code (`None`: killed by a signal).
    pub code: Option<i32>,
    /// Its standard output.
    pub stdout: String,
    /// Its standard error.
    pub stderr: String,
}

impl Output {
    /// Standard output as one JSON document; panics with both streams when it is not.
    pub fn json(&self) -> Value {
        serde_json::from_str(self.stdout.trim()).unwrap_or_else(|e| {
            panic!(
                "the client printed no JSON ({e}); exit {:?}\nstdout:\n{}\nstderr:\n{}",
                self.code, self.stdout, self.stderr
            )
        })
    }

    /// Standard error's last line parsed as JSON (the Inspector CLI's error envelope), if any.
    pub fn stderr_json(&self) -> Option<Value> {
        self.stderr
            .lines()
            .rev()
            .find_map(|line| serde_json::from_str(line.trim()).ok())
    }
}

/// Runs `program args` in `tests/clients/` with `envs`, no stdin, killed after [`RUN_TIMEOUT`].
pub async fn run(program: &Path, args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut command = Command::new(program);
    command
        .args(args)
        .current_dir(clients_dir())
        // Whatever the caller's shell sets for Node or Python must not change the clients.
        .env_remove("NODE_OPTIONS")
        .env_remove("PYTHONPATH")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (name, value) in envs {
        command.env(name, value);
    }
    let child = command
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
    match tokio::time::timeout(RUN_TIMEOUT, child.wait_with_output()).await {
        Ok(Ok(output)) => Output {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        },
        Ok(Err(e)) => panic!("{} {args:?}: {e}", program.display()),
        Err(_) => panic!(
            "{} {args:?} did not finish within {} s",
            program.display(),
            RUN_TIMEOUT.as_secs()
        ),
    }
}

/// The products server with its development issuer on a free loopback port, started from the
/// command line the README documents, plus `flags` (e.g. `["--list-mode", "show"]`).
pub async fn products_server(flags: &[&str]) -> Running {
    let args = ["products", "--port", "0"].iter().chain(flags);
    let cli = <products::Cli as clap::Parser>::try_parse_from(args)
        .unwrap_or_else(|e| panic!("products {flags:?}: {e}"));
    let running = products::start(cli)
        .await
        .unwrap_or_else(|e| panic!("the products server did not start: {e}"));
    assert!(
        running.tokens.is_some(),
        "the development issuer made no tokens"
    );
    running
}
