//! The rules of a guarantee bill's hold, alone and as order events planned with their
//! notices.

use super::*;
use crate::platform::payments::order::{Payment, Product};
use crate::policy::Destination;
use chrono::TimeZone;

fn at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 3, 2, 0, 0).unwrap()
}

fn bill(state: OrderState, status: Option<SecureStatus>) -> Order {
    let now = at();
    Order {
        id: 7,
        mid: "898340149000005".into(),
        tid: "88880001".into(),
        inst_mid: "QRPAYDEFAULT".into(),
        product: Product::Bill,
        order_no: "3194202612030001".into(),
        bill_date: "2026-12-03".into(),
        state,
        total_amount: 1000,
        refunded_amount: 0,
        description: String::new(),
        notify: Destination::parse("http://127.0.0.1:9/n").unwrap(),
        own_notify: true,
        payment: (state != OrderState::Unpaid).then(|| Payment::simulate("WXPay", now)),
        closed_at: None,
        expires_at: now,
        pay_due_at: None,
        h5: None,
        bill: None,
        guarantee: Some(Guarantee {
            status,
            completed_amount: 0,
        }),
        created_at: now,
        updated_at: now,
    }
}

fn held() -> Order {
    bill(OrderState::Paid, Some(SecureStatus::Uncompleted))
}

fn apply(order: &Order, settlement: Settlement) -> Result<(Order, Option<Refund>), String> {
    let mut next = order.clone();
    settle(order, &mut next, settlement, at())
        .map(|refund| (next, refund))
        .map_err(|refusal| refusal.to_string())
}

#[test]
fn completing_part_gives_the_rest_back_as_a_refund() {
    let (next, refund) = apply(
        &held(),
        Settlement::Complete {
            completed_amount: 600,
        },
    )
    .unwrap();
    let guarantee = next.guarantee.unwrap();
    assert_eq!(guarantee.status, Some(SecureStatus::PartlyCompleted));
    assert_eq!(guarantee.completed_amount, 600);
    assert_eq!(next.state, OrderState::Refunded);
    assert_eq!(next.refunded_amount, 400);
    let refund = refund.unwrap();
    assert_eq!(refund.amount, 400);
    assert!(refund.refund_order_id.starts_with("3194"));
    assert_eq!(
        notice_fields(&next)[1],
        ("completeAmount", "600".to_owned())
    );
}

#[test]
fn completing_all_keeps_the_bill_paid_and_cancelling_refunds_all() {
    let (all, refund) = apply(
        &held(),
        Settlement::Complete {
            completed_amount: 1000,
        },
    )
    .unwrap();
    assert_eq!(
        all.guarantee.unwrap().status,
        Some(SecureStatus::AllCompleted)
    );
    assert_eq!(
        (all.state, all.refunded_amount, refund),
        (OrderState::Paid, 0, None)
    );

    let (cancelled, refund) = apply(&held(), Settlement::Cancel).unwrap();
    assert_eq!(
        cancelled.guarantee.unwrap(),
        Guarantee {
            status: Some(SecureStatus::Canceled),
            completed_amount: 0
        }
    );
    assert_eq!(cancelled.state, OrderState::Refunded);
    assert_eq!(cancelled.refunded_amount, 1000);
    assert_eq!(refund.unwrap().amount, 1000);
}

#[test]
fn a_hold_is_settled_once_and_only_when_paid() {
    let complete = Settlement::Complete {
        completed_amount: 1,
    };
    for settlement in [complete, Settlement::Cancel] {
        let unpaid = apply(&bill(OrderState::Unpaid, None), settlement).unwrap_err();
        assert!(unpaid.contains("is UNPAID"), "{unpaid}");
        let closed = apply(&bill(OrderState::Closed, None), settlement).unwrap_err();
        assert!(closed.contains("is CLOSED"), "{closed}");
        for done in [
            SecureStatus::AllCompleted,
            SecureStatus::PartlyCompleted,
            SecureStatus::Canceled,
        ] {
            let order = bill(OrderState::Refunded, Some(done));
            let err = apply(&order, settlement).unwrap_err();
            assert!(err.contains(done.as_str()) && err.contains("once"), "{err}");
        }
        let mut plain = held();
        plain.guarantee = None;
        let err = apply(&plain, settlement).unwrap_err();
        assert!(err.contains("secureTransaction=true"), "{err}");
        assert!(err.starts_with(settlement.name()), "{err}");
    }
    for asked in [0, 1001] {
        let err = apply(
            &held(),
            Settlement::Complete {
                completed_amount: asked,
            },
        )
        .unwrap_err();
        assert_eq!(
            err,
            format!(
                "completedAmount must be 1 to the bill's totalAmount 1000 fen; received {asked}"
            )
        );
    }
}

#[test]
fn an_uncompleted_hold_is_not_refunded_directly_and_ends_after_30_days() {
    let order = held();
    let err = order.check_refund(1).unwrap_err().to_string();
    assert!(
        err.contains("PAID -> REFUND") && err.contains("UNCOMPLETED"),
        "{err}"
    );
    let (completed, _) = apply(
        &order,
        Settlement::Complete {
            completed_amount: 1000,
        },
    )
    .unwrap();
    assert!(
        completed.check_refund(1000).is_ok(),
        "settled: refunded as any bill"
    );
    assert!(check_direct_refund(&bill(OrderState::Paid, None), OrderState::Refunded).is_ok());

    let paid_at = order.payment.as_ref().unwrap().paid_at;
    assert_eq!(hold_ends_at(&order), Some(paid_at + HOLD));
    assert!(!hold_due(
        &order,
        paid_at + HOLD - chrono::Duration::milliseconds(1)
    ));
    assert!(hold_due(&order, paid_at + HOLD));
    assert!(!hold_due(&completed, paid_at + HOLD), "no longer held");
    assert_eq!(hold_ends_at(&bill(OrderState::Unpaid, None)), None);
}

#[test]
fn a_payment_starts_the_hold_of_a_guarantee_bill_only() {
    let mut unpaid = bill(OrderState::Unpaid, None);
    assert!(notice_fields(&unpaid).is_empty(), "nothing held yet");
    on_payment(&mut unpaid);
    assert_eq!(
        unpaid.guarantee.unwrap().status,
        Some(SecureStatus::Uncompleted)
    );
    let mut plain = bill(OrderState::Unpaid, None);
    plain.guarantee = None;
    on_payment(&mut plain);
    assert_eq!(plain.guarantee, None);
    for status in SecureStatus::ALL {
        assert_eq!(SecureStatus::from_stored(status.as_str()), Some(status));
    }
}

mod planned {
    use super::*;
    use crate::platform::auth::AppKey;
    use crate::platform::merchants::merchant::{Merchant, PaymentNotices, SignType};
    use crate::platform::payments::events::{plan, Cause, OrderChange, OrderEvent, Refused};
    use crate::policy::RetryPolicy;

    fn merchant(payment_notices: PaymentNotices) -> Merchant {
        Merchant {
            mid: "898340149000005".into(),
            name: "测试商户".into(),
            notify_url: Some("http://127.0.0.1:9/n".into()),
            app_id: "app".into(),
            app_key: AppKey::new("app-key"),
            md5_key: AppKey::new("md5-key"),
            app_key_grace: None,
            md5_key_grace: None,
            sign_type: SignType::Md5,
            msg_src_id: "3194".into(),
            msg_src: "WWW.TEST.COM".into(),
            auto_consent_after: None,
            auto_pay_after: None,
            extra_copies: 0,
            payment_notices,
            rate_limit_per_second: None,
            rate_limit_burst: None,
            delivery: Default::default(),
            created_at: at(),
            updated_at: at(),
        }
    }

    fn change(event: OrderEvent, cause: Cause, now: DateTime<Utc>) -> OrderChange {
        OrderChange { event, cause, now }
    }

    /// The fields of the notice's body.
    fn notice(planned: &crate::platform::payments::events::Planned) -> Vec<(String, String)> {
        assert_eq!(planned.notifications.len(), 1, "one notice");
        url::form_urlencoded::parse(&planned.notifications[0].body)
            .into_owned()
            .collect()
    }

    fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
        fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn the_payment_notice_carries_the_hold_and_a_settlement_notifies_under_all_only() {
        let policy = RetryPolicy::default();
        let product = merchant(PaymentNotices::Product);
        let mut unpaid = bill(OrderState::Unpaid, None);
        unpaid.expires_at = at() + chrono::Duration::minutes(30);
        let pay = change(
            OrderEvent::Pay {
                target_sys: "WXPay".into(),
            },
            Cause::Admin,
            at(),
        );
        let paid = plan(&unpaid, &product, None, &pay, &policy).unwrap();
        let fields = notice(&paid);
        assert_eq!(field(&fields, "billStatus"), Some("PAID"));
        assert_eq!(field(&fields, "secureStatus"), Some("UNCOMPLETED"));
        assert_eq!(field(&fields, "completeAmount"), Some("0"));

        let complete = change(
            OrderEvent::Guarantee(Settlement::Complete {
                completed_amount: 250,
            }),
            Cause::Merchant,
            at(),
        );
        let quiet = plan(&paid.order, &product, None, &complete, &policy).unwrap();
        assert!(
            quiet.notifications.is_empty(),
            "product: a bill notifies its payment alone"
        );
        assert_eq!(quiet.refund.as_ref().map(|r| r.amount), Some(750));

        let all = merchant(PaymentNotices::All);
        let told = plan(&paid.order, &all, None, &complete, &policy).unwrap();
        let fields = notice(&told);
        assert_eq!(field(&fields, "billStatus"), Some("REFUND"));
        assert_eq!(field(&fields, "secureStatus"), Some("PARTLY_COMPLETED"));
        assert_eq!(field(&fields, "completeAmount"), Some("250"));
        assert_eq!(field(&fields, "refundAmount"), Some("750"));

        let mut plain = unpaid.clone();
        plain.guarantee = None;
        let plain = plan(&plain, &product, None, &pay, &policy).unwrap();
        assert_eq!(
            field(&notice(&plain), "secureStatus"),
            None,
            "not a guarantee bill"
        );
    }

    #[test]
    fn a_hold_cancels_itself_when_due_and_is_refused_a_direct_refund() {
        let policy = RetryPolicy::default();
        let product = merchant(PaymentNotices::Product);
        let order = held();
        let paid_at = order.payment.as_ref().unwrap().paid_at;
        let cancel = |now| {
            change(
                OrderEvent::Guarantee(Settlement::Cancel),
                Cause::HoldExpiry,
                now,
            )
        };
        let early = plan(
            &order,
            &product,
            None,
            &cancel(paid_at + HOLD - chrono::Duration::seconds(1)),
            &policy,
        );
        assert!(matches!(early, Err(Refused::NotDue)), "{early:?}");
        let due = plan(&order, &product, None, &cancel(paid_at + HOLD), &policy).unwrap();
        assert_eq!(
            due.order.guarantee.unwrap().status,
            Some(SecureStatus::Canceled)
        );
        assert_eq!(due.order.refunded_amount, 1000);
        assert!(due.notifications.is_empty());
        let again = plan(&due.order, &product, None, &cancel(paid_at + HOLD), &policy);
        assert!(matches!(again, Err(Refused::NotDue)), "{again:?}");

        let refund = change(
            OrderEvent::Refund {
                refund_order_id: "3194R0001".into(),
                amount: Some(1),
                generated: false,
            },
            Cause::Merchant,
            at(),
        );
        let refused = plan(&order, &product, None, &refund, &policy);
        assert!(
            matches!(&refused, Err(Refused::Rule(OrderRefusal::Illegal { why, .. })) if why.contains("UNCOMPLETED")),
            "{refused:?}"
        );
    }
}
