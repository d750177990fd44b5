//! Wiring: config → store → engine → workers → HTTP server, and graceful shutdown.

use crate::chat::Deliverer;
use crate::chat::web::WebDeliverer;
use crate::config::Config;
use crate::engine::{Engine, Hub, SystemClock, outbound, outbox_worker};
use crate::http::peer::TrustedProxies;
use crate::http::{AppState, router};
use crate::render::Renderer;
use crate::store::Store;
use anyhow::Context;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A running warroom: its address, engine, and the means to stop it.
pub struct App {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its use-cases (tests drive it directly too).
    pub engine: Engine,
    shutdown: watch::Sender<bool>,
    server: JoinHandle<std::io::Result<()>>,
    workers: JoinHandle<()>,
    alert_dispatcher: JoinHandle<()>,
    discord_gateway: JoinHandle<()>,
}

/// The process-wide Prometheus recorder (installed once, shared by every app in the process).
fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

/// Connects to the configured database and applies migrations.
pub async fn open_store(config: &Config) -> anyhow::Result<Store> {
    let store = Store::connect(&config.database.url, config.database.max_connections)
        .await
        .with_context(|| {
            format!(
                "cannot open the database at {}",
                redact(&config.database.url)
            )
        })?;
    store.migrate().await.context("cannot apply migrations")?;
    Ok(store)
}

/// A database URL without its password, for logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            let user = creds.split(':').next().unwrap_or_default();
            format!("{}{user}:***{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_string(),
    }
}

impl App {
    /// Opens the store, starts the outbox workers and serves HTTP on `config.server.listen`.
    pub async fn start(config: Config) -> anyhow::Result<App> {
        Self::start_with_clock(config, Arc::new(SystemClock)).await
    }

    /// [`App::start`] with the engine reading time from `clock` (tests drive timers with it).
    pub async fn start_with_clock(
        config: Config,
        clock: Arc<dyn crate::engine::Clock>,
    ) -> anyhow::Result<App> {
        // Safe defaults: no open address without sign-in, and proxies parsed once.
        if let Some(problem) = crate::config::exposure::open_listen(&config) {
            anyhow::bail!("refusing to serve: {problem}");
        }
        let trusted_proxies = TrustedProxies::parse(&config.server.trusted_proxies)
            .context("server.trusted_proxies")?;
        let store = open_store(&config).await?;
        if store.backend() == crate::store::Backend::Sqlite {
            // One process owns an embedded database: claims left by a crash are nobody's.
            let freed = store.release_outbox_claims().await?;
            if freed > 0 {
                tracing::info!(
                    entries = freed,
                    "released outbox claims left by an earlier run"
                );
            }
        }
        let listener = tokio::net::TcpListener::bind(&config.server.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.server.listen))?;
        let addr = listener.local_addr()?;
        let hub = Hub::default();
        let mut destinations = vec![outbound::WEB.to_string()];
        let slack_client = config.slack.bot_token.as_deref().map(|token| {
            destinations.push(outbound::SLACK.to_string());
            let client = crate::chat::slack::SlackClient::new(&config.slack.api_url, token);
            if store.backend() == crate::store::Backend::Postgres {
                // Replicas share Slack's tiers: every call also draws on a bucket in the database.
                let shared = crate::engine::rate_limit::StoreRateLimit::new(
                    store.clone(),
                    Arc::new(SystemClock),
                );
                client.with_shared_limit(Arc::new(shared))
            } else {
                client
            }
        });
        let discord_client = config.discord.bot_token.as_deref().map(|token| {
            destinations.push(outbound::DISCORD.to_string());
            let client = crate::chat::discord::DiscordClient::new(
                &config.discord.api_url,
                token,
                config.discord.application_id.as_deref().unwrap_or_default(),
            );
            if store.backend() == crate::store::Backend::Postgres {
                // Replicas share Discord's global limit and the route limits any of them learns.
                let shared = crate::engine::rate_limit::StoreRateLimit::new(
                    store.clone(),
                    Arc::new(SystemClock),
                );
                client.with_shared_limit(Arc::new(shared))
            } else {
                client
            }
        });
        let config = Arc::new(config);
        let catalog = Arc::new(
            crate::catalog::load(&config.catalog.path)
                .with_context(|| format!("catalog.path: cannot load {}", config.catalog.path))?,
        );
        let engine = Engine::new(
            store.clone(),
            clock,
            hub.clone(),
            destinations,
            config.clone(),
            catalog,
        );
        if let Err(e) = engine.people().schedule_slack_links().await {
            tracing::warn!(error = %e, "could not queue the Slack e-mail links of people");
        }
        match engine.arm_heartbeats().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(heartbeats = n, "heartbeat checks armed"),
            Err(e) => {
                tracing::warn!(error = %e, "could not arm the heartbeat checks; each heartbeat's next beat arms its own")
            }
        }
        let mut deliverers: Vec<Arc<dyn Deliverer>> = vec![Arc::new(WebDeliverer::new())];
        deliverers.push(Arc::new(
            crate::chat::webhook::WebhookDeliverer::new(
                std::time::Duration::from_secs(config.changes.webhook_timeout_secs),
                config.changes.rollback.clone(),
            )
            .with_gateways(config.oncall.webhooks.clone()),
        ));
        if let Some(client) = &slack_client {
            deliverers.push(Arc::new(crate::chat::slack::SlackDeliverer::new(
                client.clone(),
                engine.delivery_context(),
                config.slack.clone(),
            )));
        }
        if let Some(client) = discord_client {
            deliverers.push(Arc::new(crate::chat::discord::DiscordDeliverer::new(
                client,
                engine.delivery_context(),
                config.discord.clone(),
            )));
        }
        let (shutdown, shutdown_rx) = watch::channel(false);
        let outbox_workers = tokio::spawn(outbox_worker::run(
            engine.clone(),
            deliverers,
            config.outbox.clone(),
            shutdown_rx.clone(),
        ));
        let jobs = tokio::spawn(crate::engine::jobs::run(
            engine.clone(),
            shutdown_rx.clone(),
        ));
        let checkpointer = tokio::spawn(crate::store::checkpoint::run(
            engine.store().clone(),
            crate::store::checkpoint::CHECKPOINT_EVERY,
            shutdown_rx.clone(),
        ));
        let alert_dispatcher = tokio::spawn(crate::engine::alert_dispatch::run(
            engine.clone(),
            shutdown_rx.clone(),
        ));
        let discord_gateway = tokio::spawn(crate::chat::discord::gateway::run(
            engine.clone(),
            shutdown_rx.clone(),
        ));
        let renderer = Arc::new(
            Renderer::new(config.templates.dir.clone().map(Into::into))
                .with_public_url(config.server.public_url.as_deref()),
        );
        let state = AppState {
            engine: engine.clone(),
            config,
            metrics: metrics_handle(),
            renderer,
            slack: slack_client,
            trusted_proxies,
        };
        let limits = crate::http::serve::ServeLimits {
            header_timeout: std::time::Duration::from_secs(state.config.server.header_timeout_secs),
            idle_timeout: std::time::Duration::from_secs(state.config.server.idle_timeout_secs),
            drain_timeout: std::time::Duration::from_secs(5),
        };
        let app = router(state);
        let workers = tokio::spawn(async move {
            let _ = tokio::join!(outbox_workers, jobs, checkpointer);
        });
        let mut stop = shutdown_rx;
        let server = tokio::spawn(async move {
            crate::http::serve::serve(listener, app, limits, async move {
                let _ = stop.wait_for(|s| *s).await;
            })
            .await
        });
        tracing::info!(%addr, "warroom listening");
        Ok(App {
            addr,
            engine,
            shutdown,
            server,
            workers,
            alert_dispatcher,
            discord_gateway,
        })
    }

    /// Stops accepting requests, lets in-flight ones finish, stops the workers and closes the store.
    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.shutdown.send(true);
        self.server.await??;
        self.workers.await?;
        self.alert_dispatcher.await?;
        // Before the store closes: the gateway leader keeps its session and gives up its lock.
        self.discord_gateway.await?;
        self.engine.store().close().await;
        Ok(())
    }
}

/// Runs until SIGINT or SIGTERM, then shuts down gracefully.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let app = App::start(config).await?;
    shutdown_signal().await;
    tracing::info!("shutting down");
    app.stop().await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            super::redact("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(super::redact("sqlite://data/w.db"), "sqlite://data/w.db");
    }
}
