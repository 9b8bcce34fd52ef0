//! The codebook: what every microdata column and every code in it means, in
//! both languages, with the weighting targets and their source. One model,
//! written as JSON and as a long CSV (one row per column and value). Pure.

use serde::Serialize;

use crate::db::surveys::Wave;
use crate::db::targets::StoredTargets;
use crate::export::microdata::MULTI_SEPARATOR;
use crate::survey::{Localized, QuestionDef, QuestionKind, SurveyDefinition};

/// One value a column can hold.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CodeValue {
    /// What the microdata cell holds.
    pub cell: String,
    /// The option code (in the API's `option=` and the definition).
    pub code: String,
    /// A number for analysis, where there is one.
    pub value: Option<f64>,
    pub label: Localized,
    /// Left out of every base ("don't know", "prefer not to say").
    pub non_substantive: bool,
}

/// One microdata column.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CodeColumn {
    pub name: String,
    /// The question's code; empty for the meta columns.
    pub question: String,
    /// `meta`, or the question's kind.
    pub kind: String,
    /// `meta`, `item` or `demographic`.
    pub role: String,
    pub text: Localized,
    /// Only in exports asked with `include_text=true` (free text).
    pub text_only_on_request: bool,
    pub retired: bool,
    pub values: Vec<CodeValue>,
}

/// The weighting targets in use.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[schema(as = CodebookWeighting)]
pub struct Weighting {
    #[schema(value_type = std::collections::BTreeMap<String, std::collections::BTreeMap<String, f64>>)]
    pub targets: crate::survey::targets::Targets,
    pub source: Option<String>,
    pub method: &'static str,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Codebook {
    pub survey: String,
    pub title: Localized,
    pub timezone: String,
    pub format: &'static str,
    pub missing: &'static str,
    pub waves: Vec<WaveEntry>,
    pub columns: Vec<CodeColumn>,
    pub weighting: Weighting,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct WaveEntry {
    pub label: String,
    pub opens: chrono::NaiveDate,
    pub closes: chrono::NaiveDate,
}

pub const FORMAT: &str = "UTF-8, RFC 4180 CSV with a header row; one row per response, ordered by submitted_date then response_id. A text cell that a spreadsheet could run (starting with =, +, -, @, tab or carriage return) or that starts with ' has one ' put in front; remove exactly one leading ' to get the text back (the import does).";
pub const MISSING: &str = "An empty cell is no answer. Non-substantive codes (such as dk, na) are answers that count in no base; the data package reads them as missing in scale columns.";
pub const WEIGHTING_METHOD: &str = "Raking (iterative proportional fitting) of the base weights to the targets, per wave or else per calendar month; raking factors capped to 0.2-5 times their weighted mean, final weights scaled to mean 1 per period. Where there are no targets or raking fails, weight = base_weight.";

fn text(en: &str, ru: &str) -> Localized {
    Localized {
        ru: ru.to_string(),
        en: en.to_string(),
    }
}

fn meta(name: &str, en: &str, ru: &str) -> CodeColumn {
    CodeColumn {
        name: name.to_string(),
        question: String::new(),
        kind: "meta".to_string(),
        role: "meta".to_string(),
        text: text(en, ru),
        text_only_on_request: false,
        retired: false,
        values: Vec::new(),
    }
}

fn value(cell: &str, code: &str, number: Option<f64>, label: Localized, ns: bool) -> CodeValue {
    CodeValue {
        cell: cell.to_string(),
        code: code.to_string(),
        value: number,
        label,
        non_substantive: ns,
    }
}

impl Codebook {
    pub fn new(def: &SurveyDefinition, waves: &[Wave], targets: &StoredTargets) -> Codebook {
        let mut columns = vec![
            meta(
                "response_id",
                "Random identifier of the response (UUID v4); never in arrival order",
                "Случайный идентификатор ответа (UUID v4); не отражает порядок поступления",
            ),
            meta(
                "submitted_date",
                "Date of the response in the survey's time zone (no time of day is kept)",
                "Дата ответа в часовом поясе опроса (время суток не хранится)",
            ),
            meta(
                "wave",
                "Label of the wave the response belongs to; empty without waves",
                "Метка волны, к которой относится ответ; пусто, если волн нет",
            ),
            meta(
                "lang",
                "Language the questionnaire was answered in: ru or en",
                "Язык, на котором заполнена анкета: ru или en",
            ),
            meta(
                "base_weight",
                "Weight the response came with (1, or as imported), 6 decimals",
                "Исходный вес ответа (1 или из импорта), 6 знаков",
            ),
            meta(
                "weight",
                "Final weight the published series use (raked to the targets; base_weight where there are none)",
                "Итоговый вес, используемый в рядах (перевзвешивание к целевым долям; иначе base_weight)",
            ),
        ];
        for q in &def.questions {
            columns.extend(question_columns(q));
        }
        Codebook {
            survey: def.slug.clone(),
            title: def.title.clone(),
            timezone: def.timezone.clone(),
            format: FORMAT,
            missing: MISSING,
            waves: waves
                .iter()
                .map(|w| WaveEntry {
                    label: w.label.clone(),
                    opens: w.opens,
                    closes: w.closes,
                })
                .collect(),
            columns,
            weighting: Weighting {
                targets: targets.shares.clone(),
                source: targets.source.clone(),
                method: WEIGHTING_METHOD,
            },
        }
    }

    /// One row per column and value (a column without listed values gets one
    /// row), then one row per weighting target (kind `target`).
    pub fn csv(&self, def: &SurveyDefinition) -> Result<Vec<u8>, csv::Error> {
        let mut out = csv::Writer::from_writer(Vec::new());
        out.write_record(CSV_HEADER)?;
        for c in &self.columns {
            let fixed = [
                c.name.as_str(),
                c.question.as_str(),
                c.kind.as_str(),
                c.role.as_str(),
                c.text.ru.as_str(),
                c.text.en.as_str(),
            ];
            if c.values.is_empty() {
                out.write_record(fixed.iter().copied().chain(["", "", "", "", "", ""]))?;
            }
            for v in &c.values {
                let number = v.value.map(|n| n.to_string()).unwrap_or_default();
                out.write_record(fixed.iter().copied().chain([
                    v.cell.as_str(),
                    v.code.as_str(),
                    number.as_str(),
                    v.label.ru.as_str(),
                    v.label.en.as_str(),
                    if v.non_substantive { "true" } else { "false" },
                ]))?;
            }
        }
        let source = self.weighting.source.clone().unwrap_or_default();
        for (dimension, shares) in &self.weighting.targets {
            let question = def.question(dimension);
            for (option, share) in shares {
                let label = question
                    .and_then(|q| q.option(option))
                    .map(|o| o.label.clone())
                    .unwrap_or_default();
                out.write_record([
                    "weight",
                    dimension.as_str(),
                    "target",
                    "weighting",
                    "Целевая доля в генеральной совокупности",
                    source.as_str(),
                    option.as_str(),
                    option.as_str(),
                    &share.to_string(),
                    label.ru.as_str(),
                    label.en.as_str(),
                    "false",
                ])?;
            }
        }
        out.into_inner().map_err(|e| e.into_error().into())
    }
}

pub const CSV_HEADER: [&str; 12] = [
    "column",
    "question",
    "kind",
    "role",
    "text_ru",
    "text_en",
    "cell",
    "code",
    "value",
    "label_ru",
    "label_en",
    "non_substantive",
];

/// The columns one question becomes in the microdata.
fn question_columns(q: &QuestionDef) -> Vec<CodeColumn> {
    let column = |name: String, values: Vec<CodeValue>| CodeColumn {
        name,
        question: q.code.clone(),
        kind: q.kind.as_str().to_string(),
        role: q.role.as_str().to_string(),
        text: q.prompt.clone(),
        text_only_on_request: q.kind == QuestionKind::Text,
        retired: q.retired,
        values,
    };
    let options = |q: &QuestionDef| -> Vec<CodeValue> {
        q.options
            .iter()
            .map(|o| {
                value(
                    &o.code,
                    &o.code,
                    o.value,
                    o.label.clone(),
                    o.non_substantive,
                )
            })
            .collect()
    };
    match q.kind {
        QuestionKind::Scale => {
            let mut values = Vec::new();
            if let Some(scale) = &q.scale {
                for v in scale.min..=scale.max {
                    let label = if v == scale.min {
                        scale.low.clone()
                    } else if v == scale.max {
                        scale.high.clone()
                    } else {
                        Localized::default()
                    };
                    let cell = v.to_string();
                    values.push(value(&cell, &cell, Some(f64::from(v)), label, false));
                }
            }
            values.extend(options(q));
            vec![column(q.code.clone(), values)]
        }
        QuestionKind::YesNo => vec![column(
            q.code.clone(),
            vec![
                value("1", "yes", Some(1.0), text("Yes", "Да"), false),
                value("0", "no", Some(0.0), text("No", "Нет"), false),
            ],
        )],
        QuestionKind::SingleChoice => vec![column(q.code.clone(), options(q))],
        QuestionKind::MultiChoice => q
            .options
            .iter()
            .map(|o| {
                let mut c = column(
                    format!("{}{MULTI_SEPARATOR}{}", q.code, o.code),
                    vec![
                        value("1", &o.code, Some(1.0), o.label.clone(), o.non_substantive),
                        value(
                            "0",
                            &o.code,
                            Some(0.0),
                            text("Not chosen", "Не выбрано"),
                            false,
                        ),
                    ],
                );
                c.text = Localized {
                    ru: format!("{} — {}", q.prompt.ru, o.label.ru),
                    en: format!("{} — {}", q.prompt.en, o.label.en),
                };
                c
            })
            .collect(),
        QuestionKind::Text => vec![column(q.code.clone(), Vec::new())],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::microdata::Layout;
    use crate::survey::demo;

    fn demo_codebook() -> Codebook {
        let targets = StoredTargets {
            shares: demo::targets(),
            source: Some(demo::TARGETS_SOURCE.to_string()),
        };
        Codebook::new(&demo::definition(), &[], &targets)
    }

    #[test]
    fn every_microdata_column_is_described_in_order() {
        let def = demo::definition();
        let names: Vec<String> = demo_codebook()
            .columns
            .iter()
            .map(|c| c.name.clone())
            .collect();
        assert_eq!(names, Layout::new(&def, true).header());
    }

    #[test]
    fn codes_carry_labels_numbers_and_flags() {
        let book = demo_codebook();
        let column = |name: &str| book.columns.iter().find(|c| c.name == name).unwrap();
        let trust = column("portal_trust");
        assert_eq!(trust.values.len(), 6, "1-5 and dk");
        assert_eq!(trust.values[0].value, Some(1.0));
        assert!(!trust.values[0].label.en.is_empty(), "the low anchor");
        assert!(trust.values[5].non_substantive);
        assert_eq!(trust.values[5].cell, "dk");
        let effect = column("summons_effect");
        assert_eq!(effect.values[2].value, Some(-1.0));
        let leak = column("concerns__data_leak");
        assert_eq!(leak.values[0].cell, "1");
        assert!(leak.text.en.contains(" — "));
        assert!(column("comment").text_only_on_request);
        assert!(book.weighting.source.as_deref().unwrap().contains("census"));
    }

    #[test]
    fn the_csv_has_a_row_per_value_and_per_target() {
        let def = demo::definition();
        let book = demo_codebook();
        let text = String::from_utf8(book.csv(&def).unwrap()).unwrap();
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
        let values: usize = book.columns.iter().map(|c| c.values.len().max(1)).sum();
        let targets: usize = book.weighting.targets.values().map(|t| t.len()).sum();
        assert_eq!(rows.len(), values + targets);
        assert!(
            rows.iter()
                .any(|r| &r[0] == "weight" && &r[2] == "target" && &r[1] == "region")
        );
    }
}
