//! The staging root as the manifests describe it, held in memory while merging is planned: which
//! path is a directory, a symlink (and to what) or anything else, and which package put it there.
//! Symlinks are resolved here, component by component and confined to the root, so that the
//! writer never has to follow one on disk.

use std::collections::HashMap;

/// Linux gives up after 40 symlinks in one lookup (`MAXSYMLINKS`); so do we, calling it a loop.
const MAX_LINKS: u32 = 40;

/// Who put a path in the tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Owner {
    /// Entry `entry` of package `pkg` (indices into the merge's package list and its manifest).
    Entry { pkg: usize, entry: usize },
    /// A directory package `pkg`'s archive needs but does not list (the writer creates it).
    Implicit { pkg: usize },
    /// A directory of the package database.
    Database,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Node {
    Dir {
        owner: Owner,
    },
    Symlink {
        owner: Owner,
        target: String,
    },
    /// A file, hard link, device node or FIFO.
    Other {
        owner: Owner,
    },
}

impl Node {
    pub(crate) fn owner(&self) -> Owner {
        match self {
            Node::Dir { owner } | Node::Symlink { owner, .. } | Node::Other { owner } => *owner,
        }
    }
}

/// Why a path did not lead to a directory inside the root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Stop {
    /// The symlink `link` (to `target`) climbs above the root.
    Outside { link: String, target: String },
    /// More than `MAX_LINKS` symlinks were followed; `link` is the last.
    Loop { link: String },
    /// The symlink `link` (to `target`) leads to `missing`, which nothing provides.
    Missing { link: String, target: String, missing: String },
    /// `path` is not a directory (reached through `via`, a symlink and its target, if any).
    NotDir { path: String, owner: Owner, via: Option<(String, String)> },
}

/// Paths relative to the root (`usr/bin/sh`; the root itself is `""`), each mapped to its node.
#[derive(Debug, Default)]
pub(crate) struct Tree {
    nodes: HashMap<String, Node>,
}

impl Tree {
    /// What is at `path`; the root is a directory that no one owns and is never asked for.
    pub(crate) fn get(&self, path: &str) -> Option<&Node> {
        self.nodes.get(path)
    }

    pub(crate) fn insert(&mut self, path: String, node: Node) {
        self.nodes.insert(path, node);
    }

    /// The real directory `dir` (plain components, `""` for the root) stands for, following each
    /// symlink on the way. Components missing from `dir` itself are added as directories of
    /// `creator` (as the writer will create them); a symlink's target is never created.
    pub(crate) fn resolve_dir(&mut self, dir: &str, creator: Owner) -> Result<String, Stop> {
        let mut hops = 0;
        self.walk(String::new(), dir, Walking::Path(creator), &mut hops)
    }

    /// The real directory the symlink at `link` leads to.
    pub(crate) fn follow(&mut self, link: &str, target: &str) -> Result<String, Stop> {
        let mut hops = 1;
        self.walk(parent(link).to_string(), target, Walking::Link(link, target), &mut hops)
    }

    /// Walks `rest` from the directory `base`.
    fn walk(
        &mut self,
        mut base: String,
        rest: &str,
        walking: Walking<'_>,
        hops: &mut u32,
    ) -> Result<String, Stop> {
        if rest.starts_with('/') {
            base.clear(); // an absolute target is relative to the root
        }
        for part in rest.split('/') {
            match part {
                "" | "." => continue,
                ".." if base.is_empty() => return Err(walking.outside()),
                ".." => {
                    base.truncate(parent(&base).len());
                    continue;
                }
                _ => {}
            }
            let path = join(&base, part);
            base = match self.nodes.get(&path) {
                Some(Node::Dir { .. }) => path,
                Some(Node::Symlink { target, .. }) => {
                    *hops += 1;
                    if *hops > MAX_LINKS {
                        return Err(Stop::Loop { link: path });
                    }
                    let target = target.clone();
                    self.walk(base, &target, Walking::Link(&path, &target), hops)?
                }
                Some(other) => {
                    let via = match walking {
                        Walking::Link(l, t) => Some((l.to_string(), t.to_string())),
                        Walking::Path(_) => None,
                    };
                    return Err(Stop::NotDir { path, owner: other.owner(), via });
                }
                None => match walking {
                    Walking::Path(owner) => {
                        self.nodes.insert(path.clone(), Node::Dir { owner });
                        path
                    }
                    Walking::Link(link, target) => {
                        let (link, target) = (link.to_string(), target.to_string());
                        return Err(Stop::Missing { link, target, missing: path });
                    }
                },
            };
        }
        Ok(base)
    }
}

/// What is being walked: a path that is to exist (its missing directories created for the owner),
/// or a symlink's target (which must exist).
#[derive(Clone, Copy)]
enum Walking<'a> {
    Path(Owner),
    Link(&'a str, &'a str),
}

impl Walking<'_> {
    fn outside(self) -> Stop {
        let (link, target) = match self {
            Walking::Link(link, target) => (link, target),
            // Entry paths are checked to have no `..` before they get here.
            Walking::Path(_) => ("", ""),
        };
        Stop::Outside { link: link.to_string(), target: target.to_string() }
    }
}

/// `a/b` for `a` and `b`; `b` under the root.
pub(crate) fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() { name.to_string() } else { format!("{dir}/{name}") }
}

/// Everything before the last `/`, or the root.
pub(crate) fn parent(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(dir, _)| dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PKG: Owner = Owner::Entry { pkg: 0, entry: 0 };

    fn tree(nodes: &[(&str, Option<&str>)]) -> Tree {
        let mut t = Tree::default();
        for (path, link) in nodes {
            let node = match link {
                Some(target) => Node::Symlink { owner: PKG, target: target.to_string() },
                None if path.ends_with(".txt") => Node::Other { owner: PKG },
                None => Node::Dir { owner: PKG },
            };
            t.insert(path.to_string(), node);
        }
        t
    }

    fn resolve(t: &mut Tree, dir: &str) -> Result<String, Stop> {
        t.resolve_dir(dir, Owner::Implicit { pkg: 1 })
    }

    #[test]
    fn directory_symlinks_inside_the_root_are_followed() {
        let mut t = tree(&[
            ("usr", None),
            ("usr/bin", None),
            ("usr/lib", None),
            ("bin", Some("usr/bin")),
            ("sbin", Some("/usr/bin")),
            ("usr/lib64", Some("../usr/./lib/")),
            ("lib64", Some("usr/lib64")),
        ]);
        let table = [
            ("bin", "usr/bin"),
            ("sbin", "usr/bin"),
            ("usr/lib64", "usr/lib"),
            ("lib64", "usr/lib"),
            ("usr", "usr"),
            ("", ""),
        ];
        for (dir, real) in table {
            assert_eq!(resolve(&mut t, dir), Ok(real.to_string()), "{dir}");
        }
    }

    #[test]
    fn missing_components_of_the_path_itself_become_directories_of_the_creator() {
        let mut t = tree(&[("bin", Some("usr/bin")), ("usr", None), ("usr/bin", None)]);
        assert_eq!(resolve(&mut t, "bin/x/y"), Ok("usr/bin/x/y".to_string()));
        assert_eq!(t.get("usr/bin/x"), Some(&Node::Dir { owner: Owner::Implicit { pkg: 1 } }));
        assert_eq!(t.get("bin/x"), None);
    }

    #[test]
    fn symlink_climbing_above_the_root_stops_naming_it() {
        let mut t = tree(&[("usr", None), ("usr/up", Some("../../etc")), ("abs", Some("/../x"))]);
        let up = Stop::Outside { link: "usr/up".into(), target: "../../etc".into() };
        assert_eq!(resolve(&mut t, "usr/up/x"), Err(up));
        let abs = Stop::Outside { link: "abs".into(), target: "/../x".into() };
        assert_eq!(resolve(&mut t, "abs"), Err(abs));
    }

    #[test]
    fn symlink_loops_stop_after_forty_links() {
        let mut t = tree(&[("a", Some("b")), ("b", Some("a")), ("self", Some("self"))]);
        assert!(matches!(resolve(&mut t, "a/x"), Err(Stop::Loop { .. })));
        assert_eq!(resolve(&mut t, "self"), Err(Stop::Loop { link: "self".into() }));
    }

    #[test]
    fn symlink_to_a_missing_directory_is_not_created() {
        let mut t = tree(&[("bin", Some("usr/bin"))]);
        let missing = Stop::Missing { link: "bin".into(), target: "usr/bin".into(), missing: "usr".into() };
        assert_eq!(resolve(&mut t, "bin"), Err(missing));
        assert_eq!(t.get("usr"), None);
    }

    #[test]
    fn files_are_not_directories_even_through_a_symlink() {
        let mut t = tree(&[("etc", None), ("etc/a.txt", None), ("conf", Some("etc/a.txt"))]);
        let direct = Stop::NotDir { path: "etc/a.txt".into(), owner: PKG, via: None };
        assert_eq!(resolve(&mut t, "etc/a.txt/x"), Err(direct));
        let via = Some(("conf".to_string(), "etc/a.txt".to_string()));
        assert_eq!(resolve(&mut t, "conf"), Err(Stop::NotDir { path: "etc/a.txt".into(), owner: PKG, via }));
    }

    #[test]
    fn following_a_final_symlink_starts_from_its_directory() {
        let mut t = tree(&[("usr", None), ("usr/lib", None), ("usr/lib64", Some("lib"))]);
        assert_eq!(t.follow("usr/lib64", "lib"), Ok("usr/lib".to_string()));
    }
}
