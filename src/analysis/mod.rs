//! The analysis service every face calls (JSON and CSV endpoints, and later
//! charts, dashboard and data package): series, before/after shifts and change
//! points, built from the aggregates with the estimators of `stats`, with the
//! public's disclosure rules applied in one place (`disclosure`).

pub mod changepoints;
pub mod charts;
pub mod disclosure;
pub mod measure;
pub mod memo;
pub mod params;
pub mod periods;
pub mod report;
pub mod series;
pub mod service;
pub mod shifts;
pub mod weighting;
