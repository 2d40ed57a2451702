//! HS256, the one algorithm FinFlow's tokens use, as `jsonwebtoken`'s crypto provider.
//!
//! The library's own providers (its `rust_crypto` and `aws_lc_rs` features) pick the algorithm
//! a token names at run time, so every algorithm they support is linked into every function
//! that signs or verifies a token: RSA, ECDSA and EdDSA, 0.15 MB of auth-session's zipped bootstrap,
//! for code FinFlow never runs. This provider links HMAC-SHA256 alone (RustCrypto's `hmac` and
//! `sha2`). A token that names another algorithm is refused here as `InvalidAlgorithm`, as
//! `Validation` (HS256 only) already refuses it.
//!
//! The provider is process-wide; [`install`] sets it once, before the first token is signed or
//! verified ([`crate::jwt::TokenKeys::new`] calls it). Without it, `jsonwebtoken` panics on its
//! first use, which the token tests would show at once.

use hmac::{Hmac, Mac};
use jsonwebtoken::crypto::{CryptoProvider, JwtSigner, JwtVerifier, KeyUtils};
use jsonwebtoken::errors::{Error, ErrorKind};
use jsonwebtoken::signature::{self, Signer, Verifier};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use sha2::Sha256;

static HS256_ONLY: CryptoProvider = CryptoProvider {
    signer_factory: signer,
    verifier_factory: verifier,
    // FinFlow reads no JWKs.
    key_utils: KeyUtils::new_unimplemented(),
};

/// Makes HS256 the process's provider. Idempotent; a provider installed before (by a test
/// harness, say) stays.
pub(crate) fn install() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = HS256_ONLY.install_default();
    });
}

/// An HMAC-SHA256 keyed with the signing secret.
struct Hs256(Hmac<Sha256>);

impl Hs256 {
    fn keyed(algorithm: &Algorithm, secret: &[u8]) -> Result<Hs256, Error> {
        if *algorithm != Algorithm::HS256 {
            return Err(ErrorKind::InvalidAlgorithm.into());
        }
        Hmac::new_from_slice(secret)
            .map(Hs256)
            .map_err(|_| ErrorKind::InvalidKeyFormat.into())
    }

    fn mac(&self, message: &[u8]) -> Hmac<Sha256> {
        let mut mac = self.0.clone();
        mac.update(message);
        mac
    }
}

fn signer(algorithm: &Algorithm, key: &EncodingKey) -> Result<Box<dyn JwtSigner>, Error> {
    Ok(Box::new(Hs256::keyed(algorithm, key.as_bytes())?))
}

fn verifier(algorithm: &Algorithm, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>, Error> {
    Ok(Box::new(Hs256::keyed(algorithm, key.try_get_as_bytes()?)?))
}

impl Signer<Vec<u8>> for Hs256 {
    fn try_sign(&self, message: &[u8]) -> Result<Vec<u8>, signature::Error> {
        Ok(self.mac(message).finalize().into_bytes().to_vec())
    }
}

impl Verifier<Vec<u8>> for Hs256 {
    fn verify(&self, message: &[u8], signature: &Vec<u8>) -> Result<(), signature::Error> {
        // verify_slice compares in constant time.
        self.mac(message)
            .verify_slice(signature)
            .map_err(signature::Error::from_source)
    }
}

impl JwtSigner for Hs256 {
    fn algorithm(&self) -> Algorithm {
        Algorithm::HS256
    }
}

impl JwtVerifier for Hs256 {
    fn algorithm(&self) -> Algorithm {
        Algorithm::HS256
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{Header, Validation, decode, encode};

    #[derive(Debug, serde::Serialize, serde::Deserialize, PartialEq)]
    struct Claims {
        sub: String,
        exp: u64,
    }

    #[test]
    fn signs_and_verifies_hs256_and_refuses_any_other_algorithm() {
        install();
        let secret = b"a signing secret of thirty-two bytes!";
        let claims = Claims {
            sub: "7".into(),
            exp: 4_000_000_000,
        };
        let token = encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(secret),
        )
        .unwrap();
        let read = decode::<Claims>(
            &token,
            &DecodingKey::from_secret(secret),
            &Validation::new(Algorithm::HS256),
        )
        .unwrap();
        assert_eq!(read.claims, claims);
        let wrong_key = decode::<Claims>(
            &token,
            &DecodingKey::from_secret(b"another secret of thirty-two bytes!!"),
            &Validation::new(Algorithm::HS256),
        );
        assert!(matches!(
            wrong_key.unwrap_err().kind(),
            ErrorKind::InvalidSignature
        ));
        let hs512 = encode(
            &Header::new(Algorithm::HS512),
            &claims,
            &EncodingKey::from_secret(secret),
        );
        assert!(matches!(
            hs512.unwrap_err().kind(),
            ErrorKind::InvalidAlgorithm
        ));
    }
}
