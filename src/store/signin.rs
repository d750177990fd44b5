//! Web sign-in records: local accounts, sessions (by the hash of their id) and OIDC login attempts.

use super::rows::{get_json, get_time, json_text, ms};
use super::{Store, StoreResult};
use crate::domain::Actor;
use chrono::{DateTime, Utc};
use sqlx::Row;

/// A local account as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalAccount {
    /// The person id (the account name).
    pub person_id: String,
    /// The name to show, if given.
    pub display_name: Option<String>,
    /// The argon2id PHC string.
    pub password_hash: String,
    /// Whether sign-in is refused.
    pub disabled: bool,
}

/// A stored web session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSession {
    /// Who is signed in.
    pub actor: Actor,
    /// The per-session CSRF token.
    pub csrf_token: String,
    /// When the session ends unless used.
    pub expires_at: DateTime<Utc>,
    /// When it was last used.
    pub last_seen_at: DateTime<Utc>,
}

/// A new web session to store.
#[derive(Debug, Clone)]
pub struct NewSession<'a> {
    /// SHA-256 (hex) of the session id in the cookie.
    pub id_hash: &'a str,
    /// Who signs in.
    pub actor: &'a Actor,
    /// The per-session CSRF token.
    pub csrf_token: &'a str,
    /// Now.
    pub created_at: DateTime<Utc>,
    /// When it ends unless used.
    pub expires_at: DateTime<Utc>,
    /// The browser's `User-Agent`, for people reviewing their sessions.
    pub user_agent: Option<&'a str>,
}

/// An OpenID Connect sign-in under way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcLogin {
    /// The `state` sent to the issuer.
    pub state: String,
    /// The nonce the ID token must carry.
    pub nonce: String,
    /// The PKCE verifier of the challenge sent.
    pub pkce_verifier: String,
    /// The local path to return to after sign-in.
    pub return_to: String,
    /// When the attempt lapses.
    pub expires_at: DateTime<Utc>,
}

impl Store {
    /// Creates a local account, or replaces its password (and display name, when given) if it exists.
    pub async fn save_local_account(
        &self,
        person_id: &str,
        display_name: Option<&str>,
        password_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO local_accounts (person_id, display_name, password_hash, disabled, created_at, updated_at) \
             VALUES ($1, $2, $3, 0, $4, $4) \
             ON CONFLICT (person_id) DO UPDATE SET password_hash = excluded.password_hash, \
             display_name = COALESCE(excluded.display_name, local_accounts.display_name), \
             updated_at = excluded.updated_at",
        )
        .bind(person_id)
        .bind(display_name)
        .bind(password_hash)
        .bind(ms(now))
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// A local account by person id.
    pub async fn local_account(&self, person_id: &str) -> StoreResult<Option<LocalAccount>> {
        let row = sqlx::query(
            "SELECT person_id, display_name, password_hash, disabled FROM local_accounts WHERE person_id = $1",
        )
        .bind(person_id)
        .fetch_optional(&self.read)
        .await?;
        row.map(|r| {
            Ok(LocalAccount {
                person_id: r.try_get("person_id")?,
                display_name: r.try_get("display_name")?,
                password_hash: r.try_get("password_hash")?,
                disabled: r.try_get::<i64, _>("disabled")? != 0,
            })
        })
        .transpose()
    }

    /// Disables a local account and ends its person's sessions; false when there is no such account.
    pub async fn disable_local_account(
        &self,
        person_id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let mut tx = self.write.begin().await?;
        let changed = sqlx::query(
            "UPDATE local_accounts SET disabled = 1, updated_at = $2 WHERE person_id = $1",
        )
        .bind(person_id)
        .bind(ms(now))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        sqlx::query("DELETE FROM web_sessions WHERE person_id = $1")
            .bind(person_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(changed > 0)
    }

    /// Stores a new session, purging expired sessions and login attempts on the way.
    pub async fn create_session(&self, s: &NewSession<'_>) -> StoreResult<()> {
        let mut tx = self.write.begin().await?;
        let now = ms(s.created_at);
        sqlx::query("DELETE FROM web_sessions WHERE expires_at <= $1")
            .bind(now)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM oidc_logins WHERE expires_at <= $1")
            .bind(now)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO web_sessions (id_hash, person_id, actor, csrf_token, created_at, expires_at, last_seen_at, user_agent) \
             VALUES ($1, $2, $3, $4, $5, $6, $5, $7)",
        )
        .bind(s.id_hash)
        .bind(&s.actor.id)
        .bind(json_text(s.actor))
        .bind(s.csrf_token)
        .bind(now)
        .bind(ms(s.expires_at))
        .bind(s.user_agent)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The unexpired session whose id hashes to `id_hash`.
    pub async fn session(
        &self,
        id_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<StoredSession>> {
        let row = sqlx::query(
            "SELECT actor, csrf_token, expires_at, last_seen_at FROM web_sessions \
             WHERE id_hash = $1 AND expires_at > $2",
        )
        .bind(id_hash)
        .bind(ms(now))
        .fetch_optional(&self.read)
        .await?;
        row.map(|r| {
            Ok(StoredSession {
                actor: get_json(&r, "actor")?,
                csrf_token: r.try_get("csrf_token")?,
                expires_at: get_time(&r, "expires_at")?,
                last_seen_at: get_time(&r, "last_seen_at")?,
            })
        })
        .transpose()
    }

    /// Slides a session's expiry: used at `now`, it lasts until `expires_at`.
    pub async fn touch_session(
        &self,
        id_hash: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE web_sessions SET last_seen_at = $2, expires_at = $3 WHERE id_hash = $1 AND expires_at > $2",
        )
        .bind(id_hash)
        .bind(ms(now))
        .bind(ms(expires_at))
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// Ends a session (sign-out).
    pub async fn delete_session(&self, id_hash: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM web_sessions WHERE id_hash = $1")
            .bind(id_hash)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// Records an OIDC sign-in under way.
    pub async fn save_oidc_login(&self, login: &OidcLogin) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO oidc_logins (state, nonce, pkce_verifier, return_to, expires_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&login.state)
        .bind(&login.nonce)
        .bind(&login.pkce_verifier)
        .bind(&login.return_to)
        .bind(ms(login.expires_at))
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// Takes (reads and deletes) the unexpired OIDC sign-in of `state`: each one completes at most once.
    pub async fn take_oidc_login(
        &self,
        state: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<OidcLogin>> {
        let row = sqlx::query(
            "DELETE FROM oidc_logins WHERE state = $1 \
             RETURNING state, nonce, pkce_verifier, return_to, expires_at",
        )
        .bind(state)
        .fetch_optional(&self.write)
        .await?;
        let Some(r) = row else { return Ok(None) };
        let login = OidcLogin {
            state: r.try_get("state")?,
            nonce: r.try_get("nonce")?,
            pkce_verifier: r.try_get("pkce_verifier")?,
            return_to: r.try_get("return_to")?,
            expires_at: get_time(&r, "expires_at")?,
        };
        Ok((login.expires_at > now).then_some(login))
    }
}
