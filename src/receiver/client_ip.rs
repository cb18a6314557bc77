//! Whose request it is, for rate limiting and the log: the peer, or (only when the peer is
//! a proxy the admin named with `--trust-proxy`) the client it says it forwards for.

use std::net::IpAddr;

use hyper::HeaderMap;

/// The client address of a request from `peer`. `X-Forwarded-For` is read right to left,
/// skipping trusted proxies, so a client cannot pick its own address by sending the header
/// itself: only entries a trusted proxy appended count.
pub fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    let peer = canonical(peer);
    if !trusted.contains(&peer) {
        return peer;
    }
    let mut client = peer;
    let entries = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .collect::<Vec<_>>();
    for entry in entries.iter().rev() {
        let Some(address) = parse_entry(entry.trim()) else {
            // Garbage where an address should be: stop at the last address vouched for.
            return client;
        };
        client = canonical(address);
        if !trusted.contains(&client) {
            return client;
        }
    }
    client
}

/// An entry as proxies write them: `203.0.113.9`, `2001:db8::1`, or with a port
/// (`203.0.113.9:5678`, `[2001:db8::1]:5678`).
fn parse_entry(entry: &str) -> Option<IpAddr> {
    entry.parse::<IpAddr>().ok().or_else(|| {
        entry
            .parse::<std::net::SocketAddr>()
            .ok()
            .map(|address| address.ip())
    })
}

/// What a client's allowance is counted by: its IPv4 address, or its IPv6 /64 (one host
/// gets a whole /64 to pick addresses from, so counting single addresses would limit nothing).
pub fn rate_key(client: IpAddr) -> IpAddr {
    match canonical(client) {
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(std::net::Ipv6Addr::from(bits))
        }
        v4 => v4,
    }
}

/// `::ffff:10.0.0.1` is 10.0.0.1: a dual-stack socket reports IPv4 peers that way.
pub fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for value in values {
            map.append("x-forwarded-for", value.parse().unwrap());
        }
        map
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_claims() {
        let claimed = headers(&["203.0.113.9"]);
        assert_eq!(
            client_address(ip("198.51.100.7"), &claimed, &[ip("10.0.0.1")]),
            ip("198.51.100.7")
        );
    }

    #[test]
    fn a_trusted_proxy_names_the_client_it_appended() {
        let proxy = ip("10.0.0.1");
        // The client sent a forged entry first; the proxy appended the real peer.
        let forwarded = headers(&["1.2.3.4, 203.0.113.9"]);
        assert_eq!(
            client_address(proxy, &forwarded, &[proxy]),
            ip("203.0.113.9")
        );
        let chained = headers(&["203.0.113.9", "10.0.0.2"]);
        assert_eq!(
            client_address(proxy, &chained, &[proxy, ip("10.0.0.2")]),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn entries_with_ports_count_and_ipv6_clients_are_counted_by_their_64() {
        let proxy = ip("10.0.0.1");
        assert_eq!(
            client_address(proxy, &headers(&["203.0.113.9:5678"]), &[proxy]),
            ip("203.0.113.9")
        );
        assert_eq!(
            client_address(proxy, &headers(&["[2001:db8::1]:443"]), &[proxy]),
            ip("2001:db8::1")
        );
        assert_eq!(rate_key(ip("2001:db8:1:2:aaaa::1")), ip("2001:db8:1:2::"));
        assert_eq!(rate_key(ip("2001:db8:1:2:bbbb::9")), ip("2001:db8:1:2::"));
        assert_eq!(rate_key(ip("::ffff:203.0.113.9")), ip("203.0.113.9"));
    }

    #[test]
    fn a_trusted_proxy_without_a_usable_header_is_the_client() {
        let proxy = ip("10.0.0.1");
        assert_eq!(client_address(proxy, &headers(&[]), &[proxy]), proxy);
        assert_eq!(
            client_address(proxy, &headers(&["not-an-address"]), &[proxy]),
            proxy
        );
        assert_eq!(
            client_address(ip("::ffff:10.0.0.1"), &headers(&["203.0.113.9"]), &[proxy]),
            ip("203.0.113.9")
        );
    }
}
