//! API tokens: stored with the SHA-256 of their secret, found by their public prefix.

use super::rows::{get_json, get_time, get_time_opt, json_text, ms, ms_opt};
use super::{Store, StoreError, StoreResult};
use crate::domain::token::{ApiToken, Scopes, TokenOwner};
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;

/// A token to store.
#[derive(Debug, Clone)]
pub struct NewApiToken {
    /// What it is for.
    pub name: String,
    /// Its public prefix (unique).
    pub prefix: String,
    /// The SHA-256 of its secret, in hex.
    pub secret_hash: String,
    /// Whom it acts as.
    pub owner: TokenOwner,
    /// What it may do.
    pub scopes: Scopes,
    /// When it is made.
    pub created_at: DateTime<Utc>,
    /// When it stops working.
    pub expires_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "id, name, prefix, person_id, service_account, scopes, created_at, \
                       last_used_at, expires_at, revoked_at";

fn token(row: &AnyRow) -> StoreResult<ApiToken> {
    let person: Option<String> = row.try_get("person_id")?;
    let service: Option<String> = row.try_get("service_account")?;
    let owner = match (person, service) {
        (Some(p), None) => TokenOwner::Person(p),
        (None, Some(s)) => TokenOwner::Service(s),
        _ => {
            return Err(StoreError::Corrupt(
                "api_tokens: a token needs exactly one owner".into(),
            ));
        }
    };
    Ok(ApiToken {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        prefix: row.try_get("prefix")?,
        owner,
        scopes: get_json(row, "scopes")?,
        created_at: get_time(row, "created_at")?,
        last_used_at: get_time_opt(row, "last_used_at")?,
        expires_at: get_time_opt(row, "expires_at")?,
        revoked_at: get_time_opt(row, "revoked_at")?,
    })
}

impl Store {
    /// Stores a new token and returns it.
    pub async fn insert_api_token(&self, new: &NewApiToken) -> StoreResult<ApiToken> {
        let (person, service) = match &new.owner {
            TokenOwner::Person(p) => (Some(p.as_str()), None),
            TokenOwner::Service(s) => (None, Some(s.as_str())),
        };
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO api_tokens (name, prefix, secret_hash, person_id, service_account, scopes, \
             created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(&new.name)
        .bind(&new.prefix)
        .bind(&new.secret_hash)
        .bind(person)
        .bind(service)
        .bind(json_text(&new.scopes))
        .bind(ms(new.created_at))
        .bind(ms_opt(new.expires_at))
        .fetch_one(&self.write)
        .await?;
        Ok(ApiToken {
            id,
            name: new.name.clone(),
            prefix: new.prefix.clone(),
            owner: new.owner.clone(),
            scopes: new.scopes.clone(),
            created_at: new.created_at,
            last_used_at: None,
            expires_at: new.expires_at,
            revoked_at: None,
        })
    }

    /// Every token, oldest first (never a secret).
    pub async fn api_tokens(&self) -> StoreResult<Vec<ApiToken>> {
        let sql = format!("SELECT {COLUMNS} FROM api_tokens ORDER BY id");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(token).collect()
    }

    /// The token with this public prefix and the stored hash of its secret.
    pub async fn api_token_by_prefix(
        &self,
        prefix: &str,
    ) -> StoreResult<Option<(ApiToken, String)>> {
        let sql = format!("SELECT {COLUMNS}, secret_hash FROM api_tokens WHERE prefix = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(prefix)
            .fetch_optional(&self.read)
            .await?;
        row.map(|r| Ok((token(&r)?, r.try_get("secret_hash")?)))
            .transpose()
    }

    /// The token with this id or public prefix.
    pub async fn api_token(&self, id_or_prefix: &str) -> StoreResult<Option<ApiToken>> {
        let sql =
            format!("SELECT {COLUMNS} FROM api_tokens WHERE prefix = $1 OR CAST(id AS TEXT) = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id_or_prefix)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(token).transpose()
    }

    /// Marks a token revoked at `now` (an earlier revocation stands); false if there is no such token.
    pub async fn revoke_api_token(&self, id: i64, now: DateTime<Utc>) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1",
        )
        .bind(id)
        .bind(ms(now))
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records that a token was presented at `now`.
    pub async fn touch_api_token(&self, id: i64, now: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query("UPDATE api_tokens SET last_used_at = $2 WHERE id = $1")
            .bind(id)
            .bind(ms(now))
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// Whether any token was ever created (revoked ones included: the API stays closed once tokens exist).
    pub async fn api_tokens_exist(&self) -> StoreResult<bool> {
        let n: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM (SELECT 1 FROM api_tokens LIMIT 1) t")
                .fetch_one(&self.read)
                .await?;
        Ok(n > 0)
    }
}
