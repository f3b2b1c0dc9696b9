//! Encryption of backup files: ChaCha20-Poly1305 (RFC 8439) in a chunked
//! STREAM construction, so a recording of any size is sealed in bounded
//! memory (one 64 KiB chunk at a time).
//!
//! File format (`.enc`):
//! - header, 23 bytes: magic `SBK1` (4), nonce prefix (7, random), plaintext
//!   length in bytes (8, big-endian), chunk size in bytes (4, big-endian);
//! - then `ceil(len / chunk)` chunks (at least one), each the chunk's
//!   ciphertext followed by its 16-byte tag.
//!
//! Chunk `i` is sealed with nonce `prefix ‖ i (u32 BE) ‖ last (0 or 1)` and
//! the header as associated data: reordering, truncating, extending or
//! editing any byte (header included) makes [`open_file`] fail.

use crate::{Error, Result};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::path::Path;

const MAGIC: &[u8; 4] = b"SBK1";
const HEADER_LEN: usize = 4 + 7 + 8 + 4;
/// Plaintext bytes per sealed chunk (64 KiB).
pub const CHUNK: usize = 64 * 1024;
const TAG: usize = 16;

/// The 256-bit backup key. Its `Debug` never shows the bytes.
#[derive(Clone)]
pub struct BackupKey([u8; 32]);

impl std::fmt::Debug for BackupKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BackupKey(<redacted>)")
    }
}

impl BackupKey {
    /// A key from its 32 raw bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// A key from 64 hexadecimal characters (surrounding white space ignored).
    ///
    /// # Errors
    /// [`Error::Key`] when the text is not 64 hex digits (the text is not echoed).
    pub fn from_hex(text: &str) -> Result<Self> {
        let bytes = hex::decode(text.trim())
            .map_err(|_| Error::Key("the key is not hexadecimal".into()))?;
        let arr: [u8; 32] = bytes
            .try_into()
            .map_err(|_| Error::Key("the key must be 32 bytes (64 hex digits)".into()))?;
        Ok(Self(arr))
    }

    /// A key from a key file: 64 hex digits (a trailing newline is fine) or
    /// exactly 32 raw bytes.
    ///
    /// # Errors
    /// [`Error::Key`] when the file cannot be read or holds no valid key.
    pub fn from_file(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path)
            .map_err(|e| Error::Key(format!("cannot read key file {}: {e}", path.display())))?;
        if let Ok(arr) = <[u8; 32]>::try_from(bytes.as_slice()) {
            return Ok(Self(arr));
        }
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| Error::Key(format!("key file {} holds no key", path.display())))?;
        Self::from_hex(text)
    }

    /// A fresh random key (for `switchboard backup keygen` and tests).
    ///
    /// # Errors
    /// [`Error::Key`] when the system's random source fails.
    pub fn generate() -> Result<Self> {
        let mut k = [0u8; 32];
        getrandom::fill(&mut k).map_err(|e| Error::Key(format!("random source: {e}")))?;
        Ok(Self(k))
    }

    /// The key as 64 hex digits (to write a key file; never log it).
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    fn cipher(&self) -> ChaCha20Poly1305 {
        ChaCha20Poly1305::new(&Key::from(self.0))
    }

    /// A detached authentication tag over `data` (the manifest): 12-byte
    /// random nonce then the 16-byte Poly1305 tag, hex. See [`BackupKey::check_tag`].
    ///
    /// # Errors
    /// [`Error::Key`] when the random source fails.
    pub fn tag(&self, data: &[u8]) -> Result<String> {
        let mut n = [0u8; 12];
        getrandom::fill(&mut n).map_err(|e| Error::Key(format!("random source: {e}")))?;
        let t = self
            .cipher()
            .encrypt(
                &Nonce::from(n),
                Payload {
                    msg: b"",
                    aad: data,
                },
            )
            .map_err(|_| Error::Key("sealing failed".into()))?;
        let mut out = n.to_vec();
        out.extend_from_slice(&t);
        Ok(hex::encode(out))
    }

    /// Whether `tag` (from [`BackupKey::tag`]) authenticates `data` under this key.
    pub fn check_tag(&self, data: &[u8], tag: &str) -> bool {
        let Ok(raw) = hex::decode(tag.trim()) else {
            return false;
        };
        if raw.len() != 12 + TAG {
            return false;
        }
        let n: [u8; 12] = raw[..12].try_into().unwrap_or([0; 12]);
        self.cipher()
            .decrypt(
                &Nonce::from(n),
                Payload {
                    msg: &raw[12..],
                    aad: data,
                },
            )
            .is_ok()
    }
}

fn nonce(prefix: &[u8; 7], index: u32, last: bool) -> Nonce {
    let mut n = [0u8; 12];
    n[..7].copy_from_slice(prefix);
    n[7..11].copy_from_slice(&index.to_be_bytes());
    n[11] = u8::from(last);
    Nonce::from(n)
}

/// What sealing or opening a file measured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sealed {
    /// Plaintext length in bytes.
    pub size: u64,
    /// SHA-256 of the plaintext, hex.
    pub sha256: String,
    /// SHA-256 of the sealed file as stored, hex.
    pub stored_sha256: String,
}

fn read_full(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Seal `src` (whose length is `len` bytes) into `dst`, calling `progress`
/// with each chunk's plaintext length.
///
/// # Errors
/// [`Error::Io`] on read/write failures; [`Error::Changed`] when the source
/// did not hold exactly `len` bytes (it changed while being read).
pub fn seal_stream(
    key: &BackupKey,
    mut src: impl Read,
    len: u64,
    mut dst: impl Write,
    progress: &mut dyn FnMut(u64),
) -> Result<Sealed> {
    let mut prefix = [0u8; 7];
    getrandom::fill(&mut prefix).map_err(|e| Error::Key(format!("random source: {e}")))?;
    let mut header = Vec::with_capacity(HEADER_LEN);
    header.extend_from_slice(MAGIC);
    header.extend_from_slice(&prefix);
    header.extend_from_slice(&len.to_be_bytes());
    header.extend_from_slice(&(CHUNK as u32).to_be_bytes());
    let cipher = key.cipher();
    let mut plain_hash = Sha256::new();
    let mut stored_hash = Sha256::new();
    dst.write_all(&header)?;
    stored_hash.update(&header);
    let chunks = len.div_ceil(CHUNK as u64).max(1);
    let mut buf = vec![0u8; CHUNK];
    for i in 0..chunks {
        let want = if i + 1 == chunks {
            (len - i * CHUNK as u64) as usize
        } else {
            CHUNK
        };
        let got = read_full(&mut src, &mut buf[..want])?;
        if got != want {
            return Err(Error::Changed);
        }
        plain_hash.update(&buf[..want]);
        let index = u32::try_from(i).map_err(|_| Error::Changed)?;
        let ct = cipher
            .encrypt(
                &nonce(&prefix, index, i + 1 == chunks),
                Payload {
                    msg: &buf[..want],
                    aad: &header,
                },
            )
            .map_err(|_| Error::Key("sealing failed".into()))?;
        dst.write_all(&ct)?;
        stored_hash.update(&ct);
        progress(want as u64);
    }
    // One more byte means the file grew while we read it.
    let mut extra = [0u8; 1];
    if read_full(&mut src, &mut extra)? != 0 {
        return Err(Error::Changed);
    }
    dst.flush()?;
    Ok(Sealed {
        size: len,
        sha256: hex::encode(plain_hash.finalize()),
        stored_sha256: hex::encode(stored_hash.finalize()),
    })
}

/// Open a sealed stream, writing the plaintext to `dst`.
///
/// # Errors
/// [`Error::Tampered`] (with `name`) when the header, any chunk, the length
/// or the order does not authenticate under `key`; [`Error::Io`] otherwise.
pub fn open_stream(
    key: &BackupKey,
    name: &str,
    mut src: impl Read,
    mut dst: impl Write,
    progress: &mut dyn FnMut(u64),
) -> Result<Sealed> {
    let bad = |why: &str| Error::Tampered {
        file: name.to_string(),
        why: why.to_string(),
    };
    let mut header = [0u8; HEADER_LEN];
    if read_full(&mut src, &mut header)? != HEADER_LEN || &header[..4] != MAGIC {
        return Err(bad("not a sealed backup file (bad header)"));
    }
    let prefix: [u8; 7] = header[4..11].try_into().map_err(|_| bad("header"))?;
    let len = u64::from_be_bytes(header[11..19].try_into().map_err(|_| bad("header"))?);
    let chunk = u32::from_be_bytes(header[19..23].try_into().map_err(|_| bad("header"))?) as usize;
    if chunk == 0 || chunk > 16 * 1024 * 1024 {
        return Err(bad("bad chunk size"));
    }
    let cipher = key.cipher();
    let mut plain_hash = Sha256::new();
    let mut stored_hash = Sha256::new();
    stored_hash.update(header);
    let chunks = len.div_ceil(chunk as u64).max(1);
    let mut buf = vec![0u8; chunk + TAG];
    for i in 0..chunks {
        let want = if i + 1 == chunks {
            (len - i * chunk as u64) as usize + TAG
        } else {
            chunk + TAG
        };
        if read_full(&mut src, &mut buf[..want])? != want {
            return Err(bad("truncated"));
        }
        stored_hash.update(&buf[..want]);
        let index = u32::try_from(i).map_err(|_| bad("too many chunks"))?;
        let pt = cipher
            .decrypt(
                &nonce(&prefix, index, i + 1 == chunks),
                Payload {
                    msg: &buf[..want],
                    aad: &header,
                },
            )
            .map_err(|_| {
                bad(&format!(
                    "chunk {i} does not authenticate (corrupted or wrong key)"
                ))
            })?;
        plain_hash.update(&pt);
        dst.write_all(&pt)?;
        progress(pt.len() as u64);
    }
    let mut extra = [0u8; 1];
    if read_full(&mut src, &mut extra)? != 0 {
        return Err(bad("trailing bytes after the last chunk"));
    }
    dst.flush()?;
    Ok(Sealed {
        size: len,
        sha256: hex::encode(plain_hash.finalize()),
        stored_sha256: hex::encode(stored_hash.finalize()),
    })
}

/// SHA-256 and length of a file, hex.
///
/// # Errors
/// [`Error::Io`].
pub fn hash_file(path: &Path) -> Result<(u64, String)> {
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; CHUNK];
    let mut n = 0u64;
    loop {
        let k = f.read(&mut buf)?;
        if k == 0 {
            break;
        }
        h.update(&buf[..k]);
        n += k as u64;
    }
    Ok((n, hex::encode(h.finalize())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(len: usize) {
        let key = BackupKey::generate().unwrap();
        let data: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
        let mut sealed = Vec::new();
        let s = seal_stream(&key, &data[..], len as u64, &mut sealed, &mut |_| {}).unwrap();
        assert_eq!(s.size, len as u64);
        let mut out = Vec::new();
        let o = open_stream(&key, "x", &sealed[..], &mut out, &mut |_| {}).unwrap();
        assert_eq!(out, data);
        assert_eq!(o, s);
    }

    #[test]
    fn round_trips_empty_exact_and_odd_lengths() {
        for len in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 17] {
            roundtrip(len);
        }
    }

    #[test]
    fn any_flipped_byte_or_truncation_or_wrong_key_is_refused() {
        let key = BackupKey::generate().unwrap();
        let data = vec![7u8; CHUNK + 100];
        let mut sealed = Vec::new();
        seal_stream(&key, &data[..], data.len() as u64, &mut sealed, &mut |_| {}).unwrap();
        for pos in [0, 5, 12, 30, CHUNK, sealed.len() - 1] {
            let mut bad = sealed.clone();
            bad[pos] ^= 1;
            let e =
                open_stream(&key, "rec.wav", &bad[..], std::io::sink(), &mut |_| {}).unwrap_err();
            assert!(e.to_string().contains("rec.wav"), "{e}");
        }
        let cut = &sealed[..sealed.len() - 16];
        assert!(open_stream(&key, "f", cut, std::io::sink(), &mut |_| {}).is_err());
        // Dropping the whole last chunk is caught by the length in the header.
        let cut = &sealed[..HEADER_LEN + CHUNK + TAG];
        assert!(open_stream(&key, "f", cut, std::io::sink(), &mut |_| {}).is_err());
        let other = BackupKey::generate().unwrap();
        assert!(open_stream(&other, "f", &sealed[..], std::io::sink(), &mut |_| {}).is_err());
    }

    #[test]
    fn a_source_that_changes_length_is_reported() {
        let key = BackupKey::generate().unwrap();
        let data = [1u8; 100];
        let e = seal_stream(&key, &data[..], 50, std::io::sink(), &mut |_| {}).unwrap_err();
        assert!(matches!(e, Error::Changed));
        let e = seal_stream(&key, &data[..], 200, std::io::sink(), &mut |_| {}).unwrap_err();
        assert!(matches!(e, Error::Changed));
    }

    #[test]
    fn manifest_tags_authenticate() {
        let key = BackupKey::from_hex(&"ab".repeat(32)).unwrap();
        let t = key.tag(b"manifest").unwrap();
        assert!(key.check_tag(b"manifest", &t));
        assert!(!key.check_tag(b"manifesT", &t));
        assert!(!BackupKey::generate().unwrap().check_tag(b"manifest", &t));
        assert_eq!(format!("{key:?}"), "BackupKey(<redacted>)");
        assert!(BackupKey::from_hex("abc").is_err());
    }
}
