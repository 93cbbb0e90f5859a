//! IUSE: the USE flags a package understands, each maybe on (`+flag`) or off (`-flag`) by
//! default.

use std::fmt;
use std::str::FromStr;

use super::error::ParseError;
use super::lex::tokens;
use super::name::{FLAG, check};

/// One IUSE entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IuseFlag {
    pub name: Box<str>,
    /// `Some(true)` for `+flag`, `Some(false)` for `-flag`, `None` when no default was given.
    pub default: Option<bool>,
}

/// A parsed IUSE string, in written order, each flag once.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Iuse {
    flags: Vec<IuseFlag>,
}

impl Iuse {
    /// Parses `"+static -foo bar"`; error spans are byte offsets into `s`.
    pub fn parse(s: &str) -> Result<Iuse, ParseError> {
        let mut flags: Vec<IuseFlag> = Vec::new();
        let mut starts: Vec<usize> = Vec::new();
        for tok in tokens(s) {
            let (name, default, at) = match tok.text.as_bytes()[0] {
                b'+' => (&tok.text[1..], Some(true), tok.start + 1),
                b'-' => (&tok.text[1..], Some(false), tok.start + 1),
                _ => (tok.text, None, tok.start),
            };
            check(name, &FLAG).map_err(|e| e.offset(at))?;
            if let Some(first) = flags.iter().position(|flag| *flag.name == *name) {
                let message = format!("USE flag `{name}` is listed twice in IUSE");
                let earlier = starts[first]..starts[first] + flags[first].to_string().len();
                return Err(ParseError::new(tok.span(), message).with_related(earlier, "first listed here"));
            }
            flags.push(IuseFlag { name: name.into(), default });
            starts.push(tok.start);
        }
        Ok(Iuse { flags })
    }

    pub fn flags(&self) -> &[IuseFlag] {
        &self.flags
    }

    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    pub fn get(&self, name: &str) -> Option<&IuseFlag> {
        self.flags.iter().find(|flag| *flag.name == *name)
    }
}

impl fmt::Display for IuseFlag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = match self.default {
            Some(true) => "+",
            Some(false) => "-",
            None => "",
        };
        write!(f, "{sign}{}", self.name)
    }
}

impl fmt::Display for Iuse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, flag) in self.flags.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{flag}")?;
        }
        Ok(())
    }
}

impl FromStr for Iuse {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Iuse::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_keep_their_order_and_defaults() {
        let iuse = Iuse::parse(" +static -foo\tbar l10n_pt-BR ").unwrap();
        let flags: Vec<(&str, Option<bool>)> = iuse.flags().iter().map(|f| (&*f.name, f.default)).collect();
        assert_eq!(
            flags,
            [("static", Some(true)), ("foo", Some(false)), ("bar", None), ("l10n_pt-BR", None)]
        );
        assert_eq!(iuse.to_string(), "+static -foo bar l10n_pt-BR");
        assert!(iuse.contains("bar") && !iuse.contains("baz"));
        assert_eq!(iuse.get("static").and_then(|f| f.default), Some(true));
        assert!(Iuse::parse("").unwrap().flags().is_empty());
    }

    #[test]
    fn bad_entries_are_rejected_where_they_stand() {
        let cases = [
            ("a +", "empty USE flag name", 3..3),
            ("a -_b", "USE flag name `_b` must start with a letter or digit, not `_`", 3..4),
            ("a b.c", "invalid character `.` in USE flag name `b.c`", 3..4),
            ("++a", "USE flag name `+a` must start with a letter or digit, not `+`", 1..2),
            ("+a b -a", "USE flag `a` is listed twice in IUSE", 5..7),
        ];
        for (input, message, span) in cases {
            let err = Iuse::parse(input).expect_err(input);
            assert_eq!((err.message.as_str(), err.span), (message, span), "{input}");
        }
        let err = Iuse::parse("+a b -a").unwrap_err();
        assert_eq!(err.related, Some((0..2, "first listed here".to_string())));
    }
}
