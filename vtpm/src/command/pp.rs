//! Physical presence (Part 1, 19.8; Part 3, 26.2): commands that, authorized by the platform
//! hierarchy, also need a person to assert presence at the platform.
//!
//! `TPM2_PP_Commands` always needs it; the platform adds or removes the other commands the
//! reference marks `PP_COMMAND` (`CommandAttributeData.h`) with `TPM2_PP_Commands` itself. The
//! signal comes from the platform ([`crate::Tpm::set_physical_presence`]): a simulator's
//! platform port can assert it, a confidential VM never does, so there `TPM2_PP_Commands` and
//! every command on the list fail with `TPM_RC_PP` when authorized by the platform.

use super::{Command, Response};
use crate::engine::{Platform, Tpm};
use tpm_proto::{Cc, Rc, TpmlCc};

/// The commands that may be put on the list (`PP_COMMAND` in the reference), in command-code
/// order; bit `i` of [`PpList`] stands for `PP_CAPABLE[i]`.
static PP_CAPABLE: [Cc; 20] = [
    Cc::NvUndefineSpaceSpecial,
    Cc::EvictControl,
    Cc::HierarchyControl,
    Cc::NvUndefineSpace,
    Cc::ChangeEps,
    Cc::ChangePps,
    Cc::Clear,
    Cc::ClearControl,
    Cc::ClockSet,
    Cc::HierarchyChangeAuth,
    Cc::NvDefineSpace,
    Cc::PcrAllocate,
    Cc::PcrSetAuthPolicy,
    // On the list from manufacture, and never removed from it.
    Cc::PpCommands,
    Cc::SetPrimaryPolicy,
    Cc::FieldUpgradeStart,
    Cc::ClockRateAdjust,
    Cc::CreatePrimary,
    Cc::NvGlobalWriteLock,
    Cc::SetCommandCodeAuditStatus,
];

/// Which commands need physical presence: a bit per [`PP_CAPABLE`] entry. Only
/// `TPM2_PP_Commands` at manufacture, as in the reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PpList(u32);

impl Default for PpList {
    fn default() -> Self {
        PpList(Self::index(Cc::PpCommands).map_or(0, |i| 1 << i))
    }
}

impl PpList {
    fn index(cc: Cc) -> Option<usize> {
        PP_CAPABLE.iter().position(|&c| c == cc)
    }

    /// Whether `cc`, authorized by the platform, needs physical presence.
    pub(crate) fn requires(&self, cc: Cc) -> bool {
        Self::index(cc).is_some_and(|i| self.0 & (1 << i) != 0)
    }

    /// The commands on the list from command code `first` on, in order.
    pub(crate) fn from(self, first: u32) -> impl Iterator<Item = &'static Cc> {
        PP_CAPABLE
            .iter()
            .filter(move |c| c.0 >= first && self.requires(**c))
    }
}

/// `TPM2_PP_Commands(auth{PP}, setList, clearList)` (Part 3, 26.2): adds the commands of
/// `setList` and then removes those of `clearList`; a command that cannot be on the list (not
/// `PP_COMMAND`, or `TPM2_PP_Commands` itself for removal) is ignored, as in the reference.
/// Physical presence was checked with the authorization.
pub(crate) fn pp_commands<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    _rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    let set: TpmlCc = cmd.param()?;
    let clear: TpmlCc = cmd.param()?;
    cmd.end()?;
    let mut list = tpm.pp_list;
    for &cc in set.iter() {
        if let Some(i) = PpList::index(cc) {
            list.0 |= 1 << i;
        }
    }
    for &cc in clear.iter() {
        if let Some(i) = PpList::index(cc).filter(|_| cc != Cc::PpCommands) {
            list.0 &= !(1 << i);
        }
    }
    tpm.pp_list = list;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_pp_commands_needs_presence_at_manufacture() {
        let l = PpList::default();
        assert!(l.requires(Cc::PpCommands));
        assert!(!l.requires(Cc::Clear));
        assert!(!l.requires(Cc::PcrExtend));
        assert_eq!(l.from(0).collect::<alloc::vec::Vec<_>>(), [&Cc::PpCommands]);
        assert_eq!(l.from(0x12E).count(), 0);
    }

    #[test]
    fn capable_commands_are_sorted_and_distinct() {
        assert!(PP_CAPABLE.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(PP_CAPABLE.len() < 32);
    }
}
