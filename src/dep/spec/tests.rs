use super::*;

fn spec(s: &str) -> DepSpec {
    DepSpec::parse(s).unwrap_or_else(|e| panic!("{s}: {e} at {:?}", e.span))
}

/// Dependency strings of the shapes found in Gentoo's tree (with eclass variables such as
/// `${PYTHON_DEPS}` and `${MULTILIB_USEDEP}` expanded as the md5-cache holds them), each with
/// its atom count.
const GENTOO_SHAPES: &[(&str, usize)] = &[
    ("sys-libs/zlib", 1),
    (">=dev-libs/openssl-1.0.2:0=[abi_x86_32(-)?,abi_x86_64(-)?,abi_x86_x32(-)?]", 1),
    ("python_targets_python3_12? ( dev-lang/python:3.12 )", 1),
    (
        "python_targets_python3_11? ( dev-lang/python:3.11 ) python_targets_python3_12? ( dev-lang/python:3.12 ) \
         python_targets_python3_13? ( dev-lang/python:3.13 ) >=dev-lang/python-exec-2:=[python_targets_python3_11(-)?,\
         python_targets_python3_12(-)?,python_targets_python3_13(-)?]",
        4,
    ),
    (
        "python_single_target_python3_12? ( dev-lang/python:3.12[sqlite] \
         dev-python/lxml[python_targets_python3_12(-)] )",
        2,
    ),
    ("ssl? ( >=dev-libs/openssl-3:= )", 1),
    ("ssl? ( || ( dev-libs/openssl:0= dev-libs/libressl:0= ) )", 2),
    ("!minimal? ( dev-libs/libxml2:2= sys-libs/ncurses:0= )", 2),
    ("|| ( app-arch/xz-utils app-arch/lzma )", 2),
    ("|| ( >=sys-devel/gcc-4.8:* >=sys-devel/clang-3.3:* )", 2),
    ("|| ( dev-lang/rust:* dev-lang/rust-bin:* )", 2),
    ("|| ( ( dev-qt/qtcore:5 dev-qt/qtgui:5 ) dev-qt/qtbase:6[gui] )", 3),
    ("X? ( x11-libs/libX11 x11-libs/libXext x11-libs/libXrender )", 3),
    ("gtk? ( x11-libs/gtk+:3[X?,wayland?] ) qt5? ( dev-qt/qtwidgets:5= )", 2),
    ("!<sys-apps/sandbox-2.2", 1),
    ("!!<sys-apps/portage-2.3.68", 1),
    ("!app-text/dos2unix !<app-text/unix2dos-2.3", 2),
    ("!sys-apps/systemd-utils[udev]", 1),
    ("=dev-lang/python-3.12*", 1),
    ("=sys-devel/gcc-13*:13", 1),
    ("~dev-lang/perl-5.38.2", 1),
    ("~sys-kernel/linux-headers-6.6", 1),
    ("sys-apps/portage::gentoo", 1),
    (">=sys-apps/baselayout-2.9::gentoo", 1),
    ("dev-libs/glib:2[introspection?]", 1),
    ("virtual/libintl[${MULTILIB_USEDEP}]", 0),
    ("virtual/libintl[abi_x86_32(-)?,abi_x86_64(-)?,abi_x86_x32(-)?,abi_mips_n32(-)?,abi_mips_n64(-)?]", 1),
    (">=media-libs/libpng-1.6.10:0=[abi_x86_32(-)?,abi_x86_64(-)?]", 1),
    (">=x11-libs/libdrm-2.4.110[video_cards_intel?,video_cards_amdgpu?,abi_x86_32(-)?]", 1),
    ("dev-lang/perl:=", 1),
    ("virtual/perl-ExtUtils-MakeMaker", 1),
    ("dev-qt/qtbase:6=[dbus,gui,network,widgets]", 1),
    ("media-libs/mesa[egl(+),gbm(+)]", 1),
    ("sys-libs/glibc[-crypt(-)]", 1),
    ("net-misc/curl[ssl,curl_ssl_openssl(-)]", 1),
    ("elibc_glibc? ( >=sys-libs/glibc-2.13 )", 1),
    ("elibc_musl? ( sys-libs/fts-standalone sys-libs/obstack-standalone )", 2),
    ("kernel_linux? ( sys-apps/util-linux ) !kernel_linux? ( dev-libs/libuuid )", 2),
    ("test? ( dev-util/cmocka >=dev-cpp/gtest-1.10 )", 2),
    ("doc? ( app-text/doxygen[dot] dev-python/sphinx )", 2),
    ("nls? ( >=sys-devel/gettext-0.19.8 ) virtual/pkgconfig", 2),
    (
        "llvm_slot_17? ( sys-devel/llvm:17= sys-devel/clang:17= ) \
         llvm_slot_18? ( sys-devel/llvm:18= sys-devel/clang:18= )",
        4,
    ),
    ("|| ( sys-devel/llvm:18 sys-devel/llvm:17 sys-devel/llvm:16 )", 3),
    ("|| ( ( sys-devel/clang:18 sys-devel/llvm:18 ) ( sys-devel/clang:17 sys-devel/llvm:17 ) )", 4),
    ("verify-sig? ( sec-keys/openpgp-keys-gentoo-release )", 1),
    ("systemd? ( sys-apps/systemd:= ) !systemd? ( sys-apps/openrc )", 2),
    ("pam? ( sys-libs/pam ) selinux? ( sec-policy/selinux-sshd )", 2),
    ("acl? ( virtual/acl ) xattr? ( sys-apps/attr )", 2),
    ("sys-apps/util-linux[static-libs(+),abi_x86_32(-)?]", 1),
    ("dev-libs/libpcre2:=[static-libs?]", 1),
    ("static? ( dev-libs/libpcre2[static-libs(+)] ) !static? ( dev-libs/libpcre2:= )", 2),
    ("app-alternatives/sh >=app-shells/bash-5.1:0 sys-apps/coreutils", 3),
    (">=dev-build/meson-1.2.3 app-alternatives/ninja >=dev-util/pkgconf-1.3.7[pkg-config(+)]", 3),
    ("dev-build/autoconf:2.71 >=dev-build/automake-1.16.5:1.16 >=dev-build/libtool-2.4.7", 3),
    ("|| ( dev-build/automake:1.17 >=dev-build/automake-1.16.5:1.16 )", 2),
    ("sys-kernel/linux-headers:0/6.6", 1),
    ("media-video/ffmpeg:0/58.60.60", 1),
    ("dev-libs/boost:=[threads(+),python?,${PYTHON_USEDEP}]", 0),
    ("dev-libs/boost:=[threads(+),python?,python_targets_python3_12(-)?]", 1),
    ("cuda? ( dev-util/nvidia-cuda-toolkit:= ) rocm? ( || ( =dev-util/hip-6.1* =dev-util/hip-6.0* ) )", 3),
    ("|| ( net-libs/nodejs[npm] net-libs/nodejs-bin )", 2),
    ("amd64? ( dev-lang/nasm ) x86? ( dev-lang/nasm )", 2),
    ("!prefix? ( >=sys-apps/sandbox-2.2 ) prefix? ( sys-devel/gnuconfig )", 2),
    ("dev-libs/libxml2:2=[icu?] icu? ( dev-libs/icu:= )", 2),
    ("!!dev-python/setuptools-scm[-python_targets_python3_12(-)]", 1),
    ("=dev-libs/openssl-3.0.13-r1:0/3::gentoo", 1),
    (">=sys-libs/ncurses-6.2:0=[unicode(+)] <sys-libs/ncurses-7", 2),
    ("gui? ( || ( dev-qt/qtgui:5[X(-)?,wayland(-)?] dev-qt/qtbase:6[gui,X(-)?] ) )", 2),
];

#[test]
fn dependency_strings_from_the_gentoo_tree_parse_and_print_back() {
    assert!(GENTOO_SHAPES.len() >= 50);
    for (text, atoms) in GENTOO_SHAPES {
        if text.contains("${") {
            // An unexpanded eclass variable is not valid PMS: the loader must expand first.
            assert!(DepSpec::parse(text).is_err(), "{text}");
            continue;
        }
        let parsed = spec(text);
        assert_eq!(parsed.atoms().count(), *atoms, "{text}");
        let printed = parsed.to_string();
        assert_eq!(spec(&printed), parsed, "{text}");
        let canonical: Vec<&str> = text.split_ascii_whitespace().collect();
        assert_eq!(printed, canonical.join(" "), "canonical text of {text}");
    }
}

#[test]
fn groups_and_conditionals_build_the_tree_they_spell() {
    let parsed = spec("a/b || ( c/d ( e/f g/h ) ) !x? ( i/j )");
    let atom = |s: &str| DepNode::Atom(Atom::parse(s).unwrap());
    assert_eq!(
        parsed.nodes(),
        [
            atom("a/b"),
            DepNode::AnyOf(vec![atom("c/d"), DepNode::AllOf(vec![atom("e/f"), atom("g/h")])]),
            DepNode::UseCond { flag: "x".into(), negated: true, children: vec![atom("i/j")] },
        ]
    );
}

#[test]
fn blank_text_is_the_empty_specification() {
    for text in ["", "  ", "\n\t \n"] {
        assert!(spec(text).is_empty());
        assert_eq!(spec(text).to_string(), "");
    }
}

#[test]
fn evaluation_keeps_true_conditionals_and_drops_false_ones() {
    let parsed =
        spec("a/a ssl? ( b/b !static? ( c/c ) ) !ssl? ( d/d ) || ( e/e gtk? ( f/f ) ) ( x? ( g/g ) )");
    let cases = [
        (&[][..], "a/a d/d || ( e/e ) ( )"),
        (&["ssl"][..], "a/a b/b c/c || ( e/e ) ( )"),
        (&["ssl", "static", "gtk", "x"][..], "a/a b/b || ( e/e f/f ) ( g/g )"),
    ];
    for (enabled, expected) in cases {
        let on = |flag: &str| enabled.contains(&flag);
        assert_eq!(parsed.evaluate(&on).to_string(), expected, "with {enabled:?}");
    }
}

#[test]
fn evaluation_can_leave_an_any_of_group_empty() {
    let evaluated = spec("|| ( x? ( a/a ) )").evaluate(&|_: &str| false);
    assert_eq!(evaluated.nodes(), [DepNode::AnyOf(vec![])]);
}

#[test]
fn atoms_walks_every_atom_in_textual_order() {
    let parsed = spec("a/a x? ( || ( b/b ( c/c ) ) d/d ) e/e");
    let names: Vec<String> = parsed.atoms().map(|a| a.to_string()).collect();
    assert_eq!(names, ["a/a", "b/b", "c/c", "d/d", "e/e"]);
}

#[test]
fn atom_spans_line_up_with_atoms() {
    let text = "a/a x? ( || ( >=b/b-1 ) )\n  c/c[d?]";
    let (parsed, spans) = DepSpec::parse_with_atom_spans(text).unwrap();
    let pairs: Vec<(String, &str)> =
        parsed.atoms().zip(&spans).map(|(a, s)| (a.to_string(), &text[s.clone()])).collect();
    assert_eq!(pairs, [("a/a".into(), "a/a"), (">=b/b-1".into(), ">=b/b-1"), ("c/c[d?]".into(), "c/c[d?]")]);
}

#[test]
fn flags_lists_conditions_and_conditional_use_deps_once_each() {
    let parsed = spec("ssl? ( a/a[gtk?,-doc,static=] ) !ssl? ( b/b[!qt?,!x=,y] ) c/c[ssl(+)?]");
    let flags: Vec<&str> = parsed.flags().into_iter().collect();
    assert_eq!(flags, ["gtk", "qt", "ssl", "static", "x"]);
}

#[test]
fn syntax_errors_say_what_was_expected_and_where() {
    let cases: &[(&str, &str, std::ops::Range<usize>)] = &[
        ("( a/b", "expected `)` to close the group opened here", 5..5),
        ("a/b )", "unexpected `)`: no group is open", 4..5),
        ("|| a/b", "expected `(` after `||`, found `a/b`", 3..6),
        ("a/b ||", "expected `(` after `||`", 6..6),
        ("|| || ( a/b )", "expected `(` after `||`, found `||`", 3..5),
        ("ssl? a/b", "expected `(` after `ssl?`, found `a/b`", 5..8),
        ("foo?", "expected `(` after `foo?`", 4..4),
        ("||( a/b )", "expected whitespace before `(`", 2..3),
        ("( a/b)", "expected whitespace before `)`", 5..6),
        ("|| (a/b )", "expected `(` after `||`, found `(a/b`", 3..7),
        ("( )", "empty group `( )`", 0..3),
        ("x/y || ( )", "empty group `|| ( )`", 4..10),
        ("!foo? ( )", "empty group `!foo? ( )`", 0..9),
        ("!1.0? ( a/b )", "invalid condition `!1.0?`: invalid character `.` in USE flag name `1.0`", 2..3),
        ("? ( a/b )", "invalid condition `?`: empty USE flag name", 0..0),
        ("^^ ( a/b )", "`^^` groups are only allowed in REQUIRED_USE", 0..2),
        ("a/b | ( c/d )", "unknown operator `|`: expected `||`", 4..5),
        ("use ( a/b )", "expected `category/package`, found `use`", 0..3),
        ("foo? ( A )", "expected `category/package`, found `A`", 7..8),
        ("a/b >=c/d-1..2", "invalid version `1..2`: empty version component", 12..13),
        ("a/b c/d[!-doc]", "unknown USE dependency form `!-doc`: expected a flag name after `!`", 8..13),
    ];
    for (input, message, span) in cases {
        let err = DepSpec::parse(input).expect_err(input);
        assert_eq!(err.message, *message, "{input}");
        assert_eq!(err.span, *span, "{input}");
    }
}

#[test]
fn an_unclosed_group_points_back_at_its_open_paren() {
    let err = DepSpec::parse("a/b x? ( || ( c/d )").unwrap_err();
    assert_eq!(err.span, 19..19);
    assert_eq!(err.related, Some((7..8, "group opened here".to_string())));
}

#[test]
fn nesting_beyond_the_limit_is_refused() {
    let deep = format!(
        "{}a/b{}",
        "( ".repeat(crate::dep::lex::MAX_DEPTH + 1),
        " )".repeat(crate::dep::lex::MAX_DEPTH + 1)
    );
    let err = DepSpec::parse(&deep).unwrap_err();
    assert_eq!(err.message, format!("groups are nested more than {} deep", crate::dep::lex::MAX_DEPTH));
    let ok =
        format!("{}a/b{}", "( ".repeat(crate::dep::lex::MAX_DEPTH), " )".repeat(crate::dep::lex::MAX_DEPTH));
    assert_eq!(spec(&ok).atoms().count(), 1);
}
