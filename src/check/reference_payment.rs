//! The reference handler's rules for payment-result notices: what a correct notify URL
//! does with a form notice signed with `sign`. The payment checks expect these rules,
//! and the reference passes every one of them.
//!
//! The rules, in the order they are applied:
//! 1. the body is a form (`application/x-www-form-urlencoded`);
//! 2. its `sign` is right for every received parameter but `sign`, with the merchant's
//!    communication key, hashed as its `signType` says (hex of either case);
//! 3. it names an order the merchant has (`merOrderId` or `billNo`);
//! 4. its `totalAmount` is that order's amount.
//!
//! A notice that passes is answered `SUCCESS`, also when it repeats one already handled
//! (same `notifyId`), which is not applied twice. One that fails is answered `FAILED`:
//! with HTTP 200 when it is genuine but not acceptable (unknown order, wrong amount), with
//! HTTP 400 when it is not a genuine notice at all.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use axum::http::StatusCode;

use super::KnownOrder;
use crate::platform::auth::AppKey;
use crate::platform::payments::sign::verify;

/// Why a payment notice was not acknowledged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentRejection {
    NotAForm,
    BadSign,
    UnknownOrder(String),
    WrongAmount { order: i64, notice: String },
}

impl PaymentRejection {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::NotAForm | Self::BadSign => StatusCode::BAD_REQUEST,
            Self::UnknownOrder(_) | Self::WrongAmount { .. } => StatusCode::OK,
        }
    }

    pub fn message(&self) -> String {
        match self {
            Self::NotAForm => "the body is not a form".to_owned(),
            Self::BadSign => "`sign` does not match the parameters".to_owned(),
            Self::UnknownOrder(no) => format!("no order {no}"),
            Self::WrongAmount { order, notice } => {
                format!("totalAmount {notice} is not the order's {order}")
            }
        }
    }
}

/// What a genuine, acceptable notice meant to the handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentHandled {
    Applied,
    /// The same `notifyId` as one already handled.
    Repeat,
}

/// The merchant's side: its communication key, its orders, the notices it has handled.
pub struct PaymentVerifier {
    md5_key: AppKey,
    /// Order number → amount in fen.
    orders: HashMap<String, i64>,
    handled: Mutex<HashSet<String>>,
}

impl PaymentVerifier {
    pub fn new(md5_key: AppKey, orders: &[KnownOrder]) -> Self {
        Self {
            md5_key,
            orders: orders
                .iter()
                .map(|o| (o.order_no.clone(), o.total_amount))
                .collect(),
            handled: Mutex::default(),
        }
    }

    /// Applies the rules of this module to one form body.
    pub fn judge(&self, body: &[u8]) -> Result<PaymentHandled, PaymentRejection> {
        let params: Vec<(String, String)> =
            url::form_urlencoded::parse(body).into_owned().collect();
        let get = |name: &str| {
            params
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
        };
        if get("sign").is_none() {
            return Err(PaymentRejection::NotAForm);
        }
        if !verify(&params, self.md5_key.expose()) {
            return Err(PaymentRejection::BadSign);
        }
        let order_no = get("merOrderId")
            .or_else(|| get("billNo"))
            .unwrap_or_default();
        let amount = *self
            .orders
            .get(order_no)
            .ok_or_else(|| PaymentRejection::UnknownOrder(order_no.to_owned()))?;
        let notice_amount = get("totalAmount").unwrap_or_default();
        if notice_amount != amount.to_string() {
            return Err(PaymentRejection::WrongAmount {
                order: amount,
                notice: notice_amount.to_owned(),
            });
        }
        let notify_id = get("notifyId").unwrap_or_default().to_owned();
        let mut handled = self.handled.lock().unwrap_or_else(|e| e.into_inner());
        Ok(if handled.insert(notify_id) {
            PaymentHandled::Applied
        } else {
            PaymentHandled::Repeat
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::payments::order::Product;
    use crate::platform::payments::sign::{sign, SignType};

    fn verifier() -> PaymentVerifier {
        let order = KnownOrder {
            product: Product::Trade,
            order_no: "3194A1".to_owned(),
            total_amount: 100,
            bill_date: None,
        };
        PaymentVerifier::new(AppKey::new("KEY"), &[order])
    }

    fn body(pairs: &[(&str, &str)], key: &str) -> Vec<u8> {
        let mut params: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let value = sign(&params, key, SignType::Sha256);
        params.push(("sign".to_owned(), value));
        crate::platform::payments::notice::form_body(&params)
    }

    #[test]
    fn every_rule_refuses_what_it_names_and_a_repeat_is_acknowledged() {
        let v = verifier();
        let good = [
            ("merOrderId", "3194A1"),
            ("totalAmount", "100"),
            ("notifyId", "n1"),
            ("signType", "SHA256"),
        ];
        assert_eq!(v.judge(&body(&good, "KEY")), Ok(PaymentHandled::Applied));
        assert_eq!(v.judge(&body(&good, "KEY")), Ok(PaymentHandled::Repeat));
        assert_eq!(v.judge(b"{}"), Err(PaymentRejection::NotAForm));
        assert_eq!(
            v.judge(&body(&good, "OTHER")),
            Err(PaymentRejection::BadSign)
        );
        let mut unknown = good;
        unknown[0].1 = "3194A2";
        assert!(matches!(
            v.judge(&body(&unknown, "KEY")),
            Err(PaymentRejection::UnknownOrder(_))
        ));
        let mut cheap = good;
        cheap[1].1 = "99";
        assert!(matches!(
            v.judge(&body(&cheap, "KEY")),
            Err(PaymentRejection::WrongAmount { order: 100, .. })
        ));
    }
}
