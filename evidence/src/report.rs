//! The SEV-SNP `ATTESTATION_REPORT`: AMD "SEV Secure Nested Paging Firmware ABI Specification"
//! (pub. 56860), section 7.3 "Attestation", table "ATTESTATION_REPORT Structure" (report
//! versions 2, 3 and 5), and its `TCB_VERSION` and `GUEST_POLICY` tables.
//!
//! Version differences: v2 has no CPUID fields (0x188..0x18A reserved); v3 adds
//! CPUID_FAM_ID/CPUID_MOD_ID/CPUID_STEP; v5 adds LAUNCH_MIT_VECTOR and CURRENT_MIT_VECTOR. The
//! TCB_VERSION layout depends on the product, not the report version (see [`crate::tcb`]).
//! Reports are little-endian; the signature's R and S are 72-byte little-endian integers.

/// Byte offsets of every field, as the ABI table lists them.
pub mod offset {
    pub const VERSION: usize = 0x000;
    pub const GUEST_SVN: usize = 0x004;
    pub const POLICY: usize = 0x008;
    pub const FAMILY_ID: usize = 0x010;
    pub const IMAGE_ID: usize = 0x020;
    pub const VMPL: usize = 0x030;
    pub const SIGNATURE_ALGO: usize = 0x034;
    pub const CURRENT_TCB: usize = 0x038;
    pub const PLATFORM_INFO: usize = 0x040;
    pub const KEY_INFO: usize = 0x048;
    pub const RESERVED_04C: usize = 0x04C;
    pub const REPORT_DATA: usize = 0x050;
    pub const MEASUREMENT: usize = 0x090;
    pub const HOST_DATA: usize = 0x0C0;
    pub const ID_KEY_DIGEST: usize = 0x0E0;
    pub const AUTHOR_KEY_DIGEST: usize = 0x110;
    pub const REPORT_ID: usize = 0x140;
    pub const REPORT_ID_MA: usize = 0x160;
    pub const REPORTED_TCB: usize = 0x180;
    pub const CPUID_FAM_ID: usize = 0x188;
    pub const CPUID_MOD_ID: usize = 0x189;
    pub const CPUID_STEP: usize = 0x18A;
    pub const RESERVED_18B: usize = 0x18B;
    pub const CHIP_ID: usize = 0x1A0;
    pub const COMMITTED_TCB: usize = 0x1E0;
    pub const CURRENT_BUILD: usize = 0x1E8;
    pub const CURRENT_MINOR: usize = 0x1E9;
    pub const CURRENT_MAJOR: usize = 0x1EA;
    pub const RESERVED_1EB: usize = 0x1EB;
    pub const COMMITTED_BUILD: usize = 0x1EC;
    pub const COMMITTED_MINOR: usize = 0x1ED;
    pub const COMMITTED_MAJOR: usize = 0x1EE;
    pub const RESERVED_1EF: usize = 0x1EF;
    pub const LAUNCH_TCB: usize = 0x1F0;
    pub const LAUNCH_MIT_VECTOR: usize = 0x1F8;
    pub const CURRENT_MIT_VECTOR: usize = 0x200;
    pub const RESERVED_208: usize = 0x208;
    pub const SIGNATURE: usize = 0x2A0;
    pub const SIGNATURE_R: usize = 0x2A0;
    pub const SIGNATURE_S: usize = 0x2E8;
    pub const RESERVED_330: usize = 0x330;
    /// Size of the whole report; the signed part is `0..SIGNATURE`.
    pub const SIZE: usize = 0x4A0;
}

/// `ATTESTATION_REPORT` (ABI spec, table "ATTESTATION_REPORT Structure"), field by field.
/// [`SnpReport::parse`] fills it from bytes at the offsets in [`offset`]; the assertions below
/// prove those offsets are this struct's layout, so a field can be neither skipped nor shifted.
#[repr(C, packed)]
#[derive(Debug, Clone, Copy)]
pub struct SnpReport {
    pub version: u32,
    pub guest_svn: u32,
    pub policy: u64,
    pub family_id: [u8; 16],
    pub image_id: [u8; 16],
    pub vmpl: u32,
    pub signature_algo: u32,
    /// TCB_VERSION bytes in report order (layout depends on the product).
    pub current_tcb: [u8; 8],
    pub platform_info: u64,
    pub key_info: u32,
    pub reserved_04c: u32,
    pub report_data: [u8; 64],
    pub measurement: [u8; 48],
    pub host_data: [u8; 32],
    pub id_key_digest: [u8; 48],
    pub author_key_digest: [u8; 48],
    pub report_id: [u8; 32],
    pub report_id_ma: [u8; 32],
    pub reported_tcb: [u8; 8],
    /// Version 3 and later; reserved (0) in version 2.
    pub cpuid_fam_id: u8,
    pub cpuid_mod_id: u8,
    pub cpuid_step: u8,
    pub reserved_18b: [u8; 21],
    pub chip_id: [u8; 64],
    pub committed_tcb: [u8; 8],
    pub current_build: u8,
    pub current_minor: u8,
    pub current_major: u8,
    pub reserved_1eb: u8,
    pub committed_build: u8,
    pub committed_minor: u8,
    pub committed_major: u8,
    pub reserved_1ef: u8,
    pub launch_tcb: [u8; 8],
    /// Version 5 and later.
    pub launch_mit_vector: u64,
    pub current_mit_vector: u64,
    pub reserved_208: [u8; 0x98],
    /// ECDSA R, 72 bytes little-endian (P-384 uses the low 48).
    pub signature_r: [u8; 72],
    pub signature_s: [u8; 72],
    pub reserved_330: [u8; 368],
}

macro_rules! assert_offsets {
    ($($field:ident = $off:ident),* $(,)?) => {
        $(const _: () = assert!(::core::mem::offset_of!(SnpReport, $field) == offset::$off);)*
    };
}

assert_offsets!(
    version = VERSION,
    guest_svn = GUEST_SVN,
    policy = POLICY,
    family_id = FAMILY_ID,
    image_id = IMAGE_ID,
    vmpl = VMPL,
    signature_algo = SIGNATURE_ALGO,
    current_tcb = CURRENT_TCB,
    platform_info = PLATFORM_INFO,
    key_info = KEY_INFO,
    reserved_04c = RESERVED_04C,
    report_data = REPORT_DATA,
    measurement = MEASUREMENT,
    host_data = HOST_DATA,
    id_key_digest = ID_KEY_DIGEST,
    author_key_digest = AUTHOR_KEY_DIGEST,
    report_id = REPORT_ID,
    report_id_ma = REPORT_ID_MA,
    reported_tcb = REPORTED_TCB,
    cpuid_fam_id = CPUID_FAM_ID,
    cpuid_mod_id = CPUID_MOD_ID,
    cpuid_step = CPUID_STEP,
    reserved_18b = RESERVED_18B,
    chip_id = CHIP_ID,
    committed_tcb = COMMITTED_TCB,
    current_build = CURRENT_BUILD,
    current_minor = CURRENT_MINOR,
    current_major = CURRENT_MAJOR,
    reserved_1eb = RESERVED_1EB,
    committed_build = COMMITTED_BUILD,
    committed_minor = COMMITTED_MINOR,
    committed_major = COMMITTED_MAJOR,
    reserved_1ef = RESERVED_1EF,
    launch_tcb = LAUNCH_TCB,
    launch_mit_vector = LAUNCH_MIT_VECTOR,
    current_mit_vector = CURRENT_MIT_VECTOR,
    reserved_208 = RESERVED_208,
    signature_r = SIGNATURE_R,
    signature_s = SIGNATURE_S,
    reserved_330 = RESERVED_330,
);
const _: () = assert!(::core::mem::size_of::<SnpReport>() == offset::SIZE);
const _: () = assert!(offset::SIGNATURE == offset::SIGNATURE_R);

/// Report versions this verifier knows the layout of.
pub const SUPPORTED_VERSIONS: [u32; 3] = [2, 3, 5];

/// SIGNATURE_ALGO 1: ECDSA P-384 with SHA-384 (ABI spec, "Signature Algorithm Encodings").
pub const SIG_ALGO_ECDSA_P384_SHA384: u32 = 1;

/// GUEST_POLICY bits (ABI spec, table "GUEST_POLICY Structure").
pub mod policy {
    pub const SMT: u64 = 1 << 16;
    pub const RESERVED_MBO: u64 = 1 << 17;
    pub const MIGRATE_MA: u64 = 1 << 18;
    pub const DEBUG: u64 = 1 << 19;
    pub const SINGLE_SOCKET: u64 = 1 << 20;
}

/// KEY_INFO.SIGNING_KEY (bits 4:2): which key signed the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigningKey {
    Vcek,
    Vlek,
    /// 7: no key (MASK_CHIP_KEY set; the signature is zero).
    None,
    Reserved(u32),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    Size(usize),
    Version(u32),
}

impl core::fmt::Display for ParseError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ParseError::Size(n) => write!(f, "{n} bytes, an ATTESTATION_REPORT has 1184 (0x4A0)"),
            ParseError::Version(v) => write!(
                f,
                "report version {v} is not supported (supported: 2, 3, 5)"
            ),
        }
    }
}

fn arr<const N: usize>(b: &[u8; offset::SIZE], at: usize) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(&b[at..at + N]);
    out
}

fn u32_at(b: &[u8; offset::SIZE], at: usize) -> u32 {
    u32::from_le_bytes(arr(b, at))
}

fn u64_at(b: &[u8; offset::SIZE], at: usize) -> u64 {
    u64::from_le_bytes(arr(b, at))
}

impl SnpReport {
    /// Reads a report: exactly 1184 bytes of a supported version.
    pub fn parse(bytes: &[u8]) -> Result<Self, ParseError> {
        let b: &[u8; offset::SIZE] = bytes
            .try_into()
            .map_err(|_| ParseError::Size(bytes.len()))?;
        use offset as o;
        let r = SnpReport {
            version: u32_at(b, o::VERSION),
            guest_svn: u32_at(b, o::GUEST_SVN),
            policy: u64_at(b, o::POLICY),
            family_id: arr(b, o::FAMILY_ID),
            image_id: arr(b, o::IMAGE_ID),
            vmpl: u32_at(b, o::VMPL),
            signature_algo: u32_at(b, o::SIGNATURE_ALGO),
            current_tcb: arr(b, o::CURRENT_TCB),
            platform_info: u64_at(b, o::PLATFORM_INFO),
            key_info: u32_at(b, o::KEY_INFO),
            reserved_04c: u32_at(b, o::RESERVED_04C),
            report_data: arr(b, o::REPORT_DATA),
            measurement: arr(b, o::MEASUREMENT),
            host_data: arr(b, o::HOST_DATA),
            id_key_digest: arr(b, o::ID_KEY_DIGEST),
            author_key_digest: arr(b, o::AUTHOR_KEY_DIGEST),
            report_id: arr(b, o::REPORT_ID),
            report_id_ma: arr(b, o::REPORT_ID_MA),
            reported_tcb: arr(b, o::REPORTED_TCB),
            cpuid_fam_id: b[o::CPUID_FAM_ID],
            cpuid_mod_id: b[o::CPUID_MOD_ID],
            cpuid_step: b[o::CPUID_STEP],
            reserved_18b: arr(b, o::RESERVED_18B),
            chip_id: arr(b, o::CHIP_ID),
            committed_tcb: arr(b, o::COMMITTED_TCB),
            current_build: b[o::CURRENT_BUILD],
            current_minor: b[o::CURRENT_MINOR],
            current_major: b[o::CURRENT_MAJOR],
            reserved_1eb: b[o::RESERVED_1EB],
            committed_build: b[o::COMMITTED_BUILD],
            committed_minor: b[o::COMMITTED_MINOR],
            committed_major: b[o::COMMITTED_MAJOR],
            reserved_1ef: b[o::RESERVED_1EF],
            launch_tcb: arr(b, o::LAUNCH_TCB),
            launch_mit_vector: u64_at(b, o::LAUNCH_MIT_VECTOR),
            current_mit_vector: u64_at(b, o::CURRENT_MIT_VECTOR),
            reserved_208: arr(b, o::RESERVED_208),
            signature_r: arr(b, o::SIGNATURE_R),
            signature_s: arr(b, o::SIGNATURE_S),
            reserved_330: arr(b, o::RESERVED_330),
        };
        let version = r.version;
        if !SUPPORTED_VERSIONS.contains(&version) {
            return Err(ParseError::Version(version));
        }
        Ok(r)
    }

    pub fn signing_key(&self) -> SigningKey {
        match (self.key_info >> 2) & 7 {
            0 => SigningKey::Vcek,
            1 => SigningKey::Vlek,
            7 => SigningKey::None,
            n => SigningKey::Reserved(n),
        }
    }

    /// CPUID family/model/stepping, when the report carries them (version 3 and later).
    pub fn cpuid(&self) -> Option<(u8, u8, u8)> {
        (self.version >= 3).then_some((self.cpuid_fam_id, self.cpuid_mod_id, self.cpuid_step))
    }

    /// The signature as (r, s) big-endian 48-byte scalars; `None` when the high 24 bytes of
    /// either 72-byte field are not zero (no P-384 signature has them set).
    pub fn signature_be(&self) -> Option<([u8; 48], [u8; 48])> {
        let conv = |le: [u8; 72]| -> Option<[u8; 48]> {
            if le[48..].iter().any(|&b| b != 0) {
                return None;
            }
            let mut be = [0u8; 48];
            for (i, b) in le[..48].iter().enumerate() {
                be[47 - i] = *b;
            }
            Some(be)
        };
        Some((conv(self.signature_r)?, conv(self.signature_s)?))
    }
}

/// The signed part of a raw report: bytes 0x000..0x29F.
pub fn signed_bytes(raw: &[u8]) -> Option<&[u8]> {
    raw.get(..offset::SIGNATURE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_refuses_wrong_sizes_and_unknown_versions() {
        assert_eq!(
            SnpReport::parse(&[0u8; 100]).map(|_| ()),
            Err(ParseError::Size(100))
        );
        let mut b = [0u8; offset::SIZE];
        for v in [0u32, 1, 4, 6, 0xFFFF_FFFF] {
            b[..4].copy_from_slice(&v.to_le_bytes());
            assert_eq!(
                SnpReport::parse(&b).map(|_| ()),
                Err(ParseError::Version(v))
            );
        }
        b[..4].copy_from_slice(&3u32.to_le_bytes());
        b[offset::VMPL] = 2;
        b[offset::KEY_INFO] = 1 << 2;
        b[offset::CHIP_ID] = 0xAB;
        b[offset::SIGNATURE_S] = 9;
        let r = SnpReport::parse(&b).unwrap();
        assert_eq!({ r.vmpl }, 2);
        assert_eq!(r.signing_key(), SigningKey::Vlek);
        assert_eq!(r.chip_id[0], 0xAB);
        let (_, s) = r.signature_be().unwrap();
        assert_eq!(s[47], 9);
        b[offset::SIGNATURE_R + 50] = 1;
        assert!(SnpReport::parse(&b).unwrap().signature_be().is_none());
    }
}
