//! Interface types over handles and small enumerations (Part 2, section 9, tables 2:39–2:59 and
//! 2:68, 2:120 in the reference's numbering): a `TPMI_*` is its base type restricted to the values
//! the command may take. A value outside the set is rejected at unmarshal time with the reference
//! code, almost always `TPM_RC_VALUE`.
//!
//! The transient and session handle ranges end where the reference's `TRANSIENT_LAST`,
//! `HMAC_SESSION_LAST` and `POLICY_SESSION_LAST` end, which depend on [`MAX_LOADED_OBJECTS`] and
//! [`MAX_ACTIVE_SESSIONS`]: a transient handle past the last slot is `TPM_RC_VALUE` at unmarshal,
//! not `TPM_RC_REFERENCE_H0` later, exactly as in the reference.

use crate::constants::{Handle, Se, St, PCR_COUNT};
use crate::marshal::{Marshal, Reader, Unmarshal, UnmarshalNullable, WriteError, Writer};
use crate::rc::Rc;

/// Transient object slots (`MAX_LOADED_OBJECTS`, 3 in the reference and libtpms). The engine's
/// object table must have exactly this many slots for the handle checks here to agree with it.
pub const MAX_LOADED_OBJECTS: u32 = 3;
/// Session slots (`MAX_ACTIVE_SESSIONS`, 64 in the reference and libtpms).
pub const MAX_ACTIVE_SESSIONS: u32 = 64;

/// `PCR_LAST`.
pub const PCR_LAST: u32 = PCR_COUNT as u32 - 1;
/// `TRANSIENT_FIRST`.
pub const TRANSIENT_FIRST: u32 = 0x8000_0000;
/// `TRANSIENT_LAST` = `TRANSIENT_FIRST + MAX_LOADED_OBJECTS - 1`.
pub const TRANSIENT_LAST: u32 = TRANSIENT_FIRST + MAX_LOADED_OBJECTS - 1;
/// `PERSISTENT_FIRST`.
pub const PERSISTENT_FIRST: u32 = 0x8100_0000;
/// `PERSISTENT_LAST`.
pub const PERSISTENT_LAST: u32 = PERSISTENT_FIRST + 0x00FF_FFFF;
/// `NV_INDEX_FIRST`.
pub const NV_INDEX_FIRST: u32 = 0x0100_0000;
/// `NV_INDEX_LAST`.
pub const NV_INDEX_LAST: u32 = NV_INDEX_FIRST + 0x00FF_FFFF;
/// `HMAC_SESSION_FIRST`.
pub const HMAC_SESSION_FIRST: u32 = 0x0200_0000;
/// `HMAC_SESSION_LAST`.
pub const HMAC_SESSION_LAST: u32 = HMAC_SESSION_FIRST + MAX_ACTIVE_SESSIONS - 1;
/// `POLICY_SESSION_FIRST`.
pub const POLICY_SESSION_FIRST: u32 = 0x0300_0000;
/// `POLICY_SESSION_LAST`.
pub const POLICY_SESSION_LAST: u32 = POLICY_SESSION_FIRST + MAX_ACTIVE_SESSIONS - 1;

const fn in_range(h: u32, first: u32, last: u32) -> bool {
    h >= first && h <= last
}
const fn is_transient(h: u32) -> bool {
    in_range(h, TRANSIENT_FIRST, TRANSIENT_LAST)
}
const fn is_persistent(h: u32) -> bool {
    in_range(h, PERSISTENT_FIRST, PERSISTENT_LAST)
}
const fn is_nv(h: u32) -> bool {
    in_range(h, NV_INDEX_FIRST, NV_INDEX_LAST)
}
const fn is_hmac_session(h: u32) -> bool {
    in_range(h, HMAC_SESSION_FIRST, HMAC_SESSION_LAST)
}
const fn is_policy_session(h: u32) -> bool {
    in_range(h, POLICY_SESSION_FIRST, POLICY_SESSION_LAST)
}
const fn is_one_of(h: u32, set: &[Handle]) -> bool {
    let mut i = 0;
    while i < set.len() {
        // infallible: `i < set.len()` (a `const fn` cannot use iterators).
        if set[i].0 == h {
            return true;
        }
        i += 1;
    }
    false
}

/// Defines a `TPMI_*` over `TPM_HANDLE`: a newtype whose unmarshal accepts the handles `ok`
/// admits and, for the `+` form, also `$null`; anything else is `TPM_RC_VALUE`.
macro_rules! handle_interface {
    ($(#[$m:meta])* $name:ident, |$h:ident| $ok:expr) => {
        $(#[$m])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
        pub struct $name(pub Handle);

        impl $name {
            /// True if `h` is in this type's set (without the `+` value).
            pub const fn admits(h: Handle) -> bool {
                let $h = h.0;
                $ok
            }
        }

        impl<'a> Unmarshal<'a> for $name {
            fn unmarshal(r: &mut Reader<'a>) -> Result<Self, Rc> {
                let h = Handle(r.u32()?);
                if Self::admits(h) { Ok($name(h)) } else { Err(Rc::Value) }
            }
        }

        impl Marshal for $name {
            fn marshal(&self, w: &mut Writer<'_>) -> Result<(), WriteError> {
                w.u32(self.0 .0)
            }
        }
    };
    ($(#[$m:meta])* $name:ident, null = $null:expr, |$h:ident| $ok:expr) => {
        handle_interface!($(#[$m])* $name, |$h| $ok);

        impl<'a> UnmarshalNullable<'a> for $name {
            fn unmarshal_nullable(r: &mut Reader<'a>, allow_null: bool) -> Result<Self, Rc> {
                let h = Handle(r.u32()?);
                if Self::admits(h) || (allow_null && h == $null) {
                    Ok($name(h))
                } else {
                    Err(Rc::Value)
                }
            }
        }
    };
}

handle_interface!(
    /// `TPMI_DH_OBJECT` (table 2:40): a loaded transient object or a persistent object.
    TpmiDhObject, null = Handle::Null, |h| is_transient(h) || is_persistent(h)
);
handle_interface!(
    /// `TPMI_DH_PARENT` (table 2:41): an object or a hierarchy that can be a parent.
    TpmiDhParent, null = Handle::Null, |h| is_transient(h)
        || is_persistent(h)
        || is_one_of(h, &[Handle::Owner, Handle::Platform, Handle::Endorsement])
);
handle_interface!(
    /// `TPMI_DH_PERSISTENT` (table 2:42).
    TpmiDhPersistent, |h| is_persistent(h)
);
handle_interface!(
    /// `TPMI_DH_ENTITY` (table 2:43): anything that can carry an authorization value.
    TpmiDhEntity, null = Handle::Null, |h| is_one_of(
        h,
        &[Handle::Owner, Handle::Endorsement, Handle::Platform, Handle::Lockout]
    ) || is_transient(h)
        || is_persistent(h)
        || is_nv(h)
        || h <= PCR_LAST
        || in_range(h, Handle::Auth00.0, Handle::AuthFf.0)
);
handle_interface!(
    /// `TPMI_DH_PCR` (table 2:44).
    TpmiDhPcr, null = Handle::Null, |h| h <= PCR_LAST
);
handle_interface!(
    /// `TPMI_SH_AUTH_SESSION` (table 2:45): an HMAC or policy session; the `+` form also admits
    /// `TPM_RS_PW`.
    TpmiShAuthSession, null = Handle::Pw, |h| is_hmac_session(h) || is_policy_session(h)
);
handle_interface!(
    /// `TPMI_SH_HMAC` (table 2:46).
    TpmiShHmac, |h| is_hmac_session(h)
);
handle_interface!(
    /// `TPMI_SH_POLICY` (table 2:47).
    TpmiShPolicy, |h| is_policy_session(h)
);
handle_interface!(
    /// `TPMI_DH_CONTEXT` (table 2:48): what `TPM2_ContextSave` and `TPM2_FlushContext` take.
    TpmiDhContext, |h| is_hmac_session(h) || is_policy_session(h) || is_transient(h)
);
handle_interface!(
    /// `TPMI_DH_SAVED` (Part 2, section 9.8.2): the handle in a saved context, a session or one of
    /// the three context-save handles 0x80000000 (object), 0x80000001 (sequence) and 0x80000002
    /// (`stClear` object).
    TpmiDhSaved, |h| is_hmac_session(h)
        || is_policy_session(h)
        || h == 0x8000_0000
        || h == 0x8000_0001
        || h == 0x8000_0002
);
handle_interface!(
    /// `TPMI_RH_HIERARCHY` (table 2:49).
    TpmiRhHierarchy, null = Handle::Null, |h| is_one_of(
        h,
        &[Handle::Owner, Handle::Platform, Handle::Endorsement]
    )
);
handle_interface!(
    /// `TPMI_RH_ENABLES` (table 2:50): what `TPM2_HierarchyControl` can enable.
    TpmiRhEnables, null = Handle::Null, |h| is_one_of(
        h,
        &[Handle::Owner, Handle::Platform, Handle::Endorsement, Handle::PlatformNv]
    )
);
handle_interface!(
    /// `TPMI_RH_HIERARCHY_AUTH` (table 2:51).
    TpmiRhHierarchyAuth, |h| is_one_of(
        h,
        &[Handle::Owner, Handle::Platform, Handle::Endorsement, Handle::Lockout]
    )
);
handle_interface!(
    /// `TPMI_RH_HIERARCHY_POLICY`: the hierarchies, lockout, and the ACT handles.
    TpmiRhHierarchyPolicy, |h| is_one_of(
        h,
        &[Handle::Owner, Handle::Platform, Handle::Endorsement, Handle::Lockout]
    ) || in_range(h, Handle::ActFirst.0, Handle::ActLast.0)
);
handle_interface!(
    /// `TPMI_RH_PLATFORM` (table 2:52).
    TpmiRhPlatform, |h| h == Handle::Platform.0
);
handle_interface!(
    /// `TPMI_RH_OWNER` (table 2:53).
    TpmiRhOwner, null = Handle::Null, |h| h == Handle::Owner.0
);
handle_interface!(
    /// `TPMI_RH_ENDORSEMENT` (table 2:54).
    TpmiRhEndorsement, null = Handle::Null, |h| h == Handle::Endorsement.0
);
handle_interface!(
    /// `TPMI_RH_PROVISION` (table 2:55).
    TpmiRhProvision, |h| is_one_of(h, &[Handle::Owner, Handle::Platform])
);
handle_interface!(
    /// `TPMI_RH_CLEAR` (table 2:56).
    TpmiRhClear, |h| is_one_of(h, &[Handle::Lockout, Handle::Platform])
);
handle_interface!(
    /// `TPMI_RH_NV_AUTH` (table 2:57): who may authorize NV access.
    TpmiRhNvAuth, |h| is_one_of(h, &[Handle::Owner, Handle::Platform]) || is_nv(h)
);
handle_interface!(
    /// `TPMI_RH_LOCKOUT` (table 2:58).
    TpmiRhLockout, |h| h == Handle::Lockout.0
);
handle_interface!(
    /// `TPMI_RH_NV_INDEX` (table 2:59).
    TpmiRhNvIndex, |h| is_nv(h)
);

/// `TPMI_YES_NO` (table 2:39): a byte that must be 0 or 1 (`TPM_RC_VALUE` otherwise).
pub type TpmiYesNo = bool;

impl<'a> Unmarshal<'a> for bool {
    fn unmarshal(r: &mut Reader<'a>) -> Result<Self, Rc> {
        match r.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(Rc::Value),
        }
    }
}

impl Marshal for bool {
    fn marshal(&self, w: &mut Writer<'_>) -> Result<(), WriteError> {
        w.u8(u8::from(*self))
    }
}

/// The `TPM_ST` values the reference `TPM_ST_Unmarshal` accepts; any other is `TPM_RC_VALUE`.
const KNOWN_ST: [St; 16] = [
    St::RspCommand,
    St::Null,
    St::NoSessions,
    St::Sessions,
    St::AttestNv,
    St::AttestCommandAudit,
    St::AttestSessionAudit,
    St::AttestCertify,
    St::AttestQuote,
    St::AttestTime,
    St::AttestCreation,
    St::Creation,
    St::Verified,
    St::AuthSecret,
    St::Hashcheck,
    St::AuthSigned,
];

/// True for the `TPM_ST` values the reference `TPM_ST_Unmarshal` accepts.
pub(crate) fn is_known_st(st: St) -> bool {
    KNOWN_ST.contains(&st)
}

/// Reads a `TPM_ST` with the reference's check: an unlisted value is `TPM_RC_VALUE`.
pub(crate) fn read_st(r: &mut Reader<'_>) -> Result<St, Rc> {
    let st = St(r.u16()?);
    if is_known_st(st) {
        Ok(st)
    } else {
        Err(Rc::Value)
    }
}

/// `TPMI_ST_COMMAND_TAG` (table 2:68): `TPM_RC_BAD_TAG` for anything but the two command tags.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum TpmiStCommandTag {
    NoSessions,
    Sessions,
}

impl TpmiStCommandTag {
    pub const fn st(self) -> St {
        match self {
            TpmiStCommandTag::NoSessions => St::NoSessions,
            TpmiStCommandTag::Sessions => St::Sessions,
        }
    }
}

impl<'a> Unmarshal<'a> for TpmiStCommandTag {
    fn unmarshal(r: &mut Reader<'a>) -> Result<Self, Rc> {
        match read_st(r)? {
            St::NoSessions => Ok(TpmiStCommandTag::NoSessions),
            St::Sessions => Ok(TpmiStCommandTag::Sessions),
            _ => Err(Rc::BadTag),
        }
    }
}

impl Marshal for TpmiStCommandTag {
    fn marshal(&self, w: &mut Writer<'_>) -> Result<(), WriteError> {
        w.write(&self.st())
    }
}

/// `TPMI_ST_ATTEST` (table 2:120): the type of a `TPMS_ATTEST`. A known `TPM_ST` that is not
/// an attestation type is `TPM_RC_SELECTOR`, an unknown one `TPM_RC_VALUE` (libtpms).
/// `TPM_ST_ATTEST_NV_DIGEST` (Part 2 rev 1.59, 6.9) is an attestation type although libtpms'
/// `TPM_ST_Unmarshal` does not list it (a command tag 0x801C is `TPM_RC_VALUE` there).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum TpmiStAttest {
    Certify,
    Creation,
    Quote,
    CommandAudit,
    SessionAudit,
    Time,
    Nv,
    NvDigest,
}

impl TpmiStAttest {
    pub const ALL: [TpmiStAttest; 8] = [
        TpmiStAttest::Certify,
        TpmiStAttest::Creation,
        TpmiStAttest::Quote,
        TpmiStAttest::CommandAudit,
        TpmiStAttest::SessionAudit,
        TpmiStAttest::Time,
        TpmiStAttest::Nv,
        TpmiStAttest::NvDigest,
    ];

    pub const fn st(self) -> St {
        match self {
            TpmiStAttest::Certify => St::AttestCertify,
            TpmiStAttest::Creation => St::AttestCreation,
            TpmiStAttest::Quote => St::AttestQuote,
            TpmiStAttest::CommandAudit => St::AttestCommandAudit,
            TpmiStAttest::SessionAudit => St::AttestSessionAudit,
            TpmiStAttest::Time => St::AttestTime,
            TpmiStAttest::Nv => St::AttestNv,
            TpmiStAttest::NvDigest => St::AttestNvDigest,
        }
    }
}

impl<'a> Unmarshal<'a> for TpmiStAttest {
    fn unmarshal(r: &mut Reader<'a>) -> Result<Self, Rc> {
        let st = St(r.u16()?);
        if st == St::AttestNvDigest {
            return Ok(TpmiStAttest::NvDigest);
        }
        if !is_known_st(st) {
            return Err(Rc::Value);
        }
        TpmiStAttest::ALL
            .into_iter()
            .find(|a| a.st() == st)
            .ok_or(Rc::Selector)
    }
}

impl Marshal for TpmiStAttest {
    fn marshal(&self, w: &mut Writer<'_>) -> Result<(), WriteError> {
        w.write(&self.st())
    }
}

/// `TPM_SE` (table 2:21) as a checked parameter of `TPM2_StartAuthSession`: values other than
/// HMAC, policy and trial are `TPM_RC_VALUE`. ([`Se`] itself accepts any octet.)
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum TpmSe {
    Hmac,
    Policy,
    Trial,
}

impl TpmSe {
    pub const fn se(self) -> Se {
        match self {
            TpmSe::Hmac => Se::Hmac,
            TpmSe::Policy => Se::Policy,
            TpmSe::Trial => Se::Trial,
        }
    }
}

impl<'a> Unmarshal<'a> for TpmSe {
    fn unmarshal(r: &mut Reader<'a>) -> Result<Self, Rc> {
        match Se(r.u8()?) {
            Se::Hmac => Ok(TpmSe::Hmac),
            Se::Policy => Ok(TpmSe::Policy),
            Se::Trial => Ok(TpmSe::Trial),
            _ => Err(Rc::Value),
        }
    }
}

impl Marshal for TpmSe {
    fn marshal(&self, w: &mut Writer<'_>) -> Result<(), WriteError> {
        w.write(&self.se())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(v: u32) -> [u8; 4] {
        v.to_be_bytes()
    }

    #[test]
    fn dh_object_admits_loaded_slots_and_persistent_only() {
        assert!(TpmiDhObject::from_bytes(&h(0x8000_0000)).is_ok());
        assert!(TpmiDhObject::from_bytes(&h(TRANSIENT_LAST)).is_ok());
        assert_eq!(
            TpmiDhObject::from_bytes(&h(TRANSIENT_LAST + 1)),
            Err(Rc::Value)
        );
        assert!(TpmiDhObject::from_bytes(&h(0x81FF_FFFF)).is_ok());
        assert_eq!(
            TpmiDhObject::from_bytes(&h(Handle::Owner.0)),
            Err(Rc::Value)
        );
    }

    #[test]
    fn null_only_in_plus_form() {
        let null = h(Handle::Null.0);
        assert_eq!(TpmiRhHierarchy::from_bytes(&null), Err(Rc::Value));
        let mut r = Reader::new(&null);
        assert_eq!(
            TpmiRhHierarchy::unmarshal_nullable(&mut r, true),
            Ok(TpmiRhHierarchy(Handle::Null))
        );
        let mut r = Reader::new(&null);
        assert_eq!(
            TpmiRhHierarchy::unmarshal_nullable(&mut r, false),
            Err(Rc::Value)
        );
    }

    #[test]
    fn auth_session_plus_admits_password_not_null() {
        let pw = h(Handle::Pw.0);
        let mut r = Reader::new(&pw);
        assert!(TpmiShAuthSession::unmarshal_nullable(&mut r, true).is_ok());
        let null = h(Handle::Null.0);
        let mut r = Reader::new(&null);
        assert_eq!(
            TpmiShAuthSession::unmarshal_nullable(&mut r, true),
            Err(Rc::Value)
        );
        assert_eq!(
            TpmiShAuthSession::from_bytes(&h(HMAC_SESSION_LAST + 1)),
            Err(Rc::Value)
        );
    }

    #[test]
    fn entity_covers_pcrs_nv_and_auth_handles() {
        for ok in [
            0,
            PCR_LAST,
            NV_INDEX_FIRST,
            0x4000_0010,
            0x4000_010F,
            Handle::Lockout.0,
        ] {
            assert!(TpmiDhEntity::from_bytes(&h(ok)).is_ok(), "{ok:#x}");
        }
        for bad in [PCR_LAST + 1, 0x4000_0110, HMAC_SESSION_FIRST] {
            assert_eq!(
                TpmiDhEntity::from_bytes(&h(bad)),
                Err(Rc::Value),
                "{bad:#x}"
            );
        }
    }

    #[test]
    fn yes_no_rejects_other_octets() {
        assert_eq!(bool::from_bytes(&[1]), Ok(true));
        assert_eq!(bool::from_bytes(&[2]), Err(Rc::Value));
        assert_eq!(bool::from_bytes(&[]), Err(Rc::Insufficient));
    }

    #[test]
    fn command_tag_and_attest_type_codes() {
        assert_eq!(
            TpmiStCommandTag::from_bytes(&[0x80, 0x02]),
            Ok(TpmiStCommandTag::Sessions)
        );
        assert_eq!(TpmiStCommandTag::from_bytes(&[0x80, 0x00]), Err(Rc::BadTag));
        assert_eq!(TpmiStCommandTag::from_bytes(&[0x12, 0x34]), Err(Rc::Value));
        assert_eq!(
            TpmiStAttest::from_bytes(&[0x80, 0x18]),
            Ok(TpmiStAttest::Quote)
        );
        assert_eq!(TpmiStAttest::from_bytes(&[0x80, 0x21]), Err(Rc::Selector));
        assert_eq!(TpmSe::from_bytes(&[2]), Err(Rc::Value));
    }
}
