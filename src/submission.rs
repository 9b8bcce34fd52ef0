//! Taking one response: the rules shared by the JSON API and the HTML form.
//! The order matters: a repeated submission id is answered before anything
//! else, so a retry after a lost acknowledgement always gets its receipt.

use chrono::{NaiveDate, Utc};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::db::responses::{self, NewResponse, Stored};
use crate::db::{DbConnection, surveys};
use crate::survey::answers::{self, AnswerProblem};
use crate::survey::{Access, Lang, Status, Survey};

pub struct Submission {
    pub submission_id: Option<Uuid>,
    pub lang: Option<Lang>,
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
    if survey.access == Access::Invitation {
        return Err(Refusal::InvitationRequired);
    }
    let today = local_today(survey);
    let waves = surveys::waves(conn, survey.id)?;
    let wave_id = if waves.is_empty() {
        None
    } else {
        match waves.iter().find(|w| w.opens <= today && today <= w.closes) {
            Some(wave) => Some(wave.id),
            None => {
                let next_opens = waves.iter().map(|w| w.opens).filter(|d| *d > today).min();
                return Err(Refusal::NoOpenWave { next_opens });
            }
        }
    };
    let valid =
        answers::validate(&survey.definition, &submission.answers).map_err(Refusal::Invalid)?;
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
    };
    Ok(responses::insert(conn, &response)?)
}
