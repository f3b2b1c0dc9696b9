//! The one `{{name}}` template syntax of Switchboard: IVR texts, web-service
//! paths and bodies, SQL parameters (crate `ivr`) and message-campaign texts
//! (crate `channels`) are all parsed here.
//!
//! A placeholder is `{{` name `}}`, spaces around the name allowed; a name is
//! 1 to 64 letters, digits, `_`, `.` or `-` (`customer.name`, `puk-code`).
//! Everything else is literal text, kept byte for byte. What a missing value
//! means (empty text in the IVR, an error in a campaign) and how values are
//! encoded is the caller's business: [`Template::parts`] hands the pieces out.
//!
//! ```
//! use domain::template::{Part, Template};
//! let t = Template::parse("Bonjour {{ name }}, code {{puk}}").unwrap();
//! assert_eq!(t.vars().collect::<Vec<_>>(), ["name", "puk"]);
//! assert_eq!(t.parts()[1], Part::Var("name".into()));
//! let e = Template::parse("ok {{oops").unwrap_err();
//! assert_eq!(e.at, 3);
//! ```

use serde::Serialize;

/// Why a text is not a template.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("malformed placeholder at character {at}: {detail}")]
pub struct SyntaxError {
    /// Character (not byte) offset of the offending `{{`.
    pub at: usize,
    /// What is wrong, e.g. "`{{` is not closed by `}}`".
    pub detail: String,
}

/// One piece of a template.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum Part {
    /// Literal text.
    Lit(String),
    /// A placeholder's name (trimmed).
    Var(String),
}

/// A parsed template: literal text and placeholders, in order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Template {
    parts: Vec<Part>,
}

/// Is `n` a placeholder name: 1 to 64 letters, digits, `_`, `.` or `-`?
pub fn is_name(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 64
        && n.chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

impl Template {
    /// Parse `text`.
    ///
    /// # Errors
    /// [`SyntaxError`] for a `{{` without its `}}`, or an empty or invalid
    /// name between them.
    pub fn parse(text: &str) -> Result<Self, SyntaxError> {
        let mut parts = Vec::new();
        let mut rest = text;
        let mut offset = 0;
        while let Some(i) = rest.find("{{") {
            if i > 0 {
                parts.push(Part::Lit(rest[..i].to_string()));
            }
            let after = &rest[i + 2..];
            let at = text[..offset + i].chars().count();
            let Some(j) = after.find("}}") else {
                return Err(SyntaxError {
                    at,
                    detail: "`{{` is not closed by `}}`".into(),
                });
            };
            let name = after[..j].trim();
            if !is_name(name) {
                return Err(SyntaxError {
                    at,
                    detail: format!("{:?} is not a field name", &after[..j]),
                });
            }
            parts.push(Part::Var(name.to_string()));
            let used = i + 2 + j + 2;
            offset += used;
            rest = &rest[used..];
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

    /// The pieces, in order.
    pub fn parts(&self) -> &[Part] {
        &self.parts
    }

    /// The placeholder names used, in order (with repeats).
    pub fn vars(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Var(v) => Some(v.as_str()),
            Part::Lit(_) => None,
        })
    }

    /// Fill the placeholders: `value(name)` gives each one's text, or an
    /// error that stops the rendering.
    ///
    /// # Errors
    /// The first error `value` returns.
    pub fn try_render<E>(
        &self,
        mut value: impl FnMut(&str) -> Result<String, E>,
    ) -> Result<String, E> {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Lit(s) => out.push_str(s),
                Part::Var(v) => out.push_str(&value(v)?),
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_literals_and_names() {
        let t = Template::parse("a {{ x.y }}b{{z-1}}").unwrap();
        assert_eq!(
            t.parts(),
            [
                Part::Lit("a ".into()),
                Part::Var("x.y".into()),
                Part::Lit("b".into()),
                Part::Var("z-1".into())
            ]
        );
        assert_eq!(Template::parse("").unwrap().parts(), []);
    }

    #[test]
    fn syntax_errors_say_where() {
        assert_eq!(Template::parse("é {{b").unwrap_err().at, 2);
        assert_eq!(Template::parse("{{a}} {{}}").unwrap_err().at, 6);
        assert!(Template::parse("{{b c}}").is_err());
        assert!(Template::parse(&format!("{{{{{}}}}}", "n".repeat(65))).is_err());
    }

    #[test]
    fn try_render_stops_at_the_first_error() {
        let t = Template::parse("{{a}}-{{b}}").unwrap();
        let r: Result<String, String> = t.try_render(|n| {
            if n == "a" {
                Ok("1".into())
            } else {
                Err(n.into())
            }
        });
        assert_eq!(r, Err("b".to_string()));
        let r: Result<String, ()> = t.try_render(|n| Ok(n.to_uppercase()));
        assert_eq!(r, Ok("A-B".to_string()));
    }
}
