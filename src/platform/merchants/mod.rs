//! Merchants: who a merchant is, its credentials and simulated users ([`merchant`]), and
//! their rows ([`store`]).

pub mod merchant;
pub mod store;

pub use merchant::{Merchant, MerchantPatch, NewMerchant, SignType};
pub use store::MerchantStore;
