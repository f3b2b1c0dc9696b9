//! CSAT survey reply parsing (pure).
//!
//! After a conversation or call closes, the customer is asked for a 1-5 score
//! by SMS, WhatsApp or e-mail. Replies come back in any shape: `"5"`, `" 4 "`,
//! `"cinq"`, `"five"`, `"quatre étoiles"`, `"3/5"`, `"5 merci !"`. This module
//! turns them into a score, or `None` when no single score can be read (the
//! engine then treats the message as an ordinary one).

/// Number words, French and English, without accents (input is folded first).
const WORDS: [(&str, u8); 12] = [
    ("un", 1),
    ("une", 1),
    ("one", 1),
    ("deux", 2),
    ("two", 2),
    ("trois", 3),
    ("three", 3),
    ("quatre", 4),
    ("four", 4),
    ("cinq", 5),
    ("five", 5),
    ("zero", 0),
];

/// Fold to lower case ASCII-ish: strip the accents French replies carry.
fn fold(c: char) -> char {
    match c {
        'à' | 'â' | 'ä' | 'À' | 'Â' | 'Ä' => 'a',
        'é' | 'è' | 'ê' | 'ë' | 'É' | 'È' | 'Ê' | 'Ë' => 'e',
        'î' | 'ï' | 'Î' | 'Ï' => 'i',
        'ô' | 'ö' | 'Ô' | 'Ö' => 'o',
        'ù' | 'û' | 'ü' | 'Ù' | 'Û' | 'Ü' => 'u',
        'ç' | 'Ç' => 'c',
        other => other.to_ascii_lowercase(),
    }
}

/// Read a CSAT score 1..=5 from a customer's reply.
///
/// Rules: the reply is cut into words (letters or digits); a `/5` or `sur 5`
/// after a number is ignored as the scale; every remaining number (digit or
/// number word) is a candidate. Exactly one distinct candidate in 1..=5 gives
/// the score; none, several different ones (`"3 ou 4"`), or out-of-range
/// (`"7"`, `"0"`) give `None`. Replies over 160 characters are not answers.
pub fn parse_csat(reply: &str) -> Option<u8> {
    if reply.chars().count() > 160 {
        return None;
    }
    let folded: String = reply.chars().map(fold).collect();
    // Tokens: runs of digits, runs of letters; '/' kept as its own token.
    let mut tokens: Vec<String> = Vec::new();
    let mut cur = String::new();
    let mut cur_digit = false;
    for c in folded.chars() {
        let is_d = c.is_ascii_digit();
        let is_a = c.is_alphabetic();
        if (is_d || is_a) && (cur.is_empty() || cur_digit == is_d) {
            cur.push(c);
            cur_digit = is_d;
            continue;
        }
        if !cur.is_empty() {
            tokens.push(std::mem::take(&mut cur));
        }
        if is_d || is_a {
            cur.push(c);
            cur_digit = is_d;
        } else if c == '/' {
            tokens.push("/".into());
        }
    }
    if !cur.is_empty() {
        tokens.push(cur);
    }
    let mut found: Option<u8> = None;
    let mut i = 0;
    while i < tokens.len() {
        let tok = tokens[i].as_str();
        let value = if tok.bytes().all(|b| b.is_ascii_digit()) {
            // "10" or "0005" are not a 1-5 score.
            if tok.len() == 1 {
                tok.parse::<u8>().ok()
            } else {
                return None;
            }
        } else if (tok == "un" || tok == "une") && tokens.len() > 1 {
            // Also the French article ("c'est un bon service"): a score only alone.
            None
        } else {
            WORDS.iter().find(|(w, _)| *w == tok).map(|&(_, v)| v)
        };
        if let Some(v) = value {
            // "3/5", "3 sur 5", "3 out of 5": skip the scale.
            let next = tokens.get(i + 1).map(String::as_str);
            let skip = match next {
                Some("/") | Some("sur") => 2,
                Some("out") if tokens.get(i + 2).map(String::as_str) == Some("of") => 3,
                _ => 0,
            };
            if skip > 0 && tokens.get(i + skip).map(String::as_str) == Some("5") {
                i += skip;
            }
            if !(1..=5).contains(&v) {
                return None;
            }
            match found {
                Some(f) if f != v => return None,
                _ => found = Some(v),
            }
        }
        i += 1;
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_replies() {
        let cases = [
            ("5", 5),
            (" 4 ", 4),
            ("cinq", 5),
            ("five", 5),
            ("Five!", 5),
            ("quatre étoiles", 4),
            ("3/5", 3),
            ("3 / 5", 3),
            ("2 sur 5", 2),
            ("1 out of 5", 1),
            ("5 merci beaucoup", 5),
            ("Je mets TROIS", 3),
            ("un", 1),
            ("5/5", 5),
            ("4 4", 4),
            ("c'est un bon service, 5", 5),
        ];
        for (text, want) in cases {
            assert_eq!(parse_csat(text), Some(want), "{text:?}");
        }
    }

    #[test]
    fn rejected_replies() {
        for text in [
            "",
            "   ",
            "bonjour",
            "merci",
            "7",
            "0",
            "10",
            "3 ou 4",
            "deux ou trois",
            "appelez-moi au 97000000",
            "asdf/qwer",
            "😀",
        ] {
            assert_eq!(parse_csat(text), None, "{text:?}");
        }
        assert_eq!(parse_csat(&"5 ".repeat(100)), None);
    }
}
