//! Liveness, readiness, Prometheus metrics, and the JSON 404.

use super::AppState;
use super::error::ApiError;
use axum::extract::{MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::time::Instant;

/// `GET /health`: the process is up (no dependency checked).
pub async fn health() -> &'static str {
    "ok"
}

/// `GET /ready`: the database answers. 503 otherwise.
pub async fn ready(State(s): State<AppState>) -> Response {
    match s.store.ping().await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response()
        }
    }
}

/// `GET /metrics`: Prometheus text format: the process's own metrics
/// (HTTP requests...) followed by the contact-center figures read at
/// scrape time (see [`contact_center_metrics`]).
pub async fn metrics(State(s): State<AppState>) -> String {
    let mut out = s.metrics.render();
    let (queues, agents) = match &s.engine {
        Some(e) => (
            e.queue_stats().await.unwrap_or_else(|err| {
                tracing::warn!(error = %err, "queue figures for /metrics");
                Vec::new()
            }),
            e.agent_stats().await.unwrap_or_else(|err| {
                tracing::warn!(error = %err, "agent figures for /metrics");
                Vec::new()
            }),
        ),
        None => (Vec::new(), Vec::new()),
    };
    let conversations = s.store.open_conversations().await.unwrap_or_else(|err| {
        tracing::warn!(error = %err, "open conversations for /metrics");
        Vec::new()
    });
    let channels: Vec<domain::Channel> = conversations.iter().map(|c| c.channel).collect();
    out.push_str(&contact_center_metrics(&queues, &agents, &channels));
    out
}

/// A label value escaped for the Prometheus text format (`\\`, `\"`,
/// `\n`; exposition format, "Text format details").
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The contact-center metrics in Prometheus text format, from the routing
/// core's live figures (`queues`: name and figures; `agents`: logged-in
/// agents) and the channels of the open digital conversations.
///
/// They are rendered per scrape rather than kept in the process-wide
/// registry so that a deleted queue or a logged-out agent disappears at
/// once. The `_total` counters are the routing core's since its last reset
/// (start of the process or of the day): Prometheus' `rate()` and
/// `increase()` handle the reset.
///
/// Metrics: `switchboard_queue_calls_{offered,answered,abandoned}_total`,
/// `switchboard_queue_calls_waiting`, `switchboard_queue_longest_wait_seconds`,
/// `switchboard_queue_service_level_ratio` (0..1), `switchboard_agents`
/// (by `state`), `switchboard_conversations_open` (by `channel`).
pub fn contact_center_metrics(
    queues: &[(String, routing::QueueStats)],
    agents: &[routing::AgentStats],
    open_conversations: &[domain::Channel],
) -> String {
    use std::fmt::Write;
    let mut o = String::new();
    let mut family = |name: &str, ty: &str, help: &str, rows: Vec<(String, String)>| {
        let _ = writeln!(o, "# HELP {name} {help}");
        let _ = writeln!(o, "# TYPE {name} {ty}");
        for (labels, v) in rows {
            let _ = writeln!(o, "{name}{{{labels}}} {v}");
        }
    };
    let per_queue = |f: &dyn Fn(&routing::QueueStats) -> String| {
        queues
            .iter()
            .map(|(n, q)| (format!("queue=\"{}\"", label(n)), f(q)))
            .collect::<Vec<_>>()
    };
    family(
        "switchboard_queue_calls_offered_total",
        "counter",
        "Interactions that entered the queue (arrivals and overflows in) since the routing core's last reset.",
        per_queue(&|q| q.counters.entered.to_string()),
    );
    family(
        "switchboard_queue_calls_answered_total",
        "counter",
        "Offers of the queue accepted by an agent since the routing core's last reset.",
        per_queue(&|q| q.counters.answered.to_string()),
    );
    family(
        "switchboard_queue_calls_abandoned_total",
        "counter",
        "Callers who hung up while waiting or ringing in the queue since the routing core's last reset.",
        per_queue(&|q| q.counters.abandoned.to_string()),
    );
    family(
        "switchboard_queue_calls_waiting",
        "gauge",
        "Interactions waiting in the queue now (callbacks keeping their place included).",
        per_queue(&|q| q.waiting.to_string()),
    );
    family(
        "switchboard_queue_longest_wait_seconds",
        "gauge",
        "Longest current wait in the queue since first arrival, seconds (0 when empty).",
        per_queue(&|q| format!("{}", q.longest_wait_ms as f64 / 1000.0)),
    );
    family(
        "switchboard_queue_service_level_ratio",
        "gauge",
        "Service level of the queue since the last reset: answered within the threshold / (answered + abandoned + max-wait exits), 0..1 (1 when nothing closed).",
        per_queue(&|q| format!("{}", q.service_level_pct / 100.0)),
    );
    let mut by_state: std::collections::BTreeMap<&str, usize> =
        ["available", "reserved", "busy", "wrap_up", "paused"]
            .into_iter()
            .map(|s| (s, 0))
            .collect();
    for a in agents {
        let st = match a.status {
            routing::AgentStatus::LoggedOut => continue,
            routing::AgentStatus::Available => "available",
            routing::AgentStatus::Reserved => "reserved",
            routing::AgentStatus::Busy => "busy",
            routing::AgentStatus::WrapUp => "wrap_up",
            routing::AgentStatus::Paused(_) => "paused",
        };
        *by_state.entry(st).or_default() += 1;
    }
    family(
        "switchboard_agents",
        "gauge",
        "Logged-in agents by state (available, reserved = ringing, busy, wrap_up, paused).",
        by_state
            .into_iter()
            .map(|(s, n)| (format!("state=\"{s}\""), n.to_string()))
            .collect(),
    );
    family(
        "switchboard_conversations_open",
        "gauge",
        "Digital conversations open now, by channel.",
        domain::Channel::ALL
            .into_iter()
            .filter(|c| *c != domain::Channel::Voice)
            .map(|c| {
                let n = open_conversations.iter().filter(|x| **x == c).count();
                (format!("channel=\"{}\"", c.as_str()), n.to_string())
            })
            .collect(),
    );
    o
}

/// Unknown routes: a JSON 404.
pub async fn not_found() -> ApiError {
    ApiError::not_found("no such route")
}

/// A known route called with the wrong method: a JSON 405.
pub async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this route does not take that method",
    )
}

/// Counts requests (`http_requests_total{method,route,status}`) and their
/// durations (`http_request_duration_seconds`).
pub async fn track_metrics(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let res = next.run(req).await;
    let status = res.status().as_u16().to_string();
    let labels = [("method", method), ("route", route), ("status", status)];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_request_duration_seconds", &labels)
        .record(start.elapsed().as_secs_f64());
    res
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::{AgentId, Channel, QueueId};
    use routing::{AgentStats, AgentStatus, QueueCounters, QueueStats};

    fn queue(waiting: usize, longest_wait_ms: i64, sl: f64, c: QueueCounters) -> QueueStats {
        QueueStats {
            queue: QueueId(1),
            waiting,
            callbacks_waiting: 0,
            longest_wait_ms,
            agents_available: 0,
            agents_busy: 0,
            agents_wrap_up: 0,
            agents_paused: 0,
            service_level_pct: sl,
            asa_s: 0.0,
            counters: c,
            aht_s: 0.0,
        }
    }

    fn agent(id: i64, status: AgentStatus) -> AgentStats {
        AgentStats {
            agent: AgentId(id),
            status,
            in_status_ms: 0,
            tasks: Vec::new(),
            offered: None,
            calls_today: 0,
            rona_misses: 0,
            wrap_up_until: None,
        }
    }

    #[test]
    fn contact_center_metrics_in_prometheus_text() {
        let c = QueueCounters {
            entered: 7,
            answered: 4,
            answered_in_sl: 3,
            abandoned: 2,
            ..Default::default()
        };
        let queues = vec![
            ("general".to_string(), queue(2, 61_500, 75.0, c)),
            (
                "odd \"name\"\\x".to_string(),
                queue(0, 0, 100.0, QueueCounters::default()),
            ),
        ];
        let agents = vec![
            agent(1, AgentStatus::Available),
            agent(2, AgentStatus::Busy),
            agent(3, AgentStatus::Paused("lunch".into())),
            agent(4, AgentStatus::Busy),
            agent(5, AgentStatus::LoggedOut),
        ];
        let text = contact_center_metrics(
            &queues,
            &agents,
            &[Channel::Webchat, Channel::Webchat, Channel::Email],
        );
        for line in [
            "# TYPE switchboard_queue_calls_offered_total counter",
            "switchboard_queue_calls_offered_total{queue=\"general\"} 7",
            "switchboard_queue_calls_answered_total{queue=\"general\"} 4",
            "switchboard_queue_calls_abandoned_total{queue=\"general\"} 2",
            "# TYPE switchboard_queue_calls_waiting gauge",
            "switchboard_queue_calls_waiting{queue=\"general\"} 2",
            "switchboard_queue_longest_wait_seconds{queue=\"general\"} 61.5",
            "switchboard_queue_service_level_ratio{queue=\"general\"} 0.75",
            "switchboard_queue_calls_waiting{queue=\"odd \\\"name\\\"\\\\x\"} 0",
            "switchboard_agents{state=\"available\"} 1",
            "switchboard_agents{state=\"busy\"} 2",
            "switchboard_agents{state=\"paused\"} 1",
            "switchboard_agents{state=\"wrap_up\"} 0",
            "switchboard_conversations_open{channel=\"webchat\"} 2",
            "switchboard_conversations_open{channel=\"email\"} 1",
            "switchboard_conversations_open{channel=\"sms\"} 0",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing in\n{text}");
        }
        assert!(!text.contains("logged_out"));
        assert!(!text.contains("channel=\"voice\""));
        // Every family has its HELP and TYPE once.
        assert_eq!(text.matches("# HELP ").count(), 8);
        assert_eq!(text.matches("# TYPE ").count(), 8);
    }
}
