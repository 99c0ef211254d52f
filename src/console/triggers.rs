//! The console's trigger form on a merchant's page (fire a fixture, with `field=value`
//! lines for its order or contract) and the button on a filtered notification list that
//! redelivers every notification the filter matches; both through the services the admin
//! API uses, with its messages.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::response::Response;
use axum::Form;
use maud::{html, Markup};
use serde::Deserialize;

use super::layout::form_token;
use super::session::{check_form_token, Ctx};
use super::{back, Console};
use crate::admin::replay::ReplayRequest;
use crate::admin::ApiError;
use crate::outbox::Status;
use crate::platform::http::admin::triggers::refused;
use crate::platform::triggers::{self, FIXTURES};

/// The trigger form of merchant `mid`'s page.
pub fn form(ctx: &Ctx, mid: &str) -> Markup {
    html! {
        h2 { "Trigger a notice" }
        div.card {
            p { "Creates an order or a contract and moves it through the simulation, so the notice is the one the platform would send." }
            form method="post" action={ "/console/merchants/" (mid) "/triggers" } class="stack" {
                (form_token(ctx))
                label { "Fixture"
                    select name="fixture" {
                        @for f in FIXTURES {
                            option value=(f.name) title=(f.sends) { (f.name) }
                        }
                    }
                }
                label { "Fields, one field=value a line (optional)"
                    textarea name="set" rows="3" placeholder="total_amount=250\ndescription=一杯咖啡" {}
                }
                button type="submit" { "Trigger" }
            }
            details { summary { "What each fixture sends" }
                dl {
                    @for f in FIXTURES {
                        dt.mono { (f.name) }
                        dd { (f.sends) ". Fields: " (f.fields().join(", ")) }
                    }
                }
            }
        }
    }
}

#[derive(Deserialize)]
pub struct TriggerForm {
    #[serde(default)]
    form_token: String,
    fixture: String,
    #[serde(default)]
    set: String,
}

/// Reads `field=value` lines; a line without `=` is refused by name.
fn set_lines(text: &str) -> Result<BTreeMap<String, serde_json::Value>, String> {
    let mut set = BTreeMap::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let Some((field, value)) = line.split_once('=') else {
            return Err(format!("expected field=value; got {line:?}"));
        };
        set.insert(
            field.trim().to_owned(),
            serde_json::Value::String(value.trim().to_owned()),
        );
    }
    Ok(set)
}

pub async fn trigger(
    State(console): State<Console>,
    axum::Extension(ctx): axum::Extension<Ctx>,
    Path(mid): Path<String>,
    Form(form): Form<TriggerForm>,
) -> Response {
    if let Some(refused) = check_form_token(&ctx, &form.form_token) {
        return refused;
    }
    let to = format!("/console/merchants/{mid}");
    if let Err(refused) =
        crate::platform::http::admin::merchants::visible(&console.sandbox, &ctx.principal, &mid)
            .await
    {
        return back(&to, Err(refused.message));
    }
    let set = match set_lines(&form.set) {
        Ok(set) => set,
        Err(message) => return back(&to, Err(message)),
    };
    match triggers::trigger(&console.sandbox, &mid, &form.fixture, &set).await {
        Ok(Ok(triggered)) => {
            let ids = triggered.notification_ids();
            let what = match (&triggered.order_id, &triggered.contract_id) {
                (Some(id), _) => format!("order {id}"),
                (None, Some(contract)) => format!("contract {contract}"),
                _ => "nothing".to_owned(),
            };
            let sent: Vec<String> = ids.iter().map(|id| format!("#{id}")).collect();
            let to = match ids.last() {
                Some(id) => format!("/console/notifications/{id}"),
                None => to,
            };
            back(
                &to,
                Ok(format!(
                    "{} created {what} and sent notification {}.",
                    triggered.fixture.name,
                    sent.join(", ")
                )),
            )
        }
        Ok(Err(refusal)) => back(&to, Err(refused(refusal).message)),
        Err(error) => back(&to, Err(ApiError::internal(error).message)),
    }
}

/// The button of a filtered notification list: the filter in hidden fields.
pub fn replay_button(
    ctx: &Ctx,
    status: Option<Status>,
    host: Option<&str>,
    mid: Option<&str>,
    kind: Option<&str>,
) -> Markup {
    let filtered = status.is_some() || host.is_some() || mid.is_some() || kind.is_some();
    html! {
        @if filtered && status != Some(Status::Delivering) {
            form method="post" action="/console/notifications/redeliver" class="filters" {
                (form_token(ctx))
                @if let Some(s) = status { input type="hidden" name="status" value=(s.as_str()); }
                @if let Some(h) = host { input type="hidden" name="host" value=(h); }
                @if let Some(m) = mid { input type="hidden" name="tenant" value=(m); }
                @if let Some(k) = kind { input type="hidden" name="kind" value=(k); }
                button type="submit" { "Redeliver every match" }
                span.muted { " a new round for each notification this filter matches (not only those shown), at most 10,000" }
            }
        }
    }
}

#[derive(Deserialize)]
pub struct ReplayForm {
    #[serde(default)]
    form_token: String,
    status: Option<String>,
    host: Option<String>,
    tenant: Option<String>,
    kind: Option<String>,
}

pub async fn replay(
    State(console): State<Console>,
    axum::Extension(ctx): axum::Extension<Ctx>,
    Form(mut form): Form<ReplayForm>,
) -> Response {
    if let Some(refused) = check_form_token(&ctx, &form.form_token) {
        return refused;
    }
    // A merchant replays its own notifications only.
    if let Some(own) = ctx.principal.merchant() {
        let asked = form.tenant.take().filter(|t| !t.trim().is_empty());
        if asked.as_deref().is_some_and(|asked| asked.trim() != own) {
            return back(
                "/console/notifications",
                Ok("Redelivered 0 notification(s).".to_owned()),
            );
        }
        form.tenant = Some(own.to_owned());
    }
    let blank = |v: Option<String>| v.filter(|v| !v.trim().is_empty());
    // Back to the list as it was filtered.
    let to = {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in [
            ("status", &form.status),
            ("host", &form.host),
            ("mid", &form.tenant),
            ("kind", &form.kind),
        ] {
            if let Some(value) = value.as_deref().filter(|v| !v.trim().is_empty()) {
                query.append_pair(name, value);
            }
        }
        format!("/console/notifications?{}", query.finish())
    };
    let request = ReplayRequest {
        status: blank(form.status),
        host: blank(form.host),
        tenant: blank(form.tenant),
        kind: blank(form.kind),
        ..ReplayRequest::default()
    };
    let filter = match request.filter() {
        Ok(filter) => filter,
        Err(refused) => return back(&to, Err(refused.message)),
    };
    match console.app.producer().redeliver_matching(&filter).await {
        Ok(done) => {
            let mut text = format!("Redelivered {} notification(s).", done.redelivered);
            if done.running > 0 {
                text.push_str(&format!(
                    " {} had a try running and were left alone.",
                    done.running
                ));
            }
            if done.more {
                text.push_str(" More matched than one click moves: click again for the next ones.");
            }
            back(&to, Ok(text))
        }
        Err(error) => back(&to, Err(ApiError::internal(error).message)),
    }
}
