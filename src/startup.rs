//! Builds the application from its settings and runs it: the HTTP server, the dispatcher,
//! the retention sweeper and the platform simulation's background work, all stopped by
//! one cancellation token.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::access::gate::{AdminToken, Gate};
use crate::admin::{self, AppState, NotificationDefaults};
use crate::check::{self, admin::Checks, runs::CheckRuns};
use crate::clock::Clock;
use crate::config::ServeArgs;
use crate::db::{self, Db};
use crate::delivery::{Dispatcher, DispatcherConfig, Wakeup};
use crate::egress::{Destinations, EgressGuard, NameLookup, SystemNames};
use crate::limits::RateLimits;
use crate::metrics::Metrics;
use crate::outbox::Store;
use crate::platform::{self, Sandbox};

/// A built application: database open and migrated, listener bound, nothing running yet.
pub struct Application {
    listener: TcpListener,
    state: AppState,
    settings: ServeArgs,
    platform: Sandbox,
    checks: Checks,
    gate: Gate,
    dispatching: bool,
}

impl Application {
    /// Opens and migrates the database and binds the listener (port 0 picks a free port).
    pub async fn build(settings: ServeArgs, clock: Clock) -> anyhow::Result<Self> {
        Self::build_resolving_with(settings, clock, Arc::new(SystemNames)).await
    }

    /// As [`Application::build`], with the egress guard looking names up in `names`
    /// instead of the system's resolver (tests give a fixed table).
    pub async fn build_resolving_with(
        settings: ServeArgs,
        clock: Clock,
        names: Arc<dyn NameLookup>,
    ) -> anyhow::Result<Self> {
        settings.validate()?;
        let egress = settings.egress_guard().resolving_with(names);
        let database_url = &settings.database.database_url;
        let db = Db::connect(database_url, &settings.database.store_options())
            .await
            .with_context(|| format!("opening the database {}", db::redact_url(database_url)))?;
        db.migrate().await.context("migrating the database")?;
        let store = db.outbox();
        let listener = TcpListener::bind(settings.listen)
            .await
            .with_context(|| format!("binding {}", settings.listen))?;
        let metrics = Metrics::new();
        metrics.database_ready.set(1);
        let state = AppState {
            store,
            metrics,
            clock,
            wakeup: Wakeup::default(),
            defaults: Arc::new(NotificationDefaults {
                policy: settings.retry_policy(),
                max_body_bytes: settings.max_body_bytes,
            }),
            egress,
        };
        let platform = Sandbox::new(
            &db,
            settings.platform.clone(),
            listener.local_addr().context("the listener's address")?,
            state.producer(),
            settings.retry_policy(),
        )?;
        let checks = Checks {
            sandbox: platform.clone(),
            runs: CheckRuns::new(
                db.clone(),
                state.clock.clone(),
                check::Settings {
                    request_timeout: settings.request_timeout,
                    max_attempts: settings.retry_policy().max_attempts,
                    egress: state.egress.clone(),
                },
            ),
        };
        let gate = Gate {
            admin: AdminToken::new(settings.admin_token.as_deref()),
            keys: platform.access_keys.clone(),
            limits: Arc::new(RateLimits::new(
                state.metrics.rate_limited.with_label_values(&["admin"]),
                state.clock.clone(),
            )),
            failures: state.metrics.auth_failures.clone(),
        };
        Ok(Self {
            listener,
            state,
            settings,
            platform,
            checks,
            gate,
            dispatching: true,
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    pub fn store(&self) -> Arc<dyn Store> {
        self.state.store.clone()
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The platform simulation (its store, for checks the API does not show).
    pub fn platform(&self) -> &Sandbox {
        &self.platform
    }

    /// A dispatcher configured as `run` starts one, for driving delivery step by step
    /// ([`Dispatcher::step`]) while the application runs without its own
    /// ([`Application::without_dispatcher`]).
    pub fn dispatcher(&self) -> anyhow::Result<Dispatcher> {
        dispatcher(&self.state, &self.settings, &self.platform)
    }

    /// Runs without the dispatcher loop: nothing is delivered unless a caller steps a
    /// [`Application::dispatcher`] itself.
    pub fn without_dispatcher(mut self) -> Self {
        self.dispatching = false;
        self
    }

    /// Every route the service answers, with the state it serves them from.
    pub fn router(&self) -> axum::Router {
        admin::router(
            self.state.clone(),
            self.gate.clone(),
            platform::http::admin_router(self.platform.clone())
                .merge(check::admin::router(self.checks.clone())),
            platform::http::open_router(self.platform.clone()),
        )
        .merge(crate::console::router(
            self.state.clone(),
            self.checks.clone(),
            self.settings.admin_token.clone(),
            self.gate.clone(),
        ))
    }

    /// Serves until `shutdown` is cancelled, then drains: the server stops accepting, the
    /// dispatcher lets in-flight tries finish within the grace period and hands back the
    /// rest. Returns when everything has stopped.
    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let app = self.router();
        let Self {
            listener,
            state,
            settings,
            platform,
            checks: _,
            gate: _,
            dispatching,
        } = self;
        let dispatcher = dispatcher(&state, &settings, &platform)?;
        tracing::info!(
            listen = %listener.local_addr()?,
            database = %db::redact_url(&settings.database.database_url),
            "ums-notify serving"
        );
        log_egress(&state.egress, &settings);
        // The peer address shows where a relay session connected from.
        let server = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown.clone().cancelled_owned());
        let retention = tokio::spawn(sweep_retention(
            state.store.clone(),
            state.clock.clone(),
            settings.retention,
            shutdown.clone(),
        ));
        let counts = tokio::spawn(fold_counts(state.store.clone(), shutdown.clone()));
        let simulation = tokio::spawn(platform::worker::run(platform, shutdown.clone()));
        let (served, dispatched) = tokio::join!(
            async {
                let result = server.await;
                tracing::info!("HTTP server stopped");
                result
            },
            async {
                if dispatching {
                    dispatcher.run(shutdown.clone()).await
                } else {
                    Ok(())
                }
            }
        );
        retention.abort();
        counts.abort();
        // It stops at the same token; a change it is making finishes first.
        if let Err(error) = simulation.await {
            tracing::warn!(%error, "the platform simulation task failed");
        }
        served?;
        dispatched?;
        Ok(())
    }
}

fn dispatcher(
    state: &AppState,
    settings: &ServeArgs,
    platform: &Sandbox,
) -> anyhow::Result<Dispatcher> {
    Dispatcher::new(
        state.store.clone(),
        state.metrics.clone(),
        state.clock.clone(),
        state.wakeup.clone(),
        DispatcherConfig {
            concurrency: settings.concurrency as usize,
            per_host: settings.per_host_concurrency as usize,
            lease: settings.lease,
            request_timeout: settings.request_timeout,
            poll_interval: settings.poll_interval,
            shutdown_grace: settings.shutdown_grace,
            egress: state.egress.clone(),
        },
        platform.signers(),
    )
    .map(|dispatcher| dispatcher.with_relay(platform.relay.clone()))
}

/// Says which destinations are in force, and why.
fn log_egress(egress: &EgressGuard, settings: &ServeArgs) {
    let chosen = match settings.destinations {
        Some(_) => "set by --destinations".to_owned(),
        None => format!(
            "the default on {}, {} loopback address",
            settings.listen,
            if settings.listen.ip().is_loopback() {
                "a"
            } else {
                "not a"
            }
        ),
    };
    let allowed: Vec<String> = egress.allowed().iter().map(|n| n.to_string()).collect();
    let allowed = allowed.join(",");
    match egress.mode() {
        Destinations::Public => {
            tracing::info!(
                destinations = "public",
                %chosen,
                %allowed,
                "egress guard: sending only to public addresses and the allowed networks"
            );
            let proxies = ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"];
            if proxies.iter().any(|name| {
                std::env::var_os(name).is_some()
                    || std::env::var_os(name.to_ascii_lowercase()).is_some()
            }) {
                tracing::warn!(
                    "a proxy variable is set; with --destinations public notifications do not go through a proxy, so the guard checks the merchant's own address"
                );
            }
        }
        Destinations::Any => {
            tracing::info!(
                destinations = "any",
                %chosen,
                "egress guard off: sending to any address, this host and its network included"
            );
            if !egress.allowed().is_empty() {
                tracing::warn!(%allowed, "--allow-destination has no effect with --destinations any");
            }
        }
    }
}

/// Deletes finished notifications older than the retention, in small batches so no
/// write holds the database for long.
async fn sweep_retention(
    store: Arc<dyn Store>,
    clock: Clock,
    retention: Duration,
    shutdown: CancellationToken,
) {
    const BATCH: u32 = 500;
    let retention = chrono::Duration::from_std(retention).unwrap_or(chrono::Duration::MAX);
    loop {
        let before = clock.now() - retention;
        let mut deleted_total = 0;
        loop {
            match store.purge_finished(before, BATCH).await {
                Ok(deleted) => {
                    deleted_total += deleted;
                    if deleted < BATCH as u64 {
                        break;
                    }
                }
                Err(error) => {
                    tracing::warn!(error = format!("{error:#}"), "retention sweep failed");
                    break;
                }
            }
            tokio::task::yield_now().await;
        }
        if deleted_total > 0 {
            tracing::info!(
                deleted = deleted_total,
                "retention removed finished notifications"
            );
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(60)) => {}
            _ = shutdown.cancelled() => return,
        }
    }
}

/// Folds the status-count changes into the counts every second, so stats read a handful
/// of rows however busy the outbox is (a no-op on SQLite).
async fn fold_counts(store: Arc<dyn Store>, shutdown: CancellationToken) {
    if store.backend() == db::Backend::Sqlite {
        return;
    }
    loop {
        if let Err(error) = store.fold_counts().await {
            tracing::warn!(error = format!("{error:#}"), "folding status counts failed");
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = shutdown.cancelled() => return,
        }
    }
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for SIGINT");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => tracing::info!("SIGINT received; shutting down"),
        _ = terminate => tracing::info!("SIGTERM received; shutting down"),
    }
}
