//! The `switchboard` command line.

use clap::{Parser, Subcommand};
use domain::Role;
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;
use switchboard::settings::Settings;

/// Switchboard: omnichannel contact-center platform.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// TOML configuration file (environment `SWITCHBOARD_<SECTION>__<KEY>` overrides it).
    #[arg(long, global = true, env = "SWITCHBOARD_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (embedded SQLite and the demo configuration by default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Import data.
    Import {
        #[command(subcommand)]
        what: ImportWhat,
    },
    /// Manage user accounts.
    User {
        #[command(subcommand)]
        action: UserAction,
    },
    /// The tamper-evident audit trail.
    Audit {
        #[command(subcommand)]
        action: AuditAction,
    },
}

#[derive(Subcommand)]
enum AuditAction {
    /// Re-walk the hash chain and the signed hourly checkpoints; exit 1 and
    /// name the first bad entry if anything was altered.
    Verify,
}

#[derive(Subcommand)]
enum ImportWhat {
    /// Customers from a CSV file (columns: name, phone(s), email(s), segment, language, any attribute).
    Customers {
        /// The CSV file.
        file: PathBuf,
    },
}

#[derive(Subcommand)]
enum UserAction {
    /// Create a user. The password is read from standard input with
    /// `--password-stdin`, else a random one is generated and printed.
    Add {
        /// Username.
        username: String,
        /// Role: admin, supervisor or agent.
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// For agents: the agent login to link.
        #[arg(long)]
        agent: Option<String>,
        /// Read the password from standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set a user's password (ends their sessions).
    Passwd {
        /// Username.
        username: String,
        /// Read the password from standard input.
        #[arg(long)]
        password_stdin: bool,
    },
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s).ok_or_else(|| format!("{s:?} is not one of admin, supervisor, agent"))
}

fn read_password(from_stdin: bool) -> Result<(String, bool), String> {
    if from_stdin {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| format!("reading standard input: {e}"))?;
        Ok((s.trim_end_matches(['\r', '\n']).to_string(), false))
    } else {
        Ok((switchboard::auth::random_password(16), true))
    }
}

fn main() -> ExitCode {
    // One rustls crypto provider for the whole process (SMTP STARTTLS, HTTPS
    // to the Graph API).
    channels::install_tls_provider();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
                tracing_subscriber::EnvFilter::new("info,sqlx=warn,tower_http=warn")
            }),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();
    let settings = match Settings::load(cli.config.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    rt.block_on(async move {
        match run(cli.command, settings).await {
            Ok(code) => code,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        }
    })
}

async fn run(command: Command, settings: Settings) -> Result<ExitCode, String> {
    match command {
        Command::Serve => {
            switchboard::server::serve(settings)
                .await
                .map_err(|e| e.to_string())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate => {
            let store = store::open(&settings.database_url())
                .await
                .map_err(|e| e.to_string())?;
            println!("migrations applied ({})", store.backend());
            store.close().await;
            Ok(ExitCode::SUCCESS)
        }
        Command::Import {
            what: ImportWhat::Customers { file },
        } => {
            let store = store::open(&settings.database_url())
                .await
                .map_err(|e| e.to_string())?;
            let progress = std::io::IsTerminal::is_terminal(&std::io::stderr());
            let report = switchboard::import::import_customers_csv(
                &*store,
                &file,
                &settings.phone.default_country,
                switchboard::now(),
                progress,
            )
            .await
            .map_err(|e| e.to_string())?;
            store.close().await;
            for r in &report.rejected {
                eprintln!("rejected: {r}");
            }
            println!(
                "imported {} customers, rejected {} rows",
                report.imported,
                report.rejected.len()
            );
            // 3: some rows were rejected (the others are committed).
            Ok(if report.rejected.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(3)
            })
        }
        Command::Audit {
            action: AuditAction::Verify,
        } => {
            let key_path = switchboard::security::key_path(&settings);
            let key = switchboard::security::load_key(&key_path, false)?;
            let store = store::open(&settings.database_url())
                .await
                .map_err(|e| e.to_string())?;
            let result = switchboard::security::verify(&*store, &key.verifying_key()).await;
            store.close().await;
            match result {
                Ok(r) => {
                    println!(
                        "audit trail OK: {} entries, {} signed checkpoints, {} entries not yet checkpointed",
                        r.entries, r.checkpoints, r.unsigned_tail
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    println!("audit trail BAD: {e}");
                    Ok(ExitCode::from(1))
                }
            }
        }
        Command::User { action } => {
            let store = store::open(&settings.database_url())
                .await
                .map_err(|e| e.to_string())?;
            let result = match action {
                UserAction::Add {
                    username,
                    role,
                    agent,
                    password_stdin,
                } => {
                    let (password, generated) = read_password(password_stdin)?;
                    let agent_id = match agent {
                        Some(login) => Some(
                            store
                                .list_agents()
                                .await
                                .map_err(|e| e.to_string())?
                                .into_iter()
                                .find(|a| a.login == login)
                                .ok_or_else(|| format!("no agent with login {login:?}"))?
                                .id,
                        ),
                        None => None,
                    };
                    switchboard::api::create_user_checked(
                        &*store, &username, &password, role, agent_id,
                    )
                    .await
                    .map(|u| {
                        println!("user {} created ({})", u.username, u.role.as_str());
                        if generated {
                            println!("password: {password}");
                        }
                    })
                }
                UserAction::Passwd {
                    username,
                    password_stdin,
                } => {
                    let (password, generated) = read_password(password_stdin)?;
                    switchboard::api::set_password(&*store, &username, &password)
                        .await
                        .map(|_| {
                            println!("password of {username} changed; their sessions are closed");
                            if generated {
                                println!("password: {password}");
                            }
                        })
                }
            };
            store.close().await;
            result.map_err(|e| e.message)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
