//! Image: turns a configured staging root into a bootable GPT disk image, without mounts, loop
//! devices or root: an ESP (FAT32) holding a unified kernel image and, for BIOS, syslinux; an ext4
//! root; optional extra partitions. Every identifier derives from `ImageInputs::seed` and every
//! timestamp is pinned to `SOURCE_DATE_EPOCH`, so the same inputs give the same bytes.

mod compare;
mod content;
mod debugfs;
mod digest;
mod disk;
mod error;
mod esp;
mod ext4;
mod gpt;
mod ids;
mod inodes;
mod layout;
mod output;
mod rootfs;
mod swap;
mod syslinux;
mod tools;
mod uki;

pub use compare::{Comparison, Region};
pub use error::ImageError;
pub use ids::Guid;
pub use tools::{HostTools, Tools};

use crate::leftovers;
use crate::profile::image::{Filesystem, ImageConf, ImageFormat, PartitionKind, Size};
use crate::report::{Event, Level, Outcome, Reporter};
use crate::stage::StagingRoot;
use content::Usage;
use esp::EspFile;
use ids::Ids;
use layout::{MIB, Placed, round_up, wants_bios, wants_uefi};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// How the work directories beside an output begin.
const WORK_PREFIX: &str = ".ingot-image-";

/// What the image depends on besides the staging root and the profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageInputs {
    /// Every timestamp in the image is this time, or earlier.
    pub source_date_epoch: u64,
    /// A hash of everything that went into the image; every UUID, serial and hash seed derives
    /// from it.
    pub seed: [u8; 32],
}

/// The image written, for `ingot build` output and `ingot verify`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ImageInfo {
    pub path: PathBuf,
    pub format: ImageFormat,
    /// Bytes of the output file (compressed, for raw.xz and qcow2).
    pub size: u64,
    /// sha256 of the output file, lowercase hex.
    pub sha256: String,
    pub partitions: Vec<PartitionInfo>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PartitionInfo {
    /// 1-based, as in `/dev/vda1`.
    pub number: usize,
    pub label: String,
    pub kind: PartitionKind,
    /// Byte offset and size on the (uncompressed) disk.
    pub offset: u64,
    pub size: u64,
    /// The GPT unique partition GUID (`root=PARTUUID=…`).
    pub part_uuid: Guid,
    /// The filesystem's UUID as blkid shows it (`XXXX-XXXX` for FAT), if it has a filesystem.
    pub fs_uuid: Option<String>,
}

/// Writes the image of `root` described by `conf` to `out`.
pub fn build(
    root: &StagingRoot,
    conf: &ImageConf,
    inputs: &ImageInputs,
    out: &Path,
    reporter: &dyn Reporter,
) -> Result<ImageInfo, ImageError> {
    build_with(&HostTools, root, conf, inputs, out, reporter)
}

/// Compares two images (raw, raw.xz or qcow2) by the disk they hold.
pub fn compare(a: &Path, b: &Path) -> Result<Comparison, ImageError> {
    compare::compare(&HostTools, a, b)
}

/// `build`, with host programs and files found through `tools`.
pub fn build_with(
    tools: &dyn Tools,
    root: &StagingRoot,
    conf: &ImageConf,
    inputs: &ImageInputs,
    out: &Path,
    reporter: &dyn Reporter,
) -> Result<ImageInfo, ImageError> {
    layout::validate(conf)?;
    let steps = conf.partitions.len() as u64 + 1;
    reporter.event(Event::StageStarted { stage: "image".into(), total: Some(steps) });
    let ids = Ids::new(inputs.seed);
    remove_leftovers(out, reporter);
    let (work, _held) = leftovers::create_held(
        || crate::fs::temp_dir_in(parent_dir(out), WORK_PREFIX),
        tempfile::TempDir::path,
    )?;
    let b = Builder { tools, root, conf, inputs, ids, work: work.path(), reporter };
    let plan = b.plan()?;
    let layout = layout::place(conf, &plan.sizes, &b.ids);
    let job = disk::DiskJob { layout: &layout, disk_guid: b.ids.disk(), bios: wants_bios(conf.boot) };
    let build = |part: &Placed| b.partition(part, &plan);
    let started = b.task("disk", "write disk image");
    let written = output::write(tools, conf.format, work.path(), out, reporter, |disk, hash| {
        disk::assemble(tools, &job, work.path(), disk, hash, &build)
    })?;
    b.finished("disk", started);
    reporter.event(Event::StageFinished { stage: "image".into() });
    Ok(ImageInfo {
        path: out.to_path_buf(),
        format: conf.format,
        size: written.size,
        sha256: written.sha256,
        partitions: layout.partitions.iter().map(|p| b.info(p)).collect(),
    })
}

/// The identifiers each partition of `conf` will have in an image built with `seed`, known before
/// the image is written (the configure stage writes them into `/etc/fstab`): label, kind,
/// filesystem, partition GUID and filesystem UUID.
pub fn identities(
    conf: &ImageConf,
    seed: [u8; 32],
) -> Vec<(String, PartitionKind, Filesystem, Guid, Option<String>)> {
    let ids = Ids::new(seed);
    conf.partitions
        .iter()
        .map(|p| (p.label.clone(), p.kind, p.fs, ids.partition(&p.label), fs_uuid(&ids, &p.label, p.fs)))
        .collect()
}

fn fs_uuid(ids: &Ids, label: &str, fs: Filesystem) -> Option<String> {
    match fs {
        Filesystem::Vfat => Some(ids::fat_uuid(ids.fat_serial(label))),
        Filesystem::Ext4 | Filesystem::Swap => Some(ids.filesystem(label).to_string()),
        Filesystem::None => None,
    }
}

/// The kernel command line: the profile's, plus the root partition unless it names one itself.
pub fn kernel_cmdline(profile: &str, root_partition: Guid) -> String {
    let base = profile.split_whitespace().collect::<Vec<_>>().join(" ");
    if base.split(' ').any(|w| w.starts_with("root=")) {
        return base;
    }
    let root = format!("root=PARTUUID={root_partition} rootwait");
    if base.is_empty() { root } else { format!("{base} {root}") }
}

/// Sizes and ESP content, worked out before anything is written.
struct Plan {
    sizes: Vec<u64>,
    esp_files: Vec<EspFile>,
    root_usage: Usage,
}

struct Builder<'a> {
    tools: &'a dyn Tools,
    root: &'a StagingRoot,
    conf: &'a ImageConf,
    inputs: &'a ImageInputs,
    ids: Ids,
    work: &'a Path,
    reporter: &'a dyn Reporter,
}

impl Builder<'_> {
    fn plan(&self) -> Result<Plan, ImageError> {
        let mut root_usage = content::measure(&self.root.dir)?;
        root_usage.inodes += self.root.entries.values().filter(|e| e.node.is_some()).count() as u64;
        let esp_files = self.esp_files()?;
        let esp_content = esp::content_bytes(&esp_files, wants_bios(self.conf.boot))?;
        let sizes = self
            .conf
            .partitions
            .iter()
            .map(|p| {
                let (min, auto) = match p.kind {
                    PartitionKind::Esp => (esp::min_size(esp_content), Some(esp::auto_size(esp_content))),
                    PartitionKind::Root => (ext4::min_size(root_usage), Some(ext4::auto_size(root_usage))),
                    PartitionKind::Linux | PartitionKind::Swap => (MIB, None),
                };
                match (p.size, auto) {
                    (Size::Auto, Some(auto)) => Ok(auto),
                    (Size::Auto, None) => Err(ImageError::AutoWithoutContent { label: p.label.clone() }),
                    (Size::Bytes(b), _) if round_up(b, MIB) < min => Err(ImageError::TooSmall {
                        label: p.label.clone(),
                        size: round_up(b, MIB),
                        needed: min,
                    }),
                    (Size::Bytes(b), _) => Ok(round_up(b, MIB)),
                }
            })
            .collect::<Result<_, _>>()?;
        Ok(Plan { sizes, esp_files, root_usage })
    }

    /// The UKI (UEFI) and syslinux's config, kernel and initramfs (BIOS), as files for the ESP.
    fn esp_files(&self) -> Result<Vec<EspFile>, ImageError> {
        let dir = &self.root.dir;
        let kernel = rootfs::resolve_file(dir, &self.conf.kernel, "kernel")?;
        let initrd =
            self.conf.initramfs.as_deref().map(|p| rootfs::resolve_file(dir, p, "initramfs")).transpose()?;
        let root_label =
            self.conf.partitions.iter().find(|p| p.kind == PartitionKind::Root).map(|p| &p.label);
        let cmdline = kernel_cmdline(&self.conf.cmdline, self.ids.partition(root_label.map_or("", |l| l)));
        let mut files = Vec::new();
        if wants_uefi(self.conf.boot) {
            let osrel = match rootfs::resolve_optional(dir, "etc/os-release", "os-release")? {
                Some(p) => Some(p),
                None => rootfs::resolve_optional(dir, "usr/lib/os-release", "os-release")?,
            };
            let parts = uki::UkiParts {
                kernel: &kernel,
                initrd: initrd.as_deref(),
                osrel: osrel.as_deref(),
                cmdline: &cmdline,
            };
            let out = self.work.join("BOOTX64.EFI");
            uki::build(self.tools, &parts, &out)?;
            files.push(EspFile { src: out, dest: "EFI/BOOT/BOOTX64.EFI".into() });
        }
        if wants_bios(self.conf.boot) {
            let cfg = self.work.join("syslinux.cfg");
            fs_err::write(&cfg, syslinux::config(&cmdline, initrd.is_some()))?;
            files.push(EspFile { src: cfg, dest: syslinux::CONFIG.into() });
            files.push(EspFile { src: kernel, dest: syslinux::KERNEL.into() });
            if let Some(initrd) = initrd {
                files.push(EspFile { src: initrd, dest: syslinux::INITRD.into() });
            }
        }
        Ok(files)
    }

    /// The filesystem image of `part` (`None`: left zeroed). Called for every partition at once,
    /// each on a thread of its own.
    fn partition(&self, part: &Placed, plan: &Plan) -> Result<Option<PathBuf>, ImageError> {
        let sde = self.inputs.source_date_epoch;
        let image = self.work.join(format!("part{}.img", part.number));
        let started = self.task(&part.label, &format!("{} filesystem", part.label));
        // Each ext4 filesystem gets a work directory of its own for its config and script files:
        // partitions are built at the same time.
        let ext4 = |root: Option<&StagingRoot>| -> Result<bool, ImageError> {
            let job = ext4::Ext4Job {
                part,
                root,
                usage: if root.is_some() { plan.root_usage } else { Usage::default() },
                ids: &self.ids,
                source_date_epoch: sde,
            };
            let work = self.work.join(format!("part{}", part.number));
            fs_err::create_dir(&work)?;
            ext4::build(self.tools, &job, &work, &image).map(|()| true)
        };
        let made = match (part.kind, part.fs) {
            (PartitionKind::Esp, _) => {
                let job = esp::EspJob {
                    part,
                    files: &plan.esp_files,
                    serial: self.ids.fat_serial(&part.label),
                    syslinux: wants_bios(self.conf.boot),
                    source_date_epoch: sde,
                };
                esp::build(self.tools, &job, &image).map(|()| true)
            }
            (PartitionKind::Root, _) => ext4(Some(self.root)),
            (PartitionKind::Swap, _) => swap::build(self.tools, part, &self.ids, sde, &image).map(|()| true),
            (PartitionKind::Linux, Filesystem::Ext4) => ext4(None),
            (PartitionKind::Linux, _) => Ok(false),
        }?;
        self.finished(&part.label, started);
        Ok(made.then_some(image))
    }

    fn info(&self, p: &Placed) -> PartitionInfo {
        let fs_uuid = fs_uuid(&self.ids, &p.label, p.fs);
        PartitionInfo {
            number: p.number,
            label: p.label.clone(),
            kind: p.kind,
            offset: p.offset,
            size: p.size,
            part_uuid: p.uuid,
            fs_uuid,
        }
    }

    fn task(&self, id: &str, what: &str) -> Instant {
        self.reporter.event(Event::TaskStarted { id: format!("image:{id}"), what: what.into() });
        Instant::now()
    }

    fn finished(&self, id: &str, started: Instant) {
        let elapsed = started.elapsed();
        self.reporter.event(Event::TaskFinished {
            id: format!("image:{id}"),
            outcome: Outcome::Built,
            elapsed,
        });
    }
}

/// Removes what killed builds left beside `out`. A failure costs disk space, not this image, so it
/// is a warning.
fn remove_leftovers(out: &Path, reporter: &dyn Reporter) {
    let name = out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let temporary = format!(".{name}.");
    let ours = |n: &str| n.starts_with(WORK_PREFIX) || (n.starts_with(&temporary) && n.ends_with(".tmp"));
    let (level, text) = match leftovers::sweep(parent_dir(out), ours) {
        Ok(removed) if removed.is_empty() => return,
        Ok(removed) => (
            Level::Info,
            format!(
                "removed {} temporaries of an interrupted image build beside {}",
                removed.len(),
                out.display()
            ),
        ),
        Err(e) => {
            (Level::Warning, format!("cannot remove the temporaries of an interrupted image build: {e}"))
        }
    };
    reporter.event(Event::Message { level, text });
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_partition_is_appended_to_the_command_line() {
        let g = Guid::from_bytes([0xab; 16]);
        assert_eq!(
            kernel_cmdline("console=ttyS0  quiet", g),
            "console=ttyS0 quiet root=PARTUUID=abababab-abab-abab-abab-abababababab rootwait"
        );
        assert_eq!(kernel_cmdline("", g), "root=PARTUUID=abababab-abab-abab-abab-abababababab rootwait");
    }

    #[test]
    fn a_profile_root_is_kept() {
        let g = Guid::from_bytes([0; 16]);
        assert_eq!(kernel_cmdline("console=ttyS0 root=/dev/vda2", g), "console=ttyS0 root=/dev/vda2");
    }
}
