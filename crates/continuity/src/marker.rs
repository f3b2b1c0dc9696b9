//! The unclean-restart detector: a marker file `switchboard.running` in the
//! data dir, written when a node starts serving and removed when it stops
//! cleanly. Found at start, it means the previous run crashed (or was
//! `kill -9`ed): the "server crash" detection of [`crate::incidents`].

use std::path::{Path, PathBuf};

/// The marker's file name in the data dir.
pub const MARKER: &str = "switchboard.running";

fn path(data_dir: &Path) -> PathBuf {
    data_dir.join(MARKER)
}

/// Mark the node as running (`pid` and start time, ms since the epoch, in
/// the file). Returns the previous run's marker text when it was still there
/// (an unclean stop), else `None`.
///
/// # Errors
/// I/O errors writing the marker.
pub fn mark_running(data_dir: &Path, pid: u32, now_ms: i64) -> std::io::Result<Option<String>> {
    std::fs::create_dir_all(data_dir)?;
    let p = path(data_dir);
    let previous = match std::fs::read_to_string(&p) {
        Ok(s) => Some(s.trim().to_string()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    std::fs::write(&p, format!("pid={pid} started_ms={now_ms}\n"))?;
    Ok(previous)
}

/// Remove the marker at a clean stop.
///
/// # Errors
/// I/O errors other than "not found".
pub fn mark_stopped(data_dir: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(path(data_dir)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_marker_left_behind_means_an_unclean_stop() {
        let d = tempfile::tempdir().unwrap();
        assert_eq!(mark_running(d.path(), 1, 10).unwrap(), None);
        mark_stopped(d.path()).unwrap();
        assert_eq!(mark_running(d.path(), 2, 20).unwrap(), None);
        // No clean stop: the next start sees the previous run.
        assert_eq!(
            mark_running(d.path(), 3, 30).unwrap().as_deref(),
            Some("pid=2 started_ms=20")
        );
        mark_stopped(d.path()).unwrap();
        mark_stopped(d.path()).unwrap();
    }
}
