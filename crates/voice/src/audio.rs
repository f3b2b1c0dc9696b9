//! WAV prompts and stereo call recordings (hound 3.5).
//!
//! Prompts are 8 kHz mono 16-bit; other rates/channel counts are converted on
//! load (channels averaged, linear resampling). Recordings are stereo 8 kHz
//! 16-bit: caller on the left channel, agent (or platform prompts) on the right.

use std::path::Path;
use std::time::Duration;

/// Sample rate of everything in the media path, in Hz.
pub const RATE: u32 = 8000;

/// Errors from prompt and recording files.
#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    /// The file cannot be read/written or is not a PCM WAV.
    #[error("wav: {0}")]
    Wav(#[from] hound::Error),
    /// Float or > 16-bit samples (not supported for prompts).
    #[error("unsupported WAV format: {0}")]
    Unsupported(String),
}

/// Load a prompt as 8 kHz mono i16 samples.
pub fn load_prompt(path: &Path) -> Result<Vec<i16>, AudioError> {
    let mut r = hound::WavReader::open(path)?;
    let spec = r.spec();
    if spec.sample_format != hound::SampleFormat::Int || spec.bits_per_sample > 16 {
        return Err(AudioError::Unsupported(format!("{spec:?}")));
    }
    let shift = 16 - spec.bits_per_sample;
    let raw: Vec<i16> = r
        .samples::<i16>()
        .map(|s| s.map(|v| v << shift))
        .collect::<Result<_, _>>()?;
    let ch = usize::from(spec.channels.max(1));
    let mono: Vec<i16> = raw
        .chunks(ch)
        .map(|f| (f.iter().map(|s| i32::from(*s)).sum::<i32>() / f.len() as i32) as i16)
        .collect();
    Ok(resample(&mono, spec.sample_rate, RATE))
}

/// Linear resampling (good enough for speech prompts converted once at load).
pub fn resample(input: &[i16], from: u32, to: u32) -> Vec<i16> {
    if from == to || input.is_empty() || from == 0 {
        return input.to_vec();
    }
    let out_len = (input.len() as u64 * u64::from(to) / u64::from(from)) as usize;
    (0..out_len)
        .map(|i| {
            let pos = i as f64 * f64::from(from) / f64::from(to);
            let k = pos as usize;
            let frac = pos - k as f64;
            let a = f64::from(input[k.min(input.len() - 1)]);
            let b = f64::from(input[(k + 1).min(input.len() - 1)]);
            (a + (b - a) * frac) as i16
        })
        .collect()
}

/// Which channel of a recording a sample stream goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Left: the caller (customer) leg.
    Caller,
    /// Right: the agent leg, or what the platform plays to the caller.
    Agent,
}

/// A stereo recording being built in memory, aligned on elapsed time.
///
/// Each push is placed at the sample index of its arrival time (silence fills
/// gaps), or right after the previous samples of that side if those already
/// reach further (jitter never overwrites audio).
#[derive(Debug, Default, Clone)]
pub struct Recorder {
    left: Vec<i16>,
    right: Vec<i16>,
}

impl Recorder {
    /// Empty recording.
    pub fn new() -> Self {
        Recorder::default()
    }

    /// Add `samples` of `side` that arrived `at` after the recording started.
    pub fn push(&mut self, side: Side, at: Duration, samples: &[i16]) {
        let buf = match side {
            Side::Caller => &mut self.left,
            Side::Agent => &mut self.right,
        };
        let idx = (at.as_micros() * u128::from(RATE) / 1_000_000) as usize;
        // A packet covers the 20 ms before it arrives.
        let idx = idx.saturating_sub(samples.len());
        if buf.len() < idx {
            buf.resize(idx, 0);
        }
        buf.extend_from_slice(samples);
    }

    /// Length in samples per channel once padded to `end`.
    pub fn len_at(&self, end: Duration) -> usize {
        let end_idx = (end.as_micros() * u128::from(RATE) / 1_000_000) as usize;
        end_idx.max(self.left.len()).max(self.right.len())
    }

    /// Write a stereo 16-bit WAV padded to `end` (time since start).
    pub fn write(&self, path: &Path, end: Duration) -> Result<(), AudioError> {
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: RATE,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(path, spec)?;
        for i in 0..self.len_at(end) {
            w.write_sample(self.left.get(i).copied().unwrap_or(0))?;
            w.write_sample(self.right.get(i).copied().unwrap_or(0))?;
        }
        w.finalize()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorder_aligns_sides_and_pads() {
        let mut r = Recorder::new();
        r.push(Side::Caller, Duration::from_millis(20), &[1; 160]);
        r.push(Side::Agent, Duration::from_millis(1000), &[2; 160]);
        assert_eq!(r.right.len(), 8000);
        assert_eq!(r.right[7840], 2);
        assert_eq!(r.right[7839], 0);
        assert_eq!(r.len_at(Duration::from_secs(2)), 16000);
        let dir = std::env::temp_dir().join(format!("sb-rec-{}.wav", std::process::id()));
        r.write(&dir, Duration::from_secs(2)).expect("write");
        let rd = hound::WavReader::open(&dir).expect("open");
        assert_eq!(rd.spec().channels, 2);
        assert_eq!(rd.duration(), 16000);
        let _ = std::fs::remove_file(&dir);
    }

    #[test]
    fn prompt_is_converted_to_8k_mono() {
        let path = std::env::temp_dir().join(format!("sb-prompt-{}.wav", std::process::id()));
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: 16000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(&path, spec).expect("create");
        for _ in 0..16000 {
            w.write_sample(100i16).expect("s");
            w.write_sample(300i16).expect("s");
        }
        w.finalize().expect("fin");
        let p = load_prompt(&path).expect("load");
        assert_eq!(p.len(), 8000);
        assert!(p.iter().all(|s| *s == 200));
        let _ = std::fs::remove_file(&path);
    }
}
