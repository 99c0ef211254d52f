//! Merchants: who a merchant is, its credentials and simulated users ([`merchant`]), the
//! rules of an admin creating and changing one ([`service`], taking and answering
//! [`requests`]) and their rows ([`store`]).

pub mod merchant;
pub mod requests;
pub mod service;
pub mod store;

pub use merchant::{Merchant, MerchantPatch, NewMerchant, SignType};
pub use service::MerchantService;
pub use store::MerchantStore;
