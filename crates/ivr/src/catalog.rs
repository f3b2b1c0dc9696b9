//! The set of prompt files that exist: `assets/prompts/<lang>/<name>.wav`.
//! Validation checks every prompt a flow can play against it.

use std::collections::BTreeSet;
use std::path::Path;

/// Known prompts as (language, name) pairs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PromptCatalog {
    set: BTreeSet<(String, String)>,
}

impl PromptCatalog {
    /// An empty catalog.
    pub fn new() -> Self {
        Self::default()
    }

    /// Scan `dir/<lang>/<name>.wav` (one level of language folders).
    ///
    /// # Errors
    /// The I/O error if `dir` cannot be read; unreadable sub-folders are skipped.
    pub fn from_dir(dir: &Path) -> std::io::Result<Self> {
        let mut cat = Self::new();
        for lang in std::fs::read_dir(dir)? {
            let lang = lang?;
            if !lang.file_type()?.is_dir() {
                continue;
            }
            let Some(l) = lang.file_name().to_str().map(str::to_string) else {
                continue;
            };
            let Ok(files) = std::fs::read_dir(lang.path()) else {
                continue;
            };
            for f in files.flatten() {
                let p = f.path();
                if p.extension().and_then(|e| e.to_str()) == Some("wav")
                    && let Some(stem) = p.file_stem().and_then(|s| s.to_str())
                {
                    cat.insert(&l, stem);
                }
            }
        }
        Ok(cat)
    }

    /// Add one prompt.
    pub fn insert(&mut self, lang: &str, name: &str) {
        self.set.insert((lang.to_string(), name.to_string()));
    }

    /// True when `lang/name.wav` exists.
    pub fn contains(&self, lang: &str, name: &str) -> bool {
        self.set.contains(&(lang.to_string(), name.to_string()))
    }

    /// Number of prompts.
    pub fn len(&self) -> usize {
        self.set.len()
    }

    /// True when no prompt is known.
    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
    }

    pub(crate) fn pairs(&self) -> &BTreeSet<(String, String)> {
        &self.set
    }
}
