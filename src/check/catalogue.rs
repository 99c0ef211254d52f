//! The catalogue of checks: each one's id, level, what it sends, what it expects and how
//! to fix a failure. How each is judged is in [`super::judge`].
//!
//! The expectations are the rules of [`super::reference`]: a check that expects a
//! refusal sends exactly what those rules refuse, and the reference passes every check.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How much a check matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// The platform's behaviour makes a failure a real fault: the run fails.
    Must,
    /// Good practice: a failure is a warning.
    Should,
}

/// Which notice a check sends: the contract state notice or the payment-result notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// JSON, `OPEN-BODY-SIG`, accepted with HTTP 200.
    #[default]
    Contract,
    /// A form with a `sign` field, accepted with HTTP 200 and an answer containing
    /// `SUCCESS`.
    Payment,
}

impl Family {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Contract => "contract",
            Self::Payment => "payment",
        }
    }
}

/// What the answer should be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    Accept,
    Refuse,
}

/// One entry of the catalogue.
#[derive(Debug, Clone, Copy)]
pub struct CheckSpec {
    pub id: &'static str,
    pub family: Family,
    pub level: Level,
    pub expect: Expect,
    /// What it sends.
    pub sends: &'static str,
    /// What it expects back.
    pub expects: &'static str,
    /// How to fix a failure.
    pub hint: &'static str,
}

/// The p95 of `answers-in-time` must stay under this.
pub const ANSWER_TIME_LIMIT: Duration = Duration::from_secs(3);
/// Notices `answers-in-time` sends one after another.
pub const TIMED_NOTICES: usize = 10;
/// Notices `handles-concurrency` sends at once.
pub const CONCURRENT_NOTICES: usize = 16;

/// The payment checks that expect a refusal come first: they report the order paid
/// with a bad `sign` or amount while it is still unpaid at the handler, so a handler
/// that acknowledges notices of an order already paid is judged fairly. The refund and
/// close notices come last, in the order an order lives them (a fully refunded trade
/// is closed).
pub const CATALOGUE: [CheckSpec; 24] = [
    CheckSpec {
        id: "accepts-signed-notice",
        family: Family::Contract,
        level: Level::Must,
        expect: Expect::Accept,
        sends: "a correctly signed SIGNED notice",
        expects: "HTTP 200 within the request timeout",
        hint: "verify the OPEN-BODY-SIG signature over the raw body bytes with your appKey and answer 200 once the notice is stored",
    },
    CheckSpec {
        id: "answers-in-time",
        family: Family::Contract,
        level: Level::Should,
        expect: Expect::Accept,
        sends: "10 signed notices, one after another",
        expects: "HTTP 200 to each, p95 under 3 s",
        hint: "store the notice and answer at once; do slow work (queries, downstream calls) after answering",
    },
    CheckSpec {
        id: "accepts-repeat",
        family: Family::Contract,
        level: Level::Must,
        expect: Expect::Accept,
        sends: "a signed notice, then the identical body again (same requestTimestamp and contractNo, freshly signed as every re-send is)",
        expects: "HTTP 200 both times",
        hint: "recognise a repeat by (contractNo, requestTimestamp) and answer 200 without applying it twice",
    },
    CheckSpec {
        id: "accepts-every-state",
        family: Family::Contract,
        level: Level::Must,
        expect: Expect::Accept,
        sends: "one signed notice in each state: UNSIGNED, SIGNED, DELETING_CONTRACT, RESCISSION, UNKNOWN",
        expects: "HTTP 200 to each",
        hint: "accept every documented contractState, including UNKNOWN and DELETING_CONTRACT",
    },
    CheckSpec {
        id: "accepts-out-of-order",
        family: Family::Contract,
        level: Level::Must,
        expect: Expect::Accept,
        sends: "a SIGNED notice, a later RESCISSION of the same contract, then the SIGNED notice again (a late re-send)",
        expects: "HTTP 200 to the RESCISSION and to the late SIGNED",
        hint: "acknowledge an older notice with 200 and do not move the contract backwards; compare requestTimestamp or ask sign-query",
    },
    CheckSpec {
        id: "tolerates-new-fields",
        family: Family::Contract,
        level: Level::Should,
        expect: Expect::Accept,
        sends: "a signed notice with one field the documentation does not list",
        expects: "HTTP 200",
        hint: "ignore unknown fields when parsing the notice",
    },
    CheckSpec {
        id: "rejects-forged-signature",
        family: Family::Contract,
        level: Level::Must,
        expect: Expect::Refuse,
        sends: "a notice signed with another key than yours",
        expects: "anything but HTTP 200",
        hint: "compute the signature with your own appKey and refuse the notice when it differs",
    },
    CheckSpec {
        id: "rejects-tampered-body",
        family: Family::Contract,
        level: Level::Must,
        expect: Expect::Refuse,
        sends: "a notice whose body was changed after it was signed",
        expects: "anything but HTTP 200",
        hint: "hash the exact body bytes you received (before any JSON parsing) when verifying",
    },
    CheckSpec {
        id: "rejects-unsigned",
        family: Family::Contract,
        level: Level::Should,
        expect: Expect::Refuse,
        sends: "a notice without an Authorization header",
        expects: "anything but HTTP 200",
        hint: "refuse a notice that carries no OPEN-BODY-SIG Authorization header",
    },
    CheckSpec {
        id: "rejects-replay",
        family: Family::Contract,
        level: Level::Should,
        expect: Expect::Refuse,
        sends: "a correctly signed notice whose Timestamp is an hour old, and a notice reusing the Nonce of one just accepted",
        expects: "anything but HTTP 200 to both",
        hint: "refuse a Timestamp more than a few minutes from your clock and remember nonces for at least that long",
    },
    CheckSpec {
        id: "handles-concurrency",
        family: Family::Contract,
        level: Level::Should,
        expect: Expect::Accept,
        sends: "16 distinct signed notices at once",
        expects: "HTTP 200 to each",
        hint: "make the handler safe under concurrent requests (no global lock held across slow work, no lost writes)",
    },
    CheckSpec {
        id: "no-redirect",
        family: Family::Contract,
        level: Level::Must,
        expect: Expect::Accept,
        sends: "a signed notice",
        expects: "HTTP 200 itself, not a redirect",
        hint: "register the final URL (scheme, host, path and trailing slash exactly) as your notify URL",
    },
    CheckSpec {
        id: "payment-rejects-forged-sign",
        family: Family::Payment,
        level: Level::Must,
        expect: Expect::Refuse,
        sends: "a notice signed with another key than your md5Key",
        expects: "anything but SUCCESS",
        hint: "compute `sign` with your own communication key (md5Key) and refuse the notice when it differs",
    },
    CheckSpec {
        id: "payment-rejects-tampered",
        family: Family::Payment,
        level: Level::Must,
        expect: Expect::Refuse,
        sends: "a notice whose totalAmount was changed after it was signed",
        expects: "anything but SUCCESS",
        hint: "verify `sign` over the parameters as received, before acting on any of them",
    },
    CheckSpec {
        id: "payment-rejects-wrong-amount",
        family: Family::Payment,
        level: Level::Must,
        expect: Expect::Refuse,
        sends: "a correctly signed notice of your order whose totalAmount is not the order's",
        expects: "anything but SUCCESS",
        hint: "compare totalAmount with the amount of your own order before marking it paid",
    },
    CheckSpec {
        id: "payment-accepts-signed",
        family: Family::Payment,
        level: Level::Must,
        expect: Expect::Accept,
        sends: "a correctly signed TRADE_SUCCESS (or PAID) notice of your order with its amount: the platform's acceptance form asks whether you answer SUCCESS",
        expects: "HTTP 200 with an answer containing SUCCESS",
        hint: "verify `sign` over every received parameter except `sign` (empty ones left out, sorted, name=value joined by &, md5Key appended; MD5 when signType is absent), then answer SUCCESS",
    },
    CheckSpec {
        id: "payment-accepts-repeat",
        family: Family::Payment,
        level: Level::Must,
        expect: Expect::Accept,
        sends: "the same notice twice, byte for byte (same notifyId), as every re-send is: the platform's acceptance form asks whether you handle repeats",
        expects: "SUCCESS both times",
        hint: "recognise a repeat by notifyId (or by an order already paid) and answer SUCCESS again without applying it twice",
    },
    CheckSpec {
        id: "payment-answers-plain-success",
        family: Family::Payment,
        level: Level::Should,
        expect: Expect::Accept,
        sends: "a correctly signed notice of your order",
        expects: "HTTP 200 with exactly SUCCESS (the platform takes any answer containing it)",
        hint: "answer the seven bytes SUCCESS as text/plain, not JSON, HTML or a sentence: do not rely on the platform's leniency",
    },
    CheckSpec {
        id: "payment-signed-extra-fields",
        family: Family::Payment,
        level: Level::Must,
        expect: Expect::Accept,
        sends: "a correctly signed notice with a random-named field and the undocumented subInst, both signed, as every platform notice has",
        expects: "HTTP 200 with an answer containing SUCCESS",
        hint: "sign every parameter you received, not a list of the ones you know: the platform adds a random field to every notice",
    },
    CheckSpec {
        id: "payment-decodes-once",
        family: Family::Payment,
        level: Level::Must,
        expect: Expect::Accept,
        sends: "a correctly signed notice whose description and merName hold + % & = spaces and Chinese, form-encoded as the platform does (UTF-8, space as +)",
        expects: "HTTP 200 with an answer containing SUCCESS",
        hint: "split the body on & and = first, then percent-decode each name and value once (your framework's form parser does this); never decode the whole body, or decode twice",
    },
    CheckSpec {
        id: "payment-lowercase-sign",
        family: Family::Payment,
        level: Level::Should,
        expect: Expect::Accept,
        sends: "a correctly signed notice whose sign is written in lower-case hex (the spec prints its SHA-256 example so)",
        expects: "HTTP 200 with an answer containing SUCCESS",
        hint: "compare the sign without regard to case, as the platform's demo does",
    },
    CheckSpec {
        id: "payment-platform-sample",
        family: Family::Payment,
        level: Level::Should,
        expect: Expect::Accept,
        sends: "the genuine notice the platform sent the spec's test merchant (bill 3194201802132009060877031610, 1 fen, MD5), byte for byte; runs only with the spec's public test key and that bill",
        expects: "HTTP 200 with an answer containing SUCCESS",
        hint: "a real platform notice carries no signType (MD5), a random field and subInst: sign all of them with the received values",
    },
    CheckSpec {
        id: "payment-acknowledges-refund",
        family: Family::Payment,
        level: Level::Must,
        expect: Expect::Accept,
        sends: "a correctly signed TRADE_REFUND (or REFUND) notice of your order, a full refund",
        expects: "HTTP 200 with an answer containing SUCCESS",
        hint: "answer SUCCESS to every genuine notice, whatever its status: a FAILED makes the platform re-send for 24 hours and the refund goes unrecorded",
    },
    CheckSpec {
        id: "payment-acknowledges-close",
        family: Family::Payment,
        level: Level::Should,
        expect: Expect::Accept,
        sends: "a correctly signed TRADE_CLOSED (or CLOSED) notice of your order",
        expects: "HTTP 200 with an answer containing SUCCESS",
        hint: "answer SUCCESS to a genuine close notice too, and record it; only a notice you cannot verify deserves FAILED",
    },
];

/// The catalogue entry of `id`.
pub fn spec(id: &str) -> Option<&'static CheckSpec> {
    CATALOGUE.iter().find(|spec| spec.id == id)
}
