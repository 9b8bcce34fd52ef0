DROP TABLE compactions;
DROP TABLE data_versions;
