//! Merging: the plan first (every collision found before anything is written), then each
//! package's archive read once and written once into the staging root, then its database entry.

use std::io;
use std::path::Path;
use std::time::Instant;

use super::error::StageError;
use super::plan::{self, PackagePlan};
use super::{StagingRoot, db};
use crate::archive;
use crate::report::{Event, Outcome, Reporter};
use crate::store::Binpkg;

/// Merges `packages`, already in dependency order, into `dest` (new, or an empty directory), and
/// returns the staging root with the owners, special modes and device nodes the image must record.
/// See `plan` for the collision and symlink rules. On error `dest` holds a partial tree that is
/// not a staging root: the caller removes it.
pub fn merge(packages: &[Binpkg], dest: &Path, reporter: &dyn Reporter) -> Result<StagingRoot, StageError> {
    reporter.event(Event::StageStarted { stage: "stage".into(), total: Some(packages.len() as u64) });
    check_dest(dest)?;
    let plan = plan::plan(packages)?;
    let mut tree = archive::Tree::create(dest)?;
    for (pkg, pkg_plan) in packages.iter().zip(&plan.packages) {
        merge_one(pkg, pkg_plan, &mut tree, dest, reporter)?;
    }
    tree.finish()?;
    reporter.event(Event::StageFinished { stage: "stage".into() });
    Ok(StagingRoot { dir: dest.to_path_buf(), entries: plan.entries })
}

fn merge_one(
    pkg: &Binpkg,
    plan: &PackagePlan<'_>,
    tree: &mut archive::Tree,
    dest: &Path,
    reporter: &dyn Reporter,
) -> Result<(), StageError> {
    let name = pkg.manifest.package();
    let id = format!("stage:{name}");
    reporter.event(Event::TaskStarted { id: id.clone(), what: format!("merge {name}") });
    let started = Instant::now();
    let result = pkg
        .extract_into(tree, &mut |record| plan.place(record))
        .map_err(|e| StageError::Unpack(Box::new(e)))
        .and_then(|()| db::write(dest, pkg, plan));
    let outcome = if result.is_ok() { Outcome::Merged } else { Outcome::Failed };
    reporter.event(Event::TaskFinished { id, outcome, elapsed: started.elapsed() });
    result
}

/// `dest` must not exist, or be an empty directory.
fn check_dest(dest: &Path) -> Result<(), StageError> {
    let not_empty = || StageError::DestNotEmpty { dest: dest.to_path_buf() };
    match fs_err::symlink_metadata(dest) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e.into()),
        Ok(m) if !m.is_dir() => Err(not_empty()),
        Ok(_) => match fs_err::read_dir(dest)?.next() {
            Some(_) => Err(not_empty()),
            None => Ok(()),
        },
    }
}
