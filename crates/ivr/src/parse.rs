//! From a YAML tree to a [`Flow`]: the schema of flow files. Every problem is
//! collected with its location; nothing here checks the graph (that is
//! [`crate::validate`]).

use crate::calendar::Calendar;
use crate::error::{Diag, ErrorKind, Location};
use crate::model::*;
use crate::template::Template;
use crate::yaml::{Fields, Node, Value};
use domain::{Channel, Segment};
use std::collections::{BTreeMap, BTreeSet};

/// Node type names accepted in `type:`.
pub const NODE_TYPES: [&str; 17] = [
    "play",
    "menu",
    "collect",
    "say",
    "set_language",
    "condition",
    "http",
    "sql",
    "queue",
    "offer_channels",
    "send_message",
    "transfer",
    "set",
    "goto",
    "hangup",
    // Aliases kept for readability of flow files.
    "lookup_http",
    "lookup_sql",
];

const MAX_TIMEOUT_MS: u32 = 600_000;

pub(crate) fn parse_flow(file: &str, root: &Node, errs: &mut Vec<Diag>) -> Option<Flow> {
    let mut f = match root.map("flow") {
        Ok(f) => f,
        Err(e) => {
            errs.push(e);
            return None;
        }
    };
    let before = errs.len();
    let name = req_text(&mut f, "name", errs).unwrap_or_default();
    if !name.is_empty() && !is_ident(&name) {
        errs.push(Diag::invalid(root.loc, "flow `name` must be [a-z0-9_-]+"));
    }
    let _ = f.opt("description");
    let mut languages = Vec::new();
    match f.req("languages").and_then(|n| n.seq("languages")) {
        Ok(items) => {
            for i in items {
                match i.text("language") {
                    Ok(l) if is_lang(&l) => languages.push(l),
                    Ok(l) => errs.push(Diag::invalid(i.loc, format!("bad language tag `{l}`"))),
                    Err(e) => errs.push(e),
                }
            }
            if languages.is_empty() {
                errs.push(Diag::invalid(
                    f.loc,
                    "`languages` must list at least one language",
                ));
            }
        }
        Err(e) => errs.push(e),
    }
    let mut fallback = BTreeMap::new();
    if let Some(n) = f.opt("fallback") {
        for (k, v) in entries(n, "fallback", errs) {
            match v.text("fallback") {
                Ok(t) if languages.contains(&t) && languages.contains(&k.name) && t != k.name => {
                    fallback.insert(k.name.clone(), t);
                }
                Ok(t) => errs.push(Diag::invalid(
                    k.loc,
                    format!(
                        "fallback `{}: {t}` must map a declared language to another",
                        k.name
                    ),
                )),
                Err(e) => errs.push(e),
            }
        }
    }
    let start = f.req("start").and_then(|n| target(n, "start"));
    let start = start.map_err(|e| errs.push(e)).ok();
    let mut calendars = BTreeMap::new();
    if let Some(n) = f.opt("calendars") {
        for (k, v) in entries(n, "calendars", errs) {
            if let Some(c) = Calendar::parse(v, errs) {
                calendars.insert(k.name.clone(), c);
            }
        }
    }
    let mut services = BTreeMap::new();
    if let Some(n) = f.opt("services") {
        for (k, v) in entries(n, "services", errs) {
            match v.text("service") {
                Ok(u) if u.starts_with("http://") || u.starts_with("https://") => {
                    services.insert(k.name.clone(), u.trim_end_matches('/').to_string());
                }
                Ok(_) => errs.push(Diag::invalid(v.loc, "a service is an http(s):// base URL")),
                Err(e) => errs.push(e),
            }
        }
    }
    let mut vars = BTreeMap::new();
    if let Some(n) = f.opt("vars") {
        for (k, v) in entries(n, "vars", errs) {
            match v.text("var") {
                Ok(t) => {
                    vars.insert(k.name.clone(), t);
                }
                Err(e) => errs.push(e),
            }
        }
    }
    let mut nodes = Vec::new();
    let mut seen = BTreeSet::new();
    match f.req("nodes").and_then(|n| n.entries("nodes")) {
        Ok(list) => {
            for (k, v) in list {
                if !is_ident(&k.name) {
                    errs.push(Diag::invalid(k.loc, format!("bad node name `{}`", k.name)));
                }
                if !seen.insert(k.name.clone()) {
                    errs.push(Diag::invalid(k.loc, format!("duplicate node `{}`", k.name)));
                }
                if let Some(kind) = parse_node(&k.name, v, errs) {
                    nodes.push(NodeDef {
                        name: k.name.clone(),
                        loc: k.loc,
                        kind,
                    });
                }
            }
        }
        Err(e) => errs.push(e),
    }
    f.finish(errs);
    if errs.len() > before {
        return None;
    }
    Some(Flow {
        name,
        file: file.to_string(),
        version: 0,
        languages,
        fallback,
        start: start?,
        nodes,
        calendars,
        services,
        vars,
        available: BTreeSet::new(),
    })
}

fn entries<'a>(n: &'a Node, what: &str, errs: &mut Vec<Diag>) -> &'a [(crate::yaml::Key, Node)] {
    n.entries(what).unwrap_or_else(|e| {
        errs.push(e);
        &[]
    })
}

fn is_ident(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

fn is_lang(s: &str) -> bool {
    (2..=3).contains(&s.len()) && s.chars().all(|c| c.is_ascii_lowercase())
}

fn req_text(f: &mut Fields<'_>, name: &str, errs: &mut Vec<Diag>) -> Option<String> {
    f.req(name)
        .and_then(|n| n.text(name))
        .map_err(|e| errs.push(e))
        .ok()
}

fn target(n: &Node, what: &str) -> Result<Target, Diag> {
    Ok(Target {
        node: n.text(what)?,
        loc: n.loc,
    })
}

fn template(n: &Node, what: &str) -> Result<Template, Diag> {
    Template::parse(&n.text(what)?).map_err(|m| Diag::invalid(n.loc, m))
}

fn prompt_ref(n: &Node) -> Result<PromptRef, Diag> {
    let t = n.text("prompt")?;
    let (lang, name) = match t.split_once(':') {
        Some((l, p)) => (Some(l.to_string()), p.to_string()),
        None => (None, t),
    };
    let ok_name = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !ok_name || lang.as_deref().is_some_and(|l| !is_lang(l)) {
        return Err(Diag::invalid(
            n.loc,
            format!(
                "bad prompt `{}`: use name or lang:name, names [a-z0-9_]",
                n.text("prompt")?
            ),
        ));
    }
    Ok(PromptRef {
        lang,
        name,
        loc: n.loc,
    })
}

fn prompts(n: &Node) -> Result<Vec<PromptRef>, Diag> {
    n.one_or_many().into_iter().map(prompt_ref).collect()
}

fn opt_prompts(f: &mut Fields<'_>, name: &str, default: &str) -> Result<Vec<PromptRef>, Diag> {
    match f.opt(name) {
        Some(n) => prompts(n),
        None => Ok(vec![PromptRef {
            lang: None,
            name: default.to_string(),
            loc: f.loc,
        }]),
    }
}

fn opt_uint(f: &mut Fields<'_>, name: &str, default: u32, max: u32) -> Result<u32, Diag> {
    f.opt(name).map_or(Ok(default), |n| n.uint(name, max))
}

fn opt_bool(f: &mut Fields<'_>, name: &str, default: bool) -> Result<bool, Diag> {
    f.opt(name).map_or(Ok(default), |n| n.boolean(name))
}

fn req_target(f: &mut Fields<'_>, name: &str) -> Result<Target, Diag> {
    target(f.req(name)?, name)
}

fn prompting(f: &mut Fields<'_>) -> Result<Prompting, Diag> {
    Ok(Prompting {
        prompts: prompts(f.req("prompts")?)?,
        timeout_ms: opt_uint(f, "timeout_ms", 5000, MAX_TIMEOUT_MS)?,
        retries: opt_uint(f, "retries", 2, 10)?,
        invalid_prompts: opt_prompts(f, "invalid_prompts", "invalid_choice")?,
        timeout_prompts: opt_prompts(f, "timeout_prompts", "no_input")?,
        on_failure: req_target(f, "on_failure")?,
    })
}

fn digit_key(k: &crate::yaml::Key) -> Result<char, Diag> {
    let mut cs = k.name.chars();
    match (cs.next(), cs.next()) {
        (Some(c), None) if c.is_ascii_digit() || c == '*' || c == '#' => Ok(c),
        _ => Err(Diag::invalid(
            k.loc,
            format!("option `{}` is not one DTMF key 0-9 * #", k.name),
        )),
    }
}

fn queue_choice(n: &Node) -> Result<QueueChoice, Diag> {
    if let Value::Map(_) = n.value {
        let mut map = BTreeMap::new();
        for (k, v) in n.entries("queue")? {
            let seg = match k.name.as_str() {
                "general" => Segment::Mass,
                s => Segment::parse(s).ok_or_else(|| {
                    Diag::invalid(
                        k.loc,
                        format!("unknown segment `{s}` (vip, business, general)"),
                    )
                })?,
            };
            map.insert(seg, v.text("queue")?);
        }
        if map.len() != 3 {
            return Err(Diag::invalid(
                n.loc,
                "queue by segment needs vip, business and general",
            ));
        }
        Ok(QueueChoice::BySegment(map))
    } else {
        Ok(QueueChoice::Fixed(n.text("queue")?))
    }
}

fn lang_text(n: &Node) -> Result<LangText, Diag> {
    let mut map = BTreeMap::new();
    if let Value::Map(_) = n.value {
        for (k, v) in n.entries("text")? {
            map.insert(k.name.clone(), template(v, "text")?);
        }
    } else {
        map.insert("*".to_string(), template(n, "text")?);
    }
    Ok(LangText(map))
}

fn channel(n: &Node) -> Result<Channel, Diag> {
    let t = n.text("channel")?;
    Channel::parse(&t).ok_or_else(|| Diag::invalid(n.loc, format!("unknown channel `{t}`")))
}

/// (Depth is bounded by the YAML reader's `MAX_DEPTH`.)
fn json_template(n: &Node) -> Result<JsonTemplate, Diag> {
    Ok(match &n.value {
        Value::Null => JsonTemplate::Lit(serde_json::Value::Null),
        Value::Bool(b) => JsonTemplate::Lit(serde_json::Value::Bool(*b)),
        Value::Int(i) => JsonTemplate::Lit(serde_json::Value::from(*i)),
        Value::Float(x) => JsonTemplate::Lit(
            serde_json::Number::from_f64(*x)
                .map_or(serde_json::Value::Null, serde_json::Value::Number),
        ),
        Value::Str(_) => JsonTemplate::Str(template(n, "body")?),
        Value::Seq(items) => {
            JsonTemplate::Array(items.iter().map(json_template).collect::<Result<_, _>>()?)
        }
        Value::Map(m) => JsonTemplate::Object(
            m.iter()
                .map(|(k, v)| Ok((k.name.clone(), json_template(v)?)))
                .collect::<Result<_, Diag>>()?,
        ),
    })
}

fn lookup_common(f: &mut Fields<'_>) -> Result<LookupCommon, Diag> {
    let mut result = Vec::new();
    for (field, required) in [("result", true), ("optional_result", false)] {
        if let Some(n) = f.opt(field) {
            for (k, v) in n.entries(field)? {
                let ptr = v.text(field)?;
                if !(ptr.is_empty() || ptr.starts_with('/')) {
                    return Err(Diag::invalid(
                        v.loc,
                        "a result path is a JSON pointer like /rows/0/amount",
                    ));
                }
                result.push((k.name.clone(), ptr, required));
            }
        }
    }
    Ok(LookupCommon {
        timeout_ms: opt_uint(f, "timeout_ms", 3000, MAX_TIMEOUT_MS)?,
        result,
        next: req_target(f, "next")?,
        on_error: req_target(f, "on_error")?,
        apology: opt_prompts(f, "apology", "sorry_technical")?,
    })
}

/// Check that `query` is one statement, has no template, and count its
/// placeholders (`?`, `?N`, `$N`; named `:x` are refused).
pub(crate) fn sql_placeholders(query: &str) -> Result<usize, String> {
    if query.contains("{{") {
        return Err("SQL is never templated: pass values as `params`".into());
    }
    let b = query.as_bytes();
    let (mut i, mut bare, mut max_n) = (0, 0usize, 0usize);
    let mut in_str: Option<u8> = None;
    while i < b.len() {
        let c = b[i];
        if let Some(q) = in_str {
            if c == q {
                in_str = None;
            }
            i += 1;
            continue;
        }
        match c {
            b'\'' | b'"' => in_str = Some(c),
            b';' if query[i + 1..].trim().is_empty() => {}
            b';' => return Err("one SQL statement only".into()),
            b'-' if b.get(i + 1) == Some(&b'-') => return Err("no SQL comments".into()),
            b'?' | b'$' => {
                let mut j = i + 1;
                while j < b.len() && b[j].is_ascii_digit() {
                    j += 1;
                }
                if j == i + 1 {
                    if c == b'?' {
                        bare += 1;
                    }
                } else {
                    let n: usize = query[i + 1..j].parse().map_err(|_| "bad placeholder")?;
                    max_n = max_n.max(n);
                }
                i = j;
                continue;
            }
            b':' if b.get(i + 1).is_some_and(|x| x.is_ascii_alphabetic()) => {
                return Err("named SQL parameters are not supported: use ?1, ?2".into());
            }
            _ => {}
        }
        i += 1;
    }
    if in_str.is_some() {
        return Err("unterminated SQL string".into());
    }
    if bare > 0 && max_n > 0 {
        return Err("do not mix `?` and `?N` placeholders".into());
    }
    Ok(bare.max(max_n))
}

fn parse_node(name: &str, n: &Node, errs: &mut Vec<Diag>) -> Option<NodeKind> {
    let mut f = match n.map(&format!("node `{name}`")) {
        Ok(f) => f,
        Err(e) => {
            errs.push(e);
            return None;
        }
    };
    let ty = match f.req("type").and_then(|t| t.text("type")) {
        Ok(t) => t,
        Err(e) => {
            errs.push(e);
            return None;
        }
    };
    let type_loc = f.key_loc("type").unwrap_or(n.loc);
    let res = node_kind(&ty, type_loc, &mut f);
    let kind = match res {
        Ok(k) => k,
        Err(e) => {
            errs.push(e);
            return None;
        }
    };
    f.finish(errs);
    Some(kind)
}

fn node_kind(ty: &str, type_loc: Location, f: &mut Fields<'_>) -> Result<NodeKind, Diag> {
    Ok(match ty {
        "play" => NodeKind::Play {
            prompts: prompts(f.req("prompts")?)?,
            barge_in: opt_bool(f, "barge_in", false)?,
            next: req_target(f, "next")?,
        },
        "menu" => {
            let prompting = prompting(f)?;
            let mut options = BTreeMap::new();
            for (k, v) in f.req("options")?.entries("options")? {
                options.insert(digit_key(k)?, target(v, "option")?);
            }
            if options.is_empty() {
                return Err(Diag::invalid(f.loc, "a menu needs at least one option"));
            }
            NodeKind::Menu { prompting, options }
        }
        "collect" => {
            let prompting = prompting(f)?;
            let var = f.req("var")?.text("var")?;
            let min_digits = opt_uint(f, "min_digits", 1, 32)?;
            let max_digits = opt_uint(f, "max_digits", 16, 32)?;
            if min_digits == 0 || min_digits > max_digits {
                return Err(Diag::invalid(f.loc, "need 1 <= min_digits <= max_digits"));
            }
            let terminator = match f.opt("terminator") {
                Some(t) => {
                    let s = t.text("terminator")?;
                    match s.as_str() {
                        "#" => Some('#'),
                        "*" => Some('*'),
                        _ => return Err(Diag::invalid(t.loc, "terminator is `#` or `*`")),
                    }
                }
                None => None,
            };
            let timeout = prompting.timeout_ms;
            NodeKind::Collect {
                prompting,
                var,
                min_digits,
                max_digits,
                terminator,
                inter_digit_timeout_ms: opt_uint(
                    f,
                    "inter_digit_timeout_ms",
                    timeout,
                    MAX_TIMEOUT_MS,
                )?,
                next: req_target(f, "next")?,
            }
        }
        "say" => {
            let say_as = match f.req("as")?.text("as")?.as_str() {
                "digits" => SayAs::Digits,
                "number" => SayAs::Number,
                "amount" => SayAs::Amount,
                "date" => SayAs::Date,
                other => {
                    return Err(Diag::invalid(
                        f.key_loc("as").unwrap_or(f.loc),
                        format!("say `as: {other}`: use digits, number, amount or date"),
                    ));
                }
            };
            let currency = match f.opt("currency") {
                Some(c) => {
                    let t = c.text("currency")?.to_ascii_lowercase();
                    if crate::say::currency_minor_units(&t).is_none() {
                        return Err(Diag::invalid(
                            c.loc,
                            format!("unknown currency `{t}` (xof, eur, usd)"),
                        ));
                    }
                    t
                }
                None => "xof".to_string(),
            };
            NodeKind::Say(SayNode {
                value: template(f.req("value")?, "value")?,
                say_as,
                currency,
                barge_in: opt_bool(f, "barge_in", false)?,
                next: req_target(f, "next")?,
                on_error: f
                    .opt("on_error")
                    .map(|t| target(t, "on_error"))
                    .transpose()?,
            })
        }
        "set_language" => NodeKind::SetLanguage {
            language: template(f.req("language")?, "language")?,
            next: req_target(f, "next")?,
        },
        "condition" => {
            let mut branches = Vec::new();
            for b in f.req("branches")?.seq("branches")? {
                let mut bf = b.map("branch")?;
                let cond = cond(bf.req("when")?, 0)?;
                let t = req_target(&mut bf, "goto")?;
                let mut sub = Vec::new();
                bf.finish(&mut sub);
                if let Some(e) = sub.into_iter().next() {
                    return Err(e);
                }
                branches.push((cond, t));
            }
            NodeKind::Condition {
                branches,
                otherwise: req_target(f, "else")?,
            }
        }
        "http" | "lookup_http" => {
            let method = match f
                .opt("method")
                .map(|m| m.text("method"))
                .transpose()?
                .as_deref()
            {
                None | Some("GET") | Some("get") => HttpMethod::Get,
                Some("POST") | Some("post") => HttpMethod::Post,
                Some(m) => return Err(Diag::invalid(f.loc, format!("method `{m}`: GET or POST"))),
            };
            let body = f.opt("body").map(json_template).transpose()?;
            if body.is_some() && method == HttpMethod::Get {
                return Err(Diag::invalid(f.loc, "a GET lookup has no body"));
            }
            let path_node = f.req("path")?;
            let path = template(path_node, "path")?;
            if !path_node.text("path")?.starts_with('/') {
                return Err(Diag::invalid(path_node.loc, "`path` starts with `/`"));
            }
            NodeKind::Http {
                service: f.req("service")?.text("service")?,
                method,
                path,
                body,
                common: lookup_common(f)?,
            }
        }
        "sql" | "lookup_sql" => {
            let qn = f.req("query")?;
            let query = qn.text("query")?;
            let count = sql_placeholders(&query).map_err(|m| Diag::invalid(qn.loc, m))?;
            let params: Vec<Template> = match f.opt("params") {
                Some(p) => p
                    .seq("params")?
                    .iter()
                    .map(|x| template(x, "param"))
                    .collect::<Result<_, _>>()?,
                None => Vec::new(),
            };
            if params.len() != count {
                return Err(Diag::invalid(
                    qn.loc,
                    format!(
                        "query has {count} placeholder(s) but {} param(s)",
                        params.len()
                    ),
                ));
            }
            NodeKind::Sql {
                db: f.req("db")?.text("db")?,
                query,
                params,
                common: lookup_common(f)?,
            }
        }
        "queue" => NodeKind::Queue {
            queue: queue_choice(f.req("queue")?)?,
            priority_boost: f
                .opt("priority_boost")
                .map(|p| p.int("priority_boost"))
                .transpose()?
                .unwrap_or(0)
                .clamp(-1000, 1000) as i32,
        },
        "offer_channels" => {
            let prompting = prompting(f)?;
            let mut options = BTreeMap::new();
            for (k, v) in f.req("options")?.entries("options")? {
                let ch = channel(v)?;
                options.insert(digit_key(k)?, (ch != Channel::Voice).then_some(ch));
            }
            if !options.values().any(Option::is_none) {
                return Err(Diag::invalid(
                    f.loc,
                    "offer_channels needs a `voice` option (R4)",
                ));
            }
            NodeKind::OfferChannels {
                prompting,
                options,
                confirm: prompts(f.req("confirm")?)?,
                first_message: lang_text(f.req("first_message")?)?,
                queue: queue_choice(f.req("queue")?)?,
                voice: req_target(f, "voice")?,
            }
        }
        "send_message" => NodeKind::SendMessage {
            channel: f
                .opt("channel")
                .map(channel)
                .transpose()?
                .unwrap_or(Channel::Sms),
            text: lang_text(f.req("text")?)?,
            next: req_target(f, "next")?,
        },
        "transfer" => NodeKind::Transfer {
            number: template(f.req("number")?, "number")?,
        },
        "set" => {
            let mut vars = Vec::new();
            for (k, v) in f.req("vars")?.entries("vars")? {
                vars.push((k.name.clone(), template(v, "var")?));
            }
            NodeKind::Set {
                vars,
                next: req_target(f, "next")?,
            }
        }
        "goto" => NodeKind::Goto {
            target: req_target(f, "target")?,
        },
        "hangup" => NodeKind::Hangup,
        other => {
            return Err(Diag::new(
                type_loc,
                ErrorKind::UnknownNodeType,
                format!("unknown node type `{other}`"),
            ));
        }
    })
}

fn cond(n: &Node, depth: usize) -> Result<Cond, Diag> {
    if depth > 8 {
        return Err(Diag::invalid(n.loc, "conditions nest too deep"));
    }
    let mut f = n.map("when")?;
    let entries = n.entries("when")?;
    let first = entries
        .first()
        .map(|(k, _)| k.name.clone())
        .unwrap_or_default();
    let flag = |f: &mut Fields<'_>, k: &str| -> Result<bool, Diag> { f.req(k)?.boolean(k) };
    let c = match first.as_str() {
        "open" => Cond::Open(f.req("open")?.text("open")?),
        "closed" => Cond::Closed(f.req("closed")?.text("closed")?),
        "holiday" => Cond::Holiday(f.req("holiday")?.text("holiday")?),
        "maintenance" => Cond::Maintenance(flag(&mut f, "maintenance")?),
        "overloaded" => Cond::Overloaded(flag(&mut f, "overloaded")?),
        "no_agents" => Cond::NoAgents(f.req("no_agents")?.text("no_agents")?),
        "called_before" => Cond::CalledBefore(flag(&mut f, "called_before")?),
        "known_customer" => Cond::KnownCustomer(flag(&mut f, "known_customer")?),
        "language_known" => Cond::LanguageKnown(flag(&mut f, "language_known")?),
        "segment" => {
            let mut segs = Vec::new();
            for s in f.req("segment")?.one_or_many() {
                let t = s.text("segment")?;
                segs.push(match t.as_str() {
                    "general" => Segment::Mass,
                    _ => Segment::parse(&t)
                        .ok_or_else(|| Diag::invalid(s.loc, format!("unknown segment `{t}`")))?,
                });
            }
            Cond::Segment(segs)
        }
        "all" | "any" => {
            let items = f
                .req(&first)?
                .seq(&first)?
                .iter()
                .map(|c| cond(c, depth + 1))
                .collect::<Result<Vec<_>, _>>()?;
            if first == "all" {
                Cond::All(items)
            } else {
                Cond::Any(items)
            }
        }
        "not" => Cond::Not(Box::new(cond(f.req("not")?, depth + 1)?)),
        "var" => {
            let name = f.req("var")?.text("var")?;
            let ops = [
                ("eq", CmpOp::Eq),
                ("ne", CmpOp::Ne),
                ("lt", CmpOp::Lt),
                ("le", CmpOp::Le),
                ("gt", CmpOp::Gt),
                ("ge", CmpOp::Ge),
            ];
            let mut found = None;
            for (k, op) in ops {
                if let Some(v) = f.opt(k) {
                    if found.is_some() {
                        return Err(Diag::invalid(v.loc, "one comparison per `var` condition"));
                    }
                    found = Some(Cond::Var {
                        name: name.clone(),
                        op,
                        value: template(v, k)?,
                    });
                }
            }
            if let Some(v) = f.opt("exists") {
                if found.is_some() {
                    return Err(Diag::invalid(v.loc, "one comparison per `var` condition"));
                }
                found = Some(Cond::VarExists(name.clone(), v.boolean("exists")?));
            }
            found.ok_or_else(|| {
                Diag::invalid(n.loc, "`var` needs eq, ne, lt, le, gt, ge or exists")
            })?
        }
        other => {
            return Err(Diag::invalid(n.loc, format!("unknown condition `{other}`")));
        }
    };
    let mut sub = Vec::new();
    f.finish(&mut sub);
    match sub.into_iter().next() {
        Some(e) => Err(e),
        None => Ok(c),
    }
}

#[cfg(test)]
mod tests {
    use super::sql_placeholders;

    #[test]
    fn sql_placeholder_rules() {
        assert_eq!(
            sql_placeholders("SELECT a FROM t WHERE x = ?1 AND y = ?2"),
            Ok(2)
        );
        assert_eq!(
            sql_placeholders("SELECT a FROM t WHERE x = ? AND y = '?'"),
            Ok(1)
        );
        assert_eq!(sql_placeholders("SELECT 1;"), Ok(0));
        assert!(sql_placeholders("SELECT 1; DROP TABLE t").is_err());
        assert!(sql_placeholders("SELECT a FROM t WHERE x = '{{caller}}'").is_err());
        assert!(sql_placeholders("SELECT a FROM t WHERE x = :caller").is_err());
        assert!(sql_placeholders("SELECT a FROM t WHERE x = ? AND y = ?2").is_err());
        assert!(sql_placeholders("SELECT 'open").is_err());
    }
}
