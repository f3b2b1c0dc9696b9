//! Bot settings: retrieval thresholds, identity-check limits, the
//! self-service lookups (the IVR's web-service and SQL connectors) and the
//! optional LLM phrasing back-end.

use crate::kb::SelfService;
use crate::text::Lang;
use domain::PhoneNumber;
use ivr::LookupKind;
use serde::{Deserialize, Serialize};

/// The placeholder replaced by the verified number (E.164) in a lookup's
/// URL, body strings and SQL parameters.
pub const MSISDN: &str = "{msisdn}";

/// A text in each language.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Texts {
    /// French.
    pub fr: String,
    /// English.
    pub en: String,
}

impl Texts {
    /// The text in `lang`.
    pub fn get(&self, lang: Lang) -> &str {
        match lang {
            Lang::Fr => &self.fr,
            Lang::En => &self.en,
        }
    }
}

/// One self-service lookup and how its answer is worded.
///
/// `reply` may name fields of the answer as `{field}`: for a web service, the
/// top-level fields of its JSON object; for SQL, the first row's columns.
/// `{rows}` is replaced by `row` rendered for each row (at most
/// [`BotConfig::max_rows`]), one per line.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LookupSpec {
    /// The request, with [`MSISDN`] where the verified number goes.
    pub kind: LookupKind,
    /// The reply template.
    pub reply: Texts,
    /// The per-row template for `{rows}`.
    #[serde(default)]
    pub row: Option<Texts>,
}

impl LookupSpec {
    /// The request for `number`: [`MSISDN`] replaced (percent-encoded in a
    /// URL, bound as a parameter in SQL, never spliced into SQL text).
    pub fn request(&self, number: &PhoneNumber) -> LookupKind {
        let n = number.as_str();
        match &self.kind {
            LookupKind::Http {
                method,
                url,
                body,
                timeout_ms,
            } => LookupKind::Http {
                method: method.clone(),
                url: url.replace(MSISDN, &n.replace('+', "%2B")),
                body: body.as_ref().map(|b| replace_in_json(b, n)),
                timeout_ms: *timeout_ms,
            },
            LookupKind::Sql {
                db,
                query,
                params,
                timeout_ms,
            } => LookupKind::Sql {
                db: db.clone(),
                query: query.clone(),
                params: params.iter().map(|p| p.replace(MSISDN, n)).collect(),
                timeout_ms: *timeout_ms,
            },
        }
    }

    /// The reply for `answer` in `lang`; `None` when a named field is
    /// missing or the answer has no row for a row-based reply.
    pub fn render(
        &self,
        lang: Lang,
        answer: &serde_json::Value,
        max_rows: usize,
    ) -> Option<String> {
        let rows: Vec<&serde_json::Value> = match answer.get("rows") {
            Some(serde_json::Value::Array(rows)) => rows.iter().collect(),
            _ => vec![answer],
        };
        let first = rows.first()?;
        let mut out = fill(self.reply.get(lang), first)?;
        if out.contains("{rows}") {
            let row = self.row.as_ref()?;
            let lines: Option<Vec<String>> = rows
                .iter()
                .take(max_rows)
                .map(|r| fill(row.get(lang), r))
                .collect();
            out = out.replace("{rows}", &lines?.join("\n"));
        }
        Some(out)
    }
}

fn replace_in_json(v: &serde_json::Value, n: &str) -> serde_json::Value {
    match v {
        serde_json::Value::String(s) => serde_json::Value::String(s.replace(MSISDN, n)),
        serde_json::Value::Array(a) => a.iter().map(|x| replace_in_json(x, n)).collect(),
        serde_json::Value::Object(o) => o
            .iter()
            .map(|(k, x)| (k.clone(), replace_in_json(x, n)))
            .collect(),
        other => other.clone(),
    }
}

/// `{field}` replaced by the field of `obj` (strings as they are, numbers
/// and booleans printed); `{rows}` is left for the caller. `None` when a
/// field is missing or is an object, array or null.
fn fill(template: &str, obj: &serde_json::Value) -> Option<String> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            return Some(out);
        };
        let name = &after[..end];
        if name == "rows" {
            out.push_str("{rows}");
        } else {
            match obj.get(name)? {
                serde_json::Value::String(s) => out.push_str(s),
                serde_json::Value::Number(n) => out.push_str(&n.to_string()),
                serde_json::Value::Bool(b) => out.push_str(&b.to_string()),
                _ => return None,
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Some(out)
}

/// The lookups of the self-service flows; a flow without one is answered
/// with its article's generic text.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Lookups {
    /// PUK code: the reply names e.g. `{puk}`.
    pub puk: Option<LookupSpec>,
    /// Prepaid balance: e.g. `{balance}`, `{currency}`.
    pub balance: Option<LookupSpec>,
    /// Last bills: e.g. `{rows}` with a row `{date}: {amount}`.
    pub last_bills: Option<LookupSpec>,
}

impl Lookups {
    /// The lookup of `flow`, if configured.
    pub fn get(&self, flow: SelfService) -> Option<&LookupSpec> {
        match flow {
            SelfService::Puk => self.puk.as_ref(),
            SelfService::Balance => self.balance.as_ref(),
            SelfService::LastBills => self.last_bills.as_ref(),
        }
    }
}

/// The optional LLM back-end (an OpenAI-compatible chat API run by the
/// driver). Off when [`BotConfig::phrasing`] is `None`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhrasingConfig {
    /// Time allowed for the phrasing, ms; then the retrieved answer is sent.
    pub timeout_ms: u32,
    /// Most articles given as sources (the best one always).
    pub max_articles: usize,
}

/// Bot settings, per tenant or entry point.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BotConfig {
    /// BM25 score under which the best article is not trusted ("low").
    pub min_score: f32,
    /// Share of the question's distinct terms (after stop words) that the
    /// best article must contain (0–1); under it the match is "low".
    pub min_coverage: f32,
    /// The second article is "too close" when its score is at least this
    /// fraction of the best one's (0–1).
    pub ambiguity_ratio: f32,
    /// Life of a one-time code, ms.
    pub otp_ttl_ms: i64,
    /// Wrong codes allowed before hand-over.
    pub otp_max_attempts: u32,
    /// New codes sent after an expired one, before hand-over.
    pub otp_max_resends: u32,
    /// ISO 3166-1 alpha-2 country for mobile numbers typed without `+`.
    pub default_country: Option<String>,
    /// Most rows shown by a `{rows}` reply.
    pub max_rows: usize,
    /// Self-service lookups.
    pub lookups: Lookups,
    /// Optional LLM phrasing; `None` (the default) sends retrieved answers.
    pub phrasing: Option<PhrasingConfig>,
}

impl Default for BotConfig {
    /// Thresholds tuned on the shipped demo test set (`cargo bench -p bot`);
    /// codes live 5 minutes, 3 tries, 1 resend.
    fn default() -> Self {
        Self {
            min_score: 2.5,
            min_coverage: 0.4,
            ambiguity_ratio: 0.92,
            otp_ttl_ms: 300_000,
            otp_max_attempts: 3,
            otp_max_resends: 1,
            default_country: None,
            max_rows: 3,
            lookups: Lookups::default(),
            phrasing: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn n() -> PhoneNumber {
        PhoneNumber::try_from("+22997000001".to_string()).unwrap()
    }

    #[test]
    fn the_number_is_encoded_in_urls_and_bound_in_sql() {
        let http = LookupSpec {
            kind: LookupKind::Http {
                method: "GET".into(),
                url: "http://crm/puk?msisdn={msisdn}".into(),
                body: None,
                timeout_ms: 2000,
            },
            reply: Texts {
                fr: "PUK : {puk}".into(),
                en: "PUK: {puk}".into(),
            },
            row: None,
        };
        let LookupKind::Http { url, .. } = http.request(&n()) else {
            panic!()
        };
        assert_eq!(url, "http://crm/puk?msisdn=%2B22997000001");
        let sql = LookupSpec {
            kind: LookupKind::Sql {
                db: "billing".into(),
                query: "SELECT date, amount FROM bills WHERE msisdn = ?1".into(),
                params: vec!["{msisdn}".into()],
                timeout_ms: 2000,
            },
            ..http.clone()
        };
        let LookupKind::Sql { query, params, .. } = sql.request(&n()) else {
            panic!()
        };
        assert!(!query.contains("+229"));
        assert_eq!(params, vec!["+22997000001"]);
        assert_eq!(
            http.render(Lang::En, &json!({"puk": "12345678"}), 3)
                .as_deref(),
            Some("PUK: 12345678")
        );
        assert_eq!(http.render(Lang::En, &json!({"other": 1}), 3), None);
    }

    #[test]
    fn rows_are_listed_up_to_the_limit() {
        let spec = LookupSpec {
            kind: LookupKind::Sql {
                db: "billing".into(),
                query: "q".into(),
                params: vec![],
                timeout_ms: 1,
            },
            reply: Texts {
                fr: "Vos factures :\n{rows}".into(),
                en: "Your bills:\n{rows}".into(),
            },
            row: Some(Texts {
                fr: "{date} : {amount} FCFA".into(),
                en: "{date}: {amount} XOF".into(),
            }),
        };
        let rows = json!({"rows": [
            {"date": "2026-11-01", "amount": 5000},
            {"date": "2026-10-01", "amount": 4500},
            {"date": "2026-09-01", "amount": 4000}
        ], "row_count": 3});
        assert_eq!(
            spec.render(Lang::En, &rows, 2).as_deref(),
            Some("Your bills:\n2026-11-01: 5000 XOF\n2026-10-01: 4500 XOF")
        );
        assert_eq!(spec.render(Lang::En, &json!({"rows": []}), 2), None);
    }
}
