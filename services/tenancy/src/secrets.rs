//! Random credentials and their hashes.

use argon2::{
    Argon2, PasswordHash, PasswordHasher, PasswordVerifier,
    password_hash::{SaltString, rand_core::OsRng},
};
use copilot_core::Error;
use rand::{Rng, distr::Alphanumeric};
use sha2::{Digest, Sha256};

/// Prefix of API keys.
pub const API_KEY_PREFIX: &str = "cpk_";
/// Prefix of session tokens.
pub const SESSION_PREFIX: &str = "cps_";

fn random_text(length: usize) -> String {
    rand::rng().sample_iter(&Alphanumeric).take(length).map(char::from).collect()
}

/// A new API key (`cpk_<8 visible>_<32 secret>`) and the visible part shown in lists.
pub fn new_api_key() -> (String, String) {
    let visible = format!("{API_KEY_PREFIX}{}", random_text(8));
    let key = format!("{visible}_{}", random_text(32));
    (key, visible)
}

pub fn new_session_token() -> String {
    format!("{SESSION_PREFIX}{}", random_text(40))
}

/// SHA-256 hex digest, for high-entropy secrets that need no slow hash.
pub fn sha256_hex(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Argon2id hash in PHC form, computed off the async runtime.
pub async fn hash_password(password: String) -> Result<String, Error> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|error| Error::internal(error.to_string()))
    })
    .await
    .map_err(Error::internal)?
}

/// Checks a password against a stored hash; a missing hash is checked against a dummy so
/// that unknown users take as long as known ones, and never matches.
pub async fn verify_password(password: String, stored: Option<String>) -> Result<bool, Error> {
    tokio::task::spawn_blocking(move || {
        let is_real = stored.is_some();
        let stored = stored.unwrap_or_else(dummy_hash);
        let parsed = PasswordHash::new(&stored).map_err(|error| Error::internal(error.to_string()))?;
        let matches = Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok();
        Ok(matches && is_real)
    })
    .await
    .map_err(Error::internal)?
}

fn dummy_hash() -> String {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY
        .get_or_init(|| {
            let salt = SaltString::generate(&mut OsRng);
            Argon2::default()
                .hash_password(random_text(24).as_bytes(), &salt)
                .map(|hash| hash.to_string())
                .unwrap_or_default()
        })
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_key_starts_with_its_visible_part() {
        let (key, visible) = new_api_key();
        assert!(key.starts_with(&format!("{visible}_")));
        assert_eq!(visible.len(), API_KEY_PREFIX.len() + 8);
        assert_eq!(key.len(), visible.len() + 1 + 32);
    }

    #[test]
    fn two_keys_differ() {
        assert_ne!(new_api_key().0, new_api_key().0);
    }

    #[tokio::test]
    async fn a_password_verifies_against_its_own_hash_only() {
        let hash = hash_password("correct horse battery".into()).await.ok();
        assert!(hash.is_some());
        assert_eq!(verify_password("correct horse battery".into(), hash.clone()).await.ok(), Some(true));
        assert_eq!(verify_password("wrong horse battery".into(), hash).await.ok(), Some(false));
    }

    #[tokio::test]
    async fn a_missing_hash_never_verifies() {
        assert_eq!(verify_password("anything at all".into(), None).await.ok(), Some(false));
    }
}
