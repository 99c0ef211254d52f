//! Tests of the order state machine: wire names, legal moves, refund limits and the
//! simulated payments.

use super::*;
use OrderState::*;

fn order(state: OrderState, product: Product) -> Order {
    let at = chrono::TimeZone::with_ymd_and_hms(&Utc, 2024, 1, 1, 0, 0, 0).unwrap();
    Order {
        id: 1,
        mid: "898310048161234".into(),
        tid: "88880001".into(),
        inst_mid: product.default_inst_mid().into(),
        product,
        order_no: "1017202401010001".into(),
        bill_date: String::new(),
        state,
        total_amount: 100,
        refunded_amount: 0,
        description: String::new(),
        notify: Destination::parse("http://127.0.0.1:9/n").unwrap(),
        own_notify: true,
        payment: None,
        closed_at: None,
        expires_at: at,
        pay_due_at: None,
        h5: None,
        guarantee: None,
        bill: None,
        created_at: at,
        updated_at: at,
    }
}

#[test]
fn every_state_has_one_wire_name_per_product() {
    for product in Product::ALL {
        for state in OrderState::ALL {
            assert_eq!(
                OrderState::from_wire(product, state.wire(product)),
                Ok(state)
            );
            assert_eq!(OrderState::from_stored(state.as_str()), Some(state));
        }
    }
    assert_eq!(Refunded.wire(Product::Bill), "REFUND");
    assert_eq!(Paid.wire(Product::Trade), "TRADE_SUCCESS");
    let err = OrderState::from_wire(Product::Bill, "TRADE_SUCCESS").unwrap_err();
    assert!(err.contains("UNPAID, PAID, REFUND, CLOSED"), "{err}");
}

#[test]
fn legal_moves_are_exactly_the_documented_ones() {
    let legal = [
        (Unpaid, Paid),
        (Unpaid, Closed),
        (Paid, Refunded),
        (Refunded, Refunded),
    ];
    for from in OrderState::ALL {
        for to in OrderState::ALL {
            let mut o = order(from, Product::Trade);
            if from == Refunded {
                o.refunded_amount = 40;
            }
            assert_eq!(
                o.check_move(to).is_ok(),
                legal.contains(&(from, to)),
                "{from:?} -> {to:?}"
            );
        }
    }
    let err = order(Closed, Product::Bill).check_move(Paid).unwrap_err();
    assert_eq!(
        err.to_string(),
        "illegal order state transition CLOSED -> PAID: CLOSED is terminal"
    );
}

#[test]
fn refunds_are_limited_to_what_is_left() {
    let mut o = order(Paid, Product::Trade);
    assert_eq!(o.check_refund(0), Err(OrderRefusal::RefundNotPositive));
    assert!(o.check_refund(100).is_ok());
    assert!(matches!(
        o.check_refund(101),
        Err(OrderRefusal::RefundTooLarge { left: 100, .. })
    ));
    o.state = Refunded;
    o.refunded_amount = 60;
    assert!(o.check_refund(40).is_ok());
    assert!(o.check_refund(41).is_err());
    o.refunded_amount = 100;
    assert!(o
        .check_refund(1)
        .unwrap_err()
        .to_string()
        .contains("in full"));
    assert!(order(Unpaid, Product::Trade).check_refund(1).is_err());
}

#[test]
fn simulated_payments_look_like_the_channels() {
    let p = Payment::simulate("WXPay", Utc::now());
    assert!(p.buyer_id.starts_with('o') && p.buyer_id.len() == 28);
    assert_eq!(p.target_order_id.len(), 28);
    assert!(p.seq_id.bytes().all(|b| b.is_ascii_digit()));
    assert!(Payment::simulate("Alipay", Utc::now())
        .buyer_id
        .starts_with("2088"));
}
