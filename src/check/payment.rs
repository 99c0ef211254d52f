//! The payment-result notice checks: how their notices are built (of the order the
//! handler knows, signed like the sandbox's own: a form with `sign`) and how answers are
//! judged. What the platform does with an answer is the family's success rule: HTTP 200
//! with an answer that *contains* `SUCCESS` is delivered (netpay spec §13); anything
//! else is re-sent. The checks themselves are in [`super::payment_cases`].

use chrono::{DateTime, Utc};

use super::judge::Judged;
use super::probe::{Exchange, Probe};
use super::{payment_cases as cases, KnownOrder, PaymentTarget};
use crate::platform::merchants::merchant::PaymentNotices;
use crate::platform::merchants::SignType;
use crate::platform::payments::bill::BillTerms;
use crate::platform::payments::events::refund_target_order_id;
use crate::platform::payments::fields::{generate_order_no, source_number};
use crate::platform::payments::notice::{self, notify_id, Event, Sender};
use crate::platform::payments::order::{Order, OrderState, Payment, Product, Refund, CHANNELS};
use crate::policy::Destination;

/// The netpay spec's public test key (通讯密钥, §14): with it, and the genuine notice's
/// bill, `payment-platform-sample` runs.
pub const SPEC_TEST_KEY: &str = "fcAmtnx7MwismjWNhNKdHC44mNXtnEQeJkRrhKJwyrW2ysRR";
/// The genuine platform-sent notice (the platform's demo, 2018), byte for byte.
pub const PLATFORM_SAMPLE: &[u8] = include_bytes!("platform_sample.form");
/// The bill the genuine notice reports paid, and its amount in fen.
pub const PLATFORM_SAMPLE_BILL: (&str, i64) = ("3194201802132009060877031610", 1);

/// The merchant number of the genuine notice.
pub const PLATFORM_SAMPLE_MID: &str = "898340149000005";

/// Whether the check `id` can run against `target` (of merchant `mid`), or why not:
/// - the platform's sample needs the spec's merchant, test key and bill, signed MD5 as
///   the platform signs that merchant's notices;
/// - the refund and close notices only come from the products that send them (H5 and
///   mini-program orders; a QR bill notifies its payment only).
pub fn applies(id: &str, mid: &str, target: Option<&PaymentTarget>) -> Result<(), String> {
    let Some(target) = target else {
        return Ok(());
    };
    match id {
        "payment-platform-sample" => {
            let fits = mid == PLATFORM_SAMPLE_MID
                && target.md5_key.expose() == SPEC_TEST_KEY
                && target.sign_type == SignType::Md5
                && target.order.product == Product::Bill
                && target.order.order_no == PLATFORM_SAMPLE_BILL.0
                && target.order.total_amount == PLATFORM_SAMPLE_BILL.1;
            if fits {
                Ok(())
            } else {
                Err(format!(
                    "runs only as the spec's test merchant: mid {PLATFORM_SAMPLE_MID}, its public test key, MD5 and bill {}={}",
                    PLATFORM_SAMPLE_BILL.0, PLATFORM_SAMPLE_BILL.1
                ))
            }
        }
        "payment-acknowledges-refund" | "payment-acknowledges-close" => {
            let state = if id == "payment-acknowledges-refund" {
                OrderState::Refunded
            } else {
                OrderState::Closed
            };
            let product = target.order.product;
            if PaymentNotices::default().sends(product, state) {
                Ok(())
            } else {
                Err(format!(
                    "the platform sends a {product} no {} notice",
                    state.wire(product)
                ))
            }
        }
        _ => Ok(()),
    }
}

/// Runs the payment check `id`.
pub async fn run(id: &str, probe: &Probe) -> Judged {
    let Some(target) = probe.target().payment.clone() else {
        return unjudged("needs a communication key (md5Key) and an order the handler knows");
    };
    let notice = Notice {
        target: &target,
        probe,
    };
    match id {
        "payment-accepts-signed" => cases::accepts_signed(notice).await,
        "payment-accepts-repeat" => cases::accepts_repeat(notice).await,
        "payment-answers-plain-success" => cases::answers_plain_success(notice).await,
        "payment-rejects-forged-sign" => cases::rejects_forged_sign(notice).await,
        "payment-rejects-tampered" => cases::rejects_tampered(notice).await,
        "payment-rejects-wrong-amount" => cases::rejects_wrong_amount(notice).await,
        "payment-signed-extra-fields" => cases::signed_extra_fields(notice).await,
        "payment-decodes-once" => cases::decodes_once(notice).await,
        "payment-lowercase-sign" => cases::lowercase_sign(notice).await,
        "payment-platform-sample" => cases::platform_sample(notice).await,
        "payment-acknowledges-refund" => cases::acknowledges_refund(notice).await,
        "payment-acknowledges-close" => cases::acknowledges_close(notice).await,
        other => unjudged(&format!("no judge is written for the check {other:?}")),
    }
}

fn unjudged(reason: &str) -> Judged {
    Judged {
        passed: false,
        reason: reason.to_owned(),
        exchanges: Vec::new(),
        timings: None,
    }
}

/// What a notice reports about the known order.
#[derive(Debug, Clone)]
pub(super) struct Shape {
    /// `totalAmount` in fen.
    pub amount: i64,
    /// A refunded order's notice carries a full refund.
    pub state: OrderState,
    /// The order description (`billDesc` or `orderDesc`); a plain one when `None`.
    pub description: Option<String>,
    /// The merchant name (`merName`); the check's own when `None`.
    pub merchant_name: Option<String>,
}

impl Shape {
    /// The order paid, for `amount` fen.
    pub fn paid(amount: i64) -> Self {
        Self {
            amount,
            state: OrderState::Paid,
            description: None,
            merchant_name: None,
        }
    }
}

/// Builds the notices of one check.
#[derive(Clone, Copy)]
pub(super) struct Notice<'a> {
    pub target: &'a PaymentTarget,
    pub probe: &'a Probe,
}

impl Notice<'_> {
    /// The known order as `shape` says, at `now`.
    fn order(&self, order: &KnownOrder, shape: &Shape, now: DateTime<Utc>) -> Order {
        let refunded = shape.state == OrderState::Refunded;
        Order {
            id: i64::from(rand::random::<u32>()),
            mid: self.probe.target().mid.clone(),
            tid: "88880001".to_owned(),
            inst_mid: order.product.default_inst_mid().to_owned(),
            product: order.product,
            order_no: order.order_no.clone(),
            bill_date: order
                .bill_date
                .clone()
                .unwrap_or_else(|| crate::platform::wire::time::format_wall_clock(now, "%Y-%m-%d")),
            state: shape.state,
            total_amount: shape.amount,
            refunded_amount: if refunded { shape.amount } else { 0 },
            description: shape
                .description
                .clone()
                .unwrap_or_else(|| format!("{} conformance check", source_number(&order.order_no))),
            notify: Destination::stored(self.probe.target().notify_url.clone(), String::new()),
            own_notify: true,
            payment: Some(Payment::simulate(CHANNELS[0], now)),
            closed_at: (shape.state == OrderState::Closed).then_some(now),
            expires_at: now,
            pay_due_at: None,
            h5: None,
            guarantee: None,
            // A code as the platform makes them, on its own host: the check stands in for
            // the platform, not for the sandbox.
            bill: (order.product == Product::Bill).then(|| {
                BillTerms::default().data(&order.order_no, "https://qr.chinaums.com", now)
            }),
            created_at: now,
            updated_at: now,
        }
    }

    /// The documented fields of a notice of `shape`, unsigned and without a random field.
    pub fn fields_of(&self, shape: &Shape) -> Vec<(String, String)> {
        let now = self.probe.now();
        let order = self.order(&self.target.order, shape, now);
        let refund = (shape.state == OrderState::Refunded).then(|| Refund {
            refund_order_id: generate_order_no(&source_number(&order.order_no), now),
            amount: shape.amount,
            target_order_id: refund_target_order_id(),
            created_at: now,
        });
        let event = Event {
            order: &order,
            refund: refund.as_ref(),
        };
        let name = shape.merchant_name.as_deref().unwrap_or("ums-notify check");
        notice::documented_fields(event, self.sender_named(name, self.key()), &notify_id())
    }

    /// The fields of a notice reporting the order paid with `amount` fen, unsigned.
    pub fn fields(&self, amount: i64) -> Vec<(String, String)> {
        self.fields_of(&Shape::paid(amount))
    }

    pub fn key(&self) -> &str {
        self.target.md5_key.expose()
    }

    fn sender_named<'k>(&self, name: &'k str, key: &'k str) -> Sender<'k> {
        Sender {
            name,
            md5_key: key,
            sign_type: self.target.sign_type,
        }
    }

    /// `fields` with their `sign` for `key` appended, as a form body.
    pub fn signed_with(&self, fields: Vec<(String, String)>, key: &str) -> Vec<u8> {
        notice::signed_body(fields, self.sender_named("", key))
    }

    /// `fields` signed with the merchant's key.
    pub fn signed(&self, fields: Vec<(String, String)>) -> Vec<u8> {
        self.signed_with(fields, self.key())
    }

    /// A genuine notice of the order paid for its own amount.
    pub fn genuine(&self) -> Vec<u8> {
        self.signed(self.fields(self.target.order.total_amount))
    }

    pub async fn send(&self, body: &[u8]) -> Exchange {
        self.probe.send_form(body).await
    }
}

/// The verdict on notices that should all be delivered.
pub(super) fn accepted(exchanges: Vec<Exchange>, what: &str) -> Judged {
    let refused: Vec<String> = exchanges
        .iter()
        .filter(|e| !e.answer.says_success())
        .map(|e| e.answer.describe_with_body())
        .collect();
    let reason = match refused.first() {
        None => format!("{what}: answered HTTP 200 with SUCCESS"),
        Some(answer) => {
            format!("{what}: got {answer}, not HTTP 200 with an answer containing SUCCESS")
        }
    };
    Judged {
        passed: refused.is_empty(),
        reason,
        exchanges,
        timings: None,
    }
}

/// The verdict on a notice that should not be acknowledged; `danger` says what an
/// acknowledgement means.
pub(super) fn refused(exchange: Exchange, what: &str, danger: &str) -> Judged {
    let passed = !exchange.answer.says_success();
    let reason = if passed {
        format!(
            "{what} was not acknowledged ({})",
            exchange.answer.describe_with_body()
        )
    } else {
        format!("{what} was acknowledged with SUCCESS: {danger}")
    };
    Judged {
        passed,
        reason,
        exchanges: vec![exchange],
        timings: None,
    }
}
