//! Unit tests of split plans: making them from goods and subOrders, and refunding them.

use super::*;

fn subs(plan: &SplitPlan) -> Vec<(&str, i64)> {
    plan.sub_orders
        .iter()
        .map(|s| (s.mid.as_str(), s.share.amount))
        .collect()
}

#[test]
fn sub_orders_split_exactly_and_add_up_with_the_platform() {
    let plan = SplitPlan::by_sub_orders(
        1000,
        100,
        vec![("SUB0000001".into(), 600), ("SUB0000002".into(), 300)],
    )
    .unwrap();
    assert_eq!(subs(&plan), [("SUB0000001", 600), ("SUB0000002", 300)]);
    assert_eq!(plan.platform.amount, 100);
    let err = SplitPlan::by_sub_orders(1000, 0, vec![("SUB0000001".into(), 600)]).unwrap_err();
    assert!(
        err.contains("expected 1000") && err.contains("600 + 0 = 600"),
        "{err}"
    );
    let twice = vec![("SUB0000001".into(), 500), ("SUB0000001".into(), 500)];
    assert!(SplitPlan::by_sub_orders(1000, 0, twice)
        .unwrap_err()
        .contains("twice"));
    let many = (0..21).map(|i| (format!("SUB{i:08}"), 1)).collect();
    assert!(SplitPlan::by_sub_orders(21, 0, many)
        .unwrap_err()
        .contains("received 21"));
}

#[test]
fn goods_split_the_rest_in_proportion_and_the_fen_add_up() {
    let items = vec![
        ("SUB0000001".into(), 1),
        ("SUB0000002".into(), 1),
        ("SUB0000003".into(), 1),
    ];
    let plan = SplitPlan::by_goods(3, 1, items).unwrap();
    // 2 fen over three equal items: 0.67 each, the first two take the rounding's fen.
    assert_eq!(
        subs(&plan),
        [("SUB0000001", 1), ("SUB0000002", 1), ("SUB0000003", 0)]
    );
    let items = vec![
        ("SUB0000001".into(), 700),
        ("SUB0000002".into(), 200),
        ("SUB0000001".into(), 100),
    ];
    let plan = SplitPlan::by_goods(1000, 100, items).unwrap();
    assert_eq!(subs(&plan), [("SUB0000001", 720), ("SUB0000002", 180)]);
    let err = SplitPlan::by_goods(1000, 0, vec![("SUB0000001".into(), 999)]).unwrap_err();
    assert!(
        err.contains("expected 1000") && err.contains("received 999"),
        "{err}"
    );
    assert!(SplitPlan::by_goods(10, 11, vec![("SUB0000001".into(), 10)])
        .unwrap_err()
        .contains("at most 10"));
}

#[test]
fn share_refunds_are_limited_to_each_share() {
    let mut plan = SplitPlan::by_sub_orders(
        1000,
        100,
        vec![("SUB0000001".into(), 600), ("SUB0000002".into(), 300)],
    )
    .unwrap();
    let refund = |mid: &str, amount, platform_amount| ShareRefund {
        mid: mid.into(),
        amount,
        platform_amount,
    };
    plan.refund_share("B", &refund("SUB0000001", 400, 50))
        .unwrap();
    let err = plan
        .refund_share("B", &refund("SUB0000001", 201, 0))
        .unwrap_err();
    assert!(
        matches!(err, SplitRefusal::ShareTooLarge { left: 200, .. }),
        "{err}"
    );
    assert!(!err.is_malformed());
    let err = plan
        .refund_share("B", &refund("SUB0000002", 0, 51))
        .unwrap_err();
    assert!(
        matches!(err, SplitRefusal::PlatformTooLarge { left: 50, .. }),
        "{err}"
    );
    let err = plan
        .refund_share("B", &refund("SUB0000009", 1, 0))
        .unwrap_err();
    assert!(err.is_malformed() && err.to_string().contains("SUB0000001, SUB0000002"));
    plan.refund_all();
    assert!(plan.sub_orders.iter().all(|s| s.share.left() == 0));
    assert_eq!(plan.platform.left(), 0);
}
