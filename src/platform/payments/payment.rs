//! How an order was paid and refunded: the simulated channel's answers.

use chrono::{DateTime, Utc};

/// How an order was paid: the simulated channel's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    /// The channel, e.g. `WXPay`, `Alipay`, `UnionPay` (`targetSys`).
    pub target_sys: String,
    /// The channel's order number (`targetOrderId`).
    pub target_order_id: String,
    /// The buyer at the channel (`buyerId`).
    pub buyer_id: String,
    /// The platform's serial number (`seqId`).
    pub seq_id: String,
    pub paid_at: DateTime<Utc>,
}

/// The channels a simulated buyer may pay through.
pub const CHANNELS: [&str; 3] = ["WXPay", "Alipay", "UnionPay"];

/// The channel an admin's request names (`target_sys`): the first of [`CHANNELS`] when it
/// names none, `None` when it names one the sandbox does not simulate.
pub fn channel_named(given: Option<String>) -> Option<String> {
    match given {
        None => Some(CHANNELS[0].to_owned()),
        Some(channel) => CHANNELS.contains(&channel.as_str()).then_some(channel),
    }
}

impl Payment {
    /// A payment through `target_sys` at `now`, with random channel numbers.
    pub fn simulate(target_sys: &str, now: DateTime<Utc>) -> Self {
        let digits = |n: usize| -> String {
            (0..n)
                .map(|_| char::from(b'0' + rand::random_range(0..10u8)))
                .collect()
        };
        let buyer_id = match target_sys {
            "WXPay" => format!("o{}", crate::platform::auth::generate_credential(27)),
            "Alipay" => format!("2088{}", digits(12)),
            _ => format!("U{}", digits(15)),
        };
        Self {
            target_sys: target_sys.to_owned(),
            target_order_id: format!("4200{}", digits(24)),
            buyer_id,
            seq_id: digits(12),
            paid_at: now,
        }
    }
}

/// A refund of an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refund {
    pub refund_order_id: String,
    /// In fen.
    pub amount: i64,
    /// The channel's refund number (`refundTargetOrderId`).
    pub target_order_id: String,
    pub created_at: DateTime<Utc>,
}
