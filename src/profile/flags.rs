//! Incremental USE-style token lists: `flag` turns a flag on, `-flag` off, `-*` everything off.
//! Profiles stack them parent first, as Portage stacks USE.

use std::collections::BTreeSet;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UseToken {
    On(String),
    Off(String),
    /// `-*`: every flag off, including IUSE defaults.
    Reset,
}

/// Parses `"ipv6 -nls -*"`; an error names the offending token.
pub fn parse_tokens(s: &str) -> Result<Vec<UseToken>, (std::ops::Range<usize>, String)> {
    let mut out = Vec::new();
    let mut pos = 0;
    for tok in s.split_ascii_whitespace() {
        let start = pos + s[pos..].find(tok).unwrap_or(0);
        pos = start + tok.len();
        let span = start..pos;
        let t = if tok == "-*" {
            UseToken::Reset
        } else if let Some(flag) = tok.strip_prefix('-') {
            UseToken::Off(check_flag(flag, tok, &span)?)
        } else {
            UseToken::On(check_flag(tok.strip_prefix('+').unwrap_or(tok), tok, &span)?)
        };
        out.push(t);
    }
    Ok(out)
}

fn check_flag(
    flag: &str,
    tok: &str,
    span: &std::ops::Range<usize>,
) -> Result<String, (std::ops::Range<usize>, String)> {
    if is_flag_name(flag) {
        Ok(flag.to_string())
    } else {
        Err((
            span.clone(),
            format!(
                "invalid USE flag `{tok}`: flags are letters, digits and `+_@-`, starting with a letter or digit"
            ),
        ))
    }
}

/// PMS USE flag names: `[A-Za-z0-9][A-Za-z0-9+_@-]*`.
pub fn is_flag_name(s: &str) -> bool {
    let mut b = s.bytes();
    b.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && b.all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'_' | b'@' | b'-'))
}

/// Applies tokens in order to a set of enabled flags.
pub fn apply(tokens: &[UseToken], enabled: &mut BTreeSet<String>) {
    for t in tokens {
        match t {
            UseToken::On(f) => {
                enabled.insert(f.clone());
            }
            UseToken::Off(f) => {
                enabled.remove(f);
            }
            UseToken::Reset => enabled.clear(),
        }
    }
}

/// Flattens tokens to the shortest equivalent list (for display and hashing).
pub fn normalize(tokens: &[UseToken]) -> Vec<UseToken> {
    let start = tokens.iter().rposition(|t| *t == UseToken::Reset);
    let mut out: Vec<UseToken> = start.map(|_| vec![UseToken::Reset]).unwrap_or_default();
    let rest = &tokens[start.map_or(0, |i| i + 1)..];
    for t in rest {
        let name = match t {
            UseToken::On(f) | UseToken::Off(f) => f,
            UseToken::Reset => continue,
        };
        out.retain(|o| !matches!(o, UseToken::On(g) | UseToken::Off(g) if g == name));
        out.push(t.clone());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(tokens: &str, start: &[&str]) -> Vec<String> {
        let mut s: BTreeSet<String> = start.iter().map(|x| x.to_string()).collect();
        apply(&parse_tokens(tokens).unwrap(), &mut s);
        s.into_iter().collect()
    }

    #[test]
    fn later_tokens_override_earlier_ones() {
        assert_eq!(set("a b -a", &[]), vec!["b"]);
        assert_eq!(set("-b c", &["a", "b"]), vec!["a", "c"]);
    }

    #[test]
    fn reset_turns_everything_off_then_continues() {
        assert_eq!(set("-* ipv6", &["a", "b"]), vec!["ipv6"]);
    }

    #[test]
    fn bad_flag_names_are_refused_with_their_span() {
        let (span, msg) = parse_tokens("ok b!d").unwrap_err();
        assert_eq!(span, 3..6);
        assert!(msg.contains("`b!d`"), "{msg}");
        assert!(parse_tokens("-").is_err());
    }

    #[test]
    fn normalize_keeps_the_last_word_on_each_flag() {
        let t = parse_tokens("a b -a -* c -d c").unwrap();
        assert_eq!(normalize(&t), parse_tokens("-* -d c").unwrap());
    }
}
