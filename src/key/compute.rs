//! Computing build keys for a plan. Each key hashes a canonical, versioned list of named inputs;
//! the list itself is kept with the package so `ingot explain` can say which input changed.

use super::BuildKey;
use crate::profile::Profile;
use crate::recipe::Recipe;
use crate::resolve::Plan;
use petgraph::graph::NodeIndex;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Bumped whenever the meaning of an input changes, so old packages are never mistaken for new.
const FORMAT: &str = "ingot-key-1";

/// The named inputs of one key: sorted, printable, comparable.
pub type Inputs = BTreeMap<String, String>;

/// Keys and their inputs for every package of a plan, indexed by node index, with the packages
/// each build sees in its SYSROOT and host root.
#[derive(Debug, Clone)]
pub struct KeyedPlan {
    pub keys: Vec<BuildKey>,
    pub inputs: Vec<Inputs>,
    pub sysroot: Vec<Vec<NodeIndex>>,
    pub hostroot: Vec<Vec<NodeIndex>>,
}

impl KeyedPlan {
    pub fn key(&self, n: NodeIndex) -> BuildKey {
        self.keys[n.index()]
    }
}

/// What is the same for every package of one build: the host toolchain and the phase helpers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Environment {
    /// Versions of the host tools every build runs (compiler, binutils, make, shell).
    pub toolchain: String,
    pub source_date_epoch: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot hash {what} {}: {source}", path.display())]
    Read { what: &'static str, path: PathBuf, source: std::io::Error },
    #[error(transparent)]
    Host(#[from] crate::host::HostError),
}

/// SOURCE_DATE_EPOCH when the environment does not set one: 2024-01-01T00:00:00Z.
pub const DEFAULT_SOURCE_DATE_EPOCH: u64 = 1_704_067_200;

impl Environment {
    /// Reads the host toolchain's identity (`gcc`, `ld`, `make` versions) and SOURCE_DATE_EPOCH
    /// from the environment. The four version queries run at once.
    pub fn detect() -> Result<Environment, KeyError> {
        Ok(Environment { toolchain: query_toolchain()?, source_date_epoch: source_date_epoch() })
    }

    /// As `detect`, reusing the identity recorded in `record` while gcc, ld and make are the
    /// same files (path, device, inode, size, modification and change time: ccache's
    /// `compiler_check = mtime`, plus what tells a replaced file from an edited one). Asking them
    /// took 4 ms, a third of a warm `ingot build` before staging. The record is best effort: one
    /// that cannot be read or written means asking.
    pub fn detect_cached(record: &Path) -> Result<Environment, KeyError> {
        let source_date_epoch = source_date_epoch();
        let stamp = toolchain_stamp()?;
        let recorded = std::fs::read(record)
            .ok()
            .and_then(|b| serde_json::from_slice::<ToolchainRecord>(&b).ok())
            .filter(|r| r.stamp == stamp);
        if let Some(r) = recorded {
            return Ok(Environment { toolchain: r.toolchain, source_date_epoch });
        }
        let toolchain = query_toolchain()?;
        let _ = write_record(record, &ToolchainRecord { stamp, toolchain: toolchain.clone() });
        Ok(Environment { toolchain, source_date_epoch })
    }
}

/// What `detect_cached` keeps between runs.
#[derive(serde::Serialize, serde::Deserialize)]
struct ToolchainRecord {
    stamp: String,
    toolchain: String,
}

const LD: crate::host::HostTool = crate::host::HostTool { program: "ld", debian_package: "binutils" };

fn source_date_epoch() -> u64 {
    std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(DEFAULT_SOURCE_DATE_EPOCH)
}

fn query_toolchain() -> Result<String, KeyError> {
    use crate::host::{GCC, HostTool, MAKE};
    let first_line = |tool: HostTool, args: &[&str]| -> Result<String, KeyError> {
        let out = tool.run(args)?;
        Ok(String::from_utf8_lossy(&out.stdout).lines().next().unwrap_or("").trim().to_string())
    };
    let queries: [(HostTool, &[&str]); 4] = [
        (GCC, &["-dumpfullversion"]),
        (GCC, &["-dumpmachine"]),
        (LD, &["--version"]),
        (MAKE, &["--version"]),
    ];
    let answers = std::thread::scope(|s| {
        let running: Vec<_> =
            queries.iter().map(|&(tool, args)| s.spawn(move || first_line(tool, args))).collect();
        running
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
            .collect::<Result<Vec<String>, KeyError>>()
    })?;
    Ok(format!("gcc {} {}; {}; {}", answers[0], answers[1], answers[2], answers[3]))
}

/// One line per tool: where it is found and the identity of the file it resolves to.
fn toolchain_stamp() -> Result<String, KeyError> {
    use std::os::unix::fs::MetadataExt;
    let mut stamp = String::new();
    for tool in [crate::host::GCC, LD, crate::host::MAKE] {
        let path = tool.locate()?;
        let m = std::fs::metadata(&path).map_err(|source| KeyError::Read {
            what: "host tool",
            path: path.clone(),
            source,
        })?;
        stamp.push_str(&format!(
            "{} {} {} {} {}.{} {}.{}\n",
            path.display(),
            m.dev(),
            m.ino(),
            m.size(),
            m.mtime(),
            m.mtime_nsec(),
            m.ctime(),
            m.ctime_nsec()
        ));
    }
    Ok(stamp)
}

fn write_record(record: &Path, r: &ToolchainRecord) -> std::io::Result<()> {
    crate::fs::write_atomic(record, &serde_json::to_vec(r)?)
}

/// Computes every key of the plan, in build order so dependencies' keys are known first.
pub fn compute(plan: &Plan, profile: &Profile, env: &Environment) -> Result<KeyedPlan, KeyError> {
    let n = plan.graph.node_count();
    let kernel_config = kernel_config_hash(&profile.kernel_config)?;
    let helpers = sha256_hex(crate::build::phases::HELPERS.as_bytes());
    let mut keyed = KeyedPlan {
        keys: vec![BuildKey::from_bytes([0; 32]); n],
        inputs: vec![Inputs::new(); n],
        sysroot: vec![Vec::new(); n],
        hostroot: vec![Vec::new(); n],
    };
    for &node in &plan.order {
        let (sysroot, hostroot) = plan.build_closure(node);
        let p = plan.get(node);
        let mut inputs = recipe_inputs(&p.recipe, profile)?;
        inputs.insert("format".into(), FORMAT.into());
        inputs.insert("features".into(), p.features.iter().cloned().collect::<Vec<_>>().join(" "));
        inputs.insert("toolchain".into(), env.toolchain.clone());
        inputs.insert("phase-helpers".into(), helpers.clone());
        inputs.insert("source-date-epoch".into(), env.source_date_epoch.to_string());
        if p.recipe.build.kernel_config {
            inputs.insert("kernel-config".into(), kernel_config.clone());
        }
        for (role, set) in [("sysroot", &sysroot), ("host", &hostroot)] {
            for &d in set {
                let dp = plan.get(d);
                inputs
                    .insert(format!("{role}:{}:{}", dp.cpn(), dp.slot()), keyed.keys[d.index()].to_string());
            }
        }
        keyed.keys[node.index()] = key_of(&inputs);
        keyed.inputs[node.index()] = inputs;
        keyed.sysroot[node.index()] = sysroot;
        keyed.hostroot[node.index()] = hostroot;
    }
    Ok(keyed)
}

/// The key of a set of inputs: sha256 over `name=value` lines in name order.
pub fn key_of(inputs: &Inputs) -> BuildKey {
    let mut h = Sha256::new();
    for (k, v) in inputs {
        // Lengths first, so no value can forge a line boundary.
        h.update(format!("{}:{}={}:{}\n", k.len(), k, v.len(), v).as_bytes());
    }
    BuildKey::from_bytes(h.finalize().into())
}

/// Inputs that come from the recipe and the profile values that reach its build.
fn recipe_inputs(r: &Recipe, profile: &Profile) -> Result<Inputs, KeyError> {
    let mut i = Inputs::new();
    i.insert("package".into(), format!("{}:{}", r.cpv(), r.slot));
    i.insert("recipe".into(), sha256_hex(r.origin.file.text.as_bytes()));
    if let Some(dir) = &r.origin.files_dir {
        i.insert("recipe-files".into(), tree_hash(dir)?);
    }
    for s in &r.sources {
        i.insert(format!("source:{}", s.file), s.sha256.clone());
    }
    let settings = profile.build_settings(r);
    i.insert("chost".into(), profile.make.chost.clone());
    i.insert("cflags".into(), settings.cflags);
    i.insert("cxxflags".into(), settings.cxxflags);
    i.insert("ldflags".into(), settings.ldflags);
    for (k, v) in settings.env {
        i.insert(format!("env:{k}"), v);
    }
    Ok(i)
}

fn kernel_config_hash(fragments: &[PathBuf]) -> Result<String, KeyError> {
    let mut h = Sha256::new();
    for f in fragments {
        let bytes = fs_err::read(f).map_err(|source| KeyError::Read {
            what: "kernel config",
            path: f.clone(),
            source,
        })?;
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(&bytes);
    }
    Ok(hex::encode(h.finalize()))
}

/// A hash of a directory's content: relative paths, executable bits, symlink targets and file
/// bytes, in path order; never timestamps or owners.
pub fn tree_hash(dir: &Path) -> Result<String, KeyError> {
    use std::os::unix::fs::PermissionsExt;
    let err = |path: &Path, source: std::io::Error| KeyError::Read {
        what: "recipe files",
        path: path.to_path_buf(),
        source,
    };
    let mut h = Sha256::new();
    let walk = walkdir::WalkDir::new(dir).sort_by_file_name().follow_links(false);
    for entry in walk {
        let entry = entry.map_err(|e| err(dir, e.into()))?;
        let rel = entry.path().strip_prefix(dir).unwrap_or(entry.path()).to_string_lossy().into_owned();
        let ft = entry.file_type();
        let line = if ft.is_dir() {
            format!("d {rel}\n")
        } else if ft.is_symlink() {
            let target = fs_err::read_link(entry.path()).map_err(|e| err(entry.path(), e))?;
            format!("l {rel} {}\n", target.display())
        } else {
            let bytes = fs_err::read(entry.path()).map_err(|e| err(entry.path(), e))?;
            let meta = entry.metadata().map_err(|e| err(entry.path(), e.into()))?;
            let exec = if meta.permissions().mode() & 0o111 != 0 { "x" } else { "-" };
            format!("f {rel} {exec} {}\n", sha256_hex(&bytes))
        };
        h.update(line.as_bytes());
    }
    Ok(hex::encode(h.finalize()))
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The inputs that differ between two keys' input lists: (name, old, new), `None` where absent.
pub fn diff(old: &Inputs, new: &Inputs) -> Vec<(String, Option<String>, Option<String>)> {
    let names: std::collections::BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    names
        .into_iter()
        .filter(|k| old.get(*k) != new.get(*k))
        .map(|k| (k.clone(), old.get(k).cloned(), new.get(k).cloned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(pairs: &[(&str, &str)]) -> Inputs {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn record(path: &Path) -> ToolchainRecord {
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
    }

    #[test]
    fn the_toolchain_record_is_reused_while_the_tools_are_the_same_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("toolchain.json");
        let asked = Environment::detect().unwrap().toolchain;
        assert!(asked.starts_with("gcc "), "{asked}");
        assert_eq!(Environment::detect_cached(&path).unwrap().toolchain, asked);
        let written = record(&path);
        assert_eq!(written.toolchain, asked);
        assert!(written.stamp.lines().count() == 3, "{}", written.stamp);
        // Proof it is read, not asked again: an edited identity under the same stamp comes back.
        let edited =
            ToolchainRecord { stamp: written.stamp.clone(), toolchain: "gcc from the record".into() };
        std::fs::write(&path, serde_json::to_vec(&edited).unwrap()).unwrap();
        assert_eq!(Environment::detect_cached(&path).unwrap().toolchain, "gcc from the record");
    }

    #[test]
    fn a_changed_tool_or_an_unreadable_record_means_asking_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("toolchain.json");
        let asked = Environment::detect().unwrap().toolchain;
        let stale =
            ToolchainRecord { stamp: "/usr/bin/gcc 1 2 3 4.0 5.0\n".into(), toolchain: "gcc 1.0".into() };
        std::fs::write(&path, serde_json::to_vec(&stale).unwrap()).unwrap();
        assert_eq!(Environment::detect_cached(&path).unwrap().toolchain, asked);
        assert_eq!(record(&path).toolchain, asked, "the record is refreshed");
        std::fs::write(&path, b"{not json").unwrap();
        assert_eq!(Environment::detect_cached(&path).unwrap().toolchain, asked);
        let missing_dir = dir.path().join("no/such/dir/toolchain.json");
        assert_eq!(Environment::detect_cached(&missing_dir).unwrap().toolchain, asked);
    }

    #[test]
    fn key_depends_on_every_input_and_not_on_insertion_order() {
        let a = inputs(&[("cflags", "-O2"), ("features", "ssl")]);
        let b = inputs(&[("features", "ssl"), ("cflags", "-O2")]);
        let c = inputs(&[("cflags", "-O3"), ("features", "ssl")]);
        assert_eq!(key_of(&a), key_of(&b));
        assert_ne!(key_of(&a), key_of(&c));
    }

    #[test]
    fn values_cannot_forge_line_boundaries() {
        let a = inputs(&[("a", "1\nb=2")]);
        let b = inputs(&[("a", "1"), ("b", "2")]);
        assert_ne!(key_of(&a), key_of(&b));
    }

    #[test]
    fn diff_names_changed_added_and_removed_inputs() {
        let old = inputs(&[("cflags", "-O2"), ("features", "ssl"), ("source:a", "x")]);
        let new = inputs(&[("cflags", "-O3"), ("features", "ssl"), ("env:CC", "gcc")]);
        assert_eq!(
            diff(&old, &new),
            vec![
                ("cflags".into(), Some("-O2".into()), Some("-O3".into())),
                ("env:CC".into(), None, Some("gcc".into())),
                ("source:a".into(), Some("x".into()), None),
            ]
        );
    }

    #[test]
    fn tree_hash_sees_content_and_exec_bits_but_not_times() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("a.patch"), "x").unwrap();
        let h1 = tree_hash(d.path()).unwrap();
        let f = std::fs::File::options().write(true).open(d.path().join("a.patch")).unwrap();
        f.set_modified(std::time::SystemTime::UNIX_EPOCH).unwrap();
        assert_eq!(tree_hash(d.path()).unwrap(), h1);
        std::fs::set_permissions(d.path().join("a.patch"), std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_ne!(tree_hash(d.path()).unwrap(), h1);
    }
}
