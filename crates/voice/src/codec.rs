//! G.711 codecs (ITU-T G.711 µ-law/A-law), wrapping the `audio-codec` crate
//! (pinned `=0.4.13`) behind our own [`Codec`] type. 8 kHz mono, one byte per
//! sample; a 20 ms frame is 160 samples.

use audio_codec::{Decoder as _, Encoder as _};

/// Samples per 20 ms frame at 8 kHz.
pub const FRAME_SAMPLES: usize = 160;

/// An audio codec we can negotiate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    /// G.711 µ-law, static payload type 0 (RFC 3551 §6).
    Pcmu,
    /// G.711 A-law, static payload type 8 (RFC 3551 §6).
    Pcma,
}

impl Codec {
    /// Codec for a static payload type, if we support it.
    pub fn from_payload_type(pt: u8) -> Option<Codec> {
        match pt {
            0 => Some(Codec::Pcmu),
            8 => Some(Codec::Pcma),
            _ => None,
        }
    }

    /// RTP payload type.
    pub fn payload_type(self) -> u8 {
        match self {
            Codec::Pcmu => 0,
            Codec::Pcma => 8,
        }
    }

    /// SDP encoding name.
    pub fn name(self) -> &'static str {
        match self {
            Codec::Pcmu => "PCMU",
            Codec::Pcma => "PCMA",
        }
    }

    /// Decode G.711 bytes to 16-bit linear PCM (one sample per byte).
    pub fn decode(self, data: &[u8]) -> Vec<i16> {
        match self {
            Codec::Pcmu => audio_codec::pcmu::PcmuDecoder::new().decode(data),
            Codec::Pcma => audio_codec::pcma::PcmaDecoder::new().decode(data),
        }
    }

    /// Encode 16-bit linear PCM to G.711 bytes.
    pub fn encode(self, samples: &[i16]) -> Vec<u8> {
        match self {
            Codec::Pcmu => audio_codec::pcmu::PcmuEncoder::new().encode(samples),
            Codec::Pcma => audio_codec::pcma::PcmaEncoder::new().encode(samples),
        }
    }

    /// Re-encode a payload from `self` to `to` (identity when equal).
    pub fn transcode(self, to: Codec, data: &[u8]) -> Vec<u8> {
        if self == to {
            data.to_vec()
        } else {
            to.encode(&self.decode(data))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silence_and_round_trip() {
        // µ-law silence is 0xFF, A-law silence is 0xD5 (G.711 tables).
        assert_eq!(Codec::Pcmu.encode(&[0]), vec![0xFF]);
        assert_eq!(Codec::Pcma.encode(&[0]), vec![0xD5]);
        let tone: Vec<i16> = (0..160)
            .map(|i| ((i as f32 * 0.3).sin() * 8000.0) as i16)
            .collect();
        for c in [Codec::Pcmu, Codec::Pcma] {
            let back = c.decode(&c.encode(&tone));
            let worst = tone.iter().zip(&back).map(|(a, b)| (a - b).abs()).max();
            assert!(worst.is_some_and(|w| w < 300), "{c:?} error {worst:?}");
        }
        let a = Codec::Pcmu.transcode(Codec::Pcma, &Codec::Pcmu.encode(&tone));
        assert_eq!(a.len(), 160);
        assert_eq!(Codec::Pcmu.transcode(Codec::Pcmu, &[1, 2]), vec![1, 2]);
    }
}
