//! The payment-result notice checks: each sends notices of the order the handler knows,
//! reported paid and signed like the sandbox's own (a form with `sign`), and judges the
//! answers. Accepted means HTTP 200 with the body `SUCCESS`; refused means anything else.

use chrono::{DateTime, Utc};

use super::judge::Judged;
use super::probe::{Exchange, Probe};
use super::{KnownOrder, PaymentTarget};
use crate::platform::auth::generate_credential;
use crate::platform::payments::notice::{self, form_body, notify_id, Event, Sender};
use crate::platform::payments::order::{Order, OrderState, Payment, CHANNELS};
use crate::policy::Destination;

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
        "payment-accepts-signed" => accepts_signed(notice).await,
        "payment-accepts-repeat" => accepts_repeat(notice).await,
        "payment-rejects-forged-sign" => rejects_forged_sign(notice).await,
        "payment-rejects-tampered" => rejects_tampered(notice).await,
        "payment-rejects-wrong-amount" => rejects_wrong_amount(notice).await,
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

/// Builds the notices of one check.
#[derive(Clone, Copy)]
struct Notice<'a> {
    target: &'a PaymentTarget,
    probe: &'a Probe,
}

impl Notice<'_> {
    /// The known order as paid now, for `amount` fen.
    fn paid_order(&self, order: &KnownOrder, amount: i64, now: DateTime<Utc>) -> Order {
        let msg_src: String = order.order_no.chars().take(4).collect();
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
            state: OrderState::Paid,
            total_amount: amount,
            refunded_amount: 0,
            description: format!("{msg_src} conformance check"),
            notify: Destination::stored(self.probe.target().notify_url.clone(), String::new()),
            own_notify: true,
            payment: Some(Payment::simulate(CHANNELS[0], now)),
            closed_at: None,
            expires_at: now,
            pay_due_at: None,
            h5: None,
            created_at: now,
            updated_at: now,
        }
    }

    /// The fields of a notice reporting the order paid with `amount` fen, unsigned.
    fn fields(&self, amount: i64) -> Vec<(String, String)> {
        let order = self.paid_order(&self.target.order, amount, self.probe.now());
        let event = Event {
            order: &order,
            refund: None,
        };
        notice::fields(
            event,
            self.sender(self.target.md5_key.expose()),
            &notify_id(),
        )
    }

    fn sender<'k>(&self, key: &'k str) -> Sender<'k> {
        Sender {
            name: "ums-notify check",
            md5_key: key,
            sign_type: self.target.sign_type,
        }
    }

    /// The body of a notice of the order's own amount, signed with `key`.
    fn signed_with(&self, fields: Vec<(String, String)>, key: &str) -> Vec<u8> {
        notice::signed_body(fields, self.sender(key))
    }

    fn genuine(&self) -> Vec<u8> {
        let fields = self.fields(self.target.order.total_amount);
        self.signed_with(fields, self.target.md5_key.expose())
    }

    async fn send(&self, body: &[u8]) -> Exchange {
        self.probe.send_form(body).await
    }
}

fn accepted(exchanges: Vec<Exchange>, what: &str) -> Judged {
    let refused: Vec<String> = exchanges
        .iter()
        .filter(|e| !e.answer.says_success())
        .map(|e| e.answer.describe_with_body())
        .collect();
    let reason = match refused.first() {
        None => format!("{what}: answered HTTP 200 SUCCESS"),
        Some(answer) => format!("{what}: got {answer}, not HTTP 200 with the body SUCCESS"),
    };
    Judged {
        passed: refused.is_empty(),
        reason,
        exchanges,
        timings: None,
    }
}

fn refused(exchange: Exchange, what: &str, danger: &str) -> Judged {
    let passed = !exchange.answer.says_success();
    let reason = if passed {
        format!(
            "{what} was not acknowledged ({})",
            exchange.answer.describe_with_body()
        )
    } else {
        format!("{what} was answered SUCCESS: {danger}")
    };
    Judged {
        passed,
        reason,
        exchanges: vec![exchange],
        timings: None,
    }
}

async fn accepts_signed(notice: Notice<'_>) -> Judged {
    let exchange = notice.send(&notice.genuine()).await;
    accepted(vec![exchange], "a signed notice of your order")
}

async fn accepts_repeat(notice: Notice<'_>) -> Judged {
    let body = notice.genuine();
    let first = notice.send(&body).await;
    let repeat = notice.send(&body).await;
    let (first_ok, repeat_ok) = (first.answer.says_success(), repeat.answer.says_success());
    let reason = match (first_ok, repeat_ok) {
        (true, true) => {
            "the notice and its repeat (same notifyId) were both answered SUCCESS".to_owned()
        }
        (true, false) => format!(
            "the repeat was answered {}; without SUCCESS the platform sends it again and again",
            repeat.answer.describe_with_body()
        ),
        (false, _) => format!(
            "the first send was answered {}, so the repeat could not be judged",
            first.answer.describe_with_body()
        ),
    };
    Judged {
        passed: first_ok && repeat_ok,
        reason,
        exchanges: vec![first, repeat],
        timings: None,
    }
}

async fn rejects_forged_sign(notice: Notice<'_>) -> Judged {
    let fields = notice.fields(notice.target.order.total_amount);
    let body = notice.signed_with(fields, &generate_credential(32));
    let exchange = notice.send(&body).await;
    refused(
        exchange,
        "a notice signed with another key",
        "anyone who can reach this URL can mark your orders paid",
    )
}

async fn rejects_tampered(notice: Notice<'_>) -> Judged {
    let amount = notice.target.order.total_amount;
    let mut fields = notice.fields(amount);
    let sign = crate::platform::payments::sign::sign(
        &fields,
        notice.target.md5_key.expose(),
        notice.target.sign_type,
    );
    for (name, value) in &mut fields {
        if name == "totalAmount" {
            *value = (amount + 1).to_string();
        }
    }
    fields.push(("sign".to_owned(), sign));
    let exchange = notice.send(&form_body(&fields)).await;
    refused(
        exchange,
        "a notice whose totalAmount was changed after signing",
        "anyone on the path can change what a notice says",
    )
}

async fn rejects_wrong_amount(notice: Notice<'_>) -> Judged {
    let amount = notice.target.order.total_amount;
    let wrong = if amount > 1 { amount - 1 } else { amount + 1 };
    let fields = notice.fields(wrong);
    let body = notice.signed_with(fields, notice.target.md5_key.expose());
    let exchange = notice.send(&body).await;
    refused(
        exchange,
        &format!("a signed notice for {wrong} fen of your {amount}-fen order"),
        "an order can be marked paid for less than its amount",
    )
}
