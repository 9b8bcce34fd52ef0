ALTER TABLE responses DROP COLUMN record_key;
