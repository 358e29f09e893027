//! A small seeded generator for the property tests (xorshift64*): the same
//! cases on every machine, more with another seed.

pub struct Rng(pub u64);

impl Rng {
    /// Seeded from `LIGHTBULB_FUZZ_SEED` when set, else `default`.
    pub fn from_env(default: u64) -> Rng {
        let seed = std::env::var("LIGHTBULB_FUZZ_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(default);
        Rng(seed | 1)
    }

    /// Cases to run: `LIGHTBULB_FUZZ_CASES` when set, else `default`.
    pub fn cases(default: usize) -> usize {
        std::env::var("LIGHTBULB_FUZZ_CASES")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(default)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    pub fn pick<T: Clone>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len() as u64) as usize].clone()
    }

    /// `bytes` changed a few times: bytes flipped, inserted, removed,
    /// repeated, cut off, or tokens of the input's grammar put in.
    pub fn mutate(&mut self, bytes: &mut Vec<u8>, tokens: &[&[u8]]) {
        for _ in 0..1 + self.below(4) {
            let at = self.below(bytes.len() as u64 + 1) as usize;
            match self.below(6) {
                0 if at < bytes.len() => bytes[at] ^= 1 << self.below(8),
                1 => bytes.insert(at, self.next() as u8),
                2 => {
                    let end = (at + 1 + self.below(16) as usize).min(bytes.len());
                    bytes.drain(at..end);
                }
                3 => {
                    let end = (at + self.below(64) as usize).min(bytes.len());
                    let piece = bytes[at..end].to_vec();
                    bytes.splice(at..at, piece);
                }
                4 => bytes.truncate(at),
                _ if !tokens.is_empty() => {
                    let token = self.pick(tokens);
                    bytes.splice(at..at, token.iter().copied());
                }
                _ => {}
            }
        }
    }
}
