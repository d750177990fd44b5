//! Sign-in adapters: argon2id password hashes for local accounts, and the OpenID Connect client.

pub mod discovery;
pub mod oidc;
pub mod password;
pub mod token;
