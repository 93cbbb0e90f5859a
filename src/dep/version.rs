//! Package versions: PMS syntax (`1.2.3b_rc1_p2-r1`) and the PMS comparison algorithm.
//!
//! A `Version` keeps its text as written (so it prints as written) and compares by the PMS
//! rules, so `1.0` and `1.00` are equal though they print differently. Numbers may be of any
//! length: comparison works on digit strings, never on machine integers.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use super::error::{ParseError, char_at, char_span};

/// A valid PMS version, with an optional `-rN` revision.
#[derive(Clone)]
pub struct Version {
    text: Box<str>,
    // Byte offsets of the parts, found once while validating so comparisons need not re-scan.
    numbers_end: usize,
    suffixes_start: usize,
    revision_start: usize,
}

/// Suffix names in PMS order: `_alpha < _beta < _pre < _rc < (none) < _p`. `pre` must be tried
/// before `p`.
const SUFFIXES: [&str; 5] = ["alpha", "beta", "pre", "rc", "p"];

impl Version {
    /// Parses a version such as `1.2.3b_rc1-r2`; error spans are byte offsets into `s`.
    pub fn parse(s: &str) -> Result<Version, ParseError> {
        let parts = Parser { s, b: s.as_bytes(), i: 0 }.version()?;
        Ok(Version {
            text: s.into(),
            numbers_end: parts.numbers_end,
            suffixes_start: parts.suffixes_start,
            revision_start: parts.revision_start,
        })
    }

    /// Whether `s` is a valid version, without allocating on success.
    pub(crate) fn is_valid(s: &str) -> bool {
        s.starts_with(|c: char| c.is_ascii_digit()) && Parser { s, b: s.as_bytes(), i: 0 }.version().is_ok()
    }

    /// The version as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The revision's digits (`"1"` for `1.0-r1`), or `None` when no `-rN` was written.
    pub fn revision(&self) -> Option<&str> {
        self.text.get(self.revision_start + 2..)
    }

    /// The version without its revision, as written (`1.0` for `1.0-r1`).
    pub fn base(&self) -> &str {
        &self.text[..self.revision_start]
    }

    /// The same version without its `-rN` part.
    pub fn without_revision(&self) -> Version {
        Version { text: self.base().into(), ..*self }
    }

    /// Whether `candidate` matches this version used as `=cat/pkg-<self>*`.
    ///
    /// As Portage does (and PMS since 2015: "only the given number of version components is
    /// used"), this is a string-prefix match that must end on a component boundary, so `1*`
    /// matches `1.2`, `1b`, `1_rc1` and `1-r3` but not `10`. Leading zeros of the first
    /// component are ignored, as `vercmp` ignores them.
    pub fn glob_matches(&self, candidate: &Version) -> bool {
        let pattern = strip_leading_zeros(&self.text);
        let candidate = strip_leading_zeros(&candidate.text);
        let Some(rest) = candidate.strip_prefix(pattern.as_ref()) else { return false };
        let Some(&next) = rest.as_bytes().first() else { return true };
        let last = pattern.as_bytes().last().copied().unwrap_or(b'0');
        matches!(next, b'.' | b'_' | b'-') || last.is_ascii_digit() != next.is_ascii_digit()
    }

    /// Whether `candidate` matches this version used as `~cat/pkg-<self>`: equal but for the
    /// revision.
    pub fn tilde_matches(&self, candidate: &Version) -> bool {
        self.cmp_base(candidate) == Ordering::Equal
    }

    fn numbers(&self) -> std::str::Split<'_, char> {
        self.text[..self.numbers_end].split('.')
    }

    fn letter(&self) -> Option<u8> {
        (self.suffixes_start > self.numbers_end).then(|| self.text.as_bytes()[self.numbers_end])
    }

    /// Each suffix as (rank in `SUFFIXES`, digits).
    fn suffixes(&self) -> impl Iterator<Item = (usize, &str)> {
        let text = &self.text[self.suffixes_start..self.revision_start];
        text.split('_').skip(1).map(|suffix| {
            let digits_at = suffix.find(|c: char| c.is_ascii_digit()).unwrap_or(suffix.len());
            let (name, digits) = suffix.split_at(digits_at);
            (SUFFIXES.iter().position(|s| *s == name).unwrap_or(0), digits)
        })
    }

    /// PMS algorithms 3.2 to 3.5, everything but the revision.
    fn cmp_base(&self, other: &Version) -> Ordering {
        let (mut mine, mut theirs) = (self.numbers(), other.numbers());
        let first = cmp_integers(mine.next().unwrap_or(""), theirs.next().unwrap_or(""));
        if first != Ordering::Equal {
            return first;
        }
        loop {
            let ord = match (mine.next(), theirs.next()) {
                (Some(a), Some(b)) => cmp_component(a, b),
                (Some(_), None) => return Ordering::Greater,
                (None, Some(_)) => return Ordering::Less,
                (None, None) => break,
            };
            if ord != Ordering::Equal {
                return ord;
            }
        }
        self.letter().cmp(&other.letter()).then_with(|| cmp_suffixes(self.suffixes(), other.suffixes()))
    }
}

/// Portage's `=*` normalisation: drop leading zeros, keeping a digit at the front.
fn strip_leading_zeros(s: &str) -> Cow<'_, str> {
    let stripped = s.trim_start_matches('0');
    if stripped.len() == s.len() {
        Cow::Borrowed(s)
    } else if stripped.starts_with(|c: char| c.is_ascii_digit()) {
        Cow::Borrowed(stripped)
    } else {
        Cow::Owned(format!("0{stripped}"))
    }
}

/// Compares two digit strings as unbounded integers.
fn cmp_integers(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.trim_start_matches('0'), b.trim_start_matches('0'));
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// PMS algorithm 3.3: a component after the first with a leading zero compares as a string
/// without its trailing zeros (so `1.01 < 1.1` and `1.0 == 1.00`).
fn cmp_component(a: &str, b: &str) -> Ordering {
    if a.starts_with('0') || b.starts_with('0') {
        a.trim_end_matches('0').cmp(b.trim_end_matches('0'))
    } else {
        cmp_integers(a, b)
    }
}

/// PMS algorithms 3.4 and 3.5: suffix by suffix; a longer list wins only if its next suffix
/// is `_p`.
fn cmp_suffixes<'a>(
    mut mine: impl Iterator<Item = (usize, &'a str)>,
    mut theirs: impl Iterator<Item = (usize, &'a str)>,
) -> Ordering {
    const P: usize = 4;
    loop {
        let ord = match (mine.next(), theirs.next()) {
            (Some((ka, na)), Some((kb, nb))) => ka.cmp(&kb).then_with(|| cmp_integers(na, nb)),
            (Some((k, _)), None) => return if k == P { Ordering::Greater } else { Ordering::Less },
            (None, Some((k, _))) => return if k == P { Ordering::Less } else { Ordering::Greater },
            (None, None) => return Ordering::Equal,
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.cmp_base(other)
            .then_with(|| cmp_integers(self.revision().unwrap_or(""), other.revision().unwrap_or("")))
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Version {}

impl Hash for Version {
    /// Hashes the normal form that `cmp` treats as equal: integers without leading zeros,
    /// zero-led components without trailing zeros, a missing revision as `0`.
    fn hash<H: Hasher>(&self, state: &mut H) {
        let mut numbers = self.numbers();
        numbers.next().unwrap_or("").trim_start_matches('0').hash(state);
        for component in numbers {
            if component.starts_with('0') {
                (0u8, component.trim_end_matches('0')).hash(state);
            } else {
                (1u8, component).hash(state);
            }
        }
        self.letter().hash(state);
        for (kind, digits) in self.suffixes() {
            (kind, digits.trim_start_matches('0')).hash(state);
        }
        self.revision().unwrap_or("").trim_start_matches('0').hash(state);
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Version({:?})", &*self.text)
    }
}

impl FromStr for Version {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Version::parse(s)
    }
}

impl serde::Serialize for Version {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> serde::Deserialize<'de> for Version {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <Cow<'de, str>>::deserialize(deserializer)?;
        Version::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Where the parts of a validated version start.
struct Parts {
    numbers_end: usize,
    suffixes_start: usize,
    revision_start: usize,
}

struct Parser<'a> {
    s: &'a str,
    b: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn version(mut self) -> Result<Parts, ParseError> {
        if self.s.is_empty() {
            return Err(ParseError::new(0..0, "empty version: expected a number such as `1.0`"));
        }
        self.numbers()?;
        let numbers_end = self.i;
        if self.b.get(self.i).is_some_and(u8::is_ascii_lowercase) {
            self.i += 1;
        }
        let suffixes_start = self.i;
        while self.b.get(self.i) == Some(&b'_') {
            self.suffix()?;
        }
        let revision_start = self.i;
        self.revision()?;
        Ok(Parts { numbers_end, suffixes_start, revision_start })
    }

    fn error(&self, span: std::ops::Range<usize>, detail: impl fmt::Display) -> ParseError {
        ParseError::new(span, format!("invalid version `{}`: {detail}", self.s))
    }

    fn digits(&mut self) -> usize {
        let start = self.i;
        while self.b.get(self.i).is_some_and(u8::is_ascii_digit) {
            self.i += 1;
        }
        self.i - start
    }

    fn numbers(&mut self) -> Result<(), ParseError> {
        loop {
            let start = self.i;
            if self.digits() == 0 {
                return Err(self.missing_number(start));
            }
            if self.b.get(self.i) != Some(&b'.') {
                return Ok(());
            }
            self.i += 1;
        }
    }

    fn missing_number(&self, at: usize) -> ParseError {
        match self.b.get(at) {
            None | Some(b'.') => {
                let span = if at < self.b.len() { at..at + 1 } else { at - 1..at };
                self.error(span, "empty version component")
            }
            Some(_) if at == 0 => self.error(char_span(self.s, 0), "a version must start with a number"),
            Some(_) => self.error(
                char_span(self.s, at),
                format_args!("expected a number after `.`, found `{}`", char_at(self.s, at)),
            ),
        }
    }

    fn suffix(&mut self) -> Result<(), ParseError> {
        let start = self.i;
        let end = self.s[start + 1..].find(['_', '-']).map_or(self.s.len(), |n| n + start + 1);
        let rest = &self.s[start + 1..end];
        let known = SUFFIXES.iter().find(|name| {
            rest.strip_prefix(**name).is_some_and(|digits| digits.bytes().all(|c| c.is_ascii_digit()))
        });
        if known.is_none() {
            return Err(self.error(
                start..end,
                format_args!("unknown suffix `_{rest}` (expected _alpha, _beta, _pre, _rc or _p)"),
            ));
        }
        self.i = end;
        Ok(())
    }

    fn revision(&mut self) -> Result<(), ParseError> {
        let at = self.i;
        let Some(&c) = self.b.get(at) else { return Ok(()) };
        if c == b'-' && self.b.get(at + 1) == Some(&b'r') {
            self.i += 2;
            if self.digits() == 0 {
                return Err(self.error(at..self.i, "revision `-r` needs a number, as in `-r1`"));
            }
            if self.i == self.b.len() {
                return Ok(());
            }
            let rest = &self.s[self.i..];
            return Err(
                self.error(self.i..self.s.len(), format_args!("unexpected `{rest}` after the revision"))
            );
        }
        Err(self.unexpected(at))
    }

    fn unexpected(&self, at: usize) -> ParseError {
        let c = char_at(self.s, at);
        let span = char_span(self.s, at);
        if c == '-' {
            let rest = &self.s[at..];
            return self
                .error(at..self.s.len(), format_args!("unexpected `{rest}`: a revision is written `-rN`"));
        }
        if c.is_ascii_lowercase() || c == '.' {
            let letter = char_at(self.s, at - 1);
            if letter.is_ascii_lowercase() {
                return self.error(span, format_args!("unexpected `{c}` after the letter `{letter}`"));
            }
        }
        if c.is_ascii_uppercase() {
            return self.error(span, format_args!("unexpected `{c}`: a version letter must be lowercase"));
        }
        self.error(span, format_args!("unexpected `{c}`"))
    }
}

#[cfg(test)]
mod tests;
