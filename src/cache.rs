//! A bounded in-memory cache of rendered bytes (charts, dashboard pages),
//! keyed by a digest of everything that went into them. Least recently used
//! entries leave first once the byte budget is spent.

use std::collections::HashMap;
use std::sync::Mutex;

use actix_web::web::Bytes;

pub struct BytesCache {
    budget: usize,
    inner: Mutex<Entries>,
}

#[derive(Default)]
struct Entries {
    map: HashMap<String, (Bytes, u64)>,
    clock: u64,
    bytes: usize,
}

impl BytesCache {
    /// A cache holding at most `budget` bytes of values.
    pub fn new(budget: usize) -> BytesCache {
        BytesCache {
            budget,
            inner: Mutex::new(Entries::default()),
        }
    }

    pub fn get(&self, key: &str) -> Option<Bytes> {
        let mut entries = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        entries.clock += 1;
        let now = entries.clock;
        entries.map.get_mut(key).map(|(bytes, used)| {
            *used = now;
            bytes.clone()
        })
    }

    pub fn insert(&self, key: String, value: Bytes) {
        if value.len() > self.budget / 4 {
            return;
        }
        let mut entries = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        entries.clock += 1;
        let now = entries.clock;
        entries.bytes += value.len();
        if let Some((old, _)) = entries.map.insert(key, (value, now)) {
            entries.bytes -= old.len();
        }
        while entries.bytes > self.budget {
            // A linear scan: the cache holds hundreds of entries, not millions.
            let Some(oldest) = entries
                .map
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            if let Some((old, _)) = entries.map.remove(&oldest) {
                entries.bytes -= old.len();
            }
        }
    }

    /// Bytes held now.
    pub fn size(&self) -> usize {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_least_recently_used_leave_first_within_the_budget() {
        let cache = BytesCache::new(100);
        cache.insert("a".into(), Bytes::from(vec![0; 20]));
        cache.insert("b".into(), Bytes::from(vec![0; 20]));
        cache.insert("c".into(), Bytes::from(vec![0; 20]));
        assert!(cache.get("a").is_some()); // a is now the most recent
        cache.insert("d".into(), Bytes::from(vec![0; 20]));
        cache.insert("e".into(), Bytes::from(vec![0; 20]));
        cache.insert("f".into(), Bytes::from(vec![0; 20]));
        assert!(cache.size() <= 100);
        assert!(cache.get("a").is_some());
        assert!(cache.get("b").is_none());
        assert!(cache.get("f").is_some());
        // Too big for the budget: not kept.
        cache.insert("g".into(), Bytes::from(vec![0; 60]));
        assert!(cache.get("g").is_none());
    }
}
