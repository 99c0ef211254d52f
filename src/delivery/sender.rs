//! The outgoing HTTP call of one try, and how its result is classified.
//!
//! Only HTTP 200 is success, with the answer body the notification's success rule asks
//! for, if any. Redirects are never followed: a 3xx is a failed try like any other
//! non-200 status. Only the first [`RESPONSE_BODY_LIMIT`] bytes of an answer are kept.
//! Connections go only where the egress guard admits: its resolver filters the
//! addresses a name resolves to, and a literal address is checked before the request.
//!
//! A notice of a merchant in relay mode is not sent over HTTP: the same bytes and
//! headers go down the merchant's `ums-notify listen` session ([`crate::relay`]), and
//! the answer that comes back is judged here by the same rule.

use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE, USER_AGENT};

use crate::egress::{EgressGuard, NotAllowed};
use crate::outbox::{FailureKind, SuccessRule};
use crate::platform::merchants::merchant::DeliveryMode;
use crate::policy::success::{BodyMatch, Verdict};
use crate::relay::{self, Relay};

/// How much of a merchant's answer is kept with the attempt.
pub const RESPONSE_BODY_LIMIT: usize = 4096;

/// What one try produced.
#[derive(Debug, Clone)]
pub struct TryResult {
    pub duration: Duration,
    pub status_code: Option<u16>,
    pub failure: Option<FailureKind>,
    pub message: Option<String>,
    pub response_body: Option<Vec<u8>>,
}

/// One HTTP request to make.
pub struct Outgoing<'a> {
    pub notification_id: i64,
    /// The try's number over the notification's life, from 1.
    pub attempt: u32,
    pub kind: &'a str,
    /// The merchant the notice belongs to, if any: its delivery setting applies.
    pub tenant: Option<&'a str>,
    pub subject: Option<&'a str>,
    pub url: &'a str,
    pub success: &'a SuccessRule,
    pub body: &'a [u8],
    pub content_type: &'a str,
    pub headers: &'a [(String, String)],
}

/// Sends notifications; cheap to clone (the connection pool is shared).
#[derive(Clone)]
pub struct Sender {
    client: reqwest::Client,
    egress: EgressGuard,
    timeout: Duration,
    /// The merchants' relay sessions, when the application has them.
    relay: Option<Relay>,
}

impl Sender {
    pub fn new(timeout: Duration, egress: &EgressGuard) -> anyhow::Result<Self> {
        let client = egress
            .client_builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .pool_idle_timeout(Duration::from_secs(30))
            .build()?;
        Ok(Self {
            client,
            egress: egress.clone(),
            timeout,
            relay: None,
        })
    }

    /// Sends the notices of relay-mode merchants down their sessions.
    pub fn with_relay(mut self, relay: Relay) -> Self {
        self.relay = Some(relay);
        self
    }

    pub async fn send(&self, outgoing: &Outgoing<'_>, extra: HeaderMap) -> TryResult {
        if let (Some(relay), Some(tenant)) = (&self.relay, outgoing.tenant) {
            let started = Instant::now();
            match relay.mode(tenant).await {
                Ok(DeliveryMode::Http) => {}
                Ok(DeliveryMode::Relay) => {
                    let headers = header_list(&request_headers(outgoing, extra));
                    return relay::relayed(relay, tenant, outgoing, headers, self.timeout).await;
                }
                Err(error) => {
                    return TryResult {
                        duration: started.elapsed(),
                        status_code: None,
                        failure: Some(FailureKind::Other),
                        message: Some(format!(
                            "could not read the merchant's delivery setting: {error:#}"
                        )),
                        response_body: None,
                    }
                }
            }
        }
        let started = Instant::now();
        // A literal address never reaches the guard's resolver.
        if let Err(refused) = self.egress.admit_url(outgoing.url) {
            return TryResult {
                duration: started.elapsed(),
                status_code: None,
                failure: Some(FailureKind::DestinationNotAllowed),
                message: Some(refused.to_string()),
                response_body: None,
            };
        }
        let result = self.exchange(outgoing, extra).await;
        let duration = started.elapsed();
        match result {
            Ok((status, body)) => judged(outgoing.success, status, body, duration),
            Err(error) => TryResult {
                duration,
                status_code: None,
                failure: Some(classify(&error)),
                message: Some(describe(&error)),
                response_body: None,
            },
        }
    }

    async fn exchange(
        &self,
        outgoing: &Outgoing<'_>,
        extra: HeaderMap,
    ) -> Result<(u16, Vec<u8>), reqwest::Error> {
        let headers = request_headers(outgoing, extra);
        let mut response = self
            .client
            .post(outgoing.url)
            .headers(headers)
            .body(outgoing.body.to_vec())
            .send()
            .await?;
        let status = response.status().as_u16();
        let mut body = Vec::new();
        while body.len() < RESPONSE_BODY_LIMIT {
            match response.chunk().await? {
                Some(chunk) => {
                    let room = RESPONSE_BODY_LIMIT - body.len();
                    body.extend_from_slice(&chunk[..chunk.len().min(room)]);
                }
                None => break,
            }
        }
        Ok((status, body))
    }
}

/// Every header of a try's request, in the order it is sent.
fn request_headers(outgoing: &Outgoing<'_>, extra: HeaderMap) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        USER_AGENT,
        HeaderValue::from_static(concat!("ums-notify/", env!("CARGO_PKG_VERSION"))),
    );
    for (name, value) in outgoing.headers {
        // Names and values were validated when the notification was accepted.
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            headers.append(name, value);
        }
    }
    if let Ok(content_type) = HeaderValue::from_str(outgoing.content_type) {
        headers.insert(CONTENT_TYPE, content_type);
    }
    headers.extend(extra);
    headers
}

/// A header map as name/value pairs (values as text; they were checked as such).
fn header_list(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect()
}

/// The try's result for an answer: delivered, or why not, by the notice's success rule.
/// HTTP tries and relayed tries are judged alike.
pub(crate) fn judged(
    success: &SuccessRule,
    status: u16,
    body: Vec<u8>,
    duration: Duration,
) -> TryResult {
    let (failure, message) = match success.judge(status, &body) {
        Verdict::Delivered => (None, None),
        Verdict::WrongStatus => (
            Some(FailureKind::HttpStatus),
            Some(format!("HTTP {status}; only 200 counts as success")),
        ),
        Verdict::WrongBody { expected, matching } => (
            Some(FailureKind::UnexpectedBody),
            Some(format!(
                "HTTP 200 but the answer was {:?}, {} {expected:?}",
                String::from_utf8_lossy(&body[..body.len().min(64)]),
                match matching {
                    BodyMatch::Exact => "not",
                    BodyMatch::Contains => "which does not contain",
                }
            )),
        ),
    };
    TryResult {
        duration,
        status_code: Some(status),
        failure,
        message,
        response_body: Some(body),
    }
}

fn classify(error: &reqwest::Error) -> FailureKind {
    if NotAllowed::in_chain(error).is_some() {
        FailureKind::DestinationNotAllowed
    } else if error.is_timeout() {
        FailureKind::Timeout
    } else if error.is_connect() {
        FailureKind::Connect
    } else {
        FailureKind::Other
    }
}

/// The error with its whole cause chain, which is where the useful part usually is
/// ("connection refused", "dns error: ..."); the guard's refusal alone when it refused.
pub(crate) fn describe(error: &reqwest::Error) -> String {
    if let Some(refused) = NotAllowed::in_chain(error) {
        return refused.to_string();
    }
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
