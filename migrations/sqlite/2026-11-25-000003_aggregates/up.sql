-- Aggregates kept current in the transaction that stores (or deletes) each
-- response, so a series never re-reads raw answers. A demographic cell is the
-- respondent's answers to the survey's demographic questions
-- ("age_band=25-34|region=central|settlement=city"); raking factors depend only
-- on it, so sums of base weights per cell stay exact after weighting.
--
-- Per piece (an ISO week cut at month ends; wave 0 = no wave), cell and
-- question: the sums n, Σb, Σb² of the base weights of each answer value
-- ("*" = everyone who answered; question "" = everyone, kept per month or wave
-- with week_start = month_start, since it only feeds the raking).
CREATE TABLE agg_pieces (
    survey_id INTEGER NOT NULL REFERENCES surveys (id) ON DELETE CASCADE,
    -- days since 1970-01-01 (integers read much faster than dates)
    week_start INTEGER NOT NULL,
    month_start INTEGER NOT NULL,
    wave_id INTEGER NOT NULL,
    cell TEXT NOT NULL,
    question TEXT NOT NULL,
    sums TEXT NOT NULL,
    PRIMARY KEY (survey_id, question, week_start, month_start, wave_id, cell)
) WITHOUT ROWID;

-- Per day and cell: the same sums for every question at once (day series,
-- before/after windows).
CREATE TABLE agg_days (
    survey_id INTEGER NOT NULL REFERENCES surveys (id) ON DELETE CASCADE,
    day INTEGER NOT NULL,
    wave_id INTEGER NOT NULL,
    cell TEXT NOT NULL,
    sums TEXT NOT NULL,
    PRIMARY KEY (survey_id, day, wave_id, cell)
) WITHOUT ROWID;

-- Bumped by every change to a survey's responses: outputs say which data they used.
ALTER TABLE surveys ADD COLUMN data_version BIGINT NOT NULL DEFAULT 0;
-- False while a bulk load has stored responses whose sums are not written yet.
ALTER TABLE surveys ADD COLUMN aggregates_ok BOOLEAN NOT NULL DEFAULT 1;
