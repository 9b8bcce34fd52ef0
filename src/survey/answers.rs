//! Checking a respondent's answers against the questions, for the JSON API and
//! the HTML form alike. Valid answers are kept in one canonical JSON shape:
//! scale → integer or a non-substantive code, yes_no → bool, single_choice →
//! code, multi_choice → codes in option order, text → string.

use std::collections::HashSet;

use serde_json::{Map, Value};

use crate::survey::{Lang, QuestionDef, QuestionKind, SurveyDefinition};

/// What is wrong with one answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    UnknownQuestion,
    Required,
    WrongType,
    OutOfRange,
    UnknownOption,
    DuplicateOption,
    ExclusiveCombined,
    EmptyChoice,
    TooLong,
}

impl Problem {
    pub fn code(self) -> &'static str {
        match self {
            Problem::UnknownQuestion => "unknown_question",
            Problem::Required => "required",
            Problem::WrongType => "wrong_type",
            Problem::OutOfRange => "out_of_range",
            Problem::UnknownOption => "unknown_option",
            Problem::DuplicateOption => "duplicate_option",
            Problem::ExclusiveCombined => "exclusive_combined",
            Problem::EmptyChoice => "empty_choice",
            Problem::TooLong => "too_long",
        }
    }

    /// What a respondent reads next to the question.
    pub fn message(self, lang: Lang, question: Option<&QuestionDef>) -> String {
        let limit = question.map(|q| q.text_limit()).unwrap_or_default();
        let range = question
            .and_then(|q| q.scale.as_ref())
            .map(|s| (s.min, s.max))
            .unwrap_or_default();
        match (self, lang) {
            (Problem::UnknownQuestion, Lang::En) => "This survey has no such question.".into(),
            (Problem::UnknownQuestion, Lang::Ru) => "В этой анкете нет такого вопроса.".into(),
            (Problem::Required, Lang::En) => "Please answer this question.".into(),
            (Problem::Required, Lang::Ru) => "Пожалуйста, ответьте на этот вопрос.".into(),
            (Problem::WrongType, Lang::En) => "This answer has the wrong form.".into(),
            (Problem::WrongType, Lang::Ru) => "Ответ в неверном формате.".into(),
            (Problem::OutOfRange, Lang::En) => {
                format!("Choose a value from {} to {}.", range.0, range.1)
            }
            (Problem::OutOfRange, Lang::Ru) => {
                format!("Выберите значение от {} до {}.", range.0, range.1)
            }
            (Problem::UnknownOption, Lang::En) => "Choose one of the offered answers.".into(),
            (Problem::UnknownOption, Lang::Ru) => "Выберите один из предложенных ответов.".into(),
            (Problem::DuplicateOption, Lang::En) => "An answer is chosen twice.".into(),
            (Problem::DuplicateOption, Lang::Ru) => "Один ответ выбран дважды.".into(),
            (Problem::ExclusiveCombined, Lang::En) => {
                "\"None of these\" cannot be combined with other answers.".into()
            }
            (Problem::ExclusiveCombined, Lang::Ru) => {
                "«Ничего из перечисленного» нельзя сочетать с другими ответами.".into()
            }
            (Problem::EmptyChoice, Lang::En) => "Choose at least one answer.".into(),
            (Problem::EmptyChoice, Lang::Ru) => "Выберите хотя бы один ответ.".into(),
            (Problem::TooLong, Lang::En) => format!("Please keep it under {limit} characters."),
            (Problem::TooLong, Lang::Ru) => format!("Не более {limit} символов."),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerProblem {
    pub question: String,
    pub problem: Problem,
}

/// Answers that passed validation, in canonical form, ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidAnswers(Map<String, Value>);

impl ValidAnswers {
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.0).expect("JSON values always serialize")
    }

    pub fn get(&self, code: &str) -> Option<&Value> {
        self.0.get(code)
    }

    pub fn as_map(&self) -> &Map<String, Value> {
        &self.0
    }

    pub fn into_map(self) -> Map<String, Value> {
        self.0
    }
}

/// Checks every answer and every question; returns all problems at once, in
/// question order (unknown questions last).
pub fn validate(
    survey: &SurveyDefinition,
    answers: &Map<String, Value>,
) -> Result<ValidAnswers, Vec<AnswerProblem>> {
    validate_with(survey, answers.clone(), false)
}

/// As `validate`, for a record stored before (an import): answers to retired
/// questions are kept, and no question is required (a question made required
/// later has no answer in older records, which must still round-trip). Takes
/// the answers, so that values already in canonical form move instead of copying.
pub fn validate_record(
    survey: &SurveyDefinition,
    answers: Map<String, Value>,
) -> Result<ValidAnswers, Vec<AnswerProblem>> {
    validate_with(survey, answers, true)
}

fn validate_with(
    survey: &SurveyDefinition,
    mut answers: Map<String, Value>,
    stored_record: bool,
) -> Result<ValidAnswers, Vec<AnswerProblem>> {
    let mut valid = Map::new();
    let mut problems = Vec::new();
    let asked = |q: &&QuestionDef| stored_record || !q.retired;
    for question in survey.questions.iter().filter(asked) {
        let entry = answers
            .remove_entry(&question.code)
            .filter(|(_, v)| !is_unanswered(v));
        let outcome = match &entry {
            None if question.required && !stored_record => Err(Problem::Required),
            None => continue,
            Some((_, value)) => check(question, value),
        };
        match (outcome, entry) {
            (Ok(Some(canonical)), Some((code, _))) => {
                valid.insert(code, canonical);
            }
            (Ok(None), Some((code, value))) => {
                valid.insert(code, value);
            }
            (Ok(_), None) => {}
            (Err(problem), _) => problems.push(AnswerProblem {
                question: question.code.clone(),
                problem,
            }),
        }
    }
    // What is left answers no question that is asked (keys come sorted).
    problems.extend(answers.into_iter().map(|(code, _)| AnswerProblem {
        question: code,
        problem: Problem::UnknownQuestion,
    }));
    if problems.is_empty() {
        Ok(ValidAnswers(valid))
    } else {
        Err(problems)
    }
}

/// `null` and blank text count as no answer; an empty array does not (it is an error).
fn is_unanswered(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        _ => false,
    }
}

/// Checks one answer: `Ok(None)` when the value is valid as given (already
/// canonical), `Ok(Some(canonical))` when it must be rewritten.
fn check(question: &QuestionDef, value: &Value) -> Result<Option<Value>, Problem> {
    match question.kind {
        QuestionKind::Scale => {
            let scale = question.scale.as_ref().ok_or(Problem::WrongType)?;
            match value {
                Value::Number(n) => {
                    let v = n.as_i64().ok_or(Problem::WrongType)?;
                    if scale.contains(v) {
                        Ok(None)
                    } else {
                        Err(Problem::OutOfRange)
                    }
                }
                Value::String(code) => match question.option(code) {
                    Some(option) if option.non_substantive => Ok(None),
                    _ => Err(Problem::UnknownOption),
                },
                _ => Err(Problem::WrongType),
            }
        }
        QuestionKind::YesNo => match value {
            Value::Bool(_) => Ok(None),
            _ => Err(Problem::WrongType),
        },
        QuestionKind::SingleChoice => match value {
            Value::String(code) if question.option(code).is_some() => Ok(None),
            Value::String(_) => Err(Problem::UnknownOption),
            _ => Err(Problem::WrongType),
        },
        QuestionKind::MultiChoice => {
            let Value::Array(items) = value else {
                return Err(Problem::WrongType);
            };
            if items.is_empty() {
                return Err(Problem::EmptyChoice);
            }
            let mut chosen = HashSet::new();
            for item in items {
                let code = item.as_str().ok_or(Problem::WrongType)?;
                if question.option(code).is_none() {
                    return Err(Problem::UnknownOption);
                }
                if !chosen.insert(code) {
                    return Err(Problem::DuplicateOption);
                }
            }
            let exclusive_chosen = question
                .options
                .iter()
                .any(|o| o.exclusive && chosen.contains(o.code.as_str()));
            if exclusive_chosen && chosen.len() > 1 {
                return Err(Problem::ExclusiveCombined);
            }
            Ok(Some(Value::Array(
                question
                    .options
                    .iter()
                    .filter(|o| chosen.contains(o.code.as_str()))
                    .map(|o| Value::String(o.code.clone()))
                    .collect(),
            )))
        }
        QuestionKind::Text => match value {
            Value::String(text) if text.chars().count() > question.text_limit() => {
                Err(Problem::TooLong)
            }
            Value::String(text) if text.trim().len() == text.len() => Ok(None),
            Value::String(text) => Ok(Some(Value::String(text.trim().to_string()))),
            _ => Err(Problem::WrongType),
        },
    }
}

/// Turns the fields of a posted form into the JSON shape `validate` takes. Field
/// names are question codes; checkboxes repeat their name. Returns the answers
/// and the fields that are not questions (hidden fields).
pub fn from_form(
    survey: &SurveyDefinition,
    fields: &[(String, String)],
) -> (Map<String, Value>, Vec<(String, String)>) {
    let mut answers = Map::new();
    let mut other = Vec::new();
    for (name, raw) in fields {
        let Some(question) = survey.question(name).filter(|q| !q.retired) else {
            other.push((name.clone(), raw.clone()));
            continue;
        };
        if question.kind != QuestionKind::Text && raw.trim().is_empty() {
            continue;
        }
        let value = match question.kind {
            QuestionKind::Scale => raw
                .parse::<i64>()
                .map(Value::from)
                .unwrap_or_else(|_| Value::String(raw.clone())),
            QuestionKind::YesNo => match raw.as_str() {
                "yes" => Value::Bool(true),
                "no" => Value::Bool(false),
                _ => Value::String(raw.clone()),
            },
            QuestionKind::MultiChoice => {
                let entry = answers
                    .entry(name.clone())
                    .or_insert_with(|| Value::Array(Vec::new()));
                if let Value::Array(items) = entry {
                    items.push(Value::String(raw.clone()));
                }
                continue;
            }
            QuestionKind::SingleChoice | QuestionKind::Text => Value::String(raw.clone()),
        };
        answers.insert(name.clone(), value);
    }
    (answers, other)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::survey::demo;
    use serde_json::json;

    fn survey() -> SurveyDefinition {
        demo::definition()
    }

    fn problems(answers: Value) -> Vec<(String, &'static str)> {
        let map = answers.as_object().unwrap().clone();
        match validate(&survey(), &map) {
            Ok(_) => vec![],
            Err(list) => list
                .into_iter()
                .map(|p| (p.question, p.problem.code()))
                .collect(),
        }
    }

    fn minimal() -> Value {
        json!({"portal_account": "active", "portal_trust": 4})
    }

    fn with(key: &str, value: Value) -> Value {
        let mut answers = minimal();
        answers[key] = value;
        answers
    }

    #[test]
    fn a_minimal_response_is_valid() {
        assert!(problems(minimal()).is_empty());
    }

    #[test]
    fn each_kind_of_mistake_is_named() {
        let one = |key: &str, value: Value| problems(with(key, value));
        assert_eq!(
            one("portal_trust", json!(6)),
            [("portal_trust".into(), "out_of_range")]
        );
        assert_eq!(
            one("portal_trust", json!(4.5)),
            [("portal_trust".into(), "wrong_type")]
        );
        assert_eq!(
            one("portal_trust", json!("4")),
            [("portal_trust".into(), "unknown_option")]
        );
        assert_eq!(one("evote_count_trust", json!(0)), []);
        assert_eq!(
            one("evote_count_trust", json!(11)),
            [("evote_count_trust".into(), "out_of_range")]
        );
        assert_eq!(
            one("portal_account", json!("maybe")),
            [("portal_account".into(), "unknown_option")]
        );
        assert_eq!(
            one("portal_account", json!(1)),
            [("portal_account".into(), "wrong_type")]
        );
        assert_eq!(
            one("concerns", json!([])),
            [("concerns".into(), "empty_choice")]
        );
        assert_eq!(
            one("concerns", json!("data_leak")),
            [("concerns".into(), "wrong_type")]
        );
        assert_eq!(
            one("concerns", json!(["data_leak", "data_leak"])),
            [("concerns".into(), "duplicate_option")]
        );
        assert_eq!(
            one("concerns", json!(["none", "data_leak"])),
            [("concerns".into(), "exclusive_combined")]
        );
        assert_eq!(
            one("comment", json!("x".repeat(1001))),
            [("comment".into(), "too_long")]
        );
        assert_eq!(one("comment", json!("ж".repeat(1000))), []);
        assert_eq!(
            one("shoe_size", json!(42)),
            [("shoe_size".into(), "unknown_question")]
        );
        assert_eq!(
            problems(json!({"portal_trust": "dk"})),
            [("portal_account".into(), "required")]
        );
    }

    #[test]
    fn valid_answers_are_stored_in_canonical_form() {
        let answers = with("concerns", json!(["surveillance", "data_leak"]));
        let valid = validate(&survey(), answers.as_object().unwrap()).unwrap();
        assert_eq!(
            valid.get("concerns"),
            Some(&json!(["data_leak", "surveillance"]))
        );
        assert_eq!(valid.get("comment"), None);
    }

    #[test]
    fn form_fields_become_typed_answers() {
        let fields: Vec<(String, String)> = [
            ("submission_id", "abc"),
            ("portal_account", "active"),
            ("portal_trust", "dk"),
            ("leak_worry", "5"),
            ("concerns", "data_leak"),
            ("concerns", "surveillance"),
            ("summons_effect", ""),
            ("comment", "  "),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let (answers, other) = from_form(&survey(), &fields);
        assert_eq!(
            other,
            vec![("submission_id".to_string(), "abc".to_string())]
        );
        assert_eq!(answers["portal_trust"], json!("dk"));
        assert_eq!(answers["leak_worry"], json!(5));
        assert_eq!(answers["concerns"], json!(["data_leak", "surveillance"]));
        assert!(!answers.contains_key("summons_effect"));
        assert!(validate(&survey(), &answers).is_ok());
    }
}

/// Properties of the two ways answers come in: any input is answered (never a
/// panic), what a respondent can send as a form means what it says, and a
/// mistake is named at its question.
#[cfg(test)]
mod properties {
    use super::*;
    use crate::survey::{Localized, OptionDef, demo};
    use proptest::prelude::*;
    use serde_json::json;

    /// The demo's questions, and a yes/no question (the demo has none), so
    /// that every kind is asked.
    fn survey() -> SurveyDefinition {
        let mut def = demo::definition();
        let label = |t: &str| Localized {
            ru: t.into(),
            en: t.into(),
        };
        def.questions.push(QuestionDef {
            code: "uses_app".into(),
            kind: QuestionKind::YesNo,
            role: Default::default(),
            required: false,
            prompt: label("Do you use the app?"),
            scale: None,
            options: Vec::new(),
            max_length: None,
            retired: false,
        });
        def.validate().expect("a valid definition");
        def
    }

    /// One valid answer to `q`, in the form the JSON API takes.
    fn answer(q: &QuestionDef) -> BoxedStrategy<Value> {
        let codes = |filter: fn(&OptionDef) -> bool| -> Vec<String> {
            q.options
                .iter()
                .filter(|o| filter(o))
                .map(|o| o.code.clone())
                .collect()
        };
        match q.kind {
            QuestionKind::Scale => {
                let s = q.scale.as_ref().expect("a scale");
                let extras = codes(|o| o.non_substantive);
                prop_oneof![
                    3 => (s.min..=s.max).prop_map(Value::from),
                    1 => proptest::sample::select(extras).prop_map(Value::from),
                ]
                .boxed()
            }
            QuestionKind::YesNo => any::<bool>().prop_map(Value::from).boxed(),
            QuestionKind::SingleChoice => proptest::sample::select(codes(|_| true))
                .prop_map(Value::from)
                .boxed(),
            QuestionKind::MultiChoice => {
                let plain = codes(|o| !o.exclusive);
                let exclusive = codes(|o| o.exclusive);
                let n = plain.len();
                prop_oneof![
                    4 => proptest::sample::subsequence(plain, 1..=n)
                        .prop_shuffle()
                        .prop_map(|c| json!(c)),
                    1 => proptest::sample::select(exclusive).prop_map(|c| json!([c])),
                ]
                .boxed()
            }
            QuestionKind::Text => "\\PC{1,40}"
                .prop_map(|t| t.trim().to_string())
                .prop_filter("not blank", |t| !t.is_empty())
                .prop_map(Value::from)
                .boxed(),
        }
    }

    /// A valid answer set: every required question, any of the others.
    fn answers() -> impl Strategy<Value = Map<String, Value>> {
        let parts: Vec<_> = survey()
            .questions
            .iter()
            .map(|q| {
                let code = q.code.clone();
                let value = answer(q);
                if q.required {
                    value.prop_map(Some).boxed()
                } else {
                    proptest::option::of(value).boxed()
                }
                .prop_map(move |v| v.map(|v| (code.clone(), v)))
            })
            .collect();
        parts.prop_map(|pairs| pairs.into_iter().flatten().collect())
    }

    /// The fields a browser posts for these answers (checkboxes repeat their
    /// name), with the hidden fields of the form among them.
    fn form_fields(answers: &Map<String, Value>) -> Vec<(String, String)> {
        let mut fields = vec![("submission_id".to_string(), "abc".to_string())];
        for (code, value) in answers {
            let raws: Vec<String> = match value {
                Value::Bool(true) => vec!["yes".into()],
                Value::Bool(false) => vec!["no".into()],
                Value::Number(n) => vec![n.to_string()],
                Value::String(s) => vec![s.clone()],
                Value::Array(items) => items
                    .iter()
                    .map(|i| i.as_str().unwrap().to_string())
                    .collect(),
                other => panic!("not an answer: {other}"),
            };
            fields.extend(raws.into_iter().map(|raw| (code.clone(), raw)));
        }
        fields.push(("form_token".to_string(), "1.x".to_string()));
        fields
    }

    /// Any JSON value, a few levels deep.
    fn any_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(|f| json!(f)),
            "\\PC{0,12}".prop_map(Value::from),
            Just(json!("dk")),
            Just(json!("none")),
        ];
        leaf.prop_recursive(3, 24, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map("\\PC{0,8}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// A question code of the survey, or anything else.
    fn field_name() -> impl Strategy<Value = String> {
        let codes: Vec<String> = survey().questions.iter().map(|q| q.code.clone()).collect();
        prop_oneof![
            proptest::sample::select(codes),
            "\\PC{0,12}",
            Just("submission_id".to_string()),
        ]
    }

    proptest! {
        #[test]
        fn a_valid_answer_set_sent_as_a_form_body_reads_back_the_same(
            answers in answers(),
            seed in any::<u64>(),
        ) {
            let def = survey();
            let expected = validate(&def, &answers).expect("generated answers are valid");
            let mut fields = form_fields(&answers);
            // A browser may send the fields in any order.
            let len = fields.len();
            fields.rotate_left((seed as usize) % len);
            let body = serde_urlencoded::to_string(&fields).unwrap();
            let decoded: Vec<(String, String)> =
                serde_urlencoded::from_bytes(body.as_bytes()).unwrap();
            let (read, hidden) = from_form(&def, &decoded);
            let mut hidden_names: Vec<&str> = hidden.iter().map(|(k, _)| k.as_str()).collect();
            hidden_names.sort();
            prop_assert_eq!(hidden_names, ["form_token", "submission_id"]);
            let valid = validate(&def, &read).map_err(|p| TestCaseError::fail(format!("{p:?}")))?;
            prop_assert_eq!(valid, expected);
        }

        #[test]
        fn any_form_is_read_without_panicking_and_keeps_every_other_field(
            fields in prop::collection::vec((field_name(), "\\PC{0,16}"), 0..24),
        ) {
            let def = survey();
            let (answers, other) = from_form(&def, &fields);
            // Fields that are no question come back as they were, in order.
            let expected: Vec<(String, String)> = fields
                .iter()
                .filter(|(name, _)| def.question(name).is_none())
                .cloned()
                .collect();
            prop_assert_eq!(other, expected);
            for code in answers.keys() {
                prop_assert!(def.question(code).is_some());
            }
            // Whatever was typed, validation answers (and names only questions
            // that were asked or sent).
            if let Err(problems) = validate(&def, &answers) {
                for p in problems {
                    prop_assert!(def.question(&p.question).is_some(), "{:?}", p);
                }
            }
        }

        #[test]
        fn any_json_answers_are_judged_without_panicking_each_problem_at_a_sent_or_required_question(
            answers in prop::collection::btree_map(field_name(), any_json(), 0..12),
        ) {
            let def = survey();
            let answers: Map<String, Value> = answers.into_iter().collect();
            match validate(&def, &answers) {
                Ok(valid) => {
                    for code in valid.as_map().keys() {
                        prop_assert!(answers.contains_key(code));
                    }
                }
                Err(problems) => {
                    prop_assert!(!problems.is_empty());
                    for p in problems {
                        let required = def.question(&p.question).is_some_and(|q| q.required);
                        prop_assert!(
                            answers.contains_key(&p.question) || (required && p.problem == Problem::Required),
                            "{:?}", p
                        );
                    }
                }
            }
        }

        #[test]
        fn one_wrong_answer_is_named_at_its_question_and_nowhere_else(
            answers in answers(),
            pick in any::<prop::sample::Index>(),
            wrong in prop_oneof![
                Just(json!(99)),
                Just(json!(-1)),
                Just(json!("no_such_option")),
                Just(json!([])),
                Just(json!({"a": 1})),
                Just(json!(2.5)),
                Just(json!("x".repeat(1001))),
            ],
        ) {
            let def = survey();
            let question = &def.questions[pick.index(def.questions.len())];
            let mut answers = answers;
            answers.insert(question.code.clone(), wrong.clone());
            // A value some kinds take: skip it where it is a valid answer.
            prop_assume!(check(question, &wrong).is_err());
            let problems = validate(&def, &answers).expect_err("a wrong answer is refused");
            let named: Vec<&str> = problems.iter().map(|p| p.question.as_str()).collect();
            prop_assert_eq!(named, [question.code.as_str()]);
        }
    }
}
