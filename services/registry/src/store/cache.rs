//! A read cache of home records for the embedded (single-process) store.
//!
//! Writers drop changed homes after commit. A reader notes the epoch before
//! reading the database and caches what it read only if no invalidation
//! happened meanwhile, so an old version can never be cached after a newer
//! commit.

use samling_proto::registry::v1::Home;
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug)]
pub struct HomeCache {
    max: usize,
    epoch: AtomicU64,
    map: Mutex<HashMap<String, Home>>,
}

impl HomeCache {
    /// `max == 0` disables the cache.
    pub fn new(max: usize) -> Self {
        HomeCache {
            max,
            epoch: AtomicU64::new(0),
            map: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Home>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn get(&self, id: &str) -> Option<Home> {
        if self.max == 0 {
            return None;
        }
        self.lock().get(id).cloned()
    }

    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    /// Cache `home` read at `epoch`, unless something was invalidated since.
    pub fn insert(&self, epoch: u64, home: Home) {
        if self.max == 0 {
            return;
        }
        let mut map = self.lock();
        if self.epoch.load(Ordering::Acquire) != epoch {
            return;
        }
        if map.len() >= self.max {
            map.clear();
        }
        map.insert(home.id.clone(), home);
    }

    pub fn invalidate(&self, ids: &[String]) {
        if self.max == 0 || ids.is_empty() {
            return;
        }
        let mut map = self.lock();
        self.epoch.fetch_add(1, Ordering::AcqRel);
        for id in ids {
            map.remove(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn home(id: &str, version: i64) -> Home {
        Home {
            id: id.into(),
            version,
            ..Default::default()
        }
    }

    #[test]
    fn a_read_that_raced_a_write_is_not_cached() {
        let c = HomeCache::new(10);
        let before = c.epoch();
        c.invalidate(&["h".into()]);
        c.insert(before, home("h", 1));
        assert!(c.get("h").is_none());
        c.insert(c.epoch(), home("h", 2));
        assert_eq!(c.get("h").unwrap().version, 2);
    }

    #[test]
    fn a_committed_change_drops_the_cached_home() {
        let c = HomeCache::new(10);
        c.insert(c.epoch(), home("h", 1));
        c.invalidate(&["h".into()]);
        assert!(c.get("h").is_none());
    }

    #[test]
    fn a_disabled_cache_keeps_nothing() {
        let c = HomeCache::new(0);
        c.insert(c.epoch(), home("h", 1));
        assert!(c.get("h").is_none());
    }
}
