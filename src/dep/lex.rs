//! What dependency strings and REQUIRED_USE share: whitespace-separated tokens, `flag?`
//! conditions, and the stack of open `( … )` groups with its error messages.

use std::ops::Range;

use super::error::ParseError;
use super::name::{FLAG, check};

/// Groups nested deeper than this are refused, so printing, comparing and dropping a parsed
/// tree (all recursive) cannot exhaust the stack. Real trees nest fewer than 10 deep.
pub(crate) const MAX_DEPTH: usize = 256;

/// A whitespace-separated word and where it starts.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Token<'a> {
    pub text: &'a str,
    pub start: usize,
}

impl Token<'_> {
    pub fn span(&self) -> Range<usize> {
        self.start..self.start + self.text.len()
    }
}

/// The tokens of a string: split on ASCII whitespace (space, tab, newline), as PMS does.
pub(crate) struct Tokens<'a> {
    s: &'a str,
    at: usize,
}

pub(crate) fn tokens(s: &str) -> Tokens<'_> {
    Tokens { s, at: 0 }
}

impl<'a> Iterator for Tokens<'a> {
    type Item = Token<'a>;

    fn next(&mut self) -> Option<Token<'a>> {
        let bytes = self.s.as_bytes();
        let start = self.at + bytes[self.at..].iter().position(|c| !c.is_ascii_whitespace())?;
        let end = bytes[start..].iter().position(u8::is_ascii_whitespace).map_or(bytes.len(), |n| n + start);
        self.at = end;
        // Whitespace is ASCII, so `start` and `end` are char boundaries.
        Some(Token { text: &self.s[start..end], start })
    }
}

/// Refuses a `(` or `)` glued to other text, such as `||(` or `cat/a)`, which would otherwise
/// read as a strange atom or flag. Atoms with `[…]` are left alone: `(+)` belongs there.
pub(crate) fn check_glued_paren(tok: &Token<'_>) -> Result<(), ParseError> {
    let text = tok.text;
    if text.contains('[') {
        return Ok(());
    }
    let (at, message) = if text.starts_with('(') {
        (0, "expected whitespace after `(`")
    } else if text.starts_with(')') {
        (0, "expected whitespace after `)`")
    } else if text.ends_with('(') {
        (text.len() - 1, "expected whitespace before `(`")
    } else if text.ends_with(')') {
        (text.len() - 1, "expected whitespace before `)`")
    } else {
        return Ok(());
    };
    Err(ParseError::new(tok.start + at..tok.start + at + 1, message))
}

/// Reads `flag?` or `!flag?` into the flag and whether it is negated.
pub(crate) fn condition<'a>(tok: &Token<'a>) -> Result<(&'a str, bool), ParseError> {
    let body = tok.text.strip_suffix('?').unwrap_or(tok.text);
    let (flag, negated, at) = match body.strip_prefix('!') {
        Some(flag) => (flag, true, tok.start + 1),
        None => (body, false, tok.start),
    };
    check(flag, &FLAG).map_err(|e| {
        let message = format!("invalid condition `{}`: {}", tok.text, e.message);
        ParseError::new(e.offset(at).span, message)
    })?;
    Ok((flag, negated))
}

/// Takes the `(` that must follow `head` (`||`, `^^`, `??`, `flag?`); returns its span.
pub(crate) fn expect_open(
    tokens: &mut Tokens<'_>,
    head: &Token<'_>,
    len: usize,
) -> Result<Range<usize>, ParseError> {
    match tokens.next() {
        Some(tok) if tok.text == "(" => Ok(tok.span()),
        Some(tok) => {
            let message = format!("expected `(` after `{}`, found `{}`", head.text, tok.text);
            Err(ParseError::new(tok.span(), message))
        }
        None => Err(ParseError::new(len..len, format!("expected `(` after `{}`", head.text))),
    }
}

/// The open groups of a parse in progress: `K` says what kind of group, `N` is a tree node.
pub(crate) struct Groups<K, N> {
    stack: Vec<Frame<K, N>>,
    top: Vec<N>,
}

struct Frame<K, N> {
    kind: K,
    head: usize,
    open: Range<usize>,
    children: Vec<N>,
}

/// A group just closed by `)`.
pub(crate) struct Closed<K, N> {
    pub kind: K,
    /// From the group's first token (`||`, `flag?` or `(`) to its `)`.
    pub span: Range<usize>,
    pub children: Vec<N>,
}

impl<K, N> Groups<K, N> {
    pub fn new() -> Self {
        Groups { stack: Vec::new(), top: Vec::new() }
    }

    /// Opens a group whose first token starts at `head` and whose `(` is at `open`.
    pub fn open(&mut self, kind: K, head: usize, open: Range<usize>) -> Result<(), ParseError> {
        if self.stack.len() >= MAX_DEPTH {
            let message = format!("groups are nested more than {MAX_DEPTH} deep");
            return Err(ParseError::new(open, message));
        }
        self.stack.push(Frame { kind, head, open, children: Vec::new() });
        Ok(())
    }

    pub fn close(&mut self, close: Range<usize>) -> Result<Closed<K, N>, ParseError> {
        let Some(frame) = self.stack.pop() else {
            return Err(ParseError::new(close, "unexpected `)`: no group is open"));
        };
        Ok(Closed { kind: frame.kind, span: frame.head..close.end, children: frame.children })
    }

    /// Adds a node to the innermost open group, or to the top level.
    pub fn push(&mut self, node: N) {
        match self.stack.last_mut() {
            Some(frame) => frame.children.push(node),
            None => self.top.push(node),
        }
    }

    /// The top-level nodes, once every group is closed; `len` is the input's length.
    pub fn finish(self, len: usize) -> Result<Vec<N>, ParseError> {
        match self.stack.last() {
            None => Ok(self.top),
            Some(frame) => Err(ParseError::new(len..len, "expected `)` to close the group opened here")
                .with_related(frame.open.clone(), "group opened here")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_split_on_any_ascii_whitespace_and_keep_offsets() {
        let toks: Vec<_> = tokens(" a\t( b\n\n)  ").map(|t| (t.text, t.start)).collect();
        assert_eq!(toks, [("a", 1), ("(", 3), ("b", 5), (")", 8)]);
    }

    #[test]
    fn glued_parens_are_refused_at_the_paren() {
        let cases = [
            ("||(", "expected whitespace before `(`", 2..3),
            ("a/b)", "expected whitespace before `)`", 3..4),
            ("(a", "expected whitespace after `(`", 0..1),
            (")a", "expected whitespace after `)`", 0..1),
        ];
        for (text, message, span) in cases {
            let err = check_glued_paren(&Token { text, start: 0 }).unwrap_err();
            assert_eq!((err.message.as_str(), err.span), (message, span));
        }
        assert!(check_glued_paren(&Token { text: "a/b[u(+)]", start: 0 }).is_ok());
    }

    #[test]
    fn conditions_name_their_flag_and_errors_point_into_it() {
        let tok = |text| Token { text, start: 10 };
        assert_eq!(condition(&tok("ssl?")).unwrap(), ("ssl", false));
        assert_eq!(condition(&tok("!ssl?")).unwrap(), ("ssl", true));
        let err = condition(&tok("!1.0?")).unwrap_err();
        assert_eq!(err.message, "invalid condition `!1.0?`: invalid character `.` in USE flag name `1.0`");
        assert_eq!(err.span, 12..13);
        let err = condition(&tok("?")).unwrap_err();
        assert_eq!(err.message, "invalid condition `?`: empty USE flag name");
        assert_eq!(err.span, 10..10);
    }
}
