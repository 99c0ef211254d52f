//! Payments: orders through the admin API (creation, transitions, refunds, listing), the
//! netpay APIs, the payment-result notices, the simulated buyer and expiry, and the
//! payment `sign`.

mod auto_pay;
mod destinations;
mod listing;
mod netpay_bills;
mod netpay_h5;
mod netpay_mini_pre_order;
mod netpay_orders;
mod netpay_refund_numbers;
mod notice_changes;
mod notices;
mod orders;
mod payment_sign;
mod refunds;
mod transitions;
