//! Abuse limits: submissions per client address, held in memory only. The
//! address never reaches the store or the logs.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A token bucket per client address: `per_minute` submissions in a burst,
/// refilled evenly over a minute.
pub struct RateLimiter {
    per_minute: u32,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

#[derive(Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// The bucket an address counts in: an IPv4 address, or the /64 of an IPv6
/// one (a single host commonly holds a whole /64 and can rotate within it).
fn bucket_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(std::net::Ipv6Addr::from(prefix))
            }
        },
        v4 => v4,
    }
}

/// Above this many tracked addresses, full buckets are forgotten.
const PRUNE_ABOVE: usize = 10_000;

impl RateLimiter {
    pub fn new(per_minute: u32) -> Self {
        RateLimiter {
            per_minute: per_minute.max(1),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    fn refill_per_second(&self) -> f64 {
        f64::from(self.per_minute) / 60.0
    }

    /// Takes one submission from the address's allowance, or says how long to wait.
    pub fn check(&self, client: IpAddr, now: Instant) -> Result<(), Duration> {
        let client = bucket_key(client);
        let capacity = f64::from(self.per_minute);
        let rate = self.refill_per_second();
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if buckets.len() > PRUNE_ABOVE {
            buckets.retain(|_, b| {
                b.tokens + now.duration_since(b.updated).as_secs_f64() * rate < capacity
            });
        }
        let bucket = buckets.entry(client).or_insert(Bucket {
            tokens: capacity,
            updated: now,
        });
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate).min(capacity);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / rate))
        }
    }
}

/// The address a request comes from: the peer, or, when the peer is the
/// trusted proxy, the last address in its X-Forwarded-For (the one it saw).
pub fn client_address(
    peer: Option<IpAddr>,
    forwarded_for: Option<&str>,
    trusted_proxy: Option<IpAddr>,
) -> Option<IpAddr> {
    match (peer, trusted_proxy, forwarded_for) {
        (Some(peer), Some(proxy), Some(header)) if peer == proxy => header
            .rsplit(',')
            .next()
            .and_then(|last| last.trim().parse().ok())
            .or(Some(peer)),
        (peer, _, _) => peer,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_addresses_of_one_64_share_a_bucket() {
        let limiter = RateLimiter::new(2);
        let t0 = Instant::now();
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff:ffff:ffff:ffff".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert!(limiter.check(a, t0).is_ok());
        assert!(limiter.check(b, t0).is_ok());
        assert!(
            limiter.check(a, t0).is_err(),
            "the /64 has spent its allowance"
        );
        assert!(limiter.check(other, t0).is_ok(), "another /64 has its own");
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(bucket_key(mapped), "192.0.2.7".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn a_burst_is_allowed_then_refused_until_the_bucket_refills() {
        let limiter = RateLimiter::new(3);
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(limiter.check(ip, t0).is_ok());
        }
        let wait = limiter.check(ip, t0).unwrap_err();
        assert!((19.0..=20.5).contains(&wait.as_secs_f64()), "{wait:?}");
        assert!(
            limiter.check(other, t0).is_ok(),
            "addresses are counted apart"
        );
        assert!(limiter.check(ip, t0 + Duration::from_secs(21)).is_ok());
    }

    #[test]
    fn forwarded_addresses_count_only_behind_the_trusted_proxy() {
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let stranger: IpAddr = "10.0.0.9".parse().unwrap();
        let xff = Some("198.51.100.7, 203.0.113.5");
        assert_eq!(
            client_address(Some(proxy), xff, Some(proxy)),
            "203.0.113.5".parse().ok()
        );
        assert_eq!(
            client_address(Some(stranger), xff, Some(proxy)),
            Some(stranger)
        );
        assert_eq!(client_address(Some(proxy), xff, None), Some(proxy));
        assert_eq!(
            client_address(Some(proxy), Some("junk"), Some(proxy)),
            Some(proxy)
        );
    }
}
