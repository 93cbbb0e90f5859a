use super::*;
use crate::dep::UseDepKind;

fn atom(s: &str) -> Atom {
    Atom::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn v(s: &str) -> Version {
    Version::parse(s).unwrap()
}

#[test]
fn valid_atoms_print_back_as_written() {
    for s in [
        "dev-libs/openssl",
        ">=dev-libs/openssl-3.0.13:0/3=[-bindist(-),abi_x86_32(-)?]",
        "<sys-libs/glibc-2.39-r1",
        "<=sys-apps/portage-2.1",
        "=dev-lang/python-3.12*",
        "=sys-apps/portage-2.1-r1*:0::repo_name[doc]",
        "~dev-lang/perl-5.38.2",
        ">app-shells/bash-5",
        "!app-text/dos2unix",
        "!!<sys-apps/sandbox-2.2",
        "dev-lang/python:3.12",
        "dev-qt/qtbase:6=",
        "virtual/rust:*",
        "media-libs/libpng:=",
        "sys-apps/portage::gentoo",
        "sys-apps/portage:0::gentoo[doc,-build,python_targets_python3_12(-)]",
        "app-text/7plus",
        "_--/_--",
        "_.+-/_+-",
        "=a/b--1",
        "=foo/bar-baz---1-r1",
        "<a/b-r0-1-r2",
        ">a/b-3-c-4-r3",
        "a/b-",
        "a/b-r100",
        "a/b[u-,u+]",
        "a/b[1,2]",
        "a/b[u,u]",
        "=media-libs/x264-20060810",
        "x11-libs/gtk+:3[X?,wayland?]",
        "dev-libs/A[a(+),b(-)=,!c(+)=,d(-)?,!e(+)?,-f(-)]",
        "cat/pkg:0/a.b+c-d_e",
    ] {
        assert_eq!(atom(s).to_string(), s);
    }
}

#[test]
fn parts_of_an_atom_are_typed() {
    let a = atom("!!>=dev-libs/openssl-1.0.2-r1:0/1.0=::gentoo[abi_x86_32(-)?,-bindist]");
    assert_eq!(a.blocker(), Some(Blocker::Strong));
    assert_eq!(a.operator(), Some(Operator::GreaterOrEqual));
    assert_eq!(a.cpn().to_string(), "dev-libs/openssl");
    assert_eq!((a.category(), a.package()), ("dev-libs", "openssl"));
    assert_eq!(a.version(), Some(&v("1.0.2-r1")));
    assert_eq!(
        a.slot(),
        Some(&SlotDep::Slot { slot: "0".into(), subslot: Some("1.0".into()), rebuild: true })
    );
    assert_eq!(a.repo(), Some("gentoo"));
    let kinds: Vec<_> = a.use_deps().iter().map(|d| (d.flag(), d.kind(), d.missing_default())).collect();
    assert_eq!(
        kinds,
        [("abi_x86_32", UseDepKind::IfEnabled, Some(false)), ("bindist", UseDepKind::Disabled, None)]
    );

    let glob = atom("=dev-lang/python-3.12*");
    assert_eq!(glob.operator(), Some(Operator::EqualGlob));
    assert_eq!(glob.version(), Some(&v("3.12")));
    let plain = atom("dev-lang/python");
    assert_eq!((plain.operator(), plain.version(), plain.slot(), plain.repo()), (None, None, None, None));
    assert_eq!(atom("!a/b").blocker(), Some(Blocker::Weak));
    assert_eq!(Atom::unversioned(Cpn::parse("a/b").unwrap()), atom("a/b"));
}

#[test]
fn the_package_version_split_is_the_only_valid_one() {
    let cases = [
        ("=a/b--1", "b-", "1"),
        ("=foo/bar-baz---1-r1", "bar-baz--", "1-r1"),
        ("<a/b-r0-1-r2", "b-r0", "1-r2"),
        (">a/b-3-c-4-r3", "b-3-c", "4-r3"),
        ("=a/b-r1-2", "b-r1", "2"),
        ("=dev-libs/poppler-qt3-0.11*", "poppler-qt3", "0.11"),
    ];
    for (input, package, version) in cases {
        let a = atom(input);
        assert_eq!((a.package(), a.version().map(Version::as_str)), (package, Some(version)), "{input}");
    }
}

#[test]
fn malformed_atoms_are_rejected_with_a_precise_message_and_span() {
    let cases: &[(&str, &str, std::ops::Range<usize>)] = &[
        ("", "empty atom: expected `category/package`", 0..0),
        ("!!!a/b", "too many `!`: a blocker is `!` (weak) or `!!` (strong)", 0..3),
        ("<~cat/foo-1.0", "unknown operator `<~`: expected <, <=, =, ~, >= or >", 0..2),
        (">=~cat/foo-1.0", "unknown operator `>=~`: expected <, <=, =, ~, >= or >", 0..3),
        ("portage", "expected `category/package`, found `portage`", 0..7),
        ("!", "expected `category/package` after `!`", 1..1),
        (">=", "expected `category/package` after `>=`", 2..2),
        ("=portage-2.1*", "expected `category/package`, found `portage-2.1*`", 1..13),
        ("/b", "empty category name", 0..0),
        (".a/b", "category name `.a` must start with a letter, digit or `_`, not `.`", 0..1),
        ("a/+b", "package name `+b` must start with a letter, digit or `_`, not `+`", 2..3),
        ("cat/Ҙ", "package name `Ҙ` must start with a letter, digit or `_`, not `Ҙ`", 4..6),
        ("a/b)", "invalid character `)` in package name `b)`", 3..4),
        (
            "a/b-0",
            "package name `b-0` ends in `-0`, which looks like a version; a versioned atom needs an \
             operator, as in `=a/b-0`",
            3..5,
        ),
        (
            "!!a/b-0-r1:0",
            "package name `b-0-r1` ends in `-0-r1`, which looks like a version; a versioned atom needs \
             an operator, as in `=a/b-0-r1`",
            5..10,
        ),
        (
            "sys-apps/portage-2.1:foo",
            "package name `portage-2.1` ends in `-2.1`, which looks like a version; a versioned atom needs \
             an operator, as in `=sys-apps/portage-2.1`",
            16..20,
        ),
        ("a/+b-1", "package name `+b-1` must start with a letter, digit or `_`, not `+`", 2..3),
        (
            "a/foo-1-2",
            "package name `foo-1-2` ends in `-2`, which looks like a version; a versioned atom needs an \
             operator, as in `=a/foo-1-2`",
            7..9,
        ),
        ("a/b*", "`*` is only allowed after a version with the `=` operator, as in `=cat/pkg-1*`", 3..4),
        (
            ">=null/portage",
            "operator `>=` needs a version after the package name, as in `>=null/portage-1.0`",
            7..14,
        ),
        (
            "=a/b-1_a1",
            "invalid version `1_a1`: unknown suffix `_a1` (expected _alpha, _beta, _pre, _rc or _p)",
            6..9,
        ),
        ("=a/b-0.*", "invalid version `0.`: empty version component", 6..7),
        ("=a/b-0-r*", "invalid version `0-r`: revision `-r` needs a number, as in `-r1`", 6..8),
        ("<a/b1a", "operator `<` needs a version after the package name, as in `<a/b1a-1.0`", 3..6),
        (">=a/b-0*", "`*` is only allowed with the `=` operator, not `>=`", 7..8),
        ("~a/b-0*", "`*` is only allowed with the `=` operator, not `~`", 6..7),
        ("=foo/bar-123-1", "package name `bar-123` ends in `-123`, which looks like a version", 8..12),
        ("=foo/bar-1-r1-1-r1", "package name `bar-1-r1` ends in `-1-r1`, which looks like a version", 8..13),
        ("~a/b-1-r1", "`~` already ignores the revision: write `~a/b-1` without `-r1`", 5..9),
        ("a/b:", "empty slot after `:`", 3..4),
        ("a/b:=0", "unexpected `0` after `:=`: the `=` goes after the slot, as in `:0=`", 5..6),
        ("a/b:0/1/2", "invalid character `/` in sub-slot name `1/2`", 7..8),
        ("a/b::", "empty repository name after `::`", 3..5),
        ("a/b::-repo", "repository name `-repo` must start with a letter, digit or `_`, not `-`", 5..6),
        ("a/b::repo@path", "invalid character `@` in repository name `repo@path`", 9..10),
        ("a/b::repo-1", "repository name `repo-1` ends in `-1`, which looks like a version", 9..11),
        ("a/b[]", "empty USE dependency list `[]`", 3..5),
        ("a/b[a", "expected `]` to close the USE dependencies opened here", 5..5),
        ("a/b[a,]", "empty USE dependency", 6..6),
        ("a/b[,a]", "empty USE dependency", 4..4),
        ("a/b[x,!-doc]", "unknown USE dependency form `!-doc`: expected a flag name after `!`", 6..11),
        (
            "a/b[bar][doc]",
            "only one `[…]` list of USE dependencies is allowed; separate them with commas",
            8..13,
        ),
        ("a/b[doc]:0", "`:0` must come before the USE dependencies `[…]`", 8..10),
        ("a/b[doc]::gentoo", "`::gentoo` must come before the USE dependencies `[…]`", 8..16),
        ("a/b[doc]x", "unexpected `x` after the USE dependencies", 8..9),
    ];
    for (input, message, span) in cases {
        let err = Atom::parse(input).expect_err(input);
        assert_eq!(err.message, *message, "{input}");
        assert_eq!(err.span, *span, "{input}");
    }
    let err = Atom::parse("a/b[a").unwrap_err();
    assert_eq!(err.related, Some((3..4, "opened here".to_string())));
}

#[test]
fn operators_select_the_versions_they_name() {
    let cases: &[(&str, &[&str], &[&str])] = &[
        ("<a/b-2", &["1", "2_rc1", "1.9.9"], &["2", "2-r1", "2.0"]),
        ("<=a/b-2", &["2", "1", "2_rc1"], &["2-r1", "2.0", "2_p1"]),
        ("=a/b-2", &["2", "02", "2-r0"], &["2-r1", "2.0"]),
        ("=a/b-2*", &["2", "2.0", "2.1.3", "2-r4", "2_p1", "2b"], &["20", "1.2", "3"]),
        ("~a/b-2", &["2", "2-r1", "2-r10"], &["2.0", "2_p1", "1"]),
        (">=a/b-2", &["2", "2-r1", "3"], &["1.9", "2_rc1"]),
        (">a/b-2", &["2-r1", "2.0", "2_p1"], &["2", "1", "2-r0"]),
        ("a/b", &["0", "999"], &[]),
    ];
    for (input, matching, not_matching) in cases {
        let a = atom(input);
        for candidate in *matching {
            assert!(a.matches_version(&v(candidate)), "{input} matches {candidate}");
        }
        for candidate in *not_matching {
            assert!(!a.matches_version(&v(candidate)), "{input} does not match {candidate}");
        }
    }
}

#[test]
fn slot_matching_uses_the_atoms_slot_dependency() {
    assert!(atom("a/b").matches_slot("7", None));
    assert!(atom("a/b:0").matches_slot("0", Some("3")));
    assert!(!atom("a/b:0/2").matches_slot("0", Some("3")));
    assert!(atom("a/b:=").matches_slot("9", Some("9.1")));
}

#[test]
fn use_requirements_resolve_conditional_forms_against_the_parent() {
    let a = atom("dev-libs/openssl[abi_x86_32(-)?,-bindist,static-libs=,!test?]");
    let parent = |flag: &str| flag == "abi_x86_32";
    let reqs: Vec<_> = a.use_requirements(&parent).map(|r| (r.flag, r.state, r.missing)).collect();
    assert_eq!(
        reqs,
        [
            ("abi_x86_32", Some(true), Some(false)),
            ("bindist", Some(false), None),
            ("static-libs", Some(false), None),
            ("test", Some(false), None),
        ]
    );
}

#[test]
fn atoms_round_trip_through_serde_and_from_str() {
    let a: Atom = ">=a/b-1:2[c]".parse().unwrap();
    let json = serde_json::to_string(&a).unwrap();
    assert_eq!(json, "\">=a/b-1:2[c]\"");
    assert_eq!(serde_json::from_str::<Atom>(&json).unwrap(), a);
}

#[test]
fn atoms_with_equal_versions_written_differently_are_equal() {
    assert_eq!(atom("=a/b-1.0"), atom("=a/b-1.00"));
    assert_ne!(atom("=a/b-1.0"), atom("=a/b-1.0*"));
    assert!(atom("a/b") < atom("a/c"));
}
