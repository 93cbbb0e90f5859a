//! Property tests for every PMS parser: printed values parse back equal, and no input panics.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use proptest::prelude::*;

use super::*;

fn version_text() -> impl Strategy<Value = String> {
    r"[0-9]{1,3}(\.[0-9]{1,3}){0,3}[a-z]?(_(alpha|beta|pre|rc|p)[0-9]{0,2}){0,2}(-r[0-9]{1,2})?"
}

fn flag() -> impl Strategy<Value = String> {
    r"[a-z0-9][a-z0-9_+@-]{0,6}"
}

fn slot() -> impl Strategy<Value = String> {
    let name = r"[A-Za-z0-9_][A-Za-z0-9+_.-]{0,5}";
    prop_oneof![
        Just("*".to_string()),
        Just("=".to_string()),
        (name, proptest::option::of(name), any::<bool>()).prop_map(|(slot, sub, rebuild)| {
            let sub = sub.map(|s| format!("/{s}")).unwrap_or_default();
            format!("{slot}{sub}{}", if rebuild { "=" } else { "" })
        }),
    ]
}

fn use_dep() -> impl Strategy<Value = String> {
    let form = prop_oneof![
        Just(("", "")),
        Just(("-", "")),
        Just(("", "=")),
        Just(("!", "=")),
        Just(("", "?")),
        Just(("!", "?"))
    ];
    let default = prop_oneof![Just(""), Just("(+)"), Just("(-)")];
    (form, flag(), default)
        .prop_map(|((prefix, suffix), flag, default)| format!("{prefix}{flag}{default}{suffix}"))
}

/// `[op]version[*]`, respecting the operator rules (glob only with `=`, no `~…-rN`).
fn versioned() -> impl Strategy<Value = Option<(String, String)>> {
    let op = prop_oneof![Just("<"), Just("<="), Just("="), Just("=*"), Just("~"), Just(">="), Just(">")];
    proptest::option::of((op, version_text()).prop_map(|(op, version)| {
        let version = if op == "~" { version.split("-r").next().unwrap_or("0").to_string() } else { version };
        match op {
            "=*" => ("=".to_string(), format!("{version}*")),
            _ => (op.to_string(), version),
        }
    }))
}

fn atom_text() -> impl Strategy<Value = String> {
    (
        prop_oneof![Just(""), Just("!"), Just("!!")],
        versioned(),
        r"[a-z0-9_][a-z0-9+_.-]{0,8}",
        r"[a-z0-9_][a-z0-9_+]{0,6}(-[a-z_][a-z0-9_+]{0,4}){0,2}",
        proptest::option::of(slot()),
        proptest::option::of(r"[a-z0-9_][a-z0-9_]{0,6}(-[a-z_][a-z0-9_]{0,3})?"),
        proptest::collection::vec(use_dep(), 0..4),
    )
        .prop_map(|(blocker, versioned, category, package, slot, repo, use_deps)| {
            let (op, version) = match versioned {
                Some((op, version)) => (op, format!("-{version}")),
                None => (String::new(), String::new()),
            };
            let slot = slot.map(|s| format!(":{s}")).unwrap_or_default();
            let repo = repo.map(|r| format!("::{r}")).unwrap_or_default();
            let use_deps =
                if use_deps.is_empty() { String::new() } else { format!("[{}]", use_deps.join(",")) };
            format!("{blocker}{op}{category}/{package}{version}{slot}{repo}{use_deps}")
        })
}

fn atom() -> impl Strategy<Value = Atom> {
    atom_text().prop_map(|text| Atom::parse(&text).unwrap_or_else(|e| panic!("{text}: {e}")))
}

fn dep_node() -> impl Strategy<Value = DepNode> {
    atom().prop_map(DepNode::Atom).prop_recursive(4, 32, 4, |inner| {
        let children = proptest::collection::vec(inner, 1..4);
        prop_oneof![
            children.clone().prop_map(DepNode::AllOf),
            children.clone().prop_map(DepNode::AnyOf),
            (flag(), any::<bool>(), children).prop_map(|(flag, negated, children)| DepNode::UseCond {
                flag: flag.into(),
                negated,
                children
            }),
        ]
    })
}

fn required_use_node() -> impl Strategy<Value = RequiredUseNode> {
    let leaf = (flag(), any::<bool>())
        .prop_map(|(name, negated)| RequiredUseNode::Flag { name: name.into(), negated });
    leaf.prop_recursive(4, 32, 4, |inner| {
        let children = proptest::collection::vec(inner, 0..4);
        prop_oneof![
            children.clone().prop_map(RequiredUseNode::AllOf),
            children.clone().prop_map(RequiredUseNode::AnyOf),
            children.clone().prop_map(RequiredUseNode::ExactlyOne),
            children.clone().prop_map(RequiredUseNode::AtMostOne),
            (flag(), any::<bool>(), children).prop_map(|(flag, negated, children)| {
                RequiredUseNode::UseCond { flag: flag.into(), negated, children }
            }),
        ]
    })
}

fn joined<T: std::fmt::Display>(nodes: &[T]) -> String {
    nodes.iter().map(ToString::to_string).collect::<Vec<_>>().join(" ")
}

/// Words the grammars know, glued or spaced at random, to reach the parsers' odd corners.
fn token_soup() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        Just("("),
        Just(")"),
        Just("||"),
        Just("^^"),
        Just("??"),
        Just("|"),
        Just("a?"),
        Just("!a?"),
        Just("?"),
        Just("!"),
        Just("!!"),
        Just("a"),
        Just("!a"),
        Just("+a"),
        Just("-a"),
        Just("a/b"),
        Just(">=a/b-1"),
        Just("=a/b-1*"),
        Just("~a/b-1"),
        Just("a/b-1"),
        Just("["),
        Just("]"),
        Just("a/b[c"),
        Just(":"),
        Just("::"),
        Just("*"),
        Just("="),
        Just("-r1"),
        Just("1.2"),
        Just("_p"),
        Just("(+)"),
        Just(","),
        Just("Ҙ"),
        Just("/"),
    ];
    let sep = prop_oneof![Just(""), Just(" "), Just("\t"), Just("\n")];
    proptest::collection::vec((token, sep), 0..24)
        .prop_map(|parts| parts.into_iter().flat_map(|(token, sep)| [token, sep]).collect())
}

/// Every parser on one input: none may panic, and every error span must lie on char
/// boundaries inside the input.
fn parse_everything(input: &str) {
    let spans = [
        Version::parse(input).err(),
        Cpn::parse(input).err(),
        Atom::parse(input).err(),
        DepSpec::parse(input).err(),
        RequiredUse::parse(input).err(),
        Iuse::parse(input).err(),
    ];
    for err in spans.into_iter().flatten() {
        let related = err.related.iter().map(|(span, _)| span.clone());
        for span in std::iter::once(err.span.clone()).chain(related) {
            assert!(span.start <= span.end && span.end <= input.len(), "{input:?}: {err:?}");
            assert!(
                input.is_char_boundary(span.start) && input.is_char_boundary(span.end),
                "{input:?}: {err:?}"
            );
        }
    }
}

fn hash_of(version: &Version) -> u64 {
    let mut hasher = DefaultHasher::new();
    version.hash(&mut hasher);
    hasher.finish()
}

proptest! {
    #[test]
    fn generated_atoms_print_as_written(text in atom_text()) {
        let atom = Atom::parse(&text).unwrap();
        prop_assert_eq!(atom.to_string(), text);
    }

    #[test]
    fn dep_specs_parse_back_to_the_tree_printed(nodes in proptest::collection::vec(dep_node(), 0..5)) {
        let text = joined(&nodes);
        let parsed = DepSpec::parse(&text).unwrap();
        prop_assert_eq!(parsed.nodes(), &nodes[..]);
        prop_assert_eq!(DepSpec::parse(&parsed.to_string()).unwrap(), parsed);
    }

    #[test]
    fn required_use_parses_back_to_the_tree_printed(nodes in proptest::collection::vec(required_use_node(), 0..5)) {
        let text = joined(&nodes);
        let parsed = RequiredUse::parse(&text).unwrap();
        prop_assert_eq!(parsed.nodes(), &nodes[..]);
        prop_assert_eq!(RequiredUse::parse(&parsed.to_string()).unwrap(), parsed);
    }

    #[test]
    fn version_order_is_antisymmetric_and_equal_means_equal_hash(a in version_text(), b in version_text()) {
        let (a, b) = (Version::parse(&a).unwrap(), Version::parse(&b).unwrap());
        prop_assert_eq!(a.cmp(&b), b.cmp(&a).reverse());
        if a == b {
            prop_assert_eq!(hash_of(&a), hash_of(&b));
        }
    }

    #[test]
    fn no_parser_panics_on_token_soup(input in token_soup()) {
        parse_everything(&input);
    }

    #[test]
    fn no_parser_panics_on_atom_characters(input in r"[!<>=~a-z0-9/:*\[\](),?+_.@-]{0,30}") {
        parse_everything(&input);
    }

    #[test]
    fn no_parser_panics_on_arbitrary_text(input in any::<String>()) {
        parse_everything(&input);
    }

    #[test]
    fn no_parser_panics_on_random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        parse_everything(&String::from_utf8_lossy(&bytes));
    }
}
