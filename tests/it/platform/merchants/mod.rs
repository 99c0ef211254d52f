//! Merchants through the admin API: their credentials and settings, and their payment
//! signing settings.

mod admin;
mod payment_settings;
