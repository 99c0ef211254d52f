//! The relay on a merchant's console page: its delivery setting (a field of the settings
//! form) and whether a `ums-notify listen` session is live, since when, from where, and
//! its tries in flight.

use maud::{html, Markup};

use super::layout::time;
use crate::platform::merchants::merchant::DeliveryMode;
use crate::relay::session::RelayStatus;

/// The `delivery` select of the settings form.
pub fn delivery_field(delivery: DeliveryMode) -> Markup {
    html! {
        label { "Delivery"
            select name="delivery" {
                option value="http" selected[delivery == DeliveryMode::Http] {
                    "http: to the notify URLs" }
                option value="relay" selected[delivery == DeliveryMode::Relay] {
                    "relay: down the live ums-notify listen session" }
            } }
    }
}

/// The relay card.
pub fn card(status: &RelayStatus) -> Markup {
    html! {
        h2 { "Relay (ums-notify listen)" }
        p { "Delivery: " strong { (status.delivery.as_str()) } }
        @match &status.session {
            Some(session) => p class="relay-live" {
                "Session " (session.id) " live since " (time(Some(session.since)))
                " from " code { (session.from) }
                @if let Some(client) = &session.client { " (" (client) ")" }
                "; " (session.in_flight) " tries in flight, " (session.relayed) " relayed."
            },
            None => p class="relay-offline" {
                "No session is connected."
                @if status.delivery == DeliveryMode::Relay {
                    " Tries fail relay_offline until one is: run "
                    code { "ums-notify listen --key umsk_… --forward-to http://localhost:…" } "."
                }
            },
        }
    }
}
