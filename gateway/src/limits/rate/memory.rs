//! The rate limiter in process: one arrival time per key.

use super::RateDecision;
use super::decision;
use crate::limits::SWEEP_EVERY_US;
use crate::limits::memory::{MemoryStore, lock};
use std::collections::HashMap;

#[derive(Default)]
pub(in crate::limits) struct RateTable {
    /// Key → theoretical arrival time (µs); stale once ≤ now.
    pub(in crate::limits) tat: HashMap<String, u64>,
    pub(in crate::limits) last_sweep: u64,
}

impl MemoryStore {
    pub(in crate::limits) fn check(&self, key: &str, interval: u64, window: u64) -> RateDecision {
        let now = self.now();
        let mut table = lock(&self.rate);
        if now.saturating_sub(table.last_sweep) >= SWEEP_EVERY_US {
            table.sweep(now);
        }
        let tat = table.tat.get(key).copied().unwrap_or(now).max(now);
        let new_tat = tat.saturating_add(interval);
        let horizon = now.saturating_add(window);
        if new_tat > horizon {
            return decision(false, 0, new_tat - horizon);
        }
        let remaining = (horizon - new_tat) / interval.max(1);
        table.put(key, new_tat, now, self.max_rate_keys);
        decision(true, remaining, 0)
    }

    pub(in crate::limits) fn charge(&self, key: &str, interval: u64, window: u64, units: u32) {
        let now = self.now();
        let mut table = lock(&self.rate);
        let tat = table.tat.get(key).copied().unwrap_or(now).max(now);
        let new_tat = tat
            .saturating_add(interval.saturating_mul(u64::from(units)))
            .min(now.saturating_add(window));
        table.put(key, new_tat, now, self.max_rate_keys);
    }
}

impl RateTable {
    /// Set `key`'s arrival time, making room for a new key if needed.
    pub(in crate::limits) fn put(&mut self, key: &str, tat: u64, now: u64, cap: usize) {
        if let Some(slot) = self.tat.get_mut(key) {
            *slot = tat;
        } else {
            self.make_room(now, cap);
            self.tat.insert(key.to_owned(), tat);
        }
    }

    pub(in crate::limits) fn sweep(&mut self, now: u64) {
        self.tat.retain(|_, tat| *tat > now);
        self.last_sweep = now;
    }

    /// Ensures there is room for one more key.
    pub(in crate::limits) fn make_room(&mut self, now: u64, cap: usize) {
        if self.tat.len() < cap {
            return;
        }
        self.sweep(now);
        if self.tat.len() < cap {
            return;
        }
        // Still full of live keys: forget the eighth with the earliest
        // arrival times, i.e. those with the most tokens left.
        let mut times: Vec<u64> = self.tat.values().copied().collect();
        let nth = (cap / 8).max(1).min(times.len()).saturating_sub(1);
        if times.is_empty() {
            return;
        }
        let (_, threshold, _) = times.select_nth_unstable(nth);
        let threshold = *threshold;
        self.tat.retain(|_, tat| *tat > threshold);
    }
}
