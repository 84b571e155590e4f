//! A plain growable bit set over home slots (the read model's indexes).

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BitSet(Vec<u64>);

impl BitSet {
    pub fn set(&mut self, i: usize, v: bool) {
        let w = i / 64;
        if w >= self.0.len() {
            if !v {
                return;
            }
            self.0.resize(w + 1, 0);
        }
        let b = 1u64 << (i % 64);
        if v {
            self.0[w] |= b;
        } else {
            self.0[w] &= !b;
        }
    }

    pub fn get(&self, i: usize) -> bool {
        self.word(i / 64) & (1u64 << (i % 64)) != 0
    }

    /// Word `w` (0 past the end).
    #[inline]
    pub fn word(&self, w: usize) -> u64 {
        self.0.get(w).copied().unwrap_or(0)
    }

    pub fn words(&self) -> usize {
        self.0.len()
    }

    pub fn count(&self) -> u32 {
        self.0.iter().map(|w| w.count_ones()).sum()
    }

    pub fn bytes(&self) -> usize {
        self.0.capacity() * 8
    }
}

/// The set bits of a word, lowest first.
#[inline]
pub fn ones(mut w: u64) -> impl Iterator<Item = usize> {
    std::iter::from_fn(move || {
        if w == 0 {
            None
        } else {
            let i = w.trailing_zeros() as usize;
            w &= w - 1;
            Some(i)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_set_clear_and_count() {
        let mut b = BitSet::default();
        b.set(3, true);
        b.set(130, true);
        b.set(500, false);
        assert!(b.get(3) && b.get(130) && !b.get(4) && !b.get(10_000));
        assert_eq!(b.count(), 2);
        b.set(3, false);
        assert_eq!(b.count(), 1);
        assert_eq!(ones(0b1010_0001).collect::<Vec<_>>(), vec![0, 5, 7]);
        assert_eq!(b.word(99), 0);
    }
}
