//! Survey links: `…/survey/<token>`, the token naming the tenant, the survey and when the
//! link expires, signed with the service's key. A token that was altered, or signed under
//! another key, reads as no link at all; expiry is checked against the stored survey.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use copilot_core::TenantId;
use copilot_store::sealed::Sealer;
use uuid::Uuid;

/// What a survey token's signature is for (a signature for anything else does not pass).
const PURPOSE: &str = "csat-link/v1";
/// Tenant (16 bytes), survey (16) and expiry in Unix seconds (8).
const DATA: usize = 40;
/// The signature's first 16 bytes (128 bits).
const TAG: usize = 16;
/// The longest token read (its encoding is 75 characters).
const MAX_TOKEN: usize = 100;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Link {
    pub tenant: TenantId,
    pub survey: Uuid,
    /// Whole seconds.
    pub expires_at: DateTime<Utc>,
}

impl Link {
    fn data(&self) -> [u8; DATA] {
        let mut data = [0; DATA];
        data[..16].copy_from_slice(self.tenant.0.as_bytes());
        data[16..32].copy_from_slice(self.survey.as_bytes());
        data[32..].copy_from_slice(&self.expires_at.timestamp().to_be_bytes());
        data
    }

    /// The link's token: its data and signature, base64url.
    pub fn token(&self, sealer: &Sealer) -> String {
        let data = self.data();
        let tag: [u8; TAG] = sealer.sign(PURPOSE, &data);
        let mut packed = data.to_vec();
        packed.extend_from_slice(&tag);
        URL_SAFE_NO_PAD.encode(packed)
    }

    /// The link a token names, if the service signed it.
    pub fn read(sealer: &Sealer, token: &str) -> Option<Self> {
        if token.len() > MAX_TOKEN {
            return None;
        }
        let packed = URL_SAFE_NO_PAD.decode(token).ok()?;
        if packed.len() != DATA + TAG {
            return None;
        }
        let (data, tag) = packed.split_at(DATA);
        if !sealer.verify(PURPOSE, data, tag) {
            return None;
        }
        let tenant = Uuid::from_slice(&data[..16]).ok()?;
        let survey = Uuid::from_slice(&data[16..32]).ok()?;
        let seconds = i64::from_be_bytes(data[32..].try_into().ok()?);
        Some(Self { tenant: TenantId(tenant), survey, expires_at: DateTime::from_timestamp(seconds, 0)? })
    }

    /// The page's address under the service's public address.
    pub fn url(&self, sealer: &Sealer, public_url: &str) -> String {
        format!("{}/survey/{}", public_url.trim_end_matches('/'), self.token(sealer))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link() -> Link {
        Link {
            tenant: TenantId(Uuid::now_v7()),
            survey: Uuid::now_v7(),
            expires_at: DateTime::from_timestamp(1_900_000_000, 0).unwrap_or_default(),
        }
    }

    #[test]
    fn a_token_reads_back_as_its_link_under_its_key_only() {
        let sealer = Sealer::new(b"a secret of the service with plenty of entropy");
        let link = link();
        let token = link.token(&sealer);
        assert_eq!(token.len(), 75);
        assert_eq!(Link::read(&sealer, &token), Some(link));
        assert_eq!(Link::read(&Sealer::new(b"another secret of the service, long"), &token), None);
        assert!(link.url(&sealer, "https://help.example.com/").starts_with("https://help.example.com/survey/"));
    }

    #[test]
    fn an_altered_token_is_no_link() {
        let sealer = Sealer::new(b"a secret of the service with plenty of entropy");
        let link = link();
        let token = link.token(&sealer);
        // A later expiry (the data changed, the signature kept) does not pass.
        let longer = Link { expires_at: link.expires_at + chrono::Duration::days(365), ..link };
        let forged = format!("{}{}", &longer.token(&sealer)[..53], &token[53..]);
        assert_eq!(Link::read(&sealer, &forged), None);
        for bad in ["", "x", &token[..74], &format!("{token}A"), &token.replace(&token[10..11], "_"), &"A".repeat(200)]
        {
            if bad != token {
                assert_eq!(Link::read(&sealer, bad), None, "{bad}");
            }
        }
    }
}
