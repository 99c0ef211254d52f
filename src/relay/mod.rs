//! The relay behind `ums-notify listen`: a merchant's developer opens a WebSocket to the
//! sandbox with the merchant's access key, and while the merchant's `delivery` setting is
//! `relay`, every try of its notices goes down that session instead of over HTTP. The
//! `listen` command POSTs the exact bytes and headers to the local handler and sends the
//! answer back; the sandbox judges it by the notice's own success rule and records it
//! like any try.
//!
//! - [`frames`]: the wire protocol (JSON frames, bodies as base64 of the raw bytes).
//! - [`hub`]: this instance's live sessions and the tries waiting for answers.
//! - [`session`]: the WebSocket route and the session's status route.
//!
//! Sessions live in the memory of the instance they connected to. With several instances
//! on PostgreSQL a try claimed by an instance without the merchant's session fails
//! `relay_offline` and is retried on the schedule (see docs/operations.md).

pub mod frames;
pub mod hub;
pub mod registry;
pub mod session;

use std::time::Duration;

pub use hub::Relay;

use crate::delivery::sender::{judged, Outgoing, TryResult};
use crate::outbox::FailureKind;
use hub::{Exchange, Reply};

/// One try of `tenant`'s notice down its session, judged like an HTTP answer.
pub(crate) async fn relayed(
    relay: &Relay,
    tenant: &str,
    outgoing: &Outgoing<'_>,
    headers: Vec<(String, String)>,
    timeout: Duration,
) -> TryResult {
    let started = std::time::Instant::now();
    let frame = hub::try_frame(
        outgoing.notification_id,
        outgoing.attempt,
        outgoing.kind,
        outgoing.subject,
        headers,
        outgoing.body,
    );
    let failed = |failure, message: String, duration| TryResult {
        duration,
        status_code: None,
        failure: Some(failure),
        message: Some(message),
        response_body: None,
    };
    match relay.exchange(tenant, frame, timeout).await {
        Exchange::Offline => failed(
            FailureKind::RelayOffline,
            format!(
                "merchant {tenant} delivers through its relay, and no `ums-notify listen` session of it is connected"
            ),
            started.elapsed(),
        ),
        Exchange::Closed => failed(
            FailureKind::RelayOffline,
            "the relay session closed before the answer came back".to_owned(),
            started.elapsed(),
        ),
        Exchange::TimedOut => failed(
            FailureKind::Timeout,
            format!(
                "the relay's answer did not come back within {}s",
                timeout.as_secs_f64()
            ),
            started.elapsed(),
        ),
        Exchange::Replied(Reply::Answer {
            status,
            body,
            duration,
        }) => judged(outgoing.success, status, body, duration),
        Exchange::Replied(Reply::Failed {
            kind,
            message,
            duration,
        }) => {
            let failure = match kind.as_str() {
                "connect" => FailureKind::Connect,
                "timeout" => FailureKind::Timeout,
                _ => FailureKind::Other,
            };
            failed(
                failure,
                format!("relayed, but the local handler failed: {message}"),
                duration,
            )
        }
    }
}
