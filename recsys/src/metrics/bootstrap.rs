//! Uncertainty over users: bootstrap CIs and paired tests.

use rand::{RngExt, SeedableRng};

type Rng = rand::rngs::Xoshiro256PlusPlus;

/// Resamples used for every CI in a report.
pub const RESAMPLES: usize = 1000;

/// Mean and 95 % percentile-bootstrap CI `(mean, low, high)` of per-user
/// values, with `resamples` draws from a seeded RNG.
pub fn mean_ci(values: &[f64], resamples: usize, seed: u64) -> (f64, f64, f64) {
    let n = values.len();
    if n == 0 {
        return (f64::NAN, f64::NAN, f64::NAN);
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    if n == 1 || resamples == 0 {
        return (mean, mean, mean);
    }
    let mut rng = Rng::seed_from_u64(seed);
    let mut means: Vec<f64> = (0..resamples)
        .map(|_| (0..n).map(|_| values[rng.random_range(0..n)]).sum::<f64>() / n as f64)
        .collect();
    means.sort_by(f64::total_cmp);
    let q = |p: f64| means[((p * (resamples - 1) as f64).round() as usize).min(resamples - 1)];
    (mean, q(0.025), q(0.975))
}

/// A paired comparison of two systems on the same users.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Paired {
    /// Mean of `b - a`.
    pub diff: f64,
    /// 95 % bootstrap CI of the mean difference.
    pub ci: (f64, f64),
    /// Two-sided p-value of a paired randomisation (sign-flip) test with
    /// 10,000 permutations.
    pub p_value: f64,
}

/// Paired test of per-user values `b` against `a` (same order of users).
pub fn paired(a: &[f64], b: &[f64], seed: u64) -> Paired {
    assert_eq!(a.len(), b.len(), "paired values need the same users");
    let d: Vec<f64> = a.iter().zip(b).map(|(x, y)| y - x).collect();
    let (diff, lo, hi) = mean_ci(&d, RESAMPLES, seed);
    let n = d.len().max(1) as f64;
    let observed = diff.abs();
    let mut rng = Rng::seed_from_u64(seed ^ 0x9e37_79b9);
    const PERMS: usize = 10_000;
    let mut extreme = 0usize;
    for _ in 0..PERMS {
        let s: f64 = d
            .iter()
            .map(|&x| if rng.random_bool(0.5) { x } else { -x })
            .sum();
        if (s / n).abs() >= observed - 1e-12 {
            extreme += 1;
        }
    }
    Paired {
        diff,
        ci: (lo, hi),
        p_value: (extreme + 1) as f64 / (PERMS + 1) as f64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ci_brackets_mean_and_is_seeded() {
        let v: Vec<f64> = (0..200).map(|i| (i % 7) as f64).collect();
        let (m, lo, hi) = mean_ci(&v, 1000, 42);
        assert!(lo < m && m < hi);
        assert_eq!(mean_ci(&v, 1000, 42), (m, lo, hi));
        assert_eq!(mean_ci(&[3.0], 1000, 1), (3.0, 3.0, 3.0));
    }

    #[test]
    fn paired_test_detects_shift_and_not_noise() {
        let a: Vec<f64> = (0..300).map(|i| ((i * 37) % 11) as f64 / 10.0).collect();
        let b: Vec<f64> = a.iter().map(|x| x + 0.2).collect();
        let p = paired(&a, &b, 42);
        assert!((p.diff - 0.2).abs() < 1e-9);
        assert!(p.p_value < 0.001);
        let same = paired(&a, &a, 42);
        assert_eq!(same.diff, 0.0);
        assert!(same.p_value > 0.5);
    }
}
