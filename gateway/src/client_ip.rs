//! Who is calling, by address, for the per-IP rate limit: the TCP peer, or —
//! only when the peer is a configured trusted proxy (the ingress) — the
//! right-most `X-Forwarded-For` entry that is not itself a trusted proxy.
//! A client cannot dodge its budget by sending its own `X-Forwarded-For`.
//! IPv6 clients are counted per /64 (one subscriber's usual allocation).

use axum::http::HeaderMap;
use std::net::{IpAddr, Ipv6Addr};

/// One trusted network, `address/prefix` (a bare address is a /32 or /128).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    net: IpAddr,
    prefix: u8,
}

impl std::str::FromStr for Cidr {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (addr, prefix) = match s.trim().split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s.trim(), None),
        };
        let net: IpAddr = addr
            .parse()
            .map_err(|_| format!("{s:?} is not an IP address or CIDR"))?;
        let max = if net.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{s:?}: the prefix must be 0–{max}"))?,
        };
        Ok(Cidr { net, prefix })
    }
}

fn bits(ip: IpAddr) -> (u128, u8) {
    match canonical(ip) {
        IpAddr::V4(v4) => (u32::from(v4) as u128, 32),
        IpAddr::V6(v6) => (u128::from(v6), 128),
    }
}

/// IPv4-mapped IPv6 (`::ffff:a.b.c.d`, as a dual-stack socket reports an
/// IPv4 peer) counts as the IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

impl Cidr {
    pub fn contains(&self, ip: IpAddr) -> bool {
        let (a, width) = bits(ip);
        let (n, net_width) = bits(self.net);
        if width != net_width {
            return false;
        }
        let shift = u32::from(width - self.prefix.min(width));
        if shift >= 128 {
            return true;
        }
        (a >> shift) == (n >> shift)
    }
}

/// The configured trusted proxies.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<Cidr>);

impl TrustedProxies {
    /// Parse `gateway.trusted_proxies`; the error names the bad entry.
    pub fn parse(entries: &[String]) -> Result<Self, String> {
        entries
            .iter()
            .map(|e| {
                e.parse::<Cidr>()
                    .map_err(|m| format!("gateway.trusted_proxies: {m}"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(TrustedProxies)
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|c| c.contains(ip))
    }

    /// The client's address as far as it can be trusted.
    pub fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = canonical(peer);
        if !self.trusts(peer) {
            return peer;
        }
        let mut client = peer;
        let hops = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect::<Vec<_>>();
        for hop in hops.iter().rev() {
            let Ok(ip) = hop.parse::<IpAddr>() else {
                // A malformed entry: nothing left of it can be trusted.
                break;
            };
            client = canonical(ip);
            if !self.trusts(client) {
                break;
            }
        }
        client
    }
}

/// The rate-limit key of a client address (IPv6 per /64). Holds no more
/// than the limiter needs; it is never logged.
pub fn limit_key(ip: IpAddr) -> String {
    match canonical(ip) {
        IpAddr::V4(v4) => format!("ip:{v4}"),
        IpAddr::V6(v6) => {
            let prefix = u128::from(v6) & !((1u128 << 64) - 1);
            format!("ip:{}/64", Ipv6Addr::from(prefix))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn xff(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", HeaderValue::from_str(v).unwrap());
        h
    }

    #[test]
    fn cidrs_parse_match_and_refuse_nonsense() {
        let c: Cidr = "10.0.0.0/8".parse().unwrap();
        assert!(c.contains(ip("10.200.3.4")));
        assert!(!c.contains(ip("11.0.0.1")));
        assert!(
            c.contains(ip("::ffff:10.1.2.3")),
            "IPv4-mapped counts as IPv4"
        );
        assert!(!c.contains(ip("fd00::1")));
        let one: Cidr = "192.0.2.7".parse().unwrap();
        assert!(one.contains(ip("192.0.2.7")) && !one.contains(ip("192.0.2.8")));
        let all: Cidr = "::/0".parse().unwrap();
        assert!(all.contains(ip("2001:db8::1")));
        let v6: Cidr = "fd00:1::/32".parse().unwrap();
        assert!(v6.contains(ip("fd00:1:ffff::9")) && !v6.contains(ip("fd00:2::1")));
        for bad in [
            "",
            "10.0.0.0/33",
            "fd00::/129",
            "host.example",
            "10.0.0.0/x",
        ] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad:?}");
        }
        let err = TrustedProxies::parse(&["10.0.0.0/8".into(), "nope".into()]).unwrap_err();
        assert!(err.contains("gateway.trusted_proxies") && err.contains("nope"));
    }

    #[test]
    fn forwarded_for_counts_only_behind_a_trusted_proxy() {
        let none = TrustedProxies::default();
        assert_eq!(
            none.client_ip(ip("198.51.100.9"), &xff("203.0.113.5")),
            ip("198.51.100.9"),
            "an untrusted peer's header is ignored"
        );
        let ingress = TrustedProxies::parse(&["10.0.0.0/8".into()]).unwrap();
        assert_eq!(
            ingress.client_ip(ip("10.1.1.1"), &xff("203.0.113.5")),
            ip("203.0.113.5")
        );
        // A client's forged entry sits left of what the proxy appended.
        assert_eq!(
            ingress.client_ip(ip("10.1.1.1"), &xff("1.2.3.4, 203.0.113.5")),
            ip("203.0.113.5")
        );
        // Chained trusted proxies are skipped.
        assert_eq!(
            ingress.client_ip(ip("10.1.1.1"), &xff("203.0.113.5, 10.2.2.2")),
            ip("203.0.113.5")
        );
        // Garbage stops the walk at the last trustworthy hop.
        assert_eq!(
            ingress.client_ip(ip("10.1.1.1"), &xff("203.0.113.5, bogus, 10.2.2.2")),
            ip("10.2.2.2")
        );
        assert_eq!(
            ingress.client_ip(ip("10.1.1.1"), &HeaderMap::new()),
            ip("10.1.1.1")
        );
    }

    #[test]
    fn ipv6_clients_share_a_budget_per_64() {
        assert_eq!(
            limit_key(ip("2001:db8:1:2:aaaa::1")),
            limit_key(ip("2001:db8:1:2:bbbb::9"))
        );
        assert_ne!(
            limit_key(ip("2001:db8:1:2::1")),
            limit_key(ip("2001:db8:1:3::1"))
        );
        assert_eq!(
            limit_key(ip("::ffff:192.0.2.1")),
            limit_key(ip("192.0.2.1"))
        );
    }
}
