//! The platform-style answer of the public platform API: `{"errCode", "errInfo", …}`.
//!
//! Like the platform, every answer the platform decides — success, a bad field, a
//! business rule, an authentication failure — is HTTP 200 and the client reads
//! `errCode`; an internal error (`9999`) is HTTP 500, and a request that reaches no API
//! is HTTP 404 (`4004`) or 405 (`4005`, see [`super::unmatched`]); an appId over its
//! request budget is HTTP 429 (`4029`) with `Retry-After`. The codes are in
//! [`crate::platform::wire::errcode::ErrCode`].

use axum::http::header::RETRY_AFTER;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::limits::OverBudget;
use crate::platform::wire::errcode::ErrCode;
use crate::platform::wire::fields::FieldError;

#[derive(Debug)]
pub struct PlatformError {
    pub code: ErrCode,
    pub info: String,
    /// Whole seconds for a `Retry-After` header (an answer over the budget has one).
    pub retry_after: Option<u64>,
}

impl PlatformError {
    pub fn new(code: ErrCode, info: impl Into<String>) -> Self {
        Self {
            code,
            info: info.into(),
            retry_after: None,
        }
    }

    /// `4029`: the caller is over its request budget; it may retry after the wait.
    pub fn over_budget(refused: OverBudget) -> Self {
        Self {
            retry_after: Some(refused.retry_after_secs),
            ..Self::new(
                ErrCode::RateLimited,
                format!(
                    "too many requests: this appId's budget is {}; retry after {}s",
                    refused.budget, refused.retry_after_secs
                ),
            )
        }
    }

    /// Logs the cause and answers `9999` without revealing it.
    pub fn internal(error: anyhow::Error) -> Self {
        tracing::error!(error = format!("{error:#}"), "platform request failed");
        Self::new(
            ErrCode::InternalError,
            "internal error; the service log has the details",
        )
    }
}

impl From<anyhow::Error> for PlatformError {
    fn from(error: anyhow::Error) -> Self {
        Self::internal(error)
    }
}

impl From<FieldError> for PlatformError {
    fn from(error: FieldError) -> Self {
        Self::new(error.err_code, error.message)
    }
}

impl IntoResponse for PlatformError {
    fn into_response(self) -> Response {
        let status = match self.code {
            ErrCode::InternalError => StatusCode::INTERNAL_SERVER_ERROR,
            ErrCode::NoSuchApi => StatusCode::NOT_FOUND,
            ErrCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ErrCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            _ => StatusCode::OK,
        };
        let body = Json(json!({"errCode": self.code.code(), "errInfo": self.info}));
        match self.retry_after {
            Some(secs) => (status, [(RETRY_AFTER, secs.to_string())], body).into_response(),
            None => (status, body).into_response(),
        }
    }
}

/// Every platform answer: `errCode` (`0000` on success) and `errInfo`, plus the
/// operation's own fields on success.
#[derive(utoipa::ToSchema)]
#[allow(dead_code, non_snake_case)]
pub struct PlatformAnswer {
    /// `0000` on success; the guide lists every code.
    #[schema(example = "0000")]
    errCode: String,
    errInfo: String,
}

/// A successful answer: `errCode` `0000` and the fields of `payload` (a struct or map).
pub fn success(payload: impl Serialize) -> Result<Json<Value>, PlatformError> {
    let mut answer = Map::new();
    answer.insert("errCode".into(), ErrCode::Success.code().into());
    answer.insert("errInfo".into(), "success".into());
    match serde_json::to_value(payload).map_err(anyhow::Error::from)? {
        Value::Object(fields) => answer.extend(fields),
        other => return Err(anyhow::anyhow!("answer payload is not an object: {other}").into()),
    }
    Ok(Json(Value::Object(answer)))
}

/// Reads a request body as a JSON object. Fields are strings; unknown fields are
/// ignored, as the platform's requests carry more than the simulation uses.
pub fn parse_body<T: serde::de::DeserializeOwned>(
    body: &[u8],
    code: ErrCode,
) -> Result<T, PlatformError> {
    serde_json::from_slice(body).map_err(|error| {
        PlatformError::new(
            code,
            format!("the body must be a JSON object whose fields are strings: {error}"),
        )
    })
}
