//! Decoded prompts shared by every leg that plays them.
//!
//! A prompt (or the music on hold) is read and decoded once, off the async
//! workers, then kept: the next `play` of the same file hands the same
//! samples to the leg's media task, with no file read in the caller's path
//! (the engine awaits `play` in its loop; under load, decoding the same WAV
//! for every waiting caller slowed every call). A file changed on disk (its
//! modification time) is read again.
//!
//! Bounded: at most [`MAX_PROMPTS`] files and [`MAX_SAMPLES`] samples; past
//! either, the oldest loaded prompt is dropped (legs playing it keep their
//! copy).

use crate::audio;
use crate::control::VoiceError;
use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

/// Most prompt files kept decoded.
pub const MAX_PROMPTS: usize = 512;
/// Most samples kept decoded (8 kHz i16: 16 M samples = 32 MB, about 35 min).
pub const MAX_SAMPLES: usize = 16 * 1024 * 1024;

#[derive(Debug, Default)]
struct Inner {
    map: HashMap<PathBuf, (Option<SystemTime>, Arc<Vec<i16>>)>,
    order: VecDeque<PathBuf>,
    samples: usize,
}

/// The cache (cheap to clone: shared).
#[derive(Debug, Clone, Default)]
pub struct PromptCache {
    inner: Arc<Mutex<Inner>>,
}

impl PromptCache {
    /// The samples of `path` (8 kHz mono), decoded once per modification.
    ///
    /// # Errors
    /// [`VoiceError::Audio`] for a missing or unsupported file;
    /// [`VoiceError::Stopped`] when the runtime is shutting down.
    pub async fn load(&self, path: PathBuf) -> Result<Arc<Vec<i16>>, VoiceError> {
        let modified = tokio::fs::metadata(&path)
            .await
            .ok()
            .and_then(|m| m.modified().ok());
        if let Some(hit) = self.get(&path, modified) {
            return Ok(hit);
        }
        let p = path.clone();
        let samples = Arc::new(
            tokio::task::spawn_blocking(move || audio::load_prompt(&p))
                .await
                .map_err(|_| VoiceError::Stopped)??,
        );
        self.insert(path, modified, samples.clone());
        Ok(samples)
    }

    fn get(&self, path: &Path, modified: Option<SystemTime>) -> Option<Arc<Vec<i16>>> {
        let inner = self.inner.lock().ok()?;
        match inner.map.get(path) {
            Some((m, s)) if *m == modified && modified.is_some() => Some(s.clone()),
            _ => None,
        }
    }

    fn insert(&self, path: PathBuf, modified: Option<SystemTime>, samples: Arc<Vec<i16>>) {
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        if let Some((_, old)) = inner.map.remove(&path) {
            inner.samples -= old.len();
            inner.order.retain(|p| p != &path);
        }
        inner.samples += samples.len();
        inner.map.insert(path.clone(), (modified, samples));
        inner.order.push_back(path);
        while inner.order.len() > MAX_PROMPTS || inner.samples > MAX_SAMPLES {
            let Some(oldest) = inner.order.pop_front() else {
                break;
            };
            if let Some((_, s)) = inner.map.remove(&oldest) {
                inner.samples -= s.len();
            }
        }
    }

    /// Prompt files kept now.
    pub fn len(&self) -> usize {
        self.inner.lock().map(|i| i.map.len()).unwrap_or(0)
    }

    /// Whether nothing is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wav(path: &Path, samples: &[i16]) {
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: 8000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(path, spec).unwrap();
        for s in samples {
            w.write_sample(*s).unwrap();
        }
        w.finalize().unwrap();
    }

    #[tokio::test]
    async fn a_prompt_is_decoded_once_and_again_when_the_file_changes() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("moh.wav");
        wav(&f, &[1, 2, 3]);
        let cache = PromptCache::default();
        let a = cache.load(f.clone()).await.unwrap();
        let b = cache.load(f.clone()).await.unwrap();
        assert_eq!(*a, vec![1, 2, 3]);
        assert!(Arc::ptr_eq(&a, &b), "the second play shares the samples");
        assert_eq!(cache.len(), 1);
        // Re-recorded: a new modification time is read again.
        wav(&f, &[4, 5]);
        let later = SystemTime::now() + std::time::Duration::from_secs(5);
        std::fs::File::options()
            .write(true)
            .open(&f)
            .unwrap()
            .set_modified(later)
            .unwrap();
        assert_eq!(*cache.load(f.clone()).await.unwrap(), vec![4, 5]);
        assert_eq!(cache.len(), 1);
        // A missing file is an error, not a cached one.
        assert!(cache.load(dir.path().join("none.wav")).await.is_err());
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn past_its_caps_the_oldest_prompt_goes() {
        let cache = PromptCache::default();
        for i in 0..(MAX_PROMPTS + 3) {
            cache.insert(
                PathBuf::from(format!("p{i}.wav")),
                Some(SystemTime::UNIX_EPOCH),
                Arc::new(vec![0; 2]),
            );
        }
        assert_eq!(cache.len(), MAX_PROMPTS);
        assert!(
            cache
                .get(Path::new("p0.wav"), Some(SystemTime::UNIX_EPOCH))
                .is_none()
        );
        assert!(
            cache
                .get(Path::new("p3.wav"), Some(SystemTime::UNIX_EPOCH))
                .is_some()
        );
        cache.insert(
            PathBuf::from("big.wav"),
            Some(SystemTime::UNIX_EPOCH),
            Arc::new(vec![0; MAX_SAMPLES]),
        );
        assert_eq!(cache.len(), 1, "the big one alone fits");
    }
}
