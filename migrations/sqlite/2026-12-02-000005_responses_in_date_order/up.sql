-- Responses are kept in export order: the table is clustered on (survey,
-- date, id), so a microdata export or a bulk load of dated rows walks the
-- table from front to back instead of jumping from an index to every row.
-- Within a day rows sit in the order of their random ids, never of arrival.
-- The id stays unique through its own index; the submission and wave indexes
-- hold only the rows that have a value (most have none).
CREATE TABLE responses_by_date_order (
    id TEXT NOT NULL,
    survey_id INTEGER NOT NULL REFERENCES surveys (id) ON DELETE CASCADE,
    wave_id INTEGER REFERENCES waves (id),
    submitted_date DATE NOT NULL,
    lang TEXT NOT NULL CHECK (lang IN ('ru', 'en')),
    submission_id TEXT,
    base_weight DOUBLE PRECISION NOT NULL DEFAULT 1 CHECK (base_weight > 0),
    answers TEXT NOT NULL,
    record_key BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (survey_id, submitted_date, id)
) WITHOUT ROWID;
INSERT INTO responses_by_date_order
    (id, survey_id, wave_id, submitted_date, lang, submission_id, base_weight, answers, record_key)
SELECT id, survey_id, wave_id, submitted_date, lang, submission_id, base_weight, answers, record_key
FROM responses ORDER BY survey_id, submitted_date, id;
DROP TABLE responses;
ALTER TABLE responses_by_date_order RENAME TO responses;
CREATE UNIQUE INDEX responses_id ON responses (id);
CREATE UNIQUE INDEX responses_submission ON responses (survey_id, submission_id)
    WHERE submission_id IS NOT NULL;
CREATE INDEX responses_by_wave ON responses (wave_id) WHERE wave_id IS NOT NULL;
