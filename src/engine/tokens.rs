//! API tokens that belong to someone: create, list, revoke, and who a request to `/api/v1` acts as.

use super::{Clock, Engine, EngineError};
use crate::config::Config;
use crate::domain::people::valid_id;
use crate::domain::token::{
    ApiToken, Scope, Scopes, TokenOwner, format_token, hash_secret, matches_any, split_token,
};
use crate::domain::{Actor, Catalog};
use crate::store::{NewApiToken, Store, StoreError};
use std::sync::Arc;
use std::time::Duration;
use subtle::ConstantTimeEq;

/// The platform name of actors that came through the API.
pub const API_PLATFORM: &str = "api";

/// The service account the configured `api.tokens` act as.
pub const CONFIG_TOKEN_ACCOUNT: &str = "api";

/// A token is marked used at most this often (seconds), so reads stay reads.
const TOUCH_EVERY_SECS: i64 = 60;

/// The token use-cases over one store.
#[derive(Clone)]
pub struct Tokens {
    store: Store,
    clock: Arc<dyn Clock>,
    config: Arc<Config>,
    catalog: Arc<Catalog>,
}

/// A token to make.
#[derive(Debug, Clone)]
pub struct NewToken {
    /// Whom it acts as.
    pub owner: TokenOwner,
    /// What it may do.
    pub scopes: Scopes,
    /// What it is for (default: the owner's id).
    pub name: Option<String>,
    /// How long it works (default: until revoked).
    pub expires_in: Option<Duration>,
}

/// A token just made: the only time its secret is known.
#[derive(Debug, Clone)]
pub struct CreatedToken {
    /// The stored token.
    pub token: ApiToken,
    /// What the client presents (`wr_<prefix>_<secret>`); shown once, never stored.
    pub secret: String,
}

/// What a request to `/api/v1` presented.
#[derive(Debug, Clone, Copy, Default)]
pub struct Presented<'a> {
    /// The `Authorization: Bearer` token.
    pub bearer: Option<&'a str>,
    /// `X-Warroom-User`: the person a relaying bot acts for (or, on a trusted local host, the name).
    pub act_as: Option<&'a str>,
    /// Whether the client came straight to the socket from this host (never through a proxy).
    pub local: bool,
}

/// Who a request acts as and what it may do.
#[derive(Debug, Clone, PartialEq)]
pub struct Caller {
    /// The actor: the token owner, the person acted for, or the trusted local name.
    pub actor: Actor,
    /// The scopes it holds.
    pub scopes: Scopes,
}

/// Why a request to `/api/v1` is refused before any route runs.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No credential, an unknown one, or a revoked or expired token (401).
    #[error("{0}")]
    Unauthorized(String),
    /// A valid token asking for what it may not (403); `scope` names the missing one.
    #[error("{message}")]
    Forbidden {
        /// What is wrong.
        message: String,
        /// The scope that would allow it, if a scope would.
        scope: Option<Scope>,
    },
    /// The storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Engine {
    /// The token use-cases.
    pub fn tokens(&self) -> Tokens {
        Tokens::new(
            self.store.clone(),
            self.clock.clone(),
            self.config.clone(),
            self.catalog.clone(),
        )
    }
}

impl Tokens {
    /// Token use-cases over `store`; people are looked up in the catalog's directory.
    pub fn new(
        store: Store,
        clock: Arc<dyn Clock>,
        config: Arc<Config>,
        catalog: Arc<Catalog>,
    ) -> Tokens {
        Tokens {
            store,
            clock,
            config,
            catalog,
        }
    }

    /// Makes a token for a directory person or a service account; the secret is returned once.
    pub async fn create(&self, new: NewToken) -> Result<CreatedToken, EngineError> {
        match &new.owner {
            TokenOwner::Person(id) if self.catalog.directory().get(id).is_none() => {
                return Err(EngineError::invalid(
                    "person",
                    format!("`{id}` is not a person of the directory ([[person]] in catalog.path)"),
                ));
            }
            TokenOwner::Service(name) if !valid_id(name) => {
                return Err(EngineError::invalid(
                    "service-account",
                    format!("`{name}`: use letters, digits, `.`, `_` or `-` (at most 64)"),
                ));
            }
            _ => {}
        }
        let name = new.name.unwrap_or_else(|| new.owner.id().to_string());
        if name.trim().is_empty() || name.len() > 100 {
            return Err(EngineError::invalid("name", "give 1 to 100 characters"));
        }
        let now = self.clock.now();
        let expires_at = match new.expires_in {
            None => None,
            Some(d) => Some(
                chrono::Duration::from_std(d)
                    .ok()
                    .and_then(|d| now.checked_add_signed(d))
                    .filter(|at| *at > now)
                    .ok_or_else(|| {
                        EngineError::invalid("expires", "must be a positive duration")
                    })?,
            ),
        };
        let prefix = hex::encode(rand::random::<[u8; 5]>());
        let secret = hex::encode(rand::random::<[u8; 32]>());
        let token = self
            .store
            .insert_api_token(&NewApiToken {
                name,
                prefix: prefix.clone(),
                secret_hash: hash_secret(&secret),
                owner: new.owner,
                scopes: new.scopes,
                created_at: now,
                expires_at,
            })
            .await?;
        tracing::info!(token = token.id, prefix = %token.prefix, owner = %token.owner,
            scopes = %token.scopes, "API token created");
        Ok(CreatedToken {
            token,
            secret: format_token(&prefix, &secret),
        })
    }

    /// Every token, never a secret.
    pub async fn list(&self) -> Result<Vec<ApiToken>, EngineError> {
        Ok(self.store.api_tokens().await?)
    }

    /// Revokes the token with this id or prefix (`7`, `wr_0a1b2c3d4e` or `0a1b2c3d4e`); it stops working at once.
    pub async fn revoke(&self, id_or_prefix: &str) -> Result<ApiToken, EngineError> {
        let key = id_or_prefix.trim();
        let key = key.strip_prefix("wr_").unwrap_or(key);
        let key = key.split('_').next().unwrap_or(key);
        let Some(token) = self.store.api_token(key).await? else {
            return Err(EngineError::invalid(
                "id",
                format!("no token `{id_or_prefix}` (see `warroom token list`)"),
            ));
        };
        self.store
            .revoke_api_token(token.id, self.clock.now())
            .await?;
        tracing::info!(token = token.id, prefix = %token.prefix, "API token revoked");
        self.store
            .api_token(&token.prefix)
            .await?
            .ok_or_else(|| EngineError::Conflict("the token vanished while being revoked".into()))
    }

    /// The people and service accounts a request acts as, or why it is refused.
    pub async fn caller(&self, p: Presented<'_>) -> Result<Caller, AuthError> {
        let act_as = p.act_as.map(str::trim).filter(|n| !n.is_empty());
        let Some(raw) = p.bearer else {
            return self.unauthenticated(act_as, p.local).await;
        };
        let (owner, scopes) = self.verify(raw).await?;
        let actor = match &owner {
            TokenOwner::Person(id) => match self.catalog.directory().get(id) {
                Some(person) => Actor::person(person, API_PLATFORM, None),
                None => Actor::named(id, id, API_PLATFORM),
            },
            TokenOwner::Service(name) => Actor::service(name, API_PLATFORM),
        };
        let Some(name) = act_as else {
            return Ok(Caller { actor, scopes });
        };
        if !scopes.allows(Scope::ActAs) {
            return Err(AuthError::Forbidden {
                message: "X-Warroom-User is honoured only for a token with the `act-as` scope"
                    .into(),
                scope: Some(Scope::ActAs),
            });
        }
        let Some(person) = self.catalog.directory().get(name) else {
            return Err(AuthError::Forbidden {
                message: format!(
                    "X-Warroom-User: `{}` is not a person of the directory",
                    name.chars().take(100).collect::<String>()
                ),
                scope: None,
            });
        };
        // The relaying token's owner stays in the actor's identity (event data).
        let actor = Actor::person(person, API_PLATFORM, Some(actor.id));
        Ok(Caller { actor, scopes })
    }

    /// A configured `api.tokens` entry or a stored token: its owner and scopes.
    async fn verify(&self, raw: &str) -> Result<(TokenOwner, Scopes), AuthError> {
        if matches_any(raw, &self.config.api.tokens) {
            return Ok((
                TokenOwner::Service(CONFIG_TOKEN_ACCOUNT.into()),
                Scopes::all_but_act_as(),
            ));
        }
        let invalid = || AuthError::Unauthorized("invalid bearer token".into());
        let (prefix, secret) = split_token(raw).ok_or_else(invalid)?;
        let (token, hash) = self
            .store
            .api_token_by_prefix(prefix)
            .await?
            .ok_or_else(invalid)?;
        if !bool::from(hash_secret(secret).as_bytes().ct_eq(hash.as_bytes())) {
            return Err(invalid());
        }
        let now = self.clock.now();
        token
            .usable(now)
            .map_err(|r| AuthError::Unauthorized(r.to_string()))?;
        if token
            .last_used_at
            .is_none_or(|t| (now - t).num_seconds() >= TOUCH_EVERY_SECS)
        {
            self.store.touch_api_token(token.id, now).await?;
        }
        Ok((token.owner, token.scopes))
    }

    /// No bearer token: refused once any token exists; else a trusted local client (`X-Warroom-User` names it).
    async fn unauthenticated(
        &self,
        act_as: Option<&str>,
        local: bool,
    ) -> Result<Caller, AuthError> {
        if !self.config.api.tokens.is_empty() || self.store.api_tokens_exist().await? {
            return Err(AuthError::Unauthorized(
                "missing `Authorization: Bearer <token>` header".into(),
            ));
        }
        if !local {
            return Err(AuthError::Unauthorized(
                "no API token exists yet, so the API answers clients on this host only (never through a \
                 proxy); create one with `warroom token create`"
                    .into(),
            ));
        }
        let actor = match act_as.filter(|n| n.len() <= 100) {
            Some(name) => match self.catalog.directory().get(name) {
                Some(person) => Actor::person(person, API_PLATFORM, None),
                None => Actor::named(name, name, API_PLATFORM),
            },
            None => Actor::service(CONFIG_TOKEN_ACCOUNT, API_PLATFORM),
        };
        Ok(Caller {
            actor,
            scopes: Scopes::everything(),
        })
    }
}
