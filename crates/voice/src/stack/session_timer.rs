//! Session timers (RFC 4028) on the dialogs the far end opens: negotiation
//! of the interval and the refresher on INVITE (422 when too small), the
//! headers of our 2xx, our refreshes (UPDATE when the peer allows it, RFC
//! 3311, else re-INVITE) at half the interval, and BYE when the peer was to
//! refresh and did not (§10).
//!
//! In RFC 4028 the `refresher` parameter names a side of the transaction that
//! carries it: in a response to the peer's request `uac` is the peer; in our
//! own refresh request `uac` is us.

use super::Stack;
use super::leg::LegState;
use crate::control::{HangupCause, LegId};
use crate::sip::message::{Headers, Method, Request, Response, header_param};
use std::time::{Duration, Instant};

/// The session timer of one leg (RFC 4028 §7-10).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SessionTimer {
    /// Session interval agreed (Session-Expires).
    pub interval: Duration,
    /// We send the refreshes; otherwise the peer does.
    pub we_refresh: bool,
    /// When the session was last refreshed (our 2xx, or a 2xx to our refresh).
    pub last_refresh: Instant,
    /// Our refresh is in flight.
    pub refresh_sent: bool,
    /// The peer listed UPDATE in Allow (RFC 3311): refresh with it.
    pub peer_update: bool,
    /// The peer listed `timer` in Supported/Require: our 2xx says Require: timer.
    pub peer_supports: bool,
}

impl SessionTimer {
    /// When we send our refresh (half the interval, §7.4), if we are the refresher.
    fn refresh_at(&self) -> Option<Instant> {
        (self.we_refresh && !self.refresh_sent).then(|| self.last_refresh + self.interval / 2)
    }

    /// When the session expires for us: the interval less min(32 s, interval/3)
    /// (§10, the margin a refresher's transaction may take).
    fn expire_at(&self) -> Instant {
        let margin = (self.interval / 3).min(Duration::from_secs(32));
        self.last_refresh + self.interval - margin
    }

    /// Session-Expires value with the refresher named relative to a
    /// transaction the peer (`peer_is_uac`) or we started.
    fn header(&self, peer_is_uac: bool) -> String {
        let refresher = if self.we_refresh == peer_is_uac {
            "uas"
        } else {
            "uac"
        };
        format!("{};refresher={refresher}", self.interval.as_secs())
    }
}

/// Why a request's session timer cannot be accepted: the response to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TimerRefusal {
    /// 422 Session Interval Too Small, with our Min-SE (§6).
    TooSmall(Duration),
    /// 420 Bad Extension: `Require: timer` while we have timers off.
    Unsupported,
}

/// True if a comma-separated option-tag header (Supported, Require) of `h`
/// lists `tag`.
fn lists(h: &Headers, name: &str, tag: &str) -> bool {
    h.get_all(name)
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(tag))
}

/// Leading delta-seconds of a header value (`1800;refresher=uac` → 1800).
fn delta_seconds(v: &str) -> Option<u64> {
    v.split(';').next()?.trim().parse().ok()
}

/// True for an UPDATE request/CSeq method (RFC 3311).
pub(crate) fn is_update(m: &Method) -> bool {
    matches!(m, Method::Other(s) if s.eq_ignore_ascii_case("UPDATE"))
}

/// Negotiate the session timer of a request from the peer (initial INVITE,
/// re-INVITE or UPDATE) as the UAS (§9). `ours` is our configured interval
/// (`None`: timers off), `min_se` our minimum. `Ok(None)`: no timer.
pub(crate) fn negotiate(
    ours: Option<Duration>,
    min_se: Duration,
    req: &Request,
    now: Instant,
) -> Result<Option<SessionTimer>, TimerRefusal> {
    let h = &req.headers;
    let peer_supports = lists(h, "Supported", "timer") || lists(h, "Require", "timer");
    let Some(ours) = ours else {
        return match lists(h, "Require", "timer") {
            true => Err(TimerRefusal::Unsupported),
            false => Ok(None),
        };
    };
    let asked = h.get("Session-Expires");
    let asked_secs = asked.and_then(delta_seconds);
    if let Some(se) = asked_secs
        && se < min_se.as_secs()
    {
        return Err(TimerRefusal::TooSmall(min_se));
    }
    let floor = h
        .get("Min-SE")
        .and_then(delta_seconds)
        .unwrap_or(0)
        .max(min_se.as_secs());
    // The UAS may lower the interval, never below the Min-SE of either side.
    let interval = asked_secs
        .map_or(ours.as_secs(), |se| se.min(ours.as_secs()))
        .max(floor);
    let we_refresh = match asked.and_then(|v| header_param(v, "refresher")) {
        Some(r) if r.eq_ignore_ascii_case("uas") => true,
        Some(r) if r.eq_ignore_ascii_case("uac") => false,
        // Ours to choose: the peer if it knows timers, else we must (§9).
        _ => !peer_supports,
    };
    let peer_update = h
        .get_all("Allow")
        .flat_map(|v| v.split(','))
        .any(|m| m.trim().eq_ignore_ascii_case("UPDATE"));
    Ok(Some(SessionTimer {
        interval: Duration::from_secs(interval),
        we_refresh,
        last_refresh: now,
        refresh_sent: false,
        peer_update,
        peer_supports,
    }))
}

impl Stack {
    /// Reply 422 (with Min-SE) or 420 (with Unsupported) to a refused timer.
    pub(super) fn refuse_timer(&mut self, from: super::Dest, req: &Request, why: TimerRefusal) {
        let tag = self.token();
        let r = match why {
            TimerRefusal::TooSmall(min) => {
                let mut r =
                    Response::for_request(req, 422, "Session Interval Too Small", Some(&tag));
                r.headers.push("Min-SE", min.as_secs().to_string());
                r
            }
            TimerRefusal::Unsupported => {
                let mut r = Response::for_request(req, 420, "Bad Extension", Some(&tag));
                r.headers.push("Unsupported", "timer");
                r
            }
        };
        self.send(from, r.to_bytes());
    }

    /// Add the session-timer headers of leg `id` to our 2xx to the peer.
    pub(super) fn timer_response_headers(&self, id: LegId, r: &mut Response) {
        let Some(t) = self.legs.get(&id).and_then(|l| l.session.as_ref()) else {
            return;
        };
        r.headers.push("Session-Expires", t.header(true));
        r.headers.push("Supported", "timer");
        if t.peer_supports {
            r.headers.push("Require", "timer");
        }
    }

    /// Add the session-timer headers to a refresh (or hold) request of ours.
    pub(super) fn timer_request_headers(&self, id: LegId, req: &mut Request) {
        let Some(t) = self.legs.get(&id).and_then(|l| l.session.as_ref()) else {
            return;
        };
        req.headers.push("Session-Expires", t.header(false));
        req.headers
            .push("Min-SE", self.cfg.session_min_se.as_secs().to_string());
        req.headers.push("Supported", "timer");
    }

    /// A 2xx to a session refresh (ours or the peer's) renews the session.
    pub(super) fn session_refreshed(&mut self, now: Instant, id: LegId) {
        if let Some(t) = self.legs.get_mut(&id).and_then(|l| l.session.as_mut()) {
            t.last_refresh = now;
            t.refresh_sent = false;
        }
    }

    /// The final answer to our refresh (UPDATE or re-INVITE): 2xx renews the
    /// session; 408 or 481 ends it with BYE (§10); anything else leaves the
    /// expiry as it was.
    pub(super) fn on_refresh_answer(&mut self, now: Instant, id: LegId, status: u16) {
        match status {
            200..=299 => self.session_refreshed(now, id),
            408 | 481 => self.session_expired(now, id),
            _ => {}
        }
    }

    /// The session is over: BYE on the leg, and its bridged peer torn down too.
    fn session_expired(&mut self, now: Instant, id: LegId) {
        let peer = self.legs.get(&id).and_then(|l| l.peer);
        self.bye_and_end(now, id, HangupCause::Timeout);
        if let Some(p) = peer {
            self.hang_up_cascade(now, p);
        }
    }

    /// Send our refresh on `id`: UPDATE without a body when the peer allows
    /// it, else a re-INVITE with our current SDP.
    fn send_refresh(&mut self, now: Instant, id: LegId) {
        let Some(leg) = self.legs.get(&id) else {
            return;
        };
        let use_update = leg.session.as_ref().is_some_and(|t| t.peer_update);
        let direction = if leg.media.is_on_hold() {
            crate::sdp::Direction::SendOnly
        } else {
            crate::sdp::Direction::SendRecv
        };
        if let Some(t) = self.legs.get_mut(&id).and_then(|l| l.session.as_mut()) {
            t.refresh_sent = true;
        }
        if !use_update {
            return self.send_invite(now, id, direction);
        }
        let Some((mut req, branch)) = self.in_dialog(id, Method::Other("UPDATE".into())) else {
            return;
        };
        self.timer_request_headers(id, &mut req);
        let Some(dest) = self.legs.get(&id).map(|l| l.dest) else {
            return;
        };
        self.send_reliably(
            now,
            dest,
            req.to_bytes(),
            super::RetransKey::Client(branch),
            false,
        );
    }

    /// Refresh or expire sessions whose time has come.
    pub(super) fn session_timers(&mut self, now: Instant) {
        let mut refresh = Vec::new();
        let mut expired = Vec::new();
        for (id, leg) in &self.legs {
            let Some(t) = &leg.session else { continue };
            if leg.state != LegState::Answered || !leg.confirmed {
                continue;
            }
            if now >= t.expire_at() {
                expired.push(*id);
            } else if t.refresh_at().is_some_and(|at| now >= at) && leg.reinvite_reply.is_none() {
                refresh.push(*id);
            }
        }
        for id in refresh {
            self.send_refresh(now, id);
        }
        for id in expired {
            self.session_expired(now, id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::message::{Message, parse};

    fn req(extra: &str) -> Request {
        let text = format!(
            "INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:c@d>;tag=1\r\n\
             To: <sip:a@b>\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\n{extra}Content-Length: 0\r\n\r\n"
        );
        match parse(text.as_bytes()) {
            Ok(Message::Request(r)) => r,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn negotiation_follows_rfc_4028_section_9() {
        let t0 = Instant::now();
        let ours = Some(Duration::from_secs(1800));
        let min = Duration::from_secs(90);
        // Too small: 422 with our Min-SE.
        let r = req("Supported: timer\r\nSession-Expires: 60\r\n");
        assert_eq!(
            negotiate(ours, min, &r, t0),
            Err(TimerRefusal::TooSmall(min))
        );
        // The peer asks 600 s and refreshes itself.
        let r = req("Supported: timer\r\nSession-Expires: 600;refresher=uac\r\n");
        let t = negotiate(ours, min, &r, t0).expect("ok").expect("timer");
        assert_eq!(
            (t.interval.as_secs(), t.we_refresh, t.peer_supports),
            (600, false, true)
        );
        assert_eq!(t.header(true), "600;refresher=uac");
        // Compact form, a larger interval is lowered to ours, their Min-SE respected.
        let r = req("k: timer\r\nx: 7200\r\nMin-SE: 120\r\n");
        let t = negotiate(Some(Duration::from_secs(100)), min, &r, t0)
            .expect("ok")
            .expect("timer");
        assert_eq!((t.interval.as_secs(), t.we_refresh), (120, false));
        // No timer support at the peer: we refresh, with UPDATE if allowed.
        let r = req("Allow: INVITE, ACK, BYE, UPDATE\r\n");
        let t = negotiate(ours, min, &r, t0).expect("ok").expect("timer");
        assert_eq!(
            (t.interval.as_secs(), t.we_refresh, t.peer_update),
            (1800, true, true)
        );
        assert_eq!(t.header(true), "1800;refresher=uas");
        assert_eq!(t.header(false), "1800;refresher=uac", "in our own refresh");
        assert_eq!(t.refresh_at(), Some(t0 + Duration::from_secs(900)));
        assert_eq!(t.expire_at(), t0 + Duration::from_secs(1800 - 32));
        // Timers off: ignored unless required.
        assert_eq!(
            negotiate(None, min, &req("Session-Expires: 600\r\n"), t0),
            Ok(None)
        );
        assert_eq!(
            negotiate(None, min, &req("Require: timer\r\n"), t0),
            Err(TimerRefusal::Unsupported)
        );
    }
}
