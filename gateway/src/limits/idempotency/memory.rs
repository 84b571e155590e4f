//! Idempotency records in process, bounded in entries and bytes.

use super::{Begin, StoredResponse, begin_with};
use crate::limits::memory::{MemoryStore, lock};
use crate::limits::{ENTRY_OVERHEAD, LimitError, SWEEP_EVERY_US, ttl_micros};
use std::collections::HashMap;
use std::time::Duration;

#[derive(Default)]
pub(in crate::limits) struct IdemTable {
    pub(in crate::limits) entries: HashMap<String, IdemEntry>,
    pub(in crate::limits) bytes: usize,
    pub(in crate::limits) last_sweep: u64,
}

pub(in crate::limits) struct IdemEntry {
    pub(in crate::limits) hash: String,
    /// `None` while in flight.
    pub(in crate::limits) response: Option<StoredResponse>,
    pub(in crate::limits) expires: u64,
    pub(in crate::limits) bytes: usize,
}

impl MemoryStore {
    pub(in crate::limits) fn begin(
        &self,
        key: &str,
        hash: &str,
        ttl: Duration,
    ) -> Result<Begin, LimitError> {
        let now = self.now();
        let mut table = lock(&self.idem);
        table.sweep_if_due(now);
        if let Some(entry) = table.entries.get(key).filter(|e| e.expires > now) {
            return Ok(begin_with(&entry.hash, entry.response.as_ref(), hash));
        }
        table.remove(key);
        let entry = IdemEntry {
            hash: hash.to_owned(),
            response: None,
            expires: now.saturating_add(ttl_micros(ttl)),
            bytes: ENTRY_OVERHEAD + key.len() + hash.len(),
        };
        table.insert(key, entry, now, self.max_idem_entries, self.max_idem_bytes)?;
        Ok(Begin::Fresh)
    }

    pub(in crate::limits) fn complete(
        &self,
        key: &str,
        hash: &str,
        response: &StoredResponse,
        ttl: Duration,
    ) -> Result<(), LimitError> {
        let now = self.now();
        let mut table = lock(&self.idem);
        table.sweep_if_due(now);
        match table.entries.get(key).filter(|e| e.expires > now) {
            Some(e) if e.hash == hash && e.response.is_none() => {}
            Some(_) => {
                tracing::debug!("idempotency key taken by another request; response not stored");
                return Ok(());
            }
            None => {}
        }
        // Our reservation (or an expired entry) goes; the answer takes its place.
        table.remove(key);
        let entry = IdemEntry {
            hash: hash.to_owned(),
            bytes: ENTRY_OVERHEAD
                + key.len()
                + hash.len()
                + response.content_type.len()
                + response.body.len(),
            response: Some(response.clone()),
            expires: now.saturating_add(ttl_micros(ttl)),
        };
        table.insert(key, entry, now, self.max_idem_entries, self.max_idem_bytes)
    }

    pub(in crate::limits) fn abandon(&self, key: &str) {
        let mut table = lock(&self.idem);
        if table.entries.get(key).is_some_and(|e| e.response.is_none()) {
            table.remove(key);
        }
    }
}

impl IdemTable {
    pub(in crate::limits) fn sweep_if_due(&mut self, now: u64) {
        if now.saturating_sub(self.last_sweep) >= SWEEP_EVERY_US {
            self.sweep(now);
        }
    }

    pub(in crate::limits) fn sweep(&mut self, now: u64) {
        let mut freed = 0;
        self.entries.retain(|_, e| {
            let keep = e.expires > now;
            if !keep {
                freed += e.bytes;
            }
            keep
        });
        self.bytes = self.bytes.saturating_sub(freed);
        self.last_sweep = now;
    }

    pub(in crate::limits) fn remove(&mut self, key: &str) {
        if let Some(e) = self.entries.remove(key) {
            self.bytes = self.bytes.saturating_sub(e.bytes);
        }
    }

    pub(in crate::limits) fn insert(
        &mut self,
        key: &str,
        entry: IdemEntry,
        now: u64,
        max_entries: usize,
        max_bytes: usize,
    ) -> Result<(), LimitError> {
        let need = entry.bytes;
        if need > max_bytes {
            return Err(LimitError::Unavailable(
                "response too large for the in-process idempotency store".to_owned(),
            ));
        }
        let full =
            |t: &Self| t.entries.len() >= max_entries || t.bytes.saturating_add(need) > max_bytes;
        if full(self) {
            self.sweep(now);
        }
        if full(self) {
            // Evict completed records, soonest-expiring first, plus some slack
            // so that a full table is not re-sorted on every insert.
            let mut done: Vec<(u64, String)> = self
                .entries
                .iter()
                .filter(|(_, e)| e.response.is_some())
                .map(|(k, e)| (e.expires, k.clone()))
                .collect();
            done.sort_unstable();
            let slack = max_entries / 16;
            for (evicted, (_, k)) in done.into_iter().enumerate() {
                if evicted >= slack && !full(self) {
                    break;
                }
                self.remove(&k);
            }
        }
        if full(self) {
            return Err(LimitError::Unavailable(
                "in-process idempotency store is full".to_owned(),
            ));
        }
        self.bytes = self.bytes.saturating_add(need);
        self.entries.insert(key.to_owned(), entry);
        Ok(())
    }
}
