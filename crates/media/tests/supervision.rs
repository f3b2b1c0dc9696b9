//! Supervision acceptance at the mixer level: who hears which tone (Goertzel),
//! byte-identical caller audio in listen/whisper, mode-switch gap, silent
//! parties, the clock, the recording tap, and arbitrary operation sequences.

use media::{
    Codec, FRAME_SAMPLES, Frame, Gain, MAX_CATCH_UP, Mixer, MixerConfig, MixerError, Mode, Output,
    PartyId, Pcm, Roles, Route, TapFrame,
};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const C: PartyId = PartyId(1);
const A: PartyId = PartyId(2);
const S: PartyId = PartyId(3);
const ROLES: Roles = Roles {
    caller: C,
    agent: A,
    supervisor: Some(S),
};
const AMPLITUDE: f64 = 6000.0;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Frame `n` of a continuous sine at `freq` Hz, encoded in `codec`.
fn tone_frame(freq: f64, n: u64, codec: Codec) -> Frame {
    let mut pcm = [0i16; FRAME_SAMPLES];
    for (i, s) in pcm.iter_mut().enumerate() {
        let t = (n as f64 * FRAME_SAMPLES as f64 + i as f64) / 8000.0;
        *s = (AMPLITUDE * (2.0 * std::f64::consts::PI * freq * t).sin()) as i16;
    }
    let mut f = [0u8; FRAME_SAMPLES];
    codec.encode(&pcm, &mut f);
    f
}

/// Amplitude of `freq` in `x` (Goertzel), in sample units.
fn goertzel(x: &[i16], freq: f64) -> f64 {
    if x.is_empty() {
        return 0.0;
    }
    let w = 2.0 * std::f64::consts::PI * freq / 8000.0;
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &v in x {
        let s = f64::from(v) + coeff * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    let power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    2.0 * power.max(0.0).sqrt() / x.len() as f64
}

fn decode(codec: Codec, f: &Frame) -> Pcm {
    let mut pcm = [0i16; FRAME_SAMPLES];
    codec.decode(f, &mut pcm);
    pcm
}

/// A call on virtual time: each sender's frame n arrives at n × 20 ms + 7 ms
/// (plus optional jitter); the shell wakes at each deadline.
struct Call {
    mix: Mixer,
    t0: Instant,
    /// Frames sent so far per party.
    sent: BTreeMap<PartyId, Vec<Frame>>,
    /// Everything each listener received.
    got: BTreeMap<PartyId, Vec<Output>>,
    taps: Vec<TapFrame>,
    codecs: BTreeMap<PartyId, Codec>,
}

fn freq(p: PartyId) -> f64 {
    match p {
        C => 440.0,
        A => 660.0,
        _ => 880.0,
    }
}

impl Call {
    fn new(codecs: &[(PartyId, Codec)]) -> Call {
        let t0 = Instant::now();
        let mut mix = Mixer::new(t0, MixerConfig::default());
        for (p, c) in codecs {
            mix.join(*p, *c).expect("join");
        }
        Call {
            mix,
            t0,
            sent: BTreeMap::new(),
            got: BTreeMap::new(),
            taps: Vec::new(),
            codecs: codecs.iter().copied().collect(),
        }
    }

    /// One 20 ms period: `senders` each send their next tone frame (after
    /// `delay` past the period start), then the tick at the period's end runs.
    fn period(&mut self, senders: &[PartyId], delay: Duration) {
        let k = self.mix.tick();
        let start = self.t0 + TICK_MS * k as u32;
        for p in senders {
            let sent = self.sent.entry(*p).or_default();
            let f = tone_frame(freq(*p), sent.len() as u64, self.codecs[p]);
            sent.push(f);
            self.mix.handle_frame(start + delay, *p, &f).expect("frame");
        }
        let deadline = self.mix.poll_timeout();
        self.mix.handle_timeout(deadline);
        self.drain();
    }

    fn drain(&mut self) {
        while let Some(o) = self.mix.poll_output() {
            assert!(!o.contributors.contains(&o.listener), "mix-minus: {o:?}");
            self.got.entry(o.listener).or_default().push(o);
        }
        while let Some(t) = self.mix.poll_tap() {
            self.taps.push(t);
        }
    }

    /// What `p` heard during ticks `from..=to` as PCM (silence where no packet).
    fn heard(&self, p: PartyId, from: u64, to: u64) -> Vec<i16> {
        let mut pcm = vec![0i16; (to - from + 1) as usize * FRAME_SAMPLES];
        for o in self.got.get(&p).into_iter().flatten() {
            if (from..=to).contains(&o.tick) {
                let at = (o.tick - from) as usize * FRAME_SAMPLES;
                pcm[at..at + FRAME_SAMPLES].copy_from_slice(&decode(o.codec, &o.payload));
            }
        }
        pcm
    }
}

const TICK_MS: Duration = Duration::from_millis(20);

/// Tone present: well above quantisation noise; absent: far below any tone.
const PRESENT: f64 = 2000.0;
const ABSENT: f64 = 100.0;

fn check(call: &Call, mode: Mode, listener: PartyId, from: u64, to: u64, hears: &[PartyId]) {
    let pcm = call.heard(listener, from, to);
    for p in [C, A, S] {
        let amp = goertzel(&pcm, freq(p));
        if hears.contains(&p) {
            assert!(
                amp > PRESENT,
                "{mode:?}: {listener} should hear {p} ({amp:.0})"
            );
        } else {
            assert!(
                amp < ABSENT,
                "{mode:?}: {listener} must not hear {p} ({amp:.0})"
            );
        }
    }
}

/// A listener and the parties it must hear (all others: never).
type Hears = (PartyId, &'static [PartyId]);

#[test]
fn each_mode_routes_the_right_tones() {
    // C and A in µ-law, S in A-law: both the verbatim and the transcoding paths run.
    let mut call = Call::new(&[(C, Codec::Pcmu), (A, Codec::Pcmu), (S, Codec::Pcma)]);
    let expected: [(Mode, [Hears; 3]); 4] = [
        (Mode::Listen, [(C, &[A]), (A, &[C]), (S, &[C, A])]),
        (Mode::Whisper, [(C, &[A]), (A, &[C, S]), (S, &[C, A])]),
        (Mode::Barge, [(C, &[A, S]), (A, &[C, S]), (S, &[C, A])]),
        (Mode::TakeOver, [(C, &[S]), (A, &[]), (S, &[C])]),
    ];
    for (mode, hearing) in expected {
        call.mix.set_mode(ROLES, mode).expect("mode");
        let first = call.mix.tick() + 1;
        for _ in 0..50 {
            call.period(&[C, A, S], ms(7));
        }
        let last = call.mix.tick();
        assert_eq!(last - first, 49);
        for (listener, hears) in hearing {
            check(&call, mode, listener, first, last, hears);
        }
    }
    // Take over: the agent received no packet at all.
    let a_last = call.got[&A].last().map(|o| o.tick).unwrap_or(0);
    assert!(
        a_last < 151,
        "agent got packets during take over (tick {a_last})"
    );
}

#[test]
fn caller_receives_the_agents_packets_byte_for_byte_in_listen_and_whisper() {
    let run = |supervised: Option<Mode>| {
        let mut call = Call::new(&[(C, Codec::Pcmu), (A, Codec::Pcmu), (S, Codec::Pcmu)]);
        match supervised {
            Some(m) => call.mix.set_mode(ROLES, m).expect("mode"),
            None => {
                call.mix.leave(S).expect("leave");
                call.mix
                    .set_mode(
                        Roles {
                            supervisor: None,
                            ..ROLES
                        },
                        Mode::Direct,
                    )
                    .expect("direct")
            }
        }
        // Arrival jitter 0..=30 ms, order kept.
        let mut seed = 0x2545_f491_u64;
        for _ in 0..500 {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let jitter = ms(7 + (seed >> 33) % 31);
            let senders: &[PartyId] = if supervised.is_some() {
                &[C, A, S]
            } else {
                &[C, A]
            };
            call.period(senders, jitter.min(ms(19)));
        }
        call.mix.handle_timeout(call.mix.poll_timeout() + ms(60));
        call.drain();
        let got = &call.got[&C];
        assert!(got.iter().all(|o| o.verbatim && o.contributors == [A]));
        let mut h = Sha256::new();
        for o in got {
            h.update(o.payload);
        }
        let mut sent = Sha256::new();
        for f in &call.sent[&A] {
            sent.update(f);
        }
        assert_eq!(call.mix.stats().overflow_drops, 0);
        let (got, sent) = (h.finalize(), sent.finalize());
        assert_eq!(got, sent, "caller got exactly what the agent sent");
        got
    };
    let plain = run(None);
    assert_eq!(run(Some(Mode::Listen)), plain);
    assert_eq!(run(Some(Mode::Whisper)), plain);
}

#[test]
fn arrival_jitter_loses_no_audio() {
    let mut call = Call::new(&[(C, Codec::Pcmu), (A, Codec::Pcma)]);
    call.mix
        .set_mode(
            Roles {
                supervisor: None,
                ..ROLES
            },
            Mode::Direct,
        )
        .expect("direct");
    // Frames arrive in bursts: nothing for two periods, then three at once.
    let t0 = call.t0;
    let mut n = 0u64;
    for burst in 0..100u64 {
        let at = t0 + ms(burst * 60 + 59);
        for _ in 0..3 {
            let f = tone_frame(440.0, n, Codec::Pcmu);
            call.sent.entry(C).or_default().push(f);
            call.mix.handle_frame(at, C, &f).expect("frame");
            n += 1;
        }
        call.mix.handle_timeout(t0 + ms(burst * 60 + 60));
        call.drain();
    }
    call.mix.handle_timeout(call.mix.poll_timeout() + ms(40));
    call.drain();
    assert_eq!(call.mix.stats().overflow_drops, 0);
    assert_eq!(
        call.got[&A].len(),
        300,
        "every frame reached the agent once"
    );
    // Transcoded to A-law, sample for sample the same audio within G.711 steps.
    let sent: Vec<i16> = call.sent[&C]
        .iter()
        .flat_map(|f| decode(Codec::Pcmu, f))
        .collect();
    let got: Vec<i16> = call.got[&A]
        .iter()
        .flat_map(|o| decode(Codec::Pcma, &o.payload))
        .collect();
    let worst = sent
        .iter()
        .zip(&got)
        .map(|(a, b)| (i32::from(*a) - i32::from(*b)).abs())
        .max();
    assert!(worst.is_some_and(|w| w < 400), "{worst:?}");
}

#[test]
fn a_mode_switch_takes_effect_at_the_next_tick() {
    let mut call = Call::new(&[(C, Codec::Pcmu), (A, Codec::Pcmu), (S, Codec::Pcmu)]);
    call.mix.set_mode(ROLES, Mode::Listen).expect("listen");
    for _ in 0..10 {
        call.period(&[C, A, S], ms(7));
    }
    for (mode, listener) in [(Mode::Whisper, A), (Mode::Barge, C)] {
        // Switch 13 ms into a period, between two ticks.
        let k = call.mix.tick();
        let switch_at = call.t0 + TICK_MS * k as u32 + ms(13);
        call.mix.set_mode(ROLES, mode).expect("switch");
        call.period(&[C, A, S], ms(7));
        let next = call.mix.tick();
        assert_eq!(next, k + 1);
        let deadline = call.t0 + TICK_MS * next as u32;
        assert!(deadline - switch_at <= TICK_MS, "gap ≤ one tick");
        // One 160-sample frame: 50 Hz bins, so the other tones leak a few
        // hundred; the supervisor's tone itself is several thousand.
        let before = goertzel(&call.heard(listener, k, k), 880.0);
        let after = goertzel(&call.heard(listener, next, next), 880.0);
        assert!(
            before < 1000.0,
            "{mode:?}: not before the switch ({before:.0})"
        );
        assert!(
            after > 3000.0,
            "{mode:?}: from the first tick after it ({after:.0})"
        );
        let with_s = |t: u64| {
            call.got[&listener]
                .iter()
                .any(|o| o.tick == t && o.contributors.contains(&S))
        };
        assert!(!with_s(k) && with_s(next));
        // No missing packet around the switch.
        let ticks: Vec<u64> = call.got[&listener].iter().map(|o| o.tick).collect();
        assert!(ticks.contains(&k) && ticks.contains(&next));
        for _ in 0..3 {
            call.period(&[C, A, S], ms(7));
        }
    }
}

#[test]
fn a_silent_party_does_not_stall_the_others() {
    let mut call = Call::new(&[(C, Codec::Pcmu), (A, Codec::Pcmu), (S, Codec::Pcma)]);
    call.mix.set_mode(ROLES, Mode::Barge).expect("barge");
    for _ in 0..100 {
        call.period(&[C, A], ms(7)); // S never sends
    }
    assert_eq!(call.mix.stats().ticks, 100);
    for p in [C, A, S] {
        let got = &call.got[&p];
        assert_eq!(got.len(), 100, "{p} got one packet per tick");
        assert!(
            got.iter()
                .skip(1)
                .all(|o| o.ts_increment == 160 && !o.marker)
        );
    }
    check(&call, Mode::Barge, C, 1, 100, &[A]);
    // Nobody sends at all: the clock still runs, nothing is emitted.
    for _ in 0..10 {
        call.period(&[], ms(7));
    }
    assert_eq!(call.mix.tick(), 110);
    assert!(call.got[&C].iter().all(|o| o.tick <= 100));
    // C speaks again: the timestamp jumps over the 10 silent ticks, marker set.
    call.period(&[A], ms(7));
    let last = call.got[&C].last().expect("packet");
    assert_eq!(
        (last.tick, last.ts_increment, last.marker),
        (111, 11 * 160, true)
    );
}

#[test]
fn one_hour_of_late_wakeups_is_exactly_180000_ticks() {
    let mut call = Call::new(&[(C, Codec::Pcmu), (A, Codec::Pcma)]);
    call.mix
        .set_mode(
            Roles {
                supervisor: None,
                ..ROLES
            },
            Mode::Direct,
        )
        .expect("direct");
    let end = call.t0 + Duration::from_secs(3600);
    let mut seed = 7u64;
    let mut increments = 0u64;
    let mut n = 0u64;
    while call.mix.poll_timeout() <= end {
        // The timer fires 0..15 ms late; the frame for this period came earlier.
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let late = Duration::from_micros((seed >> 33) % 15_000);
        let deadline = call.mix.poll_timeout();
        call.mix
            .handle_frame(deadline - ms(10), C, &[0x55; 160])
            .expect("frame");
        n += 1;
        let before = call.mix.tick();
        call.mix.handle_timeout((deadline + late).min(end));
        assert_eq!(call.mix.tick(), before + 1);
        while let Some(o) = call.mix.poll_output() {
            increments += u64::from(o.ts_increment);
        }
    }
    assert_eq!(call.mix.tick(), 180_000);
    assert_eq!(call.mix.stats().ticks, 180_000);
    assert_eq!(call.mix.stats().skipped_ticks, 0);
    assert_eq!(n, 180_000);
    assert_eq!(increments, 3600 * 8000, "RTP time = wall time");
    assert_eq!(call.mix.poll_timeout(), end + TICK_MS);
}

#[test]
fn a_stalled_shell_catches_up_three_ticks_and_skips_the_rest() {
    let mut call = Call::new(&[(C, Codec::Pcmu), (A, Codec::Pcmu)]);
    call.mix
        .set_mode(
            Roles {
                supervisor: None,
                ..ROLES
            },
            Mode::Direct,
        )
        .expect("direct");
    for _ in 0..10 {
        call.period(&[C], ms(7));
    }
    // The shell was blocked 200 ms; the 10 frames of that time come at once.
    let at = call.t0 + ms(200 + 200 + 5);
    for i in 0..10 {
        call.mix
            .handle_frame(at, C, &tone_frame(440.0, 10 + i, Codec::Pcmu))
            .expect("frame");
    }
    let st = call.mix.stats();
    assert_eq!(call.mix.tick(), 20);
    assert_eq!(
        (st.ticks, st.skipped_ticks),
        (10 + MAX_CATCH_UP, 10 - MAX_CATCH_UP)
    );
    assert_eq!(st.overflow_drops, 7, "3-frame buffer keeps the newest");
    call.mix.handle_timeout(call.t0 + ms(460));
    call.drain();
    let got = &call.got[&A];
    let after: Vec<(u64, u32, bool)> = got
        .iter()
        .skip(10)
        .map(|o| (o.tick, o.ts_increment, o.marker))
        .collect();
    assert_eq!(
        after,
        vec![(21, 11 * 160, true), (22, 160, false), (23, 160, false)]
    );
}

#[test]
fn whisper_goes_only_into_the_agents_channel_of_the_recording() {
    let mut call = Call::new(&[(C, Codec::Pcmu), (A, Codec::Pcma), (S, Codec::Pcmu)]);
    call.mix.set_tap(Some(media::Tap::default())).expect("tap");
    let plan: [(Mode, &[PartyId], &[PartyId]); 4] = [
        (Mode::Listen, &[C], &[A]),
        (Mode::Whisper, &[C], &[A, S]),
        (Mode::Barge, &[C], &[A, S]),
        (Mode::TakeOver, &[C], &[S]),
    ];
    for (mode, left, right) in plan {
        call.mix.set_mode(ROLES, mode).expect("mode");
        call.taps.clear();
        for _ in 0..50 {
            call.period(&[C, A, S], ms(7));
        }
        assert_eq!(call.taps.len(), 50, "one tap frame per tick");
        let l: Vec<i16> = call.taps.iter().flat_map(|t| t.left).collect();
        let r: Vec<i16> = call.taps.iter().flat_map(|t| t.right).collect();
        for p in [C, A, S] {
            for (name, ch, who) in [("left", &l, left), ("right", &r, right)] {
                let amp = goertzel(ch, freq(p));
                if who.contains(&p) {
                    assert!(amp > PRESENT, "{mode:?} {name}: {p} missing ({amp:.0})");
                } else {
                    assert!(
                        amp < ABSENT,
                        "{mode:?} {name}: {p} must not be there ({amp:.0})"
                    );
                }
            }
        }
    }
}

#[test]
fn passthrough_only_for_two_plain_parties() {
    let t0 = Instant::now();
    let mut mix = Mixer::new(t0, MixerConfig::default());
    mix.join(C, Codec::Pcmu).expect("c");
    mix.join(A, Codec::Pcma).expect("a");
    assert_eq!(mix.passthrough(), None, "no routes yet");
    let direct = Roles {
        supervisor: None,
        ..ROLES
    };
    mix.set_mode(direct, Mode::Direct).expect("direct");
    assert_eq!(mix.passthrough(), Some((C, A)));
    mix.set_route(Route {
        source: C,
        listener: A,
        gain: Gain::from_db(-6.0),
    })
    .expect("gain");
    assert_eq!(mix.passthrough(), None, "a gain needs the mixer");
    mix.set_mode(direct, Mode::Direct).expect("direct");
    mix.join(S, Codec::Pcmu).expect("s");
    assert_eq!(mix.passthrough(), None, "three parties");
    mix.set_mode(ROLES, Mode::Whisper).expect("whisper");
    assert_eq!(mix.mode(), Some((ROLES, Mode::Whisper)));
    mix.leave(S).expect("leave");
    assert_eq!(mix.mode(), None, "the supervisor's mode ends with it");
    assert_eq!(mix.passthrough(), Some((C, A)), "back to C ↔ A");
    mix.set_mode(ROLES, Mode::Listen).expect_err("S has left");
}

#[test]
fn bad_input_is_refused_with_a_clear_error() {
    let t0 = Instant::now();
    let mut mix = Mixer::new(
        t0,
        MixerConfig {
            max_parties: 2,
            jitter_depth: 3,
        },
    );
    mix.join(C, Codec::Pcmu).expect("c");
    assert_eq!(mix.join(C, Codec::Pcma), Err(MixerError::AlreadyJoined(C)));
    mix.join(A, Codec::Pcmu).expect("a");
    assert_eq!(mix.join(S, Codec::Pcmu), Err(MixerError::Full(2)));
    assert_eq!(
        mix.set_route(Route::unity(C, C)),
        Err(MixerError::SelfRoute(C))
    );
    assert_eq!(
        mix.set_route(Route::unity(C, S)),
        Err(MixerError::UnknownParty(S))
    );
    assert_eq!(
        mix.handle_frame(t0, C, &[0; 80]),
        Err(MixerError::FrameSize { party: C, len: 80 })
    );
    assert_eq!(
        mix.handle_frame(t0, S, &[0; 160]),
        Err(MixerError::UnknownParty(S))
    );
    assert_eq!(
        mix.set_mode(
            Roles {
                supervisor: None,
                ..ROLES
            },
            Mode::Barge
        ),
        Err(MixerError::Roles(Mode::Barge))
    );
    assert_eq!(
        mix.set_mode(Roles { caller: A, ..ROLES }, Mode::Direct),
        Err(MixerError::Roles(Mode::Direct))
    );
    assert_eq!(mix.stats().frames_in, 0);
    assert!(mix.routes().is_empty());
    assert_eq!(Mode::from_dtmf('5'), Some(Mode::Whisper));
    assert_eq!(Mode::from_dtmf('7'), None);
    assert_eq!(Gain::from_db(0.0), Gain::UNITY);
    assert_eq!(Gain::from_db(40.0), Gain::MAX);
    assert_eq!(Gain::from_db(f32::NEG_INFINITY), Gain::MUTE);
    assert_eq!(Gain::from_db(-6.0).q8(), 128);
}

#[test]
fn sums_clamp_once_and_gains_apply() {
    let t0 = Instant::now();
    let mut mix = Mixer::new(t0, MixerConfig::default());
    for p in [C, A, S] {
        mix.join(p, Codec::Pcmu).expect("join");
    }
    mix.set_routes(&[
        Route::unity(C, S),
        Route::unity(A, S),
        Route {
            source: C,
            listener: A,
            gain: Gain::from_db(-6.0),
        },
    ])
    .expect("routes");
    let loud = [0x80u8; 160]; // µ-law +32124
    mix.handle_frame(t0, C, &loud).expect("c");
    mix.handle_frame(t0, A, &loud).expect("a");
    mix.handle_timeout(t0 + TICK_MS);
    let mut outs = Vec::new();
    while let Some(o) = mix.poll_output() {
        outs.push(o);
    }
    outs.sort_by_key(|o| o.listener);
    // S: 32124 + 32124 clamps to 32767, which µ-law codes as full scale 0x80.
    let s = outs.iter().find(|o| o.listener == S).expect("s");
    assert_eq!(decode(Codec::Pcmu, &s.payload)[0], 32124);
    assert!(!s.verbatim);
    // A: C at -6 dB = 16062 → µ-law step 15996.
    let a = outs.iter().find(|o| o.listener == A).expect("a");
    assert_eq!(decode(Codec::Pcmu, &a.payload)[0], 15996);
    assert_eq!(outs.len(), 2, "nobody routes to C");
}

mod arbitrary {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Op {
        Join(u32, bool),
        Leave(u32),
        Mode(u32, u32, Option<u32>, u8),
        Route(u32, u32, u16),
        Tap(bool),
        Frame(u32, usize),
        Advance(u64),
    }

    fn op() -> impl Strategy<Value = Op> {
        let id = 0u32..5;
        prop_oneof![
            (id.clone(), any::<bool>()).prop_map(|(p, u)| Op::Join(p, u)),
            id.clone().prop_map(Op::Leave),
            (
                id.clone(),
                id.clone(),
                proptest::option::of(id.clone()),
                0u8..5
            )
                .prop_map(|(c, a, s, m)| Op::Mode(c, a, s, m)),
            (id.clone(), id.clone(), 0u16..1200).prop_map(|(s, l, g)| Op::Route(s, l, g)),
            any::<bool>().prop_map(Op::Tap),
            (id.clone(), prop_oneof![Just(160usize), 0usize..400])
                .prop_map(|(p, n)| Op::Frame(p, n)),
            (0u64..200).prop_map(Op::Advance),
        ]
    }

    /// Each party sends a constant code unique to it, so a verbatim packet
    /// shows whose audio it is.
    fn code(p: PartyId) -> u8 {
        0x10 + p.0 as u8
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        #[test]
        fn never_panics_and_never_routes_a_party_to_itself(ops in proptest::collection::vec(op(), 1..120)) {
            let t0 = Instant::now();
            let mut mix = Mixer::new(t0, MixerConfig::default());
            let mut now = t0;
            for op in ops {
                match op {
                    Op::Join(p, u) => {
                        let _ = mix.join(PartyId(p), if u { Codec::Pcmu } else { Codec::Pcma });
                    }
                    Op::Leave(p) => {
                        let _ = mix.leave(PartyId(p));
                    }
                    Op::Mode(c, a, s, m) => {
                        let mode = [Mode::Direct, Mode::Listen, Mode::Whisper, Mode::Barge, Mode::TakeOver][m as usize];
                        let roles = Roles { caller: PartyId(c), agent: PartyId(a), supervisor: s.map(PartyId) };
                        let _ = mix.set_mode(roles, mode);
                    }
                    Op::Route(s, l, g) => {
                        let r = mix.set_route(Route { source: PartyId(s), listener: PartyId(l), gain: Gain::from_q8(g) });
                        if s == l {
                            prop_assert_eq!(r, Err(MixerError::SelfRoute(PartyId(s))));
                        }
                    }
                    Op::Tap(on) => {
                        let _ = mix.set_tap(on.then(media::Tap::default));
                    }
                    Op::Frame(p, n) => {
                        let payload = vec![code(PartyId(p)); n];
                        let r = mix.handle_frame(now, PartyId(p), &payload);
                        prop_assert!(n == 160 || r.is_err());
                    }
                    Op::Advance(d) => {
                        now += ms(d);
                        mix.handle_timeout(now);
                        let elapsed = (now - t0).as_micros() / 20_000;
                        prop_assert_eq!(u128::from(mix.tick()), elapsed);
                    }
                }
                prop_assert!(mix.routes().iter().all(|r| r.source != r.listener));
                while let Some(o) = mix.poll_output() {
                    prop_assert!(!o.contributors.contains(&o.listener));
                    prop_assert!(!o.contributors.is_empty());
                    if o.verbatim {
                        prop_assert_eq!(o.contributors.len(), 1);
                        prop_assert!(o.payload.iter().all(|b| *b == code(o.contributors[0])));
                        prop_assert!(o.payload[0] != code(o.listener));
                    }
                }
                while mix.poll_tap().is_some() {}
            }
        }
    }
}
