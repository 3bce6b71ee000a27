//! `ipvet`: the command line. `serve` (the default) runs the web application; the other
//! commands manage the database and users for admins and scripts.

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context};
use app::model::Role;
use app::server::agents::{client, registry};
use app::server::config::Config;
use app::server::inventory::sites;
use app::server::{admin::backup, admin::users, auth::tokens, db};
use clap::{Parser, Subcommand};
use server::startup::Application;

// Small allocations are most of what drawing a page does: glibc's allocator, with its
// per-arena locks and consolidation, was over a quarter of the server's time under the web
// benchmark's load; mimalloc's thread-local free lists take a fraction of that.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "ipvet",
    version,
    about = "Vets released IP addresses before anyone gets them again."
)]
struct Cli {
    /// Config file in IPmanager's format (default: ipvet.conf in the working directory, if present).
    #[arg(long, global = true, value_name = "PATH")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the web application (the default).
    Serve,
    /// Bring the database schema up to date and exit.
    Migrate,
    /// Run one check cycle and exit (for cron, as IPmanager's `checkip`): progress on a
    /// terminal, a summary at the end, a non-zero exit if the cycle could not do its work.
    Check,
    /// Copy the SQLite database to FILE, consistently, while servers run on it (on
    /// PostgreSQL: names the pg_dump command to run instead).
    Backup {
        file: PathBuf,
        /// Replace FILE if it exists.
        #[arg(long)]
        force: bool,
    },
    /// Put the backup FILE in place of the configured SQLite database and migrate it up;
    /// refused while a server runs on it.
    Restore {
        file: PathBuf,
        /// Replace the database if it exists.
        #[arg(long)]
        force: bool,
    },
    /// Manage users.
    User {
        #[command(subcommand)]
        action: UserCommand,
    },
    /// Manage API tokens and agent tokens.
    Token {
        #[command(subcommand)]
        action: TokenCommand,
    },
    /// Run as a probe agent of a site: ask SERVER for the site's addresses to check,
    /// probe them here (with this host's config: Probes, IpCheckerScript, concurrency,
    /// ProbeRate) and send back what answered.
    Agent {
        /// The ipvet server's URL: https://, or http:// to loopback (or with --allow-http).
        #[arg(long, value_name = "URL")]
        server: String,
        /// The agent token (made on the Sites page or with `ipvet token create --agent
        /// SITE`); better passed in IPVET_AGENT_TOKEN, out of the process list.
        #[arg(
            long,
            env = "IPVET_AGENT_TOKEN",
            hide_env_values = true,
            value_name = "TOKEN"
        )]
        token: String,
        /// Allow plain HTTP to a server that is not on loopback.
        #[arg(long)]
        allow_http: bool,
        /// Trust only this CA certificate (PEM) for the server, instead of the system's.
        #[arg(long, value_name = "PATH")]
        ca_file: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Make an API token for a user, carrying the user's role, or with --agent SITE an
    /// agent token of a site; its secret is printed once.
    Create {
        #[arg(required_unless_present = "agent", conflicts_with = "agent")]
        user: Option<String>,
        /// Make an agent token of this site instead (for `ipvet agent`).
        #[arg(long, value_name = "SITE")]
        agent: Option<String>,
        /// What will use it ("billing", "panel-2"); for an agent, where it runs.
        #[arg(long)]
        name: Option<String>,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add a user; the password is read from a prompt, or from the first line of stdin.
    Add {
        name: String,
        #[arg(long, value_parser = parse_role)]
        role: Role,
    },
    /// Set a user's password, read like `add` does.
    Passwd { name: String },
    /// Disable a user; their sessions lose all rights at once.
    Disable { name: String },
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s).ok_or_else(|| format!("`{s}` is not a role: use admin, operator or viewer"))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::load(cli.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("ipvet: {e}");
            return ExitCode::from(2);
        }
    };
    init_tracing();
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    match runtime.block_on(run(cli.command.unwrap_or(Command::Serve), config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ipvet: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn,sea_orm=warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

async fn run(command: Command, config: Config) -> anyhow::Result<()> {
    match command {
        Command::Serve => serve(config).await,
        Command::Migrate => {
            db::open(&config.database).await?;
            println!("The database is up to date.");
            Ok(())
        }
        Command::Backup { file, force } => {
            let written = backup::backup(&config.database, &file, force).await?;
            println!(
                "Backed up {:?} to {}: {} bytes, {}.",
                config.database,
                written.path.display(),
                written.bytes,
                written.schema
            );
            Ok(())
        }
        Command::Restore { file, force } => {
            let restored = backup::restore(&config.database, &file, force).await?;
            if let Some(why) = &restored.replaced_unreadable {
                eprintln!("warning: the database replaced could not be read: {why}");
            }
            println!(
                "Restored {} to {}: {} bytes, {}; {} migrations applied since.",
                file.display(),
                restored.path.display(),
                restored.bytes,
                restored.from,
                restored.migrated
            );
            Ok(())
        }
        Command::User { action } => user_command(action, config).await,
        Command::Token { action } => token_command(action, config).await,
        Command::Check => check_command(config).await,
        Command::Agent {
            server,
            token,
            allow_http,
            ca_file,
        } => {
            let options = client::Options {
                server,
                token,
                allow_http,
                ca_file,
            };
            client::run(options, &config, shutdown_signal())
                .await
                .map_err(|e| anyhow!("{e}"))
        }
    }
}

async fn check_command(config: Config) -> anyhow::Result<()> {
    use std::io::Write;

    use app::model::Trigger;
    use app::server::check::cycle;
    let state = server::startup::prepare(config).await?;
    let engine = state.checks.clone();
    if let Some(problem) = engine.checker().prober.problem() {
        eprintln!("warning: {problem}");
    }
    let started = cycle::start(&state, &engine, Trigger::Command)
        .await
        .map_err(|e| anyhow!("{e}"))?;
    let run_id = started.run_id;
    let terminal = std::io::stderr().is_terminal();
    let counts = cycle::run(&state, &engine, started, |c| {
        if terminal {
            let width = 30usize;
            let filled = if c.total > 0 {
                (c.done as usize * width / c.total as usize).min(width)
            } else {
                width
            };
            eprint!(
                "\r[{}{}] {}/{} checked",
                "#".repeat(filled),
                " ".repeat(width - filled),
                c.done,
                c.total
            );
            let _ = std::io::stderr().flush();
        }
    })
    .await;
    if terminal {
        eprintln!();
    }
    let ended = counts.map_err(|e| anyhow!("check cycle {run_id} failed: {e}"))?;
    let counts = ended.counts;
    println!(
        "Check cycle {run_id}: {} addresses checked: {} freed, {} used in network, {} blocked by DNSBL, {} inconclusive.",
        counts.done, counts.freed, counts.still_used, counts.blocked, counts.unknown
    );
    if let Some(who) = &ended.cancelled_by {
        return Err(anyhow!(
            "check cycle {run_id} was cancelled by {who} before it checked every address"
        ));
    }
    if let Some(problem) = engine.checker().prober.problem() {
        if counts.total > 0 {
            return Err(anyhow!("availability checks could not run: {problem}"));
        }
    }
    Ok(())
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let app = Application::build(config).await?;
    let given = std::env::var("IPVET_ADMIN_PASSWORD")
        .ok()
        .filter(|p| !p.is_empty());
    let generated = users::ensure_first_admin(&app.state.db, given)
        .await
        .map_err(|e| anyhow!("{e}"))?;
    if let Some(password) = generated {
        println!(
            "Created the first admin: user '{}', password: {password}",
            users::FIRST_ADMIN
        );
        println!("This password is shown only this once. Sign in and change it under Users.");
    }
    println!("ipvet is listening on http://{}", app.addr);
    app.serve(shutdown_signal()).await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

async fn user_command(action: UserCommand, config: Config) -> anyhow::Result<()> {
    let conn = db::open(&config.database).await?;
    let domain = |e: app::error::AppError| anyhow!("{e}");
    match action {
        UserCommand::Add { name, role } => {
            let password = read_password(&format!("Password for {name}: "))?;
            let user = users::create(&conn, &name, role, password)
                .await
                .map_err(domain)?;
            println!("Added user '{}' with role {}.", user.name, user.role);
        }
        UserCommand::Passwd { name } => {
            let password = read_password(&format!("New password for {name}: "))?;
            users::set_password_by_name(&conn, &name, password)
                .await
                .map_err(domain)?;
            println!("Password of '{name}' changed.");
        }
        UserCommand::Disable { name } => {
            users::disable_by_name(&conn, &name).await.map_err(domain)?;
            println!("User '{name}' is disabled.");
        }
    }
    Ok(())
}

async fn token_command(action: TokenCommand, config: Config) -> anyhow::Result<()> {
    let conn = db::open(&config.database).await?;
    match action {
        TokenCommand::Create {
            agent: Some(site),
            name,
            ..
        } => {
            let domain = |e: app::error::AppError| anyhow!("{e}");
            let Some(site) = sites::by_name(&conn, &site).await.map_err(domain)? else {
                bail!("the site `local` is checked by the ipvet instances themselves; it takes no agents");
            };
            let name = name.unwrap_or_else(registry::default_name);
            let made = registry::create(&conn, &site, &name, "command line")
                .await
                .map_err(domain)?;
            eprintln!(
                "Agent '{}' of site '{}'; its token below is shown this once:",
                made.agent.name, site.name
            );
            println!("{}", made.secret);
        }
        TokenCommand::Create { user, name, .. } => {
            let user = user.unwrap_or_default();
            let name = name.unwrap_or_else(|| "command line".to_string());
            let owner = users::find_by_name(&conn, &user)
                .await
                .map_err(|e| anyhow!("{e}"))?;
            if owner.disabled {
                bail!("user '{user}' is disabled");
            }
            let made = tokens::create(&conn, &owner, &name)
                .await
                .map_err(|e| anyhow!("{e}"))?;
            eprintln!(
                "Token '{}' for '{}' ({}); the secret below is shown this once:",
                made.token.name, owner.name, owner.role
            );
            println!("{}", made.secret);
        }
    }
    Ok(())
}

/// Asks twice on a terminal; reads the first line of stdin otherwise (for scripts).
fn read_password(prompt: &str) -> anyhow::Result<String> {
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password(prompt)?;
        let again = rpassword::prompt_password("Again: ")?;
        if first != again {
            bail!("the two passwords differ");
        }
        return Ok(first);
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read the password from stdin")?;
    let password = line.trim_end_matches(['\r', '\n']).to_string();
    if password.is_empty() {
        bail!("no password given on stdin");
    }
    Ok(password)
}
