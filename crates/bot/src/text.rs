//! Text analysis for retrieval: [`Lang`], the [`Analyzer`] (lower-case,
//! split into words, drop stop words, Snowball stem, fold accents), language
//! guessing, and phrase matching on folded text.
//!
//! Stemming uses the Snowball French and English algorithms (`rust-stemmers`,
//! <https://snowballstem.org/algorithms/>). Accents are folded *after*
//! stemming (the French stemmer needs them), so `numéro` and `numero` meet.

use rust_stemmers::{Algorithm, Stemmer};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Longest text analysed, in characters; the rest of a longer message is
/// ignored by retrieval (a 10,000-character message is cut, not refused).
pub const MAX_ANALYSED_CHARS: usize = 2_000;

/// A language of the knowledge base and of the bot's own messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// French.
    Fr,
    /// English.
    En,
}

impl Lang {
    /// Both languages, French first.
    pub const ALL: [Lang; 2] = [Lang::Fr, Lang::En];

    /// The BCP 47 tag: `fr`, `en`.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::Fr => "fr",
            Lang::En => "en",
        }
    }

    /// From a BCP 47 tag (`fr`, `fr-FR`, `en-GB`...); `None` for others.
    pub fn from_tag(tag: &str) -> Option<Lang> {
        let primary = tag.split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "fr" => Some(Lang::Fr),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    fn index(self) -> usize {
        match self {
            Lang::Fr => 0,
            Lang::En => 1,
        }
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.tag())
    }
}

/// French stop words (lower case, with accents), from the usual Snowball
/// list trimmed of words that carry meaning here (`pas`, `plus`: "plus de
/// crédit").
const FR_STOP: &[&str] = &[
    "a", "à", "ai", "aie", "ait", "as", "au", "aux", "avec", "avez", "avoir", "c", "ça", "ce",
    "ceci", "cela", "ces", "cet", "cette", "d", "dans", "de", "des", "du", "elle", "en", "es",
    "est", "et", "être", "eu", "faire", "fait", "il", "ils", "j", "je", "l", "la", "le", "les",
    "leur", "lui", "m", "ma", "mais", "me", "mes", "moi", "mon", "n", "ne", "nos", "notre", "nous",
    "on", "ont", "ou", "où", "par", "pour", "qu", "que", "quel", "quelle", "quelles", "quels",
    "qui", "s", "sa", "se", "ses", "si", "son", "sont", "suis", "sur", "t", "ta", "te", "tes",
    "toi", "ton", "tu", "un", "une", "vos", "votre", "vous", "y", "comment", "est-ce", "puis",
    "peux", "peut", "pouvez", "dois", "doit", "faut", "veux", "voudrais", "aimerais", "bonjour",
    "salut", "merci", "svp", "stp", "plaît", "plait", "alors", "donc", "très", "bien", "quoi",
    "combien", "quand", "ici", "été", "avoir", "sais", "savoir",
];

/// English stop words (the usual Snowball list, trimmed the same way).
const EN_STOP: &[&str] = &[
    "a", "about", "am", "an", "and", "any", "are", "as", "at", "be", "been", "being", "but", "by",
    "can", "could", "did", "do", "does", "doing", "for", "from", "had", "has", "have", "having",
    "he", "her", "here", "him", "his", "how", "i", "if", "in", "into", "is", "it", "its", "itself",
    "just", "me", "my", "myself", "of", "on", "or", "our", "ours", "please", "she", "should", "so",
    "some", "than", "that", "the", "their", "them", "then", "there", "these", "they", "this",
    "those", "to", "too", "us", "was", "we", "were", "what", "when", "where", "which", "who",
    "whom", "why", "will", "with", "would", "you", "your", "yours", "hello", "hi", "thanks",
    "thank", "want", "need", "like", "get", "im", "i'm", "ve", "ll", "s", "t", "d", "m", "re",
    "much", "many", "there", "know", "tell", "let", "way",
];

/// Splits, filters and stems text for one language. It is the tokenizer of
/// the BM25 index, so documents and queries are analysed the same way.
pub struct Analyzer {
    lang: Lang,
    stemmer: Stemmer,
}

impl fmt::Debug for Analyzer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Analyzer")
            .field("lang", &self.lang)
            .finish()
    }
}

impl Analyzer {
    /// The analyzer for `lang`.
    pub fn new(lang: Lang) -> Self {
        let algo = match lang {
            Lang::Fr => Algorithm::French,
            Lang::En => Algorithm::English,
        };
        Self {
            lang,
            stemmer: Stemmer::create(algo),
        }
    }

    /// The language analysed.
    pub fn lang(&self) -> Lang {
        self.lang
    }

    /// The index terms of `text`: at most the first [`MAX_ANALYSED_CHARS`]
    /// characters, words of letters and digits, stop words removed, stemmed,
    /// accents folded. Never fails; emoji and punctuation give no term.
    pub fn terms(&self, text: &str) -> Vec<String> {
        let stop = stop_words(self.lang);
        words(text)
            .filter(|w| !stop.contains(&w.as_str()))
            .map(|w| fold(&self.stemmer.stem(&w)))
            .filter(|t| !t.is_empty())
            .collect()
    }
}

impl bm25::Tokenizer for Analyzer {
    fn tokenize(&self, input_text: &str) -> Vec<String> {
        self.terms(input_text)
    }
}

fn stop_words(lang: Lang) -> &'static [&'static str] {
    [FR_STOP, EN_STOP][lang.index()]
}

/// Lower-cased words of `text` (letters and digits; `'`, `’` and `-` split),
/// over at most [`MAX_ANALYSED_CHARS`] characters.
pub fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    let cut = match text.char_indices().nth(MAX_ANALYSED_CHARS) {
        Some((i, _)) => &text[..i],
        None => text,
    };
    cut.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
}

/// Removes the accents of Latin letters (`é` → `e`, `ç` → `c`, `œ` → `oe`);
/// other characters are kept.
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            'à' | 'â' | 'ä' | 'á' | 'ã' => out.push('a'),
            'é' | 'è' | 'ê' | 'ë' => out.push('e'),
            'î' | 'ï' | 'í' | 'ì' => out.push('i'),
            'ô' | 'ö' | 'ó' | 'ò' | 'õ' => out.push('o'),
            'ù' | 'û' | 'ü' | 'ú' => out.push('u'),
            'ç' => out.push('c'),
            'ÿ' => out.push('y'),
            'ñ' => out.push('n'),
            'œ' => out.push_str("oe"),
            'æ' => out.push_str("ae"),
            '’' => out.push('\''),
            _ => out.push(c),
        }
    }
    out
}

/// `text` lower-cased, accents folded, every run of non-alphanumeric
/// characters (except `'`) turned into one space, with a space at each end:
/// `" parler a quelqu'un "`. Phrases are matched on this form.
pub fn normalise(text: &str) -> String {
    let cut = match text.char_indices().nth(MAX_ANALYSED_CHARS) {
        Some((i, _)) => &text[..i],
        None => text,
    };
    let folded = fold(&cut.to_lowercase());
    let mut out = String::with_capacity(folded.len() + 2);
    out.push(' ');
    let mut space = true;
    for c in folded.chars() {
        if c.is_alphanumeric() || c == '\'' {
            out.push(c);
            space = false;
        } else if !space {
            out.push(' ');
            space = true;
        }
    }
    if !space {
        out.push(' ');
    }
    out
}

/// True when the [`normalise`]d `text` contains one of `phrases` as whole
/// words (each phrase written in normalised form without the end spaces).
pub fn contains_phrase(normalised: &str, phrases: &[&str]) -> bool {
    phrases
        .iter()
        .any(|p| normalised.contains(&format!(" {p} ")))
}

/// Guesses the language of `text` from its stop words and French accents;
/// `None` when there is no sign either way.
pub fn guess_lang(text: &str) -> Option<Lang> {
    let (mut fr, mut en) = (0u32, 0u32);
    for w in words(text) {
        if FR_STOP.contains(&w.as_str()) {
            fr += 1;
        }
        if EN_STOP.contains(&w.as_str()) {
            en += 1;
        }
        if w.chars().any(|c| "éèêàùçôîû".contains(c)) {
            fr += 1;
        }
    }
    match fr.cmp(&en) {
        std::cmp::Ordering::Greater => Some(Lang::Fr),
        std::cmp::Ordering::Less => Some(Lang::En),
        std::cmp::Ordering::Equal => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn french_terms_are_stemmed_and_folded() {
        let a = Analyzer::new(Lang::Fr);
        assert_eq!(a.terms("Mes factures impayées"), vec!["factur", "impai"]);
        assert_eq!(a.terms("numéro"), a.terms("numero"));
        assert!(a.terms("🙂🙂 !!").is_empty());
    }

    #[test]
    fn english_terms_are_stemmed() {
        let a = Analyzer::new(Lang::En);
        assert_eq!(
            a.terms("Topping up my balance"),
            vec!["top", "up", "balanc"]
        );
    }

    #[test]
    fn languages_are_guessed() {
        assert_eq!(guess_lang("je voudrais mon code PUK"), Some(Lang::Fr));
        assert_eq!(guess_lang("what is my PUK code"), Some(Lang::En));
        assert_eq!(guess_lang("PUK"), None);
    }

    #[test]
    fn phrases_match_whole_words() {
        let n = normalise("Je veux parler à quelqu’un !");
        assert!(contains_phrase(&n, &["parler a quelqu'un"]));
        assert!(!contains_phrase(&normalise("agenda"), &["agent"]));
    }
}
