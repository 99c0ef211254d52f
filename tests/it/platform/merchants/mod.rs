//! Merchants through the admin API: their credentials and settings, their payment
//! signing settings, and the rotation of their keys with the notices signed after it.

mod admin;
mod payment_settings;
mod rotation;
mod rotation_notices;
