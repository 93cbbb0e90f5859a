//! PMS names: categories, packages, slots, repositories and USE flags, and the `cat/pkg` pair.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use super::error::{ParseError, char_at, char_span};
use super::version::Version;

/// The character rules of one kind of name (PMS 3.1), as byte tables: parsing a tree's worth
/// of dependency strings checks millions of bytes.
pub(crate) struct NameRule {
    what: &'static str,
    first: [bool; 256],
    first_desc: &'static str,
    rest: [bool; 256],
}

impl NameRule {
    pub(crate) fn is_first(&self, c: u8) -> bool {
        self.first[c as usize]
    }

    pub(crate) fn is_rest(&self, c: u8) -> bool {
        self.rest[c as usize]
    }
}

/// The ASCII letters and digits, `_` if `underscore`, and the bytes of `extra`.
const fn class(underscore: bool, extra: &[u8]) -> [bool; 256] {
    let mut table = [false; 256];
    let mut c = 0;
    while c < 256 {
        table[c] = (c as u8).is_ascii_alphanumeric() || (underscore && c == b'_' as usize);
        c += 1;
    }
    let mut i = 0;
    while i < extra.len() {
        table[extra[i] as usize] = true;
        i += 1;
    }
    table
}

const ALNUM_UNDERSCORE: &str = "a letter, digit or `_`";

pub(crate) const CATEGORY: NameRule = NameRule {
    what: "category name",
    first: class(true, b""),
    first_desc: ALNUM_UNDERSCORE,
    rest: class(true, b"+.-"),
};

pub(crate) const PACKAGE: NameRule = NameRule {
    what: "package name",
    first: class(true, b""),
    first_desc: ALNUM_UNDERSCORE,
    rest: class(true, b"+-"),
};

pub(crate) const SLOT: NameRule = NameRule { what: "slot name", ..CATEGORY };

pub(crate) const SUBSLOT: NameRule = NameRule { what: "sub-slot name", ..CATEGORY };

pub(crate) const REPO: NameRule = NameRule {
    what: "repository name",
    first: class(true, b""),
    first_desc: ALNUM_UNDERSCORE,
    rest: class(true, b"-"),
};

pub(crate) const FLAG: NameRule = NameRule {
    what: "USE flag name",
    first: class(false, b""),
    first_desc: "a letter or digit",
    rest: class(false, b"+_@-"),
};

/// Checks `s` against `rule`; spans are relative to `s`.
pub(crate) fn check(s: &str, rule: &NameRule) -> Result<(), ParseError> {
    let Some(&first) = s.as_bytes().first() else {
        return Err(ParseError::new(0..0, format!("empty {}", rule.what)));
    };
    if !rule.is_first(first) {
        let message =
            format!("{} `{s}` must start with {}, not `{}`", rule.what, rule.first_desc, char_at(s, 0));
        return Err(ParseError::new(char_span(s, 0), message));
    }
    // Every byte before a bad one is ASCII, so the bad one starts a char.
    match s.bytes().position(|c| !rule.is_rest(c)) {
        None => Ok(()),
        Some(at) => {
            let message = format!("invalid character `{}` in {} `{s}`", char_at(s, at), rule.what);
            Err(ParseError::new(char_span(s, at), message))
        }
    }
}

/// Where a name ends in `-` plus something that parses as a version (`foo-1`, `foo-1.2-r3`),
/// which PMS forbids for package and repository names: returns the byte index of that `-`.
pub(crate) fn version_suffix(name: &str) -> Option<usize> {
    let last = name.rfind('-')?;
    let tail = &name[last + 1..];
    if Version::is_valid(tail) {
        return Some(last);
    }
    let is_revision =
        tail.len() > 1 && tail.starts_with('r') && tail[1..].bytes().all(|c| c.is_ascii_digit());
    let before = name[..last].rfind('-')?;
    (is_revision && Version::is_valid(&name[before + 1..])).then_some(before)
}

/// Checks a package name, including that it does not end in a version.
pub(crate) fn check_package(s: &str) -> Result<(), ParseError> {
    check(s, &PACKAGE)?;
    match version_suffix(s) {
        None => Ok(()),
        Some(dash) => Err(ParseError::new(
            dash..s.len(),
            format!("package name `{s}` ends in `{}`, which looks like a version", &s[dash..]),
        )),
    }
}

/// Checks a repository name, including that it does not end in a version.
pub(crate) fn check_repo(s: &str) -> Result<(), ParseError> {
    check(s, &REPO)?;
    match version_suffix(s) {
        None => Ok(()),
        Some(dash) => Err(ParseError::new(
            dash..s.len(),
            format!("repository name `{s}` ends in `{}`, which looks like a version", &s[dash..]),
        )),
    }
}

/// A category name such as `dev-libs`, valid by construction.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Category(Box<str>);

impl Category {
    pub fn parse(s: &str) -> Result<Category, ParseError> {
        check(s, &CATEGORY)?;
        Ok(Category(s.into()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A package name such as `openssl`, valid by construction (it does not end in a version).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct PackageName(Box<str>);

impl PackageName {
    pub fn parse(s: &str) -> Result<PackageName, ParseError> {
        check_package(s)?;
        Ok(PackageName(s.into()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PackageName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A qualified package name, `category/package`, valid by construction.
#[derive(Clone)]
pub struct Cpn {
    text: Box<str>,
    slash: usize,
}

impl Cpn {
    /// Parses `category/package`; error spans are byte offsets into `s`.
    pub fn parse(s: &str) -> Result<Cpn, ParseError> {
        let Some(slash) = s.find('/') else {
            let message = format!("expected `category/package`, found `{s}`");
            return Err(ParseError::new(0..s.len(), message));
        };
        check(&s[..slash], &CATEGORY)?;
        check_package(&s[slash + 1..]).map_err(|e| e.offset(slash + 1))?;
        Ok(Cpn::from_checked(s, slash))
    }

    pub fn new(category: &Category, package: &PackageName) -> Cpn {
        Cpn { text: format!("{category}/{package}").into_boxed_str(), slash: category.0.len() }
    }

    /// Builds a `Cpn` from text whose two halves are already checked.
    pub(crate) fn from_checked(s: &str, slash: usize) -> Cpn {
        Cpn { text: s.into(), slash }
    }

    pub fn category(&self) -> &str {
        &self.text[..self.slash]
    }

    pub fn package(&self) -> &str {
        &self.text[self.slash + 1..]
    }

    /// `category/package`.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl PartialEq for Cpn {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for Cpn {}

impl Hash for Cpn {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.text.hash(state);
    }
}

impl Ord for Cpn {
    /// By category, then package (so `a/x` sorts before `a-b/x`, unlike the raw strings).
    fn cmp(&self, other: &Self) -> Ordering {
        (self.category(), self.package()).cmp(&(other.category(), other.package()))
    }
}

impl PartialOrd for Cpn {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Cpn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for Cpn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cpn({:?})", &*self.text)
    }
}

impl FromStr for Cpn {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Cpn::parse(s)
    }
}

impl serde::Serialize for Cpn {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> serde::Deserialize<'de> for Cpn {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <Cow<'de, str>>::deserialize(deserializer)?;
        Cpn::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_pms_character_rules() {
        for s in ["dev-libs", "_", "_.+-", "virtual", "app-text", "x11-libs"] {
            check(s, &CATEGORY).unwrap();
        }
        for s in ["openssl", "_--", "_+-", "b-", "bar--baz", "foo-r1", "gtk+", "7plus", "666", "b-r0"] {
            check_package(s).unwrap_or_else(|e| panic!("{s}: {e}"));
        }
        for s in ["gentoo", "repo_123-name", "_", "repo-a"] {
            check_repo(s).unwrap();
        }
        for s in ["ssl", "python_targets_python3_12", "u-", "u+", "1", "l10n_pt-BR", "a@b"] {
            check(s, &FLAG).unwrap();
        }
    }

    #[test]
    fn bad_names_say_which_character_is_wrong() {
        let cases: &[(&str, &NameRule, &str, std::ops::Range<usize>)] = &[
            ("", &CATEGORY, "empty category name", 0..0),
            (".cat", &CATEGORY, "category name `.cat` must start with a letter, digit or `_`, not `.`", 0..1),
            ("-cat", &CATEGORY, "category name `-cat` must start with a letter, digit or `_`, not `-`", 0..1),
            ("+pkg", &PACKAGE, "package name `+pkg` must start with a letter, digit or `_`, not `+`", 0..1),
            ("p.kg", &PACKAGE, "invalid character `.` in package name `p.kg`", 1..2),
            ("Ҙ", &PACKAGE, "package name `Ҙ` must start with a letter, digit or `_`, not `Ҙ`", 0..2),
            ("aҘ", &PACKAGE, "invalid character `Ҙ` in package name `aҘ`", 1..3),
            ("a@b", &SLOT, "invalid character `@` in slot name `a@b`", 1..2),
            ("+1", &SUBSLOT, "sub-slot name `+1` must start with a letter, digit or `_`, not `+`", 0..1),
            ("repo@path", &REPO, "invalid character `@` in repository name `repo@path`", 4..5),
            ("_x", &FLAG, "USE flag name `_x` must start with a letter or digit, not `_`", 0..1),
            ("1.0", &FLAG, "invalid character `.` in USE flag name `1.0`", 1..2),
        ];
        for (input, rule, message, span) in cases {
            let err = check(input, rule).expect_err(input);
            assert_eq!(err.message, *message);
            assert_eq!(err.span, *span, "{input}");
        }
    }

    #[test]
    fn package_names_must_not_end_in_a_version() {
        let cases = [
            ("foo-1", "package name `foo-1` ends in `-1`, which looks like a version", 3..5),
            ("foo-1-r1", "package name `foo-1-r1` ends in `-1-r1`, which looks like a version", 3..8),
            (
                "php-docs-20071125",
                "package name `php-docs-20071125` ends in `-20071125`, which looks like a version",
                8..17,
            ),
            ("bar-1a", "package name `bar-1a` ends in `-1a`, which looks like a version", 3..6),
        ];
        for (input, message, span) in cases {
            let err = check_package(input).expect_err(input);
            assert_eq!(err.message, message);
            assert_eq!(err.span, span);
        }
        let err = check_repo("repo-1").unwrap_err();
        assert_eq!(err.message, "repository name `repo-1` ends in `-1`, which looks like a version");
    }

    #[test]
    fn cpn_splits_sorts_by_category_first_and_round_trips() {
        let cpn = Cpn::parse("dev-libs/openssl").unwrap();
        assert_eq!((cpn.category(), cpn.package()), ("dev-libs", "openssl"));
        assert_eq!(cpn.to_string(), "dev-libs/openssl");
        assert!(Cpn::parse("a/x").unwrap() < Cpn::parse("a-b/a").unwrap());
        let json = serde_json::to_string(&cpn).unwrap();
        assert_eq!(serde_json::from_str::<Cpn>(&json).unwrap(), cpn);
    }

    #[test]
    fn cpn_from_checked_halves_equals_the_parsed_one() {
        let cpn = Cpn::new(&Category::parse("sys-apps").unwrap(), &PackageName::parse("busybox").unwrap());
        assert_eq!(cpn, Cpn::parse("sys-apps/busybox").unwrap());
        assert_eq!(cpn.package(), "busybox");
        assert!(PackageName::parse("busybox-1.35").is_err());
        assert_eq!(Category::parse("-x").unwrap_err().span, 0..1);
    }

    #[test]
    fn cpn_errors_point_into_the_offending_half() {
        let err = Cpn::parse("openssl").unwrap_err();
        assert_eq!(err.message, "expected `category/package`, found `openssl`");
        assert_eq!(err.span, 0..7);
        let err = Cpn::parse("dev-libs/foo-1").unwrap_err();
        assert_eq!(err.span, 12..14);
        let err = Cpn::parse("dev libs/foo").unwrap_err();
        assert_eq!(err.message, "invalid character ` ` in category name `dev libs`");
    }
}
