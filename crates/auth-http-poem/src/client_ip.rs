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
        return text(peer);
    }
    let Some(header) = forwarded_for else {
        return text(peer);
    };
    for entry in header.rsplit(',') {
        let Ok(address) = entry.trim().parse::<IpAddr>() else {
            return text(peer);
        };
        let address = canonical(address);
        if !is_trusted(address) {
            return text(address);
        }
    }
    text(peer)
}

/// `address` as `Display` writes it. An IPv4 address, the common case on every request, is
/// written digit by digit: `Display` goes through the formatting machinery, a measurable part
/// of a cached session check.
fn text(address: IpAddr) -> String {
    let IpAddr::V4(v4) = address else {
        return address.to_string();
    };
    let mut out = String::with_capacity(15);
    for (index, octet) in v4.octets().into_iter().enumerate() {
        if index > 0 {
            out.push('.');
        }
        if octet >= 100 {
            out.push(char::from(b'0' + octet / 100));
        }
        if octet >= 10 {
            out.push(char::from(b'0' + octet / 10 % 10));
        }
        out.push(char::from(b'0' + octet % 10));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_written_as_display_writes_them() {
        for octets in [
            [0, 0, 0, 0],
            [255, 255, 255, 255],
            [10, 0, 0, 1],
            [203, 0, 113, 9],
            [1, 22, 109, 100],
            [99, 100, 101, 9],
        ] {
            let address = IpAddr::from(octets);
            assert_eq!(text(address), address.to_string());
        }
        let v6: IpAddr = "2001:db8::1".parse().expect("v6");
        assert_eq!(text(v6), "2001:db8::1");
    }

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
