//! What a phase can and cannot reach: network, files, other builds, processes, privileges.

mod sandbox_support;

use std::io::ErrorKind;
use std::net::TcpListener;

use sandbox_support::{Build, eventually, is_root, marker, processes_with};

#[test]
fn a_phase_cannot_connect_to_a_server_on_the_host_s_loopback() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let script = format!(
        "perl -MIO::Socket::INET -e 'my $s = IO::Socket::INET->new(PeerAddr => \"127.0.0.1\", PeerPort => {port}, \
         Timeout => 10); if ($s) {{ print \"connected\\n\"; exit 0 }} print \"refused: $!\\n\"; exit 3'"
    );
    let (result, log) = Build::new().run(&script);
    assert_eq!(result.unwrap().code(), Some(3), "{log}");
    assert!(log.contains("refused"), "{log}");
    assert_eq!(
        listener.accept().map(|_| ()).unwrap_err().kind(),
        ErrorKind::WouldBlock,
        "the host listener saw a connection"
    );
}

#[test]
fn loopback_inside_the_sandbox_is_up() {
    let script = "perl -MIO::Socket::INET -e 'my $l = IO::Socket::INET->new(LocalAddr => \"127.0.0.1\", Listen => 1) \
                  or die \"listen: $!\"; IO::Socket::INET->new(PeerAddr => \"127.0.0.1\", PeerPort => $l->sockport) \
                  or die \"connect: $!\"; print \"loopback works\\n\"'";
    assert!(Build::new().run_ok(script).contains("loopback works"));
}

#[test]
fn a_phase_writes_only_its_own_directories() {
    let b = Build::new();
    let name = format!("ingot-test-{}", marker());
    // (path inside, where it would land on the host if the sandbox let it through)
    let outside: Vec<(String, std::path::PathBuf)> = [
        ("/etc".to_string(), "/etc".into()),
        ("/usr".to_string(), "/usr".into()),
        ("/root".to_string(), "/root".into()),
        ("".to_string(), "/".into()),
        ("/build/sysroot".to_string(), b.spec.sysroot.clone()),
        (b.spec.tmpdir.display().to_string(), b.spec.tmpdir.clone()),
        (b.path().display().to_string(), b.path().to_path_buf()),
    ]
    .into_iter()
    .map(|(inside, host)| (format!("{inside}/{name}"), host.join(&name)))
    .collect();
    let mut script = String::from("echo in > /build/work/w; echo in > /build/image/i; echo in > /tmp/t\n");
    for (path, _) in &outside {
        script.push_str(&format!(
            "if ( echo x > '{path}' ) 2>/dev/null; then echo 'WROTE {path}'; else echo 'refused {path}'; fi\n"
        ));
    }
    let (result, log) = b.run(&script);
    // Clean up before asserting, should the sandbox ever let a write through to the host.
    let leaked: Vec<_> = outside.iter().filter(|(_, host)| std::fs::remove_file(host).is_ok()).collect();
    assert!(result.unwrap().success(), "{log}");
    assert_eq!(leaked, Vec::<&(String, std::path::PathBuf)>::new(), "{log}");
    assert!(!log.contains("WROTE"), "{log}");
    assert_eq!(log.matches("refused").count(), outside.len(), "{log}");
    for (dir, name) in [(&b.spec.workdir, "w"), (&b.spec.destdir, "i"), (&b.spec.tmpdir, "t")] {
        assert_eq!(std::fs::read_to_string(dir.join(name)).unwrap(), "in\n");
    }
}

#[test]
fn another_build_s_directories_are_not_visible() {
    let base = tempfile::tempdir().unwrap();
    let one = Build::in_dir(tempfile::tempdir_in(base.path()).unwrap());
    let other = Build::in_dir(tempfile::tempdir_in(base.path()).unwrap());
    std::fs::write(other.spec.workdir.join("secret"), "s").unwrap();
    let mut script = String::new();
    for path in [other.spec.workdir.join("secret"), other.path().to_path_buf(), base.path().to_path_buf()] {
        script.push_str(&format!(
            "if [ -e '{0}' ]; then echo 'SEES {0}'; else echo 'absent {0}'; fi\n",
            path.display()
        ));
    }
    let log = one.run_ok(&script);
    assert!(!log.contains("SEES"), "{log}");
    assert_eq!(log.matches("absent").count(), 3, "{log}");
}

#[test]
fn host_dependencies_come_first_in_path_and_recipe_files_are_read_only() {
    use std::os::unix::fs::PermissionsExt;
    let mut b = Build::new();
    let (host, files) = (b.path().join("hostdeps"), b.path().join("files"));
    std::fs::create_dir_all(host.join("usr/bin")).unwrap();
    std::fs::create_dir_all(&files).unwrap();
    std::fs::write(host.join("usr/bin/make"), "#!/bin/sh\necho host make\n").unwrap();
    std::fs::set_permissions(host.join("usr/bin/make"), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(files.join("fix.patch"), "patch\n").unwrap();
    (b.spec.hostroot, b.spec.filesdir) = (Some(host.clone()), Some(files.clone()));
    let log = b.run_ok(
        "make; cat /build/files/fix.patch\n\
         for d in /build/files /build/host; do ( : > $d/x ) 2>/dev/null && echo \"WROTE $d\"; done; echo done",
    );
    assert_eq!(log, "host make\npatch\ndone\n");
    assert!(!files.join("x").exists() && !host.join("x").exists());
}

#[test]
fn home_directories_and_var_are_absent() {
    let log = Build::new().run_ok(
        "for d in /home /root /var /run /srv /mnt; do [ -e $d ] && echo \"SEES $d\"; done; echo done",
    );
    assert!(!log.contains("SEES"), "{log}");
}

#[test]
fn a_phase_leaves_no_process_behind() {
    let tag = marker();
    let script = format!(
        "sleep 1000.{tag}1 &\n( sleep 1000.{tag}2 & ) \n setsid sleep 1000.{tag}3 &\n\
         kill -0 $! && echo started"
    );
    let log = Build::new().run_ok(&script);
    assert!(log.contains("started"), "{log}");
    assert_eq!(processes_with(&format!("1000.{tag}")), Vec::<u32>::new());
}

#[test]
fn the_phase_shell_is_pid_1_with_a_fixed_hostname() {
    let log = Build::new().run_ok("echo \"pid $$\"; echo \"host $(hostname)\"");
    assert!(log.contains("pid 1\n") && log.contains("host ingot\n"), "{log}");
}

#[test]
fn a_phase_has_no_capabilities_and_cannot_remount() {
    let log = Build::new().run_ok(
        "grep -E '^Cap(Eff|Prm|Bnd)' /proc/self/status\n\
         if mount -o remount,rw /usr 2>/dev/null; then echo REMOUNTED; fi\n\
         if mount -t tmpfs none /build/work 2>/dev/null; then echo MOUNTED; fi\n\
         id -u",
    );
    assert_eq!(log.matches(":\t0000000000000000").count(), 3, "{log}");
    assert!(!log.contains("MOUNTED"), "{log}");
    assert!(log.ends_with("0\n"), "{log}");
}

#[test]
fn kernel_settings_under_proc_are_read_only() {
    let log = Build::new()
        .run_ok("if ( echo 1 > /proc/sys/kernel/sysrq ) 2>/dev/null; then echo WROTE; fi; echo checked");
    assert!(!log.contains("WROTE"), "{log}");
}

#[test]
fn the_sandbox_dies_with_ingot() {
    if let Ok(tag) = std::env::var("INGOT_TEST_HOLD_SANDBOX") {
        // The holder: runs a sandbox that never ends, until the test kills this process.
        let _ = Build::new().run(&format!("sleep 1000.{tag}"));
        unreachable!("the holder's sandbox ended on its own");
    }
    let tag = marker();
    let mut holder = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "the_sandbox_dies_with_ingot", "--nocapture"])
        .env("INGOT_TEST_HOLD_SANDBOX", &tag)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let needle = format!("1000.{tag}");
    eventually("the holder's sandbox to start", || !processes_with(&needle).is_empty());
    holder.kill().unwrap();
    holder.wait().unwrap();
    eventually("the orphaned sandbox to die", || processes_with(&needle).is_empty());
}

#[test]
fn every_test_here_also_passes_rootless() {
    if is_root() {
        sandbox_support::rerun_other_tests_as_nobody("every_test_here_also_passes_rootless");
    } else {
        assert!(ingot::build::sandbox::probe().unwrap().rootless);
    }
}
