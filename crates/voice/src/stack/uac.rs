//! Our side as UAC (RFC 3261 §8.1, §13.2): originate, responses, CANCEL, BYE,
//! re-INVITE for hold, leg teardown and timers.

use super::leg::{Leg, LegState};
use super::{Dest, RetransKey, Stack};
use crate::codec::Codec;
use crate::control::{CallEvent, CollectEnd, Collected, HangupCause, LegId, VoiceError};
use crate::media::{MediaLeg, SendParams};
use crate::sdp::{self, Direction};
use crate::sip::message::{Headers, Method, Request, Response, addr_uri, cseq, header_param};
use std::time::{Duration, Instant};

impl Stack {
    pub(super) fn originate(
        &mut self,
        now: Instant,
        user: &str,
        caller: &str,
        ring: Duration,
    ) -> Result<LegId, VoiceError> {
        let binding = self
            .registrar
            .contacts(now, user)
            .into_iter()
            .next()
            .ok_or_else(|| VoiceError::NotRegistered(user.to_string()))?;
        let realm = self.cfg.realm.clone();
        let from = format!("<sip:{caller}@{realm}>");
        let to = format!("<sip:{user}@{realm}>");
        let dest = self.dest_for(binding.source);
        self.start_outbound(now, dest, binding.contact, from, to, ring)
    }

    /// Call `number` through a trunk's outbound address, From = the given
    /// caller-ID or the trunk's configured one.
    pub(super) fn originate_trunk(
        &mut self,
        now: Instant,
        trunk: &str,
        number: &str,
        caller_id: Option<String>,
        ring: Duration,
    ) -> Result<LegId, VoiceError> {
        let t = self
            .cfg
            .trunks
            .iter()
            .find(|t| t.name == trunk)
            .ok_or(VoiceError::InvalidState("no such trunk"))?;
        let to_addr = t
            .outbound
            .ok_or(VoiceError::InvalidState("trunk has no outbound address"))?;
        let caller = caller_id
            .or_else(|| t.caller_id.clone())
            .unwrap_or_else(|| "anonymous".into());
        let uri = format!("sip:{number}@{to_addr}");
        let from = format!("<sip:{caller}@{}>", self.local.ip());
        let to = format!("<{uri}>");
        self.start_outbound(now, Dest::Udp(to_addr), uri, from, to, ring)
    }

    /// Create an outbound leg and send its INVITE.
    fn start_outbound(
        &mut self,
        now: Instant,
        dest: Dest,
        target: String,
        from: String,
        to: String,
        ring: Duration,
    ) -> Result<LegId, VoiceError> {
        let id = LegId(self.next_leg);
        self.next_leg += 1;
        let params = SendParams {
            codec: Codec::Pcmu,
            telephone_event: Some(sdp::TELEPHONE_EVENT_PT),
        };
        let media = MediaLeg::start_in(
            self.cfg.media_ip,
            self.cfg.rtp_ports.clone(),
            params,
            id,
            self.media_tx.clone(),
        )?;
        if self.cfg.rtcp_interval != crate::media::RTCP_INTERVAL {
            media.set_rtcp_interval(self.cfg.rtcp_interval);
        }
        let local_tag = self.token();
        let call_id = format!("{}@switchboard", self.token());
        self.by_call_id.insert(call_id.clone(), id);
        self.legs.insert(
            id,
            Leg {
                inbound: false,
                state: LegState::Calling,
                confirmed: false,
                call_id,
                local_hdr: format!("{from};tag={local_tag}"),
                local_tag,
                remote_hdr: to,
                remote_target: target,
                dest,
                cseq: 0,
                invite: None,
                last_response: None,
                media,
                params,
                peer: None,
                collect: None,
                recording: None,
                ring_deadline: Some(now + ring),
                final_deadline: Some(now + self.cfg.invite_timeout),
                cancel_cause: None,
                rang: false,
                sdp_version: 0,
                reinvite_reply: None,
                reinvite_deadline: None,
                refer_reply: None,
                answer_sdp: None,
                early: false,
                late_offer: false,
                session: None,
                reoffer: false,
            },
        );
        self.send_invite(now, id, Direction::SendRecv);
        Ok(id)
    }

    /// Send an INVITE (initial or re-INVITE) on leg `id` with an SDP offer.
    pub(super) fn send_invite(&mut self, now: Instant, id: LegId, direction: Direction) {
        let body = self.local_sdp(id, direction, true);
        let Some((mut req, branch)) = self.in_dialog(id, Method::Invite) else {
            return;
        };
        req.headers
            .push("Allow", "INVITE, ACK, BYE, CANCEL, OPTIONS, INFO");
        self.timer_request_headers(id, &mut req);
        req.headers.push("Content-Type", "application/sdp");
        req.body = body;
        let bytes = req.to_bytes();
        let Some(leg) = self.legs.get_mut(&id) else {
            return;
        };
        leg.invite = Some(req);
        let dest = leg.dest;
        self.send_reliably(now, dest, bytes, RetransKey::Client(branch), true);
    }

    pub(super) fn on_response(&mut self, now: Instant, _from: Dest, resp: Response) {
        let branch = resp
            .headers
            .get("Via")
            .and_then(|v| header_param(v, "branch"))
            .unwrap_or("")
            .to_string();
        let Some((_, method)) = cseq(&resp.headers) else {
            return;
        };
        if resp.status >= 200 || method == Method::Invite {
            self.clear_retrans(&RetransKey::Client(branch.clone()));
        }
        if method == Method::Options {
            let key = resp.headers.get("Call-ID").unwrap_or("");
            if let Some((user, contact)) = self.qualifying.remove(key)
                && let Some(change) = self.registrar.qualify_answered(&user, &contact)
            {
                self.emit(CallEvent::Registration(change));
            }
            return;
        }
        if method == Method::Refer && resp.status >= 200 {
            let leg = resp
                .headers
                .get("Call-ID")
                .and_then(|c| self.by_call_id.get(c))
                .copied();
            if let Some(r) = leg.and_then(|id| self.legs.get_mut(&id)?.refer_reply.take()) {
                let _ = r.send(match resp.status {
                    200..=299 => Ok(()),
                    s => Err(VoiceError::Refused(s)),
                });
            }
            return;
        }
        if super::session_timer::is_update(&method) {
            // The answer to our session refresh (RFC 4028 §10, RFC 3311).
            let leg = resp
                .headers
                .get("Call-ID")
                .and_then(|c| self.by_call_id.get(c));
            if let Some(id) = leg.copied()
                && resp.status >= 200
            {
                self.on_refresh_answer(now, id, resp.status);
            }
            return;
        }
        if method == Method::Bye
            && resp.status >= 200
            && let Some(call_id) = self.restored_byes.remove(&branch)
        {
            // 481: the peer had already forgotten it (RFC 3261 §15.1.2).
            tracing::info!(%call_id, status = resp.status, "BYE to a dialog of the previous run answered");
        }
        if method != Method::Invite {
            return; // BYE/CANCEL answers need no action.
        }
        let Some(id) = resp
            .headers
            .get("Call-ID")
            .and_then(|c| self.by_call_id.get(c))
            .copied()
        else {
            return;
        };
        let Some(leg) = self.legs.get_mut(&id) else {
            return;
        };
        if leg.inbound && leg.state != LegState::Answered {
            return;
        }
        match resp.status {
            100..=199 => {
                if leg.state == LegState::Calling {
                    leg.state = LegState::Early;
                }
                if resp.status > 100 && !leg.rang {
                    leg.rang = true;
                    self.emit(CallEvent::Ringing { leg: id });
                }
            }
            200..=299 => self.on_invite_ok(now, id, &resp),
            status => {
                self.ack_failure(id, &resp);
                let Some(leg) = self.legs.get(&id) else {
                    return;
                };
                if leg.state == LegState::Answered {
                    // A refused re-INVITE leaves the dialog as it was.
                    if let Some(r) = self.legs.get_mut(&id).and_then(|l| l.reinvite_reply.take()) {
                        let _ = r.send(Err(VoiceError::Refused(status)));
                    }
                    return self.on_refresh_answer(now, id, status);
                }
                let cause = leg.cancel_cause.clone().unwrap_or(match status {
                    486 | 600 => HangupCause::Busy,
                    404 | 480 | 487 => HangupCause::NoAnswer,
                    408 => HangupCause::Timeout,
                    s => HangupCause::Rejected(s),
                });
                self.end_leg(id, cause);
            }
        }
    }

    fn on_invite_ok(&mut self, now: Instant, id: LegId, resp: &Response) {
        let Some(leg) = self.legs.get_mut(&id) else {
            return;
        };
        if let Some(to) = resp.headers.get("To") {
            leg.remote_hdr = to.to_string();
        }
        if let Some(c) = resp.headers.get("Contact").map(addr_uri)
            && crate::sip::message::usable_sip_uri(c)
        {
            leg.remote_target = c.to_string();
        }
        let was_answered = leg.state == LegState::Answered;
        let cancelled = leg.state == LegState::Cancelling;
        if !resp.body.is_empty() && !was_answered {
            match sdp::parse(&resp.body).and_then(|s| sdp::choose_codec(&s).map(|c| (s, c))) {
                Ok((s, codec)) => {
                    leg.params = SendParams {
                        codec,
                        telephone_event: s.telephone_event,
                    };
                    leg.media.set_remote(s.rtp, leg.params);
                    leg.media.set_rtcp_remote(s.rtcp);
                }
                Err(_) => {
                    self.send_ack(id);
                    self.bye_and_end(now, id, HangupCause::Rejected(488));
                    return;
                }
            }
        }
        leg.state = LegState::Answered;
        leg.confirmed = true;
        leg.ring_deadline = None;
        leg.final_deadline = None;
        self.send_ack(id);
        if cancelled {
            let cause = self
                .legs
                .get(&id)
                .and_then(|l| l.cancel_cause.clone())
                .unwrap_or(HangupCause::Local);
            self.bye_and_end(now, id, cause);
        } else if !was_answered {
            self.emit(CallEvent::Answered { leg: id });
            self.dialog_saved(id);
        } else {
            // Any 2xx to our re-INVITE (hold or refresh) renews the session.
            self.session_refreshed(now, id);
            if let Some(r) = self.legs.get_mut(&id).and_then(|l| l.reinvite_reply.take()) {
                let _ = r.send(Ok(()));
            }
        }
    }

    /// ACK for a 2xx: a new transaction to the remote target (RFC 3261 §13.2.2.4).
    fn send_ack(&mut self, id: LegId) {
        let Some(leg) = self.legs.get(&id) else {
            return;
        };
        let Some(inv) = &leg.invite else { return };
        let Some((n, _)) = cseq(&inv.headers) else {
            return;
        };
        let dest = leg.dest;
        let (via, _) = self.via(dest);
        let Some(leg) = self.legs.get(&id) else {
            return;
        };
        let mut h = Headers::default();
        h.push("Via", via);
        h.push("Max-Forwards", "70");
        h.push("From", leg.local_hdr.clone());
        h.push("To", leg.remote_hdr.clone());
        h.push("Call-ID", leg.call_id.clone());
        h.push("CSeq", format!("{n} ACK"));
        let ack = Request {
            method: Method::Ack,
            uri: leg.remote_target.clone(),
            headers: h,
            body: Vec::new(),
        };
        self.send(dest, ack.to_bytes());
    }

    /// ACK for a non-2xx final response: same branch as the INVITE (§17.1.1.3).
    fn ack_failure(&mut self, id: LegId, resp: &Response) {
        let Some(leg) = self.legs.get(&id) else {
            return;
        };
        let Some(inv) = &leg.invite else { return };
        let mut h = Headers::default();
        for name in ["Via", "From", "Call-ID"] {
            if let Some(v) = inv.headers.get(name) {
                h.push(name, v);
            }
        }
        h.push("To", resp.headers.get("To").unwrap_or(""));
        if let Some((n, _)) = cseq(&inv.headers) {
            h.push("CSeq", format!("{n} ACK"));
        }
        let ack = Request {
            method: Method::Ack,
            uri: inv.uri.clone(),
            headers: h,
            body: Vec::new(),
        };
        let dest = leg.dest;
        self.send(dest, ack.to_bytes());
    }

    /// CANCEL our pending INVITE (RFC 3261 §9.1) and wait for its 487.
    fn cancel(&mut self, now: Instant, id: LegId, cause: HangupCause) {
        let Some(leg) = self.legs.get_mut(&id) else {
            return;
        };
        let Some(inv) = &leg.invite else { return };
        let mut h = Headers::default();
        for name in ["Via", "From", "To", "Call-ID"] {
            if let Some(v) = inv.headers.get(name) {
                h.push(name, v);
            }
        }
        if let Some((n, _)) = cseq(&inv.headers) {
            h.push("CSeq", format!("{n} CANCEL"));
        }
        h.push("Max-Forwards", "70");
        let branch = inv
            .headers
            .get("Via")
            .and_then(|v| header_param(v, "branch"))
            .unwrap_or("")
            .to_string();
        let req = Request {
            method: Method::Cancel,
            uri: inv.uri.clone(),
            headers: h,
            body: Vec::new(),
        };
        leg.state = LegState::Cancelling;
        leg.cancel_cause = Some(cause);
        leg.ring_deadline = None;
        leg.final_deadline = Some(now + Duration::from_secs(4));
        let dest = leg.dest;
        self.send_reliably(
            now,
            dest,
            req.to_bytes(),
            RetransKey::Client(format!("{branch}-cancel")),
            false,
        );
    }

    /// Hang up one leg as the engine asked (no cascade to its peer).
    pub(super) fn hang_up(&mut self, now: Instant, id: LegId) {
        self.end_unanswered_or_hang_up(now, id, 480, "Temporarily Unavailable", None);
    }

    /// Refuse an unanswered inbound leg with 503 and `Retry-After` (the
    /// engine's IVR load limit, RFC 3261 §21.5.4); otherwise [`Self::hang_up`].
    pub(super) fn refuse_overload(&mut self, now: Instant, id: LegId) {
        metrics::counter!("sip_invites_shed_total").increment(1);
        let secs = self.cfg.overload_retry_after.as_secs().max(1);
        self.end_unanswered_or_hang_up(now, id, 503, "Service Unavailable", Some(secs));
    }

    /// An unanswered inbound leg gets the final answer `status` (with
    /// `Retry-After: retry_after_s` when given); an unanswered outbound leg
    /// is cancelled; an answered one gets BYE.
    fn end_unanswered_or_hang_up(
        &mut self,
        now: Instant,
        id: LegId,
        status: u16,
        reason: &str,
        retry_after_s: Option<u64>,
    ) {
        let Some(leg) = self.legs.get_mut(&id) else {
            return;
        };
        match (leg.inbound, leg.state) {
            (true, LegState::Offered) => {
                if let Some(inv) = &leg.invite {
                    let mut r = Response::for_request(inv, status, reason, Some(&leg.local_tag));
                    if let Some(s) = retry_after_s {
                        r.headers.push("Retry-After", s.to_string());
                    }
                    let dest = leg.dest;
                    self.send(dest, r.to_bytes());
                }
                self.end_leg(id, HangupCause::Local);
            }
            (false, LegState::Calling | LegState::Early) => {
                self.cancel(now, id, HangupCause::Local)
            }
            (_, LegState::Cancelling) => {}
            _ => self.bye_and_end(now, id, HangupCause::Local),
        }
    }

    /// Send BYE on an established leg and end it.
    pub(super) fn bye_and_end(&mut self, now: Instant, id: LegId, cause: HangupCause) {
        if let Some((req, branch)) = self.in_dialog(id, Method::Bye)
            && let Some(dest) = self.legs.get(&id).map(|l| l.dest)
        {
            self.send_reliably(now, dest, req.to_bytes(), RetransKey::Client(branch), false);
        }
        self.end_leg(id, cause);
    }

    /// End `id` for `cause` and, if bridged, send BYE to its peer (B2BUA: a BYE
    /// from either side tears down both legs).
    pub(super) fn end_with_peer(&mut self, now: Instant, id: LegId, cause: HangupCause) {
        let peer = self.legs.get(&id).and_then(|l| l.peer);
        self.end_leg(id, cause);
        if let Some(p) = peer {
            self.hang_up_cascade(now, p);
        }
    }

    pub(super) fn hang_up_cascade(&mut self, now: Instant, id: LegId) {
        let Some(leg) = self.legs.get(&id) else {
            return;
        };
        if leg.state == LegState::Answered {
            self.bye_and_end(now, id, HangupCause::PeerHungUp);
        } else {
            self.hang_up(now, id);
        }
    }

    /// Forget a leg: stop media, finish its recording and collector, emit HungUp.
    pub(super) fn end_leg(&mut self, id: LegId, cause: HangupCause) {
        let supervisor = self.supervision_leg_ended(id);
        self.record_stop(id);
        self.set_in_setup(id, false);
        let Some(mut leg) = self.legs.remove(&id) else {
            return;
        };
        self.by_call_id.remove(&leg.call_id);
        self.clear_retrans(&RetransKey::Ok2xx(leg.call_id.clone()));
        if leg.confirmed {
            self.emit(CallEvent::DialogEnded {
                call_id: leg.call_id.clone(),
            });
        }
        if let Some(p) = leg.peer.and_then(|p| self.legs.get_mut(&p)) {
            p.peer = None;
            p.media.bridge(None);
        }
        for r in [leg.reinvite_reply.take(), leg.refer_reply.take()]
            .into_iter()
            .flatten()
        {
            let _ = r.send(Err(VoiceError::UnknownLeg(id)));
        }
        if let Some(c) = leg.collect.take() {
            let _ = c.reply.send(Ok(Collected {
                digits: c.digits,
                end: CollectEnd::HungUp,
            }));
        }
        let stats = leg.media.stats();
        leg.media.stop();
        if stats.quality.received > 0 {
            self.emit(CallEvent::MediaQuality {
                leg: id,
                quality: stats.quality,
            });
        }
        self.emit(CallEvent::HungUp {
            leg: id,
            cause,
            rx_packets: stats.rx_packets,
            tx_packets: stats.tx_packets,
        });
        // The supervised call is over: release the supervisor's leg now.
        if let Some(s) = supervisor {
            let now = self.now;
            self.hang_up_cascade(now, s);
        }
    }

    pub(super) fn leg_timers(&mut self, now: Instant) {
        let mut ring = Vec::new();
        let mut fin = Vec::new();
        let mut collect = Vec::new();
        let mut reinvite = Vec::new();
        for (id, leg) in &self.legs {
            if leg.reinvite_reply.is_some() && leg.reinvite_deadline.is_some_and(|d| now >= d) {
                reinvite.push(*id);
            }
            if leg.ring_deadline.is_some_and(|d| now >= d) {
                ring.push(*id);
            } else if leg.final_deadline.is_some_and(|d| now >= d) {
                fin.push(*id);
            }
            if leg.collect.as_ref().is_some_and(|c| now >= c.deadline) {
                collect.push(*id);
            }
        }
        for id in ring {
            self.cancel(now, id, HangupCause::NoAnswer);
        }
        for id in fin {
            let cause = self
                .legs
                .get(&id)
                .and_then(|l| l.cancel_cause.clone())
                .unwrap_or(HangupCause::Timeout);
            self.end_leg(id, cause);
        }
        for id in collect {
            self.finish_collect(id, CollectEnd::Timeout);
        }
        // A re-INVITE with no final answer by Timer B counts as 408 (RFC
        // 3261 §8.1.3.1), and a 408 to a re-INVITE ends the dialog (§14.1).
        for id in reinvite {
            if let Some(r) = self.legs.get_mut(&id).and_then(|l| {
                l.reinvite_deadline = None;
                l.reinvite_reply.take()
            }) {
                let _ = r.send(Err(VoiceError::Refused(408)));
            }
            self.bye_and_end(now, id, HangupCause::Timeout);
        }
    }
}
