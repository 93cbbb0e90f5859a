//! Dependency specifications (DEPEND, RDEPEND, BDEPEND, PDEPEND): atoms in all-of `( … )`,
//! any-of `|| ( … )` and USE-conditional `flag? ( … )` groups.

use std::collections::BTreeSet;
use std::fmt;
use std::ops::Range;
use std::str::FromStr;

use super::atom::Atom;
use super::error::ParseError;
use super::lex::{Groups, Token, check_glued_paren, condition, expect_open, tokens};

/// One element of a dependency specification.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DepNode {
    Atom(Atom),
    /// `( … )`: all of these.
    AllOf(Vec<DepNode>),
    /// `|| ( … )`: at least one of these.
    AnyOf(Vec<DepNode>),
    /// `flag? ( … )`, or `!flag? ( … )` when `negated`: these, if the condition holds.
    UseCond {
        flag: Box<str>,
        negated: bool,
        children: Vec<DepNode>,
    },
}

/// A parsed dependency specification. Groups in parsed text are never empty (PMS forbids
/// `( )`); [`DepSpec::evaluate`] may leave an any-of group empty, which can never be satisfied.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct DepSpec {
    nodes: Vec<DepNode>,
}

impl DepSpec {
    /// Parses a dependency specification; error spans are byte offsets into `s`.
    pub fn parse(s: &str) -> Result<DepSpec, ParseError> {
        parse(s, None)
    }

    /// Like [`DepSpec::parse`], also returning each atom's span in `s`, in [`DepSpec::atoms`]
    /// order, for diagnostics about an atom (such as "not in the tree").
    pub fn parse_with_atom_spans(s: &str) -> Result<(DepSpec, Vec<Range<usize>>), ParseError> {
        let mut spans = Vec::new();
        let spec = parse(s, Some(&mut spans))?;
        Ok((spec, spans))
    }

    pub fn nodes(&self) -> &[DepNode] {
        &self.nodes
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The specification for a package whose enabled flags are `enabled`: conditionals whose
    /// condition fails are dropped and the others replaced by their children; groups stay.
    pub fn evaluate(&self, enabled: &dyn Fn(&str) -> bool) -> DepSpec {
        let mut nodes = Vec::with_capacity(self.nodes.len());
        evaluate_into(&self.nodes, enabled, &mut nodes);
        DepSpec { nodes }
    }

    /// Every atom, however deep, in textual order.
    pub fn atoms(&self) -> Atoms<'_> {
        Atoms { stack: vec![self.nodes.iter()] }
    }

    /// Every USE flag of the depending package this specification reads: conditions, and the
    /// flags of `c?`, `!c?`, `c=` and `!c=` USE dependencies (each must be in IUSE).
    pub fn flags(&self) -> BTreeSet<&str> {
        let mut flags = BTreeSet::new();
        collect_flags(&self.nodes, &mut flags);
        for atom in self.atoms() {
            flags.extend(atom.use_deps().iter().filter_map(|dep| dep.conditional_flag()));
        }
        flags
    }
}

fn evaluate_into(nodes: &[DepNode], enabled: &dyn Fn(&str) -> bool, out: &mut Vec<DepNode>) {
    for node in nodes {
        match node {
            DepNode::Atom(atom) => out.push(DepNode::Atom(atom.clone())),
            DepNode::AllOf(children) => out.push(DepNode::AllOf(evaluate_group(children, enabled))),
            DepNode::AnyOf(children) => out.push(DepNode::AnyOf(evaluate_group(children, enabled))),
            DepNode::UseCond { flag, negated, children } => {
                if enabled(flag) != *negated {
                    evaluate_into(children, enabled, out);
                }
            }
        }
    }
}

fn evaluate_group(children: &[DepNode], enabled: &dyn Fn(&str) -> bool) -> Vec<DepNode> {
    let mut out = Vec::with_capacity(children.len());
    evaluate_into(children, enabled, &mut out);
    out
}

fn collect_flags<'a>(nodes: &'a [DepNode], flags: &mut BTreeSet<&'a str>) {
    for node in nodes {
        match node {
            DepNode::Atom(_) => {}
            DepNode::AllOf(children) | DepNode::AnyOf(children) => collect_flags(children, flags),
            DepNode::UseCond { flag, children, .. } => {
                flags.insert(flag);
                collect_flags(children, flags);
            }
        }
    }
}

/// The atoms of a [`DepSpec`], depth first.
pub struct Atoms<'a> {
    stack: Vec<std::slice::Iter<'a, DepNode>>,
}

impl<'a> Iterator for Atoms<'a> {
    type Item = &'a Atom;

    fn next(&mut self) -> Option<&'a Atom> {
        loop {
            let top = self.stack.last_mut()?;
            match top.next() {
                None => {
                    self.stack.pop();
                }
                Some(DepNode::Atom(atom)) => return Some(atom),
                Some(
                    DepNode::AllOf(children) | DepNode::AnyOf(children) | DepNode::UseCond { children, .. },
                ) => {
                    self.stack.push(children.iter());
                }
            }
        }
    }
}

enum Group<'a> {
    AllOf,
    AnyOf,
    UseCond { flag: &'a str, negated: bool },
}

fn parse(s: &str, mut spans: Option<&mut Vec<Range<usize>>>) -> Result<DepSpec, ParseError> {
    let mut groups = Groups::new();
    let mut toks = tokens(s);
    while let Some(tok) = toks.next() {
        match tok.text {
            "(" => groups.open(Group::AllOf, tok.start, tok.span())?,
            ")" => close(&mut groups, &tok)?,
            "||" => {
                let open = expect_open(&mut toks, &tok, s.len())?;
                groups.open(Group::AnyOf, tok.start, open)?;
            }
            "^^" | "??" => {
                let message = format!("`{}` groups are only allowed in REQUIRED_USE", tok.text);
                return Err(ParseError::new(tok.span(), message));
            }
            text if text.bytes().all(|c| c == b'|') => {
                let message = format!("unknown operator `{text}`: expected `||`");
                return Err(ParseError::new(tok.span(), message));
            }
            text => {
                check_glued_paren(&tok)?;
                if text.ends_with('?') {
                    let (flag, negated) = condition(&tok)?;
                    let open = expect_open(&mut toks, &tok, s.len())?;
                    groups.open(Group::UseCond { flag, negated }, tok.start, open)?;
                } else {
                    let atom = Atom::parse(text).map_err(|e| e.offset(tok.start))?;
                    if let Some(spans) = spans.as_deref_mut() {
                        spans.push(tok.span());
                    }
                    groups.push(DepNode::Atom(atom));
                }
            }
        }
    }
    Ok(DepSpec { nodes: groups.finish(s.len())? })
}

fn close(groups: &mut Groups<Group<'_>, DepNode>, tok: &Token<'_>) -> Result<(), ParseError> {
    let closed = groups.close(tok.span())?;
    if closed.children.is_empty() {
        let group = match closed.kind {
            Group::AllOf => "( )".to_string(),
            Group::AnyOf => "|| ( )".to_string(),
            Group::UseCond { flag, negated } => format!("{}{flag}? ( )", if negated { "!" } else { "" }),
        };
        return Err(ParseError::new(closed.span, format!("empty group `{group}`")));
    }
    groups.push(match closed.kind {
        Group::AllOf => DepNode::AllOf(closed.children),
        Group::AnyOf => DepNode::AnyOf(closed.children),
        Group::UseCond { flag, negated } => {
            DepNode::UseCond { flag: flag.into(), negated, children: closed.children }
        }
    });
    Ok(())
}

impl fmt::Display for DepSpec {
    /// Canonical text: single spaces, which parses back to an equal value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_nodes(f, &self.nodes)
    }
}

impl fmt::Display for DepNode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DepNode::Atom(atom) => write!(f, "{atom}"),
            DepNode::AllOf(children) => write_group(f, "", children),
            DepNode::AnyOf(children) => write_group(f, "|| ", children),
            DepNode::UseCond { flag, negated, children } => {
                let head = format!("{}{flag}? ", if *negated { "!" } else { "" });
                write_group(f, &head, children)
            }
        }
    }
}

fn write_nodes(f: &mut fmt::Formatter<'_>, nodes: &[DepNode]) -> fmt::Result {
    for (i, node) in nodes.iter().enumerate() {
        if i > 0 {
            f.write_str(" ")?;
        }
        write!(f, "{node}")?;
    }
    Ok(())
}

fn write_group(f: &mut fmt::Formatter<'_>, head: &str, children: &[DepNode]) -> fmt::Result {
    write!(f, "{head}( ")?;
    write_nodes(f, children)?;
    if !children.is_empty() {
        f.write_str(" ")?;
    }
    f.write_str(")")
}

impl FromStr for DepSpec {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DepSpec::parse(s)
    }
}

#[cfg(test)]
mod tests;
