//! `verify-audit FILE [--continues]`: checks the hash chain of a JSON Lines audit file written
//! by `products --audit-log` (or any `mcp_rbac::audit::JsonLinesSink`). Prints the number of
//! records and exits 0 when every record is intact and in place; otherwise names the first record
//! that was edited, removed, added or moved, and exits 1. `--continues`: the file is a rotated
//! one whose first record continues an earlier file's chain.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let continues = args.iter().any(|a| a == "--continues");
    let files: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let [file] = files.as_slice() else {
        eprintln!("usage: verify-audit FILE [--continues]");
        return ExitCode::from(2);
    };
    match mcp_rbac::audit::verify_chain(file, continues) {
        Ok(records) => {
            println!("{file}: {records} records, chain intact");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{file}: {e}");
            ExitCode::FAILURE
        }
    }
}
