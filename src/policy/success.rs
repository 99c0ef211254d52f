//! What counts as delivered: HTTP 200 always, and, when a notice family asks for it, an
//! answer body that says so (the payment-result notices want `SUCCESS`).

use serde::Serialize;

/// The longest body a rule may ask for.
pub const MAX_SUCCESS_BODY: usize = 256;

/// The success rule of a notification: HTTP 200, and the exact `body` when one is set.
/// The answer is compared with surrounding ASCII whitespace trimmed, so `SUCCESS\n`
/// counts as `SUCCESS`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SuccessRule {
    /// Always 200: the platform counts nothing else as delivered.
    #[schema(value_type = u16, example = 200)]
    pub status: Status200,
    /// The body the answer must carry, if any.
    #[schema(example = "SUCCESS")]
    pub body: Option<String>,
}

/// The only success status there is, as a type: it serializes as `200`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Status200;

impl Serialize for Status200 {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u16(200)
    }
}

/// How an answer measured against a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Delivered,
    /// Any status but 200.
    WrongStatus,
    /// HTTP 200 without the body the rule asks for.
    WrongBody {
        expected: String,
    },
}

impl SuccessRule {
    /// HTTP 200 and `body`.
    pub fn with_body(body: impl Into<String>) -> Self {
        Self {
            status: Status200,
            body: Some(body.into()),
        }
    }

    pub fn judge(&self, status: u16, answer: &[u8]) -> Verdict {
        if status != 200 {
            return Verdict::WrongStatus;
        }
        match &self.body {
            Some(expected) if answer.trim_ascii() != expected.as_bytes() => Verdict::WrongBody {
                expected: expected.clone(),
            },
            _ => Verdict::Delivered,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_200_and_the_body_asked_for_count() {
        let plain = SuccessRule::default();
        assert_eq!(plain.judge(200, b"anything"), Verdict::Delivered);
        assert_eq!(plain.judge(204, b""), Verdict::WrongStatus);
        let rule = SuccessRule::with_body("SUCCESS");
        assert_eq!(rule.judge(200, b"SUCCESS"), Verdict::Delivered);
        assert_eq!(rule.judge(200, b" SUCCESS\r\n"), Verdict::Delivered);
        assert!(matches!(
            rule.judge(200, b"success"),
            Verdict::WrongBody { .. }
        ));
        assert!(matches!(
            rule.judge(200, b"FAILED"),
            Verdict::WrongBody { .. }
        ));
        assert!(matches!(rule.judge(200, b""), Verdict::WrongBody { .. }));
        assert_eq!(rule.judge(500, b"SUCCESS"), Verdict::WrongStatus);
    }
}
