//! Surveys, their questions and options, and waves.

use chrono::{NaiveDate, Utc};
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::{options, questions, scales, surveys, waves};
use crate::survey::{
    Access, Lang, Localized, OptionDef, QuestionDef, QuestionKind, Role, Scale, Status, Survey,
    SurveyDefinition,
};

#[derive(Queryable, Selectable)]
#[diesel(table_name = surveys)]
struct SurveyRow {
    id: i32,
    slug: String,
    title_ru: String,
    title_en: String,
    description_ru: String,
    description_en: String,
    default_lang: String,
    timezone: String,
    status: String,
    access: String,
    synthetic: bool,
}

#[derive(Insertable)]
#[diesel(table_name = surveys)]
struct NewSurvey<'a> {
    slug: &'a str,
    title_ru: &'a str,
    title_en: &'a str,
    description_ru: &'a str,
    description_en: &'a str,
    default_lang: &'a str,
    timezone: &'a str,
    created_at: chrono::NaiveDateTime,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = questions)]
struct QuestionRow {
    id: i32,
    code: String,
    kind: String,
    role: String,
    required: bool,
    prompt_ru: String,
    prompt_en: String,
    max_length: Option<i32>,
    retired: bool,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = scales)]
#[diesel(treat_none_as_default_value = false)]
struct ScaleRow {
    question_id: i32,
    min_value: i32,
    max_value: i32,
    positive_values: Option<String>,
    negative_values: Option<String>,
    low_ru: String,
    low_en: String,
    high_ru: String,
    high_en: String,
}

#[derive(Insertable)]
#[diesel(table_name = questions)]
#[diesel(treat_none_as_default_value = false)]
struct NewQuestion<'a> {
    survey_id: i32,
    position: i32,
    code: &'a str,
    kind: &'a str,
    role: &'a str,
    required: bool,
    prompt_ru: &'a str,
    prompt_en: &'a str,
    max_length: Option<i32>,
    retired: bool,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = options)]
struct OptionRow {
    question_id: i32,
    code: String,
    label_ru: String,
    label_en: String,
    value: Option<f64>,
    non_substantive: bool,
    exclusive: bool,
}

#[derive(Insertable)]
#[diesel(table_name = options)]
#[diesel(treat_none_as_default_value = false)]
struct NewOption<'a> {
    question_id: i32,
    position: i32,
    code: &'a str,
    label_ru: &'a str,
    label_en: &'a str,
    value: Option<f64>,
    non_substantive: bool,
    exclusive: bool,
}

fn join_values(values: Option<&Vec<i32>>) -> Option<String> {
    values.map(|v| v.iter().map(i32::to_string).collect::<Vec<_>>().join(","))
}

fn split_values(text: Option<String>) -> Option<Vec<i32>> {
    text.map(|t| t.split(',').filter_map(|v| v.trim().parse().ok()).collect())
}

/// Stores a validated definition as a new survey, all of it or nothing.
pub fn insert(conn: &mut DbConnection, def: &SurveyDefinition) -> QueryResult<i32> {
    conn.transaction(|conn| {
        let survey_id = diesel::insert_into(surveys::table)
            .values(NewSurvey {
                slug: &def.slug,
                title_ru: &def.title.ru,
                title_en: &def.title.en,
                description_ru: &def.description.ru,
                description_en: &def.description.en,
                default_lang: def.default_lang.as_str(),
                timezone: &def.timezone,
                created_at: Utc::now().naive_utc(),
            })
            .returning(surveys::id)
            .get_result::<i32>(conn)?;
        insert_questions(conn, survey_id, def)?;
        Ok(survey_id)
    })
}

/// Replaces a survey's texts and questions with a validated definition (the
/// caller has checked that answered questions keep their structure).
pub fn replace(conn: &mut DbConnection, survey_id: i32, def: &SurveyDefinition) -> QueryResult<()> {
    conn.transaction(|conn| {
        diesel::update(surveys::table.find(survey_id))
            .set((
                surveys::title_ru.eq(&def.title.ru),
                surveys::title_en.eq(&def.title.en),
                surveys::description_ru.eq(&def.description.ru),
                surveys::description_en.eq(&def.description.en),
                surveys::default_lang.eq(def.default_lang.as_str()),
                surveys::timezone.eq(&def.timezone),
            ))
            .execute(conn)?;
        // Options and scales follow their questions (ON DELETE CASCADE).
        diesel::delete(questions::table.filter(questions::survey_id.eq(survey_id)))
            .execute(conn)?;
        insert_questions(conn, survey_id, def)
    })
}

fn insert_questions(
    conn: &mut DbConnection,
    survey_id: i32,
    def: &SurveyDefinition,
) -> QueryResult<()> {
    for (position, q) in def.questions.iter().enumerate() {
        let question_id = diesel::insert_into(questions::table)
            .values(NewQuestion {
                survey_id,
                position: position as i32,
                code: &q.code,
                kind: q.kind.as_str(),
                role: q.role.as_str(),
                required: q.required,
                prompt_ru: &q.prompt.ru,
                prompt_en: &q.prompt.en,
                max_length: q.max_length.map(|m| m as i32),
                retired: q.retired,
            })
            .returning(questions::id)
            .get_result::<i32>(conn)?;
        if let Some(scale) = &q.scale {
            diesel::insert_into(scales::table)
                .values(ScaleRow {
                    question_id,
                    min_value: scale.min,
                    max_value: scale.max,
                    positive_values: join_values(scale.positive.as_ref()),
                    negative_values: join_values(scale.negative.as_ref()),
                    low_ru: scale.low.ru.clone(),
                    low_en: scale.low.en.clone(),
                    high_ru: scale.high.ru.clone(),
                    high_en: scale.high.en.clone(),
                })
                .execute(conn)?;
        }
        for (position, o) in q.options.iter().enumerate() {
            diesel::insert_into(options::table)
                .values(NewOption {
                    question_id,
                    position: position as i32,
                    code: &o.code,
                    label_ru: &o.label.ru,
                    label_en: &o.label.en,
                    value: o.value,
                    non_substantive: o.non_substantive,
                    exclusive: o.exclusive,
                })
                .execute(conn)?;
        }
    }
    Ok(())
}

/// The survey with this slug, its questions and options in order.
pub fn find_by_slug(conn: &mut DbConnection, slug: &str) -> QueryResult<Option<Survey>> {
    let row = surveys::table
        .filter(surveys::slug.eq(slug))
        .select(SurveyRow::as_select())
        .first(conn)
        .optional()?;
    row.map(|row| assemble(conn, row)).transpose()
}

/// The survey with this id, as `find_by_slug`.
pub fn find_by_id(conn: &mut DbConnection, survey_id: i32) -> QueryResult<Option<Survey>> {
    let row = surveys::table
        .find(survey_id)
        .select(SurveyRow::as_select())
        .first(conn)
        .optional()?;
    row.map(|row| assemble(conn, row)).transpose()
}

/// Every survey, by slug.
pub fn list(conn: &mut DbConnection) -> QueryResult<Vec<Survey>> {
    let rows = surveys::table
        .order(surveys::slug)
        .select(SurveyRow::as_select())
        .load(conn)?;
    rows.into_iter().map(|row| assemble(conn, row)).collect()
}

fn assemble(conn: &mut DbConnection, row: SurveyRow) -> QueryResult<Survey> {
    let question_rows = questions::table
        .filter(questions::survey_id.eq(row.id))
        .order(questions::position)
        .select(QuestionRow::as_select())
        .load(conn)?;
    let option_rows = options::table
        .inner_join(questions::table)
        .filter(questions::survey_id.eq(row.id))
        .order((options::question_id, options::position))
        .select(OptionRow::as_select())
        .load(conn)?;
    let mut scale_rows = scales::table
        .inner_join(questions::table)
        .filter(questions::survey_id.eq(row.id))
        .select(ScaleRow::as_select())
        .load(conn)?;
    let corrupt = |what: &str| {
        diesel::result::Error::DeserializationError(format!("stored survey has {what}").into())
    };
    let mut questions = Vec::with_capacity(question_rows.len());
    for q in question_rows {
        let kind = QuestionKind::parse(&q.kind).ok_or_else(|| corrupt("an unknown kind"))?;
        let scale = scale_rows
            .iter()
            .position(|s| s.question_id == q.id)
            .map(|i| scale_rows.swap_remove(i))
            .map(|s| Scale {
                min: s.min_value,
                max: s.max_value,
                low: Localized {
                    ru: s.low_ru,
                    en: s.low_en,
                },
                high: Localized {
                    ru: s.high_ru,
                    en: s.high_en,
                },
                positive: split_values(s.positive_values),
                negative: split_values(s.negative_values),
            });
        let options = option_rows
            .iter()
            .filter(|o| o.question_id == q.id)
            .map(|o| OptionDef {
                code: o.code.clone(),
                label: Localized {
                    ru: o.label_ru.clone(),
                    en: o.label_en.clone(),
                },
                value: o.value,
                non_substantive: o.non_substantive,
                exclusive: o.exclusive,
            })
            .collect();
        questions.push(QuestionDef {
            code: q.code,
            kind,
            role: Role::parse(&q.role).ok_or_else(|| corrupt("an unknown role"))?,
            required: q.required,
            prompt: Localized {
                ru: q.prompt_ru,
                en: q.prompt_en,
            },
            scale,
            options,
            max_length: q.max_length.map(|m| m as u32),
            retired: q.retired,
        });
    }
    Ok(Survey {
        id: row.id,
        status: if row.status == "closed" {
            Status::Closed
        } else {
            Status::Open
        },
        access: if row.access == "invitation" {
            Access::Invitation
        } else {
            Access::Open
        },
        synthetic: row.synthetic,
        definition: SurveyDefinition {
            slug: row.slug,
            title: Localized {
                ru: row.title_ru,
                en: row.title_en,
            },
            description: Localized {
                ru: row.description_ru,
                en: row.description_en,
            },
            default_lang: Lang::parse(&row.default_lang).unwrap_or(Lang::Ru),
            timezone: row.timezone,
            questions,
        },
    })
}

pub fn mark_synthetic(conn: &mut DbConnection, survey_id: i32) -> QueryResult<()> {
    diesel::update(surveys::table.find(survey_id))
        .set(surveys::synthetic.eq(true))
        .execute(conn)
        .map(|_| ())
}

pub fn set_access(conn: &mut DbConnection, survey_id: i32, access: Access) -> QueryResult<()> {
    let access = match access {
        Access::Open => "open",
        Access::Invitation => "invitation",
    };
    diesel::update(surveys::table.find(survey_id))
        .set(surveys::access.eq(access))
        .execute(conn)
        .map(|_| ())
}

pub fn set_status(conn: &mut DbConnection, survey_id: i32, status: Status) -> QueryResult<()> {
    let status = match status {
        Status::Open => "open",
        Status::Closed => "closed",
    };
    diesel::update(surveys::table.find(survey_id))
        .set(surveys::status.eq(status))
        .execute(conn)
        .map(|_| ())
}

/// A survey's collection window.
#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize, utoipa::ToSchema)]
#[diesel(table_name = waves)]
pub struct Wave {
    pub id: i32,
    pub label: String,
    pub opens: NaiveDate,
    pub closes: NaiveDate,
}

pub fn waves(conn: &mut DbConnection, survey_id: i32) -> QueryResult<Vec<Wave>> {
    waves::table
        .filter(waves::survey_id.eq(survey_id))
        .order(waves::opens)
        .select(Wave::as_select())
        .load(conn)
}

pub fn insert_wave(
    conn: &mut DbConnection,
    survey_id: i32,
    label: &str,
    opens: NaiveDate,
    closes: NaiveDate,
) -> QueryResult<i32> {
    diesel::insert_into(waves::table)
        .values((
            waves::survey_id.eq(survey_id),
            waves::label.eq(label),
            waves::opens.eq(opens),
            waves::closes.eq(closes),
        ))
        .returning(waves::id)
        .get_result(conn)
}

pub fn delete_wave(conn: &mut DbConnection, wave_id: i32) -> QueryResult<()> {
    diesel::delete(waves::table.find(wave_id))
        .execute(conn)
        .map(|_| ())
}
