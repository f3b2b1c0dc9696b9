//! The writer's local journal: append-only segment files of checksummed
//! lines, in `journal_dir`, named `<20-digit number>.journal` (oldest first).
//!
//! One line per [`KeyedWrite`]: `<crc32c of the JSON, 8 hex digits> <JSON>\n`
//! (CRC-32C, RFC 3720 appendix B.4). Appends are fsync'd (`sync_data`) before
//! they count as durable; a new segment's directory entry is fsync'd too.
//! A line without its `\n` at the end of a segment (a write torn by
//! `kill -9` or power loss) and a line whose checksum does not match are
//! skipped with an error log; the lines after them are still read.
//!
//! Reading is separate from trimming: [`Journal::read_batch`] returns the
//! oldest lines not yet applied, [`Journal::commit`] moves past them once the
//! store has committed them, and deletes a segment when all of it is
//! behind. A new writer run never appends to an old segment (it opens a new
//! one), so an old torn tail cannot glue onto a new line.
//!
//! Blocking file I/O: the writer calls it through `spawn_blocking`.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Seek, SeekFrom, Write as _};
use std::path::{Path, PathBuf};
use store::KeyedWrite;

const CRC: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISCSI);
const EXT: &str = "journal";

/// One journal line for `w`, `\n` included.
///
/// # Errors
/// The write cannot be serialised (e.g. a non-finite float).
pub(crate) fn encode_line(w: &KeyedWrite) -> Result<Vec<u8>, serde_json::Error> {
    let json = serde_json::to_vec(w)?;
    let mut line = format!("{:08x} ", CRC.checksum(&json)).into_bytes();
    line.extend_from_slice(&json);
    line.push(b'\n');
    Ok(line)
}

/// Decode one line (without its `\n`).
fn decode_line(line: &[u8]) -> Result<KeyedWrite, String> {
    let (sum, json) = match line.iter().position(|b| *b == b' ') {
        Some(8) => (&line[..8], &line[9..]),
        _ => return Err("no checksum".into()),
    };
    let sum = std::str::from_utf8(sum)
        .ok()
        .and_then(|s| u32::from_str_radix(s, 16).ok())
        .ok_or_else(|| "bad checksum field".to_string())?;
    if CRC.checksum(json) != sum {
        return Err("checksum mismatch".into());
    }
    serde_json::from_slice(json).map_err(|e| format!("bad JSON: {e}"))
}

struct Segment {
    id: u64,
    path: PathBuf,
    /// Bytes before this offset are applied (committed in the store).
    offset: u64,
}

/// The oldest unapplied lines of one segment, and where each ends.
pub(crate) struct ReadBatch {
    /// The writes, in journal order.
    pub writes: Vec<KeyedWrite>,
    /// `ends[i]`: the segment offset just after `writes[i]`'s line (or after
    /// the skipped lines that follow it).
    ends: Vec<u64>,
    /// Offset after everything read, skipped lines included.
    end: u64,
    seg: u64,
}

/// The append-only journal of one writer (see the module doc).
pub(crate) struct Journal {
    dir: PathBuf,
    /// Segments holding unapplied lines, oldest first (the append target,
    /// when there is one, is last).
    segments: VecDeque<Segment>,
    /// The segment being appended to: its id, file and length.
    append: Option<(u64, File, u64)>,
    next_id: u64,
    max_segment_bytes: u64,
    /// Lines not yet committed (old segments counted at open).
    pending: usize,
    /// Corrupt or torn lines skipped so far.
    pub skipped_lines: u64,
}

impl Journal {
    /// Open `dir` (created if missing) and take every segment left there by
    /// earlier runs as backlog. Returns the journal and the number of
    /// readable lines found.
    pub fn open(dir: &Path, max_segment_bytes: u64) -> io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let mut ids = Vec::new();
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            if path.extension().and_then(|e| e.to_str()) != Some(EXT) {
                continue;
            }
            if let Some(id) = path
                .file_stem()
                .and_then(|s| s.to_str())
                .and_then(|s| s.parse::<u64>().ok())
            {
                ids.push(id);
            }
        }
        ids.sort_unstable();
        let mut j = Self {
            dir: dir.to_path_buf(),
            segments: VecDeque::new(),
            append: None,
            next_id: ids.last().map_or(1, |l| l + 1),
            max_segment_bytes: max_segment_bytes.max(1),
            pending: 0,
            skipped_lines: 0,
        };
        for id in ids {
            let path = j.segment_path(id);
            j.pending += count_lines(&path)?;
            j.segments.push_back(Segment {
                id,
                path,
                offset: 0,
            });
        }
        Ok(j)
    }

    fn segment_path(&self, id: u64) -> PathBuf {
        self.dir.join(format!("{id:020}.{EXT}"))
    }

    /// Are there unapplied lines (or segments still to clean up)?
    pub fn has_backlog(&self) -> bool {
        !self.segments.is_empty()
    }

    /// Lines appended or found at open and not committed yet.
    pub fn pending(&self) -> usize {
        self.pending
    }

    /// Append `lines` (each from [`encode_line`]) and fsync them.
    ///
    /// # Errors
    /// I/O errors; then nothing counts as appended (a part may be on disk:
    /// the segment is abandoned for appending, so a partial line stays a
    /// torn tail, and lines written twice are deduplicated by their keys
    /// when applied).
    pub fn append(&mut self, lines: &[Vec<u8>]) -> io::Result<()> {
        if lines.is_empty() {
            return Ok(());
        }
        let full = self
            .append
            .as_ref()
            .is_none_or(|(_, _, len)| *len >= self.max_segment_bytes);
        if full {
            let id = self.next_id;
            let path = self.segment_path(id);
            let file = OpenOptions::new()
                .create_new(true)
                .append(true)
                .open(&path)?;
            // The new file's directory entry must survive a crash too.
            File::open(&self.dir)?.sync_all()?;
            self.next_id += 1;
            self.segments.push_back(Segment {
                id,
                path,
                offset: 0,
            });
            self.append = Some((id, file, 0));
        }
        let buf: Vec<u8> = lines.concat();
        let (_, file, len) = self.append.as_mut().expect("opened above");
        let res = file.write_all(&buf).and_then(|()| file.sync_data());
        match res {
            Ok(()) => {
                *len += buf.len() as u64;
                self.pending += lines.len();
                Ok(())
            }
            Err(e) => {
                self.append = None;
                Err(e)
            }
        }
    }

    /// Up to `max` of the oldest unapplied writes (from one segment).
    /// Segments fully behind (only skipped lines left) are deleted on the
    /// way. An empty batch means no backlog.
    ///
    /// # Errors
    /// I/O errors reading a segment.
    pub fn read_batch(&mut self, max: usize) -> io::Result<ReadBatch> {
        while let Some(seg) = self.segments.front() {
            let is_append = self.append.as_ref().is_some_and(|(id, _, _)| *id == seg.id);
            let mut file = File::open(&seg.path)?;
            file.seek(SeekFrom::Start(seg.offset))?;
            let mut r = BufReader::new(file);
            let mut batch = ReadBatch {
                writes: Vec::new(),
                ends: Vec::new(),
                end: seg.offset,
                seg: seg.id,
            };
            let mut line = Vec::new();
            while batch.writes.len() < max.max(1) {
                line.clear();
                let n = r.read_until(b'\n', &mut line)?;
                if n == 0 {
                    break;
                }
                if line.last() != Some(&b'\n') {
                    if is_append {
                        // Cannot happen (appends are whole and sequential
                        // with reads); leave it for the next read.
                        break;
                    }
                    tracing::error!(segment = %seg.path.display(), offset = batch.end,
                        bytes = n, "journal: torn last line ignored (interrupted write)");
                    self.skipped_lines += 1;
                    batch.end += n as u64;
                    if let Some(e) = batch.ends.last_mut() {
                        *e = batch.end;
                    }
                    break;
                }
                batch.end += n as u64;
                match decode_line(&line[..n - 1]) {
                    Ok(w) => {
                        batch.writes.push(w);
                        batch.ends.push(batch.end);
                    }
                    Err(why) => {
                        tracing::error!(segment = %seg.path.display(), offset = batch.end - n as u64,
                            %why, "journal: corrupt line skipped");
                        self.skipped_lines += 1;
                        if let Some(e) = batch.ends.last_mut() {
                            *e = batch.end;
                        }
                    }
                }
            }
            if !batch.writes.is_empty() {
                return Ok(batch);
            }
            // Nothing readable left in this segment.
            if is_append {
                let len = self.append.as_ref().map_or(0, |(_, _, l)| *l);
                if batch.end < len {
                    if batch.end > seg.offset {
                        // Only skipped lines so far: move past them.
                        self.segments[0].offset = batch.end;
                        continue;
                    }
                    // An incomplete line (cannot happen): nothing to read yet.
                    return Ok(batch);
                }
                // All of it is behind: the next append opens a new segment.
                self.append = None;
            }
            let seg = self.segments.pop_front().expect("front exists");
            std::fs::remove_file(&seg.path)?;
        }
        Ok(ReadBatch {
            writes: Vec::new(),
            ends: Vec::new(),
            end: 0,
            seg: 0,
        })
    }

    /// The store committed the first `n` writes of `b`: move past them, and
    /// delete the segment when nothing of it is left (trim after commit).
    ///
    /// # Errors
    /// I/O errors deleting a segment.
    pub fn commit(&mut self, b: &ReadBatch, n: usize) -> io::Result<()> {
        let n = n.min(b.writes.len());
        if n == 0 {
            return Ok(());
        }
        let Some(seg) = self.segments.front_mut() else {
            return Ok(());
        };
        if seg.id != b.seg {
            return Ok(());
        }
        seg.offset = if n == b.writes.len() {
            b.end
        } else {
            b.ends[n - 1]
        };
        self.pending = self.pending.saturating_sub(n);
        let offset = seg.offset;
        let id = seg.id;
        let is_append = self.append.as_ref().is_some_and(|(a, _, _)| *a == id);
        let len = if is_append {
            self.append.as_ref().map_or(0, |(_, _, l)| *l)
        } else {
            std::fs::metadata(&seg.path)?.len()
        };
        if offset >= len {
            if is_append {
                self.append = None;
            }
            let seg = self.segments.pop_front().expect("front exists");
            std::fs::remove_file(&seg.path)?;
        }
        Ok(())
    }
}

/// Readable lines of a segment (for the backlog count at open).
fn count_lines(path: &Path) -> io::Result<usize> {
    let mut r = BufReader::new(File::open(path)?);
    let mut line = Vec::new();
    let mut n = 0;
    loop {
        line.clear();
        let k = r.read_until(b'\n', &mut line)?;
        if k == 0 {
            return Ok(n);
        }
        if line.last() == Some(&b'\n') && decode_line(&line[..k - 1]).is_ok() {
            n += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::{EventKind, NewEvent, Timestamp};
    use store::{Write, WriteKey};

    fn w(seq: u64) -> KeyedWrite {
        KeyedWrite {
            key: WriteKey { node: 9, seq },
            write: Write::Events(vec![NewEvent::new(
                Timestamp::from_millis(seq as i64),
                EventKind::Held,
            )]),
        }
    }

    fn seqs(b: &ReadBatch) -> Vec<u64> {
        b.writes.iter().map(|w| w.key.seq).collect()
    }

    #[test]
    fn append_read_commit_trim() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::open(dir.path(), 1 << 20).unwrap();
        assert!(!j.has_backlog());
        let lines: Vec<_> = (1..=5).map(|s| encode_line(&w(s)).unwrap()).collect();
        j.append(&lines).unwrap();
        assert_eq!(j.pending(), 5);
        let b = j.read_batch(3).unwrap();
        assert_eq!(seqs(&b), [1, 2, 3]);
        // Not committed: read again from the same place.
        let b = j.read_batch(3).unwrap();
        assert_eq!(seqs(&b), [1, 2, 3]);
        j.commit(&b, 2).unwrap();
        let b = j.read_batch(10).unwrap();
        assert_eq!(seqs(&b), [3, 4, 5]);
        j.commit(&b, 3).unwrap();
        assert!(!j.has_backlog());
        assert_eq!(j.pending(), 0);
        // Trimmed: no segment file left.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn torn_and_corrupt_lines_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut j = Journal::open(dir.path(), 1 << 20).unwrap();
            let mut bad = encode_line(&w(2)).unwrap();
            bad[20] ^= 0x01; // checksum mismatch
            j.append(&[
                encode_line(&w(1)).unwrap(),
                bad,
                encode_line(&w(3)).unwrap(),
            ])
            .unwrap();
            // A torn tail, as kill -9 in the middle of a write leaves it.
            let torn = encode_line(&w(4)).unwrap();
            let (_, f, _) = j.append.as_mut().unwrap();
            f.write_all(&torn[..torn.len() / 2]).unwrap();
        }
        let mut j = Journal::open(dir.path(), 1 << 20).unwrap();
        assert_eq!(j.pending(), 2);
        // New appends go to a new segment, after the old one.
        j.append(&[encode_line(&w(5)).unwrap()]).unwrap();
        let b = j.read_batch(10).unwrap();
        assert_eq!(seqs(&b), [1, 3]);
        assert_eq!(j.skipped_lines, 2);
        j.commit(&b, 2).unwrap();
        let b = j.read_batch(10).unwrap();
        assert_eq!(seqs(&b), [5]);
        j.commit(&b, 1).unwrap();
        assert!(!j.has_backlog());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn segments_roll_over_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::open(dir.path(), 300).unwrap();
        for s in 1..=10 {
            j.append(&[encode_line(&w(s)).unwrap()]).unwrap();
        }
        assert!(std::fs::read_dir(dir.path()).unwrap().count() > 1);
        let mut got = Vec::new();
        loop {
            let b = j.read_batch(4).unwrap();
            if b.writes.is_empty() {
                break;
            }
            got.extend(seqs(&b));
            let n = b.writes.len();
            j.commit(&b, n).unwrap();
        }
        assert_eq!(got, (1..=10).collect::<Vec<_>>());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
