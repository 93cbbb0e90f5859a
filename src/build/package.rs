//! Building one package: unpack its sources into WORKDIR, merge its build dependencies into SYSROOT
//! and its host dependencies into the host root, run the phases in the sandbox, and pack DESTDIR
//! into the store. Under the key's lock, so two processes never build one package twice.

use super::phases::{self, PhaseContext, PhaseScripts};
use super::sandbox::{self, SandboxSpec};
use crate::key::{BuildKey, Inputs};
use crate::recipe::Recipe;
use crate::report::{Event, Reporter};
use crate::store::{Binpkg, PackageMeta, Store, StoreError};
use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{BufRead, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Everything needed to build one package, decided by the caller.
pub struct BuildRequest<'a> {
    pub recipe: &'a Recipe,
    pub features: &'a BTreeSet<String>,
    pub key: BuildKey,
    pub inputs: &'a Inputs,
    /// Packages merged into SYSROOT, in build order.
    pub sysroot: Vec<Binpkg>,
    /// Packages merged into the host root, in build order.
    pub hostroot: Vec<Binpkg>,
    /// The fetched, verified distfiles, in the recipe's source order.
    pub distfiles: Vec<PathBuf>,
    pub chost: String,
    pub settings: crate::profile::BuildSettings,
    pub jobs: usize,
    /// Concatenated kernel config fragments, for recipes with `kernel_config = true`.
    pub kernel_config: Option<Vec<u8>>,
    pub source_date_epoch: u64,
    /// `cat/name` of run-time dependencies, recorded in the manifest.
    pub run_deps: Vec<String>,
    /// A label for progress events.
    pub task: String,
}

/// How a package came to be in the store.
#[derive(Debug)]
pub enum Built {
    /// Built now, in this many seconds.
    Fresh(Binpkg, Duration),
    /// Another process built it while this one waited for the key's lock.
    Cached(Binpkg),
}

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Phase(Box<PhaseFailure>),
    #[error("{cpv}: {phase} phase could not run in the sandbox: {source}\n  log: {}", log.display())]
    Sandbox { cpv: String, phase: String, log: PathBuf, source: Box<sandbox::SandboxError> },
    #[error("{cpv}: unpacking source {}: {source}", file.display())]
    Unpack { cpv: String, file: PathBuf, source: Box<crate::archive::ArchiveError> },
    #[error("{cpv}: merging {dep} into the build's {root}: {source}")]
    Sysroot { cpv: String, dep: String, root: &'static str, source: Box<StoreError> },
    #[error("{cpv}: {source}")]
    Store { cpv: String, source: Box<StoreError> },
    #[error("{cpv}: {what}: {source}")]
    Io { cpv: String, what: String, source: std::io::Error },
}

/// A phase that ran and failed: its status, the end of its log, and whether the disk was full.
#[derive(Debug, thiserror::Error)]
#[error("{cpv}: {phase} phase failed ({status})\n{tail}\n  full log: {}{}", log.display(), disk_note(disk))]
pub struct PhaseFailure {
    pub cpv: String,
    pub phase: String,
    pub status: String,
    pub tail: String,
    pub log: PathBuf,
    /// Set when the store's filesystem is full: the log lives there too, so the failing tool's own
    /// "No space left on device" may be missing from the tail.
    pub disk: Option<DiskFull>,
}

/// A filesystem found (nearly) full after a phase failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskFull {
    pub path: PathBuf,
    /// Bytes this process could still write there.
    pub free: u64,
}

/// Below this much free space, a failed phase is blamed on the disk as well: a write that failed
/// for want of space leaves less than one write's worth behind.
const NEARLY_FULL: u64 = 1 << 20;

impl DiskFull {
    /// Whether the filesystem holding `path` is out of space (or of inodes) for this process.
    /// Root may use the blocks reserved for it, so for root those count as free.
    pub fn check(path: &Path) -> Option<DiskFull> {
        let st = nix::sys::statvfs::statvfs(path).ok()?;
        let root = nix::unistd::geteuid().is_root();
        let (blocks, inodes) = if root {
            (st.blocks_free(), st.files_free())
        } else {
            (st.blocks_available(), st.files_available())
        };
        let free = blocks.saturating_mul(st.fragment_size());
        // Filesystems without inode limits (tmpfs with nr_inodes=0, btrfs) report no inodes at all.
        let out_of_inodes = inodes == 0 && st.files() > 0;
        (free < NEARLY_FULL || out_of_inodes).then(|| DiskFull { path: path.to_path_buf(), free })
    }
}

fn disk_note(disk: &Option<DiskFull>) -> String {
    match disk {
        Some(d) => format!(
            "\n  No space left on device: the filesystem of {} has {} KiB free (the build directories \
             and the log are there)",
            d.path.display(),
            d.free / 1024
        ),
        None => String::new(),
    }
}

/// Lines of a failed phase's log shown with the error.
const LOG_TAIL: usize = 30;

/// Builds the package, or finds it already built by another process.
pub fn build(store: &Store, req: &BuildRequest, reporter: &dyn Reporter) -> Result<Built, BuildError> {
    let cpv = req.recipe.cpv();
    let store_err = |e: StoreError| BuildError::Store { cpv: cpv.clone(), source: Box::new(e) };
    let _lock = store.lock(&req.key).map_err(store_err)?;
    if let Some(pkg) = store.get(&req.key).map_err(store_err)? {
        return Ok(Built::Cached(pkg));
    }
    let started = Instant::now();
    let dirs = Dirs::create(store, &cpv, !req.sysroot.is_empty(), !req.hostroot.is_empty())?;
    let log_path = log_path(store, req);
    let io = |what: &str| {
        let cpv = cpv.clone();
        let what = what.to_string();
        move |source| BuildError::Io { cpv, what, source }
    };
    if let Some(parent) = log_path.parent() {
        fs_err::create_dir_all(parent).map_err(io("creating the log directory"))?;
    }
    let mut log = File::create(&log_path).map_err(io(&format!("creating the log {}", log_path.display())))?;
    step(reporter, req, "unpack");
    unpack_sources(req, &dirs.work, &mut log).map_err(|failure| {
        let (file, source) = *failure;
        BuildError::Unpack { cpv: cpv.clone(), file, source: Box::new(source) }
    })?;
    step(reporter, req, "sysroot");
    merge_roots(req, &dirs)?;
    let mut env = phases::phase_env(&context(req, &dirs.work));
    if let Some(config) = &req.kernel_config {
        fs_err::write(dirs.tmp.join("kernel.config"), config).map_err(io("writing the kernel config"))?;
        env.insert("KERNEL_CONFIG".into(), format!("{}/kernel.config", sandbox::inside::TMPDIR));
    }
    let spec = SandboxSpec {
        workdir: dirs.work.clone(),
        destdir: dirs.image.clone(),
        sysroot: dirs.sysroot.clone(),
        hostroot: dirs.host.clone(),
        filesdir: req.recipe.origin.files_dir.clone(),
        tmpdir: dirs.tmp.clone(),
        env,
        timeout: None,
    };
    let phases = phase_scripts(req.recipe);
    let to_run = phases.to_run();
    let driver = write_phase_scripts(&dirs.tmp, &to_run).map_err(io("writing the phase scripts"))?;
    let started_list = dirs.tmp.join(PHASES_DIR).join(STARTED);
    let done = std::sync::atomic::AtomicBool::new(false);
    let result = std::thread::scope(|scope| {
        let watcher = scope.spawn(|| watch_phases(&started_list, &done, reporter, req));
        let phases_started = Instant::now();
        let r = sandbox::run(&spec, &driver, &mut log).map(|status| (status, phases_started.elapsed()));
        done.store(true, std::sync::atomic::Ordering::Release);
        watcher.thread().unpark();
        r
    });
    let phase = started_phases(&started_list).pop().unwrap_or_else(|| "setup".into());
    let (status, phase_time) = result.map_err(|source| BuildError::Sandbox {
        cpv: cpv.clone(),
        phase: phase.clone(),
        log: log_path.clone(),
        source: Box::new(source),
    })?;
    if !status.success() {
        let _ = log.flush();
        return Err(BuildError::Phase(Box::new(PhaseFailure {
            cpv,
            phase,
            status: describe(status),
            tail: tail(&log_path, LOG_TAIL),
            log: log_path,
            disk: DiskFull::check(store.root()),
        })));
    }
    step(reporter, req, "pack");
    let elapsed = started.elapsed();
    // The phases' own time (what `make` would take), for scheduling estimates and benchmarks.
    let meta = package_meta(req, phase_time);
    let pkg = store.insert(&req.key, &dirs.image, meta).map_err(store_err)?;
    tracing::debug!(package = %req.task, "stored");
    drop(dirs);
    tracing::debug!(package = %req.task, "build directory discarded");
    Ok(Built::Fresh(pkg, elapsed))
}

/// Where, in the build's /tmp, the phase scripts and the list of phases started so far are kept.
const PHASES_DIR: &str = ".ingot-phases";
const STARTED: &str = "started";

/// Writes each phase as its own script (helpers, `cd "$S"`, body: exactly what a phase is) and
/// returns a driver that runs them in order in one sandbox, each as a fresh `sh -e`, appending each
/// phase's name to a list as it starts so that progress can be shown and a failure named. One
/// sandbox per build instead of one per phase saves the namespace setup, most of a small
/// package's overhead.
fn write_phase_scripts(tmp: &Path, phases: &[(&str, &str)]) -> std::io::Result<String> {
    let dir = tmp.join(PHASES_DIR);
    fs_err::create_dir_all(&dir)?;
    let inside = format!("{}/{PHASES_DIR}", sandbox::inside::TMPDIR);
    let mut driver = String::new();
    for (phase, body) in phases {
        fs_err::write(dir.join(format!("{phase}.sh")), phases::script_for(phase, body))?;
        driver.push_str(&format!(
            "echo {phase} >> {inside}/{STARTED}\nprintf '>>> ingot: %s phase of %s\\n' {phase} \"$CATEGORY/$PF\"\nsh -e {inside}/{phase}.sh\n"
        ));
    }
    Ok(driver)
}

/// Reports each phase as it starts, by polling the driver's list, until `done` is set; then reports
/// whatever the list gained since the last poll, so that every phase that ran is reported, in
/// order, however fast the phases were.
fn watch_phases(
    started: &Path,
    done: &std::sync::atomic::AtomicBool,
    reporter: &dyn Reporter,
    req: &BuildRequest,
) {
    let mut reported = 0;
    loop {
        let finished = done.load(std::sync::atomic::Ordering::Acquire);
        for phase in started_phases(started).iter().skip(reported) {
            step(reporter, req, phase);
            reported += 1;
        }
        if finished {
            return;
        }
        std::thread::park_timeout(Duration::from_millis(50));
    }
}

/// The phases the driver has started, in order; none if it has not started one yet.
fn started_phases(list: &Path) -> Vec<String> {
    std::fs::read_to_string(list)
        .map(|text| text.lines().map(str::trim).filter(|l| !l.is_empty()).map(String::from).collect())
        .unwrap_or_default()
}

/// The recipe's phases over its build system's defaults. Without a named system, Gentoo's
/// defaults: configure when there is a `configure` script, make when there is a Makefile.
pub fn phase_scripts(r: &Recipe) -> PhaseScripts {
    let own = PhaseScripts {
        prepare: r.build.prepare.clone(),
        configure: r.build.configure.clone(),
        compile: r.build.compile.clone(),
        install: r.build.install.clone(),
    };
    let defaults = match r.build.system {
        Some(system) => phases::default_phases(system),
        None => PhaseScripts {
            prepare: None,
            configure: Some("if [ -x ./configure ]; then econf; fi".into()),
            compile: Some("if [ -f Makefile ] || [ -f makefile ] || [ -f GNUmakefile ]; then emake; fi".into()),
            install: Some(
                "if [ -f Makefile ] || [ -f makefile ] || [ -f GNUmakefile ]; then emake DESTDIR=\"$DESTDIR\" install; fi"
                    .into(),
            ),
        },
    };
    own.or_defaults(defaults)
}

fn context(req: &BuildRequest, work: &Path) -> PhaseContext {
    let r = req.recipe;
    // As in EAPI 4+: when nothing was unpacked (no sources, or none a tarball), a missing $S
    // means WORKDIR.
    let unpacked = r.sources.iter().any(|s| is_tarball(&s.file));
    let s_dir =
        if !unpacked && !work.join(&r.build.dir).is_dir() { String::new() } else { r.build.dir.clone() };
    let revision = r.version.revision().and_then(|s| s.parse().ok()).unwrap_or(0);
    PhaseContext {
        category: r.cpn.category().to_string(),
        name: r.cpn.package().to_string(),
        version: r.version.without_revision().to_string(),
        revision,
        use_enabled: req.features.iter().cloned().collect(),
        iuse: r.iuse.flags().iter().map(|f| f.name.to_string()).collect(),
        jobs: req.jobs,
        chost: req.chost.clone(),
        cflags: req.settings.cflags.clone(),
        cxxflags: req.settings.cxxflags.clone(),
        ldflags: req.settings.ldflags.clone(),
        extra_env: req.settings.env.clone(),
        source_date_epoch: req.source_date_epoch,
        s_dir,
    }
}

fn package_meta(req: &BuildRequest, elapsed: Duration) -> PackageMeta {
    let r = req.recipe;
    let mut owners = BTreeMap::new();
    for (path, o) in &r.build.owners {
        owners.insert(path.clone(), (o.uid, o.gid));
    }
    PackageMeta {
        atom: r.cpn.to_string(),
        version: r.version.to_string(),
        slot: match &r.subslot {
            Some(s) => format!("{}/{s}", r.slot),
            None => r.slot.clone(),
        },
        features: req.features.iter().cloned().collect(),
        run_deps: req.run_deps.clone(),
        inputs: req.inputs.clone(),
        build_seconds: (elapsed.as_secs_f64() * 1000.0).round() / 1000.0,
        source_date_epoch: req.source_date_epoch,
        owners,
        nodes: Vec::new(),
    }
}

/// The per-build directories, under one locked temporary entry of the store that is removed when
/// the build ends (or by `ingot cache gc` after a crash).
struct Dirs {
    _entry: crate::store::TempEntry,
    work: PathBuf,
    image: PathBuf,
    sysroot: PathBuf,
    host: Option<PathBuf>,
    tmp: PathBuf,
}

impl Dirs {
    /// A build without build (or host) dependencies gets the store's shared empty directory as its
    /// SYSROOT (and no host root) instead of fresh ones: every directory made here is deleted
    /// again, and deletions are slow on some filesystems.
    fn create(store: &Store, cpv: &str, sysroot: bool, host: bool) -> Result<Dirs, BuildError> {
        let entry = store
            .temp_entry(&format!("build-{}-", cpv.replace('/', "_")))
            .map_err(|e| BuildError::Store { cpv: cpv.into(), source: Box::new(e) })?;
        let root = entry.path().to_path_buf();
        let sub = |name: &str| -> Result<PathBuf, BuildError> {
            let p = root.join(name);
            fs_err::create_dir_all(&p).map_err(|source| BuildError::Io {
                cpv: cpv.into(),
                what: format!("creating {}", p.display()),
                source,
            })?;
            Ok(p)
        };
        let empty =
            || store.empty_dir().map_err(|e| BuildError::Store { cpv: cpv.into(), source: Box::new(e) });
        Ok(Dirs {
            work: sub("work")?,
            image: sub("image")?,
            sysroot: if sysroot { sub("sysroot")? } else { empty()? },
            host: if host { Some(sub("host")?) } else { None },
            tmp: sub("tmp")?,
            _entry: entry,
        })
    }
}

fn merge_roots(req: &BuildRequest, dirs: &Dirs) -> Result<(), BuildError> {
    let roots =
        [("SYSROOT", &req.sysroot, Some(&dirs.sysroot)), ("host root", &req.hostroot, dirs.host.as_ref())];
    for (root, pkgs, dir) in roots {
        let Some(dir) = dir else { continue };
        for pkg in pkgs {
            pkg.unpack(dir).map_err(|e| BuildError::Sysroot {
                cpv: req.recipe.cpv(),
                dep: pkg.manifest.package(),
                root,
                source: Box::new(e),
            })?;
        }
    }
    Ok(())
}

/// Tarballs are extracted into WORKDIR (refusing hostile entries); other files are copied there.
/// A source that could not be unpacked, and why.
type UnpackFailure = (PathBuf, crate::archive::ArchiveError);

fn unpack_sources(req: &BuildRequest, work: &Path, log: &mut File) -> Result<(), Box<UnpackFailure>> {
    let limits = crate::archive::Limits::default();
    for file in &req.distfiles {
        let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let _ = writeln!(log, ">>> ingot: unpacking {name}");
        if is_tarball(&name) {
            crate::archive::extract(file, work, &limits).map_err(|e| Box::new((file.clone(), e)))?;
        } else {
            // A fixed mode: how the distfile was downloaded must not change the build.
            let dest = work.join(&name);
            std::fs::copy(file, &dest)
                .and_then(|_| std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(0o644)))
                .map_err(|e| {
                    (file.clone(), crate::archive::ArchiveError::Read { archive: file.clone(), source: e })
                })?;
        }
    }
    Ok(())
}

fn is_tarball(name: &str) -> bool {
    [".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz", ".tar.zst", ".tzst"]
        .iter()
        .any(|ext| name.ends_with(ext))
}

fn log_path(store: &Store, req: &BuildRequest) -> PathBuf {
    let r = req.recipe;
    let key = req.key.to_string();
    store.logs_dir().join(r.cpn.category()).join(format!(
        "{}-{}-{}.log",
        r.cpn.package(),
        r.version,
        &key[..12]
    ))
}

fn step(reporter: &dyn Reporter, req: &BuildRequest, step: &str) {
    tracing::debug!(package = %req.task, step, "build step");
    reporter.event(Event::TaskStep { id: req.task.clone(), step: step.into() });
}

fn describe(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(c), _) => format!("exit status {c}"),
        (None, Some(s)) => format!("killed by signal {s}"),
        _ => status.to_string(),
    }
}

/// The last `n` lines of a log, indented.
fn tail(path: &Path, n: usize) -> String {
    let Ok(f) = File::open(path) else { return String::new() };
    let lines: Vec<String> = std::io::BufReader::new(f).lines().map_while(Result::ok).collect();
    let start = lines.len().saturating_sub(n);
    lines[start..].iter().map(|l| format!("  | {l}")).collect::<Vec<_>>().join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_phase_has_started_while_the_list_is_missing() {
        let dir = tempfile::tempdir().unwrap();
        assert!(started_phases(&dir.path().join(STARTED)).is_empty());
    }

    #[test]
    fn started_phases_are_listed_in_the_order_the_driver_appended_them() {
        let dir = tempfile::tempdir().unwrap();
        let list = dir.path().join(STARTED);
        fs_err::write(&list, "configure\ncompile\n\ninstall\n").unwrap();
        assert_eq!(started_phases(&list), ["configure", "compile", "install"]);
    }

    #[test]
    fn the_driver_appends_each_phase_to_the_list_before_running_its_script() {
        let dir = tempfile::tempdir().unwrap();
        let driver = write_phase_scripts(dir.path(), &[("compile", "true"), ("install", "true")]).unwrap();
        let lines: Vec<_> = driver.lines().filter(|l| !l.starts_with("printf")).collect();
        assert_eq!(
            lines,
            [
                "echo compile >> /tmp/.ingot-phases/started",
                "sh -e /tmp/.ingot-phases/compile.sh",
                "echo install >> /tmp/.ingot-phases/started",
                "sh -e /tmp/.ingot-phases/install.sh",
            ]
        );
        assert!(dir.path().join(PHASES_DIR).join("install.sh").is_file());
    }

    #[test]
    fn a_full_disk_note_names_the_filesystem_and_what_is_left() {
        let d = DiskFull { path: PathBuf::from("/srv/store"), free: 3 * 1024 };
        let note = disk_note(&Some(d));
        assert!(note.contains("No space left on device"), "{note}");
        assert!(note.contains("/srv/store has 3 KiB free"), "{note}");
        assert_eq!(disk_note(&None), "");
    }
}
