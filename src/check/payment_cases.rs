//! The payment-result notice checks, one function each: what each sends, built by
//! [`super::payment::Notice`], and its verdict. Several come from mistakes public notify
//! handlers make: answering `FAILED` to anything but a payment, decoding twice,
//! verifying only known fields, comparing the hex case-sensitively.

use super::judge::Judged;
use super::payment::{accepted, refused, Notice, Shape, PLATFORM_SAMPLE};
use crate::platform::auth::generate_credential;
use crate::platform::payments::notice::{form_body, random_field};
use crate::platform::payments::order::OrderState;
use crate::platform::payments::sign::sign;

pub(super) async fn accepts_signed(notice: Notice<'_>) -> Judged {
    let exchange = notice.send(&notice.genuine()).await;
    accepted(vec![exchange], "a signed notice of your order")
}

pub(super) async fn accepts_repeat(notice: Notice<'_>) -> Judged {
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

pub(super) async fn answers_plain_success(notice: Notice<'_>) -> Judged {
    let exchange = notice.send(&notice.genuine()).await;
    let answer = &exchange.answer;
    let (passed, reason) = if answer.says_exactly_success() {
        (true, "answered exactly SUCCESS".to_owned())
    } else if answer.says_success() {
        (
            false,
            format!(
                "answered {}: the platform takes it, as it contains SUCCESS, but other notice families and stricter parsers do not",
                answer.describe_with_body()
            ),
        )
    } else {
        (
            false,
            format!(
                "answered {}, which does not even contain SUCCESS",
                answer.describe_with_body()
            ),
        )
    };
    Judged {
        passed,
        reason,
        exchanges: vec![exchange],
        timings: None,
    }
}

pub(super) async fn rejects_forged_sign(notice: Notice<'_>) -> Judged {
    let fields = notice.fields(notice.target.order.total_amount);
    let body = notice.signed_with(fields, &generate_credential(32));
    let exchange = notice.send(&body).await;
    refused(
        exchange,
        "a notice signed with another key",
        "anyone who can reach this URL can mark your orders paid",
    )
}

pub(super) async fn rejects_tampered(notice: Notice<'_>) -> Judged {
    let amount = notice.target.order.total_amount;
    let mut fields = notice.fields(amount);
    let sign = sign(&fields, notice.key(), notice.target.sign_type);
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

pub(super) async fn rejects_wrong_amount(notice: Notice<'_>) -> Judged {
    let amount = notice.target.order.total_amount;
    let wrong = if amount > 1 { amount - 1 } else { amount + 1 };
    let body = notice.signed(notice.fields(wrong));
    let exchange = notice.send(&body).await;
    refused(
        exchange,
        &format!("a signed notice for {wrong} fen of your {amount}-fen order"),
        "an order can be marked paid for less than its amount",
    )
}

pub(super) async fn signed_extra_fields(notice: Notice<'_>) -> Judged {
    let mut fields = notice.fields(notice.target.order.total_amount);
    let (name, value) = random_field();
    fields.push((name.clone(), value));
    // A field the platform sends without documenting it (the genuine notice has it).
    fields.push(("subInst".to_owned(), "UMS-MARKET".to_owned()));
    let exchange = notice.send(&notice.signed(fields)).await;
    accepted(
        vec![exchange],
        &format!("a signed notice with the random field {name:?} and the undocumented subInst"),
    )
}

/// Characters that mean something in a form or in percent-encoding, and Chinese text.
pub const AWKWARD_TEXT: &str = "奶茶 2+1 & 半价=50% 测试";

pub(super) async fn decodes_once(notice: Notice<'_>) -> Judged {
    let shape = Shape {
        description: Some(AWKWARD_TEXT.to_owned()),
        merchant_name: Some("测试商户 A&B=1+1".to_owned()),
        ..Shape::paid(notice.target.order.total_amount)
    };
    let exchange = notice.send(&notice.signed(notice.fields_of(&shape))).await;
    accepted(
        vec![exchange],
        &format!("a signed notice whose description is {AWKWARD_TEXT:?} (form-encoded once, UTF-8, space as +)"),
    )
}

pub(super) async fn lowercase_sign(notice: Notice<'_>) -> Judged {
    let mut fields = notice.fields(notice.target.order.total_amount);
    let value = sign(&fields, notice.key(), notice.target.sign_type).to_ascii_lowercase();
    fields.push(("sign".to_owned(), value));
    let exchange = notice.send(&form_body(&fields)).await;
    accepted(
        vec![exchange],
        "a notice whose valid sign is written in lower case",
    )
}

pub(super) async fn platform_sample(notice: Notice<'_>) -> Judged {
    let exchange = notice.send(PLATFORM_SAMPLE).await;
    accepted(
        vec![exchange],
        "the genuine platform-sent notice of the spec's test merchant, byte for byte",
    )
}

pub(super) async fn acknowledges_refund(notice: Notice<'_>) -> Judged {
    let shape = Shape {
        state: OrderState::Refunded,
        ..Shape::paid(notice.target.order.total_amount)
    };
    let status = shape.state.wire(notice.target.order.product);
    let exchange = notice.send(&notice.signed(notice.fields_of(&shape))).await;
    accepted(
        vec![exchange],
        &format!("a signed {status} notice (a full refund) of your order"),
    )
}

pub(super) async fn acknowledges_close(notice: Notice<'_>) -> Judged {
    let shape = Shape {
        state: OrderState::Closed,
        ..Shape::paid(notice.target.order.total_amount)
    };
    let status = shape.state.wire(notice.target.order.product);
    let exchange = notice.send(&notice.signed(notice.fields_of(&shape))).await;
    accepted(
        vec![exchange],
        &format!("a signed {status} notice of your order"),
    )
}
