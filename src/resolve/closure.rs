//! Closures over the plan: what a build sees (its SYSROOT and host tools) and what an image holds.

use super::Plan;
use crate::recipe::DepKind;
use petgraph::graph::NodeIndex;
use std::collections::BTreeSet;

impl Plan {
    /// The packages merged into `n`'s SYSROOT (its `build` dependencies with their run-time
    /// closure) and into its host root (`host` dependencies with theirs). Only packages earlier in
    /// the build order are included: a run-time cycle back to `n` cannot be in its own sysroot.
    /// Both lists follow the build order.
    pub fn build_closure(&self, n: NodeIndex) -> (Vec<NodeIndex>, Vec<NodeIndex>) {
        let pos = &self.position;
        let mine = pos[n.index()];
        let direct =
            |kind: DepKind| self.deps(n).into_iter().filter(move |(_, k)| *k == kind).map(|(d, _)| d);
        let close = |seeds: Vec<NodeIndex>| {
            let set = self.run_closure(seeds, |m| pos[m.index()] < mine);
            let mut v: Vec<NodeIndex> = set.into_iter().collect();
            v.sort_by_key(|m| pos[m.index()]);
            v
        };
        (close(direct(DepKind::Build).collect()), close(direct(DepKind::Host).collect()))
    }

    /// Everything the image holds for these roots: the roots and, transitively, their `run` and
    /// `post` dependencies, in build order.
    pub fn image_closure(&self, roots: &[NodeIndex]) -> Vec<NodeIndex> {
        let pos = &self.position;
        let mut v: Vec<NodeIndex> = self.run_closure(roots.to_vec(), |_| true).into_iter().collect();
        v.sort_by_key(|m| pos[m.index()]);
        v
    }

    fn run_closure(&self, seeds: Vec<NodeIndex>, keep: impl Fn(NodeIndex) -> bool) -> BTreeSet<NodeIndex> {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<NodeIndex> = seeds.into_iter().filter(|&m| keep(m)).collect();
        while let Some(m) = stack.pop() {
            if !seen.insert(m) {
                continue;
            }
            for (d, k) in self.deps(m) {
                if matches!(k, DepKind::Run | DepKind::Post) && keep(d) && !seen.contains(&d) {
                    stack.push(d);
                }
            }
        }
        seen
    }
}
