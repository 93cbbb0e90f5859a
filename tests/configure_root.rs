//! Configure over a small staged tree: accounts, homes, templated files, services, identity
//! files, and the same result when run twice.

mod configure_support;
use configure_support::{Fixture, SEED};
use ingot::stage::EntryMeta;
use sha_crypt::{PasswordVerifier, ShaCrypt};

const PROFILE: &str = r#"
[system]
hostname = "box"
timezone = "Europe/Paris"
services = ["syslogd", "dropbear"]

[system.vars]
motd = "Be nice"
port = 2222

[[system.groups]]
name = "staff"
gid = 50

[[system.users]]
name = "admin"
uid = 1000
groups = ["wheel", "staff"]
gecos = "Administrator"
password_plain = "demo"
authorized_keys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample admin@host", "ssh-rsa AAAAB3Nza second"]

[[system.users]]
name = "svc"
uid = 200
gid = 100
shell = "/sbin/nologin"
home = "/var/lib/svc"

[[system.files]]
path = "/etc/motd"
content = "Welcome to {{ hostname }} ({{ profile }}, {{ timezone }}): {{ vars.motd }}\n"
template = true

[[system.files]]
path = "/etc/dropbear/config"
mode = "0640"
owner = "admin"
group = "staff"
source = "dropbear.conf"
template = true

[[system.files]]
path = "/etc/issue"
content = "{{ not a template }}\n"
"#;

const DROPBEAR_CONF: &str = "port={{ vars.port }}\n\
{% for u in users if u.uid >= 1000 and u.uid < 65534 %}allow={{ u.name }} in {{ u.groups | join(',') }}\n{% endfor %}";

fn configured() -> (Fixture, ingot::configure::Report) {
    let mut fx = Fixture::new();
    let profile = fx.profile(PROFILE, &[("dropbear.conf", DROPBEAR_CONF)]);
    let report = fx.configure(&profile).unwrap();
    (fx, report)
}

#[test]
fn passwd_and_group_keep_tree_accounts_and_add_the_profiles_sorted_by_id() {
    let (fx, report) = configured();
    assert_eq!(
        fx.read("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\n\
         bin:x:1:1:bin:/bin:/sbin/nologin\n\
         svc:x:200:100::/var/lib/svc:/sbin/nologin\n\
         admin:x:1000:1000:Administrator:/home/admin:/bin/sh\n\
         nobody:x:65534:65534:nobody:/var/empty:/sbin/nologin\n"
    );
    assert_eq!(
        fx.read("etc/group"),
        "root:x:0:root\nbin:x:1:root,bin\nwheel:x:10:root,admin\nstaff:x:50:admin\nusers:x:100:\n\
         admin:x:1000:\nnogroup:x:65534:\n"
    );
    assert_eq!(report.users, ["root", "bin", "svc", "admin", "nobody"]);
    assert_eq!(report.groups, ["root", "bin", "wheel", "staff", "users", "admin", "nogroup"]);
}

#[test]
fn shadow_keeps_tree_lines_locks_passwordless_users_and_hashes_plain_passwords() {
    let (fx, _) = configured();
    let shadow = fx.read("etc/shadow");
    let lines: Vec<&str> = shadow.lines().collect();
    assert_eq!(lines[0], "root:*:10770:0:::::");
    assert_eq!(lines[1], "bin:*:10770:0:::::");
    // SOURCE_DATE_EPOCH 1_700_000_000 is day 19675.
    assert_eq!(lines[2], "svc:!:19675::::::");
    assert_eq!(lines[4], "nobody:*:10770:0:::::");
    let fields: Vec<&str> = lines[3].split(':').collect();
    assert_eq!((fields[0], fields[2]), ("admin", "19675"));
    assert!(fields[1].starts_with("$6$rounds=5000$"), "{}", fields[1]);
    ShaCrypt::SHA512.verify_password(b"demo", fields[1]).unwrap();
    assert!(ShaCrypt::SHA512.verify_password(b"wrong", fields[1]).is_err());
    assert_eq!(fx.entry("etc/shadow"), EntryMeta { uid: 0, gid: 0, mode: Some(0o600), node: None });
}

#[test]
fn same_seed_gives_the_same_hash_and_another_seed_another() {
    let (fx, _) = configured();
    let hash = |text: String| text.lines().nth(3).unwrap().split(':').nth(1).unwrap().to_string();
    let first = hash(fx.read("etc/shadow"));
    let (again, _) = configured();
    assert_eq!(hash(again.read("etc/shadow")), first);
    let mut other = Fixture::new();
    other.seed = [SEED[0] ^ 1; 32];
    let profile = other.profile(PROFILE, &[("dropbear.conf", DROPBEAR_CONF)]);
    other.configure(&profile).unwrap();
    let other_hash = hash(other.read("etc/shadow"));
    assert_ne!(other_hash, first);
    ShaCrypt::SHA512.verify_password(b"demo", other_hash.as_str()).unwrap();
}

#[test]
fn homes_and_authorized_keys_are_owned_by_their_users_in_entries() {
    let (fx, _) = configured();
    let owned = |uid, gid, mode| EntryMeta { uid, gid, mode: Some(mode), node: None };
    assert_eq!(fx.entry("home/admin"), owned(1000, 1000, 0o700));
    assert_eq!(fx.entry("home/admin/.ssh"), owned(1000, 1000, 0o700));
    assert_eq!(fx.entry("home/admin/.ssh/authorized_keys"), owned(1000, 1000, 0o600));
    assert_eq!(fx.entry("var/lib/svc"), owned(200, 100, 0o700));
    assert_eq!(fx.entry("root"), owned(0, 0, 0o700));
    assert_eq!(
        fx.read("home/admin/.ssh/authorized_keys"),
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample admin@host\nssh-rsa AAAAB3Nza second\n"
    );
    assert!(!fx.root.dir.join("var/lib/svc/.ssh").exists());
}

#[test]
fn templates_see_hostname_profile_vars_users_and_groups() {
    let (fx, _) = configured();
    assert_eq!(fx.read("etc/motd"), "Welcome to box (test, Europe/Paris): Be nice\n");
    assert_eq!(fx.read("etc/dropbear/config"), "port=2222\nallow=admin in wheel,staff\n");
    assert_eq!(
        fx.entry("etc/dropbear/config"),
        EntryMeta { uid: 1000, gid: 50, mode: Some(0o640), node: None }
    );
    assert_eq!(fx.entry("etc/motd").mode, Some(0o644));
}

#[test]
fn files_without_template_are_written_verbatim() {
    let (fx, _) = configured();
    assert_eq!(fx.read("etc/issue"), "{{ not a template }}\n");
}

#[test]
fn services_are_linked_into_the_default_runlevel_and_stale_links_removed() {
    let (fx, report) = configured();
    let link = |name: &str| std::fs::read_link(fx.root.dir.join("etc/runlevels/default").join(name)).unwrap();
    assert_eq!(link("syslogd").to_str(), Some("/etc/init.d/syslogd"));
    assert_eq!(link("dropbear").to_str(), Some("/etc/init.d/dropbear"));
    assert!(fx.root.dir.join("etc/runlevels/default/stale").symlink_metadata().is_err());
    assert_eq!(report.services, ["syslogd", "dropbear"]);
    assert_eq!(report.removed_services, ["stale"]);
}

#[test]
fn a_service_dropped_from_the_profile_loses_its_link_on_the_same_tree() {
    let (mut fx, _) = configured();
    let fewer = fx
        .profile(&PROFILE.replace(r#"services = ["syslogd", "dropbear"]"#, r#"services = ["syslogd"]"#), &[]);
    let report = fx.configure(&fewer).unwrap();
    assert_eq!(report.removed_services, ["dropbear"]);
    assert!(fx.root.dir.join("etc/runlevels/default/dropbear").symlink_metadata().is_err());
}

#[test]
fn a_profile_may_ship_the_init_script_of_a_service_it_enables() {
    let mut fx = Fixture::new();
    let profile = fx.profile(
        "[system]\nservices = [\"hello\"]\n[[system.files]]\npath = \"/etc/init.d/hello\"\nmode = \"0755\"\ncontent = \"#!/bin/sh\\n\"\n",
        &[],
    );
    fx.configure(&profile).unwrap();
    let link = std::fs::read_link(fx.root.dir.join("etc/runlevels/default/hello")).unwrap();
    assert_eq!(link.to_str(), Some("/etc/init.d/hello"));
}

#[test]
fn hostname_hosts_timezone_fstab_and_os_release_are_written() {
    let (fx, report) = configured();
    assert_eq!(fx.read("etc/hostname"), "box\n");
    assert!(fx.read("etc/hosts").contains("127.0.1.1\tbox\n"));
    assert_eq!(fx.read("etc/TZ"), "Europe/Paris\n");
    let localtime = std::fs::read_link(fx.root.dir.join("etc/localtime")).unwrap();
    assert_eq!(localtime.to_str(), Some("../usr/share/zoneinfo/Europe/Paris"));
    assert_eq!(report.localtime.as_deref(), Some("/usr/share/zoneinfo/Europe/Paris"));
    let fstab = fx.read("etc/fstab");
    assert!(
        fstab.contains("PARTUUID=0f0e0d0c-0b0a-4908-8706-050403020100\t/\text4\trw,noatime\t0\t1\n"),
        "{fstab}"
    );
    assert!(fstab.ends_with("tmpfs\t/tmp\ttmpfs\tnosuid,nodev,mode=1777\t0\t0\n"), "{fstab}");
    assert_eq!(
        fx.read("usr/lib/os-release"),
        "NAME=\"ingot\"\nID=\"ingot\"\nVERSION_ID=\"0.1\"\nPRETTY_NAME=\"ingot 0.1\"\nIMAGE_ID=\"test\"\nBUILD_ID=\"7\"\n"
    );
    let link = std::fs::read_link(fx.root.dir.join("etc/os-release")).unwrap();
    assert_eq!(link.to_str(), Some("../usr/lib/os-release"));
    assert_eq!(fx.read("etc/os-release"), fx.read("usr/lib/os-release"));
}

#[test]
fn a_zone_missing_from_the_tree_leaves_no_localtime_and_utc_gets_its_posix_form() {
    let mut fx = Fixture::new();
    std::fs::write(fx.root.dir.join("etc/localtime"), "TZif-old").unwrap();
    let profile = fx.profile("[system]\ntimezone = \"UTC\"\n", &[]);
    let report = fx.configure(&profile).unwrap();
    assert_eq!(fx.read("etc/TZ"), "UTC0\n");
    assert!(fx.root.dir.join("etc/localtime").symlink_metadata().is_err());
    assert_eq!(report.localtime, None);
}

#[test]
fn configuring_twice_gives_the_same_tree_and_entries() {
    let (mut fx, first_report) = configured();
    let tree = fx.snapshot();
    let entries = fx.root.entries.clone();
    let profile = fx.profile(PROFILE, &[("dropbear.conf", DROPBEAR_CONF)]);
    let second_report = fx.configure(&profile).unwrap();
    assert_eq!(fx.snapshot(), tree);
    assert_eq!(fx.root.entries, entries);
    assert_eq!(second_report.written, first_report.written);
    assert!(second_report.removed_services.is_empty());
}

#[test]
fn two_fresh_trees_come_out_identical() {
    let (a, _) = configured();
    let (b, _) = configured();
    assert_eq!(a.snapshot(), b.snapshot());
    assert_eq!(a.root.entries, b.root.entries);
}
