//! Attestation structures and creation data (Part 2, sections 10.11–10.12 and 15; tables
//! 2:111–2:123, 2:212–2:213).

use crate::constants::{AlgId, TPM_GENERATED_VALUE};
use crate::marshal::{Marshal, Reader, Unmarshal, WriteError, Writer};
use crate::rc::Rc;
use crate::structures::{
    read_sized, Tpm2bData, Tpm2bDigest, Tpm2bMaxNvBuffer, Tpm2bName, TpmiStAttest,
    TpmlPcrSelection, MAX_BUFFER, MAX_DIGEST_SIZE,
};
use crate::TpmaLocality;

/// `TPMS_CLOCK_INFO` (table 2:111). `safe` is a `TPMI_YES_NO` (`TPM_RC_VALUE` unless 0 or 1).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct TpmsClockInfo {
    pub clock: u64,
    pub reset_count: u32,
    pub restart_count: u32,
    pub safe: bool,
}

impl<'a> Unmarshal<'a> for TpmsClockInfo {
    fn unmarshal(r: &mut Reader<'a>) -> Result<Self, Rc> {
        Ok(TpmsClockInfo {
            clock: r.read()?,
            reset_count: r.read()?,
            restart_count: r.read()?,
            safe: r.read()?,
        })
    }
}

impl Marshal for TpmsClockInfo {
    fn marshal(&self, w: &mut Writer<'_>) -> Result<(), WriteError> {
        w.u64(self.clock)?;
        w.u32(self.reset_count)?;
        w.u32(self.restart_count)?;
        w.write(&self.safe)
    }
}

/// `TPMS_TIME_INFO` (table 2:112).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct TpmsTimeInfo {
    pub time: u64,
    pub clock_info: TpmsClockInfo,
}

impl<'a> Unmarshal<'a> for TpmsTimeInfo {
    fn unmarshal(r: &mut Reader<'a>) -> Result<Self, Rc> {
        Ok(TpmsTimeInfo {
            time: r.read()?,
            clock_info: r.read()?,
        })
    }
}

impl Marshal for TpmsTimeInfo {
    fn marshal(&self, w: &mut Writer<'_>) -> Result<(), WriteError> {
        w.u64(self.time)?;
        w.write(&self.clock_info)
    }
}

/// `TPMS_TIME_ATTEST_INFO` (table 2:113).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct TpmsTimeAttestInfo {
    pub time: TpmsTimeInfo,
    pub firmware_version: u64,
}

impl<'a> Unmarshal<'a> for TpmsTimeAttestInfo {
    fn unmarshal(r: &mut Reader<'a>) -> Result<Self, Rc> {
        Ok(TpmsTimeAttestInfo {
            time: r.read()?,
            firmware_version: r.read()?,
        })
    }
}

impl Marshal for TpmsTimeAttestInfo {
    fn marshal(&self, w: &mut Writer<'_>) -> Result<(), WriteError> {
        w.write(&self.time)?;
        w.u64(self.firmware_version)
    }
}

/// Defines a structure whose fields are each read and written in order with their own
/// `Unmarshal`/`Marshal`.
macro_rules! plain_struct {
    ($(#[$m:meta])* $name:ident<'a> { $($(#[$fm:meta])* $f:ident: $t:ty),* $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, PartialEq, Eq, Debug)]
        pub struct $name<'a> {
            $($(#[$fm])* pub $f: $t,)*
        }

        impl<'a> Unmarshal<'a> for $name<'a> {
            fn unmarshal(r: &mut Reader<'a>) -> Result<Self, Rc> {
                Ok($name { $($f: r.read()?,)* })
            }
        }

        impl Marshal for $name<'_> {
            fn marshal(&self, w: &mut Writer<'_>) -> Result<(), WriteError> {
                $(w.write(&self.$f)?;)*
                Ok(())
            }
        }
    };
}

plain_struct!(
    /// `TPMS_CERTIFY_INFO` (table 2:114).
    TpmsCertifyInfo<'a> { name: Tpm2bName<'a>, qualified_name: Tpm2bName<'a> }
);
plain_struct!(
    /// `TPMS_QUOTE_INFO` (table 2:115).
    TpmsQuoteInfo<'a> { pcr_select: TpmlPcrSelection, pcr_digest: Tpm2bDigest<'a> }
);
plain_struct!(
    /// `TPMS_COMMAND_AUDIT_INFO` (table 2:116). `digestAlg` is a plain `TPM_ALG_ID`.
    TpmsCommandAuditInfo<'a> {
        audit_counter: u64,
        digest_alg: AlgId,
        audit_digest: Tpm2bDigest<'a>,
        command_digest: Tpm2bDigest<'a>,
    }
);
plain_struct!(
    /// `TPMS_SESSION_AUDIT_INFO` (table 2:117).
    TpmsSessionAuditInfo<'a> { exclusive_session: bool, session_digest: Tpm2bDigest<'a> }
);
plain_struct!(
    /// `TPMS_CREATION_INFO` (table 2:118).
    TpmsCreationInfo<'a> { object_name: Tpm2bName<'a>, creation_hash: Tpm2bDigest<'a> }
);
plain_struct!(
    /// `TPMS_NV_CERTIFY_INFO` (table 2:119).
    TpmsNvCertifyInfo<'a> {
        index_name: Tpm2bName<'a>,
        offset: u16,
        nv_contents: Tpm2bMaxNvBuffer<'a>,
    }
);
plain_struct!(
    /// `TPMS_NV_DIGEST_CERTIFY_INFO` (Part 2 rev 1.59, 10.12): what `TPM2_NV_Certify` signs
    /// when asked for neither a size nor an offset — the digest of the whole index data.
    TpmsNvDigestCertifyInfo<'a> { index_name: Tpm2bName<'a>, nv_digest: Tpm2bDigest<'a> }
);
plain_struct!(
    /// `TPMS_CREATION_DATA` (table 2:212): what `TPM2_Create` records about the creation
    /// environment. `parentNameAlg` is a plain `TPM_ALG_ID` (NULL for a primary key).
    TpmsCreationData<'a> {
        pcr_select: TpmlPcrSelection,
        pcr_digest: Tpm2bDigest<'a>,
        locality: TpmaLocality,
        parent_name_alg: AlgId,
        parent_name: Tpm2bName<'a>,
        parent_qualified_name: Tpm2bName<'a>,
        outside_info: Tpm2bData<'a>,
    }
);

/// `TPMU_ATTEST` (table 2:121), keyed by `TPMI_ST_ATTEST`. Marshals the union member only.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum TpmuAttest<'a> {
    Certify(TpmsCertifyInfo<'a>),
    Creation(TpmsCreationInfo<'a>),
    Quote(TpmsQuoteInfo<'a>),
    CommandAudit(TpmsCommandAuditInfo<'a>),
    SessionAudit(TpmsSessionAuditInfo<'a>),
    Time(TpmsTimeAttestInfo),
    Nv(TpmsNvCertifyInfo<'a>),
    NvDigest(TpmsNvDigestCertifyInfo<'a>),
}

impl<'a> TpmuAttest<'a> {
    pub const fn type_(&self) -> TpmiStAttest {
        match self {
            TpmuAttest::Certify(_) => TpmiStAttest::Certify,
            TpmuAttest::Creation(_) => TpmiStAttest::Creation,
            TpmuAttest::Quote(_) => TpmiStAttest::Quote,
            TpmuAttest::CommandAudit(_) => TpmiStAttest::CommandAudit,
            TpmuAttest::SessionAudit(_) => TpmiStAttest::SessionAudit,
            TpmuAttest::Time(_) => TpmiStAttest::Time,
            TpmuAttest::Nv(_) => TpmiStAttest::Nv,
            TpmuAttest::NvDigest(_) => TpmiStAttest::NvDigest,
        }
    }

    pub fn unmarshal_for(r: &mut Reader<'a>, type_: TpmiStAttest) -> Result<Self, Rc> {
        Ok(match type_ {
            TpmiStAttest::Certify => TpmuAttest::Certify(r.read()?),
            TpmiStAttest::Creation => TpmuAttest::Creation(r.read()?),
            TpmiStAttest::Quote => TpmuAttest::Quote(r.read()?),
            TpmiStAttest::CommandAudit => TpmuAttest::CommandAudit(r.read()?),
            TpmiStAttest::SessionAudit => TpmuAttest::SessionAudit(r.read()?),
            TpmiStAttest::Time => TpmuAttest::Time(r.read()?),
            TpmiStAttest::Nv => TpmuAttest::Nv(r.read()?),
            TpmiStAttest::NvDigest => TpmuAttest::NvDigest(r.read()?),
        })
    }
}

impl Marshal for TpmuAttest<'_> {
    fn marshal(&self, w: &mut Writer<'_>) -> Result<(), WriteError> {
        match self {
            TpmuAttest::Certify(a) => w.write(a),
            TpmuAttest::Creation(a) => w.write(a),
            TpmuAttest::Quote(a) => w.write(a),
            TpmuAttest::CommandAudit(a) => w.write(a),
            TpmuAttest::SessionAudit(a) => w.write(a),
            TpmuAttest::Time(a) => w.write(a),
            TpmuAttest::Nv(a) => w.write(a),
            TpmuAttest::NvDigest(a) => w.write(a),
        }
    }
}

/// `TPMS_ATTEST` (table 2:122): what the TPM signs in `TPM2_Quote`, `TPM2_Certify`, ... . The
/// type is that of `attested`. `magic` is kept as read: the reference does not check it on
/// unmarshal, and a verifier must compare it with [`TPM_GENERATED_VALUE`] itself
/// ([`TpmsAttest::is_tpm_generated`]).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct TpmsAttest<'a> {
    pub magic: u32,
    pub qualified_signer: Tpm2bName<'a>,
    pub extra_data: Tpm2bData<'a>,
    pub clock_info: TpmsClockInfo,
    pub firmware_version: u64,
    pub attested: TpmuAttest<'a>,
}

impl TpmsAttest<'_> {
    pub const fn type_(&self) -> TpmiStAttest {
        self.attested.type_()
    }

    pub const fn is_tpm_generated(&self) -> bool {
        self.magic == TPM_GENERATED_VALUE
    }
}

impl<'a> Unmarshal<'a> for TpmsAttest<'a> {
    fn unmarshal(r: &mut Reader<'a>) -> Result<Self, Rc> {
        let magic = r.u32()?;
        let type_: TpmiStAttest = r.read()?;
        Ok(TpmsAttest {
            magic,
            qualified_signer: r.read()?,
            extra_data: r.read()?,
            clock_info: r.read()?,
            firmware_version: r.read()?,
            attested: TpmuAttest::unmarshal_for(r, type_)?,
        })
    }
}

impl Marshal for TpmsAttest<'_> {
    fn marshal(&self, w: &mut Writer<'_>) -> Result<(), WriteError> {
        w.u32(self.magic)?;
        w.write(&self.type_())?;
        w.write(&self.qualified_signer)?;
        w.write(&self.extra_data)?;
        w.write(&self.clock_info)?;
        w.u64(self.firmware_version)?;
        w.write(&self.attested)
    }
}

/// The largest marshalled `TPMS_ATTEST`: the header plus an NV certification of a full
/// `TPM2B_MAX_NV_BUFFER`, the largest `TPMU_ATTEST` member.
pub const MAX_ATTEST_SIZE: usize = 4
    + 2
    + 2 * (2 + MAX_DIGEST_SIZE + 2)
    + 17
    + 8
    + (2 + MAX_DIGEST_SIZE + 2)
    + 2
    + (2 + MAX_BUFFER);

tpm2b!(/// `TPM2B_ATTEST` (table 2:123): a marshalled `TPMS_ATTEST`, kept as bytes because the
    /// signature is over exactly these bytes. [`Tpm2bAttest::attest`] parses them.
    Tpm2bAttest, max = MAX_ATTEST_SIZE);

impl<'a> Tpm2bAttest<'a> {
    /// Parses the contents; trailing bytes are `TPM_RC_SIZE`.
    pub fn attest(&self) -> Result<TpmsAttest<'a>, Rc> {
        TpmsAttest::from_bytes(self.0)
    }
}

/// `TPM2B_CREATION_DATA` (table 2:213): size-prefixed; size 0 or a size that disagrees with the
/// contents is `TPM_RC_SIZE`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Tpm2bCreationData<'a> {
    pub creation_data: TpmsCreationData<'a>,
}

impl<'a> Unmarshal<'a> for Tpm2bCreationData<'a> {
    fn unmarshal(r: &mut Reader<'a>) -> Result<Self, Rc> {
        let creation_data = read_sized(r, false, |r| r.read())?.ok_or(Rc::Size)?;
        Ok(Tpm2bCreationData { creation_data })
    }
}

impl Marshal for Tpm2bCreationData<'_> {
    fn marshal(&self, w: &mut Writer<'_>) -> Result<(), WriteError> {
        w.sized_with(|w| w.write(&self.creation_data))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::constants::St;

    fn quote(buf: &mut [u8; 128], safe: u8, st: St) -> usize {
        let mut w = Writer::new(buf);
        w.u32(TPM_GENERATED_VALUE).unwrap();
        w.write(&st).unwrap();
        w.sized(&[1, 2]).unwrap(); // qualifiedSigner
        w.sized(&[3]).unwrap(); // extraData
        w.u64(7).unwrap();
        w.u32(1).unwrap();
        w.u32(2).unwrap();
        w.u8(safe).unwrap();
        w.u64(9).unwrap();
        w.u32(0).unwrap(); // empty TPML_PCR_SELECTION
        w.sized(&[0xAA; 32]).unwrap();
        w.len()
    }

    #[test]
    fn quote_attest_parses_and_round_trips() {
        let mut buf = [0u8; 128];
        let n = quote(&mut buf, 1, St::AttestQuote);
        let a = TpmsAttest::from_bytes(&buf[..n]).unwrap();
        assert!(a.is_tpm_generated() && a.clock_info.safe);
        assert_eq!(a.type_(), TpmiStAttest::Quote);
        let mut out = [0u8; 128];
        assert_eq!(a.to_bytes(&mut out), Ok(n));
        assert_eq!(out[..n], buf[..n]);
        let wrapped = Tpm2bAttest(&buf[..n]);
        assert_eq!(wrapped.attest(), Ok(a));
    }

    #[test]
    fn hostile_attest_fields_are_rejected() {
        let mut buf = [0u8; 128];
        let n = quote(&mut buf, 2, St::AttestQuote);
        assert_eq!(TpmsAttest::from_bytes(&buf[..n]), Err(Rc::Value));
        let n = quote(&mut buf, 1, St::Creation);
        assert_eq!(TpmsAttest::from_bytes(&buf[..n]), Err(Rc::Selector));
        let n = quote(&mut buf, 1, St::AttestQuote);
        assert_eq!(TpmsAttest::from_bytes(&buf[..n - 1]), Err(Rc::Insufficient));
        assert_eq!(Tpm2bAttest(&buf[..n + 1]).attest(), Err(Rc::Size));
    }

    #[test]
    fn nv_digest_attest_round_trips() {
        let name = [0u8, 0x0B, 7, 7];
        let digest = [0x5Au8; 32];
        let a = TpmsAttest {
            magic: TPM_GENERATED_VALUE,
            qualified_signer: Tpm2bName(&[0x40, 0, 0, 7]),
            extra_data: Tpm2bData(b"q"),
            clock_info: TpmsClockInfo::default(),
            firmware_version: 3,
            attested: TpmuAttest::NvDigest(TpmsNvDigestCertifyInfo {
                index_name: Tpm2bName(&name),
                nv_digest: Tpm2bDigest(&digest),
            }),
        };
        let mut buf = [0u8; 128];
        let n = a.to_bytes(&mut buf).unwrap();
        assert_eq!(buf[4..6], [0x80, 0x1C]);
        assert_eq!(buf[n - 34..n - 32], [0, 32]);
        assert_eq!(TpmsAttest::from_bytes(&buf[..n]), Ok(a));
    }

    #[test]
    fn creation_data_size_checks() {
        assert_eq!(Tpm2bCreationData::from_bytes(&[0, 0]), Err(Rc::Size));
        // pcrSelect(0) pcrDigest() locality algNULL parentName() qualified() outside()
        let body = [0, 0, 0, 0, 0, 0, 1, 0x00, 0x10, 0, 0, 0, 0, 0, 0];
        let mut buf = [0u8; 17];
        buf[1] = body.len() as u8;
        buf[2..].copy_from_slice(&body);
        let c = Tpm2bCreationData::from_bytes(&buf).unwrap();
        assert_eq!(c.creation_data.parent_name_alg, AlgId::Null);
        buf[1] += 1;
        assert_eq!(
            Tpm2bCreationData::unmarshal(&mut Reader::new(&buf)),
            Err(Rc::Size)
        );
    }
}
