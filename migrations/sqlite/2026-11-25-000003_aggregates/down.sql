ALTER TABLE surveys DROP COLUMN aggregates_ok;
ALTER TABLE surveys DROP COLUMN data_version;
DROP TABLE agg_days;
DROP TABLE agg_pieces;
