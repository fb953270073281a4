//! Digests, buffers, PCR selections and the authorization area (Part 2, sections 10.3–10.9, 10.13).

use crate::constants::{AlgId, Handle, PCR_SELECT_MAX};
use crate::marshal::{Marshal, Reader, Unmarshal, WriteError, Writer};
use crate::rc::Rc;
use crate::TpmaSession;

/// Largest digest (`sizeof(TPMU_HA)`, SHA-512).
pub const MAX_DIGEST_SIZE: usize = 64;
/// Number of hash algorithms implemented (`HASH_COUNT`): SHA-1, SHA-256, SHA-384, SHA-512.
pub const HASH_COUNT: usize = 4;
/// `MAX_DIGEST_BUFFER`, `MAX_NV_BUFFER_SIZE`, `MAX_EVENT_DATA`: 1024 as in the reference.
pub const MAX_BUFFER: usize = 1024;

tpm2b!(/// `TPM2B_DIGEST` (table 80).
    Tpm2bDigest, max = MAX_DIGEST_SIZE);
tpm2b!(/// `TPM2B_DATA` (table 81): `sizeof(TPMT_HA)`.
    Tpm2bData, max = MAX_DIGEST_SIZE + 2);
tpm2b!(/// `TPM2B_NONCE` (table 82).
    Tpm2bNonce, max = MAX_DIGEST_SIZE);
tpm2b!(/// `TPM2B_AUTH` (table 83).
    Tpm2bAuth, max = MAX_DIGEST_SIZE);
tpm2b!(/// `TPM2B_OPERAND` (table 84).
    Tpm2bOperand, max = MAX_DIGEST_SIZE);
tpm2b!(/// `TPM2B_EVENT` (table 85).
    Tpm2bEvent, max = MAX_BUFFER);
tpm2b!(/// `TPM2B_MAX_BUFFER` (table 86).
    Tpm2bMaxBuffer, max = MAX_BUFFER);
tpm2b!(/// `TPM2B_MAX_NV_BUFFER` (table 87).
    Tpm2bMaxNvBuffer, max = MAX_BUFFER);
tpm2b!(/// `TPM2B_TIMEOUT` (table 88).
    Tpm2bTimeout, max = 8);
tpm2b!(/// `TPM2B_IV` (table 89).
    Tpm2bIv, max = 16);
tpm2b!(/// `TPM2B_NAME` (table 91): `sizeof(TPMU_NAME)`, the union of a `TPMT_HA` (66 octets)
    /// and a `TPM_HANDLE`, which C pads to a multiple of four: 68 octets, the size the reference
    /// accepts (a 67- or 68-octet name is read; 69 is `TPM_RC_SIZE`). No Name is that long.
    Tpm2bName, max = MAX_DIGEST_SIZE + 4);

/// `TPMI_ALG_HASH` (table 61): a hash algorithm this TPM implements.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub enum HashAlg {
    Sha1,
    Sha256,
    Sha384,
    Sha512,
}

impl HashAlg {
    /// All implemented hashes, in `TPM_ALG_ID` order.
    pub const ALL: [HashAlg; HASH_COUNT] = [
        HashAlg::Sha1,
        HashAlg::Sha256,
        HashAlg::Sha384,
        HashAlg::Sha512,
    ];

    pub const fn from_alg(alg: AlgId) -> Option<HashAlg> {
        match alg {
            AlgId::Sha1 => Some(HashAlg::Sha1),
            AlgId::Sha256 => Some(HashAlg::Sha256),
            AlgId::Sha384 => Some(HashAlg::Sha384),
            AlgId::Sha512 => Some(HashAlg::Sha512),
            _ => None,
        }
    }

    pub const fn alg(self) -> AlgId {
        match self {
            HashAlg::Sha1 => AlgId::Sha1,
            HashAlg::Sha256 => AlgId::Sha256,
            HashAlg::Sha384 => AlgId::Sha384,
            HashAlg::Sha512 => AlgId::Sha512,
        }
    }

    pub const fn size(self) -> usize {
        match self {
            HashAlg::Sha1 => 20,
            HashAlg::Sha256 => 32,
            HashAlg::Sha384 => 48,
            HashAlg::Sha512 => 64,
        }
    }

    /// Internal block size (for HMAC).
    pub const fn block_size(self) -> usize {
        match self {
            HashAlg::Sha1 | HashAlg::Sha256 => 64,
            HashAlg::Sha384 | HashAlg::Sha512 => 128,
        }
    }

    /// Unmarshals a `TPMI_ALG_HASH`; `TPM_ALG_NULL` is accepted (`None`) only when `allow_null`
    /// (the `+` of the spec). Anything else not implemented is `TPM_RC_HASH`.
    pub fn unmarshal_opt(r: &mut Reader<'_>, allow_null: bool) -> Result<Option<HashAlg>, Rc> {
        let alg = AlgId(r.u16()?);
        if alg == AlgId::Null && allow_null {
            return Ok(None);
        }
        HashAlg::from_alg(alg).map(Some).ok_or(Rc::Hash)
    }
}

impl<'a> Unmarshal<'a> for HashAlg {
    fn unmarshal(r: &mut Reader<'a>) -> Result<Self, Rc> {
        HashAlg::unmarshal_opt(r, false).map(|h| h.unwrap_or(HashAlg::Sha256)) // infallible: allow_null is false
    }
}

impl Marshal for HashAlg {
    fn marshal(&self, w: &mut Writer<'_>) -> Result<(), WriteError> {
        w.u16(self.alg().0)
    }
}

/// `TPMT_HA` (table 79): a hash algorithm and a digest of exactly its size.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct TpmtHa<'a> {
    pub hash: HashAlg,
    pub digest: &'a [u8],
}

impl<'a> Unmarshal<'a> for TpmtHa<'a> {
    fn unmarshal(r: &mut Reader<'a>) -> Result<Self, Rc> {
        let hash: HashAlg = r.read()?;
        Ok(TpmtHa {
            hash,
            digest: r.bytes(hash.size())?,
        })
    }
}

impl Marshal for TpmtHa<'_> {
    fn marshal(&self, w: &mut Writer<'_>) -> Result<(), WriteError> {
        w.write(&self.hash)?;
        w.bytes(self.digest)
    }
}

/// `TPML_DIGEST_VALUES` (table 113): at most [`HASH_COUNT`] `TPMT_HA`.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct TpmlDigestValues<'a> {
    pub count: usize,
    pub digests: [Option<TpmtHa<'a>>; HASH_COUNT],
}

impl<'a> TpmlDigestValues<'a> {
    pub fn iter(&self) -> impl Iterator<Item = &TpmtHa<'a>> {
        self.digests[..self.count].iter().flatten()
    }

    /// Appends a digest; `false` if the list is full.
    pub fn push(&mut self, d: TpmtHa<'a>) -> bool {
        if self.count >= HASH_COUNT {
            return false;
        }
        self.digests[self.count] = Some(d);
        self.count += 1;
        true
    }
}

impl<'a> Unmarshal<'a> for TpmlDigestValues<'a> {
    fn unmarshal(r: &mut Reader<'a>) -> Result<Self, Rc> {
        let count = r.u32()? as usize;
        if count > HASH_COUNT {
            return Err(Rc::Size);
        }
        let mut out = TpmlDigestValues {
            count,
            ..Default::default()
        };
        for slot in out.digests.iter_mut().take(count) {
            *slot = Some(r.read()?);
        }
        Ok(out)
    }
}

impl Marshal for TpmlDigestValues<'_> {
    fn marshal(&self, w: &mut Writer<'_>) -> Result<(), WriteError> {
        w.u32(self.count as u32)?;
        self.iter().try_for_each(|d| w.write(d))
    }
}

/// `TPMS_PCR_SELECTION` (table 93). `pcr_select` holds `sizeofSelect` octets.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct TpmsPcrSelection {
    pub hash: HashAlg,
    pub size_of_select: u8,
    pub pcr_select: [u8; PCR_SELECT_MAX],
}

impl TpmsPcrSelection {
    /// True if PCR `n` is selected.
    pub fn is_selected(&self, n: usize) -> bool {
        n / 8 < self.size_of_select as usize && self.pcr_select[n / 8] & (1 << (n % 8)) != 0
    }

    /// Deselects PCR `n`.
    pub fn clear(&mut self, n: usize) {
        if n / 8 < PCR_SELECT_MAX {
            self.pcr_select[n / 8] &= !(1 << (n % 8));
        }
    }

    pub fn is_empty(&self) -> bool {
        self.pcr_select[..self.size_of_select as usize]
            .iter()
            .all(|&b| b == 0)
    }
}

impl<'a> Unmarshal<'a> for TpmsPcrSelection {
    fn unmarshal(r: &mut Reader<'a>) -> Result<Self, Rc> {
        let hash: HashAlg = r.read()?;
        let size_of_select = r.u8()?;
        // Reference TPMS_PCR_SELECTION_Unmarshal: below PCR_SELECT_MIN or above PCR_SELECT_MAX
        // is TPM_RC_VALUE.
        if (size_of_select as usize) < crate::constants::PCR_SELECT_MIN
            || size_of_select as usize > PCR_SELECT_MAX
        {
            return Err(Rc::Value);
        }
        let mut pcr_select = [0u8; PCR_SELECT_MAX];
        pcr_select[..size_of_select as usize].copy_from_slice(r.bytes(size_of_select as usize)?);
        Ok(TpmsPcrSelection {
            hash,
            size_of_select,
            pcr_select,
        })
    }
}

impl Marshal for TpmsPcrSelection {
    fn marshal(&self, w: &mut Writer<'_>) -> Result<(), WriteError> {
        w.write(&self.hash)?;
        w.u8(self.size_of_select)?;
        w.bytes(&self.pcr_select[..self.size_of_select as usize])
    }
}

/// `TPML_PCR_SELECTION` (table 111): at most [`HASH_COUNT`] selections.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct TpmlPcrSelection {
    pub count: usize,
    pub selections: [Option<TpmsPcrSelection>; HASH_COUNT],
}

impl TpmlPcrSelection {
    pub fn iter(&self) -> impl Iterator<Item = &TpmsPcrSelection> {
        self.selections[..self.count].iter().flatten()
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut TpmsPcrSelection> {
        self.selections[..self.count].iter_mut().flatten()
    }

    /// Appends a selection; `false` if the list is full.
    pub fn push(&mut self, s: TpmsPcrSelection) -> bool {
        if self.count >= HASH_COUNT {
            return false;
        }
        self.selections[self.count] = Some(s);
        self.count += 1;
        true
    }
}

impl<'a> Unmarshal<'a> for TpmlPcrSelection {
    fn unmarshal(r: &mut Reader<'a>) -> Result<Self, Rc> {
        let count = r.u32()? as usize;
        if count > HASH_COUNT {
            return Err(Rc::Size);
        }
        let mut out = TpmlPcrSelection {
            count,
            ..Default::default()
        };
        for slot in out.selections.iter_mut().take(count) {
            *slot = Some(r.read()?);
        }
        Ok(out)
    }
}

impl Marshal for TpmlPcrSelection {
    fn marshal(&self, w: &mut Writer<'_>) -> Result<(), WriteError> {
        w.u32(self.count as u32)?;
        self.iter().try_for_each(|s| w.write(s))
    }
}

/// `TPMS_AUTH_COMMAND` (table 124): one session of a command's authorization area.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct TpmsAuthCommand<'a> {
    pub session_handle: Handle,
    pub nonce: Tpm2bNonce<'a>,
    pub attributes: TpmaSession,
    pub hmac: Tpm2bAuth<'a>,
}

impl<'a> Unmarshal<'a> for TpmsAuthCommand<'a> {
    fn unmarshal(r: &mut Reader<'a>) -> Result<Self, Rc> {
        // TPMI_SH_AUTH_SESSION+: an HMAC or policy session, or TPM_RS_PW.
        let session_handle = Handle(r.u32()?);
        let ht = session_handle.ht();
        if session_handle != Handle::Pw
            && ht != crate::constants::ht::HmacSession
            && ht != crate::constants::ht::PolicySession
        {
            return Err(Rc::Value);
        }
        Ok(TpmsAuthCommand {
            session_handle,
            nonce: r.read()?,
            attributes: r.read()?,
            hmac: r.read()?,
        })
    }
}

impl Marshal for TpmsAuthCommand<'_> {
    fn marshal(&self, w: &mut Writer<'_>) -> Result<(), WriteError> {
        w.write(&self.session_handle)?;
        w.write(&self.nonce)?;
        w.write(&self.attributes)?;
        w.write(&self.hmac)
    }
}

/// `TPMS_AUTH_RESPONSE` (table 125).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct TpmsAuthResponse<'a> {
    pub nonce: Tpm2bNonce<'a>,
    pub attributes: TpmaSession,
    pub hmac: Tpm2bAuth<'a>,
}

impl<'a> Unmarshal<'a> for TpmsAuthResponse<'a> {
    fn unmarshal(r: &mut Reader<'a>) -> Result<Self, Rc> {
        Ok(TpmsAuthResponse {
            nonce: r.read()?,
            attributes: r.read()?,
            hmac: r.read()?,
        })
    }
}

impl Marshal for TpmsAuthResponse<'_> {
    fn marshal(&self, w: &mut Writer<'_>) -> Result<(), WriteError> {
        w.write(&self.nonce)?;
        w.write(&self.attributes)?;
        w.write(&self.hmac)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tpm2b_over_max_is_size() {
        let mut b = [0u8; 70];
        b[1] = 65;
        assert_eq!(Tpm2bDigest::unmarshal(&mut Reader::new(&b)), Err(Rc::Size));
        b[1] = 64;
        assert_eq!(
            Tpm2bDigest::unmarshal(&mut Reader::new(&b)).unwrap().len(),
            64
        );
    }

    #[test]
    fn name_takes_the_padded_size_of_tpmu_name() {
        let mut b = [0u8; 72];
        b[1] = 68;
        assert_eq!(
            Tpm2bName::unmarshal(&mut Reader::new(&b)).unwrap().len(),
            68
        );
        b[1] = 69;
        assert_eq!(Tpm2bName::unmarshal(&mut Reader::new(&b)), Err(Rc::Size));
        b[1] = 67;
        assert_eq!(Tpm2bData::unmarshal(&mut Reader::new(&b)), Err(Rc::Size));
    }

    #[test]
    fn pcr_selection_rejects_unknown_hash_and_bad_size() {
        let sel = [0x00, 0x0B, 0x03, 0xFF, 0xFF, 0xFF];
        let s = TpmsPcrSelection::unmarshal(&mut Reader::new(&sel)).unwrap();
        assert!(s.is_selected(0) && s.is_selected(23));
        assert_eq!(
            TpmsPcrSelection::unmarshal(&mut Reader::new(&[0x00, 0x99, 3, 0, 0, 0])),
            Err(Rc::Hash)
        );
        assert_eq!(
            TpmsPcrSelection::unmarshal(&mut Reader::new(&[0x00, 0x0B, 4, 0, 0, 0, 0])),
            Err(Rc::Value)
        );
    }

    #[test]
    fn auth_command_rejects_non_session_handle() {
        let b = [0x80, 0, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(
            TpmsAuthCommand::unmarshal(&mut Reader::new(&b)),
            Err(Rc::Value)
        );
        let b = [0x40, 0, 0, 9, 0, 0, 1, 0, 0];
        let a = TpmsAuthCommand::unmarshal(&mut Reader::new(&b)).unwrap();
        assert_eq!(a.session_handle, Handle::Pw);
    }
}
