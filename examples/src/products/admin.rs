//! `products revoke`: revocations written to the Redis the replicas share, enforced by every
//! replica on its next request.

use mcp_rbac::store::{unix_now, RedisState, SharedState};

use super::cli::Revoke;

/// Carries out `revoke`; the line to print on success.
pub async fn revoke(revoke: &Revoke) -> Result<String, String> {
    let state = RedisState::open(&revoke.redis).map_err(|e| e.to_string())?;
    match (&revoke.subject, &revoke.jti, revoke.until) {
        (Some(subject), _, _) => {
            let before = revoke.before.unwrap_or_else(unix_now);
            state
                .revoke_subject(revoke.issuer.as_deref(), subject, before)
                .await
                .map_err(|e| e.to_string())?;
            let issuer = revoke.issuer.as_deref().unwrap_or("(no issuer)");
            Ok(format!(
                "revoked every token of subject {subject} of {issuer} issued at or before {before}"
            ))
        }
        (None, Some(jti), Some(until)) => {
            state
                .revoke_jti(jti, until)
                .await
                .map_err(|e| e.to_string())?;
            Ok(format!("revoked the token with jti {jti} until {until}"))
        }
        _ => Err("name --subject, or --jti with --until".to_owned()),
    }
}
