//! The seven agent-selection strategies, as ordering keys in a queue's
//! availability index plus the pick rule applied to that index.
//!
//! | strategy | key (smallest first) | pick |
//! |---|---|---|
//! | longest idle | (idle since, –) | first |
//! | round robin | (order, –) | first after the last one offered, wrapping |
//! | least calls | (calls accepted, idle since) | first |
//! | ring all | (idle since, –) | every agent up to `ring_all_limit` |
//! | random | (random draw at each state change, –) | uniform among the first `scan_limit` |
//! | skills-weighted | (–sum of levels in the queue's skills, idle since) | first |
//! | linear | (order, –) | first |
//!
//! The agent id ends every key, so ties are broken by id. Random draws come
//! from the configured seed. The random pick is uniform among all able
//! agents when there are at most `scan_limit` of them (the usual case: many
//! idle agents means no queue); beyond that, among the first `scan_limit`
//! in draw order, which is itself a random subset refreshed at every state
//! change. "First by draw" alone would not be uniform: the agent just served
//! gets a fresh draw while the others keep the losing ones.

use std::collections::BTreeSet;

use domain::Strategy;

use crate::agent::{AgentKey, AgentState, Membership};
use crate::rng::SplitMix64;

/// The key of `agent` in a queue with `strategy`.
pub(crate) fn agent_key(
    strategy: Strategy,
    agent: &AgentState,
    m: &Membership,
    rng: &mut SplitMix64,
) -> AgentKey {
    let id = agent.id();
    match strategy {
        Strategy::LongestIdle | Strategy::RingAll => (agent.idle_since, 0, id),
        Strategy::LeastCalls => (i64::from(agent.calls_today), agent.idle_since, id),
        Strategy::SkillsWeighted => (-m.level_sum, agent.idle_since, id),
        Strategy::Linear | Strategy::RoundRobin => (agent.profile.order, 0, id),
        Strategy::Random => ((rng.next_u64() >> 1) as i64, 0, id),
    }
}

/// Picks agents from the availability sets `sets` (normal members first,
/// then widened ones when the task is widened). `fits` filters on the task's
/// extra skills; at most `scan` entries of each set are examined.
/// Returns the chosen keys and the number of candidates examined.
pub(crate) fn pick(
    strategy: Strategy,
    sets: &[&BTreeSet<AgentKey>],
    rr_last: Option<AgentKey>,
    ring_all_limit: usize,
    scan: usize,
    draw: u64,
    fits: &dyn Fn(&AgentKey) -> bool,
) -> (Vec<AgentKey>, usize) {
    let mut examined = 0usize;
    match strategy {
        Strategy::Random => {
            let mut all: Vec<AgentKey> = Vec::new();
            for s in sets {
                all.extend(
                    s.iter()
                        .take(scan)
                        .inspect(|_| examined += 1)
                        .filter(|k| fits(k)),
                );
            }
            all.sort_unstable();
            all.truncate(scan);
            let n = all.len() as u64;
            if n == 0 {
                return (Vec::new(), examined);
            }
            let k = ((u128::from(draw) * u128::from(n)) >> 64) as usize;
            (all.get(k).copied().into_iter().collect(), examined)
        }
        Strategy::RingAll => {
            let mut out = Vec::new();
            for s in sets {
                for k in s.iter().take(scan.max(ring_all_limit)) {
                    examined += 1;
                    if out.len() >= ring_all_limit.max(1) {
                        break;
                    }
                    if fits(k) {
                        out.push(*k);
                    }
                }
            }
            (out, examined)
        }
        Strategy::RoundRobin => {
            let mut best_after: Option<AgentKey> = None;
            let mut best_wrap: Option<AgentKey> = None;
            for s in sets {
                if let Some(last) = rr_last {
                    let after = s
                        .range((std::ops::Bound::Excluded(last), std::ops::Bound::Unbounded))
                        .take(scan)
                        .inspect(|_| examined += 1)
                        .find(|k| fits(k));
                    best_after = min_opt(best_after, after.copied());
                }
                let wrap = s
                    .iter()
                    .take(scan)
                    .inspect(|_| examined += 1)
                    .find(|k| fits(k));
                best_wrap = min_opt(best_wrap, wrap.copied());
            }
            (best_after.or(best_wrap).into_iter().collect(), examined)
        }
        _ => {
            let mut best: Option<AgentKey> = None;
            for s in sets {
                let first = s
                    .iter()
                    .take(scan)
                    .inspect(|_| examined += 1)
                    .find(|k| fits(k));
                best = min_opt(best, first.copied());
            }
            (best.into_iter().collect(), examined)
        }
    }
}

fn min_opt(a: Option<AgentKey>, b: Option<AgentKey>) -> Option<AgentKey> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, y) => x.or(y),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::AgentId;

    fn set(keys: &[(i64, i64)]) -> BTreeSet<AgentKey> {
        keys.iter()
            .enumerate()
            .map(|(i, (a, b))| (*a, *b, AgentId(i as i64 + 1)))
            .collect()
    }

    #[test]
    fn first_by_key_and_filter() {
        let s = set(&[(5, 0), (3, 0), (9, 0)]);
        let (p, _) = pick(Strategy::LongestIdle, &[&s], None, 8, 64, 0, &|_| true);
        assert_eq!(p, vec![(3, 0, AgentId(2))]);
        let (p, _) = pick(Strategy::LongestIdle, &[&s], None, 8, 64, 0, &|k| {
            k.2 != AgentId(2)
        });
        assert_eq!(p, vec![(5, 0, AgentId(1))]);
    }

    #[test]
    fn round_robin_continues_after_last_and_wraps() {
        let s = set(&[(1, 0), (2, 0), (3, 0)]);
        let (p, _) = pick(
            Strategy::RoundRobin,
            &[&s],
            Some((2, 0, AgentId(2))),
            8,
            64,
            0,
            &|_| true,
        );
        assert_eq!(p[0].2, AgentId(3));
        let (p, _) = pick(
            Strategy::RoundRobin,
            &[&s],
            Some((3, 0, AgentId(3))),
            8,
            64,
            0,
            &|_| true,
        );
        assert_eq!(p[0].2, AgentId(1));
    }

    #[test]
    fn ring_all_takes_everyone_up_to_limit() {
        let s = set(&[(1, 0), (2, 0), (3, 0)]);
        let w = set(&[(0, 0)]);
        let (p, _) = pick(Strategy::RingAll, &[&s, &w], None, 3, 64, 0, &|_| true);
        assert_eq!(p.len(), 3);
        let (p, _) = pick(Strategy::RingAll, &[&s, &w], None, 10, 64, 0, &|_| true);
        assert_eq!(p.len(), 4);
    }
}
