//! The official MCP conformance suite (`@modelcontextprotocol/conformance`, server scenarios)
//! against the products server. The suite cannot send an `Authorization` header, so it runs
//! through `mcp_rbac_tests::proxy::LoopbackProxy`, which adds the admin's token to every request
//! and forwards everything else unchanged (the `Host` and `Origin` headers of the DNS-rebinding
//! scenario included). Run through the same proxy without a token, every scenario is refused.
//!
//! Scenarios that call the suite's own fixture tools, resources and prompts (`test_simple_text`,
//! `test://static-text`, …), which the products server does not have, are listed with the reason
//! in `tests/clients/conformance-expected-failures.yml`; the suite itself fails a run where one
//! of them unexpectedly passes or any other scenario fails.
//!
//! Needs `tests/clients/`, which the first test installs (`mcp_rbac_tests::kits`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use mcp_rbac_tests::clients::{clients_dir, node_with, products_server, run, Output};
use mcp_rbac_tests::proxy::LoopbackProxy;
use serde_json::Value;

/// The scenarios the products server must pass (issue 7).
const REQUIRED: [&str; 6] = [
    "server-initialize",
    "ping",
    "tools-list",
    "prompts-list",
    "resources-list",
    "dns-rebinding-protection",
];

const EXPECTED_FAILURES: &str = "conformance-expected-failures.yml";

/// One run of the suite's active server scenarios against `url`.
struct SuiteRun {
    output: Output,
    /// Scenario name → its checks (`checks.json`).
    checks: BTreeMap<String, Vec<Value>>,
}

impl SuiteRun {
    /// Every failed check, one a line, with the suite's reason.
    fn failures(&self) -> String {
        let mut lines = Vec::new();
        for (scenario, checks) in &self.checks {
            for check in checks.iter().filter(|c| c["status"] == "FAILURE") {
                lines.push(format!(
                    "{scenario}: {}: {}",
                    check["id"].as_str().unwrap_or_default(),
                    check["errorMessage"].as_str().unwrap_or_default()
                ));
            }
        }
        lines.join("\n")
    }

    fn statuses(&self, scenario: &str) -> Vec<(String, String)> {
        self.checks
            .get(scenario)
            .unwrap_or_else(|| panic!("no results for {scenario}; stdout:\n{}", self.output.stdout))
            .iter()
            .map(|c| {
                (
                    c["id"].as_str().unwrap_or_default().to_owned(),
                    c["status"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    }
}

async fn run_suite(url: &str, name: &str, extra: &[&str]) -> SuiteRun {
    let node = node_with("@modelcontextprotocol/conformance");
    let results = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("conformance-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&results);
    let results_arg = results.to_string_lossy().into_owned();
    let mut args = vec![
        "node_modules/@modelcontextprotocol/conformance/dist/index.js",
        "server",
        "--url",
        url,
        "-o",
        &results_arg,
    ];
    args.extend_from_slice(extra);
    let output = run(&node, &args, &[]).await;
    let checks = read_results(&results);
    let _ = std::fs::remove_dir_all(&results);
    SuiteRun { output, checks }
}

/// `<dir>/server-<scenario>-<timestamp>/checks.json` for every scenario the suite ran.
fn read_results(dir: &Path) -> BTreeMap<String, Vec<Value>> {
    let mut checks = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return checks;
    };
    for entry in entries.flatten() {
        let folder = entry.file_name().to_string_lossy().into_owned();
        // The timestamp is `2026-01-31T12-34-56-789Z` (24 characters) after a dash.
        let Some(scenario) = folder
            .strip_prefix("server-")
            .and_then(|rest| rest.get(..rest.len().checked_sub(25)?))
        else {
            continue;
        };
        let path: PathBuf = entry.path().join("checks.json");
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let list: Vec<Value> =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        checks.insert(scenario.to_owned(), list);
    }
    checks
}

/// The scenario names listed in the expected-failures file.
fn expected_failures() -> Vec<String> {
    let path = clients_dir().join(EXPECTED_FAILURES);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .filter_map(|line| line.trim().strip_prefix("- "))
        .map(|name| name.trim().to_owned())
        .collect()
}

/// Through the proxy that adds the admin's token, the required scenarios pass check by check, and
/// the suite's verdict over all active scenarios (with the expected-failures baseline) is a pass.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_scenarios_pass_through_the_token_proxy() {
    let server = products_server(&[]).await;
    let admin = server.tokens.as_ref().expect("tokens").admin.clone();
    let proxy = LoopbackProxy::start(server.addr, Some(admin)).await;

    let baseline = expected_failures();
    for scenario in REQUIRED {
        assert!(
            !baseline.iter().any(|b| b == scenario),
            "{scenario} must pass, yet it is listed in {EXPECTED_FAILURES}"
        );
    }
    let baseline_path = clients_dir().join(EXPECTED_FAILURES);
    let suite = run_suite(
        &proxy.url("/mcp"),
        "token",
        &["--expected-failures", &baseline_path.to_string_lossy()],
    )
    .await;
    assert_eq!(
        suite.output.code,
        Some(0),
        "the suite found unexpected failures or stale expected failures:\n{}\n\nfailed checks:\n{}",
        suite.output.stdout,
        suite.failures()
    );

    for scenario in REQUIRED {
        let statuses = suite.statuses(scenario);
        assert!(!statuses.is_empty(), "{scenario} ran no check");
        for (check, status) in statuses {
            assert_eq!(status, "SUCCESS", "{scenario}: {check}");
        }
    }
    for (scenario, checks) in &suite.checks {
        let failed = checks.iter().any(|c| c["status"] == "FAILURE");
        let expected = baseline.contains(scenario);
        assert_eq!(
            failed, expected,
            "{scenario}: failed = {failed}, listed as an expected failure = {expected}"
        );
    }
    // Every request carried the token, so none was refused.
    let exchanges = proxy.exchanges();
    assert!(
        !exchanges.is_empty(),
        "the suite sent nothing through the proxy"
    );
    let refused: Vec<_> = exchanges.iter().filter(|e| e.status == 401).collect();
    assert!(
        refused.is_empty(),
        "refused through the token proxy: {refused:?}"
    );
}

/// Through the same proxy without a token every active scenario fails, and every request the
/// suite sent was refused with 401 and the `resource_metadata` challenge.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_token_every_conformance_scenario_is_refused_with_401() {
    let server = products_server(&[]).await;
    let recorder = LoopbackProxy::start(server.addr, None).await;

    let suite = run_suite(&recorder.url("/mcp"), "anonymous", &[]).await;
    assert_eq!(suite.output.code, Some(1), "{}", suite.output.stdout);
    for scenario in REQUIRED {
        assert!(
            suite.checks.contains_key(scenario),
            "{scenario} did not run"
        );
    }
    for (scenario, checks) in &suite.checks {
        assert!(
            checks.iter().any(|c| c["status"] == "FAILURE"),
            "{scenario} passed without a token: {checks:?}"
        );
    }

    let challenge = format!(
        "Bearer resource_metadata=\"http://{}/.well-known/oauth-protected-resource/mcp\"",
        server.addr
    );
    let exchanges = recorder.exchanges();
    assert!(
        exchanges.len() >= suite.checks.len(),
        "{} requests for {} scenarios",
        exchanges.len(),
        suite.checks.len()
    );
    for exchange in &exchanges {
        assert_eq!(exchange.status, 401, "{exchange:?}");
        assert_eq!(
            exchange.www_authenticate.as_deref(),
            Some(challenge.as_str())
        );
    }
}
