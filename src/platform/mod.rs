//! The platform side of the ChinaUMS open platform, simulated: merchants and their
//! credentials, the platform API they call, password-free contracts and netpay orders,
//! and the notices the notification center sends them about both.
//!
//! One folder per concept, each holding its domain (pure and deterministic given its
//! inputs, apart from explicit random generators), its events, its notice family, its
//! service and its store:
//!
//! * [`wire`] — what every concept speaks on the wire: China Standard Time, the platform's
//!   `errCode`s and its request field rules.
//! * [`auth`] — access-token and `OPEN-BODY-SIG` signatures, `Authorization` headers,
//!   credentials; tokens and spent nonces in storage.
//! * [`merchants`] — a merchant, its credentials and simulated users; its storage.
//! * [`contracts`] — password-free contracts: the state machine, what a change does, the
//!   contract state notice family and its signer, the service and the storage.
//! * [`payments`] — netpay orders: QR bills and trade orders, their states and refunds,
//!   what paying, closing and refunding do, the payment-result notice family and its
//!   `sign`, the service and the storage.
//!
//! Above them:
//!
//! * [`sandbox`] — all of it wired into one value, the state of every handler.
//! * [`worker`] — simulated users' consent and buyers' payments, order expiry, pruning.
//! * [`http`] — the admin routes ([`http::admin`]) and the platform's own `/v1/...`
//!   routes ([`http::open`]).

pub mod auth;
pub mod config;
pub mod contracts;
pub mod http;
pub mod merchants;
pub mod payments;
pub mod sandbox;
pub mod triggers;
pub mod wire;
pub mod worker;

pub use config::PlatformArgs;
pub use sandbox::Sandbox;
