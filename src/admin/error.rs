//! The one error type of every admin endpoint: a stable code, a human message, a status.
//!
//! Clients see `{"error": {"code": "...", "message": "..."}}`; the cause chain of an
//! internal error goes to the log, never to the client.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// For a request of many items: what is wrong with each bad one.
    pub items: Vec<ItemError>,
}

/// One bad item of a batch, named by its index in the request (from 0).
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ItemError {
    pub index: usize,
    #[schema(value_type = String)]
    pub code: &'static str,
    pub message: String,
}

/// The body of every error answer: `{"error": {"code", "message"}}`.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct ErrorBody {
    error: ErrorDetail,
}

/// A stable `code` for programs and a `message` for people.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct ErrorDetail {
    /// Stable: programs branch on it.
    code: String,
    /// Says what is wrong and how to put it right.
    message: String,
    /// For a batch: what is wrong with each bad item.
    #[schema(nullable = false)]
    items: Option<Vec<ItemError>>,
}

/// The errors any admin endpoint may answer, besides its own.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
pub enum AdminErrors {
    /// `malformed_json` (a body that is not JSON), `invalid_query` or `bad_request`.
    #[response(status = 400)]
    BadRequest(#[to_schema] ErrorBody),
    /// `unauthorized`: no or a wrong `Authorization: Bearer <admin token or access key>`.
    #[response(status = 401)]
    Unauthorized(ErrorBody),
    /// `forbidden`: a merchant access key on what only the operator may do.
    #[response(status = 403)]
    Forbidden(ErrorBody),
    /// `body_too_large`.
    #[response(status = 413)]
    TooLarge(ErrorBody),
    /// `unsupported_media_type`: a body without `Content-Type: application/json`.
    #[response(status = 415)]
    UnsupportedMediaType(ErrorBody),
    /// `rate_limited`: a merchant access key over its request budget; `Retry-After`
    /// says when to try again.
    #[response(status = 429)]
    RateLimited(ErrorBody),
    /// `internal`: the service log has the cause.
    #[response(status = 500)]
    Internal(ErrorBody),
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            items: Vec::new(),
        }
    }

    /// 422 naming every bad item of a batch.
    pub fn invalid_items(items: Vec<ItemError>) -> Self {
        let listed: Vec<String> = items
            .iter()
            .take(5)
            .map(|item| format!("item {}: {}", item.index, item.message))
            .collect();
        let more = items.len().saturating_sub(listed.len());
        let mut message = format!(
            "{} of the batch's items are not valid, so none was accepted: {}",
            items.len(),
            listed.join("; ")
        );
        if more > 0 {
            message.push_str(&format!("; and {more} more (see `items`)"));
        }
        Self {
            items,
            ..Self::invalid("invalid_items", message)
        }
    }

    /// 422: the request parsed but a field is not acceptable.
    /// `400 invalid_query`: a query string the endpoint cannot use.
    pub fn invalid_query(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_query", message)
    }

    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }

    /// 422 `destination_not_allowed`: the URL in `field` names an address the egress
    /// guard refuses.
    pub fn destination_not_allowed(field: &str, refused: &crate::egress::NotAllowed) -> Self {
        Self::invalid("destination_not_allowed", format!("`{field}`: {refused}"))
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} does not exist"),
        )
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }

    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "this endpoint needs `Authorization: Bearer <admin token>` or `Authorization: Bearer <merchant access key>`",
        )
    }

    /// Logs the cause and answers 500 without revealing it.
    pub fn internal(error: anyhow::Error) -> Self {
        tracing::error!(error = format!("{error:#}"), "request failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "an internal error occurred; the service log has the details",
        )
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(error: anyhow::Error) -> Self {
        Self::internal(error)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut error = json!({"code": self.code, "message": self.message});
        if !self.items.is_empty() {
            error["items"] = json!(self.items);
        }
        (self.status, Json(json!({ "error": error }))).into_response()
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::MissingJsonContentType(_) => Self::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the request body as JSON with `Content-Type: application/json`",
            ),
            JsonRejection::JsonSyntaxError(error) => Self::new(
                StatusCode::BAD_REQUEST,
                "malformed_json",
                format!("the request body is not valid JSON: {}", error.body_text()),
            ),
            JsonRejection::JsonDataError(error) => {
                let text = error.body_text();
                let code = if text.contains("unknown field") {
                    "unknown_field"
                } else {
                    "invalid_request"
                };
                Self::invalid(code, text)
            }
            JsonRejection::BytesRejection(error)
                if error.status() == StatusCode::PAYLOAD_TOO_LARGE =>
            {
                Self::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "body_too_large",
                    "the request body is larger than the service accepts",
                )
            }
            other => Self::new(StatusCode::BAD_REQUEST, "bad_request", other.body_text()),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            rejection.body_text(),
        )
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", rejection.body_text())
    }
}
