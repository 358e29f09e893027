//! Where checks defined in the catalog may not point: link-local networks
//! and cloud metadata addresses by default (`checks.deny_networks`), so a
//! catalog change cannot make every agent fetch instance credentials. A
//! host given by name is refused only for the metadata names; agents
//! resolve the rest.

use std::net::IpAddr;

use lightbulb_common::spec::CheckSpec;

use super::model::Service;
use crate::{Error, Result};

/// `checks.deny_networks` when not set.
pub const DEFAULT_DENIED: [&str; 4] = [
    "169.254.0.0/16",
    "fe80::/10",
    "fd00:ec2::254/128",
    "100.100.100.200/32",
];

/// Metadata services by name.
const METADATA_HOSTS: [&str; 2] = ["metadata.google.internal", "metadata.goog"];

/// An address block: `10.0.0.0/8`, `fe80::/10`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Network {
    addr: IpAddr,
    prefix: u8,
}

impl Network {
    pub fn parse(text: &str) -> std::result::Result<Network, String> {
        let (addr, prefix) = text.split_once('/').unwrap_or((text, ""));
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| format!("`{text}` is not an address block like `169.254.0.0/16`"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            "" => max,
            p => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("`{text}`: the prefix must be 0–{max}"))?,
        };
        Ok(Network { addr, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let bits = |ip: IpAddr| match ip {
            IpAddr::V4(v4) => (u128::from(u32::from(v4)) << 96, true),
            IpAddr::V6(v6) => (u128::from(v6), false),
        };
        // An IPv4-mapped IPv6 address counts as its IPv4 address.
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        let ((net, net_v4), (addr, addr_v4)) = (bits(self.addr), bits(ip));
        if net_v4 != addr_v4 {
            return false;
        }
        // IPv4 sits in the top 32 bits, so the prefix counts from the top either way.
        let mask = match self.prefix {
            0 => 0,
            p => u128::MAX << (128 - u32::from(p)),
        };
        net & mask == addr & mask
    }
}

impl std::fmt::Display for Network {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// The networks catalog checks may not target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Targets {
    denied: Vec<Network>,
}

impl Default for Targets {
    fn default() -> Self {
        Targets::new(DEFAULT_DENIED.iter().map(|s| s.to_string())).expect("the defaults parse")
    }
}

impl Targets {
    pub fn new(networks: impl IntoIterator<Item = String>) -> std::result::Result<Targets, String> {
        let denied = networks
            .into_iter()
            .map(|n| Network::parse(&n))
            .collect::<std::result::Result<_, _>>()?;
        Ok(Targets { denied })
    }

    /// Refuses a service whose check would connect to a denied address.
    pub fn check(&self, s: &Service) -> Result<()> {
        let Ok(spec) = CheckSpec::parse_template(s.service_type, &s.status_config) else {
            return Ok(());
        };
        let Some((key, host)) = spec.target() else {
            return Ok(());
        };
        let field = format!("status_config.{key}");
        if METADATA_HOSTS.contains(&host.as_str()) {
            return Err(Error::invalid(
                &field,
                format!("`{host}` is a cloud metadata service; catalog checks may not target it"),
            ));
        }
        if let Ok(ip) = host.parse::<IpAddr>()
            && let Some(net) = self.denied.iter().find(|n| n.contains(ip))
        {
            return Err(Error::invalid(
                &field,
                format!(
                    "`{host}` is in a denied network ({net}, `checks.deny_networks`); link-local and cloud metadata addresses are not monitored from the catalog"
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::catalog::model::ServiceType;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn blocks_contain_their_addresses_only() {
        let n = Network::parse("169.254.0.0/16").unwrap();
        assert!(n.contains(ip("169.254.169.254")));
        assert!(n.contains(ip("::ffff:169.254.169.254")), "IPv4-mapped");
        assert!(!n.contains(ip("169.255.0.1")));
        assert!(!n.contains(ip("fe80::1")));
        assert!(Network::parse("fe80::/10").unwrap().contains(ip("fe80::1")));
        assert!(Network::parse("10.1.2.3").unwrap().contains(ip("10.1.2.3")));
        assert!(Network::parse("0.0.0.0/0").unwrap().contains(ip("8.8.8.8")));
        assert!(Network::parse("10.0.0.0/33").is_err());
        assert!(Network::parse("ten/8").is_err());
    }

    #[test]
    fn a_check_at_a_metadata_address_is_refused_naming_the_key() {
        let targets = Targets::default();
        let web = |url: &str| Service {
            label: "x".into(),
            status_config: json!({"url": url}),
            ..Service::new("x", ServiceType::ApiEndpoint, 0)
        };
        let e = targets
            .check(&web("http://169.254.169.254/latest/meta-data/"))
            .unwrap_err();
        assert_eq!(e.field(), Some("status_config.url"));
        assert!(e.to_string().contains("169.254.0.0/16"), "{e}");
        assert!(
            targets
                .check(&web("http://metadata.google.internal/"))
                .is_err()
        );
        assert!(targets.check(&web("http://[fd00:ec2::254]/")).is_err());
        assert!(targets.check(&web("http://10.0.0.5:8080/health")).is_ok());
        assert!(targets.check(&web("https://web.internal/health")).is_ok());
        let open = Targets::new(Vec::new()).unwrap();
        assert!(
            open.check(&web("http://169.254.169.254/")).is_ok(),
            "an empty list denies nothing"
        );
    }
}
