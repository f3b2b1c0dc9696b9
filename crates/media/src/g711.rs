//! G.711 (ITU-T G.711 µ-law and A-law) at 8 kHz, one byte per sample, in
//! fixed 20 ms frames of 160 samples, on the 16-bit linear scale.
//!
//! The arithmetic is that of the ITU-T G.191 Software Tool Library `g711.c`
//! (`ulaw_compress`/`ulaw_expand`, `alaw_compress`/`alaw_expand`), the ITU's
//! reference implementation of G.711: negative inputs use the one's
//! complement, so the smallest negative inputs code as negative (A-law −1 →
//! 0x55). Decoding is a 256-entry table built from the same formulas. The tests
//! check both against the values of G.711 Tables 1a/2a and cross-check every
//! code and every input against the `audio-codec` crate the voice relay uses.

/// Samples in one 20 ms frame at 8 kHz (also its G.711 payload size in bytes).
pub const FRAME_SAMPLES: usize = 160;

/// One 20 ms G.711 payload (160 bytes).
pub type Frame = [u8; FRAME_SAMPLES];

/// One 20 ms frame of 16-bit linear PCM at 8 kHz.
pub type Pcm = [i16; FRAME_SAMPLES];

/// A party's audio codec (both directions use the same one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    /// G.711 µ-law, static RTP payload type 0 (RFC 3551 §6).
    Pcmu,
    /// G.711 A-law, static RTP payload type 8 (RFC 3551 §6).
    Pcma,
}

/// G.191 `ulaw_expand`.
const fn ulaw_expand(y: u8) -> i16 {
    let m = !y;
    let exponent = ((m >> 4) & 7) as i32;
    let segment = exponent + 1;
    let mantissa = (m & 0x0F) as i32;
    let step = 4 << segment;
    let mag = (0x80 << exponent) + step * mantissa + step / 2 - 4 * 33;
    (if y < 0x80 { -mag } else { mag }) as i16
}

/// G.191 `alaw_expand`.
const fn alaw_expand(y: u8) -> i16 {
    let ix = (y ^ 0x55) as i32;
    let positive = ix & 0x80 != 0;
    let ix = ix & 0x7F;
    let iexp = ix >> 4;
    let mut mant = ix & 0x0F;
    if iexp > 0 {
        mant += 16;
    }
    mant = (mant << 4) + 8;
    if iexp > 1 {
        mant <<= iexp - 1;
    }
    (if positive { mant } else { -mant }) as i16
}

const fn table(alaw: bool) -> [i16; 256] {
    let mut t = [0i16; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = if alaw {
            alaw_expand(i as u8)
        } else {
            ulaw_expand(i as u8)
        };
        i += 1;
    }
    t
}

static ULAW: [i16; 256] = table(false);
static ALAW: [i16; 256] = table(true);

/// G.191 `ulaw_compress`: magnitude biased by 33 (in 14-bit units), segment
/// from its bit length, mantissa inverted.
#[inline]
fn ulaw_compress(x: i16) -> u8 {
    let x = i32::from(x);
    let absno = if x < 0 {
        ((!x) >> 2) + 33
    } else {
        (x >> 2) + 33
    }
    .min(0x1FFF);
    let segno = 1 + (32 - (absno >> 6).leading_zeros()) as i32;
    let high = 8 - segno;
    let low = 0x0F - ((absno >> segno) & 0x0F);
    let y = (high << 4) | low;
    (if x >= 0 { y | 0x80 } else { y }) as u8
}

/// G.191 `alaw_compress`: 12-bit magnitude, segment from its bit length,
/// even bits inverted.
#[inline]
fn alaw_compress(x: i16) -> u8 {
    let x = i32::from(x);
    let mut ix = if x < 0 { (!x) >> 4 } else { x >> 4 };
    if ix > 15 {
        let iexp = 1 + (32 - ix.leading_zeros() as i32 - 5).max(0);
        ix = (ix >> (iexp - 1)) - 16 + (iexp << 4);
    }
    if x >= 0 {
        ix |= 0x80;
    }
    (ix ^ 0x55) as u8
}

impl Codec {
    /// Codec of a static RTP payload type (0 or 8), else `None`.
    pub fn from_payload_type(pt: u8) -> Option<Codec> {
        match pt {
            0 => Some(Codec::Pcmu),
            8 => Some(Codec::Pcma),
            _ => None,
        }
    }

    /// Static RTP payload type (RFC 3551 §6): 0 for PCMU, 8 for PCMA.
    pub fn payload_type(self) -> u8 {
        match self {
            Codec::Pcmu => 0,
            Codec::Pcma => 8,
        }
    }

    /// The code of linear 0 (G.711: µ-law 0xFF, A-law 0xD5).
    pub fn silence(self) -> u8 {
        match self {
            Codec::Pcmu => 0xFF,
            Codec::Pcma => 0xD5,
        }
    }

    /// Linear value (16-bit scale) of one code.
    #[inline]
    pub fn expand(self, code: u8) -> i16 {
        match self {
            Codec::Pcmu => ULAW[usize::from(code)],
            Codec::Pcma => ALAW[usize::from(code)],
        }
    }

    /// Code of one linear sample (16-bit scale).
    #[inline]
    pub fn compress(self, sample: i16) -> u8 {
        match self {
            Codec::Pcmu => ulaw_compress(sample),
            Codec::Pcma => alaw_compress(sample),
        }
    }

    /// Decode one 20 ms frame to linear PCM (16-bit scale).
    pub fn decode(self, data: &Frame, out: &mut Pcm) {
        let t = match self {
            Codec::Pcmu => &ULAW,
            Codec::Pcma => &ALAW,
        };
        for (o, c) in out.iter_mut().zip(data) {
            *o = t[usize::from(*c)];
        }
    }

    /// Encode one 20 ms frame of linear PCM.
    pub fn encode(self, pcm: &Pcm, out: &mut Frame) {
        match self {
            Codec::Pcmu => {
                for (o, s) in out.iter_mut().zip(pcm) {
                    *o = ulaw_compress(*s);
                }
            }
            Codec::Pcma => {
                for (o, s) in out.iter_mut().zip(pcm) {
                    *o = alaw_compress(*s);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use audio_codec::{Decoder as _, Encoder as _};

    #[test]
    fn reference_values_of_g711_tables() {
        // G.711 Table 2a (µ-law, ×4 to 16 bits) and Table 1a (A-law, ×8).
        let mu = |c| Codec::Pcmu.expand(c);
        let a = |c| Codec::Pcma.expand(c);
        assert_eq!(
            (mu(0x80), mu(0x00), mu(0xFF), mu(0x7F)),
            (32124, -32124, 0, 0)
        );
        assert_eq!((mu(0xFE), mu(0x7E), mu(0xEF), mu(0xF0)), (8, -8, 132, 120));
        assert_eq!((a(0xAA), a(0x2A), a(0xD5), a(0x55)), (32256, -32256, 8, -8));
        assert_eq!((a(0xD4), a(0xC5), a(0xC4)), (24, 264, 280));
        // Compression (G.191 g711.c): zero, the first steps, full scale.
        let cu = |x| Codec::Pcmu.compress(x);
        let ca = |x| Codec::Pcma.compress(x);
        assert_eq!(
            (cu(0), cu(-1), cu(8), cu(32767), cu(-32768)),
            (0xFF, 0x7F, 0xFE, 0x80, 0x00)
        );
        assert_eq!(
            (ca(0), ca(-1), ca(16), ca(32767), ca(-32768)),
            (0xD5, 0x55, 0xD4, 0xAA, 0x2A)
        );
        assert_eq!(Codec::Pcmu.silence(), cu(0));
        assert_eq!(Codec::Pcma.silence(), ca(0));
    }

    #[test]
    fn every_code_decodes_like_audio_codec_and_encodes_back() {
        for codec in [Codec::Pcmu, Codec::Pcma] {
            let codes: Vec<u8> = (0..=255).collect();
            let theirs = match codec {
                Codec::Pcmu => audio_codec::pcmu::PcmuDecoder::new().decode(&codes),
                Codec::Pcma => audio_codec::pcma::PcmaDecoder::new().decode(&codes),
            };
            for c in 0..=255u8 {
                let v = codec.expand(c);
                assert_eq!(v, theirs[usize::from(c)], "{codec:?} {c:#04x}");
                // µ-law has two zeros (0x7F = −0); it encodes back as 0x7F
                // only from a negative input.
                let back = codec.compress(v);
                let expect = if codec == Codec::Pcmu && c == 0x7F {
                    0xFF
                } else {
                    c
                };
                assert_eq!(back, expect, "{codec:?} {c:#04x}");
            }
        }
    }

    /// audio-codec negates negative inputs (A-law: −x − 8) where G.191 takes
    /// the one's complement, so some negative inputs lying at a decision
    /// point of the two quantisers fall in the neighbouring interval. Every
    /// other input codes the same; each difference is between the two levels
    /// that bracket the input.
    #[test]
    fn every_input_encodes_like_audio_codec_but_at_negative_decision_points() {
        let all: Vec<i16> = (i16::MIN..=i16::MAX).collect();
        let theirs = [
            (
                Codec::Pcmu,
                audio_codec::pcmu::PcmuEncoder::new().encode(&all),
                128,
            ),
            (
                Codec::Pcma,
                audio_codec::pcma::PcmaEncoder::new().encode(&all),
                1024,
            ),
        ];
        for (codec, t, max_diffs) in theirs {
            let mut diffs = 0;
            for (x, their) in all.iter().zip(&t) {
                let ours = codec.compress(*x);
                if ours == *their {
                    continue;
                }
                diffs += 1;
                assert!(*x < 0, "{codec:?} {x}");
                let (lo, hi) = {
                    let (a, b) = (codec.expand(ours), codec.expand(*their));
                    (a.min(b), a.max(b))
                };
                assert!(
                    lo <= *x && *x <= hi,
                    "{codec:?} {x} not within [{lo}, {hi}]"
                );
                // Adjacent levels: neighbouring codes (A-law: once the even
                // bits are restored), or A-law's −0/+0.
                let flip = if codec == Codec::Pcma { 0x55 } else { 0 };
                let adjacent =
                    (ours ^ flip).abs_diff(*their ^ flip) == 1 || (ours, *their) == (0x55, 0xD5);
                assert!(adjacent, "{codec:?} {x}: {ours:#04x} vs {their:#04x}");
            }
            assert!(diffs <= max_diffs, "{codec:?}: {diffs} differences");
        }
    }

    #[test]
    fn frames_round_trip_within_one_step() {
        let tone: Pcm = std::array::from_fn(|i| ((i as f32 * 0.3).sin() * 8000.0) as i16);
        for codec in [Codec::Pcmu, Codec::Pcma] {
            let (mut f, mut back) = ([0u8; 160], [0i16; 160]);
            codec.encode(&tone, &mut f);
            codec.decode(&f, &mut back);
            let worst = tone.iter().zip(&back).map(|(a, b)| (a - b).abs()).max();
            assert!(worst.is_some_and(|w| w <= 256), "{codec:?} error {worst:?}");
            let mut s = [0u8; 160];
            codec.encode(&[0; 160], &mut s);
            assert!(s.iter().all(|b| *b == codec.silence()));
        }
        assert_eq!(Codec::from_payload_type(8), Some(Codec::Pcma));
        assert_eq!(
            Codec::from_payload_type(Codec::Pcmu.payload_type()),
            Some(Codec::Pcmu)
        );
        assert_eq!(Codec::from_payload_type(9), None);
    }
}
