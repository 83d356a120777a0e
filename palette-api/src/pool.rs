//! IP pool arithmetic shared by the provider (plan-time checks) and the lab
//! (the API's own validation and allocation): a pool is either a range
//! (`start`..=`end`) or a subnet (CIDR), always within the network that
//! `prefix` and the addresses define.

use std::collections::BTreeSet;
use std::net::IpAddr;

use ipnet::IpNet;

/// Inclusive address range of a pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolRange {
    pub first: IpAddr,
    pub last: IpAddr,
}

/// A problem with one field of a pool definition; `field` is the name the
/// user wrote (`start`, `end`, `subnet`, `prefix`, `gateway`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolProblem {
    pub field: &'static str,
    pub message: String,
}

fn problem(field: &'static str, message: impl Into<String>) -> PoolProblem {
    PoolProblem {
        field,
        message: message.into(),
    }
}

/// The fields of a pool as the user wrote them.
#[derive(Clone, Copy, Debug, Default)]
pub struct PoolInput<'a> {
    pub start: Option<&'a str>,
    pub end: Option<&'a str>,
    pub subnet: Option<&'a str>,
    pub prefix: Option<i64>,
    pub gateway: Option<&'a str>,
}

fn as_u128(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u32::from(v4) as u128,
        IpAddr::V6(v6) => u128::from(v6),
    }
}

fn parse_ip(field: &'static str, s: &str) -> Result<IpAddr, PoolProblem> {
    s.trim().parse().map_err(|_| {
        problem(
            field,
            format!("{s:?} is not an IP address; write for example \"10.10.183.1\""),
        )
    })
}

fn max_prefix(ip: IpAddr) -> u8 {
    if ip.is_ipv4() {
        32
    } else {
        128
    }
}

/// Checks a pool definition and returns its address range, or every
/// problem found (so a plan shows them all at once).
pub fn check(input: &PoolInput<'_>) -> Result<PoolRange, Vec<PoolProblem>> {
    let mut problems = Vec::new();
    let range = match (input.start, input.end, input.subnet) {
        (Some(_), _, Some(_)) | (_, Some(_), Some(_)) => {
            problems.push(problem(
                "subnet",
                "set either `start` and `end`, or `subnet`, not both",
            ));
            None
        }
        (None, None, None) => {
            problems.push(problem("subnet", "set either `start` and `end` (a range) or `subnet` (a CIDR such as \"10.10.184.0/24\")"));
            None
        }
        (Some(_), None, None) => {
            problems.push(problem("end", "`start` needs `end`"));
            None
        }
        (None, Some(_), None) => {
            problems.push(problem("start", "`end` needs `start`"));
            None
        }
        (Some(s), Some(e), None) => match (parse_ip("start", s), parse_ip("end", e)) {
            (Ok(first), Ok(last)) => {
                if first.is_ipv4() != last.is_ipv4() {
                    problems.push(problem(
                        "end",
                        "`start` and `end` must be of the same IP version",
                    ));
                    None
                } else if as_u128(first) > as_u128(last) {
                    problems.push(problem(
                        "end",
                        format!("`end` ({last}) comes before `start` ({first})"),
                    ));
                    None
                } else {
                    Some((PoolRange { first, last }, None))
                }
            }
            (a, b) => {
                problems.extend(a.err());
                problems.extend(b.err());
                None
            }
        },
        (None, None, Some(cidr)) => match cidr.trim().parse::<IpNet>() {
            Ok(net) if net.trunc() != net => {
                problems.push(problem(
                    "subnet",
                    format!(
                        "{cidr:?} has host bits set; the network is \"{}\"",
                        net.trunc()
                    ),
                ));
                None
            }
            Ok(net) => Some((
                PoolRange {
                    first: net.network(),
                    last: net.broadcast(),
                },
                Some(net),
            )),
            Err(_) => {
                problems.push(problem(
                    "subnet",
                    format!("{cidr:?} is not a CIDR; write for example \"10.10.184.0/24\""),
                ));
                None
            }
        },
    };
    let Some((range, subnet)) = range else {
        return Err(problems);
    };

    let max = max_prefix(range.first);
    let prefix = match input.prefix {
        Some(p) if (1..=max as i64).contains(&p) => p as u8,
        Some(p) => {
            problems.push(problem(
                "prefix",
                format!("{p} is not a prefix length for this address; use 1 to {max}"),
            ));
            return Err(problems);
        }
        None => subnet.map(|n| n.prefix_len()).unwrap_or(max),
    };
    let network = IpNet::new(range.first, prefix)
        .expect("prefix checked")
        .trunc();
    if let Some(net) = subnet {
        if net.prefix_len() < prefix {
            problems.push(problem(
                "prefix",
                format!("the subnet {net} is larger than the /{prefix} network; use a prefix of at most {}", net.prefix_len()),
            ));
        }
    } else {
        for (field, ip) in [("start", range.first), ("end", range.last)] {
            if !network.contains(&ip) {
                problems.push(problem(
                    field,
                    format!("{ip} is outside the network {network} given by `prefix` = {prefix}"),
                ));
            }
        }
    }
    if let Some(g) = input.gateway {
        match parse_ip("gateway", g) {
            Ok(gw) if !network.contains(&gw) => problems.push(problem(
                "gateway",
                format!("the gateway {gw} is outside the network {network}"),
            )),
            Ok(_) => {}
            Err(p) => problems.push(p),
        }
    }
    // A subnet pool hands out host addresses only.
    let range = match subnet {
        Some(net) if net.prefix_len() + 1 < max => PoolRange {
            first: next(range.first, 1),
            last: next(range.last, -1),
        },
        _ => range,
    };
    if problems.is_empty() {
        Ok(range)
    } else {
        Err(problems)
    }
}

fn next(ip: IpAddr, step: i128) -> IpAddr {
    let v = (as_u128(ip) as i128 + step) as u128;
    match ip {
        IpAddr::V4(_) => IpAddr::V4((v as u32).into()),
        IpAddr::V6(_) => IpAddr::V6(v.into()),
    }
}

impl PoolRange {
    pub fn contains(&self, ip: IpAddr) -> bool {
        ip.is_ipv4() == self.first.is_ipv4()
            && (as_u128(self.first)..=as_u128(self.last)).contains(&as_u128(ip))
    }

    pub fn overlaps(&self, other: &PoolRange) -> bool {
        self.first.is_ipv4() == other.first.is_ipv4()
            && as_u128(self.first) <= as_u128(other.last)
            && as_u128(other.first) <= as_u128(self.last)
    }

    /// How many addresses the pool has.
    pub fn size(&self) -> u128 {
        as_u128(self.last) - as_u128(self.first) + 1
    }

    /// The lowest free address, skipping the used ones and the gateway.
    pub fn allocate(&self, used: &BTreeSet<IpAddr>, gateway: Option<IpAddr>) -> Option<IpAddr> {
        let mut ip = self.first;
        loop {
            if !used.contains(&ip) && Some(ip) != gateway {
                return Some(ip);
            }
            if ip == self.last {
                return None;
            }
            ip = next(ip, 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn range(
        start: &str,
        end: &str,
        prefix: i64,
        gateway: &str,
    ) -> Result<PoolRange, Vec<PoolProblem>> {
        check(&PoolInput {
            start: Some(start),
            end: Some(end),
            prefix: Some(prefix),
            gateway: Some(gateway),
            subnet: None,
        })
    }

    fn fields(r: Result<PoolRange, Vec<PoolProblem>>) -> Vec<&'static str> {
        r.unwrap_err().into_iter().map(|p| p.field).collect()
    }

    #[test]
    fn valid_range_and_subnet() {
        let r = range("10.10.183.1", "10.10.183.10", 24, "10.10.183.254").unwrap();
        assert_eq!(r.size(), 10);
        let s = check(&PoolInput {
            subnet: Some("10.10.184.0/24"),
            prefix: Some(24),
            gateway: Some("10.10.184.1"),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(
            (s.first.to_string(), s.last.to_string()),
            ("10.10.184.1".into(), "10.10.184.254".into())
        );
    }

    #[test]
    fn each_rule_names_its_field() {
        assert_eq!(
            fields(range("10.10.183.x", "10.10.183.10", 24, "10.10.183.254")),
            vec!["start"]
        );
        assert_eq!(
            fields(range("10.10.183.10", "10.10.183.1", 24, "10.10.183.254")),
            vec!["end"]
        );
        assert_eq!(
            fields(range("10.10.183.1", "10.10.184.10", 24, "10.10.183.254")),
            vec!["end"]
        );
        assert_eq!(
            fields(range("10.10.183.1", "10.10.183.10", 24, "10.10.9.1")),
            vec!["gateway"]
        );
        assert_eq!(
            fields(range("10.10.183.1", "10.10.183.10", 40, "10.10.183.1")),
            vec!["prefix"]
        );
        let both = PoolInput {
            start: Some("10.0.0.1"),
            end: Some("10.0.0.2"),
            subnet: Some("10.0.0.0/24"),
            ..Default::default()
        };
        assert_eq!(fields(check(&both)), vec!["subnet"]);
        let wide = PoolInput {
            subnet: Some("10.0.0.0/23"),
            prefix: Some(24),
            ..Default::default()
        };
        assert_eq!(fields(check(&wide)), vec!["prefix"]);
        let host_bits = PoolInput {
            subnet: Some("10.0.0.5/24"),
            ..Default::default()
        };
        assert!(check(&host_bits).unwrap_err()[0]
            .message
            .contains("10.0.0.0/24"));
    }

    #[test]
    fn allocation_skips_used_and_gateway_and_runs_out() {
        let r = range("10.0.0.1", "10.0.0.3", 24, "10.0.0.1").unwrap();
        let gw = Some("10.0.0.1".parse().unwrap());
        let mut used = BTreeSet::new();
        let a = r.allocate(&used, gw).unwrap();
        assert_eq!(a.to_string(), "10.0.0.2");
        used.insert(a);
        used.insert(r.allocate(&used, gw).unwrap());
        assert_eq!(r.allocate(&used, gw), None);
    }

    proptest! {
        #[test]
        fn overlap_is_symmetric_and_matches_membership(a in 0u32..64, b in 0u32..64, c in 0u32..64, d in 0u32..64) {
            let mk = |x: u32, y: u32| PoolRange {
                first: IpAddr::V4((0x0a00_0000 + x.min(y)).into()),
                last: IpAddr::V4((0x0a00_0000 + x.max(y)).into()),
            };
            let (p, q) = (mk(a, b), mk(c, d));
            prop_assert_eq!(p.overlaps(&q), q.overlaps(&p));
            let shared = (0u32..64).any(|i| {
                let ip = IpAddr::V4((0x0a00_0000 + i).into());
                p.contains(ip) && q.contains(ip)
            });
            prop_assert_eq!(p.overlaps(&q), shared);
        }
    }
}
