//! `ingot resolve` and `ingot graph` over the fixture tree: every resolver rule, in human and
//! JSON form, and every resolver error with the chain that explains it.

mod common;
use common::{ingot, stderr, stdout};

fn resolve_ok(profile: &str, extra: &[&str]) -> String {
    let out = ingot("tree").arg("resolve").arg(profile).args(extra).output().unwrap();
    assert!(out.status.success(), "resolve {profile} failed:\n{}", stderr(&out));
    stdout(&out)
}

fn resolve_err(profile: &str) -> String {
    let out = ingot("tree").arg("resolve").arg(profile).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "resolve {profile} should fail:\n{}", stdout(&out));
    stderr(&out)
}

#[test]
fn plan_lists_packages_dependencies_first_like_emerge() {
    insta::assert_snapshot!(resolve_ok("ok", &[]));
}

#[test]
fn features_stack_iuse_defaults_then_profile_then_package_use() {
    let out = resolve_ok("ok", &[]);
    // IUSE `+static` turned off by the base profile's `-static`.
    assert!(out.contains("sys-libs/libc-1.0 [0] USE=\"-debug -static\""), "{out}");
    // Global `ssl` from the child profile, `+ipv6` from IUSE.
    assert!(out.contains("dev-libs/curl-8.5.0 [0] USE=\"ipv6 ssl\""), "{out}");
    // Per-package `-ssl` beats the global `ssl`.
    assert!(out.contains("net-misc/sshd-9.6 [0] USE=\"zlib -pam -ssl\""), "{out}");
}

#[test]
fn two_slots_of_one_package_coexist() {
    let out = resolve_ok("ok", &[]);
    assert!(out.contains("dev-libs/ssl-1.1 [0/1.1]"), "{out}");
    assert!(out.contains("dev-libs/ssl-3.0 [3/3.0]"), "{out}");
}

#[test]
fn version_pin_hides_newer_versions() {
    let out = resolve_ok("ok", &[]);
    assert!(out.contains("dev-libs/zlib-1.3.1"), "{out}");
    assert!(!out.contains("zlib-2.0_beta1"), "{out}");
}

#[test]
fn any_of_prefers_an_alternative_already_in_the_plan() {
    // `app-alt/two` is in world, so `|| ( app-alt/one app-alt/two )` takes it, not the first.
    let out = resolve_ok("ok", &[]);
    assert!(out.contains("app-alt/two-1.0"), "{out}");
    assert!(!out.contains("app-alt/one"), "{out}");
}

#[test]
fn any_of_takes_the_first_alternative_otherwise() {
    let out = resolve_ok("ok", &["app-misc/either"]);
    assert_eq!(out, "app-alt/one-1.0 [0]\napp-misc/either-1.0 [0]\n");
}

#[test]
fn atoms_on_the_command_line_replace_world() {
    let out = resolve_ok("ok", &["=dev-libs/zlib-1.2.13"]);
    assert_eq!(
        out,
        "sys-libs/libc-1.0 [0] USE=\"-debug -static\"\ndev-libs/zlib-1.2.13 [0] USE=\"-minizip\"\n"
    );
}

#[test]
fn run_time_cycles_are_allowed_and_post_dependencies_come_after() {
    let out = resolve_ok("ok", &[]);
    let pos = |s: &str| out.find(s).unwrap_or_else(|| panic!("{s} missing:\n{out}"));
    assert!(pos("sys-apps/runa-1.0") > pos("sys-libs/libc-1.0"));
    assert!(pos("sys-apps/runb-1.0") > pos("sys-libs/libc-1.0"));
    // postb build-depends on posta, which post-depends on postb.
    assert!(pos("sys-apps/posta-1.0") < pos("sys-apps/postb-1.0"));
}

#[test]
fn slot_conflicts_are_settled_by_choosing_a_version_that_satisfies_everyone() {
    assert_eq!(
        resolve_ok("slot-settle", &[]),
        "lib/dual-1.0 [0]\napp-misc/wants-any-1.0 [0]\napp-misc/wants-old-1.0 [0]\n"
    );
}

#[test]
fn json_plan_has_names_versions_slots_enabled_flags_and_typed_deps() {
    let out = resolve_ok("ok", &["--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let pkgs = v["packages"].as_array().unwrap();
    let curl = pkgs.iter().find(|p| p["name"] == "dev-libs/curl").unwrap();
    assert_eq!(curl["version"], "8.5.0");
    assert_eq!(curl["slot"], "0");
    assert_eq!(curl["use"], serde_json::json!(["ipv6", "ssl"]));
    let deps: Vec<(String, String)> = curl["deps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["name"].as_str().unwrap().to_string(), d["kind"].as_str().unwrap().to_string()))
        .collect();
    assert!(deps.contains(&("dev-libs/ssl".into(), "build".into())), "{deps:?}");
    assert!(deps.contains(&("dev-libs/ssl".into(), "run".into())), "{deps:?}");
    assert!(deps.contains(&("sys-libs/libc".into(), "build".into())), "{deps:?}");
    let names: Vec<&str> = pkgs.iter().map(|p| p["name"].as_str().unwrap()).collect();
    let pos = |n: &str| names.iter().position(|x| *x == n).unwrap();
    assert!(pos("dev-libs/ssl") < pos("dev-libs/curl"));
}

#[test]
fn tree_shows_why_each_package_is_pulled_in() {
    insta::assert_snapshot!(resolve_ok("ok", &["--tree"]));
}

#[test]
fn use_conflict_names_the_chain_and_the_profile_fix() {
    insta::assert_snapshot!(resolve_err("use-conflict"));
}

#[test]
fn blocker_names_both_packages_and_their_chains() {
    insta::assert_snapshot!(resolve_err("blocker"));
}

#[test]
fn required_use_failure_says_which_constraint_and_why() {
    insta::assert_snapshot!(resolve_err("required-use"));
}

#[test]
fn build_cycle_prints_the_whole_cycle() {
    let err = resolve_err("build-cycle");
    assert!(
        err.contains("dev-util/aa-1.0 -> dev-util/bb-1.0 -> dev-util/cc-1.0 -> dev-util/aa-1.0"),
        "{err}"
    );
}

#[test]
fn unsettleable_slot_conflict_names_both_requests() {
    insta::assert_snapshot!(resolve_err("slot-conflict"));
}

#[test]
fn masked_versions_are_explained() {
    insta::assert_snapshot!(resolve_err("masked"));
}

#[test]
fn unknown_package_is_an_error_naming_who_asked() {
    let out = ingot("tree").args(["resolve", "ok", "app-misc/nope"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("no package `app-misc/nope` in the recipe tree"), "{}", stderr(&out));
}

#[test]
fn bad_atom_on_the_command_line_is_a_usage_error() {
    let out = ingot("tree").args(["resolve", "ok", "not an atom"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("invalid atom `not an atom` on the command line"), "{}", stderr(&out));
}

#[test]
fn unknown_profile_lists_the_known_ones() {
    let out = ingot("tree").args(["resolve", "nosuch"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("no profile `nosuch`"), "{err}");
    assert!(err.contains("base, blocker, build-cycle"), "{err}");
}

#[test]
fn graph_dot_styles_edges_by_kind() {
    let out = ingot("tree").args(["graph", "ok"]).output().unwrap();
    assert!(out.status.success());
    let dot = stdout(&out);
    assert!(dot.starts_with("digraph \"ok\" {"), "{dot}");
    assert!(
        dot.contains("\"dev-libs/curl-8.5.0\" -> \"dev-libs/ssl-3.0\" [style=solid, label=\"build\"];"),
        "{dot}"
    );
    assert!(
        dot.contains("\"dev-libs/curl-8.5.0\" -> \"dev-libs/ssl-3.0\" [style=dotted, label=\"run\"];"),
        "{dot}"
    );
    assert!(
        dot.contains(
            "\"sys-apps/posta-1.0\" -> \"sys-apps/postb-1.0\" [style=bold, color=grey, label=\"post\"];"
        ),
        "{dot}"
    );
}

#[test]
fn graph_json_has_nodes_and_typed_edges() {
    let out = ingot("tree").args(["graph", "ok", "--format", "json"]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        v["nodes"].as_array().unwrap().iter().any(|n| n["id"] == "net-misc/sshd-9.6" && n["root"] == true)
    );
    assert!(
        v["edges"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["from"] == "sys-apps/posta-1.0" && e["kind"] == "post")
    );
}

#[test]
fn global_options_work_after_the_subcommand() {
    let out = assert_cmd::cargo::cargo_bin_cmd!("ingot")
        .current_dir(common::fixtures())
        .args(["resolve", "ok", "--recipes", "tree/recipes", "--profiles", "tree/profiles", "-q"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
}
