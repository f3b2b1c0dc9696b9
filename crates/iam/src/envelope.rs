//! Recordings encrypted at rest (issue 18, data protection): envelope
//! encryption with ChaCha20-Poly1305 (RFC 8439).
//!
//! - One random 256-bit data key (DEK) per file encrypts the audio in chunks
//!   of [`CHUNK`] bytes; each chunk is sealed on its own (nonce = last-chunk
//!   flag ‖ chunk index), so a byte range decrypts only the chunks it
//!   touches and a truncated or reordered file fails authentication.
//! - The DEK is wrapped by a key-encryption key (KEK) named by a 16-byte id;
//!   rotation re-wraps the DEK under a new KEK by rewriting the fixed-size
//!   header only ([`rewrap`]): the audio is not re-encrypted.
//!
//! Pure: callers supply keys and nonces from their RNG and do the file I/O.
//! Layout: `"SBREC1\0\0"` ‖ KEK id (16) ‖ wrap nonce (12) ‖ wrapped DEK (48)
//! ‖ chunk size u32 BE ‖ plaintext length u64 BE ‖ chunks (≤ CHUNK + 16 each).
//! Wiring into the voice recorder and the playback handler is not done here.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};

/// Plaintext bytes per chunk (64 KiB).
pub const CHUNK: usize = 64 * 1024;
const MAGIC: &[u8; 8] = b"SBREC1\0\0";
const TAG: usize = 16;
/// Header length in bytes.
pub const HEADER_LEN: usize = 8 + 16 + 12 + 48 + 4 + 8;

/// A key-encryption key and its id (from the config or a key file).
#[derive(Clone)]
pub struct Kek {
    /// Up to 16 bytes naming the key (zero-padded in the header).
    pub id: [u8; 16],
    /// The key.
    pub key: [u8; 32],
}

impl Kek {
    /// A KEK named `id` (at most 16 bytes; longer ids are cut).
    pub fn new(id: &str, key: [u8; 32]) -> Kek {
        let mut b = [0u8; 16];
        let n = id.len().min(16);
        b[..n].copy_from_slice(&id.as_bytes()[..n]);
        Kek { id: b, key }
    }
}

/// Why a file could not be opened or decrypted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    /// Not an encrypted recording (magic or length wrong).
    #[error("not an encrypted recording")]
    NotEncrypted,
    /// No KEK with the header's id was given.
    #[error("no key-encryption key with this file's id")]
    UnknownKek,
    /// Authentication failed: wrong key, altered or truncated data.
    #[error("decryption failed: wrong key or altered data")]
    Corrupt,
    /// The range is outside the recording.
    #[error("range outside the recording")]
    BadRange,
}

fn cipher(k: &[u8; 32]) -> ChaCha20Poly1305 {
    ChaCha20Poly1305::new(&Key::from(*k))
}

fn chunk_nonce(index: u64, last: bool) -> [u8; 12] {
    let mut n = [0u8; 12];
    n[0] = u8::from(last);
    n[4..].copy_from_slice(&index.to_be_bytes());
    n
}

/// Encrypt `plain` under a fresh data key `dek`, wrapped by `kek` with
/// `wrap_nonce` (both from the caller's RNG; never reuse a DEK).
pub fn encrypt(kek: &Kek, dek: [u8; 32], wrap_nonce: [u8; 12], plain: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + plain.len() + plain.len() / CHUNK * TAG + TAG);
    out.extend_from_slice(&header(kek, &dek, wrap_nonce, plain.len() as u64));
    let c = cipher(&dek);
    let chunks: Vec<&[u8]> = if plain.is_empty() {
        vec![&[][..]]
    } else {
        plain.chunks(CHUNK).collect()
    };
    let n = chunks.len();
    for (i, ch) in chunks.into_iter().enumerate() {
        let nonce = chunk_nonce(i as u64, i + 1 == n);
        // Encryption with a valid key cannot fail.
        if let Ok(ct) = c.encrypt(
            &Nonce::from(nonce),
            Payload {
                msg: ch,
                aad: MAGIC,
            },
        ) {
            out.extend_from_slice(&ct);
        }
    }
    out
}

fn header(kek: &Kek, dek: &[u8; 32], wrap_nonce: [u8; 12], len: u64) -> Vec<u8> {
    let mut h = Vec::with_capacity(HEADER_LEN);
    h.extend_from_slice(MAGIC);
    h.extend_from_slice(&kek.id);
    h.extend_from_slice(&wrap_nonce);
    let sizes = [
        (CHUNK as u32).to_be_bytes().as_slice(),
        len.to_be_bytes().as_slice(),
    ]
    .concat();
    let aad = [kek.id.as_slice(), &sizes].concat();
    let wrapped = cipher(&kek.key)
        .encrypt(
            &Nonce::from(wrap_nonce),
            Payload {
                msg: dek,
                aad: &aad,
            },
        )
        .unwrap_or_default();
    h.extend_from_slice(&wrapped);
    h.extend_from_slice(&sizes);
    h
}

/// An opened file header: the unwrapped data key and the sizes.
pub struct Opened {
    dek: [u8; 32],
    chunk: usize,
    /// Plaintext length in bytes.
    pub len: u64,
}

/// Read the header and unwrap the data key with whichever of `keks` the
/// header names.
///
/// # Errors
/// [`EnvelopeError::NotEncrypted`], [`EnvelopeError::UnknownKek`],
/// [`EnvelopeError::Corrupt`].
pub fn open(header_bytes: &[u8], keks: &[Kek]) -> Result<Opened, EnvelopeError> {
    if header_bytes.len() < HEADER_LEN || &header_bytes[..8] != MAGIC {
        return Err(EnvelopeError::NotEncrypted);
    }
    let id = &header_bytes[8..24];
    let kek = keks
        .iter()
        .find(|k| k.id == id)
        .ok_or(EnvelopeError::UnknownKek)?;
    let nonce: [u8; 12] = header_bytes[24..36]
        .try_into()
        .map_err(|_| EnvelopeError::Corrupt)?;
    let dek = cipher(&kek.key)
        .decrypt(
            &Nonce::from(nonce),
            // The sizes are authenticated with the key: a file that lies
            // about its length (truncation) does not open.
            Payload {
                msg: &header_bytes[36..84],
                aad: &[id, &header_bytes[84..96]].concat(),
            },
        )
        .map_err(|_| EnvelopeError::Corrupt)?;
    let dek: [u8; 32] = dek.try_into().map_err(|_| EnvelopeError::Corrupt)?;
    let chunk = u32::from_be_bytes(
        header_bytes[84..88]
            .try_into()
            .map_err(|_| EnvelopeError::Corrupt)?,
    ) as usize;
    let len = u64::from_be_bytes(
        header_bytes[88..96]
            .try_into()
            .map_err(|_| EnvelopeError::Corrupt)?,
    );
    if chunk == 0 {
        return Err(EnvelopeError::Corrupt);
    }
    Ok(Opened { dek, chunk, len })
}

/// Re-wrap a file's data key under `new` (key rotation): returns the new
/// header, same length, to write over the old one. The chunks are untouched.
///
/// # Errors
/// As [`open`] with `old`.
pub fn rewrap(
    header_bytes: &[u8],
    old: &[Kek],
    new: &Kek,
    wrap_nonce: [u8; 12],
) -> Result<Vec<u8>, EnvelopeError> {
    let o = open(header_bytes, old)?;
    Ok(header(new, &o.dek, wrap_nonce, o.len))
}

impl Opened {
    /// Where in the file the chunks covering plaintext bytes `first..=last`
    /// lie: `(file offset, byte count)` to read.
    ///
    /// # Errors
    /// [`EnvelopeError::BadRange`] outside the recording.
    pub fn span(&self, first: u64, last: u64) -> Result<(u64, u64), EnvelopeError> {
        if first > last || last >= self.len {
            return Err(EnvelopeError::BadRange);
        }
        let c = self.chunk as u64;
        let (a, b) = (first / c, last / c);
        let sealed = c + TAG as u64;
        let end = (b + 1) * sealed;
        let total = HEADER_LEN as u64 + self.len.div_ceil(c) * sealed
            - (self.len.div_ceil(c) * c - self.len);
        Ok((
            HEADER_LEN as u64 + a * sealed,
            end.min(total - HEADER_LEN as u64) - a * sealed,
        ))
    }

    /// Decrypt plaintext bytes `first..=last` from `sealed`, the bytes
    /// [`Opened::span`] named.
    ///
    /// # Errors
    /// [`EnvelopeError::Corrupt`] when a chunk fails authentication,
    /// [`EnvelopeError::BadRange`] outside the recording.
    pub fn decrypt_range(
        &self,
        sealed: &[u8],
        first: u64,
        last: u64,
    ) -> Result<Vec<u8>, EnvelopeError> {
        self.span(first, last)?;
        let c = self.chunk as u64;
        let n_chunks = self.len.div_ceil(c).max(1);
        let a = first / c;
        let cip = cipher(&self.dek);
        let mut plain = Vec::new();
        for (k, ct) in sealed.chunks(self.chunk + TAG).enumerate() {
            let idx = a + k as u64;
            let nonce = chunk_nonce(idx, idx + 1 == n_chunks);
            let p = cip
                .decrypt(
                    &Nonce::from(nonce),
                    Payload {
                        msg: ct,
                        aad: MAGIC,
                    },
                )
                .map_err(|_| EnvelopeError::Corrupt)?;
            plain.extend_from_slice(&p);
        }
        let skip = (first - a * c) as usize;
        let want = (last - first + 1) as usize;
        plain
            .get(skip..skip + want)
            .map(<[u8]>::to_vec)
            .ok_or(EnvelopeError::Corrupt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wav(n: usize) -> Vec<u8> {
        let mut v = b"RIFF\0\0\0\0WAVE".to_vec();
        v.extend((0..n).map(|i| (i * 7 % 251) as u8));
        v
    }

    fn read(file: &[u8], o: &Opened, first: u64, last: u64) -> Result<Vec<u8>, EnvelopeError> {
        let (off, n) = o.span(first, last)?;
        o.decrypt_range(&file[off as usize..(off + n) as usize], first, last)
    }

    #[test]
    fn not_playable_without_the_key_and_ranges_decrypt() {
        let plain = wav(3 * CHUNK + 1234);
        let k1 = Kek::new("kek-2026-01", [1; 32]);
        let file = encrypt(&k1, [9; 32], [5; 12], &plain);
        assert!(
            !file.windows(4).any(|w| w == b"WAVE"),
            "no plaintext on disk"
        );
        assert_eq!(
            open(&file, &[Kek::new("kek-2026-01", [2; 32])]).err(),
            Some(EnvelopeError::Corrupt)
        );
        assert_eq!(
            open(&file, &[Kek::new("other", [1; 32])]).err(),
            Some(EnvelopeError::UnknownKek)
        );
        assert_eq!(
            open(&plain, std::slice::from_ref(&k1)).err(),
            Some(EnvelopeError::NotEncrypted)
        );

        let o = open(&file, std::slice::from_ref(&k1)).unwrap();
        assert_eq!(o.len, plain.len() as u64);
        let all = read(&file, &o, 0, o.len - 1).unwrap();
        assert_eq!(all, plain);
        // A range across a chunk boundary, and one in the short last chunk.
        let (a, b) = (CHUNK as u64 - 10, CHUNK as u64 + 10);
        assert_eq!(
            read(&file, &o, a, b).unwrap(),
            plain[a as usize..=b as usize]
        );
        let l = o.len - 1;
        assert_eq!(read(&file, &o, l - 5, l).unwrap(), plain[l as usize - 5..]);
        assert_eq!(read(&file, &o, 8, 11).unwrap(), b"WAVE");
        assert_eq!(
            read(&file, &o, 0, o.len).err(),
            Some(EnvelopeError::BadRange)
        );

        // One flipped bit in the audio fails that chunk.
        let mut bad = file.clone();
        bad[HEADER_LEN + CHUNK + 100] ^= 1;
        assert_eq!(read(&bad, &o, 0, 10).unwrap(), plain[..=10]);
        assert_eq!(
            read(&bad, &o, CHUNK as u64 + 200, CHUNK as u64 + 300).err(),
            Some(EnvelopeError::Corrupt)
        );
        // A file truncated to whole chunks, its header claiming the shorter
        // length, does not open; nor does a non-final chunk passed as final.
        let mut cut = file[..HEADER_LEN + 3 * (CHUNK + TAG)].to_vec();
        cut[88..96].copy_from_slice(&(3 * CHUNK as u64).to_be_bytes());
        assert_eq!(
            open(&cut, std::slice::from_ref(&k1)).err(),
            Some(EnvelopeError::Corrupt)
        );
        let short = Opened {
            dek: o.dek,
            chunk: CHUNK,
            len: 3 * CHUNK as u64,
        };
        let s = &file[HEADER_LEN + 2 * (CHUNK + TAG)..HEADER_LEN + 3 * (CHUNK + TAG)];
        assert_eq!(
            short
                .decrypt_range(s, 2 * CHUNK as u64, 2 * CHUNK as u64)
                .err(),
            Some(EnvelopeError::Corrupt)
        );
    }

    #[test]
    fn rotation_rewraps_the_header_only() {
        let plain = wav(CHUNK + 5);
        let k1 = Kek::new("k1", [1; 32]);
        let k2 = Kek::new("k2", [2; 32]);
        let mut file = encrypt(&k1, [9; 32], [5; 12], &plain);
        let body = file[HEADER_LEN..].to_vec();
        let h = rewrap(&file[..HEADER_LEN], std::slice::from_ref(&k1), &k2, [6; 12]).unwrap();
        assert_eq!(h.len(), HEADER_LEN);
        file[..HEADER_LEN].copy_from_slice(&h);
        assert_eq!(file[HEADER_LEN..], body[..], "audio not re-encrypted");
        assert_eq!(
            open(&file, std::slice::from_ref(&k1)).err(),
            Some(EnvelopeError::UnknownKek)
        );
        let o = open(&file, &[k1, k2]).unwrap();
        assert_eq!(read(&file, &o, 0, o.len - 1).unwrap(), plain);
    }

    #[test]
    fn empty_recording() {
        let k = Kek::new("k", [1; 32]);
        let file = encrypt(&k, [3; 32], [4; 12], b"");
        assert_eq!(file.len(), HEADER_LEN + TAG);
        assert_eq!(open(&file, &[k]).unwrap().len, 0);
    }
}
