//! Split bills (分账, netpay spec §3.4 `divisionFlag`, §3.8 refunds of split bills): a QR
//! bill whose amount is shared between the platform merchant (`platformAmount`) and up to
//! [`MAX_SUB_ORDERS`] sub-merchants. It owns the split plan kept with the bill, how it is
//! made from `goods` or `subOrders`, what each share has left to refund, and the rules
//! (and refusals) of refunding a split bill.
//!
//! # Making a plan
//!
//! - **By `subOrders`**: each sub-merchant's `totalAmount` is its share, exactly;
//!   Σ `subOrders.totalAmount` + `platformAmount` = `totalAmount`.
//! - **By `goods`**: the items' `subOrderAmount`s add up to `totalAmount`, and what is left
//!   after `platformAmount` is shared in proportion to them (items of one sub-merchant add
//!   up). Each share is rounded down to the fen, and the fen that rounding leaves go one
//!   each to the largest remainders (the earlier sub-merchant first on a tie), so the
//!   shares add up to `totalAmount - platformAmount` exactly.
//!
//! # Refunding
//!
//! - A **full refund** (all that is left of the bill) names no share: every share is
//!   refunded of what it has left.
//! - A **partial refund** names exactly one sub-merchant of the plan and its part, and the
//!   platform's part (`platformAmount`, which may be 0); the refund is their sum, and each
//!   part is at most what is left of its share.

use serde::{Deserialize, Serialize};

use crate::platform::payments::order::Order;

/// The most sub-merchants (and `goods` items) of a split (spec §3.4).
pub const MAX_SUB_ORDERS: usize = 20;

/// Which field of the request the plan was made from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SplitBy {
    #[serde(rename = "goods")]
    Goods,
    #[serde(rename = "subOrders")]
    SubOrders,
}

impl SplitBy {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Goods => "goods",
            Self::SubOrders => "subOrders",
        }
    }
}

/// One share of a split bill, in fen: what it is and what of it was refunded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Share {
    pub amount: i64,
    pub refunded: i64,
}

impl Share {
    /// What is left of it to refund.
    pub const fn left(self) -> i64 {
        self.amount - self.refunded
    }
}

/// A sub-merchant's share.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubShare {
    pub mid: String,
    #[serde(flatten)]
    pub share: Share,
}

/// How a split bill's amount is shared; kept with the bill (as JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SplitPlan {
    pub by: SplitBy,
    pub platform: Share,
    pub sub_orders: Vec<SubShare>,
}

/// A partial refund of a split bill: `amount` fen of sub-merchant `mid`'s share and
/// `platform_amount` fen of the platform's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareRefund {
    pub mid: String,
    pub amount: i64,
    pub platform_amount: i64,
}

impl ShareRefund {
    /// What the refund takes in all.
    pub const fn total(&self) -> i64 {
        self.amount + self.platform_amount
    }
}

/// Why a refund of a split bill (or a share refund of another bill) is not made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SplitRefusal {
    #[error("subOrders and platformAmount go with a refund of a split bill; bill {order_no} is not split (made without divisionFlag true)")]
    NotSplit { order_no: String },
    #[error("a partial refund of split bill {order_no} needs subOrders (exactly one sub-merchant of the bill and its part) and platformAmount: expected them for refundAmount {asked} fen, less than the {left} fen left; a full refund (refundAmount {left}) sends neither")]
    SharesRequired {
        order_no: String,
        asked: i64,
        left: i64,
    },
    #[error("subOrders[0].mid {mid} is no sub-merchant of split bill {order_no}; its sub-merchants are {}", .mids.join(", "))]
    UnknownSubMerchant {
        order_no: String,
        mid: String,
        mids: Vec<String>,
    },
    #[error("refundAmount must be subOrders.totalAmount + platformAmount: expected {expected} ({amount} + {platform_amount}) fen, received {asked}")]
    SumMismatch {
        asked: i64,
        expected: i64,
        amount: i64,
        platform_amount: i64,
    },
    #[error("subOrders.totalAmount {asked} fen is more than the {left} fen left of sub-merchant {mid}'s share (share {amount}, refunded {refunded})")]
    ShareTooLarge {
        mid: String,
        asked: i64,
        left: i64,
        amount: i64,
        refunded: i64,
    },
    #[error("platformAmount {asked} fen is more than the {left} fen left of the platform's share (share {amount}, refunded {refunded})")]
    PlatformTooLarge {
        asked: i64,
        left: i64,
        amount: i64,
        refunded: i64,
    },
}

impl SplitRefusal {
    /// Whether the request is wrong in itself (a field missing or not of the bill), not
    /// asking more than is left.
    pub const fn is_malformed(&self) -> bool {
        !matches!(
            self,
            Self::ShareTooLarge { .. } | Self::PlatformTooLarge { .. }
        )
    }
}

impl SplitPlan {
    /// The plan of `subOrders` (each `(mid, totalAmount)`) with `platform_amount`, for a
    /// bill of `total` fen; or why it is no plan.
    pub fn by_sub_orders(
        total: i64,
        platform_amount: i64,
        sub_orders: Vec<(String, i64)>,
    ) -> Result<Self, String> {
        check_mids("subOrders", sub_orders.iter().map(|(mid, _)| mid.as_str()))?;
        let sum: i64 = sub_orders.iter().map(|(_, amount)| amount).sum();
        if sum + platform_amount != total {
            return Err(format!(
                "the sum of subOrders.totalAmount and platformAmount must be totalAmount: \
                 expected {total} fen, received {sum} + {platform_amount} = {} fen",
                sum + platform_amount
            ));
        }
        Ok(Self {
            by: SplitBy::SubOrders,
            platform: share(platform_amount),
            sub_orders: sub_orders
                .into_iter()
                .map(|(mid, amount)| SubShare {
                    mid,
                    share: share(amount),
                })
                .collect(),
        })
    }

    /// The plan of `goods` items (each `(subMerchantId, subOrderAmount)`) with
    /// `platform_amount`, for a bill of `total` fen: the rest after the platform's share,
    /// in proportion to the items (see the module's rounding); or why it is no plan.
    pub fn by_goods(
        total: i64,
        platform_amount: i64,
        items: Vec<(String, i64)>,
    ) -> Result<Self, String> {
        if items.is_empty() || items.len() > MAX_SUB_ORDERS {
            return Err(format!(
                "goods of a split bill must have 1 to {MAX_SUB_ORDERS} items; received {}",
                items.len()
            ));
        }
        let sum: i64 = items.iter().map(|(_, amount)| amount).sum();
        if sum != total {
            return Err(format!(
                "the sum of goods.subOrderAmount must be totalAmount: expected {total} fen, \
                 received {sum} fen"
            ));
        }
        if platform_amount > total {
            return Err(format!(
                "platformAmount must be at most totalAmount: expected at most {total} fen, \
                 received {platform_amount}"
            ));
        }
        let mut grouped: Vec<(String, i64)> = Vec::new();
        for (mid, amount) in items {
            match grouped.iter_mut().find(|(m, _)| *m == mid) {
                Some((_, sum)) => *sum += amount,
                None => grouped.push((mid, amount)),
            }
        }
        let rest = i128::from(total - platform_amount);
        let whole = i128::from(total);
        let mut shares: Vec<(i64, i128)> = grouped
            .iter()
            .map(|(_, amount)| {
                let exact = rest * i128::from(*amount);
                // Whole fen (rest ≤ 1e8 and amount ≤ 1e8: no overflow in i128), remainder.
                (i64::try_from(exact / whole).unwrap_or(0), exact % whole)
            })
            .collect();
        let given: i64 = shares.iter().map(|(fen, _)| fen).sum();
        let mut order: Vec<usize> = (0..shares.len()).collect();
        order.sort_by(|a, b| shares[*b].1.cmp(&shares[*a].1).then(a.cmp(b)));
        for index in order
            .into_iter()
            .take(usize::try_from(total - platform_amount - given).unwrap_or(0))
        {
            shares[index].0 += 1;
        }
        Ok(Self {
            by: SplitBy::Goods,
            platform: share(platform_amount),
            sub_orders: grouped
                .into_iter()
                .zip(shares)
                .map(|((mid, _), (amount, _))| SubShare {
                    mid,
                    share: share(amount),
                })
                .collect(),
        })
    }

    /// A full refund: every share is refunded of all it has left.
    fn refund_all(&mut self) {
        self.platform.refunded = self.platform.amount;
        for sub in &mut self.sub_orders {
            sub.share.refunded = sub.share.amount;
        }
    }

    /// A partial refund of the bill `order_no`.
    fn refund_share(&mut self, order_no: &str, refund: &ShareRefund) -> Result<(), SplitRefusal> {
        let mids = || self.sub_orders.iter().map(|s| s.mid.clone()).collect();
        let Some(index) = self.sub_orders.iter().position(|s| s.mid == refund.mid) else {
            return Err(SplitRefusal::UnknownSubMerchant {
                order_no: order_no.to_owned(),
                mid: refund.mid.clone(),
                mids: mids(),
            });
        };
        let sub = self.sub_orders[index].share;
        if refund.amount > sub.left() {
            return Err(SplitRefusal::ShareTooLarge {
                mid: refund.mid.clone(),
                asked: refund.amount,
                left: sub.left(),
                amount: sub.amount,
                refunded: sub.refunded,
            });
        }
        if refund.platform_amount > self.platform.left() {
            return Err(SplitRefusal::PlatformTooLarge {
                asked: refund.platform_amount,
                left: self.platform.left(),
                amount: self.platform.amount,
                refunded: self.platform.refunded,
            });
        }
        self.sub_orders[index].share.refunded += refund.amount;
        self.platform.refunded += refund.platform_amount;
        Ok(())
    }
}

/// What a refund of `amount` fen (naming `share`, or no share) does to the plan of
/// `current`: `next` (a copy of it) takes the plan after it. Bills that are not split take
/// refunds that name no share, as always.
pub fn on_refund(
    current: &Order,
    next: &mut Order,
    amount: i64,
    share: Option<&ShareRefund>,
) -> Result<(), SplitRefusal> {
    let order_no = current.order_no.as_str();
    let plan = next.bill.as_mut().and_then(|bill| bill.split.as_mut());
    match (plan, share) {
        (None, None) => Ok(()),
        (None, Some(_)) => Err(SplitRefusal::NotSplit {
            order_no: order_no.to_owned(),
        }),
        (Some(plan), None) => {
            let left = current.refundable();
            if amount != left {
                return Err(SplitRefusal::SharesRequired {
                    order_no: order_no.to_owned(),
                    asked: amount,
                    left,
                });
            }
            plan.refund_all();
            Ok(())
        }
        (Some(plan), Some(share)) => {
            if share.total() != amount {
                return Err(SplitRefusal::SumMismatch {
                    asked: amount,
                    expected: share.total(),
                    amount: share.amount,
                    platform_amount: share.platform_amount,
                });
            }
            plan.refund_share(order_no, share)
        }
    }
}

/// The split plan of `order`, if it is a split bill.
pub fn plan_of(order: &Order) -> Option<&SplitPlan> {
    order.bill.as_ref()?.split.as_ref()
}

fn share(amount: i64) -> Share {
    Share {
        amount,
        refunded: 0,
    }
}

/// 1 to [`MAX_SUB_ORDERS`] sub-merchants, each once.
fn check_mids<'a>(field: &str, mids: impl ExactSizeIterator<Item = &'a str>) -> Result<(), String> {
    let count = mids.len();
    if count == 0 || count > MAX_SUB_ORDERS {
        return Err(format!(
            "{field} must name 1 to {MAX_SUB_ORDERS} sub-merchants; received {count}"
        ));
    }
    let mut seen: Vec<&str> = Vec::with_capacity(count);
    for mid in mids {
        if seen.contains(&mid) {
            return Err(format!(
                "{field} must name each sub-merchant once; received mid {mid} twice"
            ));
        }
        seen.push(mid);
    }
    Ok(())
}

#[cfg(test)]
mod tests;
