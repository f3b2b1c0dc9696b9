//! "Say a value": turn digits, whole numbers, amounts and dates into a list
//! of word prompts, with a French and an English number grammar.
//!
//! Word prompt names (one WAV per language under `assets/prompts/<lang>/`):
//! `num_0`..`num_20`, tens `num_30`..`num_90`, `num_100` (cent / hundred),
//! `num_1000` (mille / thousand), `num_million`, `num_millions` (fr plural),
//! `num_and` (fr "et" of vingt-et-un), `num_minus`, `month_1`..`month_12`,
//! `date_first` (fr "premier"), `currency_<code>`, `cents`, `and`.
//! A language without a grammar (Wolof in the demo) uses its fallback's.

use crate::model::SayAs;

/// A number grammar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Grammar {
    /// French (France/West Africa: soixante-dix, quatre-vingts).
    French,
    /// English (no "and" after hundred).
    English,
}

impl Grammar {
    /// The grammar for a language tag, if this crate has one.
    pub fn for_language(lang: &str) -> Option<Grammar> {
        match lang {
            "fr" => Some(Grammar::French),
            "en" => Some(Grammar::English),
            _ => None,
        }
    }

    /// The language whose word prompts this grammar uses.
    pub fn language(self) -> &'static str {
        match self {
            Grammar::French => "fr",
            Grammar::English => "en",
        }
    }

    /// Every word prompt this grammar may produce (used by validation and
    /// by `scripts/make-prompts.sh`).
    pub fn words(self) -> Vec<String> {
        let mut w: Vec<String> = (0..=20).map(|n| format!("num_{n}")).collect();
        let tens: &[u32] = match self {
            Grammar::French => &[30, 40, 50, 60, 80],
            Grammar::English => &[30, 40, 50, 60, 70, 80, 90],
        };
        w.extend(tens.iter().map(|n| format!("num_{n}")));
        for s in [
            "num_100",
            "num_1000",
            "num_million",
            "num_minus",
            "cents",
            "and",
        ] {
            w.push(s.to_string());
        }
        if self == Grammar::French {
            w.push("num_millions".into());
            w.push("num_and".into());
            w.push("date_first".into());
        }
        w.extend((1..=12).map(|m| format!("month_{m}")));
        w.extend(CURRENCIES.iter().map(|(c, _)| format!("currency_{c}")));
        w
    }
}

/// Currencies a `say` node may name, with their minor units (ISO 4217).
pub const CURRENCIES: [(&str, u32); 3] = [("xof", 0), ("eur", 2), ("usd", 2)];

/// Minor units of a currency code, if known.
pub fn currency_minor_units(code: &str) -> Option<u32> {
    CURRENCIES.iter().find(|(c, _)| *c == code).map(|(_, u)| *u)
}

/// Largest absolute number spoken as a number (beyond: digit by digit).
pub const MAX_NUMBER: u64 = 999_999_999;

/// Word prompts for `value` said as `how`, or `None` when the value cannot be
/// said that way (empty, not a number, not a date).
pub fn say(g: Grammar, how: SayAs, value: &str, currency: &str) -> Option<Vec<String>> {
    let v = value.trim();
    match how {
        SayAs::Digits => {
            let w: Vec<String> = v
                .chars()
                .filter(char::is_ascii_digit)
                .map(|c| format!("num_{c}"))
                .collect();
            (!w.is_empty() && w.len() <= 64).then_some(w)
        }
        SayAs::Number => {
            let (neg, int, _) = parse_decimal(v)?;
            let mut w = Vec::new();
            if neg && int > 0 {
                w.push("num_minus".to_string());
            }
            number_words(g, int, &mut w);
            Some(w)
        }
        SayAs::Amount => {
            let (neg, int, frac) = parse_decimal(v)?;
            let minor = currency_minor_units(currency)?;
            let mut w = Vec::new();
            if neg {
                w.push("num_minus".to_string());
            }
            let (int, cents) = if minor == 0 {
                // Round half up to a whole unit.
                (int.saturating_add(u64::from(frac >= 50)), 0)
            } else {
                (int, frac)
            };
            number_words(g, int, &mut w);
            w.push(format!("currency_{currency}"));
            if cents > 0 {
                w.push("and".to_string());
                number_words(g, cents, &mut w);
                w.push("cents".to_string());
            }
            Some(w)
        }
        SayAs::Date => {
            let d: jiff::civil::Date = v.get(..10)?.parse().ok()?;
            let (day, month, year) = (d.day() as u64, d.month(), d.year());
            let year = u64::try_from(year).ok()?;
            let mut w = Vec::new();
            match g {
                Grammar::French => {
                    if day == 1 {
                        w.push("date_first".to_string());
                    } else {
                        number_words(g, day, &mut w);
                    }
                    w.push(format!("month_{month}"));
                }
                Grammar::English => {
                    w.push(format!("month_{month}"));
                    number_words(g, day, &mut w);
                }
            }
            number_words(g, year, &mut w);
            Some(w)
        }
    }
}

/// Parse `[-]digits[.digits]` into (negative, integer part, two-digit fraction).
fn parse_decimal(v: &str) -> Option<(bool, u64, u64)> {
    let (neg, body) = match v.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, v),
    };
    let (int, frac) = match body.split_once(['.', ',']) {
        Some((i, f)) => (i, f),
        None => (body, ""),
    };
    if int.is_empty()
        || !int.chars().all(|c| c.is_ascii_digit())
        || !frac.chars().all(|c| c.is_ascii_digit())
    {
        return None;
    }
    let int: u64 = int.parse().ok()?;
    if int > MAX_NUMBER {
        return None;
    }
    let mut f2: String = frac.chars().take(2).collect();
    while f2.len() < 2 {
        f2.push('0');
    }
    Some((neg, int, f2.parse().ok()?))
}

fn push(w: &mut Vec<String>, n: u64) {
    w.push(format!("num_{n}"));
}

/// Append the words of `n` (0..=999_999_999).
pub fn number_words(g: Grammar, n: u64, w: &mut Vec<String>) {
    if n == 0 {
        push(w, 0);
        return;
    }
    let millions = n / 1_000_000;
    let thousands = (n / 1000) % 1000;
    let rest = n % 1000;
    if millions > 0 {
        below_1000(g, millions, w);
        if g == Grammar::French && millions > 1 {
            w.push("num_millions".into());
        } else {
            w.push("num_million".into());
        }
    }
    if thousands > 0 {
        // French says "mille", not "un mille".
        if !(g == Grammar::French && thousands == 1) {
            below_1000(g, thousands, w);
        }
        w.push("num_1000".into());
    }
    if rest > 0 {
        below_1000(g, rest, w);
    }
}

fn below_1000(g: Grammar, n: u64, w: &mut Vec<String>) {
    let (h, r) = (n / 100, n % 100);
    if h > 0 {
        // French says "cent", not "un cent"; English "one hundred".
        if !(g == Grammar::French && h == 1) {
            below_100(g, h, w);
        }
        w.push("num_100".into());
    }
    if r > 0 || h == 0 {
        below_100(g, r, w);
    }
}

fn below_100(g: Grammar, n: u64, w: &mut Vec<String>) {
    match g {
        Grammar::English => {
            if n <= 20 {
                push(w, n);
            } else {
                push(w, n / 10 * 10);
                if !n.is_multiple_of(10) {
                    push(w, n % 10);
                }
            }
        }
        Grammar::French => match n {
            0..=16 => push(w, n),
            17..=19 => {
                push(w, 10);
                push(w, n - 10);
            }
            20..=69 => {
                push(w, n / 10 * 10);
                match n % 10 {
                    0 => {}
                    1 => {
                        w.push("num_and".into());
                        push(w, 1);
                    }
                    u => push(w, u),
                }
            }
            70..=79 => {
                push(w, 60);
                if n == 71 {
                    w.push("num_and".into());
                }
                below_100(g, n - 60, w);
            }
            _ => {
                push(w, 80);
                if n > 80 {
                    below_100(g, n - 80, w);
                }
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(g: Grammar, how: SayAs, v: &str) -> String {
        say(g, how, v, "xof")
            .map(|w| w.join(" "))
            .unwrap_or_else(|| "NONE".into())
    }

    #[test]
    fn french_numbers() {
        let f = |v| words(Grammar::French, SayAs::Number, v);
        assert_eq!(f("0"), "num_0");
        assert_eq!(f("17"), "num_10 num_7");
        assert_eq!(f("21"), "num_20 num_and num_1");
        assert_eq!(f("71"), "num_60 num_and num_11");
        assert_eq!(f("77"), "num_60 num_10 num_7");
        assert_eq!(f("80"), "num_80");
        assert_eq!(f("81"), "num_80 num_1");
        assert_eq!(f("91"), "num_80 num_11");
        assert_eq!(f("99"), "num_80 num_10 num_9");
        assert_eq!(f("100"), "num_100");
        assert_eq!(f("201"), "num_2 num_100 num_1");
        assert_eq!(f("1000"), "num_1000");
        assert_eq!(f("2026"), "num_2 num_1000 num_20 num_6");
        assert_eq!(f("1000000"), "num_1 num_million");
        assert_eq!(f("3500000"), "num_3 num_millions num_5 num_100 num_1000");
        assert_eq!(f("-5"), "num_minus num_5");
        assert_eq!(f("abc"), "NONE");
        assert_eq!(f("1000000000"), "NONE");
    }

    #[test]
    fn english_numbers() {
        let e = |v| words(Grammar::English, SayAs::Number, v);
        assert_eq!(e("13"), "num_13");
        assert_eq!(e("20"), "num_20");
        assert_eq!(e("45"), "num_40 num_5");
        assert_eq!(e("100"), "num_1 num_100");
        assert_eq!(e("1999"), "num_1 num_1000 num_9 num_100 num_90 num_9");
        assert_eq!(e("2000000"), "num_2 num_million");
    }

    #[test]
    fn amounts_digits_dates() {
        assert_eq!(
            words(Grammar::French, SayAs::Amount, "1500"),
            "num_1000 num_5 num_100 currency_xof"
        );
        assert_eq!(
            words(Grammar::French, SayAs::Amount, "99.5"),
            "num_100 currency_xof"
        );
        assert_eq!(
            say(Grammar::English, SayAs::Amount, "2.05", "eur")
                .map(|w| w.join(" "))
                .unwrap_or_default(),
            "num_2 currency_eur and num_5 cents"
        );
        assert_eq!(
            words(Grammar::English, SayAs::Digits, "12-34"),
            "num_1 num_2 num_3 num_4"
        );
        assert_eq!(words(Grammar::English, SayAs::Digits, "--"), "NONE");
        assert_eq!(
            words(Grammar::French, SayAs::Date, "2026-11-01"),
            "date_first month_11 num_2 num_1000 num_20 num_6"
        );
        assert_eq!(
            words(Grammar::English, SayAs::Date, "2026-03-29T10:00:00Z"),
            "month_3 num_20 num_9 num_2 num_1000 num_20 num_6"
        );
        assert_eq!(words(Grammar::English, SayAs::Date, "2026-13-01"), "NONE");
    }

    #[test]
    fn every_word_said_is_in_the_word_list() {
        for g in [Grammar::French, Grammar::English] {
            let list = g.words();
            for n in (0..2000u64).chain([1_000_000, 71_000_071, 999_999_999]) {
                let mut w = Vec::new();
                number_words(g, n, &mut w);
                for x in w {
                    assert!(list.contains(&x), "{g:?} {n} uses {x}");
                }
            }
        }
    }
}
