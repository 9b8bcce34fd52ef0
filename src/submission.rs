//! Taking one response: the rules shared by the JSON API and the HTML form.
//! The order matters: a repeated submission id is answered before anything
//! else, so a retry after a lost acknowledgement always gets its receipt.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{NaiveDate, Utc};
use diesel::Connection;
use rustc_hash::FxHashMap as HashMap;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::db::aggregates::{self, Pending};
use crate::db::invitations::{self, CodeState};
use crate::db::responses::{self, NewResponse, Receipt, Stored};
use crate::db::{DbConnection, surveys, write_transaction};
use crate::stats::sums::Sums;
use crate::survey::answers::{self, AnswerProblem};
use crate::survey::{Access, Lang, Status, Survey};

pub struct Submission {
    pub submission_id: Option<Uuid>,
    pub lang: Option<Lang>,
    /// The invitation code, for a survey taken by invitation.
    pub invitation: Option<String>,
    pub answers: Map<String, Value>,
}

#[derive(Debug, Clone)]
pub enum Refusal {
    Closed,
    /// The survey has waves and none is open today.
    NoOpenWave {
        next_opens: Option<NaiveDate>,
    },
    InvitationRequired,
    InvitationUnknown,
    InvitationSpent,
    /// The code belongs to another wave than the one open today.
    InvitationWrongWave,
    Invalid(Vec<AnswerProblem>),
    /// The store failed (the message of its error: errors are not `Clone`).
    Store(String),
    /// The store cannot be reached or cannot take writes now.
    Unavailable(String),
}

/// Today in the survey's time zone: the only time a response keeps.
pub fn local_today(survey: &Survey) -> NaiveDate {
    Utc::now()
        .with_timezone(&survey.definition.time_zone())
        .date_naive()
}

/// A submission whose answers passed validation: what the writer stores.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The survey as the request saw it; the writer checks it is current.
    pub survey: Arc<Survey>,
    submission_id: Option<String>,
    lang: Lang,
    invitation: Option<String>,
    valid: answers::ValidAnswers,
}

impl Checked {
    pub fn submission_id(&self) -> Option<&str> {
        self.submission_id.as_deref()
    }
}

/// Checks the answers against the survey (no store needed: run it anywhere,
/// in parallel); the rules that need the store are applied when it is stored.
pub fn check(survey: &Arc<Survey>, submission: Submission) -> Result<Checked, Refusal> {
    let valid =
        answers::validate(&survey.definition, &submission.answers).map_err(Refusal::Invalid)?;
    Ok(Checked {
        survey: Arc::clone(survey),
        submission_id: submission.submission_id.map(|id| id.to_string()),
        lang: submission.lang.unwrap_or(survey.definition.default_lang),
        invitation: submission.invitation,
        valid,
    })
}

/// Stores checked submissions in one transaction and says, for each in
/// order, whether it was stored, repeated or refused. Every rule is exact
/// inside a batch: a submission id stored before, or earlier in the batch,
/// is a repeat; a code spent before, or earlier in the batch, is refused.
///
/// What the store keeps is made not to tell who came when: the codes are
/// spent in a savepoint of their own and in code order, the responses are
/// inserted in another savepoint in the order of their random ids, and the aggregates in a
/// third (on PostgreSQL each savepoint writes with its own transaction id, so
/// a row's `xmin` never equals a spent code's).
pub fn store_batch(
    conn: &mut DbConnection,
    batch: &[&Checked],
) -> diesel::QueryResult<Vec<Result<Stored, Refusal>>> {
    write_transaction(conn, |conn| {
        // First a write: on SQLite it takes the write lock at once, so every
        // read below sees the latest commit of any process.
        let mut touched: Vec<i32> = batch.iter().map(|c| c.survey.id).collect();
        touched.sort_unstable();
        touched.dedup();
        for survey_id in &touched {
            aggregates::bump_version(conn, *survey_id)?;
        }
        let mut states = BTreeMap::new();
        for survey_id in &touched {
            let ids: Vec<&str> = batch
                .iter()
                .filter(|c| c.survey.id == *survey_id)
                .filter_map(|c| c.submission_id())
                .collect();
            let state = SurveyState {
                survey: surveys::find_by_id(conn, *survey_id)?,
                waves: surveys::waves(conn, *survey_id)?,
                stored: responses::find_by_submissions(conn, *survey_id, &ids)?,
            };
            states.insert(*survey_id, state);
        }
        // Was each request's view of its survey current? (Asked once per view.)
        let mut current_view: HashMap<*const Survey, bool> = HashMap::default();

        let mut outcomes: Vec<Option<Result<Stored, Refusal>>> = vec![None; batch.len()];
        // Accepted so far: (index in batch, the response row, its answers).
        let mut accepted: Vec<(usize, NewResponse, Cow<'_, answers::ValidAnswers>)> = Vec::new();
        let mut first_of: HashMap<(i32, &str), usize> = HashMap::default();
        let mut twins: Vec<(usize, usize)> = Vec::new();
        for (i, checked) in batch.iter().enumerate() {
            let state = &states[&checked.survey.id];
            if let Some(sid) = checked.submission_id() {
                if let Some(receipt) = state.stored.get(sid) {
                    outcomes[i] = Some(Ok(Stored::Repeated(receipt.clone())));
                    continue;
                }
                if let Some(&first) = first_of.get(&(checked.survey.id, sid)) {
                    twins.push((i, first));
                    continue;
                }
            }
            let Some(survey) = &state.survey else {
                outcomes[i] = Some(Err(Refusal::Closed));
                continue;
            };
            // The survey changed since the request read it: its answers are
            // checked again against the definition stored now.
            let current = *current_view
                .entry(Arc::as_ptr(&checked.survey))
                .or_insert_with(|| checked.survey.definition == survey.definition);
            let valid = if current {
                Cow::Borrowed(&checked.valid)
            } else {
                match answers::validate(&survey.definition, checked.valid.as_map()) {
                    Ok(valid) => Cow::Owned(valid),
                    Err(problems) => {
                        outcomes[i] = Some(Err(Refusal::Invalid(problems)));
                        continue;
                    }
                }
            };
            let today = local_today(survey);
            match admit(conn, checked, survey, &state.waves, today)? {
                Ok(wave_id) => {
                    if let Some(sid) = checked.submission_id() {
                        first_of.insert((survey.id, sid), i);
                    }
                    let row = new_response(checked, &valid, today, wave_id);
                    accepted.push((i, row, valid));
                }
                Err(refusal) => outcomes[i] = Some(Err(refusal)),
            }
        }

        // Spend the codes, in code order, apart from the responses.
        let mut spending: Vec<(i32, &str, usize)> = accepted
            .iter()
            .filter_map(|(i, _, _)| {
                let c = batch[*i];
                c.invitation.as_deref().map(|code| (c.survey.id, code, *i))
            })
            .collect();
        if !spending.is_empty() {
            spending.sort_unstable();
            let lost: Vec<usize> = conn.transaction(|conn| {
                let mut lost = Vec::new();
                for (survey_id, code, i) in &spending {
                    if !invitations::spend(conn, *survey_id, code)? {
                        lost.push(*i);
                    }
                }
                diesel::QueryResult::Ok(lost)
            })?;
            for i in lost {
                outcomes[i] = Some(Err(Refusal::InvitationSpent));
                accepted.retain(|(j, _, _)| *j != i);
            }
        }

        if !accepted.is_empty() {
            // In the order of their random ids, never of arrival; submission
            // ids first, so that two instances storing twins at once take the
            // unique index's locks in the same order (a deadlock otherwise).
            let mut rows: Vec<NewResponse> =
                accepted.iter().map(|(_, row, _)| row.clone()).collect();
            rows.sort_by(|a, b| (&a.submission_id, &a.id).cmp(&(&b.submission_id, &b.id)));
            conn.transaction(|conn| responses::insert_many(conn, &rows))?;
            let mut by_survey: BTreeMap<i32, Pending> = BTreeMap::new();
            for (_, row, valid) in &accepted {
                let survey = states[&row.survey_id]
                    .survey
                    .as_ref()
                    .expect("accepted only for a stored survey");
                by_survey.entry(survey.id).or_default().add_response(
                    &survey.definition,
                    row.submitted_date,
                    row.wave_id,
                    valid.as_map(),
                    Sums::keyed(1.0, row.record_key as u32),
                    1,
                );
            }
            conn.transaction(|conn| {
                for (survey_id, pending) in &by_survey {
                    aggregates::write_sums(conn, *survey_id, pending, 1)?;
                }
                diesel::QueryResult::Ok(())
            })?;
        }
        for (i, row, _) in accepted {
            outcomes[i] = Some(Ok(Stored::Created(Receipt {
                id: row.id,
                submitted_date: row.submitted_date,
            })));
        }
        for (i, first) in twins {
            outcomes[i] = Some(match &outcomes[first] {
                Some(Ok(Stored::Created(receipt))) => Ok(Stored::Repeated(receipt.clone())),
                // The first was refused: the twin is answered the same way.
                other => other.clone().expect("the first twin is decided before"),
            });
        }
        Ok(outcomes
            .into_iter()
            .map(|o| o.expect("every submission of the batch is decided"))
            .collect())
    })
}

/// What a batch reads once per survey.
struct SurveyState {
    /// As stored now (None: deleted since the request read it).
    survey: Option<Survey>,
    waves: Vec<surveys::Wave>,
    stored: HashMap<String, Receipt>,
}

/// The rules that need the store: open survey, open wave, usable code.
/// Returns the wave the response belongs to.
fn admit(
    conn: &mut DbConnection,
    checked: &Checked,
    survey: &Survey,
    waves: &[surveys::Wave],
    today: NaiveDate,
) -> diesel::QueryResult<Result<Option<i32>, Refusal>> {
    if survey.status == Status::Closed {
        return Ok(Err(Refusal::Closed));
    }
    let wave_id = match wave_of(waves, today) {
        Ok(wave_id) => wave_id,
        Err(refusal) => return Ok(Err(refusal)),
    };
    if survey.access == Access::Invitation {
        let Some(code) = &checked.invitation else {
            return Ok(Err(Refusal::InvitationRequired));
        };
        if let Err(refusal) = check_code(conn, survey.id, code, wave_id)? {
            return Ok(Err(refusal));
        }
    }
    Ok(Ok(wave_id))
}

/// Can this code answer the survey in the wave open today? (Read only: the
/// writer spends it when it stores the response.)
pub fn check_code(
    conn: &mut DbConnection,
    survey_id: i32,
    code: &str,
    open_wave: Option<i32>,
) -> diesel::QueryResult<Result<(), Refusal>> {
    Ok(match invitations::state(conn, survey_id, code)? {
        CodeState::Unknown => Err(Refusal::InvitationUnknown),
        CodeState::Spent => Err(Refusal::InvitationSpent),
        CodeState::Open { wave_id: Some(w) } if Some(w) != open_wave => {
            Err(Refusal::InvitationWrongWave)
        }
        CodeState::Open { .. } => Ok(()),
    })
}

fn new_response(
    checked: &Checked,
    valid: &answers::ValidAnswers,
    today: NaiveDate,
    wave_id: Option<i32>,
) -> NewResponse {
    NewResponse {
        id: Uuid::new_v4().to_string(),
        survey_id: checked.survey.id,
        wave_id,
        submitted_date: today,
        lang: checked.lang.as_str().to_string(),
        submission_id: checked.submission_id.clone(),
        base_weight: 1.0,
        answers: valid.to_json(),
        record_key: responses::new_record_key(),
    }
}

/// Stores validated answers as a response of a given date and wave, with its
/// aggregates, in one transaction (imports and tests; no submission id).
pub fn store_dated(
    conn: &mut DbConnection,
    survey: &Survey,
    date: NaiveDate,
    wave_id: Option<i32>,
    lang: Lang,
    valid: &answers::ValidAnswers,
    base_weight: f64,
) -> diesel::QueryResult<String> {
    let record_key = responses::new_record_key();
    let mut sums = Pending::default();
    sums.add_response(
        &survey.definition,
        date,
        wave_id,
        valid.as_map(),
        Sums::keyed(base_weight, record_key as u32),
        1,
    );
    let response = NewResponse {
        id: Uuid::new_v4().to_string(),
        survey_id: survey.id,
        wave_id,
        submitted_date: date,
        lang: lang.as_str().to_string(),
        submission_id: None,
        base_weight,
        answers: valid.to_json(),
        record_key,
    };
    conn.transaction(|conn| {
        responses::insert(conn, &response)?;
        aggregates::apply(conn, survey.id, &sums, 1)?;
        if date < local_today(survey) {
            aggregates::bump_public(conn, survey.id)?;
        }
        Ok(response.id.clone())
    })
}

/// Removes one response and its share of the aggregates; false if unknown.
pub fn remove(conn: &mut DbConnection, survey: &Survey, id: &str) -> diesel::QueryResult<bool> {
    // Read, then write: on SQLite the write lock is taken first, or a commit
    // by another connection in between fails the write at once ("database
    // is locked", without waiting).
    write_transaction(conn, |conn| {
        let Some(row) = responses::find(conn, survey.id, id)? else {
            return Ok(false);
        };
        let answers: Map<String, Value> = serde_json::from_str(&row.answers)
            .map_err(|e| diesel::result::Error::DeserializationError(e.into()))?;
        let mut sums = Pending::default();
        sums.add_response(
            &survey.definition,
            row.submitted_date,
            row.wave_id,
            &answers,
            Sums::keyed(row.base_weight, row.record_key as u32),
            -1,
        );
        aggregates::apply(conn, survey.id, &sums, 1)?;
        if row.submitted_date < local_today(survey) {
            aggregates::bump_public(conn, survey.id)?;
        }
        // Gone meanwhile (or moved by a compaction of its day, which a
        // statement begun before it does not see): undo the sums, say so.
        if !responses::delete(conn, survey.id, id)? {
            return Err(diesel::result::Error::NotFound);
        }
        Ok(true)
    })
}

/// The wave a response given today belongs to: none for a survey without
/// waves; refused when the survey has waves and none is open.
pub fn wave_of(waves: &[surveys::Wave], today: NaiveDate) -> Result<Option<i32>, Refusal> {
    if waves.is_empty() {
        return Ok(None);
    }
    match waves.iter().find(|w| w.opens <= today && today <= w.closes) {
        Some(wave) => Ok(Some(wave.id)),
        None => {
            let next_opens = waves.iter().map(|w| w.opens).filter(|d| *d > today).min();
            Err(Refusal::NoOpenWave { next_opens })
        }
    }
}
