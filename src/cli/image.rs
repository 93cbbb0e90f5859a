//! `ingot verify` (build the image twice, compare) and `ingot boot` (QEMU).

use super::build::{build_packages, image_request, jobs, prepare};
use super::{CmdResult, Failure, Global};
use crate::boot::{BootEnd, BootOptions};
use crate::image::Comparison;
use crate::ui::progress::{Mode, Progress, human_duration};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// Profile name (under --profiles) or path
    pub profile: String,
    /// Parallel jobs for any package that still needs building
    #[arg(short, long, value_name = "N")]
    pub jobs: Option<usize>,
}

#[derive(Debug, clap::Args)]
pub struct BootArgs {
    /// The disk image (raw or qcow2)
    pub image: PathBuf,
    /// Exit 0 as soon as this text appears on the console (without it: interactive)
    #[arg(long, value_name = "TEXT")]
    pub expect: Option<String>,
    /// Give up waiting for --expect after this many seconds
    #[arg(long, value_name = "SECS", default_value = "120")]
    pub timeout: u64,
    /// Boot through legacy BIOS (SeaBIOS) instead of UEFI (OVMF)
    #[arg(long)]
    pub bios: bool,
    /// Forward a TCP port of 127.0.0.1 to the guest: HOST:GUEST (repeatable)
    #[arg(long, value_name = "HOST:GUEST", value_parser = parse_forward)]
    pub forward: Vec<(u16, u16)>,
    /// Guest memory in MiB
    #[arg(long, value_name = "MIB", default_value = "512")]
    pub memory: u32,
    /// Where the console is logged (default: IMAGE.console.log)
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,
}

pub fn verify(g: &Global, a: &VerifyArgs) -> CmdResult {
    let p = prepare(g, &a.profile, &[])?;
    let progress = Progress::new(Mode::pick(false, g.quiet));
    let summary = build_packages(&p, jobs(a.jobs), false, &progress);
    if !summary.ok() {
        progress.finish();
        return Err(Failure::Error("some packages failed to build; run `ingot build` to see why".into()));
    }
    let dir = crate::fs::temp_dir_in(&p.store.tmp_dir(), "verify-").map_err(Failure::from)?;
    let ext = p.profile.image.format.extension();
    let (a_path, b_path) =
        (dir.path().join(format!("first.{ext}")), dir.path().join(format!("second.{ext}")));
    let req = image_request(&p, &summary);
    let first = req.make_image(&a_path, &progress);
    let second = first.as_ref().ok().map(|_| req.make_image(&b_path, &progress));
    progress.finish();
    let first = first?;
    let second = second.transpose()?.ok_or_else(|| Failure::Error("second image not built".into()))?;
    match crate::image::compare(&a_path, &b_path)? {
        Comparison::Identical => {
            println!("identical: two builds of {} give sha256 {}", p.profile.name, first.sha256);
            Ok(())
        }
        other => {
            println!("NOT reproducible: {} vs {}: {other}", first.sha256, second.sha256);
            Err(Failure::Reported)
        }
    }
}

pub fn boot(_g: &Global, a: &BootArgs) -> CmdResult {
    let log = a.log.clone().unwrap_or_else(|| {
        let mut name = a.image.clone().into_os_string();
        name.push(".console.log");
        PathBuf::from(name)
    });
    let opts = BootOptions {
        expect: a.expect.clone(),
        timeout: Duration::from_secs(a.timeout),
        bios: a.bios,
        log: log.clone(),
        forwards: a.forward.clone(),
        memory_mib: a.memory,
        echo: true,
    };
    let outcome = crate::boot::boot(&a.image, &opts)?;
    match outcome.end {
        BootEnd::Marker => {
            println!(
                "\nsaw {:?} after {} ({:?}); console log: {}",
                a.expect.as_deref().unwrap_or(""),
                human_duration(outcome.elapsed),
                outcome.accel,
                log.display()
            );
            Ok(())
        }
        BootEnd::Exited(status) if status.success() => Ok(()),
        BootEnd::Exited(status) => {
            Err(Failure::Error(format!("QEMU exited with {status}; console log: {}", log.display()).into()))
        }
    }
}

fn parse_forward(s: &str) -> Result<(u16, u16), String> {
    let (h, g) = s.split_once(':').ok_or_else(|| format!("`{s}`: expected HOST:GUEST, like 2222:22"))?;
    let port = |p: &str| p.parse::<u16>().map_err(|_| format!("`{p}` is not a port number"));
    Ok((port(h)?, port(g)?))
}
