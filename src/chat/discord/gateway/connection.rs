//! One gateway connection: HELLO, IDENTIFY or RESUME, heartbeats (a missing ACK is a zombie
//! connection: reconnect), dispatches handled in order, and why the connection ended.
//!
//! The sequence number moves only after a dispatch was handled, so a dispatch whose recording
//! failed (the database away) is replayed by Discord on the RESUME that follows.

use super::protocol::{self, AfterClose, Frame, op};
use super::{Gateway, backfill, events};
use crate::store::DiscordGatewaySession;
use futures::{SinkExt, StreamExt};
use serde_json::Value;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::{Instant, sleep_until, timeout};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tracing::Instrument;

/// How long connecting and the HELLO may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// The close code sent on shutdown: not 1000/1001, so the session stays resumable for the next leader.
const CLOSE_RESUMABLE: u16 = 4000;

/// Why a connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    /// Dropped, asked to reconnect, or a zombie: RESUME.
    Resume,
    /// The session is gone: IDENTIFY anew.
    Identify,
    /// Discord refused the configuration (the reason); reconnecting will not help.
    Stop(String),
    /// warroom is shutting down.
    Shutdown,
}

/// A connection failure before or while talking to the gateway.
#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    /// The WebSocket failed.
    #[error("gateway WebSocket: {0}")]
    Ws(#[from] tokio_tungstenite::tungstenite::Error),
    /// Connecting or the HELLO took too long.
    #[error("gateway did not answer in time")]
    Timeout,
    /// The gateway sent something that is not the protocol.
    #[error("gateway protocol: {0}")]
    Protocol(String),
    /// The gateway closed the connection with a close code.
    #[error("gateway closed the connection: {code} {reason}")]
    Closed {
        /// The close code.
        code: u16,
        /// Its reason text.
        reason: String,
    },
    /// The REST call for the gateway URL failed.
    #[error(transparent)]
    Rest(#[from] super::rest::RestError),
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn send(ws: &mut Ws, frame: &Value) -> Result<(), ConnectionError> {
    ws.send(Message::text(frame.to_string())).await?;
    Ok(())
}

fn jitter(interval: Duration) -> Duration {
    interval.mul_f64(rand::random::<f64>())
}

impl Gateway {
    /// Where to connect: the session's resume URL, the configured URL, or `GET /gateway/bot`
    /// (waiting out an exhausted IDENTIFY budget).
    async fn url(
        &self,
        session: Option<&DiscordGatewaySession>,
    ) -> Result<String, ConnectionError> {
        if let Some(s) = session {
            return Ok(s.resume_url.clone());
        }
        if let Some(url) = &self.gateway_url {
            return Ok(url.clone());
        }
        let bot = self.rest.gateway_bot().await?;
        if let Some(limit) = bot.session_start_limit.filter(|l| l.remaining == 0) {
            let wait = Duration::from_millis(limit.reset_after.min(24 * 3600 * 1000));
            tracing::warn!(
                ?wait,
                "Discord IDENTIFY budget used up: waiting for it to renew"
            );
            tokio::time::sleep(wait).await;
        }
        Ok(bot.url)
    }

    /// Runs one connection until it ends; `session` is resumed when given and kept up to date.
    pub(super) async fn connect_once(
        &self,
        session: &mut Option<DiscordGatewaySession>,
        shutdown: &mut watch::Receiver<bool>,
    ) -> Result<Ended, ConnectionError> {
        // Until the session is up, shutdown ends the attempt at once (nothing to close or keep).
        let Some(url) = or_shutdown(shutdown, self.url(session.as_ref())).await else {
            return Ok(Ended::Shutdown);
        };
        let url = protocol::connect_url(&url?);
        let connect = timeout(CONNECT_TIMEOUT, tokio_tungstenite::connect_async(&url));
        let Some(connected) = or_shutdown(shutdown, connect).await else {
            return Ok(Ended::Shutdown);
        };
        let (mut ws, _) = connected.map_err(|_| ConnectionError::Timeout)??;
        let Some(hello) =
            or_shutdown(shutdown, timeout(CONNECT_TIMEOUT, next_frame(&mut ws))).await
        else {
            return Ok(Ended::Shutdown);
        };
        let hello = hello.map_err(|_| ConnectionError::Timeout)??;
        let Some(hello) = hello.filter(|f| f.op == op::HELLO) else {
            return Err(ConnectionError::Protocol(
                "the first frame was not HELLO".into(),
            ));
        };
        let interval = Duration::from_millis(
            hello.d["heartbeat_interval"]
                .as_u64()
                .unwrap_or(41_250)
                .max(100),
        );
        let mut seq = session.as_ref().map(|s| s.seq);
        match session.as_ref() {
            Some(s) => {
                send(
                    &mut ws,
                    &protocol::resume(&self.token, &s.session_id, s.seq),
                )
                .await?
            }
            None => send(&mut ws, &protocol::identify(&self.token)).await?,
        }
        tracing::info!(resume = session.is_some(), "Discord gateway connected");
        let mut acked = true;
        let mut next_beat = Instant::now() + jitter(interval);
        let mut saved_seq = seq;
        loop {
            tokio::select! {
                changed = shutdown.changed() => {
                    if changed.is_err() || *shutdown.borrow() {
                        let close = CloseFrame { code: CloseCode::from(CLOSE_RESUMABLE), reason: "shutting down".into() };
                        let _ = timeout(Duration::from_secs(2), ws.close(Some(close))).await;
                        self.keep(session, seq).await;
                        return Ok(Ended::Shutdown);
                    }
                }
                _ = sleep_until(next_beat) => {
                    if !acked {
                        tracing::warn!("Discord gateway did not acknowledge a heartbeat: reconnecting");
                        self.keep(session, seq).await;
                        return Ok(Ended::Resume);
                    }
                    send(&mut ws, &protocol::heartbeat(seq)).await?;
                    acked = false;
                    next_beat = Instant::now() + interval;
                    if seq != saved_seq {
                        self.keep(session, seq).await;
                        saved_seq = seq;
                    }
                }
                frame = next_frame(&mut ws) => {
                    let frame = match frame {
                        Ok(Some(f)) => f,
                        Ok(None) => {
                            tracing::info!("Discord gateway connection dropped: resuming");
                            self.keep(session, seq).await;
                            return Ok(Ended::Resume);
                        }
                        Err(ConnectionError::Closed { code, reason }) => {
                            self.keep(session, seq).await;
                            return Ok(self.closed(session, code, &reason).await);
                        }
                        Err(e) => {
                            tracing::info!(error = %e, "Discord gateway connection failed: resuming");
                            self.keep(session, seq).await;
                            return Ok(Ended::Resume);
                        }
                    };
                    match frame.op {
                        op::DISPATCH => {
                            let span = tracing::info_span!(
                                "discord.gateway.dispatch",
                                event = frame.t.as_deref().unwrap_or_default(),
                                seq = frame.s
                            );
                            if !self.dispatch(&frame, session).instrument(span).await {
                                // Not recorded (the database is away): Discord replays it on RESUME.
                                self.keep(session, seq).await;
                                return Ok(Ended::Resume);
                            }
                            if frame.s.is_some() {
                                seq = frame.s;
                            }
                            if let Some(s) = session.as_mut() {
                                s.seq = seq.unwrap_or(0);
                            }
                        }
                        op::HEARTBEAT => send(&mut ws, &protocol::heartbeat(seq)).await?,
                        op::HEARTBEAT_ACK => acked = true,
                        op::RECONNECT => {
                            tracing::info!("Discord gateway asked to reconnect");
                            self.keep(session, seq).await;
                            return Ok(Ended::Resume);
                        }
                        op::INVALID_SESSION => {
                            if frame.d.as_bool() == Some(true) && session.is_some() {
                                return Ok(Ended::Resume);
                            }
                            tracing::info!("Discord gateway session invalid: identifying anew");
                            self.forget(session).await;
                            return Ok(Ended::Identify);
                        }
                        _ => {}
                    }
                }
            }
        }
    }

    /// Handles one dispatch; false when it could not be recorded and must be replayed.
    async fn dispatch(&self, frame: &Frame, session: &mut Option<DiscordGatewaySession>) -> bool {
        let t = frame.t.as_deref().unwrap_or_default();
        match t {
            "READY" => {
                let d = &frame.d;
                let fresh = DiscordGatewaySession {
                    session_id: d["session_id"].as_str().unwrap_or_default().to_string(),
                    resume_url: d["resume_gateway_url"]
                        .as_str()
                        .map(str::to_string)
                        .or_else(|| self.gateway_url.clone())
                        .unwrap_or_default(),
                    seq: frame.s.unwrap_or(0),
                    bot_user_id: d["user"]["id"].as_str().unwrap_or_default().to_string(),
                    updated_at: self.engine.now(),
                };
                tracing::info!(bot = %fresh.bot_user_id, "Discord gateway ready");
                if let Err(e) = self.engine.save_discord_gateway_session(&fresh).await {
                    tracing::warn!(error = %e, "cannot keep the Discord gateway session");
                }
                *session = Some(fresh);
                self.start_backfill(session.as_ref());
                true
            }
            "RESUMED" => {
                tracing::info!("Discord gateway session resumed");
                self.start_backfill(session.as_ref());
                true
            }
            _ => {
                let bot = session
                    .as_ref()
                    .map(|s| s.bot_user_id.as_str())
                    .unwrap_or_default();
                match events::handle(&self.engine, t, &frame.d, bot).await {
                    Ok(outcome) => {
                        tracing::debug!(event = t, ?outcome, "Discord gateway event");
                        true
                    }
                    Err(e) => {
                        tracing::warn!(event = t, error = %e, "Discord gateway event not recorded");
                        false
                    }
                }
            }
        }
    }

    /// Back-fills the war rooms beside the connection (heartbeats go on meanwhile); a back-fill
    /// still running from an earlier connect is replaced.
    fn start_backfill(&self, session: Option<&DiscordGatewaySession>) {
        let bot = session.map(|s| s.bot_user_id.clone()).unwrap_or_default();
        let (engine, rest) = (self.engine.clone(), self.rest.clone());
        let task = tokio::spawn(
            async move {
                backfill::backfill(&engine, &rest, &bot).await;
            }
            .instrument(tracing::info_span!("discord.gateway.backfill")),
        );
        if let Some(old) = self
            .backfill
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .replace(task)
        {
            old.abort();
        }
    }

    /// Keeps the session at `seq` in the database (for a RESUME by this replica or the next leader).
    async fn keep(&self, session: &mut Option<DiscordGatewaySession>, seq: Option<i64>) {
        if let Some(s) = session.as_mut() {
            s.seq = seq.unwrap_or(s.seq);
            s.updated_at = self.engine.now();
            if let Err(e) = self.engine.save_discord_gateway_session(s).await {
                tracing::warn!(error = %e, "cannot keep the Discord gateway session");
            }
        }
    }

    /// Forgets the session, here and in the database.
    async fn forget(&self, session: &mut Option<DiscordGatewaySession>) {
        *session = None;
        if let Err(e) = self.engine.clear_discord_gateway_session().await {
            tracing::warn!(error = %e, "cannot forget the Discord gateway session");
        }
    }

    async fn closed(
        &self,
        session: &mut Option<DiscordGatewaySession>,
        code: u16,
        reason: &str,
    ) -> Ended {
        tracing::info!(code, reason, "Discord gateway closed the connection");
        match protocol::after_close(Some(code)) {
            AfterClose::Resume => Ended::Resume,
            AfterClose::Identify => {
                self.forget(session).await;
                Ended::Identify
            }
            AfterClose::Stop => Ended::Stop(format!("Discord closed the gateway: {code} {reason}")),
        }
    }
}

/// `fut`'s output, or `None` when warroom begins shutting down first.
async fn or_shutdown<F: std::future::Future>(
    shutdown: &mut watch::Receiver<bool>,
    fut: F,
) -> Option<F::Output> {
    if *shutdown.borrow() {
        return None;
    }
    tokio::select! {
        out = fut => Some(out),
        _ = shutdown.wait_for(|s| *s) => None,
    }
}

/// The next protocol frame; `Ok(None)` when the connection ended without a close code, and
/// `Err(Closed)` when the gateway closed it with a code.
async fn next_frame(ws: &mut Ws) -> Result<Option<Frame>, ConnectionError> {
    loop {
        match ws.next().await {
            None => return Ok(None),
            Some(Err(e)) => return Err(e.into()),
            Some(Ok(Message::Text(text))) => {
                return serde_json::from_str(&text)
                    .map(Some)
                    .map_err(|e| ConnectionError::Protocol(format!("unreadable frame: {e}")));
            }
            Some(Ok(Message::Close(Some(frame)))) => {
                return Err(ConnectionError::Closed {
                    code: u16::from(frame.code),
                    reason: frame.reason.to_string(),
                });
            }
            Some(Ok(Message::Close(None))) => return Ok(None),
            Some(Ok(_)) => continue,
        }
    }
}
