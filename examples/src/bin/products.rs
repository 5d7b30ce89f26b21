//! `products`: the example MCP server. `products --help` lists the flags.

use std::io::Write;

use clap::Parser;
use mcp_rbac_examples::products::{self, Cli};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,rmcp=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    if let Some(products::Command::Revoke(revoke)) = &cli.command {
        return match products::revoke(revoke).await {
            Ok(done) => {
                let _ = writeln!(std::io::stdout(), "{done}");
                std::process::ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("products revoke: {e}");
                std::process::ExitCode::FAILURE
            }
        };
    }
    if cli.manifest {
        // Not `println!`: it panics when the reader has gone (`products --manifest | head`).
        let json = products::Products::manifest().to_json();
        return match writeln!(std::io::stdout(), "{json}") {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("products: writing the manifest: {e}");
                std::process::ExitCode::FAILURE
            }
        };
    }
    let running = match products::start(cli).await {
        Ok(running) => running,
        Err(e) => {
            eprintln!("products: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    // Not `println!`: a reader that stops after the address line (`products | head -1`) must not
    // kill the server with a broken pipe.
    let _ = write!(std::io::stdout().lock(), "{}", running.banner());
    // Ctrl-C or SIGTERM: stop accepting, finish what is in flight (up to --shutdown-timeout).
    mcp_rbac::server::shutdown_signal().await;
    running.shutdown().await;
    std::process::ExitCode::SUCCESS
}
