use super::*;

fn req(s: &str) -> RequiredUse {
    RequiredUse::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn check_with(s: &str, enabled: &[&str]) -> Result<(), Violation> {
    req(s).check(&|flag: &str| enabled.contains(&flag))
}

#[test]
fn required_use_strings_parse_and_print_back() {
    for s in [
        "",
        "static",
        "!static",
        "|| ( ssl gnutls )",
        "^^ ( python_single_target_python3_11 python_single_target_python3_12 )",
        "?? ( pam elogind systemd )",
        "gui? ( || ( qt5 qt6 gtk ) )",
        "!static? ( !pam )",
        "( a b ) ( )",
        "^^ ( ( a b ) c ) || ( ) ?? ( )",
        "bindist? ( !amr !faac ) cdio? ( !cdparanoia )",
        "test? ( || ( python_targets_python3_11 python_targets_python3_12 ) )",
    ] {
        assert_eq!(req(s).to_string(), s);
        assert_eq!(req(&req(s).to_string()), req(s));
    }
}

#[test]
fn the_tree_has_one_node_kind_per_operator() {
    let parsed = req("a !b ( c ) || ( d ) ^^ ( e ) ?? ( f ) !g? ( h )");
    let flag = |name: &str, negated| RequiredUseNode::Flag { name: name.into(), negated };
    assert_eq!(
        parsed.nodes(),
        [
            flag("a", false),
            flag("b", true),
            RequiredUseNode::AllOf(vec![flag("c", false)]),
            RequiredUseNode::AnyOf(vec![flag("d", false)]),
            RequiredUseNode::ExactlyOne(vec![flag("e", false)]),
            RequiredUseNode::AtMostOne(vec![flag("f", false)]),
            RequiredUseNode::UseCond { flag: "g".into(), negated: true, children: vec![flag("h", false)] },
        ]
    );
    let flags: Vec<&str> = parsed.flags().into_iter().collect();
    assert_eq!(flags, ["a", "b", "c", "d", "e", "f", "g", "h"]);
}

/// (REQUIRED_USE, enabled flags, satisfied?) following Portage's `check_required_use`.
const CHECKS: &[(&str, &[&str], bool)] = &[
    ("a", &["a"], true),
    ("a", &[], false),
    ("!a", &[], true),
    ("|| ( a b )", &[], false),
    ("|| ( a b )", &["b"], true),
    ("^^ ( a b c )", &["a"], true),
    ("^^ ( a b c )", &["a", "c"], false),
    ("^^ ( a b c )", &[], false),
    ("?? ( a b )", &[], true),
    ("?? ( a b )", &["a", "b"], false),
    ("a? ( b )", &[], true),
    ("a? ( b )", &["a"], false),
    ("!a? ( b )", &[], false),
    ("!a? ( b )", &["a"], true),
    ("|| ( ( a b ) c )", &["a"], false),
    ("|| ( ( a b ) c )", &["a", "b"], true),
    ("^^ ( || ( a b ) c )", &["a", "c"], false),
    ("^^ ( || ( a b ) c )", &["b"], true),
    // A conditional whose condition fails takes no part in the enclosing group.
    ("^^ ( a? ( b ) c )", &["c"], true),
    ("^^ ( a? ( b ) c )", &[], false),
    ("^^ ( a? ( b ) !c? ( d ) )", &["c"], false),
    ("|| ( x? ( y ) )", &[], false),
    ("?? ( x? ( y ) z )", &["z"], true),
    // A conditional whose condition holds counts as true when its body is empty.
    ("^^ ( a? ( ) b )", &["a"], true),
    // Empty groups in EAPI 8: `||` and `^^` fail, `??` and `( )` hold.
    ("|| ( )", &[], false),
    ("^^ ( )", &[], false),
    ("?? ( )", &[], true),
    ("( )", &[], true),
    ("( ( ) ) a", &["a"], true),
    // An all-of group with nothing taking part does not count inside `^^`.
    ("^^ ( ( x? ( y ) ) z )", &["z"], true),
    ("bindist? ( !amr !faac ) dvdnav? ( dvd )", &["bindist", "dvdnav", "dvd"], true),
    ("bindist? ( !amr !faac ) dvdnav? ( dvd )", &["bindist", "faac"], false),
];

#[test]
fn checks_follow_portages_semantics() {
    for (text, enabled, satisfied) in CHECKS {
        assert_eq!(check_with(text, enabled).is_ok(), *satisfied, "{text} with {enabled:?}");
    }
}

#[test]
fn violations_explain_which_constraint_failed_and_why() {
    let cases: &[(&str, &[&str], &str)] = &[
        ("^^ ( a b )", &["a", "b"], "`^^ ( a b )`: exactly one of a, b must be enabled, but both are"),
        ("^^ ( a b c )", &[], "`^^ ( a b c )`: exactly one of a, b, c must be enabled, but none is"),
        ("^^ ( a b c )", &["a", "c"], "`^^ ( a b c )`: exactly one of a, b, c must be enabled, but a, c are"),
        ("x || ( a b )", &["x"], "`|| ( a b )`: at least one of a, b must be enabled, but none is"),
        ("?? ( a b )", &["a", "b"], "`?? ( a b )`: at most one of a, b may be enabled, but both are"),
        ("|| ( a !b )", &["b"], "`|| ( a !b )`: at least one of a, !b must be true, but none is"),
        (
            "^^ ( || ( a b ) c )",
            &["a", "c"],
            "`^^ ( || ( a b ) c )`: exactly one of `|| ( a b )`, c must be true, but both are",
        ),
        ("static", &[], "`static`: static must be enabled"),
        ("!pam", &["pam"], "`!pam`: pam must be disabled"),
        (
            "ssl? ( !gnutls )",
            &["ssl", "gnutls"],
            "`ssl? ( !gnutls )`: when ssl is enabled, gnutls must be disabled",
        ),
        (
            "!static? ( a? ( ^^ ( b c ) ) )",
            &["a"],
            "`!static? ( a? ( ^^ ( b c ) ) )`: when static is disabled, when a is enabled, exactly one of b, c \
             must be enabled, but none is",
        ),
        ("( a b )", &["a"], "`( a b )`: b must be enabled"),
        ("|| ( )", &[], "`|| ( )`: an empty `|| ( )` group can never be satisfied"),
        ("^^ ( )", &[], "`^^ ( )`: an empty `^^ ( )` group can never be satisfied"),
        (
            "|| ( x? ( y ) )",
            &[],
            "`|| ( x? ( y ) )`: none of its conditional members applies with these flags, so it cannot be \
             satisfied",
        ),
    ];
    for (text, enabled, message) in cases {
        let violation = check_with(text, enabled).expect_err(text);
        assert_eq!(violation.to_string(), *message);
    }
}

#[test]
fn the_first_broken_top_level_constraint_is_reported() {
    let violation = check_with("a b ?? ( c d )", &["a", "c", "d"]).unwrap_err();
    assert_eq!(violation.constraint, "b");
}

#[test]
fn syntax_errors_say_what_was_expected_and_where() {
    let cases: &[(&str, &str, std::ops::Range<usize>)] = &[
        ("(", "expected `)` to close the group opened here", 1..1),
        (")", "unexpected `)`: no group is open", 0..1),
        ("( u)", "expected whitespace before `)`", 3..4),
        ("^^( a b )", "expected whitespace before `(`", 2..3),
        ("^^ || ( a b )", "expected `(` after `^^`, found `||`", 3..5),
        ("?? ( ( || ) a )", "expected `(` after `||`, found `)`", 10..11),
        ("a? b", "expected `(` after `a?`, found `b`", 3..4),
        ("| ( u )", "unknown operator `|`: expected `||`, `^^` or `??` (a plain `( … )` means all of)", 0..1),
        ("a ^", "unknown operator `^`: expected `||`, `^^` or `??` (a plain `( … )` means all of)", 2..3),
        (
            "&& ( a b )",
            "unknown operator `&&`: expected `||`, `^^` or `??` (a plain `( … )` means all of)",
            0..2,
        ),
        ("a !!b", "`!!b`: negate a flag with a single `!`", 2..4),
        ("!", "empty USE flag name", 1..1),
        ("a.b", "invalid character `.` in USE flag name `a.b`", 1..2),
        ("!-a", "USE flag name `-a` must start with a letter or digit, not `-`", 1..2),
        ("!? ( a )", "invalid condition `!?`: empty USE flag name", 1..1),
    ];
    for (input, message, span) in cases {
        let err = RequiredUse::parse(input).expect_err(input);
        assert_eq!(err.message, *message, "{input}");
        assert_eq!(err.span, *span, "{input}");
    }
    let err = RequiredUse::parse("a ( b ^^ ( c )").unwrap_err();
    assert_eq!(err.related, Some((2..3, "group opened here".to_string())));
}
