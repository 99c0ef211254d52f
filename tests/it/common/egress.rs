//! Helpers of the egress guard's tests: an application whose guard resolves names from
//! a fixed table, and the settings of a sandbox in `public` mode.

use std::net::IpAddr;
use std::sync::Arc;

use ums_notify::clock::Clock;
use ums_notify::config::ServeArgs;
use ums_notify::egress::{Destinations, FixedNames};
use ums_notify::startup::Application;

use super::{start, TestApp, TestDb};

/// The refused forms of a notify URL: every one names this host or its network.
pub const REFUSED_URLS: &[&str] = &[
    "http://127.0.0.1:9000/notify",
    "http://localhost:9000/notify",
    "http://[::1]:9000/notify",
    "http://[::ffff:127.0.0.1]:9000/notify",
    "http://0.0.0.0:9000/notify",
    "http://10.0.0.1/notify",
    "http://169.254.169.254/latest/meta-data/",
];

/// `--destinations public`, and each `--allow-destination` given.
pub fn public(settings: &mut ServeArgs, allowed: &[&str]) {
    settings.destinations = Some(Destinations::Public);
    settings.allow_destination = allowed
        .iter()
        .map(|net| ums_notify::egress::parse_network(net).expect("a network"))
        .collect();
}

/// A table of names, each resolving to the addresses given in order.
pub fn names(entries: &[(&str, &[&str])]) -> FixedNames {
    entries
        .iter()
        .fold(FixedNames::default(), |names, (name, addrs)| {
            let addrs: Vec<IpAddr> = addrs
                .iter()
                .map(|a| a.parse().expect("an address"))
                .collect();
            names.with(name, &addrs)
        })
}

impl TestDb {
    /// The application on this database, its guard resolving names with `names` only.
    pub async fn spawn_resolving(
        &self,
        names: FixedNames,
        configure: impl FnOnce(&mut ServeArgs),
    ) -> TestApp {
        let mut settings = self.settings();
        configure(&mut settings);
        let clock = Clock::system();
        let app = Application::build_resolving_with(settings, clock.clone(), Arc::new(names))
            .await
            .expect("application builds");
        start(app, clock)
    }
}
