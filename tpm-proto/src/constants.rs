//! Constants of TPM 2.0 Part 2, section 6, as newtypes so that any wire value is representable
//! (hostile input carries values no table lists) while the named values read like the spec:
//! `TPM_CC_PCR_Extend` is `Cc::PcrExtend`, `TPM_ALG_SHA256` is `AlgId::Sha256`.

use crate::marshal::{Marshal, Reader, Unmarshal, WriteError, Writer};
use crate::rc::Rc;
use core::fmt;

macro_rules! tpm_const {
    ($(#[$doc:meta])* $name:ident($int:ident) { $($(#[$m:meta])* $v:ident = $val:expr,)* }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
        pub struct $name(pub $int);

        #[allow(non_upper_case_globals)]
        impl $name {
            $($(#[$m])* pub const $v: $name = $name($val);)*

            /// The spec name of this value, if it has one.
            pub fn name(self) -> Option<&'static str> {
                match self.0 {
                    $($val => Some(stringify!($v)),)*
                    _ => None,
                }
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self.name() {
                    Some(n) => write!(f, "{}::{}", stringify!($name), n),
                    None => write!(f, "{}({:#x})", stringify!($name), self.0),
                }
            }
        }

        impl<'a> Unmarshal<'a> for $name {
            fn unmarshal(r: &mut Reader<'a>) -> Result<Self, Rc> {
                Ok($name(r.read()?))
            }
        }

        impl Marshal for $name {
            fn marshal(&self, w: &mut Writer<'_>) -> Result<(), WriteError> {
                self.0.marshal(w)
            }
        }
    };
}

tpm_const! {
    /// `TPM_ST` (Part 2, table 19).
    St(u16) {
        RspCommand = 0x00C4,
        Null = 0x8000,
        NoSessions = 0x8001,
        Sessions = 0x8002,
        AttestNv = 0x8014,
        AttestCommandAudit = 0x8015,
        AttestSessionAudit = 0x8016,
        AttestCertify = 0x8017,
        AttestQuote = 0x8018,
        AttestTime = 0x8019,
        AttestCreation = 0x801A,
        AttestNvDigest = 0x801C,
        Creation = 0x8021,
        Verified = 0x8022,
        AuthSecret = 0x8023,
        Hashcheck = 0x8024,
        AuthSigned = 0x8025,
        FuTicket = 0x8029,
    }
}

tpm_const! {
    /// `TPM_SU` (Part 2, table 20).
    Su(u16) {
        Clear = 0x0000,
        State = 0x0001,
    }
}

tpm_const! {
    /// `TPM_SE` (Part 2, table 21).
    Se(u8) {
        Hmac = 0x00,
        Policy = 0x01,
        Trial = 0x03,
    }
}

tpm_const! {
    /// `TPM_CAP` (Part 2, table 22).
    Cap(u32) {
        Algs = 0x0000_0000,
        Handles = 0x0000_0001,
        Commands = 0x0000_0002,
        PpCommands = 0x0000_0003,
        AuditCommands = 0x0000_0004,
        Pcrs = 0x0000_0005,
        TpmProperties = 0x0000_0006,
        PcrProperties = 0x0000_0007,
        EccCurves = 0x0000_0008,
        AuthPolicies = 0x0000_0009,
        Act = 0x0000_000A,
        VendorProperty = 0x0000_0100,
    }
}

tpm_const! {
    /// `TPM_ALG_ID` (TCG Algorithm Registry, table 3; Part 2 table 9).
    AlgId(u16) {
        Error = 0x0000,
        Rsa = 0x0001,
        Tdes = 0x0003,
        Sha1 = 0x0004,
        Hmac = 0x0005,
        Aes = 0x0006,
        Mgf1 = 0x0007,
        KeyedHash = 0x0008,
        Xor = 0x000A,
        Sha256 = 0x000B,
        Sha384 = 0x000C,
        Sha512 = 0x000D,
        Null = 0x0010,
        Sm3_256 = 0x0012,
        Sm4 = 0x0013,
        RsaSsa = 0x0014,
        RsaEs = 0x0015,
        RsaPss = 0x0016,
        Oaep = 0x0017,
        EcDsa = 0x0018,
        EcDh = 0x0019,
        EcDaa = 0x001A,
        Sm2 = 0x001B,
        EcSchnorr = 0x001C,
        EcMqv = 0x001D,
        Kdf1Sp800_56a = 0x0020,
        Kdf2 = 0x0021,
        Kdf1Sp800_108 = 0x0022,
        Ecc = 0x0023,
        SymCipher = 0x0025,
        Camellia = 0x0026,
        Sha3_256 = 0x0027,
        Sha3_384 = 0x0028,
        Sha3_512 = 0x0029,
        Cmac = 0x003F,
        Ctr = 0x0040,
        Ofb = 0x0041,
        Cbc = 0x0042,
        Cfb = 0x0043,
        Ecb = 0x0044,
    }
}

impl AlgId {
    /// Digest size of a hash algorithm this crate knows, or `None`.
    pub const fn digest_size(self) -> Option<usize> {
        match self {
            AlgId::Sha1 => Some(20),
            AlgId::Sha256 | AlgId::Sm3_256 | AlgId::Sha3_256 => Some(32),
            AlgId::Sha384 | AlgId::Sha3_384 => Some(48),
            AlgId::Sha512 | AlgId::Sha3_512 => Some(64),
            _ => None,
        }
    }
}

tpm_const! {
    /// `TPM_ECC_CURVE` (Part 2, table 10).
    EccCurve(u16) {
        None = 0x0000,
        NistP192 = 0x0001,
        NistP224 = 0x0002,
        NistP256 = 0x0003,
        NistP384 = 0x0004,
        NistP521 = 0x0005,
        BnP256 = 0x0010,
        BnP638 = 0x0011,
        Sm2P256 = 0x0020,
    }
}

tpm_const! {
    /// `TPM_CC` (Part 2, table 12).
    Cc(u32) {
        NvUndefineSpaceSpecial = 0x11F,
        EvictControl = 0x120,
        HierarchyControl = 0x121,
        NvUndefineSpace = 0x122,
        ChangeEps = 0x124,
        ChangePps = 0x125,
        Clear = 0x126,
        ClearControl = 0x127,
        ClockSet = 0x128,
        HierarchyChangeAuth = 0x129,
        NvDefineSpace = 0x12A,
        PcrAllocate = 0x12B,
        PcrSetAuthPolicy = 0x12C,
        PpCommands = 0x12D,
        SetPrimaryPolicy = 0x12E,
        FieldUpgradeStart = 0x12F,
        ClockRateAdjust = 0x130,
        CreatePrimary = 0x131,
        NvGlobalWriteLock = 0x132,
        GetCommandAuditDigest = 0x133,
        NvIncrement = 0x134,
        NvSetBits = 0x135,
        NvExtend = 0x136,
        NvWrite = 0x137,
        NvWriteLock = 0x138,
        DictionaryAttackLockReset = 0x139,
        DictionaryAttackParameters = 0x13A,
        NvChangeAuth = 0x13B,
        PcrEvent = 0x13C,
        PcrReset = 0x13D,
        SequenceComplete = 0x13E,
        SetAlgorithmSet = 0x13F,
        SetCommandCodeAuditStatus = 0x140,
        FieldUpgradeData = 0x141,
        IncrementalSelfTest = 0x142,
        SelfTest = 0x143,
        Startup = 0x144,
        Shutdown = 0x145,
        StirRandom = 0x146,
        ActivateCredential = 0x147,
        Certify = 0x148,
        PolicyNv = 0x149,
        CertifyCreation = 0x14A,
        Duplicate = 0x14B,
        GetTime = 0x14C,
        GetSessionAuditDigest = 0x14D,
        NvRead = 0x14E,
        NvReadLock = 0x14F,
        ObjectChangeAuth = 0x150,
        PolicySecret = 0x151,
        Rewrap = 0x152,
        Create = 0x153,
        EcdhZGen = 0x154,
        Hmac = 0x155,
        Import = 0x156,
        Load = 0x157,
        Quote = 0x158,
        RsaDecrypt = 0x159,
        HmacStart = 0x15B,
        SequenceUpdate = 0x15C,
        Sign = 0x15D,
        Unseal = 0x15E,
        PolicySigned = 0x160,
        ContextLoad = 0x161,
        ContextSave = 0x162,
        EcdhKeyGen = 0x163,
        EncryptDecrypt = 0x164,
        FlushContext = 0x165,
        LoadExternal = 0x167,
        MakeCredential = 0x168,
        NvReadPublic = 0x169,
        PolicyAuthorize = 0x16A,
        PolicyAuthValue = 0x16B,
        PolicyCommandCode = 0x16C,
        PolicyCounterTimer = 0x16D,
        PolicyCpHash = 0x16E,
        PolicyLocality = 0x16F,
        PolicyNameHash = 0x170,
        PolicyOr = 0x171,
        PolicyTicket = 0x172,
        ReadPublic = 0x173,
        RsaEncrypt = 0x174,
        StartAuthSession = 0x176,
        VerifySignature = 0x177,
        EccParameters = 0x178,
        FirmwareRead = 0x179,
        GetCapability = 0x17A,
        GetRandom = 0x17B,
        GetTestResult = 0x17C,
        Hash = 0x17D,
        PcrRead = 0x17E,
        PolicyPcr = 0x17F,
        PolicyRestart = 0x180,
        ReadClock = 0x181,
        PcrExtend = 0x182,
        PcrSetAuthValue = 0x183,
        NvCertify = 0x184,
        EventSequenceComplete = 0x185,
        HashSequenceStart = 0x186,
        PolicyPhysicalPresence = 0x187,
        PolicyDuplicationSelect = 0x188,
        PolicyGetDigest = 0x189,
        TestParms = 0x18A,
        Commit = 0x18B,
        PolicyPassword = 0x18C,
        ZGen2Phase = 0x18D,
        EcEphemeral = 0x18E,
        PolicyNvWritten = 0x18F,
        PolicyTemplate = 0x190,
        CreateLoaded = 0x191,
        PolicyAuthorizeNv = 0x192,
        EncryptDecrypt2 = 0x193,
        AcGetCapability = 0x194,
        AcSend = 0x195,
        PolicyAcSendSelect = 0x196,
        CertifyX509 = 0x197,
        ActSetTimeout = 0x198,
        EccEncrypt = 0x199,
        EccDecrypt = 0x19A,
        PolicyCapability = 0x19B,
        PolicyParameters = 0x19C,
        NvDefineSpace2 = 0x19D,
        NvReadPublic2 = 0x19E,
        SetCapability = 0x19F,
    }
}

/// `TPM_HT`: the handle type is the most significant octet of a handle (Part 2, table 27).
#[allow(non_upper_case_globals)]
pub mod ht {
    pub const Pcr: u8 = 0x00;
    pub const NvIndex: u8 = 0x01;
    pub const HmacSession: u8 = 0x02;
    pub const LoadedSession: u8 = 0x02;
    pub const PolicySession: u8 = 0x03;
    pub const SavedSession: u8 = 0x03;
    pub const Permanent: u8 = 0x40;
    pub const Transient: u8 = 0x80;
    pub const Persistent: u8 = 0x81;
    pub const Ac: u8 = 0x90;
}

tpm_const! {
    /// A `TPM_HANDLE`, with the permanent handles of `TPM_RH` and `TPM_RS` (Part 2, table 28)
    /// and the range boundaries of section 7.
    Handle(u32) {
        Owner = 0x4000_0001,
        Null = 0x4000_0007,
        Unassigned = 0x4000_0008,
        Pw = 0x4000_0009,
        Lockout = 0x4000_000A,
        Endorsement = 0x4000_000B,
        Platform = 0x4000_000C,
        PlatformNv = 0x4000_000D,
        Auth00 = 0x4000_0010,
        AuthFf = 0x4000_010F,
        ActFirst = 0x4000_0110,
        ActLast = 0x4000_011F,
        PcrFirst = 0x0000_0000,
        HmacSessionFirst = 0x0200_0000,
        PolicySessionFirst = 0x0300_0000,
        TransientFirst = 0x8000_0000,
        PersistentFirst = 0x8100_0000,
        NvIndexFirst = 0x0100_0000,
    }
}

impl Handle {
    /// The handle type (`TPM_HT`), the top octet.
    pub const fn ht(self) -> u8 {
        (self.0 >> 24) as u8
    }
}

tpm_const! {
    /// `TPM_PT` (Part 2, table 23): fixed (`PT_FIXED` = 0x100) and variable (`PT_VAR` = 0x200)
    /// properties.
    Pt(u32) {
        None = 0x000,
        FamilyIndicator = 0x100,
        Level = 0x101,
        Revision = 0x102,
        DayOfYear = 0x103,
        Year = 0x104,
        Manufacturer = 0x105,
        VendorString1 = 0x106,
        VendorString2 = 0x107,
        VendorString3 = 0x108,
        VendorString4 = 0x109,
        VendorTpmType = 0x10A,
        FirmwareVersion1 = 0x10B,
        FirmwareVersion2 = 0x10C,
        InputBuffer = 0x10D,
        HrTransientMin = 0x10E,
        HrPersistentMin = 0x10F,
        HrLoadedMin = 0x110,
        ActiveSessionsMax = 0x111,
        PcrCount = 0x112,
        PcrSelectMin = 0x113,
        ContextGapMax = 0x114,
        NvCountersMax = 0x116,
        NvIndexMax = 0x117,
        Memory = 0x118,
        ClockUpdate = 0x119,
        ContextHash = 0x11A,
        ContextSym = 0x11B,
        ContextSymSize = 0x11C,
        OrderlyCount = 0x11D,
        MaxCommandSize = 0x11E,
        MaxResponseSize = 0x11F,
        MaxDigest = 0x120,
        MaxObjectContext = 0x121,
        MaxSessionContext = 0x122,
        PsFamilyIndicator = 0x123,
        PsLevel = 0x124,
        PsRevision = 0x125,
        PsDayOfYear = 0x126,
        PsYear = 0x127,
        SplitMax = 0x128,
        TotalCommands = 0x129,
        LibraryCommands = 0x12A,
        VendorCommands = 0x12B,
        NvBufferMax = 0x12C,
        Modes = 0x12D,
        MaxCapBuffer = 0x12E,
        FirmwareSvn = 0x12F,
        FirmwareMaxSvn = 0x130,
        Permanent = 0x200,
        StartupClear = 0x201,
        HrNvIndex = 0x202,
        HrLoaded = 0x203,
        HrLoadedAvail = 0x204,
        HrActive = 0x205,
        HrActiveAvail = 0x206,
        HrTransientAvail = 0x207,
        HrPersistent = 0x208,
        HrPersistentAvail = 0x209,
        NvCounters = 0x20A,
        NvCountersAvail = 0x20B,
        AlgorithmSet = 0x20C,
        LoadedCurves = 0x20D,
        LockoutCounter = 0x20E,
        MaxAuthFail = 0x20F,
        LockoutInterval = 0x210,
        LockoutRecovery = 0x211,
        NvWriteRecovery = 0x212,
        AuditCounter0 = 0x213,
        AuditCounter1 = 0x214,
    }
}

tpm_const! {
    /// `TPM_PT_PCR` (Part 2, table 24).
    PtPcr(u32) {
        Save = 0x00,
        ExtendL0 = 0x01,
        ResetL0 = 0x02,
        ExtendL1 = 0x03,
        ResetL1 = 0x04,
        ExtendL2 = 0x05,
        ResetL2 = 0x06,
        ExtendL3 = 0x07,
        ResetL3 = 0x08,
        ExtendL4 = 0x09,
        ResetL4 = 0x0A,
        NoIncrement = 0x11,
        DrtmReset = 0x12,
        Policy = 0x13,
        Auth = 0x14,
    }
}

/// `TPM_GENERATED_VALUE` (Part 2, table 8): the magic of every `TPMS_ATTEST`.
pub const TPM_GENERATED_VALUE: u32 = 0xff54_4347;

/// Number of PCRs (`IMPLEMENTATION_PCR`, PC Client profile).
pub const PCR_COUNT: usize = 24;
/// Octets in a PCR bitmap for [`PCR_COUNT`] PCRs (`PCR_SELECT_MIN`).
pub const PCR_SELECT_MIN: usize = PCR_COUNT.div_ceil(8);
/// Largest `sizeofSelect` accepted (`PCR_SELECT_MAX`).
pub const PCR_SELECT_MAX: usize = PCR_SELECT_MIN;
