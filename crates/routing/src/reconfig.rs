//! Live queue configuration: an administrator adds a queue or changes one
//! (strategy, service-level target, ring time-out, wrap-up, max wait,
//! required skills, overflow) while calls wait and agents work.

use domain::{AgentId, Timestamp};

use crate::Acd;
use crate::agent::{Presence, Tier};
use crate::config::{AcdConfig, QueueConfig};
use crate::error::ConfigError;
use crate::queue::QueueState;

impl Acd {
    /// Add a queue, or replace the settings of the queue with the same id.
    ///
    /// The new settings apply at once to new offers, timers and wrap-ups;
    /// tasks already waiting keep their place (and a task ringing keeps its
    /// ring time-out). Memberships of every logged-in agent are recomputed
    /// from their skills, so a change of required skills adds or removes
    /// members right away; statistics are kept.
    ///
    /// # Errors
    /// [`ConfigError`] if the queue's settings are invalid (bad skill level,
    /// unknown overflow target); nothing changes then.
    pub fn handle_queue_config(
        &mut self,
        now: Timestamp,
        cfg: QueueConfig,
    ) -> Result<(), ConfigError> {
        let now = self.clock(now);
        let id = cfg.queue.id;
        let mut all: Vec<QueueConfig> = self
            .queues
            .iter()
            .filter(|q| q.id != id)
            .map(|q| q.cfg.clone())
            .collect();
        all.push(cfg.clone());
        AcdConfig {
            queues: all,
            ..self.cfg.clone()
        }
        .validate()?;
        let rate = cfg
            .aging_points_per_min
            .unwrap_or(self.cfg.aging_points_per_min);
        match self.queue_idx.get(&id) {
            Some(&qi) => {
                let q = &mut self.queues[qi];
                q.cfg = cfg;
                q.rate = rate;
            }
            None => {
                self.queue_idx.insert(id, self.queues.len());
                self.queues.push(QueueState::new(
                    cfg,
                    self.cfg.aging_points_per_min,
                    self.cfg.default_aht_s,
                ));
                self.timers.add_queue();
            }
        }
        for q in &mut self.queues {
            q.members.clear();
            q.staffed = 0;
        }
        let ids: Vec<AgentId> = self.agents.keys().copied().collect();
        for a in ids {
            self.unindex_agent(a);
            let Some(agent) = self.agents.get(&a) else {
                continue;
            };
            let ms = crate::acd::memberships(&self.queues, agent);
            let presence = agent.presence.clone();
            for m in ms.iter().filter(|m| m.tier == Tier::Normal) {
                if let Some(q) = self.queues.get_mut(m.queue) {
                    if presence != Presence::LoggedOut {
                        q.members.insert(a);
                    }
                    if presence == Presence::Ready {
                        q.staffed += 1;
                    }
                }
            }
            if let Some(agent) = self.agents.get_mut(&a) {
                agent.memberships = ms;
            }
            self.reindex_agent(a, now);
        }
        self.dispatch(now);
        Ok(())
    }
}
