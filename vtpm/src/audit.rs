//! Command audit (Part 1, section 30.2; reference `CommandAudit.c`): the TPM keeps one digest
//! over every execution of the commands on its audit list,
//! `auditDigest_new = H_auditAlg(auditDigest_old || cpHash || rpHash)`, and a counter that counts
//! the digests started. `TPM2_GetCommandAuditDigest` reports (and, when signed, restarts) it;
//! `TPM2_SetCommandCodeAuditStatus` edits the list or changes the algorithm.
//!
//! Session audit, the per-session digest, lives with the sessions ([`crate::session::Session`]).

use crate::crypto::{Digest, Hasher};
use tpm_proto::{Cc, HashAlg};

/// The first command code (`TPM_CC_FIRST`); the list is a bitmap from it.
const CC_FIRST: u32 = 0x11F;
/// Bitmap words: command codes up to `CC_FIRST + 64·WORDS − 1` (0x1DE), past `TPM_CC_LAST`.
const WORDS: usize = 3;

/// The command audit digest (`gr.commandAuditDigest`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Empty: the next audited command starts a new digest and counts it.
    Empty,
    /// The algorithm was just changed by the running `TPM2_SetCommandCodeAuditStatus`: it is
    /// not recorded, and the digest is empty afterwards (the reference's size-1 marker).
    AlgChanged,
    Running(Digest),
}

/// Command audit state: the list and algorithm persist (reference `gp`), the digest lasts until
/// the next TPM Reset or signed `TPM2_GetCommandAuditDigest`.
#[derive(Debug, Clone)]
pub(crate) struct CommandAudit {
    alg: HashAlg,
    state: State,
    /// `gp.auditCounter`: digests started since manufacture or `TPM2_Clear`.
    pub counter: u64,
    list: [u64; WORDS],
}

impl Default for CommandAudit {
    /// SHA-256, and only `TPM2_SetCommandCodeAuditStatus` audited (as in the reference and
    /// libtpms).
    fn default() -> Self {
        let mut a = CommandAudit {
            alg: HashAlg::Sha256,
            state: State::Empty,
            counter: 0,
            list: [0; WORDS],
        };
        a.set(Cc::SetCommandCodeAuditStatus);
        a
    }
}

fn bit(cc: Cc) -> Option<(usize, u64)> {
    let i = cc.0.checked_sub(CC_FIRST)? as usize;
    (i < 64 * WORDS).then(|| (i / 64, 1u64 << (i % 64)))
}

impl CommandAudit {
    pub fn alg(&self) -> HashAlg {
        self.alg
    }

    /// Whether executions of `cc` are audited.
    pub fn audits(&self, cc: Cc) -> bool {
        bit(cc).is_some_and(|(w, m)| self.list.get(w).is_some_and(|x| x & m != 0))
    }

    /// Puts `cc` on the list (the caller checks that it is implemented).
    pub fn set(&mut self, cc: Cc) {
        if let Some((w, m)) = bit(cc) {
            if let Some(x) = self.list.get_mut(w) {
                *x |= m;
            }
        }
    }

    /// Takes `cc` off the list; `TPM2_SetCommandCodeAuditStatus` always stays.
    pub fn clear(&mut self, cc: Cc) {
        if cc == Cc::SetCommandCodeAuditStatus {
            return;
        }
        if let Some((w, m)) = bit(cc) {
            if let Some(x) = self.list.get_mut(w) {
                *x &= !m;
            }
        }
    }

    /// The audited commands from `first` on, in command-code order.
    pub fn commands(&self, first: u32) -> impl Iterator<Item = Cc> + '_ {
        (0..64 * WORDS as u32)
            .map(|i| Cc(CC_FIRST + i))
            .filter(move |&cc| cc.0 >= first && self.audits(cc))
    }

    /// `commandDigest` of `TPMS_COMMAND_AUDIT_INFO`: the audit algorithm over the list, each
    /// command code as a big-endian `UINT32` (reference `CommandAuditGetDigest`).
    pub fn command_digest(&self) -> Digest {
        let mut h = Hasher::new(self.alg);
        for cc in self.commands(0) {
            h.update(&cc.0.to_be_bytes());
        }
        h.finish()
    }

    /// The current digest; empty when none is running.
    pub fn digest(&self) -> &[u8] {
        match &self.state {
            State::Running(d) => d.as_bytes(),
            State::Empty | State::AlgChanged => &[],
        }
    }

    /// Empties the digest (TPM Reset, signed `TPM2_GetCommandAuditDigest`).
    pub fn restart(&mut self) {
        self.state = State::Empty;
    }

    /// A new algorithm: the digest ends, and the running command is not recorded.
    pub fn change_alg(&mut self, alg: HashAlg) {
        self.alg = alg;
        self.state = State::AlgChanged;
    }

    /// Records one audited execution with its cpHash and rpHash in [`Self::alg`] (reference
    /// `CommandAudit`): the first after the digest was emptied starts it at zero and counts.
    pub fn record(&mut self, cp_hash: &Digest, rp_hash: &Digest) {
        let old = match self.state {
            State::AlgChanged => {
                self.state = State::Empty;
                return;
            }
            State::Empty => {
                self.counter = self.counter.wrapping_add(1);
                Digest::zero(self.alg)
            }
            State::Running(d) => d,
        };
        self.state = State::Running(Hasher::digest(
            self.alg,
            &[old.as_bytes(), cp_hash.as_bytes(), rp_hash.as_bytes()],
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    #[test]
    fn the_list_starts_with_set_command_code_audit_status_which_stays() {
        let mut a = CommandAudit::default();
        assert_eq!(
            a.commands(0).collect::<Vec<_>>(),
            [Cc::SetCommandCodeAuditStatus]
        );
        a.clear(Cc::SetCommandCodeAuditStatus);
        a.set(Cc::NvUndefineSpaceSpecial);
        a.set(Cc::GetRandom);
        a.set(Cc(0x2000_0001)); // vendor: no bit, ignored
        assert_eq!(
            a.commands(0).collect::<Vec<_>>(),
            [
                Cc::NvUndefineSpaceSpecial,
                Cc::SetCommandCodeAuditStatus,
                Cc::GetRandom
            ]
        );
        assert_eq!(a.commands(0x141).collect::<Vec<_>>(), [Cc::GetRandom]);
        a.clear(Cc::GetRandom);
        assert!(!a.audits(Cc::GetRandom));
        let expect = Hasher::digest(
            HashAlg::Sha256,
            &[&0x11Fu32.to_be_bytes(), &0x140u32.to_be_bytes()],
        );
        assert_eq!(a.command_digest(), expect);
    }

    #[test]
    fn the_digest_chains_and_counts_the_digests_started() {
        let mut a = CommandAudit::default();
        let (cp, rp) = (Digest::from_slice(&[1; 32]), Digest::from_slice(&[2; 32]));
        assert!(a.digest().is_empty());
        a.record(&cp, &rp);
        let first = Hasher::digest(HashAlg::Sha256, &[&[0; 32], &[1; 32], &[2; 32]]);
        assert_eq!(a.digest(), first.as_bytes());
        a.record(&cp, &rp);
        let second = Hasher::digest(HashAlg::Sha256, &[first.as_bytes(), &[1; 32], &[2; 32]]);
        assert_eq!(a.digest(), second.as_bytes());
        assert_eq!(a.counter, 1);
        a.change_alg(HashAlg::Sha384);
        a.record(&cp, &rp); // the command that changed it: not recorded
        assert!(a.digest().is_empty());
        assert_eq!(a.counter, 1);
        a.record(
            &Digest::zero(HashAlg::Sha384),
            &Digest::zero(HashAlg::Sha384),
        );
        assert_eq!(a.digest().len(), 48);
        assert_eq!(a.counter, 2);
        a.restart();
        assert!(a.digest().is_empty());
    }
}
