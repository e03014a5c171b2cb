//! Random streams: trial j's numbers depend only on (seed, j).
//!
//! The generator is xoshiro256++ (rand_xoshiro), a fixed, published
//! algorithm. Its 256-bit state for trial j is filled by SplitMix64 started
//! at `mix(seed) + j * GOLDEN` - our own code, so no crate upgrade can
//! change how streams are seeded. Normal and uniform draws come from
//! rand_distr's ziggurat and rand's 53-bit uniform, pinned by Cargo.lock; the
//! golden-figure test in `tests/` fails if an upgrade changes them.

use rand_core::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;

/// The generator every trial uses.
pub type TrialRng = Xoshiro256PlusPlus;

const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// SplitMix64's output function (Steele, Lea & Flood 2014).
#[inline]
pub fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The stream of trial `trial` under `seed`.
pub fn trial_rng(seed: u64, trial: u64) -> TrialRng {
    let mut state = mix(seed ^ 0x5354_5241_5453_494D).wrapping_add(trial.wrapping_mul(GOLDEN));
    let mut bytes = [0u8; 32];
    for chunk in bytes.chunks_exact_mut(8) {
        state = state.wrapping_add(GOLDEN);
        chunk.copy_from_slice(&mix(state).to_le_bytes());
    }
    Xoshiro256PlusPlus::from_seed(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngCore;

    #[test]
    fn streams_are_fixed_and_distinct() {
        let a = trial_rng(1, 0).next_u64();
        let b = trial_rng(1, 1).next_u64();
        let c = trial_rng(2, 0).next_u64();
        assert_ne!(a, b);
        assert_ne!(a, c);
        assert_eq!(a, trial_rng(1, 0).next_u64());
        // Pinned: changing the seeding scheme changes every published number.
        assert_eq!(trial_rng(20231116, 0).next_u64(), PINNED);
    }

    const PINNED: u64 = 11_619_323_691_531_060_546;
}
