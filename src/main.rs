//! The `trustpulse` command: command-line parsing and library calls, nothing else.

use std::net::TcpListener;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use std::io::Write;
use trustpulse::analysis::service::{self, Reader};
use trustpulse::auth::Role;
use trustpulse::config::{DEFAULT_BIND, DEFAULT_DATABASE_URL, Settings};
use trustpulse::db::{self, DatabaseUrl, Store};
use trustpulse::downloads::{Download, import_csv, write_download};
use trustpulse::export::import::{ImportError, Target};
use trustpulse::plot::Format;
use trustpulse::rendering::{Caches, Kind, chart_bytes};
use trustpulse::submission::local_today;
use trustpulse::telemetry;

/// Synthetic responses the demo loads by default: enough that a month of
/// every settlement type clears the small-cell rule (with 20,000 the rule
/// withheld the villages, the smallest group, in every month).
const DEMO_RESPONSES: u64 = 100_000;

#[derive(Parser)]
#[command(
    name = "trustpulse",
    version,
    about = "Survey tracker of trust in digital government services"
)]
struct Cli {
    /// Where the data lives: sqlite://PATH, sqlite:///ABS/PATH or postgres://…
    #[arg(long, global = true, env = "TRUSTPULSE_DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    database_url: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve HTTP.
    Serve {
        /// Address to listen on (port 0 picks a free port).
        #[arg(long, env = "TRUSTPULSE_BIND", default_value = DEFAULT_BIND)]
        bind: String,
        /// Load the demo survey and synthetic responses first when the store has no surveys.
        #[arg(long)]
        demo: bool,
    },
    /// Run pending migrations and exit.
    Migrate,
    /// Write a consistent copy of a SQLite store while it serves (VACUUM INTO).
    Backup {
        /// The new file (never overwritten).
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// Compact the days completed in each survey's time zone now (the server
    /// does it by itself within a minute of midnight): stored rows then keep
    /// no trace of arrival order.
    Compact,
    /// Manage API tokens for researchers and admins.
    Token {
        #[command(subcommand)]
        action: TokenAction,
    },
    /// Load the demo survey, its events and synthetic responses.
    Demo {
        /// Synthetic responses to add (0 loads only the definition and events).
        #[arg(long, default_value_t = DEMO_RESPONSES)]
        responses: u64,
        /// Seed of the generator: the same seed gives the same answers.
        #[arg(long, default_value_t = 2024)]
        seed: u64,
    },
    /// Write a researcher's download (the same bytes as the HTTP API) to a
    /// file, with a progress bar, or to stdout.
    Export {
        what: ExportWhat,
        #[arg(long)]
        survey: String,
        /// The file to write (a codebook ending in .json is written as JSON).
        #[arg(long)]
        out: Option<std::path::PathBuf>,
        /// The HTTP query parameters as NAME=VALUE: from, to, wave,
        /// include_text for responses; question, metric, by, interval, … for series.
        filters: Vec<String>,
    },
    /// Draw one chart to a PNG or SVG file: the same bytes as
    /// /charts/{survey}/{question}.png|svg (public figures unless --exact).
    Render {
        #[arg(long)]
        survey: String,
        #[arg(long)]
        question: String,
        /// The shift chart (differences at each event) instead of the series.
        #[arg(long)]
        shifts: bool,
        /// Exact figures with today, as a researcher token sees them.
        #[arg(long)]
        exact: bool,
        /// FILE.png or FILE.svg.
        #[arg(long)]
        out: std::path::PathBuf,
        /// Series and chart parameters as NAME=VALUE: metric, by, interval,
        /// from, to, weighted, smooth, lang, width, height, events, changes.
        params: Vec<String>,
    },
    /// Load responses from a CSV in the microdata format: every row is checked
    /// and a file with a bad row stores nothing; stored response ids are skipped.
    Import {
        #[arg(long)]
        survey: String,
        file: std::path::PathBuf,
    },
}

/// The downloads `export` writes.
#[derive(Clone, Copy, clap::ValueEnum)]
enum ExportWhat {
    Responses,
    Series,
    Codebook,
    Datapackage,
}

#[derive(Subcommand)]
enum TokenAction {
    /// Create a token and print it once, alone on stdout.
    Create {
        #[arg(long, value_parser = ["researcher", "admin"])]
        role: String,
        /// Who or what the token is for.
        #[arg(long, default_value = "")]
        label: String,
    },
    /// List tokens: id, role, label, created, last used.
    List,
    /// Revoke a token; it stops working on the next request.
    Revoke { id: i32 },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let url = DatabaseUrl::parse(&cli.database_url).map_err(anyhow::Error::msg)?;
    match cli.command {
        Command::Serve { bind, demo } => serve(Settings::from_env(url, bind)?, demo),
        Command::Migrate => {
            Store::open(&url)?;
            eprintln!("migrations are up to date in {url}");
            Ok(())
        }
        Command::Backup { out } => {
            let store = Store::open(&url)?;
            let started = std::time::Instant::now();
            db::backup::backup(&mut *store.get()?, &out)?;
            let size = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
            eprintln!(
                "backup written to {} ({size} bytes) in {:.1} s",
                out.display(),
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Command::Compact => {
            let store = Store::open(&url)?;
            let started = std::time::Instant::now();
            let done = db::compaction::compact_completed(&mut *store.get()?)?;
            for (survey, days, through) in &done {
                eprintln!("{survey}: {days} days compacted, through {through}");
            }
            if done.is_empty() {
                eprintln!("nothing to compact");
            }
            eprintln!("in {:.1} s", started.elapsed().as_secs_f64());
            Ok(())
        }
        Command::Token { action } => {
            let store = Store::open(&url)?;
            let mut conn = store.get()?;
            let today = chrono::Utc::now().date_naive();
            match action {
                TokenAction::Create { role, label } => {
                    let role = Role::parse(&role).context("role is researcher or admin")?;
                    let (id, token) = db::tokens::create(&mut conn, role, &label, today)?;
                    println!("{token}");
                    eprintln!(
                        "token {id} ({}) created; it is shown only this once",
                        role.as_str()
                    );
                }
                TokenAction::List => {
                    println!(
                        "{:>4}  {:<10}  {:<10}  {:<10}  label",
                        "id", "role", "created", "last used"
                    );
                    for t in db::tokens::list(&mut conn)? {
                        let used = t.last_used_on.map_or("-".to_string(), |d| d.to_string());
                        println!(
                            "{:>4}  {:<10}  {:<10}  {:<10}  {}",
                            t.id, t.role, t.created_on, used, t.label
                        );
                    }
                }
                TokenAction::Revoke { id } => {
                    if !db::tokens::revoke(&mut conn, id)? {
                        anyhow::bail!("no token {id}");
                    }
                    eprintln!("token {id} revoked");
                }
            }
            Ok(())
        }
        Command::Demo { responses, seed } => {
            let store = Store::open(&url)?;
            load_demo(&store, responses, seed)
        }
        Command::Export {
            what,
            survey,
            out,
            filters,
        } => {
            let min_cell = Settings::from_env(url.clone(), DEFAULT_BIND.to_string())?.min_cell;
            let store = Store::open(&url)?;
            export(&store, what, &survey, out, &filters, min_cell)
        }
        Command::Render {
            survey,
            question,
            shifts,
            exact,
            out,
            params,
        } => {
            let min_cell = Settings::from_env(url.clone(), DEFAULT_BIND.to_string())?.min_cell;
            let store = Store::open(&url)?;
            let mut query = name_values(&params)?;
            if query.insert("question".into(), question).is_some() {
                anyhow::bail!("the question is given by --question");
            }
            let format = out
                .extension()
                .and_then(|e| Format::parse(&e.to_string_lossy()))
                .context("--out must end in .png or .svg")?;
            let kind = if shifts { Kind::Shifts } else { Kind::Series };
            let mut conn = store.get()?;
            let loaded = service::load(&mut conn, &survey)?;
            let reader = Reader::new(&loaded, !exact, min_cell);
            let rendered = chart_bytes(
                &mut conn,
                &reader,
                &Caches::new(),
                kind,
                format,
                &query,
                None,
            )?;
            let bytes = rendered.bytes.unwrap_or_default();
            std::fs::write(&out, &bytes).with_context(|| format!("writing {}", out.display()))?;
            eprintln!("wrote {} ({} bytes)", out.display(), bytes.len());
            Ok(())
        }
        Command::Import { survey, file } => {
            let store = Store::open(&url)?;
            import(&store, &survey, &file)
        }
    }
}

/// `NAME=VALUE` arguments as a query; a name given twice is an error.
fn name_values(pairs: &[String]) -> anyhow::Result<std::collections::HashMap<String, String>> {
    let mut query = std::collections::HashMap::new();
    for pair in pairs {
        let (name, value) = pair
            .split_once('=')
            .with_context(|| format!("{pair:?}: a parameter is NAME=VALUE"))?;
        if query.insert(name.to_string(), value.to_string()).is_some() {
            anyhow::bail!("{name} is given twice");
        }
    }
    Ok(query)
}

fn export(
    store: &Store,
    what: ExportWhat,
    survey: &str,
    out: Option<std::path::PathBuf>,
    filters: &[String],
    min_cell: u32,
) -> anyhow::Result<()> {
    let query = name_values(filters)?;
    let json = out
        .as_ref()
        .is_some_and(|p| p.extension().is_some_and(|e| e == "json"));
    let what = match what {
        ExportWhat::Responses => Download::Responses,
        ExportWhat::Series => Download::Series,
        ExportWhat::Codebook if json => Download::CodebookJson,
        ExportWhat::Codebook => Download::CodebookCsv,
        ExportWhat::Datapackage => Download::DataPackage,
    };
    let mut conn = store.get()?;
    let loaded = service::load(&mut conn, survey)?;
    match &out {
        Some(path) => {
            let file = std::fs::File::create(path)
                .with_context(|| format!("creating {}", path.display()))?;
            let bar = ProgressBar::new_spinner().with_style(
                ProgressStyle::with_template("{spinner} {msg} {bytes} ({bytes_per_sec})")
                    .context("progress template")?,
            );
            bar.set_message(format!("writing {}", path.display()));
            let mut sink = bar.wrap_write(std::io::BufWriter::with_capacity(1 << 16, file));
            let written = write_download(&mut conn, &loaded, what, &query, min_cell, &mut sink)
                .map_err(anyhow::Error::from)
                .and_then(|()| Ok(sink.flush()?));
            if let Err(e) = written {
                // Never leave a partial file that looks whole (a zip would).
                drop(sink);
                let _ = std::fs::remove_file(path);
                return Err(e);
            }
            bar.finish_and_clear();
            eprintln!("wrote {} ({} bytes)", path.display(), bar.position());
        }
        None => {
            let mut sink = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
            write_download(&mut conn, &loaded, what, &query, min_cell, &mut sink)?;
            sink.flush()?;
        }
    }
    Ok(())
}

fn import(store: &Store, survey: &str, path: &std::path::Path) -> anyhow::Result<()> {
    let mut conn = store.get()?;
    let loaded = service::load(&mut conn, survey)?;
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let bar = ProgressBar::new(file.metadata()?.len()).with_style(
        ProgressStyle::with_template(
            "{msg} [{bar:40}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
        )
        .context("progress template")?
        .progress_chars("=> "),
    );
    bar.set_message(format!("importing {}", path.display()));
    let target = Target {
        survey: &loaded.survey,
        waves: &loaded.waves,
        today: local_today(&loaded.survey),
    };
    let started = std::time::Instant::now();
    let outcome = import_csv(
        &mut conn,
        &target,
        std::io::BufReader::with_capacity(1 << 16, file),
        &mut |bytes| bar.set_position(bytes),
    );
    bar.finish_and_clear();
    match outcome {
        Ok(done) => {
            eprintln!(
                "imported {} responses into {survey} in {:.1} s ({} already stored, skipped)",
                done.stored,
                started.elapsed().as_secs_f64(),
                done.skipped
            );
            Ok(())
        }
        Err(ImportError::BadRows { listed, total }) => {
            for problem in &listed {
                eprintln!("line {}: {}", problem.line, problem.reason);
            }
            if total > listed.len() as u64 {
                eprintln!("… and {} more bad rows", total - listed.len() as u64);
            }
            anyhow::bail!(
                "{total} bad row(s) in {}: nothing was stored",
                path.display()
            )
        }
        Err(e) => anyhow::bail!("{}: {e}", path.display()),
    }
}

fn load_demo(store: &Store, responses: u64, seed: u64) -> anyhow::Result<()> {
    let bar = ProgressBar::new(responses).with_style(
        ProgressStyle::with_template("{msg} [{bar:40}] {human_pos}/{human_len} ({per_sec}, {eta})")
            .context("progress template")?
            .progress_chars("=> "),
    );
    bar.set_message("synthetic responses");
    let started = std::time::Instant::now();
    let mut conn = store.get()?;
    db::seed::load_demo(&mut conn, responses, seed, |done| bar.set_position(done))?;
    bar.finish_and_clear();
    eprintln!(
        "demo survey loaded: {responses} synthetic responses (seed {seed}) in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn serve(settings: Settings, demo: bool) -> anyhow::Result<()> {
    trustpulse::allocator::limit_arenas();
    telemetry::init_logging(settings.log_json);
    let store = Store::open(&settings.database_url)?;
    if demo {
        let mut conn = store.get()?;
        if db::surveys::list(&mut conn)?.is_empty() {
            drop(conn);
            load_demo(&store, DEMO_RESPONSES, 2024)?;
        }
    }
    let listener =
        TcpListener::bind(&settings.bind).with_context(|| format!("binding {}", settings.bind))?;
    let metrics_listener = match &settings.metrics_bind {
        Some(addr) => Some(TcpListener::bind(addr).with_context(|| format!("binding {addr}"))?),
        None => None,
    };
    let address = listener.local_addr()?;
    actix_web::rt::System::new().block_on(async move {
        let servers = trustpulse::start_server(settings, store, listener, metrics_listener)?;
        let running: Vec<_> = servers.into_iter().map(actix_web::rt::spawn).collect();
        // Let each server take its first step (installing its SIGTERM handler)
        // before anyone is told it is listening.
        actix_web::rt::task::yield_now().await;
        // One line on stdout, for people and for scripts that start the server.
        println!(
            "trustpulse listening on http://{address}/ (dashboard: http://{address}/d/digital-trust, questionnaire: http://{address}/s/digital-trust)"
        );
        for outcome in futures_util::future::join_all(running).await {
            outcome.map_err(|e| anyhow::anyhow!("server task failed: {e}"))??;
        }
        anyhow::Ok(())
    })?;
    Ok(())
}
