//! The simulation of the ChinaUMS open platform: authentication, merchants, contracts and
//! their notices, and payments (orders, netpay and payment-result notices).

mod auth;
mod contracts;
mod merchants;
mod payments;
