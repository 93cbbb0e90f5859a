//! Reading a profile and its parents, in cascade order, and merging them into one `Profile`.

use super::file::{self, ProfileFile};
use super::flags::{self, UseToken};
use super::image::{BootMode, Filesystem, ImageConf, ImageFormat, Partition, PartitionKind, Size};
use super::system::{FileContent, FileSpec, Group, Service, Setting, SystemConf, User};
use super::{Make, PackageConf, Profile, WorldAtom, parse_mode};
use crate::dep::Atom;
use crate::diag::{Diagnostic, Diagnostics, SourceFile};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use toml::Spanned;

const FILE_NAME: &str = "profile.toml";

/// Loads the profile named `name` (a directory under `profiles_dir`) or at the path `name`.
pub fn load(profiles_dir: &Path, name: &str) -> Result<Profile, Diagnostics> {
    let dir = locate(profiles_dir, name).map_err(|d| Diagnostics(vec![*d]))?;
    let mut layers = Vec::new();
    read_chain(&dir, &mut Vec::new(), &mut layers).map_err(|d| Diagnostics(vec![*d]))?;
    let display = Path::new(name).file_name().map(|n| n.to_string_lossy().into_owned());
    let mut m = Merger::default();
    for layer in &layers {
        m.layer(layer);
    }
    if m.diags.iter().any(Diagnostic::is_error) {
        return Err(Diagnostics(m.diags));
    }
    Ok(m.finish(display.unwrap_or_else(|| name.to_string()), dir, &layers))
}

/// Every profile under `profiles_dir` (directories holding a `profile.toml`), as names relative
/// to it, sorted.
pub fn discover(profiles_dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = walkdir::WalkDir::new(profiles_dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file() && e.file_name() == FILE_NAME)
        .filter_map(|e| {
            let rel = e.path().parent()?.strip_prefix(profiles_dir).ok()?;
            (!rel.as_os_str().is_empty()).then(|| rel.to_string_lossy().into_owned())
        })
        .collect();
    out.sort();
    out
}

fn locate(profiles_dir: &Path, name: &str) -> Result<PathBuf, Box<Diagnostic>> {
    let by_name = profiles_dir.join(name);
    if by_name.join(FILE_NAME).is_file() {
        return Ok(by_name);
    }
    let as_path = Path::new(name);
    if as_path.join(FILE_NAME).is_file() {
        return Ok(as_path.to_path_buf());
    }
    if as_path.is_file() && as_path.file_name().is_some_and(|f| f == FILE_NAME) {
        return Ok(as_path.parent().unwrap_or(Path::new(".")).to_path_buf());
    }
    let known = discover(profiles_dir);
    let mut d = Diagnostic::error(format!(
        "no profile `{name}`: neither {} nor {} exists",
        by_name.join(FILE_NAME).display(),
        as_path.join(FILE_NAME).display()
    ));
    if !known.is_empty() {
        d = d.note(format!("profiles under {}: {}", profiles_dir.display(), known.join(", ")));
    }
    Err(Box::new(d))
}

struct Layer {
    dir: PathBuf,
    file: Arc<SourceFile>,
    data: ProfileFile,
}

/// Depth-first, parents before children; a profile reached twice (a diamond) is read once, at its
/// first place. A parent that is its own descendant is an error at the `parents` entry that
/// closes the cycle.
fn read_chain(dir: &Path, stack: &mut Vec<PathBuf>, out: &mut Vec<Layer>) -> Result<(), Box<Diagnostic>> {
    let path = dir.join(FILE_NAME);
    let canon = fs_err::canonicalize(dir)
        .map_err(|e| Box::new(Diagnostic::error(format!("cannot read profile: {e}")).in_path(&path)))?;
    if out.iter().any(|l| fs_err::canonicalize(&l.dir).ok().as_ref() == Some(&canon)) {
        return Ok(());
    }
    let bytes = fs_err::read(&path)
        .map_err(|e| Box::new(Diagnostic::error(format!("cannot read profile: {e}")).in_path(&path)))?;
    let file = SourceFile::decode(path.clone(), bytes)?;
    let data: ProfileFile =
        toml::from_str(&file.text).map_err(|e| Box::new(Diagnostic::from_toml(&file, &e)))?;
    stack.push(canon);
    for parent in &data.parents {
        let pdir = tidy(&dir.join(parent.get_ref()));
        if let Err(e) = check_parent(&file, parent, &pdir, stack).and_then(|()| read_chain(&pdir, stack, out))
        {
            stack.pop();
            return Err(e);
        }
    }
    stack.pop();
    out.push(Layer { dir: dir.to_path_buf(), file, data });
    Ok(())
}

/// A parent must exist and must not already be on the way down to it.
fn check_parent(
    file: &Arc<SourceFile>,
    parent: &Spanned<String>,
    pdir: &Path,
    stack: &[PathBuf],
) -> Result<(), Box<Diagnostic>> {
    if !pdir.join(FILE_NAME).is_file() {
        let msg = format!(
            "parent profile `{}` not found: {} does not exist",
            parent.get_ref(),
            pdir.join(FILE_NAME).display()
        );
        return Err(Box::new(Diagnostic::error(msg).at(file, parent.span())));
    }
    let canon = fs_err::canonicalize(pdir).ok();
    let Some(pos) = stack.iter().position(|p| Some(p) == canon.as_ref()) else { return Ok(()) };
    let names: Vec<String> = stack[pos..]
        .iter()
        .chain(std::iter::once(&stack[pos]))
        .map(|p| p.file_name().map_or_else(|| p.display().to_string(), |n| n.to_string_lossy().into_owned()))
        .collect();
    let msg = format!("parent profile `{}` makes a cycle: {}", parent.get_ref(), names.join(" -> "));
    Err(Box::new(Diagnostic::error(msg).at(file, parent.span()).label("cycle closes here")))
}

/// `a/b/../c/./d` as `a/c/d`, so paths in messages read as written; kept as given when a symlink
/// makes the short form name another directory.
fn tidy(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir if matches!(out.components().next_back(), Some(Component::Normal(_))) => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    let same = std::fs::canonicalize(&out).ok() == std::fs::canonicalize(path).ok();
    if same { out } else { path.to_path_buf() }
}

/// Accumulates layers in cascade order.
#[derive(Default)]
struct Merger {
    diags: Vec<Diagnostic>,
    world: Vec<WorldAtom>,
    make: Make,
    cxxflags_set: bool,
    packages: Vec<PackageConf>,
    kernel_config: Vec<PathBuf>,
    hostname: Option<String>,
    timezone: Option<String>,
    services: Vec<Service>,
    users: BTreeMap<String, User>,
    groups: BTreeMap<String, Group>,
    files: BTreeMap<String, FileSpec>,
    vars: BTreeMap<String, toml::Value>,
    image: ImageConf,
    mirrors: Vec<String>,
    substituters: Vec<String>,
    trusted_keys: Vec<PathBuf>,
}

impl Merger {
    fn setting(layer: &Layer, span: std::ops::Range<usize>, key: String) -> Setting {
        Setting { file: layer.file.clone(), span, key }
    }

    fn error(&mut self, layer: &Layer, span: std::ops::Range<usize>, msg: String) {
        self.diags.push(Diagnostic::error(msg).at(&layer.file, span));
    }

    fn layer(&mut self, layer: &Layer) {
        let d = &layer.data;
        self.world_entries(layer, &d.world);
        self.make_section(layer, &d.make);
        for (key, pkg) in &d.package {
            self.package(layer, key, pkg);
        }
        for frag in &d.kernel.config {
            let path = layer.dir.join(frag.get_ref());
            if path.is_file() {
                self.kernel_config.push(path);
            } else {
                let msg =
                    format!("kernel config fragment `{}` not found at {}", frag.get_ref(), path.display());
                self.error(layer, frag.span(), msg);
            }
        }
        self.system_section(layer, &d.system);
        self.image_section(layer, &d.image);
        if let Some(m) = &d.fetch.mirrors {
            self.mirrors = m.iter().map(|u| resolve_location(&layer.dir, u)).collect();
        }
        if let Some(s) = &d.cache.substituters {
            self.substituters = s.iter().map(|u| resolve_location(&layer.dir, u)).collect();
        }
        if let Some(k) = &d.cache.trusted_keys {
            self.trusted_keys = k.iter().map(|p| layer.dir.join(p)).collect();
        }
    }

    fn world_entries(&mut self, layer: &Layer, world: &[Spanned<String>]) {
        for w in world {
            let (remove, text) = match w.get_ref().strip_prefix('-') {
                Some(rest) => (true, rest),
                None => (false, w.get_ref().as_str()),
            };
            match Atom::parse(text) {
                Ok(atom) if atom.blocker().is_some() => self.error(
                    layer,
                    w.span(),
                    format!("world entry `{text}` is a blocker; list packages to install"),
                ),
                Ok(atom) if remove => self.world.retain(|x| x.atom.to_string() != atom.to_string()),
                Ok(atom) => {
                    let setting = Self::setting(layer, w.span(), "world".into());
                    self.world.push(WorldAtom { atom, setting });
                }
                Err(e) => self.error(layer, w.span(), format!("invalid world atom `{text}`: {}", e.message)),
            }
        }
    }

    fn make_section(&mut self, layer: &Layer, m: &file::MakeFile) {
        if let Some(v) = &m.chost {
            self.make.chost = v.clone();
        }
        if let Some(v) = &m.cflags {
            self.make.cflags = v.clone();
        }
        if let Some(v) = &m.cxxflags {
            self.make.cxxflags = v.clone();
            self.cxxflags_set = true;
        }
        if let Some(v) = &m.ldflags {
            self.make.ldflags = v.clone();
        }
        if let Some(u) = &m.use_ {
            let mut t = self.tokens(layer, u);
            self.make.use_.append(&mut t);
        }
        self.make.env.extend(m.env.iter().map(|(k, v)| (k.clone(), v.clone())));
    }

    fn tokens(&mut self, layer: &Layer, u: &Spanned<String>) -> Vec<UseToken> {
        match flags::parse_tokens(u.get_ref()) {
            Ok(t) => t,
            Err((inner, msg)) => {
                let base = u.span().start + 1;
                self.error(layer, base + inner.start..base + inner.end, msg);
                Vec::new()
            }
        }
    }

    fn package(&mut self, layer: &Layer, key: &Spanned<String>, p: &file::PackageFile) {
        let atom = match Atom::parse(key.get_ref()) {
            Ok(a) if a.blocker().is_none() => a,
            Ok(_) => {
                return self.error(
                    layer,
                    key.span(),
                    format!("`{}` is a blocker, not a package", key.get_ref()),
                );
            }
            Err(e) => {
                return self.error(
                    layer,
                    key.span(),
                    format!("invalid package atom `{}`: {}", key.get_ref(), e.message),
                );
            }
        };
        let version = p.version.as_ref().and_then(|v| {
            let text = v.get_ref().trim();
            let has_op = text.starts_with(['<', '>', '=', '~']);
            let op_len = text.find(|c: char| !"<>=~".contains(c)).unwrap_or(text.len());
            let (op, ver) = if has_op { text.split_at(op_len) } else { ("=", text) };
            match Atom::parse(&format!("{op}{}-{ver}", atom.cpn())) {
                Ok(a) => Some(a),
                Err(e) => {
                    let msg = format!("invalid version constraint `{text}`: {}", e.message);
                    self.error(layer, v.span(), msg);
                    None
                }
            }
        });
        let use_ = p.use_.as_ref().map(|u| self.tokens(layer, u)).unwrap_or_default();
        let setting = Self::setting(layer, key.span(), format!("package.\"{}\"", key.get_ref()));
        self.packages.push(PackageConf {
            atom,
            use_,
            cflags: p.cflags.clone(),
            cxxflags: p.cxxflags.clone(),
            ldflags: p.ldflags.clone(),
            env: p.env.clone(),
            version,
            mask: p.mask.unwrap_or(false),
            setting,
        });
    }

    fn system_section(&mut self, layer: &Layer, s: &file::SystemFile) {
        if let Some(h) = &s.hostname {
            if valid_hostname(h.get_ref()) {
                self.hostname = Some(h.get_ref().clone());
            } else {
                let msg = format!(
                    "invalid hostname `{}`: letters, digits, `-` and `.`, at most 64 characters",
                    h.get_ref()
                );
                self.error(layer, h.span(), msg);
            }
        }
        if let Some(t) = &s.timezone {
            if valid_timezone(t.get_ref()) {
                self.timezone = Some(t.get_ref().clone());
            } else {
                let msg = format!("invalid timezone `{}`: a zone name such as \"Europe/Paris\"", t.get_ref());
                self.error(layer, t.span(), msg);
            }
        }
        for svc in &s.services {
            match svc.get_ref().strip_prefix('-') {
                Some(name) => self.services.retain(|x| x.name != name),
                None if valid_service(svc.get_ref()) => {
                    if !self.services.iter().any(|x| &x.name == svc.get_ref()) {
                        let setting = Self::setting(layer, svc.span(), "system.services".into());
                        self.services.push(Service { name: svc.get_ref().clone(), setting });
                    }
                }
                None => {
                    let msg = format!("invalid service name `{}`", svc.get_ref());
                    self.error(layer, svc.span(), msg);
                }
            }
        }
        for (i, u) in s.users.iter().enumerate() {
            let setting = Self::setting(layer, u.span(), format!("system.users[{i}]"));
            let u = u.get_ref().clone();
            self.users.insert(
                u.name.clone(),
                User {
                    shell: u.shell.unwrap_or_else(|| "/bin/sh".into()),
                    gecos: u.gecos.unwrap_or_default(),
                    name: u.name,
                    uid: u.uid,
                    gid: u.gid,
                    groups: u.groups,
                    home: u.home,
                    password: u.password,
                    password_plain: u.password_plain,
                    authorized_keys: u.authorized_keys,
                    setting,
                },
            );
        }
        for (i, g) in s.groups.iter().enumerate() {
            let setting = Self::setting(layer, g.span(), format!("system.groups[{i}]"));
            let g = g.get_ref().clone();
            self.groups
                .insert(g.name.clone(), Group { name: g.name, gid: g.gid, members: g.members, setting });
        }
        for (i, f) in s.files.iter().enumerate() {
            if let Some(spec) = self.file_entry(layer, i, f) {
                self.files.insert(spec.path.clone(), spec);
            }
        }
        self.vars.extend(s.vars.iter().map(|(k, v)| (k.clone(), v.clone())));
    }

    fn file_entry(&mut self, layer: &Layer, i: usize, f: &Spanned<file::FileEntry>) -> Option<FileSpec> {
        let setting = Self::setting(layer, f.span(), format!("system.files[{i}]"));
        let e = f.get_ref();
        let path = e.path.get_ref();
        if !path.starts_with('/') || path.split('/').any(|c| c == "..") {
            let msg = format!("{}.path: `{path}` must be absolute, without `..`", setting.key);
            self.error(layer, e.path.span(), msg);
            return None;
        }
        let mode = match &e.mode {
            None => 0o644,
            Some(m) => match m.get_ref().as_str().map(parse_mode) {
                Some(Ok(mode)) => mode,
                Some(Err(msg)) => {
                    self.error(layer, m.span(), format!("{}.mode: {msg}", setting.key));
                    return None;
                }
                None => {
                    let msg =
                        format!("{}.mode: must be a string of octal digits such as \"0644\"", setting.key);
                    self.error(layer, m.span(), msg);
                    return None;
                }
            },
        };
        let content = match (&e.content, &e.source) {
            (Some(c), None) => FileContent::Inline(c.clone()),
            (None, Some(s)) => {
                let path = layer.dir.join(s.get_ref());
                if !path.is_file() {
                    let msg = format!(
                        "{}.source: file `{}` not found at {}",
                        setting.key,
                        s.get_ref(),
                        path.display()
                    );
                    self.error(layer, s.span(), msg);
                    return None;
                }
                FileContent::Source(path)
            }
            _ => {
                self.error(
                    layer,
                    f.span(),
                    format!("{}: give exactly one of `content` or `source`", setting.key),
                );
                return None;
            }
        };
        Some(FileSpec {
            path: path.clone(),
            mode,
            owner: e.owner.clone().unwrap_or_else(|| "root".into()),
            group: e.group.clone().unwrap_or_else(|| "root".into()),
            content,
            template: e.template,
            setting,
        })
    }

    fn image_section(&mut self, layer: &Layer, i: &file::ImageFile) {
        if let Some(f) = &i.format {
            match f.get_ref().as_str() {
                "raw" => self.image.format = ImageFormat::Raw,
                "qcow2" => self.image.format = ImageFormat::Qcow2,
                "raw.xz" => self.image.format = ImageFormat::RawXz,
                other => self.error(
                    layer,
                    f.span(),
                    format!("unknown image format `{other}`: expected raw, qcow2 or raw.xz"),
                ),
            }
        }
        if let Some(b) = &i.boot {
            match b.get_ref().as_str() {
                "uefi" => self.image.boot = BootMode::Uefi,
                "bios" => self.image.boot = BootMode::Bios,
                "hybrid" => self.image.boot = BootMode::Hybrid,
                other => self.error(
                    layer,
                    b.span(),
                    format!("unknown boot mode `{other}`: expected uefi, bios or hybrid"),
                ),
            }
        }
        if let Some(c) = &i.cmdline {
            self.image.cmdline = c.clone();
        }
        if let Some(k) = &i.kernel {
            self.image.kernel = k.trim_start_matches('/').to_string();
        }
        if let Some(k) = &i.initramfs {
            self.image.initramfs = Some(k.trim_start_matches('/').to_string());
        }
        if let Some(parts) = &i.partitions {
            let parsed: Vec<Partition> = parts.iter().filter_map(|p| self.partition(layer, p)).collect();
            if parsed.len() == parts.len() {
                self.check_partitions(layer, parts, &parsed);
                self.image.partitions = parsed;
            }
        }
    }

    fn partition(&mut self, layer: &Layer, p: &Spanned<file::PartitionFile>) -> Option<Partition> {
        let raw = p.get_ref();
        let label = &raw.label;
        let kind = match raw.kind.get_ref().as_str() {
            "esp" => PartitionKind::Esp,
            "root" => PartitionKind::Root,
            "linux" => PartitionKind::Linux,
            "swap" => PartitionKind::Swap,
            other => {
                let msg =
                    format!("partition `{label}`: unknown type `{other}`: expected esp, root, linux or swap");
                self.error(layer, raw.kind.span(), msg);
                return None;
            }
        };
        let fs = match raw.fs.as_ref().map(|f| f.get_ref().as_str()) {
            None => match kind {
                PartitionKind::Esp => Filesystem::Vfat,
                PartitionKind::Swap => Filesystem::Swap,
                PartitionKind::Root | PartitionKind::Linux => Filesystem::Ext4,
            },
            Some("vfat") => Filesystem::Vfat,
            Some("ext4") => Filesystem::Ext4,
            Some("swap") => Filesystem::Swap,
            Some("none") => Filesystem::None,
            Some(other) => {
                let msg = format!(
                    "partition `{label}`: unknown filesystem `{other}`: expected vfat, ext4, swap or none"
                );
                self.error(layer, raw.fs.as_ref().map_or(p.span(), Spanned::span), msg);
                return None;
            }
        };
        let size = match partition_size(raw.size.get_ref()) {
            Ok(s) => s,
            Err(msg) => {
                self.error(layer, raw.size.span(), format!("partition `{label}`: {msg}"));
                return None;
            }
        };
        if kind == PartitionKind::Esp && fs != Filesystem::Vfat {
            let span = raw.fs.as_ref().map_or(p.span(), Spanned::span);
            self.error(layer, span, format!("partition `{label}`: an ESP must be vfat"));
            return None;
        }
        Some(Partition { label: label.clone(), kind, fs, size })
    }

    /// Layout rules across partitions, each reported at the partition that breaks it.
    fn check_partitions(&mut self, layer: &Layer, raw: &[Spanned<file::PartitionFile>], parts: &[Partition]) {
        let first = raw.first().map(|p| p.span()).unwrap_or(0..0);
        let nth_of = |k: PartitionKind, n: usize| {
            parts.iter().zip(raw).filter(|(p, _)| p.kind == k).nth(n).map(|(_, r)| r.get_ref().kind.span())
        };
        match nth_of(PartitionKind::Root, 1) {
            Some(second) => self.error(
                layer,
                second,
                "image.partitions: a second `root` partition; exactly one is needed".into(),
            ),
            None if nth_of(PartitionKind::Root, 0).is_none() => self.error(
                layer,
                first.clone(),
                "image.partitions: exactly one partition of type `root` is needed, and there is none".into(),
            ),
            None => {}
        }
        if let Some(second) = nth_of(PartitionKind::Esp, 1) {
            self.error(
                layer,
                second,
                "image.partitions: a second `esp` partition; at most one is allowed".into(),
            );
        }
        for (i, p) in parts.iter().enumerate() {
            if parts[..i].iter().any(|q| q.label == p.label) {
                let msg = format!("image.partitions: label `{}` is used twice", p.label);
                self.error(layer, raw[i].span(), msg);
                break;
            }
        }
    }

    fn finish(mut self, name: String, dir: PathBuf, layers: &[Layer]) -> Profile {
        if !self.cxxflags_set {
            self.make.cxxflags = self.make.cflags.clone();
        }
        if self.make.chost.is_empty() {
            self.make.chost = "x86_64-pc-linux-gnu".into();
        }
        let defaults = SystemConf::default();
        Profile {
            name,
            dir,
            chain: layers.iter().map(|l| l.file.path.clone()).collect(),
            world: self.world,
            make: self.make,
            packages: self.packages,
            kernel_config: self.kernel_config,
            system: SystemConf {
                hostname: self.hostname.unwrap_or(defaults.hostname),
                timezone: self.timezone.unwrap_or(defaults.timezone),
                services: self.services,
                users: self.users.into_values().collect(),
                groups: self.groups.into_values().collect(),
                files: self.files.into_values().collect(),
                vars: self.vars,
            },
            image: self.image,
            mirrors: self.mirrors,
            substituters: self.substituters,
            trusted_keys: self.trusted_keys,
        }
    }
}

/// A partition size: `auto` or a size with a unit as a string, or a byte count as an integer.
fn partition_size(v: &toml::Value) -> Result<Size, String> {
    match v {
        toml::Value::String(s) => s.parse::<Size>(),
        toml::Value::Integer(n) if *n > 0 => Ok(Size::Bytes(n.unsigned_abs())),
        toml::Value::Integer(0) => Err("size `0` is zero".into()),
        toml::Value::Integer(n) => Err(format!("size `{n}` is negative")),
        other => Err(format!(
            "invalid size `{other}` ({}): expected `auto` or a size such as \"64MiB\"",
            other.type_str()
        )),
    }
}

/// Mirror and substituter entries may be URLs or directories relative to the profile.
fn resolve_location(dir: &Path, s: &str) -> String {
    if s.contains("://") || Path::new(s).is_absolute() {
        s.to_string()
    } else {
        dir.join(s).display().to_string()
    }
}

fn valid_hostname(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 64
        && h.split('.').all(|l| {
            !l.is_empty()
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// A tz database name (`Europe/Paris`, `Etc/GMT+5`, `UTC`): it becomes a path under
/// /usr/share/zoneinfo, so no `..`, no leading `/`, and only the characters zone names use.
fn valid_timezone(t: &str) -> bool {
    !t.is_empty()
        && t.split('/').all(|c| !c.is_empty() && c != "." && c != "..")
        && t.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'_' | b'+' | b'-'))
}

fn valid_service(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'@'))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes `profiles/<name>/profile.toml` for each entry and loads `load_name`.
    fn load_tree(profiles: &[(&str, &str)], load_name: &str) -> Result<Profile, Diagnostics> {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in profiles {
            let p = dir.path().join(name);
            std::fs::create_dir_all(&p).unwrap();
            std::fs::write(p.join(FILE_NAME), text).unwrap();
        }
        load(dir.path(), load_name)
    }

    fn first_error(profiles: &[(&str, &str)], name: &str) -> String {
        let e = load_tree(profiles, name).unwrap_err();
        let d = e.0.iter().find(|d| d.is_error()).unwrap();
        let root = d.file_path().unwrap().ancestors().nth(2).unwrap().to_path_buf();
        d.headline().replace(&format!("{}/", root.display()), "")
    }

    #[test]
    fn a_parent_cycle_is_reported_at_the_entry_that_closes_it() {
        let tree = [("a", "parents = [\"../b\"]\n"), ("b", "world = []\nparents = [\"../a\"]\n")];
        assert_eq!(
            first_error(&tree, "a"),
            "b/profile.toml:2:12: parent profile `../a` makes a cycle: a -> b -> a"
        );
        assert_eq!(
            first_error(&[("p", "parents = [\".\"]\n")], "p"),
            "p/profile.toml:1:12: parent profile `.` makes a cycle: p -> p"
        );
    }

    #[test]
    fn paths_through_parents_are_shown_without_dot_dot() {
        let tree = [("a", "parents = [\"../b\"]\n"), ("b", "[make]\nuse = \"b!d\"\n")];
        assert!(first_error(&tree, "a").starts_with("b/profile.toml:2:8: invalid USE flag `b!d`"));
        assert_eq!(tidy(Path::new("x/./y/../z")), PathBuf::from("x/z"));
        assert_eq!(tidy(Path::new("../../no-such-dir/./a")), PathBuf::from("../../no-such-dir/a"));
    }

    #[test]
    fn partition_errors_point_at_the_value_at_fault() {
        let part = |label: &str, kind: &str, extra: &str| {
            format!("[[image.partitions]]\nlabel = \"{label}\"\ntype = \"{kind}\"\n{extra}size = \"auto\"\n")
        };
        let two_roots = format!("{}{}", part("a", "root", ""), part("b", "root", ""));
        assert_eq!(
            first_error(&[("p", &two_roots)], "p"),
            "p/profile.toml:7:8: image.partitions: a second `root` partition; exactly one is needed"
        );
        let esp_ext4 = format!("{}{}", part("esp", "esp", "fs = \"ext4\"\n"), part("r", "root", ""));
        assert_eq!(
            first_error(&[("p", &esp_ext4)], "p"),
            "p/profile.toml:4:6: partition `esp`: an ESP must be vfat"
        );
        let dup = format!("{}{}", part("r", "root", ""), part("r", "linux", ""));
        assert_eq!(
            first_error(&[("p", &dup)], "p"),
            "p/profile.toml:5:1: image.partitions: label `r` is used twice"
        );
    }

    #[test]
    fn integer_sizes_say_zero_or_negative() {
        assert_eq!(partition_size(&toml::Value::Integer(0)), Err("size `0` is zero".into()));
        assert_eq!(partition_size(&toml::Value::Integer(-5)), Err("size `-5` is negative".into()));
        assert_eq!(partition_size(&toml::Value::Integer(512)), Ok(Size::Bytes(512)));
        assert!(partition_size(&toml::Value::Boolean(true)).unwrap_err().contains("(boolean)"));
    }

    #[test]
    fn file_entries_point_at_their_path_and_source() {
        let rel = "[[system.files]]\npath = \"etc/motd\"\ncontent = \"x\"\n";
        assert_eq!(
            first_error(&[("p", rel)], "p"),
            "p/profile.toml:2:8: system.files[0].path: `etc/motd` must be absolute, without `..`"
        );
        let missing = "[[system.files]]\npath = \"/etc/motd\"\nsource = \"m\"\n";
        assert!(
            first_error(&[("p", missing)], "p").starts_with("p/profile.toml:3:10: system.files[0].source")
        );
    }

    #[test]
    fn non_utf8_profiles_are_refused_at_the_bad_byte() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("p")).unwrap();
        std::fs::write(dir.path().join("p").join(FILE_NAME), b"world = [] # \xff\n").unwrap();
        let e = load(dir.path(), "p").unwrap_err();
        assert!(
            e.0[0].headline().ends_with("p/profile.toml:1:14: not UTF-8 text: byte 0xff is not valid UTF-8")
        );
    }
}
