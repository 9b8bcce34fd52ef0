-- The aggregates hold record-key sums the previous release cannot read:
-- mark them for a rebuild from the responses at its next start.
UPDATE surveys SET aggregates_ok = false;
ALTER TABLE responses DROP COLUMN record_key;
ALTER TABLE surveys DROP COLUMN public_changes;
