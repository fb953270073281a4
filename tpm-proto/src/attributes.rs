//! Attribute bitfields of TPM 2.0 Part 2, section 8.

use crate::marshal::{Marshal, Reader, Unmarshal, WriteError, Writer};
use crate::rc::Rc;
use bitflags::bitflags;

macro_rules! wire_flags {
    ($name:ident($int:ident), reserved = $reserved:expr) => {
        impl $name {
            /// Bits the spec reserves; a value with any of them set is `TPM_RC_RESERVED_BITS`.
            pub const RESERVED: $int = $reserved;
        }
        impl<'a> Unmarshal<'a> for $name {
            // Some attributes reserve no bits (`RESERVED` = 0); the check stays uniform.
            #[allow(clippy::bad_bit_mask)]
            fn unmarshal(r: &mut Reader<'a>) -> Result<Self, Rc> {
                let v: $int = r.read()?;
                if v & Self::RESERVED != 0 {
                    return Err(Rc::ReservedBits);
                }
                Ok($name::from_bits_retain(v))
            }
        }
        impl Marshal for $name {
            fn marshal(&self, w: &mut Writer<'_>) -> Result<(), WriteError> {
                self.bits().marshal(w)
            }
        }
    };
}

bitflags! {
    /// `TPMA_ALGORITHM` (Part 2, table 31).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct TpmaAlgorithm: u32 {
        const ASYMMETRIC = 1 << 0;
        const SYMMETRIC = 1 << 1;
        const HASH = 1 << 2;
        const OBJECT = 1 << 3;
        const SIGNING = 1 << 8;
        const ENCRYPTING = 1 << 9;
        const METHOD = 1 << 10;
    }
}
wire_flags!(TpmaAlgorithm(u32), reserved = 0xFFFF_F8F0);

bitflags! {
    /// `TPMA_OBJECT` (Part 2, table 32). `firmwareLimited` and `svnLimited` (bits 8, 9, added in
    /// revision 1.83) are not implemented and unmarshal as reserved, as in libtpms.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct TpmaObject: u32 {
        const FIXED_TPM = 1 << 1;
        const ST_CLEAR = 1 << 2;
        const FIXED_PARENT = 1 << 4;
        const SENSITIVE_DATA_ORIGIN = 1 << 5;
        const USER_WITH_AUTH = 1 << 6;
        const ADMIN_WITH_POLICY = 1 << 7;
        const NO_DA = 1 << 10;
        const ENCRYPTED_DUPLICATION = 1 << 11;
        const RESTRICTED = 1 << 16;
        const DECRYPT = 1 << 17;
        const SIGN_ENCRYPT = 1 << 18;
        const X509_SIGN = 1 << 19;
    }
}
wire_flags!(TpmaObject(u32), reserved = 0xFFF0_F309);

bitflags! {
    /// `TPMA_SESSION` (Part 2, table 33).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct TpmaSession: u8 {
        const CONTINUE_SESSION = 1 << 0;
        const AUDIT_EXCLUSIVE = 1 << 1;
        const AUDIT_RESET = 1 << 2;
        const DECRYPT = 1 << 5;
        const ENCRYPT = 1 << 6;
        const AUDIT = 1 << 7;
    }
}
wire_flags!(TpmaSession(u8), reserved = 0x18);

bitflags! {
    /// `TPMA_LOCALITY` (Part 2, table 34).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct TpmaLocality: u8 {
        const ZERO = 1 << 0;
        const ONE = 1 << 1;
        const TWO = 1 << 2;
        const THREE = 1 << 3;
        const FOUR = 1 << 4;
        const EXTENDED = 0xE0;
    }
}
wire_flags!(TpmaLocality(u8), reserved = 0);

bitflags! {
    /// `TPMA_PERMANENT` (Part 2, table 35).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct TpmaPermanent: u32 {
        const OWNER_AUTH_SET = 1 << 0;
        const ENDORSEMENT_AUTH_SET = 1 << 1;
        const LOCKOUT_AUTH_SET = 1 << 2;
        const DISABLE_CLEAR = 1 << 8;
        const IN_LOCKOUT = 1 << 9;
        const TPM_GENERATED_EPS = 1 << 10;
    }
}
wire_flags!(TpmaPermanent(u32), reserved = 0);

bitflags! {
    /// `TPMA_STARTUP_CLEAR` (Part 2, table 36).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct TpmaStartupClear: u32 {
        const PH_ENABLE = 1 << 0;
        const SH_ENABLE = 1 << 1;
        const EH_ENABLE = 1 << 2;
        const PH_ENABLE_NV = 1 << 3;
        const ORDERLY = 1 << 31;
    }
}
wire_flags!(TpmaStartupClear(u32), reserved = 0);

bitflags! {
    /// `TPMA_MEMORY` (Part 2, table 37).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct TpmaMemory: u32 {
        const SHARED_RAM = 1 << 0;
        const SHARED_NV = 1 << 1;
        const OBJECT_COPIED_TO_RAM = 1 << 2;
    }
}
wire_flags!(TpmaMemory(u32), reserved = 0);

bitflags! {
    /// `TPMA_CC` (Part 2, table 38). `commandIndex` is bits 0..=15, `cHandles` bits 25..=27.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct TpmaCc: u32 {
        const COMMAND_INDEX = 0xFFFF;
        const NV = 1 << 22;
        const EXTENSIVE = 1 << 23;
        const FLUSHED = 1 << 24;
        const C_HANDLES = 0b111 << 25;
        const R_HANDLE = 1 << 28;
        const V = 1 << 29;
    }
}
wire_flags!(TpmaCc(u32), reserved = 0);

bitflags! {
    /// `TPMA_MODES` (Part 2, table 39).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct TpmaModes: u32 {
        const FIPS_140_2 = 1 << 0;
        const FIPS_140_3 = 1 << 1;
        const FIPS_140_3_INDICATOR = 0b11 << 2;
    }
}
wire_flags!(TpmaModes(u32), reserved = 0);

bitflags! {
    /// `TPMA_NV` (Part 2, table 233). `TPM_NT` is bits 4..=7.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct TpmaNv: u32 {
        const PPWRITE = 1 << 0;
        const OWNERWRITE = 1 << 1;
        const AUTHWRITE = 1 << 2;
        const POLICYWRITE = 1 << 3;
        const TPM_NT = 0xF << 4;
        const POLICY_DELETE = 1 << 10;
        const WRITELOCKED = 1 << 11;
        const WRITEALL = 1 << 12;
        const WRITEDEFINE = 1 << 13;
        const WRITE_STCLEAR = 1 << 14;
        const GLOBALLOCK = 1 << 15;
        const PPREAD = 1 << 16;
        const OWNERREAD = 1 << 17;
        const AUTHREAD = 1 << 18;
        const POLICYREAD = 1 << 19;
        const NO_DA = 1 << 25;
        const ORDERLY = 1 << 26;
        const CLEAR_STCLEAR = 1 << 27;
        const READLOCKED = 1 << 28;
        const WRITTEN = 1 << 29;
        const PLATFORMCREATE = 1 << 30;
        const READ_STCLEAR = 1 << 31;
    }
}
wire_flags!(TpmaNv(u32), reserved = 0x01F0_0300);

impl TpmaNv {
    /// `TPM_NT`: the index type (Part 2, table 232).
    pub const fn nt(self) -> u8 {
        ((self.bits() >> 4) & 0xF) as u8
    }
}

/// `TPM_NT` values (Part 2, table 232).
pub mod nt {
    pub const ORDINARY: u8 = 0x0;
    pub const COUNTER: u8 = 0x1;
    pub const BITS: u8 = 0x2;
    pub const EXTEND: u8 = 0x4;
    pub const PIN_FAIL: u8 = 0x8;
    pub const PIN_PASS: u8 = 0x9;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_session_bits_are_rejected() {
        let mut r = Reader::new(&[0x08]);
        assert_eq!(TpmaSession::unmarshal(&mut r), Err(Rc::ReservedBits));
        let mut r = Reader::new(&[0x61]);
        assert_eq!(
            TpmaSession::unmarshal(&mut r),
            Ok(TpmaSession::CONTINUE_SESSION | TpmaSession::DECRYPT | TpmaSession::ENCRYPT)
        );
    }

    #[test]
    fn object_reserved_mask_leaves_defined_bits() {
        let defined = TpmaObject::all().bits();
        assert_eq!(defined & TpmaObject::RESERVED, 0);
        assert_eq!(defined | TpmaObject::RESERVED, 0xFFFF_FFFF);
    }
}
