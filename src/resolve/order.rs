//! Build order: refuses cycles made only of build-time edges (printing the whole cycle) and orders
//! everything else dependencies first, breaking run-time cycles as Portage breaks PDEPEND ones.

use super::PackageInstance;
use super::error::ResolveError;
use crate::recipe::DepKind;
use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;
use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, HashMap, VecDeque};

type Graph = DiGraph<PackageInstance, DepKind>;
/// Components ready to be ordered, smallest name first.
type ReadyQueue = BinaryHeap<Reverse<(Option<(String, usize)>, usize)>>;

pub(super) fn build_order(g: &Graph) -> Result<Vec<NodeIndex>, Box<ResolveError>> {
    check_build_cycles(g)?;
    // "Must come before" edges: a dependency before its dependent, except that a post (PDEPEND)
    // dependency comes after the package that asked for it.
    let mut before: DiGraph<(), ()> = DiGraph::with_capacity(g.node_count(), g.edge_count());
    for _ in g.node_indices() {
        before.add_node(());
    }
    for e in g.edge_references() {
        let (from, to) = (e.source(), e.target());
        if from == to {
            continue;
        }
        match e.weight() {
            DepKind::Post => before.update_edge(from, to, ()),
            _ => before.update_edge(to, from, ()),
        };
    }
    let sccs = tarjan_scc(&before);
    let mut comp_of = vec![0usize; g.node_count()];
    for (c, scc) in sccs.iter().enumerate() {
        for n in scc {
            comp_of[n.index()] = c;
        }
    }
    let key = |n: NodeIndex| (g[n].cpv(), n.index());
    let mut indeg = vec![0usize; sccs.len()];
    let mut succ: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); sccs.len()];
    for e in before.edge_references() {
        let (a, b) = (comp_of[e.source().index()], comp_of[e.target().index()]);
        if a != b && succ[a].insert(b) {
            indeg[b] += 1;
        }
    }
    let comp_key: Vec<_> = sccs.iter().map(|scc| scc.iter().map(|&n| key(n)).min()).collect();
    let mut ready: ReadyQueue =
        (0..sccs.len()).filter(|&c| indeg[c] == 0).map(|c| Reverse((comp_key[c].clone(), c))).collect();
    let mut order = Vec::with_capacity(g.node_count());
    while let Some(Reverse((_, c))) = ready.pop() {
        order.extend(order_within(g, &sccs[c]));
        for &s in &succ[c] {
            indeg[s] -= 1;
            if indeg[s] == 0 {
                ready.push(Reverse((comp_key[s].clone(), s)));
            }
        }
    }
    Ok(order)
}

/// Orders the members of one run-time cycle: build-time dependencies first, then by name.
fn order_within(g: &Graph, scc: &[NodeIndex]) -> Vec<NodeIndex> {
    if scc.len() == 1 {
        return scc.to_vec();
    }
    let members: BTreeSet<NodeIndex> = scc.iter().copied().collect();
    let mut indeg: HashMap<NodeIndex, usize> = scc.iter().map(|&n| (n, 0)).collect();
    let mut edges = Vec::new();
    for &n in scc {
        for e in g.edges(n) {
            if e.weight().is_build_time() && members.contains(&e.target()) && e.target() != n {
                edges.push((e.target(), n));
                *indeg.entry(n).or_default() += 1;
            }
        }
    }
    let mut ready: BinaryHeap<Reverse<(String, usize)>> =
        scc.iter().filter(|n| indeg[n] == 0).map(|&n| Reverse((g[n].cpv(), n.index()))).collect();
    let mut out = Vec::with_capacity(scc.len());
    while let Some(Reverse((_, i))) = ready.pop() {
        let n = NodeIndex::new(i);
        out.push(n);
        for &(_, to) in edges.iter().filter(|(f, _)| *f == n) {
            let d = indeg.entry(to).or_default();
            *d -= 1;
            if *d == 0 {
                ready.push(Reverse((g[to].cpv(), to.index())));
            }
        }
    }
    out
}

fn check_build_cycles(g: &Graph) -> Result<(), Box<ResolveError>> {
    let build = g.filter_map(|_, _| Some(()), |_, k| k.is_build_time().then_some(()));
    let mut cycles: Vec<Vec<NodeIndex>> = tarjan_scc(&build)
        .into_iter()
        .filter(|scc| scc.len() > 1 || build.contains_edge(scc[0], scc[0]))
        .collect();
    cycles.sort_by_key(|scc| scc.iter().map(|&n| g[n].cpv()).min());
    let Some(scc) = cycles.first() else { return Ok(()) };
    let start = *scc.iter().min_by_key(|&&n| g[n].cpv()).unwrap_or(&scc[0]);
    let members: BTreeSet<NodeIndex> = scc.iter().copied().collect();
    let path = cycle_through(&build, start, &members);
    let mut names: Vec<String> = path.iter().map(|&n| g[n].cpv()).collect();
    names.push(g[start].cpv());
    let next = path.iter().skip(1).chain(std::iter::once(&start));
    let steps = path.iter().zip(next).map(|(&from, &to)| cycle_step(g, from, to)).collect();
    Err(Box::new(ResolveError::Cycle { cycle: names, steps }))
}

/// `a-1 needs b (build dependency at path:line:col)` for one link of a cycle.
fn cycle_step(g: &Graph, from: NodeIndex, to: NodeIndex) -> String {
    let kind = g
        .edges_connecting(from, to)
        .map(|e| *e.weight())
        .find(|k| k.is_build_time())
        .unwrap_or(DepKind::Build);
    let cpn = g[to].cpn().to_string();
    let at = super::locate::dep(&g[from].recipe, kind, &cpn);
    format!("{} needs {cpn} ({} dependency at {at})", g[from].cpv(), kind.as_str())
}

/// A shortest path from `start` back to itself inside one strongly connected component.
fn cycle_through(g: &DiGraph<(), ()>, start: NodeIndex, members: &BTreeSet<NodeIndex>) -> Vec<NodeIndex> {
    let mut prev: HashMap<NodeIndex, NodeIndex> = HashMap::new();
    let mut queue = VecDeque::from([start]);
    while let Some(n) = queue.pop_front() {
        let mut next: Vec<NodeIndex> = g.neighbors(n).filter(|m| members.contains(m)).collect();
        next.sort();
        for m in next {
            if m == start {
                let mut path = vec![n];
                let mut cur = n;
                while let Some(&p) = prev.get(&cur) {
                    path.push(p);
                    cur = p;
                }
                path.reverse();
                return path;
            }
            if m != start && !prev.contains_key(&m) {
                prev.insert(m, n);
                queue.push_back(m);
            }
        }
    }
    vec![start]
}
