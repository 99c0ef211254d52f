//! A notification as the admin API is asked to create it ([`CreateRequest`]), and how
//! such a request is checked into a [`NewNotification`]: the URL (and the egress
//! guard), the body, the headers, the retry policy and the success rule.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::{ApiError, AppState};
use crate::duration::parse_duration;
use crate::outbox::NewNotification;
use crate::policy::success::MAX_SUCCESS_BODY;
use crate::policy::{
    BodyMatch, Destination, RetryPolicy, RetrySchedule, SuccessRule, MAX_ATTEMPTS_LIMIT,
};

/// A notification to send. Give the body as JSON (`body`) or as text (`body_text` with
/// its `content_type`); every try sends exactly these bytes.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRequest {
    /// The merchant's notify URL: absolute `http` or `https`. Required.
    #[schema(example = "https://shop.example/ums/notify")]
    url: Option<String>,
    /// The body as JSON, sent byte for byte as given.
    #[schema(value_type = Option<serde_json::Value>)]
    body: Option<Box<RawValue>>,
    /// The body as text; needs `content_type`.
    body_text: Option<String>,
    /// Defaults to `application/json` for `body`.
    content_type: Option<String>,
    /// Extra request headers sent with every try.
    #[serde(default)]
    headers: BTreeMap<String, String>,
    /// Tries, the first included (1 to 100; the service default otherwise).
    max_attempts: Option<u32>,
    /// Delays between tries, such as `["15s", "1m"]`; the last repeats.
    retry_schedule: Option<Vec<String>>,
    /// A repeated key answers the notification it already names (200) instead of
    /// creating another.
    idempotency_key: Option<String>,
    /// What counts as delivered: HTTP 200 always, and `body` when given (the answer,
    /// trimmed, equal to it, or containing it with `match: contains`). Without it, HTTP
    /// 200 alone.
    success: Option<SuccessRequest>,
}

/// The success rule of a new notification.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SuccessRequest {
    /// Only 200 is accepted: the platform counts nothing else as delivered.
    #[schema(example = 200)]
    status: Option<u16>,
    /// The answer body that must come with the 200, such as `SUCCESS`.
    #[schema(example = "SUCCESS")]
    body: Option<String>,
    /// How `body` is compared: `exact` (the default; the answer, trimmed, is the body) or
    /// `contains` (the answer contains it, as the payment-result notices are judged).
    #[serde(rename = "match")]
    matching: Option<BodyMatch>,
}

/// Checks a success rule: status 200 only, a body of printable text.
fn success_rule(request: Option<SuccessRequest>) -> Result<SuccessRule, ApiError> {
    let Some(request) = request else {
        return Ok(SuccessRule::default());
    };
    let bad = |message: String| ApiError::invalid("invalid_success", message);
    if let Some(status) = request.status.filter(|s| *s != 200) {
        return Err(bad(format!(
            "`success.status` is {status}; only HTTP 200 counts as delivered, so it may only be 200"
        )));
    }
    match request.body {
        None if request.matching.is_some() => Err(bad(
            "`success.match` says how `success.body` is compared, but no `success.body` was given"
                .to_owned(),
        )),
        None => Ok(SuccessRule::default()),
        Some(body) => {
            let trimmed = body.trim();
            if trimmed.is_empty()
                || trimmed.len() > MAX_SUCCESS_BODY
                || trimmed.chars().any(char::is_control)
            {
                return Err(bad(format!(
                    "`success.body` must be 1 to {MAX_SUCCESS_BODY} bytes of text without control characters"
                )));
            }
            Ok(SuccessRule {
                matching: request.matching.unwrap_or_default(),
                ..SuccessRule::with_body(trimmed)
            })
        }
    }
}

/// Headers the service sets itself or that would corrupt the request.
const RESERVED_HEADERS: &[&str] = &[
    "host",
    "content-length",
    "content-type",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "upgrade",
    "te",
    "trailer",
    "proxy-connection",
];

/// Checks a destination URL: absolute http(s) with a host.
pub fn validate_url(url: &str) -> Result<Destination, ApiError> {
    Destination::parse(url)
        .map_err(|error| ApiError::invalid("invalid_url", format!("`url` {error}")))
}

/// The `kind` of notifications sent through this API.
pub const GENERIC_KIND: &str = "generic";

pub(super) fn build(request: CreateRequest, state: &AppState) -> Result<NewNotification, ApiError> {
    let defaults = &state.defaults;
    let url = request
        .url
        .ok_or_else(|| ApiError::invalid("missing_url", "`url` is required"))?;
    let destination = validate_url(&url)?;
    state
        .egress
        .admit_url(&destination.url)
        .map_err(|refused| ApiError::destination_not_allowed("url", &refused))?;
    let (body, content_type) = match (request.body, request.body_text) {
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid(
                "conflicting_body",
                "give either `body` (JSON) or `body_text`, not both",
            ))
        }
        (Some(json), None) => (
            json.get().as_bytes().to_vec(),
            request
                .content_type
                .unwrap_or_else(|| "application/json".to_owned()),
        ),
        (None, Some(text)) => (
            text.into_bytes(),
            request.content_type.ok_or_else(|| {
                ApiError::invalid("missing_content_type", "`body_text` needs a `content_type`")
            })?,
        ),
        (None, None) => {
            return Err(ApiError::invalid(
                "missing_body",
                "give the notification's `body` (JSON) or `body_text` with `content_type`",
            ))
        }
    };
    if body.len() > defaults.max_body_bytes {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!(
                "the notification body has {} bytes; the limit is {}",
                body.len(),
                defaults.max_body_bytes
            ),
        ));
    }
    if content_type
        .parse::<reqwest::header::HeaderValue>()
        .is_err()
        || !content_type.contains('/')
    {
        return Err(ApiError::invalid(
            "invalid_content_type",
            "`content_type` must be a media type such as application/json",
        ));
    }
    let mut headers = Vec::with_capacity(request.headers.len());
    for (name, value) in request.headers {
        let valid = reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_ok()
            && reqwest::header::HeaderValue::from_str(&value).is_ok();
        if !valid || RESERVED_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
            return Err(ApiError::invalid(
                "invalid_header",
                format!("header {name:?} is not a valid or allowed request header"),
            ));
        }
        headers.push((name, value));
    }
    let max_attempts = request.max_attempts.unwrap_or(defaults.policy.max_attempts);
    if !(1..=MAX_ATTEMPTS_LIMIT).contains(&max_attempts) {
        return Err(ApiError::invalid(
            "invalid_max_attempts",
            format!("`max_attempts` must be between 1 and {MAX_ATTEMPTS_LIMIT}"),
        ));
    }
    let retry_schedule = match request.retry_schedule {
        None => defaults.policy.schedule.clone(),
        Some(list) => list
            .iter()
            .map(|d| parse_duration(d).map_err(|e| e.to_string()))
            .collect::<Result<Vec<_>, _>>()
            .and_then(|delays| RetrySchedule::new(delays).map_err(|e| e.to_string()))
            .map_err(|e| ApiError::invalid("invalid_retry_schedule", e))?,
    };
    if let Some(key) = &request.idempotency_key {
        if key.is_empty() || key.len() > 200 || key.chars().any(char::is_control) {
            return Err(ApiError::invalid(
                "invalid_idempotency_key",
                "`idempotency_key` must have 1 to 200 characters, none of them a control character",
            ));
        }
    }
    let success = success_rule(request.success)?;
    Ok(NewNotification {
        destination,
        success,
        body,
        content_type,
        headers,
        policy: RetryPolicy {
            max_attempts,
            schedule: retry_schedule,
        },
        idempotency_key: request.idempotency_key,
        tenant: None,
        subject: None,
        kind: GENERIC_KIND.to_owned(),
    })
}
