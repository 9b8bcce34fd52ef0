DROP INDEX responses_submission;
CREATE UNIQUE INDEX responses_submission ON responses (survey_id, submission_id);
DROP INDEX responses_by_wave;
CREATE INDEX responses_by_wave ON responses (wave_id);
