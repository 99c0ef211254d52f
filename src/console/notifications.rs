//! The notification pages: the list (newest first, filters, counts, live refresh while
//! anything is in flight) and one notification with its body, headers, tries and the
//! buttons that move it.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Form};
use chrono::{DateTime, Utc};
use maud::{html, Markup};
use serde::Deserialize;

use super::layout::{form_token, message, page_with, pre, time, MessageQuery, Page, Tone};
use super::session::{check_form_token, Ctx, TokenForm};
use super::states;
use super::{back, internal, Console};
use crate::admin::actions::refusal;
use crate::admin::ApiError;
use crate::outbox::{
    ActionOutcome, AdminAction, Attempt, FailureKind, ListFilter, Notification, Status,
};

/// Seconds between reloads of a page that shows work in flight.
const REFRESH: u32 = 3;

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    status: Option<String>,
    host: Option<String>,
    mid: Option<String>,
    kind: Option<String>,
    notice: Option<String>,
    error: Option<String>,
}

/// An empty form field means "any".
fn given(value: &Option<String>) -> Option<String> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

pub async fn list(
    State(console): State<Console>,
    Extension(ctx): Extension<Ctx>,
    Query(query): Query<ListQuery>,
) -> Result<Response, Response> {
    let store = &console.app.store;
    let status = match given(&query.status).map(|s| s.parse::<Status>()) {
        Some(Ok(status)) => Some(status),
        Some(Err(error)) => return Err((StatusCode::BAD_REQUEST, error).into_response()),
        None => None,
    };
    // A merchant asking for another merchant's notifications is shown none.
    let (tenant, nothing) = match ctx.principal.list_filter(given(&query.mid)) {
        Ok(tenant) => (tenant, false),
        Err(_) => (None, true),
    };
    let filter = ListFilter {
        status,
        tenant,
        kind: given(&query.kind),
        host: given(&query.host),
        limit: if nothing { 0 } else { 100 },
        ..ListFilter::default()
    };
    let now = console.app.clock.now();
    let (stats, notifications) = match (
        crate::admin::scoped::stats(store.as_ref(), &ctx.principal, now).await,
        store.list(&filter).await,
    ) {
        (Ok(stats), Ok(list)) => (stats, list),
        (Err(error), _) | (_, Err(error)) => return Err(internal(error)),
    };
    let in_flight = stats.pending + stats.delivering > 0;
    let link = |status: Status| format!("/console/notifications?status={}", status.as_str());
    let content = html! {
        div.counts aria-label="Counts by status" {
            @for status in Status::ALL {
                a href=(link(status)) {
                    span.n { (stats.count(status)) }
                    (states::notification(status))
                }
            }
        }
        form.filters method="get" action="/console/notifications" {
            label { "Status"
                select name="status" {
                    option value="" { "any" }
                    @for s in Status::ALL {
                        option value=(s.as_str()) selected[status == Some(s)] { (s.as_str()) }
                    }
                }
            }
            label { "Host" input name="host" placeholder="shop.example:443" value=[given(&query.host)]; }
            label { "Merchant (mid)" input name="mid" value=[given(&query.mid)]; }
            label { "Kind" input name="kind" placeholder="contract_state" value=[given(&query.kind)]; }
            button type="submit" { "Filter" }
            a href="/console/notifications" { "Clear" }
        }
        (super::triggers::replay_button(&ctx, status, given(&query.host).as_deref(), given(&query.mid).as_deref(), given(&query.kind).as_deref()))
        @if in_flight {
            p.muted { "Something is pending or in flight: this page reloads every " (REFRESH) " seconds." }
        }
        @if notifications.is_empty() {
            div.card { p { "No notifications match. Send one with " code { "POST /admin/v1/notifications" } ", or move a contract." } }
        } @else {
            div.table-wrap {
                table {
                    thead { tr {
                        th { "#" } th { "Status" } th { "Destination" } th.hide-narrow { "Kind" }
                        th.hide-narrow { "Merchant" } th { "Tries" } th.hide-narrow { "Created" }
                    } }
                    tbody {
                        @for n in &notifications {
                            tr {
                                td { a href={ "/console/notifications/" (n.id) } { (n.id) } }
                                td { (states::notification(n.status)) }
                                td.mono { (n.destination.url) }
                                td.hide-narrow { (n.kind) }
                                td.hide-narrow { (n.tenant.as_deref().unwrap_or("—")) }
                                td { (n.attempts) " / " (n.policy.max_attempts) }
                                td.hide-narrow { (time(Some(n.created_at))) }
                            }
                        }
                    }
                }
            }
            @if notifications.len() == 100 {
                p.muted { "The newest 100 are shown; filter to see others." }
            }
        }
    };
    let message = message(query.notice, query.error);
    let refresh = in_flight.then_some(REFRESH);
    Ok(page_with(
        &ctx,
        Page::Notifications,
        "Notifications",
        message,
        content,
        refresh,
    )
    .into_response())
}

pub async fn show(
    State(console): State<Console>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    Query(query): Query<MessageQuery>,
) -> Result<Response, Response> {
    let not_found = || (StatusCode::NOT_FOUND, format!("no notification {id}")).into_response();
    let numeric: i64 = id.parse().map_err(|_| not_found())?;
    let store = &console.app.store;
    let notification = crate::admin::scoped::notification(store.as_ref(), &ctx.principal, numeric)
        .await
        .map_err(internal)?
        .ok_or_else(not_found)?;
    let attempts = store.attempts(numeric).await.map_err(internal)?;
    let in_flight = matches!(notification.status, Status::Pending | Status::Delivering);
    let content = html! {
        div.grid2 {
            div.card {
                dl.facts {
                    dt { "Status" } dd { (states::notification(notification.status)) }
                    dt { "Destination" } dd.mono { (notification.destination.url) }
                    dt { "Kind" } dd { (notification.kind) }
                    dt { "Merchant" } dd { (notification.tenant.as_deref().unwrap_or("—")) }
                    dt { "About" } dd.mono { (notification.subject.as_deref().unwrap_or("—")) }
                    @if let Some(fixture) = &notification.triggered_by {
                        dt { "Triggered" } dd { "by the fixture " span.mono { (fixture) } " (ums-notify trigger)" }
                    }
                    dt { "Tries" } dd { (notification.round_attempts) " of " (notification.policy.max_attempts) " this round"
                        @if notification.attempts != notification.round_attempts { " (" (notification.attempts) " in all)" } }
                    dt { "Created" } dd { (time(Some(notification.created_at))) }
                    dt { "Finished" } dd { (time(notification.finished_at)) }
                }
                (next_step(&notification, attempts.last(), console.app.clock.now()))
                div.actions { (actions(&ctx, &notification)) }
            }
            div.card {
                h2 style="margin-top:0" { "What every try sends" }
                p.muted { "POST " span.mono { (notification.destination.url) } }
                pre { "Content-Type: " (notification.content_type) "\n"
                    @for (name, value) in &notification.headers { (name) ": " (value) "\n" }
                    @if notification.kind == crate::platform::contracts::notice::KIND {
                        "Authorization: OPEN-BODY-SIG … (signed afresh for every try)\n"
                    }
                }
                (pre(&String::from_utf8_lossy(&notification.body)))
            }
        }
        h2 { "Tries" }
        (timeline(&attempts))
    };
    let title = format!("Notification {numeric}");
    let message = query.message();
    let refresh = in_flight.then_some(REFRESH);
    Ok(page_with(&ctx, Page::Notifications, &title, message, content, refresh).into_response())
}

/// What happens next, in plain words.
fn next_step(n: &Notification, last: Option<&Attempt>, now: DateTime<Utc>) -> Markup {
    let text = match n.status {
        Status::Pending if n.attempts == 0 => match n.due_at {
            Some(due) if due > now => format!("Not tried yet. The first try is due in {}.", wait(due - now)),
            _ => "Not tried yet. The first try is due now.".to_owned(),
        },
        Status::Pending => {
            let why = last
                .and_then(|a| match (a.status_code, &a.message, a.failure) {
                    (_, Some(message), Some(FailureKind::UnexpectedBody)) => Some(message.clone()),
                    (Some(code), _, _) => Some(format!("HTTP {code}")),
                    (None, Some(message), _) => Some(message.clone()),
                    (None, None, _) => None,
                })
                .unwrap_or_else(|| "no answer".to_owned());
            let left = n.policy.max_attempts.saturating_sub(n.round_attempts);
            let when = match n.due_at {
                Some(due) if due > now => html! { "in " (wait(due - now)) " (at " (time(Some(due))) ")" },
                _ => html! { "now" },
            };
            let rule = n.success.describe();
            return html! { p.next {
                "The last try failed (" (why) "). Only " (rule) " counts as delivered, so the platform sends it again "
                (when) "; " (left) " tries are left before it gives up."
            } };
        }
        Status::Delivering => "A try is running now.".to_owned(),
        Status::Delivered => format!("Delivered: the merchant answered {}. Nothing more is sent.", n.success.describe()),
        Status::Failed => format!(
            "Failed: all {} tries went unanswered with HTTP 200, so the platform gave up. Redeliver to start a new round.",
            n.policy.max_attempts
        ),
        Status::Cancelled => "Cancelled: nothing more is sent. Redeliver to start a new round.".to_owned(),
    };
    html! { p.next { (text) } }
}

/// A wait in words, to the second: `59m 59s`, `2h 5m`, `12s`.
fn wait(delta: chrono::Duration) -> String {
    let seconds = delta.num_seconds().max(0);
    let (h, m, s) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    match (h, m) {
        (0, 0) if s == 0 => "a moment".to_owned(),
        (0, 0) => format!("{s}s"),
        (0, _) if s == 0 => format!("{m}m"),
        (0, _) => format!("{m}m {s}s"),
        (_, 0) => format!("{h}h"),
        _ => format!("{h}h {m}m"),
    }
}

/// The buttons, each disabled when the notification's state does not allow it.
fn actions(ctx: &Ctx, n: &Notification) -> Markup {
    let can_redeliver = n.status != Status::Delivering;
    let can_deliver_now = n.status == Status::Pending;
    let can_cancel = matches!(n.status, Status::Pending);
    let button = |action: &str, label: &str, enabled: bool, why: &str, class: &str| {
        html! {
            form method="post" action={ "/console/notifications/" (n.id) "/" (action) } {
                (form_token(ctx))
                @if enabled {
                    button class=(class) type="submit" { (label) }
                } @else {
                    button class=(class) type="submit" disabled title=(why) { (label) }
                }
            }
        }
    };
    html! {
        (button("redeliver", "Redeliver", can_redeliver, "a try is running", ""))
        (button("deliver-now", "Deliver now", can_deliver_now, "only a pending notification waits for its next try", "secondary"))
        (button("duplicate", "Send a duplicate", true, "", "secondary"))
        (button("cancel", "Cancel", can_cancel, "only a pending notification can be cancelled", "danger"))
    }
}

fn timeline(attempts: &[Attempt]) -> Markup {
    html! {
        @if attempts.is_empty() {
            div.card { p.muted { "No tries yet." } }
        } @else {
            div.card {
                ol.timeline {
                    @for a in attempts {
                        @let ok = a.status_code == Some(200) && a.failure.is_none();
                        li class=(if ok { "ok" } else { "bad" }) {
                            strong { "Try " (a.number) }
                            " · " (time(Some(a.started_at)))
                            " · " (a.duration_ms) " ms"
                            " · " @match a.status_code {
                                Some(code) => span class={ "badge " (if ok { Tone::Ok } else { Tone::Bad }.class()) } { "HTTP " (code) },
                                None => span class={ "badge " (Tone::Bad.class()) } { "no answer" },
                            }
                            @if let Some(kind) = a.failure {
                                " · " span.muted { (kind.as_str().replace('_', " ")) }
                            }
                            @if let Some(text) = &a.message {
                                div { (text) }
                            }
                            @if let Some(body) = &a.response_body {
                                @if !body.is_empty() {
                                    details {
                                        summary { "The merchant's answer" }
                                        (pre(&String::from_utf8_lossy(body)))
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The buttons of [`show`]: each calls the admin API's own handler.
pub async fn act(
    State(console): State<Console>,
    Extension(ctx): Extension<Ctx>,
    Path((id, action)): Path<(String, String)>,
    Form(form): Form<TokenForm>,
) -> Response {
    if let Some(refused) = check_form_token(&ctx, &form.form_token) {
        return refused;
    }
    let to = format!("/console/notifications/{id}");
    let Ok(number) = id.parse::<i64>() else {
        return back(
            &to,
            Err(ApiError::not_found(&format!("notification {id:?}")).message),
        );
    };
    match crate::admin::scoped::notification(console.app.store.as_ref(), &ctx.principal, number)
        .await
    {
        Ok(Some(_)) => {}
        Ok(None) => {
            return back(
                &to,
                Err(ApiError::not_found(&format!("notification {number}")).message),
            )
        }
        Err(error) => return internal(error),
    }
    let producer = console.app.producer();
    let action = match action.as_str() {
        "redeliver" => AdminAction::Redeliver,
        "deliver-now" => AdminAction::DeliverNow,
        "cancel" => AdminAction::Cancel,
        "duplicate" => {
            return match producer.duplicate(number).await {
                Ok(Some(copy)) => back(
                    &format!("/console/notifications/{}", copy.notification.id),
                    Ok(format!(
                        "A duplicate of notification {id}: same URL, same bytes."
                    )),
                ),
                Ok(None) => back(
                    &to,
                    Err(ApiError::not_found(&format!("notification {id:?}")).message),
                ),
                Err(error) => internal(error),
            };
        }
        _ => return (StatusCode::NOT_FOUND, "no such action").into_response(),
    };
    let outcome = match producer.act(number, action).await {
        Ok(ActionOutcome::Done(_)) => Ok(match action {
            AdminAction::Redeliver => "Sent again: a new round of tries has started.",
            AdminAction::DeliverNow => "Due now: the next try starts at once.",
            AdminAction::Cancel => "Cancelled.",
        }
        .to_owned()),
        Ok(ActionOutcome::NotFound) => {
            Err(ApiError::not_found(&format!("notification {number}")).message)
        }
        Ok(ActionOutcome::Conflict(status)) => Err(refusal(number, action, status).message),
        Err(error) => return internal(error),
    };
    back(&to, outcome)
}
