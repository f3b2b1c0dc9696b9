//! Outbound message campaigns (SPEC §2.6), the pure parts: filling a
//! campaign's text template for one recipient, and reading the opt-out
//! keywords a customer may answer with.
//!
//! Templates are plain text with `{{name}}` placeholders (letters, digits,
//! `_`, `.` and `-`, spaces around the name allowed). Nothing is escaped: the
//! text goes to SMS, WhatsApp or e-mail as it is. A placeholder the recipient
//! has no value for is an error, so that no customer receives
//! `Bonjour {{name}}`.
//!
//! ```
//! use channels::campaign::{render, parse_keyword, Keyword};
//! use std::collections::BTreeMap;
//! let vars = BTreeMap::from([("name".to_string(), "Awa".to_string())]);
//! assert_eq!(render("Bonjour {{ name }} !", &vars).unwrap(), "Bonjour Awa !");
//! assert!(render("Code {{puk}}", &vars).is_err());
//! assert_eq!(parse_keyword(" arrêt "), Some(Keyword::Stop));
//! ```

use std::collections::BTreeMap;

/// Why a template cannot be filled.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// `{{` without a matching `}}`, or an empty or invalid name inside.
    #[error("malformed placeholder at character {at}: {detail}")]
    Malformed {
        /// Character offset of the `{{`.
        at: usize,
        /// What is wrong.
        detail: String,
    },
    /// The recipient has no value for this placeholder.
    #[error("unknown placeholder {{{{{0}}}}}: the recipient has no such field")]
    Unknown(String),
}

impl From<domain::template::SyntaxError> for TemplateError {
    fn from(e: domain::template::SyntaxError) -> Self {
        TemplateError::Malformed {
            at: e.at,
            detail: e.detail,
        }
    }
}

/// Check a template's syntax ([`domain::template`]) and list its
/// placeholder names (deduplicated, in first-use order).
///
/// # Errors
/// [`TemplateError::Malformed`].
pub fn placeholders(template: &str) -> Result<Vec<String>, TemplateError> {
    let t = domain::template::Template::parse(template)?;
    let mut names: Vec<String> = Vec::new();
    for v in t.vars() {
        if !names.iter().any(|n| n == v) {
            names.push(v.to_string());
        }
    }
    Ok(names)
}

/// Fill `template` with a recipient's fields. Text outside placeholders is
/// kept byte for byte; values are inserted as they are (no escaping).
///
/// # Errors
/// [`TemplateError::Malformed`] for bad syntax, [`TemplateError::Unknown`]
/// for the first placeholder `vars` has no value for.
pub fn render(template: &str, vars: &BTreeMap<String, String>) -> Result<String, TemplateError> {
    domain::template::Template::parse(template)?.try_render(|name| {
        vars.get(name)
            .cloned()
            .ok_or_else(|| TemplateError::Unknown(name.to_string()))
    })
}

/// An opt-out or opt-in keyword.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Keyword {
    /// `STOP`, `ARRET`, `ARRÊT`, `UNSUBSCRIBE`: no more campaign messages.
    Stop,
    /// `START`: campaign messages again.
    Start,
}

/// Read a whole message as an opt-out keyword: the text, trimmed, compared
/// case-insensitively (`Stop`, ` arrêt `, `UNSUBSCRIBE`). A message that
/// merely contains the word ("stop calling me at work") is not a keyword.
pub fn parse_keyword(text: &str) -> Option<Keyword> {
    let t = text
        .trim()
        .trim_end_matches(['.', '!'])
        .trim()
        .to_lowercase();
    match t.as_str() {
        "stop" | "arret" | "arrêt" | "unsubscribe" => Some(Keyword::Stop),
        "start" => Some(Keyword::Start),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
        kv.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn placeholders_are_filled_without_escaping() {
        let v = vars(&[("name", "Awa <Diallo> & Co"), ("amount", "1 500 F")]);
        assert_eq!(
            render("Bonjour {{name}}, votre solde : {{ amount }}.", &v).unwrap(),
            "Bonjour Awa <Diallo> & Co, votre solde : 1 500 F."
        );
        assert_eq!(render("Pas de champ", &v).unwrap(), "Pas de champ");
        assert_eq!(
            render("{{name}}{{name}}", &v).unwrap(),
            "Awa <Diallo> & CoAwa <Diallo> & Co"
        );
        assert_eq!(
            render("À très vite 😀 {{amount}}", &v).unwrap(),
            "À très vite 😀 1 500 F"
        );
    }

    #[test]
    fn unknown_and_malformed_placeholders_are_errors() {
        let v = vars(&[("name", "Awa")]);
        assert_eq!(
            render("Bonjour {{name}}, code {{puk}}", &v),
            Err(TemplateError::Unknown("puk".into()))
        );
        assert!(matches!(
            render("é {{name", &v),
            Err(TemplateError::Malformed { at: 2, .. })
        ));
        assert!(matches!(
            render("{{ }}", &v),
            Err(TemplateError::Malformed { at: 0, .. })
        ));
        assert!(matches!(
            render("{{a b}}", &v),
            Err(TemplateError::Malformed { .. })
        ));
        // A single brace is text.
        assert_eq!(render("{name} }}", &v).unwrap(), "{name} }}");
        assert_eq!(
            placeholders("{{b}} {{a}} {{ b }}").unwrap(),
            vec!["b".to_string(), "a".to_string()]
        );
    }

    #[test]
    fn stop_keywords() {
        for s in [
            "STOP",
            "stop",
            " Stop \n",
            "ARRET",
            "arrêt",
            "ARRÊT",
            "Unsubscribe",
            "STOP.",
        ] {
            assert_eq!(parse_keyword(s), Some(Keyword::Stop), "{s:?}");
        }
        for s in ["START", " start "] {
            assert_eq!(parse_keyword(s), Some(Keyword::Start), "{s:?}");
        }
        for s in ["", "stop calling me", "STOPP", "non", "arrête", "stop stop"] {
            assert_eq!(parse_keyword(s), None, "{s:?}");
        }
    }
}
