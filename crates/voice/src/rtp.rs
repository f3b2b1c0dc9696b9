//! RTP packets (RFC 3550 §5.1) and RFC 4733 telephone-events: parsing,
//! building, and a DTMF detector that reports each digit once.

/// A parsed RTP packet (header fields we use plus the payload).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpPacket<'a> {
    /// Marker bit.
    pub marker: bool,
    /// Payload type (7 bits).
    pub payload_type: u8,
    /// Sequence number.
    pub seq: u16,
    /// Timestamp, in 8 kHz clock ticks for G.711.
    pub timestamp: u32,
    /// Synchronisation source.
    pub ssrc: u32,
    /// Payload after CSRCs and header extension, padding removed.
    pub payload: &'a [u8],
}

/// Parse an RTP packet; `None` for anything that is not RTP version 2 or is
/// truncated (never panics).
pub fn parse(data: &[u8]) -> Option<RtpPacket<'_>> {
    if data.len() < 12 || data[0] >> 6 != 2 {
        return None;
    }
    let cc = usize::from(data[0] & 0x0F);
    let mut off = 12 + 4 * cc;
    if data[0] & 0x10 != 0 {
        let ext = data.get(off + 2..off + 4)?;
        off += 4 + 4 * usize::from(u16::from_be_bytes([ext[0], ext[1]]));
    }
    let mut end = data.len();
    if data[0] & 0x20 != 0 {
        let pad = usize::from(*data.last()?);
        end = end.checked_sub(pad)?;
    }
    let payload = data.get(off..end)?;
    Some(RtpPacket {
        marker: data[1] & 0x80 != 0,
        payload_type: data[1] & 0x7F,
        seq: u16::from_be_bytes([data[2], data[3]]),
        timestamp: u32::from_be_bytes([data[4], data[5], data[6], data[7]]),
        ssrc: u32::from_be_bytes([data[8], data[9], data[10], data[11]]),
        payload,
    })
}

/// Build an RTP packet with no CSRC, extension or padding.
pub fn build(marker: bool, pt: u8, seq: u16, ts: u32, ssrc: u32, payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(12 + payload.len());
    v.push(0x80);
    v.push(if marker { 0x80 } else { 0 } | (pt & 0x7F));
    v.extend_from_slice(&seq.to_be_bytes());
    v.extend_from_slice(&ts.to_be_bytes());
    v.extend_from_slice(&ssrc.to_be_bytes());
    v.extend_from_slice(payload);
    v
}

/// Our outgoing stream state for one leg: SSRC, sequence and timestamp.
#[derive(Debug, Clone)]
pub struct RtpSender {
    ssrc: u32,
    seq: u16,
    ts: u32,
}

impl RtpSender {
    /// New stream with the given SSRC and initial counters.
    pub fn new(ssrc: u32, seq: u16, ts: u32) -> Self {
        RtpSender { ssrc, seq, ts }
    }

    /// Our SSRC.
    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }

    /// The RTP timestamp of the next packet.
    pub fn timestamp(&self) -> u32 {
        self.ts
    }

    /// One audio packet of `payload` covering `samples` ticks.
    pub fn audio(&mut self, pt: u8, payload: &[u8], samples: u32) -> Vec<u8> {
        self.audio_marked(false, pt, payload, samples)
    }

    /// Like [`RtpSender::audio`], with the marker bit (first packet of a
    /// talkspurt, RFC 3551 §4.1) when `marker`.
    pub fn audio_marked(&mut self, marker: bool, pt: u8, payload: &[u8], samples: u32) -> Vec<u8> {
        let p = build(marker, pt, self.seq, self.ts, self.ssrc, payload);
        self.seq = self.seq.wrapping_add(1);
        self.ts = self.ts.wrapping_add(samples);
        p
    }

    /// Advance the timestamp by `samples` without sending (time with
    /// nothing to send, RFC 3550 §5.1).
    pub fn skip(&mut self, samples: u32) {
        self.ts = self.ts.wrapping_add(samples);
    }

    /// The packets of one DTMF digit (RFC 4733 §2.5: same timestamp for the
    /// whole event, marker on the first, three end packets), `duration_ms` long.
    /// Returns `None` for a character that is not a DTMF digit.
    pub fn dtmf(&mut self, pt: u8, digit: char, duration_ms: u32) -> Option<Vec<Vec<u8>>> {
        let event = audio_codec::telephone_event::digit_to_event(digit)?;
        let seq = audio_codec::telephone_event::dtmf_sequence(event, duration_ms, 8000);
        let ts = self.ts;
        let out = seq
            .iter()
            .map(|p| {
                let pkt = build(p.marker, pt, self.seq, ts, self.ssrc, &p.payload);
                self.seq = self.seq.wrapping_add(1);
                pkt
            })
            .collect();
        self.ts = self.ts.wrapping_add(duration_ms * 8);
        Some(out)
    }
}

/// A detected DTMF digit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Digit {
    /// `0-9`, `*`, `#`, `A-D`.
    pub digit: char,
    /// Duration from the end packet, in ms.
    pub duration_ms: u32,
}

/// RFC 4733 receiver: reports a digit once when its first end packet arrives;
/// the retransmitted end packets (same RTP timestamp) are ignored. If an event
/// never ends (end packets lost) it is reported when the next one starts.
#[derive(Debug, Default, Clone)]
pub struct DtmfDetector {
    current: Option<(u32, u8, u16)>,
    last_done: Option<u32>,
}

impl DtmfDetector {
    /// New detector.
    pub fn new() -> Self {
        DtmfDetector::default()
    }

    /// Feed one telephone-event packet (timestamp and payload). Returns at most
    /// two digits (a lost-end digit, then the current one).
    pub fn handle_packet(&mut self, timestamp: u32, payload: &[u8]) -> Vec<Digit> {
        let mut out = Vec::new();
        let Some(ev) = audio_codec::telephone_event::parse_telephone_event(payload) else {
            return out;
        };
        if ev.event > 15 || self.last_done == Some(timestamp) {
            return out;
        }
        if let Some((ts, e, d)) = self.current
            && ts != timestamp
        {
            out.push(digit(e, d));
            self.last_done = Some(ts);
            self.current = None;
        }
        if ev.end {
            out.push(digit(ev.event, ev.duration));
            self.last_done = Some(timestamp);
            self.current = None;
        } else {
            self.current = Some((timestamp, ev.event, ev.duration));
        }
        out
    }
}

fn digit(event: u8, duration: u16) -> Digit {
    Digit {
        digit: audio_codec::telephone_event::event_to_digit(event),
        duration_ms: u32::from(duration) / 8,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_parse_round_trip() {
        let p = build(true, 8, 65535, 160, 0xdead_beef, &[1, 2, 3]);
        let r = parse(&p).expect("rtp");
        assert!(r.marker);
        assert_eq!(
            (r.payload_type, r.seq, r.timestamp, r.ssrc),
            (8, 65535, 160, 0xdead_beef)
        );
        assert_eq!(r.payload, &[1, 2, 3]);
        assert!(parse(&p[..11]).is_none());
        assert!(parse(&[0x3f; 20]).is_none());
    }

    #[test]
    fn generated_digits_are_detected_once_each() {
        let mut tx = RtpSender::new(1, 10, 1000);
        let mut det = DtmfDetector::new();
        let mut got = Vec::new();
        for d in ['1', '#', '1'] {
            for pkt in tx.dtmf(101, d, 100).expect("digit") {
                let r = parse(&pkt).expect("rtp");
                got.extend(det.handle_packet(r.timestamp, r.payload));
            }
        }
        let digits: String = got.iter().map(|d| d.digit).collect();
        assert_eq!(digits, "1#1");
        assert_eq!(got[0].duration_ms, 100);
        assert!(tx.dtmf(101, 'x', 100).is_none());
    }

    #[test]
    fn lost_end_packets_still_report() {
        let mut det = DtmfDetector::new();
        assert!(det.handle_packet(100, &[5, 0x0a, 0, 160]).is_empty());
        let got = det.handle_packet(900, &[7, 0x8a, 3, 32]);
        let digits: String = got.iter().map(|d| d.digit).collect();
        assert_eq!(digits, "57");
        assert!(det.handle_packet(900, &[7, 0x8a, 3, 32]).is_empty());
    }
}
