//! The gate in front of the admin API: who the `Authorization: Bearer` credential
//! names (the operator's admin token or a merchant access key), the merchant's request
//! budget, and the route's scope rule. Refusals are counted by reason.

use std::sync::Arc;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header::{AUTHORIZATION, RETRY_AFTER};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus::IntCounterVec;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::keys::{AccessKeys, KEY_PREFIX};
use super::scope::{self, Scope};
use super::Principal;
use crate::admin::ApiError;
use crate::limits::RateLimits;

/// The admin token, kept only as its digest so comparisons take the same time whatever
/// the input's length or content.
#[derive(Clone)]
pub struct AdminToken(Option<Arc<[u8; 32]>>);

impl AdminToken {
    pub fn new(token: Option<&str>) -> Self {
        Self(token.map(|t| Arc::new(Sha256::digest(t.as_bytes()).into())))
    }

    /// Whether a token is configured (otherwise everyone is the operator).
    pub fn configured(&self) -> bool {
        self.0.is_some()
    }

    /// Whether `given` is the admin token (anything is, when none is configured).
    pub fn accepts(&self, given: Option<&str>) -> bool {
        let Some(expected) = &self.0 else {
            return true;
        };
        let Some(given) = given else {
            return false;
        };
        let digest: [u8; 32] = Sha256::digest(given.trim().as_bytes()).into();
        digest.ct_eq(expected.as_ref()).into()
    }
}

/// Why a request was turned away at the gate: the label of the failure counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No `Authorization` header.
    Missing,
    /// An `Authorization` header that is not `Bearer <credential>`.
    Malformed,
    /// A bearer credential that is neither the admin token nor a live access key.
    Unknown,
    /// A merchant key on a route only the operator may call.
    Forbidden,
    /// A merchant key over its request budget.
    RateLimited,
}

impl Refusal {
    pub const ALL: [Refusal; 5] = [
        Refusal::Missing,
        Refusal::Malformed,
        Refusal::Unknown,
        Refusal::Forbidden,
        Refusal::RateLimited,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Refusal::Missing => "missing_credentials",
            Refusal::Malformed => "malformed_credentials",
            Refusal::Unknown => "unknown_credentials",
            Refusal::Forbidden => "forbidden",
            Refusal::RateLimited => "rate_limited",
        }
    }
}

/// What the gate needs. Cheap to clone.
#[derive(Clone)]
pub struct Gate {
    pub admin: AdminToken,
    pub keys: AccessKeys,
    /// The request budgets of merchant keys (per key, the merchant's budget).
    pub limits: Arc<RateLimits>,
    /// Refusals by surface and reason (`ums_notify_auth_failures_total`).
    pub failures: IntCounterVec,
}

impl Gate {
    fn refuse(&self, refusal: Refusal) {
        self.failures
            .with_label_values(&["admin", refusal.label()])
            .inc();
    }

    /// The principal a bearer credential names, or why it names none. A merchant's
    /// request spends one of its budget here.
    pub async fn principal(&self, header: Option<&str>) -> Result<Principal, Response> {
        let bearer = match header {
            None => None,
            Some(value) => match value.strip_prefix("Bearer ") {
                Some(credential) => Some(credential.trim()),
                None if !self.admin.configured() => None,
                None => return Err(self.unauthorized(Refusal::Malformed)),
            },
        };
        if let Some(key) = bearer.filter(|b| b.starts_with(KEY_PREFIX)) {
            let Some(holder) = self.keys.holder(key).await.map_err(|error| {
                ApiError::internal(error.context("looking up an access key")).into_response()
            })?
            else {
                return Err(self.unauthorized(Refusal::Unknown));
            };
            if let Err(over) = self.limits.check(&holder.key_id, holder.budget) {
                self.refuse(Refusal::RateLimited);
                let mut response = ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate_limited",
                    format!(
                        "too many requests: this access key's budget is {}; retry after {}s",
                        over.budget, over.retry_after_secs
                    ),
                )
                .into_response();
                if let Ok(value) = HeaderValue::from_str(&over.retry_after_secs.to_string()) {
                    response.headers_mut().insert(RETRY_AFTER, value);
                }
                return Err(response);
            }
            return Ok(Principal::Merchant {
                mid: holder.mid,
                key_id: holder.key_id,
            });
        }
        if self.admin.accepts(bearer) {
            return Ok(Principal::Operator);
        }
        Err(self.unauthorized(if header.is_none() {
            Refusal::Missing
        } else {
            Refusal::Unknown
        }))
    }

    fn unauthorized(&self, refusal: Refusal) -> Response {
        self.refuse(refusal);
        ApiError::unauthorized().into_response()
    }
}

/// Admits a request as its principal, or refuses it: 401 without a known credential,
/// 429 over a merchant key's budget, 403 on a route only the operator may call, 500 on
/// a route with no scope rule.
pub async fn admit(State(gate): State<Gate>, mut request: Request, next: Next) -> Response {
    let header = request
        .headers()
        .get(AUTHORIZATION)
        .map(|value| value.to_str().unwrap_or(""));
    let principal = match gate.principal(header).await {
        Ok(principal) => principal,
        Err(refused) => return refused,
    };
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_owned());
    let Some(rule) = route
        .as_deref()
        .and_then(|route| scope::rule(request.method(), route))
    else {
        return ApiError::internal(anyhow::anyhow!(
            "{} {} has no scope rule in access::scope::RULES",
            request.method(),
            route.as_deref().unwrap_or(request.uri().path())
        ))
        .into_response();
    };
    if rule == Scope::Operator && !principal.is_operator() {
        gate.refuse(Refusal::Forbidden);
        return ApiError::forbidden(
            "only the operator may call this endpoint; a merchant access key reaches its own merchant only",
        )
        .into_response();
    }
    request.extensions_mut().insert(principal);
    next.run(request).await
}
