//! The listening nodes of [`IvrSession`]: menu, collect and offer-channels
//! (DTMF, silence, retries, the R4 hand-over to a digital channel).

use super::{IvrSession, Retry, Then, Timer, Wait};
use crate::io::Action;
use crate::model::*;
use crate::trace::{DigitUse, Outcome};
use domain::{Channel, Timestamp};
use std::sync::Arc;

impl IvrSession {
    pub(super) fn listen(
        &mut self,
        now: Timestamp,
        idx: usize,
        attempt: u32,
        prelude: &[PromptRef],
    ) {
        let flow = Arc::clone(&self.flow);
        let Some(p) = (match flow.nodes.get(idx).map(|n| &n.kind) {
            Some(NodeKind::Menu { prompting, .. })
            | Some(NodeKind::Collect { prompting, .. })
            | Some(NodeKind::OfferChannels { prompting, .. }) => Some(prompting),
            _ => None,
        }) else {
            return self.abort(now, "not a listening node");
        };
        let (min, max, terminator) = match flow.nodes.get(idx).map(|n| &n.kind) {
            Some(NodeKind::Collect {
                min_digits,
                max_digits,
                terminator,
                ..
            }) => (*min_digits, *max_digits, *terminator),
            _ => (1, 1, None),
        };
        let all: Vec<PromptRef> = prelude.iter().chain(&p.prompts).cloned().collect();
        let playing = !all.is_empty();
        if playing {
            self.play(now, &all, true);
        }
        self.actions.push_back(Action::CollectDigits {
            min,
            max,
            terminator,
            timeout_ms: p.timeout_ms,
        });
        if !playing {
            self.timer = Some((now.add_millis(i64::from(p.timeout_ms)), Timer::Listen));
        }
        self.wait = Wait::Listen {
            node: idx,
            attempt,
            digits: String::new(),
            playing,
        };
    }

    pub(super) fn retry(&mut self, now: Timestamp, idx: usize, attempt: u32, why: Retry) {
        let Some(p) = self.prompting(idx) else {
            return self.abort(now, "not a listening node");
        };
        if attempt >= p.retries {
            let t = p.on_failure.node.clone();
            return self.run(now, t);
        }
        let prelude = match why {
            Retry::Invalid => p.invalid_prompts.clone(),
            Retry::Silence => p.timeout_prompts.clone(),
        };
        self.listen(now, idx, attempt + 1, &prelude);
    }

    /// A digit for a listening node; `at` is (node, attempt, prompts still playing).
    pub(super) fn listen_digit(
        &mut self,
        now: Timestamp,
        at: (usize, u32, bool),
        mut digits: String,
        d: char,
    ) {
        let (idx, attempt, playing) = at;
        let flow = Arc::clone(&self.flow);
        match flow.nodes.get(idx).map(|n| &n.kind) {
            Some(NodeKind::Menu { options, .. }) => match options.get(&d) {
                Some(t) => {
                    self.note_digit(now, d, DigitUse::Accepted);
                    self.run(now, t.node.clone());
                }
                None => {
                    self.note_digit(now, d, DigitUse::Invalid);
                    self.retry(now, idx, attempt, Retry::Invalid);
                }
            },
            Some(NodeKind::OfferChannels {
                options,
                confirm,
                first_message,
                queue,
                voice,
                ..
            }) => match options.get(&d) {
                Some(None) => {
                    self.note_digit(now, d, DigitUse::Accepted);
                    self.run(now, voice.node.clone());
                }
                Some(Some(ch)) => {
                    self.note_digit(now, d, DigitUse::Accepted);
                    self.hand_over(now, *ch, confirm, first_message, queue);
                }
                None => {
                    self.note_digit(now, d, DigitUse::Invalid);
                    self.retry(now, idx, attempt, Retry::Invalid);
                }
            },
            Some(NodeKind::Collect {
                var,
                min_digits,
                max_digits,
                terminator,
                inter_digit_timeout_ms,
                next,
                ..
            }) => {
                let done = if Some(d) == *terminator {
                    true
                } else if d.is_ascii_digit() {
                    digits.push(d);
                    digits.len() >= *max_digits as usize
                } else {
                    // A key that is neither a digit nor the terminator:
                    // nothing changes (the prompt and the timer go on).
                    self.note_digit(now, d, DigitUse::Ignored);
                    self.wait = Wait::Listen {
                        node: idx,
                        attempt,
                        digits,
                        playing,
                    };
                    return;
                };
                if !done {
                    self.note_digit(now, d, DigitUse::Accepted);
                    self.timer = Some((
                        now.add_millis(i64::from(*inter_digit_timeout_ms)),
                        Timer::Listen,
                    ));
                    self.wait = Wait::Listen {
                        node: idx,
                        attempt,
                        digits,
                        playing: false,
                    };
                } else if digits.len() >= *min_digits as usize {
                    self.note_digit(now, d, DigitUse::Accepted);
                    self.vars.insert(var.clone(), digits);
                    self.run(now, next.node.clone());
                } else {
                    self.note_digit(now, d, DigitUse::Invalid);
                    self.retry(now, idx, attempt, Retry::Invalid);
                }
            }
            _ => self.abort(now, "not a listening node"),
        }
    }

    pub(super) fn hand_over(
        &mut self,
        now: Timestamp,
        ch: Channel,
        confirm: &[PromptRef],
        msg: &LangText,
        q: &QueueChoice,
    ) {
        let (queue, _, priority) = self.pick_queue(now, q, 0);
        let first_message = self.text(msg);
        self.deferred.push(Action::OpenConversation {
            channel: ch,
            to: self.ctx.caller.clone(),
            queue,
            priority,
            first_message,
        });
        let outcome = Outcome::DigitalHandover {
            channel: ch.as_str().to_string(),
        };
        if confirm.is_empty() {
            return self.then(now, Then::HangupWith(outcome));
        }
        self.play(now, confirm, false);
        self.wait = Wait::Prompt {
            then: Then::HangupWith(outcome),
            barge: false,
        };
    }
}
