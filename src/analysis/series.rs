//! Series: per period (and group), weighted estimates with intervals, built
//! from the aggregate tables (never from raw answers).
//!
//! Every published figure is a sum of *atoms*: one piece of time (an ISO week
//! cut at month ends and waves, or a day) × one group, tallied per answer
//! value. Public atoms are perturbed by their cell key before anything is
//! summed, so every public figure — any interval, range, smoothing or change
//! point — is a function of the same perturbed atoms, and differencing two
//! requests can at best give back a perturbed atom.

use std::cell::OnceCell;
use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use chrono::NaiveDate;
use serde::Serialize;

use crate::aggregate::{self, EVERYONE};
use crate::analysis::disclosure::{self, Audience};
use crate::analysis::measure::{Measure, Place};
use crate::analysis::memo::{Decoded, Decoder, Memo, Version};
use crate::analysis::params::{Interval, MAX_POINTS, SeriesSpec};
use crate::analysis::periods;
use crate::analysis::weighting::{self, RakePeriod, WeightingReport, Weights};
use crate::db::DbConnection;
use crate::db::aggregates::{self, Piece};
use crate::db::surveys::Wave;
use crate::error::{AppError, AppResult, Detail};
use crate::stats::cellkey::Tally;
use crate::stats::estimate::{self, Moments};
use crate::stats::sums;
use crate::survey::Survey;
use crate::survey::targets::Targets;

/// What a series is computed against.
pub struct Context<'a> {
    pub survey: &'a Survey,
    pub targets: &'a Targets,
    pub waves: &'a [Wave],
    pub min_cell: u32,
    /// Who asks: the public (perturbed, completed periods) or a researcher.
    pub audience: Audience,
    /// Store reads and raking kept between requests, where the caller has a memo.
    pub memo: Option<&'a Memo>,
    /// The store's version for this audience, read once per context (start empty).
    pub version: OnceCell<Version>,
}

impl Context<'_> {
    /// The store's version as this context's audience sees it: the figures'
    /// data version and the name of what the memo keeps.
    pub fn version(&self, conn: &mut DbConnection) -> diesel::QueryResult<Version> {
        if let Some(version) = self.version.get() {
            return Ok(*version);
        }
        let version = Version {
            survey_id: self.survey.id,
            public: self.audience.is_public(),
            data_version: self.audience.data_version(
                aggregates::versions(conn, self.survey.id)?,
                self.audience.closed_waves(self.waves),
            ),
        };
        Ok(*self.version.get_or_init(|| version))
    }
}

/// One point of a series.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Point {
    pub period_start: NaiveDate,
    pub group: String,
    /// Null for a suppressed public cell.
    pub n: Option<i64>,
    pub n_eff: Option<f64>,
    pub value: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    pub suppressed: bool,
    pub weighted: bool,
    /// Standard error in the point's units (change points use it).
    #[serde(skip)]
    pub se: Option<f64>,
}

/// A period's accumulated moments per group, and its whole valid n.
#[derive(Debug, Clone, Default)]
pub struct PeriodSums {
    pub groups: Vec<Moments>,
    pub total_n: i64,
    /// Valid answers outside every group of a breakdown.
    pub residual_n: i64,
    /// Every raking period that fed it was raked.
    pub raked: bool,
    pub any: bool,
}

/// The computed series and what the metadata reports about it.
pub struct Series {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub points: Vec<Point>,
    pub groups: Vec<String>,
    pub weighting: Vec<WeightingReport>,
    pub weighted: bool,
    pub data_version: i64,
    /// Sums per period, kept for re-estimating pooled segments.
    pub period_sums: Vec<(NaiveDate, PeriodSums)>,
}

/// An atom's place: the first day of its piece of time (a day, or a piece's
/// week start), its month and its wave (0: none).
type AtomTime = (NaiveDate, NaiveDate, i32);

/// The tallies of one question per atom: per group, and for everyone in the
/// atom's time (the period's whole n, the residual of a breakdown).
pub struct Atoms {
    pub groups: Vec<String>,
    /// (time, group index or `groups.len()` for everyone) → tally.
    pub tallies: BTreeMap<(AtomTime, usize), Tally>,
    /// Without a breakdown the one group is everyone: one tally serves both.
    pub shared_total: bool,
}

impl Atoms {
    /// The index under which everyone in an atom's time is tallied.
    pub fn everyone(&self) -> usize {
        if self.shared_total {
            0
        } else {
            self.groups.len()
        }
    }

    /// Is this the tally of everyone (the period's whole n)?
    pub fn is_everyone(&self, group: usize) -> bool {
        group == self.everyone()
    }

    /// The index of the residual of a breakdown: those in no group (a
    /// non-substantive or missing answer to the breakdown question). Kept as
    /// an atom of its own, so that secondary suppression weighs a perturbed
    /// residual, not the difference of separately perturbed totals.
    pub fn residual(&self) -> usize {
        self.groups.len() + 1
    }

    /// The tally of everyone in an atom's time (made-up answers follow it).
    pub fn everyone_at(&self, time: AtomTime) -> Option<&Tally> {
        self.tallies.get(&(time, self.everyone()))
    }
}

/// Tallies rows (time, cell, sums) into atoms. `g` gives a row's raking
/// factor; cells are looked up once each (a request touches a few hundred
/// cells but tens of thousands of rows).
pub struct AtomBuilder<'a> {
    measure: &'a Measure,
    by: Option<&'a str>,
    group_index: HashMap<String, usize>,
    // FxHash: looked up once per row read.
    cells: rustc_hash::FxHashMap<String, Option<usize>>,
    atoms: Atoms,
    /// One row's sums, reused (no allocation per row).
    row: Tally,
}

impl<'a> AtomBuilder<'a> {
    pub fn new(measure: &'a Measure, spec: &'a SeriesSpec) -> AtomBuilder<'a> {
        let groups = spec.groups();
        AtomBuilder {
            measure,
            by: spec.by.as_ref().map(|q| q.code.as_str()),
            group_index: groups
                .iter()
                .enumerate()
                .map(|(i, g)| (g.clone(), i))
                .collect(),
            cells: Default::default(),
            row: measure.tally(),
            atoms: Atoms {
                groups,
                tallies: BTreeMap::new(),
                shared_total: spec.by.is_none(),
            },
        }
    }

    fn group(&mut self, cell: &str) -> Option<usize> {
        if let Some(g) = self.cells.get(cell) {
            return *g;
        }
        let value = self.by.map_or("", |d| aggregate::cell_value(cell, d));
        let g = self.group_index.get(value).copied();
        self.cells.insert(cell.to_string(), g);
        g
    }

    /// The atom slot a cell's rows go to beside everyone's: its group, the
    /// residual outside every group, or none without a breakdown.
    pub fn group_of(&mut self, cell: &str) -> Option<usize> {
        if self.atoms.shared_total {
            None
        } else {
            Some(self.group(cell).unwrap_or(self.atoms.residual()))
        }
    }

    /// Adds one row, given as a closure that adds its sums to a tally.
    pub fn add(
        &mut self,
        time: AtomTime,
        cell: &str,
        add: &mut dyn FnMut(&Measure, &mut Tally) -> Result<(), String>,
    ) -> Result<(), String> {
        let group = self.group_of(cell);
        self.add_to(time, group, add)
    }

    /// `add` with the cell's slot already found (`group_of`).
    pub fn add_to(
        &mut self,
        time: AtomTime,
        group: Option<usize>,
        add: &mut dyn FnMut(&Measure, &mut Tally) -> Result<(), String>,
    ) -> Result<(), String> {
        let everyone = self.atoms.everyone();
        let measure = self.measure;
        self.row.clear();
        add(measure, &mut self.row)?;
        for slot in [Some(everyone), group].into_iter().flatten() {
            self.atoms
                .tallies
                .entry((time, slot))
                .or_insert_with(|| measure.tally())
                .merge(&self.row);
        }
        Ok(())
    }

    pub fn finish(self) -> Atoms {
        self.atoms
    }
}

/// Moments of one atom as published: perturbed for the public, with added
/// answers following `prior` (everyone in the atom's time).
pub fn atom_moments(
    measure: &Measure,
    tally: &Tally,
    prior: Option<&Tally>,
    audience: &Audience,
) -> Moments {
    if audience.perturbed() {
        let mut t = tally.clone();
        measure.perturb(&mut t, prior.unwrap_or(tally));
        measure.moments(&t)
    } else {
        measure.moments(tally)
    }
}

pub fn compute(conn: &mut DbConnection, ctx: &Context, spec: &SeriesSpec) -> AppResult<Series> {
    let survey_id = ctx.survey.id;
    let data_version = ctx.version(conn)?.data_version;
    let groups = spec.groups();
    let weighted = spec.weighted && !ctx.targets.is_empty();
    let empty = |data_version| Series {
        from: None,
        to: None,
        points: Vec::new(),
        groups: groups.clone(),
        weighting: Vec::new(),
        weighted,
        data_version,
        period_sums: Vec::new(),
    };
    // Never wider than the data: a request's cost is bounded by what is stored.
    let last_day = ctx.audience.last_day();
    let Some((first, last)) = aggregates::date_range(conn, survey_id, last_day)? else {
        return Ok(empty(data_version));
    };
    let from = spec.from.map_or(first, |f| f.max(first));
    let to = spec.to.map_or(last, |t| t.min(last)).min(last_day);
    if from > to {
        return Ok(empty(data_version));
    }
    let (from, to) = periods::widen(spec.interval, from, to);
    let mut starts = periods::periods(spec.interval, from, to, ctx.waves);
    // The public sees whole periods that have ended.
    if ctx.audience.completed_periods_only() {
        starts.retain(|s| periods::end(spec.interval, *s, ctx.waves) <= last_day);
    }
    let (Some(&first_start), Some(&last_start)) = (starts.first(), starts.last()) else {
        return Ok(empty(data_version));
    };
    if starts.len() * groups.len() > MAX_POINTS {
        return Err(AppError::invalid(
            "too many points for one answer",
            vec![Detail::field(
                "interval",
                "too_many_points",
                format!(
                    "{} periods x {} groups is over {MAX_POINTS}: use a coarser interval or a shorter range",
                    starts.len(),
                    groups.len()
                ),
            )],
        ));
    }
    let to = periods::end(spec.interval, last_start, ctx.waves).max(first_start);
    // Smoothing pools each period with the smooth − 1 before it, the range's
    // first period too (METHODS, Smoothing): those periods are read as well.
    let lead = lead_in(spec, ctx, first, first_start);
    let pooled_starts: Vec<NaiveDate> = lead.iter().chain(&starts).copied().collect();
    // Data range: for waves, every month any of the chosen waves touches.
    let (data_from, data_to) = match spec.interval {
        Interval::Wave => {
            let chosen: Vec<&Wave> = ctx
                .waves
                .iter()
                .filter(|w| pooled_starts.contains(&w.opens))
                .collect();
            match (
                chosen.iter().map(|w| w.opens).min(),
                chosen.iter().map(|w| w.closes).max(),
            ) {
                (Some(a), Some(b)) => (a, b.min(last_day)),
                _ => return Ok(empty(data_version)),
            }
        }
        _ => (pooled_starts[0].min(from), to.min(last_day)),
    };
    let (month_from, month_to) = (
        aggregate::month_start(data_from),
        aggregate::month_start(data_to),
    );
    let weights = read_weights(conn, ctx, weighted, month_from, month_to)?;
    let measure = Measure::new(spec);
    let wave_opens: HashMap<i32, NaiveDate> = ctx.waves.iter().map(|w| (w.id, w.opens)).collect();
    // Atom time → (its period's start, its raking period).
    let mut placement: HashMap<AtomTime, (NaiveDate, RakePeriod)> = HashMap::new();
    let factor = |cell: &str, rake: RakePeriod| -> f64 {
        if weighted && weights.raked(rake) {
            weights.factor(rake, cell)
        } else {
            1.0
        }
    };
    let mut builder = AtomBuilder::new(&measure, spec);
    let result = match spec.interval {
        Interval::Day => {
            let rows = aggregates::days(conn, survey_id, &spec.question.code, data_from, data_to)?;
            rows.into_iter().try_for_each(|(day, wave_id, cell, q)| {
                let rake = RakePeriod::of(day, wave_id);
                let time = (day, aggregate::month_start(day), wave_id);
                placement.insert(time, (day, rake));
                let g = factor(&cell, rake);
                builder.add(time, &cell, &mut |m, t| {
                    for (value, s) in &q {
                        m.add(t, value, s, g);
                    }
                    Ok(())
                })
            })
        }
        _ => {
            // For the public, a piece still open (the running week or month,
            // holding today's answers) is never read, so neither what is kept
            // nor the time it takes depends on today.
            let closed_waves: Vec<i32> = ctx
                .waves
                .iter()
                .filter(|w| w.closes <= last_day)
                .map(|w| w.id)
                .collect();
            let complete = |piece: &Piece| {
                !ctx.audience.completed_periods_only()
                    || periods::piece_end(piece) <= last_day
                    || closed_waves.contains(&piece.wave_id)
            };
            let read = |conn: &mut DbConnection, range| -> diesel::QueryResult<Decoded> {
                let mut decoder = Decoder::default();
                aggregates::for_each_piece(
                    conn,
                    survey_id,
                    &spec.question.code,
                    range,
                    |piece, cell, text| match complete(&piece) {
                        true => decoder.push(piece, cell, text).map_err(corrupt),
                        false => Ok(()),
                    },
                )?;
                Ok(decoder.finish())
            };
            // The public's figures change once a day at most: its reads are kept
            // whole, the question's completed history, and serve every range and
            // interval. A researcher's change with every answer: read as asked.
            let range = match ctx.audience.completed_periods_only() {
                true => (NaiveDate::MIN, NaiveDate::MAX, last_day),
                false => (month_from, month_to, data_to),
            };
            let rows = match ctx.memo {
                Some(memo) => {
                    let version = ctx.version(conn)?;
                    memo.rows(version, &spec.question.code, range, || read(conn, range))?
                }
                None => Arc::new(read(conn, range)?),
            };
            let in_range = |piece: &Piece| {
                (month_from..=month_to).contains(&piece.month_start) && piece.week_start <= data_to
            };
            // Each interned cell and code looked up once for this request.
            let groups_of: Vec<Option<usize>> =
                rows.cells.iter().map(|c| builder.group_of(c)).collect();
            let places: Vec<Place> = rows.values.iter().map(|v| measure.place(v)).collect();
            let mut factors: rustc_hash::FxHashMap<(RakePeriod, u32), f64> = Default::default();
            rows.rows.iter().try_for_each(|row| {
                let piece = row.piece;
                if !in_range(&piece) {
                    return Ok(());
                }
                let period = match spec.interval {
                    Interval::Week => Some(piece.week_start),
                    Interval::Month => Some(piece.month_start),
                    _ => wave_opens.get(&piece.wave_id).copied(),
                };
                let Some(period) = period else { return Ok(()) };
                let rake = RakePeriod::of(piece.month_start, piece.wave_id);
                let time = (piece.week_start, piece.month_start, piece.wave_id);
                placement.insert(time, (period, rake));
                let g = *factors
                    .entry((rake, row.cell))
                    .or_insert_with(|| factor(&rows.cells[row.cell as usize], rake));
                let entries = rows.entries_of(row);
                builder.add_to(time, groups_of[row.cell as usize], &mut |m, t| {
                    for entry in entries {
                        m.add_to(t, places[entry.value as usize], &rows.sums(entry), g);
                    }
                    Ok(())
                })
            })
        }
    };
    result.map_err(corrupt)?;
    let atoms = builder.finish();
    let sums = period_sums(
        &pooled_starts,
        &atoms,
        &placement,
        &measure,
        &weights,
        ctx,
        weighted,
    );
    let points = estimate_points(
        &pooled_starts,
        &sums,
        lead.len(),
        &groups,
        spec,
        &measure,
        ctx,
        weighted,
    );
    let mut weighting = weights.reports.clone();
    if ctx.audience.perturbed() {
        disclosure::hide_weighting_counts(&mut weighting);
    }
    Ok(Series {
        from: Some(from),
        to: Some(to),
        points,
        groups,
        weighting,
        weighted,
        data_version,
        period_sums: starts
            .into_iter()
            .zip(sums.into_iter().skip(lead.len()))
            .collect(),
    })
}

pub fn corrupt(e: String) -> diesel::result::Error {
    diesel::result::Error::DeserializationError(format!("aggregate sums: {e}").into())
}

/// The raking weights of the months (or every wave) a range touches. For the
/// public, a raking period still open (this month, a wave not yet closed) is
/// raked on its completed days only: otherwise today's answers would move the
/// weights of weeks already published.
pub fn read_weights(
    conn: &mut DbConnection,
    ctx: &Context,
    weighted: bool,
    month_from: NaiveDate,
    month_to: NaiveDate,
) -> diesel::QueryResult<Arc<Weights>> {
    let Some(memo) = ctx.memo else {
        return rake(conn, ctx, weighted, month_from, month_to).map(Arc::new);
    };
    // Targets and waves are not in the data version: their digest names
    // the weights too.
    let mut setting = std::collections::hash_map::DefaultHasher::new();
    format!("{:?}{:?}", ctx.targets, ctx.waves).hash(&mut setting);
    memo.weights(
        ctx.version(conn)?,
        weighted,
        (month_from, month_to, ctx.audience.last_day()),
        setting.finish(),
        || rake(conn, ctx, weighted, month_from, month_to),
    )
}

/// Reads the everyone rows of a range and rakes them.
fn rake(
    conn: &mut DbConnection,
    ctx: &Context,
    weighted: bool,
    month_from: NaiveDate,
    month_to: NaiveDate,
) -> diesel::QueryResult<Weights> {
    if !weighted {
        return weighting::weights(ctx.survey, ctx.targets, ctx.waves, &[], false).map_err(corrupt);
    }
    // A wave is raked as a whole: widen to every month of the waves that
    // touch the range (not the survey's whole history).
    let month_end = weighting::period_end(RakePeriod::Month(month_to), ctx.waves);
    let touching = ctx
        .waves
        .iter()
        .filter(|w| w.opens <= month_end && w.closes >= month_from);
    let (a, b) = touching.fold((month_from, month_to), |(a, b), w| {
        (
            a.min(aggregate::month_start(w.opens)),
            b.max(aggregate::month_start(w.closes)),
        )
    });
    // Everyone-sums are kept per month: for the public, none of the month
    // still running is read at all (not even the time a request takes may
    // depend on today's answers).
    let last_day = ctx.audience.last_day();
    let up_to = if ctx.audience.completed_periods_only() {
        let next = disclosure::last_completed_piece(last_day) + chrono::Duration::days(1);
        aggregate::month_start(next) - chrono::Duration::days(1)
    } else {
        last_day
    };
    let mut everyone = aggregates::pieces_raw(conn, ctx.survey.id, EVERYONE, a, b, up_to)?;
    if ctx.audience.completed_periods_only() {
        let open = |rake: RakePeriod| weighting::period_end(rake, ctx.waves) > last_day;
        // Open periods are raked on whole pieces of time only: raking on every
        // day up to yesterday would move published weights each night, and
        // two nights apart would describe one day's respondents.
        let frontier = disclosure::last_completed_piece(last_day);
        everyone.retain(|(piece, _, _)| !open(RakePeriod::of(piece.month_start, piece.wave_id)));
        let open_from = ctx
            .waves
            .iter()
            .filter(|w| w.closes > last_day)
            .map(|w| w.opens)
            .chain([aggregate::month_start(last_day)])
            .min()
            .unwrap_or(last_day);
        // Day rows fill in what the month rows above leave out: open periods up
        // to the frontier, and a wave that closed in the running month (its
        // days are all complete), never today.
        let start = open_from.min(up_to + chrono::Duration::days(1));
        if start <= last_day {
            for (day, wave_id, cell, sums) in
                aggregates::days(conn, ctx.survey.id, EVERYONE, start, last_day)?
            {
                let rake = RakePeriod::of(day, wave_id);
                let wanted = if open(rake) {
                    day <= frontier
                } else {
                    day > up_to
                };
                if !wanted {
                    continue;
                }
                let month = aggregate::month_start(day);
                let piece = aggregates::Piece {
                    week_start: month,
                    month_start: month,
                    wave_id,
                };
                everyone.push((piece, cell, sums::encode(&sums)));
            }
        }
    }
    weighting::weights(ctx.survey, ctx.targets, ctx.waves, &everyone, weighted).map_err(corrupt)
}

/// Adds each atom's (perturbed, for the public) moments into its period.
fn period_sums(
    starts: &[NaiveDate],
    atoms: &Atoms,
    placement: &HashMap<AtomTime, (NaiveDate, RakePeriod)>,
    measure: &Measure,
    weights: &Weights,
    ctx: &Context,
    weighted: bool,
) -> Vec<PeriodSums> {
    let index: HashMap<NaiveDate, usize> =
        starts.iter().enumerate().map(|(i, d)| (*d, i)).collect();
    let mut sums: Vec<PeriodSums> = starts
        .iter()
        .map(|_| PeriodSums {
            groups: vec![Moments::default(); atoms.groups.len()],
            total_n: 0,
            residual_n: 0,
            raked: weighted,
            any: false,
        })
        .collect();
    for ((time, group), tally) in &atoms.tallies {
        let Some((period, rake)) = placement.get(time) else {
            continue;
        };
        let Some(&i) = index.get(period) else {
            continue;
        };
        let m = atom_moments(measure, tally, atoms.everyone_at(*time), &ctx.audience);
        let slot = &mut sums[i];
        if atoms.is_everyone(*group) {
            slot.total_n += m.n;
            if m.n > 0 {
                slot.any = true;
                slot.raked &= weights.raked(*rake);
            }
        }
        if *group < atoms.groups.len() {
            slot.groups[*group].merge(&m);
        } else if *group == atoms.residual() {
            slot.residual_n += m.n;
        }
    }
    sums
}

/// The up to smooth − 1 periods before `first_start` that smoothing pools
/// into the first periods of a range, from the data's first day `first` on.
fn lead_in(
    spec: &SeriesSpec,
    ctx: &Context,
    first: NaiveDate,
    first_start: NaiveDate,
) -> Vec<NaiveDate> {
    if spec.smooth <= 1 {
        return Vec::new();
    }
    let (data_start, _) = periods::widen(spec.interval, first, first);
    let before: Vec<NaiveDate> =
        periods::periods(spec.interval, data_start, first_start, ctx.waves)
            .into_iter()
            .filter(|s| *s < first_start)
            .collect();
    before[before.len().saturating_sub(spec.smooth - 1)..].to_vec()
}

/// Estimates every (period, group) from the `first`th period on, pooling
/// `smooth` periods, then applies primary and secondary suppression.
#[allow(clippy::too_many_arguments)]
fn estimate_points(
    starts: &[NaiveDate],
    sums: &[PeriodSums],
    first: usize,
    groups: &[String],
    spec: &SeriesSpec,
    measure: &Measure,
    ctx: &Context,
    weighted: bool,
) -> Vec<Point> {
    let scale = spec.metric.scale_factor();
    let mut points = Vec::with_capacity(starts.len() * groups.len());
    for (i, start) in starts.iter().enumerate().skip(first) {
        let window = &sums[i.saturating_sub(spec.smooth - 1)..=i];
        let total_n: i64 = window.iter().map(|s| s.total_n).sum();
        let residual_n: i64 = window.iter().map(|s| s.residual_n).sum();
        let raked = weighted && window.iter().all(|s| s.raked || !s.any);
        let pooled: Vec<Moments> = (0..groups.len())
            .map(|gi| {
                let mut m = Moments::default();
                for s in window {
                    m.merge(&s.groups[gi]);
                }
                m
            })
            .collect();
        let row = estimate::estimate_period(
            &pooled,
            total_n,
            measure.interval(),
            ctx.min_cell,
            spec.by.is_some().then_some(residual_n),
        );
        for ((e, suppressed), group) in row.into_iter().zip(groups) {
            points.push(disclosure::point(
                *start,
                group,
                &e,
                suppressed,
                raked,
                scale,
                &ctx.audience,
            ));
        }
    }
    points
}
