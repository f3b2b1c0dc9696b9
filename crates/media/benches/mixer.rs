//! Mixer tick cost. One tick = what the voice shell does every 20 ms for a
//! monitored call: hand the three legs' frames to the mixer, run the tick,
//! take every packet and the recording tap's frame out.
//!
//! Cases: one call in Barge (everyone mixed, worst case), one call in Whisper
//! (the caller's audio is relayed verbatim, agent and supervisor mixed), and
//! 100 calls in Whisper ticked together. The target (issue 16) is ≤ 10 µs per
//! 20 ms tick per call. Run: `cargo bench -p media`.

use criterion::{Criterion, criterion_group, criterion_main};
use media::{Codec, Frame, Mixer, MixerConfig, Mode, PartyId, Roles, TICK};
use std::hint::black_box;
use std::time::Instant;

const C: PartyId = PartyId(1);
const A: PartyId = PartyId(2);
const S: PartyId = PartyId(3);

/// 50 frames (1 s) of a tone, so inputs vary from tick to tick.
fn tone(freq: f64, codec: Codec) -> Vec<Frame> {
    (0..50)
        .map(|n| {
            let pcm: [i16; 160] = std::array::from_fn(|i| {
                let t = (n * 160 + i) as f64 / 8000.0;
                (6000.0 * (2.0 * std::f64::consts::PI * freq * t).sin()) as i16
            });
            let mut f = [0u8; 160];
            codec.encode(&pcm, &mut f);
            f
        })
        .collect()
}

struct Call {
    mix: Mixer,
    frames: [(PartyId, Vec<Frame>); 3],
    n: usize,
}

impl Call {
    fn new(t0: Instant, mode: Mode) -> Call {
        let mut mix = Mixer::new(t0, MixerConfig::default());
        // Caller on an A-law trunk, agent and supervisor on µ-law phones.
        let codecs = [(C, Codec::Pcma), (A, Codec::Pcmu), (S, Codec::Pcmu)];
        for (p, c) in codecs {
            mix.join(p, c).expect("join");
        }
        mix.set_tap(Some(media::Tap::default())).expect("tap");
        let roles = Roles {
            caller: C,
            agent: A,
            supervisor: Some(S),
        };
        mix.set_mode(roles, mode).expect("mode");
        Call {
            mix,
            frames: [
                (C, tone(440.0, Codec::Pcma)),
                (A, tone(660.0, Codec::Pcmu)),
                (S, tone(880.0, Codec::Pcmu)),
            ],
            n: 0,
        }
    }

    /// One 20 ms period; returns the bytes produced (so nothing is optimised out).
    fn tick(&mut self) -> usize {
        let deadline = self.mix.poll_timeout();
        let k = self.n % 50;
        for (p, frames) in &self.frames {
            let _ = self.mix.handle_frame(deadline - TICK / 2, *p, &frames[k]);
        }
        self.n += 1;
        self.mix.handle_timeout(deadline);
        let mut bytes = 0;
        while let Some(o) = self.mix.poll_output() {
            bytes += black_box(&o.payload).len();
        }
        while let Some(t) = self.mix.poll_tap() {
            bytes += black_box(&t.left).len();
        }
        bytes
    }
}

fn ticks(c: &mut Criterion) {
    let t0 = Instant::now();
    for (name, mode) in [("barge", Mode::Barge), ("whisper", Mode::Whisper)] {
        let mut call = Call::new(t0, mode);
        c.bench_function(&format!("tick/1 monitored call ({name}, tap)"), |b| {
            b.iter(|| call.tick())
        });
    }
    let mut calls: Vec<Call> = (0..100).map(|_| Call::new(t0, Mode::Whisper)).collect();
    c.bench_function("tick/100 monitored calls (whisper, tap)", |b| {
        b.iter(|| calls.iter_mut().map(Call::tick).sum::<usize>())
    });
    let mut calls: Vec<Call> = (0..100).map(|_| Call::new(t0, Mode::Barge)).collect();
    c.bench_function("tick/100 monitored calls (barge, tap)", |b| {
        b.iter(|| calls.iter_mut().map(Call::tick).sum::<usize>())
    });
}

criterion_group!(benches, ticks);
criterion_main!(benches);
