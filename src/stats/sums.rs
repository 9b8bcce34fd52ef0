//! Sums of base weights per answer value: what the aggregate tables keep, in
//! a compact text form both stores hold as TEXT.
//!
//! One question: `value:n[:Σb:Σb²][@key],…` (the weights are left out when
//! every base weight is 1, the usual case; `@key` is the sum of the counted
//! responses' record keys, kept on `*` entries for the cell-key method). Every
//! question of a day-cell row: `question=…;question=…`.

use std::collections::BTreeMap;

/// n, Σb and Σb² of the base weights b of some respondents, and the sum of
/// their record keys modulo 2³² (only where the cell key is needed).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Sums {
    pub n: i64,
    pub sb: f64,
    pub sb2: f64,
    pub key: u32,
}

impl Sums {
    pub fn one(base_weight: f64) -> Sums {
        Sums::keyed(base_weight, 0)
    }

    /// One respondent with their record key.
    pub fn keyed(base_weight: f64, key: u32) -> Sums {
        Sums {
            n: 1,
            sb: base_weight,
            sb2: base_weight * base_weight,
            key,
        }
    }

    /// Adds (sign +1) or removes (sign −1) other sums.
    pub fn add(&mut self, other: &Sums, sign: i64) {
        self.n += sign * other.n;
        self.sb += sign as f64 * other.sb;
        self.sb2 += sign as f64 * other.sb2;
        self.key = if sign >= 0 {
            self.key.wrapping_add(other.key)
        } else {
            self.key.wrapping_sub(other.key)
        };
        if self.n == 0 {
            // Removing the last respondent leaves exact zeros, not rounding dust.
            *self = Sums::default();
        }
    }

    fn unit_weights(&self) -> bool {
        self.sb == self.n as f64 && self.sb2 == self.n as f64
    }
}

/// Value code → sums; the key `*` counts everyone who answered the question.
pub type QuestionSums = BTreeMap<String, Sums>;

/// Question code → its sums (a day-cell row holds every question).
pub type AllSums = BTreeMap<String, QuestionSums>;

pub const ANSWERED: &str = "*";

/// Adds `delta` into `into` (sign −1 removes), dropping values that reach zero.
pub fn merge(into: &mut QuestionSums, delta: &QuestionSums, sign: i64) {
    for (value, sums) in delta {
        bump(into, value, sums, sign);
    }
}

/// Adds (sign −1: removes) `delta` under one value, dropping it at zero and
/// allocating the key only when it is new.
pub fn bump(into: &mut QuestionSums, value: &str, delta: &Sums, sign: i64) {
    match into.get_mut(value) {
        Some(entry) => {
            entry.add(delta, sign);
            if entry.n == 0 {
                into.remove(value);
            }
        }
        None => {
            let mut entry = Sums::default();
            entry.add(delta, sign);
            into.insert(value.to_string(), entry);
        }
    }
}

pub fn merge_all(into: &mut AllSums, delta: &AllSums, sign: i64) {
    for (question, sums) in delta {
        if !into.contains_key(question) {
            into.insert(question.clone(), QuestionSums::new());
        }
        let entry = into.get_mut(question).expect("just inserted");
        merge(entry, sums, sign);
        if entry.is_empty() {
            into.remove(question);
        }
    }
}

pub fn encode(sums: &QuestionSums) -> String {
    let mut out = String::new();
    encode_into(&mut out, sums);
    out
}

/// Appends the encoding of `sums` (written in place: a bulk load encodes
/// millions of entries).
fn encode_into(out: &mut String, sums: &QuestionSums) {
    use std::fmt::Write;
    for (i, (value, s)) in sums.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        // Writing into a String cannot fail.
        let _ = if s.unit_weights() {
            write!(out, "{value}:{}", s.n)
        } else {
            write!(out, "{value}:{}:{}:{}", s.n, s.sb, s.sb2)
        };
        if s.key != 0 {
            let _ = write!(out, "@{}", s.key);
        }
    }
}

/// Calls `f` with each value and its sums, without building a map (the hot
/// path of a series request). Malformed entries are reported, not skipped.
pub fn for_each<'a>(text: &'a str, mut f: impl FnMut(&'a str, Sums)) -> Result<(), String> {
    for entry in text.split(',').filter(|e| !e.is_empty()) {
        let (fields, key) = match entry.split_once('@') {
            Some((fields, key)) => (
                fields,
                key.parse::<u32>().map_err(|e| format!("{entry:?}: {e}"))?,
            ),
            None => (entry, 0),
        };
        let mut fields = fields.split(':');
        let value = fields.next().unwrap_or_default();
        let n: i64 = fields
            .next()
            .ok_or("missing n")?
            .parse()
            .map_err(|e| format!("{entry:?}: {e}"))?;
        let sums = match (fields.next(), fields.next()) {
            (None, None) => Sums {
                n,
                sb: n as f64,
                sb2: n as f64,
                key,
            },
            (Some(sb), Some(sb2)) => Sums {
                n,
                sb: sb.parse().map_err(|e| format!("{entry:?}: {e}"))?,
                sb2: sb2.parse().map_err(|e| format!("{entry:?}: {e}"))?,
                key,
            },
            _ => return Err(format!("{entry:?}: expected value:n or value:n:sb:sb2")),
        };
        f(value, sums);
    }
    Ok(())
}

pub fn decode(text: &str) -> Result<QuestionSums, String> {
    let mut sums = QuestionSums::new();
    for_each(text, |value, s| {
        sums.insert(value.to_string(), s);
    })?;
    Ok(sums)
}

pub fn encode_all(all: &AllSums) -> String {
    let mut out = String::new();
    for (i, (question, sums)) in all.iter().enumerate() {
        if i > 0 {
            out.push(';');
        }
        out.push_str(question);
        out.push('=');
        encode_into(&mut out, sums);
    }
    out
}

pub fn decode_all(text: &str) -> Result<AllSums, String> {
    let mut all = AllSums::new();
    for part in text.split(';').filter(|p| !p.is_empty()) {
        let (question, sums) = part
            .split_once('=')
            .ok_or_else(|| format!("no '=' in {part:?}"))?;
        all.insert(question.to_string(), decode(sums)?);
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_round_trip_through_text() {
        let mut q = QuestionSums::new();
        q.insert(
            "*".into(),
            Sums {
                n: 3,
                sb: 3.0,
                sb2: 3.0,
                key: 4_000_000_000,
            },
        );
        q.insert(
            "4".into(),
            Sums {
                n: 2,
                sb: 2.5,
                sb2: 3.125,
                key: 0,
            },
        );
        q.insert("dk".into(), Sums::one(1.0));
        let text = encode(&q);
        assert_eq!(text, "*:3@4000000000,4:2:2.5:3.125,dk:1");
        assert_eq!(decode(&text).unwrap(), q);
        let mut all = AllSums::new();
        all.insert("portal_trust".into(), q.clone());
        all.insert("".into(), decode("*:3").unwrap());
        assert_eq!(decode_all(&encode_all(&all)).unwrap(), all);
    }

    #[test]
    fn record_keys_add_and_remove_modulo_two_to_the_32() {
        let mut cell = Sums::default();
        cell.add(&Sums::keyed(1.0, u32::MAX), 1);
        cell.add(&Sums::keyed(1.0, 5), 1);
        assert_eq!(cell.key, 4);
        cell.add(&Sums::keyed(1.0, u32::MAX), -1);
        assert_eq!((cell.n, cell.key), (1, 5));
    }

    #[test]
    fn removing_what_was_added_leaves_nothing() {
        let mut total = QuestionSums::new();
        let mut one = QuestionSums::new();
        one.insert("5".into(), Sums::one(0.3));
        merge(&mut total, &one, 1);
        merge(&mut total, &one, 1);
        merge(&mut total, &one, -1);
        assert_eq!(total["5"].n, 1);
        merge(&mut total, &one, -1);
        assert!(total.is_empty());
    }
}
