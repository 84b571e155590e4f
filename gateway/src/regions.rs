//! The regions behind the gateway, keyed by (region, service): one lazily
//! connected gRPC channel set per service of each region, a deadline on
//! every call and a circuit breaker, so a region (or one of its services)
//! that is down never blocks or fails what the others can answer.

use samling_kit::tls::Tls;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tonic::transport::Channel;

/// Consecutive failures open the circuit for a while; then one call probes.
#[derive(Debug)]
pub struct Breaker {
    threshold: u32,
    open_for: Duration,
    state: Mutex<(u32, Option<Instant>)>,
}

impl Breaker {
    pub fn new(threshold: u32, open_for: Duration) -> Self {
        Breaker {
            threshold: threshold.max(1),
            open_for,
            state: Mutex::new((0, None)),
        }
    }

    /// May a call go out now? (Half-open: after `open_for`, one probe passes.)
    pub fn allow(&self) -> bool {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        match s.1 {
            Some(until) if Instant::now() < until => false,
            Some(_) => {
                // Probe: re-arm so concurrent calls wait for its outcome.
                s.1 = Some(Instant::now() + self.open_for);
                true
            }
            None => true,
        }
    }

    pub fn success(&self) {
        *self.state.lock().unwrap_or_else(|p| p.into_inner()) = (0, None);
    }

    pub fn failure(&self) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.0 += 1;
        if s.0 >= self.threshold {
            s.1 = Some(Instant::now() + self.open_for);
        }
    }

    pub fn is_open(&self) -> bool {
        let s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.1.is_some_and(|until| Instant::now() < until)
    }
}

/// Does this status say the region (not the request) failed?
pub fn is_region_failure(code: tonic::Code) -> bool {
    matches!(
        code,
        tonic::Code::Unavailable | tonic::Code::DeadlineExceeded | tonic::Code::Unknown
    )
}

/// Where one service of one region is reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceEndpoint {
    pub region: String,
    /// The service's name (`registry`), as the module list and the route
    /// files know it.
    pub service: String,
    pub url: String,
}

impl ServiceEndpoint {
    pub fn new(
        region: impl Into<String>,
        service: impl Into<String>,
        url: impl Into<String>,
    ) -> Self {
        ServiceEndpoint {
            region: region.into(),
            service: service.into(),
            url: url.into(),
        }
    }

    /// Every service the gateway routes to, in `region` at `url` (one
    /// process serving all of a region's services on one port).
    pub fn every_routed(region: &str, url: &str) -> Vec<ServiceEndpoint> {
        crate::routes::services()
            .map(|s| ServiceEndpoint::new(region, s.service, url))
            .collect()
    }
}

/// One service of one region: its channels and its circuit breaker.
#[derive(Debug)]
pub struct Region {
    /// The region's id.
    pub id: String,
    pub service: String,
    channels: Vec<Channel>,
    next: AtomicUsize,
    pub breaker: Breaker,
}

impl Region {
    /// A channel from the pool (round robin).
    pub fn channel(&self) -> Channel {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.channels.len();
        self.channels[i].clone()
    }
}

/// The (region, service) → endpoint directory.
#[derive(Debug)]
pub struct Directory {
    /// region → service → endpoint.
    regions: BTreeMap<String, BTreeMap<String, Region>>,
}

/// HTTP/2 connections kept per service of a region.
const POOL: usize = 1;

impl Directory {
    /// `endpoints`: region id → the URL where every service the gateway
    /// routes to is served in that region (see
    /// [`ServiceEndpoint::every_routed`]).
    pub fn new(
        endpoints: &[(String, String)],
        breaker_failures: u32,
        breaker_open: Duration,
    ) -> anyhow::Result<Self> {
        Self::new_with_tls(endpoints, None, breaker_failures, breaker_open)
    }

    /// [`new`](Self::new), calling the regions over mutual TLS when `tls` is
    /// given (each new connection with the material in use then).
    pub fn new_with_tls(
        endpoints: &[(String, String)],
        tls: Option<&Tls>,
        breaker_failures: u32,
        breaker_open: Duration,
    ) -> anyhow::Result<Self> {
        let each: Vec<ServiceEndpoint> = endpoints
            .iter()
            .flat_map(|(region, url)| ServiceEndpoint::every_routed(region, url))
            .collect();
        Self::for_services(&each, tls, breaker_failures, breaker_open)
    }

    /// One channel set and breaker per (region, service) of `endpoints`.
    pub fn for_services(
        endpoints: &[ServiceEndpoint],
        tls: Option<&Tls>,
        breaker_failures: u32,
        breaker_open: Duration,
    ) -> anyhow::Result<Self> {
        let mut regions: BTreeMap<String, BTreeMap<String, Region>> = BTreeMap::new();
        for e in endpoints {
            let ep = samling_kit::tls::endpoint(&e.url, tls)
                .map_err(|err| anyhow::anyhow!("region {} {}: {err}", e.region, e.service))?
                .connect_timeout(Duration::from_secs(2))
                .tcp_nodelay(true)
                .http2_keep_alive_interval(Duration::from_secs(30));
            let channels = (0..POOL)
                .map(|_| samling_kit::tls::connect_lazy(&ep, tls))
                .collect();
            regions.entry(e.region.clone()).or_default().insert(
                e.service.clone(),
                Region {
                    id: e.region.clone(),
                    service: e.service.clone(),
                    channels,
                    next: AtomicUsize::new(0),
                    breaker: Breaker::new(breaker_failures, breaker_open),
                },
            );
        }
        Ok(Directory { regions })
    }

    /// `service` of `region`.
    pub fn get(&self, region: &str, service: &str) -> Option<&Region> {
        self.regions.get(region)?.get(service)
    }

    /// Is `region` served at all (by any service)?
    pub fn serves(&self, region: &str) -> bool {
        self.regions.contains_key(region)
    }

    /// The regions served, in order.
    pub fn ids(&self) -> Vec<String> {
        self.regions.keys().cloned().collect()
    }

    /// The regions where `service` is served, in order.
    pub fn regions_of(&self, service: &str) -> Vec<String> {
        self.regions
            .iter()
            .filter(|(_, services)| services.contains_key(service))
            .map(|(r, _)| r.clone())
            .collect()
    }

    /// Every (region, service) endpoint, by region then service.
    pub fn all(&self) -> impl Iterator<Item = &Region> {
        self.regions.values().flat_map(|services| services.values())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_directory_is_keyed_by_region_and_service() {
        let endpoints = [
            ServiceEndpoint::new("norr", "registry", "http://127.0.0.1:1"),
            ServiceEndpoint::new("norr", "ombud", "http://127.0.0.1:2"),
            ServiceEndpoint::new("syd", "registry", "http://127.0.0.1:3"),
        ];
        let d = Directory::for_services(&endpoints, None, 3, Duration::from_secs(1)).unwrap();
        assert_eq!(d.ids(), vec!["norr", "syd"]);
        assert_eq!(d.regions_of("registry"), vec!["norr", "syd"]);
        assert_eq!(d.regions_of("ombud"), vec!["norr"]);
        let e = d.get("norr", "ombud").expect("norr's ombud");
        assert_eq!((e.id.as_str(), e.service.as_str()), ("norr", "ombud"));
        assert!(d.get("syd", "ombud").is_none() && d.serves("syd"));
        assert!(d.get("vast", "registry").is_none() && !d.serves("vast"));
        // Each service of a region has its own breaker.
        d.get("norr", "ombud").unwrap().breaker.failure();
        d.get("norr", "ombud").unwrap().breaker.failure();
        d.get("norr", "ombud").unwrap().breaker.failure();
        assert!(d.get("norr", "ombud").unwrap().breaker.is_open());
        assert!(!d.get("norr", "registry").unwrap().breaker.is_open());
        assert_eq!(d.all().count(), 3);
        // The one-port layout: every routed service of the region at one URL.
        let one = Directory::new(
            &[("norr".to_string(), "http://127.0.0.1:1".to_string())],
            3,
            Duration::from_secs(1),
        )
        .unwrap();
        for s in crate::routes::services() {
            assert!(one.get("norr", s.service).is_some(), "{}", s.service);
        }
        let bad = Directory::for_services(
            &[ServiceEndpoint::new("norr", "ombud", "not a url")],
            None,
            3,
            Duration::from_secs(1),
        )
        .unwrap_err()
        .to_string();
        assert!(bad.contains("norr") && bad.contains("ombud"), "{bad}");
    }

    #[test]
    fn the_breaker_opens_after_consecutive_failures_and_probes_later() {
        let b = Breaker::new(2, Duration::from_millis(30));
        b.failure();
        assert!(b.allow());
        b.failure();
        assert!(!b.allow() && b.is_open());
        std::thread::sleep(Duration::from_millis(40));
        assert!(b.allow(), "one probe after the open period");
        assert!(!b.allow(), "only one probe at a time");
        b.success();
        assert!(b.allow() && !b.is_open());
    }
}
