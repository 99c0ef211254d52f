//! Says plainly whether the PostgreSQL half of the suite can run. It has no test harness,
//! so its line is printed even when the other tests' output is captured; with
//! `UMS_NOTIFY_REQUIRE_POSTGRES=1` (as CI sets) an unreachable server fails the run.

use std::process::ExitCode;
use std::time::Duration;

fn main() -> ExitCode {
    let server = std::env::var("UMS_NOTIFY_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let required =
        std::env::var("UMS_NOTIFY_REQUIRE_POSTGRES").is_ok_and(|v| v == "1" || v == "true");
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("cannot start a runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let reachable = runtime.block_on(async {
        sqlx::postgres::PgPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(5))
            .connect(&server)
            .await
            .map(|_| ())
    });
    match (reachable, required) {
        (Ok(()), _) => {
            println!("PostgreSQL tests: RUN against {server}");
            ExitCode::SUCCESS
        }
        (Err(error), false) => {
            println!("PostgreSQL tests: SKIPPED, {server} is not reachable ({error}); only SQLite was tested");
            ExitCode::SUCCESS
        }
        (Err(error), true) => {
            println!("PostgreSQL tests: REQUIRED but {server} is not reachable ({error})");
            ExitCode::FAILURE
        }
    }
}
