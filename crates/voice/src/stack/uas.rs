//! Requests we receive (UAS side, RFC 3261 §8.2, §12-15): INVITE (new and
//! re-INVITE), ACK, CANCEL, BYE, INFO, OPTIONS, REGISTER; 501 for the rest.

use super::leg::{Leg, LegState};
use super::session_timer;
use super::{Dest, RetransKey, Stack};
use crate::control::{CallEvent, HangupCause, LegId};
use crate::media::{MediaLeg, SendParams};
use crate::registrar::AuthFailure;
use crate::sdp::{self, Direction, SdpError};
use crate::sip::message::{
    Method, Request, Response, addr_uri, header_param, uri_user, usable_sip_uri,
};
use std::time::Instant;

const ALLOW: &str = "INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, REFER, NOTIFY, REGISTER, UPDATE";

impl Stack {
    pub(super) fn reply(&mut self, dest: Dest, req: &Request, status: u16, reason: &str) {
        let tag = self.token();
        let mut r = Response::for_request(req, status, reason, Some(&tag));
        if status == 405 || status == 501 || (req.method == Method::Options && status == 200) {
            r.headers.push("Allow", ALLOW);
        }
        self.send(dest, r.to_bytes());
    }

    /// Answer a request refused by the checks before routing
    /// ([`super::checks`]), with the headers the refusal names.
    pub(super) fn refuse(&mut self, dest: Dest, req: &Request, refusal: super::checks::Refusal) {
        tracing::debug!(from = %dest.addr(), status = refusal.status, reason = refusal.reason, "request refused before routing");
        let tag = self.token();
        let mut r = Response::for_request(req, refusal.status, refusal.reason, Some(&tag));
        for (name, value) in refusal.headers {
            r.headers.push(name, value);
        }
        self.send(dest, r.to_bytes());
    }

    pub(super) fn on_request(&mut self, now: Instant, from: Dest, req: Request) {
        match req.method {
            Method::Register => {
                let tag = self.token();
                let dir = self.directory.clone();
                let (resp, change) =
                    self.registrar
                        .handle_register(now, from.addr(), &req, dir.as_ref(), &tag);
                self.send(from, resp.to_bytes());
                if let Some(c) = change {
                    self.emit(CallEvent::Registration(c));
                }
            }
            Method::Invite => self.on_invite(now, from, req),
            Method::Ack => self.on_ack(now, &req),
            Method::Cancel => self.on_cancel(from, &req),
            Method::Bye => {
                let Some(id) = self.leg_of(&req) else {
                    return self.reply(from, &req, 481, "Call/Transaction Does Not Exist");
                };
                self.reply(from, &req, 200, "OK");
                self.end_with_peer(now, id, HangupCause::RemoteBye);
            }
            Method::Info => {
                let Some(id) = self.leg_of(&req) else {
                    return self.reply(from, &req, 481, "Call/Transaction Does Not Exist");
                };
                self.reply(from, &req, 200, "OK");
                // SIP INFO DTMF fallback (application/dtmf-relay, de facto format).
                let body = String::from_utf8_lossy(&req.body).to_string();
                let signal = body.lines().find_map(|l| {
                    let (k, v) = l.split_once('=')?;
                    k.trim()
                        .eq_ignore_ascii_case("signal")
                        .then(|| v.trim().chars().next())?
                });
                if let Some(d) = signal {
                    self.on_digit(now, id, d, 0);
                }
            }
            Method::Refer => {
                // Blind transfer asked by the far end (RFC 3515): accept and let
                // the engine place the new call; the leg ends with its BYE.
                let Some(id) = self.leg_of(&req) else {
                    return self.reply(from, &req, 481, "Call/Transaction Does Not Exist");
                };
                let Some(target) = req.headers.get("Refer-To").map(addr_uri) else {
                    return self.reply(from, &req, 400, "Missing Refer-To");
                };
                let target = target.to_string();
                self.reply(from, &req, 202, "Accepted");
                self.emit(CallEvent::TransferRequested { leg: id, target });
            }
            Method::Options => self.reply(from, &req, 200, "OK"),
            Method::Other(ref m) if m.eq_ignore_ascii_case("UPDATE") => {
                // RFC 3311: a session refresh (RFC 4028) or an in-dialog offer.
                let Some(id) = self.leg_of(&req) else {
                    return self.reply(from, &req, 481, "Call/Transaction Does Not Exist");
                };
                self.on_reinvite(now, from, id, &req);
            }
            Method::Other(ref m) if m.eq_ignore_ascii_case("NOTIFY") => {
                // Progress of a transfer we asked for (RFC 3515 §2.4.5, sipfrag body).
                let Some(id) = self.leg_of(&req) else {
                    return self.reply(from, &req, 481, "Call/Transaction Does Not Exist");
                };
                self.reply(from, &req, 200, "OK");
                let body = String::from_utf8_lossy(&req.body).to_string();
                let status = body
                    .lines()
                    .next()
                    .and_then(|l| l.strip_prefix("SIP/2.0 "))
                    .and_then(|r| r.get(..3))
                    .and_then(|c| c.parse().ok());
                if let Some(status) = status {
                    self.emit(CallEvent::TransferStatus { leg: id, status });
                }
            }
            _ => self.reply(from, &req, 501, "Not Implemented"),
        }
    }

    /// The leg of an in-dialog request (by Call-ID).
    fn leg_of(&self, req: &Request) -> Option<LegId> {
        self.by_call_id.get(req.headers.get("Call-ID")?).copied()
    }

    fn on_invite(&mut self, now: Instant, from: Dest, req: Request) {
        if let Some(id) = self.leg_of(&req) {
            let has_tag = req
                .headers
                .get("To")
                .and_then(|t| header_param(t, "tag"))
                .is_some();
            if !has_tag {
                // Retransmission of the initial INVITE: repeat our last answer.
                if let Some(bytes) = self.legs.get(&id).and_then(|l| l.last_response.clone()) {
                    self.send(from, bytes);
                }
                return;
            }
            return self.on_reinvite(now, from, id, &req);
        }
        if req
            .headers
            .get("To")
            .and_then(|t| header_param(t, "tag"))
            .is_some()
        {
            return self.reply(from, &req, 481, "Call/Transaction Does Not Exist");
        }
        // Load shedding before any work (digest, RTP socket): a caller over
        // the limit is told when to retry (RFC 3261 §21.5.4).
        if self
            .cfg
            .max_calls_in_setup
            .is_some_and(|max| self.calls_in_setup() >= max)
        {
            metrics::counter!("sip_invites_shed_total").increment(1);
            tracing::debug!(from = %from.addr(), in_setup = self.calls_in_setup(), "overload: INVITE refused with 503");
            let tag = self.token();
            let mut r = Response::for_request(&req, 503, "Service Unavailable", Some(&tag));
            let secs = self.cfg.overload_retry_after.as_secs().max(1);
            r.headers.push("Retry-After", secs.to_string());
            return self.send(from, r.to_bytes());
        }
        let callee = uri_user(&req.uri).unwrap_or("").to_string();
        let caller = req
            .headers
            .get("From")
            .map(addr_uri)
            .and_then(uri_user)
            .unwrap_or("")
            .to_string();
        let ip = from.addr().ip();
        let ip_trunk = self
            .cfg
            .trunks
            .iter()
            .find(|t| t.allowed_ips.contains(&ip))
            .map(|t| t.name.clone());
        let digest_trunks = self.cfg.trunks.iter().any(|t| t.auth_user.is_some());
        let phone = self.registrar.is_registered_source(now, ip).is_some();
        let (trunk_name, from_user) = if ip_trunk.is_some() {
            (ip_trunk, None)
        } else if phone || digest_trunks {
            // An agent phone, or a trunk identified by digest: the INVITE itself
            // must carry credentials (RFC 3261 §22.3).
            let dir = self.directory.clone();
            match self
                .registrar
                .authenticate(now, from.addr(), &req, dir.as_ref())
            {
                Ok(user) => {
                    let by_digest = self
                        .cfg
                        .trunks
                        .iter()
                        .find(|t| t.auth_user.as_deref() == Some(user.as_str()));
                    match (by_digest, phone) {
                        (Some(t), _) => (Some(t.name.clone()), None),
                        (None, true) => (None, Some(user)),
                        (None, false) => return self.reply(from, &req, 403, "Forbidden"),
                    }
                }
                Err(AuthFailure::Challenge { stale }) => {
                    let tag = self.token();
                    let mut r = Response::for_request(
                        &req,
                        407,
                        "Proxy Authentication Required",
                        Some(&tag),
                    );
                    for c in self.registrar.challenge_values(now, stale) {
                        r.headers.push("Proxy-Authenticate", c);
                    }
                    return self.send(from, r.to_bytes());
                }
                Err(AuthFailure::Forbidden) => {
                    return self.reply(from, &req, 403, "Forbidden");
                }
            }
        } else {
            // Neither a trunk nor a registered phone: toll-fraud protection.
            return self.reply(from, &req, 403, "Forbidden");
        };
        let (trunk, entry_point) = match trunk_name {
            Some(name) => {
                let ep = self
                    .cfg
                    .trunks
                    .iter()
                    .find(|t| t.name == name)
                    .and_then(|t| t.dids.get(&callee).cloned());
                match ep {
                    Some(ep) => (Some(name), Some(ep)),
                    None => return self.reply(from, &req, 404, "Not Found"),
                }
            }
            None => (None, None),
        };
        // Our in-dialog requests go to the Contact (RFC 3261 §12.1.1): it
        // must be a SIP URI we can put in a Request-URI.
        let remote_target = req
            .headers
            .get("Contact")
            .or(req.headers.get("From"))
            .map(addr_uri)
            .unwrap_or("")
            .to_string();
        if !usable_sip_uri(&remote_target) {
            return self.reply(from, &req, 400, "Bad Contact");
        }
        let session = match session_timer::negotiate(
            self.cfg.session_expires,
            self.cfg.session_min_se,
            &req,
            now,
        ) {
            Ok(s) => s,
            Err(why) => return self.refuse_timer(from, &req, why),
        };
        // No body: a late offer (RFC 3261 §13.2.1, RFC 3264 §4); we make the
        // offer in our 200 and take the answer from the ACK.
        let late_offer = req.body.is_empty();
        let offer = if late_offer {
            None
        } else {
            match sdp::parse(&req.body) {
                Ok(o) => Some(o),
                Err(SdpError::Malformed(_)) => return self.reply(from, &req, 400, "Bad SDP"),
                Err(_) => return self.reply(from, &req, 488, "Not Acceptable Here"),
            }
        };
        let params = match &offer {
            Some(o) => {
                let Ok(codec) = sdp::choose_codec(o) else {
                    return self.reply(from, &req, 488, "Not Acceptable Here");
                };
                SendParams {
                    codec,
                    telephone_event: o.telephone_event,
                }
            }
            None => SendParams {
                codec: crate::codec::Codec::Pcmu,
                telephone_event: Some(sdp::TELEPHONE_EVENT_PT),
            },
        };
        let id = LegId(self.next_leg);
        self.next_leg += 1;
        let media = match MediaLeg::start_in(
            self.cfg.media_ip,
            self.cfg.rtp_ports.clone(),
            params,
            id,
            self.media_tx.clone(),
        ) {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!("cannot open RTP socket: {e}");
                return self.reply(from, &req, 503, "Service Unavailable");
            }
        };
        if self.cfg.rtcp_interval != crate::media::RTCP_INTERVAL {
            media.set_rtcp_interval(self.cfg.rtcp_interval);
        }
        if let Some(offer) = &offer {
            media.set_remote(offer.rtp, params);
            media.set_rtcp_remote(offer.rtcp);
            media.set_held(matches!(
                offer.direction,
                Direction::SendOnly | Direction::Inactive
            ));
        }
        let local_tag = self.token();
        let trying = Response::for_request(&req, 100, "Trying", None);
        self.send(from, trying.to_bytes());
        let ringing = Response::for_request(&req, 180, "Ringing", Some(&local_tag));
        let ringing = ringing.to_bytes();
        self.send(from, ringing.clone());
        let to = req.headers.get("To").unwrap_or("").to_string();
        let from_hdr = req.headers.get("From").unwrap_or("").to_string();
        let call_id = req.headers.get("Call-ID").unwrap_or("").to_string();
        self.by_call_id.insert(call_id.clone(), id);
        self.set_in_setup(id, true);
        self.legs.insert(
            id,
            Leg {
                inbound: true,
                state: LegState::Offered,
                confirmed: false,
                call_id,
                local_tag: local_tag.clone(),
                local_hdr: format!("{to};tag={local_tag}"),
                remote_hdr: from_hdr,
                remote_target,
                dest: from,
                cseq: 0,
                invite: Some(req),
                last_response: Some(ringing),
                media,
                params,
                peer: None,
                collect: None,
                recording: None,
                ring_deadline: None,
                final_deadline: None,
                cancel_cause: None,
                rang: true,
                sdp_version: 1,
                reinvite_reply: None,
                reinvite_deadline: None,
                refer_reply: None,
                answer_sdp: None,
                early: false,
                late_offer,
                session,
                reoffer: false,
            },
        );
        self.emit(CallEvent::Incoming {
            leg: id,
            caller,
            callee,
            trunk,
            entry_point,
            from_user,
        });
    }

    /// Our SDP for a leg with the given direction.
    pub(super) fn local_sdp(&mut self, id: LegId, direction: Direction, offer: bool) -> Vec<u8> {
        let Some(leg) = self.legs.get_mut(&id) else {
            return Vec::new();
        };
        leg.sdp_version += 1;
        let Ok(local) = leg.media.local_addr() else {
            return Vec::new();
        };
        let codecs = if offer {
            vec![leg.params.codec, other(leg.params.codec)]
        } else {
            vec![leg.params.codec]
        };
        let te = if offer {
            Some(
                leg.params
                    .telephone_event
                    .unwrap_or(sdp::TELEPHONE_EVENT_PT),
            )
        } else {
            leg.params.telephone_event
        };
        sdp::write(id.0, leg.sdp_version, local, &codecs, te, direction)
    }

    /// Our SDP answer to the leg's offer, made once: a 183 and the later 200
    /// carry the same one (RFC 3264 §5). On a late-offer leg it is our offer
    /// (all our codecs), which the 200 and its retransmissions repeat.
    fn answer_sdp(&mut self, id: LegId) -> Vec<u8> {
        let Some(leg) = self.legs.get(&id) else {
            return Vec::new();
        };
        if let Some(b) = leg.answer_sdp.clone() {
            return b;
        }
        let offer = leg.late_offer;
        let body = self.local_sdp(id, Direction::SendRecv, offer);
        if let Some(l) = self.legs.get_mut(&id) {
            l.answer_sdp = Some(body.clone());
        }
        body
    }

    /// Open early media on an offered inbound leg: 183 Session Progress with
    /// our SDP answer (once), so prompts play before the call is answered (and
    /// before it is charged). No-op on other legs, and on a late-offer leg:
    /// its offer may only go in a reliable response (RFC 3261 §13.2.1), and
    /// we do not do reliable provisionals (RFC 3262).
    pub(super) fn early_media(&mut self, id: LegId) {
        let Some(leg) = self.legs.get(&id) else {
            return;
        };
        if !leg.inbound || leg.state != LegState::Offered || leg.early || leg.late_offer {
            return;
        }
        let dest = leg.dest;
        let body = self.answer_sdp(id);
        let contact = self.contact(dest);
        let Some(leg) = self.legs.get_mut(&id) else {
            return;
        };
        let Some(invite) = leg.invite.as_ref() else {
            return;
        };
        let mut r = Response::for_request(invite, 183, "Session Progress", Some(&leg.local_tag));
        r.headers.push("Contact", contact);
        r.headers.push("Content-Type", "application/sdp");
        r.body = body;
        let bytes = r.to_bytes();
        leg.last_response = Some(bytes.clone());
        leg.early = true;
        self.send(dest, bytes);
    }

    /// Answer an inbound leg: 200 OK with our SDP, retransmitted until ACK.
    pub(super) fn answer(
        &mut self,
        now: Instant,
        id: LegId,
    ) -> Result<(), crate::control::VoiceError> {
        use crate::control::VoiceError;
        let leg = self.legs.get(&id).ok_or(VoiceError::UnknownLeg(id))?;
        if !leg.inbound || leg.state != LegState::Offered {
            return Err(VoiceError::InvalidState(
                "only an offered inbound leg can be answered",
            ));
        }
        let dest = leg.dest;
        let body = self.answer_sdp(id);
        let contact = self.contact(dest);
        let leg = self.legs.get_mut(&id).ok_or(VoiceError::UnknownLeg(id))?;
        let invite = leg
            .invite
            .as_ref()
            .ok_or(VoiceError::InvalidState("no INVITE"))?;
        let mut r = Response::for_request(invite, 200, "OK", Some(&leg.local_tag));
        r.headers.push("Contact", contact);
        r.headers.push("Allow", ALLOW);
        r.headers.push("Content-Type", "application/sdp");
        r.body = body;
        // The session interval runs from our 2xx (RFC 4028 §9).
        if let Some(t) = leg.session.as_mut() {
            t.last_refresh = now;
        }
        self.timer_response_headers(id, &mut r);
        let leg = self.legs.get_mut(&id).ok_or(VoiceError::UnknownLeg(id))?;
        let bytes = r.to_bytes();
        leg.last_response = Some(bytes.clone());
        leg.state = LegState::Answered;
        let key = RetransKey::Ok2xx(leg.call_id.clone());
        self.set_in_setup(id, false);
        self.send_reliably(now, dest, bytes, key, true);
        Ok(())
    }

    fn on_ack(&mut self, now: Instant, req: &Request) {
        let Some(id) = self.leg_of(req) else { return };
        let Some(leg) = self.legs.get_mut(&id) else {
            return;
        };
        if leg.inbound && leg.state == LegState::Answered && !leg.confirmed {
            leg.confirmed = true;
            let key = RetransKey::Ok2xx(leg.call_id.clone());
            let late = leg.late_offer;
            self.clear_retrans(&key);
            if late && !self.take_ack_answer(id, req) {
                // No usable answer to our offer: the dialog exists, so it
                // ends with BYE (RFC 3261 §13.2.1, RFC 3264 §6).
                return self.bye_and_end(now, id, HangupCause::Rejected(488));
            }
            self.emit(CallEvent::Answered { leg: id });
            self.dialog_saved(id);
        } else if leg.reoffer {
            leg.reoffer = false;
            let key = RetransKey::Ok2xx(leg.call_id.clone());
            self.clear_retrans(&key);
            if !self.take_ack_answer(id, req) {
                self.bye_and_end(now, id, HangupCause::Rejected(488));
            }
        }
    }

    /// A re-INVITE without SDP (RFC 3261 §14.2, e.g. a session refresh): our
    /// current session as the offer in a 200 retransmitted until the ACK,
    /// which must carry the answer.
    fn reoffer(&mut self, now: Instant, from: Dest, id: LegId, req: &Request) {
        let Some(leg) = self.legs.get_mut(&id) else {
            return;
        };
        let direction = if leg.media.is_on_hold() {
            Direction::SendOnly
        } else {
            Direction::SendRecv
        };
        leg.reoffer = true;
        let tag = leg.local_tag.clone();
        let key = RetransKey::Ok2xx(leg.call_id.clone());
        let body = self.local_sdp(id, direction, false);
        let mut r = Response::for_request(req, 200, "OK", Some(&tag));
        r.headers.push("Contact", self.contact(from));
        r.headers.push("Content-Type", "application/sdp");
        r.body = body;
        self.session_refreshed(now, id);
        self.timer_response_headers(id, &mut r);
        self.send_reliably(now, from, r.to_bytes(), key, true);
    }

    /// Apply the SDP answer carried by the ACK of a late-offer leg (or of a
    /// re-INVITE without SDP). False when
    /// it is missing, unreadable, or picks no codec of our offer.
    fn take_ack_answer(&mut self, id: LegId, req: &Request) -> bool {
        let Some(leg) = self.legs.get_mut(&id) else {
            return false;
        };
        let Ok(answer) = sdp::parse(&req.body) else {
            return false;
        };
        // The answer's codecs must come from our offer: PCMU and PCMA both are.
        let Ok(codec) = sdp::choose_codec(&answer) else {
            return false;
        };
        leg.params = SendParams {
            codec,
            telephone_event: answer.telephone_event,
        };
        leg.media.set_remote(answer.rtp, leg.params);
        leg.media.set_rtcp_remote(answer.rtcp);
        leg.media.set_held(matches!(
            answer.direction,
            Direction::SendOnly | Direction::Inactive
        ));
        true
    }

    fn on_cancel(&mut self, from: Dest, req: &Request) {
        let Some(id) = self.leg_of(req) else {
            return self.reply(from, req, 481, "Call/Transaction Does Not Exist");
        };
        self.reply(from, req, 200, "OK");
        let Some(leg) = self.legs.get_mut(&id) else {
            return;
        };
        if !(leg.inbound && leg.state == LegState::Offered) {
            return;
        }
        if let Some(inv) = &leg.invite {
            let r = Response::for_request(inv, 487, "Request Terminated", Some(&leg.local_tag));
            let bytes = r.to_bytes();
            leg.last_response = Some(bytes.clone());
            self.send(from, bytes);
        }
        self.end_leg(id, HangupCause::Cancelled);
    }

    /// A re-INVITE (or UPDATE, RFC 3311) from the far end: hold/unhold (RFC
    /// 3264 §8.4), answered with the mirrored direction and our codec, and a
    /// session refresh (RFC 4028 §10). An UPDATE without a body only
    /// refreshes.
    fn on_reinvite(&mut self, now: Instant, from: Dest, id: LegId, req: &Request) {
        let timer = match session_timer::negotiate(
            self.cfg.session_expires,
            self.cfg.session_min_se,
            req,
            now,
        ) {
            Ok(t) => t,
            Err(why) => return self.refuse_timer(from, req, why),
        };
        // A new Session-Expires renegotiates; a refresh without one keeps the
        // interval we had (and starts none on a leg that had none).
        if let Some(leg) = self.legs.get_mut(&id)
            && let Some(t) = timer
            && req.headers.get("Session-Expires").is_some()
        {
            leg.session = Some(t);
        }
        if req.body.is_empty() && req.method == Method::Invite {
            return self.reoffer(now, from, id, req);
        }
        if req.body.is_empty() {
            self.session_refreshed(now, id);
            let tag = self.legs.get(&id).map(|l| l.local_tag.clone());
            let mut r = Response::for_request(req, 200, "OK", tag.as_deref());
            r.headers.push("Contact", self.contact(from));
            self.timer_response_headers(id, &mut r);
            return self.send(from, r.to_bytes());
        }
        let offer = match sdp::parse(&req.body) {
            Ok(o) => o,
            Err(_) => return self.reply(from, req, 488, "Not Acceptable Here"),
        };
        let Some(leg) = self.legs.get_mut(&id) else {
            return;
        };
        if !offer
            .payload_types
            .contains(&leg.params.codec.payload_type())
        {
            return self.reply(from, req, 488, "Not Acceptable Here");
        }
        leg.media.set_remote(offer.rtp, leg.params);
        leg.media.set_rtcp_remote(offer.rtcp);
        leg.media.set_held(matches!(
            offer.direction,
            Direction::SendOnly | Direction::Inactive
        ));
        let tag = leg.local_tag.clone();
        let body = self.local_sdp(id, offer.direction.answer(), false);
        let mut r = Response::for_request(req, 200, "OK", Some(&tag));
        r.headers.push("Contact", self.contact(from));
        r.headers.push("Content-Type", "application/sdp");
        r.body = body;
        self.session_refreshed(now, id);
        self.timer_response_headers(id, &mut r);
        self.send(from, r.to_bytes());
    }
}

fn other(c: crate::codec::Codec) -> crate::codec::Codec {
    match c {
        crate::codec::Codec::Pcmu => crate::codec::Codec::Pcma,
        crate::codec::Codec::Pcma => crate::codec::Codec::Pcmu,
    }
}
