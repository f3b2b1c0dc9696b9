//! [`IvrSession`]: the sans-I/O interpreter of one call through one flow.
//!
//! Inputs are `handle_*(now, ..)`; outputs are [`IvrSession::poll_action`]
//! and [`IvrSession::poll_timeout`]. Time only moves forward; the session
//! never reads a clock, sleeps, or does I/O.

use crate::eval::{EvalCtx, map_result, parse_segment, render_json};
use crate::io::{Action, CallContext, LookupError, LookupId, LookupKind, Prompt};
use crate::model::*;
use crate::say::{self, Grammar};
use crate::trace::*;
use domain::{Segment, Timestamp};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

mod listen;

/// Most nodes entered in a row without waiting for anything: a guard
/// against loops through lookups that validation cannot see.
pub const MAX_STEPS: usize = 200;

/// Grace added to a lookup's own time-out before the session gives up on
/// the executor, ms.
pub const LOOKUP_GRACE_MS: i64 = 500;

/// Longest a playback may take before the session assumes the voice layer
/// lost its end and moves on as if `handle_prompt_done` had come, ms.
pub const PLAY_GUARD_MS: i64 = 300_000;

/// The session's one timer (quinn-style: one deadline, one meaning).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Timer {
    /// Guard on a playback whose end was never reported.
    PlayGuard,
    /// No (more) DTMF within the menu / collect time-out.
    Listen,
    /// The lookup executor did not answer in time.
    Lookup,
}

enum Then {
    Goto(String),
    HangupWith(Outcome),
}

enum Wait {
    NotStarted,
    /// Prompts are playing; on done (or a digit when `barge`) do `then`.
    Prompt {
        then: Then,
        barge: bool,
    },
    /// A menu / collect / offer-channels node listens for DTMF.
    Listen {
        node: usize,
        attempt: u32,
        digits: String,
        playing: bool,
    },
    /// A lookup is out.
    Lookup {
        node: usize,
        id: LookupId,
        entry: Option<usize>,
    },
    Done,
}

enum Step {
    Next(String),
    Wait,
}

enum Retry {
    Invalid,
    Silence,
}

/// What an [`IvrSession`] waits for. Outside `NotStarted` and `Finished`,
/// [`IvrSession::poll_timeout`] is always set: no dead end, even when the
/// voice layer loses the end of a playback ([`PLAY_GUARD_MS`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionState {
    /// `handle_start` not called yet.
    NotStarted,
    /// A [`Action::Play`] is out; `handle_prompt_done` (or a barge-in digit) moves on.
    Playing,
    /// Waiting for DTMF, with a time-out.
    Listening,
    /// A [`Action::Lookup`] is out, with a time-out.
    LookingUp,
    /// The call has left the IVR.
    Finished,
}

/// One call's walk through a flow. Holds an `Arc` of the flow version it
/// started with: reloading the flow does not affect it.
pub struct IvrSession {
    flow: Arc<Flow>,
    ctx: CallContext,
    lang: String,
    vars: BTreeMap<String, String>,
    actions: VecDeque<Action>,
    deferred: Vec<Action>,
    wait: Wait,
    timer: Option<(Timestamp, Timer)>,
    started: Timestamp,
    trace: Trace,
    next_lookup: u64,
}

impl IvrSession {
    /// A session on `flow` (not started: call [`IvrSession::handle_start`]).
    pub fn new(flow: Arc<Flow>) -> Self {
        let trace = Trace {
            flow: flow.name.clone(),
            flow_version: flow.version,
            language: flow.default_language().to_string(),
            ..Trace::default()
        };
        Self {
            lang: flow.default_language().to_string(),
            flow,
            ctx: CallContext::default(),
            vars: BTreeMap::new(),
            actions: VecDeque::new(),
            deferred: Vec::new(),
            wait: Wait::NotStarted,
            timer: None,
            started: Timestamp::default(),
            trace,
            next_lookup: 1,
        }
    }

    // ---- getters ----

    /// The flow version this call runs.
    pub fn flow(&self) -> &Arc<Flow> {
        &self.flow
    }

    /// The caller's current language.
    pub fn language(&self) -> &str {
        &self.lang
    }

    /// A variable's value.
    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    /// The path so far (complete once [`IvrSession::is_finished`]).
    pub fn trace(&self) -> &Trace {
        &self.trace
    }

    /// What the session is waiting for.
    pub fn state(&self) -> SessionState {
        match &self.wait {
            Wait::NotStarted => SessionState::NotStarted,
            Wait::Prompt { .. } | Wait::Listen { playing: true, .. } => SessionState::Playing,
            Wait::Listen { .. } => SessionState::Listening,
            Wait::Lookup { .. } => SessionState::LookingUp,
            Wait::Done => SessionState::Finished,
        }
    }

    /// True once the call has left the IVR (queued, transferred, hung up).
    pub fn is_finished(&self) -> bool {
        matches!(self.wait, Wait::Done)
    }

    // ---- outputs ----

    /// The next action for the shells, in order.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// When [`IvrSession::handle_timeout`] must be called next, if at all.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        self.timer.map(|(at, _)| at)
    }

    // ---- inputs ----

    /// The call enters the IVR. Ignored after the first call.
    pub fn handle_start(&mut self, now: Timestamp, ctx: CallContext) {
        if !matches!(self.wait, Wait::NotStarted) {
            return;
        }
        self.started = now;
        self.vars = self.flow.vars.clone();
        self.vars.extend(ctx.vars.clone());
        if let Some(l) = ctx
            .language
            .as_ref()
            .filter(|l| self.flow.languages.contains(l))
        {
            self.lang = l.clone();
        }
        let builtins = [
            (
                "caller",
                ctx.caller
                    .as_ref()
                    .map(|c| c.as_str().to_string())
                    .unwrap_or_default(),
            ),
            ("language", self.lang.clone()),
            (
                "segment",
                ctx.segment.unwrap_or_default().as_str().to_string(),
            ),
            (
                "customer_id",
                ctx.customer_id.map(|c| c.to_string()).unwrap_or_default(),
            ),
            ("called_before", ctx.has_called_before.to_string()),
            ("known_customer", ctx.customer_id.is_some().to_string()),
        ];
        for (k, v) in builtins {
            self.vars.insert(k.to_string(), v);
        }
        self.ctx = ctx;
        self.trace.language = self.lang.clone();
        let start = self.flow.start.node.clone();
        self.run(now, start);
    }

    /// A DTMF digit (RFC 4733 event) from the caller: `0-9 * # A-D`.
    pub fn handle_dtmf(&mut self, now: Timestamp, digit: char) {
        if !matches!(digit, '0'..='9' | '*' | '#' | 'A'..='D') {
            return;
        }
        match std::mem::replace(&mut self.wait, Wait::Done) {
            Wait::Prompt {
                then: Then::Goto(next),
                barge: true,
            } => {
                self.note_digit(now, digit, DigitUse::Accepted);
                self.run(now, next);
            }
            Wait::Listen {
                node,
                attempt,
                digits,
                playing,
            } => {
                self.listen_digit(now, (node, attempt, playing), digits, digit);
            }
            other @ (Wait::Prompt { .. } | Wait::Lookup { .. }) => {
                self.wait = other;
                self.note_digit(now, digit, DigitUse::Ignored);
            }
            other => self.wait = other,
        }
    }

    /// The last [`Action::Play`] finished playing.
    pub fn handle_prompt_done(&mut self, now: Timestamp) {
        match std::mem::replace(&mut self.wait, Wait::Done) {
            Wait::Prompt { then, .. } => self.then(now, then),
            Wait::Listen {
                node,
                attempt,
                digits,
                playing: true,
            } => {
                let ms = self.prompting(node).map_or(5000, |p| p.timeout_ms);
                self.timer = Some((now.add_millis(i64::from(ms)), Timer::Listen));
                self.wait = Wait::Listen {
                    node,
                    attempt,
                    digits,
                    playing: false,
                };
            }
            other => self.wait = other,
        }
    }

    /// Time has reached [`IvrSession::poll_timeout`]. Early calls are ignored.
    pub fn handle_timeout(&mut self, now: Timestamp) {
        let kind = match self.timer {
            Some((at, kind)) if now >= at => kind,
            _ => return,
        };
        self.timer = None;
        if kind == Timer::PlayGuard {
            // The voice layer never reported the end of the playback.
            return self.handle_prompt_done(now);
        }
        match std::mem::replace(&mut self.wait, Wait::Done) {
            Wait::Listen {
                node,
                attempt,
                digits,
                ..
            } => {
                // A partial entry: accepted when long enough, else invalid.
                if let Some(NodeKind::Collect {
                    var,
                    min_digits,
                    next,
                    ..
                }) = self.kind(node)
                    && !digits.is_empty()
                {
                    if digits.len() >= *min_digits as usize {
                        let (var, next) = (var.clone(), next.node.clone());
                        self.vars.insert(var, digits);
                        return self.run(now, next);
                    }
                    return self.retry(now, node, attempt, Retry::Invalid);
                }
                self.retry(now, node, attempt, Retry::Silence);
            }
            Wait::Lookup { node, entry, .. } => {
                self.lookup_failed(now, node, entry, LookupError::Timeout)
            }
            other => self.wait = other,
        }
    }

    /// The answer to [`Action::Lookup`] `id`: a JSON object, or why it failed.
    /// Answers to another id (e.g. after the session's own time-out) are ignored.
    pub fn handle_lookup_result(
        &mut self,
        now: Timestamp,
        id: LookupId,
        result: Result<Map<String, Value>, LookupError>,
    ) {
        let (node, entry) = match &self.wait {
            Wait::Lookup {
                node,
                id: want,
                entry,
                ..
            } if *want == id => (*node, *entry),
            _ => return,
        };
        self.timer = None;
        let Some(common) = self.lookup_common(node).cloned() else {
            return self.abort(now, "lookup node vanished");
        };
        match result.and_then(|m| map_result(m, &common.result)) {
            Ok(assign) => {
                for (k, v) in assign {
                    match v {
                        Some(v) => self.vars.insert(k, v),
                        None => self.vars.remove(&k),
                    };
                }
                self.close_lookup(now, entry, "ok".into());
                self.run(now, common.next.node);
            }
            Err(e) => self.lookup_failed(now, node, entry, e),
        }
    }

    /// The caller hung up. Deferred messages are released.
    pub fn handle_hangup(&mut self, now: Timestamp) {
        match self.wait {
            Wait::Done => {}
            Wait::NotStarted => self.wait = Wait::Done,
            _ => self.finish(now, Outcome::CallerHungUp),
        }
    }

    // ---- internals ----

    fn at(&self, now: Timestamp) -> i64 {
        now.millis_since(self.started)
    }

    fn kind(&self, node: usize) -> Option<&NodeKind> {
        self.flow.nodes.get(node).map(|n| &n.kind)
    }

    fn node_name(&self, node: usize) -> String {
        self.flow
            .nodes
            .get(node)
            .map(|n| n.name.clone())
            .unwrap_or_default()
    }

    fn prompting(&self, node: usize) -> Option<&Prompting> {
        match self.kind(node)? {
            NodeKind::Menu { prompting, .. }
            | NodeKind::Collect { prompting, .. }
            | NodeKind::OfferChannels { prompting, .. } => Some(prompting),
            _ => None,
        }
    }

    fn lookup_common(&self, node: usize) -> Option<&LookupCommon> {
        match self.kind(node)? {
            NodeKind::Http { common, .. } | NodeKind::Sql { common, .. } => Some(common),
            _ => None,
        }
    }

    fn current_node(&self) -> String {
        self.trace
            .nodes
            .last()
            .map(|v| v.node.clone())
            .unwrap_or_default()
    }

    fn note_digit(&mut self, now: Timestamp, digit: char, use_: DigitUse) {
        if self.trace.digits.len() >= TRACE_LIMIT {
            self.trace.dropped = self.trace.dropped.saturating_add(1);
            return;
        }
        let e = DigitEntry {
            digit,
            at_ms: self.at(now),
            node: self.current_node(),
            use_,
        };
        self.trace.digits.push(e);
    }

    fn visit(&mut self, now: Timestamp, name: &str) {
        let at = self.at(now);
        if let Some(last) = self.trace.nodes.last_mut()
            && last.duration_ms.is_none()
        {
            last.duration_ms = Some(at - last.at_ms);
        }
        if self.trace.nodes.len() >= TRACE_LIMIT {
            self.trace.dropped = self.trace.dropped.saturating_add(1);
            return;
        }
        self.trace.nodes.push(NodeVisit {
            node: name.to_string(),
            at_ms: at,
            duration_ms: None,
        });
    }

    fn resolve(&self, p: &PromptRef) -> Prompt {
        let lang = p.lang.as_deref().unwrap_or(&self.lang);
        Prompt {
            lang: self.flow.prompt_language(lang, &p.name),
            name: p.name.clone(),
        }
    }

    /// Emit a Play and arm the play guard.
    fn play(&mut self, now: Timestamp, prompts: &[PromptRef], barge_in: bool) {
        let prompts = prompts.iter().map(|p| self.resolve(p)).collect();
        self.actions.push_back(Action::Play { prompts, barge_in });
        self.timer = Some((now.add_millis(PLAY_GUARD_MS), Timer::PlayGuard));
    }

    fn then(&mut self, now: Timestamp, then: Then) {
        match then {
            Then::Goto(n) => self.run(now, n),
            Then::HangupWith(o) => {
                self.actions.push_back(Action::Hangup);
                self.finish(now, o);
            }
        }
    }

    /// Enter `name` and follow instant nodes until one waits.
    fn run(&mut self, now: Timestamp, name: String) {
        self.wait = Wait::Done;
        self.timer = None;
        let mut name = name;
        for _ in 0..MAX_STEPS {
            let Some(idx) = self.flow.nodes.iter().position(|n| n.name == name) else {
                return self.abort(now, &format!("no node `{name}`"));
            };
            self.visit(now, &name);
            match self.enter(now, idx) {
                Step::Next(n) => name = n,
                Step::Wait => return,
            }
        }
        self.abort(now, "too many steps without input");
    }

    fn enter(&mut self, now: Timestamp, idx: usize) -> Step {
        let flow = Arc::clone(&self.flow);
        let Some(def) = flow.nodes.get(idx) else {
            return Step::Wait;
        };
        match &def.kind {
            NodeKind::Play {
                prompts,
                barge_in,
                next,
            } => {
                if prompts.is_empty() {
                    return Step::Next(next.node.clone());
                }
                self.play(now, prompts, *barge_in);
                self.wait = Wait::Prompt {
                    then: Then::Goto(next.node.clone()),
                    barge: *barge_in,
                };
                Step::Wait
            }
            NodeKind::Menu { .. } | NodeKind::Collect { .. } | NodeKind::OfferChannels { .. } => {
                self.listen(now, idx, 0, &[]);
                Step::Wait
            }
            NodeKind::Say(s) => self.say(now, s),
            NodeKind::SetLanguage { language, next } => {
                let l = language.render(&self.vars);
                if self.flow.languages.contains(&l) {
                    self.lang = l.clone();
                    self.trace.language = l.clone();
                    self.vars.insert("language".into(), l.clone());
                    self.actions.push_back(Action::StoreLanguage { lang: l });
                }
                Step::Next(next.node.clone())
            }
            NodeKind::Condition {
                branches,
                otherwise,
            } => {
                let ev = EvalCtx {
                    flow: &flow,
                    ctx: &self.ctx,
                    vars: &self.vars,
                    now,
                };
                let t = branches
                    .iter()
                    .find(|(c, _)| ev.holds(c))
                    .map_or(otherwise, |(_, t)| t);
                Step::Next(t.node.clone())
            }
            NodeKind::Http {
                service,
                method,
                path,
                body,
                common,
            } => {
                let base = flow.services.get(service).map(String::as_str).unwrap_or("");
                let kind = LookupKind::Http {
                    method: match method {
                        HttpMethod::Get => "GET".into(),
                        HttpMethod::Post => "POST".into(),
                    },
                    url: format!("{base}{}", path.render_url(&self.vars)),
                    body: body.as_ref().map(|b| render_json(b, &self.vars)),
                    timeout_ms: common.timeout_ms,
                };
                self.send_lookup(now, idx, "http", kind, common.timeout_ms);
                Step::Wait
            }
            NodeKind::Sql {
                db,
                query,
                params,
                common,
            } => {
                let kind = LookupKind::Sql {
                    db: db.clone(),
                    query: query.clone(),
                    params: params.iter().map(|p| p.render(&self.vars)).collect(),
                    timeout_ms: common.timeout_ms,
                };
                self.send_lookup(now, idx, "sql", kind, common.timeout_ms);
                Step::Wait
            }
            NodeKind::Queue {
                queue,
                priority_boost,
            } => {
                let (queue, segment, priority) = self.pick_queue(now, queue, *priority_boost);
                self.actions.push_back(Action::Queue {
                    queue: queue.clone(),
                    priority,
                    segment,
                });
                self.finish(now, Outcome::Queued { queue });
                Step::Wait
            }
            NodeKind::SendMessage {
                channel,
                text,
                next,
            } => {
                let text = self.text(text);
                self.deferred.push(Action::SendMessage {
                    channel: *channel,
                    to: self.ctx.caller.clone(),
                    text,
                });
                Step::Next(next.node.clone())
            }
            NodeKind::Transfer { number } => {
                let number = number.render(&self.vars);
                self.actions.push_back(Action::Transfer {
                    number: number.clone(),
                });
                self.finish(now, Outcome::Transferred { number });
                Step::Wait
            }
            NodeKind::Set { vars, next } => {
                for (k, t) in vars {
                    let v: String = t
                        .render(&self.vars)
                        .chars()
                        .take(crate::eval::MAX_VAR_CHARS)
                        .collect();
                    self.vars.insert(k.clone(), v);
                }
                Step::Next(next.node.clone())
            }
            NodeKind::Goto { target } => Step::Next(target.node.clone()),
            NodeKind::Hangup => {
                self.actions.push_back(Action::Hangup);
                self.finish(now, Outcome::HungUp);
                Step::Wait
            }
        }
    }

    fn say(&mut self, now: Timestamp, s: &SayNode) -> Step {
        let lang = self.lang.clone();
        let g = Grammar::for_language(&lang).or_else(|| {
            self.flow
                .fallback
                .get(&lang)
                .and_then(|f| Grammar::for_language(f))
        });
        let words = g.and_then(|g| {
            say::say(g, s.say_as, &s.value.render(&self.vars), &s.currency).map(|w| (g, w))
        });
        let Some((g, words)) = words else {
            let t = s.on_error.as_ref().unwrap_or(&s.next);
            return Step::Next(t.node.clone());
        };
        let prompts = words
            .into_iter()
            .map(|name| Prompt {
                lang: g.language().to_string(),
                name,
            })
            .collect();
        self.actions.push_back(Action::Play {
            prompts,
            barge_in: s.barge_in,
        });
        self.timer = Some((now.add_millis(PLAY_GUARD_MS), Timer::PlayGuard));
        self.wait = Wait::Prompt {
            then: Then::Goto(s.next.node.clone()),
            barge: s.barge_in,
        };
        Step::Wait
    }

    fn text(&self, t: &LangText) -> String {
        let fb = self.flow.fallback.get(&self.lang);
        let tpl =
            t.0.get(&self.lang)
                .or_else(|| fb.and_then(|f| t.0.get(f)))
                .or_else(|| t.0.get("*"))
                .or_else(|| t.0.values().next());
        tpl.map(|x| x.render(&self.vars)).unwrap_or_default()
    }

    fn pick_queue(&self, now: Timestamp, q: &QueueChoice, boost: i32) -> (String, Segment, i32) {
        let ev = EvalCtx {
            flow: &self.flow,
            ctx: &self.ctx,
            vars: &self.vars,
            now,
        };
        let seg = ev.segment();
        let name = match q {
            QueueChoice::Fixed(n) => n.clone(),
            QueueChoice::BySegment(m) => m.get(&seg).cloned().unwrap_or_default(),
        };
        (name, seg, seg.priority().saturating_add(boost))
    }

    fn send_lookup(
        &mut self,
        now: Timestamp,
        idx: usize,
        kind_name: &str,
        kind: LookupKind,
        timeout_ms: u32,
    ) {
        let id = LookupId(self.next_lookup);
        self.next_lookup += 1;
        let entry = if self.trace.lookups.len() < TRACE_LIMIT {
            self.trace.lookups.push(LookupEntry {
                node: self.node_name(idx),
                kind: kind_name.into(),
                at_ms: self.at(now),
                duration_ms: None,
                outcome: None,
            });
            Some(self.trace.lookups.len() - 1)
        } else {
            self.trace.dropped = self.trace.dropped.saturating_add(1);
            None
        };
        self.actions.push_back(Action::Lookup { id, kind });
        self.timer = Some((
            now.add_millis(i64::from(timeout_ms) + LOOKUP_GRACE_MS),
            Timer::Lookup,
        ));
        self.wait = Wait::Lookup {
            node: idx,
            id,
            entry,
        };
    }

    fn close_lookup(&mut self, now: Timestamp, entry: Option<usize>, outcome: String) {
        let at = self.at(now);
        if let Some(e) = entry.and_then(|i| self.trace.lookups.get_mut(i)) {
            e.duration_ms = Some(at - e.at_ms);
            e.outcome = Some(outcome);
        }
    }

    fn lookup_failed(&mut self, now: Timestamp, node: usize, entry: Option<usize>, e: LookupError) {
        self.timer = None;
        self.close_lookup(now, entry, e.to_string());
        let Some(common) = self.lookup_common(node).cloned() else {
            return self.abort(now, "lookup node vanished");
        };
        if common.apology.is_empty() {
            return self.run(now, common.on_error.node);
        }
        self.play(now, &common.apology, false);
        self.wait = Wait::Prompt {
            then: Then::Goto(common.on_error.node),
            barge: false,
        };
    }

    fn abort(&mut self, now: Timestamp, reason: &str) {
        self.actions.push_back(Action::Hangup);
        self.finish(
            now,
            Outcome::Aborted {
                reason: reason.to_string(),
            },
        );
    }

    fn finish(&mut self, now: Timestamp, outcome: Outcome) {
        self.wait = Wait::Done;
        self.timer = None;
        let at = self.at(now);
        if let Some(last) = self.trace.nodes.last_mut()
            && last.duration_ms.is_none()
        {
            last.duration_ms = Some(at - last.at_ms);
        }
        for e in self
            .trace
            .lookups
            .iter_mut()
            .filter(|e| e.outcome.is_none())
        {
            e.duration_ms = Some(at - e.at_ms);
            e.outcome = Some("abandoned".into());
        }
        self.trace.outcome = Some(outcome);
        self.trace.duration_ms = Some(at);
        self.actions.extend(self.deferred.drain(..));
    }
}

/// Parse a segment name as flows write it (`vip`, `business`, `general`/`mass`).
pub fn segment_from_name(s: &str) -> Option<Segment> {
    parse_segment(s)
}
