//! Settings of a running service: the flags of `serve` and `migrate`.
//!
//! Every flag of `serve` has an environment variable `UMS_NOTIFY_<NAME>`; `--help`
//! documents each with its default. The command line itself is the binary's (`main.rs`).

use std::net::SocketAddr;
use std::time::Duration;

use clap::{Args, Parser};

use crate::duration::parse_duration;
use crate::egress::{parse_network, Destinations, EgressGuard};
use crate::policy::schedule::DEFAULT_DELAYS;
use crate::policy::{RetryPolicy, RetrySchedule, DEFAULT_MAX_ATTEMPTS, MAX_ATTEMPTS_LIMIT};

#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// Database URL: `sqlite://<file>` (created if missing) or `postgres://user@host/db`.
    #[arg(
        long,
        env = "UMS_NOTIFY_DATABASE_URL",
        default_value = "sqlite://ums-notify.db"
    )]
    pub database_url: String,
    /// SQLite durability: `full` survives a power loss, `normal` only a process crash.
    #[arg(long, env = "UMS_NOTIFY_SQLITE_SYNCHRONOUS", default_value = "full", value_parser = ["full", "normal"])]
    pub sqlite_synchronous: String,
    /// PostgreSQL connection pool size.
    #[arg(
        long,
        env = "UMS_NOTIFY_DATABASE_MAX_CONNECTIONS",
        default_value_t = 10
    )]
    pub database_max_connections: u32,
}

impl DatabaseArgs {
    pub fn store_options(&self) -> crate::outbox::StoreOptions {
        crate::outbox::StoreOptions {
            sqlite_synchronous_full: self.sqlite_synchronous == "full",
            max_connections: self.database_max_connections,
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "UMS_NOTIFY_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// Bearer token required by the admin API. Without one, the admin API is open, which
    /// is refused on a non-loopback address unless --allow-insecure-admin is given.
    #[arg(long, env = "UMS_NOTIFY_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// Serve the admin API without a token on a non-loopback address.
    #[arg(long, env = "UMS_NOTIFY_ALLOW_INSECURE_ADMIN")]
    pub allow_insecure_admin: bool,
    /// Delays between tries; the last one repeats.
    #[arg(long, env = "UMS_NOTIFY_RETRY_SCHEDULE", default_value = DEFAULT_DELAYS, value_parser = parse_schedule)]
    pub retry_schedule: RetrySchedule,
    /// Tries per notification, the first included.
    #[arg(long, env = "UMS_NOTIFY_MAX_ATTEMPTS", default_value_t = DEFAULT_MAX_ATTEMPTS, value_parser = clap::value_parser!(u32).range(1..=MAX_ATTEMPTS_LIMIT as i64))]
    pub max_attempts: u32,
    /// Timeout of one HTTP try, connection included.
    #[arg(long, env = "UMS_NOTIFY_REQUEST_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub request_timeout: Duration,
    /// Tries in flight at once, in total.
    #[arg(long, env = "UMS_NOTIFY_CONCURRENCY", default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub concurrency: u32,
    /// Tries in flight at once against one destination host.
    #[arg(long, env = "UMS_NOTIFY_PER_HOST_CONCURRENCY", default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub per_host_concurrency: u32,
    /// How long a claimed notification stays leased to this instance. Must exceed the
    /// request timeout; a crashed instance's notifications are retried after it.
    #[arg(long, env = "UMS_NOTIFY_LEASE", default_value = "60s", value_parser = parse_duration)]
    pub lease: Duration,
    /// The longest the workers wait before looking at the outbox again.
    #[arg(long, env = "UMS_NOTIFY_POLL_INTERVAL", default_value = "5s", value_parser = parse_duration)]
    pub poll_interval: Duration,
    /// On SIGINT/SIGTERM, how long in-flight tries may take to finish.
    #[arg(long, env = "UMS_NOTIFY_SHUTDOWN_GRACE", default_value = "15s", value_parser = parse_duration)]
    pub shutdown_grace: Duration,
    /// Finished notifications older than this are deleted with their attempts.
    #[arg(long, env = "UMS_NOTIFY_RETENTION", default_value = "7d", value_parser = parse_duration)]
    pub retention: Duration,
    /// The largest notification body accepted, in bytes.
    #[arg(long, env = "UMS_NOTIFY_MAX_BODY_BYTES", default_value_t = 1024 * 1024)]
    pub max_body_bytes: usize,
    /// Where notifications and checks may be sent: `public` refuses loopback, private,
    /// link-local, unique-local, CGNAT, multicast, unspecified and broadcast addresses
    /// (checked on the addresses a name resolves to, when connecting); `any` sends
    /// anywhere. Default: `any` when listening on a loopback address, `public` otherwise.
    #[arg(long, env = "UMS_NOTIFY_DESTINATIONS", value_enum)]
    pub destinations: Option<Destinations>,
    /// A network exempt from `--destinations public`, such as `10.20.0.0/16` or one
    /// address; repeat the flag, or separate several with commas.
    #[arg(long = "allow-destination", env = "UMS_NOTIFY_ALLOW_DESTINATION", value_delimiter = ',', value_parser = parse_network)]
    pub allow_destination: Vec<ipnet::IpNet>,
    #[command(flatten)]
    pub platform: crate::platform::PlatformArgs,
}

fn parse_schedule(text: &str) -> Result<RetrySchedule, String> {
    RetrySchedule::parse(text).map_err(|error| error.to_string())
}

/// `serve`'s flags alone, to read them from the environment.
#[derive(Debug, Parser)]
struct ServeOnly {
    #[command(flatten)]
    args: ServeArgs,
}

impl ServeArgs {
    /// The settings of `serve` as the environment gives them without flags (tests and
    /// embedders start from here and change fields).
    pub fn from_env() -> anyhow::Result<Self> {
        Ok(ServeOnly::try_parse_from(["ums-notify"])?.args)
    }

    /// The retry policy of notifications that set none.
    pub fn retry_policy(&self) -> RetryPolicy {
        RetryPolicy {
            max_attempts: self.max_attempts,
            schedule: self.retry_schedule.clone(),
        }
    }

    /// The destinations in force: `--destinations` when given, else `any` on a loopback
    /// listen address and `public` on any other.
    pub fn destinations(&self) -> Destinations {
        self.destinations
            .unwrap_or(if self.listen.ip().is_loopback() {
                Destinations::Any
            } else {
                Destinations::Public
            })
    }

    /// The egress guard these settings ask for (resolving with the system's resolver).
    pub fn egress_guard(&self) -> EgressGuard {
        EgressGuard::new(self.destinations(), self.allow_destination.clone())
    }

    /// Checks the combinations a single flag cannot check.
    pub fn validate(&self) -> anyhow::Result<()> {
        if self.lease <= self.request_timeout {
            anyhow::bail!(
                "--lease ({:?}) must be longer than --request-timeout ({:?}), or a try still running would be claimed again",
                self.lease,
                self.request_timeout
            );
        }
        if self.admin_token.is_none()
            && !self.listen.ip().is_loopback()
            && !self.allow_insecure_admin
        {
            anyhow::bail!(
                "refusing to serve the admin API on {} without a token: set UMS_NOTIFY_ADMIN_TOKEN, listen on a loopback address, or pass --allow-insecure-admin",
                self.listen
            );
        }
        if matches!(&self.admin_token, Some(token) if token.trim().is_empty()) {
            anyhow::bail!("UMS_NOTIFY_ADMIN_TOKEN is set but empty");
        }
        self.platform.validate()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serve(args: &[&str]) -> ServeArgs {
        let mut argv = vec!["ums-notify"];
        argv.extend_from_slice(args);
        ServeOnly::try_parse_from(argv).unwrap().args
    }

    #[test]
    fn destinations_default_to_the_listen_address() {
        let on = |listen: &str| serve(&["--listen", listen]).destinations();
        assert_eq!(on("127.0.0.1:8080"), Destinations::Any);
        assert_eq!(on("[::1]:8080"), Destinations::Any);
        assert_eq!(on("0.0.0.0:8080"), Destinations::Public);
        assert_eq!(on("10.0.0.5:8080"), Destinations::Public);
        let given = serve(&["--listen", "0.0.0.0:8080", "--destinations", "any"]);
        assert_eq!(given.destinations(), Destinations::Any);
        let given = serve(&["--destinations", "public"]);
        assert_eq!(given.destinations(), Destinations::Public);
    }

    #[test]
    fn allowed_destinations_repeat_or_come_comma_separated() {
        let args = serve(&[
            "--allow-destination",
            "10.20.0.0/16,192.168.1.7",
            "--allow-destination",
            "fd00::/8",
        ]);
        let nets: Vec<String> = args
            .allow_destination
            .iter()
            .map(|n| n.to_string())
            .collect();
        assert_eq!(nets, ["10.20.0.0/16", "192.168.1.7/32", "fd00::/8"]);
        let bad = ServeOnly::try_parse_from(["ums-notify", "--allow-destination", "intranet"]);
        assert!(bad.is_err());
    }
}
