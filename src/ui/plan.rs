//! Renderings of a `Plan`: `emerge -pv`-style lines, a "why" tree, JSON, and Graphviz dot.

use crate::recipe::DepKind;
use crate::resolve::{PackageInstance, Plan};
use petgraph::graph::NodeIndex;
use std::fmt::Write;

/// `cat/name-1.2.3 [slot] USE="a b -c"`, one line per package in build order.
pub fn emerge_lines(plan: &Plan) -> String {
    let mut out = String::new();
    for &n in &plan.order {
        let _ = writeln!(out, "{}", line(plan.get(n)));
    }
    out
}

fn line(p: &PackageInstance) -> String {
    let slot = match &p.recipe.subslot {
        Some(s) => format!("{}/{s}", p.slot()),
        None => p.slot().to_string(),
    };
    let use_ = use_string(p);
    if use_.is_empty() {
        format!("{} [{slot}]", p.cpv())
    } else {
        format!("{} [{slot}] USE=\"{use_}\"", p.cpv())
    }
}

/// Enabled flags, then disabled ones with `-`, each sorted (as emerge prints them).
fn use_string(p: &PackageInstance) -> String {
    let mut iuse: Vec<&str> = p.recipe.iuse.flags().iter().map(|f| f.name.as_ref()).collect();
    iuse.sort_unstable();
    iuse.dedup();
    let on = iuse.iter().filter(|f| p.features.contains(**f)).map(|f| f.to_string());
    let off = iuse.iter().filter(|f| !p.features.contains(**f)).map(|f| format!("-{f}"));
    on.chain(off).collect::<Vec<_>>().join(" ")
}

/// Each package once, under the package that first pulled it in, with the kind of dependency and
/// the atom that did.
pub fn tree(plan: &Plan) -> String {
    let mut children: Vec<Vec<NodeIndex>> = vec![Vec::new(); plan.graph.node_count()];
    let mut roots = Vec::new();
    for &n in &plan.order {
        match plan.get(n).reason.parent {
            Some(p) if p != n => children[p.index()].push(n),
            _ => roots.push(n),
        }
    }
    let by_name = |v: &mut Vec<NodeIndex>| v.sort_by_key(|&n| plan.get(n).cpv());
    by_name(&mut roots);
    children.iter_mut().for_each(by_name);
    let mut out = String::new();
    let mut stack: Vec<(NodeIndex, usize)> = roots.into_iter().rev().map(|n| (n, 0)).collect();
    while let Some((n, depth)) = stack.pop() {
        let p = plan.get(n);
        let why = match p.reason.kind {
            Some(k) => format!("{}: `{}`", k.as_str(), p.reason.atom),
            None => format!("{}: `{}`", plan.root_label, p.reason.atom),
        };
        let _ = writeln!(out, "{}{} ({why})", "  ".repeat(depth), line(p));
        stack.extend(children[n.index()].iter().rev().map(|&c| (c, depth + 1)));
    }
    out
}

/// `{"packages":[{"name","version","slot","use","deps":[{"name","kind"}]}]}` in build order.
pub fn json(plan: &Plan) -> serde_json::Value {
    let packages: Vec<serde_json::Value> = plan
        .order
        .iter()
        .map(|&n| {
            let p = plan.get(n);
            let deps: Vec<serde_json::Value> = plan
                .deps(n)
                .into_iter()
                .map(|(d, k)| serde_json::json!({"name": plan.get(d).cpn().to_string(), "version": plan.get(d).version().to_string(), "kind": k}))
                .collect();
            serde_json::json!({
                "name": p.cpn().to_string(),
                "version": p.version().to_string(),
                "slot": p.slot(),
                "subslot": p.recipe.subslot,
                "use": p.features.iter().collect::<Vec<_>>(),
                "deps": deps,
            })
        })
        .collect();
    serde_json::json!({ "packages": packages })
}

/// Nodes and typed edges, for tools that draw their own graphs.
pub fn graph_json(plan: &Plan) -> serde_json::Value {
    let nodes: Vec<serde_json::Value> = plan
        .order
        .iter()
        .map(|&n| {
            let p = plan.get(n);
            serde_json::json!({"id": p.cpv(), "name": p.cpn().to_string(), "version": p.version().to_string(), "slot": p.slot(), "use": p.features.iter().collect::<Vec<_>>(), "root": plan.roots.contains(&n)})
        })
        .collect();
    let mut edges = Vec::new();
    for &n in &plan.order {
        for (d, k) in plan.deps(n) {
            edges.push(serde_json::json!({"from": plan.get(n).cpv(), "to": plan.get(d).cpv(), "kind": k}));
        }
    }
    serde_json::json!({"nodes": nodes, "edges": edges})
}

/// Graphviz dot: build edges solid, host dashed, run dotted, post bold grey; roots boxed.
pub fn dot(plan: &Plan, name: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "digraph \"{}\" {{", escape(name));
    let _ = writeln!(out, "  rankdir=LR;\n  node [shape=ellipse, fontname=\"sans-serif\"];");
    for &n in &plan.order {
        let p = plan.get(n);
        let shape = if plan.roots.contains(&n) { ", shape=box" } else { "" };
        let label = format!("{}\\n{}", p.cpv(), escape(&use_string(p)));
        let _ = writeln!(out, "  \"{}\" [label=\"{label}\"{shape}];", p.cpv());
    }
    for &n in &plan.order {
        for (d, k) in plan.deps(n) {
            let style = match k {
                DepKind::Build => "solid",
                DepKind::Host => "dashed",
                DepKind::Run => "dotted",
                DepKind::Post => "bold, color=grey",
            };
            let _ = writeln!(
                out,
                "  \"{}\" -> \"{}\" [style={style}, label=\"{}\"];",
                plan.get(n).cpv(),
                plan.get(d).cpv(),
                k.as_str()
            );
        }
    }
    out.push_str("}\n");
    out
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}
