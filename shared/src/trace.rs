//! The trace id that follows one request through every event hop.

use std::fmt;

use serde::{Deserialize, Serialize};

/// 32 lowercase hex digits, the W3C trace-context trace id format. It starts at the API call
/// (taken from `traceparent` or `X-Amzn-Trace-Id` when the caller sent one), travels in every
/// event envelope, and is logged on every line written while handling that request or event.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TraceId(String);

impl TraceId {
    pub fn generate() -> Self {
        TraceId(uuid::Uuid::new_v4().simple().to_string())
    }

    /// Accepts an id that is already in our format, as carried by event envelopes.
    pub fn parse(text: &str) -> Option<Self> {
        let valid = text.len() == 32
            && text.bytes().all(|b| b.is_ascii_hexdigit())
            && text.bytes().any(|b| b != b'0');
        valid.then(|| TraceId(text.to_ascii_lowercase()))
    }

    /// `traceparent: 00-<trace id>-<parent id>-<flags>`.
    pub fn from_traceparent(header: &str) -> Option<Self> {
        let mut parts = header.trim().split('-');
        let _version = parts.next()?;
        Self::parse(parts.next()?)
    }

    /// `X-Amzn-Trace-Id: Root=1-<8 hex time>-<24 hex id>;Parent=...;Sampled=1`.
    pub fn from_amzn_trace_id(header: &str) -> Option<Self> {
        let root = header
            .split(';')
            .find_map(|part| part.trim().strip_prefix("Root="))?;
        let mut parts = root.split('-');
        let _version = parts.next()?;
        let time = parts.next()?;
        let id = parts.next()?;
        Self::parse(&format!("{time}{id}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_w3c_and_amazon_headers() {
        let w3c =
            TraceId::from_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
        assert_eq!(w3c.unwrap().as_str(), "4bf92f3577b34da6a3ce929d0e0e4736");
        let amzn =
            TraceId::from_amzn_trace_id("Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1");
        assert_eq!(amzn.unwrap().as_str(), "5759e988bd862e3fe1be46a994272793");
    }

    #[test]
    fn rejects_malformed_or_all_zero_ids() {
        assert!(TraceId::parse("not-hex").is_none());
        assert!(TraceId::parse(&"0".repeat(32)).is_none());
        assert!(TraceId::from_traceparent("garbage").is_none());
        assert_eq!(TraceId::generate().as_str().len(), 32);
    }
}
