//! CI runs the README's test command as the README writes it, on a clone where nothing was
//! installed before: `.ci/run` has exactly one `cargo test` line, identical to the one in the
//! README's Quick start, and installs nothing (npm, pip, apt) before it: the tests install their
//! own kits (`mcp_rbac_tests::kits`).

use std::path::Path;

fn workspace_file(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A shell line without its trailing `# comment`, its words separated by single spaces.
fn command(line: &str) -> String {
    let code = line.split(" #").next().unwrap_or_default();
    code.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The `cargo test` command of the README's Quick start (its first `bash` block).
fn readme_test_command(readme: &str) -> String {
    let quick_start = readme
        .split_once("\n## Quick start\n")
        .expect("the README has a `## Quick start` section")
        .1;
    let block = quick_start
        .split_once("```bash\n")
        .and_then(|(_, rest)| rest.split_once("\n```"))
        .expect("the Quick start has a ```bash block")
        .0;
    let tests: Vec<String> = block
        .lines()
        .map(command)
        .filter(|c| c.starts_with("cargo test"))
        .collect();
    assert_eq!(
        tests.len(),
        1,
        "the Quick start block should hold one `cargo test` command:\n{block}"
    );
    tests[0].clone()
}

/// The `cargo test` commands `.ci/run` runs, with the lines before the first.
fn ci_test_commands(script: &str) -> (Vec<String>, Vec<String>) {
    let lines: Vec<String> = script.lines().map(command).collect();
    let first = lines
        .iter()
        .position(|c| c.starts_with("cargo test"))
        .unwrap_or(lines.len());
    let tests = lines
        .iter()
        .filter(|c| c.starts_with("cargo test"))
        .cloned()
        .collect();
    (tests, lines[..first].to_vec())
}

#[test]
fn ci_runs_the_readme_test_command_and_installs_nothing_before_it() {
    let readme = readme_test_command(&workspace_file("README.md"));
    let (ci, before) = ci_test_commands(&workspace_file(".ci/run"));
    assert_eq!(
        ci,
        std::slice::from_ref(&readme),
        ".ci/run must run the README's test command `{readme}` exactly, once"
    );
    for line in &before {
        assert!(
            !installs(line),
            ".ci/run installs something before the README's test command: `{line}`"
        );
    }
}

/// Whether a shell command installs packages (npm, pip, apt) or makes a virtual environment.
fn installs(command: &str) -> bool {
    let words: Vec<&str> = command.split(' ').collect();
    words.windows(2).any(|w| {
        matches!(
            (w[0], w[1]),
            ("npm", "ci" | "install" | "i")
                | ("pip" | "pip3", "install")
                | ("apt-get" | "apt", "install")
                | ("-m", "venv")
        ) || (w[0].trim_matches('"').ends_with("/pip") && w[1] == "install")
    })
}

#[test]
fn the_parsers_see_what_they_are_meant_to() {
    let readme = "# x\n\n## Quick start\n\n```bash\ncargo run -p x   # a\ncargo test  --workspace   # b\n```\n\n```bash\ncargo test -p other\n```\n";
    assert_eq!(readme_test_command(readme), "cargo test --workspace");
    let script = "set -e\nnpm ci --prefix tests/idp\necho \"== cargo test\"\ncargo test --workspace --locked\n";
    let (tests, before) = ci_test_commands(script);
    assert_eq!(tests, ["cargo test --workspace --locked"]);
    assert_eq!(before[1], "npm ci --prefix tests/idp");
    assert!(installs(&before[1]));
    assert!(installs("\"$venv/bin/pip\" install -q -r x"));
    assert!(installs("python3 -m venv .venv"));
    assert!(installs(
        "DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl"
    ));
    assert!(!installs("echo \"== npm\""));
    assert!(!installs("cargo fmt --all -- --check"));
}
