use super::*;
use crate::configure::testing::{group, system, user};

const SEED: [u8; 32] = [9; 32];
const DAY: u64 = 19_000;

fn existing(passwd: &str, group: &str, shadow: &str) -> Existing {
    Existing {
        passwd: db::parse_passwd(PASSWD, passwd).unwrap(),
        group: db::parse_group(GROUP, group).unwrap(),
        shadow: db::parse_raw(SHADOW, shadow, 9).unwrap(),
        gshadow: None,
    }
}

fn baselayout() -> Existing {
    existing(
        "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/var/empty:/sbin/nologin\nbin:x:1:1:bin:/bin:/sbin/nologin\n",
        "root:x:0:root\nbin:x:1:root,bin\nwheel:x:10:root\nusers:x:100:\nnogroup:x:65534:\n",
        "root:*:10770:0:::::\nbin:*:10770:0:::::\n",
    )
}

fn passwd_text(a: &Accounts) -> String {
    a.users.iter().map(Passwd::render).collect()
}

fn group_text(a: &Accounts) -> String {
    a.groups.iter().map(GroupLine::render).collect()
}

#[test]
fn profile_users_join_the_tree_accounts_sorted_by_id() {
    let mut admin = user(0, "admin", 1000);
    admin.groups = vec!["wheel".into()];
    admin.gecos = "Admin".into();
    let a = merge(&system(vec![admin], vec![]), baselayout(), &SEED, DAY).unwrap();
    assert_eq!(
        passwd_text(&a),
        "root:x:0:0:root:/root:/bin/sh\n\
         bin:x:1:1:bin:/bin:/sbin/nologin\n\
         admin:x:1000:1000:Admin:/home/admin:/bin/sh\n\
         nobody:x:65534:65534:nobody:/var/empty:/sbin/nologin\n"
    );
    assert_eq!(
        group_text(&a),
        "root:x:0:root\nbin:x:1:root,bin\nwheel:x:10:root,admin\nusers:x:100:\nadmin:x:1000:\nnogroup:x:65534:\n"
    );
    assert_eq!(
        a.shadow,
        ["root:*:10770:0:::::", "bin:*:10770:0:::::", "admin:!:19000::::::", "nobody:!:19000::::::"]
    );
}

#[test]
fn root_and_its_group_exist_even_in_an_empty_tree() {
    let a = merge(&system(vec![], vec![]), Existing::default(), &SEED, DAY).unwrap();
    assert_eq!(passwd_text(&a), "root:x:0:0:root:/root:/bin/sh\n");
    assert_eq!(group_text(&a), "root:x:0:\n");
    assert_eq!(a.shadow, ["root:!:19000::::::"]);
}

#[test]
fn a_profile_user_replaces_the_tree_user_of_the_same_name() {
    let mut root = user(0, "root", 0);
    root.shell = "/bin/ash".into();
    root.password = Some("*".into());
    let a = merge(&system(vec![root], vec![]), baselayout(), &SEED, DAY).unwrap();
    assert_eq!(a.users[0].render(), "root:x:0:0::/root:/bin/ash\n");
    assert_eq!(a.shadow[0], "root:*:19000::::::");
}

#[test]
fn primary_group_is_gid_then_same_name_group_then_a_new_one() {
    let mut given = user(0, "given", 2000);
    given.gid = Some(100);
    let named = user(1, "named", 2001);
    let fresh = user(2, "fresh", 2002);
    let sys = system(vec![given, named, fresh], vec![group(0, "named", 3000)]);
    let a = merge(&sys, baselayout(), &SEED, DAY).unwrap();
    assert_eq!(a.user("given").unwrap().gid, 100);
    assert_eq!(a.user("named").unwrap().gid, 3000);
    assert_eq!(a.user("fresh").unwrap().gid, 2002);
    assert_eq!(a.group("fresh").unwrap().gid, 2002);
    assert!(a.group("given").is_none());
}

#[test]
fn a_tree_group_of_the_users_name_is_its_primary_group() {
    let tree = existing("", "sshd:x:22:\n", "");
    let a = merge(&system(vec![user(0, "sshd", 22)], vec![]), tree, &SEED, DAY).unwrap();
    assert_eq!(a.user("sshd").unwrap().gid, 22);
    assert_eq!(a.groups.iter().filter(|g| g.name == "sshd").count(), 1);
}

#[test]
fn a_profile_group_replaces_the_tree_group_and_lists_its_members_first() {
    let mut admin = user(0, "admin", 1000);
    admin.groups = vec!["wheel".into()];
    let mut wheel = group(0, "wheel", 10);
    wheel.members = vec!["bin".into()];
    let a = merge(&system(vec![admin], vec![wheel]), baselayout(), &SEED, DAY).unwrap();
    assert_eq!(a.group("wheel").unwrap().render(), "wheel:x:10:bin,admin\n");
    assert_eq!(a.memberships("admin"), ["wheel"]);
}

#[test]
fn unknown_supplementary_group_names_the_users_key() {
    let mut admin = user(1, "admin", 1000);
    admin.groups = vec!["wheel2".into()];
    let e = merge(&system(vec![admin], vec![]), baselayout(), &SEED, DAY).unwrap_err();
    assert_eq!(e.to_string(), "system.users[1].groups: unknown group \"wheel2\"");
}

#[test]
fn unknown_group_member_names_the_groups_key() {
    let mut g = group(0, "staff", 50);
    g.members = vec!["ghost".into()];
    let e = merge(&system(vec![], vec![g]), baselayout(), &SEED, DAY).unwrap_err();
    assert_eq!(e.to_string(), "system.groups[0].members: unknown user \"ghost\"");
}

#[test]
fn a_gid_no_group_has_is_an_error() {
    let mut u = user(0, "admin", 1000);
    u.gid = Some(4242);
    let e = merge(&system(vec![u], vec![]), baselayout(), &SEED, DAY).unwrap_err();
    assert_eq!(e.to_string(), "system.users[0].gid: no group has gid 4242");
}

#[test]
fn a_users_own_group_cannot_take_a_used_gid() {
    let e = merge(&system(vec![user(0, "admin", 100)], vec![]), baselayout(), &SEED, DAY).unwrap_err();
    assert_eq!(
        e.to_string(),
        "system.users[0]: the user's own group \"admin\" would get gid 100, which group \"users\" has; \
         set `gid` or declare group \"admin\""
    );
}

#[test]
fn duplicate_ids_name_both_accounts() {
    let e = merge(&system(vec![user(0, "daemon2", 1)], vec![]), baselayout(), &SEED, DAY).unwrap_err();
    // uid 1's own group would take gid 1 from `bin` first; give it a gid to reach the uid check.
    assert!(e.to_string().contains("gid 1"), "{e}");
    let mut u = user(0, "daemon2", 1);
    u.gid = Some(1);
    let e = merge(&system(vec![u], vec![]), baselayout(), &SEED, DAY).unwrap_err();
    assert_eq!(e.to_string(), "system.users[0]: uid 1 of \"daemon2\" is already used by \"bin\"");
    let e = merge(&system(vec![], vec![group(3, "admins", 10)]), baselayout(), &SEED, DAY).unwrap_err();
    assert_eq!(e.to_string(), "system.groups[3]: gid 10 of \"admins\" is already used by \"wheel\"");
}

#[test]
fn invalid_fields_name_their_key() {
    let mut u = user(0, "bad:name", 1000);
    let e = merge(&system(vec![u.clone()], vec![]), Existing::default(), &SEED, DAY).unwrap_err();
    assert!(e.to_string().starts_with("system.users[0].name: invalid name \"bad:name\""), "{e}");
    u.name = "ok".into();
    u.gecos = "a:b".into();
    let e = merge(&system(vec![u.clone()], vec![]), Existing::default(), &SEED, DAY).unwrap_err();
    assert_eq!(e.to_string(), "system.users[0].gecos: \"a:b\" must not contain `:` or a newline");
    u.gecos = String::new();
    u.home = Some("home/ok".into());
    let e = merge(&system(vec![u.clone()], vec![]), Existing::default(), &SEED, DAY).unwrap_err();
    assert_eq!(e.to_string(), "system.users[0].home: \"home/ok\" must be an absolute path");
    u.home = Some("/".into());
    let e = merge(&system(vec![u], vec![]), Existing::default(), &SEED, DAY).unwrap_err();
    assert_eq!(e.to_string(), "system.users[0].home: `/` cannot be a home directory");
}

#[test]
fn password_and_password_plain_together_are_an_error() {
    let mut u = user(2, "demo", 1000);
    u.password = Some("!".into());
    u.password_plain = Some("demo".into());
    let e = merge(&system(vec![u], vec![]), Existing::default(), &SEED, DAY).unwrap_err();
    assert_eq!(e.to_string(), "system.users[2]: set `password` or `password_plain`, not both");
}

#[test]
fn a_password_that_is_not_a_hash_is_an_error() {
    let mut u = user(0, "demo", 1000);
    u.password = Some("hunter2".into());
    let e = merge(&system(vec![u], vec![]), Existing::default(), &SEED, DAY).unwrap_err();
    assert_eq!(
        e.to_string(),
        "system.users[0].password: not a crypt(3) hash: expected a crypt(3) hash (\"$6$…\", \"$5$…\", \"$y$…\"), \"!\" or \"*\""
    );
}

#[test]
fn plain_passwords_are_hashed_reproducibly() {
    let mut u = user(0, "demo", 1000);
    u.password_plain = Some("demo".into());
    let sys = system(vec![u], vec![]);
    let a = merge(&sys, Existing::default(), &SEED, DAY).unwrap();
    let b = merge(&sys, Existing::default(), &SEED, DAY).unwrap();
    assert_eq!(a, b);
    let hash = a.shadow[1].split(':').nth(1).unwrap();
    assert!(hash.starts_with("$6$rounds=5000$"), "{hash}");
    assert_eq!(hash, password::hash_plain("demo", &password::salt(&SEED, "demo")).unwrap());
}

#[test]
fn gshadow_follows_the_groups_only_when_the_tree_has_one() {
    let mut tree = baselayout();
    tree.gshadow = Some(db::parse_raw(GSHADOW, "root:::root\nwheel:secret:root:root\n", 4).unwrap());
    let mut admin = user(0, "admin", 1000);
    admin.groups = vec!["wheel".into()];
    let a = merge(&system(vec![admin.clone()], vec![]), tree, &SEED, DAY).unwrap();
    let g = a.gshadow.unwrap();
    assert!(g.contains(&"wheel:secret:root:root,admin".to_string()), "{g:?}");
    assert!(g.contains(&"admin:!::".to_string()), "{g:?}");
    let a = merge(&system(vec![admin], vec![]), baselayout(), &SEED, DAY).unwrap();
    assert!(a.gshadow.is_none());
}

#[test]
fn merging_its_own_output_changes_nothing() {
    let mut admin = user(0, "admin", 1000);
    admin.groups = vec!["wheel".into(), "users".into()];
    admin.password_plain = Some("demo".into());
    let sys = system(vec![admin], vec![group(0, "staff", 50)]);
    let first = merge(&sys, baselayout(), &SEED, DAY).unwrap();
    let again = existing(&passwd_text(&first), &group_text(&first), &joined(&first.shadow));
    assert_eq!(merge(&sys, again, &SEED, DAY).unwrap(), first);
}
