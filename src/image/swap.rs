//! Swap partitions: `mkswap` with the UUID from the image seed and a fixed page size, so the
//! header does not depend on the build host.

use super::error::ImageError;
use super::ids::Ids;
use super::layout::Placed;
use super::tools::{Tools, pin_environment};
use crate::host;
use std::path::Path;

pub fn build(tools: &dyn Tools, part: &Placed, ids: &Ids, sde: u64, out: &Path) -> Result<(), ImageError> {
    fs_err::File::create(out)?.set_len(part.size)?;
    let mut cmd = tools.command(host::MKSWAP)?;
    pin_environment(&mut cmd, sde);
    cmd.args(["--pagesize", "4096", "-U"]).arg(ids.filesystem(&part.label).to_string());
    cmd.arg("-L").arg(&part.label).arg(out);
    host::run(&mut cmd)?;
    Ok(())
}
