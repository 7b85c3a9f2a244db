//! The endpoint's tables of tunnels and sessions, keyed by local ID, with every whole-table
//! walk counted.
//!
//! The core must not do per-event work that grows with the number of tunnels or sessions
//! (see `OVERVIEW.md`, "Built for 100,000 sessions"). [`IdMap`] offers keyed operations
//! (expected O(1)) freely; the only way to visit all entries, [`IdMap::scan`], adds one to a
//! [`Steps`] counter per entry visited, and so does every ID allocation probe
//! ([`alloc_id`]). The endpoint exposes the total as `Endpoint::scan_steps`, and tests
//! (`tests/engine_indexes.rs`) assert that it stays within a constant per operation as the
//! tables grow: a lookup that went back to a walk fails them.
//!
//! Walks that remain: status (`tunnel_ids`, `session_counts`, `tunnel_info`), a tunnel's SCCRP
//! sending the calls opened before it (once per tunnel), and teardown ([`IdMap::take_all`],
//! not counted: each entry leaves once) — each proportional to what it reports or removes.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// A shared count of table entries visited by walks and of ID allocation probes; one per
/// endpoint, cloned into every table it owns.
#[derive(Debug, Clone, Default)]
pub(crate) struct Steps(Arc<AtomicU64>);

impl Steps {
    /// Adds `n` steps.
    pub fn add(&self, n: u64) {
        if n != 0 {
            self.0.fetch_add(n, Ordering::Relaxed);
        }
    }

    /// Steps so far.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A map from a local ID to a tunnel or session: keyed operations, counted walks.
///
/// Values are boxed: a tunnel is over 1 KB and a session over 300 bytes, and inline they would
/// make the hash table itself tens of megabytes at 100,000 entries (every probe a cache miss,
/// every resize a copy of all of it). Boxed, the table stays at 16 bytes an entry and the
/// values sit in the heap in the order they were created.
#[derive(Debug)]
pub(crate) struct IdMap<V> {
    map: HashMap<u32, Box<V>>,
    steps: Steps,
}

impl<V> IdMap<V> {
    /// An empty map that counts its walks in `steps`.
    pub fn new(steps: Steps) -> Self {
        IdMap {
            map: HashMap::new(),
            steps,
        }
    }

    /// The counter walks are charged to.
    pub fn steps(&self) -> &Steps {
        &self.steps
    }

    pub fn get(&self, id: &u32) -> Option<&V> {
        self.map.get(id).map(|v| &**v)
    }

    pub fn get_mut(&mut self, id: &u32) -> Option<&mut V> {
        self.map.get_mut(id).map(|v| &mut **v)
    }

    pub fn contains_key(&self, id: &u32) -> bool {
        self.map.contains_key(id)
    }

    pub fn insert(&mut self, id: u32, v: V) -> Option<V> {
        self.map.insert(id, Box::new(v)).map(|v| *v)
    }

    pub fn remove(&mut self, id: &u32) -> Option<V> {
        self.map.remove(id).map(|v| *v)
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Every entry, in no particular order; each one visited adds a step. For status,
    /// teardown and once-per-tunnel work only — never on a per-message path.
    pub fn scan(&self) -> impl Iterator<Item = (u32, &V)> + '_ {
        let steps = &self.steps;
        self.map.iter().map(move |(&k, v)| {
            steps.add(1);
            (k, &**v)
        })
    }

    /// Removes and returns every entry, sorted by ID. Not counted: each entry leaves once.
    pub fn take_all(&mut self) -> Vec<(u32, V)> {
        let mut v: Vec<(u32, V)> = self.map.drain().map(|(k, v)| (k, *v)).collect();
        v.sort_unstable_by_key(|&(k, _)| k);
        v
    }
}

/// Random tries before [`alloc_id`] falls back to probing.
const RANDOM_TRIES: u32 = 64;
/// Most IDs [`alloc_id`] probes after its random tries failed.
const MAX_PROBES: u32 = 0x1_0000;

/// A random ID in `1..=max` for which `taken` is false, every try counted in `steps`.
///
/// Up to 64 random tries: with a fraction `f` of the space in use each succeeds with
/// probability `1 - f`, so the expected cost is `1 / (1 - f)` tries — O(1) while the space is
/// not nearly full. All 64 fail with probability `f⁶⁴` (under 0.12 % at `f` = 0.9, 20 % at
/// `f` = 0.975): only then does a bounded fallback probe consecutive IDs from a random start,
/// at most 65,536 of them (the whole 16-bit space; in a 32-bit space, a window of it).
/// `None` when no free ID was found.
pub(crate) fn alloc_id(
    rng: &mut impl rand::Rng,
    max: u32,
    steps: &Steps,
    taken: impl Fn(u32) -> bool,
) -> Option<u32> {
    debug_assert!(max >= 1);
    let mut tries = 0u64;
    let mut found = None;
    for _ in 0..RANDOM_TRIES {
        tries += 1;
        let id = rng.gen_range(1..=max);
        if !taken(id) {
            found = Some(id);
            break;
        }
    }
    if found.is_none() {
        let start = rng.gen_range(1..=max);
        for i in 0..max.min(MAX_PROBES) {
            tries += 1;
            // Wraps within 1..=max.
            let id = ((u64::from(start) - 1 + u64::from(i)) % u64::from(max)) as u32 + 1;
            if !taken(id) {
                found = Some(id);
                break;
            }
        }
    }
    steps.add(tries);
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::SmallRng;
    use rand::SeedableRng;
    use std::collections::HashSet;

    #[test]
    fn alloc_id_costs_few_tries_in_a_half_full_space() {
        let mut rng = SmallRng::seed_from_u64(1);
        let steps = Steps::default();
        let taken: HashSet<u32> = (1..=0x7fff).collect();
        for _ in 0..1000 {
            let id = alloc_id(&mut rng, 0xffff, &steps, |id| taken.contains(&id)).unwrap();
            assert!(!taken.contains(&id) && (1..=0xffff).contains(&id));
        }
        // Expected 2 tries per allocation at half full.
        assert!(steps.get() < 3000, "{}", steps.get());
    }

    #[test]
    fn alloc_id_finds_the_last_free_id_and_reports_a_full_space() {
        let mut rng = SmallRng::seed_from_u64(2);
        let steps = Steps::default();
        for free in [1, 0x1234, 0xffff] {
            let got = alloc_id(&mut rng, 0xffff, &steps, |id| id != free);
            assert_eq!(got, Some(free));
        }
        assert_eq!(alloc_id(&mut rng, 0xffff, &steps, |_| true), None);
        // Bounded: 64 random tries and at most 2¹⁶ probes per call.
        assert!(steps.get() <= 4 * (64 + 0x1_0000));
        // In a 32-bit space the fallback probes a window of 2¹⁶ IDs, not the whole space.
        let before = steps.get();
        assert_eq!(alloc_id(&mut rng, u32::MAX, &steps, |_| true), None);
        assert_eq!(steps.get() - before, 64 + 0x1_0000);
    }

    #[test]
    fn scan_counts_every_entry_visited_and_keyed_operations_do_not() {
        let steps = Steps::default();
        let mut m = IdMap::new(steps.clone());
        for i in 1..=100 {
            m.insert(i, i);
        }
        assert!(m.contains_key(&7) && m.get(&8) == Some(&8));
        m.remove(&9);
        assert_eq!(steps.get(), 0);
        assert_eq!(m.scan().count(), 99);
        assert_eq!(steps.get(), 99);
        assert!(m.scan().any(|(k, _)| k == 1));
        assert!(steps.get() < 99 + 99 + 1);
        let all = m.take_all();
        assert!(all.windows(2).all(|w| w[0].0 < w[1].0) && m.len() == 0);
    }
}
