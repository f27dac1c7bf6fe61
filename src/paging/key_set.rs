//! The set of 128-bit row keys an enumeration has returned, kept compact.
//!
//! A tenant's whole device list passes through it, so its size is what streaming memory grows
//! by. A `HashSet<u128>` takes about 22 bytes a key at best and doubles its table when it
//! fills, holding the old and the new table at once: 3.3 MB at the step past 57,344 keys
//! for 1.6 MB of keys. This set keeps the keys sorted in shards chosen by their leading bits,
//! each a vector that grows a few keys at a time; when the shards fill up on average, each is
//! cut in two (its lower half keeps its allocation, shrunk; the upper half gets an exact
//! one), so no step ever holds a second copy of the keys. About 17–18 bytes a key.
//!
//! Keys are stored through a bijective mix ([`mix`]), so the shards stay even whatever the
//! keys look like: random Guids, 128-bit hashes (see `row_keys`), or Guids that differ only
//! in their last digits (a counter in the node field), which would otherwise all share their
//! leading bits, fall in one shard, and make every insert move half the set.

/// Keys in a shard, on average, before every shard is cut in two.
const MAX_AVERAGE: usize = 64;
/// Keys a full shard grows by (at least; an eighth of its length above 32).
const GROWTH: usize = 4;

/// An odd multiplier (the 128-bit golden ratio, made odd): multiplying by it is a bijection.
const MULTIPLIER: u128 = 0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835;
/// Its inverse modulo 2^128 (Newton's iteration doubles the correct low bits each step:
/// 3 bits for any odd number, 192 > 128 after six steps).
const INVERSE: u128 = {
    let mut inv = MULTIPLIER;
    let mut step = 0;
    while step < 6 {
        inv = inv.wrapping_mul(2u128.wrapping_sub(MULTIPLIER.wrapping_mul(inv)));
        step += 1;
    }
    inv
};

/// Fold the high half into the low half (its own inverse).
fn fold(x: u128) -> u128 {
    x ^ (x >> 64)
}

/// A bijection of `u128` whose leading bits depend on every bit of the key.
fn mix(key: u128) -> u128 {
    fold(fold(key).wrapping_mul(MULTIPLIER))
}

/// The inverse of [`mix`].
fn unmix(stored: u128) -> u128 {
    fold(fold(stored).wrapping_mul(INVERSE))
}

/// A set of 128-bit keys in sorted shards (see the module documentation).
#[derive(Debug)]
pub(crate) struct KeySet {
    /// `1 << bits` shards; shard `i` holds the mixed keys whose leading `bits` bits are `i`,
    /// sorted.
    shards: Vec<Vec<u128>>,
    bits: u32,
    len: usize,
}

impl KeySet {
    /// An empty set: one shard, with no room for keys until the first arrives.
    pub fn new() -> Self {
        KeySet {
            shards: vec![Vec::new()],
            bits: 0,
            len: 0,
        }
    }

    /// The shard of a mixed key.
    fn shard_of(&self, stored: u128) -> usize {
        if self.bits == 0 {
            0
        } else {
            // At most 2^bits shards, and bits <= 32 (see `insert`): the index fits.
            (stored >> (128 - self.bits)) as usize
        }
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the set holds `key`.
    #[cfg(test)]
    pub fn contains(&self, key: u128) -> bool {
        let stored = mix(key);
        self.shards[self.shard_of(stored)]
            .binary_search(&stored)
            .is_ok()
    }

    /// Add `key`; `false` if it was there already.
    pub fn insert(&mut self, key: u128) -> bool {
        let stored = mix(key);
        let index = self.shard_of(stored);
        let shard = &mut self.shards[index];
        let Err(at) = shard.binary_search(&stored) else {
            return false;
        };
        if shard.len() == shard.capacity() {
            shard.reserve_exact(GROWTH.max(shard.len() / 8));
        }
        shard.insert(at, stored);
        self.len += 1;
        if self.len > self.shards.len() * MAX_AVERAGE && self.bits < 32 {
            self.split();
        }
        true
    }

    /// Every key, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = u128> + '_ {
        self.shards.iter().flatten().map(|&stored| unmix(stored))
    }

    /// Cut every shard in two by the next bit.
    fn split(&mut self) {
        let bit = 127 - self.bits;
        let mut shards = Vec::with_capacity(self.shards.len() * 2);
        for mut lower in std::mem::take(&mut self.shards) {
            let at = lower.partition_point(|k| (k >> bit) & 1 == 0);
            let upper = lower.split_off(at);
            lower.shrink_to_fit();
            shards.push(lower);
            shards.push(upper);
        }
        self.shards = shards;
        self.bits += 1;
    }
}

impl Extend<u128> for KeySet {
    fn extend<I: IntoIterator<Item = u128>>(&mut self, keys: I) {
        for key in keys {
            self.insert(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    fn sorted(set: &KeySet) -> Vec<u128> {
        let mut keys: Vec<u128> = set.iter().collect();
        keys.sort_unstable();
        keys
    }

    fn spread(i: u64) -> u128 {
        // A cheap bijective mix, so the keys are spread like Guids.
        let x = u128::from(i).wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835);
        x ^ (x >> 61)
    }

    #[test]
    fn holds_each_key_once_across_splits() {
        let mut set = KeySet::new();
        let mut model = BTreeSet::new();
        for i in 0..20_000u64 {
            let k = spread(i % 15_000);
            assert_eq!(set.insert(k), model.insert(k), "key {i}");
        }
        assert_eq!(set.len(), 15_000);
        assert!(set.bits > 0, "the shards were split");
        assert_eq!(sorted(&set), model.iter().copied().collect::<Vec<_>>());
        assert!(set.contains(spread(14_999)) && !set.contains(spread(15_000)));
        // Every shard holds only its own prefix.
        for (i, shard) in set.shards.iter().enumerate() {
            assert!(shard.iter().all(|&k| set.shard_of(k) == i));
        }
    }

    #[test]
    fn keys_that_differ_only_in_their_last_bits_are_spread_over_the_shards() {
        // Guids 00000000-0000-0000-0000-000000000000 to …-0000000270f, and the same counter
        // in the leading field: unmixed, each family would share its leading (or trailing)
        // bits and pile into one shard.
        for family in [|i: u128| i, |i: u128| i << 96] {
            let mut set = KeySet::new();
            for i in 0..10_000u128 {
                assert!(set.insert(family(i)));
            }
            for i in 0..10_000u128 {
                assert!(!set.insert(family(i)));
            }
            assert_eq!(set.len(), 10_000);
            assert_eq!(
                sorted(&set),
                (0..10_000u128).map(family).collect::<Vec<_>>()
            );
            let largest = set.shards.iter().map(Vec::len).max().unwrap_or(0);
            assert!(
                largest <= 4 * MAX_AVERAGE,
                "{largest} keys in one shard of {}",
                set.shards.len()
            );
        }
    }

    #[test]
    fn the_inverse_undoes_the_mix() {
        assert_eq!(MULTIPLIER.wrapping_mul(INVERSE), 1);
        for key in [0, 1, u128::MAX, 1 << 64, MULTIPLIER, 0x0123_4567_89ab_cdef] {
            assert_eq!(unmix(mix(key)), key);
        }
    }

    #[test]
    fn stays_near_sixteen_bytes_a_key() {
        let mut set = KeySet::new();
        for i in 0..100_000u64 {
            set.insert(spread(i));
        }
        let bytes: usize = set.shards.capacity() * std::mem::size_of::<Vec<u128>>()
            + set.shards.iter().map(|s| s.capacity() * 16).sum::<usize>();
        // 1.6 MB of keys; a HashSet<u128> would hold a 2.2 MB table here.
        assert!(bytes < 1_800_000, "{bytes} bytes for 100,000 keys");
    }

    proptest! {
        #[test]
        fn agrees_with_a_btree_set(keys in proptest::collection::vec(any::<u128>(), 0..600),
                                   repeat in proptest::collection::vec(any::<prop::sample::Index>(), 0..200)) {
            let mut set = KeySet::new();
            let mut model = BTreeSet::new();
            for &k in &keys {
                prop_assert_eq!(set.insert(k), model.insert(k));
            }
            for i in repeat {
                if !keys.is_empty() {
                    prop_assert!(!set.insert(keys[i.index(keys.len())]));
                }
            }
            prop_assert_eq!(set.len(), model.len());
            prop_assert_eq!(sorted(&set), model.iter().copied().collect::<Vec<_>>());
        }

        #[test]
        fn mixing_is_undone(key in any::<u128>()) {
            prop_assert_eq!(unmix(mix(key)), key);
        }
    }
}
