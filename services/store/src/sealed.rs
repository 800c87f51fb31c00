//! Secrets stored encrypted at rest (tenants' LLM keys, SMTP passwords): sealed with
//! ChaCha20-Poly1305 under the service's secret key and bound to their tenant, so a sealed
//! value copied into another tenant's row does not open. The same key signs what the
//! service hands out and must know again untouched (survey links): HMAC-SHA256 under a
//! key derived for signing, bound to a purpose.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chacha20poly1305::{
    ChaCha20Poly1305, KeyInit, Nonce,
    aead::{Aead, Payload},
};
use copilot_core::{Error, TenantId};
use hmac::{Hmac, Mac};
use rand::Rng;
use sha2::{Digest, Sha256};

/// The format tag of sealed values; a new scheme gets a new tag.
const VERSION: &str = "v1";

/// Seals and opens secrets with one key derived from the configured secret.
#[derive(Clone)]
pub struct Sealer {
    cipher: ChaCha20Poly1305,
    /// Keyed with a key derived from the secret apart from the sealing key.
    signer: Hmac<Sha256>,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(..)")
    }
}

impl Sealer {
    /// The key is the SHA-256 of the configured secret (which should carry at least 256
    /// bits of randomness).
    pub fn new(secret: &[u8]) -> Self {
        let key = Sha256::digest(secret);
        let derived = Sha256::new().chain_update(b"copilot signing key\0").chain_update(secret).finalize();
        // A 32-byte HMAC key, zero-padded to the block as HMAC pads it.
        let mut signing = hmac::digest::Key::<Hmac<Sha256>>::default();
        signing[..derived.len()].copy_from_slice(&derived);
        Self { cipher: ChaCha20Poly1305::new(&key), signer: <Hmac<Sha256> as hmac::digest::KeyInit>::new(&signing) }
    }

    fn mac(&self, purpose: &str, data: &[u8]) -> Hmac<Sha256> {
        let mut mac = self.signer.clone();
        mac.update(purpose.as_bytes());
        mac.update(&[0]);
        mac.update(data);
        mac
    }

    /// The first `N` bytes (at most 32) of the signature of `data` for `purpose`.
    pub fn sign<const N: usize>(&self, purpose: &str, data: &[u8]) -> [u8; N] {
        let full = self.mac(purpose, data).finalize().into_bytes();
        let mut tag = [0; N];
        tag.copy_from_slice(&full[..N]);
        tag
    }

    /// Whether `tag` is the start of the signature of `data` for `purpose` (compared in
    /// constant time); a tag shorter than 16 bytes is never accepted.
    pub fn verify(&self, purpose: &str, data: &[u8], tag: &[u8]) -> bool {
        tag.len() >= 16 && self.mac(purpose, data).verify_truncated_left(tag).is_ok()
    }

    /// `v1.<base64url(nonce ‖ ciphertext)>`.
    pub fn seal(&self, tenant: TenantId, plaintext: &str) -> Result<String, Error> {
        let nonce: [u8; 12] = rand::rng().random();
        let ciphertext = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: plaintext.as_bytes(), aad: tenant.0.as_bytes() })
            .map_err(|_| Error::internal("sealing a secret failed"))?;
        let mut packed = nonce.to_vec();
        packed.extend_from_slice(&ciphertext);
        Ok(format!("{VERSION}.{}", URL_SAFE_NO_PAD.encode(packed)))
    }

    /// The plaintext of a value sealed for this tenant with this key.
    pub fn open(&self, tenant: TenantId, sealed: &str) -> Result<String, Error> {
        let unreadable = || Error::internal("a stored secret cannot be opened (was the service's secret key changed?)");
        let encoded = sealed.strip_prefix(VERSION).and_then(|rest| rest.strip_prefix('.')).ok_or_else(unreadable)?;
        let packed = URL_SAFE_NO_PAD.decode(encoded).map_err(|_| unreadable())?;
        if packed.len() < 12 {
            return Err(unreadable());
        }
        let (nonce, ciphertext) = packed.split_at(12);
        let plaintext = self
            .cipher
            .decrypt(Nonce::from_slice(nonce), Payload { msg: ciphertext, aad: tenant.0.as_bytes() })
            .map_err(|_| unreadable())?;
        String::from_utf8(plaintext).map_err(|_| unreadable())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[test]
    fn a_sealed_secret_opens_for_its_tenant_only() {
        let sealer = Sealer::new(b"a secret of the service with plenty of entropy");
        let (one, other) = (TenantId(Uuid::now_v7()), TenantId(Uuid::now_v7()));
        let sealed = sealer.seal(one, "sk-live-123").unwrap_or_default();
        assert!(sealed.starts_with("v1.") && !sealed.contains("sk-live"));
        assert_eq!(sealer.open(one, &sealed).ok().as_deref(), Some("sk-live-123"));
        assert!(sealer.open(other, &sealed).is_err());
    }

    #[test]
    fn another_key_or_a_damaged_value_does_not_open() {
        let tenant = TenantId(Uuid::now_v7());
        let sealed = Sealer::new(b"first key").seal(tenant, "secret").unwrap_or_default();
        assert!(Sealer::new(b"second key").open(tenant, &sealed).is_err());
        assert!(Sealer::new(b"first key").open(tenant, "v1.AAAA").is_err());
        assert!(Sealer::new(b"first key").open(tenant, "plaintext").is_err());
    }

    #[test]
    fn a_signature_holds_for_its_key_purpose_and_data_only() {
        let sealer = Sealer::new(b"a secret of the service with plenty of entropy");
        let tag: [u8; 16] = sealer.sign("survey", b"ticket 1");
        assert!(sealer.verify("survey", b"ticket 1", &tag));
        assert!(!sealer.verify("survey", b"ticket 2", &tag));
        assert!(!sealer.verify("other", b"ticket 1", &tag));
        assert!(!sealer.verify("survey", b"ticket 1", &tag[..8]));
        assert!(!Sealer::new(b"another secret").verify("survey", b"ticket 1", &tag));
        let mut bent = tag;
        bent[0] ^= 1;
        assert!(!sealer.verify("survey", b"ticket 1", &bent));
    }

    #[test]
    fn sealing_twice_gives_different_values() {
        let sealer = Sealer::new(b"key");
        let tenant = TenantId(Uuid::now_v7());
        assert_ne!(sealer.seal(tenant, "same").ok(), sealer.seal(tenant, "same").ok());
    }
}
