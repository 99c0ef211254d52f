//! The egress guard: which addresses the sandbox may send to (`--destinations public|any`,
//! `--allow-destination CIDR`), checked twice.
//!
//! - When a notify URL is given ([`EgressGuard::admit_url`]): a literal address that is
//!   not public, or `localhost`, is refused at once (the admin API answers 422
//!   `destination_not_allowed`).
//! - When a try connects: every HTTP client that sends to merchants is built by
//!   [`EgressGuard::client_builder`], whose resolver ([`resolver`]) resolves the name,
//!   drops the addresses that are not allowed and hands only the rest to the connector,
//!   so the connection goes to an address that was checked and a name cannot change its
//!   answer between the check and the connection. Literal addresses never reach a
//!   resolver, so the senders check the URL itself before each request too.
//!
//! What is not public is [`address`]'s to say.

pub mod address;
pub mod resolver;

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use ipnet::IpNet;

pub use address::NotPublic;
pub use resolver::{FixedNames, NameLookup, SystemNames};

/// Which destinations notifications may go to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Destinations {
    /// Public addresses only, and the networks `--allow-destination` exempts.
    Public,
    /// Any address, the sandbox's own host and network included.
    Any,
}

impl Destinations {
    pub fn as_str(self) -> &'static str {
        match self {
            Destinations::Public => "public",
            Destinations::Any => "any",
        }
    }
}

/// Decides which addresses may be sent to. Cheap to clone.
#[derive(Clone)]
pub struct EgressGuard {
    inner: Arc<Inner>,
}

struct Inner {
    mode: Destinations,
    allowed: Vec<IpNet>,
    names: Arc<dyn NameLookup>,
}

impl fmt::Debug for EgressGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EgressGuard")
            .field("mode", &self.inner.mode)
            .field("allowed", &self.inner.allowed)
            .finish_non_exhaustive()
    }
}

impl EgressGuard {
    /// A guard in `mode` that exempts the `allowed` networks, resolving names with the
    /// system's resolver.
    pub fn new(mode: Destinations, allowed: Vec<IpNet>) -> Self {
        Self {
            inner: Arc::new(Inner {
                mode,
                allowed: allowed.into_iter().map(|net| net.trunc()).collect(),
                names: Arc::new(SystemNames),
            }),
        }
    }

    /// A guard that lets everything through (tools that run on the merchant's own side).
    pub fn any() -> Self {
        Self::new(Destinations::Any, Vec::new())
    }

    /// The same guard, resolving names with `names` instead of the system's resolver.
    pub fn resolving_with(self, names: Arc<dyn NameLookup>) -> Self {
        Self {
            inner: Arc::new(Inner {
                mode: self.inner.mode,
                allowed: self.inner.allowed.clone(),
                names,
            }),
        }
    }

    pub fn mode(&self) -> Destinations {
        self.inner.mode
    }

    /// The networks exempt from `public`.
    pub fn allowed(&self) -> &[IpNet] {
        &self.inner.allowed
    }

    /// Whether `ip` may be connected to; why not, when it may not.
    pub fn admit_ip(&self, ip: IpAddr) -> Result<(), NotPublic> {
        if self.inner.mode == Destinations::Any || self.exempt(ip) {
            return Ok(());
        }
        address::classify(ip).map_or(Ok(()), Err)
    }

    /// An address is exempt when an allowed network holds it, or holds the IPv4
    /// address it is the IPv4-mapped form of.
    fn exempt(&self, ip: IpAddr) -> bool {
        let mapped = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4),
            IpAddr::V4(_) => None,
        };
        self.inner
            .allowed
            .iter()
            .any(|net| net.contains(&ip) || mapped.is_some_and(|v4| net.contains(&v4)))
    }

    /// Checks what can be checked of a URL without resolving it: a literal address, or
    /// a `localhost` name (which always means the loopback addresses). Other names are
    /// checked when a try connects. A URL that does not parse passes: it is refused by
    /// the URL's own validation.
    pub fn admit_url(&self, url: &str) -> Result<(), NotAllowed> {
        if self.inner.mode == Destinations::Any {
            return Ok(());
        }
        let Ok(parsed) = url::Url::parse(url) else {
            return Ok(());
        };
        let literal = match parsed.host() {
            Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip),
            Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip),
            Some(url::Host::Domain(name)) => return self.admit_name(name),
            None => return Ok(()),
        };
        self.admit_ip(literal).map_err(|why| NotAllowed {
            host: host_text(literal),
            why: Why::Literal(why),
        })
    }

    fn admit_name(&self, name: &str) -> Result<(), NotAllowed> {
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        if name != "localhost" && !name.ends_with(".localhost") {
            return Ok(());
        }
        let loopback = [
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(Ipv6Addr::LOCALHOST),
        ];
        if loopback.iter().any(|ip| self.admit_ip(*ip).is_ok()) {
            return Ok(());
        }
        Err(NotAllowed {
            host: name,
            why: Why::Localhost,
        })
    }

    /// A client builder whose connections go only to admitted addresses. In `public`
    /// mode it ignores the `HTTP(S)_PROXY` variables: through a proxy, the address
    /// checked would be the proxy's, not the merchant's.
    pub fn client_builder(&self) -> reqwest::ClientBuilder {
        let builder = reqwest::Client::builder().dns_resolver(Arc::new(resolver::Guarded {
            guard: self.clone(),
        }));
        match self.inner.mode {
            Destinations::Public => builder.no_proxy(),
            Destinations::Any => builder,
        }
    }

    fn names(&self) -> &Arc<dyn NameLookup> {
        &self.inner.names
    }
}

/// An address as a URL writes it: IPv6 in brackets.
fn host_text(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(ip) => ip.to_string(),
        IpAddr::V6(ip) => format!("[{ip}]"),
    }
}

/// A destination the guard refuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotAllowed {
    /// The host as the URL names it.
    pub host: String,
    why: Why,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Why {
    Literal(NotPublic),
    Localhost,
    /// Every address the name resolved to, none allowed.
    Resolved(Vec<(IpAddr, NotPublic)>),
}

impl fmt::Display for NotAllowed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let host = &self.host;
        match &self.why {
            Why::Literal(why) => write!(f, "{host} is {why}")?,
            Why::Localhost => write!(f, "{host} names this host's loopback addresses")?,
            Why::Resolved(refused) => {
                write!(f, "{host} resolves only to addresses that are not public: ")?;
                for (i, (ip, why)) in refused.iter().enumerate() {
                    let sep = if i == 0 { "" } else { ", " };
                    write!(f, "{sep}{ip} ({why})")?;
                }
            }
        }
        f.write_str(
            "; this sandbox sends only to public addresses (--destinations public), \
             besides the networks --allow-destination exempts",
        )
    }
}

impl std::error::Error for NotAllowed {}

impl NotAllowed {
    /// The refusal somewhere in an error's chain of causes, if the guard refused.
    pub fn in_chain<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a Self> {
        let mut current = Some(error);
        while let Some(error) = current {
            if let Some(refused) = error.downcast_ref::<Self>() {
                return Some(refused);
            }
            current = error.source();
        }
        None
    }
}

/// Parses an `--allow-destination` value: a network in CIDR notation (`10.1.0.0/16`,
/// `fd00::/8`) or a single address.
pub fn parse_network(text: &str) -> Result<IpNet, String> {
    let text = text.trim();
    if let Ok(net) = text.parse::<IpNet>() {
        return Ok(net.trunc());
    }
    text.parse::<IpAddr>().map(IpNet::from).map_err(|_| {
        format!("{text:?} is not a network such as 10.1.0.0/16 or fd00::/8, nor an address")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn public(allowed: &[&str]) -> EgressGuard {
        let allowed = allowed.iter().map(|n| parse_network(n).unwrap()).collect();
        EgressGuard::new(Destinations::Public, allowed)
    }

    #[test]
    fn refuses_each_literal_form_and_localhost_at_once() {
        let guard = public(&[]);
        for url in [
            "http://127.0.0.1:9000/n",
            "http://localhost:9000/n",
            "http://LocalHost./n",
            "http://app.localhost/n",
            "http://[::1]/n",
            "http://[::ffff:127.0.0.1]/n",
            "http://0.0.0.0/n",
            "http://10.0.0.1/n",
            "http://169.254.169.254/latest/meta-data",
            "https://[fd12::1]/n",
            // Spellings the URL parser turns into 127.0.0.1.
            "http://2130706433/n",
            "http://0x7f.1/n",
        ] {
            assert!(guard.admit_url(url).is_err(), "{url}");
        }
        for url in [
            "https://merchant.example/notify",
            "http://8.8.8.8/n",
            "http://[2606:4700::1111]/n",
            "not a url",
        ] {
            assert_eq!(guard.admit_url(url), Ok(()), "{url}");
        }
    }

    #[test]
    fn any_admits_everything() {
        let guard = EgressGuard::any();
        assert_eq!(guard.admit_url("http://127.0.0.1/n"), Ok(()));
        assert_eq!(guard.admit_url("http://localhost/n"), Ok(()));
        assert_eq!(guard.admit_ip("169.254.169.254".parse().unwrap()), Ok(()));
    }

    #[test]
    fn the_allowlist_exempts_networks_and_their_mapped_forms() {
        let guard = public(&["127.0.0.0/8", "10.1.2.3", "fd00::1/8"]);
        for url in [
            "http://127.0.0.1:9000/n",
            "http://[::ffff:127.0.0.5]/n",
            "http://localhost/n",
            "http://10.1.2.3/n",
            "http://[fd99::1]/n",
        ] {
            assert_eq!(guard.admit_url(url), Ok(()), "{url}");
        }
        assert!(guard.admit_url("http://10.1.2.4/n").is_err());
        assert!(guard.admit_url("http://[::1]/n").is_err());
        assert_eq!(guard.allowed()[2].to_string(), "fd00::/8");
    }

    #[test]
    fn a_refusal_says_what_the_address_is() {
        let refused = public(&[])
            .admit_url("http://[::ffff:127.0.0.1]:80/n")
            .unwrap_err();
        assert_eq!(refused.host, "[::ffff:127.0.0.1]");
        let text = refused.to_string();
        assert!(
            text.starts_with("[::ffff:127.0.0.1] is the IPv4-mapped IPv6 form of a loopback"),
            "{text}"
        );
        assert!(text.contains("--destinations public"), "{text}");
        let metadata = public(&[])
            .admit_url("http://169.254.169.254/")
            .unwrap_err();
        assert!(metadata.to_string().contains("link-local"), "{metadata}");
    }

    #[test]
    fn networks_parse_as_cidr_or_single_addresses() {
        assert_eq!(
            parse_network("10.1.0.0/16").unwrap().to_string(),
            "10.1.0.0/16"
        );
        assert_eq!(
            parse_network("10.1.2.3/16").unwrap().to_string(),
            "10.1.0.0/16"
        );
        assert_eq!(
            parse_network(" 10.1.2.3 ").unwrap().to_string(),
            "10.1.2.3/32"
        );
        assert_eq!(parse_network("::1").unwrap().to_string(), "::1/128");
        assert!(parse_network("10.0.0.0/33").is_err());
        assert!(parse_network("intranet").is_err());
    }
}
