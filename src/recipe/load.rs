//! Loading recipe trees: find `<category>/<name>/<name>-<version>.toml` files, parse them in
//! parallel, validate each into a `Recipe`, and collect every problem as a diagnostic.

use super::file::RecipeFile;
use super::text;
use super::{BuildSpec, BuildSystem, Depend, FieldSpans, Origin, Owner, Recipe, Repo, Source, ValueSpan};
use crate::dep::{Category, Cpn, DepSpec, Iuse, PackageName, ParseError, RequiredUse, Version};
use crate::diag::{Diagnostic, SourceFile};
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use toml::Spanned;

/// The result of loading: every recipe that validated, and every problem found.
pub struct Loaded {
    pub repo: Repo,
    pub diagnostics: Vec<Diagnostic>,
    /// How many recipe files were read (valid or not).
    pub files: usize,
}

/// Loads the trees in order; a recipe in a later tree replaces the same package version of an
/// earlier one.
pub fn load(trees: &[PathBuf]) -> Loaded {
    let mut diagnostics = Vec::new();
    let mut found = Vec::new();
    for (tree, root) in trees.iter().enumerate() {
        match discover(root, &mut diagnostics) {
            Some(files) => found.extend(files.into_iter().map(|f| (tree, f))),
            None => continue,
        }
    }
    let files = found.len();
    let results: Vec<Result<Recipe, Vec<Diagnostic>>> =
        found.into_par_iter().map(|(tree, f)| load_one(tree, &f)).collect();
    let mut recipes = Vec::with_capacity(results.len());
    for r in results {
        match r {
            Ok(recipe) => recipes.push(recipe),
            Err(mut d) => diagnostics.append(&mut d),
        }
    }
    Loaded { repo: Repo::new(recipes), diagnostics, files }
}

/// A candidate recipe file: its path, the category and package directories it sits in, and the
/// package's `files/` directory if the listing showed one.
pub(super) struct Found {
    pub(super) path: PathBuf,
    pub(super) category: String,
    pub(super) package: String,
    pub(super) files_dir: Option<PathBuf>,
}

impl Found {
    /// A file outside any listing: category and package from its parent directories.
    pub(super) fn from_path(path: &Path) -> Found {
        let dir_name = |p: Option<&Path>| {
            p.and_then(Path::file_name).map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
        };
        let package_dir = path.parent();
        Found {
            path: path.to_path_buf(),
            category: dir_name(package_dir.and_then(Path::parent)),
            package: dir_name(package_dir),
            files_dir: None,
        }
    }
}

/// Walks `<tree>/<category>/<package>/*.toml`, categories in parallel. File types come from the
/// directory listings (d_type), so the walk costs one getdents per directory and no stat per file.
fn discover(root: &Path, diags: &mut Vec<Diagnostic>) -> Option<Vec<Found>> {
    let categories = match list(root) {
        Ok(c) => c,
        Err(e) => {
            diags.push(Diagnostic::error(format!("cannot read recipe tree: {e}")).in_path(root));
            return None;
        }
    };
    let per_category: Vec<(Vec<Found>, Vec<Diagnostic>)> =
        categories.par_iter().map(discover_category).collect();
    let mut out = Vec::new();
    for (found, mut d) in per_category {
        out.extend(found);
        diags.append(&mut d);
    }
    Some(out)
}

fn discover_category(cat: &Listed) -> (Vec<Found>, Vec<Diagnostic>) {
    let (mut out, mut diags) = (Vec::new(), Vec::new());
    if !cat.is_dir {
        if cat.name.ends_with(".toml") {
            diags.push(misplaced(&cat.path));
        }
        return (out, diags);
    }
    let packages = match list(&cat.path) {
        Ok(p) => p,
        Err(e) => {
            diags.push(Diagnostic::error(format!("cannot read category directory: {e}")).in_path(&cat.path));
            return (out, diags);
        }
    };
    for pkg in packages {
        if !pkg.is_dir {
            if pkg.name.ends_with(".toml") {
                diags.push(misplaced(&pkg.path));
            }
            continue;
        }
        let entries = match list(&pkg.path) {
            Ok(e) => e,
            Err(e) => {
                diags.push(
                    Diagnostic::error(format!("cannot read package directory: {e}")).in_path(&pkg.path),
                );
                continue;
            }
        };
        let files_dir = entries.iter().find(|e| e.is_dir && e.name == "files").map(|e| e.path.clone());
        out.extend(entries.into_iter().filter(|e| !e.is_dir && e.name.ends_with(".toml")).map(|e| Found {
            path: e.path,
            category: cat.name.clone(),
            package: pkg.name.clone(),
            files_dir: files_dir.clone(),
        }));
    }
    (out, diags)
}

fn misplaced(path: &Path) -> Diagnostic {
    Diagnostic::error("recipe file outside a `<category>/<name>/` directory")
        .in_path(path)
        .note("recipes live at `<tree>/<category>/<name>/<name>-<version>.toml`")
}

/// A directory entry that is not hidden, with whether it is (or links to) a directory.
struct Listed {
    path: PathBuf,
    name: String,
    is_dir: bool,
}

fn list(dir: &Path) -> std::io::Result<Vec<Listed>> {
    let mut v = Vec::new();
    for entry in fs_err::read_dir(dir)? {
        let entry = entry?;
        let Some(name) = entry.file_name().to_str().map(str::to_string) else { continue };
        if name.starts_with('.') {
            continue;
        }
        let ft = entry.file_type()?;
        let path = entry.path();
        // Only symlinks (and filesystems without d_type) need a stat to know what they point at.
        let is_dir = if ft.is_symlink() { path.is_dir() } else { ft.is_dir() };
        v.push(Listed { path, name, is_dir });
    }
    v.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(v)
}

/// Reads a small file with open + read + close: `std::fs::read` adds a stat and a seek per file to
/// size its buffer, which is a third of the syscalls on a 20,000-recipe tree.
fn read_small(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut f = std::fs::File::open(path).map_err(|e| annotate(e, path))?;
    let mut buf = Vec::with_capacity(2048);
    let mut chunk = [0u8; 8192];
    loop {
        match f.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(annotate(e, path)),
        }
    }
    Ok(buf)
}

fn annotate(e: std::io::Error, path: &Path) -> std::io::Error {
    std::io::Error::new(e.kind(), format!("{e} (reading {})", path.display()))
}

fn load_one(tree: usize, found: &Found) -> Result<Recipe, Vec<Diagnostic>> {
    let bytes = read_small(&found.path)
        .map_err(|e| vec![Diagnostic::error(format!("cannot read recipe: {e}")).in_path(&found.path)])?;
    text::parse_found(tree, found, bytes)
}

/// Validates one recipe file's text into a `Recipe`, or every problem found in it.
pub(super) fn validate(
    tree: usize,
    found: &Found,
    file: &Arc<SourceFile>,
) -> Result<Recipe, Vec<Diagnostic>> {
    let mut v = Validator { file, diags: Vec::new() };
    let recipe = v.recipe(tree, found);
    match recipe {
        Some(r) if v.diags.is_empty() => Ok(r),
        _ => Err(v.diags),
    }
}

struct Validator<'a> {
    file: &'a Arc<SourceFile>,
    diags: Vec<Diagnostic>,
}

impl Validator<'_> {
    fn recipe(&mut self, tree: usize, found: &Found) -> Option<Recipe> {
        let (cpn, version) = self.identity(found);
        let raw: RecipeFile = match toml::from_str(&self.file.text) {
            Ok(r) => r,
            Err(e) => {
                self.diags.push(Diagnostic::from_toml(self.file, &e));
                return None;
            }
        };
        let mut spans = FieldSpans::default();
        let (slot, subslot) = self.slot(raw.slot.as_ref());
        let iuse = self.spec(raw.iuse.as_ref(), &mut spans.iuse, "IUSE", Iuse::parse).unwrap_or_default();
        let required_use =
            self.spec(raw.required_use.as_ref(), &mut spans.required_use, "REQUIRED_USE", |s| {
                RequiredUse::parse(s)
            });
        let depend = Depend {
            build: self.dep(raw.depend.build.as_ref(), &mut spans.build),
            host: self.dep(raw.depend.host.as_ref(), &mut spans.host),
            run: self.dep(raw.depend.run.as_ref(), &mut spans.run),
            post: self.dep(raw.depend.post.as_ref(), &mut spans.post),
        };
        let sources = raw.source.iter().filter_map(|s| self.source(s)).collect();
        let build = self.build(raw.build, found);
        let (cpn, version) = (cpn?, version?);
        let files_dir = found.files_dir.clone();
        let default_dir = format!("{}-{}", cpn.package(), version.without_revision());
        Some(Recipe {
            build: BuildSpec { dir: build.dir.clone().unwrap_or(default_dir), ..build.spec },
            cpn,
            version,
            slot,
            subslot,
            description: raw.description.into_inner(),
            homepage: raw.homepage,
            license: raw.license,
            iuse,
            required_use,
            depend,
            sources,
            origin: Origin { file: self.file.clone(), tree, files_dir, spans },
        })
    }

    /// Category, name and version from the path; the file name must be `<name>-<version>.toml`.
    fn identity(&mut self, found: &Found) -> (Option<Cpn>, Option<Version>) {
        let parsed = Category::parse(&found.category)
            .and_then(|c| Ok(Cpn::new(&c, &PackageName::parse(&found.package)?)));
        let cpn = match parsed {
            Ok(c) => Some(c),
            Err(e) => {
                self.diags.push(
                    Diagnostic::error(format!(
                        "invalid package directory `{}/{}`: {}",
                        found.category, found.package, e.message
                    ))
                    .in_path(&found.path),
                );
                None
            }
        };
        let stem = found.path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        let prefix = format!("{}-", found.package);
        let Some(ver) = stem.strip_prefix(&prefix) else {
            self.diags.push(
                Diagnostic::error(format!(
                    "file name `{stem}.toml` does not match its directory: expected `{}-<version>.toml`",
                    found.package
                ))
                .in_path(&found.path),
            );
            return (cpn, None);
        };
        match Version::parse(ver) {
            Ok(v) => (cpn, Some(v)),
            Err(e) => {
                // The parser's message names the version already (`invalid version `1.0beta`: …`).
                self.diags.push(
                    Diagnostic::error(format!("file name `{stem}.toml`: {}", e.message))
                        .in_path(&found.path)
                        .note(format!(
                            "recipes are named `{}-<version>.toml`, as in `{}-1.0.toml`",
                            found.package, found.package
                        )),
                );
                (cpn, None)
            }
        }
    }

    fn slot(&mut self, raw: Option<&Spanned<String>>) -> (String, Option<String>) {
        let Some(raw) = raw else { return ("0".into(), None) };
        let value = raw.get_ref();
        let (slot, sub) = match value.split_once('/') {
            Some((s, sub)) => (s, Some(sub)),
            None => (value.as_str(), None),
        };
        let ok = |s: &str| {
            let mut chars = s.chars();
            chars.next().is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
                && chars.all(|c| c.is_ascii_alphanumeric() || "+_.-".contains(c))
        };
        if !ok(slot) || sub.is_some_and(|s| !ok(s)) {
            self.diags.push(
                Diagnostic::error(format!("invalid slot `{value}`: expected `SLOT` or `SLOT/SUBSLOT` made of letters, digits and `+_.-`"))
                    .at(self.file, raw.span()),
            );
        }
        (slot.to_string(), sub.map(str::to_string))
    }

    fn dep(&mut self, raw: Option<&Spanned<String>>, span: &mut Option<ValueSpan>) -> DepSpec {
        self.spec(raw, span, "dependency specification", DepSpec::parse).unwrap_or_default()
    }

    fn spec<T>(
        &mut self,
        raw: Option<&Spanned<String>>,
        span: &mut Option<ValueSpan>,
        what: &str,
        parse: impl Fn(&str) -> Result<T, ParseError>,
    ) -> Option<T> {
        let raw = raw?;
        let vs = value_span(&self.file.text, raw);
        let result = parse(raw.get_ref());
        let out = match result {
            Ok(v) => Some(v),
            Err(e) => {
                let mut d = Diagnostic::error(format!("invalid {what}: {}", e.message))
                    .at(self.file, vs.map(e.span.clone()))
                    .label("here");
                if let Some((rspan, label)) = &e.related {
                    d = d.related(vs.map(rspan.clone()), label.clone());
                }
                self.diags.push(d);
                None
            }
        };
        *span = Some(vs);
        out
    }

    fn source(&mut self, raw: &super::file::SourceFile) -> Option<Source> {
        let sha = raw.sha256.get_ref();
        let mut ok = true;
        if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            self.diags.push(
                Diagnostic::error(format!("invalid sha256 `{sha}`: expected 64 lowercase hex digits"))
                    .at(self.file, raw.sha256.span()),
            );
            ok = false;
        }
        let urls: Vec<String> = raw.urls.iter().map(|u| u.get_ref().clone()).collect();
        for u in &raw.urls {
            let scheme_ok = ["http://", "https://", "file://"].iter().any(|s| u.get_ref().starts_with(s));
            if !scheme_ok {
                self.diags.push(
                    Diagnostic::error(format!(
                        "unsupported URL `{}`: use http://, https:// or file://",
                        u.get_ref()
                    ))
                    .at(self.file, u.span()),
                );
                ok = false;
            }
        }
        let (file, fspan) = match (&raw.file, raw.urls.last()) {
            (Some(f), _) => (f.get_ref().clone(), f.span()),
            (None, Some(u)) => match u.get_ref().rsplit('/').next().filter(|s| !s.is_empty()) {
                Some(name) => (name.to_string(), u.span()),
                None => {
                    let msg = format!("URL `{}` ends in `/`: set `file` to name the distfile", u.get_ref());
                    self.diags.push(Diagnostic::error(msg).at(self.file, u.span()));
                    return None;
                }
            },
            (None, None) => {
                self.diags.push(
                    Diagnostic::error("source has neither `file` nor `urls`: name the distfile")
                        .at(self.file, raw.sha256.span()),
                );
                return None;
            }
        };
        if file.contains('/') || file == "." || file == ".." || file.is_empty() {
            self.diags.push(
                Diagnostic::error(format!("invalid distfile name `{file}`: a plain file name is expected"))
                    .at(self.file, fspan),
            );
            ok = false;
        }
        ok.then(|| Source { file, urls, sha256: sha.clone() })
    }

    fn build(&mut self, raw: super::file::BuildFile, found: &Found) -> BuildParts {
        let system = raw.system.as_ref().and_then(|s| match BuildSystem::parse(s.get_ref()) {
            Some(sys) => Some(sys),
            None => {
                self.diags.push(
                    Diagnostic::error(format!(
                        "unknown build system `{}`: expected autotools, make, cmake, meson or none",
                        s.get_ref()
                    ))
                    .at(self.file, s.span()),
                );
                None
            }
        });
        let dir = raw.dir.as_ref().map(|d| {
            let p = Path::new(d.get_ref());
            if p.is_absolute() || p.components().any(|c| matches!(c, std::path::Component::ParentDir)) {
                self.diags.push(
                    Diagnostic::error(format!(
                        "build dir `{}` must be a relative path inside WORKDIR",
                        d.get_ref()
                    ))
                    .at(self.file, d.span()),
                );
            }
            d.get_ref().clone()
        });
        let mut owners = BTreeMap::new();
        for (path, spec) in &raw.owners {
            match parse_owner(spec.get_ref()) {
                Some(o) => {
                    owners.insert(path.trim_start_matches('/').to_string(), o);
                }
                None => self.diags.push(
                    Diagnostic::error(format!(
                        "invalid owner `{}` for `{path}`: expected `UID:GID` or `UID:GID:MODE` (mode in octal)",
                        spec.get_ref()
                    ))
                    .at(self.file, spec.span()),
                ),
            }
        }
        let _ = found;
        BuildParts {
            dir,
            spec: BuildSpec {
                dir: String::new(),
                system,
                prepare: raw.prepare,
                configure: raw.configure,
                compile: raw.compile,
                install: raw.install,
                kernel_config: raw.kernel_config,
                compiler_flags: raw.compiler_flags,
                owners,
            },
        }
    }
}

struct BuildParts {
    dir: Option<String>,
    spec: BuildSpec,
}

fn parse_owner(s: &str) -> Option<Owner> {
    let mut it = s.split(':');
    let uid = it.next()?.parse().ok()?;
    let gid = it.next()?.parse().ok()?;
    let mode = match it.next() {
        Some(m) => Some(crate::profile::parse_mode(m).ok()?),
        None => None,
    };
    it.next().is_none().then_some(Owner { uid, gid, mode })
}

/// Where a string value's characters sit in the file. Basic and literal strings without escapes
/// map one to one; otherwise positions fall back to the whole literal.
fn value_span(text: &str, raw: &Spanned<String>) -> ValueSpan {
    let whole = raw.span();
    let literal = text.get(whole.clone()).unwrap_or("");
    let base =
        literal.find(raw.get_ref().as_str()).filter(|_| !raw.get_ref().is_empty()).map(|i| whole.start + i);
    let base = base.or_else(|| raw.get_ref().is_empty().then_some(whole.start + 1));
    ValueSpan { whole, base }
}
