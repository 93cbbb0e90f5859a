//! Why a resolution failed, with the chain of packages that led there and, where there is one, the
//! profile change that would fix it.

use std::fmt;

/// How a package came to be asked for: `world -> sys-apps/a-1 -(run)-> cat/b`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Chain(pub Vec<String>);

impl fmt::Display for Chain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join(" -> "))
    }
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum ResolveError {
    #[error("no package `{atom}` in the recipe tree\n  required by: {chain}")]
    NotInTree { atom: String, chain: Chain },

    #[error("no version of {cpn} satisfies `{atom}`\n  required by: {chain}{}", reasons_text(.reasons))]
    NoCandidate { cpn: String, atom: String, chain: Chain, reasons: Vec<String> },

    #[error(
        "USE conflict: `{atom}` needs {cpv} with USE flag `{flag}` {}, but it is {} under this profile (IUSE default, then `use`)\n  required by: {chain}\n  fix: set `use = \"{}{flag}\"` under [package.\"{cpn}\"] in the profile",
        on_off(*.wanted), on_off(!*.wanted), if *.wanted { "" } else { "-" }
    )]
    UseConflict { atom: String, cpv: String, cpn: String, flag: String, wanted: bool, chain: Chain },

    #[error(
        "slot conflict: {cpn}:{slot} is wanted at two versions that no single version satisfies\n  {first_cpv} chosen for `{first_atom}`, required by: {first_chain}\n  but `{second_atom}` is required by: {second_chain}"
    )]
    SlotConflict {
        cpn: String,
        slot: String,
        first_cpv: String,
        first_atom: String,
        first_chain: Chain,
        second_atom: String,
        second_chain: Chain,
    },

    #[error(
        "blocker: {blocker_cpv} blocks {blocked_cpv} (`{atom}` at {at})\n  {blocker_cpv} required by: {blocker_chain}\n  {blocked_cpv} required by: {blocked_chain}"
    )]
    Blocked {
        atom: String,
        /// Where the blocker is written.
        at: String,
        blocker_cpv: String,
        blocked_cpv: String,
        blocker_chain: Chain,
        blocked_chain: Chain,
    },

    #[error("REQUIRED_USE of {cpv} is not met: {violation}\n  REQUIRED_USE at: {at}\n  enabled flags: {}\n  required by: {chain}", flags_text(.enabled))]
    RequiredUse { cpv: String, at: String, violation: String, enabled: Vec<String>, chain: Chain },

    #[error("none of the alternatives of `{group}` can be installed\n  required by: {chain}{}", reasons_text(.reasons))]
    AnyOf { group: String, chain: Chain, reasons: Vec<String> },

    #[error("dependency cycle among build dependencies: {}{}", .cycle.join(" -> "), reasons_text(.steps))]
    Cycle {
        cycle: Vec<String>,
        /// Each link of the cycle and where it is written.
        steps: Vec<String>,
    },

    #[error("resolution gave up after {attempts} attempts to settle slot conflicts on {cpn}")]
    TooManyAttempts { attempts: usize, cpn: String },
}

fn on_off(b: bool) -> &'static str {
    if b { "on" } else { "off" }
}

fn reasons_text(reasons: &[String]) -> String {
    reasons.iter().map(|r| format!("\n  {r}")).collect()
}

fn flags_text(flags: &[String]) -> String {
    if flags.is_empty() { "(none)".into() } else { flags.join(" ") }
}
