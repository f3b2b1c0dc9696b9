//! Minimal SDP (RFC 4566) offer/answer (RFC 3264) for one audio stream with
//! PCMU (PT 0), PCMA (PT 8) and telephone-event (RFC 4733).
//!
//! Only the lines we need are read: `c=`, `m=audio`, `a=rtpmap`, and the
//! direction attributes. Anything else is ignored.

use crate::codec::Codec;
use std::net::{IpAddr, SocketAddr};

/// Media direction attribute (RFC 3264 §6.1), used for hold/unhold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// `a=sendrecv` (default).
    SendRecv,
    /// `a=sendonly` (the sender puts the other side on hold).
    SendOnly,
    /// `a=recvonly`.
    RecvOnly,
    /// `a=inactive`.
    Inactive,
}

impl Direction {
    /// The mirrored direction for an answer (RFC 3264 §6.1).
    pub fn answer(self) -> Direction {
        match self {
            Direction::SendOnly => Direction::RecvOnly,
            Direction::RecvOnly => Direction::SendOnly,
            d => d,
        }
    }

    fn attr(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }
}

/// The audio part of a session description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudioSession {
    /// Where to send RTP (from `c=` and the `m=` port).
    pub rtp: SocketAddr,
    /// Payload types in order of preference.
    pub payload_types: Vec<u8>,
    /// Dynamic payload type of telephone-event/8000, if offered.
    pub telephone_event: Option<u8>,
    /// Direction.
    pub direction: Direction,
    /// Where to send RTCP when the SDP says (`a=rtcp:port [IN IP4 addr]`,
    /// RFC 3605); `None`: RTP port + 1 (RFC 3550 §11).
    pub rtcp: Option<SocketAddr>,
}

/// Why an offer cannot be answered; the stack replies 488 (RFC 3261 §21.4.26)
/// for every variant except [`SdpError::Malformed`], which gets 400.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SdpError {
    /// Not SDP we can read.
    #[error("malformed SDP: {0}")]
    Malformed(&'static str),
    /// No `m=audio` line with RTP/AVP and a non-zero port.
    #[error("no usable audio stream")]
    NoAudio,
    /// None of PCMU/PCMA offered.
    #[error("no common codec")]
    NoCommonCodec,
}

/// Parse the audio stream of an SDP body.
pub fn parse(body: &[u8]) -> Result<AudioSession, SdpError> {
    let text = std::str::from_utf8(body).map_err(|_| SdpError::Malformed("not UTF-8"))?;
    let mut session_ip: Option<IpAddr> = None;
    let mut media_ip: Option<IpAddr> = None;
    let mut in_audio = false;
    let mut seen_audio = false;
    let mut port = 0u16;
    let mut pts = Vec::new();
    let mut te = None;
    let mut direction = Direction::SendRecv;
    let mut rtcp: Option<(u16, Option<IpAddr>)> = None;
    if !text.trim_start().starts_with("v=") {
        return Err(SdpError::Malformed("no v= line"));
    }
    for line in text.lines() {
        let line = line.trim_end();
        if let Some(rest) = line.strip_prefix("m=") {
            in_audio = false;
            let f: Vec<&str> = rest.split_whitespace().collect();
            if !seen_audio && f.len() >= 4 && f[0] == "audio" && f[2] == "RTP/AVP" {
                port = f[1]
                    .split('/')
                    .next()
                    .and_then(|p| p.parse().ok())
                    .ok_or(SdpError::Malformed("bad m= port"))?;
                pts = f[3..].iter().filter_map(|p| p.parse().ok()).collect();
                in_audio = true;
                seen_audio = true;
            }
        } else if let Some(rest) = line.strip_prefix("c=") {
            let ip = rest
                .split_whitespace()
                .nth(2)
                .and_then(|a| a.split('/').next())
                .and_then(|a| a.parse().ok())
                .ok_or(SdpError::Malformed("bad c= line"))?;
            if in_audio {
                media_ip = Some(ip);
            } else if !seen_audio {
                session_ip = Some(ip);
            }
        } else if let Some(rest) = line.strip_prefix("a=") {
            if !in_audio && seen_audio {
                continue;
            }
            match rest {
                "sendrecv" => direction = Direction::SendRecv,
                "sendonly" => direction = Direction::SendOnly,
                "recvonly" => direction = Direction::RecvOnly,
                "inactive" => direction = Direction::Inactive,
                _ => {
                    if let Some(attr) = rest.strip_prefix("rtcp:") {
                        // RFC 3605 §2.1: port, then optionally nettype addrtype address.
                        let mut it = attr.split_whitespace();
                        let port = it.next().and_then(|p| p.parse::<u16>().ok());
                        let addr = it.nth(2).and_then(|a| a.parse::<IpAddr>().ok());
                        if let Some(p) = port.filter(|p| *p != 0) {
                            rtcp = Some((p, addr));
                        }
                    }
                    if let Some(map) = rest.strip_prefix("rtpmap:") {
                        let mut it = map.split_whitespace();
                        let pt = it.next().and_then(|p| p.parse::<u8>().ok());
                        let enc = it.next().unwrap_or("");
                        if let Some(pt) = pt
                            && enc.eq_ignore_ascii_case("telephone-event/8000")
                        {
                            te = Some(pt);
                        }
                    }
                }
            }
        }
    }
    if !seen_audio || port == 0 {
        return Err(SdpError::NoAudio);
    }
    let ip = media_ip
        .or(session_ip)
        .ok_or(SdpError::Malformed("no c= line"))?;
    Ok(AudioSession {
        rtp: SocketAddr::new(ip, port),
        payload_types: pts,
        telephone_event: te,
        direction,
        rtcp: rtcp.map(|(p, a)| SocketAddr::new(a.unwrap_or(ip), p)),
    })
}

/// The codec to use for an offer: the first of the offer's payload types we
/// support (RFC 3264 §6.1: the answerer should honour the offerer's order).
pub fn choose_codec(offer: &AudioSession) -> Result<Codec, SdpError> {
    offer
        .payload_types
        .iter()
        .find_map(|pt| Codec::from_payload_type(*pt))
        .ok_or(SdpError::NoCommonCodec)
}

/// Default dynamic payload type we use for telephone-event in offers.
pub const TELEPHONE_EVENT_PT: u8 = 101;

/// Write an SDP body for our side of a stream.
///
/// `codecs` lists our payload types in preference order (one codec in an
/// answer, all in an offer); `te` adds telephone-event 0-16 (RFC 4733 §7.1).
pub fn write(
    session_id: u64,
    version: u64,
    local: SocketAddr,
    codecs: &[Codec],
    te: Option<u8>,
    direction: Direction,
) -> Vec<u8> {
    let ip = local.ip();
    let fam = if ip.is_ipv4() { "IP4" } else { "IP6" };
    let mut pts: Vec<String> = codecs
        .iter()
        .map(|c| c.payload_type().to_string())
        .collect();
    if let Some(te) = te {
        pts.push(te.to_string());
    }
    let mut s = format!(
        "v=0\r\no=switchboard {session_id} {version} IN {fam} {ip}\r\ns=switchboard\r\n\
         c=IN {fam} {ip}\r\nt=0 0\r\nm=audio {} RTP/AVP {}\r\n",
        local.port(),
        pts.join(" ")
    );
    for c in codecs {
        s.push_str(&format!(
            "a=rtpmap:{} {}/8000\r\n",
            c.payload_type(),
            c.name()
        ));
    }
    if let Some(te) = te {
        s.push_str(&format!(
            "a=rtpmap:{te} telephone-event/8000\r\na=fmtp:{te} 0-16\r\n"
        ));
    }
    s.push_str(&format!("a=ptime:20\r\na={}\r\n", direction.attr()));
    s.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    const OFFER: &str = "v=0\r\no=user1 53655765 2353687637 IN IP4 127.0.0.1\r\ns=-\r\n\
        c=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 8 0 101\r\n\
        a=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-11,16\r\n\
        a=sendonly\r\nm=video 0 RTP/AVP 31\r\na=recvonly\r\n";

    #[test]
    fn parses_sipp_style_offer() {
        let s = parse(OFFER.as_bytes()).expect("parsed");
        assert_eq!(s.rtp, "127.0.0.1:6000".parse().expect("addr"));
        assert_eq!(s.payload_types, vec![8, 0, 101]);
        assert_eq!(s.telephone_event, Some(101));
        assert_eq!(s.direction, Direction::SendOnly);
        assert_eq!(choose_codec(&s), Ok(Codec::Pcma));
        assert_eq!(s.rtcp, None, "RTP port + 1 by default");
    }

    #[test]
    fn reads_the_rtcp_attribute() {
        let with_port = OFFER.replace("a=sendonly", "a=rtcp:6011");
        let s = parse(with_port.as_bytes()).expect("parsed");
        assert_eq!(s.rtcp, Some("127.0.0.1:6011".parse().expect("addr")));
        let with_addr = OFFER.replace("a=sendonly", "a=rtcp:53020 IN IP4 10.0.1.2");
        let s = parse(with_addr.as_bytes()).expect("parsed");
        assert_eq!(s.rtcp, Some("10.0.1.2:53020".parse().expect("addr")));
        let bad = OFFER.replace("a=sendonly", "a=rtcp:x");
        assert_eq!(parse(bad.as_bytes()).expect("parsed").rtcp, None);
    }

    #[test]
    fn refuses_what_we_cannot_do() {
        let g729 = OFFER.replace("RTP/AVP 8 0 101", "RTP/AVP 18");
        assert_eq!(
            parse(g729.as_bytes()).and_then(|s| choose_codec(&s)),
            Err(SdpError::NoCommonCodec)
        );
        let srtp = OFFER.replace("RTP/AVP 8 0 101", "RTP/SAVP 0");
        assert_eq!(parse(srtp.as_bytes()), Err(SdpError::NoAudio));
        assert!(matches!(parse(b"garbage"), Err(SdpError::Malformed(_))));
    }

    #[test]
    fn written_answer_parses_back() {
        let local: SocketAddr = "10.1.2.3:40000".parse().expect("addr");
        let body = write(1, 2, local, &[Codec::Pcmu], Some(101), Direction::RecvOnly);
        let s = parse(&body).expect("parsed");
        assert_eq!(s.rtp, local);
        assert_eq!(s.payload_types, vec![0, 101]);
        assert_eq!(s.direction, Direction::RecvOnly);
    }
}
