//! USE dependencies, the `[a,-b,c?,!d?,e=,!f=,g(+)]` part of an atom, and what they require of
//! the dependency given the depending package's flags.

use std::fmt;

use super::error::ParseError;
use super::name::FLAG;

/// One of the six PMS USE dependency forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum UseDepKind {
    /// `flag`: must be enabled.
    Enabled,
    /// `-flag`: must be disabled.
    Disabled,
    /// `flag=`: same state as in the depending package.
    Same,
    /// `!flag=`: the opposite state to the depending package's.
    Opposite,
    /// `flag?`: enabled if the depending package has it enabled.
    IfEnabled,
    /// `!flag?`: disabled if the depending package has it disabled.
    IfDisabled,
}

/// One USE dependency, such as `abi_x86_32(-)?`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UseDep {
    flag: Box<str>,
    kind: UseDepKind,
    missing: Option<bool>,
}

/// What one USE dependency requires of the dependency, for given flags of the depending package.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UseRequirement<'a> {
    pub flag: &'a str,
    /// The state the dependency's flag must have; `None` when this form sets no constraint for
    /// the depending package's flags (`c?` with `c` off, `!d?` with `d` on).
    pub state: Option<bool>,
    /// The state assumed when the dependency does not have the flag at all: `(+)` on, `(-)`
    /// off, `None` when no default was given (then a missing flag is an error, PMS 8.3.4).
    pub missing: Option<bool>,
}

impl UseRequirement<'_> {
    /// Whether a dependency whose flag is `dep_flag` (`None`: not in its IUSE) meets this.
    pub fn is_met(&self, dep_flag: Option<bool>) -> bool {
        match (self.state, dep_flag) {
            (None, _) => true,
            (Some(want), Some(have)) => want == have,
            (Some(want), None) => self.missing == Some(want),
        }
    }
}

impl UseDep {
    /// Parses one item between the commas of `[…]`; error spans are relative to it.
    pub(crate) fn parse(item: &str) -> Result<UseDep, ParseError> {
        if item.is_empty() {
            return Err(ParseError::new(0..0, "empty USE dependency"));
        }
        let unknown = |detail: &str| {
            let message = format!("unknown USE dependency form `{item}`: {detail}");
            ParseError::new(0..item.len(), message)
        };
        let (prefix, rest) = match item.as_bytes()[0] {
            b'!' | b'-' => (Some(item.as_bytes()[0]), &item[1..]),
            _ => (None, item),
        };
        if !rest.as_bytes().first().is_some_and(|c| FLAG.is_first(*c)) {
            return Err(unknown(match prefix {
                Some(b'!') => "expected a flag name after `!`",
                Some(_) => "expected a flag name after `-`",
                None => "expected a flag name",
            }));
        }
        let flag_len = rest.bytes().position(|c| !FLAG.is_rest(c)).unwrap_or(rest.len());
        let (flag, mut rest) = rest.split_at(flag_len);
        let missing = match rest
            .strip_prefix("(+)")
            .map(|r| (r, true))
            .or(rest.strip_prefix("(-)").map(|r| (r, false)))
        {
            Some((after, state)) => {
                rest = after;
                Some(state)
            }
            None if rest.starts_with('(') => return Err(unknown("a default must be `(+)` or `(-)`")),
            None => None,
        };
        let suffix = match rest.as_bytes().first() {
            Some(c @ (b'=' | b'?')) => {
                rest = &rest[1..];
                Some(*c)
            }
            _ => None,
        };
        if !rest.is_empty() {
            let detail = if rest.starts_with('(') && suffix.is_some() {
                format!("unexpected `{rest}`: the default goes before `=` or `?`, as in `{flag}(+)=`")
            } else if rest.starts_with('(') {
                "only one `(+)` or `(-)` default is allowed".to_string()
            } else {
                format!("unexpected `{rest}`")
            };
            return Err(unknown(&detail));
        }
        let kind = match (prefix, suffix) {
            (None, None) => UseDepKind::Enabled,
            (Some(b'!'), None) => return Err(unknown("`!` needs `=` or `?` after the flag")),
            (Some(_), None) => UseDepKind::Disabled,
            (None, Some(b'=')) => UseDepKind::Same,
            (None, Some(_)) => UseDepKind::IfEnabled,
            (Some(b'!'), Some(b'=')) => UseDepKind::Opposite,
            (Some(b'!'), Some(_)) => UseDepKind::IfDisabled,
            (Some(_), Some(_)) => return Err(unknown("`-` cannot be combined with `=` or `?`")),
        };
        Ok(UseDep { flag: flag.into(), kind, missing })
    }

    pub fn flag(&self) -> &str {
        &self.flag
    }

    pub fn kind(&self) -> UseDepKind {
        self.kind
    }

    /// The `(+)`/`(-)` default: the state assumed when the dependency lacks the flag.
    pub fn missing_default(&self) -> Option<bool> {
        self.missing
    }

    /// The depending package's flag this form reads (`c` of `c?`, `!c?`, `c=`, `!c=`).
    pub fn conditional_flag(&self) -> Option<&str> {
        match self.kind {
            UseDepKind::Enabled | UseDepKind::Disabled => None,
            _ => Some(&self.flag),
        }
    }

    /// What this requires of the dependency when the depending package's flags are `enabled`.
    pub fn requirement(&self, enabled: &dyn Fn(&str) -> bool) -> UseRequirement<'_> {
        let state = match self.kind {
            UseDepKind::Enabled => Some(true),
            UseDepKind::Disabled => Some(false),
            UseDepKind::Same => Some(enabled(&self.flag)),
            UseDepKind::Opposite => Some(!enabled(&self.flag)),
            UseDepKind::IfEnabled => enabled(&self.flag).then_some(true),
            UseDepKind::IfDisabled => (!enabled(&self.flag)).then_some(false),
        };
        UseRequirement { flag: &self.flag, state, missing: self.missing }
    }
}

impl fmt::Display for UseDep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (prefix, suffix) = match self.kind {
            UseDepKind::Enabled => ("", ""),
            UseDepKind::Disabled => ("-", ""),
            UseDepKind::Same => ("", "="),
            UseDepKind::Opposite => ("!", "="),
            UseDepKind::IfEnabled => ("", "?"),
            UseDepKind::IfDisabled => ("!", "?"),
        };
        let default = match self.missing {
            Some(true) => "(+)",
            Some(false) => "(-)",
            None => "",
        };
        write!(f, "{prefix}{}{default}{suffix}", self.flag)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn use_dep(s: &str) -> UseDep {
        UseDep::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn all_six_forms_and_both_defaults_parse_and_print_back() {
        let cases = [
            ("a", UseDepKind::Enabled, None),
            ("-b", UseDepKind::Disabled, None),
            ("c=", UseDepKind::Same, None),
            ("!d=", UseDepKind::Opposite, None),
            ("e?", UseDepKind::IfEnabled, None),
            ("!f?", UseDepKind::IfDisabled, None),
            ("g(+)", UseDepKind::Enabled, Some(true)),
            ("-h(-)", UseDepKind::Disabled, Some(false)),
            ("abi_x86_32(-)?", UseDepKind::IfEnabled, Some(false)),
            ("!i(+)=", UseDepKind::Opposite, Some(true)),
            ("u-", UseDepKind::Enabled, None),
            ("u+", UseDepKind::Enabled, None),
            ("l10n_pt-BR", UseDepKind::Enabled, None),
        ];
        for (input, kind, missing) in cases {
            let dep = use_dep(input);
            assert_eq!((dep.kind(), dep.missing_default()), (kind, missing), "{input}");
            assert_eq!(dep.to_string(), input);
        }
        assert_eq!(use_dep("!i(+)=").flag(), "i");
    }

    #[test]
    fn malformed_use_deps_name_the_form_and_the_problem() {
        let cases = [
            ("", "empty USE dependency"),
            ("!-doc", "unknown USE dependency form `!-doc`: expected a flag name after `!`"),
            ("-", "unknown USE dependency form `-`: expected a flag name after `-`"),
            ("+u", "unknown USE dependency form `+u`: expected a flag name"),
            ("(-)u", "unknown USE dependency form `(-)u`: expected a flag name"),
            ("?", "unknown USE dependency form `?`: expected a flag name"),
            ("!a", "unknown USE dependency form `!a`: `!` needs `=` or `?` after the flag"),
            ("!a-", "unknown USE dependency form `!a-`: `!` needs `=` or `?` after the flag"),
            ("-a?", "unknown USE dependency form `-a?`: `-` cannot be combined with `=` or `?`"),
            ("-a=", "unknown USE dependency form `-a=`: `-` cannot be combined with `=` or `?`"),
            ("a()", "unknown USE dependency form `a()`: a default must be `(+)` or `(-)`"),
            ("a(*)", "unknown USE dependency form `a(*)`: a default must be `(+)` or `(-)`"),
            ("a((+))", "unknown USE dependency form `a((+))`: a default must be `(+)` or `(-)`"),
            ("a(", "unknown USE dependency form `a(`: a default must be `(+)` or `(-)`"),
            ("a(-)b", "unknown USE dependency form `a(-)b`: unexpected `b`"),
            ("u??", "unknown USE dependency form `u??`: unexpected `?`"),
            ("u(+)(-)", "unknown USE dependency form `u(+)(-)`: only one `(+)` or `(-)` default is allowed"),
            ("a)", "unknown USE dependency form `a)`: unexpected `)`"),
            ("a!", "unknown USE dependency form `a!`: unexpected `!`"),
            (
                "a=(+)",
                "unknown USE dependency form `a=(+)`: unexpected `(+)`: the default goes before `=` or `?`, as in `a(+)=`",
            ),
        ];
        for (input, message) in cases {
            let err = UseDep::parse(input).expect_err(input);
            assert_eq!(err.message, message);
            assert_eq!(err.span, 0..input.len());
        }
    }

    #[test]
    fn requirements_follow_the_depending_packages_flags() {
        let on = |flag: &str| flag == "on";
        let state = |s: &str| use_dep(s).requirement(&on).state;
        assert_eq!(state("x"), Some(true));
        assert_eq!(state("-x"), Some(false));
        assert_eq!(state("on="), Some(true));
        assert_eq!(state("off="), Some(false));
        assert_eq!(state("!on="), Some(false));
        assert_eq!(state("!off="), Some(true));
        assert_eq!(state("on?"), Some(true));
        assert_eq!(state("off?"), None);
        assert_eq!(state("!on?"), None);
        assert_eq!(state("!off?"), Some(false));
    }

    #[test]
    fn a_missing_flag_meets_a_requirement_only_through_a_matching_default() {
        let all_off = |_: &str| false;
        let met = |s: &str, dep_flag| use_dep(s).requirement(&all_off).is_met(dep_flag);
        assert!(met("x(+)", None));
        assert!(!met("x(-)", None));
        assert!(!met("x", None));
        assert!(met("-x(-)", None));
        assert!(met("x", Some(true)));
        assert!(!met("x(+)", Some(false)));
        assert!(met("x?", None), "no constraint when the parent has x off");
    }
}
