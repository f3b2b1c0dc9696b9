//! Flow-file errors: every problem found while loading or validating a flow
//! carries the file, the 1-based line and column, and a [`ErrorKind`] that
//! tests and tools can match on.

use serde::Serialize;
use std::fmt;

/// A position in a flow file: 1-based line and 1-based column (in characters).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Location {
    /// Line, starting at 1.
    pub line: usize,
    /// Column, starting at 1.
    pub column: usize,
}

impl Location {
    /// A location at `line`, `column` (both 1-based).
    pub const fn new(line: usize, column: usize) -> Self {
        Self { line, column }
    }
}

/// What kind of problem a [`FlowError`] reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The text is not well-formed YAML (YAML 1.2), or nests too deep.
    Syntax,
    /// A field is missing, has the wrong type, or is not known for this node.
    Schema,
    /// A node's `type` is not one of the node kinds of [`crate::NodeKind`].
    UnknownNodeType,
    /// A `next`, `goto`, option or branch names a node that does not exist.
    MissingTarget,
    /// A node cannot be reached from `start`.
    Unreachable,
    /// A cycle of nodes none of which waits for the caller's input
    /// (menu, collect, offer channels): the call would spin forever.
    LoopWithoutInput,
    /// A prompt (or a word prompt needed by a `say` node) has no WAV file for a
    /// language the flow declares, nor for that language's fallback.
    MissingPrompt,
    /// Any other rule: bad template, bad SQL placeholder count, unknown
    /// language, unknown calendar or service, duplicate flow name...
    Invalid,
    /// The file could not be read.
    Io,
}

/// One problem in one flow file, at a line and column.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
pub struct FlowError {
    /// The file name as given to the loader.
    pub file: String,
    /// Where in the file (1-based line and column).
    pub location: Location,
    /// The class of problem.
    pub kind: ErrorKind,
    /// A human-readable explanation.
    pub message: String,
}

impl fmt::Display for FlowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.location.line, self.location.column, self.message
        )
    }
}

/// All problems found in one load: never empty when returned as an error.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
pub struct FlowErrors(pub Vec<FlowError>);

impl FlowErrors {
    /// True when some error is of `kind`.
    pub fn has(&self, kind: ErrorKind) -> bool {
        self.0.iter().any(|e| e.kind == kind)
    }

    /// The first error of `kind`, if any.
    pub fn first(&self, kind: ErrorKind) -> Option<&FlowError> {
        self.0.iter().find(|e| e.kind == kind)
    }
}

impl fmt::Display for FlowErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

/// An error before the file name is attached (inside the loader).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Diag {
    pub loc: Location,
    pub kind: ErrorKind,
    pub message: String,
}

impl Diag {
    pub(crate) fn new(loc: Location, kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            loc,
            kind,
            message: message.into(),
        }
    }

    pub(crate) fn schema(loc: Location, message: impl Into<String>) -> Self {
        Self::new(loc, ErrorKind::Schema, message)
    }

    pub(crate) fn invalid(loc: Location, message: impl Into<String>) -> Self {
        Self::new(loc, ErrorKind::Invalid, message)
    }

    pub(crate) fn into_error(self, file: &str) -> FlowError {
        FlowError {
            file: file.to_string(),
            location: self.loc,
            kind: self.kind,
            message: self.message,
        }
    }
}
