//! Trigger fixtures (`ums-notify trigger`, `POST /admin/v1/merchants/{mid}/triggers`):
//! named notices fired on demand by driving the real simulation, so each notice is the
//! one the platform would send. This module owns the catalogue (the names, what each
//! sends, the fields `--set` may give); [`set`] reads those fields, [`run`] plays a
//! fixture through the order and contract services and marks what it sent.

pub mod run;
pub mod set;

use crate::platform::contracts::contract::ContractState;
use crate::platform::payments::order::Product;

pub use run::{trigger, TriggerRefused, Triggered};

/// One move a fixture makes, in order, after it creates its order or contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The buyer pays.
    Pay,
    /// The unpaid order is closed.
    Close,
    /// Part of the paid order is refunded (`refund_amount`).
    RefundPart,
    /// What is left of the paid order is refunded.
    RefundAll,
    /// The contract moves to this state.
    Contract(ContractState),
}

/// What a fixture creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    Order(Product),
    Contract,
}

/// A named notice.
#[derive(Debug, Clone, Copy)]
pub struct Fixture {
    pub name: &'static str,
    /// What it does and the notices it sends, in a sentence.
    pub sends: &'static str,
    pub subject: Subject,
    pub steps: &'static [Step],
}

/// Every fixture, in the order `--list` shows them.
pub const FIXTURES: &[Fixture] = &[
    Fixture {
        name: "payment.paid",
        sends: "creates a trade (H5 / mini-program) order and pays it: one payment-result \
                notice, status TRADE_SUCCESS",
        subject: Subject::Order(Product::Trade),
        steps: &[Step::Pay],
    },
    Fixture {
        name: "payment.refunded.partial",
        sends: "pays a trade order, then refunds part of it (refund_amount, half by default): \
                the TRADE_SUCCESS notice, then a refund notice with refundAmount below \
                totalAmount",
        subject: Subject::Order(Product::Trade),
        steps: &[Step::Pay, Step::RefundPart],
    },
    Fixture {
        name: "payment.refunded",
        sends: "pays a trade order, then refunds all of it: the TRADE_SUCCESS notice, then a \
                TRADE_REFUND notice with refundAmount equal to totalAmount",
        subject: Subject::Order(Product::Trade),
        steps: &[Step::Pay, Step::RefundAll],
    },
    Fixture {
        name: "payment.closed",
        sends: "creates a trade order and closes it unpaid: one payment-result notice, \
                status TRADE_CLOSED",
        subject: Subject::Order(Product::Trade),
        steps: &[Step::Close],
    },
    Fixture {
        name: "bill.paid",
        sends: "creates a QR bill and pays it: one payment-result notice, billStatus PAID \
                with its billPayment",
        subject: Subject::Order(Product::Bill),
        steps: &[Step::Pay],
    },
    Fixture {
        name: "bill.refunded",
        sends: "pays a QR bill, then refunds all of it: the PAID notice, then a billStatus \
                REFUND notice (needs the merchant's payment_notices set to `all`: by default \
                a bill notifies its payment only)",
        subject: Subject::Order(Product::Bill),
        steps: &[Step::Pay, Step::RefundAll],
    },
    Fixture {
        name: "contract.signed",
        sends: "creates a password-free contract and the user consents: one contract state \
                notification, contractState SIGNED with its signed and expiry times",
        subject: Subject::Contract,
        steps: &[Step::Contract(ContractState::Signed)],
    },
    Fixture {
        name: "contract.rescinded",
        sends: "signs a contract, then rescinds it: the SIGNED notification, then \
                contractState RESCISSION",
        subject: Subject::Contract,
        steps: &[
            Step::Contract(ContractState::Signed),
            Step::Contract(ContractState::Rescission),
        ],
    },
    Fixture {
        name: "contract.deleting",
        sends: "signs a contract, then asks to rescind it: the SIGNED notification, then \
                contractState DELETING_CONTRACT",
        subject: Subject::Contract,
        steps: &[
            Step::Contract(ContractState::Signed),
            Step::Contract(ContractState::DeletingContract),
        ],
    },
];

/// The fields `--set` may give an order fixture, whatever its steps.
const ORDER_FIELDS: &[&str] = &[
    "total_amount",
    "description",
    "order_no",
    "notify_url",
    "tid",
    "inst_mid",
];

/// The fields `--set` may give a contract fixture.
const CONTRACT_FIELDS: &[&str] = &[
    "contract_no",
    "plan_id",
    "notify_url",
    "single_limit_amt",
    "avl_num",
];

impl Fixture {
    /// The fixture named `name`.
    pub fn named(name: &str) -> Option<&'static Fixture> {
        FIXTURES.iter().find(|f| f.name == name)
    }

    /// Every fixture's name, for the messages that list them.
    pub fn names() -> Vec<&'static str> {
        FIXTURES.iter().map(|f| f.name).collect()
    }

    /// The fields `--set` may give this fixture (`amount` is accepted for
    /// `total_amount`).
    pub fn fields(&self) -> Vec<&'static str> {
        match self.subject {
            Subject::Contract => CONTRACT_FIELDS.to_vec(),
            Subject::Order(_) => {
                let mut fields = ORDER_FIELDS.to_vec();
                if self.steps.contains(&Step::Pay) {
                    fields.push("target_sys");
                }
                if self.steps.contains(&Step::RefundPart) {
                    fields.push("refund_amount");
                }
                if self
                    .steps
                    .iter()
                    .any(|s| matches!(s, Step::RefundPart | Step::RefundAll))
                {
                    fields.push("refund_order_id");
                }
                fields
            }
        }
    }

    /// The outbox kind of the notices it sends.
    pub fn kind(&self) -> &'static str {
        match self.subject {
            Subject::Order(_) => crate::platform::payments::notice::KIND,
            Subject::Contract => crate::platform::contracts::notice::KIND,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_every_fixture_has_fields() {
        let mut names = Fixture::names();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), FIXTURES.len());
        assert!(FIXTURES.iter().all(|f| !f.fields().is_empty()));
        assert!(Fixture::named("payment.refunded.partial")
            .is_some_and(|f| f.fields().contains(&"refund_amount")));
        assert!(
            Fixture::named("payment.closed").is_some_and(|f| !f.fields().contains(&"target_sys"))
        );
    }
}
