//! Pure helpers of the interpreter: condition evaluation, JSON body
//! rendering, and mapping a lookup answer into variables.

use crate::CallContext;
use crate::io::LookupError;
use crate::model::{CmpOp, Cond, Flow, JsonTemplate};
use domain::{Segment, Timestamp};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Longest value kept in a variable, in characters.
pub const MAX_VAR_CHARS: usize = 1024;

/// Parse a segment name, accepting `general` for mass market.
pub(crate) fn parse_segment(s: &str) -> Option<Segment> {
    if s.eq_ignore_ascii_case("general") {
        Some(Segment::Mass)
    } else {
        Segment::parse(s)
    }
}

pub(crate) struct EvalCtx<'a> {
    pub flow: &'a Flow,
    pub ctx: &'a CallContext,
    pub vars: &'a BTreeMap<String, String>,
    pub now: Timestamp,
}

impl EvalCtx<'_> {
    pub(crate) fn segment(&self) -> Segment {
        self.vars
            .get("segment")
            .and_then(|s| parse_segment(s))
            .or(self.ctx.segment)
            .unwrap_or_default()
    }

    pub(crate) fn holds(&self, c: &Cond) -> bool {
        let cal = |name: &str| self.flow.calendars.get(name);
        match c {
            Cond::Open(n) => cal(n).is_some_and(|c| c.is_open(self.now)),
            Cond::Closed(n) => !cal(n).is_some_and(|c| c.is_open(self.now)),
            Cond::Holiday(n) => cal(n).is_some_and(|c| c.is_holiday(self.now)),
            Cond::Maintenance(b) => self.ctx.maintenance == *b,
            Cond::Overloaded(b) => self.ctx.overloaded == *b,
            // Unknown counts mean "not known to be empty".
            Cond::NoAgents(q) => self.ctx.agents_logged_in.get(q) == Some(&0),
            Cond::CalledBefore(b) => self.ctx.has_called_before == *b,
            Cond::KnownCustomer(b) => self.ctx.customer_id.is_some() == *b,
            Cond::LanguageKnown(b) => {
                let known = self
                    .ctx
                    .language
                    .as_ref()
                    .is_some_and(|l| self.flow.languages.contains(l));
                known == *b
            }
            Cond::Segment(list) => list.contains(&self.segment()),
            Cond::Var { name, op, value } => {
                let Some(lhs) = self.vars.get(name) else {
                    return *op == CmpOp::Ne;
                };
                compare(lhs, *op, &value.render(self.vars))
            }
            Cond::VarExists(name, b) => self.vars.get(name).is_some_and(|v| !v.is_empty()) == *b,
            Cond::All(v) => v.iter().all(|c| self.holds(c)),
            Cond::Any(v) => v.iter().any(|c| self.holds(c)),
            Cond::Not(c) => !self.holds(c),
        }
    }
}

/// Compare numerically when both sides are numbers, else as text
/// (ordering operators are false on text).
pub(crate) fn compare(lhs: &str, op: CmpOp, rhs: &str) -> bool {
    let nums = lhs
        .trim()
        .parse::<f64>()
        .ok()
        .zip(rhs.trim().parse::<f64>().ok());
    match (nums, op) {
        (Some((a, b)), CmpOp::Eq) => a == b,
        (Some((a, b)), CmpOp::Ne) => a != b,
        (Some((a, b)), CmpOp::Lt) => a < b,
        (Some((a, b)), CmpOp::Le) => a <= b,
        (Some((a, b)), CmpOp::Gt) => a > b,
        (Some((a, b)), CmpOp::Ge) => a >= b,
        (None, CmpOp::Eq) => lhs == rhs,
        (None, CmpOp::Ne) => lhs != rhs,
        (None, _) => false,
    }
}

/// Render a JSON body template.
pub(crate) fn render_json(t: &JsonTemplate, vars: &BTreeMap<String, String>) -> Value {
    match t {
        JsonTemplate::Str(s) => Value::String(s.render(vars)),
        JsonTemplate::Lit(v) => v.clone(),
        JsonTemplate::Array(items) => {
            Value::Array(items.iter().map(|i| render_json(i, vars)).collect())
        }
        JsonTemplate::Object(kv) => Value::Object(
            kv.iter()
                .map(|(k, v)| (k.clone(), render_json(v, vars)))
                .collect(),
        ),
    }
}

fn scalar_text(v: &Value) -> Option<String> {
    let s = match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null | Value::Array(_) | Value::Object(_) => return None,
    };
    Some(s.chars().take(MAX_VAR_CHARS).collect())
}

/// Map a lookup answer into variables: (variable, JSON pointer, required).
/// Returns the assignments (`None` = unset an optional variable).
///
/// # Errors
/// [`LookupError::BadAnswer`] when a required pointer is missing, null or
/// not a scalar.
pub(crate) fn map_result(
    answer: Map<String, Value>,
    mapping: &[(String, String, bool)],
) -> Result<Vec<(String, Option<String>)>, LookupError> {
    let root = Value::Object(answer);
    let mut out = Vec::with_capacity(mapping.len());
    for (var, ptr, required) in mapping {
        let v = root.pointer(ptr).and_then(scalar_text);
        if v.is_none() && *required {
            return Err(LookupError::BadAnswer(format!("no usable value at {ptr}")));
        }
        out.push((var.clone(), v));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparisons() {
        assert!(compare("10", CmpOp::Gt, "9"));
        assert!(!compare("10", CmpOp::Lt, "9"));
        assert!(compare("3.0", CmpOp::Eq, "3"));
        assert!(compare("abc", CmpOp::Eq, "abc"));
        assert!(!compare("abc", CmpOp::Gt, "abb"));
        assert!(compare("abc", CmpOp::Ne, "x"));
    }

    #[test]
    fn result_mapping() {
        let m: Map<String, Value> = serde_json::from_str(
            r#"{"rows":[{"amount":1000,"ok":true}],"row_count":1,"deep":{"x":[1]}}"#,
        )
        .unwrap();
        let out = map_result(
            m.clone(),
            &[
                ("n".into(), "/row_count".into(), true),
                ("a".into(), "/rows/0/amount".into(), true),
                ("ok".into(), "/rows/0/ok".into(), true),
                ("b".into(), "/rows/1/amount".into(), false),
            ],
        )
        .unwrap();
        assert_eq!(
            out,
            vec![
                ("n".into(), Some("1".into())),
                ("a".into(), Some("1000".into())),
                ("ok".into(), Some("true".into())),
                ("b".into(), None)
            ]
        );
        assert!(map_result(m.clone(), &[("x".into(), "/deep".into(), true)]).is_err());
        assert!(map_result(m, &[("x".into(), "/nope".into(), true)]).is_err());
    }
}
