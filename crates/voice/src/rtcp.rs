//! RTCP (RFC 3550 §6): sender and receiver reports, SDES CNAME and BYE, built
//! and parsed as compound packets, plus the round-trip time a report block
//! gives (§6.4.1). Sans-I/O: NTP times are passed in.
//!
//! Parsing never panics: anything that is not a well-formed compound packet
//! (wrong version, a length running past the datagram, a count that does not
//! fit) is an [`RtcpError`]; unknown packet types inside a valid compound are
//! kept as [`RtcpPacket::Other`].

/// Packet type of a sender report (RFC 3550 §12.1).
pub const PT_SR: u8 = 200;
/// Packet type of a receiver report.
pub const PT_RR: u8 = 201;
/// Packet type of source description items.
pub const PT_SDES: u8 = 202;
/// Packet type of a goodbye.
pub const PT_BYE: u8 = 203;
/// SDES item type of the canonical name (§6.5.1).
pub const SDES_CNAME: u8 = 1;

/// One reception report block (RFC 3550 §6.4.1): what a receiver says about one
/// source it hears.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReportBlock {
    /// SSRC of the source this block is about.
    pub ssrc: u32,
    /// Packets lost since the previous report, as a fixed-point fraction of
    /// the packets expected (lost·256 / expected; 0 when none or duplicates).
    pub fraction_lost: u8,
    /// Cumulative packets lost since the start of reception (24-bit signed,
    /// clamped to −2²³..2²³−1).
    pub cumulative_lost: i32,
    /// Extended highest sequence number received (cycles · 2¹⁶ + highest seq).
    pub highest_seq: u32,
    /// Interarrival jitter in RTP timestamp units (§6.4.1, §A.8).
    pub jitter: u32,
    /// Last SR timestamp: the middle 32 bits of the NTP time of the last SR
    /// received from the source (0 if none yet).
    pub lsr: u32,
    /// Delay since that SR, in units of 1/65536 s (0 if none yet).
    pub dlsr: u32,
}

/// Sender information of an SR (RFC 3550 §6.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SenderInfo {
    /// 64-bit NTP timestamp (seconds since 1900 in the upper 32 bits,
    /// fraction in the lower 32) of the moment the report was sent.
    pub ntp: u64,
    /// The same instant in the RTP clock of the stream.
    pub rtp_ts: u32,
    /// RTP packets sent since the stream started.
    pub packet_count: u32,
    /// Payload octets sent since the stream started.
    pub octet_count: u32,
}

/// One packet of a compound RTCP datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RtcpPacket {
    /// A sender report (PT 200).
    SenderReport {
        /// SSRC of the sender.
        ssrc: u32,
        /// What it sent.
        info: SenderInfo,
        /// What it received.
        reports: Vec<ReportBlock>,
    },
    /// A receiver report (PT 201).
    ReceiverReport {
        /// SSRC of the reporter.
        ssrc: u32,
        /// What it received.
        reports: Vec<ReportBlock>,
    },
    /// Source description (PT 202): per SSRC, its items.
    SourceDescription(Vec<SdesChunk>),
    /// Goodbye (PT 203): the sources leaving.
    Bye(Vec<u32>),
    /// Any other packet type (APP, XR, feedback...), skipped.
    Other(u8),
}

/// One SDES item: its type (e.g. [`SDES_CNAME`]) and value octets.
pub type SdesItem = (u8, Vec<u8>);
/// One SDES chunk: the SSRC it describes and its items.
pub type SdesChunk = (u32, Vec<SdesItem>);

/// Why a datagram is not a valid RTCP compound packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RtcpError {
    /// Shorter than a header, or a length field runs past the end.
    #[error("truncated RTCP packet")]
    Truncated,
    /// Version is not 2.
    #[error("not RTCP version 2")]
    BadVersion,
    /// A report count or SDES chunk does not fit in the packet length.
    #[error("malformed RTCP packet")]
    Malformed,
}

/// True if a datagram received on an RTP port is RTCP multiplexed on it
/// (RFC 5761 §4: second byte 192..=223 is an RTCP packet type range).
pub fn is_rtcp(data: &[u8]) -> bool {
    data.len() >= 8 && data[0] >> 6 == 2 && (192..=223).contains(&data[1])
}

fn u32_at(d: &[u8], off: usize) -> Option<u32> {
    let b = d.get(off..off + 4)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

fn parse_blocks(body: &[u8], count: usize) -> Result<Vec<ReportBlock>, RtcpError> {
    let mut out = Vec::with_capacity(count);
    for k in 0..count {
        let b = body.get(k * 24..k * 24 + 24).ok_or(RtcpError::Malformed)?;
        let word = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        // Sign-extend the 24-bit cumulative loss.
        let raw = word(4) & 0x00FF_FFFF;
        let cumulative_lost = ((raw << 8) as i32) >> 8;
        out.push(ReportBlock {
            ssrc: word(0),
            fraction_lost: b[4],
            cumulative_lost,
            highest_seq: word(8),
            jitter: word(12),
            lsr: word(16),
            dlsr: word(20),
        });
    }
    Ok(out)
}

fn parse_sdes(body: &[u8], count: usize) -> Result<Vec<SdesChunk>, RtcpError> {
    let mut chunks = Vec::with_capacity(count.min(31));
    let mut off = 0;
    for _ in 0..count {
        let ssrc = u32_at(body, off).ok_or(RtcpError::Malformed)?;
        off += 4;
        let mut items = Vec::new();
        loop {
            let kind = *body.get(off).ok_or(RtcpError::Malformed)?;
            if kind == 0 {
                // End of list, then pad to the next 32-bit boundary (§6.5).
                off = (off + 4) & !3;
                break;
            }
            let len = usize::from(*body.get(off + 1).ok_or(RtcpError::Malformed)?);
            let value = body
                .get(off + 2..off + 2 + len)
                .ok_or(RtcpError::Malformed)?;
            items.push((kind, value.to_vec()));
            off += 2 + len;
        }
        chunks.push((ssrc, items));
    }
    Ok(chunks)
}

/// Parse a compound RTCP datagram into its packets (RFC 3550 §6.1, checks of
/// §A.2 except that the first packet need not be SR/RR: we are lenient on
/// what we receive). Errors: see [`RtcpError`]; never panics.
pub fn parse(data: &[u8]) -> Result<Vec<RtcpPacket>, RtcpError> {
    let mut out = Vec::new();
    let mut rest = data;
    if rest.len() < 4 {
        return Err(RtcpError::Truncated);
    }
    while !rest.is_empty() {
        if rest.len() < 4 {
            return Err(RtcpError::Truncated);
        }
        if rest[0] >> 6 != 2 {
            return Err(RtcpError::BadVersion);
        }
        let count = usize::from(rest[0] & 0x1F);
        let pt = rest[1];
        let len = 4 * (usize::from(u16::from_be_bytes([rest[2], rest[3]])) + 1);
        let pkt = rest.get(..len).ok_or(RtcpError::Truncated)?;
        rest = &rest[len..];
        let mut body = &pkt[4..];
        if pkt[0] & 0x20 != 0 {
            // Padding: the last octet counts the padding octets (§6.4.1).
            let pad = usize::from(*pkt.last().ok_or(RtcpError::Truncated)?);
            let keep = body.len().checked_sub(pad).ok_or(RtcpError::Malformed)?;
            body = &body[..keep];
        }
        let p = match pt {
            PT_SR => {
                let ssrc = u32_at(body, 0).ok_or(RtcpError::Malformed)?;
                let hi = u32_at(body, 4).ok_or(RtcpError::Malformed)?;
                let lo = u32_at(body, 8).ok_or(RtcpError::Malformed)?;
                let info = SenderInfo {
                    ntp: (u64::from(hi) << 32) | u64::from(lo),
                    rtp_ts: u32_at(body, 12).ok_or(RtcpError::Malformed)?,
                    packet_count: u32_at(body, 16).ok_or(RtcpError::Malformed)?,
                    octet_count: u32_at(body, 20).ok_or(RtcpError::Malformed)?,
                };
                let reports = parse_blocks(&body[24..], count)?;
                RtcpPacket::SenderReport {
                    ssrc,
                    info,
                    reports,
                }
            }
            PT_RR => {
                let ssrc = u32_at(body, 0).ok_or(RtcpError::Malformed)?;
                let reports = parse_blocks(&body[4..], count)?;
                RtcpPacket::ReceiverReport { ssrc, reports }
            }
            PT_SDES => RtcpPacket::SourceDescription(parse_sdes(body, count)?),
            PT_BYE => {
                let ssrcs = (0..count)
                    .map(|k| u32_at(body, 4 * k).ok_or(RtcpError::Malformed))
                    .collect::<Result<_, _>>()?;
                RtcpPacket::Bye(ssrcs)
            }
            other => RtcpPacket::Other(other),
        };
        out.push(p);
    }
    Ok(out)
}

fn header(out: &mut Vec<u8>, count: usize, pt: u8, body_len: usize) {
    out.push(0x80 | (count.min(31) as u8));
    out.push(pt);
    out.extend_from_slice(&((body_len / 4) as u16).to_be_bytes());
}

fn push_blocks(out: &mut Vec<u8>, reports: &[ReportBlock]) {
    for b in reports.iter().take(31) {
        out.extend_from_slice(&b.ssrc.to_be_bytes());
        let lost = (b.cumulative_lost.clamp(-0x80_0000, 0x7F_FFFF) as u32) & 0x00FF_FFFF;
        out.extend_from_slice(&((u32::from(b.fraction_lost) << 24) | lost).to_be_bytes());
        out.extend_from_slice(&b.highest_seq.to_be_bytes());
        out.extend_from_slice(&b.jitter.to_be_bytes());
        out.extend_from_slice(&b.lsr.to_be_bytes());
        out.extend_from_slice(&b.dlsr.to_be_bytes());
    }
}

/// Build one report packet: an SR when `info` is given (we sent RTP since the
/// last report, §6.4), else an RR. At most 31 blocks are written.
pub fn build_report(ssrc: u32, info: Option<SenderInfo>, reports: &[ReportBlock]) -> Vec<u8> {
    let n = reports.len().min(31);
    let mut out = Vec::with_capacity(8 + 20 + 24 * n);
    match info {
        Some(i) => {
            header(&mut out, n, PT_SR, 24 + 24 * n);
            out.extend_from_slice(&ssrc.to_be_bytes());
            out.extend_from_slice(&i.ntp.to_be_bytes());
            out.extend_from_slice(&i.rtp_ts.to_be_bytes());
            out.extend_from_slice(&i.packet_count.to_be_bytes());
            out.extend_from_slice(&i.octet_count.to_be_bytes());
        }
        None => {
            header(&mut out, n, PT_RR, 4 + 24 * n);
            out.extend_from_slice(&ssrc.to_be_bytes());
        }
    }
    push_blocks(&mut out, &reports[..n]);
    out
}

/// Build an SDES packet with one chunk holding the CNAME (§6.5.1), truncated
/// to 255 octets, null-terminated and padded to 32 bits.
pub fn build_sdes_cname(ssrc: u32, cname: &str) -> Vec<u8> {
    let name = &cname.as_bytes()[..cname.len().min(255)];
    let mut chunk = Vec::with_capacity(8 + name.len());
    chunk.extend_from_slice(&ssrc.to_be_bytes());
    chunk.push(SDES_CNAME);
    chunk.push(name.len() as u8);
    chunk.extend_from_slice(name);
    // At least one null octet ends the item list, then pad to a word.
    chunk.push(0);
    while chunk.len() % 4 != 0 {
        chunk.push(0);
    }
    let mut out = Vec::with_capacity(4 + chunk.len());
    header(&mut out, 1, PT_SDES, chunk.len());
    out.extend_from_slice(&chunk);
    out
}

/// Build a BYE packet for one source (§6.6), no reason.
pub fn build_bye(ssrc: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(8);
    header(&mut out, 1, PT_BYE, 4);
    out.extend_from_slice(&ssrc.to_be_bytes());
    out
}

/// A compound packet as §6.1 requires: a report (SR or RR) first, then SDES
/// with CNAME, then BYE when `bye`.
pub fn build_compound(
    ssrc: u32,
    info: Option<SenderInfo>,
    reports: &[ReportBlock],
    cname: &str,
    bye: bool,
) -> Vec<u8> {
    let mut out = build_report(ssrc, info, reports);
    out.extend(build_sdes_cname(ssrc, cname));
    if bye {
        out.extend(build_bye(ssrc));
    }
    out
}

/// The middle 32 bits of a 64-bit NTP timestamp (the LSR form, §6.4.1).
pub fn ntp_middle(ntp: u64) -> u32 {
    (ntp >> 16) as u32
}

/// NTP timestamp of `since_unix` (time since 1970-01-01, UTC).
pub fn ntp_from_unix(since_unix: std::time::Duration) -> u64 {
    const UNIX_TO_NTP: u64 = 2_208_988_800;
    let secs = since_unix.as_secs().wrapping_add(UNIX_TO_NTP);
    let frac = (u64::from(since_unix.subsec_nanos()) << 32) / 1_000_000_000;
    (secs << 32) | frac
}

/// Round-trip time, in ms, from a report block the peer sent about our stream
/// (RFC 3550 §6.4.1: A − LSR − DLSR), `now_ntp` being when we received it.
/// `None` when the block carries no LSR or the result is negative (clocks
/// or a bogus block).
pub fn round_trip_ms(block: &ReportBlock, now_ntp: u64) -> Option<f64> {
    if block.lsr == 0 {
        return None;
    }
    let a = ntp_middle(now_ntp);
    let rtt = a.wrapping_sub(block.lsr).wrapping_sub(block.dlsr);
    // A "negative" round trip wraps to a huge value: reject above ~9 h.
    if rtt > 0x8000_0000 {
        return None;
    }
    Some(f64::from(rtt) * 1000.0 / 65536.0)
}

/// RTCP state of one leg (sans-I/O): what it needs to fill LSR/DLSR in its
/// reports and to turn the peer's report blocks into a round-trip time.
///
/// The caller feeds received compound packets with [`RtcpSession::handle_packet`]
/// and asks for a report every interval (about 5 s, RFC 3550 §6.2) with
/// [`RtcpSession::report`]; all times are NTP timestamps of its own clock.
#[derive(Debug, Clone)]
pub struct RtcpSession {
    ssrc: u32,
    cname: String,
    /// Middle 32 bits of the last SR received and our NTP time at its arrival.
    last_sr: Option<(u32, u64)>,
    /// Middle 32 bits of our last SRs, to recognise report blocks about them.
    sent_srs: [u32; 4],
    next_sr_slot: usize,
    /// The latest round-trip time measured, ms.
    rtt_ms: Option<f64>,
}

impl RtcpSession {
    /// A session for our source `ssrc` with the given CNAME (§6.5.1).
    pub fn new(ssrc: u32, cname: impl Into<String>) -> Self {
        RtcpSession {
            ssrc,
            cname: cname.into(),
            last_sr: None,
            sent_srs: [0; 4],
            next_sr_slot: 0,
            rtt_ms: None,
        }
    }

    /// Our SSRC.
    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }

    /// The latest round-trip time (ms), if a report about our SR came back.
    pub fn rtt_ms(&self) -> Option<f64> {
        self.rtt_ms
    }

    /// Take in one received datagram at `now_ntp`. Returns the round-trip time
    /// (ms) when a report block in it answers one of our recent SRs. Errors:
    /// the datagram is not valid RTCP (nothing is changed).
    pub fn handle_packet(&mut self, now_ntp: u64, data: &[u8]) -> Result<Option<f64>, RtcpError> {
        let mut rtt = None;
        for p in parse(data)? {
            let reports = match &p {
                RtcpPacket::SenderReport { info, reports, .. } => {
                    self.last_sr = Some((ntp_middle(info.ntp), now_ntp));
                    reports
                }
                RtcpPacket::ReceiverReport { reports, .. } => reports,
                _ => continue,
            };
            for b in reports {
                if b.lsr != 0
                    && self.sent_srs.contains(&b.lsr)
                    && let Some(r) = round_trip_ms(b, now_ntp)
                {
                    rtt = Some(r);
                }
            }
        }
        if rtt.is_some() {
            self.rtt_ms = rtt;
        }
        Ok(rtt)
    }

    /// The compound report to send at `now_ntp` (§6.1): an SR when `sent` is
    /// given (we sent RTP since the last report; its `ntp` is set here), else
    /// an RR; one report block about `source` when we receive one (from
    /// `stats`, which starts a new interval); SDES CNAME; BYE when `bye`.
    pub fn report(
        &mut self,
        now_ntp: u64,
        stats: &mut crate::quality::ReceiveStats,
        source: Option<u32>,
        sent: Option<SenderInfo>,
        bye: bool,
    ) -> Vec<u8> {
        let (lsr, dlsr) = match self.last_sr {
            Some((mid, at)) => (mid, (now_ntp.saturating_sub(at) >> 16) as u32),
            None => (0, 0),
        };
        let blocks: Vec<ReportBlock> = source
            .filter(|_| stats.has_received())
            .map(|src| stats.report_block(src, lsr, dlsr))
            .into_iter()
            .collect();
        let info = sent.map(|i| SenderInfo { ntp: now_ntp, ..i });
        if info.is_some() {
            self.sent_srs[self.next_sr_slot] = ntp_middle(now_ntp);
            self.next_sr_slot = (self.next_sr_slot + 1) % self.sent_srs.len();
        }
        build_compound(self.ssrc, info, &blocks, &self.cname, bye)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A compound RR + SDES as a softphone sends it: reporter 0x01020304 about
    /// source 0xdeadbeef, fraction 0x40 (25 %), cumulative loss 3, highest seq
    /// 0x0001_0010, jitter 80, LSR 0x1234_5678, DLSR 0x0001_0000 (1 s), CNAME "ab".
    const RR_SDES: [u8; 48] = [
        0x81, 201, 0x00, 0x07, 0x01, 0x02, 0x03, 0x04, // RR header, SSRC
        0xde, 0xad, 0xbe, 0xef, 0x40, 0x00, 0x00, 0x03, // block: SSRC, fraction, cum
        0x00, 0x01, 0x00, 0x10, 0x00, 0x00, 0x00, 0x50, // highest seq, jitter
        0x12, 0x34, 0x56, 0x78, 0x00, 0x01, 0x00, 0x00, // LSR, DLSR
        0x81, 202, 0x00, 0x03, 0x01, 0x02, 0x03, 0x04, // SDES header, chunk SSRC
        0x01, 0x02, b'a', b'b', 0x00, 0x00, 0x00, 0x00, // CNAME "ab", end, padding
    ];

    #[test]
    fn parses_a_known_rr_sdes_fixture() {
        let pkts = parse(&RR_SDES).expect("valid compound");
        assert_eq!(
            pkts[0],
            RtcpPacket::ReceiverReport {
                ssrc: 0x0102_0304,
                reports: vec![ReportBlock {
                    ssrc: 0xdead_beef,
                    fraction_lost: 0x40,
                    cumulative_lost: 3,
                    highest_seq: 0x0001_0010,
                    jitter: 80,
                    lsr: 0x1234_5678,
                    dlsr: 0x0001_0000,
                }],
            }
        );
        assert_eq!(
            pkts[1],
            RtcpPacket::SourceDescription(vec![(0x0102_0304, vec![(SDES_CNAME, b"ab".to_vec())])])
        );
        // An SDES length of 2 words cuts the chunk before its end of items.
        let mut short = RR_SDES[..44].to_vec();
        short[35] = 0x02;
        assert_eq!(parse(&short), Err(RtcpError::Malformed));
    }

    #[test]
    fn builds_the_exact_bytes_of_rr_and_sdes() {
        let block = ReportBlock {
            ssrc: 0xdead_beef,
            fraction_lost: 0x40,
            cumulative_lost: 3,
            highest_seq: 0x0001_0010,
            jitter: 80,
            lsr: 0x1234_5678,
            dlsr: 0x0001_0000,
        };
        let out = build_compound(0x0102_0304, None, &[block], "ab", false);
        assert_eq!(out, RR_SDES.to_vec());
    }

    #[test]
    fn sr_with_negative_loss_and_bye_round_trip() {
        let info = SenderInfo {
            ntp: 0xe000_0001_8000_0000,
            rtp_ts: 16_000,
            packet_count: 100,
            octet_count: 16_000,
        };
        let block = ReportBlock {
            ssrc: 9,
            cumulative_lost: -2,
            ..ReportBlock::default()
        };
        let out = build_compound(7, Some(info), &[block], "switchboard@host", true);
        assert_eq!(&out[..4], &[0x81, 200, 0x00, 0x0c], "SR, 1 block, 13 words");
        assert_eq!(
            &out[32..36],
            &[0x00, 0xff, 0xff, 0xfe],
            "cum loss −2 → 0xfffffe"
        );
        let pkts = parse(&out).expect("round trip");
        assert_eq!(pkts.len(), 3);
        assert_eq!(
            pkts[0],
            RtcpPacket::SenderReport {
                ssrc: 7,
                info,
                reports: vec![block]
            }
        );
        assert_eq!(pkts[2], RtcpPacket::Bye(vec![7]));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert_eq!(parse(&[]), Err(RtcpError::Truncated));
        assert_eq!(
            parse(&[0x40, 201, 0, 1, 0, 0, 0, 0]),
            Err(RtcpError::BadVersion)
        );
        assert_eq!(
            parse(&[0x80, 201, 0, 9, 0, 0, 0, 0]),
            Err(RtcpError::Truncated)
        );
        // Claims 2 report blocks in a 2-word packet.
        assert_eq!(
            parse(&[0x82, 201, 0, 1, 0, 0, 0, 1]),
            Err(RtcpError::Malformed)
        );
        // Padding larger than the packet.
        assert_eq!(
            parse(&[0xa0, 201, 0, 1, 0, 0, 0, 200]),
            Err(RtcpError::Malformed)
        );
        // Unknown packet type inside a valid compound is kept and skipped.
        let app = [0x80, 204, 0, 1, 1, 2, 3, 4];
        assert_eq!(parse(&app), Ok(vec![RtcpPacket::Other(204)]));
        assert!(is_rtcp(&app));
        assert!(!is_rtcp(&[0x80, 0, 0, 1, 0, 0, 0, 0]), "PCMU RTP");
    }

    #[test]
    fn round_trip_time_follows_lsr_and_dlsr() {
        // We sent an SR at NTP 0x0000_1000_0000_0000 (middle 0x1000_0000).
        let sr_ntp: u64 = 0x0000_1000_0000_0000;
        let block = ReportBlock {
            lsr: ntp_middle(sr_ntp),
            dlsr: 0x8000, // the peer held it 0.5 s
            ..ReportBlock::default()
        };
        // It comes back 0.6 s after we sent the SR: RTT 100 ms.
        let back = sr_ntp + ((6u64 << 32) / 10);
        let rtt = round_trip_ms(&block, back).expect("rtt");
        assert!((rtt - 100.0).abs() < 0.1, "{rtt}");
        assert_eq!(round_trip_ms(&ReportBlock::default(), back), None);
        // DLSR longer than the elapsed time: negative, rejected.
        let early = ReportBlock {
            dlsr: 0x0001_0000,
            ..block
        };
        assert_eq!(round_trip_ms(&early, back), None);
        assert_eq!(
            ntp_from_unix(std::time::Duration::from_millis(1500)),
            (2_208_988_801u64 << 32) | 0x8000_0000
        );
    }

    #[test]
    fn a_session_fills_lsr_dlsr_and_measures_rtt_from_the_answer() {
        use crate::quality::ReceiveStats;
        let sec = 1u64 << 32;
        let mut us = RtcpSession::new(0xaaaa, "us@host");
        let mut stats = ReceiveStats::new();
        for seq in [1u16, 2, 4] {
            stats.handle_packet(seq, u32::from(seq) * 160, u64::from(seq) * 160);
        }
        // The peer's SR arrives at our t = 10 s.
        let peer_sr = build_compound(
            0xbbbb,
            Some(SenderInfo {
                ntp: 77 * sec,
                ..SenderInfo::default()
            }),
            &[],
            "p",
            false,
        );
        assert_eq!(us.handle_packet(10 * sec, &peer_sr), Ok(None));
        // We report at t = 12 s, as a sender: SR with LSR = its NTP middle, DLSR 2 s.
        let sent = SenderInfo {
            packet_count: 3,
            ..SenderInfo::default()
        };
        let ours = us.report(12 * sec, &mut stats, Some(0xbbbb), Some(sent), false);
        let pkts = parse(&ours).expect("our compound parses");
        let RtcpPacket::SenderReport {
            ssrc,
            info,
            reports,
        } = &pkts[0]
        else {
            panic!("SR first: {pkts:?}")
        };
        assert_eq!((*ssrc, info.ntp, info.packet_count), (0xaaaa, 12 * sec, 3));
        assert_eq!(reports[0].ssrc, 0xbbbb);
        assert_eq!(reports[0].cumulative_lost, 1);
        assert_eq!(reports[0].highest_seq, 4);
        assert_eq!(reports[0].lsr, ntp_middle(77 * sec));
        assert_eq!(reports[0].dlsr, 2 << 16);
        assert!(matches!(&pkts[1], RtcpPacket::SourceDescription(c) if c[0].1[0].1 == b"us@host"));
        // The peer answers with an RR about our SR, having held it 0.25 s; it
        // reaches us at t = 12.5 s: RTT = 0.5 − 0.25 = 250 ms.
        let block = ReportBlock {
            ssrc: 0xaaaa,
            lsr: ntp_middle(12 * sec),
            dlsr: 1 << 14,
            ..ReportBlock::default()
        };
        let rr = build_compound(0xbbbb, None, &[block], "p", false);
        let rtt = us
            .handle_packet(12 * sec + sec / 2, &rr)
            .expect("valid")
            .expect("rtt");
        assert!((rtt - 250.0).abs() < 0.1, "{rtt}");
        assert_eq!(us.rtt_ms(), Some(rtt));
        // A block whose LSR is not one of our SRs is ignored; garbage is an error.
        let stray = ReportBlock { lsr: 5, ..block };
        let rr = build_compound(0xbbbb, None, &[stray], "p", false);
        assert_eq!(us.handle_packet(13 * sec, &rr), Ok(None));
        assert!(us.handle_packet(13 * sec, b"\x80garbage").is_err());
        // Not a sender any more, nothing received: an RR with no block, then BYE.
        let mut empty = ReceiveStats::new();
        let last = us.report(14 * sec, &mut empty, None, None, true);
        let pkts = parse(&last).expect("parses");
        assert_eq!(
            pkts[0],
            RtcpPacket::ReceiverReport {
                ssrc: 0xaaaa,
                reports: vec![]
            }
        );
        assert_eq!(pkts[2], RtcpPacket::Bye(vec![0xaaaa]));
    }
}
