//! Resolution: from the profile's `world` (or atoms given on the command line) to a `Plan`, a DAG of
//! package instances with typed edges, honouring features, versions, slots, USE dependencies,
//! blockers and REQUIRED_USE. When it cannot, the error names the packages and the chain that led
//! to them.

mod closure;
mod error;
mod locate;
mod order;
mod solver;

pub use error::{Chain, ResolveError};

use crate::dep::{Atom, Cpn, Version};
use crate::profile::Profile;
use crate::recipe::{DepKind, Recipe, Repo};
use petgraph::graph::{DiGraph, NodeIndex};
use std::collections::BTreeSet;
use std::sync::Arc;

/// One package in the plan: a recipe with its features decided.
#[derive(Debug, Clone)]
pub struct PackageInstance {
    pub recipe: Arc<Recipe>,
    pub features: BTreeSet<String>,
    /// Why it is in the plan: the first atom that pulled it in.
    pub reason: Reason,
}

#[derive(Debug, Clone)]
pub struct Reason {
    /// `None` for a root (world or command line).
    pub parent: Option<NodeIndex>,
    pub kind: Option<DepKind>,
    pub atom: String,
}

impl PackageInstance {
    pub fn cpn(&self) -> &Cpn {
        &self.recipe.cpn
    }
    pub fn version(&self) -> &Version {
        &self.recipe.version
    }
    pub fn slot(&self) -> &str {
        &self.recipe.slot
    }
    /// `cat/name-version`.
    pub fn cpv(&self) -> String {
        self.recipe.cpv()
    }
}

/// The resolved plan. Edges point from a package to what it depends on.
#[derive(Debug, Clone)]
pub struct Plan {
    pub graph: DiGraph<PackageInstance, DepKind>,
    pub roots: Vec<NodeIndex>,
    /// Every package, dependencies before dependents (run-time cycles broken as Portage breaks
    /// PDEPEND cycles).
    pub order: Vec<NodeIndex>,
    /// What the roots came from: `world`, or `command line` for atoms given as arguments.
    pub root_label: &'static str,
    /// Each node's index in `order` (indexed by node index), kept because closures ask often.
    pub position: Vec<usize>,
}

impl Plan {
    pub fn get(&self, n: NodeIndex) -> &PackageInstance {
        &self.graph[n]
    }

    /// Direct dependencies of `n` with their kinds, sorted by name then kind.
    pub fn deps(&self, n: NodeIndex) -> Vec<(NodeIndex, DepKind)> {
        let mut v: Vec<(NodeIndex, DepKind)> =
            self.graph.edges(n).map(|e| (petgraph::visit::EdgeRef::target(&e), *e.weight())).collect();
        v.sort_by(|a, b| self.graph[a.0].cpv().cmp(&self.graph[b.0].cpv()).then(a.1.cmp(&b.1)));
        v.dedup();
        v
    }

    /// Finds the instance for `cpn` (the highest version if several slots are present).
    pub fn find(&self, cpn: &Cpn) -> Option<NodeIndex> {
        self.order
            .iter()
            .rev()
            .copied()
            .filter(|&n| self.graph[n].cpn() == cpn)
            .max_by(|&a, &b| self.graph[a].version().cmp(self.graph[b].version()))
    }

    /// The chain of packages from a root to `n`, following first reasons.
    pub fn chain(&self, n: NodeIndex) -> Vec<NodeIndex> {
        let mut out = vec![n];
        let mut cur = n;
        while let Some(p) = self.graph[cur].reason.parent {
            if out.contains(&p) {
                break;
            }
            out.push(p);
            cur = p;
        }
        out.reverse();
        out
    }
}

/// Resolves `targets` (or the profile's world when empty) against the repository.
pub fn resolve(repo: &Repo, profile: &Profile, targets: &[Atom]) -> Result<Plan, Box<ResolveError>> {
    let roots: Vec<Atom> = if targets.is_empty() {
        profile.world.iter().map(|w| w.atom.clone()).collect()
    } else {
        targets.to_vec()
    };
    let root_label = if targets.is_empty() { "world" } else { "command line" };
    let (graph, root_nodes) = solver::solve(repo, profile, &roots, root_label)?;
    let order = order::build_order(&graph)?;
    let mut position = vec![usize::MAX; graph.node_count()];
    for (i, n) in order.iter().enumerate() {
        position[n.index()] = i;
    }
    Ok(Plan { graph, roots: root_nodes, order, root_label, position })
}
