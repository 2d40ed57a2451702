//! Access tokens: HS256 JWTs issued by auth and verified by every service without a call back.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::ids::UserId;

/// Who may do what. Staff act on other users' data (reviews, tiers); customers only on their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Customer,
    Staff,
}

impl Role {
    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Customer => "customer",
            Role::Staff => "staff",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "customer" => Some(Role::Customer),
            "staff" => Some(Role::Staff),
            _ => None,
        }
    }
}

#[derive(Clone)]
pub struct JwtSettings {
    pub secret: Vec<u8>,
    pub issuer: String,
    pub audience: String,
}

impl std::fmt::Debug for JwtSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtSettings")
            .field("secret", &"<redacted>")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The user id.
    pub sub: String,
    /// The session the token belongs to; logout revokes it.
    pub sid: String,
    pub role: Role,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
}

impl Claims {
    pub fn user_id(&self) -> Option<UserId> {
        self.sub.parse().ok()
    }
}

/// The token of an `Authorization: Bearer <token>` header's value.
pub fn bearer_token(header: &str) -> Option<&str> {
    header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|token| !token.is_empty())
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("token expired")]
    Expired,
    #[error("invalid token")]
    Invalid,
}

/// Issues and verifies access tokens with one shared secret. Only HS256 is accepted, so a
/// token claiming `alg: none` or another algorithm never verifies.
#[derive(Clone)]
pub struct TokenKeys {
    settings: JwtSettings,
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl TokenKeys {
    pub fn new(settings: JwtSettings) -> Self {
        crate::jwt_hs256::install();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[settings.issuer.as_str()]);
        validation.set_audience(&[settings.audience.as_str()]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        validation.leeway = 5;
        TokenKeys {
            encoding: EncodingKey::from_secret(&settings.secret),
            decoding: DecodingKey::from_secret(&settings.secret),
            settings,
            validation,
        }
    }

    pub fn issue(
        &self,
        user_id: UserId,
        session_id: &str,
        role: Role,
        lifetime: time::Duration,
    ) -> Result<(String, Claims), TokenError> {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let claims = Claims {
            sub: user_id.to_string(),
            sid: session_id.to_owned(),
            role,
            iss: self.settings.issuer.clone(),
            aud: self.settings.audience.clone(),
            iat: now,
            exp: now + lifetime.whole_seconds(),
            jti: uuid::Uuid::new_v4().simple().to_string(),
        };
        let token = encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|_| TokenError::Invalid)?;
        Ok((token, claims))
    }

    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|error| match error.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Invalid,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    fn keys(secret: &str, issuer: &str, audience: &str) -> TokenKeys {
        TokenKeys::new(JwtSettings {
            secret: secret.as_bytes().to_vec(),
            issuer: issuer.into(),
            audience: audience.into(),
        })
    }

    fn default_keys() -> TokenKeys {
        keys("0123456789abcdef0123456789abcdef", "finflow", "finflow-api")
    }

    #[test]
    fn a_token_round_trips() {
        let keys = default_keys();
        let (token, issued) = keys
            .issue(
                UserId::new(7),
                "s1",
                Role::Customer,
                time::Duration::minutes(15),
            )
            .unwrap();
        let claims = keys.verify(&token).unwrap();
        assert_eq!(claims, issued);
        assert_eq!(claims.user_id(), Some(UserId::new(7)));
    }

    #[test]
    fn rejects_a_wrong_key() {
        let (token, _) = default_keys()
            .issue(
                UserId::new(7),
                "s1",
                Role::Customer,
                time::Duration::minutes(15),
            )
            .unwrap();
        let other = keys(
            "another-secret-another-secret-000",
            "finflow",
            "finflow-api",
        );
        assert_eq!(other.verify(&token), Err(TokenError::Invalid));
    }

    #[test]
    fn rejects_an_expired_token() {
        let keys = default_keys();
        let (token, _) = keys
            .issue(
                UserId::new(7),
                "s1",
                Role::Customer,
                time::Duration::minutes(-10),
            )
            .unwrap();
        assert_eq!(keys.verify(&token), Err(TokenError::Expired));
    }

    #[test]
    fn rejects_wrong_issuer_or_audience() {
        let secret = "0123456789abcdef0123456789abcdef";
        let (token, _) = keys(secret, "someone-else", "finflow-api")
            .issue(
                UserId::new(7),
                "s1",
                Role::Customer,
                time::Duration::minutes(5),
            )
            .unwrap();
        assert_eq!(default_keys().verify(&token), Err(TokenError::Invalid));
        let (token, _) = keys(secret, "finflow", "another-api")
            .issue(
                UserId::new(7),
                "s1",
                Role::Customer,
                time::Duration::minutes(5),
            )
            .unwrap();
        assert_eq!(default_keys().verify(&token), Err(TokenError::Invalid));
    }

    #[test]
    fn rejects_alg_none() {
        let keys = default_keys();
        let (token, _) = keys
            .issue(
                UserId::new(7),
                "s1",
                Role::Staff,
                time::Duration::minutes(5),
            )
            .unwrap();
        let payload = token.split('.').nth(1).unwrap();
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        assert_eq!(
            keys.verify(&format!("{header}.{payload}.")),
            Err(TokenError::Invalid)
        );
    }

    #[test]
    fn rejects_a_tampered_payload() {
        let keys = default_keys();
        let (token, claims) = keys
            .issue(
                UserId::new(7),
                "s1",
                Role::Customer,
                time::Duration::minutes(5),
            )
            .unwrap();
        let mut forged = claims.clone();
        forged.role = Role::Staff;
        let parts: Vec<&str> = token.split('.').collect();
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).unwrap());
        let tampered = format!("{}.{}.{}", parts[0], payload, parts[2]);
        assert_eq!(keys.verify(&tampered), Err(TokenError::Invalid));
    }
}
