//! Checks of what the store kept of calls (issue 12): every event of every
//! call, in order per interaction, none duplicated.

use domain::{Event, Interaction, InteractionId, Timestamp};
use std::collections::BTreeMap;
use std::time::Duration;
use store::{EventFilter, InteractionFilter, Store};

/// The `type` of an event kind as stored (`interaction_created`, ...).
pub fn kind(e: &Event) -> String {
    serde_json::to_value(&e.kind).unwrap()["type"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Voice interactions started at or after `from`.
pub async fn calls_since(s: &dyn Store, from: Timestamp) -> Vec<Interaction> {
    let mut out = Vec::new();
    loop {
        let page = s
            .list_interactions(&InteractionFilter {
                channel: Some(domain::Channel::Voice),
                from: Some(from),
                limit: 1000,
                offset: out.len() as i64,
                ..InteractionFilter::default()
            })
            .await
            .unwrap();
        let n = page.len();
        out.extend(page);
        if n < 1000 {
            return out;
        }
    }
}

/// Every event of `id`, in store order (`seq`).
pub async fn events_of(s: &dyn Store, id: InteractionId) -> Vec<Event> {
    let mut out: Vec<Event> = Vec::new();
    loop {
        let page = s
            .list_events(&EventFilter {
                interaction_id: Some(id),
                after_seq: out.last().map(|e| e.seq),
                limit: 10_000,
                ..EventFilter::default()
            })
            .await
            .unwrap();
        if page.is_empty() {
            return out;
        }
        out.extend(page);
    }
}

/// Wait (polling the store, bounded) until `n` voice interactions started
/// since `from` exist and all have ended; retries while the store fails.
pub async fn wait_all_ended(
    s: &dyn Store,
    from: Timestamp,
    n: usize,
    within: Duration,
) -> Vec<Interaction> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let calls = calls_since(s, from).await;
        if calls.len() >= n && calls.iter().all(|c| c.ended_at.is_some()) {
            return calls;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} of {n} calls in the store, {} ended, after {within:?}",
            calls.len(),
            calls.iter().filter(|c| c.ended_at.is_some()).count()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Per interaction, its event kinds in store order; asserts for each one:
/// times never go backwards along `seq`, and no event is stored twice (same
/// kind, time, agent and content).
pub async fn checked_histories(
    s: &dyn Store,
    calls: &[Interaction],
) -> BTreeMap<InteractionId, Vec<Event>> {
    let mut out = BTreeMap::new();
    for c in calls {
        let evs = events_of(s, c.id).await;
        for w in evs.windows(2) {
            assert!(
                w[0].at <= w[1].at,
                "interaction {}: event {} ({}) stored after {} ({}) but earlier",
                c.id.0,
                w[1].seq,
                kind(&w[1]),
                w[0].seq,
                kind(&w[0])
            );
        }
        let mut seen = std::collections::HashSet::new();
        for e in &evs {
            let key = serde_json::to_string(&(e.at, e.agent_id, &e.kind)).unwrap();
            assert!(
                seen.insert(key),
                "interaction {}: event {} ({}) duplicated",
                c.id.0,
                e.seq,
                kind(e)
            );
        }
        out.insert(c.id, evs);
    }
    out
}

/// How many events of each kind, over all `histories`.
pub fn kind_counts(histories: &BTreeMap<InteractionId, Vec<Event>>) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for e in histories.values().flatten() {
        *counts.entry(kind(e)).or_insert(0) += 1;
    }
    counts
}

/// `.journal` segment files left in a writer's journal directory.
pub fn journal_files(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .map(|d| {
            d.filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "journal"))
            })
            .count()
        })
        .unwrap_or(0)
}
