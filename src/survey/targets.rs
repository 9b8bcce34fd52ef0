//! Weighting targets: population shares per option of demographic questions.

use std::collections::BTreeMap;

use crate::error::Detail;
use crate::survey::{QuestionKind, Role, SurveyDefinition};

/// dimension → option → share
pub type Targets = BTreeMap<String, BTreeMap<String, f64>>;

/// How far a margin's shares may stray from 1.
pub const SUM_TOLERANCE: f64 = 1e-6;

/// Known demographic codes, substantive options only, shares > 0 summing to 1.
pub fn validate(def: &SurveyDefinition, targets: &Targets) -> Result<(), Vec<Detail>> {
    let mut problems = Vec::new();
    for (dimension, shares) in targets {
        let Some(question) = def
            .question(dimension)
            .filter(|q| q.role == Role::Demographic && q.kind == QuestionKind::SingleChoice)
        else {
            problems.push(Detail::field(
                dimension.clone(),
                "unknown_dimension",
                "not a demographic question of this survey",
            ));
            continue;
        };
        for (option, share) in shares {
            let field = format!("{dimension}.{option}");
            match question.option(option) {
                None => problems.push(Detail::field(field, "unknown_option", "no such option")),
                Some(o) if o.non_substantive => problems.push(Detail::field(
                    field,
                    "non_substantive",
                    "\"prefer not to say\"-style options take no target",
                )),
                Some(_) if !(share.is_finite() && *share > 0.0 && *share <= 1.0) => problems.push(
                    Detail::field(field, "out_of_range", "a share must be > 0 and <= 1"),
                ),
                Some(_) => {}
            }
        }
        let sum: f64 = shares.values().sum();
        if (sum - 1.0).abs() > SUM_TOLERANCE {
            problems.push(Detail::field(
                dimension.clone(),
                "sum_not_one",
                format!("the shares sum to {sum}, not 1 (within {SUM_TOLERANCE})"),
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::survey::demo;

    fn targets(json: serde_json::Value) -> Targets {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn the_demo_targets_are_valid() {
        validate(&demo::definition(), &demo::targets()).unwrap();
    }

    #[test]
    fn each_bad_target_is_named() {
        let bad = targets(serde_json::json!({
            "settlement": {"city": 0.5, "town": 0.3, "village": 0.1},
            "region": {"central": 0.5, "na": 0.5},
            "portal_trust": {"1": 1.0},
            "age_band": {"18-24": 1.5, "mars": -0.5}
        }));
        let found: Vec<String> = validate(&demo::definition(), &bad)
            .unwrap_err()
            .into_iter()
            .map(|d| format!("{}:{}", d.field.unwrap(), d.problem))
            .collect();
        assert_eq!(
            found,
            [
                "age_band.18-24:out_of_range",
                "age_band.mars:unknown_option",
                "portal_trust:unknown_dimension",
                "region.na:non_substantive",
                "settlement:sum_not_one"
            ]
        );
    }

    #[test]
    fn a_sum_within_one_millionth_is_accepted() {
        let ok = targets(
            serde_json::json!({"settlement": {"city": 0.5, "town": 0.3, "village": 0.2000005}}),
        );
        assert!(validate(&demo::definition(), &ok).is_ok());
    }
}
