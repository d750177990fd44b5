//! The issuer's discovery document and key set (JWKS), cached for a TTL instead of fetched on every
//! sign-in; the key set is fetched again when an ID token names a key it does not hold (rotation).

use super::oidc::OidcError;
use openidconnect::IssuerUrl;
use openidconnect::core::{CoreJsonWebKeySet, CoreProviderMetadata};
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// How long a discovery document is used before it is fetched again, unless configured.
pub const DEFAULT_TTL: Duration = Duration::from_secs(60 * 60);
/// The key set is fetched again for an unknown key at most this often, so that tokens naming
/// made-up keys cannot make warroom hammer the issuer.
pub const KEY_REFRESH_MIN: Duration = Duration::from_secs(10);

struct Cached {
    issuer: IssuerUrl,
    fetched_at: Instant,
    keys_fetched_at: Instant,
    metadata: CoreProviderMetadata,
}

/// The cache of one process (shared by its sign-ins; each replica keeps its own).
pub struct Discovery {
    ttl: Duration,
    key_refresh_min: Duration,
    cached: Mutex<Option<Cached>>,
}

impl std::fmt::Debug for Discovery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Discovery").field("ttl", &self.ttl).finish()
    }
}

impl Discovery {
    /// A cache keeping documents for `ttl`, refetching keys for an unknown one at most every `key_refresh_min`.
    pub fn new(ttl: Duration, key_refresh_min: Duration) -> Discovery {
        Discovery {
            ttl,
            key_refresh_min,
            cached: Mutex::new(None),
        }
    }

    /// The issuer's metadata with its key set: from the cache while fresh, else discovered again.
    /// Concurrent sign-ins wait for one fetch rather than each making their own.
    pub async fn metadata(
        &self,
        issuer: &IssuerUrl,
        http: &openidconnect::reqwest::Client,
    ) -> Result<CoreProviderMetadata, OidcError> {
        let mut cached = self.cached.lock().await;
        if let Some(c) = cached.as_ref()
            && &c.issuer == issuer
            && c.fetched_at.elapsed() < self.ttl
        {
            return Ok(c.metadata.clone());
        }
        let metadata = CoreProviderMetadata::discover_async(issuer.clone(), http)
            .await
            .map_err(|e| OidcError::Issuer(format!("OpenID Connect discovery failed: {e}")))?;
        let now = Instant::now();
        *cached = Some(Cached {
            issuer: issuer.clone(),
            fetched_at: now,
            keys_fetched_at: now,
            metadata: metadata.clone(),
        });
        tracing::info!(issuer = %issuer.as_str(), "OpenID Connect discovery fetched");
        Ok(metadata)
    }

    /// After an ID token named a key the cached set lacks: the metadata with a freshly fetched key
    /// set, or `None` when the keys were fetched too recently to ask again.
    pub async fn refresh_keys(
        &self,
        issuer: &IssuerUrl,
        http: &openidconnect::reqwest::Client,
    ) -> Result<Option<CoreProviderMetadata>, OidcError> {
        let mut cached = self.cached.lock().await;
        let Some(c) = cached.as_mut().filter(|c| &c.issuer == issuer) else {
            drop(cached);
            return self.metadata(issuer, http).await.map(Some);
        };
        if c.keys_fetched_at.elapsed() < self.key_refresh_min {
            return Ok(None);
        }
        let keys = CoreJsonWebKeySet::fetch_async(c.metadata.jwks_uri(), http)
            .await
            .map_err(|e| OidcError::Issuer(format!("fetching the issuer's keys failed: {e}")))?;
        c.metadata = c.metadata.clone().set_jwks(keys);
        c.keys_fetched_at = Instant::now();
        tracing::info!(issuer = %issuer.as_str(), "OpenID Connect keys fetched again for an unknown key id");
        Ok(Some(c.metadata.clone()))
    }
}
