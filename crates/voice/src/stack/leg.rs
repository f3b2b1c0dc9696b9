//! One call leg: its SIP dialog state (RFC 3261 §12), its media handle, and the
//! engine-facing helpers hung on it (digit collector, recording).

use super::{Dest, Stack};
use crate::audio::Recorder;
use crate::control::{Collected, LegId, Reply};
use crate::media::{MediaLeg, SendParams};
use crate::sip::message::{Headers, Method, Request};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Where a leg is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LegState {
    /// Inbound INVITE received, 180 sent, not answered.
    Offered,
    /// Outbound INVITE sent, no provisional yet.
    Calling,
    /// Outbound INVITE got a provisional (ringing).
    Early,
    /// Outbound INVITE cancelled, waiting for its final response.
    Cancelling,
    /// 2xx sent (inbound) or received (outbound): dialog established.
    Answered,
}

/// A digit collection in progress.
#[derive(Debug)]
pub(crate) struct Collector {
    pub max: usize,
    pub terminator: Option<char>,
    pub deadline: Instant,
    pub digits: String,
    pub reply: Reply<Collected>,
}

/// A recording in progress on a leg (and its bridged peer).
#[derive(Debug, Clone)]
pub(crate) struct Recording {
    pub recorder: Arc<Mutex<Recorder>>,
    pub start: Instant,
    pub path: PathBuf,
}

/// One leg of the B2BUA.
#[derive(Debug)]
pub(crate) struct Leg {
    pub inbound: bool,
    pub state: LegState,
    /// ACK for our 2xx received (inbound) / ACK sent (outbound).
    pub confirmed: bool,
    pub call_id: String,
    pub local_tag: String,
    /// Our name-addr with tag: From of our in-dialog requests.
    pub local_hdr: String,
    /// Their name-addr (with tag once known): To of our in-dialog requests.
    pub remote_hdr: String,
    /// Their Contact URI: Request-URI of our in-dialog requests.
    pub remote_target: String,
    pub dest: Dest,
    pub cseq: u32,
    /// Inbound: their initial INVITE. Outbound: our latest INVITE.
    pub invite: Option<Request>,
    /// Inbound: our latest response to their INVITE (resent on retransmission).
    pub last_response: Option<Vec<u8>>,
    pub media: MediaLeg,
    pub params: SendParams,
    pub peer: Option<LegId>,
    pub collect: Option<Collector>,
    pub recording: Option<Recording>,
    pub ring_deadline: Option<Instant>,
    pub final_deadline: Option<Instant>,
    pub cancel_cause: Option<crate::control::HangupCause>,
    pub rang: bool,
    pub sdp_version: u64,
    /// Waiting for the answer to our hold/unhold re-INVITE.
    pub reinvite_reply: Option<Reply<()>>,
    /// When our pending hold/unhold re-INVITE times out with no final
    /// answer (Timer B, RFC 3261 §17.1.1.2).
    pub reinvite_deadline: Option<Instant>,
    /// Waiting for the answer to our REFER.
    pub refer_reply: Option<Reply<()>>,
    /// Inbound: our SDP answer, once made (183 and 200 repeat it).
    pub answer_sdp: Option<Vec<u8>>,
    /// Inbound: 183 with SDP sent (early media open).
    pub early: bool,
    /// Inbound late offer (RFC 3261 §13.2.1): the INVITE had no SDP, our 200
    /// carries the offer and the ACK must carry the answer.
    pub late_offer: bool,
    /// Session timer (RFC 4028) negotiated on the peer's INVITE, if any.
    pub session: Option<super::session_timer::SessionTimer>,
    /// Our 2xx to the peer's re-INVITE without SDP carried an offer: its ACK
    /// must carry the answer (RFC 3261 §14.2).
    pub reoffer: bool,
}

/// A confirmed dialog as it is kept across a restart, to end it with a BYE
/// (RFC 3261 §12.2.1.1 lists what an in-dialog request needs; §15.1.1:
/// BYE). Made by the stack ([`crate::CallEvent::DialogConfirmed`]), given
/// back in [`crate::VoiceConfig::restore_dialogs`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedDialog {
    /// Call-ID.
    pub call_id: String,
    /// Our From header value (name-addr with our tag).
    pub local: String,
    /// Our tag.
    pub local_tag: String,
    /// Their To header value (name-addr with their tag).
    pub remote: String,
    /// Their Contact URI: the Request-URI of the BYE.
    pub remote_target: String,
    /// Route set (Route header values, in order); empty: none. The stack
    /// does not take a route set from Record-Route today, so it saves none.
    pub route_set: Vec<String>,
    /// `"udp"` or `"tcp"` (a TCP dialog's BYE goes on the peer's
    /// connection if it came back, else over UDP to the same address: the
    /// stack opens no outbound TCP connection).
    pub transport: String,
    /// The peer's address.
    pub peer: std::net::SocketAddr,
    /// Our latest CSeq number in the dialog (the BYE uses the next one).
    pub local_cseq: u32,
    /// When it was saved, wall-clock ms since the Unix epoch.
    pub saved_at_ms: i64,
}

/// Random 64 bits from the std hasher keys (no extra dependency).
pub(crate) fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.finish()
}

impl Stack {
    /// Announce `id`'s dialog as it is now (confirmed; our CSeq), so that a
    /// restart can end it ([`crate::CallEvent::DialogConfirmed`]).
    pub(crate) fn dialog_saved(&mut self, id: LegId) {
        let at = self.wall_ms(self.now);
        let Some(leg) = self.legs.get(&id).filter(|l| l.confirmed) else {
            return;
        };
        let (transport, peer) = match leg.dest {
            Dest::Udp(a) => ("udp", a),
            Dest::Tcp(_, a) => ("tcp", a),
        };
        let d = SavedDialog {
            call_id: leg.call_id.clone(),
            local: leg.local_hdr.clone(),
            local_tag: leg.local_tag.clone(),
            remote: leg.remote_hdr.clone(),
            remote_target: leg.remote_target.clone(),
            route_set: Vec::new(),
            transport: transport.into(),
            peer,
            local_cseq: leg.cseq,
            saved_at_ms: at,
        };
        self.emit(crate::control::CallEvent::DialogConfirmed(d));
    }

    /// End each dialog of the previous run with a BYE (RFC 3261 §15.1.1):
    /// next CSeq, a new branch, Route headers from its route set. Over UDP
    /// it is retransmitted (Timer E/F); the answer or the timeout is logged.
    pub(crate) fn bye_restored(&mut self, now: Instant, saved: &[SavedDialog]) {
        for d in saved {
            let dest = match d.transport.as_str() {
                "tcp" => self.dest_for(d.peer),
                _ => Dest::Udp(d.peer),
            };
            let (via, branch) = self.via(dest);
            let mut h = Headers::default();
            h.push("Via", via);
            h.push("Max-Forwards", "70");
            for r in &d.route_set {
                h.push("Route", r.clone());
            }
            h.push("From", d.local.clone());
            h.push("To", d.remote.clone());
            h.push("Call-ID", d.call_id.clone());
            h.push(
                "CSeq",
                format!(
                    "{} {}",
                    d.local_cseq.saturating_add(1),
                    Method::Bye.as_str()
                ),
            );
            h.push("Reason", "SIP;cause=500;text=\"restarted\"");
            let req = Request {
                method: Method::Bye,
                uri: d.remote_target.clone(),
                headers: h,
                body: Vec::new(),
            };
            tracing::info!(call_id = %d.call_id, peer = %d.peer, "BYE to a dialog of the previous run");
            self.restored_byes.insert(branch.clone(), d.call_id.clone());
            self.send_reliably(
                now,
                dest,
                req.to_bytes(),
                super::RetransKey::Client(branch),
                false,
            );
        }
    }

    /// Our Via header value for a new client transaction.
    pub(crate) fn via(&mut self, dest: Dest) -> (String, String) {
        let branch = format!("z9hG4bK{}", self.token());
        let proto = match dest {
            Dest::Udp(_) => "UDP",
            Dest::Tcp(..) => "TCP",
        };
        (
            format!("SIP/2.0/{proto} {};branch={branch};rport", self.local),
            branch,
        )
    }

    /// Our Contact header value.
    pub(crate) fn contact(&self, dest: Dest) -> String {
        match dest {
            Dest::Udp(_) => format!("<sip:switchboard@{}>", self.local),
            Dest::Tcp(..) => format!("<sip:switchboard@{};transport=tcp>", self.local),
        }
    }

    /// Build an in-dialog request (BYE, re-INVITE) on `id` with a new CSeq.
    /// Returns the request and its Via branch; `None` if the leg is gone.
    pub(crate) fn in_dialog(&mut self, id: LegId, method: Method) -> Option<(Request, String)> {
        let dest = self.legs.get(&id)?.dest;
        let (via, branch) = self.via(dest);
        let contact = self.contact(dest);
        let leg = self.legs.get_mut(&id)?;
        leg.cseq += 1;
        let mut h = Headers::default();
        h.push("Via", via);
        h.push("Max-Forwards", "70");
        h.push("From", leg.local_hdr.clone());
        h.push("To", leg.remote_hdr.clone());
        h.push("Call-ID", leg.call_id.clone());
        h.push("CSeq", format!("{} {}", leg.cseq, method.as_str()));
        // Target-refresh requests carry our Contact (RFC 3261 §12.2, RFC 3311 §6.1).
        if method == Method::Invite || super::session_timer::is_update(&method) {
            h.push("Contact", contact);
        }
        let req = Request {
            method,
            uri: leg.remote_target.clone(),
            headers: h,
            body: Vec::new(),
        };
        if req.method != Method::Bye {
            // Our CSeq moved: a BYE after a restart must go above it.
            self.dialog_saved(id);
        }
        Some((req, branch))
    }
}
