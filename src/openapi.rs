//! The OpenAPI 3.1 description of every JSON endpoint, served at
//! `/api/openapi.json`. Written out here rather than derived, and kept in step
//! with the route table by a test that reads both.

use serde_json::{Value, json};

fn error(description: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
}

fn ok(description: &str, schema: Value) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": schema}}})
}

fn reference(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn body(schema: Value) -> Value {
    json!({"required": true, "content": {"application/json": {"schema": schema}}})
}

fn path_param(name: &str, kind: &str) -> Value {
    json!({"name": name, "in": "path", "required": true, "schema": {"type": kind}})
}

fn slug() -> Value {
    path_param("slug", "string")
}

fn query(name: &str, schema: Value, description: &str) -> Value {
    json!({"name": name, "in": "query", "required": false, "schema": schema, "description": description})
}

/// The parameters of a series, shared by series, shifts and change points.
fn series_params() -> Vec<Value> {
    vec![
        slug(),
        json!({"name": "question", "in": "query", "required": true, "schema": {"type": "string"}, "description": "question code"}),
        query(
            "metric",
            json!({"enum": ["mean", "top2", "bottom2", "net", "share"]}),
            "default mean for a scale question; others must name one",
        ),
        query(
            "option",
            json!({"type": "string"}),
            "the option code for metric=share (send + as %2B)",
        ),
        query(
            "by",
            json!({"type": "string"}),
            "a demographic question: one series per substantive option",
        ),
        query(
            "interval",
            json!({"enum": ["day", "week", "month", "wave"], "default": "month"}),
            "week = ISO week from Monday",
        ),
        query(
            "from",
            json!({"type": "string", "format": "date"}),
            "inclusive, 1900-2199; cut to the stored data and widened to whole periods",
        ),
        query(
            "to",
            json!({"type": "string", "format": "date"}),
            "inclusive, 1900-2199; public callers see whole periods ended by yesterday",
        ),
        query(
            "weighted",
            json!({"type": "boolean"}),
            "default true when the survey has targets",
        ),
        query(
            "smooth",
            json!({"type": "integer", "minimum": 1, "maximum": 52}),
            "pool each period with the N-1 before it",
        ),
    ]
}

fn optional_auth(mut op: Value) -> Value {
    op["security"] = json!([{}, {"bearerAuth": []}, {"basicAuth": []}]);
    op["description"] = json!(
        "Public: perturbed figures (cell-key method) of completed periods; interval=day, shift date/window_days and the answers to demographic questions are 403. With a researcher or admin token: exact figures, today included. An unknown token is 401."
    );
    op
}

/// An operation; `admin` adds the token schemes and their 401/403 answers.
fn op(
    summary: &str,
    admin: bool,
    parameters: Vec<Value>,
    request: Option<Value>,
    mut responses: Value,
) -> Value {
    let mut op = json!({"summary": summary, "parameters": parameters, "responses": {}});
    if admin {
        op["security"] = json!([{"bearerAuth": []}, {"basicAuth": []}]);
        responses["401"] = error("No token, or an unknown or revoked one");
        responses["403"] = error("The token's role is too small");
    }
    if let Some(request) = request {
        op["requestBody"] = request;
        responses["400"] = error("Malformed JSON");
        responses["413"] = error("Body larger than TRUSTPULSE_MAX_BODY");
        responses["415"] = error("Not application/json");
        responses["422"] = error("Invalid input; details name each field or question");
    }
    op["responses"] = responses;
    op
}

pub fn document() -> Value {
    let survey_404 = error("Unknown survey");
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "trustpulse",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Survey tracker of trust in digital government services. Respondents are anonymous; researchers and admins send an API token."
        },
        "paths": {
            "/healthz": {"get": op("Store health", false, vec![], None, json!({
                "200": ok("The store answers", json!({"type": "object"})),
                "503": ok("The store is unavailable", json!({"type": "object"}))}))},
            "/api/openapi.json": {"get": op("This document", false, vec![], None, json!({
                "200": ok("OpenAPI 3.1", json!({"type": "object"}))}))},
            "/api/v1/surveys": {
                "get": op("List surveys", false, vec![], None, json!({
                    "200": ok("Every survey", json!({"type": "object", "properties": {"surveys": {"type": "array", "items": reference("Survey")}}}))})),
                "post": op("Create a survey from a full definition", true, vec![], Some(body(reference("SurveyDefinition"))), json!({
                    "201": ok("Created", reference("Survey")),
                    "409": error("The slug is taken")}))
            },
            "/api/v1/surveys/{slug}": {
                "get": op("A survey's definition and state", false, vec![slug()], None, json!({
                    "200": ok("The survey", reference("Survey")), "404": survey_404})),
                "put": op("Replace a definition (labels always; a question with answers keeps its structure)", true, vec![slug()], Some(body(reference("SurveyDefinition"))), json!({
                    "200": ok("Replaced", reference("Survey")), "404": survey_404,
                    "409": error("A question with answers would change beyond its labels")})),
                "patch": op("Open or close; open to all or by invitation", true, vec![slug()], Some(body(json!({"type": "object", "properties": {
                    "status": {"enum": ["open", "closed"]}, "access": {"enum": ["open", "invitation"]}}, "additionalProperties": false}))), json!({
                    "200": ok("Updated", reference("Survey")), "404": survey_404}))
            },
            "/api/v1/surveys/{slug}/responses": {"post": op("Submit a response", false, vec![slug()], Some(body(reference("Submission"))), json!({
                "201": ok("Stored", reference("Receipt")),
                "200": ok("This submission_id was stored before: its first receipt", reference("Receipt")),
                "403": error("Invitation-only survey: code missing, unknown or for another wave"),
                "404": survey_404,
                "409": error("Survey closed, no wave open, or invitation already used"),
                "429": error("Too many submissions from this address; see Retry-After")}))},
            "/api/v1/surveys/{slug}/responses/{id}": {"delete": op("Remove a spam or test response", true, vec![slug(), path_param("id", "string")], None, json!({
                "204": {"description": "Removed"}, "404": error("No such survey or response")}))},
            "/api/v1/surveys/{slug}/series": {"get": optional_auth(op("A time series with 95% intervals", false, series_params(), None, json!({
                "200": ok("Metadata and points", reference("Series")), "401": error("Unknown or revoked token"),
                "403": error("A parameter only researchers may use"), "404": survey_404,
                "422": error("Parameters that do not fit the survey, a repeated parameter, or too many points")})))},
            "/api/v1/surveys/{slug}/series.csv": {"get": optional_auth(op("The same series as CSV", false, series_params(), None, json!({
                "200": {"description": "survey,question,metric,option,group_by,group,period_start,interval,n,n_eff,value,ci_low,ci_high,suppressed,weighted",
                        "content": {"text/csv": {"schema": {"type": "string"}}}},
                "401": error("Unknown or revoked token"), "403": error("A parameter only researchers may use"), "404": survey_404, "422": error("Parameters that do not fit the survey, a repeated parameter, or too many points")})))},
            "/api/v1/surveys/{slug}/shifts": {"get": optional_auth(op("Before vs after an event (or every event in the survey's range)", false, {
                let mut params: Vec<Value> = series_params().into_iter().filter(|p| !["interval", "from", "to", "smooth"].contains(&p["name"].as_str().unwrap_or(""))).collect();
                params.push(query("event", json!({"type": "integer"}), "an event id"));
                params.push(query("date", json!({"type": "string", "format": "date"}), "a date instead of an event"));
                params.push(query("window_days", json!({"type": "integer", "minimum": 1, "maximum": 366, "default": 28}), "days on each side"));
                params
            }, None, json!({
                "200": ok("Both windows' estimates, the difference with its 95% CI, z and p, per event (and group)", json!({"type": "object", "properties": {"meta": {"type": "object"}, "shifts": {"type": "array", "items": {"type": "object"}}}})),
                "401": error("Unknown or revoked token"), "403": error("A parameter only researchers may use"), "404": survey_404, "422": error("Parameters that do not fit the survey, a repeated parameter, or too many points")})))},
            "/api/v1/surveys/{slug}/responses.csv": {"get": op("Microdata: one row per response, streamed (researcher or admin)", true, vec![
                slug(),
                query("from", json!({"type": "string", "format": "date"}), "first submitted date, inclusive"),
                query("to", json!({"type": "string", "format": "date"}), "last submitted date, inclusive"),
                query("wave", json!({"type": "string"}), "a wave's label"),
                query("include_text", json!({"type": "boolean", "default": false}), "add the free-text columns"),
            ], None, json!({
                "200": {"description": "response_id,submitted_date,wave,lang,base_weight,weight, then each question in survey order (multi-choice as CODE__OPTION 0/1); ordered by date, then id",
                        "content": {"text/csv": {"schema": {"type": "string"}}}},
                "404": survey_404, "422": error("Parameters that do not fit the survey")}))},
            "/api/v1/surveys/{slug}/codebook.csv": {"get": op("Codebook: one row per microdata column and value, then the weighting targets (researcher or admin)", true, vec![slug()], None, json!({
                "200": {"description": "column,question,kind,role,text_ru,text_en,cell,code,value,label_ru,label_en,non_substantive",
                        "content": {"text/csv": {"schema": {"type": "string"}}}},
                "404": survey_404, "422": error("A parameter (this endpoint takes none)")}))},
            "/api/v1/surveys/{slug}/codebook.json": {"get": op("Codebook: every microdata column with its codes, labels ru/en, numeric values and flags; waves; weighting targets and their source (researcher or admin)", true, vec![slug()], None, json!({
                "200": ok("The codebook", json!({"type": "object", "required": ["survey", "columns", "weighting"], "properties": {"survey": {"type": "string"}, "columns": {"type": "array", "items": {"type": "object"}}, "waves": {"type": "array"}, "weighting": {"type": "object"}}})),
                "404": survey_404, "422": error("A parameter (this endpoint takes none)")}))},
            "/api/v1/surveys/{slug}/datapackage.zip": {"get": op("Frictionless Data Package, streamed: datapackage.json, README.md, codebook.csv, series/<question>.csv, responses.csv (researcher or admin)", true, vec![slug()], None, json!({
                "200": {"description": "A zip archive", "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}}},
                "404": survey_404, "422": error("A parameter (this endpoint takes none)")}))},
            "/api/v1/surveys/{slug}/changepoints": {"get": optional_auth(op("Exploratory change points of a series (PELT)", false, series_params(), None, json!({
                "200": ok("Per group: segments with pooled estimates and intervals, shift sizes, the penalty", json!({"type": "object", "properties": {"meta": {"type": "object"}, "groups": {"type": "array", "items": {"type": "object"}}}})),
                "401": error("Unknown or revoked token"), "403": error("A parameter only researchers may use"), "404": survey_404, "422": error("Parameters that do not fit the survey, a repeated parameter, or too many points")})))},
            "/api/v1/surveys/{slug}/targets": {
                "get": op("Weighting targets in use", false, vec![slug()], None, json!({
                    "200": ok("Targets and their source", json!({"type": "object", "properties": {"targets": reference("Targets"), "source": {"type": ["string", "null"]}}})),
                    "404": survey_404})),
                "put": op("Replace the weighting targets (the body GET returns; {\"targets\": {}} removes them)", true, vec![slug()], Some(body(json!({"type": "object", "required": ["targets"], "additionalProperties": false, "properties": {"targets": reference("Targets"), "source": {"type": ["string", "null"], "maxLength": 500}}}))), json!({
                    "200": ok("Saved", json!({"type": "object"})), "404": survey_404}))
            },
            "/api/v1/surveys/{slug}/waves": {
                "get": op("List waves", true, vec![slug()], None, json!({
                    "200": ok("Waves by opening date", json!({"type": "object", "properties": {"waves": {"type": "array", "items": reference("Wave")}}})),
                    "404": survey_404})),
                "post": op("Create a wave (inclusive dates, never overlapping)", true, vec![slug()], Some(body(reference("NewWave"))), json!({
                    "201": ok("Created", reference("Wave")), "404": survey_404}))
            },
            "/api/v1/surveys/{slug}/waves/{id}": {"delete": op("Delete a wave without responses", true, vec![slug(), path_param("id", "integer")], None, json!({
                "204": {"description": "Deleted"}, "404": error("No such wave"), "409": error("The wave has responses")}))},
            "/api/v1/surveys/{slug}/invitations": {"post": op("Create single-use invitation codes, returned once", true, vec![slug()], Some(body(json!({
                "type": "object", "required": ["count"], "properties": {"count": {"type": "integer", "minimum": 1, "maximum": 10000}, "wave": {"type": "integer"}}}))), json!({
                "201": ok("The codes", json!({"type": "object", "properties": {"codes": {"type": "array", "items": {"type": "string"}}, "wave": {"type": ["integer", "null"]}}})),
                "404": survey_404}))},
            "/api/v1/events": {
                "get": op("Dated events shared by all surveys", false, vec![], None, json!({
                    "200": ok("Events by date", json!({"type": "object", "properties": {"events": {"type": "array", "items": reference("Event")}}}))})),
                "post": op("Add an event", true, vec![], Some(body(reference("NewEvent"))), json!({
                    "201": ok("Created", reference("Event")), "409": error("The same date and English label exist")}))
            },
            "/api/v1/events/{id}": {"delete": op("Delete an event", true, vec![path_param("id", "integer")], None, json!({
                "204": {"description": "Deleted"}, "404": error("No such event")}))}
        },
        "components": {
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "description": "A token from `trustpulse token create`"},
                "basicAuth": {"type": "http", "scheme": "basic", "description": "Any user name, the token as password (browser download links)"}
            },
            "schemas": {
                "Error": {"type": "object", "required": ["error", "message"], "properties": {
                    "error": {"type": "string"}, "message": {"type": "string"},
                    "details": {"type": "array", "items": {"type": "object", "properties": {
                        "field": {"type": "string"}, "question": {"type": "string"}, "problem": {"type": "string"}, "message": {"type": "string"}}}}}},
                "Localized": {"type": "object", "required": ["ru", "en"], "properties": {"ru": {"type": "string"}, "en": {"type": "string"}}},
                "Option": {"type": "object", "required": ["code", "label"], "properties": {
                    "code": {"type": "string"}, "label": reference("Localized"), "value": {"type": "number"},
                    "non_substantive": {"type": "boolean"}, "exclusive": {"type": "boolean"}}},
                "Question": {"type": "object", "required": ["code", "kind", "prompt"], "properties": {
                    "code": {"type": "string", "pattern": "^[a-z][a-z0-9_]*$"},
                    "kind": {"enum": ["scale", "yes_no", "single_choice", "multi_choice", "text"]},
                    "role": {"enum": ["item", "demographic"]}, "required": {"type": "boolean"},
                    "prompt": reference("Localized"),
                    "scale": {"type": "object", "required": ["min", "max", "low", "high"], "properties": {
                        "min": {"type": "integer"}, "max": {"type": "integer"}, "low": reference("Localized"), "high": reference("Localized"),
                        "positive": {"type": "array", "items": {"type": "integer"}}, "negative": {"type": "array", "items": {"type": "integer"}}}},
                    "options": {"type": "array", "items": reference("Option")},
                    "max_length": {"type": "integer"},
                    "retired": {"type": "boolean", "description": "no longer asked; answers and codebook kept"}}},
                "SurveyDefinition": {"type": "object", "required": ["slug", "title", "default_lang", "questions"], "properties": {
                    "slug": {"type": "string"}, "title": reference("Localized"), "description": reference("Localized"),
                    "default_lang": {"enum": ["ru", "en"]}, "timezone": {"type": "string", "default": "UTC"},
                    "questions": {"type": "array", "minItems": 1, "items": reference("Question")}}},
                "Survey": {"allOf": [reference("SurveyDefinition"), {"type": "object", "properties": {
                    "status": {"enum": ["open", "closed"]}, "access": {"enum": ["open", "invitation"]},
                    "synthetic_responses": {"type": "boolean"}}}]},
                "Submission": {"type": "object", "required": ["answers"], "properties": {
                    "submission_id": {"type": "string", "format": "uuid"}, "lang": {"enum": ["ru", "en"]},
                    "invitation": {"type": "string"},
                    "answers": {"type": "object", "additionalProperties": {"type": ["integer", "string", "boolean", "array", "null"]}}}},
                "Receipt": {"type": "object", "required": ["id", "submitted_date"], "properties": {
                    "id": {"type": "string", "format": "uuid"}, "submitted_date": {"type": "string", "format": "date"}}},
                "Targets": {"type": "object", "additionalProperties": {"type": "object", "additionalProperties": {"type": "number", "exclusiveMinimum": 0, "maximum": 1}}},
                "NewWave": {"type": "object", "required": ["label", "opens", "closes"], "properties": {
                    "label": {"type": "string"}, "opens": {"type": "string", "format": "date"}, "closes": {"type": "string", "format": "date"}}},
                "Wave": {"allOf": [reference("NewWave"), {"type": "object", "properties": {"id": {"type": "integer"}}}]},
                "NewEvent": {"type": "object", "required": ["date", "label_ru", "label_en"], "properties": {
                    "date": {"type": "string", "format": "date"}, "label_ru": {"type": "string"}, "label_en": {"type": "string"},
                    "source_url": {"type": ["string", "null"], "format": "uri"}}},
                "Event": {"allOf": [reference("NewEvent"), {"type": "object", "properties": {"id": {"type": "integer"}}}]},
                "Point": {"type": "object", "properties": {
                    "period_start": {"type": "string", "format": "date"}, "group": {"type": "string"},
                    "n": {"type": ["integer", "null"], "description": "null for a suppressed public cell"}, "n_eff": {"type": ["number", "null"]},
                    "value": {"type": ["number", "null"]}, "ci_low": {"type": ["number", "null"]}, "ci_high": {"type": ["number", "null"]},
                    "suppressed": {"type": "boolean"}, "weighted": {"type": "boolean"}}},
                "Series": {"type": "object", "properties": {
                    "meta": {"type": "object", "description": "survey, question, text, metric, definition, base, weighting (targets and per raking period raked or the failure; n and the design effect for researchers), min_cell, from, to, completed_days_only, perturbed, disclosure, generated_at, data_version"},
                    "points": {"type": "array", "items": reference("Point")}}}
            }
        }
    })
}
