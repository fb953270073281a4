//! NV indices (Part 1, section 37): public areas, authValues and data, held in memory for the life
//! of the TPM (this TPM is ephemeral: "non-volatile" means "survives TPM Reset and Restart").
//!
//! Space is bounded by [`crate::Config::nv_bytes`]: each index costs [`INDEX_OVERHEAD`] plus its
//! `dataSize`, and at most [`MAX_INDICES`] may be defined; beyond either, `TPM_RC_NV_SPACE`.
//! What the reference keeps in the index attributes (`WRITTEN`, `WRITELOCKED`, `READLOCKED`) is
//! kept the same way here, so `TPM2_NV_ReadPublic` and the Name reflect them.

use crate::crypto::{Digest, Hasher};
use crate::entity::Name;
use crate::secret::AuthValue;
use alloc::vec;
use alloc::vec::Vec;
use tpm_proto::{
    nt, Cc, Handle, HashAlg, Marshal, Rc, Tpm2bDigest, TpmaNv, TpmiRhNvIndex, TpmsNvPublic, Writer,
    MAX_DIGEST_SIZE,
};

/// Most indices defined at once.
pub(crate) const MAX_INDICES: usize = 128;

/// Bytes charged per index besides its data: the largest `TPMS_NV_PUBLIC` (78 octets) and
/// `authValue` (64), rounded up.
pub(crate) const INDEX_OVERHEAD: usize = 160;

/// `MAX_ORDERLY_COUNT`: the low bits of an orderly counter that may be lost on a non-orderly
/// shutdown, set to ones at the next startup so that the counter never goes backwards.
const MAX_ORDERLY_COUNT: u64 = 0xFF;

/// Largest marshalled `TPMS_NV_PUBLIC`: handle, nameAlg, attributes, authPolicy, dataSize.
const MAX_NV_PUBLIC: usize = 4 + 2 + 4 + 2 + MAX_DIGEST_SIZE + 2;

/// How the TPM was started (Part 1, 12.2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StartupKind {
    /// `TPM2_Startup(CLEAR)` after anything but `TPM2_Shutdown(STATE)`.
    Reset,
    /// `TPM2_Startup(CLEAR)` after `TPM2_Shutdown(STATE)`.
    Restart,
    /// `TPM2_Startup(STATE)` after `TPM2_Shutdown(STATE)`.
    Resume,
}

/// One defined index.
#[derive(Debug)]
pub(crate) struct NvIndex {
    pub handle: Handle,
    pub name_alg: HashAlg,
    pub attributes: TpmaNv,
    pub auth_policy: Digest,
    pub data_size: u16,
    pub auth: AuthValue,
    /// `dataSize` octets; unwritten octets read as 0xFF, as erased flash does in the reference.
    data: crate::secret::SecretBytes,
}

impl NvIndex {
    /// A new, unwritten index from a checked public area.
    pub fn new(public: &TpmsNvPublic<'_>, auth: AuthValue) -> NvIndex {
        NvIndex {
            handle: public.nv_index.0,
            name_alg: public.name_alg,
            attributes: public.attributes,
            auth_policy: Digest::from_slice(public.auth_policy.0),
            data_size: public.data_size,
            auth,
            data: vec![0xFF; public.data_size as usize].into(),
        }
    }

    /// `TPM_NT` of the index.
    pub fn nt(&self) -> u8 {
        self.attributes.nt()
    }

    pub fn is(&self, a: TpmaNv) -> bool {
        self.attributes.contains(a)
    }

    pub fn is_pin(&self) -> bool {
        matches!(self.nt(), nt::PIN_PASS | nt::PIN_FAIL)
    }

    /// The public area as `TPMS_NV_PUBLIC`.
    pub fn public(&self) -> TpmsNvPublic<'_> {
        TpmsNvPublic {
            nv_index: TpmiRhNvIndex(self.handle),
            name_alg: self.name_alg,
            attributes: self.attributes,
            auth_policy: Tpm2bDigest(self.auth_policy.as_bytes()),
            data_size: self.data_size,
        }
    }

    /// The Name: `nameAlg || H(TPMS_NV_PUBLIC)` (Part 1, 16; reference `NvGetIndexName`). It
    /// changes when `WRITTEN` or a lock attribute changes.
    pub fn name(&self) -> Name {
        let mut buf = [0u8; MAX_NV_PUBLIC];
        let mut w = Writer::new(&mut buf);
        // Cannot fail: `buf` holds the largest public area.
        let _ = self.public().marshal(&mut w);
        let d = Hasher::digest(self.name_alg, &[w.written()]);
        Name::digest(self.name_alg, d.as_bytes())
    }

    /// `offset..offset + len` of the data, or `TPM_RC_NV_RANGE` if it is not inside.
    pub fn read(&self, offset: usize, len: usize) -> Result<&[u8], Rc> {
        let end = offset.checked_add(len).ok_or(Rc::NvRange)?;
        self.data.get(offset..end).ok_or(Rc::NvRange)
    }

    /// Writes `b` at `offset` and sets `WRITTEN` (reference `NvWriteIndexData`).
    pub fn write(&mut self, offset: usize, b: &[u8]) -> Result<(), Rc> {
        let end = offset.checked_add(b.len()).ok_or(Rc::NvRange)?;
        self.data
            .get_mut(offset..end)
            .ok_or(Rc::NvRange)?
            .copy_from_slice(b);
        self.attributes |= TpmaNv::WRITTEN;
        Ok(())
    }

    /// The data of a counter, bit field or PIN index as a big-endian `UINT64`.
    pub fn u64(&self) -> u64 {
        let mut b = [0u8; 8];
        if let Some(d) = self.data.get(..8) {
            b.copy_from_slice(d);
        }
        u64::from_be_bytes(b)
    }

    pub fn write_u64(&mut self, v: u64) -> Result<(), Rc> {
        self.write(0, &v.to_be_bytes())
    }

    /// Attributes after a TPM Reset or Restart (reference `NvSetStartupAttributes`): read locks
    /// released; a non-counter index with `CLEAR_STCLEAR` (or orderly, at TPM Reset) becomes
    /// unwritten; write locks released unless the index is written and `WRITEDEFINE`.
    fn startup(&mut self, kind: StartupKind) {
        let counter = self.nt() == nt::COUNTER;
        let a = &mut self.attributes;
        a.remove(TpmaNv::READLOCKED);
        if !counter
            && (a.contains(TpmaNv::CLEAR_STCLEAR)
                || (a.contains(TpmaNv::ORDERLY) && kind == StartupKind::Reset))
        {
            a.remove(TpmaNv::WRITTEN);
        }
        if !a.contains(TpmaNv::WRITTEN) || !a.contains(TpmaNv::WRITEDEFINE) {
            a.remove(TpmaNv::WRITELOCKED);
        }
    }
}

/// True for the commands that write an index (reference `IsWriteOperation`): they need
/// `AUTHWRITE`/`POLICYWRITE` to be authorized by the index itself; every other command is a
/// "read" and needs `AUTHREAD`/`POLICYREAD`.
pub(crate) fn is_write_operation(cc: Option<Cc>) -> bool {
    matches!(
        cc,
        Some(Cc::NvWrite | Cc::NvIncrement | Cc::NvSetBits | Cc::NvExtend | Cc::NvWriteLock)
    )
}

/// The defined indices, ascending by handle.
#[derive(Debug)]
pub(crate) struct Nv {
    indices: Vec<NvIndex>,
    capacity: usize,
    used: usize,
    /// The largest value of any deleted counter: a new counter starts above it (reference
    /// `NvReadMaxCount`), so a counter can never be rolled back by redefining it.
    max_count: u64,
}

impl Nv {
    pub fn new(capacity: usize) -> Nv {
        Nv {
            indices: Vec::new(),
            capacity,
            used: 0,
            max_count: 0,
        }
    }

    fn cost(data_size: u16) -> usize {
        INDEX_OVERHEAD + data_size as usize
    }

    fn position(&self, h: Handle) -> Result<usize, usize> {
        self.indices.binary_search_by_key(&h.0, |i| i.handle.0)
    }

    pub fn get(&self, h: Handle) -> Option<&NvIndex> {
        self.indices.get(self.position(h).ok()?)
    }

    pub fn get_mut(&mut self, h: Handle) -> Option<&mut NvIndex> {
        let i = self.position(h).ok()?;
        self.indices.get_mut(i)
    }

    /// Defines an index: `TPM_RC_NV_DEFINED` if its handle is taken, `TPM_RC_NV_SPACE` if it does
    /// not fit.
    pub fn define(&mut self, index: NvIndex) -> Result<(), Rc> {
        let at = match self.position(index.handle) {
            Ok(_) => return Err(Rc::NvDefined),
            Err(at) => at,
        };
        let cost = Self::cost(index.data_size);
        if self.indices.len() >= MAX_INDICES || self.used + cost > self.capacity {
            return Err(Rc::NvSpace);
        }
        self.used += cost;
        self.indices.insert(at, index);
        Ok(())
    }

    /// Deletes an index, remembering the value of a counter (reference `NvDeleteIndex`).
    pub fn undefine(&mut self, h: Handle) -> Option<NvIndex> {
        let i = self.position(h).ok()?;
        let index = self.indices.remove(i);
        self.used = self.used.saturating_sub(Self::cost(index.data_size));
        if index.nt() == nt::COUNTER && index.is(TpmaNv::WRITTEN) {
            self.max_count = self.max_count.max(index.u64());
        }
        Some(index)
    }

    /// The value a counter starts from on its first increment.
    pub fn max_count(&self) -> u64 {
        self.max_count
    }

    /// `TPM2_Clear`: deletes every index the owner created (reference `NvFlushHierarchy`).
    pub fn flush_owner(&mut self) {
        let owner: Vec<Handle> = self
            .indices
            .iter()
            .filter(|i| !i.is(TpmaNv::PLATFORMCREATE))
            .map(|i| i.handle)
            .collect();
        for h in owner {
            self.undefine(h);
        }
    }

    /// `TPM2_NV_GlobalWriteLock`: write-locks every index with `GLOBALLOCK` until the next TPM
    /// Reset or Restart (reference `NvSetGlobalLock`).
    pub fn global_write_lock(&mut self) {
        for i in self.indices.iter_mut() {
            if i.is(TpmaNv::GLOBALLOCK) {
                i.attributes |= TpmaNv::WRITELOCKED;
            }
        }
    }

    /// Startup processing (reference `NvEntityStartup`). `orderly` is false after a shutdown
    /// without `TPM2_Shutdown`: orderly counters then get their low bits set, as the reference
    /// does for the increments it may have lost.
    pub fn startup(&mut self, kind: StartupKind, orderly: bool) {
        if kind == StartupKind::Resume {
            return;
        }
        for i in self.indices.iter_mut() {
            i.startup(kind);
            if !orderly && i.nt() == nt::COUNTER && i.is(TpmaNv::ORDERLY | TpmaNv::WRITTEN) {
                let v = i.u64() | MAX_ORDERLY_COUNT;
                let _ = i.write_u64(v);
            }
        }
    }

    /// Handles of the defined indices, ascending.
    pub fn handles(&self) -> impl Iterator<Item = Handle> + '_ {
        self.indices.iter().map(|i| i.handle)
    }

    /// `TPM_PT_HR_NV_INDEX`.
    pub fn count(&self) -> usize {
        self.indices.len()
    }

    /// `TPM_PT_NV_COUNTERS`.
    pub fn counters(&self) -> usize {
        self.indices
            .iter()
            .filter(|i| i.nt() == nt::COUNTER)
            .count()
    }

    /// `TPM_PT_NV_COUNTERS_AVAIL`: how many more counters could be defined now.
    pub fn counters_avail(&self) -> usize {
        let by_space = self.capacity.saturating_sub(self.used) / Self::cost(8);
        by_space.min(MAX_INDICES.saturating_sub(self.indices.len()))
    }

    /// Whether the index's authValue may authorize `cc` (reference `IsAuthValueAvailable`):
    /// `AUTHWRITE` for a write, `AUTHREAD` for anything else; for a PIN index (which cannot have
    /// `AUTHWRITE`), only once written and while `pinCount < pinLimit`.
    pub fn auth_available(&self, h: Handle, cc: Option<Cc>) -> bool {
        let Some(i) = self.get(h) else { return false };
        if is_write_operation(cc) {
            i.is(TpmaNv::AUTHWRITE)
        } else if i.is_pin() {
            let (count, limit) = pin_fields(i.u64());
            i.is(TpmaNv::WRITTEN) && count < limit
        } else {
            i.is(TpmaNv::AUTHREAD)
        }
    }

    /// Whether the index's authPolicy may authorize `cc` (reference `IsAuthPolicyAvailable`):
    /// never with an empty policy; always in the ADMIN role (`TPM2_NV_ChangeAuth`,
    /// `TPM2_NV_UndefineSpaceSpecial`), which requires a policy session; else `POLICYWRITE` for a
    /// write and `POLICYREAD` for anything else.
    pub fn policy_available(&self, h: Handle, cc: Option<Cc>) -> bool {
        let Some(i) = self.get(h) else { return false };
        if i.auth_policy.as_bytes().is_empty() {
            false
        } else if matches!(cc, Some(Cc::NvChangeAuth | Cc::NvUndefineSpaceSpecial)) {
            true
        } else if is_write_operation(cc) {
            i.is(TpmaNv::POLICYWRITE)
        } else {
            i.is(TpmaNv::POLICYREAD)
        }
    }

    /// Whether a failed authorization of the index is exempt from dictionary-attack protection
    /// (`TPMA_NV_NO_DA`; reference `IsDAExempted`).
    #[allow(dead_code, reason = "the session layer reads it")]
    pub fn is_da_exempt(&self, h: Handle) -> bool {
        self.get(h).is_some_and(|i| i.is(TpmaNv::NO_DA))
    }

    /// What an authorization with the index's authValue does to a PIN index (reference
    /// `CheckAuthSession`, end): a PIN Fail index counts failures and is reset by a success; a
    /// PIN Pass index counts successes. Only written indices count.
    #[allow(
        dead_code,
        reason = "the session layer calls it after each authValue check"
    )]
    pub fn pin_authorization(&mut self, h: Handle, success: bool) {
        let Some(i) = self.get_mut(h) else { return };
        if !i.is(TpmaNv::WRITTEN) {
            return;
        }
        let (count, limit) = pin_fields(i.u64());
        let count = match i.nt() {
            nt::PIN_FAIL if success => 0,
            nt::PIN_FAIL => count.wrapping_add(1),
            nt::PIN_PASS if success => count.wrapping_add(1),
            _ => return,
        };
        let _ = i.write_u64((u64::from(count) << 32) | u64::from(limit));
    }
}

/// `TPMS_NV_PIN_COUNTER_PARAMETERS` (Part 2, table 2:207) from the index data: `pinCount` is the
/// first (most significant) word, `pinLimit` the second.
fn pin_fields(v: u64) -> (u32, u32) {
    ((v >> 32) as u32, v as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn public(h: u32, a: TpmaNv, size: u16) -> TpmsNvPublic<'static> {
        TpmsNvPublic {
            nv_index: TpmiRhNvIndex(Handle(h)),
            name_alg: HashAlg::Sha256,
            attributes: a,
            auth_policy: Tpm2bDigest(&[]),
            data_size: size,
        }
    }

    fn index(h: u32, a: TpmaNv, size: u16) -> NvIndex {
        NvIndex::new(&public(h, a, size), AuthValue::empty())
    }

    #[test]
    fn space_is_bounded_and_recovered() {
        let mut nv = Nv::new(2 * INDEX_OVERHEAD + 100);
        nv.define(index(0x0100_0002, TpmaNv::empty(), 50)).unwrap();
        assert_eq!(
            nv.define(index(0x0100_0002, TpmaNv::empty(), 1)),
            Err(Rc::NvDefined)
        );
        assert_eq!(
            nv.define(index(0x0100_0001, TpmaNv::empty(), 51)),
            Err(Rc::NvSpace)
        );
        nv.define(index(0x0100_0001, TpmaNv::empty(), 50)).unwrap();
        let hs: Vec<u32> = nv.handles().map(|h| h.0).collect();
        assert_eq!(hs, [0x0100_0001, 0x0100_0002]);
        assert!(nv.undefine(Handle(0x0100_0001)).is_some());
        nv.define(index(0x0100_0003, TpmaNv::empty(), 50)).unwrap();
    }

    #[test]
    fn deleted_counter_value_carries_over() {
        let mut nv = Nv::new(4096);
        let counter = TpmaNv::from_bits_retain(u32::from(nt::COUNTER) << 4);
        nv.define(index(0x0100_0001, counter, 8)).unwrap();
        nv.get_mut(Handle(0x0100_0001))
            .unwrap()
            .write_u64(41)
            .unwrap();
        nv.undefine(Handle(0x0100_0001));
        assert_eq!(nv.max_count(), 41);
    }

    #[test]
    fn startup_releases_locks_and_clears_stclear_data() {
        let mut i = index(
            0x0100_0001,
            TpmaNv::CLEAR_STCLEAR | TpmaNv::READ_STCLEAR | TpmaNv::WRITE_STCLEAR,
            4,
        );
        i.write(0, b"abcd").unwrap();
        i.attributes |= TpmaNv::READLOCKED | TpmaNv::WRITELOCKED;
        i.startup(StartupKind::Restart);
        assert!(!i.is(TpmaNv::WRITTEN));
        assert!(!i.is(TpmaNv::READLOCKED));
        assert!(!i.is(TpmaNv::WRITELOCKED));
        // WRITEDEFINE keeps a written index locked.
        let mut i = index(0x0100_0001, TpmaNv::WRITEDEFINE, 4);
        i.write(0, b"abcd").unwrap();
        i.attributes |= TpmaNv::WRITELOCKED;
        i.startup(StartupKind::Reset);
        assert!(i.is(TpmaNv::WRITELOCKED | TpmaNv::WRITTEN));
    }

    #[test]
    fn pin_fail_counts_failures_and_resets_on_success() {
        let mut nv = Nv::new(4096);
        let a = TpmaNv::from_bits_retain(u32::from(nt::PIN_FAIL) << 4)
            | TpmaNv::NO_DA
            | TpmaNv::OWNERWRITE
            | TpmaNv::AUTHREAD;
        nv.define(index(0x0100_0001, a, 8)).unwrap();
        let h = Handle(0x0100_0001);
        assert!(!nv.auth_available(h, Some(Cc::NvRead)));
        nv.get_mut(h).unwrap().write_u64(2).unwrap(); // pinCount 0, pinLimit 2
        assert!(nv.auth_available(h, Some(Cc::NvRead)));
        nv.pin_authorization(h, false);
        nv.pin_authorization(h, false);
        assert!(!nv.auth_available(h, Some(Cc::NvRead)));
        nv.get_mut(h).unwrap().write_u64(2).unwrap();
        nv.pin_authorization(h, false);
        nv.pin_authorization(h, true);
        assert_eq!(nv.get(h).unwrap().u64(), 2);
        assert!(!nv.auth_available(h, Some(Cc::NvWrite)));
    }

    #[test]
    fn policy_availability_follows_attributes_and_role() {
        let mut nv = Nv::new(4096);
        let mut p = public(0x0100_0001, TpmaNv::POLICYWRITE | TpmaNv::OWNERREAD, 8);
        nv.define(NvIndex::new(&p, AuthValue::empty())).unwrap();
        let policy = [7u8; 32];
        p.nv_index = TpmiRhNvIndex(Handle(0x0100_0002));
        p.auth_policy = Tpm2bDigest(&policy);
        nv.define(NvIndex::new(&p, AuthValue::empty())).unwrap();
        let (empty, with) = (Handle(0x0100_0001), Handle(0x0100_0002));
        assert!(!nv.policy_available(empty, Some(Cc::NvWrite)));
        assert!(nv.policy_available(with, Some(Cc::NvWrite)));
        assert!(!nv.policy_available(with, Some(Cc::NvRead)));
        assert!(nv.policy_available(with, Some(Cc::NvChangeAuth)));
        assert!(!nv.policy_available(empty, Some(Cc::NvUndefineSpaceSpecial)));
    }

    #[test]
    fn name_covers_attributes() {
        let mut i = index(0x0100_0001, TpmaNv::OWNERWRITE | TpmaNv::OWNERREAD, 4);
        let before = i.name();
        i.write(0, b"x").unwrap();
        assert_ne!(before, i.name());
        assert_eq!(&i.name().as_bytes()[..2], &[0, 0x0B]);
        assert_eq!(i.name().as_bytes().len(), 34);
    }
}
