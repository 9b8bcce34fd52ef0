//! Pure statistics, free of HTTP and SQL, as METHODS.md fixes them:
//! estimators and intervals, raking, before/after differences and change
//! points. Every function is tested against hand-worked values.

pub mod cellkey;
pub mod changepoints;
pub mod estimate;
pub mod raking;
pub mod sums;

use statrs::distribution::{ContinuousCDF, Normal, StudentsT};

/// z₀.₉₇₅
pub const Z95: f64 = 1.959963984540054;

/// The 97.5% quantile of Student's t with `df` degrees of freedom
/// (remembered per df: a series asks for the same few many times).
pub fn t975(df: f64) -> f64 {
    thread_local! {
        static KNOWN: std::cell::RefCell<std::collections::HashMap<u64, f64>> = Default::default();
    }
    KNOWN.with(|known| {
        *known.borrow_mut().entry(df.to_bits()).or_insert_with(|| {
            StudentsT::new(0.0, 1.0, df)
                .map(|t| t.inverse_cdf(0.975))
                .unwrap_or(f64::NAN)
        })
    })
}

/// Two-sided p-value of a z statistic: 2·(1 − Φ(|z|)), computed as 2·Φ(−|z|)
/// so that tiny p-values keep their digits instead of rounding to 0.
pub fn two_sided_p(z: f64) -> f64 {
    let normal = Normal::standard();
    2.0 * normal.cdf(-z.abs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_match_published_tables() {
        assert!((t975(4.0) - 2.776445).abs() < 1e-6);
        assert!((t975(3.0) - 3.182446).abs() < 1e-6);
        assert!((t975(1000.0) - 1.962339).abs() < 1e-6);
        assert!((two_sided_p(1.959963984540054) - 0.05).abs() < 1e-9);
        assert!((two_sided_p(-std::f64::consts::SQRT_2) - 0.157299).abs() < 1e-6);
        // 2·Φ(−10) = 1.523971e-23, far below what 1 − Φ(10) can hold.
        assert!((two_sided_p(10.0) / 1.523971e-23 - 1.0).abs() < 1e-5);
    }
}
