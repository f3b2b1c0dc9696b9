//! The tamper-evident audit trail's arithmetic (SPEC §7: activity logs that
//! trace every access). Storage is elsewhere (`store`); this module only
//! hashes, builds Merkle roots, signs and verifies.
//!
//! - Each entry's hash is SHA-256 over a domain tag, the previous entry's
//!   hash and the entry's fields, each length-prefixed ([`entry_hash`]): an
//!   entry altered, inserted or removed breaks every later link.
//! - Hourly checkpoints: the Merkle root (RFC 6962 §2.1 tree hash: leaf =
//!   H(0x00‖hash), node = H(0x01‖left‖right)) over the entries of one UTC
//!   hour, signed with Ed25519 (RFC 8032): a rewrite of the whole chain from
//!   some point on still fails the signatures.
//! - [`verify`] re-walks both and names the first bad entry.

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use std::fmt;

/// A SHA-256 value.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Digest(pub [u8; 32]);

impl Digest {
    /// Lower-case hex, 64 characters.
    pub fn to_hex(self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Parse 64 hex characters; `None` otherwise.
    pub fn from_hex(s: &str) -> Option<Digest> {
        let b = s.as_bytes();
        if b.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, o) in out.iter_mut().enumerate() {
            *o = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        Some(Digest(out))
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// What was done. Stored as its snake_case name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    /// A successful login (password, and second factor when required).
    Login,
    /// A failed login (wrong password, unknown user, refused by the limiter).
    LoginFailed,
    /// A second factor accepted.
    SecondFactor,
    /// A second factor refused (wrong or replayed code).
    SecondFactorFailed,
    /// Second factor enrolled or removed.
    SecondFactorChanged,
    /// An account or source locked by the brute-force limiter.
    Lockout,
    /// A logout or a session revoked.
    Logout,
    /// A password changed.
    PasswordChanged,
    /// An access request opened.
    AccessRequested,
    /// An access request approved.
    AccessApproved,
    /// An access request refused.
    AccessRefused,
    /// A permission granted directly.
    GrantChanged,
    /// A role added or removed.
    RoleChanged,
    /// A user created.
    UserCreated,
    /// A user modified.
    UserModified,
    /// A user suspended.
    UserSuspended,
    /// A user terminated.
    UserTerminated,
    /// A user reactivated.
    UserReactivated,
    /// A call recording played.
    RecordingPlayed,
    /// A call recording downloaded.
    RecordingDownloaded,
    /// A customer merged into another.
    CustomerMerged,
    /// A customer merge undone.
    CustomerMergeUndone,
    /// A closed interaction's disposition or notes changed.
    DispositionEdited,
    /// Configuration changed.
    ConfigChanged,
    /// Data exported.
    Exported,
    /// A supervisor monitored, whispered or barged.
    Monitoring,
    /// Agents' positions or an agent's track read (issue 22, SPEC §6.1).
    PositionsViewed,
    /// Staff acknowledged an SLA incident (issue 19).
    IncidentAcknowledged,
    /// Staff resolved an SLA incident (issue 19).
    IncidentResolved,
    /// An agent phone's SIP digest password was set (never the password).
    SipPasswordSet,
}

impl AuditAction {
    /// The snake_case name, as stored and hashed.
    pub fn as_str(self) -> &'static str {
        use AuditAction::*;
        match self {
            Login => "login",
            LoginFailed => "login_failed",
            SecondFactor => "second_factor",
            SecondFactorFailed => "second_factor_failed",
            SecondFactorChanged => "second_factor_changed",
            Lockout => "lockout",
            Logout => "logout",
            PasswordChanged => "password_changed",
            AccessRequested => "access_requested",
            AccessApproved => "access_approved",
            AccessRefused => "access_refused",
            GrantChanged => "grant_changed",
            RoleChanged => "role_changed",
            UserCreated => "user_created",
            UserModified => "user_modified",
            UserSuspended => "user_suspended",
            UserTerminated => "user_terminated",
            UserReactivated => "user_reactivated",
            RecordingPlayed => "recording_played",
            RecordingDownloaded => "recording_downloaded",
            CustomerMerged => "customer_merged",
            CustomerMergeUndone => "customer_merge_undone",
            DispositionEdited => "disposition_edited",
            ConfigChanged => "config_changed",
            Exported => "exported",
            Monitoring => "monitoring",
            PositionsViewed => "positions_viewed",
            IncidentAcknowledged => "incident_acknowledged",
            IncidentResolved => "incident_resolved",
            SipPasswordSet => "sip_password_set",
        }
    }
}

/// One entry as stored. Strings are hashed exactly as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEntry {
    /// Position in the chain, from 1, without gaps.
    pub seq: i64,
    /// When, Unix ms.
    pub at_ms: i64,
    /// Who (user id), `None` for the system or an unknown login.
    pub actor: Option<i64>,
    /// What ([`AuditAction::as_str`]).
    pub action: String,
    /// On what (`"user:12"`, `"interaction:40"`, a login name...).
    pub target: String,
    /// From where (IP address), if known.
    pub source: Option<String>,
    /// State before a change (JSON text), if any.
    pub before: Option<String>,
    /// State after a change (JSON text), if any.
    pub after: Option<String>,
    /// The previous entry's hash (all zeros for the first).
    pub prev_hash: Digest,
    /// This entry's hash.
    pub hash: Digest,
}

fn put(h: &mut Sha256, field: Option<&[u8]>) {
    match field {
        None => h.update([0u8]),
        Some(b) => {
            h.update([1u8]);
            h.update((b.len() as u64).to_be_bytes());
            h.update(b);
        }
    }
}

/// The hash of an entry: SHA-256("switchboard-audit-v1" ‖ prev ‖ seq ‖ at_ms
/// ‖ each field as absent (0x00) or 0x01 ‖ u64 length ‖ bytes).
#[allow(clippy::too_many_arguments)]
pub fn entry_hash(
    prev: Digest,
    seq: i64,
    at_ms: i64,
    actor: Option<i64>,
    action: &str,
    target: &str,
    source: Option<&str>,
    before: Option<&str>,
    after: Option<&str>,
) -> Digest {
    let mut h = Sha256::new();
    h.update(b"switchboard-audit-v1");
    h.update(prev.0);
    h.update(seq.to_be_bytes());
    h.update(at_ms.to_be_bytes());
    put(
        &mut h,
        actor.map(|a| a.to_be_bytes()).as_ref().map(|b| &b[..]),
    );
    put(&mut h, Some(action.as_bytes()));
    put(&mut h, Some(target.as_bytes()));
    put(&mut h, source.map(str::as_bytes));
    put(&mut h, before.map(str::as_bytes));
    put(&mut h, after.map(str::as_bytes));
    Digest(h.finalize().into())
}

impl AuditEntry {
    /// The hash this entry should carry given its fields and `prev_hash`.
    pub fn computed_hash(&self) -> Digest {
        entry_hash(
            self.prev_hash,
            self.seq,
            self.at_ms,
            self.actor,
            &self.action,
            &self.target,
            self.source.as_deref(),
            self.before.as_deref(),
            self.after.as_deref(),
        )
    }
}

/// Merkle tree hash (RFC 6962 §2.1) over `leaves`; the empty tree is SHA-256("").
pub fn merkle_root(leaves: &[Digest]) -> Digest {
    match leaves.len() {
        0 => Digest(Sha256::digest([]).into()),
        1 => {
            let mut h = Sha256::new();
            h.update([0u8]);
            h.update(leaves[0].0);
            Digest(h.finalize().into())
        }
        n => {
            let k = n.next_power_of_two() / 2;
            let (l, r) = (merkle_root(&leaves[..k]), merkle_root(&leaves[k..]));
            let mut h = Sha256::new();
            h.update([1u8]);
            h.update(l.0);
            h.update(r.0);
            Digest(h.finalize().into())
        }
    }
}

/// One hour of length in ms.
pub const HOUR_MS: i64 = 3_600_000;

/// A signed checkpoint over the entries `first_seq..=last_seq` of one hour.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// Start of the UTC hour, Unix ms.
    pub hour_start_ms: i64,
    /// First entry covered.
    pub first_seq: i64,
    /// Last entry covered.
    pub last_seq: i64,
    /// Merkle root over the covered entries' hashes.
    pub root: Digest,
    /// Ed25519 signature over [`Checkpoint::message`], 64 bytes.
    pub signature: Vec<u8>,
}

impl Checkpoint {
    /// The signed bytes: tag ‖ hour ‖ first ‖ last ‖ root.
    pub fn message(hour_start_ms: i64, first_seq: i64, last_seq: i64, root: Digest) -> Vec<u8> {
        let mut m = b"switchboard-audit-checkpoint-v1".to_vec();
        m.extend(hour_start_ms.to_be_bytes());
        m.extend(first_seq.to_be_bytes());
        m.extend(last_seq.to_be_bytes());
        m.extend(root.0);
        m
    }

    /// Build and sign the checkpoint over `entries` (one hour's, in order,
    /// non-empty: `None` when empty).
    pub fn sign(
        key: &SigningKey,
        hour_start_ms: i64,
        entries: &[AuditEntry],
    ) -> Option<Checkpoint> {
        let (first, last) = (entries.first()?.seq, entries.last()?.seq);
        let leaves: Vec<Digest> = entries.iter().map(|e| e.hash).collect();
        let root = merkle_root(&leaves);
        let signature = key
            .sign(&Checkpoint::message(hour_start_ms, first, last, root))
            .to_bytes()
            .to_vec();
        Some(Checkpoint {
            hour_start_ms,
            first_seq: first,
            last_seq: last,
            root,
            signature,
        })
    }
}

/// Which checkpoints to sign now over `pending` (the entries after the last
/// checkpoint, in seq order): for each UTC hour that is over at `now_ms`,
/// the longest run of entries written before that hour's end, as
/// `(hour_start_ms, start..end)` index ranges into `pending`. An entry whose
/// clock ran backwards joins the run it was appended in; an hour not yet
/// over waits.
pub fn plan_checkpoints(pending: &[AuditEntry], now_ms: i64) -> Vec<(i64, std::ops::Range<usize>)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < pending.len() {
        let h = hour_of(pending[i].at_ms);
        if h + HOUR_MS > now_ms {
            break;
        }
        let j = pending[i..]
            .iter()
            .position(|e| e.at_ms >= h + HOUR_MS)
            .map_or(pending.len(), |p| i + p);
        out.push((h, i..j));
        i = j;
    }
    out
}

/// Start of the UTC hour containing `at_ms`.
pub fn hour_of(at_ms: i64) -> i64 {
    at_ms.div_euclid(HOUR_MS) * HOUR_MS
}

/// What [`verify`] found wrong first.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// An entry whose hash, link or position is wrong.
    #[error("audit entry {seq} is bad: {reason}")]
    BadEntry {
        /// The first bad entry.
        seq: i64,
        /// What is wrong.
        reason: String,
    },
    /// A checkpoint that does not match the entries or its signature.
    #[error("checkpoint of hour {hour_start_ms} is bad: {reason}")]
    BadCheckpoint {
        /// Its hour.
        hour_start_ms: i64,
        /// What is wrong.
        reason: String,
    },
}

/// What a successful [`verify`] covered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyReport {
    /// Entries walked.
    pub entries: usize,
    /// Checkpoints checked.
    pub checkpoints: usize,
    /// Entries after the last checkpoint (not yet signed).
    pub unsigned_tail: usize,
}

/// Re-walk the chain (`entries` in seq order from 1) and the checkpoints.
///
/// # Errors
/// The first bad entry (wrong position, wrong link, wrong hash), else the
/// first bad checkpoint (entries missing, root mismatch, bad signature).
pub fn verify(
    entries: &[AuditEntry],
    checkpoints: &[Checkpoint],
    key: &VerifyingKey,
) -> Result<VerifyReport, VerifyError> {
    let mut prev = Digest::default();
    for (i, e) in entries.iter().enumerate() {
        let bad = |reason: &str| VerifyError::BadEntry {
            seq: e.seq,
            reason: reason.to_owned(),
        };
        if e.seq != i as i64 + 1 {
            return Err(VerifyError::BadEntry {
                seq: i as i64 + 1,
                reason: format!("missing: found entry {} in its place", e.seq),
            });
        }
        if e.prev_hash != prev {
            return Err(bad("its link to the previous entry does not match"));
        }
        if e.computed_hash() != e.hash {
            return Err(bad("its content does not match its hash"));
        }
        prev = e.hash;
    }
    let mut covered = 0;
    for c in checkpoints {
        let bad = |reason: &str| VerifyError::BadCheckpoint {
            hour_start_ms: c.hour_start_ms,
            reason: reason.to_owned(),
        };
        if c.first_seq < 1 || c.last_seq < c.first_seq || c.last_seq as usize > entries.len() {
            return Err(bad("it covers entries that do not exist"));
        }
        let span = &entries[c.first_seq as usize - 1..c.last_seq as usize];
        if span.iter().any(|e| e.at_ms >= c.hour_start_ms + HOUR_MS) {
            return Err(bad("it covers entries written after its hour"));
        }
        let leaves: Vec<Digest> = span.iter().map(|e| e.hash).collect();
        if merkle_root(&leaves) != c.root {
            return Err(bad("its Merkle root does not match the entries"));
        }
        let sig = Signature::from_slice(&c.signature).map_err(|_| bad("malformed signature"))?;
        key.verify(
            &Checkpoint::message(c.hour_start_ms, c.first_seq, c.last_seq, c.root),
            &sig,
        )
        .map_err(|_| bad("signature does not verify"))?;
        covered = covered.max(c.last_seq as usize);
    }
    Ok(VerifyReport {
        entries: entries.len(),
        checkpoints: checkpoints.len(),
        unsigned_tail: entries.len() - covered,
    })
}

/// Build the next entry of a chain whose last hash is `prev` (all zeros for
/// the first) — what the store does inside its append transaction.
#[allow(clippy::too_many_arguments)]
pub fn next_entry(
    prev: Digest,
    seq: i64,
    at_ms: i64,
    actor: Option<i64>,
    action: AuditAction,
    target: &str,
    source: Option<&str>,
    before: Option<&str>,
    after: Option<&str>,
) -> AuditEntry {
    let hash = entry_hash(
        prev,
        seq,
        at_ms,
        actor,
        action.as_str(),
        target,
        source,
        before,
        after,
    );
    AuditEntry {
        seq,
        at_ms,
        actor,
        action: action.as_str().to_owned(),
        target: target.to_owned(),
        source: source.map(str::to_owned),
        before: before.map(str::to_owned),
        after: after.map(str::to_owned),
        prev_hash: prev,
        hash,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: i64) -> Vec<AuditEntry> {
        let mut out: Vec<AuditEntry> = Vec::new();
        for s in 1..=n {
            let prev = out.last().map(|e| e.hash).unwrap_or_default();
            out.push(next_entry(
                prev,
                s,
                s * 600_000, // every 10 minutes: 6 per hour
                Some(s % 3),
                AuditAction::DispositionEdited,
                &format!("interaction:{s}"),
                Some("192.0.2.1"),
                Some(r#"{"disposition":"sale"}"#),
                Some(r#"{"disposition":"no_sale"}"#),
            ));
        }
        out
    }

    fn checkpoints(key: &SigningKey, entries: &[AuditEntry]) -> Vec<Checkpoint> {
        plan_checkpoints(entries, i64::MAX / 2)
            .into_iter()
            .filter_map(|(h, r)| Checkpoint::sign(key, h, &entries[r]))
            .collect()
    }

    #[test]
    fn plan_waits_for_the_hour_to_end_and_absorbs_a_clock_step_back() {
        let mut e = chain(8); // at 10, 20, ... 80 minutes
        // Entry 7 (70 min) written with a clock 30 min behind: 40 min.
        e[6].at_ms = 40 * 60_000;
        // At 1h30: only hour 0 is over: entries 1..5 (10..50 min).
        assert_eq!(plan_checkpoints(&e, 90 * 60_000), vec![(0, 0..5)]);
        // At 2h: hour 1 too, and the stepped-back entry 7 goes with its run.
        assert_eq!(
            plan_checkpoints(&e, 120 * 60_000),
            vec![(0, 0..5), (HOUR_MS, 5..8)]
        );
        assert!(plan_checkpoints(&[], 0).is_empty());
    }

    #[test]
    fn merkle_matches_rfc6962_shape() {
        let a = Digest([1; 32]);
        let b = Digest([2; 32]);
        let c = Digest([3; 32]);
        let leaf = |d: Digest| merkle_root(&[d]);
        let node = |l: Digest, r: Digest| {
            let mut h = Sha256::new();
            h.update([1u8]);
            h.update(l.0);
            h.update(r.0);
            Digest(h.finalize().into())
        };
        assert_eq!(
            merkle_root(&[a, b, c]),
            node(node(leaf(a), leaf(b)), leaf(c))
        );
        // RFC 6962 empty tree: SHA-256 of the empty string.
        assert_eq!(
            merkle_root(&[]).to_hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(Digest::from_hex(&a.to_hex()), Some(a));
        assert_eq!(Digest::from_hex("zz"), None);
    }

    #[test]
    fn good_chain_verifies_and_one_altered_byte_is_named() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let entries = chain(20);
        let cps = checkpoints(&key, &entries);
        assert_eq!(cps.len(), 4); // hours 0..3
        let r = verify(&entries, &cps, &key.verifying_key()).unwrap();
        assert_eq!(
            r,
            VerifyReport {
                entries: 20,
                checkpoints: 4,
                unsigned_tail: 0
            }
        );

        // One byte in the middle: entry 10's target.
        let mut bad = entries.clone();
        let mut t = bad[9].target.clone().into_bytes();
        t[0] ^= 1;
        bad[9].target = String::from_utf8(t).unwrap();
        assert_eq!(
            verify(&bad, &cps, &key.verifying_key()).unwrap_err(),
            VerifyError::BadEntry {
                seq: 10,
                reason: "its content does not match its hash".into()
            }
        );

        // Rewriting the chain from entry 10 on (re-hashing) still fails the checkpoint.
        let mut forged = entries[..9].to_vec();
        for e in &entries[9..] {
            let prev = forged.last().unwrap().hash;
            let target = if e.seq == 10 {
                "interaction:x"
            } else {
                e.target.as_str()
            };
            forged.push(next_entry(
                prev,
                e.seq,
                e.at_ms,
                e.actor,
                AuditAction::DispositionEdited,
                target,
                e.source.as_deref(),
                e.before.as_deref(),
                e.after.as_deref(),
            ));
        }
        assert!(matches!(
            verify(&forged, &cps, &key.verifying_key()),
            Err(VerifyError::BadCheckpoint {
                hour_start_ms: HOUR_MS,
                ..
            })
        ));

        // A deleted entry is named by its position.
        let mut gap = entries.clone();
        gap.remove(4);
        assert!(matches!(
            verify(&gap, &cps, &key.verifying_key()),
            Err(VerifyError::BadEntry { seq: 5, .. })
        ));

        // A truncated tail fails the last checkpoint; another key fails all.
        assert!(matches!(
            verify(&entries[..18], &cps, &key.verifying_key()),
            Err(VerifyError::BadCheckpoint { .. })
        ));
        let other = SigningKey::from_bytes(&[8; 32]);
        assert!(matches!(
            verify(&entries, &cps, &other.verifying_key()),
            Err(VerifyError::BadCheckpoint {
                hour_start_ms: 0,
                ..
            })
        ));
    }
}
