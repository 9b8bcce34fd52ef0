//! PELT (pruned exact linear time) change-point search with a squared-error
//! cost, every point a candidate and segments of at least `min_size` points.

/// The start indices of every segment after the first.
pub fn pelt(values: &[f64], penalty: f64, min_size: usize) -> Vec<usize> {
    let n = values.len();
    if n < 2 * min_size {
        return Vec::new();
    }
    // Prefix sums make each segment's cost O(1).
    let mut s = vec![0.0; n + 1];
    let mut s2 = vec![0.0; n + 1];
    for (i, v) in values.iter().enumerate() {
        s[i + 1] = s[i] + v;
        s2[i + 1] = s2[i] + v * v;
    }
    let cost = |a: usize, b: usize| {
        let len = (b - a) as f64;
        let sum = s[b] - s[a];
        (s2[b] - s2[a]) - sum * sum / len
    };
    let mut best = vec![f64::INFINITY; n + 1];
    let mut last = vec![0usize; n + 1];
    best[0] = -penalty;
    let mut candidates: Vec<usize> = vec![0];
    for t in min_size..=n {
        let mut chosen = (f64::INFINITY, 0);
        for &c in candidates.iter().filter(|&&c| t - c >= min_size) {
            let total = best[c] + cost(c, t) + penalty;
            if total < chosen.0 {
                chosen = (total, c);
            }
        }
        best[t] = chosen.0;
        last[t] = chosen.1;
        // Pruning: a start that cannot beat the best now never will.
        candidates.retain(|&c| t - c < min_size || best[c] + cost(c, t) <= best[t]);
        if t + 1 >= min_size {
            candidates.push(t + 1 - min_size);
        }
        candidates.sort_unstable();
        candidates.dedup();
    }
    let mut breaks = Vec::new();
    let mut t = n;
    while t > 0 {
        let start = last[t];
        if start > 0 {
            breaks.push(start);
        }
        t = start;
    }
    breaks.reverse();
    breaks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clear_step_is_found_where_it_is() {
        let values = [0.0, 0.1, -0.1, 0.0, 5.0, 5.1, 4.9, 5.0];
        assert_eq!(pelt(&values, 1.0, 2), vec![4]);
    }

    #[test]
    fn two_steps_and_a_flat_series() {
        let values = [1.0, 1.0, 1.0, 4.0, 4.0, 4.0, 4.0, 2.0, 2.0, 2.0];
        assert_eq!(pelt(&values, 0.5, 2), vec![3, 7]);
        assert!(pelt(&[3.0; 12], 0.5, 2).is_empty());
        // A penalty larger than any gain keeps one segment.
        assert!(pelt(&values, 1e6, 2).is_empty());
    }

    #[test]
    fn segments_are_never_shorter_than_the_minimum() {
        let values = [0.0, 0.0, 0.0, 9.0, 0.0, 0.0, 0.0];
        for b in pelt(&values, 0.01, 2) {
            assert!(b >= 2 && values.len() - b >= 2);
        }
    }
}
