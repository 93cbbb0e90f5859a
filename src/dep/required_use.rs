//! REQUIRED_USE: constraints on a package's own USE flags, and checking them with Portage's
//! semantics (EAPI 8).

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use super::error::ParseError;
use super::lex::{Groups, Token, check_glued_paren, condition, expect_open, tokens};
use super::name::{FLAG, check};

/// One element of a REQUIRED_USE string.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RequiredUseNode {
    /// `flag` or `!flag`.
    Flag { name: Box<str>, negated: bool },
    /// `( … )`
    AllOf(Vec<RequiredUseNode>),
    /// `|| ( … )`: at least one.
    AnyOf(Vec<RequiredUseNode>),
    /// `^^ ( … )`: exactly one.
    ExactlyOne(Vec<RequiredUseNode>),
    /// `?? ( … )`: at most one.
    AtMostOne(Vec<RequiredUseNode>),
    /// `flag? ( … )` or `!flag? ( … )`.
    UseCond { flag: Box<str>, negated: bool, children: Vec<RequiredUseNode> },
}

/// A parsed REQUIRED_USE string. Empty groups are accepted, as Portage accepts them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct RequiredUse {
    nodes: Vec<RequiredUseNode>,
}

/// The first top-level constraint that a set of flags breaks, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{constraint}`: {reason}")]
pub struct Violation {
    /// The top-level constraint, printed canonically.
    pub constraint: String,
    pub reason: String,
}

impl RequiredUse {
    /// Parses a REQUIRED_USE string; error spans are byte offsets into `s`.
    pub fn parse(s: &str) -> Result<RequiredUse, ParseError> {
        let mut groups: Groups<Group<'_>, RequiredUseNode> = Groups::new();
        let mut toks = tokens(s);
        while let Some(tok) = toks.next() {
            let kind = match tok.text {
                "(" => Group::AllOf,
                ")" => {
                    let closed = groups.close(tok.span())?;
                    groups.push(closed.kind.into_node(closed.children));
                    continue;
                }
                "||" => Group::AnyOf,
                "^^" => Group::ExactlyOne,
                "??" => Group::AtMostOne,
                _ => match flag_or_condition(&tok)? {
                    Item::Flag(node) => {
                        groups.push(node);
                        continue;
                    }
                    Item::Condition(kind) => kind,
                },
            };
            let open = if tok.text == "(" { tok.span() } else { expect_open(&mut toks, &tok, s.len())? };
            groups.open(kind, tok.start, open)?;
        }
        Ok(RequiredUse { nodes: groups.finish(s.len())? })
    }

    pub fn nodes(&self) -> &[RequiredUseNode] {
        &self.nodes
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Every flag named anywhere (each must be in IUSE).
    pub fn flags(&self) -> BTreeSet<&str> {
        let mut flags = BTreeSet::new();
        collect_flags(&self.nodes, &mut flags);
        flags
    }

    /// Checks the constraints against the flags `enabled`, as Portage's `check_required_use`
    /// does in EAPI 8: a conditional whose condition fails counts as absent inside a group, an
    /// empty `|| ( )` or `^^ ( )` fails, an empty `?? ( )` or `( )` holds.
    pub fn check(&self, enabled: &dyn Fn(&str) -> bool) -> Result<(), Violation> {
        match self.nodes.iter().find(|node| eval(node, enabled) == Some(false)) {
            None => Ok(()),
            Some(node) => Err(Violation { constraint: node.to_string(), reason: explain(node, enabled) }),
        }
    }
}

#[derive(Clone, Copy)]
enum Group<'a> {
    AllOf,
    AnyOf,
    ExactlyOne,
    AtMostOne,
    UseCond { flag: &'a str, negated: bool },
}

impl Group<'_> {
    fn into_node(self, children: Vec<RequiredUseNode>) -> RequiredUseNode {
        match self {
            Group::AllOf => RequiredUseNode::AllOf(children),
            Group::AnyOf => RequiredUseNode::AnyOf(children),
            Group::ExactlyOne => RequiredUseNode::ExactlyOne(children),
            Group::AtMostOne => RequiredUseNode::AtMostOne(children),
            Group::UseCond { flag, negated } => {
                RequiredUseNode::UseCond { flag: flag.into(), negated, children }
            }
        }
    }
}

enum Item<'a> {
    Flag(RequiredUseNode),
    Condition(Group<'a>),
}

/// Reads a `flag`/`!flag` or a `flag?`/`!flag?` (whose group is still to open).
fn flag_or_condition<'a>(tok: &Token<'a>) -> Result<Item<'a>, ParseError> {
    // `&&` is what people reach for from other languages; say it is an operator, not a flag.
    if tok.text.bytes().all(|c| matches!(c, b'|' | b'^' | b'?' | b'&')) {
        let message = format!(
            "unknown operator `{}`: expected `||`, `^^` or `??` (a plain `( … )` means all of)",
            tok.text
        );
        return Err(ParseError::new(tok.span(), message));
    }
    if tok.text.starts_with("!!") {
        let message = format!("`{}`: negate a flag with a single `!`", tok.text);
        return Err(ParseError::new(tok.start..tok.start + 2, message));
    }
    check_glued_paren(tok)?;
    if tok.text.ends_with('?') {
        let (flag, negated) = condition(tok)?;
        return Ok(Item::Condition(Group::UseCond { flag, negated }));
    }
    let (name, negated, at) = match tok.text.strip_prefix('!') {
        Some(name) => (name, true, tok.start + 1),
        None => (tok.text, false, tok.start),
    };
    check(name, &FLAG).map_err(|e| e.offset(at))?;
    Ok(Item::Flag(RequiredUseNode::Flag { name: name.into(), negated }))
}

fn collect_flags<'a>(nodes: &'a [RequiredUseNode], flags: &mut BTreeSet<&'a str>) {
    for node in nodes {
        match node {
            RequiredUseNode::Flag { name, .. } => {
                flags.insert(name);
            }
            RequiredUseNode::UseCond { flag, children, .. } => {
                flags.insert(flag);
                collect_flags(children, flags);
            }
            RequiredUseNode::AllOf(children)
            | RequiredUseNode::AnyOf(children)
            | RequiredUseNode::ExactlyOne(children)
            | RequiredUseNode::AtMostOne(children) => collect_flags(children, flags),
        }
    }
}

/// Portage's value of a node: `None` when it does not take part (a conditional whose
/// condition fails, an all-of group with nothing taking part).
fn eval(node: &RequiredUseNode, enabled: &dyn Fn(&str) -> bool) -> Option<bool> {
    match node {
        RequiredUseNode::Flag { name, negated } => Some(enabled(name) != *negated),
        RequiredUseNode::AllOf(children) => {
            let mut any = false;
            for ok in taking_part(children, enabled) {
                if !ok {
                    return Some(false);
                }
                any = true;
            }
            any.then_some(true)
        }
        RequiredUseNode::AnyOf(children) => Some(taking_part(children, enabled).any(|ok| ok)),
        RequiredUseNode::ExactlyOne(children) => {
            Some(taking_part(children, enabled).filter(|ok| *ok).count() == 1)
        }
        RequiredUseNode::AtMostOne(children) => {
            Some(taking_part(children, enabled).filter(|ok| *ok).count() <= 1)
        }
        RequiredUseNode::UseCond { flag, negated, children } => {
            (enabled(flag) != *negated).then(|| taking_part(children, enabled).all(|ok| ok))
        }
    }
}

/// The values of the children that take part.
fn taking_part<'a>(
    children: &'a [RequiredUseNode],
    enabled: &'a dyn Fn(&str) -> bool,
) -> impl Iterator<Item = bool> + 'a {
    children.iter().filter_map(move |child| eval(child, enabled))
}

/// Why `node`, which evaluates to false, fails.
fn explain(node: &RequiredUseNode, enabled: &dyn Fn(&str) -> bool) -> String {
    let first_failure = |children: &[RequiredUseNode]| {
        children
            .iter()
            .find(|c| eval(c, enabled) == Some(false))
            .map(|c| explain(c, enabled))
            .unwrap_or_default()
    };
    match node {
        RequiredUseNode::Flag { name, negated: false } => format!("{name} must be enabled"),
        RequiredUseNode::Flag { name, negated: true } => format!("{name} must be disabled"),
        RequiredUseNode::AllOf(children) => first_failure(children),
        RequiredUseNode::UseCond { flag, negated, children } => {
            let state = if *negated { "disabled" } else { "enabled" };
            format!("when {flag} is {state}, {}", first_failure(children))
        }
        RequiredUseNode::AnyOf(children) => explain_count(children, enabled, "||", "at least one of", "must"),
        RequiredUseNode::ExactlyOne(children) => {
            explain_count(children, enabled, "^^", "exactly one of", "must")
        }
        RequiredUseNode::AtMostOne(children) => {
            explain_count(children, enabled, "??", "at most one of", "may")
        }
    }
}

/// Explains a failed `||`, `^^` or `??` group from the members that take part.
fn explain_count(
    children: &[RequiredUseNode],
    enabled: &dyn Fn(&str) -> bool,
    op: &str,
    quantity: &str,
    modal: &str,
) -> String {
    if children.is_empty() {
        return format!("an empty `{op} ( )` group can never be satisfied");
    }
    let members: Vec<(&RequiredUseNode, bool)> =
        children.iter().filter_map(|c| eval(c, enabled).map(|ok| (c, ok))).collect();
    if members.is_empty() {
        return "none of its conditional members applies with these flags, so it cannot be satisfied"
            .to_string();
    }
    let labels: Vec<String> = members.iter().map(|(c, _)| label(c)).collect();
    let all_plain = members.iter().all(|(c, _)| matches!(c, RequiredUseNode::Flag { negated: false, .. }));
    let state = if all_plain { "enabled" } else { "true" };
    let holding: Vec<String> = members.iter().filter(|(_, ok)| *ok).map(|(c, _)| label(c)).collect();
    let actual = match holding.len() {
        0 => "none is".to_string(),
        2 if members.len() == 2 => "both are".to_string(),
        _ => format!("{} are", holding.join(", ")),
    };
    format!("{quantity} {} {modal} be {state}, but {actual}", labels.join(", "))
}

fn label(node: &RequiredUseNode) -> String {
    match node {
        RequiredUseNode::Flag { name, negated } => format!("{}{name}", if *negated { "!" } else { "" }),
        other => format!("`{other}`"),
    }
}

impl fmt::Display for RequiredUse {
    /// Canonical text: single spaces, which parses back to an equal value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_nodes(f, &self.nodes)
    }
}

impl fmt::Display for RequiredUseNode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (head, children) = match self {
            RequiredUseNode::Flag { name, negated } => {
                return write!(f, "{}{name}", if *negated { "!" } else { "" });
            }
            RequiredUseNode::AllOf(children) => (String::new(), children),
            RequiredUseNode::AnyOf(children) => ("|| ".to_string(), children),
            RequiredUseNode::ExactlyOne(children) => ("^^ ".to_string(), children),
            RequiredUseNode::AtMostOne(children) => ("?? ".to_string(), children),
            RequiredUseNode::UseCond { flag, negated, children } => {
                (format!("{}{flag}? ", if *negated { "!" } else { "" }), children)
            }
        };
        write!(f, "{head}( ")?;
        write_nodes(f, children)?;
        if !children.is_empty() {
            f.write_str(" ")?;
        }
        f.write_str(")")
    }
}

fn write_nodes(f: &mut fmt::Formatter<'_>, nodes: &[RequiredUseNode]) -> fmt::Result {
    for (i, node) in nodes.iter().enumerate() {
        if i > 0 {
            f.write_str(" ")?;
        }
        write!(f, "{node}")?;
    }
    Ok(())
}

impl FromStr for RequiredUse {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RequiredUse::parse(s)
    }
}

#[cfg(test)]
mod tests;
