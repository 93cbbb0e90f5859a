use std::collections::HashSet;

use super::*;

fn v(s: &str) -> Version {
    Version::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

/// Pairs `(a, b)` with `a < b`, one or more rows per step of PMS algorithms 3.1 to 3.7.
const ORDERED: &[(&str, &str)] = &[
    // 3.2: the first component compares as an integer, any length.
    ("1", "2"),
    ("9", "10"),
    ("2", "010"),
    ("99999999999999999999998", "99999999999999999999999"),
    ("18446744073709551615", "18446744073709551616"),
    // 3.3: later components: integers unless one has a leading zero, then strings without
    // trailing zeros.
    ("1.2", "1.10"),
    ("1.01", "1.1"),
    ("1.001", "1.01"),
    ("1.09", "1.1"),
    ("1.010", "1.02"),
    ("1.0", "1.1"),
    ("1.1.18446744073709551615", "1.1.18446744073709551616"),
    // 3.2: more components win once the common ones are equal.
    ("1", "1.0"),
    ("1.0", "1.0.0"),
    ("1.2.3", "1.2.3.0"),
    ("1.9z", "1.9.0"),
    // 3.2: the letter, absent below present.
    ("1.2", "1.2a"),
    ("1.2a", "1.2b"),
    ("1.2y", "1.2z"),
    // 3.4/3.5: suffixes in order alpha < beta < pre < rc < (none) < p.
    ("1_alpha", "1_beta"),
    ("1_beta", "1_pre"),
    ("1_pre", "1_rc"),
    ("1_rc", "1"),
    ("1", "1_p"),
    ("1_alpha9", "1_beta"),
    ("1_alpha", "1_alpha1"),
    ("1_alpha2", "1_alpha10"),
    ("1_p1", "1_p2"),
    ("1_rc99", "1"),
    ("1_alpha_alpha", "1_alpha"),
    ("1_alpha", "1_alpha_p"),
    ("1_p", "1_p_p"),
    ("1_pre_beta", "1_pre"),
    ("1_beta_p1", "1_rc"),
    // letter before suffixes, numbers before letter
    ("1a_p5", "1b_alpha"),
    ("1.1_p", "1.1a_alpha"),
    ("1.1z_p9", "1.2_alpha"),
    // 3.7: the revision last, `-r0` and no revision equal.
    ("1", "1-r1"),
    ("1-r0", "1-r1"),
    ("1-r9", "1-r10"),
    ("1-r18446744073709551615", "1-r18446744073709551616"),
    ("1_p-r9", "1_p1"),
    ("1.0-r99", "1.0.0"),
];

/// Pairs that compare equal (and so hash equal) though written differently.
const EQUAL: &[(&str, &str)] = &[
    ("1", "01"),
    ("1", "001"),
    ("0", "00"),
    ("1.0", "1.00"),
    ("1.010", "1.0100"),
    ("1.0.2", "1.000.2"),
    ("1", "1-r0"),
    ("1-r1", "1-r01"),
    ("1_p", "1_p0"),
    ("1_beta1", "1_beta001"),
    ("01.01_pre08-r09", "1.01_pre8-r9"),
];

#[test]
fn versions_order_by_the_pms_algorithm() {
    for (a, b) in ORDERED {
        assert!(v(a) < v(b), "{a} < {b}");
        assert!(v(b) > v(a), "{b} > {a}");
        assert_ne!(v(a), v(b), "{a} != {b}");
    }
}

#[test]
fn differently_written_equal_versions_are_equal_and_hash_alike() {
    for (a, b) in EQUAL {
        assert_eq!(v(a), v(b), "{a} == {b}");
        assert_eq!(v(a).cmp(&v(b)), Ordering::Equal);
        let set: HashSet<Version> = [v(a), v(b)].into_iter().collect();
        assert_eq!(set.len(), 1, "{a} and {b} hash alike");
    }
}

#[test]
fn sorting_a_shuffled_list_gives_pms_order() {
    let sorted = [
        "0.9", "1_alpha", "1_alpha1", "1_beta", "1_pre", "1_rc1", "1", "1-r1", "1_p", "1_p1", "1a", "1.0",
        "1.0.1", "1.01", "1.1", "1.2", "1.10", "2",
    ];
    let mut list: Vec<Version> = sorted.iter().rev().map(|s| v(s)).collect();
    list.sort();
    let printed: Vec<String> = list.iter().map(Version::to_string).collect();
    assert_eq!(printed, sorted);
}

#[test]
fn valid_versions_parse_and_print_as_written() {
    for s in [
        "0",
        "1a",
        "1.2.3",
        "1.2.3b_rc1_p2-r1",
        "2024.01.05",
        "1_pre",
        "1_p0",
        "18446744073709551616",
        "1.18446744073709551616",
        "1-r18446744073709551616",
        "1_p18446744073709551616",
        "00001",
        "1.00.2_pre001-r01",
    ] {
        assert_eq!(v(s).to_string(), s);
        assert_eq!(v(s).as_str(), s);
    }
}

#[test]
fn invalid_versions_are_rejected_with_a_reason_and_span() {
    let cases: &[(&str, &str, std::ops::Range<usize>)] = &[
        ("", "empty version: expected a number such as `1.0`", 0..0),
        ("1.", "invalid version `1.`: empty version component", 1..2),
        (".1", "invalid version `.1`: empty version component", 0..1),
        ("1..2", "invalid version `1..2`: empty version component", 2..3),
        (".", "invalid version `.`: empty version component", 0..1),
        ("a1", "invalid version `a1`: a version must start with a number", 0..1),
        ("-1", "invalid version `-1`: a version must start with a number", 0..1),
        ("1.a", "invalid version `1.a`: expected a number after `.`, found `a`", 2..3),
        ("1aa", "invalid version `1aa`: unexpected `a` after the letter `a`", 2..3),
        ("1a.2", "invalid version `1a.2`: unexpected `.` after the letter `a`", 2..3),
        ("1A", "invalid version `1A`: unexpected `A`: a version letter must be lowercase", 1..2),
        ("1_a", "invalid version `1_a`: unknown suffix `_a` (expected _alpha, _beta, _pre, _rc or _p)", 1..3),
        (
            "1_pa-r1",
            "invalid version `1_pa-r1`: unknown suffix `_pa` (expected _alpha, _beta, _pre, _rc or _p)",
            1..4,
        ),
        ("1_", "invalid version `1_`: unknown suffix `_` (expected _alpha, _beta, _pre, _rc or _p)", 1..2),
        ("1-r", "invalid version `1-r`: revision `-r` needs a number, as in `-r1`", 1..3),
        ("1-r1-r2", "invalid version `1-r1-r2`: unexpected `-r2` after the revision", 4..7),
        ("1a-1", "invalid version `1a-1`: unexpected `-1`: a revision is written `-rN`", 2..4),
        ("1 ", "invalid version `1 `: unexpected ` `", 1..2),
        ("1Ҙ", "invalid version `1Ҙ`: unexpected `Ҙ`", 1..3),
    ];
    for (input, message, span) in cases {
        let err = Version::parse(input).expect_err(input);
        assert_eq!(err.message, *message, "{input:?}");
        assert_eq!(err.span, *span, "{input:?}");
    }
}

#[test]
fn revision_and_base_split_off_the_rn_part() {
    assert_eq!(v("1.2-r3").revision(), Some("3"));
    assert_eq!(v("1.2").revision(), None);
    assert_eq!(v("1.2_p1-r3").base(), "1.2_p1");
    assert_eq!(v("1.2_p1-r3").without_revision().to_string(), "1.2_p1");
    assert_eq!(v("1.2_p1-r3").without_revision(), v("1.2_p1"));
}

#[test]
fn glob_matches_whole_components_only() {
    let matching = [
        ("1", "1"),
        ("1", "1.2"),
        ("1", "1b"),
        ("1", "1_rc1"),
        ("1", "1-r3"),
        ("1.2", "1.2.3"),
        ("1.2", "1.2_p1"),
        ("1.2_p", "1.2_p5"),
        ("1.2_p", "1.2_p"),
        ("3-r1", "3-r1"),
        ("01", "1.5"),
        ("1", "001.5"),
        ("0", "0.1"),
    ];
    for (pattern, candidate) in matching {
        assert!(v(pattern).glob_matches(&v(candidate)), "={pattern}* matches {candidate}");
    }
    let not_matching = [
        ("1", "10"),
        ("1.2", "1.20"),
        ("1.2", "1.1"),
        ("1.2_p1", "1.2_p10"),
        ("3-r1", "3-r10"),
        ("2", "1.2"),
    ];
    for (pattern, candidate) in not_matching {
        assert!(!v(pattern).glob_matches(&v(candidate)), "={pattern}* does not match {candidate}");
    }
}

#[test]
fn tilde_ignores_only_the_revision() {
    assert!(v("1.2").tilde_matches(&v("1.2-r5")));
    assert!(v("1.2").tilde_matches(&v("1.2")));
    assert!(!v("1.2").tilde_matches(&v("1.02")), "1.02 < 1.2 under PMS 3.3");
    assert!(!v("1.2").tilde_matches(&v("1.2.1")));
    assert!(!v("1.2").tilde_matches(&v("1.2_p1")));
}

#[test]
fn versions_round_trip_through_serde_as_strings() {
    let json = serde_json::to_string(&v("1.0-r1")).unwrap();
    assert_eq!(json, "\"1.0-r1\"");
    assert_eq!(serde_json::from_str::<Version>(&json).unwrap().as_str(), "1.0-r1");
    let err = serde_json::from_str::<Version>("\"1..2\"").unwrap_err();
    assert!(err.to_string().contains("empty version component"), "{err}");
}
