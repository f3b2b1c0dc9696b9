//! Text templates with `{{variable}}` placeholders, parsed once at load time.
//!
//! Used for web-service paths and bodies, SQL parameters, message texts,
//! `set` values and transfer numbers. A template is only ever rendered into a
//! value (a URL segment that is percent-encoded, a JSON string, a bound SQL
//! parameter): it never builds SQL or JSON text, so caller-controlled values
//! cannot inject anything.

use serde::Serialize;
use std::collections::BTreeMap;

/// A parsed template: literal text and variable references (the syntax is
/// [`domain::template`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Template(domain::template::Template);

impl Template {
    /// Parse `text`. Variable names are 1 to 64 letters, digits, `_`, `.` or
    /// `-` between `{{` and `}}` (spaces around the name allowed).
    ///
    /// # Errors
    /// A message when a `{{` is not closed or a name is empty or malformed.
    pub fn parse(text: &str) -> Result<Self, String> {
        domain::template::Template::parse(text)
            .map(Self)
            .map_err(|e| format!("{e} in {text:?}"))
    }

    /// A template with no placeholder.
    pub fn literal(text: &str) -> Self {
        Self(domain::template::Template::literal(text))
    }

    /// The variable names used, in order.
    pub fn vars(&self) -> impl Iterator<Item = &str> {
        self.0.vars()
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
        let r: Result<String, std::convert::Infallible> = self
            .0
            .try_render(|v| Ok(vars.get(v).map(|val| f(val)).unwrap_or_default()));
        match r {
            Ok(s) => s,
            Err(never) => match never {},
        }
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
