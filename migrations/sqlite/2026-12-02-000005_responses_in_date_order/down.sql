CREATE TABLE responses_by_id (
    id TEXT PRIMARY KEY NOT NULL,
    survey_id INTEGER NOT NULL REFERENCES surveys (id) ON DELETE CASCADE,
    wave_id INTEGER REFERENCES waves (id),
    submitted_date DATE NOT NULL,
    lang TEXT NOT NULL CHECK (lang IN ('ru', 'en')),
    submission_id TEXT,
    base_weight DOUBLE PRECISION NOT NULL DEFAULT 1 CHECK (base_weight > 0),
    answers TEXT NOT NULL,
    record_key BIGINT NOT NULL DEFAULT 0
) WITHOUT ROWID;
INSERT INTO responses_by_id
    (id, survey_id, wave_id, submitted_date, lang, submission_id, base_weight, answers, record_key)
SELECT id, survey_id, wave_id, submitted_date, lang, submission_id, base_weight, answers, record_key
FROM responses ORDER BY id;
DROP TABLE responses;
ALTER TABLE responses_by_id RENAME TO responses;
CREATE UNIQUE INDEX responses_submission ON responses (survey_id, submission_id);
CREATE INDEX responses_by_date ON responses (survey_id, submitted_date, id);
CREATE INDEX responses_by_wave ON responses (wave_id);
