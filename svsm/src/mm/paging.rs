//! Changes to the boot page tables (built by the entry code: the first 4 GiB identity-mapped with
//! 2 MiB pages): under SEV-SNP, one 4 KiB page made shared (C-bit clear) for the GHCB and the
//! guest-request pages. The entry arithmetic is pure and tested on the host; the table writes
//! are firmware-only.

/// Present | writable.
pub const PRESENT_RW: u64 = 0x3;
/// Bit 7 of a PDE: a 2 MiB leaf.
pub const PAGE_SIZE_2M: u64 = 0x80;
/// The low flag bits a 4 KiB entry inherits from a 2 MiB leaf: P, RW, US, PWT, PCD, A, D.
const INHERITED: u64 = 0x7F;
/// No-execute.
const NX: u64 = 1 << 63;
/// Address bits 51:21 of a 2 MiB leaf.
const ADDR_2M: u64 = 0x000F_FFFF_FFE0_0000;

/// The 512 entries of a page table that maps what the 2 MiB leaf `pde` maps, page by page, with
/// the same flags and the same C-bit (`cbit_mask`: the C-bit as a mask, which lies inside the
/// address field). `None` unless `pde` is a present 2 MiB leaf.
pub fn split_2m(pde: u64, cbit_mask: u64) -> Option<[u64; 512]> {
    if pde & 1 == 0 || pde & PAGE_SIZE_2M == 0 {
        return None;
    }
    let base = pde & ADDR_2M & !cbit_mask;
    let flags = (pde & INHERITED & !PAGE_SIZE_2M) | (pde & NX) | (pde & cbit_mask);
    let mut t = [0u64; 512];
    for (i, e) in t.iter_mut().enumerate() {
        *e = (base + ((i as u64) << 12)) | flags;
    }
    Some(t)
}

/// The PDPT entry that maps GiB `index` identity with one 1 GiB page: present, writable,
/// page size, with the C-bit (`cbit_mask`).
pub const fn pdpte_1g(index: u64, cbit_mask: u64) -> u64 {
    (index << 30) | cbit_mask | PRESENT_RW | PAGE_SIZE_2M
}

/// Most GiBs one PDPT maps.
pub const PDPT_ENTRIES: u64 = 512;

/// Index of `va` in the page directory of the first GiB and in its page table.
pub fn indices(va: u64) -> Option<(usize, usize)> {
    (va < 1 << 30).then_some(((va >> 21) as usize, ((va >> 12) & 0x1FF) as usize))
}

#[cfg(target_os = "none")]
pub use firmware::{map_high, map_shared};

#[cfg(target_os = "none")]
mod firmware {
    use super::{indices, split_2m, PAGE_SIZE_2M, PRESENT_RW};
    use core::cell::UnsafeCell;
    use core::ptr::{read_volatile, write_volatile};

    extern "C" {
        /// The page directory of the first GiB (boot code, `.boot_pt`).
        static boot_pd: u8;
        /// The page-directory-pointer table (boot code, `.boot_pt`): entries 0 to 3 point to
        /// the four page directories of the first 4 GiB.
        static boot_pdpt: u8;
    }

    /// Maps guest physical memory from 4 GiB up to `end` (rounded up to a GiB, at most 512 GiB)
    /// identity with 1 GiB pages carrying the C-bit, and records the new end
    /// ([`crate::mm::guest::IdentityMapped::mapped_end`]). Returns that end; 4 GiB when there is
    /// nothing above it to map.
    ///
    /// # Safety
    ///
    /// Boot CPU only, nothing else running; the CPU supports 1 GiB pages; `cbit_mask` is the
    /// C-bit the entry code mapped with. Entries 4 and up of the boot PDPT are unused (the
    /// entry code maps 4 GiB), so no existing mapping changes.
    pub unsafe fn map_high(end: u64, cbit_mask: u64) -> u64 {
        use super::{pdpte_1g, PDPT_ENTRIES};
        let gib = end.div_ceil(1 << 30).min(PDPT_ENTRIES);
        if gib <= 4 {
            return crate::mm::guest::IdentityMapped::MAPPED_END;
        }
        let pdpt = (&raw const boot_pdpt) as *mut u64;
        for i in 4..gib {
            // SAFETY: `i` < 512, inside the boot PDPT; entries 4.. were empty (contract).
            unsafe { write_volatile(pdpt.add(i as usize), pdpte_1g(i, cbit_mask)) };
        }
        // SAFETY: new mappings only; a CR3 reload makes them visible.
        unsafe {
            core::arch::asm!("mov {t}, cr3", "mov cr3, {t}", t = out(reg) _, options(nostack));
        }
        crate::mm::guest::MAPPED.store(gib << 30, core::sync::atomic::Ordering::Release);
        gib << 30
    }

    /// The one page table that replaces a 2 MiB leaf: the shared pages all lie in one 2 MiB
    /// region (`sev::snp`'s pool).
    #[repr(C, align(4096))]
    struct Table(UnsafeCell<[u64; 512]>);
    // SAFETY: written only by `map_shared`, whose callers run on the boot CPU before any
    // other CPU or interrupt can reach the tables.
    unsafe impl Sync for Table {}
    static SPLIT: Table = Table(UnsafeCell::new([0; 512]));

    /// Maps the 4 KiB page at `va` (identity, in the first GiB) with the C-bit clear, splitting
    /// its 2 MiB leaf into [`SPLIT`] on first use; flushes the TLB.
    ///
    /// # Safety
    ///
    /// Boot CPU only, nothing else running; `cbit_mask` is the C-bit the entry code mapped with;
    /// no Rust object lives in the page (from now on it reads and writes shared, hypervisor-
    /// visible memory), and its RMP state is (or is about to be made) shared.
    pub unsafe fn map_shared(va: u64, cbit_mask: u64) -> Result<(), &'static str> {
        let (di, ti) = indices(va).ok_or("not in the first GiB")?;
        let pd = (&raw const boot_pd) as *mut u64;
        let table = SPLIT.0.get() as *mut u64;
        let table_gpa = table as u64;
        // SAFETY: `pd` is the 512-entry page directory the entry code built and `di` < 512;
        // the tables are private memory only this boot CPU touches (caller contract).
        let pde = unsafe { read_volatile(pd.add(di)) };
        if pde & PAGE_SIZE_2M != 0 {
            // SAFETY: as above; SPLIT is used once (a second split is refused below).
            if unsafe { read_volatile(table) } != 0 {
                return Err("the spare page table is already in use for another 2 MiB");
            }
            let entries = split_2m(pde, cbit_mask).ok_or("not a present 2 MiB mapping")?;
            for (i, e) in entries.iter().enumerate() {
                // SAFETY: i < 512, inside SPLIT.
                unsafe { write_volatile(table.add(i), *e) };
            }
            // SAFETY: replaces one PDE with one that maps the same memory the same way; the
            // TLB flush below makes the CPU use it.
            unsafe { write_volatile(pd.add(di), table_gpa | PRESENT_RW | cbit_mask) };
        } else if pde & !cbit_mask & !0xFFF & 0x000F_FFFF_FFFF_F000 != table_gpa {
            return Err("the 2 MiB region is mapped by an unknown page table");
        }
        // SAFETY: ti < 512; clearing the C-bit of one leaf maps that page shared (caller
        // contract: nothing in it is a Rust object).
        unsafe {
            let pte = read_volatile(table.add(ti));
            write_volatile(table.add(ti), pte & !cbit_mask);
            // A full flush (CR3 reload) covers the split PDE and the changed PTE.
            core::arch::asm!("mov {t}, cr3", "mov cr3, {t}", t = out(reg) _, options(nostack));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const C51: u64 = 1 << 51;

    #[test]
    fn a_2m_leaf_splits_into_the_same_mapping_page_by_page() {
        let pde = 0x0120_0000 | 0x83 | C51;
        let t = split_2m(pde, C51).unwrap();
        assert_eq!(t[0], 0x0120_0000 | 0x3 | C51);
        assert_eq!(t[1], 0x0120_1000 | 0x3 | C51);
        assert_eq!(t[511], 0x013F_F000 | 0x3 | C51);
        let nx = split_2m(pde | (1 << 63), C51).unwrap();
        assert_eq!(nx[5] >> 63, 1);
        // Without the C-bit (a non-SNP map) nothing is added.
        assert_eq!(split_2m(0x83, 0).unwrap()[2], 0x2003);
    }

    #[test]
    fn only_present_2m_leaves_split() {
        assert!(
            split_2m(0x0120_0000 | 0x3, C51).is_none(),
            "a table pointer"
        );
        assert!(split_2m(0x0120_0000 | 0x82, C51).is_none(), "not present");
    }

    #[test]
    fn a_1g_entry_maps_its_gib_with_the_cbit() {
        assert_eq!(pdpte_1g(4, C51), 0x1_0000_0000 | C51 | 0x83);
        assert_eq!(pdpte_1g(511, 0), (511 << 30) | 0x83);
    }

    #[test]
    fn indices_cover_the_first_gib_only() {
        assert_eq!(indices(0x0120_3000), Some((9, 3)));
        assert_eq!(indices((1 << 30) - 4096), Some((511, 511)));
        assert_eq!(indices(1 << 30), None);
    }
}
