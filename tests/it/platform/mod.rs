//! The simulation of the ChinaUMS open platform: authentication, merchants, contracts and
//! their notices, payments (orders, netpay and payment-result notices), and what a
//! request that reaches no platform API is answered.

mod auth;
mod contracts;
mod gateway;
mod merchants;
mod payments;
mod triggers;
mod unmatched;
