//! SMS text encoding and splitting (pure).
//!
//! - GSM 03.38 / 3GPP TS 23.038 §6.2.1 default 7-bit alphabet, with the §6.2.1.1
//!   extension table reached through the escape septet `0x1B` (each extension
//!   character costs two septets).
//! - Anything outside it is sent as UCS-2 (`data_coding` 8), in practice UTF-16BE:
//!   characters beyond the BMP (emoji) take a surrogate pair, two code units.
//! - Long texts are cut into parts carrying a concatenation UDH (3GPP TS 23.040
//!   §9.2.3.24.1, IEI `0x00`, 8-bit reference): `05 00 03 ref total seq`. A part
//!   holds 153 septets or 67 UCS-2 code units (160 / 70 when the text fits one
//!   SMS). An escape sequence or surrogate pair is never cut across parts.
//!
//! Over SMPP the 7-bit text is carried unpacked, one septet per octet (SMPP 3.4
//! §5.2.19 "SMSC default alphabet"); packing happens on the air interface.

/// GSM 03.38 default alphabet, indexed by septet value.
const BASIC: [char; 128] = [
    '@', '£', '$', '¥', 'è', 'é', 'ù', 'ì', 'ò', 'Ç', '\n', 'Ø', 'ø', '\r', 'Å', 'å', //
    'Δ', '_', 'Φ', 'Γ', 'Λ', 'Ω', 'Π', 'Ψ', 'Σ', 'Θ', 'Ξ', '\u{1b}', 'Æ', 'æ', 'ß', 'É', //
    ' ', '!', '"', '#', '¤', '%', '&', '\'', '(', ')', '*', '+', ',', '-', '.', '/', //
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ':', ';', '<', '=', '>', '?', //
    '¡', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O', //
    'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', 'X', 'Y', 'Z', 'Ä', 'Ö', 'Ñ', 'Ü', '§', //
    '¿', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', //
    'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', 'ä', 'ö', 'ñ', 'ü', 'à', //
];

/// GSM 03.38 extension table: (character, septet after the `0x1B` escape).
const EXTENSION: [(char, u8); 10] = [
    ('\u{c}', 0x0A),
    ('^', 0x14),
    ('{', 0x28),
    ('}', 0x29),
    ('\\', 0x2F),
    ('[', 0x3C),
    ('~', 0x3D),
    (']', 0x3E),
    ('|', 0x40),
    ('€', 0x65),
];

/// The escape septet that introduces an extension-table character.
const ESCAPE: u8 = 0x1B;

/// SMPP `data_coding` value for the SMSC default alphabet (GSM 7-bit).
pub const DATA_CODING_GSM7: u8 = 0x00;
/// SMPP `data_coding` value for UCS-2 (ISO/IEC 10646), UTF-16BE in practice.
pub const DATA_CODING_UCS2: u8 = 0x08;

/// Inverse of [`BASIC`] for U+0000..U+00FF (0xFF: not there), built at compile time.
static LATIN: [u8; 256] = {
    let mut t = [0xFFu8; 256];
    let mut i = 0;
    while i < 128 {
        let c = BASIC[i] as u32;
        if c < 256 && i != 0x1B {
            t[c as usize] = i as u8;
        }
        i += 1;
    }
    t
};

/// Septets for one character, or `None` if it is not in GSM 03.38.
fn gsm_septets(c: char) -> Option<(u8, Option<u8>)> {
    if c == '\u{1b}' {
        return None;
    }
    if let Some(&s) = LATIN.get(c as usize)
        && s != 0xFF
    {
        return Some((s, None));
    }
    if let Some(i) = BASIC.iter().position(|&b| b == c) {
        return u8::try_from(i).ok().map(|s| (s, None));
    }
    EXTENSION
        .iter()
        .find(|(e, _)| *e == c)
        .map(|&(_, s)| (ESCAPE, Some(s)))
}

/// True if every character of `text` is in the GSM 7-bit alphabet (basic or
/// extension table).
pub fn is_gsm7(text: &str) -> bool {
    text.chars().all(|c| gsm_septets(c).is_some())
}

/// Encode `text` as unpacked GSM septets (one per octet).
///
/// Returns `None` if a character is outside the alphabet.
pub fn encode_gsm7(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len());
    for c in text.chars() {
        let (a, b) = gsm_septets(c)?;
        out.push(a);
        out.extend(b);
    }
    Some(out)
}

/// Decode unpacked GSM septets (one per octet, high bit ignored) to text.
/// An unknown extension septet decodes as a space (TS 23.038 §6.2.1.1 note).
pub fn decode_gsm7(septets: &[u8]) -> String {
    let mut out = String::with_capacity(septets.len());
    let mut it = septets.iter().map(|b| b & 0x7F);
    while let Some(s) = it.next() {
        if s == ESCAPE {
            match it.next() {
                Some(e) => out.push(
                    EXTENSION
                        .iter()
                        .find(|&&(_, v)| v == e)
                        .map(|&(c, _)| c)
                        .unwrap_or(' '),
                ),
                None => break,
            }
        } else {
            out.push(BASIC[usize::from(s)]);
        }
    }
    out
}

/// Decode UCS-2/UTF-16BE octets; unpaired surrogates become U+FFFD, an odd
/// trailing octet is dropped.
pub fn decode_ucs2(octets: &[u8]) -> String {
    let units: Vec<u16> = octets
        .chunks_exact(2)
        .map(|p| u16::from_be_bytes([p[0], p[1]]))
        .collect();
    String::from_utf16_lossy(&units)
}

/// One SMS segment ready for `submit_sm`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SmsPart {
    /// SMPP `data_coding`: [`DATA_CODING_GSM7`] or [`DATA_CODING_UCS2`].
    pub data_coding: u8,
    /// The concatenation UDH (`05 00 03 ref total seq`), `None` for a single SMS.
    /// When present the sender sets `esm_class` UDHI (`0x40`).
    pub udh: Option<[u8; 6]>,
    /// The encoded text of this part (septets unpacked, or UTF-16BE octets).
    pub payload: Vec<u8>,
    /// The text this part carries, for logs and tests.
    pub text: String,
}

impl SmsPart {
    /// `short_message` as sent over SMPP: UDH (if any) followed by the payload.
    pub fn short_message(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(6 + self.payload.len());
        if let Some(udh) = self.udh {
            v.extend_from_slice(&udh);
        }
        v.extend_from_slice(&self.payload);
        v
    }
}

/// Why a text cannot be sent as SMS.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SplitError {
    /// More than 255 parts would be needed (the UDH count is one octet).
    #[error("text needs {0} SMS parts, more than the 255 a UDH can number")]
    TooLong(usize),
}

/// Split `text` into SMS parts, GSM 7-bit if possible, UCS-2 otherwise.
///
/// `reference` is the 8-bit concatenation reference shared by all parts of this
/// message; the caller picks it (a per-destination counter) so that the
/// handset can tell two long messages apart.
///
/// # Errors
/// [`SplitError::TooLong`] beyond 255 parts.
pub fn split_sms(text: &str, reference: u8) -> Result<Vec<SmsPart>, SplitError> {
    // Each chunk: (encoded octets of one character, how many, the character).
    type Chunk = ([u8; 4], usize, char);
    let gsm = is_gsm7(text);
    let chars: Vec<Chunk> = text
        .chars()
        .map(|c| {
            let mut b = [0u8; 4];
            if gsm {
                match gsm_septets(c) {
                    Some((s, None)) => {
                        b[0] = s;
                        (b, 1, c)
                    }
                    Some((s, Some(e))) => {
                        b[0] = s;
                        b[1] = e;
                        (b, 2, c)
                    }
                    None => (b, 0, c),
                }
            } else {
                let mut u = [0u16; 2];
                let units = c.encode_utf16(&mut u);
                for (i, unit) in units.iter().enumerate() {
                    let [hi, lo] = unit.to_be_bytes();
                    b[2 * i] = hi;
                    b[2 * i + 1] = lo;
                }
                (b, 2 * units.len(), c)
            }
        })
        .collect();
    // Limits in septets (GSM) or octets (70 / 67 UCS-2 code units).
    let (coding, single, multi) = if gsm {
        (DATA_CODING_GSM7, 160, 153)
    } else {
        (DATA_CODING_UCS2, 140, 134)
    };
    let total: usize = chars.iter().map(|(_, n, _)| n).sum();
    if total <= single {
        let payload: Vec<u8> = chars
            .iter()
            .flat_map(|(e, n, _)| e[..*n].iter().copied())
            .collect();
        return Ok(vec![SmsPart {
            data_coding: coding,
            udh: None,
            payload,
            text: text.to_string(),
        }]);
    }
    let mut groups: Vec<(Vec<u8>, String)> = Vec::new();
    let mut cur: (Vec<u8>, String) = (Vec::new(), String::new());
    for (enc, n, c) in chars {
        if cur.0.len() + n > multi {
            groups.push(std::mem::take(&mut cur));
        }
        cur.0.extend_from_slice(&enc[..n]);
        cur.1.push(c);
    }
    if !cur.0.is_empty() {
        groups.push(cur);
    }
    let n = groups.len();
    let count = u8::try_from(n).map_err(|_| SplitError::TooLong(n))?;
    Ok(groups
        .into_iter()
        .zip(1u8..)
        .map(|((payload, text), seq)| SmsPart {
            data_coding: coding,
            udh: Some([0x05, 0x00, 0x03, reference, count, seq]),
            payload,
            text,
        })
        .collect())
}

/// Split a received `short_message` into (UDH, payload) when `esm_class` has UDHI
/// set; returns the concatenation `(reference, total, seq)` if the UDH holds an
/// IEI 0x00 (8-bit) or 0x08 (16-bit reference, folded to its low octet).
pub fn strip_udh(short_message: &[u8]) -> (Option<(u16, u8, u8)>, &[u8]) {
    let Some((&udhl, rest)) = short_message.split_first() else {
        return (None, short_message);
    };
    let udhl = usize::from(udhl);
    if rest.len() < udhl {
        return (None, short_message);
    }
    let (udh, payload) = rest.split_at(udhl);
    let mut concat = None;
    let mut i = 0;
    while i + 1 < udh.len() {
        let iei = udh[i];
        let len = usize::from(udh[i + 1]);
        let Some(data) = udh.get(i + 2..i + 2 + len) else {
            break;
        };
        match (iei, data) {
            (0x00, [r, t, s]) => concat = Some((u16::from(*r), *t, *s)),
            (0x08, [r1, r2, t, s]) => concat = Some((u16::from_be_bytes([*r1, *r2]), *t, *s)),
            _ => {}
        }
        i += 2 + len;
    }
    (concat, payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn french_accented_text_is_gsm7_single_part() {
        let text = "Bonjour Aïcha, votre colis arrive à 14h. Merci de votre fidélité, à bientôt !";
        // ï is not in GSM 03.38: UCS-2.
        assert!(!is_gsm7(text));
        let text = "Votre colis arrive à 14h, Chloé. Où êtes-vous ?";
        // ê is not in GSM 03.38 either.
        assert!(!is_gsm7(text));
        let text = "Votre colis arrive à 14h. Merci de votre fidélité, à très vite !";
        let parts = split_sms(text, 7).unwrap();
        assert_eq!(parts.len(), 1);
        let p = &parts[0];
        assert_eq!(p.data_coding, DATA_CODING_GSM7);
        assert_eq!(p.udh, None);
        assert_eq!(p.payload.len(), 64);
        // à = 0x7F, é = 0x05, è = 0x04 (TS 23.038 §6.2.1).
        assert_eq!(&p.payload[17..21], &[b'e', b' ', 0x7F, b' ']);
        assert_eq!((p.payload[44], p.payload[48]), (0x05, 0x05));
        assert_eq!((p.payload[51], p.payload[55]), (0x7F, 0x04));
        assert_eq!(decode_gsm7(&p.payload), text);
    }

    #[test]
    fn french_text_with_circumflex_is_ucs2() {
        let text = "Où êtes-vous ?";
        let parts = split_sms(text, 1).unwrap();
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0].data_coding, DATA_CODING_UCS2);
        assert_eq!(
            parts[0].payload[..6],
            [0x00, 0x4F, 0x00, 0xF9, 0x00, 0x20] // O ù space
        );
        assert_eq!(decode_ucs2(&parts[0].payload), text);
    }

    #[test]
    fn arabic_and_emoji_use_ucs2_with_surrogate_pairs() {
        let text = "مرحبا 😀";
        let parts = split_sms(text, 1).unwrap();
        assert_eq!(parts.len(), 1);
        let p = &parts[0];
        assert_eq!(p.data_coding, DATA_CODING_UCS2);
        assert_eq!(
            p.payload,
            vec![
                0x06, 0x45, 0x06, 0x31, 0x06, 0x2D, 0x06, 0x28, 0x06, 0x27, // مرحبا
                0x00, 0x20, // space
                0xD8, 0x3D, 0xDE, 0x00, // U+1F600 as a surrogate pair
            ]
        );
        assert_eq!(decode_ucs2(&p.payload), text);
    }

    #[test]
    fn long_arabic_emoji_text_never_cuts_a_surrogate_pair() {
        // 66 Arabic letters then an emoji: the pair would straddle unit 67/68.
        let text = format!("{}😀{}", "ب".repeat(66), "ت".repeat(10));
        let parts = split_sms(&text, 9).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].payload.len(), 132); // 66 units: the pair moved on
        assert_eq!(parts[0].udh, Some([5, 0, 3, 9, 2, 1]));
        assert_eq!(parts[1].udh, Some([5, 0, 3, 9, 2, 2]));
        assert_eq!(parts[1].text, format!("😀{}", "ت".repeat(10)));
        let joined: String = parts.iter().map(|p| decode_ucs2(&p.payload)).collect();
        assert_eq!(joined, text);
    }

    #[test]
    fn three_hundred_characters_make_two_concatenated_parts() {
        let text: String = "0123456789".repeat(30);
        assert_eq!(text.len(), 300);
        let parts = split_sms(&text, 0x2A).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].udh, Some([0x05, 0x00, 0x03, 0x2A, 0x02, 0x01]));
        assert_eq!(parts[1].udh, Some([0x05, 0x00, 0x03, 0x2A, 0x02, 0x02]));
        assert_eq!(parts[0].payload.len(), 153);
        assert_eq!(parts[1].payload.len(), 147);
        assert_eq!(parts[0].text, text[..153]);
        assert_eq!(parts[1].text, text[153..]);
        assert_eq!(parts[0].short_message()[..7], [5, 0, 3, 0x2A, 2, 1, b'0']);
    }

    #[test]
    fn boundaries_160_and_161() {
        assert_eq!(split_sms(&"a".repeat(160), 0).unwrap().len(), 1);
        assert_eq!(split_sms(&"a".repeat(161), 0).unwrap().len(), 2);
        assert_eq!(split_sms(&"ب".repeat(70), 0).unwrap().len(), 1);
        assert_eq!(split_sms(&"ب".repeat(71), 0).unwrap().len(), 2);
        assert!(matches!(
            split_sms(&"a".repeat(153 * 255 + 1), 0),
            Err(SplitError::TooLong(256))
        ));
    }

    #[test]
    fn extension_characters_cost_two_septets_and_stay_whole() {
        assert_eq!(encode_gsm7("€[").unwrap(), vec![0x1B, 0x65, 0x1B, 0x3C]);
        // 152 'a', '€', 7 'b' = 161 septets: two parts, and the escape pair
        // does not fit at septets 153-154 of part 1.
        let text = format!("{}€bbbbbbb", "a".repeat(152));
        let parts = split_sms(&text, 0).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].payload.len(), 152);
        assert_eq!(parts[1].payload[..3], [0x1B, 0x65, b'b']);
        assert_eq!(decode_gsm7(&parts[1].payload), "€bbbbbbb");
        // 80 euros = 160 septets: still one SMS.
        assert_eq!(split_sms(&"€".repeat(80), 0).unwrap().len(), 1);
        assert_eq!(split_sms(&"€".repeat(81), 0).unwrap().len(), 2);
    }

    #[test]
    fn strip_udh_reads_both_reference_sizes() {
        let sm = [5, 0, 3, 0x2A, 2, 1, b'h', b'i'];
        assert_eq!(strip_udh(&sm), (Some((0x2A, 2, 1)), &b"hi"[..]));
        let sm16 = [6, 8, 4, 0x01, 0x02, 3, 2, b'x'];
        assert_eq!(strip_udh(&sm16), (Some((0x0102, 3, 2)), &b"x"[..]));
        // Length beyond the buffer: treated as no UDH, no panic.
        assert_eq!(strip_udh(&[9, 0, 3]), (None, &[9u8, 0, 3][..]));
        assert_eq!(strip_udh(&[]), (None, &[][..]));
    }

    proptest::proptest! {
        /// Any text: parts rejoin to the input, respect the size limits, decode
        /// back to their own text, and are numbered 1..=n under one reference.
        #[test]
        fn parts_rejoin_and_fit(text in "(\\PC|[€\\[\\]{}~^|é]){0,400}", reference: u8) {
            let parts = split_sms(&text, reference).unwrap();
            let joined: String = parts.iter().map(|p| p.text.as_str()).collect();
            proptest::prop_assert_eq!(&joined, &text);
            let n = parts.len();
            for (i, p) in parts.iter().enumerate() {
                let (single, multi) = if p.data_coding == DATA_CODING_GSM7 {
                    (160, 153)
                } else {
                    (140, 134)
                };
                let decoded = if p.data_coding == DATA_CODING_GSM7 {
                    decode_gsm7(&p.payload)
                } else {
                    decode_ucs2(&p.payload)
                };
                proptest::prop_assert_eq!(&decoded, &p.text);
                if n == 1 {
                    proptest::prop_assert!(p.payload.len() <= single);
                    proptest::prop_assert_eq!(p.udh, None);
                } else {
                    proptest::prop_assert!(p.payload.len() <= multi);
                    let seq = u8::try_from(i + 1).unwrap();
                    let total = u8::try_from(n).unwrap();
                    proptest::prop_assert_eq!(p.udh, Some([5, 0, 3, reference, total, seq]));
                }
            }
        }
    }
}
