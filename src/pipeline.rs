//! After the builds: stage the image's packages from the store, configure the tree from the
//! profile, and write the disk image. `ingot build` and `ingot verify` call this; so can any
//! program using the library.

use crate::configure::{ConfigureInputs, FstabEntry, OsRelease};
use crate::image::{ImageInfo, ImageInputs};
use crate::key::KeyedPlan;
use crate::profile::Profile;
use crate::profile::image::{Filesystem, PartitionKind};
use crate::profile::system::FileContent;
use crate::report::Reporter;
use crate::resolve::Plan;
use crate::store::{Binpkg, Store};
use petgraph::graph::NodeIndex;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::Path;

/// What an image is made from, once every package is in the store.
pub struct ImageRequest<'a> {
    pub plan: &'a Plan,
    pub keyed: &'a KeyedPlan,
    pub profile: &'a Profile,
    /// The stored package of every node of the plan.
    pub packages: &'a HashMap<NodeIndex, Binpkg>,
    pub store: &'a Store,
    pub source_date_epoch: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("{0} is in the image but not in the store (was it built?)")]
    Missing(String),
    #[error(transparent)]
    Stage(#[from] crate::stage::StageError),
    #[error("{}", .0.diagnostic())]
    Configure(#[from] crate::configure::ConfigureError),
    #[error(transparent)]
    Image(#[from] crate::image::ImageError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("{what}: {source}")]
    Io { what: String, source: std::io::Error },
}

impl ImageRequest<'_> {
    /// The packages the image holds: world's run-time closure, in build order.
    pub fn image_packages(&self) -> Result<Vec<(NodeIndex, Binpkg)>, PipelineError> {
        self.plan
            .image_closure(&self.plan.roots)
            .into_iter()
            .map(|n| match self.packages.get(&n) {
                Some(p) => Ok((n, p.clone())),
                None => Err(PipelineError::Missing(self.plan.get(n).cpv())),
            })
            .collect()
    }

    /// A hash of everything the image is made of: the staged packages' keys and the profile's
    /// files. Every UUID, serial and salt in the image derives from it.
    pub fn seed(&self, packages: &[(NodeIndex, Binpkg)]) -> Result<[u8; 32], PipelineError> {
        let mut h = Sha256::new();
        h.update(b"ingot-image-1\n");
        h.update(format!("profile {}\nsde {}\n", self.profile.name, self.source_date_epoch).as_bytes());
        for (_, p) in packages {
            h.update(format!("package {} {}\n", p.manifest.package(), p.key).as_bytes());
        }
        let read = |path: &Path| {
            fs_err::read(path)
                .map_err(|source| PipelineError::Io { what: format!("hashing {}", path.display()), source })
        };
        for file in &self.profile.chain {
            let bytes = read(file)?;
            h.update(format!("profile-file {}\n", bytes.len()).as_bytes());
            h.update(&bytes);
        }
        for spec in &self.profile.system.files {
            if let FileContent::Source(path) = &spec.content {
                let bytes = read(path)?;
                h.update(format!("file {} {}\n", spec.path, bytes.len()).as_bytes());
                h.update(&bytes);
            }
        }
        Ok(h.finalize().into())
    }

    /// Stages, configures and writes the image to `out` (through a temporary name).
    pub fn make_image(&self, out: &Path, reporter: &dyn Reporter) -> Result<ImageInfo, PipelineError> {
        let packages = self.image_packages()?;
        let seed = self.seed(&packages)?;
        let staging = self.store.temp_entry("stage-")?;
        let binpkgs: Vec<Binpkg> = packages.iter().map(|(_, p)| for_image(p)).collect();
        let mut root = crate::stage::merge(&binpkgs, &staging.path().join("root"), reporter)?;
        let fstab = fstab(self.profile, seed);
        let os_release = OsRelease {
            name: "ingot".into(),
            id: "ingot".into(),
            version_id: env!("CARGO_PKG_VERSION").into(),
            pretty_name: format!("ingot ({})", self.profile.name),
            image_id: self.profile.name.clone(),
            build_id: hex::encode(&seed[..6]),
        };
        let inputs = ConfigureInputs {
            system: &self.profile.system,
            fstab: &fstab,
            os_release: &os_release,
            source_date_epoch: self.source_date_epoch,
            seed,
            profile_name: &self.profile.name,
        };
        crate::configure::configure(&mut root, &inputs)?;
        if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs_err::create_dir_all(dir).map_err(|source| PipelineError::Io {
                what: "creating the output directory".into(),
                source,
            })?;
        }
        let image_inputs = ImageInputs { source_date_epoch: self.source_date_epoch, seed };
        Ok(crate::image::build(&root, &self.profile.image, &image_inputs, out, reporter)?)
    }
}

/// The package as the image records it (its manifest goes into the package database): without
/// the time its build took, which differs from one build of the same key to the next and would
/// make the image depend on whether a package was rebuilt (after a crash, a `gc`, on another
/// machine).
fn for_image(pkg: &Binpkg) -> Binpkg {
    let mut pkg = pkg.clone();
    pkg.manifest.build_seconds = 0.0;
    pkg
}

/// `/etc/fstab`: the root filesystem and any swap, by filesystem UUID (what busybox `mount` and
/// `swapon` resolve).
fn fstab(profile: &Profile, seed: [u8; 32]) -> Vec<FstabEntry> {
    let mut out = Vec::new();
    for (_, kind, fs, _, uuid) in crate::image::identities(&profile.image, seed) {
        let Some(uuid) = uuid else { continue };
        let (mountpoint, fstype, options, pass) = match (kind, fs) {
            (PartitionKind::Root, Filesystem::Ext4) => ("/", "ext4", "rw,relatime", 1),
            (_, Filesystem::Swap) => ("none", "swap", "sw", 0),
            _ => continue,
        };
        out.push(FstabEntry {
            spec: format!("UUID={uuid}"),
            mountpoint: mountpoint.into(),
            fstype: fstype.into(),
            options: options.into(),
            dump: 0,
            pass,
        });
    }
    out
}
