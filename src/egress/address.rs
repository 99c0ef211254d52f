//! Which IP addresses are not public, and why: the classification the egress guard's
//! `public` mode refuses by. Pure functions of one address; no configuration.
//!
//! Refused are the ranges through which a sender on a shared host reaches that host or
//! its network: this host (`0.0.0.0/8`, `::`), loopback, the private ranges, CGNAT's
//! shared space, link-local (where cloud metadata services answer), IPv6 unique-local
//! and the deprecated site-local, multicast, broadcast and the reserved `240.0.0.0/4`,
//! the IETF protocol assignments (`192.0.0.0/24`), the benchmarking range
//! (`198.18.0.0/15`, in practice used inside sites), and the local-use NAT64 prefix.
//! IPv6 forms that carry an IPv4 address (IPv4-mapped, IPv4-compatible, NAT64's
//! `64:ff9b::/96`, 6to4's `2002::/16`) are judged by the IPv4 address they carry.
//! The documentation ranges are not refused: nothing routes them, so there is nothing
//! to protect.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{Ipv4Net, Ipv6Net};

/// A kind of address that is not public.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `0.0.0.0` or `::`: connecting to it reaches this host.
    Unspecified,
    /// `0.0.0.0/8`, "this network".
    ThisNetwork,
    Loopback,
    /// `10/8`, `172.16/12`, `192.168/16`.
    Private,
    /// `100.64/10`, carrier-grade NAT's shared address space.
    SharedCgnat,
    /// `169.254/16`, `fe80::/10`.
    LinkLocal,
    /// `192.0.0.0/24`.
    ProtocolAssignments,
    /// `198.18.0.0/15`.
    Benchmarking,
    Multicast,
    /// `255.255.255.255`.
    Broadcast,
    /// `240.0.0.0/4`.
    Reserved,
    /// `fc00::/7`.
    UniqueLocal,
    /// `fec0::/10`, deprecated but still routed inside sites.
    SiteLocal,
    /// `64:ff9b:1::/48`, NAT64 inside one site.
    LocalNat64,
}

impl Kind {
    fn describe(self) -> &'static str {
        match self {
            Kind::Unspecified => "the unspecified address (this host)",
            Kind::ThisNetwork => "a \"this network\" address (0.0.0.0/8)",
            Kind::Loopback => "a loopback address",
            Kind::Private => "a private address",
            Kind::SharedCgnat => "a carrier-grade NAT address (100.64.0.0/10)",
            Kind::LinkLocal => "a link-local address",
            Kind::ProtocolAssignments => "an IETF protocol assignment (192.0.0.0/24)",
            Kind::Benchmarking => "a benchmarking address (198.18.0.0/15)",
            Kind::Multicast => "a multicast address",
            Kind::Broadcast => "the broadcast address",
            Kind::Reserved => "a reserved address (240.0.0.0/4)",
            Kind::UniqueLocal => "a unique-local address (fc00::/7)",
            Kind::SiteLocal => "a site-local address (fec0::/10)",
            Kind::LocalNat64 => "a local-use NAT64 address (64:ff9b:1::/48)",
        }
    }
}

/// The IPv6 form an IPv4 address was written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// `::ffff:a.b.c.d`.
    Mapped,
    /// `::a.b.c.d` (deprecated).
    Compatible,
    /// `64:ff9b::a.b.c.d`.
    Nat64,
    /// `2002:aabb:ccdd::/48`.
    SixToFour,
}

/// Why an address is not public: its kind, and the IPv6 form that carried the IPv4
/// address when it came in one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotPublic {
    pub kind: Kind,
    pub form: Option<Form>,
}

impl fmt::Display for NotPublic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let form = match self.form {
            None => return f.write_str(self.kind.describe()),
            Some(Form::Mapped) => "IPv4-mapped",
            Some(Form::Compatible) => "IPv4-compatible",
            Some(Form::Nat64) => "NAT64",
            Some(Form::SixToFour) => "6to4",
        };
        write!(f, "the {form} IPv6 form of {}", self.kind.describe())
    }
}

const V4: &[(Ipv4Net, Kind)] = &[
    (v4(0, 0, 0, 0, 32), Kind::Unspecified),
    (v4(0, 0, 0, 0, 8), Kind::ThisNetwork),
    (v4(10, 0, 0, 0, 8), Kind::Private),
    (v4(100, 64, 0, 0, 10), Kind::SharedCgnat),
    (v4(127, 0, 0, 0, 8), Kind::Loopback),
    (v4(169, 254, 0, 0, 16), Kind::LinkLocal),
    (v4(172, 16, 0, 0, 12), Kind::Private),
    (v4(192, 0, 0, 0, 24), Kind::ProtocolAssignments),
    (v4(192, 168, 0, 0, 16), Kind::Private),
    (v4(198, 18, 0, 0, 15), Kind::Benchmarking),
    (v4(224, 0, 0, 0, 4), Kind::Multicast),
    (v4(255, 255, 255, 255, 32), Kind::Broadcast),
    (v4(240, 0, 0, 0, 4), Kind::Reserved),
];

const V6: &[(Ipv6Net, Kind)] = &[
    (v6([0, 0, 0, 0, 0, 0, 0, 0], 128), Kind::Unspecified),
    (v6([0, 0, 0, 0, 0, 0, 0, 1], 128), Kind::Loopback),
    (v6([0x64, 0xff9b, 1, 0, 0, 0, 0, 0], 48), Kind::LocalNat64),
    (v6([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7), Kind::UniqueLocal),
    (v6([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10), Kind::LinkLocal),
    (v6([0xfec0, 0, 0, 0, 0, 0, 0, 0], 10), Kind::SiteLocal),
    (v6([0xff00, 0, 0, 0, 0, 0, 0, 0], 8), Kind::Multicast),
];

const fn v4(a: u8, b: u8, c: u8, d: u8, prefix: u8) -> Ipv4Net {
    Ipv4Net::new_assert(Ipv4Addr::new(a, b, c, d), prefix)
}

const fn v6(s: [u16; 8], prefix: u8) -> Ipv6Net {
    Ipv6Net::new_assert(
        Ipv6Addr::new(s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]),
        prefix,
    )
}

/// Why `ip` is not a public address, or `None` when it is one.
pub fn classify(ip: IpAddr) -> Option<NotPublic> {
    match ip {
        IpAddr::V4(ip) => classify_v4(ip).map(|kind| NotPublic { kind, form: None }),
        IpAddr::V6(ip) => classify_v6(ip),
    }
}

fn classify_v4(ip: Ipv4Addr) -> Option<Kind> {
    V4.iter()
        .find(|(net, _)| net.contains(&ip))
        .map(|(_, kind)| *kind)
}

fn classify_v6(ip: Ipv6Addr) -> Option<NotPublic> {
    if let Some((_, kind)) = V6.iter().find(|(net, _)| net.contains(&ip)) {
        return Some(NotPublic {
            kind: *kind,
            form: None,
        });
    }
    let (form, carried) = carried_ipv4(ip)?;
    classify_v4(carried).map(|kind| NotPublic {
        kind,
        form: Some(form),
    })
}

/// The IPv4 address an IPv6 address carries, and the form it carries it in.
pub fn carried_ipv4(ip: Ipv6Addr) -> Option<(Form, Ipv4Addr)> {
    let s = ip.segments();
    let low = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    match s {
        [0, 0, 0, 0, 0, 0xffff, _, _] => Some((Form::Mapped, low)),
        [0, 0, 0, 0, 0, 0, _, _] => Some((Form::Compatible, low)),
        [0x64, 0xff9b, 0, 0, 0, 0, _, _] => Some((Form::Nat64, low)),
        [0x2002, high, lower, ..] => Some((
            Form::SixToFour,
            Ipv4Addr::new(
                (high >> 8) as u8,
                high as u8,
                (lower >> 8) as u8,
                lower as u8,
            ),
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(text: &str) -> Option<Kind> {
        classify(text.parse().unwrap()).map(|n| n.kind)
    }

    #[test]
    fn refuses_every_non_public_ipv4_range() {
        for (ip, expected) in [
            ("0.0.0.0", Kind::Unspecified),
            ("0.1.2.3", Kind::ThisNetwork),
            ("10.0.0.1", Kind::Private),
            ("10.255.255.255", Kind::Private),
            ("100.64.0.1", Kind::SharedCgnat),
            ("100.127.255.254", Kind::SharedCgnat),
            ("127.0.0.1", Kind::Loopback),
            ("127.8.9.10", Kind::Loopback),
            ("169.254.169.254", Kind::LinkLocal),
            ("172.16.0.1", Kind::Private),
            ("172.31.255.255", Kind::Private),
            ("192.0.0.170", Kind::ProtocolAssignments),
            ("192.168.1.1", Kind::Private),
            ("198.18.0.1", Kind::Benchmarking),
            ("198.19.255.255", Kind::Benchmarking),
            ("224.0.0.1", Kind::Multicast),
            ("239.255.255.250", Kind::Multicast),
            ("240.0.0.1", Kind::Reserved),
            ("255.255.255.255", Kind::Broadcast),
        ] {
            assert_eq!(kind(ip), Some(expected), "{ip}");
        }
    }

    #[test]
    fn passes_public_ipv4_next_to_the_refused_ranges() {
        for ip in [
            "1.1.1.1",
            "8.8.8.8",
            "9.255.255.255",
            "11.0.0.1",
            "100.63.255.255",
            "100.128.0.1",
            "126.255.255.255",
            "128.0.0.1",
            "169.253.255.255",
            "169.255.0.1",
            "172.15.255.255",
            "172.32.0.1",
            "192.0.1.1",
            "192.167.255.255",
            "192.169.0.1",
            "198.17.255.255",
            "198.20.0.1",
            "223.255.255.255",
            // Documentation ranges: unrouted, so not refused.
            "192.0.2.1",
            "198.51.100.1",
            "203.0.113.1",
        ] {
            assert_eq!(kind(ip), None, "{ip}");
        }
    }

    #[test]
    fn refuses_every_non_public_ipv6_range() {
        for (ip, expected) in [
            ("::", Kind::Unspecified),
            ("::1", Kind::Loopback),
            ("fc00::1", Kind::UniqueLocal),
            ("fdff:ffff::1", Kind::UniqueLocal),
            ("fe80::1", Kind::LinkLocal),
            ("febf::1", Kind::LinkLocal),
            ("fec0::1", Kind::SiteLocal),
            ("ff02::1", Kind::Multicast),
            ("64:ff9b:1::a00:1", Kind::LocalNat64),
        ] {
            assert_eq!(kind(ip), Some(expected), "{ip}");
            assert_eq!(classify(ip.parse().unwrap()).unwrap().form, None, "{ip}");
        }
    }

    #[test]
    fn judges_ipv6_forms_by_the_ipv4_address_they_carry() {
        for (ip, expected, form) in [
            ("::ffff:127.0.0.1", Kind::Loopback, Form::Mapped),
            ("::ffff:10.0.0.1", Kind::Private, Form::Mapped),
            ("::ffff:169.254.169.254", Kind::LinkLocal, Form::Mapped),
            ("::ffff:0.0.0.0", Kind::Unspecified, Form::Mapped),
            ("::127.0.0.1", Kind::Loopback, Form::Compatible),
            ("::192.168.0.1", Kind::Private, Form::Compatible),
            ("64:ff9b::10.0.0.1", Kind::Private, Form::Nat64),
            ("64:ff9b::7f00:1", Kind::Loopback, Form::Nat64),
            ("2002:7f00:1::", Kind::Loopback, Form::SixToFour),
            ("2002:a9fe:a9fe::1", Kind::LinkLocal, Form::SixToFour),
        ] {
            let judged = classify(ip.parse().unwrap());
            assert_eq!(
                judged,
                Some(NotPublic {
                    kind: expected,
                    form: Some(form)
                }),
                "{ip}"
            );
        }
        assert_eq!(
            classify("::ffff:127.0.0.1".parse().unwrap())
                .unwrap()
                .to_string(),
            "the IPv4-mapped IPv6 form of a loopback address"
        );
    }

    #[test]
    fn passes_public_ipv6_and_forms_of_public_ipv4() {
        for ip in [
            "2606:4700:4700::1111",
            "2001:4860:4860::8888",
            "2001:db8::1",
            "fbff::1",
            "fe7f::1",
            "2400:cb00::1",
        ] {
            assert_eq!(kind(ip), None, "{ip}");
        }
        for ip in ["::ffff:8.8.8.8", "64:ff9b::1.1.1.1", "2002:808:808::1"] {
            assert_eq!(kind(ip), None, "{ip}");
        }
    }
}
