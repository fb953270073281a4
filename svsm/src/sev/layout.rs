//! Where an SEV-SNP launch of the firmware puts what (the launch image `evtpm igvm` builds,
//! `tools/src/igvm.rs`, and the MEASUREMENT `evtpm measure` computes): the pages the PSP fills
//! at launch, just below the image at 16 MiB, inside the first GiB the boot page tables map.
//! The 32-bit SNP entry (`snp_start`, the ELF entry and the launch VMSA's RIP) reads the CPUID
//! page before anything else, to find the C-bit.

/// The SNP secrets page (SNP ABI 56860, "Secrets Page Format"): VMPCK0-3, the guest's
/// copy of which the SVSM makes (`sev::secrets`).
pub const SECRETS_GPA: u64 = 0x00FF_E000;
/// The SNP CPUID page (SNP ABI 56860, "CPUID Page Format"): the CPUID values the PSP checked.
pub const CPUID_GPA: u64 = 0x00FF_F000;

/// Layout of the CPUID page (Linux `struct snp_cpuid_table`): `count` (u32) and 12 reserved
/// bytes, then up to [`CPUID_MAX_FUNCTIONS`] entries of 48 bytes: `eax_in`, `ecx_in` (u32),
/// `xcr0_in`, `xss_in` (u64), `eax`, `ebx`, `ecx`, `edx` (u32), 8 reserved bytes.
pub const CPUID_ENTRIES: usize = 16;
pub const CPUID_ENTRY_SIZE: usize = 48;
pub const CPUID_MAX_FUNCTIONS: usize = 64;
/// Offset of `ebx` in an entry.
pub const CPUID_ENTRY_EBX: usize = 28;

/// `boot_info` of `svsm_main` when the SNP entry started the firmware (a PVH start-info
/// address is below 4 GiB; 0 means "no boot information").
pub const SNP_BOOT: u64 = u64::MAX;

/// The termination reason set of evtpm's own reasons (GHCB spec 56421, "Termination Request":
/// set 0 is the GHCB spec's, set 1 Linux's; evtpm uses 0xE).
pub const TERMINATION_SET: u8 = 0xE;
/// Reason codes in [`TERMINATION_SET`].
pub mod termination {
    /// The CPUID page has no Fn8000_001F entry, or its C-bit is outside 32..=51.
    pub const NO_CBIT: u8 = 1;
    /// The hypervisor does not speak GHCB protocol version 2.
    pub const GHCB_VERSION: u8 = 2;
    /// The hypervisor's SEV information disagrees with the CPUID page's C-bit.
    pub const CBIT_MISMATCH: u8 = 3;
    /// The hypervisor lacks a feature the SVSM needs (SNP, AP creation, multiple VMPLs).
    pub const HV_FEATURES: u8 = 4;
    /// The GHCB and guest-request pages could not be made shared and registered.
    pub const SHARED_PAGES: u8 = 5;
    /// The secrets page has no usable VMPCK0, or the vTPM service could not be provisioned.
    pub const SERVICE: u8 = 6;
    /// The launch-information page is missing, malformed, or describes a guest firmware
    /// layout the SVSM refuses (`sev::launch::LaunchInfo::check`).
    pub const LAUNCH_INFO: u8 = 7;
    /// The guest's memory could not be prepared (a page state change, PVALIDATE or RMPADJUST
    /// failed).
    pub const GUEST_MEMORY: u8 = 8;
    /// The guest's VMSA could not be made or registered (RMPADJUST, SNP AP Creation).
    pub const GUEST_VMSA: u8 = 9;
    /// The hypervisor refused to run the guest's VMPL.
    pub const RUN_VMPL: u8 = 10;
}

/// The C-bit position recorded in a CPUID page, as `snp_start` finds it: the EBX[5:0] of the
/// first Fn8000_001F entry, if that entry exists and the bit is in 32..=51. (The entry code
/// does this in assembly before paging; this is its specification, tested on the host.)
pub fn cbit_from_cpuid_page(page: &[u8]) -> Option<u32> {
    let le32 = |at: usize| -> Option<u32> {
        Some(u32::from_le_bytes(page.get(at..at + 4)?.try_into().ok()?))
    };
    let count = le32(0)? as usize;
    if count > CPUID_MAX_FUNCTIONS {
        return None;
    }
    (0..count)
        .map(|i| CPUID_ENTRIES + i * CPUID_ENTRY_SIZE)
        .find(|&e| le32(e) == Some(0x8000_001F))
        .and_then(|e| le32(e + CPUID_ENTRY_EBX))
        .map(|ebx| ebx & 0x3F)
        .filter(|c| (32..=51).contains(c))
}

/// Leaves whose ECX input selects a sub-leaf (AMD CPUID spec 25481; Linux `snp_cpuid`'s list):
/// for these the CPUID page holds one entry per sub-leaf.
const INDEXED_LEAVES: [u32; 9] = [
    0x4,
    0x7,
    0xB,
    0xD,
    0xF,
    0x10,
    0x8000_001D,
    0x8000_0020,
    0x8000_0026,
];

/// `CPUID(leaf, subleaf)` as the CPUID page records it: EAX, EBX, ECX, EDX of the first entry
/// with that `eax_in` (and `ecx_in`, for an indexed leaf). `None` if the page has none, as for a
/// leaf the PSP was not asked to check: the caller treats that as all zeros, as a CPU does above
/// its maximum leaf. Leaf 0xD's XSAVE sizes are taken as recorded (for `xcr0_in` = 1, x87 only:
/// the firmware enables no other XSAVE state).
pub fn cpuid_lookup(page: &[u8], leaf: u32, subleaf: u32) -> Option<[u32; 4]> {
    let le32 = |at: usize| -> Option<u32> {
        Some(u32::from_le_bytes(page.get(at..at + 4)?.try_into().ok()?))
    };
    let count = (le32(0)? as usize).min(CPUID_MAX_FUNCTIONS);
    let indexed = INDEXED_LEAVES.contains(&leaf);
    (0..count)
        .map(|i| CPUID_ENTRIES + i * CPUID_ENTRY_SIZE)
        .find(|&e| le32(e) == Some(leaf) && (!indexed || le32(e + 4) == Some(subleaf)))
        .and_then(|e| {
            Some([
                le32(e + 24)?,
                le32(e + CPUID_ENTRY_EBX)?,
                le32(e + 32)?,
                le32(e + 36)?,
            ])
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(entries: &[(u32, u32)]) -> [u8; 4096] {
        let mut p = [0u8; 4096];
        p[..4].copy_from_slice(&(entries.len() as u32).to_le_bytes());
        for (i, (func, ebx)) in entries.iter().enumerate() {
            let e = CPUID_ENTRIES + i * CPUID_ENTRY_SIZE;
            p[e..e + 4].copy_from_slice(&func.to_le_bytes());
            p[e + CPUID_ENTRY_EBX..e + CPUID_ENTRY_EBX + 4].copy_from_slice(&ebx.to_le_bytes());
        }
        p
    }

    #[test]
    fn the_cbit_comes_from_fn_8000_001f() {
        // Milan/Genoa: EBX = 0x0000_0173 (C-bit 51, reduced phys bits 5).
        assert_eq!(
            cbit_from_cpuid_page(&page(&[(1, 0x800), (0x8000_001F, 0x173)])),
            Some(51)
        );
        assert_eq!(
            cbit_from_cpuid_page(&page(&[(0x8000_001F, 0x2F)])),
            Some(47)
        );
    }

    #[test]
    fn a_missing_or_implausible_cbit_is_refused() {
        assert_eq!(cbit_from_cpuid_page(&page(&[(1, 0x173)])), None);
        assert_eq!(cbit_from_cpuid_page(&page(&[(0x8000_001F, 31)])), None);
        assert_eq!(cbit_from_cpuid_page(&page(&[(0x8000_001F, 52)])), None);
        assert_eq!(cbit_from_cpuid_page(&page(&[])), None);
        let mut too_many = page(&[(0x8000_001F, 51)]);
        too_many[..4].copy_from_slice(&65u32.to_le_bytes());
        assert_eq!(cbit_from_cpuid_page(&too_many), None);
        assert_eq!(cbit_from_cpuid_page(&[0; 8]), None);
    }

    #[test]
    fn cpuid_lookup_matches_leaf_and_for_indexed_leaves_the_subleaf() {
        let mut p = page(&[(0, 0), (7, 0), (7, 0x29C6_FBBF), (0x8000_001F, 0x173)]);
        // Entry 1 is leaf 7 sub-leaf 0; make entry 2 sub-leaf 1 with its own EBX.
        let e2 = CPUID_ENTRIES + 2 * CPUID_ENTRY_SIZE;
        p[e2 + 4..e2 + 8].copy_from_slice(&1u32.to_le_bytes());
        let e0 = CPUID_ENTRIES;
        p[e0 + 24..e0 + 28].copy_from_slice(&0x10u32.to_le_bytes()); // EAX: max leaf
        p[e0 + 28..e0 + 32].copy_from_slice(b"Auth");
        assert_eq!(cpuid_lookup(&p, 0, 0).unwrap()[0], 0x10);
        assert_eq!(&cpuid_lookup(&p, 0, 0).unwrap()[1].to_le_bytes(), b"Auth");
        assert_eq!(
            cpuid_lookup(&p, 0, 5).unwrap()[0],
            0x10,
            "leaf 0 is not indexed"
        );
        assert_eq!(cpuid_lookup(&p, 7, 0).unwrap()[1], 0);
        assert_eq!(cpuid_lookup(&p, 7, 1).unwrap()[1], 0x29C6_FBBF);
        assert_eq!(cpuid_lookup(&p, 7, 2), None);
        assert_eq!(cpuid_lookup(&p, 0x8000_001F, 0).unwrap()[1], 0x173);
        assert_eq!(cpuid_lookup(&p, 1, 0), None);
        assert_eq!(cpuid_lookup(&[1, 0], 0, 0), None);
    }

    #[test]
    fn the_pages_sit_below_the_image_and_inside_the_first_gib() {
        assert_eq!(SECRETS_GPA + 4096, CPUID_GPA);
        assert_eq!(CPUID_GPA + 4096, 0x100_0000, "the image loads at 16 MiB");
        assert_eq!(CPUID_ENTRIES + CPUID_MAX_FUNCTIONS * CPUID_ENTRY_SIZE, 3088);
    }
}
