//! `dev-issuer`: a development identity provider for the products server. `dev-issuer --help`
//! lists the flags; `dev-issuer hash-password` hashes a password for the users file.

use std::io::{BufRead, Write};
use std::process::ExitCode;

use clap::Parser;
use mcp_rbac_examples::dev_issuer::{self, Cli, Command};

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    if let Some(Command::HashPassword) = cli.command {
        return hash_password();
    }
    let running = match dev_issuer::start(cli.serve).await {
        Ok(running) => running,
        Err(e) => {
            eprintln!("dev-issuer: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Not `println!`: a reader that stops after the address line must not kill the server.
    let _ = writeln!(std::io::stdout().lock(), "{}", running.banner());
    let _ = tokio::signal::ctrl_c().await;
    running.shutdown().await;
    ExitCode::SUCCESS
}

/// The password comes from standard input, never the command line, where `ps` and the shell's
/// history would keep it.
fn hash_password() -> ExitCode {
    let mut line = String::new();
    if let Err(e) = std::io::stdin().lock().read_line(&mut line) {
        eprintln!("dev-issuer: reading the password: {e}");
        return ExitCode::FAILURE;
    }
    let password = line.strip_suffix('\n').unwrap_or(&line);
    let password = password.strip_suffix('\r').unwrap_or(password);
    if password.is_empty() {
        eprintln!("dev-issuer: the password is empty (pipe it in: echo -n 'secret' | dev-issuer hash-password)");
        return ExitCode::FAILURE;
    }
    match dev_issuer::hash_password(password) {
        Ok(hash) => {
            println!("{hash}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("dev-issuer: {e}");
            ExitCode::FAILURE
        }
    }
}
