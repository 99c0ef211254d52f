//! The relay's admin routes: `GET /admin/v1/relay/session` (upgraded to the WebSocket a
//! `ums-notify listen` session runs on) and `GET /admin/v1/merchants/{mid}/relay` (whether
//! the merchant has a live session, since when, from where, and its tries in flight).
//!
//! A session needs a merchant: it is opened with a merchant access key, through the
//! gate, and bound to that key's merchant; the operator's token is refused.

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::connect_info::ConnectInfo;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{FromRequestParts, State};
use axum::http::header::USER_AGENT;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use super::frames::{ClientFrame, ServerFrame};
use super::hub::{self, Opened, Relay, Reply};
use crate::access::Principal;
use crate::admin::error::{AdminErrors, ErrorBody};
use crate::admin::extract::{ApiPath, ApiQuery};
use crate::admin::ApiError;
use crate::platform::http::admin::merchants::visible;
use crate::platform::merchants::merchant::DeliveryMode;
use crate::platform::merchants::requests::PatchMerchant;
use crate::platform::sandbox::Sandbox;

/// How often the sandbox pings an idle session.
const PING_EVERY: Duration = Duration::from_secs(15);
/// A session that has sent nothing (not even a pong) for this long is closed.
const SILENT_FOR: Duration = Duration::from_secs(45);

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SessionQuery {
    /// Set the merchant's `delivery` to `relay` as the session opens.
    pub take_over: Option<bool>,
}

/// The address a request came from, when the server knows it.
pub struct Peer(pub Option<SocketAddr>);

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Peer(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|info| info.0),
        ))
    }
}

/// Open a relay session (WebSocket) for the access key's merchant.
#[utoipa::path(get, path = "/relay/session", tag = "relay",
    params(SessionQuery),
    responses(
        (status = 101, description = "Switching to the WebSocket of the session"),
        (status = 400, description = "`websocket_required`: not a WebSocket upgrade request", body = ErrorBody),
        (status = 403, description = "`merchant_key_required`: a session needs a merchant access key", body = ErrorBody),
        (status = 422, description = "`invalid_query`", body = ErrorBody),
        AdminErrors,
    ),
    security(("admin_token" = [])))]
pub async fn open_session(
    State(sandbox): State<Sandbox>,
    principal: Principal,
    ApiQuery(query): ApiQuery<SessionQuery>,
    Peer(peer): Peer,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let Some(mid) = principal.merchant().map(str::to_owned) else {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "merchant_key_required",
            "a relay session delivers one merchant's notices: open it with that merchant's access key (umsk_…), not the admin token",
        ));
    };
    let upgrade = upgrade.map_err(|rejection| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "websocket_required",
            format!("this endpoint opens a WebSocket: {rejection}"),
        )
    })?;
    let merchant = visible(&sandbox, &principal, &mid).await?;
    let mut delivery = merchant.delivery;
    if query.take_over == Some(true) && delivery != DeliveryMode::Relay {
        let patch = PatchMerchant {
            delivery: Some(Some(DeliveryMode::Relay.as_str().to_owned())),
            ..PatchMerchant::default()
        };
        sandbox
            .merchant_service
            .update(&mid, patch)
            .await?
            .map_err(crate::platform::http::admin::merchants::refused)?;
        sandbox.relay.forget_mode(&mid);
        delivery = DeliveryMode::Relay;
        tracing::info!(mid = %mid, "relay session took over the merchant's delivery");
    }
    let from = peer.map_or_else(|| "unknown".to_owned(), |addr| addr.to_string());
    let client = headers
        .get(USER_AGENT)
        .and_then(|value| value.to_str().ok())
        .map(|text| text.chars().take(200).collect());
    let relay = sandbox.relay.clone();
    let now = sandbox.now();
    Ok(upgrade.on_upgrade(move |socket| async move {
        // Recorded for other instances first, so that by the time the session shows as
        // live here, they leave its tries to this instance within a beat.
        if let Err(error) = relay.registry().hold(&mid).await {
            tracing::warn!(mid = %mid, error = format!("{error:#}"), "relay session not recorded for other instances");
        }
        let opened = relay.open(&mid, from.clone(), client, now);
        tracing::info!(mid = %mid, session = opened.session, %from, "relay session opened");
        let hello = ServerFrame::Hello {
            mid: mid.clone(),
            session: opened.session,
            delivery: delivery.as_str().to_owned(),
        };
        let session = opened.session;
        let beats = tokio::spawn(beat(relay.clone(), mid.clone(), session));
        let why = serve(socket, opened, hello).await;
        beats.abort();
        if relay.close(&mid, session) {
            if let Err(error) = relay.registry().release(&mid).await {
                tracing::warn!(mid = %mid, error = format!("{error:#}"), "relay session's record not removed");
            }
        }
        tracing::info!(mid = %mid, session, why, "relay session closed");
    }))
}

/// Beats for session `session` of `mid` while it lasts, so other instances leave the
/// merchant's tries to this one; ends it when a session on another instance took over.
async fn beat(relay: crate::relay::Relay, mid: String, session: u64) {
    let mut every = tokio::time::interval(crate::relay::registry::HEARTBEAT_EVERY);
    every.tick().await;
    loop {
        every.tick().await;
        match relay.registry().beat(&mid).await {
            Ok(true) => {}
            Ok(false) => {
                relay.replaced_elsewhere(&mid, session);
                return;
            }
            Err(error) => {
                tracing::warn!(mid = %mid, error = format!("{error:#}"), "relay session heartbeat failed");
            }
        }
    }
}

/// Runs one session until it ends; says why it ended.
async fn serve(mut socket: WebSocket, mut opened: Opened, hello: ServerFrame) -> &'static str {
    if send(&mut socket, &hello).await.is_err() {
        return "the hello could not be sent";
    }
    let mut ping = tokio::time::interval(PING_EVERY);
    let mut heard = Instant::now();
    loop {
        tokio::select! {
            biased;
            _ = opened.replaced.cancelled() => {
                let reason = opened.replaced_reason();
                let _ = send(&mut socket, &ServerFrame::Replaced { reason }).await;
                let _ = socket.send(Message::Close(None)).await;
                return "replaced by a newer session";
            }
            frame = opened.frames.recv() => match frame {
                Some(frame) => {
                    if send(&mut socket, &ServerFrame::Try(frame)).await.is_err() {
                        return "sending a try failed";
                    }
                }
                None => return "removed from the registry",
            },
            message = socket.recv() => {
                heard = Instant::now();
                match message {
                    Some(Ok(Message::Text(text))) => receive(&opened.pending, text.as_str()),
                    Some(Ok(Message::Close(_))) | None => return "the client closed it",
                    Some(Err(_)) => return "the connection failed",
                    Some(Ok(_)) => {}
                }
            }
            _ = ping.tick() => {
                if heard.elapsed() > SILENT_FOR {
                    return "the client stopped answering pings";
                }
                if socket.send(Message::Ping(Vec::new().into())).await.is_err() {
                    return "a ping could not be sent";
                }
            }
        }
    }
}

async fn send(socket: &mut WebSocket, frame: &ServerFrame) -> Result<(), axum::Error> {
    let text = serde_json::to_string(frame).map_err(axum::Error::new)?;
    socket.send(Message::Text(text.into())).await
}

/// Hands an answer frame to the try waiting for it.
fn receive(pending: &hub::Pending, text: &str) {
    let frame: ClientFrame = match serde_json::from_str(text) {
        Ok(frame) => frame,
        Err(error) => {
            tracing::warn!(%error, "a relay session sent a frame that is not an answer");
            return;
        }
    };
    let (id, reply) = match frame {
        ClientFrame::Answer {
            id,
            status,
            body,
            duration_ms,
            ..
        } => (
            id,
            Reply::Answer {
                status,
                body: body.0,
                duration: Duration::from_millis(duration_ms),
            },
        ),
        ClientFrame::Failed {
            id,
            kind,
            message,
            duration_ms,
        } => (
            id,
            Reply::Failed {
                kind,
                message,
                duration: Duration::from_millis(duration_ms),
            },
        ),
    };
    if !hub::answer(pending, id, reply) {
        tracing::info!(id, "a relayed answer came back after its try gave up");
    }
}

/// A merchant's relay: its delivery setting and its live session on this instance.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RelayStatus {
    pub mid: String,
    pub delivery: DeliveryMode,
    /// Whether a `ums-notify listen` session of the merchant is connected to this
    /// instance.
    pub live: bool,
    pub session: Option<SessionView>,
    /// Whether another instance on the same database holds the merchant's session (in
    /// relay mode): this instance then leaves the merchant's notices to that one.
    pub held_elsewhere: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SessionView {
    pub id: u64,
    pub since: DateTime<Utc>,
    /// The address it connected from.
    pub from: String,
    /// The client's `User-Agent`.
    pub client: Option<String>,
    /// Tries sent down it and not yet answered.
    pub in_flight: usize,
    /// Tries sent down it since it opened.
    pub relayed: u64,
}

/// The merchant's relay status.
pub fn status_of(relay: &Relay, mid: &str, delivery: DeliveryMode) -> RelayStatus {
    let session = relay.status(mid).map(|info| SessionView {
        id: info.session,
        since: info.since,
        from: info.from,
        client: info.client,
        in_flight: info.in_flight.load(std::sync::atomic::Ordering::Relaxed),
        relayed: info.relayed.load(std::sync::atomic::Ordering::Relaxed),
    });
    RelayStatus {
        mid: mid.to_owned(),
        delivery,
        live: session.is_some(),
        session,
        held_elsewhere: false,
    }
}

/// Whether a merchant's relay session is live, since when, from where, its tries in flight.
#[utoipa::path(get, path = "/merchants/{mid}/relay", tag = "relay",
    params(("mid" = String, Path, description = "The merchant number")),
    responses(
        (status = 200, description = "The merchant's relay", body = RelayStatus),
        (status = 404, description = "`not_found`", body = ErrorBody),
        AdminErrors,
    ),
    security(("admin_token" = [])))]
pub async fn show(
    State(sandbox): State<Sandbox>,
    principal: Principal,
    ApiPath(mid): ApiPath<String>,
) -> Result<Json<RelayStatus>, ApiError> {
    let merchant = visible(&sandbox, &principal, &mid).await?;
    let mut status = status_of(&sandbox.relay, &merchant.mid, merchant.delivery);
    status.held_elsewhere = sandbox
        .relay
        .registry()
        .held_elsewhere()
        .await?
        .contains(&merchant.mid);
    Ok(Json(status))
}
