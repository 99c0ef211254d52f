//! A netpay order: a C-scans-B QR bill (`billNo`) or an H5 / mini-program trade order
//! (`merOrderId`), its states, the state machine between them, and its refunds.
//!
//! # States
//!
//! One machine serves both products; each product names its states its own way on the
//! wire, and the admin API and the notices use those names.
//!
//! | state | QR bill (`billStatus`) | trade order (`status`) | meaning |
//! |---|---|---|---|
//! | unpaid | `UNPAID` | `WAIT_BUYER_PAY` | created, waiting for the buyer |
//! | paid | `PAID` | `TRADE_SUCCESS` | the buyer paid |
//! | refunded | `REFUND` | `TRADE_REFUND` | some or all of it was refunded |
//! | closed | `CLOSED` | `TRADE_CLOSED` | closed unpaid: by the merchant, or it expired (terminal) |
//!
//! # State machine
//!
//! | from | to | by |
//! |---|---|---|
//! | unpaid | paid | the buyer pays (admin API or the simulated buyer) |
//! | unpaid | closed | the merchant's close API, the admin API, or expiry |
//! | paid | refunded | a refund (the merchant's refund API or the admin API) |
//! | refunded | refunded | a further partial refund, while some amount is left |
//!
//! A refund is at least 1 fen and at most what is left (`total - refunded`); a guarantee
//! bill's hold adds its rules ([`super::guarantee`]). Every change may send a
//! payment-result notice ([`crate::platform::payments::notice`]).

use std::{fmt, str::FromStr};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::policy::Destination;

pub use super::bill::BillData;
pub use super::guarantee::Guarantee;
pub use super::payment::{Payment, Refund, CHANNELS};
pub use super::refusal::OrderRefusal;

/// Which netpay product an order belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Product {
    /// A C-scans-B QR bill (C扫B 动态码): `billNo`, `billStatus`.
    Bill,
    /// An H5 or mini-program order: `merOrderId`, `status`.
    Trade,
}

impl Product {
    pub const ALL: [Product; 2] = [Self::Bill, Self::Trade];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Bill => "bill",
            Self::Trade => "trade",
        }
    }

    /// The `instMid` (institution merchant id) of the product's default business type.
    pub const fn default_inst_mid(self) -> &'static str {
        match self {
            Self::Bill => "QRPAYDEFAULT",
            Self::Trade => "MINIDEFAULT",
        }
    }

    /// The wire name of the order number field.
    pub const fn order_no_field(self) -> &'static str {
        match self {
            Self::Bill => "billNo",
            Self::Trade => "merOrderId",
        }
    }
}

impl FromStr for Product {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| format!("unknown product {s:?}; valid products are bill, trade"))
    }
}

/// The state of an order, whatever its product.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderState {
    Unpaid,
    Paid,
    Refunded,
    Closed,
}

impl OrderState {
    pub const ALL: [OrderState; 4] = [Self::Unpaid, Self::Paid, Self::Refunded, Self::Closed];

    /// The name kept in storage.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Unpaid => "UNPAID",
            Self::Paid => "PAID",
            Self::Refunded => "REFUNDED",
            Self::Closed => "CLOSED",
        }
    }

    pub fn from_stored(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|state| state.as_str() == s)
    }

    /// The state as `product` names it on the wire (`billStatus` or `status`).
    pub const fn wire(self, product: Product) -> &'static str {
        match (product, self) {
            (Product::Bill, Self::Unpaid) => "UNPAID",
            (Product::Bill, Self::Paid) => "PAID",
            (Product::Bill, Self::Refunded) => "REFUND",
            (Product::Bill, Self::Closed) => "CLOSED",
            (Product::Trade, Self::Unpaid) => "WAIT_BUYER_PAY",
            (Product::Trade, Self::Paid) => "TRADE_SUCCESS",
            (Product::Trade, Self::Refunded) => "TRADE_REFUND",
            (Product::Trade, Self::Closed) => "TRADE_CLOSED",
        }
    }

    /// Reads a wire name of `product`; exact and case-sensitive.
    pub fn from_wire(product: Product, s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|state| state.wire(product) == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|st| st.wire(product)).collect();
                format!(
                    "unknown {} state {:?}; valid states are {}",
                    product.as_str(),
                    s.chars().take(32).collect::<String>(),
                    names.join(", ")
                )
            })
    }

    /// The states this one may move to.
    pub const fn allowed_targets(self) -> &'static [OrderState] {
        match self {
            Self::Unpaid => &[Self::Paid, Self::Closed],
            Self::Paid => &[Self::Refunded],
            Self::Refunded => &[Self::Refunded],
            Self::Closed => &[],
        }
    }
}

/// A netpay order as the simulation keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    /// The admin API's id; insertion order, the cursor of listings.
    pub id: i64,
    pub mid: String,
    pub tid: String,
    pub inst_mid: String,
    pub product: Product,
    /// `billNo` or `merOrderId`.
    pub order_no: String,
    /// A bill's `billDate` (`yyyy-MM-dd`); empty for trade orders.
    pub bill_date: String,
    pub state: OrderState,
    /// In fen.
    pub total_amount: i64,
    /// In fen, the sum of the refunds.
    pub refunded_amount: i64,
    pub description: String,
    pub notify: Destination,
    /// Whether `notify` is the order's own `notifyUrl`; otherwise it is the merchant's
    /// as it was when the order was made, and notices follow the merchant's current one.
    pub own_notify: bool,
    pub payment: Option<Payment>,
    pub closed_at: Option<DateTime<Utc>>,
    /// An unpaid order closes itself at this time.
    pub expires_at: DateTime<Utc>,
    /// When the simulated buyer pays, while that is still to come.
    pub pay_due_at: Option<DateTime<Utc>>,
    /// An H5 order's cashier: where it sends the buyer back, and its page's secret.
    pub h5: Option<H5Cashier>,
    /// A guarantee bill's hold (`secureTransaction=true`); `None` on other orders.
    pub guarantee: Option<Guarantee>,
    /// A bill's QR code and echoed data ([`super::bill`]); `None` for a trade order.
    pub bill: Option<BillData>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The simulated cashier page of an H5 order, which a browser is redirected to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct H5Cashier {
    /// The page's address is `/netpay/cashier/{token}`: unguessable, so only the buyer
    /// who was redirected there can pay.
    pub token: String,
    /// Where the buyer goes after paying or cancelling (`returnUrl`).
    pub return_url: Option<String>,
}

impl Order {
    /// The state as the order's product names it.
    pub fn status(&self) -> &'static str {
        self.state.wire(self.product)
    }

    /// What is left to refund, in fen.
    pub fn refundable(&self) -> i64 {
        match self.state {
            OrderState::Paid | OrderState::Refunded => self.total_amount - self.refunded_amount,
            OrderState::Unpaid | OrderState::Closed => 0,
        }
    }

    /// Whether `to` is a legal next state (a refund also needs an amount left).
    pub fn check_move(&self, to: OrderState) -> Result<(), OrderRefusal> {
        let illegal = |why: String| OrderRefusal::Illegal {
            from: self.status(),
            to: to.wire(self.product),
            why,
        };
        if !self.state.allowed_targets().contains(&to) {
            let targets: Vec<&str> = self
                .state
                .allowed_targets()
                .iter()
                .map(|s| s.wire(self.product))
                .collect();
            return Err(illegal(if targets.is_empty() {
                format!("{} is terminal", self.status())
            } else {
                format!(
                    "from {} the allowed targets are {}",
                    self.status(),
                    targets.join(", ")
                )
            }));
        }
        super::guarantee::check_direct_refund(self, to).map_err(illegal)?;
        if to == OrderState::Refunded && self.refundable() == 0 {
            return Err(illegal("the order is refunded in full".to_owned()));
        }
        Ok(())
    }

    /// Checks a refund of `amount` fen.
    pub fn check_refund(&self, amount: i64) -> Result<(), OrderRefusal> {
        self.check_move(OrderState::Refunded)?;
        if amount < 1 {
            return Err(OrderRefusal::RefundNotPositive);
        }
        let left = self.refundable();
        if amount > left {
            return Err(OrderRefusal::RefundTooLarge {
                asked: amount,
                left,
                total: self.total_amount,
                refunded: self.refunded_amount,
            });
        }
        Ok(())
    }
}

/// An order to create, unpaid.
#[derive(Debug, Clone)]
pub struct NewOrder {
    pub mid: String,
    pub tid: String,
    pub inst_mid: String,
    pub product: Product,
    pub order_no: String,
    pub bill_date: String,
    pub total_amount: i64,
    pub description: String,
    pub notify: Destination,
    /// Whether `notify` is the order's own `notifyUrl`, not the merchant's.
    pub own_notify: bool,
    pub expires_at: DateTime<Utc>,
    pub pay_due_at: Option<DateTime<Utc>>,
    pub h5: Option<H5Cashier>,
    /// Whether it is a guarantee bill (`secureTransaction=true`).
    pub guarantee: bool,
    pub bill: Option<BillData>,
}

impl fmt::Display for Product {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests;
