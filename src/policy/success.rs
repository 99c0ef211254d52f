//! What counts as delivered: HTTP 200 always, and, when a notice family asks for it, an
//! answer body that says so: exactly (trimmed), or containing it, as the payment-result
//! notices are judged (the platform re-sends only an answer that does not contain
//! `SUCCESS`).

use serde::Serialize;

/// The longest body a rule may ask for.
pub const MAX_SUCCESS_BODY: usize = 256;

/// The success rule of a notification: HTTP 200, and the `body` when one is set, matched
/// as [`BodyMatch`] says. An exact match compares the answer with surrounding ASCII
/// whitespace trimmed, so `SUCCESS\n` counts as `SUCCESS`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SuccessRule {
    /// Always 200: the platform counts nothing else as delivered.
    #[schema(value_type = u16, example = 200)]
    pub status: Status200,
    /// The body the answer must carry, if any.
    #[schema(example = "SUCCESS")]
    pub body: Option<String>,
    /// How `body` is compared with the answer.
    #[serde(rename = "match")]
    pub matching: BodyMatch,
}

/// How a success rule's body is compared with the answer.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum BodyMatch {
    /// The answer, with surrounding ASCII whitespace trimmed, is the body.
    #[default]
    Exact,
    /// The answer contains the body anywhere (`{"result":"SUCCESS"}` contains `SUCCESS`).
    Contains,
}

impl BodyMatch {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Exact => "exact",
            Self::Contains => "contains",
        }
    }

    /// The stored form back; anything but `contains` is exact, the column's default.
    pub fn parse(text: &str) -> Self {
        match text {
            "contains" => Self::Contains,
            _ => Self::Exact,
        }
    }
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
        matching: BodyMatch,
    },
}

impl SuccessRule {
    /// HTTP 200 and exactly `body`.
    pub fn with_body(body: impl Into<String>) -> Self {
        Self {
            status: Status200,
            body: Some(body.into()),
            matching: BodyMatch::Exact,
        }
    }

    /// HTTP 200 and an answer that contains `body`.
    pub fn containing(body: impl Into<String>) -> Self {
        Self {
            matching: BodyMatch::Contains,
            ..Self::with_body(body)
        }
    }

    pub fn judge(&self, status: u16, answer: &[u8]) -> Verdict {
        if status != 200 {
            return Verdict::WrongStatus;
        }
        let Some(expected) = &self.body else {
            return Verdict::Delivered;
        };
        let matched = match self.matching {
            BodyMatch::Exact => answer.trim_ascii() == expected.as_bytes(),
            BodyMatch::Contains => contains(answer, expected.as_bytes()),
        };
        if matched {
            Verdict::Delivered
        } else {
            Verdict::WrongBody {
                expected: expected.clone(),
                matching: self.matching,
            }
        }
    }

    /// The rule in words: "HTTP 200 with an answer containing \"SUCCESS\"".
    pub fn describe(&self) -> String {
        match (&self.body, self.matching) {
            (None, _) => "HTTP 200".to_owned(),
            (Some(body), BodyMatch::Exact) => format!("HTTP 200 with the answer {body:?}"),
            (Some(body), BodyMatch::Contains) => {
                format!("HTTP 200 with an answer containing {body:?}")
            }
        }
    }
}

/// Whether `needle` occurs in `haystack` (an empty needle always does).
fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty()
        || haystack
            .windows(needle.len())
            .any(|window| window == needle)
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
        assert_eq!(
            rule.judge(200, b"\"SUCCESS\""),
            Verdict::WrongBody {
                expected: "SUCCESS".to_owned(),
                matching: BodyMatch::Exact
            }
        );
    }

    #[test]
    fn a_containing_rule_takes_any_answer_with_the_body_inside() {
        let rule = SuccessRule::containing("SUCCESS");
        for answer in [
            &b"SUCCESS"[..],
            b"\"SUCCESS\"",
            b"{\"result\":\"SUCCESS\"}",
            b"<xml>SUCCESS</xml>",
        ] {
            assert_eq!(rule.judge(200, answer), Verdict::Delivered, "{answer:?}");
        }
        for answer in [&b"success"[..], b"FAILED", b"", b"SUCCES"] {
            assert!(
                matches!(
                    rule.judge(200, answer),
                    Verdict::WrongBody {
                        matching: BodyMatch::Contains,
                        ..
                    }
                ),
                "{answer:?}"
            );
        }
        assert_eq!(rule.judge(302, b"SUCCESS"), Verdict::WrongStatus);
        assert_eq!(
            BodyMatch::parse(BodyMatch::Contains.as_str()),
            BodyMatch::Contains
        );
        assert_eq!(BodyMatch::parse("exact"), BodyMatch::Exact);
    }
}
