//! The `trustpulse` command: command-line parsing and library calls, nothing else.

use std::net::TcpListener;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use trustpulse::auth::Role;
use trustpulse::config::{DEFAULT_BIND, DEFAULT_DATABASE_URL, Settings};
use trustpulse::db::{self, DatabaseUrl, Store};
use trustpulse::telemetry;

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
    /// Manage API tokens for researchers and admins.
    Token {
        #[command(subcommand)]
        action: TokenAction,
    },
    /// Load the demo survey, its events and synthetic responses.
    Demo {
        /// Synthetic responses to add (0 loads only the definition and events).
        #[arg(long, default_value_t = 20_000)]
        responses: u64,
        /// Seed of the generator: the same seed gives the same answers.
        #[arg(long, default_value_t = 2024)]
        seed: u64,
    },
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
    telemetry::init_logging(settings.log_json);
    let store = Store::open(&settings.database_url)?;
    if demo {
        let mut conn = store.get()?;
        if db::surveys::list(&mut conn)?.is_empty() {
            drop(conn);
            load_demo(&store, 20_000, 2024)?;
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
            "trustpulse listening on http://{address}/ (questionnaire: http://{address}/s/digital-trust)"
        );
        for outcome in futures_util::future::join_all(running).await {
            outcome.map_err(|e| anyhow::anyhow!("server task failed: {e}"))??;
        }
        anyhow::Ok(())
    })?;
    Ok(())
}
