//! Package dependency atoms: `[!|!!][op]category/package[-version][*][:slot][::repo][[use,…]]`.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use super::error::ParseError;
use super::name::{CATEGORY, Cpn, PACKAGE, check, check_package, check_repo, version_suffix};
use super::slot::SlotDep;
use super::use_dep::{UseDep, UseRequirement};
use super::version::Version;

/// A blocker prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Blocker {
    /// `!`: must not be installed, but may be replaced during the same merge.
    Weak,
    /// `!!`: must never be installed at the same time.
    Strong,
}

/// A version operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Operator {
    /// `<`
    Less,
    /// `<=`
    LessOrEqual,
    /// `=`
    Equal,
    /// `=…*`: the version's components as a prefix (see [`Version::glob_matches`]).
    EqualGlob,
    /// `~`: equal but for the revision.
    Approximate,
    /// `>=`
    GreaterOrEqual,
    /// `>`
    Greater,
}

impl Operator {
    /// The operator as written before the category (`=` for [`Operator::EqualGlob`]).
    pub fn as_str(self) -> &'static str {
        match self {
            Operator::Less => "<",
            Operator::LessOrEqual => "<=",
            Operator::Equal | Operator::EqualGlob => "=",
            Operator::Approximate => "~",
            Operator::GreaterOrEqual => ">=",
            Operator::Greater => ">",
        }
    }

    /// Reads an operator at the start of `s`, returning it and its length.
    fn read(s: &[u8]) -> Option<(Operator, usize)> {
        Some(match s {
            [b'<', b'=', ..] => (Operator::LessOrEqual, 2),
            [b'>', b'=', ..] => (Operator::GreaterOrEqual, 2),
            [b'<', ..] => (Operator::Less, 1),
            [b'>', ..] => (Operator::Greater, 1),
            [b'=', ..] => (Operator::Equal, 1),
            [b'~', ..] => (Operator::Approximate, 1),
            _ => return None,
        })
    }
}

/// A package dependency atom, valid by construction.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Atom {
    cpn: Cpn,
    version: Option<(Operator, Version)>,
    slot: Option<SlotDep>,
    repo: Option<Box<str>>,
    use_deps: Box<[UseDep]>,
    blocker: Option<Blocker>,
}

impl Atom {
    /// Parses one atom; error spans are byte offsets into `s`.
    pub fn parse(s: &str) -> Result<Atom, ParseError> {
        AtomParser { s, i: 0 }.atom()
    }

    /// The atom for any version of `cpn`.
    pub fn unversioned(cpn: Cpn) -> Atom {
        Atom { cpn, version: None, slot: None, repo: None, use_deps: Box::new([]), blocker: None }
    }

    pub fn cpn(&self) -> &Cpn {
        &self.cpn
    }

    pub fn category(&self) -> &str {
        self.cpn.category()
    }

    pub fn package(&self) -> &str {
        self.cpn.package()
    }

    pub fn blocker(&self) -> Option<Blocker> {
        self.blocker
    }

    pub fn operator(&self) -> Option<Operator> {
        self.version.as_ref().map(|(op, _)| *op)
    }

    pub fn version(&self) -> Option<&Version> {
        self.version.as_ref().map(|(_, version)| version)
    }

    pub fn slot(&self) -> Option<&SlotDep> {
        self.slot.as_ref()
    }

    pub fn repo(&self) -> Option<&str> {
        self.repo.as_deref()
    }

    pub fn use_deps(&self) -> &[UseDep] {
        &self.use_deps
    }

    /// Whether `candidate` satisfies the operator and version (always, without a version).
    pub fn matches_version(&self, candidate: &Version) -> bool {
        let Some((op, version)) = &self.version else { return true };
        match op {
            Operator::Less => candidate < version,
            Operator::LessOrEqual => candidate <= version,
            Operator::Equal => candidate == version,
            Operator::EqualGlob => version.glob_matches(candidate),
            Operator::Approximate => version.tilde_matches(candidate),
            Operator::GreaterOrEqual => candidate >= version,
            Operator::Greater => candidate > version,
        }
    }

    /// Whether a package in `slot`/`subslot` satisfies the slot dependency (always, without
    /// one); a missing `subslot` means it equals the slot.
    pub fn matches_slot(&self, slot: &str, subslot: Option<&str>) -> bool {
        self.slot.as_ref().is_none_or(|dep| dep.matches(slot, subslot))
    }

    /// What each USE dependency requires of the dependency, given the depending package's
    /// enabled flags.
    pub fn use_requirements<'a>(
        &'a self,
        enabled: &'a dyn Fn(&str) -> bool,
    ) -> impl Iterator<Item = UseRequirement<'a>> + 'a {
        self.use_deps.iter().map(move |dep| dep.requirement(enabled))
    }
}

impl fmt::Display for Atom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.blocker {
            Some(Blocker::Weak) => f.write_str("!")?,
            Some(Blocker::Strong) => f.write_str("!!")?,
            None => {}
        }
        match &self.version {
            Some((op, version)) => {
                let glob = if *op == Operator::EqualGlob { "*" } else { "" };
                write!(f, "{}{}-{version}{glob}", op.as_str(), self.cpn)?;
            }
            None => write!(f, "{}", self.cpn)?,
        }
        if let Some(slot) = &self.slot {
            write!(f, ":{slot}")?;
        }
        if let Some(repo) = &self.repo {
            write!(f, "::{repo}")?;
        }
        if let Some((first, rest)) = self.use_deps.split_first() {
            write!(f, "[{first}")?;
            for dep in rest {
                write!(f, ",{dep}")?;
            }
            f.write_str("]")?;
        }
        Ok(())
    }
}

impl FromStr for Atom {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Atom::parse(s)
    }
}

impl serde::Serialize for Atom {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Atom {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <Cow<'de, str>>::deserialize(deserializer)?;
        Atom::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// One left-to-right pass over an atom; `i` is the byte offset of the next unread part.
struct AtomParser<'a> {
    s: &'a str,
    i: usize,
}

impl AtomParser<'_> {
    fn atom(mut self) -> Result<Atom, ParseError> {
        if self.s.is_empty() {
            return Err(ParseError::new(0..0, "empty atom: expected `category/package`"));
        }
        let blocker = self.blocker()?;
        let op = self.operator()?;
        let end = self.s[self.i..].find([':', '[']).map_or(self.s.len(), |n| n + self.i);
        let (cpn, version) = self.name_and_version(op, end)?;
        self.i = end;
        let slot = self.slot()?;
        let repo = self.repo()?;
        let use_deps = self.use_deps()?;
        self.trailing()?;
        Ok(Atom { cpn, version, slot, repo, use_deps, blocker })
    }

    fn rest(&self) -> &[u8] {
        &self.s.as_bytes()[self.i..]
    }

    fn blocker(&mut self) -> Result<Option<Blocker>, ParseError> {
        let blocker = match self.rest() {
            [b'!', b'!', b'!', ..] => {
                return Err(ParseError::new(0..3, "too many `!`: a blocker is `!` (weak) or `!!` (strong)"));
            }
            [b'!', b'!', ..] => Some(Blocker::Strong),
            [b'!', ..] => Some(Blocker::Weak),
            _ => None,
        };
        self.i = match blocker {
            Some(Blocker::Strong) => 2,
            Some(Blocker::Weak) => 1,
            None => 0,
        };
        Ok(blocker)
    }

    fn operator(&mut self) -> Result<Option<Operator>, ParseError> {
        let start = self.i;
        let Some((op, len)) = Operator::read(self.rest()) else { return Ok(None) };
        self.i += len;
        let extra = self.rest().iter().take_while(|c| b"<>=~!".contains(c)).count();
        if extra > 0 {
            let span = start..self.i + extra;
            let message =
                format!("unknown operator `{}`: expected <, <=, =, ~, >= or >", &self.s[span.clone()]);
            return Err(ParseError::new(span, message));
        }
        Ok(Some(op))
    }

    /// Reads `category/package[-version][*]`, which ends at `end`.
    fn name_and_version(
        &self,
        op: Option<Operator>,
        end: usize,
    ) -> Result<(Cpn, Option<(Operator, Version)>), ParseError> {
        let start = self.i;
        let body = &self.s[start..end];
        let Some(slash) = body.find('/') else {
            let message = match (body, &self.s[..start]) {
                ("", "") => "expected `category/package`".to_string(),
                ("", before) => format!("expected `category/package` after `{before}`"),
                _ => format!("expected `category/package`, found `{body}`"),
            };
            return Err(ParseError::new(start..end, message));
        };
        check(&body[..slash], &CATEGORY).map_err(|e| e.offset(start))?;
        let package_at = start + slash + 1;
        let package = &self.s[package_at..end];
        let Some(op) = op else {
            unversioned_package(body, package).map_err(|e| e.offset(package_at))?;
            return Ok((Cpn::from_checked(body, slash), None));
        };
        let (name_len, op, version) =
            versioned_package(op, &body[..slash], package).map_err(|e| e.offset(package_at))?;
        let cpn = Cpn::from_checked(&self.s[start..package_at + name_len], slash);
        if let (Operator::Approximate, Some(revision)) = (op, version.revision()) {
            let message = format!(
                "`~` already ignores the revision: write `~{cpn}-{}` without `-r{revision}`",
                version.base()
            );
            let at = package_at + name_len + 1;
            return Err(ParseError::new(at..at + version.as_str().len(), message));
        }
        Ok((cpn, Some((op, version))))
    }

    fn slot(&mut self) -> Result<Option<SlotDep>, ParseError> {
        let rest = self.rest();
        if rest.first() != Some(&b':') || rest.get(1) == Some(&b':') {
            return Ok(None);
        }
        let start = self.i + 1;
        let end = self.s[start..].find([':', '[']).map_or(self.s.len(), |n| n + start);
        if start == end {
            return Err(ParseError::new(self.i..start, "empty slot after `:`"));
        }
        let slot = SlotDep::parse(&self.s[start..end]).map_err(|e| e.offset(start))?;
        self.i = end;
        Ok(Some(slot))
    }

    fn repo(&mut self) -> Result<Option<Box<str>>, ParseError> {
        if !self.rest().starts_with(b"::") {
            return Ok(None);
        }
        let start = self.i + 2;
        let end = self.s[start..].find('[').map_or(self.s.len(), |n| n + start);
        if start == end {
            return Err(ParseError::new(self.i..start, "empty repository name after `::`"));
        }
        check_repo(&self.s[start..end]).map_err(|e| e.offset(start))?;
        self.i = end;
        Ok(Some(self.s[start..end].into()))
    }

    fn use_deps(&mut self) -> Result<Box<[UseDep]>, ParseError> {
        if self.rest().first() != Some(&b'[') {
            return Ok(Box::new([]));
        }
        let open = self.i;
        let Some(close) = self.s[open..].find(']').map(|n| n + open) else {
            let end = self.s.len();
            return Err(ParseError::new(end..end, "expected `]` to close the USE dependencies opened here")
                .with_related(open..open + 1, "opened here"));
        };
        if close == open + 1 {
            return Err(ParseError::new(open..close + 1, "empty USE dependency list `[]`"));
        }
        let mut deps = Vec::with_capacity(self.s[open..close].bytes().filter(|c| *c == b',').count() + 1);
        let mut at = open + 1;
        for item in self.s[open + 1..close].split(',') {
            deps.push(UseDep::parse(item).map_err(|e| e.offset(at))?);
            at += item.len() + 1;
        }
        self.i = close + 1;
        Ok(deps.into_boxed_slice())
    }

    fn trailing(&self) -> Result<(), ParseError> {
        let rest = &self.s[self.i..];
        if rest.is_empty() {
            return Ok(());
        }
        let message = if rest.starts_with('[') {
            "only one `[…]` list of USE dependencies is allowed; separate them with commas".to_string()
        } else if rest.starts_with(':') {
            format!("`{rest}` must come before the USE dependencies `[…]`")
        } else {
            format!("unexpected `{rest}` after the USE dependencies")
        };
        Err(ParseError::new(self.i..self.s.len(), message))
    }
}

/// Checks the package name of an atom without an operator; spans are relative to `package`.
fn unversioned_package(body: &str, package: &str) -> Result<(), ParseError> {
    if let Some(star) = package.find('*') {
        let message = "`*` is only allowed after a version with the `=` operator, as in `=cat/pkg-1*`";
        return Err(ParseError::new(star..star + 1, message));
    }
    let looks_versioned = version_dash(package)
        .filter(|dash| Version::is_valid(&package[dash + 1..]) && check_package(&package[..*dash]).is_ok());
    if looks_versioned.is_none() {
        check(package, &PACKAGE)?;
    }
    if let Some(dash) = looks_versioned.or_else(|| version_suffix(package)) {
        let message = format!(
            "package name `{package}` ends in `{}`, which looks like a version; a versioned atom \
             needs an operator, as in `={body}`",
            &package[dash..]
        );
        return Err(ParseError::new(dash..package.len(), message));
    }
    Ok(())
}

/// Splits `package-version[*]` after an operator: returns the name's length, the operator
/// (`=` becomes `=…*` with a glob) and the version. Spans are relative to `package`.
fn versioned_package(
    op: Operator,
    category: &str,
    package: &str,
) -> Result<(usize, Operator, Version), ParseError> {
    let (text, glob) = match package.strip_suffix('*') {
        Some(text) => (text, true),
        None => (package, false),
    };
    if glob && op != Operator::Equal {
        let star = text.len();
        let message = format!("`*` is only allowed with the `=` operator, not `{}`", op.as_str());
        return Err(ParseError::new(star..star + 1, message));
    }
    let Some(dash) = version_dash(text) else {
        let op = op.as_str();
        let message = format!(
            "operator `{op}` needs a version after the package name, as in `{op}{category}/{text}-1.0`"
        );
        return Err(ParseError::new(0..package.len(), message));
    };
    let version = Version::parse(&text[dash + 1..]).map_err(|e| e.offset(dash + 1))?;
    check_package(&text[..dash])?;
    let op = if glob { Operator::EqualGlob } else { op };
    Ok((dash, op, version))
}

/// The `-` before the version: the last one, or the one before it when the last starts a
/// revision (`-r1`). Versions contain no other `-`, so this split is the only one possible.
fn version_dash(text: &str) -> Option<usize> {
    let last = text.rfind('-')?;
    let tail = &text[last + 1..];
    let is_revision = tail.starts_with('r') && tail[1..].bytes().all(|c| c.is_ascii_digit());
    match text[..last].rfind('-') {
        Some(before) if is_revision => Some(before),
        _ => Some(last),
    }
}

#[cfg(test)]
mod tests;
