//! Scheduled e-mailed reports (issue 17): each `[[reports.schedules]]`
//! entry builds the KPI report of the last complete day, week or month in
//! `[site] time_zone` ([`reports::schedule`] says when and which period),
//! renders it (xlsx or pdf) and e-mails it through `[channels.smtp]`.
//! Wiring only: the fold is `reports`, the rendering its exports, the mail
//! `channels::email`.

use crate::report::Format;
use crate::settings::{ScheduledReportSettings, Settings};
use domain::Timestamp;
use reports::Lang;
use reports::schedule::{Every, Schedule};
use std::sync::Arc;
use store::Store;

/// One checked schedule.
#[derive(Clone, Debug)]
pub struct Job {
    /// Its unique name.
    pub name: String,
    /// When it runs.
    pub schedule: Schedule,
    /// Export format.
    pub format: Format,
    /// Language of headings and formulas.
    pub lang: Lang,
    /// Recipients.
    pub to: Vec<String>,
    /// Only this queue, by name.
    pub queue: Option<String>,
}

/// Check every `[[reports.schedules]]` entry.
///
/// # Errors
/// The first bad entry, named: unknown `every`, `format` or `lang`, a bad
/// `at`, no recipient, a duplicate name, or schedules without an enabled
/// `[channels.smtp]`.
pub fn jobs(settings: &Settings) -> Result<Vec<Job>, String> {
    let list = &settings.reports.schedules;
    if !list.is_empty() && !settings.channels.smtp.enabled {
        return Err("[[reports.schedules]] needs [channels.smtp] enabled".into());
    }
    let mut out: Vec<Job> = Vec::with_capacity(list.len());
    for s in list {
        let job = job(s, &settings.site.time_zone)
            .map_err(|e| format!("[[reports.schedules]] {:?}: {e}", s.name))?;
        if out.iter().any(|j| j.name == job.name) {
            return Err(format!(
                "[[reports.schedules]] {:?}: name used twice",
                s.name
            ));
        }
        out.push(job);
    }
    Ok(out)
}

fn job(s: &ScheduledReportSettings, tz: &str) -> Result<Job, String> {
    if s.name.trim().is_empty() {
        return Err("name: required".into());
    }
    let every = Every::parse(&s.every).ok_or("every: day, week or month")?;
    let schedule = Schedule::new(every, &s.at, tz).map_err(|e| e.to_string())?;
    let format = Format::parse(&s.format).ok_or("format: xlsx or pdf")?;
    let lang = match s.lang.as_str() {
        "fr" => Lang::Fr,
        "en" => Lang::En,
        _ => return Err("lang: fr or en".into()),
    };
    if s.to.is_empty() {
        return Err("to: at least one address".into());
    }
    Ok(Job {
        name: s.name.clone(),
        schedule,
        format,
        lang,
        to: s.to.clone(),
        queue: s.queue.clone(),
    })
}

/// Build `job`'s report for the period a run at `run` covers and e-mail
/// it. Returns the period sent.
///
/// # Errors
/// A message: bad settings, the store, the export or the relay.
pub async fn run(
    store: &dyn Store,
    settings: &Settings,
    job: &Job,
    run: Timestamp,
) -> Result<(Timestamp, Timestamp), String> {
    let (from, to) = job.schedule.period(run).map_err(|e| e.to_string())?;
    let mut params = reports::ReportParams::new(from, to, &settings.site.time_zone)
        .map_err(|e| e.to_string())?;
    if let Some(name) = &job.queue {
        let q = store
            .list_queues()
            .await
            .map_err(|e| e.to_string())?
            .into_iter()
            .find(|q| &q.name == name)
            .ok_or_else(|| format!("queue {name:?} does not exist"))?;
        params.queue = Some(q.id);
    }
    let report = crate::report::build(store, params, false).await?;
    let (format, lang) = (job.format, job.lang);
    let bytes = tokio::task::spawn_blocking(move || crate::report::render(&report, format, lang))
        .await
        .map_err(|e| e.to_string())??;
    let (ext, mime) = match job.format {
        Format::Xlsx => (
            "xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        Format::Pdf => ("pdf", "application/pdf"),
    };
    let day = |t: Timestamp| crate::report::local_date(t, &settings.site.time_zone);
    let (first, last) = (day(from), day(to.add_millis(-1)));
    let title = match job.lang {
        Lang::Fr => format!("Rapport {} du {first} au {last}", job.name),
        Lang::En => format!("Report {} from {first} to {last}", job.name),
    };
    let text = match job.lang {
        Lang::Fr => format!("{title} ({}), en pièce jointe.", settings.site.time_zone),
        Lang::En => format!("{title} ({}), attached.", settings.site.time_zone),
    };
    let mail = channels::email::EmailAdapter::new(settings.channels.smtp.config())
        .map_err(|e| e.to_string())?;
    mail.send_attachment(
        &job.to,
        &title,
        &text,
        &format!("{}-{first}.{ext}", job.name),
        mime,
        bytes,
    )
    .await
    .map_err(|e| e.to_string())?;
    tracing::info!(report = %job.name, %from, %to, recipients = job.to.len(), "scheduled report sent");
    Ok((from, to))
}

/// Start the task that runs every job at its time (none: nothing to do).
/// It wakes at the next run, or after a minute at most so that a wall-clock
/// change is seen; a failed run is logged and the job waits for its next
/// time.
pub fn spawn(store: Arc<dyn Store>, settings: &Settings) -> Option<tokio::task::JoinHandle<()>> {
    let jobs = match jobs(settings) {
        Ok(j) if j.is_empty() => return None,
        Ok(j) => j,
        Err(e) => {
            tracing::error!(error = %e, "scheduled reports not started");
            return None;
        }
    };
    let settings = settings.clone();
    Some(tokio::spawn(async move {
        let start = crate::now();
        let mut next: Vec<Option<Timestamp>> = jobs
            .iter()
            .map(|j| j.schedule.next_run(start).ok())
            .collect();
        loop {
            let now = crate::now();
            for (job, at) in jobs.iter().zip(next.iter_mut()) {
                let Some(due) = *at else { continue };
                if due > now {
                    continue;
                }
                if let Err(e) = run(&*store, &settings, job, due).await {
                    tracing::error!(report = %job.name, error = %e, "scheduled report not sent");
                }
                *at = job.schedule.next_run(due).ok();
            }
            let soonest = next.iter().flatten().min().copied();
            let wait_ms = soonest
                .map(|t| t.millis_since(crate::now()).clamp(0, 60_000))
                .unwrap_or(60_000);
            tokio::time::sleep(std::time::Duration::from_millis(wait_ms as u64)).await;
        }
    }))
}
