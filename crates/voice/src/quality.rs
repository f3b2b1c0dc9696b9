//! Receive-side media quality of a leg: loss (RFC 3550 §A.1/§A.3), interarrival
//! jitter (RFC 3550 §A.8) and an estimated MOS from a simplified E-model
//! (ITU-T G.107 with G.113 Appendix I values for G.711).
//!
//! Sans-I/O: the caller passes each packet's sequence number, RTP timestamp
//! and arrival time (in the same 8 kHz clock units), and the round-trip time
//! it measured from RTCP (RFC 3550 §6.4.1) when it has one.

use crate::rtcp::ReportBlock;

/// Counters for one received RTP stream.
#[derive(Debug, Clone, Default)]
pub struct ReceiveStats {
    started: bool,
    base_seq: u32,
    max_seq: u16,
    cycles: u32,
    received: u64,
    last_transit: Option<i64>,
    /// Jitter in timestamp units, scaled by 16 (RFC 3550 §A.8 integer form).
    jitter_x16: i64,
    /// `expected` and `received` at the previous report (RFC 3550 §A.3).
    expected_prior: u64,
    received_prior: u64,
    /// Latest round-trip time from RTCP, ms.
    rtt_ms: Option<f64>,
}

/// A quality summary, e.g. kept on the interaction when the leg ends.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MediaQuality {
    /// Packets received.
    pub received: u64,
    /// Packets expected from the sequence numbers seen.
    pub expected: u64,
    /// Cumulative loss in % of `expected` (0 if nothing expected).
    pub loss_pct: f64,
    /// Interarrival jitter in ms.
    pub jitter_ms: f64,
    /// Latest round-trip time measured with RTCP (RFC 3550 §6.4.1), in ms;
    /// `None` until the far end returned a report about one of our SRs.
    pub rtt_ms: Option<f64>,
    /// Estimated MOS-CQE, 1.0..=4.5 (G.107 simplified; see [`mos_with_rtt`]).
    pub mos: f64,
}

impl ReceiveStats {
    /// New, empty statistics.
    pub fn new() -> Self {
        ReceiveStats::default()
    }

    /// Account one audio packet; `arrival` and `rtp_ts` in 8 kHz ticks.
    pub fn handle_packet(&mut self, seq: u16, rtp_ts: u32, arrival: u64) {
        self.account_seq(seq);
        let transit = arrival as i64 - i64::from(rtp_ts);
        if let Some(last) = self.last_transit {
            let d = (transit - last).abs();
            self.jitter_x16 += d - ((self.jitter_x16 + 8) >> 4);
        }
        self.last_transit = Some(transit);
    }

    /// Account a packet of the same stream that carries no audio, such as an
    /// RFC 4733 telephone-event: it takes a sequence number of the stream (RFC
    /// 4733 §2.1), so it counts as received for loss (RFC 3550 §A.3), but its
    /// timestamp is the event's start, not a sampling instant, so it is left
    /// out of the jitter (RFC 3550 §A.8 applies to audio only here).
    pub fn handle_non_audio(&mut self, seq: u16) {
        self.account_seq(seq);
    }

    fn account_seq(&mut self, seq: u16) {
        if !self.started {
            self.started = true;
            self.base_seq = u32::from(seq);
            self.max_seq = seq;
        } else {
            let delta = seq.wrapping_sub(self.max_seq);
            if delta != 0 && delta < 0x8000 {
                if seq < self.max_seq {
                    self.cycles += 1 << 16;
                }
                self.max_seq = seq;
            }
        }
        self.received += 1;
    }

    fn expected(&self) -> u64 {
        if self.started {
            u64::from(self.cycles + u32::from(self.max_seq))
                .saturating_sub(u64::from(self.base_seq))
                + 1
        } else {
            0
        }
    }

    /// Record the round-trip time (ms) measured from a peer's report.
    pub fn handle_rtt(&mut self, rtt_ms: f64) {
        self.rtt_ms = Some(rtt_ms);
    }

    /// True once a packet has been accounted.
    pub fn has_received(&self) -> bool {
        self.started
    }

    /// The reception report block about source `ssrc` for an RTCP RR/SR (RFC
    /// 3550 §6.4.1, computed as §A.3), with the LSR/DLSR the caller tracks
    /// (0 when no SR was received). Starts a new reporting interval: the
    /// fraction lost counts only packets since the previous call.
    pub fn report_block(&mut self, ssrc: u32, lsr: u32, dlsr: u32) -> ReportBlock {
        let expected = self.expected();
        let lost = expected as i64 - self.received as i64;
        let expected_interval = expected.saturating_sub(self.expected_prior);
        let received_interval = self.received.saturating_sub(self.received_prior);
        self.expected_prior = expected;
        self.received_prior = self.received;
        let lost_interval = expected_interval as i64 - received_interval as i64;
        let fraction_lost = if expected_interval == 0 || lost_interval <= 0 {
            0
        } else {
            ((lost_interval << 8) / expected_interval as i64).min(255) as u8
        };
        ReportBlock {
            ssrc,
            fraction_lost,
            cumulative_lost: lost.clamp(-0x80_0000, 0x7F_FFFF) as i32,
            highest_seq: self.cycles.wrapping_add(u32::from(self.max_seq)),
            jitter: (self.jitter_x16 >> 4).clamp(0, i64::from(u32::MAX)) as u32,
            lsr,
            dlsr,
        }
    }

    /// Summary at this point.
    pub fn quality(&self) -> MediaQuality {
        let expected = self.expected();
        let lost = expected.saturating_sub(self.received);
        let loss_pct = if expected == 0 {
            0.0
        } else {
            100.0 * lost as f64 / expected as f64
        };
        let jitter_ms = (self.jitter_x16 >> 4) as f64 / 8.0;
        MediaQuality {
            received: self.received,
            expected,
            loss_pct,
            jitter_ms,
            rtt_ms: self.rtt_ms,
            mos: mos_with_rtt(loss_pct, jitter_ms, self.rtt_ms),
        }
    }
}

/// Estimated MOS for G.711 from loss (%) and jitter (ms), with no network
/// delay known: [`mos_with_rtt`] with `None`.
pub fn mos(loss_pct: f64, jitter_ms: f64) -> f64 {
    mos_with_rtt(loss_pct, jitter_ms, None)
}

/// Estimated MOS for G.711 from loss (%), jitter (ms) and the RTCP round-trip
/// time (ms) when known.
///
/// E-model (ITU-T G.107; the delay impairment Id in the Cole–Rosenbluth 2001
/// simplification)
/// with the default R0 − Is = 93.2, no echo, the mouth-to-ear delay taken as
/// 20 ms packetisation + a jitter buffer of twice the jitter + half the round
/// trip (the one-way network delay), Ie = 0 and Bpl = 25.1 for G.711 with
/// packet-loss concealment (G.113 Appendix I), random loss.
pub fn mos_with_rtt(loss_pct: f64, jitter_ms: f64, rtt_ms: Option<f64>) -> f64 {
    let d = 20.0 + 2.0 * jitter_ms + rtt_ms.map_or(0.0, |r| r.max(0.0) / 2.0);
    let id = 0.024 * d + if d > 177.3 { 0.11 * (d - 177.3) } else { 0.0 };
    let ie_eff = 95.0 * loss_pct / (loss_pct + 25.1);
    let r = 93.2 - id - ie_eff;
    if r <= 0.0 {
        1.0
    } else if r >= 100.0 {
        4.5
    } else {
        1.0 + 0.035 * r + 7e-6 * r * (r - 60.0) * (100.0 - r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perfect_stream_scores_about_4_4() {
        let mut s = ReceiveStats::new();
        for i in 0..100u16 {
            s.handle_packet(i, u32::from(i) * 160, 5_000 + u64::from(i) * 160);
        }
        let q = s.quality();
        assert_eq!((q.received, q.expected), (100, 100));
        assert_eq!(q.loss_pct, 0.0);
        assert_eq!(q.jitter_ms, 0.0);
        assert!((4.35..=4.45).contains(&q.mos), "{}", q.mos);
    }

    #[test]
    fn loss_across_sequence_wrap_and_jitter() {
        let mut s = ReceiveStats::new();
        // 65530..=65535, 0..=3 minus two lost (65533 and 1), every other packet 40 ms late.
        let seqs: Vec<u16> = (65530..=65535u16)
            .chain(0..=3)
            .filter(|s| *s != 65533 && *s != 1)
            .collect();
        for (k, seq) in seqs.iter().enumerate() {
            let n = u64::from(seq.wrapping_sub(65530));
            let late = if k % 2 == 1 { 320 } else { 0 };
            s.handle_packet(*seq, (n * 160) as u32, 1_000 + n * 160 + late);
        }
        let q = s.quality();
        assert_eq!((q.received, q.expected), (8, 10));
        assert!((q.loss_pct - 20.0).abs() < 1e-9);
        assert!(q.jitter_ms > 5.0 && q.jitter_ms < 40.0, "{}", q.jitter_ms);
        assert!(q.mos < 3.0, "20 % loss is poor: {}", q.mos);
        assert!(mos(1.0, 10.0) > mos(5.0, 10.0));
    }

    #[test]
    fn report_blocks_count_loss_per_interval() {
        let mut s = ReceiveStats::new();
        // 0..10 with 3 and 7 lost.
        for seq in (0..10u16).filter(|s| *s != 3 && *s != 7) {
            s.handle_packet(seq, u32::from(seq) * 160, u64::from(seq) * 160);
        }
        let b = s.report_block(0xabcd, 0x1111, 0x22);
        assert_eq!(b.ssrc, 0xabcd);
        assert_eq!(b.cumulative_lost, 2);
        assert_eq!(b.fraction_lost, (2 * 256 / 10) as u8);
        assert_eq!(b.highest_seq, 9);
        assert_eq!((b.jitter, b.lsr, b.dlsr), (0, 0x1111, 0x22));
        // Next interval: 10..20 all received → fraction 0, cumulative still 2.
        for seq in 10..20u16 {
            s.handle_packet(seq, u32::from(seq) * 160, u64::from(seq) * 160);
        }
        let b = s.report_block(0xabcd, 0, 0);
        assert_eq!(
            (b.fraction_lost, b.cumulative_lost, b.highest_seq),
            (0, 2, 19)
        );
    }

    #[test]
    fn telephone_events_are_not_counted_as_lost_audio() {
        // Issue 13: 50 audio packets, then seq 50..=59 carry an RFC 4733 event
        // (same SSRC and sequence space), then 40 more audio packets.
        let mut s = ReceiveStats::new();
        for seq in 0u16..100 {
            if (50..60).contains(&seq) {
                s.handle_non_audio(seq);
            } else {
                let ts = u32::from(seq) * 160;
                s.handle_packet(seq, ts, u64::from(seq) * 160);
            }
        }
        let q = s.quality();
        assert_eq!((q.expected, q.received), (100, 100));
        assert_eq!(q.loss_pct, 0.0);
        assert_eq!(q.jitter_ms, 0.0);
        // A real gap is still loss.
        s.handle_packet(101, 101 * 160, 101 * 160);
        assert_eq!(s.quality().expected, 102);
        assert_eq!(s.quality().received, 101);
    }

    #[test]
    fn round_trip_delay_lowers_the_mos() {
        let mut s = ReceiveStats::new();
        for i in 0..50u16 {
            s.handle_packet(i, u32::from(i) * 160, u64::from(i) * 160);
        }
        let before = s.quality();
        assert_eq!(before.rtt_ms, None);
        s.handle_rtt(600.0);
        let after = s.quality();
        assert_eq!(after.rtt_ms, Some(600.0));
        // 20 + 300 ms one way: Id = 0.024·320 + 0.11·(320 − 177.3) ≈ 23.4.
        assert!(
            after.mos < before.mos - 0.5,
            "{} vs {}",
            after.mos,
            before.mos
        );
        assert_eq!(mos(0.0, 0.0), mos_with_rtt(0.0, 0.0, None));
    }
}
