//! The cell-key method (ABS TableBuilder; ONS, Census 2021) for public
//! figures: a published cell's tally of answers is perturbed by noise looked up
//! from its cell key — the sum of its respondents' random record keys modulo
//! 2³² — so the same cell always gets the same noise and two cells that differ
//! by one respondent get unrelated noise.
//!
//! The noise moves whole respondents: `e` virtual respondents are added (e > 0)
//! or `|e|` real ones taken out (e < 0), and one more real one is swapped for
//! a virtual one so that no published cell holds real answers only. Added ones
//! answer a value drawn from a prior: mostly the answers of the cell's whole
//! piece of time (all groups together, so a group's figures are not pulled
//! towards a flat distribution), partly uniform over every value, "don't know"
//! included (so an answer nobody in the cell gave can appear, and no value is
//! certain to be real). Taken-out ones are drawn in proportion to the values'
//! counts. Every metric of a question (mean, top2, shares…) is
//! then computed from the one perturbed tally, so asking for several metrics
//! gives no second, independent look at a cell.

/// Counts and weight sums of respondents sharing one answer value.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Entry {
    pub n: i64,
    pub w: f64,
    pub w2: f64,
}

impl Entry {
    pub fn add(&mut self, n: i64, w: f64, w2: f64) {
        self.n += n;
        self.w += w;
        self.w2 += w2;
    }
}

/// One cell's answers to one question: an entry per answer value (in the
/// question's value order), everyone who answered, and the cell key.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tally {
    pub values: Vec<Entry>,
    pub answered: Entry,
    pub key: u32,
}

impl Tally {
    pub fn new(values: usize) -> Tally {
        Tally {
            values: vec![Entry::default(); values],
            answered: Entry::default(),
            key: 0,
        }
    }

    /// Empties the tally, keeping its slots.
    pub fn clear(&mut self) {
        self.values.fill(Entry::default());
        self.answered = Entry::default();
        self.key = 0;
    }

    pub fn merge(&mut self, other: &Tally) {
        for (a, b) in self.values.iter_mut().zip(&other.values) {
            a.add(b.n, b.w, b.w2);
        }
        let b = other.answered;
        self.answered.add(b.n, b.w, b.w2);
        self.key = self.key.wrapping_add(other.key);
    }
}

/// The largest number of respondents added or taken out of a cell.
pub const MAX_NOISE: i64 = 3;
/// Probability that a cell's count is left as it is.
pub const P_UNCHANGED: f64 = 0.03;
/// Probabilities of +1, +2, +3 (and of −1, −2, −3 where the count allows).
const P_STEPS: [f64; 3] = [0.225, 0.155, 0.105];

/// The noise distribution for a cell of `n` respondents: (e, probability),
/// mean exactly 0, never taking the count below 0.
pub fn distribution(n: i64) -> Vec<(i64, f64)> {
    let below = n.clamp(0, MAX_NOISE) as usize;
    if below == MAX_NOISE as usize {
        let mut out = vec![(0, P_UNCHANGED)];
        for (k, p) in P_STEPS.iter().enumerate() {
            out.push((k as i64 + 1, *p));
            out.push((-(k as i64) - 1, *p));
        }
        return out;
    }
    // Fewer than MAX_NOISE below: the steps down share mass a each, the steps
    // up keep their shape scaled by s, so that the mean stays 0:
    //   below·a + s·Σp = 1 − P_UNCHANGED,   a·below(below+1)/2 = s·Σk·p_k.
    let mass: f64 = P_STEPS.iter().sum();
    let moment: f64 = P_STEPS
        .iter()
        .enumerate()
        .map(|(k, p)| (k + 1) as f64 * p)
        .sum();
    let b = below as f64;
    let triangle = b * (b + 1.0) / 2.0;
    let s = if below == 0 {
        0.0
    } else {
        (1.0 - P_UNCHANGED) / (b * moment / triangle + mass)
    };
    let a = if below == 0 {
        0.0
    } else {
        s * moment / triangle
    };
    let mut out = vec![(0, if below == 0 { 1.0 } else { P_UNCHANGED })];
    for (k, p) in P_STEPS.iter().enumerate() {
        if s > 0.0 {
            out.push((k as i64 + 1, s * p));
        }
        if k < below {
            out.push((-(k as i64) - 1, a));
        }
    }
    out
}

/// Variance of the noise on a count of `n` (what the README states).
pub fn variance(n: i64) -> f64 {
    distribution(n)
        .iter()
        .map(|(e, p)| p * (*e as f64).powi(2))
        .sum()
}

/// SplitMix64: a small, well-mixed generator; seeded from the cell key, it
/// makes the noise a fixed function of the cell.
struct Draws(u64);

impl Draws {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A seed for a stream of its own from a cell key and a salt.
fn mix(key: u32, salt: u64) -> u64 {
    Draws(u64::from(key) ^ salt.rotate_left(32)).next()
}

/// A salt from a name (a question code): FNV-1a.
pub fn salt(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The noise `e` of a cell of `n` respondents whose cell key is `key`.
pub fn noise(n: i64, key: u32) -> i64 {
    pick(&distribution(n), Draws(u64::from(key)).unit())
}

fn pick(distribution: &[(i64, f64)], u: f64) -> i64 {
    let mut acc = 0.0;
    for (e, p) in distribution {
        acc += p;
        if u < acc {
            return *e;
        }
    }
    distribution.last().map_or(0, |(e, _)| *e)
}

/// How many real respondents a cell of `n` loses and how many made-up ones it
/// gains under the noise `e`: besides e, one real one is swapped for a made-up
/// one whenever any real one stays, so a published cell never consists of
/// real answers only (removal alone would leave a subset of real ones).
pub fn plan(n: i64, e: i64) -> (i64, i64) {
    let swap = i64::from(n + e.min(0) >= 1);
    ((-e).max(0) + swap, e.max(0) + swap)
}

/// Perturbs a cell's tally in place; an empty cell stays empty. Made-up
/// answers follow `prior` (see the module's notes). `unit_weights`: every
/// respondent weighs 1 (unweighted figures); otherwise a made-up respondent
/// weighs the cell's mean weight times a factor in [0.5, 1.5), so that they
/// cannot be told apart by their weight.
///
/// The count noise comes from the cell key alone (so every question answered
/// by the same respondents moves their count alike); which respondents go and
/// what the made-up ones answer come from the key and `salt` (the question),
/// so that the made-up answers of one question say nothing about another's;
/// the made-up weights from a third stream, so weighted and unweighted figures
/// hold the same made-up answers.
pub fn perturb(tally: &mut Tally, prior: &Tally, answers: Answers, unit_weights: bool, salt: u64) {
    let n = tally.answered.n;
    if n <= 0 || tally.values.is_empty() {
        return;
    }
    let weights = prior_weights(prior, tally.values.len());
    let e = noise(n, tally.key);
    let (removals, additions) = plan(n, e);
    let mut draws = Draws(mix(tally.key, salt));
    let mut weight_factors = Draws(mix(tally.key, salt ^ 0x5745_4947_4854));
    let mean_weight = tally.answered.w / n as f64;
    // Ticks per respondent of a multi-choice question: this cell's for those
    // taken out, the prior's for made-up ones.
    let ticks =
        |t: &Tally| t.values.iter().map(|v| v.n).sum::<i64>() as f64 / t.answered.n.max(1) as f64;
    let (own_ticks, prior_ticks) = (
        ticks(tally),
        if prior.answered.n > 0 {
            ticks(prior)
        } else {
            ticks(tally)
        },
    );
    for _ in 0..removals {
        match answers {
            Answers::One => {
                if let Some(w) = remove_value(tally, &mut draws) {
                    tally.answered.add(-1, -w.0, -w.1);
                }
            }
            Answers::Many(_) => {
                let k = tick_count(own_ticks, &mut draws);
                for _ in 0..k {
                    remove_value(tally, &mut draws);
                }
                let a = tally.answered;
                if a.n > 0 {
                    tally
                        .answered
                        .add(-1, -a.w / a.n as f64, -a.w2 / a.n as f64);
                }
            }
        }
        if tally.answered.n <= 0 {
            tally.answered = Entry::default();
        }
    }
    if let Answers::Many(_) = answers {
        cap_ticks(tally);
    }
    for _ in 0..additions {
        let w = if unit_weights {
            1.0
        } else {
            mean_weight * (0.5 + weight_factors.unit())
        };
        let (k, alone) = match answers {
            Answers::One => (1, &[][..]),
            Answers::Many(alone) => (tick_count(prior_ticks, &mut draws), alone),
        };
        let mut chosen: Vec<usize> = Vec::with_capacity(k);
        for _ in 0..k {
            // Distinct options, none ticked alone beside others: a few
            // redraws, then fewer ticks.
            let allowed = |v: &usize| {
                let single = alone.get(*v).copied().unwrap_or(false);
                !chosen.contains(v) && (chosen.is_empty() || !single)
            };
            if let Some(v) = (0..8)
                .map(|_| pick_index(&weights, draws.unit()))
                .find(allowed)
            {
                chosen.push(v);
                tally.values[v].add(1, w, w * w);
                if alone.get(v).copied().unwrap_or(false) {
                    break;
                }
            }
        }
        tally.answered.add(1, w, w * w);
    }
}

/// How a question's answers are counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answers<'a> {
    /// One value per respondent: the values' counts add up to those who answered.
    One,
    /// Any number of ticked options (multi-choice): a respondent taken out or
    /// made up carries several ticks, so that neither the ticks per respondent
    /// nor any other statistic of the cell survives exactly. The flags mark
    /// options ticked alone ("none", "don't know"): a made-up respondent who
    /// draws one ticks nothing else.
    Many(&'a [bool]),
}

/// No option keeps more ticks than respondents remain: ticks of respondents
/// taken out must not outlive them (a cell emptied of respondents but still
/// showing ticks would show only real ones).
fn cap_ticks(tally: &mut Tally) {
    let left = tally.answered.n.max(0);
    for entry in tally.values.iter_mut() {
        if entry.n > left {
            if left == 0 {
                *entry = Entry::default();
            } else {
                let keep = left as f64 / entry.n as f64;
                *entry = Entry {
                    n: left,
                    w: entry.w * keep,
                    w2: entry.w2 * keep,
                };
            }
        }
    }
}

/// Ticks of a made-up or removed multi-choice respondent: uniform on 1..=K
/// with K ≥ 2 chosen so that the mean is close to `mean`.
fn tick_count(mean: f64, draws: &mut Draws) -> usize {
    let k = ((2.0 * mean - 1.0).round() as usize).max(2);
    1 + ((draws.unit() * k as f64) as usize).min(k - 1)
}

/// Share of the prior that is uniform over every value.
pub const UNIFORM_SHARE: f64 = 0.2;

/// Probabilities over the `k` values: (1 − UNIFORM_SHARE) × the prior tally's
/// shares + UNIFORM_SHARE × uniform (all uniform when the prior is empty).
fn prior_weights(prior: &Tally, k: usize) -> Vec<f64> {
    let counts: Vec<f64> = (0..k)
        .map(|i| prior.values.get(i).map_or(0.0, |e| e.n.max(0) as f64))
        .collect();
    let total: f64 = counts.iter().sum();
    let flat = 1.0 / k as f64;
    counts
        .iter()
        .map(|c| {
            if total > 0.0 {
                (1.0 - UNIFORM_SHARE) * c / total + UNIFORM_SHARE * flat
            } else {
                flat
            }
        })
        .collect()
}

fn pick_index(weights: &[f64], u: f64) -> usize {
    let mut acc = 0.0;
    for (i, w) in weights.iter().enumerate() {
        acc += w;
        if u < acc {
            return i;
        }
    }
    weights.len().saturating_sub(1)
}

/// Takes one real answer out: a value in proportion to its count, and one of
/// its average answers; returns that answer's weight and squared weight.
fn remove_value(tally: &mut Tally, draws: &mut Draws) -> Option<(f64, f64)> {
    let total: i64 = tally.values.iter().map(|v| v.n.max(0)).sum();
    if total <= 0 || tally.answered.n <= 0 {
        return None;
    }
    let mut target = (draws.unit() * total as f64) as i64;
    let v = tally.values.iter().position(|entry| {
        let here = entry.n.max(0);
        if target < here {
            true
        } else {
            target -= here;
            false
        }
    })?;
    let entry = tally.values[v];
    let (w, w2) = (entry.w / entry.n as f64, entry.w2 / entry.n as f64);
    tally.values[v].add(-1, -w, -w2);
    if tally.values[v].n == 0 {
        tally.values[v] = Entry::default();
    }
    Some((w, w2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_noise_distribution_sums_to_one_has_mean_zero_and_keeps_counts_non_negative() {
        for n in 0..10 {
            let d = distribution(n);
            let total: f64 = d.iter().map(|(_, p)| p).sum();
            let mean: f64 = d.iter().map(|(e, p)| *e as f64 * p).sum();
            assert!((total - 1.0).abs() < 1e-12, "n={n}: {total}");
            assert!(mean.abs() < 1e-12, "n={n}: {mean}");
            assert!(d.iter().all(|(e, p)| n + e >= 0 && *p >= 0.0), "n={n}");
            if n > 0 {
                let unchanged = d.iter().find(|(e, _)| *e == 0).unwrap().1;
                assert!(unchanged < 0.1, "n={n}: a count stays exact too often");
            }
        }
        // Large cells: variance 2·(0.225·1 + 0.155·4 + 0.105·9) = 3.58.
        assert!((variance(100) - 3.58).abs() < 1e-12);
        assert_eq!(distribution(0), vec![(0, 1.0)]);
    }

    #[test]
    fn the_same_cell_always_gets_the_same_noise_and_other_cells_other_noise() {
        assert_eq!(noise(50, 12345), noise(50, 12345));
        let draws: Vec<i64> = (0..2000u32)
            .map(|k| noise(50, k.wrapping_mul(2_654_435_761)))
            .collect();
        let unchanged = draws.iter().filter(|e| **e == 0).count() as f64 / 2000.0;
        assert!((unchanged - P_UNCHANGED).abs() < 0.015, "{unchanged}");
        let mean = draws.iter().sum::<i64>() as f64 / 2000.0;
        assert!(mean.abs() < 0.15, "{mean}");
        assert!(draws.iter().all(|e| e.abs() <= MAX_NOISE));
    }

    fn tally(counts: &[i64], key: u32) -> Tally {
        let mut t = Tally::new(counts.len());
        for (i, c) in counts.iter().enumerate() {
            t.values[i].add(*c, *c as f64 * 2.0, *c as f64 * 4.0);
            t.answered.add(*c, *c as f64 * 2.0, *c as f64 * 4.0);
        }
        t.key = key;
        t
    }

    #[test]
    fn perturbing_moves_whole_respondents_and_keeps_the_tally_consistent() {
        for key in 0..500u32 {
            let original = tally(&[3, 0, 5, 1, 0, 2], key.wrapping_mul(40503));
            let mut t = original.clone();
            perturb(&mut t, &Tally::new(6), Answers::One, false, 7);
            let e = t.answered.n - original.answered.n;
            assert_eq!(e, noise(11, original.key));
            assert_eq!(t.values.iter().map(|v| v.n).sum::<i64>(), t.answered.n);
            assert!(t.values.iter().all(|v| v.n >= 0 && v.w >= -1e-9));
            let w: f64 = t.values.iter().map(|v| v.w).sum();
            assert!((w - t.answered.w).abs() < 1e-9);
            // The same cell, perturbed again, is the same.
            let mut again = original.clone();
            perturb(&mut again, &Tally::new(6), Answers::One, false, 7);
            assert_eq!(t, again);
        }
        let mut empty = Tally::new(6);
        perturb(&mut empty, &Tally::new(6), Answers::One, true, 7);
        assert_eq!(empty, Tally::new(6));
    }

    #[test]
    fn added_answers_follow_the_prior_with_a_uniform_share() {
        // Prior: everyone answered value 0; a fifth of added answers are uniform
        // over the five values, so value 0 gets 0.8 + 0.2/5 = 84% of them.
        let prior = tally(&[100, 0, 0, 0, 0], 0);
        let (mut zero, mut added) = (0, 0);
        for key in 0..3000u32 {
            let mut t = tally(&[0, 0, 0, 0, 50], key.wrapping_mul(2_654_435_761));
            perturb(&mut t, &prior, Answers::One, true, 7);
            zero += t.values[0].n;
            added += t.values[..4].iter().map(|v| v.n).sum::<i64>() + (t.values[4].n - 50).max(0);
        }
        let share = zero as f64 / added as f64;
        assert!((share - 0.84).abs() < 0.05, "{share}");
    }

    #[test]
    fn questions_of_the_same_respondents_share_their_count_noise_not_their_made_up_answers() {
        let (mut same_count, mut same_answers) = (0, 0);
        for key in 0..500u32 {
            let original = tally(&[3, 3, 3, 3, 3], key.wrapping_mul(2_654_435_761));
            let (mut a, mut b) = (original.clone(), original.clone());
            perturb(
                &mut a,
                &Tally::new(5),
                Answers::One,
                true,
                salt("portal_trust"),
            );
            perturb(
                &mut b,
                &Tally::new(5),
                Answers::One,
                true,
                salt("leak_worry"),
            );
            same_count += usize::from(a.answered.n == b.answered.n);
            same_answers += usize::from(a.values == b.values);
        }
        assert_eq!(same_count, 500);
        assert!(same_answers < 100, "{same_answers}");
        // Weighted and unweighted figures hold the same made-up answers.
        let original = tally(&[3, 3, 3, 3, 3], 99);
        let (mut unit, mut weighted) = (original.clone(), original.clone());
        perturb(&mut unit, &Tally::new(5), Answers::One, true, 1);
        perturb(&mut weighted, &Tally::new(5), Answers::One, false, 1);
        let counts = |t: &Tally| t.values.iter().map(|v| v.n).collect::<Vec<_>>();
        assert_eq!(counts(&unit), counts(&weighted));
    }

    #[test]
    fn no_statistic_of_a_multi_choice_cell_survives_exactly() {
        // 10 respondents, 16 ticks: the extra ticks (6) must not be exact under
        // the noise, nor the ticks per respondent.
        let (mut kept, mut cells) = (0, 0);
        for key in 0..1000u32 {
            let mut t = tally(&[4, 4, 4, 4, 0, 0], key.wrapping_mul(2_654_435_761));
            t.answered = Entry {
                n: 10,
                w: 20.0,
                w2: 40.0,
            };
            perturb(&mut t, &Tally::new(6), Answers::Many(&[false; 6]), true, 3);
            if t.answered.n > 0 {
                cells += 1;
                let extra = t.values.iter().map(|v| v.n).sum::<i64>() - t.answered.n;
                kept += usize::from(extra == 6);
            }
            assert!(t.values.iter().all(|v| v.n >= 0));
        }
        assert!((kept as f64) < 0.35 * cells as f64, "{kept} of {cells}");
        // A cell emptied of respondents keeps no ticks; no option outnumbers them.
        for key in 0..2000u32 {
            let mut t = tally(&[2, 2, 1, 0, 0, 0], key.wrapping_mul(2_654_435_761));
            t.answered = Entry {
                n: 2,
                w: 2.0,
                w2: 2.0,
            };
            perturb(&mut t, &Tally::new(6), Answers::Many(&[false; 6]), true, 3);
            assert!(t.values.iter().all(|v| v.n <= t.answered.n), "{t:?}");
        }
        // A made-up respondent who ticks an option meant alone ticks nothing else.
        let alone = [false, false, false, false, false, true];
        for key in 0..500u32 {
            let mut t = tally(&[0, 0, 0, 0, 0, 0], key.wrapping_mul(2_654_435_761));
            t.values[0] = Entry {
                n: 10,
                w: 10.0,
                w2: 10.0,
            };
            t.answered = Entry {
                n: 10,
                w: 10.0,
                w2: 10.0,
            };
            let prior = tally(&[5, 5, 5, 5, 5, 50], 0);
            perturb(&mut t, &prior, Answers::Many(&alone), true, 3);
            // Those who ticked "none" ticked nothing else, so they and the
            // ticks of the others never outnumber the respondents.
            let others = t.values[..5].iter().map(|v| v.n).sum::<i64>();
            assert!(
                t.values[5].n + others.min(1) <= t.answered.n.max(1),
                "{t:?}"
            );
            assert!(t.values[5].n <= t.answered.n, "{t:?}");
        }
    }

    #[test]
    fn a_published_cell_never_holds_real_answers_only() {
        for n in 1..8i64 {
            for (e, _) in distribution(n) {
                let (removed, added) = plan(n, e);
                assert_eq!(added - removed, e, "the count moves by e");
                assert!(removed <= n);
                if n + e >= 1 {
                    assert!(
                        added >= 1,
                        "n={n} e={e}: a shown cell holds a made-up answer"
                    );
                    assert!(removed >= 1, "n={n} e={e}: and lost a real one");
                }
            }
        }
    }
}
