//! One try of a claimed notification: sign it, send it, classify the answer and decide
//! the next step. Knows nothing of claims, caps or the loop around it.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::recorder::Done;
use super::sender::{Outgoing, Sender};
use super::signing::Signers;
use crate::clock::Clock;
use crate::metrics::Metrics;
use crate::outbox::{AttemptRecord, Claimed};

/// What one try needs: the HTTP client, the signers, the clock and the metrics.
pub(super) struct Trier {
    pub sender: Sender,
    pub metrics: Metrics,
    pub clock: Clock,
    pub signers: Signers,
    /// Cancelled when the shutdown grace period is over: running tries stop.
    pub hard_stop: CancellationToken,
}

/// How long a notification whose request could not be prepared waits before its next
/// chance; no try is counted for it.
const PREPARE_RETRY: Duration = Duration::from_secs(5);

impl Trier {
    /// One try of a claimed notification: sign, send, classify, and decide the next step.
    pub async fn try_once(&self, job: &Claimed) -> Done {
        let notification = &job.notification;
        self.metrics.inflight.inc();
        let started_at = self.clock.now();
        let attempt = async {
            let extra = self.signers.headers(notification).await?;
            let outgoing = Outgoing {
                notification_id: notification.id,
                attempt: notification.attempts + 1,
                kind: &notification.kind,
                tenant: notification.tenant.as_deref(),
                subject: notification.subject.as_deref(),
                url: &notification.destination.url,
                success: &notification.success,
                body: &notification.body,
                content_type: &notification.content_type,
                headers: &notification.headers,
            };
            anyhow::Ok(self.sender.send(&outgoing, extra).await)
        };
        let result = tokio::select! {
            result = attempt => Some(result),
            _ = self.hard_stop.cancelled() => None,
        };
        self.metrics.inflight.dec();

        let hand_back = |due_at| Done::HandBack {
            id: notification.id,
            lease_token: job.lease_token,
            due_at,
        };
        match result {
            None => hand_back(self.clock.now()),
            Some(Err(error)) => {
                // Nothing was sent, so no try is spent: a database blip while signing must
                // not use up a notification's tries.
                tracing::warn!(
                    error = format!("{error:#}"),
                    "could not prepare the request; handing the notification back"
                );
                hand_back(
                    self.clock.now()
                        + chrono::Duration::from_std(PREPARE_RETRY).unwrap_or_default(),
                )
            }
            Some(Ok(result)) => {
                let next = notification.policy.next_step(
                    result.failure.is_none(),
                    notification.round_attempts,
                    self.clock.now(),
                );
                self.metrics.record_attempt(result.failure, result.duration);
                match result.failure {
                    None => tracing::debug!(status = result.status_code, "try delivered"),
                    Some(failure) => tracing::info!(
                        status = result.status_code,
                        failure = failure.as_str(),
                        detail = result.message.as_deref().unwrap_or(""),
                        next = ?next,
                        "try failed"
                    ),
                }
                Done::Attempt {
                    record: AttemptRecord {
                        notification_id: notification.id,
                        lease_token: job.lease_token,
                        number: notification.attempts + 1,
                        started_at,
                        duration_ms: result.duration.as_millis() as i64,
                        status_code: result.status_code,
                        failure: result.failure,
                        message: result.message,
                        response_body: result.response_body,
                        next,
                    },
                    created_at: notification.created_at,
                }
            }
        }
    }
}
