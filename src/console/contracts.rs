//! The contract pages: the list with filters, and one contract with its state, the
//! notices it sent, and a button for every legal transition (and none for the others).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Form};
use maud::html;
use serde::Deserialize;

use super::layout::{form_token, message, page, time, MessageQuery, Page};
use super::session::{check_form_token, Ctx};
use super::states;
use super::{answered, back, internal, Console};
use crate::outbox::ListFilter;
use crate::platform::contracts::contract::ContractState;
use crate::platform::contracts::service::TransitionRequest;
use crate::platform::contracts::store::ContractFilter;
use crate::platform::http::admin::contracts::{contract_id_of, path_segment, refused};

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    mid: Option<String>,
    state: Option<String>,
    notice: Option<String>,
    error: Option<String>,
}

pub async fn list(
    State(console): State<Console>,
    Extension(ctx): Extension<Ctx>,
    Query(query): Query<ListQuery>,
) -> Result<Response, Response> {
    let mid = query
        .mid
        .as_deref()
        .map(str::trim)
        .filter(|m| !m.is_empty());
    let state = query
        .state
        .as_deref()
        .filter(|s| !s.is_empty())
        .and_then(|s| ContractState::ALL.into_iter().find(|c| c.as_str() == s));
    let contracts = match ctx.principal.list_filter(mid.map(str::to_owned)) {
        Ok(mid) => {
            let filter = ContractFilter {
                mid,
                state,
                before_seq: None,
                limit: 100,
            };
            console
                .sandbox
                .contracts
                .store
                .contracts(&filter)
                .await
                .map_err(internal)?
        }
        Err(_) => Vec::new(),
    };
    let content = html! {
        form.filters method="get" action="/console/contracts" {
            label { "Merchant (mid)" input name="mid" value=[mid]; }
            label { "State"
                select name="state" {
                    option value="" { "any" }
                    @for s in ContractState::ALL {
                        option value=(s.as_str()) selected[state == Some(s)] { (s.as_str()) }
                    }
                }
            }
            button type="submit" { "Filter" }
            a href="/console/contracts" { "Clear" }
        }
        @if contracts.is_empty() {
            div.card { p.muted { "No contracts match. A merchant's client creates them with the sign API, or "
                code { "POST /admin/v1/contracts" } " does." } }
        } @else {
            div.table-wrap { table {
                thead { tr { th { "contractNo" } th { "State" } th { "Merchant" } th.hide-narrow { "contractId" } th.hide-narrow { "Updated" } } }
                tbody { @for c in &contracts { tr {
                    td { a href={ "/console/contracts/" (path_segment(&c.contract_id)) } { (c.contract_no) } }
                    td { (states::contract(c.state)) }
                    td { (c.mid) }
                    td.mono.hide-narrow { (c.contract_id) }
                    td.hide-narrow { (time(Some(c.updated_at))) }
                } } }
            } }
        }
    };
    let message = message(query.notice, query.error);
    Ok(page(&ctx, Page::Contracts, "Contracts", message, content).into_response())
}

pub async fn show(
    State(console): State<Console>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    Query(query): Query<MessageQuery>,
) -> Result<Response, Response> {
    let contract_id = contract_id_of(&id);
    let contract = console
        .sandbox
        .contracts
        .store
        .contract(&contract_id)
        .await
        .map_err(internal)?
        .filter(|c| ctx.principal.sees(Some(&c.mid)))
        .ok_or_else(|| {
            (StatusCode::NOT_FOUND, format!("no contract {contract_id}")).into_response()
        })?;
    let notices = console
        .app
        .store
        .list(&ListFilter {
            subject: Some(contract.contract_id.clone()),
            tenant: Some(contract.mid.clone()),
            limit: 100,
            ..ListFilter::default()
        })
        .await
        .map_err(internal)?;
    let targets = contract.state.allowed_targets();
    let content = html! {
        div.grid2 {
            div.card {
                dl.facts {
                    dt { "State" } dd { (states::contract(contract.state)) }
                    dt { "contractNo" } dd.mono { (contract.contract_no) }
                    dt { "contractId" } dd.mono { (contract.contract_id) }
                    dt { "Merchant" } dd { a href={ "/console/merchants/" (contract.mid) } { (contract.mid) } }
                    dt { "Plan" } dd { (contract.plan_id) }
                    dt { "Notify URL" } dd.mono { (contract.notify.url) }
                    dt { "Signed" } dd { (time(contract.signed_at)) }
                    dt { "Expires" } dd { (time(contract.expires_at)) }
                    dt { "Consent due" } dd { (time(contract.consent_due_at)) }
                }
            }
            div.card {
                h2 style="margin-top:0" { "Move it" }
                @if targets.is_empty() {
                    p.muted { (contract.state.as_str()) " is final: no move is legal." }
                } @else {
                    p.muted { "Each move sends the contract state notice." }
                    div.actions { @for target in targets {
                        form method="post" action={ "/console/contracts/" (id) "/transitions" } {
                            (form_token(&ctx))
                            input type="hidden" name="to" value=(target.as_str());
                            button type="submit" { "→ " (target.as_str()) }
                        }
                    } }
                }
            }
        }
        h2 { "Notices sent (newest first)" }
        @if notices.is_empty() {
            div.card { p.muted { "None yet: a contract sends its first notice when it first changes state." } }
        } @else {
            div.table-wrap { table {
                thead { tr { th { "#" } th { "Status" } th { "State sent" } th { "Tries" } th.hide-narrow { "Created" } } }
                tbody { @for n in &notices {
                    @let sent = serde_json::from_slice::<serde_json::Value>(&n.body).ok()
                        .and_then(|v| v["contractState"].as_str().map(str::to_owned)).unwrap_or_default();
                    tr {
                        td { a href={ "/console/notifications/" (n.id) } { (n.id) } }
                        td { (states::notification(n.status)) }
                        td { (sent) }
                        td { (n.attempts) }
                        td.hide-narrow { (time(Some(n.created_at))) }
                    }
                } }
            } }
        }
    };
    let title = format!("Contract {}", contract.contract_no);
    let message = query.message();
    Ok(page(&ctx, Page::Contracts, &title, message, content).into_response())
}

#[derive(Deserialize)]
pub struct TransitionForm {
    #[serde(default)]
    form_token: String,
    to: String,
}

pub async fn transition(
    State(console): State<Console>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    Form(form): Form<TransitionForm>,
) -> Response {
    if let Some(refused) = check_form_token(&ctx, &form.form_token) {
        return refused;
    }
    let to = format!("/console/contracts/{id}");
    let contract_id = contract_id_of(&id);
    match console.sandbox.contracts.store.contract(&contract_id).await {
        Ok(Some(c)) if ctx.principal.sees(Some(&c.mid)) => {}
        Ok(_) => return back(&to, Err(format!("contract {contract_id} does not exist"))),
        Err(error) => return internal(error),
    }
    let done = format!("Moved to {}; its notice is on its way.", form.to);
    let request = TransitionRequest { to: form.to };
    let outcome = console
        .sandbox
        .contracts
        .transition(&contract_id_of(&id), request)
        .await;
    answered(&format!("/console/contracts/{id}"), outcome, refused, done)
}
