//! `bench_server --port N [--auth]`: the server the peer benchmark drives (see `bench` module).

use mcp_rbac_examples::bench::{self, BenchConfig};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let config = match BenchConfig::parse(std::env::args().skip(1), |k| std::env::var(k).ok()) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("bench_server: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    match bench::serve(config).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench_server: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
