//! Password-free contracts (免密支付协议): the record and its state machine
//! ([`contract`]), what a state change does ([`events`]), the contract state notice family
//! ([`notice`]) and the `OPEN-BODY-SIG` on its tries ([`signer`]), drafting and changing
//! contracts ([`service`]) and their rows ([`store`]).

pub mod contract;
pub mod events;
pub mod notice;
pub mod service;
pub mod signer;
pub mod store;

pub use service::ContractService;
pub use store::ContractStore;
