//! The in-process store (one gateway replica): its tables behind mutexes.

use super::idempotency::memory::IdemTable;
use super::rate::memory::RateTable;
use super::{LimitsConfig, MemoryUsage};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Instant;

pub(in crate::limits) struct MemoryStore {
    /// Times are microseconds since this instant.
    pub(in crate::limits) base: Instant,
    pub(in crate::limits) rate: Mutex<RateTable>,
    pub(in crate::limits) idem: Mutex<IdemTable>,
    pub(in crate::limits) max_rate_keys: usize,
    pub(in crate::limits) max_idem_entries: usize,
    pub(in crate::limits) max_idem_bytes: usize,
}

pub(in crate::limits) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl MemoryStore {
    pub(in crate::limits) fn new(config: &LimitsConfig) -> Self {
        Self {
            base: Instant::now(),
            rate: Mutex::default(),
            idem: Mutex::default(),
            max_rate_keys: config.max_rate_keys.max(1),
            max_idem_entries: config.max_idempotency_entries.max(1),
            max_idem_bytes: config.max_idempotency_bytes,
        }
    }

    pub(in crate::limits) fn now(&self) -> u64 {
        u64::try_from(self.base.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    pub(in crate::limits) fn usage(&self) -> MemoryUsage {
        let rate_keys = lock(&self.rate).tat.len();
        let idem = lock(&self.idem);
        MemoryUsage {
            rate_keys,
            idempotency_entries: idem.entries.len(),
            idempotency_bytes: idem.bytes,
        }
    }
}
