DROP TABLE responses;
DROP TABLE events;
DROP TABLE waves;
DROP TABLE options;
DROP TABLE scales;
DROP TABLE questions;
DROP TABLE surveys;
