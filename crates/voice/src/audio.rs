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

/// Samples kept in memory behind the newest one before they are written out
/// (absorbs jitter between the two sides), 1 s at 8 kHz.
const FLUSH_LAG: usize = RATE as usize;
/// Write in chunks of at least this many frames (1 s).
const FLUSH_CHUNK: usize = RATE as usize;

/// A stereo recording streamed to a WAV file, aligned on elapsed time.
///
/// Each push is placed at the sample index of its arrival time (silence fills
/// gaps), or right after the previous samples of that side if those already
/// reach further (jitter never overwrites audio). Frames older than 1 s are
/// written out in 1 s chunks, so memory stays bounded on long calls.
///
/// The file is a valid WAV at every moment (issue 13, `kill -9`): the header
/// is written and flushed at creation, and after each chunk the RIFF and
/// `data` sizes are updated and the file flushed (hound's `flush`), so a
/// process killed mid-call leaves a playable file holding all audio up to
/// about 2 s (lag + chunk) before the kill.
pub struct Recorder {
    writer: Option<hound::WavWriter<std::io::BufWriter<std::fs::File>>>,
    /// The file, to make it durable at the end.
    path: std::path::PathBuf,
    /// Frames already written.
    base: usize,
    left: Vec<i16>,
    right: Vec<i16>,
    error: Option<String>,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("written_frames", &self.base)
            .field("buffered", &self.buffered())
            .finish()
    }
}

impl Recorder {
    /// Create the WAV file (stereo, 8 kHz, 16-bit). Errors: file creation.
    pub fn create(path: &Path) -> Result<Self, AudioError> {
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: RATE,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut writer = hound::WavWriter::create(path, spec)?;
        // An empty but valid file from the start (sizes 0).
        writer.flush()?;
        Ok(Recorder {
            writer: Some(writer),
            path: path.to_path_buf(),
            base: 0,
            left: Vec::new(),
            right: Vec::new(),
            error: None,
        })
    }

    /// Frames held in memory (not yet written).
    pub fn buffered(&self) -> usize {
        self.left.len().max(self.right.len())
    }

    /// Add `samples` of `side` that arrived `at` after the recording started.
    pub fn push(&mut self, side: Side, at: Duration, samples: &[i16]) {
        let abs = (at.as_micros() * u128::from(RATE) / 1_000_000) as usize;
        // A packet covers the 20 ms before it arrives.
        let idx = abs.saturating_sub(samples.len()).saturating_sub(self.base);
        let buf = match side {
            Side::Caller => &mut self.left,
            Side::Agent => &mut self.right,
        };
        if buf.len() < idx {
            buf.resize(idx, 0);
        }
        buf.extend_from_slice(samples);
        let safe = abs.saturating_sub(FLUSH_LAG).saturating_sub(self.base);
        if safe >= FLUSH_CHUNK {
            self.flush(safe);
        }
    }

    /// Write the first `n` buffered frames (silence where a side is short).
    fn flush(&mut self, n: usize) {
        let Some(w) = self.writer.as_mut() else {
            return;
        };
        for i in 0..n {
            let l = self.left.get(i).copied().unwrap_or(0);
            let r = self.right.get(i).copied().unwrap_or(0);
            if let Err(e) = w.write_sample(l).and_then(|_| w.write_sample(r)) {
                self.error.get_or_insert(e.to_string());
                break;
            }
        }
        // Checkpoint: header sizes now cover every frame written.
        if self.error.is_none()
            && let Err(e) = w.flush()
        {
            self.error.get_or_insert(e.to_string());
        }
        self.left.drain(..n.min(self.left.len()));
        self.right.drain(..n.min(self.right.len()));
        self.base += n;
    }

    /// Pad to `end` (time since start), write the rest, close the file and
    /// make it durable (`fsync` of the file, then of its folder, so that a
    /// power cut after the call keeps the recording and its name). Returns
    /// the length in frames. Errors: any write error seen so far, or the
    /// sync's. Blocking: call it off the async workers.
    pub fn finish(&mut self, end: Duration) -> Result<u64, AudioError> {
        let end_abs = (end.as_micros() * u128::from(RATE) / 1_000_000) as usize;
        let n = end_abs.saturating_sub(self.base).max(self.buffered());
        self.flush(n);
        if let Some(e) = self.error.take() {
            return Err(AudioError::Unsupported(format!("write failed: {e}")));
        }
        if let Some(w) = self.writer.take() {
            w.finalize()?;
            let sync = |p: &Path| std::fs::File::open(p).and_then(|f| f.sync_all());
            sync(&self.path).map_err(|e| AudioError::Wav(hound::Error::IoError(e)))?;
            if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
                sync(dir).map_err(|e| AudioError::Wav(hound::Error::IoError(e)))?;
            }
        }
        Ok(self.base as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorder_aligns_sides_and_pads() {
        let path = std::env::temp_dir().join(format!("sb-rec-{}.wav", std::process::id()));
        let mut r = Recorder::create(&path).expect("create");
        r.push(Side::Caller, Duration::from_millis(20), &[1; 160]);
        r.push(Side::Agent, Duration::from_millis(1000), &[2; 160]);
        assert_eq!(r.finish(Duration::from_secs(2)).expect("finish"), 16000);
        let rd = hound::WavReader::open(&path).expect("open");
        assert_eq!((rd.spec().channels, rd.duration()), (2, 16000));
        let s: Vec<i16> = rd
            .into_samples()
            .collect::<Result<_, _>>()
            .expect("samples");
        assert_eq!((s[0], s[1]), (1, 0), "caller left");
        assert_eq!(
            (s[2 * 7840], s[2 * 7840 + 1]),
            (0, 2),
            "agent right at 0.98 s"
        );
        assert_eq!(s[2 * 7839 + 1], 0);
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn long_recordings_are_streamed_with_bounded_memory() {
        let path = std::env::temp_dir().join(format!("sb-long-{}.wav", std::process::id()));
        let mut r = Recorder::create(&path).expect("create");
        // 60 s of 20 ms frames on both sides.
        for k in 1..=3000u64 {
            let at = Duration::from_millis(20 * k);
            r.push(Side::Caller, at, &[3; 160]);
            r.push(Side::Agent, at, &[4; 160]);
            assert!(
                r.buffered() <= FLUSH_LAG + FLUSH_CHUNK + 160,
                "{}",
                r.buffered()
            );
        }
        assert_eq!(r.finish(Duration::from_secs(60)).expect("finish"), 480_000);
        let rd = hound::WavReader::open(&path).expect("open");
        assert_eq!(rd.duration(), 480_000);
        let s: Vec<i16> = rd
            .into_samples()
            .collect::<Result<_, _>>()
            .expect("samples");
        assert!(
            s.chunks(2).all(|f| f == [3, 4]),
            "no gap or overlap at chunk edges"
        );
        let _ = std::fs::remove_file(&path);
    }

    /// The header read straight from the file: (RIFF size, data size).
    fn header_sizes(path: &Path) -> (u32, u32, u64) {
        let b = std::fs::read(path).expect("read");
        assert_eq!((&b[0..4], &b[8..12]), (&b"RIFF"[..], &b"WAVE"[..]));
        let riff = u32::from_le_bytes(b[4..8].try_into().unwrap());
        // hound writes `fmt ` (16 bytes) then `data`: the data size is at 40.
        assert_eq!(&b[36..40], b"data");
        let data = u32::from_le_bytes(b[40..44].try_into().unwrap());
        (riff, data, b.len() as u64)
    }

    #[test]
    fn recording_is_a_valid_wav_after_each_flush_without_finish() {
        let path = std::env::temp_dir().join(format!("sb-ckpt-{}.wav", std::process::id()));
        let mut r = Recorder::create(&path).expect("create");
        assert_eq!(header_sizes(&path), (36, 0, 44), "valid and empty at start");
        for k in 1..=500u64 {
            let at = Duration::from_millis(20 * k);
            r.push(Side::Caller, at, &[5; 160]);
            r.push(Side::Agent, at, &[6; 160]);
            // After each chunk the sizes on disk match the frames written,
            // as if the process died right now (no finish, no drop).
            let frames = r.base as u32;
            let (riff, data, len) = header_sizes(&path);
            assert_eq!(data, frames * 4, "data size at {k}");
            assert_eq!(riff, 36 + frames * 4);
            assert_eq!(
                len,
                44 + u64::from(frames) * 4,
                "file holds what the header says"
            );
        }
        // 10 s pushed: every second older than the 1 s lag is on disk.
        assert_eq!(r.base, 9 * RATE as usize);
        let rd = hound::WavReader::open(&path).expect("readable before finish");
        assert_eq!(rd.duration(), 9 * RATE);
        let s: Vec<i16> = rd
            .into_samples()
            .collect::<Result<_, _>>()
            .expect("samples");
        assert!(s.chunks(2).all(|f| f == [5, 6]));
        // `mem::forget`: no finalize on drop, as after `kill -9`.
        std::mem::forget(r);
        let _ = std::fs::remove_file(&path);
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
