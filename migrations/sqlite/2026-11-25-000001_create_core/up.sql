-- Surveys, their questions and options, waves, events and responses.
-- Privacy: no column anywhere holds an IP address, user agent, cookie, device
-- identifier or time of day of a response.

CREATE TABLE surveys (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    slug TEXT NOT NULL UNIQUE,
    title_ru TEXT NOT NULL,
    title_en TEXT NOT NULL,
    description_ru TEXT NOT NULL DEFAULT '',
    description_en TEXT NOT NULL DEFAULT '',
    default_lang TEXT NOT NULL CHECK (default_lang IN ('ru', 'en')),
    timezone TEXT NOT NULL DEFAULT 'UTC',
    status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    access TEXT NOT NULL DEFAULT 'open' CHECK (access IN ('open', 'invitation')),
    synthetic BOOLEAN NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE questions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    survey_id INTEGER NOT NULL REFERENCES surveys (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    code TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('scale', 'yes_no', 'single_choice', 'multi_choice', 'text')),
    role TEXT NOT NULL CHECK (role IN ('item', 'demographic')),
    required BOOLEAN NOT NULL,
    prompt_ru TEXT NOT NULL,
    prompt_en TEXT NOT NULL,
    max_length INTEGER,
    UNIQUE (survey_id, code)
);

-- The range, cut points and end labels of a scale question.
CREATE TABLE scales (
    question_id INTEGER PRIMARY KEY REFERENCES questions (id) ON DELETE CASCADE,
    min_value INTEGER NOT NULL,
    max_value INTEGER NOT NULL,
    -- comma-separated values counted as top2 / bottom2 (NULL: the METHODS default)
    positive_values TEXT,
    negative_values TEXT,
    low_ru TEXT NOT NULL,
    low_en TEXT NOT NULL,
    high_ru TEXT NOT NULL,
    high_en TEXT NOT NULL,
    CHECK (min_value < max_value)
);

CREATE TABLE options (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    question_id INTEGER NOT NULL REFERENCES questions (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    code TEXT NOT NULL,
    label_ru TEXT NOT NULL,
    label_en TEXT NOT NULL,
    value DOUBLE PRECISION,
    non_substantive BOOLEAN NOT NULL DEFAULT 0,
    exclusive BOOLEAN NOT NULL DEFAULT 0,
    UNIQUE (question_id, code)
);

CREATE TABLE waves (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    survey_id INTEGER NOT NULL REFERENCES surveys (id) ON DELETE CASCADE,
    label TEXT NOT NULL,
    opens DATE NOT NULL,
    closes DATE NOT NULL,
    CHECK (opens <= closes),
    UNIQUE (survey_id, label)
);

CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event_date DATE NOT NULL,
    label_ru TEXT NOT NULL,
    label_en TEXT NOT NULL,
    source_url TEXT,
    UNIQUE (event_date, label_en)
);

-- One compact row per response: the validated answers as a JSON object keyed by
-- question code. WITHOUT ROWID stores rows in the order of their random id, so the
-- file keeps no trace of arrival order.
CREATE TABLE responses (
    id TEXT PRIMARY KEY NOT NULL,
    survey_id INTEGER NOT NULL REFERENCES surveys (id) ON DELETE CASCADE,
    wave_id INTEGER REFERENCES waves (id),
    submitted_date DATE NOT NULL,
    lang TEXT NOT NULL CHECK (lang IN ('ru', 'en')),
    submission_id TEXT,
    base_weight DOUBLE PRECISION NOT NULL DEFAULT 1 CHECK (base_weight > 0),
    answers TEXT NOT NULL
) WITHOUT ROWID;

CREATE UNIQUE INDEX responses_submission ON responses (survey_id, submission_id);
CREATE INDEX responses_by_date ON responses (survey_id, submitted_date, id);
CREATE INDEX responses_by_wave ON responses (wave_id);
