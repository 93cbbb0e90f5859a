//! The scheduler: runs a plan's builds as soon as their build and host dependencies are in the
//! store, longest remaining path first, with `--jobs` split among concurrent builds through `JOBS`.
//! Its state (ready queue, running builds, finished keys) lives on the calling thread; each build
//! runs on a worker thread that reports back over a channel, as cargo's JobQueue does.

use super::package::{self, BuildError, BuildRequest, Built};
use crate::fetch::Fetcher;
use crate::key::{BuildKey, KeyedPlan};
use crate::profile::Profile;
use crate::recipe::DepKind;
use crate::report::{Event, Outcome, Reporter};
use crate::resolve::Plan;
use crate::store::{Binpkg, Store};
use petgraph::graph::NodeIndex;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A remote that may already have a package (issue 7's signed caches implement this).
pub trait Substitute: Sync {
    /// Fetches the package into the store if some remote has it with a valid signature; returns
    /// the package and the remote it came from (`None` when another process stored it
    /// meanwhile). Refusals are reported, not returned.
    fn substitute(
        &self,
        store: &Store,
        key: &BuildKey,
        task: &str,
        reporter: &dyn Reporter,
    ) -> Option<(Binpkg, Option<String>)>;
}

pub struct Options {
    /// Total parallelism: concurrent builds times each build's `JOBS` never exceed it.
    pub jobs: usize,
    /// Keep building what does not depend on a failed package.
    pub keep_going: bool,
    pub source_date_epoch: u64,
}

/// The inputs of a scheduled build.
pub struct Inputs<'a> {
    pub plan: &'a Plan,
    pub keyed: &'a KeyedPlan,
    pub profile: &'a Profile,
    pub store: &'a Store,
    pub fetcher: &'a Fetcher,
    pub substitute: Option<&'a dyn Substitute>,
}

/// What happened to each package.
#[derive(Debug, Default)]
pub struct Summary {
    pub built: Vec<NodeIndex>,
    pub cached: Vec<NodeIndex>,
    /// Substituted packages and the remote each came from.
    pub substituted: Vec<(NodeIndex, String)>,
    pub failed: Vec<(NodeIndex, Failure)>,
    /// Not attempted because a dependency failed or the run stopped.
    pub skipped: Vec<NodeIndex>,
    /// The store entry of every package that is now available.
    pub packages: HashMap<NodeIndex, Binpkg>,
    pub wall: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error(transparent)]
    Build(#[from] Box<BuildError>),
    #[error(transparent)]
    Fetch(#[from] Box<crate::fetch::FetchError>),
    #[error("{cpv}: {source}")]
    Store { cpv: String, source: Box<crate::store::StoreError> },
}

impl Summary {
    pub fn ok(&self) -> bool {
        self.failed.is_empty() && self.skipped.is_empty()
    }
}

/// Builds (or finds, or substitutes) every package of the plan.
pub fn run(inp: &Inputs, opts: &Options, reporter: &dyn Reporter) -> Summary {
    let started = Instant::now();
    let mut s = Scheduler::new(inp, opts, reporter);
    s.lookup();
    s.run();
    s.summary.wall = started.elapsed();
    s.summary
}

enum State {
    Waiting,
    Ready,
    Running,
    Done,
    Failed,
    Skipped,
}

struct Scheduler<'a> {
    inp: &'a Inputs<'a>,
    opts: &'a Options,
    reporter: &'a dyn Reporter,
    state: Vec<State>,
    /// Dependencies (sysroot and host root) not yet available, per node.
    waiting_on: Vec<usize>,
    dependents: Vec<Vec<NodeIndex>>,
    /// Estimated seconds from starting this package to the end of the longest chain after it.
    priority: Vec<f64>,
    ready: BinaryHeap<Ready>,
    summary: Summary,
    stopping: bool,
}

#[derive(PartialEq)]
struct Ready {
    priority: f64,
    order: usize,
    node: NodeIndex,
}

impl Eq for Ready {}
impl Ord for Ready {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        self.priority.total_cmp(&o.priority).then(o.order.cmp(&self.order))
    }
}
impl PartialOrd for Ready {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}

/// What a worker sends back.
struct Finished {
    node: NodeIndex,
    jobs: usize,
    started: Instant,
    result: Result<(Binpkg, Outcome, Option<String>), Failure>,
}

impl<'a> Scheduler<'a> {
    fn new(inp: &'a Inputs<'a>, opts: &'a Options, reporter: &'a dyn Reporter) -> Self {
        let n = inp.plan.graph.node_count();
        let mut dependents = vec![Vec::new(); n];
        let mut waiting_on = vec![0; n];
        for &node in &inp.plan.order {
            let deps = needs(inp.keyed, node);
            waiting_on[node.index()] = deps.len();
            for d in deps {
                dependents[d.index()].push(node);
            }
        }
        let known = inp.store.durations();
        let estimate: Vec<f64> = (0..n)
            .map(|i| {
                let p = inp.plan.get(NodeIndex::new(i));
                known.get(&p.cpn().to_string()).copied().unwrap_or_else(|| guess(&p.recipe))
            })
            .collect();
        let mut priority = vec![0.0; n];
        for &node in inp.plan.order.iter().rev() {
            let after = dependents[node.index()].iter().map(|d| priority[d.index()]).fold(0.0, f64::max);
            priority[node.index()] = estimate[node.index()] + after;
        }
        Scheduler {
            inp,
            opts,
            reporter,
            state: (0..n).map(|_| State::Waiting).collect(),
            waiting_on,
            dependents,
            priority,
            ready: BinaryHeap::new(),
            summary: Summary::default(),
            stopping: false,
        }
    }

    /// Marks every package already in the store as done before anything is scheduled.
    fn lookup(&mut self) {
        use rayon::prelude::*;
        let (store, keyed) = (self.inp.store, self.inp.keyed);
        let found: Vec<(NodeIndex, Result<Option<Binpkg>, crate::store::StoreError>)> =
            self.inp.plan.order.par_iter().map(|&n| (n, store.get(&keyed.key(n)))).collect();
        self.reporter.event(Event::StageStarted { stage: "build".into(), total: Some(found.len() as u64) });
        for (n, r) in found {
            if let Ok(Some(pkg)) = r {
                let task = self.task(n);
                self.reporter.event(Event::TaskStarted { id: task.clone(), what: "cached".into() });
                self.reporter.event(Event::TaskFinished {
                    id: task,
                    outcome: Outcome::Cached,
                    elapsed: Duration::ZERO,
                });
                self.summary.cached.push(n);
                self.state[n.index()] = State::Done;
                self.summary.packages.insert(n, pkg);
            }
        }
        // Only now that every hit is known: a dependent counts only missing dependencies.
        for &n in &self.inp.plan.order {
            if matches!(self.state[n.index()], State::Done) {
                for &d in &self.dependents[n.index()] {
                    self.waiting_on[d.index()] -= 1;
                }
            }
        }
        for &n in &self.inp.plan.order {
            if matches!(self.state[n.index()], State::Waiting) && self.waiting_on[n.index()] == 0 {
                self.make_ready(n);
            }
        }
    }

    fn run(&mut self) {
        let (tx, rx) = mpsc::channel::<Finished>();
        let reaper = reaper(self.inp.store);
        let mut free = self.opts.jobs.max(1);
        let mut running: BTreeMap<NodeIndex, Instant> = BTreeMap::new();
        std::thread::scope(|scope| {
            loop {
                while !self.stopping && free > 0 {
                    let Some(r) = self.ready.pop() else { break };
                    if !matches!(self.state[r.node.index()], State::Ready) {
                        continue;
                    }
                    // Split the free slots among the builds that can start now.
                    let starting = (self.ready.len() + 1).min(free);
                    let jobs = (free / starting).max(1);
                    free -= jobs;
                    self.state[r.node.index()] = State::Running;
                    running.insert(r.node, Instant::now());
                    let work = self.work(r.node, jobs);
                    let tx = tx.clone();
                    scope.spawn(move || {
                        let started = Instant::now();
                        let result = work.run();
                        let _ = tx.send(Finished { node: r.node, jobs, started, result });
                    });
                }
                self.eta(&running);
                if running.is_empty() {
                    break;
                }
                let Ok(f) = rx.recv() else { break };
                running.remove(&f.node);
                free += f.jobs;
                self.finish(f);
                let _ = reaper.send(());
            }
        });
        let leftover: Vec<NodeIndex> = self
            .inp
            .plan
            .order
            .iter()
            .copied()
            .filter(|n| matches!(self.state[n.index()], State::Waiting | State::Ready))
            .collect();
        for n in leftover {
            self.state[n.index()] = State::Skipped;
            self.summary.skipped.push(n);
        }
        let times: Vec<(String, f64)> = self
            .summary
            .built
            .iter()
            .filter_map(|n| {
                let pkg = self.summary.packages.get(n)?;
                Some((pkg.manifest.atom.clone(), pkg.manifest.build_seconds))
            })
            .collect();
        let _ = self.inp.store.record_durations(&times);
    }

    fn finish(&mut self, f: Finished) {
        let task = self.task(f.node);
        let elapsed = f.started.elapsed();
        match f.result {
            Ok((pkg, outcome, remote)) => {
                self.reporter.event(Event::TaskFinished { id: task, outcome, elapsed });
                match (outcome, remote) {
                    (Outcome::Substituted, Some(remote)) => self.summary.substituted.push((f.node, remote)),
                    (Outcome::Cached, _) => self.summary.cached.push(f.node),
                    _ => self.summary.built.push(f.node),
                }
                self.done(f.node, pkg);
            }
            Err(e) => {
                self.reporter.event(Event::TaskFinished { id: task, outcome: Outcome::Failed, elapsed });
                self.state[f.node.index()] = State::Failed;
                self.summary.failed.push((f.node, e));
                self.skip_dependents(f.node);
                if !self.opts.keep_going {
                    self.stopping = true;
                }
            }
        }
    }

    fn done(&mut self, n: NodeIndex, pkg: Binpkg) {
        self.state[n.index()] = State::Done;
        self.summary.packages.insert(n, pkg);
        for i in 0..self.dependents[n.index()].len() {
            let d = self.dependents[n.index()][i];
            self.waiting_on[d.index()] -= 1;
            if self.waiting_on[d.index()] == 0 && matches!(self.state[d.index()], State::Waiting) {
                self.make_ready(d);
            }
        }
    }

    fn skip_dependents(&mut self, n: NodeIndex) {
        let mut stack = self.dependents[n.index()].clone();
        while let Some(d) = stack.pop() {
            if matches!(self.state[d.index()], State::Waiting | State::Ready) {
                self.state[d.index()] = State::Skipped;
                self.summary.skipped.push(d);
                stack.extend(self.dependents[d.index()].iter().copied());
            }
        }
        self.ready.retain(|r| !matches!(self.state[r.node.index()], State::Skipped));
    }

    fn make_ready(&mut self, n: NodeIndex) {
        self.state[n.index()] = State::Ready;
        let order = self.inp.plan.position[n.index()];
        self.ready.push(Ready { priority: self.priority[n.index()], order, node: n });
    }

    /// The longest chain still ahead: running builds' remaining estimate, or a ready package's.
    fn eta(&self, running: &BTreeMap<NodeIndex, Instant>) {
        let run =
            running.iter().map(|(n, t)| (self.priority[n.index()] - t.elapsed().as_secs_f64()).max(0.0));
        let ready = self.ready.iter().map(|r| r.priority);
        let remaining = run.chain(ready).fold(0.0, f64::max);
        self.reporter.event(Event::Eta { remaining: Duration::from_secs_f64(remaining) });
    }

    fn task(&self, n: NodeIndex) -> String {
        self.inp.plan.get(n).cpv()
    }

    /// Everything a worker needs, gathered on the scheduler's thread.
    fn work(&self, n: NodeIndex, jobs: usize) -> Work<'a> {
        let sysroot = self.keyed_pkgs(&self.inp.keyed.sysroot[n.index()]);
        let hostroot = self.keyed_pkgs(&self.inp.keyed.hostroot[n.index()]);
        Work { inp: self.inp, opts: self.opts, reporter: self.reporter, node: n, jobs, sysroot, hostroot }
    }

    fn keyed_pkgs(&self, nodes: &[NodeIndex]) -> Vec<Binpkg> {
        nodes.iter().filter_map(|d| self.summary.packages.get(d).cloned()).collect()
    }
}

/// A detached thread that deletes finished build directories from the store's trash whenever
/// woken, so no build waits for slow deletions. It may be cut short at exit; the next run or
/// `ingot cache gc` finishes the job.
fn reaper(store: &Store) -> mpsc::Sender<()> {
    let (tx, rx) = mpsc::channel::<()>();
    let store = store.clone();
    let _ = std::thread::Builder::new().name("ingot-reaper".into()).spawn(move || {
        store.empty_trash();
        while rx.recv().is_ok() {
            while rx.try_recv().is_ok() {}
            store.empty_trash();
        }
    });
    tx
}

/// What must be in the store before `n` can build: its SYSROOT and host root.
fn needs(keyed: &KeyedPlan, n: NodeIndex) -> Vec<NodeIndex> {
    let mut v: Vec<NodeIndex> =
        keyed.sysroot[n.index()].iter().chain(&keyed.hostroot[n.index()]).copied().collect();
    v.sort();
    v.dedup();
    v
}

/// A first guess of build time without history: packages with sources take longer than those
/// without, so chains of real builds still tend to start first.
fn guess(r: &crate::recipe::Recipe) -> f64 {
    1.0 + 10.0 * r.sources.len() as f64
}

/// One package's build, run on a worker thread.
struct Work<'a> {
    inp: &'a Inputs<'a>,
    opts: &'a Options,
    reporter: &'a dyn Reporter,
    node: NodeIndex,
    jobs: usize,
    sysroot: Vec<Binpkg>,
    hostroot: Vec<Binpkg>,
}

impl Work<'_> {
    fn run(self) -> Result<(Binpkg, Outcome, Option<String>), Failure> {
        let p = self.inp.plan.get(self.node);
        let task = p.cpv();
        let key = self.inp.keyed.key(self.node);
        self.reporter.event(Event::TaskStarted { id: task.clone(), what: "build".into() });
        let substituted =
            self.inp.substitute.and_then(|s| s.substitute(self.inp.store, &key, &task, self.reporter));
        match substituted {
            Some((pkg, Some(remote))) => return Ok((pkg, Outcome::Substituted, Some(remote))),
            Some((pkg, None)) => return Ok((pkg, Outcome::Cached, None)),
            None => {}
        }
        self.reporter.event(Event::TaskStep { id: task.clone(), step: "fetch".into() });
        let mut distfiles: Vec<PathBuf> = Vec::new();
        for src in &p.recipe.sources {
            distfiles.push(self.inp.fetcher.fetch(src, self.reporter).map_err(Box::new)?);
        }
        let kernel_config = if p.recipe.build.kernel_config {
            let mut all = Vec::new();
            for f in &self.inp.profile.kernel_config {
                let bytes = fs_err::read(f).map_err(|e| Failure::Store {
                    cpv: task.clone(),
                    source: Box::new(crate::store::StoreError::Io(e)),
                })?;
                all.extend_from_slice(&bytes);
                all.push(b'\n');
            }
            Some(all)
        } else {
            None
        };
        let run_deps = self
            .inp
            .plan
            .deps(self.node)
            .into_iter()
            .filter(|(_, k)| matches!(k, DepKind::Run | DepKind::Post))
            .map(|(d, _)| self.inp.plan.get(d).cpn().to_string())
            .collect();
        let req = BuildRequest {
            recipe: &p.recipe,
            features: &p.features,
            key,
            inputs: &self.inp.keyed.inputs[self.node.index()],
            sysroot: self.sysroot,
            hostroot: self.hostroot,
            distfiles,
            chost: self.inp.profile.make.chost.clone(),
            settings: self.inp.profile.build_settings(&p.recipe),
            jobs: self.jobs,
            kernel_config,
            source_date_epoch: self.opts.source_date_epoch,
            run_deps,
            task,
        };
        match package::build(self.inp.store, &req, self.reporter).map_err(Box::new)? {
            Built::Fresh(pkg, _) => Ok((pkg, Outcome::Built, None)),
            Built::Cached(pkg) => Ok((pkg, Outcome::Cached, None)),
        }
    }
}
