//! Graph and prompt rules of a parsed flow: missing targets, unreachable
//! nodes, loops without input, missing prompts per language, unknown
//! calendars/services/languages.

use crate::catalog::PromptCatalog;
use crate::error::{Diag, ErrorKind, Location};
use crate::model::*;
use crate::say::Grammar;
use std::collections::{BTreeMap, BTreeSet};

/// Every node a node can go to next, with the reference.
pub(crate) fn targets(kind: &NodeKind) -> Vec<&Target> {
    let mut out = Vec::new();
    match kind {
        NodeKind::Play { next, .. }
        | NodeKind::SetLanguage { next, .. }
        | NodeKind::SendMessage { next, .. }
        | NodeKind::Set { next, .. } => out.push(next),
        NodeKind::Menu {
            prompting: p,
            options,
        } => {
            out.extend(options.values());
            out.push(&p.on_failure);
        }
        NodeKind::Collect {
            prompting: p, next, ..
        } => {
            out.push(next);
            out.push(&p.on_failure);
        }
        NodeKind::Say(s) => {
            out.push(&s.next);
            out.extend(s.on_error.as_ref());
        }
        NodeKind::Condition {
            branches,
            otherwise,
        } => {
            out.extend(branches.iter().map(|(_, t)| t));
            out.push(otherwise);
        }
        NodeKind::Http { common, .. } | NodeKind::Sql { common, .. } => {
            out.push(&common.next);
            out.push(&common.on_error);
        }
        NodeKind::OfferChannels {
            prompting: p,
            voice,
            ..
        } => {
            out.push(voice);
            out.push(&p.on_failure);
        }
        NodeKind::Goto { target } => out.push(target),
        NodeKind::Queue { .. } | NodeKind::Transfer { .. } | NodeKind::Hangup => {}
    }
    out
}

/// True for nodes that wait for the caller's DTMF (they break loops).
pub(crate) fn takes_input(kind: &NodeKind) -> bool {
    matches!(
        kind,
        NodeKind::Menu { .. } | NodeKind::Collect { .. } | NodeKind::OfferChannels { .. }
    )
}

fn all_prompts(kind: &NodeKind) -> Vec<&PromptRef> {
    let mut out: Vec<&PromptRef> = Vec::new();
    match kind {
        NodeKind::Play { prompts, .. } => out.extend(prompts),
        NodeKind::Menu { prompting: p, .. } | NodeKind::Collect { prompting: p, .. } => {
            out.extend(&p.prompts);
            out.extend(&p.invalid_prompts);
            out.extend(&p.timeout_prompts);
        }
        NodeKind::OfferChannels {
            prompting: p,
            confirm,
            ..
        } => {
            out.extend(&p.prompts);
            out.extend(&p.invalid_prompts);
            out.extend(&p.timeout_prompts);
            out.extend(confirm);
        }
        NodeKind::Http { common, .. } | NodeKind::Sql { common, .. } => out.extend(&common.apology),
        _ => {}
    }
    out
}

fn conds<'a>(c: &'a Cond, out: &mut Vec<&'a Cond>) {
    out.push(c);
    match c {
        Cond::All(v) | Cond::Any(v) => v.iter().for_each(|x| conds(x, out)),
        Cond::Not(x) => conds(x, out),
        _ => {}
    }
}

/// Check `flow`; fills `flow.available` from `catalog`.
pub(crate) fn validate(flow: &mut Flow, catalog: &PromptCatalog) -> Vec<Diag> {
    let mut errs = Vec::new();
    let index: BTreeMap<&str, &NodeDef> = flow.nodes.iter().map(|n| (n.name.as_str(), n)).collect();
    let missing = |t: &Target, errs: &mut Vec<Diag>| {
        if !index.contains_key(t.node.as_str()) {
            errs.push(Diag::new(
                t.loc,
                ErrorKind::MissingTarget,
                format!("no node named `{}`", t.node),
            ));
        }
    };
    missing(&flow.start, &mut errs);
    for n in &flow.nodes {
        for t in targets(&n.kind) {
            missing(t, &mut errs);
        }
    }

    // Unreachable nodes.
    let mut seen = BTreeSet::new();
    let mut stack = vec![flow.start.node.as_str()];
    while let Some(name) = stack.pop() {
        if !seen.insert(name) {
            continue;
        }
        if let Some(n) = index.get(name) {
            stack.extend(targets(&n.kind).into_iter().map(|t| t.node.as_str()));
        }
    }
    for n in &flow.nodes {
        if !seen.contains(n.name.as_str()) {
            errs.push(Diag::new(
                n.loc,
                ErrorKind::Unreachable,
                format!(
                    "node `{}` cannot be reached from `{}`",
                    n.name, flow.start.node
                ),
            ));
        }
    }

    // Loops without input: a cycle through nodes that never wait for DTMF.
    loops_without_input(flow, &index, &mut errs);

    // Prompts, per language (or the pinned language).
    for (lang, name) in catalog.pairs() {
        flow.available.insert((lang.clone(), name.clone()));
    }
    let has = |lang: &str, name: &str| {
        catalog.contains(lang, name)
            || flow
                .fallback
                .get(lang)
                .is_some_and(|fb| catalog.contains(fb, name))
    };
    for n in &flow.nodes {
        for p in all_prompts(&n.kind) {
            let langs: Vec<&str> = match &p.lang {
                Some(l) => vec![l.as_str()],
                None => flow.languages.iter().map(String::as_str).collect(),
            };
            for l in langs {
                if !has(l, &p.name) {
                    errs.push(Diag::new(
                        p.loc,
                        ErrorKind::MissingPrompt,
                        format!("prompt `{}` has no file for language `{l}` (assets/prompts/{l}/{}.wav)", p.name, p.name),
                    ));
                }
            }
        }
        node_rules(flow, n, catalog, &mut errs);
    }
    errs
}

fn node_rules(flow: &Flow, n: &NodeDef, catalog: &PromptCatalog, errs: &mut Vec<Diag>) {
    match &n.kind {
        NodeKind::Say(s) => {
            for l in &flow.languages {
                let g = Grammar::for_language(l).or_else(|| {
                    flow.fallback
                        .get(l)
                        .and_then(|fb| Grammar::for_language(fb))
                });
                let Some(g) = g else {
                    errs.push(Diag::new(
                        n.loc,
                        ErrorKind::MissingPrompt,
                        format!(
                            "`say` has no number grammar for `{l}`: give it a fallback (fr or en)"
                        ),
                    ));
                    continue;
                };
                let gl = g.language();
                let mut needed = g.words();
                if s.say_as == crate::model::SayAs::Amount {
                    needed.retain(|w| {
                        !w.starts_with("currency_") || *w == format!("currency_{}", s.currency)
                    });
                } else {
                    needed.retain(|w| !w.starts_with("currency_"));
                }
                for w in needed {
                    if !catalog.contains(gl, &w) {
                        errs.push(Diag::new(
                            n.loc,
                            ErrorKind::MissingPrompt,
                            format!("`say` needs word prompt `{w}` for `{gl}`"),
                        ));
                    }
                }
            }
        }
        NodeKind::SetLanguage { language, .. } if !language.has_vars() => {
            let l = language.render(&BTreeMap::new());
            if !flow.languages.contains(&l) {
                errs.push(Diag::invalid(
                    n.loc,
                    format!("language `{l}` is not declared"),
                ));
            }
        }
        NodeKind::Condition { branches, .. } => {
            let mut all = Vec::new();
            for (c, _) in branches {
                conds(c, &mut all);
            }
            for c in all {
                if let Cond::Open(cal) | Cond::Closed(cal) | Cond::Holiday(cal) = c
                    && !flow.calendars.contains_key(cal)
                {
                    errs.push(crate::calendar::unknown_calendar(n.loc, cal));
                }
            }
        }
        NodeKind::Http { service, .. } if !flow.services.contains_key(service) => {
            errs.push(Diag::invalid(
                n.loc,
                format!("unknown service `{service}` (declare it under `services`)"),
            ));
        }
        NodeKind::SendMessage { text, .. } => lang_text_rules(flow, n.loc, text, errs),
        NodeKind::OfferChannels { first_message, .. } => {
            lang_text_rules(flow, n.loc, first_message, errs)
        }
        _ => {}
    }
}

fn lang_text_rules(flow: &Flow, loc: Location, text: &LangText, errs: &mut Vec<Diag>) {
    if text.0.contains_key("*") {
        return;
    }
    for l in &flow.languages {
        let fb = flow.fallback.get(l);
        if !text.0.contains_key(l) && !fb.is_some_and(|f| text.0.contains_key(f)) {
            errs.push(Diag::new(
                loc,
                ErrorKind::MissingPrompt,
                format!("no text for language `{l}`"),
            ));
        }
    }
    for k in text.0.keys() {
        if !flow.languages.contains(k) {
            errs.push(Diag::invalid(
                loc,
                format!("text for undeclared language `{k}`"),
            ));
        }
    }
}

fn loops_without_input(flow: &Flow, index: &BTreeMap<&str, &NodeDef>, errs: &mut Vec<Diag>) {
    // Iterative DFS with colours over edges leaving non-input nodes.
    #[derive(Clone, Copy, PartialEq)]
    enum C {
        White,
        Grey,
        Black,
    }
    let mut colour: BTreeMap<&str, C> = index.keys().map(|k| (*k, C::White)).collect();
    let mut reported = BTreeSet::new();
    for root in flow.nodes.iter().map(|n| n.name.as_str()) {
        if colour.get(root) != Some(&C::White) {
            continue;
        }
        let mut stack: Vec<(&str, usize)> = vec![(root, 0)];
        let mut path: Vec<&str> = vec![root];
        colour.insert(root, C::Grey);
        while let Some((node, i)) = stack.last().copied() {
            let def = index.get(node);
            let next: Vec<&str> = match def {
                Some(d) if !takes_input(&d.kind) => {
                    targets(&d.kind).iter().map(|t| t.node.as_str()).collect()
                }
                _ => Vec::new(),
            };
            if let Some(&t) = next.get(i) {
                if let Some(top) = stack.last_mut() {
                    top.1 += 1;
                }
                match colour.get(t) {
                    Some(C::White) => {
                        colour.insert(t, C::Grey);
                        stack.push((t, 0));
                        path.push(t);
                    }
                    Some(C::Grey) => {
                        let start = path.iter().position(|p| *p == t).unwrap_or(0);
                        let cycle = path[start..].join(" -> ");
                        if reported.insert(t)
                            && let Some(d) = index.get(t)
                        {
                            errs.push(Diag::new(
                                d.loc,
                                ErrorKind::LoopWithoutInput,
                                format!("loop without caller input: {cycle} -> {t}"),
                            ));
                        }
                    }
                    _ => {}
                }
            } else {
                colour.insert(node, C::Black);
                stack.pop();
                path.pop();
            }
        }
    }
}
