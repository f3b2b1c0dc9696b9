//! The durable event writer (issue 12): one task that takes every
//! [`store::Write`] of the engine through a bounded channel and makes it
//! durable, in order, without ever dropping one.
//!
//! - **Backpressure**: [`WriterHandle::submit`] waits for room in a channel
//!   of `capacity` writes (default 4096); that wait is the only way the
//!   writer slows its callers. [`WriterHandle::try_submit`] returns the write
//!   instead of waiting. The gauge `switchboard_event_writer_queued` (and
//!   [`WriterHandle::queued`]) counts writes accepted and not yet committed
//!   in the store.
//! - **Group commit**: the task takes everything queued, up to `max_batch`
//!   writes (default 512), and applies it in one transaction
//!   ([`store::WriteStore::apply_writes`]). Order is global FIFO: the order
//!   of `submit` calls that returned.
//! - **Journal**: when the store fails (unreachable, restarting, locked, or
//!   slower than `apply_timeout`), the batch and every write after it are
//!   appended to a local journal in `journal_dir` (one CRC-checksummed line
//!   per write, fsync'd; see `journal.rs`), counted by
//!   `switchboard_event_writer_journaled_total`. The journal is replayed in
//!   order, with capped exponential back-off between attempts
//!   (`backoff_min`..`backoff_max`), and trimmed only after the store has
//!   committed; while it holds anything, new writes go behind it. It
//!   survives `kill -9`: [`EventWriter::start`] replays what an earlier run
//!   left, and a torn last line is ignored.
//! - **Idempotent**: each write gets a [`store::WriteKey`] (this run's random
//!   node id, a sequence number) when the task takes it; the store skips
//!   keys it has applied, so a replay after a crash between commit and trim
//!   duplicates no event.
//! - **Nothing is dropped**: if the journal itself cannot be written (disk
//!   full...), the error is logged at `error` level and both the store and
//!   the journal are retried with back-off; the writes stay in memory,
//!   the channel fills, and `submit` waits. A write the store refuses for
//!   good (not a transient error: e.g. opening an interaction id that
//!   exists) is not retried forever: it is appended to `rejected.jsonl` in
//!   the journal directory with the error, logged at `error` level and
//!   counted by `switchboard_event_writer_rejected_total`; the writes around
//!   it go on.
//!
//! What is durable when: a write is durable once committed in the store or
//! fsync'd in the journal ([`WriterHandle::flush`] waits for that). A write
//! still in the channel when the process is killed is lost with the process
//! memory, as anything not yet acknowledged.
//!
//! ```no_run
//! # async fn demo(store: std::sync::Arc<dyn store::Store>) -> Result<(), Box<dyn std::error::Error>> {
//! use domain::{EventKind, NewEvent, Timestamp};
//! use engine::writer::EventWriter;
//! let (writer, task) = EventWriter::start(store, "data/journal".into(), 4096).await?;
//! let now = Timestamp::from_millis(1_764_450_000_000);
//! writer.submit(store::Write::Events(vec![NewEvent::new(now, EventKind::Held)])).await?;
//! writer.flush().await; // in the store, or fsync'd in the journal
//! writer.shutdown().await;
//! task.await?;
//! # Ok(()) }
//! ```

mod journal;

use journal::{Journal, ReadBatch, encode_line};
use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use store::{KeyedWrite, Store, Write, WriteKey, WriteStore};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// Gauge: writes accepted by [`WriterHandle::submit`] and not yet committed
/// in the store (channel + batch in flight + journal backlog).
pub const METRIC_QUEUED: &str = "switchboard_event_writer_queued";
/// Counter: writes appended to the journal because the store failed.
pub const METRIC_JOURNALED: &str = "switchboard_event_writer_journaled_total";
/// Counter: writes committed in the store (replays included).
pub const METRIC_APPLIED: &str = "switchboard_event_writer_applied_total";
/// Counter: writes the store refused for good, kept in `rejected.jsonl`.
pub const METRIC_REJECTED: &str = "switchboard_event_writer_rejected_total";

/// Writer settings.
#[derive(Clone, Debug)]
pub struct WriterOptions {
    /// Channel capacity, writes (≥ 1). Overflow policy: `submit` waits.
    pub capacity: usize,
    /// Most writes per transaction (group commit), ≥ 1.
    pub max_batch: usize,
    /// A store call slower than this counts as a failure: its batch goes to
    /// the journal (if it committed after all, the replay skips it by key).
    pub apply_timeout: Duration,
    /// First retry delay after a failure.
    pub backoff_min: Duration,
    /// Longest retry delay (the delay doubles up to it).
    pub backoff_max: Duration,
    /// A journal segment file is closed and a new one begun past this size,
    /// bytes.
    pub segment_bytes: u64,
}

impl Default for WriterOptions {
    fn default() -> Self {
        Self {
            capacity: 4096,
            max_batch: 512,
            apply_timeout: Duration::from_secs(5),
            backoff_min: Duration::from_millis(50),
            backoff_max: Duration::from_secs(2),
            segment_bytes: 8 << 20,
        }
    }
}

/// Errors starting the writer.
#[derive(Debug, thiserror::Error)]
pub enum WriterError {
    /// The journal directory cannot be created or read.
    #[error("journal {dir}: {source}")]
    Journal {
        /// The directory.
        dir: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A setting is out of range.
    #[error("invalid writer option: {0}")]
    Invalid(&'static str),
}

/// The writer task has stopped (after [`WriterHandle::shutdown`]); the
/// write was not taken.
#[derive(Debug, thiserror::Error)]
#[error("event writer stopped")]
pub struct WriterStopped;

/// Why [`WriterHandle::try_submit`] did not take a write (it is handed back).
#[derive(Debug, thiserror::Error)]
pub enum TrySubmitError {
    /// The channel is full (backpressure): try later or `submit`.
    #[error("event writer channel full")]
    Full(Box<Write>),
    /// The writer has stopped.
    #[error("event writer stopped")]
    Stopped(Box<Write>),
}

// Nearly every message is a Write: boxing it would cost an allocation per write.
#[allow(clippy::large_enum_variant)]
enum Msg {
    Write(Write),
    Flush(oneshot::Sender<()>),
    Applied(oneshot::Sender<()>),
    Shutdown(oneshot::Sender<()>),
}

struct Shared {
    queued: AtomicUsize,
}

/// A handle to the writer task (cheap to clone).
#[derive(Clone)]
pub struct WriterHandle {
    tx: mpsc::Sender<Msg>,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for WriterHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriterHandle")
            .field("queued", &self.queued())
            .finish()
    }
}

impl WriterHandle {
    /// Queue a write, waiting for room in the channel (backpressure).
    /// Writes are applied in the order their `submit` returned.
    ///
    /// # Errors
    /// [`WriterStopped`] after shutdown (the write was not taken).
    pub async fn submit(&self, w: Write) -> Result<(), WriterStopped> {
        // `reserve` is cancel-safe: a caller that gives up waiting sent nothing.
        let permit = self.tx.reserve().await.map_err(|_| WriterStopped)?;
        self.shared.queued.fetch_add(1, Ordering::Relaxed);
        permit.send(Msg::Write(w));
        Ok(())
    }

    /// Queue a write if the channel has room, without waiting.
    ///
    /// # Errors
    /// [`TrySubmitError::Full`] or [`TrySubmitError::Stopped`], with the write.
    pub fn try_submit(&self, w: Write) -> Result<(), TrySubmitError> {
        match self.tx.try_reserve() {
            Ok(permit) => {
                self.shared.queued.fetch_add(1, Ordering::Relaxed);
                permit.send(Msg::Write(w));
                Ok(())
            }
            Err(mpsc::error::TrySendError::Full(())) => Err(TrySubmitError::Full(Box::new(w))),
            Err(mpsc::error::TrySendError::Closed(())) => Err(TrySubmitError::Stopped(Box::new(w))),
        }
    }

    /// Writes accepted and not yet committed in the store (the value of the
    /// `switchboard_event_writer_queued` gauge).
    pub fn queued(&self) -> usize {
        self.shared.queued.load(Ordering::Relaxed)
    }

    /// Resolves when every write submitted before this call is durable: in
    /// the store or fsync'd in the journal (or at once if the writer stopped).
    pub async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Msg::Flush(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }

    /// Resolves when every write submitted before this call, and every
    /// journal line left by earlier runs, is committed in the store (or
    /// refused for good), or when the writer stops. While the store is down
    /// this waits; use it in tests and at start-up, not in the engine loop.
    pub async fn wait_applied(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Msg::Applied(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }

    /// Stop taking writes, make every write already taken durable (store or
    /// journal; one last replay attempt), then end the task. Other clones'
    /// `submit` then return [`WriterStopped`].
    pub async fn shutdown(self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Msg::Shutdown(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }
}

/// Starts the writer task.
pub struct EventWriter;

impl EventWriter {
    /// Open the journal in `journal_dir`, replay (in order) what an earlier
    /// run left there into `store`, and start the task with a channel of
    /// `capacity` writes and the other [`WriterOptions`] at their defaults.
    /// If the store fails during that first replay, the task starts anyway
    /// and keeps replaying in the background (new writes go behind).
    ///
    /// # Errors
    /// [`WriterError::Journal`] when the directory cannot be created or
    /// read; [`WriterError::Invalid`] for `capacity` 0.
    pub async fn start(
        store: Arc<dyn Store>,
        journal_dir: PathBuf,
        capacity: usize,
    ) -> Result<(WriterHandle, JoinHandle<()>), WriterError> {
        let opts = WriterOptions {
            capacity,
            ..WriterOptions::default()
        };
        Self::start_with(store, journal_dir, opts).await
    }

    /// [`EventWriter::start`] on any [`WriteStore`], with every option.
    ///
    /// # Errors
    /// As [`EventWriter::start`]; also [`WriterError::Invalid`] for a
    /// `max_batch` of 0.
    pub async fn start_with(
        store: Arc<dyn WriteStore>,
        journal_dir: PathBuf,
        opts: WriterOptions,
    ) -> Result<(WriterHandle, JoinHandle<()>), WriterError> {
        if opts.capacity == 0 {
            return Err(WriterError::Invalid("capacity must be at least 1"));
        }
        if opts.max_batch == 0 {
            return Err(WriterError::Invalid("max_batch must be at least 1"));
        }
        let dir = journal_dir.clone();
        let segment_bytes = opts.segment_bytes;
        let journal = tokio::task::spawn_blocking(move || Journal::open(&dir, segment_bytes))
            .await
            .map_err(|e| WriterError::Journal {
                dir: journal_dir.clone(),
                source: std::io::Error::other(e),
            })?
            .map_err(|source| WriterError::Journal {
                dir: journal_dir.clone(),
                source,
            })?;
        let shared = Arc::new(Shared {
            queued: AtomicUsize::new(journal.pending()),
        });
        let (tx, rx) = mpsc::channel(opts.capacity);
        let backoff = opts.backoff_min;
        let mut w = Writer {
            store,
            rx,
            journal: Some(journal),
            rejected_path: journal_dir.join("rejected.jsonl"),
            node: store::new_write_node(),
            last_seq: 0,
            mem: VecDeque::new(),
            durable_seq: 0,
            applied_seq: 0,
            flushes: Vec::new(),
            waiters: Vec::new(),
            shutdown: None,
            closed: false,
            backoff,
            next_retry: Instant::now(),
            failing: false,
            shared: shared.clone(),
            opts,
        };
        if w.has_backlog() {
            tracing::info!(lines = w.shared.queued.load(Ordering::Relaxed), dir = %journal_dir.display(),
                "event writer: replaying the journal left by an earlier run");
            while w.has_backlog() && w.replay_one().await {}
        }
        w.publish();
        let task = tokio::spawn(w.run());
        Ok((WriterHandle { tx, shared }, task))
    }
}

/// The outcome of one store call.
enum Outcome {
    Done,
    /// Refused for good: isolate the bad write(s).
    Permanent(store::StoreError),
    /// Try again later.
    Transient(String),
}

struct Writer {
    store: Arc<dyn WriteStore>,
    rx: mpsc::Receiver<Msg>,
    /// `None` only while a blocking journal call has it.
    journal: Option<Journal>,
    rejected_path: PathBuf,
    node: u64,
    /// The last key sequence handed out.
    last_seq: u64,
    /// Writes taken from the channel, not yet durable, in order.
    mem: VecDeque<KeyedWrite>,
    /// Every write of this run up to this seq is in the store or journal.
    durable_seq: u64,
    /// Every write of this run up to this seq is in the store (or rejected).
    applied_seq: u64,
    flushes: Vec<(u64, oneshot::Sender<()>)>,
    waiters: Vec<(u64, oneshot::Sender<()>)>,
    shutdown: Option<oneshot::Sender<()>>,
    /// No more messages will come.
    closed: bool,
    backoff: std::time::Duration,
    next_retry: Instant,
    /// The last store call failed (for logging transitions once).
    failing: bool,
    shared: Arc<Shared>,
    opts: WriterOptions,
}

impl Writer {
    fn has_backlog(&self) -> bool {
        self.journal.as_ref().is_some_and(Journal::has_backlog)
    }

    fn publish(&self) {
        metrics::gauge!(METRIC_QUEUED).set(self.shared.queued.load(Ordering::Relaxed) as f64);
    }

    fn take(&mut self, m: Msg) {
        match m {
            Msg::Write(write) => {
                self.last_seq += 1;
                self.mem.push_back(KeyedWrite {
                    key: WriteKey {
                        node: self.node,
                        seq: self.last_seq,
                    },
                    write,
                });
            }
            Msg::Flush(tx) => self.flushes.push((self.last_seq, tx)),
            Msg::Applied(tx) => self.waiters.push((self.last_seq, tx)),
            Msg::Shutdown(tx) => {
                self.shutdown = Some(tx);
                // Refuse new sends; what is buffered is still received.
                self.rx.close();
            }
        }
    }

    fn take_ready(&mut self) {
        while !self.closed && self.mem.len() < self.opts.max_batch {
            match self.rx.try_recv() {
                Ok(m) => self.take(m),
                Err(mpsc::error::TryRecvError::Empty) => break,
                Err(mpsc::error::TryRecvError::Disconnected) => self.closed = true,
            }
        }
    }

    fn answer_waiters(&mut self) {
        let durable = self.durable_seq;
        self.flushes.retain_mut(|(seq, _)| *seq > durable);
        // (Dropping a sender wakes its waiter; `retain` dropped the due ones.)
        let applied = self.applied_seq;
        let backlog = self.has_backlog();
        // Due: this run's writes up to `seq` are applied (FIFO: so is every
        // older journal line), or, with none before it, the backlog is empty.
        self.waiters
            .retain(|(seq, _)| !(*seq <= applied && (*seq > 0 || !backlog)));
    }

    /// `writes` are done with: committed in the store (`applied`) or
    /// refused for good and kept in `rejected.jsonl`.
    fn mark_done(&mut self, writes: &[KeyedWrite], applied: bool) {
        let own = writes
            .iter()
            .filter(|w| w.key.node == self.node)
            .map(|w| w.key.seq)
            .max();
        if let Some(s) = own {
            self.applied_seq = self.applied_seq.max(s);
            self.durable_seq = self.durable_seq.max(s);
        }
        self.shared
            .queued
            .fetch_sub(writes.len(), Ordering::Relaxed);
        if applied {
            metrics::counter!(METRIC_APPLIED).increment(writes.len() as u64);
        }
    }

    async fn run(mut self) {
        loop {
            self.publish();
            self.answer_waiters();
            if !self.closed {
                let busy = !self.mem.is_empty() || self.has_backlog();
                if !busy {
                    match self.rx.recv().await {
                        Some(m) => self.take(m),
                        None => self.closed = true,
                    }
                } else if self.mem.is_empty() && Instant::now() < self.next_retry {
                    // Only the journal to replay: wait for its retry time,
                    // taking new writes meanwhile.
                    tokio::select! {
                        m = self.rx.recv() => match m {
                            Some(m) => self.take(m),
                            None => self.closed = true,
                        },
                        () = tokio::time::sleep_until(self.next_retry) => {}
                    }
                }
                self.take_ready();
            }
            if self.has_backlog() {
                if !self.mem.is_empty() {
                    self.spill().await;
                }
                if Instant::now() >= self.next_retry {
                    self.replay_one().await;
                }
            } else if !self.mem.is_empty() {
                self.apply_direct().await;
            }
            if self.closed && self.mem.is_empty() {
                // One last pass over the journal; what the store does not
                // take now stays there for the next start.
                while self.has_backlog() && self.replay_one().await {}
                break;
            }
        }
        self.publish();
        self.durable_seq = self.last_seq;
        self.flushes.clear();
        self.waiters.clear();
        if self.has_backlog() {
            tracing::warn!(
                lines = self.shared.queued.load(Ordering::Relaxed),
                "event writer stopped with a journal backlog: the next start replays it"
            );
        }
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }

    /// Apply the oldest writes in memory (no backlog); on a transient
    /// failure they and everything after them go to the journal.
    async fn apply_direct(&mut self) {
        let n = self.mem.len().min(self.opts.max_batch);
        let batch: Vec<KeyedWrite> = self.mem.drain(..n).collect();
        match self.call_store(&batch).await {
            Outcome::Done => self.mark_done(&batch, true),
            Outcome::Permanent(e) => {
                let done = self.isolate(&batch, &e).await;
                if done < batch.len() {
                    for w in batch.into_iter().skip(done).rev() {
                        self.mem.push_front(w);
                    }
                    self.spill().await;
                }
            }
            Outcome::Transient(_) => {
                for w in batch.into_iter().rev() {
                    self.mem.push_front(w);
                }
                self.spill().await;
            }
        }
    }

    /// Apply one batch from the head of the journal. Returns whether it
    /// made progress.
    async fn replay_one(&mut self) -> bool {
        let max = self.opts.max_batch;
        let batch = match self.with_journal(move |j| j.read_batch(max)).await {
            Ok(b) => b,
            Err(e) => {
                tracing::error!(error = %e, "event writer: cannot read the journal; retrying");
                self.fail_later();
                return false;
            }
        };
        if batch.writes.is_empty() {
            // Nothing readable (the segments left were cleaned up).
            return false;
        }
        let done = match self.call_store(&batch.writes).await {
            Outcome::Done => {
                self.mark_done(&batch.writes, true);
                batch.writes.len()
            }
            Outcome::Permanent(e) => self.isolate(&batch.writes, &e).await,
            Outcome::Transient(_) => 0,
        };
        if done == 0 {
            return false;
        }
        self.commit(batch, done).await;
        done > 0
    }

    async fn commit(&mut self, batch: ReadBatch, n: usize) {
        let batch = Arc::new(batch);
        let b = batch.clone();
        if let Err(e) = self.with_journal(move |j| j.commit(&b, n)).await {
            // The lines stay; a later replay skips them by key.
            tracing::error!(error = %e, "event writer: cannot trim the journal");
        }
    }

    /// Apply `writes` one by one after the batch was refused for good:
    /// refused ones go to `rejected.jsonl`. Returns how many were dealt
    /// with (in order) before a transient failure stopped it.
    async fn isolate(&mut self, writes: &[KeyedWrite], first: &store::StoreError) -> usize {
        tracing::warn!(error = %first, writes = writes.len(), "event writer: a batch was refused; applying its writes one by one");
        for (i, w) in writes.iter().enumerate() {
            match self.call_store(std::slice::from_ref(w)).await {
                Outcome::Done => self.mark_done(std::slice::from_ref(w), true),
                Outcome::Permanent(e) => {
                    self.reject(w, &e).await;
                    self.mark_done(std::slice::from_ref(w), false);
                }
                Outcome::Transient(_) => return i,
            }
        }
        writes.len()
    }

    /// Keep a write the store refused for good in `rejected.jsonl`.
    async fn reject(&mut self, w: &KeyedWrite, e: &store::StoreError) {
        tracing::error!(key = ?w.key, error = %e, write = ?w.write,
            "event writer: the store refused a write; kept in rejected.jsonl");
        metrics::counter!(METRIC_REJECTED).increment(1);
        let line = serde_json::json!({ "error": e.to_string(), "write": w });
        let path = self.rejected_path.clone();
        loop {
            let mut text = line.to_string();
            text.push('\n');
            let p = path.clone();
            let res = tokio::task::spawn_blocking(move || {
                use std::io::Write as _;
                let mut f = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&p)?;
                f.write_all(text.as_bytes())?;
                f.sync_data()
            })
            .await
            .map_err(std::io::Error::other)
            .and_then(|r| r);
            match res {
                Ok(()) => return,
                Err(e) => {
                    tracing::error!(error = %e, path = %path.display(),
                        "event writer: cannot keep a refused write; retrying");
                    tokio::time::sleep(self.opts.backoff_max).await;
                }
            }
        }
    }

    /// Append every write in memory to the journal (fsync'd), in order. On
    /// failure they stay in memory and the call waits a back-off.
    async fn spill(&mut self) {
        let mut lines = Vec::with_capacity(self.mem.len());
        let mut unencodable = Vec::new();
        for (i, w) in self.mem.iter().enumerate() {
            match encode_line(w) {
                Ok(l) => lines.push(l),
                Err(e) => unencodable.push((i, e)),
            }
        }
        if !unencodable.is_empty() {
            // Cannot happen for our types short of a non-finite float; keep
            // them in rejected.jsonl rather than lose them silently.
            for (i, e) in unencodable.iter().rev() {
                let w = self.mem.remove(*i).expect("index from enumerate");
                let err = store::StoreError::Invalid(format!("cannot journal: {e}"));
                self.reject(&w, &err).await;
                self.mark_done(std::slice::from_ref(&w), false);
            }
        }
        if lines.is_empty() {
            return;
        }
        let n = lines.len();
        match self.with_journal(move |j| j.append(&lines)).await {
            Ok(()) => {
                if let Some(last) = self.mem.back() {
                    self.durable_seq = self.durable_seq.max(last.key.seq);
                }
                self.mem.clear();
                metrics::counter!(METRIC_JOURNALED).increment(n as u64);
            }
            Err(e) => {
                tracing::error!(error = %e, writes = n,
                    "event writer: cannot append to the journal; the writes stay in memory, retrying");
                let wait = self.backoff;
                self.backoff = (self.backoff * 2).min(self.opts.backoff_max);
                tokio::time::sleep(wait).await;
            }
        }
    }

    /// Run a blocking journal operation off the async threads.
    async fn with_journal<T: Send + 'static>(
        &mut self,
        f: impl FnOnce(&mut Journal) -> std::io::Result<T> + Send + 'static,
    ) -> std::io::Result<T> {
        let mut j = self
            .journal
            .take()
            .expect("journal is back after each call");
        let (j, res) = tokio::task::spawn_blocking(move || {
            let r = f(&mut j);
            (j, r)
        })
        .await
        .map_err(std::io::Error::other)?;
        self.journal = Some(j);
        res
    }

    fn fail_later(&mut self) {
        self.next_retry = Instant::now() + self.backoff;
        self.backoff = (self.backoff * 2).min(self.opts.backoff_max);
    }

    /// One `apply_writes` call with the time-out; logs state changes once.
    async fn call_store(&mut self, writes: &[KeyedWrite]) -> Outcome {
        let res =
            tokio::time::timeout(self.opts.apply_timeout, self.store.apply_writes(writes)).await;
        let out = match res {
            Ok(Ok(_)) => Outcome::Done,
            Ok(Err(e)) if !e.is_transient() => Outcome::Permanent(e),
            Ok(Err(e)) => Outcome::Transient(e.to_string()),
            Err(_) => Outcome::Transient(format!(
                "no answer within {} ms",
                self.opts.apply_timeout.as_millis()
            )),
        };
        match &out {
            Outcome::Transient(why) => {
                if !self.failing {
                    tracing::warn!(error = %why, "event writer: the store is failing; writes go to the journal until it is back");
                }
                self.failing = true;
                self.fail_later();
            }
            Outcome::Done | Outcome::Permanent(_) => {
                if self.failing {
                    tracing::info!("event writer: the store is back; replaying the journal");
                }
                self.failing = false;
                self.backoff = self.opts.backoff_min;
                self.next_retry = Instant::now();
            }
        }
        out
    }
}
