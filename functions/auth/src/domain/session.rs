//! Login sessions and their rotating refresh tokens.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use finflow_shared::UserId;
use rand::RngCore;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

pub const ACCESS_TOKEN_LIFETIME: time::Duration = time::Duration::minutes(15);
pub const REFRESH_TOKEN_LIFETIME: time::Duration = time::Duration::days(30);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: String,
    pub user_id: UserId,
    /// SHA-256 of the current refresh token; the token itself is never stored.
    pub refresh_token_hash: String,
    pub expires_at: OffsetDateTime,
    pub revoked: bool,
}

impl Session {
    pub fn is_usable(&self, now: OffsetDateTime) -> bool {
        !self.revoked && now < self.expires_at
    }
}

/// A refresh token is `<session id>.<256 random bits>`: the session id finds the session, the
/// random part proves possession.
pub struct RefreshToken(String);

impl RefreshToken {
    pub fn generate(session_id: &str) -> Self {
        let mut secret = [0u8; 32];
        rand::rng().fill_bytes(&mut secret);
        RefreshToken(format!("{session_id}.{}", URL_SAFE_NO_PAD.encode(secret)))
    }

    pub fn from_presented(text: &str) -> Option<Self> {
        let (session_id, secret) = text.trim().split_once('.')?;
        (!session_id.is_empty() && secret.len() >= 40).then(|| RefreshToken(text.trim().to_owned()))
    }

    pub fn session_id(&self) -> &str {
        self.0.split_once('.').map(|(id, _)| id).unwrap_or_default()
    }

    pub fn hash(&self) -> String {
        Sha256::digest(self.0.as_bytes())
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

pub fn new_session_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_presented_token_finds_its_session_and_hash() {
        let token = RefreshToken::generate("abc");
        let presented = RefreshToken::from_presented(token.as_str()).unwrap();
        assert_eq!(presented.session_id(), "abc");
        assert_eq!(presented.hash(), token.hash());
        assert!(RefreshToken::from_presented("abc.short").is_none());
        assert!(RefreshToken::from_presented("no-dot").is_none());
    }
}
