//! The outbox as a principal sees it: the operator sees every notification, a merchant
//! only those whose tenant is its `mid` (a notification of another tenant is as absent
//! as one that does not exist).

use chrono::{DateTime, Utc};

use crate::access::Principal;
use crate::outbox::{Notification, Stats, Store};

/// Notification `id`, if it exists and `principal` sees it.
pub async fn notification(
    store: &dyn Store,
    principal: &Principal,
    id: i64,
) -> anyhow::Result<Option<Notification>> {
    Ok(store
        .get(id)
        .await?
        .filter(|n| principal.sees(n.tenant.as_deref())))
}

/// The counts `principal` sees: the whole outbox's, or its own merchant's.
pub async fn stats(
    store: &dyn Store,
    principal: &Principal,
    now: DateTime<Utc>,
) -> anyhow::Result<Stats> {
    match principal.merchant() {
        None => store.stats(now).await,
        Some(mid) => store.tenant_stats(mid, now).await,
    }
}
