//! `ingot build` and `ingot fetch`.

use super::plan::plan_for;
use super::{CmdResult, Failure, Global};
use crate::build::schedule::{self, Substitute, Summary};
use crate::cache::{Substituted, Substituters, Tally};
use crate::fetch::Fetcher;
use crate::key::BuildKey;
use crate::key::{self, Environment, KeyedPlan};
use crate::profile::Profile;
use crate::report::{Event, Level};
use crate::resolve::Plan;
use crate::store::Binpkg;
use crate::store::Store;
use crate::ui::progress::{Mode, Progress, human_duration};
use serde_json::json;
use std::collections::BTreeSet;
use std::sync::Mutex;

#[derive(Debug, clap::Args)]
pub struct BuildArgs {
    /// Profile name (under --profiles) or path
    pub profile: String,
    /// Packages to build instead of the profile's world
    pub atoms: Vec<String>,
    /// Build the packages only; do not stage, configure or make the image
    #[arg(long, conflicts_with = "output")]
    pub no_image: bool,
    /// Where to write the image (default: out/<profile>.<format>)
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<std::path::PathBuf>,
    /// Parallel jobs in total, split between concurrent builds (default: the number of cores)
    #[arg(short, long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Keep building packages that do not depend on a failed one
    #[arg(short, long)]
    pub keep_going: bool,
    /// Print progress as JSON events and the summary as JSON
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub substitute: super::cache_remote::SubstituteArgs,
}

#[derive(Debug, clap::Args)]
pub struct FetchArgs {
    /// Profile name (under --profiles) or path
    pub profile: String,
    /// Packages to fetch for instead of the profile's world
    pub atoms: Vec<String>,
    /// Also fetch sources of packages already in the store
    #[arg(long)]
    pub all: bool,
    /// Parallel downloads
    #[arg(short, long, value_name = "N", default_value = "4")]
    pub jobs: usize,
    /// Print progress as JSON events
    #[arg(long)]
    pub json: bool,
}

/// Everything a command that builds needs: the plan, its keys, the store and the fetcher.
pub struct Prepared {
    pub profile: Profile,
    pub plan: Plan,
    pub env: Environment,
    pub keyed: KeyedPlan,
    pub store: Store,
    pub fetcher: Fetcher,
}

pub fn prepare(g: &Global, profile: &str, atoms: &[String]) -> Result<Prepared, Failure> {
    // The store opens and the toolchain is identified (the record of it lives in the store) while
    // the recipes load and resolve; errors are still reported plan first.
    let (planned, (store, env)) = std::thread::scope(|s| {
        let opened = s.spawn(|| {
            let store = Store::open(&g.cache_dir());
            let env = match &store {
                Ok(store) => Environment::detect_cached(&store.root().join("toolchain.json")),
                Err(_) => Environment::detect(),
            };
            (store, env)
        });
        let planned = plan_for(g, profile, atoms);
        (planned, opened.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
    });
    let (_, profile, plan) = planned?;
    let env = env?;
    let keyed = key::compute(&plan, &profile, &env)?;
    let store = store?;
    let distdir = g.distdir.clone().unwrap_or_else(|| store.distdir());
    let fetcher = Fetcher::new(distdir, profile.mirrors.clone());
    Ok(Prepared { profile, plan, env, keyed, store, fetcher })
}

pub fn jobs(requested: Option<usize>) -> usize {
    requested.unwrap_or_else(|| std::thread::available_parallelism().map(usize::from).unwrap_or(1)).max(1)
}

pub fn build(g: &Global, a: &BuildArgs) -> CmdResult {
    let p = prepare(g, &a.profile, &a.atoms)?;
    let substitution = a
        .substitute
        .substituters(&p.profile.substituters, &p.profile.trusted_keys)?
        .map(|subs| Substitution { subs, tally: Mutex::new(Tally::default()) });
    let progress = Progress::new(Mode::pick(a.json, g.quiet));
    let summary = build_with(
        &p,
        jobs(a.jobs),
        a.keep_going,
        substitution.as_ref().map(|s| s as &dyn Substitute),
        &progress,
    );
    if let Some(s) = &substitution
        && !a.json
    {
        progress.println(&s.tally.lock().map(|t| t.to_string()).unwrap_or_default());
    }
    if !summary.ok() || a.no_image {
        progress.finish();
        report(&p, &summary, None, a.json, g);
        return if summary.ok() { Ok(()) } else { Err(Failure::Reported) };
    }
    let out = a.output.clone().unwrap_or_else(|| default_output(&p.profile));
    let image = image_request(&p, &summary).make_image(&out, &progress);
    progress.finish();
    match image {
        Ok(info) => {
            report(&p, &summary, Some(&info), a.json, g);
            Ok(())
        }
        Err(e) => {
            report(&p, &summary, None, a.json, g);
            Err(e.into())
        }
    }
}

/// `out/<profile>.<format>`, relative to the working directory.
pub fn default_output(profile: &Profile) -> std::path::PathBuf {
    std::path::Path::new("out").join(format!("{}.{}", profile.name, profile.image.format.extension()))
}

pub fn image_request<'a>(p: &'a Prepared, s: &'a Summary) -> crate::pipeline::ImageRequest<'a> {
    crate::pipeline::ImageRequest {
        plan: &p.plan,
        keyed: &p.keyed,
        profile: &p.profile,
        packages: &s.packages,
        store: &p.store,
        source_date_epoch: p.env.source_date_epoch,
    }
}

pub fn build_packages(p: &Prepared, jobs: usize, keep_going: bool, progress: &Progress) -> Summary {
    build_with(p, jobs, keep_going, None, progress)
}

fn build_with(
    p: &Prepared,
    jobs: usize,
    keep_going: bool,
    substitute: Option<&dyn Substitute>,
    progress: &Progress,
) -> Summary {
    let inputs = schedule::Inputs {
        plan: &p.plan,
        keyed: &p.keyed,
        profile: &p.profile,
        store: &p.store,
        fetcher: &p.fetcher,
        substitute,
    };
    let opts = schedule::Options { jobs, keep_going, source_date_epoch: p.env.source_date_epoch };
    schedule::run(&inputs, &opts, progress)
}

/// The packages in the image (world's run-time closure) with their keys and archives.
fn image_packages(p: &Prepared) -> Vec<serde_json::Value> {
    p.plan
        .image_closure(&p.plan.roots)
        .into_iter()
        .map(|n| {
            let key = p.keyed.key(n);
            json!({"package": p.plan.get(n).cpv(), "key": key.to_string(), "archive": p.store.archive_path(&key)})
        })
        .collect()
}

fn report(p: &Prepared, s: &Summary, image: Option<&crate::image::ImageInfo>, json: bool, g: &Global) {
    let names = |v: &mut dyn Iterator<Item = petgraph::graph::NodeIndex>| -> Vec<String> {
        let mut out: Vec<String> = v.map(|n| p.plan.get(n).cpv()).collect();
        out.sort();
        out
    };
    let color = g.color_stderr();
    for (n, e) in &s.failed {
        let _ = n;
        crate::ui::print_error(e, color);
    }
    if json {
        let out = json!({
            "built": names(&mut s.built.iter().copied()),
            "reused": names(&mut s.cached.iter().copied()),
            "substituted": s.substituted.iter().map(|(n, r)| json!({"package": p.plan.get(*n).cpv(), "from": r})).collect::<Vec<_>>(),
            "failed": names(&mut s.failed.iter().map(|(n, _)| *n)),
            "skipped": names(&mut s.skipped.iter().copied()),
            "wall_seconds": (s.wall.as_secs_f64() * 1000.0).round() / 1000.0,
            "image": image,
            "image_packages": image.map(|_| image_packages(p)),
        });
        println!("{out}");
        return;
    }
    let mut line = format!("built {}, reused {} from the store", s.built.len(), s.cached.len());
    if !s.substituted.is_empty() {
        line.push_str(&format!(", substituted {}", s.substituted.len()));
    }
    if !s.failed.is_empty() {
        line.push_str(&format!(", failed {}", s.failed.len()));
    }
    if !s.skipped.is_empty() {
        line.push_str(&format!(", skipped {}", s.skipped.len()));
    }
    println!("{line} in {}", human_duration(s.wall));
    if let Some(i) = image {
        println!(
            "image {} ({}, sha256 {})",
            i.path.display(),
            crate::ui::progress::human_bytes(i.size),
            i.sha256
        );
    }
}

pub fn fetch(g: &Global, a: &FetchArgs) -> CmdResult {
    let p = prepare(g, &a.profile, &a.atoms)?;
    let mut sources = Vec::new();
    let mut seen = BTreeSet::new();
    for &n in &p.plan.order {
        if !a.all && p.store.get(&p.keyed.key(n)).ok().flatten().is_some() {
            continue;
        }
        for s in &p.plan.get(n).recipe.sources {
            if seen.insert(s.file.clone()) {
                sources.push(s.clone());
            }
        }
    }
    let progress = Progress::new(Mode::pick(a.json, g.quiet));
    progress.event(crate::report::Event::StageStarted {
        stage: "fetch".into(),
        total: Some(sources.len() as u64),
    });
    let result = p.fetcher.fetch_all(&sources, a.jobs.max(1), &progress);
    progress.finish();
    let paths = result?;
    if !a.json {
        println!("{} distfiles present in {}", paths.len(), p.fetcher.distdir().display());
    }
    Ok(())
}

use crate::report::Reporter as _;

/// Substitution from signed remote caches for one build, counting what came from where.
struct Substitution {
    subs: Substituters,
    tally: Mutex<Tally>,
}

impl Substitute for Substitution {
    fn substitute(
        &self,
        store: &Store,
        key: &BuildKey,
        task: &str,
        reporter: &dyn crate::report::Reporter,
    ) -> Option<(Binpkg, Option<String>)> {
        match self.subs.fetch(store, key, reporter) {
            Ok(result) => {
                if let Ok(mut t) = self.tally.lock() {
                    t.add(&result);
                }
                match result {
                    Substituted::From { remote, package, .. } => Some((package, Some(remote))),
                    Substituted::Present(pkg) => Some((pkg, None)),
                    Substituted::NotFound { .. } => None,
                }
            }
            Err(e) => {
                reporter.event(Event::Message {
                    level: Level::Warning,
                    text: format!("{task}: substitution failed, building it: {e}"),
                });
                None
            }
        }
    }
}
