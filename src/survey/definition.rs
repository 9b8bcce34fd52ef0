//! A survey's definition: the schema of the demo's data file and of the admin
//! API, checked once by `validate` and trusted afterwards.

use serde::{Deserialize, Serialize};

use crate::error::Detail;
use crate::survey::Lang;

/// A text in both languages the service speaks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Localized {
    pub ru: String,
    pub en: String,
}

impl Localized {
    pub fn get(&self, lang: Lang) -> &str {
        match lang {
            Lang::Ru => &self.ru,
            Lang::En => &self.en,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum QuestionKind {
    Scale,
    YesNo,
    SingleChoice,
    MultiChoice,
    Text,
}

impl QuestionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            QuestionKind::Scale => "scale",
            QuestionKind::YesNo => "yes_no",
            QuestionKind::SingleChoice => "single_choice",
            QuestionKind::MultiChoice => "multi_choice",
            QuestionKind::Text => "text",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "scale" => QuestionKind::Scale,
            "yes_no" => QuestionKind::YesNo,
            "single_choice" => QuestionKind::SingleChoice,
            "multi_choice" => QuestionKind::MultiChoice,
            "text" => QuestionKind::Text,
            _ => return None,
        })
    }
}

/// Items are what the tracker measures; demographics define breakdowns and weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    #[default]
    Item,
    Demographic,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Item => "item",
            Role::Demographic => "demographic",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "item" => Some(Role::Item),
            "demographic" => Some(Role::Demographic),
            _ => None,
        }
    }
}

/// A numeric rating scale: its range, the labels of its ends and which values
/// count as positive (top2) and negative (bottom2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Scale {
    pub min: i32,
    pub max: i32,
    pub low: Localized,
    pub high: Localized,
    /// Values counted in top2; by default 4–5 on 1–5 and 6–10 on 0–10.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub positive: Option<Vec<i32>>,
    /// Values counted in bottom2; by default 1–2 on 1–5 and 0–4 on 0–10.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub negative: Option<Vec<i32>>,
}

impl Scale {
    pub fn contains(&self, value: i64) -> bool {
        (i64::from(self.min)..=i64::from(self.max)).contains(&value)
    }

    pub fn positive_values(&self) -> Vec<i32> {
        self.positive
            .clone()
            .unwrap_or_else(|| self.default_cut(true))
    }

    pub fn negative_values(&self) -> Vec<i32> {
        self.negative
            .clone()
            .unwrap_or_else(|| self.default_cut(false))
    }

    /// METHODS: 1–5 → {4,5} / {1,2}; 0–10 (OECD) → 6–10 / 0–4; any other range
    /// splits around its midpoint, the middle value counting as neither.
    fn default_cut(&self, positive: bool) -> Vec<i32> {
        let (min, max) = (self.min, self.max);
        if (min, max) == (1, 5) {
            return if positive { vec![4, 5] } else { vec![1, 2] };
        }
        if (min, max) == (0, 10) {
            return if positive {
                (6..=10).collect()
            } else {
                (0..=4).collect()
            };
        }
        let span = max - min;
        if positive {
            (min + span / 2 + 1..=max).collect()
        } else {
            (min..=max - span / 2 - 1).collect()
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OptionDef {
    pub code: String,
    pub label: Localized,
    /// An optional numeric value for analysis (e.g. +1 / 0 / −1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    /// "Don't know", "prefer not to say": left out of every base.
    #[serde(default, skip_serializing_if = "is_false")]
    pub non_substantive: bool,
    /// Cannot be combined with another option of a multi-choice ("none of these").
    #[serde(default, skip_serializing_if = "is_false")]
    pub exclusive: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

pub const DEFAULT_TEXT_LIMIT: u32 = 1000;
const MAX_TEXT_LIMIT: u32 = 10_000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuestionDef {
    pub code: String,
    pub kind: QuestionKind,
    #[serde(default)]
    pub role: Role,
    #[serde(default)]
    pub required: bool,
    pub prompt: Localized,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale: Option<Scale>,
    /// Choices; for a scale only its non-substantive extras such as `dk`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<OptionDef>,
    /// Longest accepted text, in characters (text questions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u32>,
    /// No longer asked: off the form, its answers and codebook entry kept.
    #[serde(default, skip_serializing_if = "is_false")]
    pub retired: bool,
}

impl QuestionDef {
    pub fn option(&self, code: &str) -> Option<&OptionDef> {
        self.options.iter().find(|o| o.code == code)
    }

    pub fn text_limit(&self) -> usize {
        self.max_length.unwrap_or(DEFAULT_TEXT_LIMIT) as usize
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SurveyDefinition {
    pub slug: String,
    pub title: Localized,
    #[serde(default)]
    pub description: Localized,
    pub default_lang: Lang,
    /// IANA time zone whose local date a response keeps.
    #[serde(default = "utc")]
    pub timezone: String,
    pub questions: Vec<QuestionDef>,
}

fn utc() -> String {
    "UTC".to_string()
}

impl SurveyDefinition {
    pub fn question(&self, code: &str) -> Option<&QuestionDef> {
        self.questions.iter().find(|q| q.code == code)
    }

    pub fn time_zone(&self) -> chrono_tz::Tz {
        // validate() has checked it; UTC is the documented default.
        self.timezone.parse().unwrap_or(chrono_tz::UTC)
    }

    /// Every problem at once, each naming its field, so an author fixes them in one go.
    pub fn validate(&self) -> Result<(), Vec<Detail>> {
        let mut problems = Vec::new();
        let mut bad = |field: String, problem: &str, message: String| {
            problems.push(Detail::field(field, problem, message));
        };
        if !is_slug(&self.slug) {
            bad(
                "slug".into(),
                "invalid_code",
                "use 1-64 lowercase letters, digits and single hyphens".into(),
            );
        }
        check_localized(&mut bad, "title", &self.title);
        if self.timezone.parse::<chrono_tz::Tz>().is_err() {
            bad(
                "timezone".into(),
                "unknown_time_zone",
                format!("{:?} is not an IANA time zone name", self.timezone),
            );
        }
        if self.questions.is_empty() {
            bad(
                "questions".into(),
                "empty",
                "a survey needs at least one question".into(),
            );
        }
        let mut seen = std::collections::HashSet::new();
        for (i, q) in self.questions.iter().enumerate() {
            let at = format!("questions[{i}]");
            if !is_code(&q.code) {
                bad(
                    format!("{at}.code"),
                    "invalid_code",
                    "use 1-40 lowercase letters, digits and single underscores, starting with a letter"
                        .into(),
                );
            }
            if !seen.insert(q.code.as_str()) {
                bad(
                    format!("{at}.code"),
                    "duplicate_code",
                    format!("question code {:?} is used twice", q.code),
                );
            }
            check_localized(&mut bad, &format!("{at}.prompt"), &q.prompt);
            check_question(&mut bad, &at, q);
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }
}

/// Codes of the questions of `old` that `new` removes or changes beyond their
/// labels (kind, role, required, scale range or cut points, options, limits).
/// Retiring a question (or bringing it back) is not a change of structure.
pub fn structural_changes(old: &SurveyDefinition, new: &SurveyDefinition) -> Vec<String> {
    /// The question with every label blanked out.
    fn skeleton(q: &QuestionDef) -> QuestionDef {
        let mut q = q.clone();
        q.prompt = Localized::default();
        q.retired = false;
        if let Some(scale) = q.scale.as_mut() {
            scale.low = Localized::default();
            scale.high = Localized::default();
            scale.positive = Some(scale.positive_values());
            scale.negative = Some(scale.negative_values());
        }
        for option in &mut q.options {
            option.label = Localized::default();
        }
        q
    }
    old.questions
        .iter()
        .filter(|q| match new.question(&q.code) {
            None => true,
            Some(n) => skeleton(q) != skeleton(n),
        })
        .map(|q| q.code.clone())
        .collect()
}

fn check_localized(bad: &mut impl FnMut(String, &str, String), field: &str, text: &Localized) {
    for (lang, value) in [("ru", &text.ru), ("en", &text.en)] {
        if value.trim().is_empty() {
            bad(
                format!("{field}.{lang}"),
                "required",
                "must not be empty".into(),
            );
        }
    }
}

fn check_question(bad: &mut impl FnMut(String, &str, String), at: &str, q: &QuestionDef) {
    let mut seen = std::collections::HashSet::new();
    for (j, o) in q.options.iter().enumerate() {
        let field = format!("{at}.options[{j}]");
        if !is_option_code(&o.code) {
            bad(
                format!("{field}.code"),
                "invalid_code",
                "use 1-40 letters, digits, '_', '-' or '+'".into(),
            );
        }
        if !seen.insert(o.code.as_str()) {
            bad(
                format!("{field}.code"),
                "duplicate_code",
                format!("option code {:?} is used twice", o.code),
            );
        }
        check_localized(bad, &format!("{field}.label"), &o.label);
        if o.exclusive && q.kind != QuestionKind::MultiChoice {
            bad(
                format!("{field}.exclusive"),
                "not_allowed",
                "only a multi_choice option can be exclusive".into(),
            );
        }
    }
    if q.role == Role::Demographic && q.kind != QuestionKind::SingleChoice {
        bad(
            format!("{at}.role"),
            "not_allowed",
            "a demographic question must be single_choice".into(),
        );
    }
    if q.scale.is_some() && q.kind != QuestionKind::Scale {
        bad(
            format!("{at}.scale"),
            "not_allowed",
            "only a scale question has a scale".into(),
        );
    }
    if q.max_length.is_some() && q.kind != QuestionKind::Text {
        bad(
            format!("{at}.max_length"),
            "not_allowed",
            "only a text question has a max_length".into(),
        );
    }
    match q.kind {
        QuestionKind::Scale => match &q.scale {
            None => bad(
                format!("{at}.scale"),
                "required",
                "a scale question needs {min, max, low, high}".into(),
            ),
            Some(scale) => {
                if scale.min < 0 || scale.max > 100 || scale.min >= scale.max {
                    bad(
                        format!("{at}.scale"),
                        "out_of_range",
                        "needs 0 <= min < max <= 100".into(),
                    );
                }
                check_localized(bad, &format!("{at}.scale.low"), &scale.low);
                check_localized(bad, &format!("{at}.scale.high"), &scale.high);
                for (name, set) in [("positive", &scale.positive), ("negative", &scale.negative)] {
                    if let Some(values) = set
                        && (values.is_empty()
                            || values.iter().any(|v| !scale.contains((*v).into())))
                    {
                        bad(
                            format!("{at}.scale.{name}"),
                            "out_of_range",
                            "must list values inside the scale".into(),
                        );
                    }
                }
                let (pos, neg) = (scale.positive_values(), scale.negative_values());
                if pos.iter().any(|v| neg.contains(v)) {
                    bad(
                        format!("{at}.scale"),
                        "inconsistent",
                        "a value cannot be both positive and negative".into(),
                    );
                }
                for (j, o) in q.options.iter().enumerate() {
                    if !o.non_substantive || o.code.parse::<i64>().is_ok() {
                        bad(
                            format!("{at}.options[{j}]"),
                            "not_allowed",
                            "a scale's extra options must be non-substantive codes such as \"dk\""
                                .into(),
                        );
                    }
                }
            }
        },
        QuestionKind::YesNo | QuestionKind::Text => {
            if !q.options.is_empty() {
                bad(
                    format!("{at}.options"),
                    "not_allowed",
                    format!("a {} question has no options", q.kind.as_str()),
                );
            }
            if let Some(limit) = q.max_length
                && (limit == 0 || limit > MAX_TEXT_LIMIT)
            {
                bad(
                    format!("{at}.max_length"),
                    "out_of_range",
                    format!("must be 1..={MAX_TEXT_LIMIT}"),
                );
            }
        }
        QuestionKind::SingleChoice | QuestionKind::MultiChoice => {
            if q.options.iter().filter(|o| !o.non_substantive).count() < 2 {
                bad(
                    format!("{at}.options"),
                    "too_few",
                    "needs at least two substantive options".into(),
                );
            }
        }
    }
}

fn is_slug(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
        && !s.contains("--")
}

/// Question codes become CSV column names, with `__` reserved for `CODE__OPTION`.
fn is_code(s: &str) -> bool {
    (1..=40).contains(&s.len())
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !s.contains("__")
        && !s.ends_with('_')
}

fn is_option_code(s: &str) -> bool {
    (1..=40).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-+".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Localized {
        Localized {
            ru: s.into(),
            en: s.into(),
        }
    }

    fn scale(min: i32, max: i32) -> Scale {
        Scale {
            min,
            max,
            low: text("low"),
            high: text("high"),
            positive: None,
            negative: None,
        }
    }

    #[test]
    fn default_cut_points_follow_the_methods() {
        assert_eq!(scale(1, 5).positive_values(), vec![4, 5]);
        assert_eq!(scale(1, 5).negative_values(), vec![1, 2]);
        assert_eq!(scale(0, 10).positive_values(), vec![6, 7, 8, 9, 10]);
        assert_eq!(scale(0, 10).negative_values(), vec![0, 1, 2, 3, 4]);
        assert_eq!(scale(1, 7).positive_values(), vec![5, 6, 7]);
        assert_eq!(scale(1, 7).negative_values(), vec![1, 2, 3]);
    }

    #[test]
    fn only_label_changes_leave_a_question_structurally_the_same() {
        let old = crate::survey::demo::definition();
        let mut new = old.clone();
        new.questions[1].prompt.en = "Reworded".into();
        new.questions[1].scale.as_mut().unwrap().low.ru = "1 — нет".into();
        new.questions[0].options[0].label.en = "Active".into();
        assert!(structural_changes(&old, &new).is_empty());
        new.questions[2].scale.as_mut().unwrap().max = 7;
        new.questions[5].options.pop();
        new.questions[6].required = true;
        new.questions.retain(|q| q.code != "comment");
        assert_eq!(
            structural_changes(&old, &new),
            ["leak_worry", "summons_effect", "concerns", "comment"]
        );
    }

    #[test]
    fn codes_that_would_break_csv_columns_are_refused() {
        assert!(is_code("portal_trust"));
        assert!(!is_code("portal__trust"));
        assert!(!is_code("Portal"));
        assert!(!is_code("1st"));
        assert!(is_option_code("65+"));
        assert!(!is_option_code("a b"));
        assert!(is_slug("digital-trust"));
        assert!(!is_slug("digital--trust"));
    }

    #[test]
    fn a_definition_reports_every_problem_with_its_field() {
        let def = SurveyDefinition {
            slug: "Bad Slug".into(),
            title: text("t"),
            description: Localized::default(),
            default_lang: Lang::Ru,
            timezone: "Mars/Olympus".into(),
            questions: vec![
                QuestionDef {
                    code: "q".into(),
                    kind: QuestionKind::Scale,
                    role: Role::Item,
                    required: false,
                    prompt: text("p"),
                    scale: None,
                    options: vec![],
                    max_length: None,
                    retired: false,
                },
                QuestionDef {
                    code: "q".into(),
                    kind: QuestionKind::MultiChoice,
                    role: Role::Demographic,
                    required: false,
                    prompt: text("p"),
                    scale: None,
                    options: vec![],
                    max_length: None,
                    retired: false,
                },
            ],
        };
        let fields: Vec<String> = def
            .validate()
            .unwrap_err()
            .into_iter()
            .map(|d| format!("{}:{}", d.field.unwrap_or_default(), d.problem))
            .collect();
        for expected in [
            "slug:invalid_code",
            "timezone:unknown_time_zone",
            "questions[0].scale:required",
            "questions[1].code:duplicate_code",
            "questions[1].role:not_allowed",
            "questions[1].options:too_few",
        ] {
            assert!(
                fields.contains(&expected.to_string()),
                "{expected} missing in {fields:?}"
            );
        }
    }
}
