//! A small seeded generator: the same seed gives the same run on every
//! platform and every version of gameday (no dependency can change it).

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast and statistically fine
/// for choosing targets and drawing simulated request outcomes.
#[derive(Clone, Debug)]
pub struct SeededRng(u64);

impl SeededRng {
    pub fn new(seed: u64) -> Self {
        SeededRng(seed)
    }

    /// A generator for one named stream, so draws for one probe or fault do
    /// not depend on how many draws other parts made.
    pub fn stream(seed: u64, name: &str, index: u64) -> Self {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in name.bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        let mut rng = SeededRng(seed ^ hash.rotate_left(17) ^ index.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        rng.next_u64();
        rng
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [0, bound); 0 when bound is 0.
    pub fn below(&mut self, bound: u64) -> u64 {
        if bound == 0 { 0 } else { self.next_u64() % bound }
    }

    /// Picks `count` distinct items, keeping their original order.
    pub fn choose<T: Clone>(&mut self, items: &[T], count: usize) -> Vec<T> {
        let mut indices: Vec<usize> = (0..items.len()).collect();
        let count = count.min(items.len());
        for i in 0..count {
            let j = i + self.below((items.len() - i) as u64) as usize;
            indices.swap(i, j);
        }
        let mut picked: Vec<usize> = indices[..count].to_vec();
        picked.sort_unstable();
        picked.into_iter().map(|i| items[i].clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_choice() {
        let items: Vec<u32> = (0..100).collect();
        assert_eq!(SeededRng::new(7).choose(&items, 5), SeededRng::new(7).choose(&items, 5));
        assert_ne!(SeededRng::new(7).choose(&items, 5), SeededRng::new(8).choose(&items, 5));
    }

    #[test]
    fn choose_never_repeats() {
        let items: Vec<u32> = (0..10).collect();
        let mut picked = SeededRng::new(1).choose(&items, 10);
        picked.dedup();
        assert_eq!(picked.len(), 10);
    }
}
