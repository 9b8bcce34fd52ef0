ALTER TABLE agg_days RESET (fillfactor);
ALTER TABLE agg_pieces RESET (fillfactor);
DROP TABLE compactions;
DROP TABLE data_versions;
