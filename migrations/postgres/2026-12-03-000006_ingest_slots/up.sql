-- Every stored batch of submissions bumps a survey's data version. One row
-- per survey made that a row every writer waited on; each process now bumps
-- a row of its own slot, and the version is the sum of the survey's rows
-- (it only grows, so caches named by it stay honest).
CREATE TABLE data_versions (
    survey_id INTEGER NOT NULL REFERENCES surveys (id) ON DELETE CASCADE,
    slot INTEGER NOT NULL,
    version BIGINT NOT NULL,
    PRIMARY KEY (survey_id, slot)
);
-- The last day (days since 1970-01-01) whose stored rows were rewritten to
-- keep no trace of arrival order.
CREATE TABLE compactions (
    survey_id INTEGER PRIMARY KEY REFERENCES surveys (id) ON DELETE CASCADE,
    through_day INTEGER NOT NULL
);
-- Submissions rewrite aggregate rows all day long: pages kept 30% free let
-- PostgreSQL update a row in place on its page (a HOT update) instead of
-- adding a new version elsewhere with new entries in the primary key index.
ALTER TABLE agg_pieces SET (fillfactor = 70);
ALTER TABLE agg_days SET (fillfactor = 70);
