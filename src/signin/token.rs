//! Random session ids and CSRF tokens, and the hash under which a session id is stored.

use sha2::{Digest, Sha256};

/// 32 random bytes (the thread-local CSPRNG, seeded from the OS), hex-encoded.
pub fn random() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

/// The SHA-256 (hex) of a session id: what the database keeps instead of the id itself.
pub fn hash(session_id: &str) -> String {
    hex::encode(Sha256::digest(session_id.as_bytes()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_are_random_and_hashed() {
        let (a, b) = (super::random(), super::random());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert_eq!(super::hash(&a).len(), 64);
        assert_ne!(super::hash(&a), a);
    }
}
