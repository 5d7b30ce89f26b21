//! The bench server's command line and environment.

use mcp_rbac::verify::{Algorithm, JwtVerifier, VerificationKey};

/// How the bench server runs.
#[derive(Debug, Clone)]
pub struct BenchConfig {
    /// Port on 127.0.0.1.
    pub port: u16,
    /// The JWT settings, with `--auth`.
    pub auth: Option<AuthConfig>,
}

/// `--auth`: RS256 tokens from `BENCH_ISSUER` for `BENCH_AUDIENCE`, keyed by `BENCH_PUBLIC_KEY`.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// PEM public key (SPKI), the file's contents.
    pub public_key_pem: Vec<u8>,
    /// Trusted `iss`.
    pub issuer: String,
    /// Expected `aud`.
    pub audience: String,
}

/// Why the bench server cannot start.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A flag or variable is missing or wrong.
    #[error("{0}\nusage: bench_server --port N [--auth]   (with --auth: BENCH_PUBLIC_KEY, BENCH_ISSUER, BENCH_AUDIENCE)")]
    Usage(String),
    /// The key or verifier settings are unusable.
    #[error("{0}")]
    Verifier(String),
    /// The resource URL is unusable.
    #[error("{0}")]
    Resource(String),
}

impl BenchConfig {
    /// From the arguments (without the program name) and an environment lookup.
    pub fn parse(
        args: impl IntoIterator<Item = String>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let usage = |m: &str| ConfigError::Usage(m.to_owned());
        let mut port = None;
        let mut auth = false;
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--auth" => auth = true,
                "--port" => {
                    let value = args.next().ok_or_else(|| usage("--port needs a value"))?;
                    port = Some(
                        value
                            .parse::<u16>()
                            .map_err(|_| usage(&format!("--port `{value}` is not a port")))?,
                    );
                }
                other => return Err(usage(&format!("unknown argument `{other}`"))),
            }
        }
        let port = port.ok_or_else(|| usage("--port is required"))?;
        let auth = if auth {
            let var = |name: &str| env(name).ok_or_else(|| usage(&format!("{name} is not set")));
            let path = var("BENCH_PUBLIC_KEY")?;
            let public_key_pem = std::fs::read(&path)
                .map_err(|e| ConfigError::Verifier(format!("reading {path}: {e}")))?;
            Some(AuthConfig {
                public_key_pem,
                issuer: var("BENCH_ISSUER")?,
                audience: var("BENCH_AUDIENCE")?,
            })
        } else {
            None
        };
        Ok(BenchConfig { port, auth })
    }
}

impl AuthConfig {
    /// The verifier: RS256 only, this issuer and audience, permissions from `permissions`.
    pub fn verifier(&self) -> Result<JwtVerifier, ConfigError> {
        let key = VerificationKey::from_pem(&self.public_key_pem)
            .map_err(|e| ConfigError::Verifier(e.to_string()))?;
        JwtVerifier::builder()
            .issuer(self.issuer.clone())
            .audience(self.audience.clone())
            .algorithms([Algorithm::RS256])
            .key(key)
            .build()
            .map_err(|e| ConfigError::Verifier(e.to_string()))
    }
}
