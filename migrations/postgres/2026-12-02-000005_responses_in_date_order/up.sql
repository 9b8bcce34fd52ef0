-- The submission and wave indexes hold only the rows that have a value (most
-- responses have neither), so bulk loads and submissions maintain less.
-- (SQLite also clusters the table on date; a PostgreSQL heap keeps no order,
-- and exports read it through responses_by_date.)
DROP INDEX responses_submission;
CREATE UNIQUE INDEX responses_submission ON responses (survey_id, submission_id)
    WHERE submission_id IS NOT NULL;
DROP INDEX responses_by_wave;
CREATE INDEX responses_by_wave ON responses (wave_id) WHERE wave_id IS NOT NULL;
