//! The console's page shell (navigation, messages, sign-out), its stylesheet and script,
//! and the small pieces every page uses: status badges, times, form tokens.

use chrono::{DateTime, Utc};
use maud::{html, Markup, PreEscaped, DOCTYPE};

use super::session::Ctx;
use crate::platform::wire::time::{format_cst, format_wall_clock};

pub const STYLESHEET: &str = include_str!("assets/console.css");
pub const SCRIPT: &str = include_str!("assets/console.js");

/// Which navigation entry a page belongs to.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Page {
    Notifications,
    Merchants,
    Contracts,
    Orders,
    SignIn,
}

/// A whole page. `message` is shown above the content (a notice or an error).
pub fn page(
    ctx: &Ctx,
    current: Page,
    title: &str,
    message: Option<Result<String, String>>,
    content: Markup,
) -> Markup {
    page_with(ctx, current, title, message, content, None)
}

/// A page that reloads itself every `refresh` seconds (while something is in flight).
pub fn page_with(
    ctx: &Ctx,
    current: Page,
    title: &str,
    message: Option<Result<String, String>>,
    content: Markup,
    refresh: Option<u32>,
) -> Markup {
    let nav = [
        (
            Page::Notifications,
            "/console/notifications",
            "Notifications",
        ),
        (Page::Merchants, "/console/merchants", "Merchants"),
        (Page::Contracts, "/console/contracts", "Contracts"),
        (Page::Orders, "/console/orders", "Orders"),
    ];
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                @if let Some(seconds) = refresh {
                    meta http-equiv="refresh" content=(seconds);
                }
                title { (title) " · ums-notify console" }
                link rel="stylesheet" href="/console/assets/console.css";
                script src="/console/assets/console.js" defer {}
            }
            body {
                header.top {
                    div.bar {
                        a.brand href="/console/notifications" { "ums-notify" }
                        @if current != Page::SignIn {
                            nav aria-label="Sections" {
                                @for (page, href, label) in nav {
                                    @if page == current {
                                        a href=(href) aria-current="page" { (label) }
                                    } @else {
                                        a href=(href) { (label) }
                                    }
                                }
                            }
                            @if ctx.signed_in {
                                form method="post" action="/console/sign-out" {
                                    (form_token(ctx))
                                    button.secondary type="submit" { "Sign out" }
                                }
                            }
                        }
                    }
                }
                main {
                    h1 { (title) }
                    @match message {
                        Some(Ok(text)) => div.flash.ok role="status" { (text) },
                        Some(Err(text)) => div.flash.error role="alert" { (text) },
                        None => {},
                    }
                    (content)
                }
            }
        }
    }
}

/// The hidden field every state-changing form carries.
pub fn form_token(ctx: &Ctx) -> Markup {
    html! { input type="hidden" name="form_token" value=(ctx.form_token); }
}

/// The colour a state is told by, beside its name (the stylesheet's `.t-*` classes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// Done as wanted: delivered, paid, signed, passed.
    Ok,
    /// Gone wrong or ended against the merchant: failed, rescinded.
    Bad,
    /// Needs attention or is still to come: pending, refunded, a warning.
    Warn,
    /// Waiting on someone else or under way: a try running, a buyer or user to act.
    Info,
    /// Over, with nothing more to happen: cancelled, closed, unknown.
    Idle,
}

impl Tone {
    /// The stylesheet class that colours it.
    pub const fn class(self) -> &'static str {
        match self {
            Self::Ok => "t-ok",
            Self::Bad => "t-bad",
            Self::Warn => "t-warn",
            Self::Info => "t-info",
            Self::Idle => "t-idle",
        }
    }
}

/// A state told by colour and by its name, written as the state is named (a status of
/// the outbox, or a platform state as it is on the wire). `s-<state>` marks which state
/// it is.
pub fn badge(state: &str, tone: Tone) -> Markup {
    html! { span class={ "badge " (tone.class()) " s-" (state) } { (state) } }
}

/// A time as the platform writes it (China Standard Time, `yyyy-MM-dd HH:mm:ss`), with
/// the same instant in UTC beside it.
pub fn time(at: Option<DateTime<Utc>>) -> Markup {
    match at {
        Some(at) => html! {
            span.when {
                time datetime=(format_wall_clock(at, "%Y-%m-%dT%H:%M:%S%:z"))
                    title="China Standard Time (UTC+8)" { (format_cst(at)) }
                " " small.utc { (at.format("%Y-%m-%d %H:%M:%S UTC")) }
            }
        },
        None => html! { span.muted { "—" } },
    }
}

/// A page's `?notice=` or `?error=`: what the last form did.
#[derive(Debug, Default, serde::Deserialize)]
pub struct MessageQuery {
    pub notice: Option<String>,
    pub error: Option<String>,
}

impl MessageQuery {
    pub fn message(self) -> Option<Result<String, String>> {
        message(self.notice, self.error)
    }
}

/// The message of a page's `?notice=` or `?error=`.
pub fn message(notice: Option<String>, error: Option<String>) -> Option<Result<String, String>> {
    match (error, notice) {
        (Some(error), _) => Some(Err(error)),
        (None, Some(notice)) => Some(Ok(notice)),
        (None, None) => None,
    }
}

/// Text as a `<pre>` block (escaped).
pub fn pre(text: &str) -> Markup {
    html! { pre { (text) } }
}

/// Nothing: for `@else` branches that render nothing.
pub fn nothing() -> Markup {
    PreEscaped(String::new())
}
