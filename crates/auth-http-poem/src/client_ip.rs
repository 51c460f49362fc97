//! The client's address: the socket peer, unless the peer is a trusted proxy, in which case the
//! right-most `X-Forwarded-For` entry that is not itself a trusted proxy. A forwarded header from
//! an untrusted peer changes nothing.

use std::net::IpAddr;

/// A trusted proxy: one address or a CIDR block (`10.0.0.0/8`, `::1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrustedProxy {
    network: IpAddr,
    prefix: u8,
}

impl TrustedProxy {
    /// Parses `addr` or `addr/prefix`.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        let (address, prefix) = match text.trim().split_once('/') {
            Some((address, prefix)) => (address, Some(prefix.parse::<u8>().ok()?)),
            None => (text.trim(), None),
        };
        let network: IpAddr = address.parse().ok()?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(Self { network, prefix })
    }

    fn contains(&self, address: IpAddr) -> bool {
        match (self.network, canonical(address)) {
            (IpAddr::V4(network), IpAddr::V4(address)) => {
                let m = if self.prefix == 0 {
                    0
                } else {
                    u32::MAX << (32 - u32::from(self.prefix))
                };
                u32::from(network) & m == u32::from(address) & m
            }
            (IpAddr::V6(network), IpAddr::V6(address)) => {
                let m = if self.prefix == 0 {
                    0
                } else {
                    u128::MAX << (128 - u32::from(self.prefix))
                };
                u128::from(network) & m == u128::from(address) & m
            }
            _ => false,
        }
    }
}

/// IPv4-mapped IPv6 addresses compare as IPv4.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        IpAddr::V4(_) => address,
    }
}

/// Resolves the client address from the peer and the `X-Forwarded-For` header.
#[must_use]
pub fn resolve(
    peer: Option<IpAddr>,
    forwarded_for: Option<&str>,
    trusted: &[TrustedProxy],
) -> String {
    let Some(peer) = peer.map(canonical) else {
        return String::new();
    };
    let is_trusted = |address: IpAddr| trusted.iter().any(|proxy| proxy.contains(address));
    if !is_trusted(peer) {
        return peer.to_string();
    }
    let Some(header) = forwarded_for else {
        return peer.to_string();
    };
    for entry in header.rsplit(',') {
        let Ok(address) = entry.trim().parse::<IpAddr>() else {
            return peer.to_string();
        };
        let address = canonical(address);
        if !is_trusted(address) {
            return address.to_string();
        }
    }
    peer.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> Option<IpAddr> {
        text.parse().ok()
    }

    #[test]
    fn a_forwarded_header_from_an_untrusted_peer_is_ignored() {
        let trusted = [TrustedProxy::parse("10.0.0.0/8").expect("cidr")];
        assert_eq!(
            resolve(ip("203.0.113.9"), Some("1.2.3.4"), &trusted),
            "203.0.113.9"
        );
        assert_eq!(resolve(ip("127.0.0.1"), Some("1.2.3.4"), &[]), "127.0.0.1");
    }

    #[test]
    fn behind_trusted_proxies_the_right_most_untrusted_entry_is_the_client() {
        let trusted = [
            TrustedProxy::parse("10.0.0.0/8").expect("cidr"),
            TrustedProxy::parse("::1").expect("ip"),
        ];
        assert_eq!(
            resolve(
                ip("10.1.2.3"),
                Some("6.6.6.6, 198.51.100.7, 10.0.0.2"),
                &trusted
            ),
            "198.51.100.7"
        );
        assert_eq!(
            resolve(ip("::1"), Some("198.51.100.7"), &trusted),
            "198.51.100.7"
        );
        assert_eq!(
            resolve(ip("10.1.2.3"), Some("garbage, 198.51.100.7"), &trusted),
            "198.51.100.7"
        );
        assert_eq!(
            resolve(ip("10.1.2.3"), Some("198.51.100.7, garbage"), &trusted),
            "10.1.2.3"
        );
        assert_eq!(resolve(ip("10.1.2.3"), None, &trusted), "10.1.2.3");
    }

    #[test]
    fn cidr_parsing_and_matching() {
        let block = TrustedProxy::parse("192.168.0.0/16").expect("cidr");
        assert!(block.contains("192.168.44.1".parse().expect("ip")));
        assert!(!block.contains("192.169.0.1".parse().expect("ip")));
        assert!(block.contains("::ffff:192.168.1.1".parse().expect("ip")));
        assert!(TrustedProxy::parse("10.0.0.0/33").is_none());
        assert!(TrustedProxy::parse("nonsense").is_none());
        assert!(
            TrustedProxy::parse("0.0.0.0/0")
                .expect("any")
                .contains("8.8.8.8".parse().expect("ip"))
        );
    }
}
