-- API tokens for researchers and admins. A token is `tp_<key>_<secret>`: the key
-- finds the row, the secret is kept only as its SHA-256.
CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    lookup_key TEXT NOT NULL UNIQUE,
    secret_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('researcher', 'admin')),
    label TEXT NOT NULL DEFAULT '',
    created_on DATE NOT NULL,
    last_used_on DATE
);

-- Single-use invitation codes, stored hashed. A spent code is only flagged:
-- no time, and nothing that points to the response it answered.
CREATE TABLE invitations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    survey_id INTEGER NOT NULL REFERENCES surveys (id) ON DELETE CASCADE,
    wave_id INTEGER REFERENCES waves (id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL UNIQUE,
    spent BOOLEAN NOT NULL DEFAULT 0
);

-- Population shares per option of a demographic question, for raking.
CREATE TABLE targets (
    survey_id INTEGER NOT NULL REFERENCES surveys (id) ON DELETE CASCADE,
    dimension TEXT NOT NULL,
    option_code TEXT NOT NULL,
    share DOUBLE PRECISION NOT NULL CHECK (share > 0 AND share <= 1),
    PRIMARY KEY (survey_id, dimension, option_code)
);

-- Server-side secrets shared by every instance (the form-token key).
CREATE TABLE secrets (
    name TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);

ALTER TABLE surveys ADD COLUMN targets_source TEXT;

-- A retired question keeps its answers and codebook entry but leaves the form.
ALTER TABLE questions ADD COLUMN retired BOOLEAN NOT NULL DEFAULT 0;
