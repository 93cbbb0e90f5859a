//! Crash consistency: `ingot build` is killed with SIGKILL (its whole process group) at random
//! moments in every stage — fetch from a throttled server on 127.0.0.1, the build phases, pack,
//! stage, configure and image — and after each kill the store must hold only whole, verifiable
//! packages, no process of the run may be left, and nothing may sit at the image's output path
//! unless it is the complete image. The next build must then succeed and give the same image
//! sha256 as an uninterrupted reference build.
//!
//! The seed is printed; `INGOT_CRASH_SEED=<seed>` replays a run's choices (timings still vary).

mod common;
#[path = "common/kill.rs"]
mod kill;
#[path = "common/slowhttp.rs"]
mod slowhttp;
mod support;

use common::pkgtree::{PkgTree, sha256};
use kill::{Rng, Run, Timed};
use serde_json::Value;
use slowhttp::SlowServer;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Per connection: the sources (about 12 MB in all) take a few seconds to download.
const RATE: u64 = 12 << 20;
/// Rounds from an empty store, alternating: a staged one aims one kill at each stage in pipeline
/// order; a uniform one kills at a uniform moment of a whole run, again and again until a run
/// completes. Rounds go on until this many kills (issue 6 asks for at least 50)…
const KILLS: usize = 60;
/// …or this many rounds, which only a broken aim would reach.
const MAX_ROUNDS: usize = 40;
/// Kills in a uniform round at most, should runs keep dying before their end.
const UNIFORM_ATTEMPTS: usize = 8;

/// Where a run was when it was killed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum At {
    Startup,
    Fetch,
    Build,
    Pack,
    Stage,
    Configure,
    Image,
    Finish,
}

const TARGETS: [At; 6] = [At::Fetch, At::Build, At::Pack, At::Stage, At::Configure, At::Image];

const INIT: &str = "#!/bin/sh\nmount -t proc proc /proc\necho \"ingot-boot-ok $(hostname)\"\npoweroff -f\n";

/// Fixture kernel, busybox and base as in `image_pipeline.rs`, plus `slowlib` (a tarball of
/// random bytes, phases with short sleeps) and `bigdata` (built against slowlib, installs several
/// MB so packing takes a moment). Every source is served by `server` only.
fn crash_tree(server: &SlowServer, marker: &str) -> PkgTree {
    let t = PkgTree::new();
    let boot = support::boot_files();
    let kernel = t.distfile("fixture-vmlinuz", &std::fs::read(&boot.kernel).unwrap());
    let initramfs = t.distfile("fixture-initramfs.img", &std::fs::read(&boot.initramfs).unwrap());
    let busybox = t.distfile("busybox-host", &std::fs::read("/bin/busybox").unwrap());
    let src = |name: &str, sha: &str| {
        format!("[[source]]\nurls = [\"{}\"]\nfile = \"{name}\"\nsha256 = \"{sha}\"\n\n", server.url(name))
    };
    t.recipe(
        "sys-kernel/fixture-kernel",
        "1.0",
        &format!(
            "description = \"The host's kernel and a generated initramfs\"\n\n{}{}[build]\nsystem = \"none\"\ninstall = '''\ninstall -D -m644 \"$WORKDIR/fixture-vmlinuz\" \"$DESTDIR/boot/vmlinuz\"\ninstall -D -m644 \"$WORKDIR/fixture-initramfs.img\" \"$DESTDIR/boot/initramfs.img\"\n'''\n",
            src("fixture-vmlinuz", &kernel),
            src("fixture-initramfs.img", &initramfs)
        ),
    );
    t.recipe(
        "sys-apps/fixture-busybox",
        "1.0",
        &format!(
            "description = \"Static busybox from the host\"\n\n{}[build]\nsystem = \"none\"\ninstall = '''\ninstall -D -m755 \"$WORKDIR/busybox-host\" \"$DESTDIR/bin/busybox\"\nfor a in $(\"$DESTDIR/bin/busybox\" --list); do [ \"$a\" = busybox ] || ln -s busybox \"$DESTDIR/bin/$a\"; done\n'''\n",
            src("busybox-host", &busybox)
        ),
    );
    let files = t.path("recipes/sys-apps/fixture-base/files");
    std::fs::create_dir_all(&files).unwrap();
    support::write_exec(&files.join("init"), INIT);
    t.recipe(
        "sys-apps/fixture-base",
        "1.0",
        "description = \"Directories and an init\"\n\n[build]\nsystem = \"none\"\ninstall = '''\nfor d in dev proc sys tmp root etc; do mkdir -p \"$DESTDIR/$d\"; done\ninstall -D -m755 \"$FILESDIR/init\" \"$DESTDIR/sbin/init\"\n'''\n",
    );
    let mut noise = Rng::seeded(7);
    let random: String = (0..(1 << 20)).map(|_| char::from(b'a' + (noise.next_u64() % 26) as u8)).collect();
    let slowlib = t.tarball("slowlib-1.0.tar.gz", "slowlib-1.0", &[("data.txt", &random)]);
    t.recipe(
        "dev-libs/slowlib",
        "1.0",
        &format!(
            "description = \"Sources worth downloading, phases that take a moment\"\n\n{}[build]\nsystem = \"none\"\nprepare = 'sleep 0.2'\nconfigure = 'sleep 0.2'\ncompile = 'sleep 0.2; cat data.txt data.txt > lib.dat'\ninstall = 'install -D -m644 lib.dat \"$DESTDIR/usr/lib/slowlib/lib.dat\"'\n",
            src("slowlib-1.0.tar.gz", &slowlib)
        ),
    );
    t.recipe(
        "app-misc/bigdata",
        "1.0",
        "description = \"Several MB to pack\"\n\n[depend]\nbuild = \"dev-libs/slowlib\"\n\n[build]\nsystem = \"none\"\ncompile = 'sleep 0.3'\ninstall = '''\nd=\"$DESTDIR/usr/share/bigdata\"\nmkdir -p \"$d\"\nfor i in 0 1 2 3 4 5; do seq $((i * 100000)) $((i * 100000 + 99999)) > \"$d/part$i\"; done\ncp \"$SYSROOT/usr/lib/slowlib/lib.dat\" \"$d/\"\n'''\n",
    );
    t.profile(
        "crash",
        &format!(
            "world = [\"sys-kernel/fixture-kernel\", \"sys-apps/fixture-busybox\", \"sys-apps/fixture-base\", \"app-misc/bigdata\"]\n\n[make.env]\n{}= \"{marker}\"\n\n[system]\nhostname = \"crash\"\n\n[image]\nboot = \"uefi\"\ncmdline = \"console=ttyS0 panic=-1\"\ninitramfs = \"boot/initramfs.img\"\n",
            kill::MARKER_VAR
        ),
    );
    t
}

/// The crash tree with its sources moved to a mirror directory served at `rate` bytes per second,
/// so every build downloads them.
fn served_tree(marker: &str, rate: u64) -> (PkgTree, (SlowServer, tempfile::TempDir)) {
    let mirror = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let server = SlowServer::start(mirror.path(), rate);
    let t = crash_tree(&server, marker);
    for e in std::fs::read_dir(t.path("distfiles")).unwrap() {
        let e = e.unwrap();
        std::fs::rename(e.path(), mirror.path().join(e.file_name())).unwrap();
    }
    (t, (server, mirror))
}

/// A store and distfiles directory of their own, and where the image goes.
struct Place {
    store: PathBuf,
    distdir: PathBuf,
    out: PathBuf,
}

impl Place {
    fn new(t: &PkgTree, name: &str) -> Place {
        let p = Place {
            store: t.path(&format!("{name}/store")),
            distdir: t.path(&format!("{name}/distfiles")),
            out: t.path(&format!("{name}/out/crash.raw")),
        };
        p.reset();
        p
    }

    /// Back to an empty store, no distfiles, no image.
    fn reset(&self) {
        let top = self.store.parent().unwrap();
        if top.exists() {
            let _ = Command::new("chmod").arg("-R").arg("u+w").arg(top).status();
            std::fs::remove_dir_all(top).unwrap();
        }
        std::fs::create_dir_all(&self.distdir).unwrap();
    }

    fn ingot(&self, t: &PkgTree) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ingot"));
        t.ingot_args(&mut cmd, &self.store, &self.distdir);
        cmd
    }

    fn build(&self, t: &PkgTree, marker: &str) -> Run {
        let mut cmd = self.ingot(t);
        cmd.args(["build", "crash", "--json", "-j2", "-o"]).arg(&self.out);
        Run::spawn(cmd, marker)
    }
}

/// What the kills found, printed at the end.
#[derive(Default)]
struct Tally {
    kills: usize,
    /// By the stage the run was in (the newest event before the kill).
    by_stage: BTreeMap<At, usize>,
    /// Every stage with work in progress at a kill (two builds run at once with -j2).
    in_progress: BTreeMap<At, usize>,
    completed_runs: usize,
    verified_packages: usize,
    corrupt: usize,
    quarantined: usize,
    partial_downloads: usize,
    image_leftovers: usize,
    /// Unknown entries at the store's top level after gc.
    store_leftovers: Vec<String>,
}

#[test]
fn sigkill_at_random_moments_leaves_only_whole_packages_and_the_next_build_gives_the_same_image() {
    let started = Instant::now();
    let mut rng = Rng::from_env("INGOT_CRASH_SEED");
    let marker = format!("crash-{}-{}", std::process::id(), rng.next_u64());
    let (t, _server) = served_tree(&marker, RATE);

    let reference = Place::new(&t, "reference");
    let (status, events, stderr) = reference.build(&t, &marker).finish();
    assert!(status.success(), "reference build failed: {stderr}");
    let want = image_sha(&events).expect("the reference build reports its image");
    assert_eq!(sha256(&std::fs::read(&reference.out).unwrap()), want);
    let windows = Windows::from(&events);
    eprintln!(
        "reference build: {:.1} s, image sha256 {want}; stage windows {windows:?}",
        windows.total.as_secs_f64()
    );

    let place = Place::new(&t, "crash");
    let mut tally = Tally::default();
    let mut rounds = 0;
    while tally.kills < KILLS && rounds < MAX_ROUNDS {
        let round = rounds;
        rounds += 1;
        place.reset();
        let staged = round % 2 == 0;
        let mut targets = TARGETS.iter().copied();
        for attempt in 0.. {
            // A stage to aim at, or (`None`) a uniform moment of a whole run.
            let target = match staged {
                true => match targets.next() {
                    Some(stage) => Some(stage),
                    None => break,
                },
                false if attempt < UNIFORM_ATTEMPTS => None,
                false => break,
            };
            let mut run = place.build(&t, &marker);
            let alive = match target {
                None => {
                    let at = rng.below(windows.total);
                    run.sleep_until(at)
                }
                Some(stage) => match run.wait_for_event(windows.trigger(stage)) {
                    Some(event) => {
                        let at = run.elapsed() + rng.below(windows.span(stage, &event));
                        run.sleep_until(at)
                    }
                    None => false,
                },
            };
            if !alive {
                check_completed(run, &place, &want, &mut tally);
                if !staged {
                    break;
                }
                continue;
            }
            run.kill_group();
            let (_, events, _) = run.finish();
            let (last, active) = classify(&events);
            tally.kills += 1;
            *tally.by_stage.entry(last).or_default() += 1;
            for s in active {
                *tally.in_progress.entry(s).or_default() += 1;
            }
            check_after_kill(&t, &place, &marker, &want, &mut tally, last);
        }
        // Each round ends with a whole build from whatever the kills left.
        let run = place.build(&t, &marker);
        check_completed(run, &place, &want, &mut tally);
        check_leftovers_go_with_gc(&t, &place, &mut tally);
    }

    eprintln!(
        "crash summary: {} kills ({} rounds) in {:.0} s; by stage at the kill {:?}; stages in progress at a kill {:?}; \
         {} completed builds, all with image sha256 {want}; {} package verifications after kills, {} corrupt, \
         {} quarantined; {} partial downloads left by kills, none after the round's whole build; {} image temporaries left by kills, all removed by the next build; \
         other files left at the store's top after gc: {:?}",
        tally.kills,
        rounds,
        started.elapsed().as_secs_f64(),
        tally.by_stage,
        tally.in_progress,
        tally.completed_runs,
        tally.verified_packages,
        tally.corrupt,
        tally.quarantined,
        tally.partial_downloads,
        tally.image_leftovers,
        tally.store_leftovers,
    );
    assert!(tally.kills >= KILLS, "only {} kills in {rounds} rounds", tally.kills);
    for stage in TARGETS {
        assert!(tally.in_progress.get(&stage).copied().unwrap_or(0) > 0, "no kill hit {stage:?}");
    }
    assert_eq!((tally.corrupt, tally.quarantined), (0, 0));
}

/// What a crash costs is a rebuild; a rebuilt package must not change the image (its build time,
/// recorded in the store's manifest, once reached the image's package database).
#[test]
fn rebuilding_every_package_gives_the_same_image() {
    let (t, _server) = served_tree("rebuild", 1 << 30);
    let place = Place::new(&t, "rebuild");
    let (status, first, stderr) = place.build(&t, "rebuild").finish();
    assert!(status.success(), "{stderr}");
    let gc = place.ingot(&t).args(["cache", "gc", "--older-than", "0s"]).output().unwrap();
    assert!(gc.status.success(), "{}", String::from_utf8_lossy(&gc.stderr));
    let (status, second, stderr) = place.build(&t, "rebuild").finish();
    assert!(status.success(), "{stderr}");
    let built = second.iter().rev().find_map(|(_, e)| e["built"].as_array().map(Vec::len));
    assert_eq!(built, Some(5), "every package was built again");
    assert_eq!(image_sha(&first), image_sha(&second));
}

/// The one moment at which a kill leaves more than temporaries: between the insert's two renames,
/// the archive is in place and its manifest (the commit point) is not. No timer hits that window,
/// so the state is made by hand: it is not a package, the store verifies, and the next build
/// builds the package again.
#[test]
fn an_insert_killed_between_its_renames_leaves_a_store_that_verifies_and_builds() {
    let t = common::pkgtree::standard_tree();
    assert!(t.build("p").ok);
    let manifest = package_files(&t.path("store"))
        .into_iter()
        .find(|f| {
            f.extension().is_some_and(|e| e == "toml")
                && std::fs::read_to_string(f).unwrap().contains("atom = \"app-misc/other\"")
        })
        .unwrap();
    std::fs::remove_file(&manifest).unwrap();
    let verify = t.ingot().args(["cache", "verify"]).output().unwrap();
    assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stderr));
    assert!(String::from_utf8_lossy(&verify.stdout).starts_with("verified 3 packages, 0 corrupt"));
    let note = String::from_utf8_lossy(&verify.stderr);
    assert!(note.contains("is the archive of an interrupted insert, not a package"), "{note}");
    let r = t.build("p");
    assert!(r.ok, "{}", r.stderr);
    assert_eq!(r.list("built"), ["app-misc/other-1.0"]);
    let verify = t.ingot().args(["cache", "verify"]).output().unwrap();
    assert!(String::from_utf8_lossy(&verify.stdout).starts_with("verified 4 packages, 0 corrupt"));
    assert!(verify.stderr.is_empty(), "{}", String::from_utf8_lossy(&verify.stderr));
}

fn package_files(store: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for sub in std::fs::read_dir(store.join("pkgs")).unwrap() {
        for f in std::fs::read_dir(sub.unwrap().path()).unwrap() {
            out.push(f.unwrap().path());
        }
    }
    out
}

/// A run that ended by itself: it must have succeeded with the reference image.
fn check_completed(run: Run, place: &Place, want: &str, tally: &mut Tally) {
    let (status, events, stderr) = run.finish();
    assert!(status.success(), "a build after kills failed: {stderr}");
    assert_eq!(image_sha(&events).as_deref(), Some(want), "{stderr}");
    assert_eq!(sha256(&std::fs::read(&place.out).unwrap()), want);
    let beside: Vec<_> = std::fs::read_dir(place.out.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(beside, ["crash.raw"], "a completed build leaves only its image in the output directory");
    tally.completed_runs += 1;
}

fn check_after_kill(t: &PkgTree, place: &Place, marker: &str, want: &str, tally: &mut Tally, stage: At) {
    let left = kill::survivors(marker, Duration::from_secs(30));
    assert!(left.is_empty(), "processes left after a kill in {stage:?}: {left:?}");
    let out = place.ingot(t).args(["cache", "verify", "--json"]).output().unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    let problems = report["problems"].as_array().map_or(0, Vec::len);
    tally.verified_packages += report["ok"].as_u64().unwrap_or(0) as usize;
    tally.corrupt += problems;
    assert!(
        out.status.success() && problems == 0,
        "cache verify after a kill in {stage:?}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    tally.image_leftovers += count(place.out.parent().unwrap(), |n| n.starts_with('.'));
    tally.partial_downloads += count(&place.distdir, |n| n.ends_with(".part"));
    if place.out.exists() {
        assert_eq!(
            sha256(&std::fs::read(&place.out).unwrap()),
            want,
            "a partial image at the output path after a kill in {stage:?}"
        );
    }
}

/// After a round: nothing was quarantined, and `gc` removes every leftover of the killed runs.
fn check_leftovers_go_with_gc(t: &PkgTree, place: &Place, tally: &mut Tally) {
    tally.quarantined += count(&place.store.join("quarantine"), |_| true);
    // The round's whole build replaced each with the finished download.
    let partial = count(&place.distdir, |n| n.ends_with(".part"));
    assert_eq!(partial, 0, "partial downloads left after a whole build: {:?}", names(&place.distdir));
    let gc = place.ingot(t).args(["cache", "gc", "--older-than", "3650d"]).output().unwrap();
    assert!(gc.status.success(), "{}", String::from_utf8_lossy(&gc.stderr));
    for dir in ["tmp", "trash"] {
        let left = count(&place.store.join(dir), |_| true);
        assert_eq!(
            left,
            0,
            "{dir}/ after gc: {:?}",
            std::fs::read_dir(place.store.join(dir)).unwrap().collect::<Vec<_>>()
        );
    }
    // Anything else at the top of the store was left by a killed run and not removed by gc.
    const KNOWN: [&str; 11] = [
        "VERSION",
        "distfiles",
        "pkgs",
        "logs",
        "tmp",
        "locks",
        "trash",
        "quarantine",
        "empty",
        "durations.json",
        "toolchain.json",
    ];
    for e in std::fs::read_dir(&place.store).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        if !KNOWN.contains(&name.as_str()) {
            tally.store_leftovers.push(name);
        }
    }
}

fn count(dir: &Path, pred: impl Fn(&str) -> bool) -> usize {
    std::fs::read_dir(dir)
        .map(|d| d.flatten().filter(|e| pred(&e.file_name().to_string_lossy())).count())
        .unwrap_or(0)
}

fn image_sha(events: &[Timed]) -> Option<String> {
    events.iter().rev().find_map(|(_, e)| e["image"]["sha256"].as_str().map(String::from))
}

/// The stage of a task step.
fn step_stage(step: &str) -> At {
    match step {
        "fetch" => At::Fetch,
        "pack" => At::Pack,
        _ => At::Build,
    }
}

/// The stage of the newest event before the kill, and every stage with work in progress then.
fn classify(events: &[Timed]) -> (At, Vec<At>) {
    let mut tasks: BTreeMap<String, At> = BTreeMap::new();
    let mut pipeline: Option<At> = None;
    let mut last = At::Startup;
    for (_, e) in events {
        let id = e["id"].as_str().unwrap_or("").to_string();
        match (e["event"].as_str().unwrap_or(""), e["stage"].as_str().unwrap_or("")) {
            ("stage_started", "stage") => pipeline = Some(At::Stage),
            ("stage_finished", "stage") => pipeline = Some(At::Configure),
            ("stage_started", "image") => pipeline = Some(At::Image),
            ("stage_finished", "image") => pipeline = Some(At::Finish),
            ("task_started" | "task_bytes", _) if id.starts_with("fetch:") => {
                tasks.insert(id.clone(), At::Fetch);
            }
            ("task_step", _) => {
                tasks.insert(id.clone(), step_stage(e["step"].as_str().unwrap_or("")));
            }
            ("task_finished", _) => {
                tasks.remove(&id);
            }
            _ => continue,
        }
        last = pipeline.unwrap_or_else(|| match e["event"].as_str() {
            Some("task_step" | "task_started" | "task_bytes") => tasks.get(&id).copied().unwrap_or(last),
            _ => last,
        });
    }
    let mut active: Vec<At> = match pipeline {
        Some(p) => vec![p],
        None => tasks.into_values().collect(),
    };
    active.sort();
    active.dedup();
    (last, active)
}

/// How long each stage took in the reference build, to aim kills inside it: per task (a download,
/// a package's phases, its packing) and per pipeline stage.
#[derive(Debug)]
struct Windows {
    total: Duration,
    /// By task id (empty for the pipeline's own stages) and stage.
    spans: BTreeMap<(String, At), Duration>,
}

impl Windows {
    fn from(events: &[Timed]) -> Windows {
        let mut spans = BTreeMap::new();
        let mut begun: BTreeMap<String, (At, Duration)> = BTreeMap::new();
        let mut end = |begun: &mut BTreeMap<String, (At, Duration)>, id: &str, at: Duration| {
            if let Some((stage, t0)) = begun.remove(id) {
                spans.insert((id.to_string(), stage), at - t0);
            }
        };
        for (at, e) in events {
            let id = e["id"].as_str().unwrap_or("").to_string();
            let pipeline = match (e["event"].as_str().unwrap_or(""), e["stage"].as_str().unwrap_or("")) {
                ("stage_started", "stage") => Some(At::Stage),
                ("stage_finished", "stage") => Some(At::Configure),
                ("stage_started", "image") => Some(At::Image),
                ("stage_finished", "image") => Some(At::Finish),
                ("task_started", _) if id.starts_with("fetch:") => {
                    begun.insert(id, (At::Fetch, *at));
                    None
                }
                ("task_step", _) => {
                    let stage = step_stage(e["step"].as_str().unwrap_or(""));
                    if begun.get(&id).is_none_or(|(s, _)| *s != stage) {
                        end(&mut begun, &id, *at);
                        begun.insert(id, (stage, *at));
                    }
                    None
                }
                ("task_finished", _) => {
                    end(&mut begun, &id, *at);
                    None
                }
                _ => None,
            };
            if let Some(next) = pipeline {
                end(&mut begun, "", *at);
                begun.insert(String::new(), (next, *at));
            }
        }
        let total = events.last().map(|(at, _)| *at).unwrap_or_default();
        Windows { total, spans }
    }

    /// The event that opens `stage`.
    fn trigger(&self, stage: At) -> fn(&Value) -> bool {
        match stage {
            At::Fetch => {
                |e| e["event"] == "task_started" && e["id"].as_str().is_some_and(|i| i.starts_with("fetch:"))
            }
            At::Build => |e| {
                e["event"] == "task_step" && e["step"].as_str().is_some_and(|s| step_stage(s) == At::Build)
            },
            At::Pack => |e| e["event"] == "task_step" && e["step"] == "pack",
            At::Stage => |e| e["event"] == "stage_started" && e["stage"] == "stage",
            At::Configure => |e| e["event"] == "stage_finished" && e["stage"] == "stage",
            At::Image => |e| e["event"] == "stage_started" && e["stage"] == "image",
            At::Startup | At::Finish => |_| false,
        }
    }

    /// How long `stage` lasted in the reference build for the task of `event` (the trigger).
    fn span(&self, stage: At, event: &Value) -> Duration {
        let id = match stage {
            At::Fetch | At::Build | At::Pack => event["id"].as_str().unwrap_or(""),
            _ => "",
        };
        let longest = || self.spans.iter().filter(|((_, s), _)| *s == stage).map(|(_, d)| *d).max();
        let span = self.spans.get(&(id.to_string(), stage)).copied().or_else(longest);
        span.unwrap_or(Duration::from_millis(100)).max(Duration::from_millis(5))
    }
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}
