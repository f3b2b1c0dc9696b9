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
    /// Encrypted backup sets (`[backup]` settings).
    Backup {
        #[command(subcommand)]
        action: BackupAction,
    },
    /// Restore a backup set into an empty folder (and an empty database).
    Restore {
        /// The set id (see `backup list`); a differential brings its full's files.
        #[arg(long, required_unless_present = "at")]
        from: Option<String>,
        /// Instead of --from: the newest set made at or before this time (RFC 3339).
        #[arg(long, conflicts_with = "from")]
        at: Option<String>,
        /// Empty folder for the files (recordings/, prompts/, flows/, config/, and
        /// switchboard.db for an SQLite set).
        #[arg(long)]
        into: PathBuf,
        /// Empty target database: postgres://... for a PostgreSQL set, or
        /// sqlite://PATH to place an SQLite set's database elsewhere.
        #[arg(long)]
        database: Option<String>,
    },
    /// Contact-center report (KPIs per queue, agent, channel and interval)
    /// from the event log, exported to xlsx or pdf.
    Report {
        /// Start: a date (local midnight in --tz) or an RFC 3339 instant.
        #[arg(long)]
        from: String,
        /// End (exclusive): a date (local midnight in --tz) or an RFC 3339 instant.
        #[arg(long)]
        to: String,
        /// Only this queue (name or id).
        #[arg(long)]
        queue: Option<String>,
        /// xlsx or pdf.
        #[arg(long, value_parser = ["xlsx", "pdf"])]
        format: String,
        /// Output file.
        #[arg(long)]
        out: PathBuf,
        /// IANA time zone where days begin (Africa/Porto-Novo, Europe/Paris...).
        #[arg(long, default_value = "UTC")]
        tz: String,
        /// Rows of the interval table: 15min, hour, day, week, month.
        #[arg(long, default_value = "day", value_parser = ["15min", "hour", "day", "week", "month"])]
        interval: String,
        /// Service-level threshold T, s.
        #[arg(long, default_value_t = 20)]
        sl_threshold: u32,
        /// Language of headings and formulas: fr or en.
        #[arg(long, default_value = "fr", value_parser = ["fr", "en"])]
        lang: String,
    },
    /// The tamper-evident audit trail.
    Audit {
        #[command(subcommand)]
        action: AuditAction,
    },
}

#[derive(Subcommand)]
enum BackupAction {
    /// Make a set now: a differential (or a full when there is none yet).
    Run {
        /// Make a full set.
        #[arg(long)]
        full: bool,
    },
    /// List the sets of the local repository.
    List,
    /// Check every file of a set (and of its full); names the first bad file.
    Verify {
        /// The set id.
        set: String,
    },
    /// Write a new random key to FILE (mode 0600); the key is not printed.
    Keygen {
        /// Where to write it (must not exist).
        file: PathBuf,
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
        Command::Backup { action } => backup(action, &settings).await,
        Command::Report {
            from,
            to,
            queue,
            format,
            out,
            tz,
            interval,
            sl_threshold,
            lang,
        } => {
            use switchboard::report as rep;
            let from = rep::parse_when(&from, &tz).map_err(|e| format!("--from: {e}"))?;
            let to = rep::parse_when(&to, &tz).map_err(|e| format!("--to: {e}"))?;
            let mut params =
                reports::ReportParams::new(from, to, &tz).map_err(|e| e.to_string())?;
            params.interval = reports::Interval::parse(&interval).unwrap_or(params.interval);
            params.sl_threshold_s = sl_threshold;
            let lang = reports::Lang::parse(&lang).unwrap_or_default();
            let format = rep::Format::parse(&format).ok_or("--format: xlsx or pdf")?;
            let store = store::open(&settings.database_url())
                .await
                .map_err(|e| e.to_string())?;
            if let Some(q) = queue {
                let queues = store.list_queues().await.map_err(|e| e.to_string())?;
                let found = queues
                    .iter()
                    .find(|x| x.name == q || x.id.0.to_string() == q)
                    .ok_or_else(|| format!("--queue: no queue named {q:?}"))?;
                params.queue = Some(found.id);
            }
            let progress = std::io::IsTerminal::is_terminal(&std::io::stderr());
            let report = rep::build(&*store, params, progress).await;
            store.close().await;
            let report = report?;
            let bytes = rep::render(&report, format, lang)?;
            std::fs::write(&out, &bytes).map_err(|e| format!("{}: {e}", out.display()))?;
            println!(
                "report written to {} ({} events read, {} interactions offered)",
                out.display(),
                report.events_read,
                report.total.offered
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Restore {
            from,
            at,
            into,
            database,
        } => {
            use switchboard::backup as b;
            let key = b::key(&settings)?;
            let repo = b::repo(&settings);
            let id = match (from, at) {
                (Some(id), _) => continuity::SetId(id),
                (None, Some(at)) => {
                    let at: jiff::Timestamp =
                        at.parse().map_err(|e| format!("--at {at:?}: {e}"))?;
                    let sets = continuity::list_sets(&repo, &key).map_err(|e| e.to_string())?;
                    continuity::set_at(&sets, at)
                        .ok_or_else(|| format!("no set made at or before {at}"))?
                        .id
                        .clone()
                }
                (None, None) => return Err("give --from SET or --at TIME".into()),
            };
            let target = continuity::RestoreTarget {
                dir: into,
                database_url: database,
            };
            let r =
                continuity::restore_set(&repo, &key, &id, &target, &mut b::Bar::new("restoring"))
                    .await
                    .map_err(|e| e.to_string())?;
            println!(
                "restored {id}: {} files, {} bytes into {}",
                r.files,
                r.bytes,
                target.dir.display()
            );
            Ok(ExitCode::SUCCESS)
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

async fn backup(action: BackupAction, settings: &Settings) -> Result<ExitCode, String> {
    use switchboard::backup as b;
    match action {
        BackupAction::Run { full } => {
            let kind = if full {
                continuity::SetKind::Full
            } else {
                continuity::SetKind::Differential
            };
            let m = b::make_set(settings, kind, &mut b::Bar::new("backing up")).await?;
            println!(
                "{} ({:?}): {} files, {} bytes stored in this set",
                m.id,
                m.kind,
                m.files.len(),
                m.own_bytes()
            );
        }
        BackupAction::List => {
            let key = b::key(settings)?;
            for m in continuity::list_sets(&b::repo(settings), &key).map_err(|e| e.to_string())? {
                println!(
                    "{}\t{:?}\t{}\t{} files\t{} bytes\tparent {}",
                    m.id,
                    m.kind,
                    m.created_at(),
                    m.files.len(),
                    m.own_bytes(),
                    m.parent.as_ref().map_or("-", |p| p.0.as_str())
                );
            }
        }
        BackupAction::Verify { set } => {
            let key = b::key(settings)?;
            let v = continuity::verify_set(
                &b::repo(settings),
                &key,
                &continuity::SetId(set.clone()),
                &mut b::Bar::new("verifying"),
            )
            .map_err(|e| e.to_string())?;
            println!("{set}: OK, {} files, {} bytes", v.files, v.bytes);
        }
        BackupAction::Keygen { file } => {
            let key = continuity::BackupKey::generate().map_err(|e| e.to_string())?;
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
            let mut f = opts
                .open(&file)
                .map_err(|e| format!("{}: {e}", file.display()))?;
            std::io::Write::write_all(&mut f, format!("{}\n", key.to_hex()).as_bytes())
                .map_err(|e| format!("{}: {e}", file.display()))?;
            println!("key written to {}; keep a copy off-site", file.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}
