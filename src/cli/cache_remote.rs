//! `ingot cache keygen`, `ingot cache push`, and the `--substituters` / `--trusted-key` options
//! that `ingot build` flattens into its arguments. Parses, calls `crate::cache`, prints.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;

use super::{CmdResult, Failure, Global};
use crate::cache::{self, PublicKey, PushRequest, Remote, SecretKey, Substituters};
use crate::key::BuildKey;
use crate::report::{Event, Level, Outcome, Reporter};
use crate::store::Store;

#[derive(Debug, clap::Args)]
pub struct KeygenArgs {
    /// Key name, written into every signature (such as cache.example.org-1)
    pub name: String,
    /// Directory for NAME.sec (mode 0600) and NAME.pub
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub out: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct PushArgs {
    /// A directory, or an http(s):// URL accepting PUT (nginx with WebDAV: see docs/cache.md)
    pub dest: String,
    /// The secret key to sign with (NAME.sec from `ingot cache keygen`)
    #[arg(long, value_name = "FILE")]
    pub key: PathBuf,
    /// Push only what this profile's plan needs, and write index/<profile>.json listing it
    pub profile: Option<String>,
}

/// The build keys of a profile's plan, and the profile's name for its index file. `ingot cache
/// push PROFILE` gets them from the same resolve-and-key step `ingot build` runs.
pub struct PlanKeys {
    pub profile: String,
    pub keys: Vec<BuildKey>,
}

/// Options for substituting packages from remote caches. The profile and ingot's config may add
/// remotes and keys: see `SubstituteArgs::substituters`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct SubstituteArgs {
    /// Fetch packages from these caches before building them: URLs or directories, tried in
    /// order (repeat, or separate with spaces)
    #[arg(long = "substituters", value_name = "URL", value_delimiter = ' ')]
    pub substituters: Vec<String>,
    /// Accept packages signed by this public key (NAME.pub); repeat for several
    #[arg(long = "trusted-key", value_name = "FILE")]
    pub trusted_keys: Vec<PathBuf>,
}

pub fn keygen(g: &Global, a: &KeygenArgs) -> CmdResult {
    let files = cache::keygen(&a.out, &a.name)?;
    let public = PublicKey::read(&files.public)?;
    if !g.quiet {
        println!(
            "secret key: {} (keep it private; sign with `ingot cache push --key`)",
            files.secret.display()
        );
        println!(
            "public key: {} (give it to substituting machines as --trusted-key)",
            files.public.display()
        );
    }
    println!("{public}");
    Ok(())
}

/// `plan_keys` resolves a profile into its plan's keys; it is only called when a profile is given.
pub fn push(g: &Global, a: &PushArgs, plan_keys: &dyn Fn(&str) -> Result<PlanKeys, Failure>) -> CmdResult {
    let secret = SecretKey::read(&a.key)?;
    let dest = Remote::parse(&a.dest)?;
    let store = Store::open(&g.cache_dir())?;
    let plan = a.profile.as_deref().map(plan_keys).transpose()?;
    let request = match &plan {
        Some(p) => PushRequest { only: Some(&p.keys), index: Some((&p.profile, &p.keys)) },
        None => PushRequest::default(),
    };
    let reporter = PrintReporter::new(g.quiet);
    let report = cache::push(&store, &dest, &secret, request, &reporter)?;
    let missing = report.missing.len();
    if missing > 0 {
        eprintln!(
            "warning: {missing} package{} of the plan {} not in the store (build them first): {}",
            plural(missing),
            if missing == 1 { "is" } else { "are" },
            report.missing.iter().map(|k| k.to_string()).collect::<Vec<_>>().join(" ")
        );
    }
    println!(
        "pushed {} package{} ({:.1} MB) to {dest}, signed by {}; {} already there",
        report.uploaded.len(),
        plural(report.uploaded.len()),
        report.bytes as f64 / 1e6,
        secret.name(),
        report.present.len()
    );
    if let Some(index) = &report.index {
        println!("index: {index}");
    }
    Ok(())
}

impl SubstituteArgs {
    /// The substituters from these options followed by `extra_remotes` and `extra_keys` (from the
    /// profile or ingot's config); `None` when no remote is given at all.
    pub fn substituters(
        &self,
        extra_remotes: &[String],
        extra_keys: &[PathBuf],
    ) -> Result<Option<Substituters>, Failure> {
        let remotes: Vec<String> =
            self.substituters.iter().chain(extra_remotes).filter(|r| !r.is_empty()).cloned().collect();
        if remotes.is_empty() {
            return Ok(None);
        }
        let keys = self
            .trusted_keys
            .iter()
            .chain(extra_keys)
            .map(|p| PublicKey::read(p))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Some(Substituters::new(&remotes, keys)?))
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Prints a line per package pushed (unless quiet) and every warning, to stderr.
struct PrintReporter {
    quiet: bool,
    tasks: Mutex<HashMap<String, String>>,
}

impl PrintReporter {
    fn new(quiet: bool) -> Self {
        PrintReporter { quiet, tasks: Mutex::new(HashMap::new()) }
    }
}

impl Reporter for PrintReporter {
    fn event(&self, event: Event) {
        let mut tasks = self.tasks.lock().unwrap_or_else(|p| p.into_inner());
        match event {
            Event::TaskStarted { id, what } => {
                tasks.insert(id, what);
            }
            Event::TaskFinished { id, outcome, .. } => {
                let what = tasks.remove(&id).unwrap_or(id);
                match outcome {
                    Outcome::Uploaded if !self.quiet => eprintln!("uploaded {what}"),
                    Outcome::Failed => eprintln!("failed: {what}"),
                    _ => {}
                }
            }
            Event::Message { level: Level::Warning, text } => eprintln!("warning: {text}"),
            Event::Message { level: Level::Info, text } if !self.quiet => eprintln!("{text}"),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Color;
    use crate::store::PackageMeta;
    use clap::Parser;
    use std::os::unix::fs::PermissionsExt;
    use std::path::Path;

    fn global(cache: &Path) -> Global {
        Global {
            recipes: vec![],
            profiles: None,
            cache: Some(cache.to_path_buf()),
            distdir: None,
            quiet: true,
            verbose: 0,
            color: Color::Never,
        }
    }

    /// `Failure` has no `Debug`, so no `unwrap`.
    fn ok<T>(result: Result<T, Failure>) -> T {
        match result {
            Ok(v) => v,
            Err(Failure::Error(e)) => panic!("{e}"),
            Err(Failure::Reported) => panic!("reported failure"),
        }
    }

    fn error(result: CmdResult) -> String {
        match result {
            Err(Failure::Error(e)) => e.to_string(),
            Err(Failure::Reported) => "reported".into(),
            Ok(()) => panic!("expected an error"),
        }
    }

    #[derive(Debug, clap::Parser)]
    struct Build {
        #[command(flatten)]
        subs: SubstituteArgs,
        profile: String,
    }

    #[test]
    fn keygen_writes_the_key_pair_with_private_secret() {
        let dir = tempfile::tempdir().unwrap();
        let args = KeygenArgs { name: "c1".into(), out: dir.path().join("k") };
        ok(keygen(&global(dir.path()), &args));
        let mode = std::fs::metadata(dir.path().join("k/c1.sec")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(dir.path().join("k/c1.pub").is_file());
        assert!(error(keygen(&global(dir.path()), &args)).contains("already exists"));
    }

    #[test]
    fn push_of_a_profile_sends_its_plan_and_writes_its_index() {
        let dir = tempfile::tempdir().unwrap();
        let cache_dir = dir.path().join("store");
        let store = Store::open(&cache_dir).unwrap();
        let dest = dir.path().join("d");
        std::fs::create_dir_all(&dest).unwrap();
        std::fs::write(dest.join("f"), b"x").unwrap();
        let (k1, k2) = (BuildKey::from_bytes([1; 32]), BuildKey::from_bytes([2; 32]));
        for k in [k1, k2] {
            store.insert(&k, &dest, PackageMeta { atom: "a/b".into(), ..Default::default() }).unwrap();
        }
        let files = cache::keygen(&dir.path().join("keys"), "c1").unwrap();
        let remote = dir.path().join("remote");
        let args =
            PushArgs { dest: remote.display().to_string(), key: files.secret, profile: Some("p1".into()) };
        let plan = |name: &str| Ok(PlanKeys { profile: format!("{name}-x"), keys: vec![k2] });
        ok(push(&global(&cache_dir), &args, &plan));
        assert!(remote.join(format!("pkgs/02/{k2}.sig")).is_file());
        assert!(!remote.join(format!("pkgs/01/{k1}.sig")).exists());
        assert!(remote.join("index/p1-x.json").is_file());
    }

    #[test]
    fn push_with_a_missing_key_file_names_it() {
        let dir = tempfile::tempdir().unwrap();
        let args = PushArgs { dest: "/tmp/x".into(), key: dir.path().join("nope.sec"), profile: None };
        let no_plan = |_: &str| -> Result<PlanKeys, Failure> { unreachable!("no profile given") };
        let err = error(push(&global(dir.path()), &args, &no_plan));
        assert!(err.contains("nope.sec"), "{err}");
    }

    #[test]
    fn substituters_and_trusted_keys_parse_repeated_or_space_separated() {
        let dir = tempfile::tempdir().unwrap();
        let files = cache::keygen(dir.path(), "c1").unwrap();
        let key = files.public.display().to_string();
        let build = Build::try_parse_from([
            "build",
            "--substituters",
            "http://127.0.0.1:1/a /srv/b",
            "--substituters",
            "file:///srv/c",
            "--trusted-key",
            &key,
            "amd64",
        ])
        .unwrap();
        assert_eq!(build.profile, "amd64");
        let subs = ok(build.subs.substituters(&["http://127.0.0.1:1/d".into()], &[])).unwrap();
        let shown: Vec<String> = subs.remotes().iter().map(|r| r.to_string()).collect();
        assert_eq!(shown, ["http://127.0.0.1:1/a", "/srv/b", "/srv/c", "http://127.0.0.1:1/d"]);
        assert_eq!(subs.trusted()[0].name(), "c1");
        assert!(ok(SubstituteArgs::default().substituters(&[], &[])).is_none());
    }

    #[test]
    fn substituters_without_trusted_keys_are_an_error() {
        let args = SubstituteArgs { substituters: vec!["/srv/c".into()], trusted_keys: vec![] };
        let err = match args.substituters(&[], &[]) {
            Err(Failure::Error(e)) => e.to_string(),
            _ => panic!("expected an error"),
        };
        assert!(err.contains("no --trusted-key given"), "{err}");
    }
}
