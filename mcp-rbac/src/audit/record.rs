//! The decision record.

use std::borrow::Cow;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::principal::Principal;

/// Allowed or denied.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    /// The request went on.
    Allow,
    /// The request was refused.
    Deny,
}

/// One authorization decision, as sinks receive it and the JSON Lines sink writes it (one
/// object per line, these field names). The fields are declared in name order, so the record
/// serializes straight to canonical JSON (keys sorted), the text the hash chain is computed over.
///
/// The text fields borrow from the request where they can (the principal, the item's name, the
/// request id): a record is made on the request's path for every decision, and a sink that
/// serializes it at once needs no copy. A sink that keeps records keeps
/// [`into_owned`](Self::into_owned) ones.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct DecisionRecord<'a> {
    /// SHA-256 of the tool's arguments as canonical JSON (never the arguments).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arguments_digest: Option<Cow<'a, str>>,
    /// The OAuth client the token was issued to (`azp`, else `client_id`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client: Option<Cow<'a, str>>,
    /// The decision.
    pub decision: Decision,
    /// More on the reason (an invalid token's refusal class), never a token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<Cow<'a, str>>,
    /// For a list: the items hidden.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hidden: Option<usize>,
    /// The token's issuer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<Cow<'a, str>>,
    /// The JSON-RPC request's id, when the decision was about one.
    pub jsonrpc_id: Option<serde_json::Value>,
    /// `tool`, `prompt`, `resource`, `list`, or `request` for a refusal of the whole request.
    pub kind: &'static str,
    /// How long the decision took, in nanoseconds (an integer: floats do not survive every JSON
    /// reader exactly, and the hash chain is computed over the text).
    pub latency_ns: u64,
    /// The tool, prompt or resource; the list (`tools/list`); for `request`,
    /// `authentication` or `session`.
    pub name: Cow<'a, str>,
    /// The version of the rules it was decided under
    /// ([`Manifest::policy_version`](crate::Manifest::policy_version)).
    pub policy_version: Cow<'a, str>,
    /// Why, as a stable code: `granted`, `filtered`, `missing_permission`, `no_principal`,
    /// `no_token`, `invalid_token`, `insufficient_scope`, `foreign_session`, `condition_met`, or
    /// an argument condition's own reason code.
    pub reason: &'static str,
    /// The server's id of the HTTP request (also in the answer's `x-request-id` header).
    pub request_id: Option<Cow<'a, str>>,
    /// The canonical requirement checked, or for an argument condition its path
    /// (`Self::may_update`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub required: Option<Cow<'a, str>>,
    /// For a list: the items shown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shown: Option<usize>,
    /// The HTTP status the refusal was answered with, when not a JSON-RPC error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The caller's subject (`sub`); `null` when the request carried no valid token.
    pub subject: Option<Cow<'a, str>>,
    /// When, UTC, RFC 3339 with milliseconds.
    pub time: Timestamp,
}

impl<'a> DecisionRecord<'a> {
    pub(crate) fn new(
        policy_version: &'a str,
        request_id: Option<&'a str>,
        jsonrpc_id: Option<&rmcp::model::RequestId>,
        principal: Option<&'a Principal>,
        decision: Decision,
        reason: &'static str,
        started: Instant,
    ) -> Self {
        DecisionRecord {
            time: Timestamp::at(SystemTime::now()),
            request_id: request_id.map(Cow::Borrowed),
            jsonrpc_id: jsonrpc_id.and_then(|id| serde_json::to_value(id).ok()),
            subject: principal.map(|p| Cow::Borrowed(p.subject())),
            issuer: principal.and_then(Principal::issuer).map(Cow::Borrowed),
            client: principal.and_then(Principal::client).map(Cow::Borrowed),
            kind: "request",
            name: Cow::Borrowed(""),
            required: None,
            decision,
            reason,
            detail: None,
            status: None,
            policy_version: Cow::Borrowed(policy_version),
            arguments_digest: None,
            shown: None,
            hidden: None,
            latency_ns: u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX),
        }
    }

    pub(crate) fn item(
        mut self,
        kind: &'static str,
        name: &'a str,
        required: Option<&'a str>,
    ) -> Self {
        self.kind = kind;
        self.name = Cow::Borrowed(name);
        self.required = required.map(Cow::Borrowed);
        self
    }

    pub(crate) fn arguments(mut self, digest: Option<&'a str>) -> Self {
        self.arguments_digest = digest.map(Cow::Borrowed);
        self
    }

    pub(crate) fn status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }

    pub(crate) fn detail(mut self, detail: &'a str) -> Self {
        self.detail = Some(Cow::Borrowed(detail));
        self
    }

    pub(crate) fn listed(mut self, shown: usize, hidden: usize) -> Self {
        self.shown = Some(shown);
        self.hidden = Some(hidden);
        self
    }

    /// The record with every text its own, to keep past the decision (a sink that queues).
    pub fn into_owned(self) -> DecisionRecord<'static> {
        fn own(text: Cow<'_, str>) -> Cow<'static, str> {
            Cow::Owned(text.into_owned())
        }
        DecisionRecord {
            arguments_digest: self.arguments_digest.map(own),
            client: self.client.map(own),
            decision: self.decision,
            detail: self.detail.map(own),
            hidden: self.hidden,
            issuer: self.issuer.map(own),
            jsonrpc_id: self.jsonrpc_id,
            kind: self.kind,
            latency_ns: self.latency_ns,
            name: own(self.name),
            policy_version: own(self.policy_version),
            reason: self.reason,
            request_id: self.request_id.map(own),
            required: self.required.map(own),
            shown: self.shown,
            status: self.status,
            subject: self.subject.map(own),
            time: self.time,
        }
    }
}

/// A UTC time as RFC 3339 text with milliseconds, `2026-12-01T17:30:05.123Z`: a record's
/// [`time`](DecisionRecord::time). Made for every record on the request's path, so it is the
/// text itself, not an allocation.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Timestamp([u8; 24]);

impl Timestamp {
    /// The time now.
    pub fn now() -> Self {
        Timestamp::at(SystemTime::now())
    }

    /// The text, `2026-12-01T17:30:05.123Z`.
    pub fn as_str(&self) -> &str {
        // Only digits and ASCII punctuation are ever written.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    fn at(time: SystemTime) -> Self {
        let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
        let secs = since.as_secs();
        let (days, rest) = (secs / 86_400, secs % 86_400);
        // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
        let z = days as i64 + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        // Written digit by digit: `format!` costs more than the rest of the date together. Years
        // past 9999 are outside RFC 3339 and get their last four digits.
        let year = year.rem_euclid(10_000) as u64;
        let mut text = *b"0000-00-00T00:00:00.000Z";
        let mut put = |at: usize, width: usize, mut value: u64| {
            for slot in text[at..at + width].iter_mut().rev() {
                *slot = b'0' + (value % 10) as u8;
                value /= 10;
            }
        };
        put(0, 4, year);
        put(5, 2, month as u64);
        put(8, 2, day as u64);
        put(11, 2, rest / 3600);
        put(14, 2, rest % 3600 / 60);
        put(17, 2, rest % 60);
        put(20, 3, u64::from(since.subsec_millis()));
        Timestamp(text)
    }
}

impl std::fmt::Display for Timestamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn times_are_rfc3339_utc() {
        let at = |secs: u64, millis: u64| {
            Timestamp::at(UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_millis(millis))
                .to_string()
        };
        assert_eq!(at(0, 0), "1970-01-01T00:00:00.000Z");
        assert_eq!(at(951_782_400, 5), "2000-02-29T00:00:00.005Z");
        assert_eq!(at(1_796_146_205, 123), "2026-12-01T17:30:05.123Z");
        assert_eq!(at(1_709_251_199, 999), "2024-02-29T23:59:59.999Z");
        assert_eq!(at(4_102_444_800, 40), "2100-01-01T00:00:00.040Z");
    }

    #[test]
    fn a_record_has_the_named_fields_and_no_token() {
        let principal = Principal::builder("alice")
            .issuer("https://login.example.com")
            .claims(
                serde_json::json!({"azp": "agent-1", "secret": "s3cr3t"})
                    .as_object()
                    .unwrap()
                    .clone(),
            )
            .client("agent-1")
            .build();
        let record = DecisionRecord::new(
            "v1",
            Some("r-1"),
            Some(&rmcp::model::RequestId::Number(7)),
            Some(&principal),
            Decision::Deny,
            "missing_permission",
            Instant::now(),
        )
        .item("tool", "delete_product", Some("Admin.Write"));
        let json = serde_json::to_value(&record).unwrap();
        assert_eq!(json["subject"], "alice");
        assert_eq!(json["client"], "agent-1");
        assert_eq!(json["jsonrpc_id"], 7);
        assert_eq!(json["decision"], "deny");
        assert_eq!(json["kind"], "tool");
        assert_eq!(json["name"], "delete_product");
        assert_eq!(json["policy_version"], "v1");
        assert!(!json.to_string().contains("s3cr3t"), "{json}");
    }

    #[test]
    fn an_owned_record_outlives_what_it_borrowed_and_serializes_the_same() {
        let principal = Principal::builder("alice")
            .issuer("https://login.example.com")
            .client("agent-1")
            .build();
        let (name, request_id) = (String::from("delete_product"), String::from("r-1"));
        let record = DecisionRecord::new(
            "v1",
            Some(&request_id),
            None,
            Some(&principal),
            Decision::Allow,
            "granted",
            Instant::now(),
        )
        .item("tool", &name, Some("Admin.Write"))
        .detail("read");
        let borrowed = serde_json::to_string(&record).unwrap();
        let owned = record.into_owned();
        drop((principal, name, request_id));
        assert!(matches!(owned.subject, Some(Cow::Owned(_))));
        assert_eq!(serde_json::to_string(&owned).unwrap(), borrowed);
        assert!(
            borrowed.contains(r#""name":"delete_product""#),
            "{borrowed}"
        );
        assert!(borrowed.contains(r#""subject":"alice""#), "{borrowed}");
    }
}
