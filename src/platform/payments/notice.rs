//! The payment-result notice family (支付结果通知): the form the notification center
//! POSTs when an order is paid, closed or refunded, the outbox entries that carry it, and
//! its success rule (HTTP 200 *and* an answer containing `SUCCESS`). It plugs into the generic
//! outbox like any producer: its notifications are of kind [`KIND`], their tenant is the
//! merchant's `mid` and their subject the order number.
//!
//! The body is `application/x-www-form-urlencoded` (UTF-8). It is signed when it is
//! enqueued, with a `sign` field (see [`crate::platform::payments::sign`]) and the
//! merchant's communication key, so every try and every copy carries the same bytes and
//! the same `notifyId`; a key changed later applies to later notices only.
//!
//! As the platform writes them (netpay spec V3.5 §13, §14 and a genuine platform-sent
//! notice):
//! - a field without a value is left out, not sent empty (the spec neither sends nor
//!   signs empty values);
//! - an MD5 notice carries no `signType` (absent means MD5, as in the genuine notice); a
//!   SHA-256 one carries `signType=SHA256`, signed like any other field;
//! - `sign` is UPPERCASE hex;
//! - `notifyId` is a lower-case UUID, the same on every re-send.
//!
//! And one that tests the merchant: like the platform's notices, each carries one extra
//! field with a random two-letter name and a random value, which takes part in the
//! signature. A verifier that signs a fixed list of fields fails on it.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::outbox::NewNotification;
use crate::platform::merchants::merchant::Merchant;
use crate::platform::payments::order::{Order, OrderState, Payment, Product, Refund};
use crate::platform::payments::sign::{sign, SignType};
use crate::platform::wire::time::format_cst;
use crate::policy::{Destination, RetryPolicy, SuccessRule};

/// The outbox `kind` of payment-result notices.
pub const KIND: &str = "payment_result";
/// The body the merchant must answer for a notice to count as delivered.
pub const SUCCESS_BODY: &str = "SUCCESS";
/// The content type of the notices.
pub const CONTENT_TYPE: &str = "application/x-www-form-urlencoded; charset=UTF-8";

/// The names of the fields the platform sends, which the random field never takes.
const KNOWN_FIELDS: &[&str] = &[
    "mid",
    "tid",
    "instMid",
    "billNo",
    "billQRCode",
    "qrCodeId",
    "billDate",
    "createTime",
    "billStatus",
    "billDesc",
    "totalAmount",
    "memberId",
    "counterNo",
    "merName",
    "notifyId",
    "seqId",
    "receiptAmount",
    "billPayment",
    "merOrderId",
    "status",
    "buyerPayAmount",
    "invoiceAmount",
    "payTime",
    "settleDate",
    "targetSys",
    "targetOrderId",
    "buyerId",
    "orderDesc",
    "refundOrderId",
    "refundAmount",
    "refundPayTime",
    "refundTargetOrderId",
    "sign",
    "signType",
    "couponAmount",
    "payDetail",
    "paySeqId",
    "billBizType",
    "subInst",
    "secureStatus",
    "completeAmount",
];

/// What a notice reports: the order's new state, and the refund that moved it there.
#[derive(Debug, Clone, Copy)]
pub struct Event<'a> {
    pub order: &'a Order,
    pub refund: Option<&'a Refund>,
}

/// The `billPayment` of a paid QR bill, its members in the order the genuine notice
/// has them.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BillPayment<'a> {
    pay_time: String,
    pay_seq_id: &'a str,
    invoice_amount: i64,
    settle_date: String,
    buyer_id: &'a str,
    total_amount: i64,
    /// The wallet's discount: the sandbox has none.
    coupon_amount: i64,
    bill_biz_type: &'static str,
    buyer_pay_amount: i64,
    target_order_id: &'a str,
    pay_detail: String,
    /// The payment attempt's order number: the bill number and an attempt digit, as the
    /// genuine notice has it.
    mer_order_id: String,
    status: &'static str,
    target_sys: &'a str,
}

impl<'a> BillPayment<'a> {
    /// The payment of a paid bill, as its notice (a JSON string) and the bill query (an
    /// object) carry it.
    pub fn of(order: &'a Order, payment: &'a Payment) -> Self {
        Self {
            pay_time: format_cst(payment.paid_at),
            pay_seq_id: &payment.seq_id,
            invoice_amount: order.total_amount,
            settle_date: settle_date(payment.paid_at),
            buyer_id: &payment.buyer_id,
            total_amount: order.total_amount,
            coupon_amount: 0,
            bill_biz_type: "bills",
            buyer_pay_amount: order.total_amount,
            target_order_id: &payment.target_order_id,
            pay_detail: pay_detail(order.total_amount),
            mer_order_id: payment_order_id(order),
            status: OrderState::Paid.wire(Product::Trade),
            target_sys: &payment.target_sys,
        }
    }
}

/// A bill's payment attempt's order number (`billPayment.merOrderId`): the bill number
/// and an attempt digit `0`, as the genuine notice has it.
pub fn payment_order_id(order: &Order) -> String {
    format!("{}0", order.order_no)
}

/// The payment detail text, as the genuine notice words it: "现金支付0.01元。" (paid in
/// cash, 0.01 yuan).
fn pay_detail(fen: i64) -> String {
    format!("现金支付{}.{:02}元。", fen / 100, fen % 100)
}

/// A settlement date (`yyyy-MM-dd`, China Standard Time).
fn settle_date(at: DateTime<Utc>) -> String {
    crate::platform::wire::time::format_wall_clock(at, "%Y-%m-%d")
}

/// Who a notice is from and how it is signed: the merchant's name (`merName`), its
/// communication key and `signType`.
#[derive(Debug, Clone, Copy)]
pub struct Sender<'a> {
    pub name: &'a str,
    pub md5_key: &'a str,
    pub sign_type: SignType,
}

impl<'a> From<&'a Merchant> for Sender<'a> {
    fn from(merchant: &'a Merchant) -> Self {
        Self {
            name: &merchant.name,
            md5_key: merchant.md5_key.expose(),
            sign_type: merchant.sign_type,
        }
    }
}

/// The notice's fields in the order they are sent, without `sign`: the
/// [`documented_fields`] and the random one.
pub fn fields(event: Event<'_>, sender: Sender<'_>, notify_id: &str) -> Vec<(String, String)> {
    let mut fields = documented_fields(event, sender, notify_id);
    fields.push(random_field());
    fields
}

/// The fields the platform documents for the notice of `event`, in the order they are
/// sent; empty ones left out.
pub fn documented_fields(
    event: Event<'_>,
    sender: Sender<'_>,
    notify_id: &str,
) -> Vec<(String, String)> {
    let order = event.order;
    let mut fields: Vec<(&str, String)> = vec![
        ("mid", order.mid.clone()),
        ("tid", order.tid.clone()),
        ("instMid", order.inst_mid.clone()),
    ];
    let paid = order
        .payment
        .as_ref()
        .filter(|_| matches!(order.state, OrderState::Paid | OrderState::Refunded));
    match order.product {
        Product::Bill => {
            fields.extend([
                ("billNo", order.order_no.clone()),
                (
                    "billQRCode",
                    order.bill_qr_code().unwrap_or_default().to_owned(),
                ),
                ("billDate", order.bill_date.clone()),
                ("createTime", format_cst(order.created_at)),
                ("billStatus", order.status().to_owned()),
                ("billDesc", order.description.clone()),
                ("totalAmount", order.total_amount.to_string()),
            ]);
            fields.extend(super::guarantee::notice_fields(order));
            // Echoed as the merchant sent them with the bill (spec §13).
            if let Some(bill) = &order.bill {
                fields.extend([
                    ("memberId", bill.member_id.clone().unwrap_or_default()),
                    ("counterNo", bill.counter_no.clone().unwrap_or_default()),
                ]);
            }
            if let Some(payment) = paid {
                // A struct of strings and integers always serializes.
                let json =
                    serde_json::to_string(&BillPayment::of(order, payment)).unwrap_or_default();
                fields.extend([
                    ("seqId", payment.seq_id.clone()),
                    ("receiptAmount", order.total_amount.to_string()),
                    ("billPayment", json),
                ]);
            }
        }
        Product::Trade => {
            fields.extend([
                ("merOrderId", order.order_no.clone()),
                ("status", order.status().to_owned()),
                ("totalAmount", order.total_amount.to_string()),
                ("createTime", format_cst(order.created_at)),
                ("orderDesc", order.description.clone()),
            ]);
            if let Some(payment) = paid {
                fields.extend([
                    ("buyerPayAmount", order.total_amount.to_string()),
                    ("receiptAmount", order.total_amount.to_string()),
                    ("invoiceAmount", order.total_amount.to_string()),
                    ("payTime", format_cst(payment.paid_at)),
                    ("settleDate", settle_date(payment.paid_at)),
                    ("seqId", payment.seq_id.clone()),
                    ("targetSys", payment.target_sys.clone()),
                    ("targetOrderId", payment.target_order_id.clone()),
                    ("buyerId", payment.buyer_id.clone()),
                ]);
            }
        }
    }
    if let Some(refund) = event.refund {
        fields.extend([
            ("refundOrderId", refund.refund_order_id.clone()),
            ("refundAmount", refund.amount.to_string()),
            ("refundPayTime", format_cst(refund.created_at)),
            ("refundTargetOrderId", refund.target_order_id.clone()),
        ]);
    }
    fields.extend([
        ("merName", sender.name.to_owned()),
        ("notifyId", notify_id.to_owned()),
    ]);
    // Absent means MD5: the platform names only the other hash.
    if sender.sign_type != SignType::Md5 {
        fields.push(("signType", sender.sign_type.as_str().to_owned()));
    }
    fields
        .into_iter()
        .filter(|(_, value)| !crate::platform::payments::sign::is_blank(value))
        .map(|(name, value)| (name.to_owned(), value))
        .collect()
}

/// A field with a random two-letter name that no platform field has, and a random value.
pub fn random_field() -> (String, String) {
    loop {
        let letter = |upper: bool| {
            let c = char::from(b'a' + rand::random_range(0..26u8));
            if upper {
                c.to_ascii_uppercase()
            } else {
                c
            }
        };
        let name: String = [letter(false), letter(true)].into_iter().collect();
        if !KNOWN_FIELDS.contains(&name.as_str()) {
            return (name, crate::platform::auth::generate_credential(4));
        }
    }
}

/// The form body of `fields` with their `sign` appended.
pub fn signed_body(mut fields: Vec<(String, String)>, sender: Sender<'_>) -> Vec<u8> {
    let sign = sign(&fields, sender.md5_key, sender.sign_type);
    fields.push(("sign".to_owned(), sign));
    form_body(&fields)
}

/// `fields` form-urlencoded (UTF-8), in their order.
pub fn form_body(fields: &[(String, String)]) -> Vec<u8> {
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in fields {
        form.append_pair(name, value);
    }
    form.finish().into_bytes()
}

/// A fresh `notifyId`: a random (version 4) UUID in lower case, as the platform's are.
pub fn notify_id() -> String {
    let mut bytes = rand::random::<[u8; 16]>();
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex = hex::encode(bytes);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// Every address a notice of `order` goes to: the order's own `notifyUrl` and the
/// merchant's current notify URL, each once (netpay spec §13: "if several places are
/// configured, the result goes to all of them"). An order without its own follows the
/// merchant's current URL, or keeps the one it was made with if the merchant has none
/// now.
pub fn destinations(order: &Order, merchant: &Merchant) -> Vec<Destination> {
    let merchant_url = merchant.default_notify_target().ok();
    let mut all = Vec::with_capacity(2);
    if order.own_notify || merchant_url.is_none() {
        all.push(order.notify.clone());
    }
    if let Some(url) = merchant_url {
        if all.iter().all(|d| d.url != url.url) {
            all.push(url);
        }
    }
    all
}

/// The notice of `event` for `merchant` to every [`destinations`] address, plus the
/// merchant's extra copies of each: one `notifyId`, one body, signed now.
pub fn payment_result(
    event: Event<'_>,
    merchant: &Merchant,
    policy: &RetryPolicy,
) -> Vec<NewNotification> {
    let sender = Sender::from(merchant);
    let body = signed_body(fields(event, sender, &notify_id()), sender);
    let copies = merchant.extra_copies as usize + 1;
    destinations(event.order, merchant)
        .into_iter()
        .flat_map(|destination| {
            let one = notification(event.order, destination, body.clone(), policy);
            std::iter::repeat_n(one, copies)
        })
        .collect()
}

/// One outbox entry of a notice of `order`, to `destination`.
fn notification(
    order: &Order,
    destination: Destination,
    body: Vec<u8>,
    policy: &RetryPolicy,
) -> NewNotification {
    NewNotification {
        destination,
        success: SuccessRule::containing(SUCCESS_BODY),
        body,
        content_type: CONTENT_TYPE.to_owned(),
        headers: Vec::new(),
        policy: policy.clone(),
        idempotency_key: None,
        tenant: Some(order.mid.clone()),
        subject: Some(order.order_no.clone()),
        kind: KIND.to_owned(),
    }
}
