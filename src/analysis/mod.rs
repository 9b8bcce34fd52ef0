//! Analysis for researchers: series, before/after shifts and change points,
//! built from the aggregates with the estimators of `stats`.

pub mod changepoints;
pub mod params;
pub mod report;
pub mod series;
pub mod shifts;
