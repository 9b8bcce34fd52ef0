//! Researchers' exports and the import that reads microdata back, as pure
//! formats: microdata rows, the codebook, the data package's descriptor and
//! README, and the parsing of an import. `downloads` runs them against the
//! store.

pub mod codebook;
pub mod datapackage;
pub mod import;
pub mod microdata;

use std::collections::HashMap;

use chrono::NaiveDate;

use crate::analysis::params::{date_in_range, first_date, last_date, unknown_parameters};
use crate::db::surveys::Wave;
use crate::error::{AppError, AppResult, Detail};

/// Which responses, and whether free text goes out.
#[derive(Debug, Clone)]
pub struct MicrodataOptions {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// A wave by id (the filter names it by label).
    pub wave: Option<i32>,
    pub include_text: bool,
}

/// The query of the microdata export, as the OpenAPI document describes it
/// (a test keeps it in step with `MICRODATA_PARAMS`). Never built.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct MicrodataQuery {
    /// First submitted date, inclusive (1900-01-01 to 2199-12-31).
    from: Option<NaiveDate>,
    /// Last submitted date, inclusive (1900-01-01 to 2199-12-31).
    to: Option<NaiveDate>,
    /// A wave's label.
    wave: Option<String>,
    /// Add the free-text columns (default false).
    include_text: Option<bool>,
}

/// The query parameters of the microdata export.
pub const MICRODATA_PARAMS: [&str; 4] = ["from", "to", "wave", "include_text"];

impl MicrodataOptions {
    /// Every response, no free text.
    pub fn everything() -> MicrodataOptions {
        MicrodataOptions {
            from: first_date(),
            to: last_date(),
            wave: None,
            include_text: false,
        }
    }

    /// `from`, `to` (dates), `wave` (a label) and `include_text`
    /// (true|false); every problem at once (422).
    pub fn parse(query: &HashMap<String, String>, waves: &[Wave]) -> AppResult<MicrodataOptions> {
        let mut problems = Vec::new();
        let mut date = |name: &str, default: NaiveDate| match query.get(name) {
            None => default,
            Some(raw) => match NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
                Ok(d) if date_in_range(d) => d,
                _ => {
                    problems.push(Detail::field(
                        name,
                        "invalid_date",
                        "a date YYYY-MM-DD from 1900-01-01 to 2199-12-31",
                    ));
                    default
                }
            },
        };
        let from = date("from", first_date());
        let to = date("to", last_date());
        let wave = match query.get("wave") {
            None => None,
            Some(label) => match waves.iter().find(|w| &w.label == label) {
                Some(w) => Some(w.id),
                None => {
                    problems.push(Detail::field(
                        "wave",
                        "unknown_wave",
                        format!("no wave {label:?}"),
                    ));
                    None
                }
            },
        };
        let include_text = match query.get("include_text").map(String::as_str) {
            None | Some("false") => false,
            Some("true") => true,
            Some(_) => {
                problems.push(Detail::field("include_text", "invalid", "true or false"));
                false
            }
        };
        problems.extend(unknown_parameters(query, &MICRODATA_PARAMS));
        if from > to {
            problems.push(Detail::field(
                "from",
                "after_to",
                "from must not be after to",
            ));
        }
        if problems.is_empty() {
            Ok(MicrodataOptions {
                from,
                to,
                wave,
                include_text,
            })
        } else {
            Err(AppError::invalid(
                "the parameters do not fit this survey",
                problems,
            ))
        }
    }
}

/// 422 naming every parameter given to a download that takes none.
pub fn no_parameters(query: &HashMap<String, String>) -> AppResult<()> {
    let problems = unknown_parameters(query, &[]);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(AppError::invalid(
            "this download takes no parameters",
            problems,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_query_names_what_the_microdata_export_reads() {
        use utoipa::IntoParams;
        let documented: Vec<String> = MicrodataQuery::into_params(|| None)
            .into_iter()
            .map(|p| p.name)
            .collect();
        assert_eq!(documented, MICRODATA_PARAMS);
    }
}
