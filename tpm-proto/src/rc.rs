//! Response codes (TPM 2.0 Part 2, section 6.6, table 16 and figures 26/27).
//!
//! Format-zero codes (`RC_VER1 + n`, warnings `RC_WARN + n`) stand alone. Format-one codes
//! (`RC_FMT1 + n`) may name the handle, parameter or session that caused them; [`Rc::param`],
//! [`Rc::handle`] and [`Rc::session`] add that number exactly as the reference implementation does.

use core::fmt;

/// A `TPM_RC` value.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rc(pub u32);

const RC_VER1: u32 = 0x100;
const RC_FMT1: u32 = 0x080;
const RC_WARN: u32 = 0x900;
/// `TPM_RC_P`: the number is a parameter number.
const RC_P: u32 = 0x040;
/// `TPM_RC_S`: the number is a session number.
const RC_S: u32 = 0x800;

macro_rules! codes {
    ($($(#[$m:meta])* $name:ident = $base:ident + $off:expr;)*) => {
        #[allow(non_upper_case_globals)]
        impl Rc {
            $($(#[$m])* pub const $name: Rc = Rc($base + $off);)*
        }
        impl Rc {
            fn base_name(self) -> Option<&'static str> {
                $(if self.0 == $base + $off { return Some(stringify!($name)); })*
                None
            }
        }
    };
}

const RC_ZERO: u32 = 0;

codes! {
    Success = RC_ZERO + 0;
    /// Defined for compatibility with TPM 1.2: the tag is neither ST_SESSIONS nor ST_NO_SESSIONS.
    BadTag = RC_ZERO + 0x01E;

    Initialize = RC_VER1 + 0x000;
    Failure = RC_VER1 + 0x001;
    Sequence = RC_VER1 + 0x003;
    Private = RC_VER1 + 0x00B;
    Hmac = RC_VER1 + 0x019;
    Disabled = RC_VER1 + 0x020;
    Exclusive = RC_VER1 + 0x021;
    AuthType = RC_VER1 + 0x024;
    AuthMissing = RC_VER1 + 0x025;
    Policy = RC_VER1 + 0x026;
    Pcr = RC_VER1 + 0x027;
    PcrChanged = RC_VER1 + 0x028;
    Upgrade = RC_VER1 + 0x02D;
    TooManyContexts = RC_VER1 + 0x02E;
    AuthUnavailable = RC_VER1 + 0x02F;
    Reboot = RC_VER1 + 0x030;
    Unbalanced = RC_VER1 + 0x031;
    CommandSize = RC_VER1 + 0x042;
    CommandCode = RC_VER1 + 0x043;
    Authsize = RC_VER1 + 0x044;
    AuthContext = RC_VER1 + 0x045;
    NvRange = RC_VER1 + 0x046;
    NvSize = RC_VER1 + 0x047;
    NvLocked = RC_VER1 + 0x048;
    NvAuthorization = RC_VER1 + 0x049;
    NvUninitialized = RC_VER1 + 0x04A;
    NvSpace = RC_VER1 + 0x04B;
    NvDefined = RC_VER1 + 0x04C;
    BadContext = RC_VER1 + 0x050;
    Cphash = RC_VER1 + 0x051;
    Parent = RC_VER1 + 0x052;
    NeedsTest = RC_VER1 + 0x053;
    NoResult = RC_VER1 + 0x054;
    Sensitive = RC_VER1 + 0x055;

    Asymmetric = RC_FMT1 + 0x001;
    Attributes = RC_FMT1 + 0x002;
    Hash = RC_FMT1 + 0x003;
    Value = RC_FMT1 + 0x004;
    Hierarchy = RC_FMT1 + 0x005;
    KeySize = RC_FMT1 + 0x007;
    Mgf = RC_FMT1 + 0x008;
    Mode = RC_FMT1 + 0x009;
    Type = RC_FMT1 + 0x00A;
    Handle = RC_FMT1 + 0x00B;
    Kdf = RC_FMT1 + 0x00C;
    Range = RC_FMT1 + 0x00D;
    AuthFail = RC_FMT1 + 0x00E;
    Nonce = RC_FMT1 + 0x00F;
    Pp = RC_FMT1 + 0x010;
    Scheme = RC_FMT1 + 0x012;
    Size = RC_FMT1 + 0x015;
    Symmetric = RC_FMT1 + 0x016;
    Tag = RC_FMT1 + 0x017;
    Selector = RC_FMT1 + 0x018;
    Insufficient = RC_FMT1 + 0x01A;
    Signature = RC_FMT1 + 0x01B;
    Key = RC_FMT1 + 0x01C;
    PolicyFail = RC_FMT1 + 0x01D;
    Integrity = RC_FMT1 + 0x01F;
    Ticket = RC_FMT1 + 0x020;
    ReservedBits = RC_FMT1 + 0x021;
    BadAuth = RC_FMT1 + 0x022;
    Expired = RC_FMT1 + 0x023;
    PolicyCc = RC_FMT1 + 0x024;
    Binding = RC_FMT1 + 0x025;
    Curve = RC_FMT1 + 0x026;
    EccPoint = RC_FMT1 + 0x027;

    ContextGap = RC_WARN + 0x001;
    ObjectMemory = RC_WARN + 0x002;
    SessionMemory = RC_WARN + 0x003;
    Memory = RC_WARN + 0x004;
    SessionHandles = RC_WARN + 0x005;
    ObjectHandles = RC_WARN + 0x006;
    Locality = RC_WARN + 0x007;
    Yielded = RC_WARN + 0x008;
    Canceled = RC_WARN + 0x009;
    Testing = RC_WARN + 0x00A;
    ReferenceH0 = RC_WARN + 0x010;
    ReferenceS0 = RC_WARN + 0x018;
    NvRate = RC_WARN + 0x020;
    Lockout = RC_WARN + 0x021;
    Retry = RC_WARN + 0x022;
    NvUnavailable = RC_WARN + 0x023;
}

impl Rc {
    /// True for a format-one code (one that can carry a handle, parameter or session number).
    pub const fn is_format_one(self) -> bool {
        self.0 & RC_FMT1 != 0
    }

    /// The code without any handle/parameter/session number.
    pub const fn base(self) -> Rc {
        if self.is_format_one() {
            Rc(self.0 & 0xBF)
        } else {
            self
        }
    }

    /// True if a number has already been attached.
    const fn numbered(self) -> bool {
        self.is_format_one() && self.0 & 0xF40 != 0
    }

    /// Attaches parameter number `n` (1..=15) to a format-one code; other codes are unchanged.
    pub const fn param(self, n: u32) -> Rc {
        if !self.is_format_one() || self.numbered() || n == 0 || n > 15 {
            return self;
        }
        Rc(self.0 | RC_P | (n << 8))
    }

    /// Attaches handle number `n` (1..=7) to a format-one code; other codes are unchanged.
    pub const fn handle(self, n: u32) -> Rc {
        if !self.is_format_one() || self.numbered() || n == 0 || n > 7 {
            return self;
        }
        Rc(self.0 | (n << 8))
    }

    /// Attaches session number `n` (1..=7) to a format-one code; other codes are unchanged.
    pub const fn session(self, n: u32) -> Rc {
        if !self.is_format_one() || self.numbered() || n == 0 || n > 7 {
            return self;
        }
        Rc(self.0 | RC_S | (n << 8))
    }

    /// `TPM_RC_REFERENCE_H0 + n`: handle `n` (0-based) does not reference a loaded object.
    pub const fn reference_handle(n: u32) -> Rc {
        Rc(Rc::ReferenceH0.0 + n)
    }

    /// `TPM_RC_REFERENCE_S0 + n`: session handle `n` (0-based) is not loaded.
    pub const fn reference_session(n: u32) -> Rc {
        Rc(Rc::ReferenceS0.0 + n)
    }
}

impl fmt::Debug for Rc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.base().base_name() {
            Some(name) if self.is_format_one() && self.numbered() => {
                let n = (self.0 >> 8) & 0xF;
                let kind = if self.0 & RC_P != 0 {
                    "P"
                } else if self.0 & RC_S != 0 {
                    "S"
                } else {
                    "H"
                };
                let n = if kind == "P" { n } else { n & 7 };
                write!(f, "{name}+{kind}{n}({:#x})", self.0)
            }
            Some(name) => write!(f, "{name}({:#x})", self.0),
            None => write!(f, "Rc({:#x})", self.0),
        }
    }
}

impl fmt::Display for Rc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_one_numbers_match_reference_encoding() {
        // TPM_RC_VALUE + TPM_RC_P + TPM_RC_1 = 0x1C4 (what tpm2-tools decodes as "parameter(1)").
        assert_eq!(Rc::Value.param(1), Rc(0x1C4));
        // TPM_RC_HANDLE + TPM_RC_H + TPM_RC_1 = 0x18B.
        assert_eq!(Rc::Handle.handle(1), Rc(0x18B));
        // TPM_RC_AUTH_FAIL + TPM_RC_S + TPM_RC_1 = 0x98E.
        assert_eq!(Rc::AuthFail.session(1), Rc(0x98E));
        assert_eq!(Rc::Insufficient.param(2), Rc(0x2DA));
        assert_eq!(Rc::Size.param(15), Rc(0xFD5));
    }

    #[test]
    fn format_zero_codes_do_not_take_numbers() {
        assert_eq!(Rc::Initialize.param(1), Rc::Initialize);
        assert_eq!(Rc::CommandCode, Rc(0x143));
        assert_eq!(Rc::ObjectMemory, Rc(0x902));
        assert_eq!(Rc::ObjectMemory.handle(1), Rc::ObjectMemory);
    }

    #[test]
    fn number_is_attached_once() {
        assert_eq!(Rc::Value.param(1).param(3), Rc::Value.param(1));
        assert_eq!(Rc::Value.param(3).base(), Rc::Value);
        assert_eq!(Rc::Value.session(2).base(), Rc::Value);
    }
}
