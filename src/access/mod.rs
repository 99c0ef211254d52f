//! Who is calling the admin API and the console, and what they may reach.
//!
//! A caller is a [`Principal`]: the operator (the admin token, or anyone when no token
//! is configured on loopback) or one merchant (a merchant access key, [`keys`]). The
//! [`gate`] decides which from the `Authorization` header, spends a merchant's request
//! budget and refuses what the route's [`scope`] rule keeps from it; each handler then
//! shows and changes only what the principal [`Principal::sees`].
//!
//! A merchant never learns whether another merchant's resource exists: it gets the same
//! 404 as for a resource that does not exist. What only an operator may do answers 403
//! `forbidden`.

pub mod gate;
pub mod keys;
pub mod scope;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::StatusCode;

use crate::admin::ApiError;

/// Who a request acts as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// The operator: sees and may do everything.
    Operator,
    /// A merchant, through one of its access keys.
    Merchant {
        /// The merchant's number.
        mid: String,
        /// The access key it used.
        key_id: String,
    },
}

impl Principal {
    /// The merchant this principal is confined to; `None` for the operator.
    pub fn merchant(&self) -> Option<&str> {
        match self {
            Principal::Operator => None,
            Principal::Merchant { mid, .. } => Some(mid),
        }
    }

    pub fn is_operator(&self) -> bool {
        matches!(self, Principal::Operator)
    }

    /// Whether a resource of merchant `mid` (or of no merchant, `None`) is visible to
    /// this principal. The operator sees everything; a merchant sees only its own.
    pub fn sees(&self, mid: Option<&str>) -> bool {
        match self.merchant() {
            None => true,
            Some(own) => mid == Some(own),
        }
    }

    /// The merchant a list is filtered to: the one asked for, confined to the
    /// principal's own. `Err` when a merchant asks for another merchant's, which
    /// matches nothing.
    pub fn list_filter(&self, asked: Option<String>) -> Result<Option<String>, NothingVisible> {
        match (self.merchant(), asked) {
            (None, asked) => Ok(asked),
            (Some(own), Some(asked)) if asked != own => Err(NothingVisible),
            (Some(own), _) => Ok(Some(own.to_owned())),
        }
    }

    /// Refuses a merchant what only the operator may do (403 `forbidden`).
    pub fn require_operator(&self, what: &str) -> Result<(), ApiError> {
        if self.is_operator() {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "only the operator may {what}; a merchant access key reaches its own merchant only"
            )))
        }
    }
}

/// A merchant asked for a list of another merchant's resources: the list is empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NothingVisible;

/// Read from the request's extensions, where the [`gate`] (or the console's session)
/// put it. A route that no gate guards has no principal: that is a fault of the router,
/// answered 500 rather than guessed at.
impl<S: Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Principal>().cloned().ok_or_else(|| {
            ApiError::internal(anyhow::anyhow!(
                "{} {} reached a handler without a principal: it is not behind the gate",
                parts.method,
                parts.uri.path()
            ))
        })
    }
}

impl ApiError {
    /// 403 `forbidden`: the caller is known but may not do this.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn merchant(mid: &str) -> Principal {
        Principal::Merchant {
            mid: mid.to_owned(),
            key_id: "ak_test".to_owned(),
        }
    }

    #[test]
    fn a_merchant_sees_only_its_own() {
        let a = merchant("A");
        assert!(a.sees(Some("A")));
        assert!(!a.sees(Some("B")));
        assert!(!a.sees(None));
        assert!(Principal::Operator.sees(None));
        assert!(Principal::Operator.sees(Some("B")));
    }

    #[test]
    fn lists_are_confined_to_the_merchant() {
        let a = merchant("A");
        assert_eq!(a.list_filter(None), Ok(Some("A".to_owned())));
        assert_eq!(
            a.list_filter(Some("A".to_owned())),
            Ok(Some("A".to_owned()))
        );
        assert_eq!(a.list_filter(Some("B".to_owned())), Err(NothingVisible));
        assert_eq!(Principal::Operator.list_filter(None), Ok(None));
        assert_eq!(
            Principal::Operator.list_filter(Some("B".to_owned())),
            Ok(Some("B".to_owned()))
        );
    }

    #[test]
    fn what_only_the_operator_may_do_is_forbidden_to_a_merchant() {
        let refused = merchant("A").require_operator("x").unwrap_err();
        assert_eq!(
            (refused.status, refused.code),
            (StatusCode::FORBIDDEN, "forbidden")
        );
        assert!(Principal::Operator.require_operator("x").is_ok());
    }
}
