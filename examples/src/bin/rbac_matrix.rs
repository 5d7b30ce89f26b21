//! `rbac-matrix`: which role may call which tool and prompt, from a server's permission manifest
//! and a role policy, as a Markdown table or JSON. Commit its output next to the policy, and a
//! pull request that changes who may do what shows it as a diff.
//!
//! ```text
//! products --manifest | rbac-matrix --manifest - --policy examples/products-policy.toml
//! rbac-matrix --manifest examples/manifest.json --policy examples/products-policy.toml --format json
//! rbac-matrix --manifest examples/manifest.json --clients examples/products-clients.toml
//! ```
//!
//! With `--clients`, the columns are the clients of a client policy (client × tool) instead of
//! the roles of a role policy (role × tool).

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use mcp_rbac::{AccessMatrix, ClientPolicy, Manifest, RolePolicy};

/// Prints the role × tool matrix of a server: one row per tool and prompt with its rule, one
/// column per role of the policy, ✓ where the role's permissions meet the rule. Or, with
/// `--clients`, the client × tool matrix: one column per client of a client policy (then one for
/// the clients it does not name), ✓ where the client's ceiling meets the rule.
#[derive(Parser, Debug)]
#[command(name = "rbac-matrix", version)]
struct Args {
    /// The permission manifest as JSON (`products --manifest` prints one); `-` reads standard input.
    #[arg(long, value_name = "FILE|-")]
    manifest: PathBuf,

    /// The role policy as TOML (`[roles.<name>]` tables with `permissions` and `inherits`).
    #[arg(
        long,
        value_name = "FILE",
        required_unless_present = "clients",
        conflicts_with = "clients"
    )]
    policy: Option<PathBuf>,

    /// A client policy as TOML (`default` and `[clients.<id>]` tables with `permissions`):
    /// prints client × tool instead of role × tool.
    #[arg(long, value_name = "FILE")]
    clients: Option<PathBuf>,

    /// What to print.
    #[arg(long, value_enum, default_value_t = Format::Markdown)]
    format: Format,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum Format {
    /// A GitHub-flavoured Markdown table.
    Markdown,
    /// `{"roles": [..], "tools": {name: {"requires", "allowed"}}, "prompts": {..}}`.
    Json,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let matrix = match load(&args) {
        Ok(matrix) => matrix,
        Err(message) => {
            eprintln!("rbac-matrix: {message}");
            return ExitCode::FAILURE;
        }
    };
    // Not an error: the table is still right, but an item nobody can call is often a renamed
    // permission or a forgotten grant.
    let columns = if args.clients.is_some() {
        "client"
    } else {
        "role"
    };
    for (kind, name) in matrix.unreachable() {
        eprintln!("rbac-matrix: warning: no {columns} of the policy may call {kind} `{name}`");
    }
    let out = match args.format {
        Format::Markdown => matrix.to_markdown(),
        Format::Json => matrix.to_json() + "\n",
    };
    // `println!` would panic on a closed pipe (`rbac-matrix … | head`).
    match std::io::stdout().lock().write_all(out.as_bytes()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rbac-matrix: writing the output: {e}");
            ExitCode::FAILURE
        }
    }
}

fn load(args: &Args) -> Result<AccessMatrix, String> {
    let (source, text) = if args.manifest.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| format!("reading the manifest from standard input: {e}"))?;
        ("standard input".to_owned(), text)
    } else {
        let source = args.manifest.display().to_string();
        let text = std::fs::read_to_string(&args.manifest)
            .map_err(|e| format!("cannot read manifest {source}: {e}"))?;
        (source, text)
    };
    let manifest = Manifest::from_json(&text)
        .map_err(|e| format!("manifest {source} is not a permission manifest: {e}"))?;

    let matrix = match (&args.clients, &args.policy) {
        (Some(clients), _) => {
            let clients_path = clients.display();
            let text = std::fs::read_to_string(clients)
                .map_err(|e| format!("cannot read client policy {clients_path}: {e}"))?;
            let policy = ClientPolicy::from_toml_str(&text)
                .map_err(|e| format!("client policy {clients_path}: {e}"))?;
            AccessMatrix::for_clients(&manifest, &policy)
        }
        (None, Some(path)) => {
            let policy_path = path.display();
            let policy_text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read role policy {policy_path}: {e}"))?;
            let policy = RolePolicy::from_toml_str(&policy_text)
                .map_err(|e| format!("role policy {policy_path}: {e}"))?;
            AccessMatrix::new(&manifest, &policy)
        }
        // clap requires one of the two.
        (None, None) => return Err("give --policy FILE or --clients FILE".to_owned()),
    };
    matrix.map_err(|e| format!("manifest {source}: {e}"))
}
