//! One request of a check and what came back: notices built and signed exactly like the
//! sandbox's own, sent without following redirects and only where the egress guard
//! admits, and recorded as an [`Exchange`].

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, LOCATION, USER_AGENT};
use serde::{Deserialize, Serialize};

use super::Target;
use crate::clock::Clock;
use crate::egress::{EgressGuard, NotAllowed};
use crate::platform::auth::{
    format_compact_timestamp, generate_credential, open_body_sig_header, CREDENTIAL_LEN,
};
use crate::platform::contracts::contract::{contract_id, ContractState};
use crate::platform::contracts::notice::ContractNotification;
use crate::platform::wire::time::format_cst;
use crate::policy::success::Verdict;
use crate::policy::SuccessRule;

/// How much of an answer's body a report keeps.
pub const ANSWER_BODY_LIMIT: usize = crate::delivery::sender::RESPONSE_BODY_LIMIT;

/// A request as it went on the wire.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SentRequest {
    pub method: String,
    pub url: String,
    /// `[name, value]` pairs in the order sent.
    #[schema(value_type = Vec<Vec<String>>)]
    pub headers: Vec<(String, String)>,
    pub body: String,
}

/// The answer to a request, or why there was none.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Answer {
    /// The HTTP status; absent when no answer came.
    pub status: Option<u16>,
    /// The first [`ANSWER_BODY_LIMIT`] bytes of the body (lossy UTF-8).
    pub body: Option<String>,
    /// The `Location` header of a redirect.
    pub location: Option<String>,
    /// Why no answer came: a timeout, a refused connection, a TLS failure, ….
    pub error: Option<String>,
    /// From sending the request to the end of the answer's kept body.
    pub time_ms: f64,
}

impl Answer {
    pub fn is_ok(&self) -> bool {
        self.status == Some(200)
    }

    /// Whether the platform counts the answer to a payment-result notice as delivered:
    /// HTTP 200 with an answer containing `SUCCESS`, the rule its deliveries use.
    pub fn says_success(&self) -> bool {
        self.meets(&SuccessRule::containing(
            crate::platform::payments::notice::SUCCESS_BODY,
        ))
    }

    /// HTTP 200 with the answer exactly `SUCCESS` (surrounding whitespace aside), as the
    /// spec asks merchants to answer.
    pub fn says_exactly_success(&self) -> bool {
        self.meets(&SuccessRule::with_body(
            crate::platform::payments::notice::SUCCESS_BODY,
        ))
    }

    fn meets(&self, rule: &SuccessRule) -> bool {
        match (self.status, &self.body) {
            (Some(status), Some(body)) => rule.judge(status, body.as_bytes()) == Verdict::Delivered,
            _ => false,
        }
    }

    /// "HTTP 200 \"FAILED\"": the status and the start of the body, for payment checks.
    pub fn describe_with_body(&self) -> String {
        match (&self.body, self.status) {
            (Some(body), Some(_)) => {
                let shown: String = body.trim().chars().take(40).collect();
                format!("{} {shown:?}", self.describe())
            }
            _ => self.describe(),
        }
    }

    pub fn is_redirect(&self) -> bool {
        self.status.is_some_and(|s| (300..400).contains(&s))
    }

    /// "HTTP 500", or the reason no answer came.
    pub fn describe(&self) -> String {
        match (self.status, &self.error) {
            (Some(status), _) => format!("HTTP {status}"),
            (None, Some(error)) => format!("no answer ({error})"),
            (None, None) => "no answer".to_owned(),
        }
    }
}

/// One request and its answer.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Exchange {
    pub request: SentRequest,
    pub answer: Answer,
}

/// How a request is signed.
pub enum Signing<'a> {
    /// With the merchant's key, a fresh nonce and the current time, as the platform does.
    Valid,
    /// With the merchant's key and this `Timestamp` and `Nonce`.
    With { timestamp: &'a str, nonce: &'a str },
    /// With another key than the merchant's.
    ForeignKey(&'a str),
    /// Signed over `signed`, but another body is sent.
    OverOtherBody(&'a [u8]),
    /// No `Authorization` header.
    None,
}

/// Builds, signs and sends the notices of one run.
pub struct Probe {
    client: reqwest::Client,
    target: Target,
    clock: Clock,
    /// Distinguishes this run's contract numbers from any other run's.
    run_tag: String,
    contracts: AtomicU32,
}

impl Probe {
    /// A probe whose requests go only where `egress` admits; a notify URL with a literal
    /// address it refuses is refused here.
    pub fn new(
        target: Target,
        timeout: Duration,
        clock: Clock,
        egress: &EgressGuard,
    ) -> anyhow::Result<Self> {
        egress.admit_url(&target.notify_url)?;
        let client = egress
            .client_builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .build()?;
        Ok(Self {
            client,
            target,
            clock,
            run_tag: generate_credential(8).to_uppercase(),
            contracts: AtomicU32::new(0),
        })
    }

    pub fn target(&self) -> &Target {
        &self.target
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// A notice of a new contract in `state`, stamped now.
    pub fn notice(&self, state: ContractState) -> ContractNotification {
        let n = self.contracts.fetch_add(1, Ordering::Relaxed) + 1;
        let now = self.clock.now();
        let signed = !matches!(state, ContractState::Unsigned);
        ContractNotification {
            request_timestamp: format_cst(now),
            mid: self.target.mid.clone(),
            contract_no: format!("CHECK{}{n:04}", self.run_tag),
            contract_id: contract_id(),
            contract_state: state.as_str().to_owned(),
            contract_signed_time: if signed {
                format_cst(now)
            } else {
                String::new()
            },
            contract_expired_time: if signed {
                format_cst(now + chrono::Duration::days(365))
            } else {
                String::new()
            },
            single_limit_amt: "500.00".to_owned(),
            avl_num: "30".to_owned(),
            plan_id: "CHECKPLAN".to_owned(),
        }
    }

    /// A fresh `Timestamp` and `Nonce` pair for a signature made now.
    pub fn fresh_stamp(&self) -> (String, String) {
        (
            format_compact_timestamp(self.clock.now()),
            generate_credential(CREDENTIAL_LEN),
        )
    }

    /// The `Authorization` value of `body` signed as `signing` says (`None` for none).
    fn authorization(&self, body: &[u8], signing: &Signing<'_>) -> Option<String> {
        let (app_id, key) = (&self.target.app_id, self.target.app_key.expose());
        let (timestamp, nonce) = self.fresh_stamp();
        match signing {
            Signing::Valid => Some(open_body_sig_header(app_id, key, &timestamp, &nonce, body)),
            Signing::With { timestamp, nonce } => {
                Some(open_body_sig_header(app_id, key, timestamp, nonce, body))
            }
            Signing::ForeignKey(other) => Some(open_body_sig_header(
                app_id, other, &timestamp, &nonce, body,
            )),
            Signing::OverOtherBody(signed) => Some(open_body_sig_header(
                app_id, key, &timestamp, &nonce, signed,
            )),
            Signing::None => None,
        }
    }

    /// POSTs `body` to the notify URL, signed as `signing` says.
    pub async fn send(&self, body: &[u8], signing: Signing<'_>) -> Exchange {
        let authorization = self.authorization(body, &signing);
        self.post(body, "application/json", authorization).await
    }

    /// POSTs a payment-result notice's form `body` (its `sign` is in the body).
    pub async fn send_form(&self, body: &[u8]) -> Exchange {
        self.post(body, crate::platform::payments::notice::CONTENT_TYPE, None)
            .await
    }

    async fn post(
        &self,
        body: &[u8],
        content_type: &str,
        authorization: Option<String>,
    ) -> Exchange {
        let mut headers = vec![
            ("Content-Type".to_owned(), content_type.to_owned()),
            (
                "User-Agent".to_owned(),
                concat!("ums-notify-check/", env!("CARGO_PKG_VERSION")).to_owned(),
            ),
        ];
        if let Some(value) = authorization {
            headers.push(("Authorization".to_owned(), value));
        }
        let request = SentRequest {
            method: "POST".to_owned(),
            url: self.target.notify_url.clone(),
            headers,
            body: String::from_utf8_lossy(body).into_owned(),
        };
        let started = Instant::now();
        let mut builder = self
            .client
            .post(&self.target.notify_url)
            .body(body.to_vec());
        for (name, value) in &request.headers {
            builder = match name.as_str() {
                "Content-Type" => builder.header(CONTENT_TYPE, value),
                "User-Agent" => builder.header(USER_AGENT, value),
                _ => builder.header(AUTHORIZATION, value),
            };
        }
        let answer = match builder.send().await {
            Ok(mut response) => {
                let status = response.status().as_u16();
                let location = response
                    .headers()
                    .get(LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                let mut kept = Vec::new();
                let mut error = None;
                while kept.len() < ANSWER_BODY_LIMIT {
                    match response.chunk().await {
                        Ok(Some(chunk)) => {
                            let room = ANSWER_BODY_LIMIT - kept.len();
                            kept.extend_from_slice(&chunk[..chunk.len().min(room)]);
                        }
                        Ok(None) => break,
                        Err(e) => {
                            error = Some(format!("the answer's body broke off: {}", describe(&e)));
                            break;
                        }
                    }
                }
                Answer {
                    status: Some(status),
                    body: Some(String::from_utf8_lossy(&kept).into_owned()),
                    location,
                    error,
                    time_ms: elapsed_ms(started),
                }
            }
            Err(error) => Answer {
                status: None,
                body: None,
                location: None,
                error: Some(describe(&error)),
                time_ms: elapsed_ms(started),
            },
        };
        Exchange { request, answer }
    }
}

fn elapsed_ms(started: Instant) -> f64 {
    (started.elapsed().as_secs_f64() * 1e6).round() / 1e3
}

/// What went wrong, in words: the egress guard's refusal, timeouts and refused
/// connections named first, then the error with its cause chain as the sender tells it.
fn describe(error: &reqwest::Error) -> String {
    let kind = if NotAllowed::in_chain(error).is_some() {
        "not sent"
    } else if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    format!("{kind}: {}", crate::delivery::sender::describe(error))
}
