//! The Frictionless Data Package: `datapackage.json` (a Table Schema per
//! file), `README.md`, `codebook.csv`, `series/<question>.csv` for every
//! tracked question and `responses.csv`, zipped as a stream. The descriptor
//! and the README are pure; `write` reads the figures inside the caller's
//! snapshot.

use std::collections::HashMap;

use chrono::NaiveDate;
use serde_json::{Value, json};

use crate::analysis::report;
use crate::analysis::service::Loaded;
use crate::export::codebook::{self, Codebook};
use crate::export::microdata::Layout;
use crate::survey::{QuestionDef, QuestionKind, Role, SurveyDefinition};

/// Questions with a file under `series/`: items that are not free text.
pub fn tracked(def: &SurveyDefinition) -> impl Iterator<Item = &QuestionDef> {
    def.questions
        .iter()
        .filter(|q| q.role == Role::Item && q.kind != QuestionKind::Text && !q.retired)
}

/// The series parameters of a tracked question's file: monthly, weighted
/// when targets exist; the mean for a scale, else one share per substantive
/// option (yes for yes/no).
pub fn series_queries(q: &QuestionDef, weighted: bool) -> Vec<HashMap<String, String>> {
    let base = |metric: &str, option: Option<&str>| {
        let mut query = HashMap::from([
            ("question".to_string(), q.code.clone()),
            ("metric".to_string(), metric.to_string()),
            ("interval".to_string(), "month".to_string()),
            ("weighted".to_string(), weighted.to_string()),
        ]);
        if let Some(option) = option {
            query.insert("option".to_string(), option.to_string());
        }
        query
    };
    match q.kind {
        QuestionKind::Scale => vec![base("mean", None)],
        QuestionKind::YesNo => vec![base("share", Some("yes"))],
        _ => q
            .options
            .iter()
            .filter(|o| !o.non_substantive)
            .map(|o| base("share", Some(&o.code)))
            .collect(),
    }
}

/// Cells read as missing in `responses.csv`: empty, `dk` and `na` (the
/// product contract), and any other non-substantive code of a scale question
/// (so that scale columns are integers).
pub fn missing_values(def: &SurveyDefinition) -> Vec<String> {
    let mut values = vec![String::new(), "dk".to_string(), "na".to_string()];
    for q in def
        .questions
        .iter()
        .filter(|q| q.kind == QuestionKind::Scale)
    {
        for o in q.options.iter().filter(|o| o.non_substantive) {
            if !values.contains(&o.code) {
                values.push(o.code.clone());
            }
        }
    }
    values
}

fn field(name: &str, kind: &str, description: &str) -> Value {
    json!({"name": name, "type": kind, "description": description})
}

/// The Table Schema of `responses.csv`, from the codebook's columns.
fn responses_schema(def: &SurveyDefinition, book: &Codebook, include_text: bool) -> Value {
    let columns = Layout::new(def, include_text).header();
    let mut fields = Vec::new();
    for name in &columns {
        let Some(column) = book.columns.iter().find(|c| &c.name == name) else {
            continue;
        };
        let description = column.text.en.as_str();
        let mut f = match (column.kind.as_str(), name.as_str()) {
            ("meta", "response_id") => {
                let mut f = field(name, "string", description);
                f["format"] = json!("uuid");
                f["constraints"] = json!({"required": true, "unique": true});
                f
            }
            ("meta", "submitted_date") => {
                let mut f = field(name, "date", description);
                f["constraints"] = json!({"required": true});
                f
            }
            ("meta", "wave") => {
                let mut f = field(name, "string", description);
                if !book.waves.is_empty() {
                    let labels: Vec<&str> = book.waves.iter().map(|w| w.label.as_str()).collect();
                    f["constraints"] = json!({ "enum": labels });
                }
                f
            }
            ("meta", "lang") => {
                let mut f = field(name, "string", description);
                f["constraints"] = json!({"required": true, "enum": ["ru", "en"]});
                f
            }
            ("meta", _) => {
                let mut f = field(name, "number", description);
                f["constraints"] = json!({"required": true, "minimum": 0});
                f
            }
            ("scale", _) => {
                let numbers: Vec<i64> = column
                    .values
                    .iter()
                    .filter_map(|v| v.value.filter(|_| !v.non_substantive))
                    .map(|v| v as i64)
                    .collect();
                let mut f = field(name, "integer", description);
                if let (Some(min), Some(max)) = (numbers.iter().min(), numbers.iter().max()) {
                    f["constraints"] = json!({"minimum": min, "maximum": max});
                }
                f
            }
            ("yes_no" | "multi_choice", _) => {
                let mut f = field(name, "integer", description);
                f["constraints"] = json!({"minimum": 0, "maximum": 1});
                f
            }
            ("single_choice", _) => {
                let codes: Vec<&str> = column.values.iter().map(|v| v.cell.as_str()).collect();
                let mut f = field(name, "string", description);
                f["constraints"] = json!({ "enum": codes });
                f
            }
            _ => field(name, "string", description),
        };
        f["title"] = json!(name);
        fields.push(f);
    }
    json!({
        "fields": fields,
        "primaryKey": ["response_id"],
        "missingValues": missing_values(def),
    })
}

fn codebook_schema() -> Value {
    let fields: Vec<Value> = codebook::CSV_HEADER
        .iter()
        .map(|name| match *name {
            "value" => field(name, "number", "a number for analysis, where there is one"),
            "non_substantive" => field(name, "boolean", "counts in no base"),
            _ => field(name, "string", ""),
        })
        .collect();
    json!({"fields": fields, "missingValues": [""]})
}

fn series_schema() -> Value {
    let fields: Vec<Value> = report::CSV_HEADER
        .iter()
        .map(|name| match *name {
            "period_start" => field(name, "date", "first day of the period"),
            "n" => field(name, "integer", "respondents in the base"),
            "n_eff" | "value" | "ci_low" | "ci_high" => field(name, "number", ""),
            "suppressed" | "weighted" => field(name, "boolean", ""),
            _ => field(name, "string", ""),
        })
        .collect();
    json!({"fields": fields, "missingValues": [""]})
}

fn resource(name: &str, path: &str, title: &str, schema: Value) -> Value {
    json!({
        "name": name,
        "path": path,
        "title": title,
        "profile": "tabular-data-resource",
        "format": "csv",
        "mediatype": "text/csv",
        "encoding": "utf-8",
        "schema": schema,
    })
}

/// `datapackage.json`.
pub fn descriptor(loaded: &Loaded, book: &Codebook, today: NaiveDate) -> Value {
    let def = &loaded.survey.definition;
    let mut resources = vec![
        resource(
            "responses",
            "responses.csv",
            "Microdata: one row per response",
            responses_schema(def, book, false),
        ),
        resource(
            "codebook",
            "codebook.csv",
            "What every column and code means",
            codebook_schema(),
        ),
    ];
    for q in tracked(def) {
        resources.push(resource(
            &format!("series-{}", q.code.replace('_', "-")),
            &format!("series/{}.csv", q.code),
            &format!("Monthly series: {}", q.prompt.en),
            series_schema(),
        ));
    }
    json!({
        "profile": "tabular-data-package",
        "name": def.slug,
        "title": def.title.en,
        "description": def.description.en,
        "created": format!("{today}T00:00:00Z"),
        "resources": resources,
    })
}

/// The package's `README.md`: citation, methods in brief, weights, and how to
/// load the microdata in R and pandas.
pub fn readme(loaded: &Loaded, book: &Codebook, today: NaiveDate, rows: u64) -> String {
    let def = &loaded.survey.definition;
    let missing: Vec<String> = missing_values(def)
        .iter()
        .map(|v| format!("\"{v}\""))
        .collect();
    let synthetic = if loaded.survey.synthetic {
        "\n**The responses are synthetic demo data**, generated by a model; they describe no real people.\n"
    } else {
        ""
    };
    let targets = match (&book.weighting.source, book.weighting.targets.is_empty()) {
        (_, true) => {
            "This survey has no weighting targets: `weight` equals `base_weight`.".to_string()
        }
        (Some(source), false) => format!("Targets: {source}"),
        (None, false) => "Targets are set; their source is not recorded.".to_string(),
    };
    format!(
        "# {title}\n\n\
         Survey `{slug}`, exported {today} ({rows} responses).{synthetic}\n\
         ## Citation\n\n\
         {title} [data set], survey `{slug}`, trustpulse data package exported {today}.\n\n\
         ## Files\n\n\
         - `responses.csv`: one row per response, ordered by date then id; dates only, never a time of day.\n\
         - `codebook.csv`: every column, every code, its labels in Russian and English; the weighting targets.\n\
         - `series/<question>.csv`: monthly estimates with 95% intervals, exact (not perturbed), small cells suppressed.\n\
         - `datapackage.json`: a Frictionless Data Package with a Table Schema for each file.\n\n\
         ## Methods in brief\n\n\
         Respondents answer anonymously online (an opt-in sample, not a probability sample). \
         Means of scales use a t interval; shares use the Wilson interval; design effects come from the weights \
         (Kish). Non-substantive answers (\"don't know\", \"prefer not to say\") count in no base. \
         Cells with fewer respondents than the survey's minimum are suppressed.\n\n\
         ## Weights\n\n\
         `base_weight` is the weight a response came with. `weight` is the final weight the series use: \
         {method} {targets}\n\n\
         ## Missing values\n\n\
         An empty cell is no answer. The schema's missing values ({missing}) are read as missing in \
         every column, so that scale columns are numbers; \"don't know\" and \"prefer not to say\" \
         then look like no answer: read the file as text to keep them apart (the codebook lists every code).\n\n\
         ## Loading\n\n\
         pandas:\n\n\
         ```python\n\
         import json, pandas as pd\n\
         schema = json.load(open(\"datapackage.json\"))[\"resources\"][0][\"schema\"]\n\
         kinds = {{\"integer\": \"Int64\", \"number\": \"float64\", \"string\": \"string\"}}\n\
         df = pd.read_csv(\"responses.csv\", keep_default_na=False, na_values=schema[\"missingValues\"],\n\
         \x20                dtype={{f[\"name\"]: kinds[f[\"type\"]] for f in schema[\"fields\"] if f[\"type\"] in kinds}},\n\
         \x20                parse_dates=[\"submitted_date\"])\n\
         ```\n\n\
         R (readr):\n\n\
         ```r\n\
         library(readr)\n\
         df <- read_csv(\"responses.csv\", na = c({missing_r}),\n\
         \x20              col_types = cols(submitted_date = col_date(), base_weight = col_double(),\n\
         \x20                               weight = col_double(), .default = col_character()))\n\
         ```\n\n\
         Then convert the scale columns with `as.integer()`; the codebook lists them (kind `scale`).\n",
        title = def.title.en,
        slug = def.slug,
        method = codebook::WEIGHTING_METHOD,
        missing = missing.join(", "),
        missing_r = missing.join(", "),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::targets::StoredTargets;
    use crate::survey::{Access, Status, Survey, demo};

    fn loaded() -> Loaded {
        Loaded {
            survey: Survey {
                id: 1,
                status: Status::Open,
                access: Access::Open,
                synthetic: true,
                definition: demo::definition(),
            },
            targets: StoredTargets {
                shares: demo::targets(),
                source: Some(demo::TARGETS_SOURCE.into()),
            },
            waves: Vec::new(),
        }
    }

    #[test]
    fn the_descriptor_types_every_column_and_names_every_file() {
        let loaded = loaded();
        let def = &loaded.survey.definition;
        let book = Codebook::new(def, &[], &loaded.targets);
        let d = descriptor(
            &loaded,
            &book,
            NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
        );
        let resources = d["resources"].as_array().unwrap();
        let schema = &resources[0]["schema"];
        let fields = schema["fields"].as_array().unwrap();
        assert_eq!(fields.len(), Layout::new(def, false).header().len());
        let kind = |name: &str| {
            fields.iter().find(|f| f["name"] == name).unwrap()["type"]
                .as_str()
                .unwrap()
                .to_string()
        };
        assert_eq!(kind("portal_trust"), "integer");
        assert_eq!(kind("concerns__none"), "integer");
        assert_eq!(kind("portal_account"), "string");
        assert_eq!(kind("submitted_date"), "date");
        assert_eq!(kind("weight"), "number");
        assert_eq!(schema["primaryKey"], json!(["response_id"]));
        assert_eq!(schema["missingValues"], json!(["", "dk", "na"]));
        let paths: Vec<&str> = resources
            .iter()
            .map(|r| r["path"].as_str().unwrap())
            .collect();
        assert!(paths.contains(&"series/portal_trust.csv"));
        assert!(paths.contains(&"series/concerns.csv"));
        assert!(
            !paths
                .iter()
                .any(|p| p.contains("age_band") || p.contains("comment"))
        );
    }

    #[test]
    fn choice_questions_get_a_share_per_substantive_option() {
        let def = demo::definition();
        let q = def.question("portal_account").unwrap();
        let queries = series_queries(q, true);
        assert_eq!(queries.len(), 3);
        assert!(
            queries
                .iter()
                .all(|q| q["metric"] == "share" && q["interval"] == "month")
        );
        let scale = series_queries(def.question("portal_trust").unwrap(), false);
        assert_eq!(scale[0]["metric"], "mean");
        assert_eq!(scale[0]["weighted"], "false");
    }

    #[test]
    fn the_readme_cites_explains_weights_and_says_synthetic() {
        let loaded = loaded();
        let book = Codebook::new(&loaded.survey.definition, &[], &loaded.targets);
        let text = readme(
            &loaded,
            &book,
            NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
            7,
        );
        for part in [
            "## Citation",
            "census",
            "synthetic",
            "read_csv",
            "pd.read_csv",
            "7 responses",
        ] {
            assert!(text.contains(part), "{part}");
        }
    }
}
