//! One integration binary: every test starts the real server on a free port
//! against a fresh store (SQLite; PostgreSQL too when TEST_DATABASE_URL is set).

mod access;
mod analysis;
mod backup;
mod browser;
mod charts;
mod dashboard;
mod differential;
mod disclosure;
mod exports;
mod helpers;
mod hostile;
mod ingest;
mod naive;
mod operations;
mod outages;
mod resilience;
mod roundtrip;
mod store;
mod submit_form;
mod submit_json;
