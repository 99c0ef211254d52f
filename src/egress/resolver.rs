//! The connect-time half of the egress guard: a `reqwest` resolver that looks a name up,
//! keeps only the addresses the guard admits and hands exactly those to the connector.
//! How names are looked up is a [`NameLookup`]: the system's resolver, or a fixed table
//! ([`FixedNames`]) for tests and closed networks.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use super::{EgressGuard, NotAllowed, Why};

/// What a name lookup yields.
pub type Lookup = Pin<Box<dyn Future<Output = io::Result<Vec<IpAddr>>> + Send>>;

/// Looks host names up.
pub trait NameLookup: Send + Sync + 'static {
    /// Every address `host` resolves to.
    fn lookup(&self, host: String) -> Lookup;
}

/// The system's resolver (`getaddrinfo`, on a blocking thread).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemNames;

impl NameLookup for SystemNames {
    fn lookup(&self, host: String) -> Lookup {
        Box::pin(async move {
            let addrs = tokio::net::lookup_host((host.as_str(), 0)).await?;
            Ok(addrs.map(|addr| addr.ip()).collect())
        })
    }
}

/// A fixed table of names; any other name does not resolve.
#[derive(Debug, Clone, Default)]
pub struct FixedNames(HashMap<String, Vec<IpAddr>>);

impl FixedNames {
    /// Adds `name`, resolving to `addrs` in this order.
    pub fn with(mut self, name: &str, addrs: &[IpAddr]) -> Self {
        self.0.insert(name.to_ascii_lowercase(), addrs.to_vec());
        self
    }
}

impl NameLookup for FixedNames {
    fn lookup(&self, host: String) -> Lookup {
        let found = self.0.get(&host.to_ascii_lowercase()).cloned();
        Box::pin(async move {
            found.ok_or_else(|| {
                io::Error::new(io::ErrorKind::NotFound, format!("{host} does not resolve"))
            })
        })
    }
}

/// The resolver every guarded client uses.
pub(super) struct Guarded {
    pub guard: EgressGuard,
}

impl Resolve for Guarded {
    fn resolve(&self, name: Name) -> Resolving {
        let guard = self.guard.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found = guard.names().lookup(host.clone()).await?;
            let addrs = admitted(&guard, &host, found)?;
            // Port 0: the connector puts the URL's port (or the scheme's) in.
            let addrs: Addrs = Box::new(addrs.into_iter().map(|ip| SocketAddr::new(ip, 0)));
            Ok(addrs)
        })
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The addresses of `host` the guard admits, in the order they were found; an error
/// when there are none, the guard's own ([`NotAllowed`], not wrapped, so the senders
/// find it in the error's chain) when it refused them all.
fn admitted(guard: &EgressGuard, host: &str, found: Vec<IpAddr>) -> Result<Vec<IpAddr>, BoxError> {
    let mut allowed = Vec::with_capacity(found.len());
    let mut refused = Vec::new();
    for ip in found {
        match guard.admit_ip(ip) {
            Ok(()) => allowed.push(ip),
            Err(why) => refused.push((ip, why)),
        }
    }
    if allowed.is_empty() {
        if refused.is_empty() {
            return Err(format!("{host} resolves to no address").into());
        }
        return Err(Box::new(NotAllowed {
            host: host.to_owned(),
            why: Why::Resolved(refused),
        }));
    }
    if !refused.is_empty() {
        tracing::debug!(
            host,
            dropped = refused.len(),
            "left out addresses that are not public"
        );
    }
    Ok(allowed)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::super::{parse_network, Destinations};
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn guard(allowed: &[&str]) -> EgressGuard {
        let names = FixedNames::default()
            .with("inside.test", &[ip("10.0.0.1"), ip("::1")])
            .with("mixed.test", &[ip("10.0.0.1"), ip("93.184.215.14")])
            .with("nothing.test", &[]);
        let allowed = allowed.iter().map(|n| parse_network(n).unwrap()).collect();
        EgressGuard::new(Destinations::Public, allowed).resolving_with(Arc::new(names))
    }

    async fn resolve(guard: &EgressGuard, host: &str) -> Result<Vec<SocketAddr>, String> {
        let resolver = Guarded {
            guard: guard.clone(),
        };
        let name: Name = host.parse().map_err(|_| "bad name".to_owned())?;
        match resolver.resolve(name).await {
            Ok(addrs) => Ok(addrs.collect()),
            Err(error) => Err(match NotAllowed::in_chain(error.as_ref()) {
                Some(refused) => format!("refused: {refused}"),
                None => error.to_string(),
            }),
        }
    }

    #[tokio::test]
    async fn hands_over_only_the_admitted_addresses() {
        let addrs = resolve(&guard(&[]), "mixed.test").await.unwrap();
        assert_eq!(addrs, vec!["93.184.215.14:0".parse().unwrap()]);
        let addrs = resolve(&guard(&["10.0.0.0/8"]), "mixed.test")
            .await
            .unwrap();
        assert_eq!(addrs.len(), 2, "{addrs:?}");
    }

    #[tokio::test]
    async fn a_name_with_no_admitted_address_is_refused_naming_each() {
        let error = resolve(&guard(&[]), "inside.test").await.unwrap_err();
        assert!(
            error.starts_with("refused: inside.test resolves only to"),
            "{error}"
        );
        assert!(error.contains("10.0.0.1 (a private address)"), "{error}");
        assert!(error.contains("::1 (a loopback address)"), "{error}");
    }

    #[tokio::test]
    async fn the_system_s_answer_for_localhost_is_refused_too() {
        let guard = EgressGuard::new(Destinations::Public, Vec::new());
        let error = resolve(&guard, "localhost").await.unwrap_err();
        assert!(
            error.starts_with("refused: localhost resolves only to"),
            "{error}"
        );
    }

    #[tokio::test]
    async fn a_name_that_does_not_resolve_is_no_refusal() {
        for host in ["nothing.test", "unknown.test"] {
            let error = resolve(&guard(&[]), host).await.unwrap_err();
            assert!(!error.starts_with("refused"), "{error}");
        }
    }
}
