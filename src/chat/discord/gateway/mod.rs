//! Discord's gateway: the complete war-room timeline. One replica (the holder of a PostgreSQL
//! advisory lock; on SQLite the one process) keeps a WebSocket to the gateway with the
//! `GUILD_MESSAGES`, `MESSAGE_CONTENT` and `GUILD_MESSAGE_REACTIONS` intents and records every
//! message, edit, deletion and 📌 reaction in war-room channels; the others wait to take over.
//!
//! Why not serenity (0.12.5, read for this): it can be pointed at a local `ws://` gateway (its
//! HTTP proxy setting and `Client::ws_url`), but it runs every event handler in a task of its
//! own (`client/dispatch.rs`), so an edit or a deletion can be handled before the message it
//! changes; it moves the sequence number when a frame arrives, not when warroom has recorded it;
//! and the session id lives inside its shard runner, so a replica taking over cannot resume. The
//! protocol warroom needs (HELLO, IDENTIFY, heartbeats, RESUME, RECONNECT, INVALID_SESSION, close
//! codes) is a few hundred lines over tokio-tungstenite, with the session kept in the database.
//!
//! Reconnects RESUME (session id, sequence and resume URL kept in `discord_gateway_sessions`);
//! after every READY or RESUMED the open war rooms are back-filled from their history after the
//! last message seen (`discord_cursors`), so a gap Discord does not replay is filled too.

pub mod backfill;
pub mod connection;
pub mod events;
pub mod protocol;
pub mod rest;

use crate::engine::Engine;
use crate::store::{DiscordGatewaySession, LeaderLock};
use connection::Ended;
use rest::DiscordRest;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::Instrument;

/// How often a replica that does not lead tries to take the leadership.
pub const FOLLOWER_POLL: Duration = Duration::from_millis(500);
/// How often the leader checks that it still holds the lock.
const LOCK_CHECK: Duration = Duration::from_secs(2);
/// The first wait before reconnecting; it doubles up to [`MAX_BACKOFF`].
const MIN_BACKOFF: Duration = Duration::from_millis(100);
/// The longest wait between reconnects.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// A connection that lasted this long resets the backoff.
const STABLE: Duration = Duration::from_secs(5);
/// Failed connects to a session's resume URL before a new session is started instead.
const RESUME_TRIES: u32 = 3;
/// How long a leader waits after Discord refused its configuration before trying again.
const STOPPED_WAIT: Duration = Duration::from_secs(300);

/// The gateway client of one replica.
pub struct Gateway {
    engine: Engine,
    rest: DiscordRest,
    token: String,
    gateway_url: Option<String>,
    backfill: Arc<Mutex<Option<JoinHandle<()>>>>,
}

impl Gateway {
    /// The gateway client for the engine's `[discord]` configuration; `None` without a bot token
    /// or with `discord.gateway = false`.
    pub fn from_config(engine: &Engine) -> Option<Gateway> {
        let config = &engine.config().discord;
        let token = config.bot_token.clone().filter(|_| config.gateway)?;
        Some(Gateway {
            rest: DiscordRest::new(&config.api_url, &token),
            engine: engine.clone(),
            token,
            gateway_url: config.gateway_url.clone(),
            backfill: Arc::new(Mutex::new(None)),
        })
    }

    /// Runs until shutdown: waits for the leadership, then holds the gateway while it leads.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        loop {
            if *shutdown.borrow() {
                return;
            }
            match self.engine.discord_gateway_leadership().await {
                Ok(Some(lock)) => {
                    tracing::info!("Discord gateway: this replica leads");
                    let stopping = self.lead(lock, &mut shutdown).await;
                    self.stop_backfill();
                    if stopping {
                        return;
                    }
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "Discord gateway: cannot ask for the leadership")
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(FOLLOWER_POLL) => {}
                _ = shutdown.changed() => {}
            }
        }
    }

    /// Holds the gateway while `lock` is held; true when warroom is shutting down.
    async fn lead(&self, mut lock: LeaderLock, shutdown: &mut watch::Receiver<bool>) -> bool {
        let mut session: Option<DiscordGatewaySession> =
            match self.engine.discord_gateway_session().await {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read the Discord gateway session");
                    None
                }
            };
        let mut backoff = MIN_BACKOFF;
        let mut failures = 0u32;
        loop {
            let span =
                tracing::info_span!("discord.gateway.connection", resume = session.is_some());
            let started = std::time::Instant::now();
            let ended = tokio::select! {
                ended = self.connect_once(&mut session, shutdown).instrument(span) => ended,
                _ = lost(&mut lock) => {
                    tracing::warn!("Discord gateway: the leadership was lost; disconnecting");
                    return false;
                }
            };
            // A connection that lasted resets the backoff; one dropped at once waits longer each time.
            if started.elapsed() >= STABLE {
                backoff = MIN_BACKOFF;
            }
            failures = if ended.is_err() { failures + 1 } else { 0 };
            let wait = match ended {
                Ok(Ended::Shutdown) => {
                    lock.release().await;
                    return true;
                }
                // Discord asks for a random 1–5 s before identifying again.
                Ok(Ended::Identify) => Duration::from_millis(1000 + rand::random::<u64>() % 4000),
                Ok(Ended::Stop(reason)) => {
                    tracing::error!(%reason, "Discord gateway refused: check discord.bot_token and the bot's intents");
                    STOPPED_WAIT
                }
                Ok(Ended::Resume) => next_backoff(&mut backoff),
                Err(e) => {
                    tracing::warn!(error = %e, ?backoff, "Discord gateway connection failed");
                    if failures >= RESUME_TRIES && session.take().is_some() {
                        // The resume URL does not answer: start a new session at the gateway URL.
                        if let Err(e) = self.engine.clear_discord_gateway_session().await {
                            tracing::warn!(error = %e, "cannot forget the Discord gateway session");
                        }
                    }
                    next_backoff(&mut backoff)
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = shutdown.changed() => {
                    if *shutdown.borrow() {
                        lock.release().await;
                        return true;
                    }
                }
                _ = lost(&mut lock) => return false,
            }
        }
    }

    fn stop_backfill(&self) {
        if let Some(task) = self
            .backfill
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            task.abort();
        }
    }
}

/// The wait before the next connect, doubling the next one up to [`MAX_BACKOFF`].
fn next_backoff(backoff: &mut Duration) -> Duration {
    let wait = *backoff;
    *backoff = (*backoff * 2).min(MAX_BACKOFF);
    wait
}

/// Resolves when the leadership lock is no longer held.
async fn lost(lock: &mut LeaderLock) {
    loop {
        tokio::time::sleep(LOCK_CHECK).await;
        if !lock.still_held().await {
            return;
        }
    }
}

/// Runs the gateway of this replica until shutdown, when the configuration enables it.
pub async fn run(engine: Engine, shutdown: watch::Receiver<bool>) {
    if let Some(gateway) = Gateway::from_config(&engine) {
        gateway.run(shutdown).await;
    }
}
