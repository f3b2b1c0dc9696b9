//! Text templates with `{{variable}}` placeholders, parsed once at load time.
//!
//! Used for web-service paths and bodies, SQL parameters, message texts,
//! `set` values and transfer numbers. A template is only ever rendered into a
//! value (a URL segment that is percent-encoded, a JSON string, a bound SQL
//! parameter): it never builds SQL or JSON text, so caller-controlled values
//! cannot inject anything.

use serde::Serialize;
use std::collections::BTreeMap;

/// A parsed template: literal text and variable references.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
enum Part {
    Lit(String),
    Var(String),
}

impl Template {
    /// Parse `text`. Variable names are `[A-Za-z0-9_.]+` between `{{` and `}}`
    /// (spaces around the name allowed).
    ///
    /// # Errors
    /// A message when a `{{` is not closed or a name is empty or malformed.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find("{{") {
            if start > 0 {
                parts.push(Part::Lit(rest[..start].to_string()));
            }
            let after = &rest[start + 2..];
            let end = after
                .find("}}")
                .ok_or_else(|| format!("unclosed `{{{{` in {text:?}"))?;
            let name = after[..end].trim();
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
            {
                return Err(format!("bad variable name {name:?} in {text:?}"));
            }
            parts.push(Part::Var(name.to_string()));
            rest = &after[end + 2..];
        }
        if !rest.is_empty() {
            parts.push(Part::Lit(rest.to_string()));
        }
        Ok(Self { parts })
    }

    /// A template with no placeholder.
    pub fn literal(text: &str) -> Self {
        Self {
            parts: vec![Part::Lit(text.to_string())],
        }
    }

    /// The variable names used, in order.
    pub fn vars(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Var(v) => Some(v.as_str()),
            Part::Lit(_) => None,
        })
    }

    /// True when the template has at least one placeholder.
    pub fn has_vars(&self) -> bool {
        self.vars().next().is_some()
    }

    /// Render with `vars`; a variable that is not set renders as empty text.
    pub fn render(&self, vars: &BTreeMap<String, String>) -> String {
        self.render_with(vars, |s| s.to_string())
    }

    /// Render with every substituted value percent-encoded (RFC 3986 §2.1,
    /// unreserved characters kept), literals left as written.
    pub fn render_url(&self, vars: &BTreeMap<String, String>) -> String {
        self.render_with(vars, percent_encode)
    }

    fn render_with(&self, vars: &BTreeMap<String, String>, f: impl Fn(&str) -> String) -> String {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Lit(s) => out.push_str(s),
                Part::Var(v) => {
                    if let Some(val) = vars.get(v) {
                        out.push_str(&f(val));
                    }
                }
            }
        }
        out
    }
}

/// Percent-encode everything but RFC 3986 unreserved characters.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_and_encodes() {
        let t = Template::parse("/puk?msisdn={{ caller }}&x={{id}}").unwrap();
        let mut v = BTreeMap::new();
        v.insert("caller".to_string(), "+229 97".to_string());
        assert_eq!(t.render(&v), "/puk?msisdn=+229 97&x=");
        assert_eq!(t.render_url(&v), "/puk?msisdn=%2B229%2097&x=");
        assert_eq!(t.vars().collect::<Vec<_>>(), ["caller", "id"]);
    }

    #[test]
    fn rejects_bad_placeholders() {
        assert!(Template::parse("a {{b").is_err());
        assert!(Template::parse("a {{}}").is_err());
        assert!(Template::parse("a {{b c}}").is_err());
        assert!(!Template::parse("plain").unwrap().has_vars());
    }
}
