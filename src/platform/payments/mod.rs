//! Netpay payments: an order, QR bill or trade order, with its states and refunds
//! ([`order`]) and why it does not move ([`refusal`]), what paying, closing and
//! refunding do ([`events`]), a guarantee bill's hold ([`guarantee`]), a split bill's plan ([`split`]), the field rules
//! both APIs share ([`fields`]), the payment-result notice family ([`notice`]) and its
//! `sign` ([`sign`]), drafting orders and applying events, and the rules of an admin's
//! requests ([`service`], taking and answering [`requests`]) and their rows ([`store`]);
//! a bill's QR code and echoed data ([`bill`]), its codes kept and rebound ([`codes`]),
//! and the signed result a buyer's browser carries back to the merchant ([`front`]).

pub mod bill;
pub mod codes;
pub mod events;
pub mod fields;
pub mod fixed;
pub mod front;
pub mod guarantee;
pub mod notice;
pub mod order;
pub mod payment;
pub mod refusal;
pub mod requests;
pub mod service;
pub mod sign;
pub mod split;
pub mod store;
mod writes;

pub use service::OrderService;
pub use store::OrderStore;
