//! Interaction signatures: Ed25519 over `timestamp + body` with the application's public key, and a
//! 5-minute window on the timestamp (Discord's own check does not bound its age; replays would pass).

use ed25519_dalek::{Signature, Verifier, VerifyingKey};

/// How far a request's timestamp may be from now, in seconds.
pub const WINDOW_SECS: i64 = 300;

/// Why an interaction request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// A signing header is absent.
    #[error("missing {0} header")]
    Missing(&'static str),
    /// The configured public key is not an Ed25519 key.
    #[error("discord.public_key is not a valid Ed25519 public key")]
    BadKey,
    /// The timestamp is not a number of seconds.
    #[error("X-Signature-Timestamp is not a number")]
    BadTimestamp,
    /// The timestamp is outside the replay window.
    #[error("request timestamp is more than 5 minutes away from now (replay?)")]
    Stale,
    /// The signature is not hex of 64 bytes, or does not match.
    #[error("signature mismatch")]
    Mismatch,
}

/// The application's public key, parsed once from its hex form.
#[derive(Debug, Clone)]
pub struct PublicKey(VerifyingKey);

impl PublicKey {
    /// Parses the 64-character hex key of `discord.public_key`.
    pub fn from_hex(hex_key: &str) -> Result<PublicKey, VerifyError> {
        let bytes: [u8; 32] = hex::decode(hex_key.trim())
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or(VerifyError::BadKey)?;
        VerifyingKey::from_bytes(&bytes)
            .map(PublicKey)
            .map_err(|_| VerifyError::BadKey)
    }

    /// Checks `X-Signature-Ed25519` and `X-Signature-Timestamp` over `body`, at `now` (epoch seconds).
    pub fn verify(
        &self,
        timestamp: Option<&str>,
        signature: Option<&str>,
        body: &[u8],
        now: i64,
    ) -> Result<(), VerifyError> {
        let timestamp = timestamp.ok_or(VerifyError::Missing("X-Signature-Timestamp"))?;
        let signature = signature.ok_or(VerifyError::Missing("X-Signature-Ed25519"))?;
        let ts: i64 = timestamp
            .trim()
            .parse()
            .map_err(|_| VerifyError::BadTimestamp)?;
        if (now - ts).abs() > WINDOW_SECS {
            return Err(VerifyError::Stale);
        }
        let sig: [u8; 64] = hex::decode(signature.trim())
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or(VerifyError::Mismatch)?;
        let mut message = Vec::with_capacity(timestamp.len() + body.len());
        message.extend_from_slice(timestamp.as_bytes());
        message.extend_from_slice(body);
        self.0
            .verify(&message, &Signature::from_bytes(&sig))
            .map_err(|_| VerifyError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::{Signer, SigningKey};

    fn signed(key: &SigningKey, ts: &str, body: &[u8]) -> String {
        let mut m = ts.as_bytes().to_vec();
        m.extend_from_slice(body);
        hex::encode(key.sign(&m).to_bytes())
    }

    #[test]
    fn a_signed_body_verifies_within_the_window_only() {
        let key = SigningKey::from_bytes(&[7u8; 32]);
        let public = PublicKey::from_hex(&hex::encode(key.verifying_key().to_bytes())).unwrap();
        let body = br#"{"type":1}"#;
        let sig = signed(&key, "1700000000", body);
        assert_eq!(
            public.verify(Some("1700000000"), Some(&sig), body, 1700000100),
            Ok(())
        );
        assert_eq!(
            public.verify(Some("1700000000"), Some(&sig), body, 1700000301),
            Err(VerifyError::Stale)
        );
        assert_eq!(
            public.verify(Some("1700000000"), Some(&sig), br#"{"type":2}"#, 1700000000),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            public.verify(Some("1700000001"), Some(&sig), body, 1700000000),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            public.verify(None, Some(&sig), body, 0),
            Err(VerifyError::Missing("X-Signature-Timestamp"))
        );
        assert_eq!(
            public.verify(Some("1700000000"), Some("zz"), body, 1700000000),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            PublicKey::from_hex("abcd").unwrap_err(),
            VerifyError::BadKey
        );
    }
}
