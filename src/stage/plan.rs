//! The merge plan: where every entry of every package lands and whether it is written there,
//! decided from the manifests alone before anything touches the disk, so that every collision and
//! every bad symlink is found before the first byte is written. The archives are later checked
//! against the same manifests as they are extracted, so the plan holds for what is written.
//!
//! Rules, in merge order (the caller's dependency order):
//! - An entry's parent directories are resolved through the symlinks merged before it, confined
//!   to the root (`bin/sh` lands in `usr/bin/sh` after `bin -> usr/bin`). A directory entry whose
//!   path is already a symlink to a directory merges into that directory.
//! - Two directories at one path merge; the first one's mode and owner stay (as in Portage: a
//!   package does not change a directory an earlier one, such as the base layout, made).
//! - Two files, device nodes or FIFOs at one path must be the same: kind, contents (sha256),
//!   device numbers, mode and owner. Two symlinks must have the same target (the first one's
//!   owner stays). Anything else at one path is a collision naming both packages.
//! - So order matters only where a symlink replaces a directory (a package that installs below
//!   `bin/` merged before the one that makes `bin` a symlink is a collision: the symlink cannot
//!   replace the directory; dependency order puts the base layout first), and in whose mode and
//!   owner a shared directory keeps.
//! - Each package's database directory (`var/db/ingot/<category>/<name>-<version>`, resolved like
//!   any path) must be left free by every package.

use std::collections::{BTreeMap, HashMap};

use super::error::{LinkProblem, StageError};
use super::tree::{Node, Owner, Stop, Tree, join, parent};
use super::{DB_DIR, EntryMeta};
use crate::archive::{EntryKind, EntryRecord, Placement};
use crate::store::{Binpkg, FileEntry};

/// Where each package's entries go, and what the image must record beyond the tree.
pub(crate) struct Plan<'m> {
    pub packages: Vec<PackagePlan<'m>>,
    /// Owners, special modes and device nodes by resolved path, from the entries written.
    pub entries: BTreeMap<String, EntryMeta>,
}

pub(crate) struct PackagePlan<'m> {
    files: &'m [FileEntry],
    /// Archive path to index in `files`.
    index: HashMap<&'m str, usize>,
    /// Per entry of `files`: where it lands.
    pub spots: Vec<Spot>,
    /// The package's database directory, resolved.
    pub db_dir: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Spot {
    pub at: String,
    /// False when the same thing is already there (an identical file or a directory).
    pub write: bool,
}

impl<'m> PackagePlan<'m> {
    /// Where the archive entry `record` goes. Its type and link target are checked against the
    /// manifest before anything is written (the rest once its content is read).
    pub(crate) fn place(&self, record: &EntryRecord) -> Result<Placement, String> {
        let Some(&i) = self.index.get(record.path.as_str()) else {
            return Err("not in the manifest".to_string());
        };
        let f = &self.files[i];
        if record.kind != f.kind {
            return Err(format!("a {} in the archive but a {} in the manifest", record.kind, f.kind));
        }
        if record.target != f.target {
            let show = |t: &Option<String>| t.clone().unwrap_or_default();
            return Err(format!(
                "links to `{}` in the archive, `{}` in the manifest",
                show(&record.target),
                show(&f.target)
            ));
        }
        let spot = &self.spots[i];
        Ok(if spot.write { Placement::At(spot.at.clone()) } else { Placement::Present(spot.at.clone()) })
    }

    /// Each entry with where it landed, in manifest order.
    pub(crate) fn landed(&self) -> impl Iterator<Item = (&'m FileEntry, &Spot)> {
        self.files.iter().zip(&self.spots)
    }

    /// The sha256 of a file's content, following a hard link to the entry it shares it with.
    pub(crate) fn content_sha256(&self, f: &'m FileEntry) -> Option<&'m str> {
        self.content(f).and_then(|c| c.sha256.as_deref())
    }

    fn content(&self, f: &'m FileEntry) -> Option<&'m FileEntry> {
        match f.kind {
            EntryKind::File => Some(f),
            EntryKind::Hardlink => {
                let target = self.index.get(f.target.as_deref()?)?;
                Some(&self.files[*target]).filter(|t| t.kind == EntryKind::File)
            }
            _ => None,
        }
    }
}

/// Plans merging `packages`, in this order.
pub(crate) fn plan(packages: &[Binpkg]) -> Result<Plan<'_>, StageError> {
    check_names(packages)?;
    let mut planner = Planner {
        packages,
        tree: Tree::default(),
        dirs: HashMap::new(),
        plans: Vec::with_capacity(packages.len()),
        entries: BTreeMap::new(),
    };
    for pkg in 0..packages.len() {
        planner.package(pkg)?;
    }
    for pkg in 0..packages.len() {
        planner.plans[pkg].db_dir = planner.database(pkg)?;
    }
    Ok(Plan { packages: planner.plans, entries: planner.entries })
}

struct Planner<'m> {
    packages: &'m [Binpkg],
    tree: Tree,
    /// Entry parent directories already resolved: nodes are never replaced, so neither are these.
    dirs: HashMap<&'m str, String>,
    plans: Vec<PackagePlan<'m>>,
    entries: BTreeMap<String, EntryMeta>,
}

/// What two entries at one path are compared by: everything but the path, a hard link standing
/// for the file it shares its content with.
#[derive(Debug, PartialEq, Eq)]
struct Identity<'m> {
    kind: EntryKind,
    mode: u32,
    owner: (u32, u32),
    sha256: Option<&'m str>,
    device: (Option<u32>, Option<u32>),
}

impl<'m> Planner<'m> {
    fn package(&mut self, pkg: usize) -> Result<(), StageError> {
        let files = &self.packages[pkg].manifest.files[..];
        let index = files.iter().enumerate().map(|(i, f)| (f.path.as_str(), i)).collect();
        let spots = Vec::with_capacity(files.len());
        self.plans.push(PackagePlan { files, index, spots, db_dir: String::new() });
        for (entry, f) in files.iter().enumerate() {
            if !is_clean(&f.path) {
                return Err(StageError::BadPath { package: self.name(pkg), entry: f.path.clone() });
            }
            let spot = self.entry(pkg, entry, f)?;
            if spot.write
                && let Some(meta) = f.staging_meta()
            {
                self.entries.insert(spot.at.clone(), meta);
            }
            self.plans[pkg].spots.push(spot);
        }
        Ok(())
    }

    fn entry(&mut self, pkg: usize, entry: usize, f: &'m FileEntry) -> Result<Spot, StageError> {
        let me = Owner::Entry { pkg, entry };
        let dir = self.parent_dir(pkg, f)?;
        let name = f.path.rsplit_once('/').map_or(f.path.as_str(), |(_, name)| name);
        let at = join(&dir, name);
        let Some(existing) = self.tree.get(&at).cloned() else {
            let node = match (f.kind, &f.target) {
                (EntryKind::Dir, _) => Node::Dir { owner: me },
                (EntryKind::Symlink, Some(target)) => Node::Symlink { owner: me, target: target.clone() },
                _ => Node::Other { owner: me },
            };
            self.tree.insert(at.clone(), node);
            return Ok(Spot { at, write: true });
        };
        match (&existing, f.kind) {
            (Node::Dir { .. }, EntryKind::Dir) => Ok(self.onto_dir(at, me)),
            (Node::Symlink { target, .. }, EntryKind::Dir) => {
                let real = self.tree.follow(&at, target).map_err(|stop| self.stopped(pkg, &f.path, stop))?;
                Ok(self.onto_dir(real, me))
            }
            (Node::Symlink { target, .. }, EntryKind::Symlink) if f.target.as_ref() == Some(target) => {
                Ok(Spot { at, write: false })
            }
            (Node::Other { owner }, kind)
                if !matches!(kind, EntryKind::Dir | EntryKind::Symlink)
                    && self.identity(*owner) == self.identity(me) =>
            {
                Ok(Spot { at, write: false })
            }
            _ => Err(self.collision(&at, existing.owner(), me)),
        }
    }

    /// A directory entry meeting the directory `at`: the first one that declared it keeps it; one
    /// only created for another package's contents is taken over.
    fn onto_dir(&mut self, at: String, me: Owner) -> Spot {
        match self.tree.get(&at) {
            Some(Node::Dir { owner: Owner::Implicit { .. } }) => {
                self.tree.insert(at.clone(), Node::Dir { owner: me });
                Spot { at, write: true }
            }
            _ => Spot { at, write: false },
        }
    }

    /// The real directory `f` goes in.
    fn parent_dir(&mut self, pkg: usize, f: &'m FileEntry) -> Result<String, StageError> {
        let raw = parent(&f.path);
        if let Some(dir) = self.dirs.get(raw) {
            return Ok(dir.clone());
        }
        let dir = self
            .tree
            .resolve_dir(raw, Owner::Implicit { pkg })
            .map_err(|stop| self.stopped(pkg, &f.path, stop))?;
        self.dirs.insert(raw, dir.clone());
        Ok(dir)
    }

    /// The package database directory of `pkg`, which no package may have put anything at.
    fn database(&mut self, pkg: usize) -> Result<String, StageError> {
        let m = &self.packages[pkg].manifest;
        let (category, name) = m.atom.split_once('/').unwrap_or(("", &m.atom));
        let leaf = format!("{DB_DIR}/{category}/{name}-{}", m.version);
        let dir = self
            .tree
            .resolve_dir(&format!("{DB_DIR}/{category}"), Owner::Database)
            .map_err(|stop| self.stopped(pkg, &leaf, stop))?;
        let at = join(&dir, &format!("{name}-{}", m.version));
        if let Some(node) = self.tree.get(&at) {
            return Err(StageError::Collision {
                first: self.who(node.owner(), &at),
                second: format!("the package database of {}", self.name(pkg)),
                why: "ingot writes its package database there".to_string(),
                path: at,
            });
        }
        self.tree.insert(at.clone(), Node::Dir { owner: Owner::Database });
        Ok(at)
    }

    fn identity(&self, owner: Owner) -> Option<Identity<'m>> {
        let Owner::Entry { pkg, entry } = owner else { return None };
        let plan = &self.plans[pkg];
        let f = &plan.files[entry];
        let content = plan.content(f);
        Some(Identity {
            kind: if content.is_some() { EntryKind::File } else { f.kind },
            mode: f.mode,
            owner: (f.uid, f.gid),
            sha256: content.and_then(|c| c.sha256.as_deref()),
            device: (f.major, f.minor),
        })
    }

    fn collision(&self, at: &str, first: Owner, second: Owner) -> StageError {
        StageError::Collision {
            path: at.to_string(),
            first: self.who(first, at),
            second: self.who(second, at),
            why: self.difference(first, second),
        }
    }

    /// How the things two owners put at one path differ, in words.
    fn difference(&self, first: Owner, second: Owner) -> String {
        let kind = |o: Owner| self.identity(o).map_or(EntryKind::Dir, |id| id.kind);
        let (k1, k2) = (kind(first), kind(second));
        if k1 != k2 {
            return format!("a {k1} in the first, a {k2} in the second");
        }
        let (Owner::Entry { pkg: p1, entry: e1 }, Owner::Entry { pkg: p2, entry: e2 }) = (first, second)
        else {
            return format!("two {}", plural(k1));
        };
        let (f1, f2) = (&self.plans[p1].files[e1], &self.plans[p2].files[e2]);
        if k1 == EntryKind::Symlink {
            let show = |f: &FileEntry| f.target.clone().unwrap_or_default();
            return format!("symlinks to `{}` and `{}`", show(f1), show(f2));
        }
        let (i1, i2) = (self.identity(first), self.identity(second));
        let (Some(i1), Some(i2)) = (i1, i2) else { return format!("two {}", plural(k1)) };
        if i1.sha256 != i2.sha256 {
            format!("{} with different contents", plural(k1))
        } else if i1.device != i2.device {
            let show = |d: (Option<u32>, Option<u32>)| format!("{}:{}", d.0.unwrap_or(0), d.1.unwrap_or(0));
            format!("{} with numbers {} and {}", plural(k1), show(i1.device), show(i2.device))
        } else if i1.mode != i2.mode {
            format!("{} with modes {:04o} and {:04o}", plural(k1), i1.mode, i2.mode)
        } else {
            let (o1, o2) = (i1.owner, i2.owner);
            format!("{} owned by {}:{} and {}:{}", plural(k1), o1.0, o1.1, o2.0, o2.1)
        }
    }

    /// A package as messages name it, with the entry's own path when it landed elsewhere.
    fn who(&self, owner: Owner, at: &str) -> String {
        match owner {
            Owner::Entry { pkg, entry } => {
                let path = &self.plans[pkg].files[entry].path;
                let name = self.name(pkg);
                if path == at { name } else { format!("{name} (as `{path}`)") }
            }
            Owner::Implicit { pkg } => format!("{} (a directory of its contents)", self.name(pkg)),
            Owner::Database => "the package database".to_string(),
        }
    }

    fn name(&self, pkg: usize) -> String {
        self.packages[pkg].manifest.package()
    }

    /// The error for `entry` of `pkg` whose way was blocked.
    fn stopped(&self, pkg: usize, entry: &str, stop: Stop) -> StageError {
        let (package, entry) = (self.name(pkg), entry.to_string());
        let symlink = |link: String, target: String, problem| StageError::Symlink {
            package: package.clone(),
            entry: entry.clone(),
            link,
            target,
            problem,
        };
        match stop {
            Stop::Outside { link, target } => symlink(link, target, LinkProblem::Outside),
            Stop::Loop { link } => {
                let target = match self.tree.get(&link) {
                    Some(Node::Symlink { target, .. }) => target.clone(),
                    _ => String::new(),
                };
                symlink(link, target, LinkProblem::Loop)
            }
            Stop::Missing { link, target, missing } => symlink(link, target, LinkProblem::Missing(missing)),
            Stop::NotDir { path, owner, via } => {
                let kind = self.identity(owner).map_or(EntryKind::File, |id| id.kind);
                let mut what = format!("a {kind} installed by {}", self.who(owner, &path));
                if let Some((link, target)) = via {
                    what.push_str(&format!(", reached through `{link}`, a symlink to `{target}`"));
                }
                StageError::NotADirectory { package, entry, path, what }
            }
        }
    }
}

/// Refuses names that cannot be database directories, and the same package twice.
fn check_names(packages: &[Binpkg]) -> Result<(), StageError> {
    let mut seen: HashMap<(&str, &str), &Binpkg> = HashMap::new();
    for pkg in packages {
        let m = &pkg.manifest;
        let bad = |why: &str| StageError::BadName { package: m.package(), why: why.to_string() };
        let Some((category, name)) = m.atom.split_once('/') else {
            return Err(bad("its atom is not `category/name`"));
        };
        if ![category, name, &m.version].iter().all(|part| is_clean(part) && !part.contains('/')) {
            return Err(bad("category, name and version must each be one plain path component"));
        }
        if let Some(first) = seen.insert((&m.atom, &m.version), pkg) {
            return Err(StageError::DuplicatePackage {
                package: m.package(),
                first: first.key,
                second: pkg.key,
            });
        }
    }
    Ok(())
}

/// A relative path of plain components: not empty, no leading or doubled `/`, no `.` or `..`.
fn is_clean(path: &str) -> bool {
    !path.is_empty() && !path.contains('\0') && path.split('/').all(|c| !matches!(c, "" | "." | ".."))
}

fn plural(kind: EntryKind) -> String {
    match kind {
        EntryKind::Hardlink => "hard links".to_string(),
        EntryKind::Fifo => "FIFOs".to_string(),
        other => format!("{other}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::BuildKey;
    use crate::store::{MANIFEST_FORMAT, Manifest};

    fn entry(path: &str, kind: EntryKind) -> FileEntry {
        FileEntry {
            path: path.into(),
            kind,
            mode: 0o644,
            uid: 0,
            gid: 0,
            size: 0,
            sha256: None,
            target: None,
            major: None,
            minor: None,
        }
    }

    fn file(path: &str, sha: char) -> FileEntry {
        FileEntry { sha256: Some(sha.to_string().repeat(64)), ..entry(path, EntryKind::File) }
    }

    fn link(path: &str, kind: EntryKind, target: &str) -> FileEntry {
        FileEntry { target: Some(target.into()), ..entry(path, kind) }
    }

    fn device(path: &str, major: u32, minor: u32) -> FileEntry {
        FileEntry { major: Some(major), minor: Some(minor), ..entry(path, EntryKind::Char) }
    }

    fn package(name: &str, files: Vec<FileEntry>) -> Binpkg {
        let key = BuildKey::from_bytes([name.len() as u8; 32]);
        let manifest = Manifest {
            format: MANIFEST_FORMAT,
            key,
            atom: format!("app-misc/{name}"),
            version: "1".into(),
            slot: "0".into(),
            features: vec![],
            run_deps: vec![],
            build_seconds: 0.0,
            source_date_epoch: 0,
            archive_sha256: String::new(),
            archive_size: 0,
            inputs: BTreeMap::new(),
            files,
        };
        Binpkg { key, manifest, archive: "/nonexistent".into() }
    }

    fn collision(a: Vec<FileEntry>, b: Vec<FileEntry>) -> String {
        match plan(&[package("a", a), package("bb", b)]) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("no collision"),
        }
    }

    #[test]
    fn device_nodes_with_other_numbers_collide_and_identical_ones_merge() {
        let err = collision(vec![device("null", 1, 3)], vec![device("null", 1, 5)]);
        assert_eq!(
            err,
            "`null` is installed by both app-misc/a-1 and app-misc/bb-1: character devices with numbers 1:3 and 1:5"
        );
        let pkgs = [package("a", vec![device("null", 1, 3)]), package("bb", vec![device("null", 1, 3)])];
        let plan = plan(&pkgs).unwrap();
        assert_eq!(plan.packages[1].spots, [Spot { at: "null".into(), write: false }]);
    }

    #[test]
    fn a_hard_link_is_compared_by_the_content_it_shares() {
        let same = vec![file("x", 'a'), link("y", EntryKind::Hardlink, "x")];
        let pkgs = [package("a", vec![file("y", 'a')]), package("bb", same)];
        assert!(plan(&pkgs).is_ok());
        let other = vec![file("x", 'b'), link("y", EntryKind::Hardlink, "x")];
        let err = collision(vec![file("y", 'a')], other);
        assert!(err.ends_with("files with different contents"), "{err}");
        let dangling = vec![link("y", EntryKind::Hardlink, "nowhere")];
        let err = collision(vec![file("y", 'a')], dangling);
        assert!(err.ends_with("a file in the first, a hard link in the second"), "{err}");
    }

    #[test]
    fn paths_that_are_not_plain_relative_paths_are_refused() {
        for bad in ["", "/etc/passwd", "a//b", "a/./b", "../x", "a/"] {
            let err = plan(&[package("a", vec![file(bad, 'a')])]).err().map(|e| e.to_string());
            let expected = format!("app-misc/a-1: entry `{bad}` is not a relative path of plain components");
            assert_eq!(err, Some(expected), "{bad}");
        }
    }

    #[test]
    fn placement_checks_type_and_link_target_against_the_manifest() {
        let pkgs = [package("a", vec![entry("d", EntryKind::Dir), link("d/l", EntryKind::Symlink, "x")])];
        let plan = plan(&pkgs).unwrap();
        let record = |path: &str, kind, target: Option<&str>| EntryRecord {
            path: path.into(),
            kind,
            mode: 0o644,
            uid: 0,
            gid: 0,
            size: 0,
            sha256: None,
            target: target.map(str::to_string),
            device: None,
            mtime: 0,
        };
        let place = |r: EntryRecord| plan.packages[0].place(&r);
        assert_eq!(place(record("d/l", EntryKind::Symlink, Some("x"))), Ok(Placement::At("d/l".into())));
        assert_eq!(place(record("e", EntryKind::Dir, None)), Err("not in the manifest".into()));
        assert_eq!(
            place(record("d", EntryKind::File, None)),
            Err("a file in the archive but a directory in the manifest".into())
        );
        assert_eq!(
            place(record("d/l", EntryKind::Symlink, Some("/etc/shadow"))),
            Err("links to `/etc/shadow` in the archive, `x` in the manifest".into())
        );
    }

    #[test]
    fn a_directory_only_created_for_contents_is_taken_over_by_its_declaration() {
        let pkgs = [
            package("a", vec![file("srv/a", 'a')]),
            package("bb", vec![FileEntry { uid: 9, ..entry("srv", EntryKind::Dir) }]),
        ];
        let plan = plan(&pkgs).unwrap();
        assert_eq!(plan.packages[1].spots, [Spot { at: "srv".into(), write: true }]);
        assert_eq!(plan.entries["srv"].uid, 9);
    }
}
