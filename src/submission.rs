//! Taking one response: the rules shared by the JSON API and the HTML form.
//! The order matters: a repeated submission id is answered before anything
//! else, so a retry after a lost acknowledgement always gets its receipt.

use chrono::{NaiveDate, Utc};
use serde_json::{Map, Value};
use uuid::Uuid;

use diesel::Connection;

use crate::db::aggregates::{self, Pending};
use crate::db::invitations::{self, CodeState};
use crate::db::responses::{self, NewResponse, Stored};
use crate::db::{DbConnection, surveys};
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

#[derive(Debug)]
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
    Store(diesel::result::Error),
}

impl From<diesel::result::Error> for Refusal {
    fn from(e: diesel::result::Error) -> Self {
        Refusal::Store(e)
    }
}

/// Today in the survey's time zone: the only time a response keeps.
pub fn local_today(survey: &Survey) -> NaiveDate {
    Utc::now()
        .with_timezone(&survey.definition.time_zone())
        .date_naive()
}

/// Validates and stores one response in one transaction.
pub fn submit(
    conn: &mut DbConnection,
    survey: &Survey,
    submission: Submission,
) -> Result<Stored, Refusal> {
    let submission_id = submission.submission_id.map(|id| id.to_string());
    if let Some(id) = &submission_id
        && let Some(receipt) = responses::find_by_submission(conn, survey.id, id)?
    {
        return Ok(Stored::Repeated(receipt));
    }
    if survey.status == Status::Closed {
        return Err(Refusal::Closed);
    }
    let today = local_today(survey);
    let wave_id = open_wave(conn, survey, today)?;
    let invitation = match survey.access {
        Access::Open => None,
        Access::Invitation => {
            let code = submission.invitation.ok_or(Refusal::InvitationRequired)?;
            check_invitation(conn, survey, &code, wave_id)?;
            Some(code)
        }
    };
    let valid =
        answers::validate(&survey.definition, &submission.answers).map_err(Refusal::Invalid)?;
    let record_key = responses::new_record_key();
    let mut sums = Pending::default();
    sums.add_response(
        &survey.definition,
        today,
        wave_id,
        valid.as_map(),
        Sums::keyed(1.0, record_key as u32),
        1,
    );
    let response = NewResponse {
        id: Uuid::new_v4().to_string(),
        survey_id: survey.id,
        wave_id,
        submitted_date: today,
        lang: submission
            .lang
            .unwrap_or(survey.definition.default_lang)
            .as_str()
            .to_string(),
        submission_id,
        base_weight: 1.0,
        answers: valid.to_json(),
        record_key,
    };
    // The code is spent and the response stored together, or neither.
    let outcome = conn.transaction(|conn| {
        if let Some(code) = &invitation
            && !invitations::spend(conn, survey.id, code)?
        {
            return Err(Refusal::InvitationSpent);
        }
        let receipt = responses::insert(conn, &response)?;
        aggregates::apply(conn, survey.id, &sums, 1)?;
        Ok(receipt)
    });
    match outcome {
        Ok(receipt) => Ok(Stored::Created(receipt)),
        // A concurrent twin with the same submission id got there first.
        Err(Refusal::Store(e)) if responses::is_duplicate(&e) => {
            let id = response.submission_id.as_deref().unwrap_or_default();
            responses::find_by_submission(conn, survey.id, id)?
                .map(Stored::Repeated)
                .ok_or(Refusal::Store(e))
        }
        Err(refusal) => Err(refusal),
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
    conn.transaction(|conn| {
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
        responses::delete(conn, survey.id, id)
    })
}

/// The wave a response given today belongs to: none for a survey without
/// waves; refused when the survey has waves and none is open.
pub fn open_wave(
    conn: &mut DbConnection,
    survey: &Survey,
    today: NaiveDate,
) -> Result<Option<i32>, Refusal> {
    let waves = surveys::waves(conn, survey.id)?;
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

/// Can this code answer the survey today? (Spending happens with the insert.)
pub fn check_invitation(
    conn: &mut DbConnection,
    survey: &Survey,
    code: &str,
    open_wave: Option<i32>,
) -> Result<(), Refusal> {
    match invitations::state(conn, survey.id, code)? {
        CodeState::Unknown => Err(Refusal::InvitationUnknown),
        CodeState::Spent => Err(Refusal::InvitationSpent),
        CodeState::Open { wave_id: Some(w) } if Some(w) != open_wave => {
            Err(Refusal::InvitationWrongWave)
        }
        CodeState::Open { .. } => Ok(()),
    }
}
