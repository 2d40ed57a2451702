//! The password policy and argon2id hashing.

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

/// A password that meets the policy; it exists only long enough to be hashed.
pub struct NewPassword(String);

impl NewPassword {
    /// At least 8 and at most 128 characters, with at least one letter and one digit, and not
    /// the email address itself.
    pub fn parse(text: &str, email: Option<&str>) -> Result<Self, &'static str> {
        let length = text.chars().count();
        if length < 8 {
            return Err("must be at least 8 characters");
        }
        if length > 128 {
            return Err("must be at most 128 characters");
        }
        if !text.chars().any(char::is_alphabetic) || !text.chars().any(|c| c.is_ascii_digit()) {
            return Err("must contain at least one letter and one digit");
        }
        if email.is_some_and(|email| text.eq_ignore_ascii_case(email)) {
            return Err("must not be the email address");
        }
        Ok(NewPassword(text.to_owned()))
    }

    /// An argon2id PHC string with a fresh salt.
    pub fn hash(&self) -> String {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(self.0.as_bytes(), &salt)
            .expect("argon2 with default parameters hashes any password")
            .to_string()
    }
}

/// Checks `password` against a stored PHC string; a malformed hash never verifies.
pub fn verify_password(password: &str, stored_hash: &str) -> bool {
    PasswordHash::new(stored_hash).is_ok_and(|hash| {
        Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enforces_the_policy() {
        assert!(NewPassword::parse("short1", None).is_err());
        assert!(NewPassword::parse("onlyletters", None).is_err());
        assert!(NewPassword::parse("12345678901", None).is_err());
        assert!(NewPassword::parse(&"a1".repeat(65), None).is_err());
        assert!(NewPassword::parse("alice1@example.com", Some("alice1@example.com")).is_err());
        assert!(NewPassword::parse("password123", None).is_ok());
    }

    #[test]
    fn hashes_verify_only_the_right_password() {
        let hash = NewPassword::parse("correct horse 1", None).unwrap().hash();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse 1", &hash));
        assert!(!verify_password("correct horse 2", &hash));
        assert!(!verify_password("correct horse 1", "not-a-hash"));
    }
}
