//! The platform's admin routes, mounted under `/admin/v1` behind the admin token and
//! answering the admin API's errors (`{"error": {"code", "message"}}`): [`merchants`]
//! (with the [`rotation`] of their keys and their [`access_keys`]), [`contracts`], [`orders`] (shown by
//! [`order_views`]) and the fixed QR codes a buyer scans ([`codes`], the
//! rules of a scan in [`scans`], which the console plays too) and the [`triggers`]
//! that fire named notices.

pub mod access_keys;
pub mod codes;
pub mod contracts;
pub mod merchants;
pub mod order_views;
pub mod orders;
pub mod rotation;
pub mod scans;
pub mod triggers;
