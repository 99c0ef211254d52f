//! Admin API of contracts, standing in for the user and the payment channel:
//! `POST|GET /admin/v1/contracts`, `GET /admin/v1/contracts/{contractId}` and
//! `POST /admin/v1/contracts/{contractId}/transitions`.
//!
//! A contractId is standard Base64 and may hold `/` and `+`: in a path, percent-encode it,
//! or write it in the URL-safe alphabet (`-` for `+`, `_` for `/`), which is accepted too.
//!
//! A move's rules are the contract service's
//! ([`crate::platform::contracts::ContractService::transition`]); [`refused`] answers its
//! refusals.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::access::Principal;
use crate::admin::error::{AdminErrors, ErrorBody};
use crate::admin::extract::{ApiJson, ApiPath, ApiQuery};
use crate::admin::page::PageRequest;
use crate::admin::ApiError;
use crate::platform::contracts::contract::Contract;
use crate::platform::contracts::contract::ContractState;
use crate::platform::contracts::service::{ContractRefused, ContractTerms, TransitionRequest};
use crate::platform::contracts::store::{ContractFilter, CreateOutcome};
use crate::platform::merchants::merchant::NoDefaultNotify;
use crate::platform::sandbox::Sandbox;
use crate::platform::wire::fields::{self, FieldError};

/// A contract to create as if the merchant had signed it through the platform API.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateContract {
    mid: Option<String>,
    contract_no: Option<String>,
    plan_id: Option<String>,
    notify_url: Option<String>,
    single_limit_amt: Option<String>,
    avl_num: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    mid: Option<String>,
    #[param(value_type = Option<ContractState>)]
    state: Option<String>,
    /// Page size, 1 to 500 (50 by default).
    limit: Option<u32>,
    cursor: Option<String>,
}

/// A contract as the admin API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ContractView {
    contract_id: String,
    mid: String,
    contract_no: String,
    plan_id: String,
    state: ContractState,
    /// The states the contract may move to next.
    #[schema(value_type = Vec<ContractState>)]
    allowed_transitions: &'static [ContractState],
    notify_url: String,
    single_limit_amt: String,
    avl_num: String,
    signed_at: Option<DateTime<Utc>>,
    expires_at: Option<DateTime<Utc>>,
    /// When the simulated user consents, while that is still to come.
    consent_due_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<Contract> for ContractView {
    fn from(c: Contract) -> Self {
        Self {
            allowed_transitions: c.state.allowed_targets(),
            contract_id: c.contract_id,
            mid: c.mid,
            contract_no: c.contract_no,
            plan_id: c.plan_id,
            state: c.state,
            notify_url: c.notify.url,
            single_limit_amt: c.single_limit_amt,
            avl_num: c.avl_num,
            signed_at: c.signed_at,
            expires_at: c.expires_at,
            consent_due_at: c.consent_due_at,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ContractList {
    contracts: Vec<ContractView>,
    /// Pass as `cursor` for the next (older) page; absent on the last page.
    next_cursor: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TransitionView {
    contract: ContractView,
    /// The notifications the change enqueued (one, plus the merchant's extra copies).
    notification_ids: Vec<i64>,
}

/// The admin API's (snake_case) name of a platform field.
fn admin_name(field: &'static str) -> &'static str {
    match field {
        "contractNo" => "contract_no",
        "planId" => "plan_id",
        "notifyUrl" => "notify_url",
        "singleLimitAmt" => "single_limit_amt",
        "avlNum" => "avl_num",
        "contractId" => "contract_id",
        other => other,
    }
}

/// A platform field error in the admin API's words: the field by its admin name.
fn invalid(error: FieldError) -> ApiError {
    let name = format!("`{}`", admin_name(error.field));
    let message = match error.message.strip_prefix(error.field) {
        Some(rest) => format!("{name}{rest}"),
        None => error.message.replace(error.field, &name),
    };
    ApiError::invalid("invalid_field", message)
}

/// Accepts a contractId in the standard or the URL-safe Base64 alphabet.
/// The contractId a path segment names: it may be written in the URL-safe Base64
/// alphabet (`-` and `_`), which [`path_segment`] produces.
pub fn contract_id_of(path: &str) -> String {
    path.replace('-', "+").replace('_', "/")
}

/// A contractId as a path segment, in the URL-safe alphabet [`contract_id_of`] reads.
pub fn path_segment(contract_id: &str) -> String {
    contract_id.replace('+', "-").replace('/', "_")
}

fn not_found(contract_id: &str) -> ApiError {
    ApiError::not_found(&format!("contract {contract_id:?}"))
}

/// A merchant's default notify URL refused for a request that names none, as the admin
/// API answers it.
pub(super) fn no_default_notify(refused: NoDefaultNotify) -> ApiError {
    let code = match refused {
        NoDefaultNotify::Missing => "missing_notify_url",
        NoDefaultNotify::Refused(_) => "invalid_notify_url",
    };
    ApiError::invalid(code, refused.to_string())
}

/// A refusal of the contract service as the admin API answers it (the console shows its
/// message too).
pub fn refused(refusal: ContractRefused) -> ApiError {
    let message = refusal.to_string();
    match refusal {
        ContractRefused::InvalidState(_) => ApiError::invalid("invalid_state", message),
        ContractRefused::NotFound(_) => ApiError::new(StatusCode::NOT_FOUND, "not_found", message),
        ContractRefused::Illegal(_) => ApiError::conflict("illegal_transition", message),
    }
}

/// Create a contract as if the merchant had signed it through the platform API.
#[utoipa::path(post, path = "/contracts", tag = "contracts",
    request_body = CreateContract,
    responses(
        (status = 201, description = "Created, `UNSIGNED`", body = ContractView),
        (status = 409, description = "`duplicate_contract_no`", body = ErrorBody),
        (status = 422, description = "`invalid_field`, `unknown_merchant`, `missing_notify_url`, `invalid_notify_url`, `destination_not_allowed`, `unknown_field`, `invalid_request`", body = ErrorBody),
        AdminErrors,
    ),
    security(("admin_token" = [])))]
pub async fn create(
    State(sandbox): State<Sandbox>,
    principal: Principal,
    ApiJson(request): ApiJson<CreateContract>,
) -> Result<(StatusCode, Json<ContractView>), ApiError> {
    let required = |name: &'static str, value: &Option<String>| -> Result<String, ApiError> {
        fields::require(name, value.as_deref())
            .map(str::to_owned)
            .map_err(|_| ApiError::invalid("invalid_field", format!("`{name}` is required")))
    };
    // A merchant's contract is its own: `mid` defaults to it.
    let mid = match (principal.merchant(), &request.mid) {
        (Some(own), None) => own.to_owned(),
        _ => required("mid", &request.mid)?,
    };
    fields::validate_mid(&mid).map_err(invalid)?;
    let contract_no = required("contract_no", &request.contract_no)?;
    fields::validate_contract_no(&contract_no).map_err(invalid)?;
    let plan_id = required("plan_id", &request.plan_id)?;
    fields::validate_plan_id(&plan_id).map_err(invalid)?;
    // An empty `notify_url` is no URL: the merchant's default applies.
    let notify = request
        .notify_url
        .as_deref()
        .filter(|url| !url.is_empty())
        .map(fields::notify_target)
        .transpose()
        .map_err(invalid)?;
    if let Some(notify) = &notify {
        sandbox
            .producer
            .egress
            .admit_url(&notify.url)
            .map_err(|refused| ApiError::destination_not_allowed("notify_url", &refused))?;
    }
    let single_limit_amt = request.single_limit_amt.unwrap_or_default();
    fields::validate_single_limit_amt(Some(&single_limit_amt)).map_err(invalid)?;
    let avl_num = request.avl_num.unwrap_or_default();
    fields::validate_avl_num(Some(&avl_num)).map_err(invalid)?;
    let merchant = sandbox
        .merchants
        .merchant(&mid)
        .await?
        .filter(|m| principal.sees(Some(&m.mid)))
        .ok_or_else(|| {
            ApiError::invalid("unknown_merchant", format!("merchant {mid} does not exist"))
        })?;
    let notify = match notify {
        Some(notify) => notify,
        None => merchant
            .default_notify_target()
            .map_err(no_default_notify)?,
    };
    let terms = ContractTerms {
        contract_no: &contract_no,
        plan_id: &plan_id,
        single_limit_amt: &single_limit_amt,
        avl_num: &avl_num,
    };
    let new = sandbox.contracts.draft(&merchant, terms, notify);
    let now = sandbox.now();
    match sandbox
        .contracts
        .store
        .create_contract(new, None, now)
        .await?
    {
        CreateOutcome::Created(contract) => Ok((StatusCode::CREATED, Json(contract.into()))),
        CreateOutcome::DuplicateContractNo(existing) => Err(ApiError::conflict(
            "duplicate_contract_no",
            format!(
                "merchant {mid} already has contract {} with contract_no {contract_no}",
                existing.contract_id
            ),
        )),
        CreateOutcome::NonceReplayed => Err(anyhow::anyhow!("no nonce was given").into()),
    }
}

/// Contracts, newest first, in pages.
#[utoipa::path(get, path = "/contracts", tag = "contracts",
    params(ListQuery),
    responses((status = 200, description = "A page", body = ContractList), AdminErrors),
    security(("admin_token" = [])))]
pub async fn list(
    State(sandbox): State<Sandbox>,
    principal: Principal,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<ContractList>, ApiError> {
    let state = query
        .state
        .map(|s| s.parse::<ContractState>())
        .transpose()
        .map_err(|e| ApiError::invalid_query(e.to_string()))?;
    let page_request = PageRequest::read(query.limit, query.cursor.as_deref())?;
    let Ok(mid) = principal.list_filter(query.mid) else {
        return Ok(Json(ContractList {
            contracts: Vec::new(),
            next_cursor: None,
        }));
    };
    let filter = ContractFilter {
        mid,
        state,
        before_seq: page_request.before,
        limit: page_request.limit,
    };
    let page = sandbox.contracts.store.contracts(&filter).await?;
    let next_cursor = page_request.next_cursor(&page, |c| c.seq);
    Ok(Json(ContractList {
        contracts: page.into_iter().map(Into::into).collect(),
        next_cursor,
    }))
}

/// One contract with the states it may move to.
#[utoipa::path(get, path = "/contracts/{contract_id}", tag = "contracts",
    params(("contract_id" = String, Path, description = "The contractId (Base64; URL-encode `/` and `+`, or use the URL-safe alphabet)")),
    responses(
        (status = 200, description = "The contract", body = ContractView),
        (status = 404, description = "`not_found`", body = ErrorBody),
        AdminErrors,
    ),
    security(("admin_token" = [])))]
pub async fn show(
    State(sandbox): State<Sandbox>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<ContractView>, ApiError> {
    let id = contract_id_of(&id);
    Ok(Json(visible(&sandbox, &principal, &id).await?.into()))
}

/// Contract `id`, if it exists and `principal` sees it; else its 404.
async fn visible(sandbox: &Sandbox, principal: &Principal, id: &str) -> Result<Contract, ApiError> {
    sandbox
        .contracts
        .store
        .contract(id)
        .await?
        .filter(|c| principal.sees(Some(&c.mid)))
        .ok_or_else(|| not_found(id))
}

/// Moves a contract along the state machine; the change and its notification are one
/// transaction. An illegal move is 409 and changes nothing.
/// Move a contract to another state; its notification is enqueued in the same
/// transaction.
#[utoipa::path(post, path = "/contracts/{contract_id}/transitions", tag = "contracts",
    params(("contract_id" = String, Path, description = "The contractId")),
    request_body = TransitionRequest,
    responses(
        (status = 200, description = "Moved; the notifications enqueued", body = TransitionView),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`illegal_transition`", body = ErrorBody),
        (status = 422, description = "`invalid_state`, `unknown_field`, `invalid_request`", body = ErrorBody),
        AdminErrors,
    ),
    security(("admin_token" = [])))]
pub async fn transition(
    State(sandbox): State<Sandbox>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(request): ApiJson<TransitionRequest>,
) -> Result<Json<TransitionView>, ApiError> {
    visible(&sandbox, &principal, &contract_id_of(&id)).await?;
    let moved = sandbox
        .contracts
        .transition(&contract_id_of(&id), request)
        .await?
        .map_err(refused)?;
    Ok(Json(TransitionView {
        contract: (*moved.contract).into(),
        notification_ids: moved.notifications,
    }))
}
