//! Opening PostgreSQL: a pool whose connections carry a name of this instance's own (so
//! its wake-up signals can be told from other instances'), with plans made per call: a
//! plan cached while the outbox was small read it badly once it grew, and caching plans
//! gained nothing measurable (docs/performance.md).

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use super::{Db, StoreOptions, STATEMENT_CACHE};

pub(super) async fn open(url: &str, options: &StoreOptions) -> anyhow::Result<Db> {
    let connect: PgConnectOptions = url.parse()?;
    // A name of this instance's own (after any the URL gives), which its wake-up signals
    // carry so it can tell them from other instances' (see `NOTIFY_DUE`).
    let own = format!("ums-notify/{:016x}", rand::random::<u64>());
    let name = match connect.get_application_name() {
        Some(given) => format!("{given} {own}"),
        None => own,
    };
    let connect = connect
        .application_name(&name)
        .options([("plan_cache_mode", "force_custom_plan")])
        .statement_cache_capacity(STATEMENT_CACHE);
    let pool = PgPoolOptions::new()
        .max_connections(options.max_connections.max(2))
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(connect)
        .await?;
    let notifier = super::notifier::Notifier::start(pool.clone());
    Ok(Db::Postgres(pool, notifier))
}
