//! Loading flows and keeping the running versions: [`load_flow`] parses and
//! validates one file; [`FlowSet`] holds one [`Arc<Flow>`] per entry point and
//! replaces it on reload only when the new file is valid. A call keeps the
//! `Arc` it started with, so a reload never changes a call in progress.

use crate::catalog::PromptCatalog;
use crate::error::{Diag, ErrorKind, FlowError, FlowErrors, Location};
use crate::model::Flow;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

/// Largest flow file accepted, in bytes.
pub const MAX_FILE_BYTES: usize = 1 << 20;

/// Parse and validate one flow file's text. `file` is only used in errors.
///
/// # Errors
/// Every syntax, schema, graph and prompt problem found, each with its line
/// and column.
pub fn load_flow(file: &str, text: &str, catalog: &PromptCatalog) -> Result<Flow, FlowErrors> {
    let to_errors = |diags: Vec<Diag>| {
        let mut v: Vec<FlowError> = diags.into_iter().map(|d| d.into_error(file)).collect();
        v.sort_by_key(|e| e.location);
        FlowErrors(v)
    };
    if text.len() > MAX_FILE_BYTES {
        return Err(to_errors(vec![Diag::new(
            Location::new(1, 1),
            ErrorKind::Invalid,
            format!("file larger than {MAX_FILE_BYTES} bytes"),
        )]));
    }
    let root = crate::yaml::parse_document(text).map_err(|d| to_errors(vec![d]))?;
    let mut diags = Vec::new();
    let flow = crate::parse::parse_flow(file, &root, &mut diags);
    let Some(mut flow) = flow.filter(|_| diags.is_empty()) else {
        return Err(to_errors(diags));
    };
    let diags = crate::validate::validate(&mut flow, catalog);
    if diags.is_empty() {
        Ok(flow)
    } else {
        Err(to_errors(diags))
    }
}

/// The running flows, by name, each with a version number. Cloning is cheap
/// (flows are shared `Arc`s): a shell can load a new version on a clone off
/// its event loop and swap it in.
#[derive(Clone, Debug, Default)]
pub struct FlowSet {
    catalog: PromptCatalog,
    flows: BTreeMap<String, Arc<Flow>>,
}

impl FlowSet {
    /// An empty set checking prompts against `catalog`.
    pub fn new(catalog: PromptCatalog) -> Self {
        Self {
            catalog,
            flows: BTreeMap::new(),
        }
    }

    /// The prompt catalog flows are checked against.
    pub fn catalog(&self) -> &PromptCatalog {
        &self.catalog
    }

    /// Replace the catalog (after new prompts were recorded). Running flows
    /// are kept; the next load or reload checks against the new catalog.
    pub fn set_catalog(&mut self, catalog: PromptCatalog) {
        self.catalog = catalog;
    }

    /// Load (or reload) one flow from text. On success the flow becomes the
    /// running version for its name (version = previous + 1). On error the
    /// running version, if any, stays.
    ///
    /// # Errors
    /// The file's [`FlowErrors`]; also when another file already defines the
    /// same flow name.
    pub fn load_str(&mut self, file: &str, text: &str) -> Result<Arc<Flow>, FlowErrors> {
        let mut flow = load_flow(file, text, &self.catalog)?;
        if let Some(old) = self.flows.get(&flow.name)
            && old.file != flow.file
        {
            return Err(FlowErrors(vec![FlowError {
                file: file.to_string(),
                location: Location::new(1, 1),
                kind: ErrorKind::Invalid,
                message: format!("flow `{}` is already defined in {}", flow.name, old.file),
            }]));
        }
        flow.version = self.flows.get(&flow.name).map_or(1, |f| f.version + 1);
        let flow = Arc::new(flow);
        self.flows.insert(flow.name.clone(), Arc::clone(&flow));
        Ok(flow)
    }

    /// [`FlowSet::load_str`] on a file's content.
    ///
    /// # Errors
    /// As [`FlowSet::load_str`], or an [`ErrorKind::Io`] error.
    pub fn load_file(&mut self, path: &Path) -> Result<Arc<Flow>, FlowErrors> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| {
            FlowErrors(vec![FlowError {
                file: file.clone(),
                location: Location::new(1, 1),
                kind: ErrorKind::Io,
                message: e.to_string(),
            }])
        })?;
        self.load_str(&file, &text)
    }

    /// Load or reload every `*.yaml`/`*.yml` file of `dir`, in name order.
    /// Each file stands alone: a bad file is reported and leaves its running
    /// version in place; good files are (re)loaded.
    ///
    /// # Errors
    /// The I/O error if `dir` cannot be listed.
    pub fn load_dir(&mut self, dir: &Path) -> std::io::Result<DirReport> {
        let mut paths: Vec<_> = std::fs::read_dir(dir)?
            .flatten()
            .map(|e| e.path())
            .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
            .collect();
        paths.sort();
        let mut report = DirReport::default();
        for p in paths {
            match self.load_file(&p) {
                Ok(f) => report.loaded.push((f.name.clone(), f.version)),
                Err(e) => report.errors.extend(e.0),
            }
        }
        Ok(report)
    }

    /// The running version of flow `name`: hand this `Arc` to a new call.
    pub fn get(&self, name: &str) -> Option<Arc<Flow>> {
        self.flows.get(name).cloned()
    }

    /// Names of the running flows.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.flows.keys().map(String::as_str)
    }
}

/// What [`FlowSet::load_dir`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DirReport {
    /// Flows (re)loaded, with their new version.
    pub loaded: Vec<(String, u64)>,
    /// Errors of the files that were refused.
    pub errors: Vec<FlowError>,
}
