//! Conformance check runs in the console: the table of a merchant's runs, the button that
//! starts one, and a run's page with its report. Runs are the check service's, as the
//! admin API's are, confined to the merchant the session sees.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Form};
use maud::{html, Markup};
use serde::Deserialize;

use super::layout::{page_with, time, MessageQuery, Page};
use super::session::{check_form_token, Ctx};
use super::states;
use super::{back, internal, Console};
use crate::check::admin as checks;
use crate::check::runs::Run;
use crate::check::Outcome;
use crate::platform::http::admin::merchants::visible;

/// The runs of a merchant's page.
pub fn runs_table(runs: &[Run]) -> Markup {
    html! {
        @if !runs.is_empty() {
            div.table-wrap { table {
                thead { tr { th { "Run" } th { "Status" } th { "Result" } th { "Notify URL" } th.hide-narrow { "Started" } } }
                tbody { @for run in runs { tr {
                    td { a href={ "/console/checks/" (run.id) } { "#" (run.id) } }
                    td { (states::run(run.status)) }
                    td { @match run.passed {
                        Some(true) => (states::outcome(Outcome::Pass)),
                        Some(false) => (states::outcome(Outcome::Fail)),
                        None => span.muted { "—" },
                    } " " (run.summary.pass) " passed, " (run.summary.fail) " failed, " (run.summary.warn) " warned" }
                    td.mono { (run.notify_url) }
                    td.hide-narrow { (time(Some(run.created_at))) }
                } } }
            } }
        }
    }
}

#[derive(Deserialize)]
pub struct StartForm {
    #[serde(default)]
    form_token: String,
}

pub async fn start_check(
    State(console): State<Console>,
    Extension(ctx): Extension<Ctx>,
    Path(mid): Path<String>,
    Form(form): Form<StartForm>,
) -> Response {
    if let Some(refused) = check_form_token(&ctx, &form.form_token) {
        return refused;
    }
    if let Err(refused) = visible(&console.sandbox, &ctx.principal, &mid).await {
        return back(&format!("/console/merchants/{mid}"), Err(refused.message));
    }
    match checks::start_run(&console.checks, &mid, Default::default()).await {
        Ok(run) => back(
            &format!("/console/checks/{}", run.id),
            Ok("The check is running.".into()),
        ),
        Err(error) => back(&format!("/console/merchants/{mid}"), Err(error.message)),
    }
}

pub async fn check_run(
    State(console): State<Console>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    Query(query): Query<MessageQuery>,
) -> Result<Response, Response> {
    let not_found = || (StatusCode::NOT_FOUND, format!("no check run {id}")).into_response();
    let numeric: i64 = id.parse().map_err(|_| not_found())?;
    let run = console
        .checks
        .runs
        .get(numeric)
        .await
        .map_err(internal)?
        .filter(|run| ctx.principal.sees(Some(&run.mid)))
        .ok_or_else(not_found)?;
    let content = html! {
        div.card {
            dl.facts {
                dt { "Merchant" } dd { a href={ "/console/merchants/" (run.mid) } { (run.mid) } }
                dt { "Notify URL" } dd.mono { (run.notify_url) }
                dt { "Status" } dd { (states::run(run.status)) }
                dt { "Started" } dd { (time(Some(run.created_at))) }
                @if let Some(error) = &run.error { dt { "Error" } dd { (error) } }
            }
        }
        @if let Some(report) = &run.report {
            div.table-wrap { table {
                thead { tr { th { "Result" } th { "Level" } th { "Check" } th { "Why" } } }
                tbody { @for check in &report.checks { tr {
                    td { (states::outcome(check.outcome)) }
                    td { (format!("{:?}", check.level).to_lowercase()) }
                    td.mono { (check.id) }
                    td { (check.reason)
                        @if let Some(hint) = &check.hint { div.muted { "Fix: " (hint) } }
                        @if check.outcome != Outcome::Pass {
                            details { summary { "What the platform does; the requests and answers" }
                                p { (check.platform) }
                                @for exchange in &check.exchanges {
                                    pre { (exchange.request.method) " " (exchange.request.url) "\n"
                                        @for (name, value) in &exchange.request.headers { (name) ": " (value) "\n" }
                                        "\n" (exchange.request.body) "\n\n→ " (exchange.answer.describe())
                                        " in " (format!("{:.1}", exchange.answer.time_ms)) " ms\n"
                                        (exchange.answer.body.as_deref().unwrap_or("")) }
                                }
                            }
                        }
                    }
                } } }
            } }
        }
    };
    let title = format!("Check run {numeric}");
    let running = run.status == "running";
    let message = query.message();
    Ok(page_with(
        &ctx,
        Page::Merchants,
        &title,
        message,
        content,
        running.then_some(2),
    )
    .into_response())
}
