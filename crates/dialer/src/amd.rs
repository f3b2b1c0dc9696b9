//! Answering-machine detection (AMD) on the answered leg: an energy/silence
//! state machine over 20 ms frames of 8 kHz linear PCM (160 `i16` samples),
//! with the parameters and decisions of Asterisk's `app_amd`
//! (apps/app_amd.c, configs/samples/amd.conf.sample): a long initial
//! silence, a long greeting, too many words or a too-long word mean a
//! machine; a short greeting followed by silence means a person; running
//! out of analysis time is "not sure".
//!
//! A frame is silent when its mean absolute amplitude is under
//! `silence_threshold` (app_amd uses the DSP silence detector the same way).

/// app_amd's parameters, all in ms except the word count and threshold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AmdParams {
    /// Silence before any speech that means a machine (default 2 500).
    pub initial_silence_ms: u32,
    /// Speech longer than this in all means a machine greeting (default 1 500).
    pub greeting_ms: u32,
    /// Silence after a greeting that means a person (default 800).
    pub after_greeting_silence_ms: u32,
    /// Analysis gives up after this: not sure (default 5 000).
    pub total_analysis_time_ms: u32,
    /// Voice shorter than this is not a word (default 100).
    pub min_word_length_ms: u32,
    /// Silence that ends a word (default 50).
    pub between_words_silence_ms: u32,
    /// This many words mean a machine (default 2).
    pub maximum_number_of_words: u32,
    /// Mean |sample| under which a frame is silent (default 256).
    pub silence_threshold: u16,
    /// One word longer than this means a machine (default 5 000).
    pub maximum_word_length_ms: u32,
}

impl Default for AmdParams {
    fn default() -> Self {
        Self {
            initial_silence_ms: 2_500,
            greeting_ms: 1_500,
            after_greeting_silence_ms: 800,
            total_analysis_time_ms: 5_000,
            min_word_length_ms: 100,
            between_words_silence_ms: 50,
            maximum_number_of_words: 2,
            silence_threshold: 256,
            maximum_word_length_ms: 5_000,
        }
    }
}

/// Why the detector decided (app_amd's `AMDCAUSE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AmdCause {
    /// `INITIALSILENCE`: nobody spoke first.
    InitialSilence,
    /// `LONGGREETING`: spoke longer than `greeting_ms`.
    LongGreeting,
    /// `MAXWORDS`: said `maximum_number_of_words` words.
    MaxWords,
    /// `MAXWORDLENGTH`: one word longer than `maximum_word_length_ms`.
    MaxWordLength,
    /// `HUMAN`: a short greeting then silence.
    AfterGreetingSilence,
    /// `TOOLONG`: analysis time over.
    TooLong,
}

/// The verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AmdResult {
    /// A person.
    Human(AmdCause),
    /// An answering machine.
    Machine(AmdCause),
    /// Not sure (analysis time over); the campaign treats it as live.
    NotSure(AmdCause),
}

/// Samples in one 20 ms frame at 8 kHz.
pub const FRAME: usize = 160;
const FRAME_MS: u32 = 20;

/// The detector of one answered leg. Feed audio with [`Amd::push`]; it
/// returns the verdict once, then ignores further audio.
#[derive(Clone, Debug)]
pub struct Amd {
    p: AmdParams,
    buf: Vec<i16>,
    total_ms: u32,
    silence_ms: u32,
    voice_ms: u32,
    consecutive_voice_ms: u32,
    words: u32,
    in_word: bool,
    in_initial_silence: bool,
    in_greeting: bool,
    result: Option<AmdResult>,
}

impl Amd {
    /// A detector with these parameters.
    pub fn new(p: AmdParams) -> Self {
        Self {
            p,
            buf: Vec::with_capacity(FRAME),
            total_ms: 0,
            silence_ms: 0,
            voice_ms: 0,
            consecutive_voice_ms: 0,
            words: 0,
            in_word: false,
            in_initial_silence: true,
            in_greeting: false,
            result: None,
        }
    }

    /// The verdict, once reached.
    pub fn result(&self) -> Option<AmdResult> {
        self.result
    }

    /// Feed 8 kHz 16-bit linear samples (any length; kept in a buffer of
    /// at most one frame). Returns the verdict when reached.
    pub fn push(&mut self, samples: &[i16]) -> Option<AmdResult> {
        for &s in samples {
            if self.result.is_some() {
                break;
            }
            self.buf.push(s);
            if self.buf.len() == FRAME {
                let energy = self
                    .buf
                    .iter()
                    .map(|&x| u64::from(x.unsigned_abs()))
                    .sum::<u64>()
                    / FRAME as u64;
                self.buf.clear();
                self.result = self.frame(energy < u64::from(self.p.silence_threshold));
            }
        }
        self.result
    }

    fn frame(&mut self, silent: bool) -> Option<AmdResult> {
        let p = self.p;
        self.total_ms += FRAME_MS;
        if self.total_ms >= p.total_analysis_time_ms {
            return Some(AmdResult::NotSure(AmdCause::TooLong));
        }
        if silent {
            self.silence_ms += FRAME_MS;
            if self.silence_ms >= p.between_words_silence_ms {
                self.in_word = false;
                self.consecutive_voice_ms = 0;
            }
            if self.in_initial_silence && self.silence_ms >= p.initial_silence_ms {
                return Some(AmdResult::Machine(AmdCause::InitialSilence));
            }
            if self.in_greeting && self.silence_ms >= p.after_greeting_silence_ms {
                return Some(AmdResult::Human(AmdCause::AfterGreetingSilence));
            }
        } else {
            self.consecutive_voice_ms += FRAME_MS;
            self.voice_ms += FRAME_MS;
            if self.consecutive_voice_ms >= p.min_word_length_ms && !self.in_word {
                self.words += 1;
                self.in_word = true;
                self.silence_ms = 0;
                if self.words >= p.maximum_number_of_words {
                    return Some(AmdResult::Machine(AmdCause::MaxWords));
                }
            }
            if self.in_word && self.consecutive_voice_ms >= p.maximum_word_length_ms {
                return Some(AmdResult::Machine(AmdCause::MaxWordLength));
            }
            if self.consecutive_voice_ms >= p.min_word_length_ms {
                // a short click does not end the silence before it
                self.silence_ms = 0;
            }
            if !self.in_greeting && self.voice_ms >= p.min_word_length_ms {
                self.in_greeting = true;
                self.in_initial_silence = false;
            }
            if self.voice_ms >= p.greeting_ms {
                return Some(AmdResult::Machine(AmdCause::LongGreeting));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn silence(ms: u32) -> Vec<i16> {
        vec![0; (ms * 8) as usize]
    }
    /// A 300 Hz tone with a little noise-like wobble, amplitude ~8 000.
    fn voice(ms: u32) -> Vec<i16> {
        (0..ms * 8)
            .map(|i| {
                let t = f64::from(i) / 8000.0;
                (8000.0
                    * (2.0 * std::f64::consts::PI * 300.0 * t).sin()
                    * (1.0 + 0.2 * (37.0 * t).sin())) as i16
            })
            .collect()
    }
    fn run(parts: &[Vec<i16>], p: AmdParams) -> Option<AmdResult> {
        let mut a = Amd::new(p);
        for part in parts {
            // feed in odd-sized chunks to exercise the frame buffer
            for chunk in part.chunks(97) {
                a.push(chunk);
            }
        }
        a.result()
    }

    #[test]
    fn short_hello_then_silence_is_human() {
        let r = run(
            &[silence(300), voice(500), silence(1_500)],
            AmdParams::default(),
        );
        assert_eq!(r, Some(AmdResult::Human(AmdCause::AfterGreetingSilence)));
    }

    #[test]
    fn greeting_with_several_words_is_machine() {
        let r = run(
            &[
                silence(200),
                voice(400),
                silence(150),
                voice(400),
                silence(150),
                voice(600),
            ],
            AmdParams::default(),
        );
        assert_eq!(r, Some(AmdResult::Machine(AmdCause::MaxWords)));
        // with a high word limit, the length of the greeting decides
        let p = AmdParams {
            maximum_number_of_words: 10,
            ..AmdParams::default()
        };
        let r = run(
            &[
                silence(200),
                voice(600),
                silence(150),
                voice(600),
                silence(150),
                voice(600),
            ],
            p,
        );
        assert_eq!(r, Some(AmdResult::Machine(AmdCause::LongGreeting)));
    }

    #[test]
    fn silence_is_machine_or_not_sure_per_parameters() {
        assert_eq!(
            run(&[silence(3_000)], AmdParams::default()),
            Some(AmdResult::Machine(AmdCause::InitialSilence))
        );
        let p = AmdParams {
            initial_silence_ms: 6_000,
            ..AmdParams::default()
        };
        assert_eq!(
            run(&[silence(6_000)], p),
            Some(AmdResult::NotSure(AmdCause::TooLong))
        );
        // not enough audio yet: no verdict
        assert_eq!(run(&[silence(1_000)], AmdParams::default()), None);
    }
}
