//! Bounded in-memory caches: least recently used entries leave first once a
//! byte budget is spent. Rendered charts and pages (`BytesCache`), and the
//! analysis service's store reads and raking (`analysis::memo`).

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

use actix_web::web::Bytes;

/// A key's turn-taking lock and the number of callers holding it.
type Gate = (Arc<Mutex<()>>, usize);

pub struct Lru<K, V> {
    budget: usize,
    inner: Mutex<Entries<K, V>>,
    /// One gate per key being computed, with how many callers hold it:
    /// callers for one key take turns.
    computing: Mutex<HashMap<K, Gate>>,
}

struct Entries<K, V> {
    /// key → (value, its size, last use)
    map: HashMap<K, (V, usize, u64)>,
    clock: u64,
    bytes: usize,
}

impl<K: Hash + Eq + Clone, V: Clone> Lru<K, V> {
    /// A cache holding at most `budget` bytes of values (as their sizes say).
    pub fn new(budget: usize) -> Lru<K, V> {
        Lru {
            budget,
            inner: Mutex::new(Entries {
                map: HashMap::new(),
                clock: 0,
                bytes: 0,
            }),
            computing: Mutex::new(HashMap::new()),
        }
    }

    /// The value under `key`, made by `make` when absent. Concurrent callers
    /// for one key wait for the first instead of making it again (64 clients
    /// asking for one series after a change read and decode it once).
    pub fn get_or_try_insert_with<E>(
        &self,
        key: K,
        size: impl Fn(&V) -> usize,
        make: impl FnOnce() -> Result<V, E>,
    ) -> Result<V, E> {
        if let Some(value) = self.get(&key) {
            return Ok(value);
        }
        let gate = {
            let mut computing = self.computing.lock().unwrap_or_else(|e| e.into_inner());
            let (gate, holders) = computing.entry(key.clone()).or_default();
            *holders += 1;
            gate.clone()
        };
        let result = {
            let _turn = gate.lock().unwrap_or_else(|e| e.into_inner());
            match self.get(&key) {
                Some(value) => Ok(value),
                None => {
                    make().inspect(|value| self.insert(key.clone(), value.clone(), size(value)))
                }
            }
        };
        // The last holder out removes the gate.
        let mut computing = self.computing.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, holders)) = computing.get_mut(&key) {
            *holders -= 1;
            if *holders == 0 {
                computing.remove(&key);
            }
        }
        result
    }

    pub fn get(&self, key: &K) -> Option<V> {
        let mut entries = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        entries.clock += 1;
        let now = entries.clock;
        entries.map.get_mut(key).map(|(value, _, used)| {
            *used = now;
            value.clone()
        })
    }

    /// Keeps `value` (of `size` bytes) unless it alone takes over half the
    /// budget (it would push out everything else for itself).
    pub fn insert(&self, key: K, value: V, size: usize) {
        if size > self.budget / 2 {
            return;
        }
        let mut entries = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        entries.clock += 1;
        let now = entries.clock;
        entries.bytes += size;
        if let Some((_, old, _)) = entries.map.insert(key, (value, size, now)) {
            entries.bytes -= old;
        }
        while entries.bytes > self.budget {
            // A linear scan: these caches hold hundreds of entries, not millions.
            let Some(oldest) = entries
                .map
                .iter()
                .min_by_key(|(_, (_, _, used))| *used)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            if let Some((_, old, _)) = entries.map.remove(&oldest) {
                entries.bytes -= old;
            }
        }
    }

    /// Bytes held now.
    pub fn size(&self) -> usize {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).bytes
    }
}

/// Rendered bytes by the digest of what went into them.
pub struct BytesCache(Lru<String, Bytes>);

impl BytesCache {
    pub fn new(budget: usize) -> BytesCache {
        BytesCache(Lru::new(budget))
    }

    pub fn get(&self, key: &str) -> Option<Bytes> {
        self.0.get(&key.to_string())
    }

    pub fn insert(&self, key: String, value: Bytes) {
        let size = value.len() + key.len();
        self.0.insert(key, value, size);
    }

    pub fn size(&self) -> usize {
        self.0.size()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_least_recently_used_leave_first_within_the_budget() {
        let cache = Lru::new(100);
        for key in ["a", "b", "c"] {
            cache.insert(key, key.to_uppercase(), 20);
        }
        assert_eq!(cache.get(&"a").as_deref(), Some("A")); // a is now the most recent
        for key in ["d", "e", "f"] {
            cache.insert(key, key.to_uppercase(), 20);
        }
        assert!(cache.size() <= 100);
        assert!(cache.get(&"a").is_some());
        assert!(cache.get(&"b").is_none());
        assert!(cache.get(&"f").is_some());
        // Too big for the budget: not kept.
        cache.insert("g", "G".into(), 60);
        assert!(cache.get(&"g").is_none());
        // Replacing an entry counts its new size only.
        cache.insert("f", "F".into(), 5);
        assert!(cache.size() <= 100);
    }

    #[test]
    fn concurrent_callers_for_one_key_make_it_once() {
        let cache: Arc<Lru<&str, u32>> = Arc::new(Lru::new(1000));
        let made = Arc::new(std::sync::atomic::AtomicU32::new(0));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (cache, made) = (cache.clone(), made.clone());
                std::thread::spawn(move || {
                    cache
                        .get_or_try_insert_with::<()>(
                            "k",
                            |_| 1,
                            || {
                                made.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                                std::thread::sleep(std::time::Duration::from_millis(50));
                                Ok(7)
                            },
                        )
                        .unwrap()
                })
            })
            .collect();
        for t in threads {
            assert_eq!(t.join().unwrap(), 7);
        }
        assert_eq!(made.load(std::sync::atomic::Ordering::SeqCst), 1);
        assert!(cache.computing.lock().unwrap().is_empty());
        // A failure is not kept: the next caller makes it again.
        assert!(
            cache
                .get_or_try_insert_with("e", |_| 1, || Err("down"))
                .is_err()
        );
        assert_eq!(
            cache.get_or_try_insert_with::<()>("e", |_| 1, || Ok(3)),
            Ok(3)
        );
    }

    #[test]
    fn rendered_bytes_are_kept_by_their_name() {
        let cache = BytesCache::new(1000);
        cache.insert("x".into(), Bytes::from_static(b"abc"));
        assert_eq!(cache.get("x").as_deref(), Some(&b"abc"[..]));
        assert!(cache.get("y").is_none());
    }
}
