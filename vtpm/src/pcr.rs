//! Platform Configuration Registers (Part 1, section 17; PC Client Platform TPM Profile 4.6).

use crate::crypto::{Digest, Hasher};
use tpm_proto::{HashAlg, PtPcr, HASH_COUNT, PCR_COUNT, PCR_SELECT_MAX};

/// Bitmap of PCRs 0..=23.
pub(crate) type PcrMask = u32;
const ALL: PcrMask = (1 << PCR_COUNT) - 1;

/// Attributes of one PCR (reference `PCR.c` `s_initAttributes`, PC Client PTP table 6).
#[derive(Debug, Clone, Copy)]
struct PcrAttr {
    /// Preserved across `Shutdown(STATE)`/`Startup(STATE)`.
    state_save: bool,
    /// Localities (bit n = locality n) allowed to reset.
    reset: u8,
    /// Localities allowed to extend.
    extend: u8,
}

const fn attr(state_save: bool, reset: u8, extend: u8) -> PcrAttr {
    PcrAttr {
        state_save,
        reset,
        extend,
    }
}

static ATTRS: [PcrAttr; PCR_COUNT] = [
    attr(true, 0, 0x1F),
    attr(true, 0, 0x1F),
    attr(true, 0, 0x1F),
    attr(true, 0, 0x1F),
    attr(true, 0, 0x1F),
    attr(true, 0, 0x1F),
    attr(true, 0, 0x1F),
    attr(true, 0, 0x1F),
    attr(true, 0, 0x1F),
    attr(true, 0, 0x1F),
    attr(true, 0, 0x1F),
    attr(true, 0, 0x1F),
    attr(true, 0, 0x1F),
    attr(true, 0, 0x1F),
    attr(true, 0, 0x1F),
    attr(true, 0, 0x1F),
    attr(false, 0x0F, 0x1F), // 16: debug
    attr(false, 0x10, 0x1C), // 17..=22: DRTM
    attr(false, 0x10, 0x1C),
    attr(false, 0x10, 0x0C),
    attr(false, 0x14, 0x0E),
    attr(false, 0x14, 0x04),
    attr(false, 0x14, 0x04),
    attr(false, 0x0F, 0x1F), // 23: application
];

/// PCRs 20–22: the one authorization group and the one policy group of the reference
/// (`PCRBelongsAuthGroup`, `PCRBelongsPolicyGroup`; Part 1, 17.8). `TPM2_PCR_SetAuthValue` and
/// `TPM2_PCR_SetAuthPolicy` give the group an authValue or an authPolicy; every other PCR has an
/// empty authValue and no policy. The platform specification decides the groups; libtpms, the
/// reference evtpm is compared with, has these.
pub(crate) const AUTH_GROUP: PcrMask = (1 << 20) | (1 << 21) | (1 << 22);

/// Whether the PCR with handle `h` is in the authorization and policy group.
pub(crate) fn in_auth_group(h: tpm_proto::Handle) -> bool {
    h.0 < PCR_COUNT as u32 && AUTH_GROUP & (1 << h.0) != 0
}

/// PCRs whose changes do not increment `pcrUpdateCounter` (`TPM_PT_PCR_NO_INCREMENT`: the debug
/// and application PCRs 16 and 23 and the TCB group 21–22, as libtpms reports them).
const NO_INCREMENT: PcrMask = (1 << 16) | (1 << 21) | (1 << 22) | (1 << 23);

/// Index of a hash in the banks array.
pub(crate) const fn bank_index(h: HashAlg) -> usize {
    match h {
        HashAlg::Sha1 => 0,
        HashAlg::Sha256 => 1,
        HashAlg::Sha384 => 2,
        HashAlg::Sha512 => 3,
    }
}

/// The PCR banks.
#[derive(Clone, Debug)]
pub(crate) struct Pcrs {
    values: [[Digest; PCR_COUNT]; HASH_COUNT],
    /// PCRs allocated in each bank now.
    allocated: [PcrMask; HASH_COUNT],
    /// Allocation to take effect at the next TPM Reset (`TPM2_PCR_Allocate`).
    pending: [PcrMask; HASH_COUNT],
    pub update_counter: u32,
}

impl Pcrs {
    /// SHA-1, SHA-256 and SHA-384 banks allocated; SHA-512 implemented but not allocated.
    pub fn new() -> Pcrs {
        let alloc = [ALL, ALL, ALL, 0];
        let mut p = Pcrs {
            values: HashAlg::ALL.map(|h| [Digest::zero(h); PCR_COUNT]),
            allocated: alloc,
            pending: alloc,
            update_counter: 0,
        };
        p.reset_all(0, true);
        p
    }

    /// TPM Reset (`tpm_reset`) / Restart initialization (reference `PCRStartup`): every PCR to its
    /// reset value. DRTM PCRs (those a locality-4 reset may reset) start as all ones; PCR 0 takes
    /// the startup locality in its last octet when that is 3 (PC Client PTP, 4.6.3). As in the
    /// reference, a TPM Reset zeroes `pcrUpdateCounter`, a Restart keeps it, and each PCR
    /// initialized outside the no-increment group then counts once.
    pub fn reset_all(&mut self, startup_locality: u8, tpm_reset: bool) {
        if tpm_reset {
            self.allocated = self.pending;
            self.update_counter = 0;
        }
        for h in HashAlg::ALL {
            for pcr in 0..PCR_COUNT {
                self.values[bank_index(h)][pcr] = initial_value(h, pcr, startup_locality);
            }
        }
        for pcr in 0..PCR_COUNT {
            self.changed(pcr);
        }
    }

    /// TPM Resume: PCRs with the stateSave attribute come from `saved`, the rest are reset.
    pub fn resume(&mut self, saved: &Pcrs) {
        let counter = saved.update_counter;
        self.allocated = saved.allocated;
        self.pending = saved.pending;
        for h in HashAlg::ALL {
            let b = bank_index(h);
            for (pcr, attr) in ATTRS.iter().enumerate() {
                self.values[b][pcr] = if attr.state_save {
                    saved.values[b][pcr]
                } else {
                    initial_value(h, pcr, 0)
                };
            }
        }
        self.update_counter = counter;
        for (pcr, attr) in ATTRS.iter().enumerate() {
            if !attr.state_save {
                self.changed(pcr);
            }
        }
    }

    pub fn is_allocated(&self, h: HashAlg, pcr: usize) -> bool {
        pcr < PCR_COUNT && self.allocated[bank_index(h)] & (1 << pcr) != 0
    }

    pub fn allocated_mask(&self, h: HashAlg) -> PcrMask {
        self.allocated[bank_index(h)]
    }

    pub fn get(&self, h: HashAlg, pcr: usize) -> Option<&Digest> {
        if !self.is_allocated(h, pcr) {
            return None;
        }
        Some(&self.values[bank_index(h)][pcr])
    }

    pub fn can_extend(pcr: usize, locality: u8) -> bool {
        pcr < PCR_COUNT && locality < 8 && ATTRS[pcr].extend & locality_bit(locality) != 0
    }

    /// Whether `TPM2_PCR_Reset` may reset `pcr` from `locality`. Locality 4 resets the DRTM PCRs
    /// only through the `_TPM_Hash_Start` sequence, never by command (reference
    /// `PCRIsResetAllowed`).
    pub fn can_reset(pcr: usize, locality: u8) -> bool {
        pcr < PCR_COUNT && locality < 4 && ATTRS[pcr].reset & locality_bit(locality) != 0
    }

    /// Extends `pcr` in bank `h` (if allocated) with `digest`: PCR := H(PCR || digest). Each
    /// bank extended counts once in `pcrUpdateCounter` (reference `PCRExtend`).
    pub fn extend(&mut self, h: HashAlg, pcr: usize, digest: &[u8]) {
        if !self.is_allocated(h, pcr) {
            return;
        }
        let slot = &mut self.values[bank_index(h)][pcr];
        *slot = Hasher::digest(h, &[slot.as_bytes(), digest]);
        self.changed(pcr);
    }

    /// Records that `pcr` changed.
    pub fn changed(&mut self, pcr: usize) {
        if pcr < PCR_COUNT && NO_INCREMENT & (1 << pcr) == 0 {
            self.update_counter = self.update_counter.wrapping_add(1);
        }
    }

    /// `TPM2_PCR_Reset` of `pcr` in every bank: zero (locality-4 reset of a DRTM PCR also zero).
    pub fn reset(&mut self, pcr: usize) {
        if pcr >= PCR_COUNT {
            return;
        }
        for h in HashAlg::ALL {
            self.values[bank_index(h)][pcr] = Digest::zero(h);
        }
    }

    /// Records an allocation for the next TPM Reset.
    pub fn set_pending(&mut self, h: HashAlg, mask: PcrMask) {
        self.pending[bank_index(h)] = mask & ALL;
    }

    pub fn pending_mask(&self, h: HashAlg) -> PcrMask {
        self.pending[bank_index(h)]
    }
}

fn initial_value(h: HashAlg, pcr: usize, startup_locality: u8) -> Digest {
    if ATTRS[pcr].reset & 0x10 != 0 {
        return Digest::ones(h);
    }
    let mut d = Digest::zero(h);
    if pcr == 0 && startup_locality == 3 {
        let mut b = [0u8; 64];
        b[h.size() - 1] = 3;
        d = Digest::from_slice(&b[..h.size()]);
    }
    d
}

const fn locality_bit(locality: u8) -> u8 {
    1 << locality
}

/// A `TPM_PT_PCR` property as a PCR bitmap (for `TPM_CAP_PCR_PROPERTIES`), or `None` for a tag
/// this TPM does not report.
pub(crate) fn property_mask(tag: PtPcr) -> Option<PcrMask> {
    let by = |f: &dyn Fn(&PcrAttr) -> bool| -> PcrMask {
        ATTRS
            .iter()
            .enumerate()
            .filter(|(_, a)| f(a))
            .fold(0, |m, (i, _)| m | (1 << i))
    };
    Some(match tag {
        PtPcr::Save => by(&|a| a.state_save),
        PtPcr::ExtendL0 => by(&|a| a.extend & 1 != 0),
        PtPcr::ResetL0 => by(&|a| a.reset & 1 != 0),
        PtPcr::ExtendL1 => by(&|a| a.extend & 2 != 0),
        PtPcr::ResetL1 => by(&|a| a.reset & 2 != 0),
        PtPcr::ExtendL2 => by(&|a| a.extend & 4 != 0),
        PtPcr::ResetL2 => by(&|a| a.reset & 4 != 0),
        PtPcr::ExtendL3 => by(&|a| a.extend & 8 != 0),
        PtPcr::ResetL3 => by(&|a| a.reset & 8 != 0),
        PtPcr::ExtendL4 => by(&|a| a.extend & 0x10 != 0),
        PtPcr::ResetL4 => by(&|a| a.reset & 0x10 != 0),
        PtPcr::NoIncrement => NO_INCREMENT,
        PtPcr::DrtmReset => by(&|a| a.reset & 0x10 != 0),
        PtPcr::Policy | PtPcr::Auth => AUTH_GROUP,
        _ => return None,
    })
}

/// Expands a mask to `TPMS_PCR_SELECT` octets.
pub(crate) fn mask_bytes(m: PcrMask) -> [u8; PCR_SELECT_MAX] {
    let b = m.to_le_bytes();
    [b[0], b[1], b[2]]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extend_is_hash_of_old_and_digest() {
        let mut p = Pcrs::new();
        p.extend(HashAlg::Sha256, 16, &[1u8; 32]);
        let expect = Hasher::digest(HashAlg::Sha256, &[&[0u8; 32], &[1u8; 32]]);
        assert_eq!(p.get(HashAlg::Sha256, 16), Some(&expect));
        assert_eq!(p.get(HashAlg::Sha512, 16), None);
    }

    #[test]
    fn locality_rules_follow_pc_client() {
        assert!(Pcrs::can_reset(16, 0) && Pcrs::can_reset(23, 0));
        assert!(!Pcrs::can_reset(0, 0) && !Pcrs::can_reset(0, 4));
        assert!(!Pcrs::can_reset(17, 0) && !Pcrs::can_reset(17, 4));
        assert!(Pcrs::can_reset(21, 2));
        assert!(!Pcrs::can_extend(17, 0) && Pcrs::can_extend(17, 2));
        assert!(Pcrs::can_extend(10, 0));
    }

    #[test]
    fn drtm_pcrs_start_as_ones() {
        let p = Pcrs::new();
        assert_eq!(p.get(HashAlg::Sha1, 17), Some(&Digest::ones(HashAlg::Sha1)));
        assert_eq!(p.get(HashAlg::Sha1, 21), Some(&Digest::ones(HashAlg::Sha1)));
        assert_eq!(p.get(HashAlg::Sha1, 23), Some(&Digest::zero(HashAlg::Sha1)));
    }
}
