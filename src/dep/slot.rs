//! Slot dependencies: the `:slot`, `:slot/sub`, `:=`, `:*` and `:slot=` parts of an atom.

use std::fmt;

use super::error::ParseError;
use super::name::{SLOT, SUBSLOT, check};

/// What an atom asks of its target's slot.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SlotDep {
    /// `:*`: any slot, and a slot or sub-slot change needs no rebuild.
    Any,
    /// `:=`: any slot, but rebuild the depending package when the slot or sub-slot changes.
    Rebuild,
    /// `:slot`, `:slot/sub`, `:slot=` (and `:slot/sub=`, which both Portage and pkgcraft
    /// accept): a named slot, maybe a sub-slot, maybe the rebuild operator.
    Slot { slot: Box<str>, subslot: Option<Box<str>>, rebuild: bool },
}

impl SlotDep {
    /// Parses the text after `:`; error spans are relative to it.
    pub(crate) fn parse(s: &str) -> Result<SlotDep, ParseError> {
        match s {
            "*" => return Ok(SlotDep::Any),
            "=" => return Ok(SlotDep::Rebuild),
            _ => {}
        }
        if let Some(op @ ('*' | '=')) = s.chars().next() {
            let hint = if op == '=' { ": the `=` goes after the slot, as in `:0=`" } else { "" };
            let message = format!("unexpected `{}` after `:{op}`{hint}", &s[1..]);
            return Err(ParseError::new(1..s.len(), message));
        }
        let (body, rebuild) = match s.strip_suffix('=') {
            Some(body) => (body, true),
            None => (s, false),
        };
        let (slot, subslot) = match body.split_once('/') {
            Some((slot, subslot)) => (slot, Some(subslot)),
            None => (body, None),
        };
        check(slot, &SLOT)?;
        if let Some(subslot) = subslot {
            check(subslot, &SUBSLOT).map_err(|e| e.offset(slot.len() + 1))?;
        }
        Ok(SlotDep::Slot { slot: slot.into(), subslot: subslot.map(Into::into), rebuild })
    }

    /// Whether a package in `slot` (with sub-slot `subslot`, which defaults to the slot)
    /// satisfies this slot dependency.
    pub fn matches(&self, slot: &str, subslot: Option<&str>) -> bool {
        match self {
            SlotDep::Any | SlotDep::Rebuild => true,
            SlotDep::Slot { slot: want, subslot: want_sub, .. } => {
                **want == *slot && want_sub.as_deref().is_none_or(|want| want == subslot.unwrap_or(slot))
            }
        }
    }
}

impl fmt::Display for SlotDep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SlotDep::Any => f.write_str("*"),
            SlotDep::Rebuild => f.write_str("="),
            SlotDep::Slot { slot, subslot, rebuild } => {
                f.write_str(slot)?;
                if let Some(subslot) = subslot {
                    write!(f, "/{subslot}")?;
                }
                if *rebuild {
                    f.write_str("=")?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_slot_form_parses_and_prints_back() {
        for s in ["*", "=", "0", "0=", "0/1", "0/1=", "3.12", "_/_", "a+b_c.d-e", "S-1.2+3", "aBc"] {
            assert_eq!(SlotDep::parse(s).unwrap().to_string(), s);
        }
        assert_eq!(
            SlotDep::parse("2/2.5=").unwrap(),
            SlotDep::Slot { slot: "2".into(), subslot: Some("2.5".into()), rebuild: true }
        );
    }

    #[test]
    fn malformed_slots_are_rejected_with_their_reason() {
        let cases: &[(&str, &str, std::ops::Range<usize>)] = &[
            ("", "empty slot name", 0..0),
            ("*0", "unexpected `0` after `:*`", 1..2),
            ("*=", "unexpected `=` after `:*`", 1..2),
            ("=0", "unexpected `0` after `:=`: the `=` goes after the slot, as in `:0=`", 1..2),
            ("==", "unexpected `=` after `:=`: the `=` goes after the slot, as in `:0=`", 1..2),
            ("+0", "slot name `+0` must start with a letter, digit or `_`, not `+`", 0..1),
            ("0*", "invalid character `*` in slot name `0*`", 1..2),
            ("0/", "empty sub-slot name", 2..2),
            ("/0", "empty slot name", 0..0),
            ("0/=", "empty sub-slot name", 2..2),
            ("0//1", "sub-slot name `/1` must start with a letter, digit or `_`, not `/`", 2..3),
            ("0/1/2", "invalid character `/` in sub-slot name `1/2`", 3..4),
            ("0/+1", "sub-slot name `+1` must start with a letter, digit or `_`, not `+`", 2..3),
            ("a@b", "invalid character `@` in slot name `a@b`", 1..2),
        ];
        for (input, message, span) in cases {
            let err = SlotDep::parse(input).expect_err(input);
            assert_eq!(err.message, *message, "{input}");
            assert_eq!(err.span, *span, "{input}");
        }
    }

    #[test]
    fn slot_matching_defaults_the_subslot_to_the_slot() {
        let slot = |s| SlotDep::parse(s).unwrap();
        assert!(slot("0").matches("0", Some("5")));
        assert!(!slot("0").matches("1", None));
        assert!(slot("0/5").matches("0", Some("5")));
        assert!(!slot("0/5").matches("0", Some("6")));
        assert!(slot("3/3").matches("3", None));
        assert!(!slot("3/4").matches("3", None));
        assert!(slot("0=").matches("0", Some("1.1")));
        assert!(slot("*").matches("9", None));
        assert!(slot("=").matches("9", Some("x")));
    }
}
