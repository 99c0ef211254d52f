//! The admin's requests of the order service ([`crate::platform::payments::requests`]):
//! the rules of creating an order, moving it and refunding part of it, for the admin API
//! and the console alike, each checked before anything is written.

use chrono::{DateTime, Utc};

use crate::duration::parse_duration;
use crate::platform::payments::events::{Cause, OrderEvent, Refused};
use crate::platform::payments::fields::{
    self as order_fields, generate_order_no, order_no_max, source_number,
};
use crate::platform::payments::order::{Order, OrderRefusal, OrderState, Product};
use crate::platform::payments::payment::channel_named;
use crate::platform::payments::requests::{
    CreateOrder, OrderMoved, OrderRefused, OrderTransition, RefundRequest,
};
use crate::platform::payments::service::{OrderService, OrderTerms};
use crate::platform::payments::store::{OrderChangeOutcome, OrderCreateOutcome};
use crate::platform::wire::fields;
use crate::policy::Destination;

impl OrderService {
    /// Creates an order as if the merchant had created it through the platform API: the
    /// request's terms are checked in the order the admin API has always checked them.
    pub async fn create(
        &self,
        request: CreateOrder,
    ) -> anyhow::Result<Result<Order, OrderRefused>> {
        let now = self.now();
        let (mid, checked, notify) = match terms_of(request, now) {
            Ok(checked) => checked,
            Err(refused) => return Ok(Err(refused)),
        };
        let Some(merchant) = self.merchants.merchant(&mid).await? else {
            return Ok(Err(OrderRefused::UnknownMerchant(mid)));
        };
        let product = checked.product;
        let order_no = match checked.order_no {
            Some(no) => {
                let max = order_no_max(product);
                if let Err(message) =
                    order_fields::order_no("`order_no`", &no, max, &merchant.msg_src_id)
                {
                    return Ok(Err(OrderRefused::invalid("order_no", message)));
                }
                no
            }
            None => generate_order_no(&merchant.msg_src_id, now),
        };
        if let Some(Err(refused)) = notify
            .as_ref()
            .map(|n| self.producer.egress.admit_url(&n.url))
        {
            return Ok(Err(OrderRefused::DestinationNotAllowed(format!(
                "`notify_url`: {refused}"
            ))));
        }
        let own_notify = notify.is_some();
        let notify = match notify.map_or_else(|| merchant.default_notify_target(), Ok) {
            Ok(notify) => notify,
            Err(refused) => return Ok(Err(OrderRefused::NoDefaultNotify(refused))),
        };
        let terms = OrderTerms {
            product,
            order_no,
            tid: checked.tid,
            inst_mid: checked.inst_mid,
            bill_date: match product {
                Product::Bill => crate::platform::wire::time::format_wall_clock(now, "%Y-%m-%d"),
                Product::Trade => String::new(),
            },
            total_amount: checked.total_amount,
            description: checked.description,
            expires_at: checked.expires_at,
            h5: None,
            guarantee: false,
            bill: None,
        };
        let new = self.draft(&merchant, terms, notify, own_notify, now);
        Ok(match self.store.create_order(new, None, now).await? {
            OrderCreateOutcome::Created(order) => {
                tracing::info!(mid = %order.mid, order_no = %order.order_no, "order created by an admin");
                Ok(order)
            }
            OrderCreateOutcome::DuplicateOrderNo(existing) => Err(OrderRefused::DuplicateOrderNo {
                mid,
                id: existing.id,
                order_no: existing.order_no,
            }),
            OrderCreateOutcome::NonceReplayed => anyhow::bail!("no nonce was given"),
            OrderCreateOutcome::DuplicateQrCode(code) => {
                anyhow::bail!("the QR code id {code} made up for a bill is taken")
            }
        })
    }

    /// Moves order `id` (as the caller wrote it): pays it, closes it or refunds what is
    /// left of it; the move and its payment-result notice are one transaction.
    pub async fn transition(
        &self,
        id: &str,
        request: OrderTransition,
    ) -> anyhow::Result<Result<OrderMoved, OrderRefused>> {
        let order = match self.order_of(id).await? {
            Ok(order) => order,
            Err(refused) => return Ok(Err(refused)),
        };
        let to = match OrderState::from_wire(order.product, &request.to) {
            Ok(to) => to,
            Err(message) => return Ok(Err(OrderRefused::InvalidState(message))),
        };
        let Some(target_sys) = channel_named(request.target_sys) else {
            return Ok(Err(OrderRefused::InvalidTargetSys));
        };
        let event = match to {
            OrderState::Paid => OrderEvent::Pay { target_sys },
            OrderState::Closed => OrderEvent::Close,
            OrderState::Refunded => OrderEvent::Refund {
                refund_order_id: generate_order_no(&source_number(&order.order_no), self.now()),
                amount: None,
                generated: false,
            },
            OrderState::Unpaid => {
                let refusal = order
                    .check_move(to)
                    .err()
                    .unwrap_or_else(|| OrderRefusal::Illegal {
                        from: order.status(),
                        to: to.wire(order.product),
                        why: "an order never becomes unpaid again".to_owned(),
                    });
                return Ok(Err(OrderRefused::Rule(refusal)));
            }
        };
        self.admin_move(id, order.id, event).await
    }

    /// Refunds part (or all) of paid order `id`, as the merchant's refund API would; its
    /// payment-result notice is enqueued in the same transaction.
    pub async fn refund(
        &self,
        id: &str,
        request: RefundRequest,
    ) -> anyhow::Result<Result<OrderMoved, OrderRefused>> {
        let order = match self.order_of(id).await? {
            Ok(order) => order,
            Err(refused) => return Ok(Err(refused)),
        };
        let amount = match request.amount.as_ref() {
            None => Err("`amount` is required".to_owned()),
            Some(amount) => order_fields::amount("`amount`", amount),
        };
        let amount = match amount {
            Ok(amount) => amount,
            Err(message) => return Ok(Err(OrderRefused::invalid("amount", message))),
        };
        let prefix = source_number(&order.order_no);
        let refund_order_id = match request.refund_order_id {
            Some(no) => match order_fields::order_no("`refund_order_id`", &no, 32, &prefix) {
                Ok(()) => no,
                Err(message) => return Ok(Err(OrderRefused::invalid("refund_order_id", message))),
            },
            None => generate_order_no(&prefix, self.now()),
        };
        // The admin API plays the channel: a number it makes up is not the merchant's.
        let event = OrderEvent::Refund {
            refund_order_id,
            amount: Some(amount),
            generated: false,
        };
        self.admin_move(id, order.id, event).await
    }

    /// The order an admin names by `id`, as written (a path segment).
    pub async fn order_of(&self, id: &str) -> anyhow::Result<Result<Order, OrderRefused>> {
        let not_found = || OrderRefused::NotFound(id.to_owned());
        let Ok(number) = id.parse::<i64>() else {
            return Ok(Err(not_found()));
        };
        Ok(self.store.order(number).await?.ok_or_else(not_found))
    }

    /// Applies an admin's `event` to order `order_id` (`id` as the admin wrote it).
    async fn admin_move(
        &self,
        id: &str,
        order_id: i64,
        event: OrderEvent,
    ) -> anyhow::Result<Result<OrderMoved, OrderRefused>> {
        Ok(
            match self.apply(order_id, event, Cause::Admin, None).await? {
                OrderChangeOutcome::Done {
                    order,
                    refund,
                    notifications,
                } => {
                    tracing::info!(mid = %order.mid, order_no = %order.order_no, status = order.status(), "order moved by an admin");
                    Ok(OrderMoved {
                        order,
                        refund,
                        notifications,
                    })
                }
                OrderChangeOutcome::NotFound => Err(OrderRefused::NotFound(id.to_owned())),
                OrderChangeOutcome::Refused(Refused::Rule(refusal)) => {
                    Err(OrderRefused::Rule(refusal))
                }
                OrderChangeOutcome::Refused(Refused::Repeated(refund)) => {
                    Err(OrderRefused::RefundRepeated(refund))
                }
                OrderChangeOutcome::Refused(Refused::NotDue)
                | OrderChangeOutcome::NonceReplayed => {
                    anyhow::bail!("an admin change was refused as a simulated one")
                }
            },
        )
    }
}

/// The terms of a [`CreateOrder`] once checked, before its merchant is found (which
/// the order number and a missing notify URL need).
struct Checked {
    product: Product,
    order_no: Option<String>,
    tid: String,
    inst_mid: String,
    total_amount: i64,
    description: String,
    expires_at: Option<DateTime<Utc>>,
}

/// The merchant, the checked terms and the notify target (if the request names one) of
/// a [`CreateOrder`] at `now`.
fn terms_of(
    request: CreateOrder,
    now: DateTime<Utc>,
) -> Result<(String, Checked, Option<Destination>), OrderRefused> {
    let invalid =
        |field: &'static str| move |message: String| OrderRefused::invalid(field, message);
    let mid = fields::require("mid", request.mid.as_deref())
        .map_err(|_| OrderRefused::invalid("mid", "`mid` is required"))?
        .to_owned();
    fields::validate_mid(&mid).map_err(|e| OrderRefused::invalid("mid", e.message))?;
    let total_amount = order_fields::amount(
        "`total_amount`",
        request
            .total_amount
            .as_ref()
            .ok_or_else(|| OrderRefused::invalid("total_amount", "`total_amount` is required"))?,
    )
    .map_err(invalid("total_amount"))?;
    let product = match request.product.as_deref() {
        None => Product::Trade,
        Some(p) => p.parse().map_err(invalid("product"))?,
    };
    let description = request.description.unwrap_or_default();
    order_fields::description("`description`", &description).map_err(invalid("description"))?;
    let tid = request.tid.unwrap_or_else(|| "88880001".to_owned());
    order_fields::tid("`tid`", &tid).map_err(invalid("tid"))?;
    let inst_mid = request
        .inst_mid
        .unwrap_or_else(|| product.default_inst_mid().to_owned());
    order_fields::inst_mid("`inst_mid`", &inst_mid).map_err(invalid("inst_mid"))?;
    let expires_at = request
        .expire_after
        .as_deref()
        .map(|text| expiry(text, now))
        .transpose()
        .map_err(invalid("expire_after"))?;
    let notify = request
        .notify_url
        .as_deref()
        .filter(|url| !url.is_empty())
        .map(fields::notify_target)
        .transpose()
        .map_err(|e| {
            OrderRefused::InvalidNotifyUrl(e.message.replace("notifyUrl", "`notify_url`"))
        })?;
    let checked = Checked {
        product,
        order_no: request.order_no,
        tid,
        inst_mid,
        total_amount,
        description,
        expires_at,
    };
    Ok((mid, checked, notify))
}

/// When an order asked to stay payable for `text` (such as `30m`) from `now` expires.
fn expiry(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let after = parse_duration(text)
        .ok()
        .and_then(|d| chrono::Duration::from_std(d).ok())
        .ok_or_else(|| format!("`expire_after` is not a duration such as 30m: {text:?}"))?;
    // Checked before it is added: a huge duration must not overflow the time.
    let at = now
        .checked_add_signed(after)
        .ok_or_else(|| "`expire_after` must be at most 30d".to_owned())?;
    order_fields::expiry("`expire_after`", at, now)?;
    Ok(at)
}
