//! `products-stdio`: the products server over stdio. `products-stdio --help` lists the flags.
//! Standard output carries the protocol; logs go to standard error.

use std::process::ExitCode;

use clap::Parser;
use mcp_rbac_examples::products_stdio::{self, Cli};
use rmcp::ServiceExt;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,rmcp=warn".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
    let cli = Cli::parse();
    let server = match products_stdio::authenticated_server(&cli).await {
        Ok(server) => server,
        Err(e) => {
            eprintln!("products-stdio: {e}");
            return ExitCode::FAILURE;
        }
    };
    let running = match server.serve(rmcp::transport::stdio()).await {
        Ok(running) => running,
        Err(e) => {
            eprintln!("products-stdio: {e}");
            return ExitCode::FAILURE;
        }
    };
    match running.waiting().await {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("products-stdio: {e}");
            ExitCode::FAILURE
        }
    }
}
