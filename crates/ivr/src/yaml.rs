//! A YAML document read (with `saphyr`, YAML 1.2) into a small owned tree
//! whose every node and key keeps its line and column, plus the typed field
//! readers the flow parser uses. Nothing here panics on any input: anchors
//! are bounded by saphyr's alias budget and nesting by [`MAX_DEPTH`].

use crate::error::{Diag, ErrorKind, Location};
use saphyr::{LoadableYamlNode, MarkedYaml, Scalar, YamlData};

/// Deepest nesting of sequences/mappings a flow file may have.
pub(crate) const MAX_DEPTH: usize = 48;

/// A YAML value with its location.
#[derive(Clone, Debug)]
pub(crate) struct Node {
    pub loc: Location,
    pub value: Value,
}

/// A mapping key (always text: integers and booleans are turned into text).
#[derive(Clone, Debug)]
pub(crate) struct Key {
    pub name: String,
    pub loc: Location,
}

/// The YAML data model restricted to what flow files use.
#[derive(Clone, Debug)]
pub(crate) enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Key, Node)>),
}

fn loc_of(m: &saphyr::Marker) -> Location {
    Location::new(m.line().max(1), m.col() + 1)
}

/// Parse `text` as exactly one YAML document.
pub(crate) fn parse_document(text: &str) -> Result<Node, Diag> {
    let docs = MarkedYaml::load_from_str(text).map_err(|e| {
        Diag::new(
            loc_of(e.marker()),
            ErrorKind::Syntax,
            format!("YAML: {}", e.info()),
        )
    })?;
    let mut it = docs.into_iter();
    let first = it
        .next()
        .ok_or_else(|| Diag::new(Location::new(1, 1), ErrorKind::Syntax, "empty file"))?;
    if let Some(second) = it.next() {
        return Err(Diag::new(
            loc_of(&second.span.start),
            ErrorKind::Syntax,
            "a flow file holds exactly one YAML document",
        ));
    }
    convert(&first, 0)
}

fn convert(m: &MarkedYaml<'_>, depth: usize) -> Result<Node, Diag> {
    let loc = loc_of(&m.span.start);
    if depth > MAX_DEPTH {
        return Err(Diag::new(loc, ErrorKind::Syntax, "nesting too deep"));
    }
    let value = match &m.data {
        YamlData::Value(s) => scalar(s),
        YamlData::Representation(text, _, _) => Value::Str(text.to_string()),
        YamlData::Sequence(items) => Value::Seq(
            items
                .iter()
                .map(|i| convert(i, depth + 1))
                .collect::<Result<_, _>>()?,
        ),
        YamlData::Mapping(map) => {
            let mut out = Vec::with_capacity(map.len());
            for (k, v) in map.iter() {
                let kloc = loc_of(&k.span.start);
                let name = match &k.data {
                    YamlData::Value(Scalar::String(s)) => s.to_string(),
                    YamlData::Value(Scalar::Integer(i)) => i.to_string(),
                    YamlData::Value(Scalar::Boolean(b)) => b.to_string(),
                    _ => return Err(Diag::schema(kloc, "mapping keys must be text or integers")),
                };
                out.push((Key { name, loc: kloc }, convert(v, depth + 1)?));
            }
            Value::Map(out)
        }
        YamlData::Tagged(_, inner) => return convert(inner, depth + 1),
        YamlData::Alias(_) | YamlData::BadValue => {
            return Err(Diag::new(
                loc,
                ErrorKind::Syntax,
                "unresolved alias or bad value",
            ));
        }
    };
    Ok(Node { loc, value })
}

fn scalar(s: &Scalar<'_>) -> Value {
    match s {
        Scalar::Null => Value::Null,
        Scalar::Boolean(b) => Value::Bool(*b),
        Scalar::Integer(i) => Value::Int(*i),
        Scalar::FloatingPoint(f) => Value::Float(f.into_inner()),
        Scalar::String(t) => Value::Str(t.to_string()),
    }
}

impl Node {
    fn type_name(&self) -> &'static str {
        match self.value {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a number",
            Value::Str(_) => "text",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }

    fn wrong(&self, what: &str, expected: &str) -> Diag {
        Diag::schema(
            self.loc,
            format!("`{what}` must be {expected}, found {}", self.type_name()),
        )
    }

    /// Text (integers and booleans are accepted and rendered as text, since
    /// YAML reads `1` or `yes`-less `true` as non-strings).
    pub(crate) fn text(&self, what: &str) -> Result<String, Diag> {
        match &self.value {
            Value::Str(s) => Ok(s.clone()),
            Value::Int(i) => Ok(i.to_string()),
            Value::Bool(b) => Ok(b.to_string()),
            Value::Float(f) => Ok(f.to_string()),
            _ => Err(self.wrong(what, "text")),
        }
    }

    pub(crate) fn boolean(&self, what: &str) -> Result<bool, Diag> {
        match self.value {
            Value::Bool(b) => Ok(b),
            _ => Err(self.wrong(what, "true or false")),
        }
    }

    /// A non-negative integer no larger than `max`.
    pub(crate) fn uint(&self, what: &str, max: u32) -> Result<u32, Diag> {
        match self.value {
            Value::Int(i) if (0..=i64::from(max)).contains(&i) => Ok(i as u32),
            Value::Int(_) => Err(Diag::schema(
                self.loc,
                format!("`{what}` must be between 0 and {max}"),
            )),
            _ => Err(self.wrong(what, "an integer")),
        }
    }

    pub(crate) fn int(&self, what: &str) -> Result<i64, Diag> {
        match self.value {
            Value::Int(i) => Ok(i),
            _ => Err(self.wrong(what, "an integer")),
        }
    }

    pub(crate) fn seq(&self, what: &str) -> Result<&[Node], Diag> {
        match &self.value {
            Value::Seq(s) => Ok(s),
            _ => Err(self.wrong(what, "a list")),
        }
    }

    /// A single item or a list of items.
    pub(crate) fn one_or_many(&self) -> Vec<&Node> {
        match &self.value {
            Value::Seq(s) => s.iter().collect(),
            _ => vec![self],
        }
    }

    pub(crate) fn map(&self, what: &str) -> Result<Fields<'_>, Diag> {
        match &self.value {
            Value::Map(m) => Ok(Fields {
                loc: self.loc,
                what: what.to_string(),
                entries: m,
                used: vec![false; m.len()],
            }),
            _ => Err(self.wrong(what, "a mapping")),
        }
    }

    pub(crate) fn entries(&self, what: &str) -> Result<&[(Key, Node)], Diag> {
        match &self.value {
            Value::Map(m) => Ok(m),
            _ => Err(self.wrong(what, "a mapping")),
        }
    }
}

/// The fields of one mapping, read by name; [`Fields::finish`] reports the
/// ones nobody read as unknown.
pub(crate) struct Fields<'a> {
    pub loc: Location,
    what: String,
    entries: &'a [(Key, Node)],
    used: Vec<bool>,
}

impl<'a> Fields<'a> {
    /// The value of `name`, if present.
    pub(crate) fn opt(&mut self, name: &str) -> Option<&'a Node> {
        let i = self.entries.iter().position(|(k, _)| k.name == name)?;
        if let Some(u) = self.used.get_mut(i) {
            *u = true;
        }
        self.entries.get(i).map(|(_, v)| v)
    }

    /// The value of `name`, or a schema error at the mapping.
    pub(crate) fn req(&mut self, name: &str) -> Result<&'a Node, Diag> {
        let what = self.what.clone();
        self.opt(name)
            .ok_or_else(|| Diag::schema(self.loc, format!("{what}: missing field `{name}`")))
    }

    /// The location of key `name`, if present.
    pub(crate) fn key_loc(&self, name: &str) -> Option<Location> {
        self.entries
            .iter()
            .find(|(k, _)| k.name == name)
            .map(|(k, _)| k.loc)
    }

    /// Errors for every key that was not read.
    pub(crate) fn finish(self, out: &mut Vec<Diag>) {
        for ((k, _), used) in self.entries.iter().zip(self.used) {
            if !used {
                out.push(Diag::schema(
                    k.loc,
                    format!("{}: unknown field `{}`", self.what, k.name),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_are_one_based() {
        let n = parse_document("a: 1\nb:\n  c: [x, y]\n").unwrap();
        let m = n.entries("root").unwrap();
        assert_eq!(m[1].0.name, "b");
        assert_eq!(m[1].0.loc, Location::new(2, 1));
        let inner = m[1].1.entries("b").unwrap();
        assert_eq!(inner[0].0.loc, Location::new(3, 3));
        let Value::Seq(items) = &inner[0].1.value else {
            panic!("not a list")
        };
        assert_eq!(items[1].loc, Location::new(3, 10));
    }

    #[test]
    fn syntax_error_has_location() {
        let e = parse_document("a: [1, 2\nb: c\n").unwrap_err();
        assert_eq!(e.kind, ErrorKind::Syntax);
        assert!(e.loc.line >= 1);
        let e = parse_document("a: 1\n---\nb: 2\n").unwrap_err();
        assert_eq!(e.loc.line, 3, "the second document starts on line 3");
    }

    #[test]
    fn alias_bomb_is_refused() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let p = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        assert_eq!(parse_document(&text).unwrap_err().kind, ErrorKind::Syntax);
    }

    #[test]
    fn duplicate_keys_are_refused() {
        let e = parse_document("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert_eq!(e.kind, ErrorKind::Syntax);
        assert_eq!(e.loc.line, 3);
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let text = format!("{}{}", "[".repeat(200), "]".repeat(200));
        assert!(parse_document(&text).is_err());
        let mut block = String::new();
        for i in 0..100 {
            block.push_str(&" ".repeat(i));
            block.push_str("k:\n");
        }
        assert_eq!(parse_document(&block).unwrap_err().kind, ErrorKind::Syntax);
    }
}
