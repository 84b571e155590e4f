//! A service's grpc.health.v1 status follows its store.
//!
//! [`spawn_store_probe`] proves, every `probe_every`, that the writer can
//! commit (a one-row write, [`Store::probe_write`]) and, every
//! `integrity_every`, that the SQLite file is sound
//! ([`Store::integrity`]). While either fails, the service's
//! statuses (and the server's overall `""` status) are NOT_SERVING, so the
//! kubelet takes the pod out of its Service and the gateway's `/readyz`
//! shows the region down; each change is logged once, with the store's
//! error code, not at every probe.

use crate::db::Store;
use std::time::Duration;
use tokio::sync::watch;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

/// What the last probes found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StoreState {
    /// Why the last write probe failed, if it did.
    pub write_error: Option<String>,
    /// What the last integrity check reported, if anything.
    pub integrity_problems: Option<String>,
}

impl StoreState {
    pub fn serving(&self) -> bool {
        self.write_error.is_none() && self.integrity_problems.is_none()
    }
}

/// Where the probe reports: the health statuses of `services` (and `""`)
/// on every reporter given (the main port's and the plaintext probe port's).
#[derive(Clone)]
pub struct HealthTargets {
    pub reporters: Vec<HealthReporter>,
    pub services: Vec<String>,
}

impl HealthTargets {
    async fn set(&self, status: ServingStatus) {
        for r in &self.reporters {
            for name in self.services.iter().map(String::as_str).chain([""]) {
                r.set_service_status(name, status).await;
            }
        }
    }
}

/// Probe `store` until `stop` turns true; report into `targets`. A zero
/// interval switches that probe off.
pub fn spawn_store_probe(
    store: Store,
    label: String,
    targets: HealthTargets,
    probe_every: Duration,
    integrity_every: Duration,
    mut stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let tick = [probe_every, integrity_every]
            .into_iter()
            .filter(|d| !d.is_zero())
            .min();
        let Some(tick) = tick else { return };
        let mut state = StoreState::default();
        let mut last_integrity = tokio::time::Instant::now();
        let mut ticker = tokio::time::interval(tick);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticker.tick().await; // the first tick is immediate; open() just probed
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                _ = stop.wait_for(|s| *s) => return,
            }
            let mut next = state.clone();
            if !probe_every.is_zero() {
                next.write_error = store.probe_write().await.err().map(|e| e.to_string());
                // The probe's one row may still fit where real writes do not
                // (a full disk): writes refused for room or I/O since the
                // last probes count too.
                if next.write_error.is_none() && crate::error::storage_fault_within(probe_every * 3)
                {
                    next.write_error = Some("writes were refused for lack of room or I/O".into());
                }
            }
            if !integrity_every.is_zero() && last_integrity.elapsed() >= integrity_every {
                last_integrity = tokio::time::Instant::now();
                next.integrity_problems = match store.integrity(false).await {
                    Ok(p) if p.is_empty() => None,
                    Ok(p) => Some(p.join("; ")),
                    // Could not run (e.g. the pool is exhausted): keep the last verdict.
                    Err(e) => {
                        tracing::warn!(store = %label, error = %e, "integrity check could not run");
                        state.integrity_problems.clone()
                    }
                };
            }
            if next != state {
                report(&label, &state, &next);
                targets
                    .set(if next.serving() {
                        ServingStatus::Serving
                    } else {
                        ServingStatus::NotServing
                    })
                    .await;
                state = next;
            }
        }
    })
}

fn report(label: &str, before: &StoreState, now: &StoreState) {
    if now.write_error != before.write_error {
        match &now.write_error {
            Some(e) => tracing::error!(
                store = %label,
                error = %e,
                "the store cannot commit a write; health NOT_SERVING until it can"
            ),
            None => tracing::info!(store = %label, "the store commits writes again"),
        }
    }
    if now.integrity_problems != before.integrity_problems {
        match &now.integrity_problems {
            Some(p) => tracing::error!(
                store = %label,
                problems = %p,
                "the store failed its integrity check; health NOT_SERVING (restore from a backup, docs/operations.md)"
            ),
            None => tracing::info!(store = %label, "the store passes its integrity check again"),
        }
    }
}
