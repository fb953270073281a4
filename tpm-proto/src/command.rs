//! Command and response framing (Part 1, section 18; Part 3, section 5) and the command table.
//!
//! [`COMMANDS`] is the one description of every command this crate knows: its handle count, which
//! handles need authorization and in what role, whether it returns a handle, whether its first
//! parameter and first response parameter may be encrypted, and its `TPMA_CC` bits. Dispatch, the
//! `TPM_CAP_COMMANDS` answer and cpHash/rpHash computation all read this table.

use crate::constants::{Cc, St};
use crate::marshal::Reader;
use crate::rc::Rc;
use crate::{TpmaCc, HEADER_SIZE, MAX_COMMAND_SIZE};

/// The command header (Part 1, 18.2).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct CommandHeader {
    pub tag: St,
    pub size: u32,
    pub cc: Cc,
}

impl CommandHeader {
    /// Parses the header of a complete command buffer, with the checks of the reference
    /// `ParseHeader`: short buffer or size mismatch is `TPM_RC_COMMAND_SIZE`, a tag other than
    /// `TPM_ST_SESSIONS`/`TPM_ST_NO_SESSIONS` is `TPM_RC_BAD_TAG`.
    pub fn parse(cmd: &[u8]) -> Result<CommandHeader, Rc> {
        let mut r = Reader::new(cmd);
        let tag = r.u16().map_err(|_| Rc::CommandSize)?;
        let size = r.u32().map_err(|_| Rc::CommandSize)?;
        let cc = r.u32().map_err(|_| Rc::CommandSize)?;
        let tag = St(tag);
        if tag != St::Sessions && tag != St::NoSessions {
            return Err(Rc::BadTag);
        }
        if size as usize != cmd.len()
            || (size as usize) < HEADER_SIZE
            || cmd.len() > MAX_COMMAND_SIZE
        {
            return Err(Rc::CommandSize);
        }
        Ok(CommandHeader {
            tag,
            size,
            cc: Cc(cc),
        })
    }
}

/// What authorization a handle needs (Part 3, section 4.5: the `@` handles and their role).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum AuthRole {
    /// No authorization.
    None,
    /// `Auth Role: USER`.
    User,
    /// `Auth Role: ADMIN`.
    Admin,
    /// `Auth Role: DUP`.
    Dup,
}

/// One row of the command table.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct CommandDesc {
    pub cc: Cc,
    /// Number of handles in the handle area (`cHandles`).
    pub handles: u8,
    /// Authorization role of each handle; authorized handles always come first.
    pub auth: [AuthRole; 3],
    /// A handle is returned in the response handle area (`rHandle`).
    pub response_handle: bool,
    /// The first command parameter is a `TPM2B` and may be encrypted (`decrypt` session).
    pub decrypt: bool,
    /// The first response parameter is a `TPM2B` and may be encrypted (`encrypt` session).
    pub encrypt: bool,
    /// `TPMA_CC.nv`, `.extensive`, `.flushed`.
    pub nv: bool,
    pub extensive: bool,
    pub flushed: bool,
}

impl CommandDesc {
    /// Number of handles that need authorization.
    pub fn auth_handles(&self) -> usize {
        self.auth
            .iter()
            .take(self.handles as usize)
            .filter(|r| **r != AuthRole::None)
            .count()
    }

    /// The `TPMA_CC` of this command.
    pub fn attributes(&self) -> TpmaCc {
        let mut bits = self.cc.0 & 0xFFFF;
        bits |= (self.handles as u32 & 7) << 25;
        if self.nv {
            bits |= TpmaCc::NV.bits();
        }
        if self.extensive {
            bits |= TpmaCc::EXTENSIVE.bits();
        }
        if self.flushed {
            bits |= TpmaCc::FLUSHED.bits();
        }
        if self.response_handle {
            bits |= TpmaCc::R_HANDLE.bits();
        }
        TpmaCc::from_bits_retain(bits)
    }

    /// Looks up a command code in [`COMMANDS`].
    pub fn find(cc: Cc) -> Option<&'static CommandDesc> {
        COMMANDS
            .binary_search_by_key(&cc, |d| d.cc)
            .ok()
            .map(|i| &COMMANDS[i])
    }
}

use AuthRole::{Admin as A, Dup as D, None as N, User as U};

/// Flags column of the table: `n` nv, `x` extensive, `f` flushed, `r` rHandle, `d` decrypt,
/// `e` encrypt.
const fn row(cc: Cc, handles: u8, auth: [AuthRole; 3], flags: &str) -> CommandDesc {
    let f = flags.as_bytes();
    let mut d = CommandDesc {
        cc,
        handles,
        auth,
        response_handle: false,
        decrypt: false,
        encrypt: false,
        nv: false,
        extensive: false,
        flushed: false,
    };
    let mut i = 0;
    while i < f.len() {
        match f[i] {
            b'n' => d.nv = true,
            b'x' => d.extensive = true,
            b'f' => d.flushed = true,
            b'r' => d.response_handle = true,
            b'd' => d.decrypt = true,
            b'e' => d.encrypt = true,
            _ => {}
        }
        i += 1;
    }
    d
}

/// Every command of TPM 2.0 Part 3 that this crate describes, sorted by command code.
/// `TPMA_CC` bits agree with the reference implementation (`CommandAttributeData.h`).
pub static COMMANDS: &[CommandDesc] = &[
    row(Cc::NvUndefineSpaceSpecial, 2, [A, U, N], "n"),
    row(Cc::EvictControl, 2, [U, N, N], "n"),
    row(Cc::HierarchyControl, 1, [U, N, N], "nx"),
    row(Cc::NvUndefineSpace, 2, [U, N, N], "n"),
    row(Cc::ChangeEps, 1, [U, N, N], "nx"),
    row(Cc::ChangePps, 1, [U, N, N], "nx"),
    row(Cc::Clear, 1, [U, N, N], "nx"),
    row(Cc::ClearControl, 1, [U, N, N], "n"),
    row(Cc::ClockSet, 1, [U, N, N], "n"),
    row(Cc::HierarchyChangeAuth, 1, [U, N, N], "nd"),
    row(Cc::NvDefineSpace, 1, [U, N, N], "nd"),
    row(Cc::PcrAllocate, 1, [U, N, N], "n"),
    row(Cc::PcrSetAuthPolicy, 1, [U, N, N], "nd"),
    row(Cc::PpCommands, 1, [U, N, N], "n"),
    row(Cc::SetPrimaryPolicy, 1, [U, N, N], "nd"),
    row(Cc::ClockRateAdjust, 1, [U, N, N], ""),
    row(Cc::CreatePrimary, 1, [U, N, N], "rde"),
    row(Cc::NvGlobalWriteLock, 1, [U, N, N], "n"),
    row(Cc::GetCommandAuditDigest, 2, [U, U, N], "nde"),
    row(Cc::NvIncrement, 2, [U, N, N], "n"),
    row(Cc::NvSetBits, 2, [U, N, N], "n"),
    row(Cc::NvExtend, 2, [U, N, N], "nd"),
    row(Cc::NvWrite, 2, [U, N, N], "nd"),
    row(Cc::NvWriteLock, 2, [U, N, N], "n"),
    row(Cc::DictionaryAttackLockReset, 1, [U, N, N], "n"),
    row(Cc::DictionaryAttackParameters, 1, [U, N, N], "n"),
    row(Cc::NvChangeAuth, 1, [A, N, N], "nd"),
    row(Cc::PcrEvent, 1, [U, N, N], "nd"),
    row(Cc::PcrReset, 1, [U, N, N], "n"),
    row(Cc::SequenceComplete, 1, [U, N, N], "fde"),
    row(Cc::SetAlgorithmSet, 1, [U, N, N], "n"),
    row(Cc::SetCommandCodeAuditStatus, 1, [U, N, N], "n"),
    row(Cc::IncrementalSelfTest, 0, [N, N, N], "n"),
    row(Cc::SelfTest, 0, [N, N, N], "n"),
    row(Cc::Startup, 0, [N, N, N], "n"),
    row(Cc::Shutdown, 0, [N, N, N], "n"),
    row(Cc::StirRandom, 0, [N, N, N], "nd"),
    row(Cc::ActivateCredential, 2, [A, U, N], "de"),
    row(Cc::Certify, 2, [A, U, N], "de"),
    row(Cc::PolicyNv, 3, [U, N, N], "d"),
    row(Cc::CertifyCreation, 2, [U, N, N], "de"),
    row(Cc::Duplicate, 2, [D, N, N], "de"),
    row(Cc::GetTime, 2, [U, U, N], "de"),
    row(Cc::GetSessionAuditDigest, 3, [U, U, N], "de"),
    row(Cc::NvRead, 2, [U, N, N], "e"),
    row(Cc::NvReadLock, 2, [U, N, N], "n"),
    row(Cc::ObjectChangeAuth, 2, [A, N, N], "de"),
    row(Cc::PolicySecret, 2, [U, N, N], "de"),
    row(Cc::Rewrap, 2, [U, N, N], "de"),
    row(Cc::Create, 1, [U, N, N], "de"),
    row(Cc::EcdhZGen, 1, [U, N, N], "de"),
    row(Cc::Hmac, 1, [U, N, N], "de"),
    row(Cc::Import, 1, [U, N, N], "de"),
    row(Cc::Load, 1, [U, N, N], "rde"),
    row(Cc::Quote, 1, [U, N, N], "de"),
    row(Cc::RsaDecrypt, 1, [U, N, N], "de"),
    row(Cc::HmacStart, 1, [U, N, N], "rd"),
    row(Cc::SequenceUpdate, 1, [U, N, N], "d"),
    row(Cc::Sign, 1, [U, N, N], "d"),
    row(Cc::Unseal, 1, [U, N, N], "e"),
    row(Cc::PolicySigned, 2, [N, N, N], "de"),
    row(Cc::ContextLoad, 0, [N, N, N], "r"),
    row(Cc::ContextSave, 1, [N, N, N], ""),
    row(Cc::EcdhKeyGen, 1, [N, N, N], "e"),
    row(Cc::EncryptDecrypt, 1, [U, N, N], "e"),
    row(Cc::FlushContext, 0, [N, N, N], ""),
    row(Cc::LoadExternal, 0, [N, N, N], "rde"),
    row(Cc::MakeCredential, 1, [N, N, N], "de"),
    row(Cc::NvReadPublic, 1, [N, N, N], "e"),
    row(Cc::PolicyAuthorize, 1, [N, N, N], "d"),
    row(Cc::PolicyAuthValue, 1, [N, N, N], ""),
    row(Cc::PolicyCommandCode, 1, [N, N, N], ""),
    row(Cc::PolicyCounterTimer, 1, [N, N, N], "d"),
    row(Cc::PolicyCpHash, 1, [N, N, N], "d"),
    row(Cc::PolicyLocality, 1, [N, N, N], ""),
    row(Cc::PolicyNameHash, 1, [N, N, N], "d"),
    row(Cc::PolicyOr, 1, [N, N, N], ""),
    row(Cc::PolicyTicket, 1, [N, N, N], "d"),
    row(Cc::ReadPublic, 1, [N, N, N], "e"),
    row(Cc::RsaEncrypt, 1, [N, N, N], "de"),
    row(Cc::StartAuthSession, 2, [N, N, N], "rde"),
    row(Cc::VerifySignature, 1, [N, N, N], "d"),
    row(Cc::EccParameters, 0, [N, N, N], ""),
    row(Cc::FirmwareRead, 0, [N, N, N], "e"),
    row(Cc::GetCapability, 0, [N, N, N], ""),
    row(Cc::GetRandom, 0, [N, N, N], "e"),
    row(Cc::GetTestResult, 0, [N, N, N], "e"),
    row(Cc::Hash, 0, [N, N, N], "de"),
    row(Cc::PcrRead, 0, [N, N, N], ""),
    row(Cc::PolicyPcr, 1, [N, N, N], "d"),
    row(Cc::PolicyRestart, 1, [N, N, N], ""),
    row(Cc::ReadClock, 0, [N, N, N], ""),
    row(Cc::PcrExtend, 1, [U, N, N], "n"),
    row(Cc::PcrSetAuthValue, 1, [U, N, N], "d"),
    row(Cc::NvCertify, 3, [U, U, N], "de"),
    row(Cc::EventSequenceComplete, 2, [U, U, N], "nf"),
    row(Cc::HashSequenceStart, 0, [N, N, N], "rd"),
    row(Cc::PolicyPhysicalPresence, 1, [N, N, N], ""),
    row(Cc::PolicyDuplicationSelect, 1, [N, N, N], "d"),
    row(Cc::PolicyGetDigest, 1, [N, N, N], "e"),
    row(Cc::TestParms, 0, [N, N, N], ""),
    row(Cc::Commit, 1, [U, N, N], "de"),
    row(Cc::PolicyPassword, 1, [N, N, N], ""),
    row(Cc::ZGen2Phase, 1, [U, N, N], "de"),
    row(Cc::EcEphemeral, 0, [N, N, N], "e"),
    row(Cc::PolicyNvWritten, 1, [N, N, N], ""),
    row(Cc::PolicyTemplate, 1, [N, N, N], "d"),
    row(Cc::CreateLoaded, 1, [U, N, N], "rde"),
    row(Cc::PolicyAuthorizeNv, 3, [U, N, N], ""),
    row(Cc::EncryptDecrypt2, 1, [U, N, N], "de"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_unique() {
        assert!(COMMANDS.windows(2).all(|w| w[0].cc < w[1].cc));
    }

    #[test]
    fn attributes_match_reference_tpm() {
        // Values read from libtpms (swtpm 0.7) with `tpm2_getcap commands`.
        let expect: &[(Cc, u32)] = &[
            (Cc::NvUndefineSpaceSpecial, 0x440011F),
            (Cc::EvictControl, 0x4400120),
            (Cc::HierarchyControl, 0x2C00121),
            (Cc::ClockRateAdjust, 0x2000130),
            (Cc::CreatePrimary, 0x12000131),
            (Cc::SequenceComplete, 0x300013E),
            (Cc::Startup, 0x400144),
            (Cc::ActivateCredential, 0x4000147),
            (Cc::PolicyNv, 0x6000149),
            (Cc::NvRead, 0x400014E),
            (Cc::NvReadLock, 0x440014F),
            (Cc::Load, 0x12000157),
            (Cc::HmacStart, 0x1200015B),
            (Cc::ContextLoad, 0x10000161),
            (Cc::ContextSave, 0x2000162),
            (Cc::FlushContext, 0x165),
            (Cc::LoadExternal, 0x10000167),
            (Cc::StartAuthSession, 0x14000176),
            (Cc::GetCapability, 0x17A),
            (Cc::PcrExtend, 0x2400182),
            (Cc::NvCertify, 0x6000184),
            (Cc::EventSequenceComplete, 0x5400185),
            (Cc::HashSequenceStart, 0x10000186),
            (Cc::CreateLoaded, 0x12000191),
            (Cc::PolicyAuthorizeNv, 0x6000192),
            (Cc::EncryptDecrypt2, 0x2000193),
        ];
        for &(cc, v) in expect {
            let d = CommandDesc::find(cc).unwrap();
            assert_eq!(d.attributes().bits(), v, "{cc:?}");
        }
    }

    #[test]
    fn header_checks() {
        let ok = [0x80, 0x01, 0, 0, 0, 12, 0, 0, 0x01, 0x44, 0, 0];
        assert_eq!(CommandHeader::parse(&ok).unwrap().cc, Cc::Startup);
        let mut bad_tag = ok;
        bad_tag[1] = 0xC1;
        assert_eq!(CommandHeader::parse(&bad_tag), Err(Rc::BadTag));
        let mut bad_size = ok;
        bad_size[5] = 13;
        assert_eq!(CommandHeader::parse(&bad_size), Err(Rc::CommandSize));
        assert_eq!(CommandHeader::parse(&ok[..5]), Err(Rc::CommandSize));
    }
}
