//! The fold: events in, one [`Report`] out. See the crate docs for the
//! attribution rules.

use crate::interval::Buckets;
use crate::kpi::{Outcome, Tally};
use crate::params::{ParamsError, ReportParams};
use domain::event::AgentState;
use domain::{AgentId, Channel, CustomerId, Event, EventKind, InteractionId, QueueId, Timestamp};
use std::collections::BTreeMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Hasher for our own integer ids (not attacker-chosen: they come from the
/// store's sequences): a Fibonacci multiply, much cheaper than SipHash on
/// the per-event lookup.
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(*b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_i64(&mut self, n: i64) {
        self.0 = (self.0.rotate_left(5) ^ n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

type HashMap<K, V> = std::collections::HashMap<K, V, BuildHasherDefault<IdHasher>>;

/// One row of the interval table.
#[derive(Clone, Debug, PartialEq)]
pub struct IntervalRow {
    /// Start (inclusive), an instant.
    pub start: Timestamp,
    /// End (exclusive); `end - start` is 23 or 25 h on DST days.
    pub end: Timestamp,
    /// Sums of the interactions that began in it.
    pub tally: Tally,
}

/// A finished report.
#[derive(Clone, Debug)]
pub struct Report {
    /// What was asked for (period, zone, formulas, thresholds).
    pub params: ReportParams,
    /// The whole period.
    pub total: Tally,
    /// By the queue each interaction first entered (`None`: never reached a
    /// queue, e.g. hung up in the IVR).
    pub by_queue: BTreeMap<Option<QueueId>, Tally>,
    /// By agent: each agent's own part (their talk, hold, wrap-up,
    /// answers, RONAs, transfers made, pauses; CSAT and FCR of the
    /// interactions they handled last). Offered and outcome classes are 0.
    pub by_agent: BTreeMap<AgentId, Tally>,
    /// By channel.
    pub by_channel: BTreeMap<Channel, Tally>,
    /// By interval of the interaction's start, every interval of the period
    /// (empty ones included).
    pub by_interval: Vec<IntervalRow>,
    /// Events read.
    pub events_read: u64,
    /// Events that made no sense in their place (an unhold without a hold,
    /// a wrap-up end without a start, a time going backwards, a score out of
    /// 1..=5) and were left out.
    pub events_ignored: u64,
}

impl Report {
    /// Fold `events` (in log order) into a report.
    ///
    /// # Errors
    /// [`ParamsError`] when the period cannot be cut into intervals.
    pub fn from_events<'a>(
        params: ReportParams,
        events: impl IntoIterator<Item = &'a Event>,
    ) -> Result<Report, ParamsError> {
        let mut b = ReportBuilder::new(params)?;
        for e in events {
            b.push(e);
        }
        Ok(b.finish())
    }
}

#[derive(Clone, Debug)]
struct Live {
    start: Timestamp,
    channel: Channel,
    inbound: bool,
    in_period: bool,
    ended: bool,
    customer: Option<CustomerId>,
    queue: Option<QueueId>,
    row: u32,
    queued: bool,
    queued_at: Option<Timestamp>,
    outcome: Option<Outcome>,
    answered_wait: i64,
    max_wait: i64,
    transferred: bool,
    handled: bool,
    agent: Option<AgentId>,
    last_agent: Option<AgentId>,
    talking_since: Option<Timestamp>,
    held_since: Option<Timestamp>,
    seg_hold_ms: i64,
    talk_ms: i64,
    hold_ms: i64,
    wrap_ms: i64,
    ronas: u32,
    first_in: Option<Timestamp>,
    first_response_ms: Option<i64>,
    resolution_ms: Option<i64>,
    csat: [u32; 3],
}

#[derive(Default)]
struct AgentRun {
    tally: Tally,
    paused: Option<(String, Timestamp)>,
    /// Logged in since (any state but logged out).
    staffed: Option<Timestamp>,
    /// Open wrap-ups (an agent with several digital conversations may
    /// have more than one).
    wraps: Vec<(Timestamp, Option<InteractionId>)>,
}

/// The streaming form of [`Report::from_events`]: `push` every event in log
/// order, then `finish`. Memory grows with the number of interactions
/// (about 200 bytes each) and agents, not with the number of events.
pub struct ReportBuilder {
    p: ReportParams,
    buckets: Buckets,
    live: HashMap<InteractionId, Live>,
    agents: HashMap<AgentId, AgentRun>,
    total: Tally,
    queues: HashMap<Option<QueueId>, Tally>,
    channels: HashMap<Channel, Tally>,
    rows: Vec<Tally>,
    last_at: Timestamp,
    read: u64,
    ignored: u64,
}

fn ms_between(later: Timestamp, earlier: Timestamp) -> i64 {
    later.millis_since(earlier).max(0)
}

impl ReportBuilder {
    /// A builder for `params`.
    ///
    /// # Errors
    /// [`ParamsError`] when the period is empty or has too many intervals.
    pub fn new(p: ReportParams) -> Result<Self, ParamsError> {
        if p.to <= p.from {
            return Err(ParamsError::EmptyPeriod {
                from: p.from,
                to: p.to,
            });
        }
        let buckets = Buckets::new(p.from, p.to, &p.tz, p.interval)?;
        let rows = vec![Tally::default(); buckets.len()];
        Ok(Self {
            last_at: p.from,
            p,
            buckets,
            live: HashMap::default(),
            agents: HashMap::default(),
            total: Tally::default(),
            queues: HashMap::default(),
            channels: HashMap::default(),
            rows,
            read: 0,
            ignored: 0,
        })
    }

    fn in_filter(&self, queue: Option<QueueId>) -> bool {
        self.p.queue.is_none() || queue == self.p.queue
    }

    /// Add `t` to the rows of an interaction (total, its queue, channel and
    /// interval).
    fn add_call(&mut self, queue: Option<QueueId>, channel: Channel, row: u32, t: &Tally) {
        self.total.merge(t);
        self.queues.entry(queue).or_default().merge(t);
        self.channels.entry(channel).or_default().merge(t);
        if let Some(r) = self.rows.get_mut(row as usize) {
            r.merge(t);
        }
    }

    /// Read one event (in log order).
    pub fn push(&mut self, e: &Event) {
        self.read += 1;
        if e.at < self.last_at && e.at >= self.p.from {
            // Out of order in time: durations below clamp at 0.
            self.ignored += 1;
        }
        self.last_at = self.last_at.max(e.at);
        if let EventKind::AgentStateChanged { state, reason } = &e.kind {
            if let Some(a) = e.agent_id {
                self.agent_state(a, e.at, *state, reason.as_deref());
            }
            return;
        }
        if let (EventKind::WrapUpStarted | EventKind::WrapUpEnded, Some(a)) = (&e.kind, e.agent_id)
        {
            self.wrap_up(a, e);
            return;
        }
        let Some(id) = e.interaction_id else {
            return;
        };
        let short_ms = i64::from(self.p.short_abandon_s) * 1000;
        let (from, to) = (self.p.from, self.p.to);
        let buckets = &mut self.buckets;
        let c = self.live.entry(id).or_insert_with(|| {
            let in_period = e.at >= from && e.at < to;
            let row = if in_period {
                buckets.index(e.at).unwrap_or(0) as u32
            } else {
                0
            };
            Live {
                start: e.at,
                channel: Channel::Voice,
                inbound: true,
                in_period,
                ended: false,
                customer: None,
                queue: None,
                row,
                queued: false,
                queued_at: None,
                outcome: None,
                answered_wait: 0,
                max_wait: 0,
                transferred: false,
                handled: false,
                agent: None,
                last_agent: None,
                talking_since: None,
                held_since: None,
                seg_hold_ms: 0,
                talk_ms: 0,
                hold_ms: 0,
                wrap_ms: 0,
                ronas: 0,
                first_in: None,
                first_response_ms: None,
                resolution_ms: None,
                csat: [0; 3],
            }
        });
        if c.customer.is_none() {
            c.customer = e.customer_id;
        }
        if c.ended {
            // After the end only wrap-up (above) and the survey matter.
            if let EventKind::SurveyAnswered { score } = e.kind {
                self.late_survey(id, score);
            }
            return;
        }
        let keep = c.in_period && (self.p.queue.is_none() || c.queue == self.p.queue);
        match &e.kind {
            EventKind::InteractionCreated { channel, direction } => {
                c.channel = *channel;
                c.inbound = *direction == domain::Direction::Inbound;
            }
            EventKind::Queued { queue_id, .. } => {
                c.queued = true;
                c.queued_at = c.queued_at.or(Some(e.at));
                if c.queue.is_none() {
                    c.queue = Some(*queue_id);
                }
            }
            EventKind::Rona { .. } => {
                c.ronas += 1;
                if let Some(a) = e.agent_id
                    && keep
                {
                    self.agents.entry(a).or_default().tally.ronas += 1;
                }
            }
            EventKind::Answered { waited_ms, .. } => {
                if c.talking_since.is_some() {
                    Self::end_segment(c, e.at, &mut self.agents, &mut self.ignored, keep);
                }
                if c.outcome.is_none() {
                    c.outcome = Some(Outcome::Answered);
                    c.answered_wait = (*waited_ms).max(0);
                }
                c.max_wait = c.max_wait.max(*waited_ms);
                c.handled = true;
                c.agent = e.agent_id;
                c.last_agent = e.agent_id.or(c.last_agent);
                c.talking_since = Some(e.at);
                c.seg_hold_ms = 0;
                if let Some(a) = e.agent_id
                    && keep
                {
                    self.agents.entry(a).or_default().tally.handled += 1;
                }
            }
            EventKind::Held => {
                if c.talking_since.is_some() && c.held_since.is_none() {
                    c.held_since = Some(e.at);
                } else {
                    self.ignored += 1;
                }
            }
            EventKind::Unheld => match c.held_since.take() {
                Some(h) => c.seg_hold_ms += ms_between(e.at, h),
                None => self.ignored += 1,
            },
            EventKind::Transferred { .. } => {
                c.transferred = true;
                let by = e.agent_id.or(c.agent);
                Self::end_segment(c, e.at, &mut self.agents, &mut self.ignored, keep);
                if let Some(a) = by
                    && keep
                {
                    self.agents.entry(a).or_default().tally.transferred += 1;
                }
            }
            EventKind::Abandoned { waited_ms, .. } => {
                let w = (*waited_ms).max(0);
                c.max_wait = c.max_wait.max(w);
                if c.outcome.is_none() {
                    c.outcome = Some(if w < short_ms {
                        Outcome::ShortAbandon
                    } else {
                        Outcome::AbandonedInQueue
                    });
                    c.answered_wait = w;
                }
            }
            EventKind::CallbackRequested { .. } => {
                if let Some(q) = c.queued_at {
                    c.max_wait = c.max_wait.max(ms_between(e.at, q));
                }
                if c.outcome.is_none() {
                    c.outcome = Some(Outcome::CallbackRequested);
                }
            }
            EventKind::MessageIn { .. } => c.first_in = c.first_in.or(Some(e.at)),
            EventKind::MessageOut { .. } => {
                if e.agent_id.is_some()
                    && c.first_response_ms.is_none()
                    && let Some(fi) = c.first_in
                {
                    c.first_response_ms = Some(ms_between(e.at, fi));
                }
            }
            EventKind::SurveyAnswered { score } => {
                if (1..=5).contains(score) {
                    c.csat[0] += 1;
                    c.csat[1] += u32::from(*score >= 4);
                    c.csat[2] += u32::from(*score);
                } else {
                    self.ignored += 1;
                }
            }
            EventKind::Ended { .. } => {
                if c.talking_since.is_some() {
                    Self::end_segment(c, e.at, &mut self.agents, &mut self.ignored, keep);
                }
                c.ended = true;
                if c.channel != Channel::Voice {
                    c.resolution_ms = Some(ms_between(e.at, c.start));
                }
                if c.outcome.is_none() {
                    c.outcome = Some(if c.queued {
                        Outcome::EndedInQueue
                    } else {
                        Outcome::AbandonedInIvr
                    });
                }
                self.flush(id);
            }
            _ => {}
        }
    }

    /// Close the current agent's segment at `at`: its talk (hold excluded)
    /// and hold go to the call and to that agent.
    fn end_segment(
        c: &mut Live,
        at: Timestamp,
        agents: &mut HashMap<AgentId, AgentRun>,
        ignored: &mut u64,
        report_agent: bool,
    ) {
        let Some(since) = c.talking_since.take() else {
            *ignored += 1;
            return;
        };
        if let Some(h) = c.held_since.take() {
            c.seg_hold_ms += ms_between(at, h);
        }
        let connected = ms_between(at, since);
        let hold = c.seg_hold_ms.min(connected);
        let talk = connected - hold;
        c.talk_ms += talk;
        c.hold_ms += hold;
        c.seg_hold_ms = 0;
        if let Some(a) = c.agent.take()
            && report_agent
        {
            let t = &mut agents.entry(a).or_default().tally;
            t.talk_ms += talk;
            t.hold_ms += hold;
        }
    }

    /// The interaction's own figures go to its rows.
    fn flush(&mut self, id: InteractionId) {
        let Some(c) = self.live.get(&id) else {
            return;
        };
        if !c.in_period || !self.in_filter(c.queue) {
            return;
        }
        let sl_ms = i64::from(self.p.sl_threshold_s) * 1000;
        let mut t = Tally::default();
        if c.inbound {
            t.offered = 1;
            match c.outcome.unwrap_or(Outcome::Open) {
                Outcome::Answered => {
                    t.answered = 1;
                    t.answered_within = u64::from(c.answered_wait <= sl_ms);
                    t.wait_answered_ms = c.answered_wait;
                }
                Outcome::AbandonedInIvr => t.abandoned_ivr = 1,
                Outcome::AbandonedInQueue => {
                    t.abandoned_queue = 1;
                    t.abandoned_within = u64::from(c.answered_wait <= sl_ms);
                }
                Outcome::ShortAbandon => t.abandoned_short = 1,
                Outcome::CallbackRequested => t.callbacks = 1,
                Outcome::EndedInQueue => t.ended_in_queue = 1,
                Outcome::Open => t.open = 1,
            }
            t.longest_wait_ms = c.max_wait;
        }
        t.transferred = u64::from(c.transferred);
        t.handled = u64::from(c.handled);
        t.talk_ms = c.talk_ms;
        t.hold_ms = c.hold_ms;
        t.wrap_ms = c.wrap_ms;
        t.ronas = u64::from(c.ronas);
        t.csat_answers = u64::from(c.csat[0]);
        t.csat_satisfied = u64::from(c.csat[1]);
        t.csat_sum = u64::from(c.csat[2]);
        if let Some(fr) = c.first_response_ms {
            t.first_response_n = 1;
            t.first_response_ms = fr;
        }
        if let Some(r) = c.resolution_ms {
            t.resolved_n = 1;
            t.resolution_ms = r;
        }
        let (q, ch, row, last, csat) = (c.queue, c.channel, c.row, c.last_agent, c.csat);
        self.add_call(q, ch, row, &t);
        if let Some(a) = last
            && csat[0] > 0
        {
            let at = &mut self.agents.entry(a).or_default().tally;
            at.csat_answers += u64::from(csat[0]);
            at.csat_satisfied += u64::from(csat[1]);
            at.csat_sum += u64::from(csat[2]);
        }
    }

    fn late_survey(&mut self, id: InteractionId, score: u8) {
        if !(1..=5).contains(&score) {
            self.ignored += 1;
            return;
        }
        let Some(c) = self.live.get(&id) else {
            return;
        };
        if !c.in_period || !self.in_filter(c.queue) {
            return;
        }
        let t = Tally {
            csat_answers: 1,
            csat_satisfied: u64::from(score >= 4),
            csat_sum: u64::from(score),
            ..Tally::default()
        };
        let (q, ch, row, last) = (c.queue, c.channel, c.row, c.last_agent);
        self.add_call(q, ch, row, &t);
        if let Some(a) = last {
            self.agents.entry(a).or_default().tally.merge(&t);
        }
    }

    fn wrap_up(&mut self, a: AgentId, e: &Event) {
        match e.kind {
            EventKind::WrapUpStarted => {
                let run = self.agents.entry(a).or_default();
                if let Some(w) = run
                    .wraps
                    .iter_mut()
                    .find(|(_, i)| i.is_some() && *i == e.interaction_id)
                {
                    w.0 = e.at;
                } else if run.wraps.len() < 64 {
                    run.wraps.push((e.at, e.interaction_id));
                } else {
                    self.ignored += 1;
                }
            }
            _ => {
                let run = self.agents.entry(a).or_default();
                let pos = match e.interaction_id {
                    Some(i) => run.wraps.iter().position(|(_, w)| *w == Some(i)),
                    None => run.wraps.len().checked_sub(1),
                };
                let Some((since, id)) = pos.map(|p| run.wraps.remove(p)) else {
                    self.ignored += 1;
                    return;
                };
                let ms = ms_between(e.at, since);
                let id = id.or(e.interaction_id);
                let Some(id) = id else {
                    // Wrap-up of no interaction: the agent's own.
                    run.tally.wrap_ms += ms;
                    return;
                };
                let Some(c) = self.live.get_mut(&id) else {
                    self.ignored += 1;
                    return;
                };
                if !c.in_period || !(self.p.queue.is_none() || c.queue == self.p.queue) {
                    return;
                }
                if c.ended {
                    let (q, ch, row) = (c.queue, c.channel, c.row);
                    let t = Tally {
                        wrap_ms: ms,
                        ..Tally::default()
                    };
                    self.add_call(q, ch, row, &t);
                } else {
                    c.wrap_ms += ms;
                }
                self.agents.entry(a).or_default().tally.wrap_ms += ms;
            }
        }
    }

    fn agent_state(&mut self, a: AgentId, at: Timestamp, state: AgentState, reason: Option<&str>) {
        let (from, to) = (self.p.from, self.p.to);
        let run = self.agents.entry(a).or_default();
        if let Some((why, since)) = run.paused.take() {
            let s = since.max(from);
            let e = at.min(to);
            if e > s {
                let ms = e.millis_since(s);
                *run.tally.pause_ms.entry(why.clone()).or_default() += ms;
                *self.total.pause_ms.entry(why).or_default() += ms;
            }
        }
        if state == AgentState::Paused {
            run.paused = Some((reason.unwrap_or("unspecified").to_string(), at));
        }
        match (state, run.staffed) {
            (AgentState::LoggedOut, Some(since)) => {
                run.staffed = None;
                let (s, e) = (since.max(from), at.min(to));
                if e > s {
                    let ms = e.millis_since(s);
                    run.tally.staffed_ms += ms;
                    self.total.staffed_ms += ms;
                }
            }
            (AgentState::LoggedOut, None) | (_, Some(_)) => {}
            (_, None) => run.staffed = Some(at),
        }
    }

    /// Close what is still open (calls as [`Outcome::Open`], talk and
    /// pauses up to the last event or the end of the period, whichever is
    /// first), compute FCR, and hand out the report.
    pub fn finish(mut self) -> Report {
        let end = self.last_at.min(self.p.to);
        let open: Vec<InteractionId> = self
            .live
            .iter()
            .filter(|(_, c)| !c.ended)
            .map(|(id, _)| *id)
            .collect();
        for id in open {
            let keep = self.live.get(&id).is_some_and(|c| {
                c.in_period && (self.p.queue.is_none() || c.queue == self.p.queue)
            });
            if let Some(c) = self.live.get_mut(&id) {
                if c.talking_since.is_some() {
                    Self::end_segment(c, end, &mut self.agents, &mut self.ignored, keep);
                }
                c.outcome = match c.outcome {
                    Some(Outcome::Answered) => Some(Outcome::Answered),
                    _ => Some(Outcome::Open),
                };
            }
            self.flush(id);
        }
        let agents: Vec<AgentId> = self.agents.keys().copied().collect();
        for a in agents {
            self.agent_state(a, end, AgentState::LoggedOut, None);
        }
        self.fcr();
        let mut by_interval = Vec::with_capacity(self.rows.len());
        for (i, tally) in std::mem::take(&mut self.rows).into_iter().enumerate() {
            let (start, end) = self.buckets.row(i);
            by_interval.push(IntervalRow { start, end, tally });
        }
        Report {
            params: self.p,
            total: self.total,
            by_queue: self.queues.into_iter().collect(),
            by_agent: self.agents.into_iter().map(|(a, r)| (a, r.tally)).collect(),
            by_channel: self.channels.into_iter().collect(),
            by_interval,
            events_read: self.read,
            events_ignored: self.ignored,
        }
    }

    /// First-contact resolution: an answered inbound contact of a known
    /// customer is resolved when that customer's next inbound contact (any
    /// channel, in or after the period) starts later than the window.
    fn fcr(&mut self) {
        let window = i64::from(self.p.fcr_window_s) * 1000;
        let mut contacts: Vec<(CustomerId, Timestamp, InteractionId)> = self
            .live
            .iter()
            .filter(|(_, c)| c.inbound)
            .filter_map(|(id, c)| c.customer.map(|cu| (cu, c.start, *id)))
            .collect();
        contacts.sort_unstable();
        for i in 0..contacts.len() {
            let (cu, start, id) = contacts[i];
            let Some(c) = self.live.get(&id) else {
                continue;
            };
            if !c.in_period
                || c.outcome != Some(Outcome::Answered)
                || !(self.p.queue.is_none() || c.queue == self.p.queue)
            {
                continue;
            }
            let repeat = contacts
                .get(i + 1)
                .is_some_and(|(ncu, ns, _)| *ncu == cu && ns.millis_since(start) <= window);
            let t = Tally {
                fcr_eligible: 1,
                fcr_resolved: u64::from(!repeat),
                ..Tally::default()
            };
            let (q, ch, row, last) = (c.queue, c.channel, c.row, c.last_agent);
            self.add_call(q, ch, row, &t);
            if let Some(a) = last {
                self.agents.entry(a).or_default().tally.merge(&t);
            }
        }
    }
}
