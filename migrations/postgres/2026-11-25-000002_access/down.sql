ALTER TABLE questions DROP COLUMN retired;
ALTER TABLE surveys DROP COLUMN targets_source;
DROP TABLE secrets;
DROP TABLE targets;
DROP TABLE invitations;
DROP TABLE api_tokens;
