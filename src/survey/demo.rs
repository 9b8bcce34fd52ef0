//! The demo tracker: trust in a national e-government portal, 2022-01 to
//! 2024-06. Its definition and events are data files embedded in the binary;
//! its responses are synthetic, drawn from a model whose sentiment shifts
//! around the events and differs by age, region and settlement.

use chrono::{Datelike, Duration, NaiveDate};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Map, Value, json};

use crate::survey::targets::Targets;
use crate::survey::{Lang, SurveyDefinition};

pub const SLUG: &str = "digital-trust";
const DEFINITION: &str = include_str!("../../assets/demo/digital-trust.json");
const EVENTS: &str = include_str!("../../assets/demo/events.json");
const TARGETS: &str = include_str!("../../assets/demo/targets.json");

/// Where the demo's weighting targets come from: illustrative, not official.
pub const TARGETS_SOURCE: &str = "Illustrative: approximate adult population shares from the 2021 Russian census, rounded; not official weighting targets.";

/// The demo survey's definition (checked by a unit test).
pub fn definition() -> SurveyDefinition {
    serde_json::from_str(DEFINITION).expect("the embedded demo definition is valid JSON")
}

/// A dated event as the demo's data file gives it.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct DemoEvent {
    pub date: NaiveDate,
    pub label_ru: String,
    pub label_en: String,
    #[serde(default)]
    pub source_url: Option<String>,
}

pub fn events() -> Vec<DemoEvent> {
    serde_json::from_str(EVENTS).expect("the embedded demo events are valid JSON")
}

/// Illustrative population shares for age, region and settlement.
pub fn targets() -> Targets {
    serde_json::from_str(TARGETS).expect("the embedded demo targets are valid JSON")
}

pub fn first_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2022, 1, 1).expect("a valid date")
}

pub fn last_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 6, 30).expect("a valid date")
}

/// One synthetic response, before it gets an id.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntheticResponse {
    pub date: NaiveDate,
    pub lang: Lang,
    pub answers: Map<String, Value>,
}

const AGE_BANDS: [&str; 6] = ["18-24", "25-34", "35-44", "45-54", "55-64", "65+"];
/// An opt-in web sample: the young are over-represented, the old under.
const AGE_SAMPLE: [f64; 6] = [0.15, 0.26, 0.23, 0.16, 0.12, 0.08];
/// Older respondents trust the portal more.
const AGE_TRUST: [f64; 6] = [-0.35, -0.25, -0.05, 0.1, 0.25, 0.35];

const REGIONS: [&str; 8] = [
    "central",
    "northwest",
    "south",
    "north_caucasus",
    "volga",
    "ural",
    "siberia",
    "far_east",
];
const REGION_SAMPLE: [f64; 8] = [0.34, 0.13, 0.10, 0.04, 0.17, 0.09, 0.09, 0.04];
const REGION_TRUST: [f64; 8] = [-0.05, -0.15, 0.05, 0.35, 0.05, 0.0, -0.05, -0.1];

const SETTLEMENTS: [&str; 3] = ["city", "town", "village"];
const SETTLEMENT_SAMPLE: [f64; 3] = [0.64, 0.25, 0.11];
const SETTLEMENT_TRUST: [f64; 3] = [-0.15, 0.05, 0.2];

const COMMENTS_RU: [&str; 6] = [
    "Пользуюсь только для записи к врачу.",
    "После новостей об утечках стал осторожнее.",
    "Удобно, но не уверен, кто видит мои данные.",
    "Удалил аккаунт после закона о повестках.",
    "Хотелось бы понятнее объяснять, какие данные хранятся.",
    "Всё работает, претензий нет.",
];
const COMMENTS_EN: [&str; 4] = [
    "I only use it for doctor's appointments.",
    "More careful since the leak reports.",
    "Convenient, but I am not sure who sees my data.",
    "Works fine for me.",
];

/// Deterministic generator: the same seed gives the same responses.
pub struct Generator {
    rng: ChaCha8Rng,
    days: i64,
}

impl Generator {
    pub fn new(seed: u64) -> Self {
        Generator {
            rng: ChaCha8Rng::seed_from_u64(seed),
            days: (last_day() - first_day()).num_days() + 1,
        }
    }

    fn pick(&mut self, weights: &[f64]) -> usize {
        let total: f64 = weights.iter().sum();
        let mut u = self.rng.random::<f64>() * total;
        for (i, w) in weights.iter().enumerate() {
            if u < *w {
                return i;
            }
            u -= w;
        }
        weights.len() - 1
    }

    fn chance(&mut self, p: f64) -> bool {
        self.rng.random::<f64>() < p
    }

    fn normal(&mut self) -> f64 {
        // Box–Muller; 1 − u keeps the logarithm finite.
        let u1 = 1.0 - self.rng.random::<f64>();
        let u2 = self.rng.random::<f64>();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    fn logistic(&mut self) -> f64 {
        let u = self.rng.random::<f64>().clamp(1e-12, 1.0 - 1e-12);
        (u / (1.0 - u)).ln()
    }

    /// An ordinal 1–5 answer from a latent score through fixed cut points.
    fn ordinal5(&mut self, latent: f64) -> i64 {
        let x = latent + 0.6 * self.logistic();
        [-1.4, -0.5, 0.4, 1.3]
            .iter()
            .filter(|cut| x > **cut)
            .count() as i64
            + 1
    }

    /// One response on a random day of the demo's range.
    pub fn next_response(&mut self) -> SyntheticResponse {
        let date = first_day() + Duration::days(self.rng.random_range(0..self.days));
        self.response_on(date)
    }

    /// `count` responses spread evenly over the demo's days, in date order
    /// (a bulk load then appends to a table kept in date order).
    pub fn responses(mut self, count: u64) -> impl Iterator<Item = SyntheticResponse> {
        let days = self.days as u64;
        (0..days)
            .flat_map(move |k| {
                let on_day = (k + 1) * count / days - k * count / days;
                let date = first_day() + Duration::days(k as i64);
                (0..on_day).map(move |_| date)
            })
            .map(move |date| self.response_on(date))
    }

    /// One response given on `date`.
    pub fn response_on(&mut self, date: NaiveDate) -> SyntheticResponse {
        let t = Timeline::at(date);
        let age = (!self.chance(0.03)).then(|| self.pick(&AGE_SAMPLE));
        let region = (!self.chance(0.02)).then(|| self.pick(&REGION_SAMPLE));
        let settlement = (!self.chance(0.02)).then(|| self.pick(&SETTLEMENT_SAMPLE));
        let young = matches!(age, Some(0 | 1));
        let old = age == Some(5);
        let city = settlement == Some(0);

        // The April 2023 law hits cities and the young hardest.
        let law_hit = t.after_law * (1.0 + 0.5 * f64::from(city) + 0.4 * f64::from(young));
        let trust = 0.35
            + age.map_or(0.0, |a| AGE_TRUST[a])
            + region.map_or(0.0, |r| REGION_TRUST[r])
            + settlement.map_or(0.0, |s| SETTLEMENT_TRUST[s])
            - 0.15 * t.after_mobilisation
            - 0.5 * law_hit
            + 0.6 * self.normal();

        let mut answers = Map::new();
        let mut put = |code: &str, value: Value| {
            answers.insert(code.to_string(), value);
        };

        let p_never = 0.06 + 0.12 * f64::from(old) + 0.05 * f64::from(settlement == Some(2));
        let p_deleted = 0.015 + 0.02 * t.after_mobilisation + 0.07 * law_hit;
        let account = if self.chance(p_never) {
            "never"
        } else if self.chance(p_deleted) {
            "deleted"
        } else {
            "active"
        };
        put("portal_account", json!(account));

        let dk = 0.03 + 0.05 * f64::from(old);
        let portal_trust = if self.chance(dk) {
            json!("dk")
        } else {
            json!(self.ordinal5(trust - if account == "deleted" { 0.8 } else { 0.0 }))
        };
        put("portal_trust", portal_trust);

        if !self.chance(0.03) {
            let worry = 0.5 - 0.45 * trust
                + 0.2 * t.after_mobilisation
                + 0.35 * t.after_law
                + 0.1 * t.years;
            let value = if self.chance(0.05) {
                json!("dk")
            } else {
                json!(self.ordinal5(worry))
            };
            put("leak_worry", value);
        }

        if !self.chance(0.04) {
            let intent = -0.2 + 0.6 * trust + 0.2 * f64::from(young) - 0.3 * t.after_law
                + 0.3 * t.before_election;
            let value = if self.chance(0.08) {
                json!("dk")
            } else {
                json!(self.ordinal5(intent))
            };
            put("evote_intent", value);
        }

        if !self.chance(0.05) {
            let value = if self.chance(0.12) {
                json!("dk")
            } else {
                let score = 4.8 + 1.6 * trust - 0.4 * t.after_law + 2.0 * self.normal();
                json!(score.round().clamp(0.0, 10.0) as i64)
            };
            put("evote_count_trust", value);
        }

        // Asked only once electronic notices existed.
        if t.after_law > 0.0 && !self.chance(0.06) {
            let stopped = 0.04 + 0.08 * f64::from(young) + 0.04 * f64::from(city);
            let less = 0.12 + 0.08 * f64::from(young);
            let effect = ["more", "same", "less", "stopped"]
                [self.pick(&[0.04, 1.0 - 0.04 - less - stopped, less, stopped])];
            put("summons_effect", json!(effect));
        }

        if !self.chance(0.05) {
            let draft = 0.02
                + 0.1 * t.after_mobilisation
                + 0.2 * t.after_law
                + 0.15 * f64::from(young) * t.after_law;
            let chances = [
                ("data_leak", 0.35 - 0.1 * trust + 0.1 * t.after_law),
                ("identity_theft", 0.22 + 0.05 * t.years),
                ("draft_notices", draft),
                ("surveillance", 0.15 + 0.1 * t.after_law - 0.05 * trust),
                ("hard_to_use", 0.08 + 0.14 * f64::from(old)),
            ];
            let chosen: Vec<&str> = chances
                .iter()
                .filter(|(_, p)| self.chance(p.clamp(0.0, 0.95)))
                .map(|(code, _)| *code)
                .collect();
            if !chosen.is_empty() {
                put("concerns", json!(chosen));
            } else if self.chance(0.85) {
                put("concerns", json!(["none"]));
            }
        }

        let lang = if self.chance(0.12) {
            Lang::En
        } else {
            Lang::Ru
        };
        if self.chance(0.015) {
            let comment = match lang {
                Lang::Ru => COMMENTS_RU[self.rng.random_range(0..COMMENTS_RU.len())],
                Lang::En => COMMENTS_EN[self.rng.random_range(0..COMMENTS_EN.len())],
            };
            put("comment", json!(comment));
        }

        put("age_band", json!(age.map_or("na", |a| AGE_BANDS[a])));
        put("region", json!(region.map_or("na", |r| REGIONS[r])));
        put(
            "settlement",
            json!(settlement.map_or("na", |s| SETTLEMENTS[s])),
        );
        SyntheticResponse {
            date,
            lang,
            answers,
        }
    }
}

/// Where a date sits relative to the demo's events, as smooth 0..1 effects.
struct Timeline {
    after_mobilisation: f64,
    /// The draft-notice law: full effect at once, a third of it fading over a year.
    after_law: f64,
    /// The six weeks of registration before the 2024 election.
    before_election: f64,
    /// Slow drift since the start, in years.
    years: f64,
}

impl Timeline {
    fn at(date: NaiveDate) -> Self {
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).expect("a valid date");
        let mobilisation = day(2022, 9, 21);
        let law = day(2023, 4, 11);
        let election = day(2024, 3, 17);
        let since_law = (date - law).num_days() as f64;
        let to_election = (election - date).num_days();
        Timeline {
            after_mobilisation: f64::from(date >= mobilisation),
            after_law: if since_law < 0.0 {
                0.0
            } else {
                1.0 - 0.33 * (since_law / 365.0).min(1.0)
            },
            before_election: f64::from((0..42).contains(&to_election)),
            years: f64::from(date.year() - 2022) + f64::from(date.ordinal0()) / 365.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::survey::answers;

    #[test]
    fn the_demo_definition_is_valid_and_has_the_spec_codes() {
        let def = definition();
        def.validate().unwrap();
        assert_eq!(def.slug, SLUG);
        assert_eq!(def.timezone, "Europe/Moscow");
        let codes: Vec<&str> = def.questions.iter().map(|q| q.code.as_str()).collect();
        assert_eq!(
            codes,
            [
                "portal_account",
                "portal_trust",
                "leak_worry",
                "evote_intent",
                "evote_count_trust",
                "summons_effect",
                "concerns",
                "comment",
                "age_band",
                "region",
                "settlement"
            ]
        );
        assert_eq!(events().len(), 4);
    }

    #[test]
    fn generated_responses_are_valid_and_deterministic() {
        let def = definition();
        let mut a = Generator::new(7);
        let mut b = Generator::new(7);
        for _ in 0..2000 {
            let response = a.next_response();
            assert_eq!(response, b.next_response());
            assert!(response.date >= first_day() && response.date <= last_day());
            if let Err(problems) = answers::validate(&def, &response.answers) {
                panic!("{problems:?} in {:?}", response.answers);
            }
        }
        assert_ne!(
            Generator::new(8).next_response(),
            Generator::new(7).next_response()
        );
    }

    #[test]
    fn responses_come_in_date_order_spread_evenly_over_every_day() {
        let days = (last_day() - first_day()).num_days() as usize + 1;
        for count in [0u64, 5, days as u64, 10_000] {
            let dates: Vec<NaiveDate> =
                Generator::new(3).responses(count).map(|r| r.date).collect();
            assert_eq!(dates.len() as u64, count);
            assert!(dates.windows(2).all(|w| w[0] <= w[1]));
            let mut per_day = std::collections::BTreeMap::new();
            for d in &dates {
                *per_day.entry(*d).or_insert(0u64) += 1;
            }
            if count >= days as u64 {
                assert_eq!(per_day.len(), days);
            }
            let (lo, hi) = (count / days as u64, count.div_ceil(days as u64));
            assert!(per_day.values().all(|n| (lo..=hi).contains(n)));
        }
    }

    #[test]
    fn portal_trust_falls_after_the_draft_notice_law() {
        let mut generator = Generator::new(1);
        let (mut before, mut after) = (Vec::new(), Vec::new());
        for _ in 0..40_000 {
            let r = generator.next_response();
            let Some(v) = r.answers["portal_trust"].as_i64() else {
                continue;
            };
            let law = NaiveDate::from_ymd_opt(2023, 4, 11).unwrap();
            if (law - Duration::days(60)..law).contains(&r.date) {
                before.push(v as f64);
            } else if (law..law + Duration::days(60)).contains(&r.date) {
                after.push(v as f64);
            }
        }
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        assert!(
            mean(&before) - mean(&after) > 0.2,
            "{} vs {}",
            mean(&before),
            mean(&after)
        );
    }
}
