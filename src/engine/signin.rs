//! Web sign-in use-cases: local accounts, OpenID Connect, and the sessions both lead to.

use super::{Clock, Engine};
use crate::config::Config;
use crate::domain::audit::AuditEntry;
use crate::domain::signin_throttle::{self, FORGET_AFTER_SECS};
use crate::domain::{Actor, ActorKind, Catalog};
use crate::signin::oidc::{self, OidcError};
use crate::signin::{password, token};
use crate::store::{NewSession, OidcLogin, Store, StoreError};
use chrono::{DateTime, Duration, Utc};
use std::net::IpAddr;
use std::sync::Arc;

/// How long an OpenID Connect sign-in may take between leaving for the issuer and coming back.
const OIDC_LOGIN_MINUTES: i64 = 10;
/// A session's expiry slides at most this often (one write per minute of use, not per request).
const TOUCH_EVERY_SECS: i64 = 60;

/// A signed-in browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebSession {
    /// Who is signed in: the actor of every web command, message and declare.
    pub actor: Actor,
    /// The token every state-changing request of this session must carry.
    pub csrf_token: String,
    /// When the session ends unless used.
    pub expires_at: DateTime<Utc>,
}

/// A session just started: the cookie value and where to send the browser.
#[derive(Debug, Clone)]
pub struct Started {
    /// The session id for the cookie (only its hash is stored).
    pub session_id: String,
    /// The session.
    pub session: WebSession,
    /// The local path to return to.
    pub return_to: String,
}

/// A local account added or changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountSaved {
    /// Whether the name is a `[[person]]` of the catalog.
    pub in_directory: bool,
}

/// Why a sign-in step was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    /// Unknown account or wrong password (the same answer for both).
    #[error("wrong account name or password")]
    BadCredentials,
    /// Too many failed sign-ins for this account or client address: wait before trying again.
    #[error("too many failed sign-ins: try again in {}", wait_text(*retry_after_secs))]
    Throttled {
        /// Seconds until sign-in is accepted again.
        retry_after_secs: i64,
    },
    /// The account exists but is disabled.
    #[error("the account `{0}` is disabled")]
    Disabled(String),
    /// The sign-in method is not configured.
    #[error("{0}")]
    NotConfigured(String),
    /// An account name, password or return path that cannot be used.
    #[error("{field}: {message}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The OIDC callback names no sign-in under way (replayed, forged or expired).
    #[error("this sign-in attempt is unknown or has expired: start again from /signin")]
    UnknownAttempt,
    /// The issuer failed or its answer was refused.
    #[error(transparent)]
    Oidc(#[from] OidcError),
    /// The storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The sign-in use-cases over the engine's store, clock, configuration and directory.
#[derive(Clone)]
pub struct SignIn {
    store: Store,
    clock: Arc<dyn Clock>,
    config: Arc<Config>,
    catalog: Arc<Catalog>,
    discovery: Arc<crate::signin::discovery::Discovery>,
}

impl Engine {
    /// The sign-in use-cases.
    pub fn signin(&self) -> SignIn {
        SignIn {
            store: self.store.clone(),
            clock: self.clock.clone(),
            config: self.config.clone(),
            catalog: self.catalog.clone(),
            discovery: self.oidc_discovery.clone(),
        }
    }
}

/// `path` when it is a path on this site (`/incidents/3`), else `/`: never a redirect off-site.
pub fn local_path(path: Option<&str>) -> String {
    match path {
        Some(p)
            if p.starts_with('/')
                && !p.starts_with("//")
                && !p.contains('\\')
                && !p.chars().any(char::is_control) =>
        {
            p.to_string()
        }
        _ => "/".to_string(),
    }
}

fn valid_account_name(name: &str) -> Result<(), SignInError> {
    if crate::domain::people::valid_id(name) {
        Ok(())
    } else {
        Err(SignInError::Invalid {
            field: "name",
            message: format!(
                "`{name}` is not a valid person id (letters, digits, `-`, `_`, `.`; see [[person]] id)"
            ),
        })
    }
}

fn valid_password(password: &str) -> Result<(), SignInError> {
    if password.chars().count() < 8 {
        return Err(SignInError::Invalid {
            field: "password",
            message: "at least 8 characters".into(),
        });
    }
    Ok(())
}

async fn hash_password(password: &str) -> Result<String, SignInError> {
    let password = password.to_string();
    tokio::task::spawn_blocking(move || password::hash(&password))
        .await
        .map_err(|e| SignInError::Invalid {
            field: "password",
            message: e.to_string(),
        })?
        .map_err(|e| SignInError::Invalid {
            field: "password",
            message: e.to_string(),
        })
}

/// Verifies off the async threads; with no stored hash it verifies against the decoy and refuses.
async fn verify_password(password: &str, phc: Option<&str>) -> bool {
    let (password, phc) = (password.to_string(), phc.map(str::to_string));
    tokio::task::spawn_blocking(move || match phc {
        Some(phc) => password::verify(&password, &phc),
        None => {
            password::verify(&password, password::decoy());
            false
        }
    })
    .await
    .unwrap_or(false)
}

/// A wait for people: `45 s`, `3 min`.
fn wait_text(secs: i64) -> String {
    if secs < 120 {
        format!("{secs} s")
    } else {
        format!("{} min", (secs + 59) / 60)
    }
}

/// Whole seconds from `now` until `until`, at least one (what `Retry-After` carries).
fn seconds_until(now: DateTime<Utc>, until: DateTime<Utc>) -> i64 {
    ((until - now).num_milliseconds() + 999)
        .div_euclid(1000)
        .max(1)
}

impl SignIn {
    fn session_length(&self) -> Duration {
        let hours = self.config.auth.session_hours.clamp(1, 24 * 366);
        Duration::hours(i64::try_from(hours).unwrap_or(12))
    }

    /// Whether the name is a person of the catalog.
    fn in_directory(&self, name: &str) -> bool {
        self.catalog.directory().get(name).is_some()
    }

    /// Creates a local account for person `name`, or replaces its password (`warroom user add`).
    pub async fn add_account(
        &self,
        name: &str,
        display_name: Option<&str>,
        password: &str,
    ) -> Result<AccountSaved, SignInError> {
        valid_account_name(name)?;
        valid_password(password)?;
        let hash = hash_password(password).await?;
        self.store
            .save_local_account(name, display_name, &hash, self.clock.now())
            .await?;
        Ok(AccountSaved {
            in_directory: self.in_directory(name),
        })
    }

    /// Replaces the password of an existing account (`warroom user passwd`); re-enables nothing.
    pub async fn set_password(
        &self,
        name: &str,
        password: &str,
    ) -> Result<AccountSaved, SignInError> {
        if self.store.local_account(name).await?.is_none() {
            return Err(SignInError::Invalid {
                field: "name",
                message: format!("no local account `{name}` (add it with `warroom user add`)"),
            });
        }
        valid_password(password)?;
        let hash = hash_password(password).await?;
        self.store
            .save_local_account(name, None, &hash, self.clock.now())
            .await?;
        Ok(AccountSaved {
            in_directory: self.in_directory(name),
        })
    }

    /// Disables an account and ends its sessions (`warroom user disable`).
    pub async fn disable_account(&self, name: &str) -> Result<(), SignInError> {
        if self
            .store
            .disable_local_account(name, self.clock.now())
            .await?
        {
            Ok(())
        } else {
            Err(SignInError::Invalid {
                field: "name",
                message: format!("no local account `{name}`"),
            })
        }
    }

    /// Signs in with a local account's name and password, from `client` (its address, when known).
    ///
    /// Failures are counted per account and per address in the database; beyond
    /// [`signin_throttle::FREE_FAILURES`] in a row each one refuses sign-in for a doubling wait
    /// ([`SignInError::Throttled`]), a success clears the account's count (an address's count only lapses),
    /// and every attempt is audited. A
    /// throttled, unknown or wrong attempt does the same password-hash work, so timing tells none apart.
    pub async fn sign_in_local(
        &self,
        name: &str,
        password: &str,
        client: Option<IpAddr>,
        user_agent: Option<&str>,
        return_to: Option<&str>,
    ) -> Result<Started, SignInError> {
        if !self.config.auth.local_accounts {
            return Err(SignInError::NotConfigured(
                "local accounts are off (auth.local_accounts = false)".into(),
            ));
        }
        let name = name.trim();
        let keys = signin_throttle::keys(name, client);
        let now = self.clock.now();
        if let Some(until) = self.store.signin_blocked_until(&keys, now).await? {
            // As slow as a checked password, so that a throttled account cannot be told by timing.
            verify_password(password, None).await;
            let retry_after_secs = seconds_until(now, until);
            let reason =
                format!("throttled: too many failed sign-ins (retry in {retry_after_secs} s)");
            self.audit(name, false, client, false, &reason, &[]).await?;
            return Err(SignInError::Throttled { retry_after_secs });
        }
        let account = self.store.local_account(name).await?;
        // With no account this verifies against the decoy: as slow as a wrong password.
        let matches =
            verify_password(password, account.as_ref().map(|a| a.password_hash.as_str())).await;
        let known = account.is_some();
        let Some(account) = account.filter(|_| matches) else {
            return Err(self.failed(name, known, client, &keys, now).await?);
        };
        if account.disabled {
            self.audit(name, true, client, false, "the account is disabled", &[])
                .await?;
            return Err(SignInError::Disabled(account.person_id));
        }
        // Only the account's count: an address's count outlives a success there, so that one valid
        // account cannot reset the address's count between guesses at other names.
        self.audit(
            name,
            true,
            client,
            true,
            "signed in with a password",
            &keys[..1],
        )
        .await?;
        let actor = match self.catalog.directory().get(&account.person_id) {
            Some(person) => Actor::person(person, "web", None),
            None => {
                let shown = account
                    .display_name
                    .as_deref()
                    .unwrap_or(&account.person_id);
                Actor::named(&account.person_id, shown, "web")
            }
        };
        self.start(actor, user_agent, local_path(return_to)).await
    }

    /// Counts a failed attempt at every key, blocks the keys past their free failures, and audits it
    /// in one transaction; the answer is `BadCredentials`, or `Throttled` once a block starts.
    async fn failed(
        &self,
        name: &str,
        known: bool,
        client: Option<IpAddr>,
        keys: &[String],
        now: DateTime<Utc>,
    ) -> Result<SignInError, SignInError> {
        let mut tx = self.store.begin().await?;
        let mut blocked: Option<DateTime<Utc>> = None;
        let mut most = 0;
        for key in keys {
            let failures = tx
                .count_signin_failure(key, now, FORGET_AFTER_SECS * 1000)
                .await?;
            most = most.max(failures);
            if let Some(wait) = signin_throttle::backoff(failures) {
                tx.block_signin(key, now + wait).await?;
                blocked = blocked.max(Some(now + wait));
            }
        }
        let mut reason = format!("wrong account name or password ({most} failed in a row)");
        if let Some(until) = blocked {
            reason.push_str(&format!(
                "; sign-in refused for {} s",
                seconds_until(now, until)
            ));
        }
        let mut entry = self.entry(name, client, false, &reason, now);
        if !known {
            entry.actor_kind = ActorKind::Guest;
        }
        tx.audit(&entry).await?;
        tx.commit().await?;
        tracing::info!(
            failures = most,
            throttled = blocked.is_some(),
            "password sign-in refused"
        );
        Ok(match blocked {
            Some(until) => SignInError::Throttled {
                retry_after_secs: seconds_until(now, until),
            },
            None => SignInError::BadCredentials,
        })
    }

    /// The audit entry of a sign-in attempt by account `name` from `client`.
    fn entry(
        &self,
        name: &str,
        client: Option<IpAddr>,
        allowed: bool,
        reason: &str,
        at: DateTime<Utc>,
    ) -> AuditEntry {
        AuditEntry {
            id: 0,
            at,
            actor: name.chars().take(100).collect(),
            actor_kind: ActorKind::Person,
            platform: "web".into(),
            action: "signin".into(),
            allowed,
            reason: reason.to_string(),
            incident_id: None,
            subject: client.map(|ip| ip.to_string()),
        }
    }

    /// Audits an attempt (of an existing account when `known`), clearing the failures at `clear`.
    async fn audit(
        &self,
        name: &str,
        known: bool,
        client: Option<IpAddr>,
        allowed: bool,
        reason: &str,
        clear: &[String],
    ) -> Result<(), SignInError> {
        let mut tx = self.store.begin().await?;
        tx.clear_signin_failures(clear).await?;
        let mut entry = self.entry(name, client, allowed, reason, self.clock.now());
        if !known {
            entry.actor_kind = ActorKind::Guest;
        }
        tx.audit(&entry).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn start(
        &self,
        actor: Actor,
        user_agent: Option<&str>,
        return_to: String,
    ) -> Result<Started, SignInError> {
        let now = self.clock.now();
        let session_id = token::random();
        let csrf_token = token::random();
        let expires_at = now + self.session_length();
        let id_hash = token::hash(&session_id);
        let user_agent = user_agent.map(|ua| ua.chars().take(300).collect::<String>());
        self.store
            .create_session(&NewSession {
                id_hash: &id_hash,
                actor: &actor,
                csrf_token: &csrf_token,
                created_at: now,
                expires_at,
                user_agent: user_agent.as_deref(),
            })
            .await?;
        tracing::info!(actor = %actor.id, kind = ?actor.kind, "signed in");
        Ok(Started {
            session_id,
            session: WebSession {
                actor,
                csrf_token,
                expires_at,
            },
            return_to,
        })
    }

    /// The live session of a cookie's session id; using it slides its expiry.
    pub async fn session(&self, session_id: &str) -> Result<Option<WebSession>, SignInError> {
        let now = self.clock.now();
        let id_hash = token::hash(session_id);
        let Some(stored) = self.store.session(&id_hash, now).await? else {
            return Ok(None);
        };
        let mut expires_at = stored.expires_at;
        if (now - stored.last_seen_at).num_seconds() >= TOUCH_EVERY_SECS {
            expires_at = now + self.session_length();
            self.store.touch_session(&id_hash, now, expires_at).await?;
        }
        Ok(Some(WebSession {
            actor: stored.actor,
            csrf_token: stored.csrf_token,
            expires_at,
        }))
    }

    /// Ends the session of a cookie's session id.
    pub async fn sign_out(&self, session_id: &str) -> Result<(), SignInError> {
        self.store.delete_session(&token::hash(session_id)).await?;
        Ok(())
    }

    /// Starts an OpenID Connect sign-in: the issuer URL to send the browser to.
    pub async fn begin_oidc(&self, return_to: Option<&str>) -> Result<String, SignInError> {
        let redirect = oidc::redirect_uri(self.config.server.public_url.as_deref())?;
        let auth = oidc::authorize(&self.config.auth.oidc, &redirect, &self.discovery).await?;
        self.store
            .save_oidc_login(&OidcLogin {
                state: auth.state,
                nonce: auth.nonce,
                pkce_verifier: auth.pkce_verifier,
                return_to: local_path(return_to),
                expires_at: self.clock.now() + Duration::minutes(OIDC_LOGIN_MINUTES),
            })
            .await?;
        Ok(auth.url)
    }

    /// Completes an OpenID Connect sign-in: the subject maps to a person by `[[person]] subject`,
    /// else by a verified e-mail address, else it signs in as a guest (`oidc:<sub>`).
    pub async fn finish_oidc(
        &self,
        state: &str,
        code: &str,
        user_agent: Option<&str>,
    ) -> Result<Started, SignInError> {
        let login = self
            .store
            .take_oidc_login(state, self.clock.now())
            .await?
            .ok_or(SignInError::UnknownAttempt)?;
        let redirect = oidc::redirect_uri(self.config.server.public_url.as_deref())?;
        let identity = oidc::exchange(
            &self.config.auth.oidc,
            &redirect,
            code,
            &login.pkce_verifier,
            &login.nonce,
            &self.discovery,
        )
        .await?;
        let directory = self.catalog.directory();
        let by_email = identity
            .verified_email
            .as_deref()
            .and_then(|e| directory.by_email(e));
        let actor = match (directory.by_subject(&identity.subject), by_email) {
            (Some(p), _) | (None, Some(p)) => {
                Actor::person(p, "web", Some(identity.subject.clone()))
            }
            (None, None) => Actor::guest("oidc", &identity.subject, identity.name.as_deref()),
        };
        self.start(actor, user_agent, login.return_to).await
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn return_paths_stay_on_this_site() {
        use super::local_path;
        assert_eq!(local_path(Some("/incidents/3")), "/incidents/3");
        for bad in [
            "//evil.example/",
            "/\\evil.example/",
            "https://evil.example/",
            "x",
        ] {
            assert_eq!(local_path(Some(bad)), "/", "{bad}");
        }
        assert_eq!(local_path(None), "/");
    }
}
