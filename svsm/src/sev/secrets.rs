//! The SNP secrets page (SNP ABI 56860, `PAGE_TYPE_SECRETS`, table "Secrets Page Format"; its
//! OS area is defined by the GHCB spec 56421, section "SEV-SNP Secrets Page"; the SVSM fields
//! at 0x140..0x160 by the SVSM spec 58019, section "SVSM Discovery", which has the SVSM publish
//! itself to the guest through the guest's copy of this page).
//!
//! The PSP writes the page into the launch image with the four VM Platform Communication Keys:
//! VMPCK*n* authenticates the SNP guest messages of VMPL*n*. The SVSM, at VMPL0, keeps VMPCK0 for
//! its own reports and must never let the guest see it; the guest gets a copy of the page with
//! VMPCK0 (and every key of a VMPL more privileged than its own) zeroed and the SVSM fields
//! filled in: [`SecretsPage::guest_copy`].

use alloc::boxed::Box;
use core::mem::{offset_of, size_of};
use zeroize::{Zeroize, ZeroizeOnDrop};

/// Size of the secrets page.
pub const SECRETS_PAGE_SIZE: usize = 4096;
/// Size of a VMPCK.
pub const VMPCK_SIZE: usize = 32;

/// The page (ABI table "Secrets Page Format", versions 2 and 3, with the SVSM fields), field by
/// field. Only for the layout: [`SecretsPage`] reads and writes the bytes.
#[repr(C, packed)]
#[derive(Debug, Clone, Copy)]
pub struct SecretsPageLayout {
    pub version: u32,
    /// Bit 0: IMIEN, the guest was launched with an IMI (migration agent); bits 31:1 reserved.
    pub imi_en: u32,
    /// The CPU's family, model and stepping, as CPUID Fn0000_0001_EAX.
    pub fms: u32,
    pub reserved_00c: u32,
    /// Guest OS SVN window.
    pub gosvw: [u8; 16],
    pub vmpck0: [u8; VMPCK_SIZE],
    pub vmpck1: [u8; VMPCK_SIZE],
    pub vmpck2: [u8; VMPCK_SIZE],
    pub vmpck3: [u8; VMPCK_SIZE],
    /// Reserved for the guest OS (GHCB spec: message sequence numbers, AP jump table).
    pub os_area: [u8; 96],
    /// Version 3: the VMSA register-protection tweak bitmap.
    pub vmsa_tweak_bitmap: [u8; 64],
    /// SVSM spec: the SVSM's base GPA, size, the calling area GPA of the boot vCPU, the
    /// highest core protocol version, and the VMPL the guest runs at.
    pub svsm_base: u64,
    pub svsm_size: u64,
    pub svsm_caa: u64,
    pub svsm_max_version: u32,
    pub svsm_guest_vmpl: u8,
    pub reserved_15d: [u8; 3],
    /// Secure TSC: the TSC scaling factor.
    pub tsc_factor: u32,
    pub reserved_164: [u8; 0xe9c],
}

const _: () = assert!(offset_of!(SecretsPageLayout, version) == 0x000);
const _: () = assert!(offset_of!(SecretsPageLayout, imi_en) == 0x004);
const _: () = assert!(offset_of!(SecretsPageLayout, fms) == 0x008);
const _: () = assert!(offset_of!(SecretsPageLayout, gosvw) == 0x010);
const _: () = assert!(offset_of!(SecretsPageLayout, vmpck0) == 0x020);
const _: () = assert!(offset_of!(SecretsPageLayout, vmpck1) == 0x040);
const _: () = assert!(offset_of!(SecretsPageLayout, vmpck2) == 0x060);
const _: () = assert!(offset_of!(SecretsPageLayout, vmpck3) == 0x080);
const _: () = assert!(offset_of!(SecretsPageLayout, os_area) == 0x0a0);
const _: () = assert!(offset_of!(SecretsPageLayout, vmsa_tweak_bitmap) == 0x100);
const _: () = assert!(offset_of!(SecretsPageLayout, svsm_base) == 0x140);
const _: () = assert!(offset_of!(SecretsPageLayout, svsm_size) == 0x148);
const _: () = assert!(offset_of!(SecretsPageLayout, svsm_caa) == 0x150);
const _: () = assert!(offset_of!(SecretsPageLayout, svsm_max_version) == 0x158);
const _: () = assert!(offset_of!(SecretsPageLayout, svsm_guest_vmpl) == 0x15c);
const _: () = assert!(offset_of!(SecretsPageLayout, tsc_factor) == 0x160);
const _: () = assert!(size_of::<SecretsPageLayout>() == SECRETS_PAGE_SIZE);

const VERSION: usize = offset_of!(SecretsPageLayout, version);
const VMPCK: [usize; 4] = [
    offset_of!(SecretsPageLayout, vmpck0),
    offset_of!(SecretsPageLayout, vmpck1),
    offset_of!(SecretsPageLayout, vmpck2),
    offset_of!(SecretsPageLayout, vmpck3),
];
const SVSM_BASE: usize = offset_of!(SecretsPageLayout, svsm_base);
const SVSM_SIZE: usize = offset_of!(SecretsPageLayout, svsm_size);
const SVSM_CAA: usize = offset_of!(SecretsPageLayout, svsm_caa);
const SVSM_MAX_VERSION: usize = offset_of!(SecretsPageLayout, svsm_max_version);
const SVSM_GUEST_VMPL: usize = offset_of!(SecretsPageLayout, svsm_guest_vmpl);

/// The secrets-page versions whose layout is the one above. A new version must have its layout
/// checked against the ABI before it is added.
pub const KNOWN_VERSIONS: [u32; 2] = [2, 3];

/// A VM Platform Communication Key. Zeroed when dropped; never printed, never cloned.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct Vmpck([u8; VMPCK_SIZE]);

impl Vmpck {
    /// The key with these bytes.
    pub fn new(bytes: [u8; VMPCK_SIZE]) -> Vmpck {
        Vmpck(bytes)
    }

    /// Whether the key is all zeros: the PSP never issues such a key; a zero key is a wiped one.
    pub fn is_zero(&self) -> bool {
        self.0.iter().fold(0u8, |acc, b| acc | b) == 0
    }

    /// The key bytes, for the cipher: never to be copied anywhere else.
    pub fn bytes(&self) -> &[u8; VMPCK_SIZE] {
        &self.0
    }
}

impl core::fmt::Debug for Vmpck {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Vmpck(..)")
    }
}

/// What the SVSM tells the guest about itself (SVSM spec, the secrets-page SVSM fields).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SvsmInfo {
    /// GPA of the SVSM's memory (4 KiB aligned).
    pub base: u64,
    /// Size of the SVSM's memory (a non-zero multiple of 4 KiB): the guest must not touch it.
    pub size: u64,
    /// GPA of the boot vCPU's calling area (4 KiB aligned).
    pub caa: u64,
    /// The highest core protocol version the SVSM serves.
    pub max_version: u32,
    /// The VMPL the guest runs at (1..=3).
    pub guest_vmpl: u8,
}

/// Why a secrets page was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretsError {
    /// A version whose layout this firmware does not know.
    UnknownVersion(u32),
    /// A guest VMPL other than 1, 2 or 3.
    GuestVmpl(u8),
    /// An SVSM base, size or calling area not page aligned, or an empty SVSM.
    SvsmFields,
    /// VMPCK0 is zero: it was taken already, or the PSP gave none.
    NoVmpck0,
}

/// A copy of a secrets page in SVSM memory. Zeroed when dropped.
pub struct SecretsPage {
    bytes: Box<[u8; SECRETS_PAGE_SIZE]>,
}

impl Drop for SecretsPage {
    fn drop(&mut self) {
        self.bytes.zeroize();
    }
}

impl core::fmt::Debug for SecretsPage {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SecretsPage")
            .field("version", &self.version())
            .finish_non_exhaustive()
    }
}

impl SecretsPage {
    /// The page whose bytes are `bytes`, if its version is one of [`KNOWN_VERSIONS`].
    pub fn from_bytes(bytes: &[u8; SECRETS_PAGE_SIZE]) -> Result<SecretsPage, SecretsError> {
        let page = SecretsPage::copy_of(bytes);
        let version = page.version();
        if !KNOWN_VERSIONS.contains(&version) {
            return Err(SecretsError::UnknownVersion(version));
        }
        Ok(page)
    }

    /// A heap copy of `bytes`, filled in place (no copy of the keys left on the stack).
    fn copy_of(bytes: &[u8; SECRETS_PAGE_SIZE]) -> SecretsPage {
        let mut page = SecretsPage {
            bytes: Box::new([0; SECRETS_PAGE_SIZE]),
        };
        page.bytes.copy_from_slice(bytes);
        page
    }

    /// The page's bytes.
    pub fn as_bytes(&self) -> &[u8; SECRETS_PAGE_SIZE] {
        &self.bytes
    }

    fn u32_at(&self, at: usize) -> u32 {
        let mut v = [0u8; 4];
        v.copy_from_slice(&self.bytes[at..at + 4]);
        u32::from_le_bytes(v)
    }

    fn u64_at(&self, at: usize) -> u64 {
        let mut v = [0u8; 8];
        v.copy_from_slice(&self.bytes[at..at + 8]);
        u64::from_le_bytes(v)
    }

    /// The page's version.
    pub fn version(&self) -> u32 {
        self.u32_at(VERSION)
    }

    fn vmpck_range(n: usize) -> core::ops::Range<usize> {
        VMPCK[n]..VMPCK[n] + VMPCK_SIZE
    }

    /// Whether VMPCK*n* (n < 4) is all zeros.
    pub fn vmpck_is_zero(&self, n: usize) -> bool {
        match VMPCK.get(n) {
            Some(&at) => self.bytes[at..at + VMPCK_SIZE].iter().all(|&b| b == 0),
            None => true,
        }
    }

    /// Moves VMPCK0 out of the page: the key is returned and its bytes in the page are zeroed,
    /// so the page holds no copy of it afterwards.
    pub fn take_vmpck0(&mut self) -> Result<Vmpck, SecretsError> {
        if self.vmpck_is_zero(0) {
            return Err(SecretsError::NoVmpck0);
        }
        let mut vmpck = Vmpck([0; VMPCK_SIZE]);
        let field = &mut self.bytes[Self::vmpck_range(0)];
        vmpck.0.copy_from_slice(field);
        field.zeroize();
        Ok(vmpck)
    }

    /// The SVSM fields as they are in the page.
    pub fn svsm_info(&self) -> SvsmInfo {
        SvsmInfo {
            base: self.u64_at(SVSM_BASE),
            size: self.u64_at(SVSM_SIZE),
            caa: self.u64_at(SVSM_CAA),
            max_version: self.u32_at(SVSM_MAX_VERSION),
            guest_vmpl: self.bytes[SVSM_GUEST_VMPL],
        }
    }

    /// The guest's copy of this page: the same bytes, except that the VMPCKs of VMPL0 up to
    /// (not including) `svsm.guest_vmpl` are zeroed — VMPCK0 always — and the SVSM fields
    /// carry `svsm`.
    pub fn guest_copy(&self, svsm: &SvsmInfo) -> Result<SecretsPage, SecretsError> {
        if !(1..=3).contains(&svsm.guest_vmpl) {
            return Err(SecretsError::GuestVmpl(svsm.guest_vmpl));
        }
        let aligned = |v: u64| v & 0xfff == 0;
        if svsm.size == 0 || !aligned(svsm.base) || !aligned(svsm.size) || !aligned(svsm.caa) {
            return Err(SecretsError::SvsmFields);
        }
        let mut copy = SecretsPage::copy_of(&self.bytes);
        for n in 0..usize::from(svsm.guest_vmpl) {
            copy.bytes[Self::vmpck_range(n)].zeroize();
        }
        let b = &mut copy.bytes;
        b[SVSM_BASE..SVSM_BASE + 8].copy_from_slice(&svsm.base.to_le_bytes());
        b[SVSM_SIZE..SVSM_SIZE + 8].copy_from_slice(&svsm.size.to_le_bytes());
        b[SVSM_CAA..SVSM_CAA + 8].copy_from_slice(&svsm.caa.to_le_bytes());
        b[SVSM_MAX_VERSION..SVSM_MAX_VERSION + 4].copy_from_slice(&svsm.max_version.to_le_bytes());
        b[SVSM_GUEST_VMPL] = svsm.guest_vmpl;
        b[SVSM_GUEST_VMPL + 1..SVSM_GUEST_VMPL + 4].fill(0);
        Ok(copy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A version-3 page as the PSP writes it: every key distinct, a pattern in the rest.
    fn psp_page() -> [u8; SECRETS_PAGE_SIZE] {
        let mut p = [0u8; SECRETS_PAGE_SIZE];
        for (i, b) in p.iter_mut().enumerate() {
            *b = (i % 251) as u8 | 1;
        }
        p[0..4].copy_from_slice(&3u32.to_le_bytes());
        for n in 0..4 {
            p[0x20 + 32 * n..0x40 + 32 * n].fill(0xa0 + n as u8);
        }
        p[0x140..0x1000].fill(0);
        p
    }

    fn info() -> SvsmInfo {
        SvsmInfo {
            base: 0x80_0000,
            size: 0x10_0000,
            caa: 0x20_0000,
            max_version: 1,
            guest_vmpl: 1,
        }
    }

    #[test]
    fn the_guest_copy_has_no_vmpck0_and_carries_the_svsm_fields() {
        let original = SecretsPage::from_bytes(&psp_page()).unwrap();
        let copy = original.guest_copy(&info()).unwrap();
        let (o, c) = (original.as_bytes(), copy.as_bytes());
        assert_eq!(&c[0x20..0x40], &[0; 32], "VMPCK0 zeroed");
        assert_eq!(&c[0x40..0xa0], &o[0x40..0xa0], "VMPCK1..3 kept");
        assert_eq!(&c[..0x20], &o[..0x20], "version, IMI, FMS, GOSVW kept");
        assert_eq!(
            &c[0xa0..0x140],
            &o[0xa0..0x140],
            "OS area and tweak bitmap kept"
        );
        assert_eq!(&c[0x140..0x148], &0x80_0000u64.to_le_bytes());
        assert_eq!(&c[0x148..0x150], &0x10_0000u64.to_le_bytes());
        assert_eq!(&c[0x150..0x158], &0x20_0000u64.to_le_bytes());
        assert_eq!(&c[0x158..0x15c], &1u32.to_le_bytes());
        assert_eq!(c[0x15c], 1);
        assert_eq!(&c[0x15d..], &o[0x15d..]);
        assert_eq!(copy.svsm_info(), info());
        assert_eq!(
            &o[0x20..0x40],
            &[0xa0; 32],
            "the original keeps its key until taken"
        );
    }

    #[test]
    fn a_guest_at_vmpl2_loses_vmpck1_too() {
        let original = SecretsPage::from_bytes(&psp_page()).unwrap();
        let copy = original
            .guest_copy(&SvsmInfo {
                guest_vmpl: 2,
                ..info()
            })
            .unwrap();
        let c = copy.as_bytes();
        assert_eq!(&c[0x20..0x60], &[0; 64]);
        assert_eq!(&c[0x60..0x80], &[0xa2; 32]);
        assert_eq!(&c[0x80..0xa0], &[0xa3; 32]);
    }

    #[test]
    fn bad_svsm_fields_and_versions_are_refused() {
        let original = SecretsPage::from_bytes(&psp_page()).unwrap();
        for vmpl in [0, 4, 255] {
            let bad = SvsmInfo {
                guest_vmpl: vmpl,
                ..info()
            };
            assert_eq!(
                original.guest_copy(&bad).unwrap_err(),
                SecretsError::GuestVmpl(vmpl)
            );
        }
        for bad in [
            SvsmInfo { size: 0, ..info() },
            SvsmInfo {
                base: 0x80_0800,
                ..info()
            },
            SvsmInfo {
                caa: 0x20_0008,
                ..info()
            },
        ] {
            assert_eq!(
                original.guest_copy(&bad).unwrap_err(),
                SecretsError::SvsmFields
            );
        }
        let mut v4 = psp_page();
        v4[0] = 4;
        assert_eq!(
            SecretsPage::from_bytes(&v4).unwrap_err(),
            SecretsError::UnknownVersion(4)
        );
        let mut v2 = psp_page();
        v2[0] = 2;
        assert!(SecretsPage::from_bytes(&v2).is_ok());
    }

    #[test]
    fn taking_vmpck0_leaves_no_copy_in_the_page() {
        let mut page = SecretsPage::from_bytes(&psp_page()).unwrap();
        assert!(!page.vmpck_is_zero(0));
        let key = page.take_vmpck0().unwrap();
        assert_eq!(key.bytes(), &[0xa0; 32]);
        assert!(!key.is_zero());
        assert!(page.vmpck_is_zero(0));
        assert_eq!(&page.as_bytes()[0x20..0x40], &[0; 32]);
        assert!(!page.vmpck_is_zero(1));
        assert_eq!(page.take_vmpck0().unwrap_err(), SecretsError::NoVmpck0);
        assert!(page.vmpck_is_zero(4), "no fifth key");
        assert_eq!(std::format!("{key:?}"), "Vmpck(..)");
    }

    #[test]
    fn a_vmpck_is_zeroed_in_place() {
        let mut key = Vmpck::new([0x5a; 32]);
        key.zeroize();
        assert!(key.is_zero());
    }
}
