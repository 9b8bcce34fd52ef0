ALTER TABLE responses DROP COLUMN record_key;
ALTER TABLE surveys DROP COLUMN public_changes;
