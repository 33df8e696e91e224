//! Robust statistics the detectors share: median, MAD, quartiles, Bowley skew.
//!
//! All functions take unsorted samples and return `None` (or 0) on empty input rather than
//! panicking; quantiles follow the "median of halves" convention RITA uses, so results can be
//! checked by hand against its formulas.

/// The median of `xs` (mean of the two middle values for an even count).
pub fn median(xs: &[f64]) -> Option<f64> {
    let mut v: Vec<f64> = xs.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    Some(median_sorted(&v))
}

fn median_sorted(v: &[f64]) -> f64 {
    let n = v.len();
    if n == 0 {
        return 0.0;
    }
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Median absolute deviation around the median (unscaled).
pub fn mad(xs: &[f64]) -> Option<f64> {
    let m = median(xs)?;
    let dev: Vec<f64> = xs.iter().filter(|x| x.is_finite()).map(|x| (x - m).abs()).collect();
    median(&dev)
}

/// First, second and third quartiles: the median, and the medians of the lower and upper
/// halves (the middle value excluded for odd counts), as RITA computes them.
pub fn quartiles(xs: &[f64]) -> Option<(f64, f64, f64)> {
    let mut v: Vec<f64> = xs.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let mid = median_sorted(&v);
    if n < 2 {
        return Some((mid, mid, mid));
    }
    let lower = &v[..n / 2];
    let upper = &v[n.div_ceil(2)..];
    Some((median_sorted(lower), mid, median_sorted(upper)))
}

/// Bowley (quartile) skewness in [-1, 1]; 0 when the quartiles coincide or the median equals
/// a quartile (RITA's convention: a degenerate spread is treated as symmetric).
pub fn bowley_skew(xs: &[f64]) -> f64 {
    let Some((q1, q2, q3)) = quartiles(xs) else { return 0.0 };
    let num = q3 + q1 - 2.0 * q2;
    let den = q3 - q1;
    if den == 0.0 || q2 == q1 || q2 == q3 {
        0.0
    } else {
        num / den
    }
}

/// A robust summary of a sample.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct Robust {
    pub n: u64,
    pub median: f64,
    pub mad: f64,
}

impl Robust {
    pub fn of(xs: &[f64]) -> Robust {
        Robust { n: xs.len() as u64, median: median(xs).unwrap_or(0.0), mad: mad(xs).unwrap_or(0.0) }
    }

    /// How far `x` lies above the median, in MADs (the MAD floored at `floor` so that a
    /// constant history does not make every change infinite).
    pub fn excess(&self, x: f64, floor: f64) -> f64 {
        (x - self.median) / self.mad.max(floor)
    }
}

/// Shannon entropy of a string's bytes, in bits per byte.
pub fn entropy(s: &str) -> f64 {
    entropy_bytes(s.bytes())
}

/// Shannon entropy of a byte sequence, in bits per byte.
pub fn entropy_bytes(bytes: impl Iterator<Item = u8>) -> f64 {
    let mut counts = [0u32; 256];
    let mut n = 0u32;
    for c in bytes {
        counts[usize::from(c)] += 1;
        n += 1;
    }
    if n == 0 {
        return 0.0;
    }
    let n = f64::from(n);
    counts.iter().filter(|&&c| c > 0).map(|&c| f64::from(c) / n).map(|p| -p * p.log2()).sum()
}

/// Maps `x` onto [0, 1]: 0 at or below `lo`, 1 at or above `hi`, linear between.
pub fn ramp(x: f64, lo: f64, hi: f64) -> f64 {
    if !x.is_finite() || x <= lo {
        0.0
    } else if x >= hi || hi <= lo {
        1.0
    } else {
        (x - lo) / (hi - lo)
    }
}

/// A component on a logarithmic scale: 0 at or below `lo`, 1 at or above `hi`.
pub fn log_ramp(x: f64, lo: f64, hi: f64) -> f64 {
    if !(x > 0.0 && lo > 0.0 && hi > 0.0) {
        return 0.0;
    }
    ramp(x.ln(), lo.ln(), hi.ln())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_and_mad_by_hand() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&[]), None);
        // |1-3|,|2-3|,|3-3|,|4-3|,|10-3| = 2,1,0,1,7 → median 1
        assert_eq!(mad(&[1.0, 2.0, 3.0, 4.0, 10.0]), Some(1.0));
    }

    #[test]
    fn quartiles_split_halves() {
        // 1..=7: lower half 1,2,3 → 2; upper 5,6,7 → 6
        assert_eq!(quartiles(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]), Some((2.0, 4.0, 6.0)));
        // 1..=8: lower 1..4 → 2.5, upper 5..8 → 6.5
        assert_eq!(quartiles(&[8.0, 7.0, 6.0, 5.0, 4.0, 3.0, 2.0, 1.0]), Some((2.5, 4.5, 6.5)));
    }

    #[test]
    fn bowley_by_hand() {
        assert_eq!(bowley_skew(&[10.0; 9]), 0.0);
        // q1=2, q2=3, q3=10 → (10+2-6)/(8) = 0.75
        let xs = [1.0, 2.0, 3.0, 3.0, 3.0, 10.0, 10.0];
        let (q1, q2, q3) = quartiles(&xs).unwrap();
        assert_eq!((q1, q2, q3), (2.0, 3.0, 10.0));
        assert!((bowley_skew(&xs) - 0.75).abs() < 1e-12);
    }

    #[test]
    fn entropy_and_ramp() {
        assert_eq!(entropy("aaaa"), 0.0);
        assert!((entropy("abcd") - 2.0).abs() < 1e-12);
        assert_eq!(ramp(5.0, 0.0, 10.0), 0.5);
        assert_eq!(ramp(-1.0, 0.0, 10.0), 0.0);
        assert_eq!(ramp(f64::NAN, 0.0, 10.0), 0.0);
        assert_eq!(ramp(11.0, 0.0, 10.0), 1.0);
    }

    #[test]
    fn robust_excess_floors_the_mad() {
        let r = Robust::of(&[100.0, 100.0, 100.0]);
        assert_eq!(r.mad, 0.0);
        assert_eq!(r.excess(200.0, 10.0), 10.0);
    }
}
