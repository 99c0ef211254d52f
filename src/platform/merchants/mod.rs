//! Merchants: who a merchant is, its credentials and simulated users ([`merchant`]), the
//! rules of an admin creating and changing one ([`service`], taking and answering
//! [`requests`]), replacing its keys with a grace period ([`rotation`]) and their rows
//! ([`store`], [`rotation_store`]).

pub mod merchant;
pub mod requests;
pub mod rotation;
pub mod rotation_store;
pub mod service;
pub mod store;

pub use merchant::{Merchant, MerchantPatch, NewMerchant, SignType};
pub use service::MerchantService;
pub use store::MerchantStore;
