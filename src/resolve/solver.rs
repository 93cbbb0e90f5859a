//! The resolver proper: a greedy walk from the roots that reuses instances already chosen, picks
//! the best visible version otherwise, and settles slot conflicts by restarting with the learnt
//! version constraints (a bounded form of Portage's backtracking).

use super::error::{Chain, ResolveError};
use super::locate;
use super::{PackageInstance, Reason};
use crate::dep::{Atom, Cpn, DepNode};
use crate::profile::Profile;
use crate::recipe::{DepKind, Recipe, RecipeId, Repo};
use petgraph::graph::{DiGraph, NodeIndex};
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::Arc;

const MAX_ATTEMPTS: usize = 64;

type Graph = DiGraph<PackageInstance, DepKind>;
type Features = Arc<BTreeSet<String>>;
/// Version constraints learnt from slot conflicts, per package and slot.
type Constraints = HashMap<(Cpn, String), Vec<Atom>>;

pub(super) fn solve(
    repo: &Repo,
    profile: &Profile,
    roots: &[Atom],
    root_label: &'static str,
) -> Result<(Graph, Vec<NodeIndex>), Box<ResolveError>> {
    let mut constraints = Constraints::new();
    for _ in 0..MAX_ATTEMPTS {
        let mut s = Solver::new(repo, profile, &constraints, root_label);
        match s.run(roots) {
            Ok(()) => return s.finish(),
            Err(Step::Fail(e)) => return Err(e),
            Err(Step::Retry { cpn, slot, atoms, conflict }) => {
                let learnt = constraints.entry((cpn, slot)).or_default();
                let before = learnt.len();
                for a in atoms {
                    if !learnt.iter().any(|x| x.to_string() == a.to_string()) {
                        learnt.push(a);
                    }
                }
                if learnt.len() == before {
                    return Err(conflict);
                }
            }
        }
    }
    let cpn = constraints.keys().next().map(|k| k.0.to_string()).unwrap_or_default();
    Err(Box::new(ResolveError::TooManyAttempts { attempts: MAX_ATTEMPTS, cpn }))
}

enum Step {
    Fail(Box<ResolveError>),
    /// Restart with these atoms constraining `cpn:slot`; `conflict` is the error to report if
    /// they teach nothing new.
    Retry {
        cpn: Cpn,
        slot: String,
        atoms: Vec<Atom>,
        conflict: Box<ResolveError>,
    },
}

impl From<ResolveError> for Step {
    fn from(e: ResolveError) -> Self {
        Step::Fail(Box::new(e))
    }
}

/// An atom that selected or matched an instance, kept to explain and settle slot conflicts.
struct Request {
    atom: Atom,
    ctx: Features,
    chain: Chain,
}

struct Solver<'a> {
    repo: &'a Repo,
    profile: &'a Profile,
    constraints: &'a Constraints,
    graph: Graph,
    by_cpn: HashMap<Cpn, Vec<NodeIndex>>,
    requests: HashMap<NodeIndex, Vec<Request>>,
    features: HashMap<RecipeId, Features>,
    queue: VecDeque<NodeIndex>,
    blockers: Vec<(NodeIndex, Atom, DepKind)>,
    roots: Vec<NodeIndex>,
    no_features: Features,
    root_label: &'static str,
}

/// Outcome of checking one candidate's USE against an atom's USE dependencies.
enum UseMismatch {
    /// The flag is in IUSE but set the other way: the profile could change it.
    Conflict { flag: String, wanted: bool },
    /// The flag is not in IUSE and the USE dependency gives no `(+)`/`(-)` default.
    Missing { flag: String },
}

impl<'a> Solver<'a> {
    fn new(
        repo: &'a Repo,
        profile: &'a Profile,
        constraints: &'a Constraints,
        root_label: &'static str,
    ) -> Self {
        Solver {
            repo,
            profile,
            constraints,
            graph: Graph::new(),
            by_cpn: HashMap::new(),
            requests: HashMap::new(),
            features: HashMap::new(),
            queue: VecDeque::new(),
            blockers: Vec::new(),
            roots: Vec::new(),
            no_features: Arc::new(BTreeSet::new()),
            root_label,
        }
    }

    fn run(&mut self, roots: &[Atom]) -> Result<(), Step> {
        for atom in roots {
            let ctx = self.no_features.clone();
            let n = self.require(None, None, atom, &ctx)?;
            if !self.roots.contains(&n) {
                self.roots.push(n);
            }
        }
        while let Some(n) = self.queue.pop_front() {
            let recipe = self.graph[n].recipe.clone();
            let ctx: Features = Arc::new(self.graph[n].features.clone());
            for kind in DepKind::ALL {
                self.nodes(n, kind, recipe.depend.get(kind).nodes(), &ctx)?;
            }
        }
        Ok(())
    }

    fn finish(self) -> Result<(Graph, Vec<NodeIndex>), Box<ResolveError>> {
        for (from, atom, kind) in &self.blockers {
            let ctx = &self.graph[*from].features;
            for &other in self.by_cpn.get(atom.cpn()).into_iter().flatten() {
                if other == *from || !self.matches_instance(other, atom, ctx) {
                    continue;
                }
                return Err(Box::new(ResolveError::Blocked {
                    atom: atom.to_string(),
                    at: locate::dep(&self.graph[*from].recipe, *kind, &atom.to_string()),
                    blocker_cpv: self.graph[*from].cpv(),
                    blocked_cpv: self.graph[other].cpv(),
                    blocker_chain: self.chain_of(*from),
                    blocked_chain: self.chain_of(other),
                }));
            }
        }
        Ok((self.graph, self.roots))
    }

    fn nodes(&mut self, n: NodeIndex, kind: DepKind, nodes: &[DepNode], ctx: &Features) -> Result<(), Step> {
        for node in nodes {
            match node {
                DepNode::Atom(a) if a.blocker().is_some() => self.blockers.push((n, a.clone(), kind)),
                DepNode::Atom(a) => {
                    let t = self.require(Some(n), Some(kind), a, ctx)?;
                    let dup = self.graph.edges_connecting(n, t).any(|e| *e.weight() == kind);
                    if !dup {
                        self.graph.add_edge(n, t, kind);
                    }
                }
                DepNode::AllOf(children) => self.nodes(n, kind, children, ctx)?,
                DepNode::UseCond { flag, negated, children } => {
                    if ctx.contains(&**flag) != *negated {
                        self.nodes(n, kind, children, ctx)?;
                    }
                }
                DepNode::AnyOf(alts) => {
                    let pick = self.choose(alts, ctx).ok_or_else(|| self.any_of_error(n, kind, alts, ctx))?;
                    self.nodes(n, kind, std::slice::from_ref(&alts[pick]), ctx)?;
                }
            }
        }
        Ok(())
    }

    /// `|| ( … )`: an alternative already satisfied by the plan, else the first installable one.
    fn choose(&mut self, alts: &[DepNode], ctx: &Features) -> Option<usize> {
        alts.iter()
            .position(|a| self.satisfied(a, ctx))
            .or_else(|| alts.iter().position(|a| self.installable(a, ctx)))
    }

    fn satisfied(&self, node: &DepNode, ctx: &Features) -> bool {
        match node {
            DepNode::Atom(a) if a.blocker().is_some() => true,
            DepNode::Atom(a) => {
                self.by_cpn.get(a.cpn()).into_iter().flatten().any(|&i| self.matches_instance(i, a, ctx))
            }
            DepNode::AllOf(c) => c.iter().all(|x| self.satisfied(x, ctx)),
            DepNode::AnyOf(c) => c.iter().any(|x| self.satisfied(x, ctx)),
            DepNode::UseCond { flag, negated, children } => {
                ctx.contains(&**flag) == *negated || children.iter().all(|x| self.satisfied(x, ctx))
            }
        }
    }

    fn installable(&mut self, node: &DepNode, ctx: &Features) -> bool {
        match node {
            DepNode::Atom(a) if a.blocker().is_some() => true,
            DepNode::Atom(a) => self.satisfied(node, ctx) || self.candidates(a, ctx).0.is_some(),
            DepNode::AllOf(c) => c.iter().all(|x| self.installable(x, ctx)),
            DepNode::AnyOf(c) => c.iter().any(|x| self.installable(x, ctx)),
            DepNode::UseCond { flag, negated, children } => {
                ctx.contains(&**flag) == *negated || children.iter().all(|x| self.installable(x, ctx))
            }
        }
    }

    fn any_of_error(&mut self, n: NodeIndex, kind: DepKind, alts: &[DepNode], ctx: &Features) -> Step {
        let mut reasons = Vec::new();
        for alt in alts {
            let mut atoms = Vec::new();
            collect_atoms(alt, ctx, &mut atoms);
            for a in atoms {
                if !self.repo.contains(a.cpn()) {
                    reasons.push(format!("`{a}`: not in the recipe tree"));
                } else if self.candidates(&a, ctx).0.is_none() {
                    reasons.push(format!("`{a}`: no acceptable version"));
                }
            }
        }
        let group = DepNode::AnyOf(alts.to_vec()).to_string();
        let chain = self.chain_to(Some(n), Some(kind), &group);
        Step::from(ResolveError::AnyOf { group, chain, reasons })
    }

    /// Finds or creates the instance that satisfies `atom`.
    fn require(
        &mut self,
        parent: Option<NodeIndex>,
        kind: Option<DepKind>,
        atom: &Atom,
        ctx: &Features,
    ) -> Result<NodeIndex, Step> {
        let cpn = atom.cpn();
        if !self.repo.contains(cpn) {
            let chain = self.chain_to(parent, kind, &atom.to_string());
            return Err(ResolveError::NotInTree { atom: atom.to_string(), chain }.into());
        }
        if let Some(&i) =
            self.by_cpn.get(cpn).into_iter().flatten().find(|&&i| self.matches_instance(i, atom, ctx))
        {
            let chain = self.chain_to(parent, kind, &atom.to_string());
            self.requests.entry(i).or_default().push(Request { atom: atom.clone(), ctx: ctx.clone(), chain });
            return Ok(i);
        }
        let (found, scan) = self.candidates(atom, ctx);
        if let Some((rid, feats)) = found {
            return self.add_instance(rid, feats, parent, kind, atom, ctx);
        }
        Err(self.explain(parent, kind, atom, ctx, scan))
    }

    /// The best acceptable candidate for `atom` whose slot is free, and what was seen on the way.
    fn candidates(&mut self, atom: &Atom, ctx: &Features) -> (Option<(RecipeId, Features)>, Scan) {
        let mut scan = Scan::default();
        let repo = self.repo;
        for (rid, recipe) in repo.versions(atom.cpn()) {
            let cpv = recipe.cpv();
            if let Some(pc) = self.profile.hidden(recipe) {
                let (line, col) = pc.setting.file.line_col(pc.setting.span.start);
                let why = if pc.mask { "masked" } else { "outside the version pin" };
                let path = pc.setting.file.path.display();
                scan.reasons.push(format!("{cpv}: {why} by {path}:{line}:{col}"));
                continue;
            }
            if !atom.matches_version(&recipe.version) {
                scan.reasons.push(format!("{cpv}: version does not match"));
                continue;
            }
            if !atom.matches_slot(&recipe.slot, recipe.subslot.as_deref()) {
                scan.reasons.push(format!("{cpv}: slot {} does not match", slot_text(recipe)));
                continue;
            }
            let learnt = self.constraints.get(&(atom.cpn().clone(), recipe.slot.clone()));
            if let Some(c) = learnt.into_iter().flatten().find(|c| !c.matches_version(&recipe.version)) {
                scan.reasons.push(format!("{cpv}: excluded by `{c}` to settle a slot conflict"));
                continue;
            }
            let feats = self.features_of(rid, recipe);
            match use_mismatch(atom, ctx, recipe, &feats) {
                Some(UseMismatch::Conflict { flag, wanted }) => {
                    scan.reasons
                        .push(format!("{cpv}: USE flag `{flag}` is {}", if wanted { "off" } else { "on" }));
                    scan.use_conflict.get_or_insert((cpv, flag, wanted));
                    continue;
                }
                Some(UseMismatch::Missing { flag }) => {
                    scan.reasons.push(format!(
                        "{cpv}: has no USE flag `{flag}` (and the dependency gives no default)"
                    ));
                    continue;
                }
                None => {}
            }
            let occupant = self
                .by_cpn
                .get(atom.cpn())
                .into_iter()
                .flatten()
                .copied()
                .find(|&i| self.graph[i].slot() == recipe.slot);
            if let Some(o) = occupant {
                scan.reasons.push(format!(
                    "{cpv}: slot {} already holds {}",
                    recipe.slot,
                    self.graph[o].cpv()
                ));
                scan.slot_conflict.get_or_insert(o);
                continue;
            }
            return (Some((rid, feats)), scan);
        }
        (None, scan)
    }

    fn explain(
        &mut self,
        parent: Option<NodeIndex>,
        kind: Option<DepKind>,
        atom: &Atom,
        ctx: &Features,
        scan: Scan,
    ) -> Step {
        let chain = self.chain_to(parent, kind, &atom.to_string());
        if let Some(occupant) = scan.slot_conflict {
            let slot = self.graph[occupant].slot().to_string();
            let first = self.requests.get(&occupant).and_then(|r| r.first());
            let conflict = ResolveError::SlotConflict {
                cpn: atom.cpn().to_string(),
                slot: slot.clone(),
                first_cpv: self.graph[occupant].cpv(),
                first_atom: first.map(|r| r.atom.to_string()).unwrap_or_default(),
                first_chain: first.map(|r| r.chain.clone()).unwrap_or_default(),
                second_atom: atom.to_string(),
                second_chain: chain.clone(),
            };
            let mut atoms: Vec<Atom> =
                self.requests.get(&occupant).into_iter().flatten().map(|r| r.atom.clone()).collect();
            atoms.push(atom.clone());
            if self.settles(occupant, atom, ctx) {
                return Step::Retry { cpn: atom.cpn().clone(), slot, atoms, conflict: Box::new(conflict) };
            }
            if scan.use_conflict.is_none() {
                return Step::from(conflict);
            }
        }
        if let Some((cpv, flag, wanted)) = scan.use_conflict {
            let cpn = atom.cpn().to_string();
            return Step::from(ResolveError::UseConflict {
                atom: atom.to_string(),
                cpv,
                cpn,
                flag,
                wanted,
                chain,
            });
        }
        Step::from(ResolveError::NoCandidate {
            cpn: atom.cpn().to_string(),
            atom: atom.to_string(),
            chain,
            reasons: scan.reasons,
        })
    }

    /// Whether some visible version in the occupant's slot satisfies every atom that asked for
    /// the occupant and the new one.
    fn settles(&mut self, occupant: NodeIndex, atom: &Atom, ctx: &Features) -> bool {
        let slot = self.graph[occupant].slot().to_string();
        let repo = self.repo;
        let candidates: Vec<(RecipeId, &Arc<Recipe>)> = repo
            .versions(atom.cpn())
            .filter(|(_, r)| r.slot == slot && self.profile.hidden(r).is_none())
            .collect();
        candidates.into_iter().any(|(rid, r)| {
            let feats = self.features_of(rid, r);
            let ok = |a: &Atom, c: &Features| {
                a.matches_version(&r.version)
                    && a.matches_slot(&r.slot, r.subslot.as_deref())
                    && use_mismatch(a, c, r, &feats).is_none()
            };
            ok(atom, ctx) && self.requests.get(&occupant).into_iter().flatten().all(|q| ok(&q.atom, &q.ctx))
        })
    }

    fn add_instance(
        &mut self,
        rid: RecipeId,
        features: Features,
        parent: Option<NodeIndex>,
        kind: Option<DepKind>,
        atom: &Atom,
        ctx: &Features,
    ) -> Result<NodeIndex, Step> {
        let recipe = self.repo.get(rid).clone();
        let chain = self.chain_to(parent, kind, &atom.to_string());
        let unmet =
            recipe.required_use.as_ref().and_then(|ru| ru.check(&|f: &str| features.contains(f)).err());
        if let Some(v) = unmet {
            return Err(ResolveError::RequiredUse {
                cpv: recipe.cpv(),
                at: locate::required_use(&recipe),
                violation: v.to_string(),
                enabled: features.iter().cloned().collect(),
                chain,
            }
            .into());
        }
        let reason = Reason { parent, kind, atom: atom.to_string() };
        let n = self.graph.add_node(PackageInstance { recipe, features: (*features).clone(), reason });
        self.by_cpn.entry(atom.cpn().clone()).or_default().push(n);
        self.requests.entry(n).or_default().push(Request { atom: atom.clone(), ctx: ctx.clone(), chain });
        self.queue.push_back(n);
        Ok(n)
    }

    fn matches_instance(&self, i: NodeIndex, atom: &Atom, ctx: &BTreeSet<String>) -> bool {
        let inst = &self.graph[i];
        let r = &inst.recipe;
        atom.matches_version(&r.version)
            && atom.matches_slot(&r.slot, r.subslot.as_deref())
            && use_mismatch(atom, ctx, r, &inst.features).is_none()
    }

    fn features_of(&mut self, rid: RecipeId, recipe: &Recipe) -> Features {
        self.features.entry(rid).or_insert_with(|| Arc::new(self.profile.features(recipe))).clone()
    }

    fn chain_of(&self, n: NodeIndex) -> Chain {
        let r = &self.graph[n].reason;
        let mut c = self.chain_to(r.parent, r.kind, &r.atom);
        c.0.push(self.graph[n].cpv());
        c
    }

    /// The chain from a root to `parent`, ending with what `parent` asked for.
    fn chain_to(&self, parent: Option<NodeIndex>, kind: Option<DepKind>, what: &str) -> Chain {
        let mut path = Vec::new();
        let mut cur = parent;
        while let Some(p) = cur {
            if path.contains(&p) {
                break;
            }
            path.push(p);
            cur = self.graph[p].reason.parent;
        }
        path.reverse();
        let mut segs = vec![self.root_label.to_string()];
        segs.extend(path.iter().map(|&p| self.graph[p].cpv()));
        let at = match (parent, kind) {
            (Some(p), Some(k)) => Some(locate::dep(&self.graph[p].recipe, k, what)),
            _ if self.root_label == "world" => locate::world(self.profile, what),
            _ => None,
        };
        let at = at.map(|a| format!(" at {a}")).unwrap_or_default();
        if let Some(last) = segs.last_mut() {
            match kind {
                Some(k) => last.push_str(&format!(" ({} dependency `{what}`{at})", k.as_str())),
                None => last.push_str(&format!(" (`{what}`{at})")),
            }
        }
        Chain(segs)
    }
}

#[derive(Default)]
struct Scan {
    reasons: Vec<String>,
    use_conflict: Option<(String, String, bool)>,
    slot_conflict: Option<NodeIndex>,
}

fn slot_text(r: &Recipe) -> String {
    match &r.subslot {
        Some(s) => format!("{}/{s}", r.slot),
        None => r.slot.clone(),
    }
}

/// Checks the atom's USE dependencies, evaluated for the depending package (`ctx`), against a
/// candidate with the given features.
fn use_mismatch(
    atom: &Atom,
    ctx: &BTreeSet<String>,
    recipe: &Recipe,
    feats: &BTreeSet<String>,
) -> Option<UseMismatch> {
    for ud in atom.use_deps() {
        let req = ud.requirement(&|f: &str| ctx.contains(f));
        let have = recipe.iuse.contains(req.flag).then(|| feats.contains(req.flag));
        if req.is_met(have) {
            continue;
        }
        let flag = req.flag.to_string();
        return Some(match (have, req.state) {
            (None, _) => UseMismatch::Missing { flag },
            (Some(_), wanted) => UseMismatch::Conflict { flag, wanted: wanted.unwrap_or(true) },
        });
    }
    None
}

fn collect_atoms(node: &DepNode, ctx: &BTreeSet<String>, out: &mut Vec<Atom>) {
    match node {
        DepNode::Atom(a) if a.blocker().is_none() => out.push(a.clone()),
        DepNode::Atom(_) => {}
        DepNode::AllOf(c) | DepNode::AnyOf(c) => c.iter().for_each(|x| collect_atoms(x, ctx, out)),
        DepNode::UseCond { flag, negated, children } => {
            if ctx.contains(&**flag) != *negated {
                children.iter().for_each(|x| collect_atoms(x, ctx, out));
            }
        }
    }
}
