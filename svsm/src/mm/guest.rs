//! The one door to guest memory.
//!
//! The firmware names guest physical memory only through a [`GuestRegion`], and the only way to
//! make one is [`GuestMap::region`] (or its shorthands [`GuestMap::page`] and
//! [`GuestMap::huge_page`], which call it). That constructor is where every address the guest (or
//! the host, on the `qemu-test` platform) hands us is checked:
//!
//! 1. the address is aligned as the caller's ABI demands;
//! 2. the region is not empty and does not cross a page of the stated size;
//! 3. its end does not overflow;
//! 4. it overlaps no SVSM-owned memory (the image, its stack and heap, the platform's own pages);
//! 5. it overlaps no page registered as a VMSA (`SVSM_CORE_CREATE_VCPU`);
//! 6. it lies entirely inside one range of guest RAM.
//!
//! Think carefully before loosening any of these checks or adding a second way to make a
//! [`GuestRegion`]: everything downstream (the protocol handlers, the `qemu-test` transport)
//! relies on them and checks nothing again.
//!
//! A region borrows the map it was checked against, so the map (the VMSA set in particular)
//! cannot change while a checked address is alive: a page cannot become a VMSA between the check
//! and the copy.
//!
//! Data moves only by copy ([`GuestMemory::copy_in`] / [`GuestMemory::copy_out`]); no Rust
//! reference ever points into guest memory, whose contents another CPU (or the hypervisor, for
//! shared pages) may change at any time.

use alloc::vec::Vec;
use core::fmt;
use core::marker::PhantomData;
use core::ops::Range;

/// A 4 KiB page.
pub const PAGE_SIZE: u64 = 4096;
/// A 2 MiB page.
pub const HUGE_PAGE_SIZE: u64 = 2 * 1024 * 1024;
/// Most VMSA pages registered at once (two per vCPU for a 128-vCPU guest: `CREATE_VCPU` may
/// install a new VMSA before the old one is deleted).
pub const MAX_VMSAS: usize = 256;

/// The page granularity a region must stay within.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageSize {
    /// 4 KiB.
    Small,
    /// 2 MiB.
    Huge,
}

impl PageSize {
    /// The size in bytes.
    pub const fn bytes(self) -> u64 {
        match self {
            PageSize::Small => PAGE_SIZE,
            PageSize::Huge => HUGE_PAGE_SIZE,
        }
    }
}

/// Why an address was refused, or a copy failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuestMemError {
    /// Not aligned as required.
    Unaligned,
    /// Empty, or longer than a page.
    BadLength,
    /// The region crosses a page boundary.
    CrossesPage,
    /// Part of the region is not guest RAM (or its end overflows).
    OutOfRange,
    /// The region overlaps memory the SVSM owns.
    SvsmOwned,
    /// The region overlaps a VMSA page.
    Vmsa,
    /// A copy's buffer length differs from the region's length.
    LengthMismatch,
    /// The VMSA set is full.
    TooManyVmsas,
    /// The page is already a VMSA (registering) or is not one (unregistering).
    VmsaState,
    /// The copy touched a page the guest never validated (SEV-SNP #VC `PAGE_NOT_VALIDATED`).
    NotValidated,
}

impl GuestMemError {
    /// A one-byte code for the `qemu-test` transport's status field.
    pub const fn code(self) -> u8 {
        match self {
            GuestMemError::Unaligned => 1,
            GuestMemError::BadLength => 2,
            GuestMemError::CrossesPage => 3,
            GuestMemError::OutOfRange => 4,
            GuestMemError::SvsmOwned => 5,
            GuestMemError::Vmsa => 6,
            GuestMemError::LengthMismatch => 7,
            GuestMemError::TooManyVmsas => 8,
            GuestMemError::VmsaState => 9,
            GuestMemError::NotValidated => 10,
        }
    }

    /// Inverse of [`GuestMemError::code`].
    pub const fn from_code(code: u8) -> Option<GuestMemError> {
        Some(match code {
            1 => GuestMemError::Unaligned,
            2 => GuestMemError::BadLength,
            3 => GuestMemError::CrossesPage,
            4 => GuestMemError::OutOfRange,
            5 => GuestMemError::SvsmOwned,
            6 => GuestMemError::Vmsa,
            7 => GuestMemError::LengthMismatch,
            8 => GuestMemError::TooManyVmsas,
            9 => GuestMemError::VmsaState,
            10 => GuestMemError::NotValidated,
            _ => return None,
        })
    }
}

impl fmt::Display for GuestMemError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            GuestMemError::Unaligned => "unaligned guest address",
            GuestMemError::BadLength => "empty or over-long guest region",
            GuestMemError::CrossesPage => "guest region crosses a page",
            GuestMemError::OutOfRange => "not guest RAM",
            GuestMemError::SvsmOwned => "SVSM-owned memory",
            GuestMemError::Vmsa => "a VMSA page",
            GuestMemError::LengthMismatch => "buffer length differs from the region",
            GuestMemError::TooManyVmsas => "too many VMSA pages",
            GuestMemError::VmsaState => "VMSA page state",
            GuestMemError::NotValidated => "a guest page that is not validated",
        })
    }
}

/// What guest physical memory is: RAM ranges, the SVSM's own ranges inside or beside them, and
/// the pages currently in use as VMSAs.
#[derive(Debug, Clone)]
pub struct GuestMap {
    ram: Vec<Range<u64>>,
    svsm: Vec<Range<u64>>,
    vmsas: Vec<u64>,
}

fn overlaps(a: &Range<u64>, b: &Range<u64>) -> bool {
    a.start < b.end && b.start < a.end
}

impl GuestMap {
    /// A map of guest RAM `ram` from which the SVSM-owned ranges `svsm` are excluded. Empty
    /// ranges are dropped.
    pub fn new(ram: &[Range<u64>], svsm: &[Range<u64>]) -> GuestMap {
        let keep = |r: &&Range<u64>| r.start < r.end;
        GuestMap {
            ram: ram.iter().filter(keep).cloned().collect(),
            svsm: svsm.iter().filter(keep).cloned().collect(),
            vmsas: Vec::new(),
        }
    }

    /// Checks `len` bytes at `gpa`, aligned to `align` (a power of two; anything else refuses
    /// every address) and within one page of size `page`. The single constructor of
    /// [`GuestRegion`]: see the module documentation before changing it.
    pub fn region(
        &self,
        gpa: u64,
        len: u64,
        align: u64,
        page: PageSize,
    ) -> Result<GuestRegion<'_>, GuestMemError> {
        if !align.is_power_of_two() || gpa & (align - 1) != 0 {
            return Err(GuestMemError::Unaligned);
        }
        let page_bytes = page.bytes();
        if len == 0 || len > page_bytes {
            return Err(GuestMemError::BadLength);
        }
        // `gpa % page_bytes < page_bytes` and `len <= page_bytes`: the sum cannot overflow.
        if gpa % page_bytes + len > page_bytes {
            return Err(GuestMemError::CrossesPage);
        }
        let end = gpa.checked_add(len).ok_or(GuestMemError::OutOfRange)?;
        let range = gpa..end;
        if self.svsm.iter().any(|s| overlaps(s, &range)) {
            return Err(GuestMemError::SvsmOwned);
        }
        if self
            .vmsas
            .iter()
            .any(|&v| overlaps(&(v..v + PAGE_SIZE), &range))
        {
            return Err(GuestMemError::Vmsa);
        }
        if !self
            .ram
            .iter()
            .any(|r| r.start <= range.start && range.end <= r.end)
        {
            return Err(GuestMemError::OutOfRange);
        }
        Ok(GuestRegion {
            gpa,
            len: len as usize,
            _map: PhantomData,
        })
    }

    /// A whole 4 KiB page at `gpa`.
    pub fn page(&self, gpa: u64) -> Result<GuestRegion<'_>, GuestMemError> {
        self.region(gpa, PAGE_SIZE, PAGE_SIZE, PageSize::Small)
    }

    /// A whole 2 MiB page at `gpa`.
    pub fn huge_page(&self, gpa: u64) -> Result<GuestRegion<'_>, GuestMemError> {
        self.region(gpa, HUGE_PAGE_SIZE, HUGE_PAGE_SIZE, PageSize::Huge)
    }

    /// Whether `page` is a registered VMSA page.
    pub fn is_vmsa(&self, page: u64) -> bool {
        self.vmsas.contains(&page)
    }

    /// Marks the 4 KiB page at `gpa` as a VMSA: from now on no region may touch it. The page
    /// must pass [`GuestMap::page`] first.
    pub fn add_vmsa(&mut self, gpa: u64) -> Result<(), GuestMemError> {
        let page = self.page(gpa)?.gpa();
        if self.vmsas.len() >= MAX_VMSAS {
            return Err(GuestMemError::TooManyVmsas);
        }
        self.vmsas.push(page);
        Ok(())
    }

    /// Returns a VMSA page to ordinary guest memory.
    pub fn remove_vmsa(&mut self, gpa: u64) -> Result<(), GuestMemError> {
        let i = self
            .vmsas
            .iter()
            .position(|&v| v == gpa)
            .ok_or(GuestMemError::VmsaState)?;
        self.vmsas.swap_remove(i);
        Ok(())
    }
}

/// A checked guest physical region: inside guest RAM, within one page, clear of SVSM memory and
/// VMSA pages. Made only by [`GuestMap::region`]; valid while that map is borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuestRegion<'m> {
    gpa: u64,
    len: usize,
    _map: PhantomData<&'m GuestMap>,
}

impl GuestRegion<'_> {
    /// The first guest physical address.
    pub fn gpa(&self) -> u64 {
        self.gpa
    }

    /// The length in bytes (at most a 2 MiB page).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Never true: regions are not empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// Guest physical memory, reached only by copying through checked regions.
pub trait GuestMemory {
    /// Copies the region into `dst` (exactly `region.len()` bytes).
    fn copy_in(&self, region: &GuestRegion<'_>, dst: &mut [u8]) -> Result<(), GuestMemError>;
    /// Copies `src` (exactly `region.len()` bytes) into the region.
    fn copy_out(&mut self, region: &GuestRegion<'_>, src: &[u8]) -> Result<(), GuestMemError>;
}

/// Guest memory reached through the SVSM's identity mapping of physical memory.
///
/// The entry code maps the first 4 GiB identity; the platform builds its [`GuestMap`] only from
/// RAM below that, so a checked region is mapped, is RAM, and (being clear of SVSM-owned
/// ranges: the image, its stack and heap) is no memory any Rust object lives in.
/// See [`IdentityMapped::mapped_end`]; written only by [`crate::mm::paging::map_high`].
#[cfg(target_os = "none")]
pub(crate) static MAPPED: core::sync::atomic::AtomicU64 =
    core::sync::atomic::AtomicU64::new(IdentityMapped::MAPPED_END);

#[cfg(target_os = "none")]
#[derive(Debug)]
pub struct IdentityMapped {
    _private: (),
}

#[cfg(target_os = "none")]
impl IdentityMapped {
    /// Highest address (exclusive) the boot page tables map identity (`boot.rs`).
    pub const MAPPED_END: u64 = 4 << 30;

    /// Highest address (exclusive) mapped identity now: [`Self::MAPPED_END`], or more once
    /// [`crate::mm::paging::map_high`] has mapped RAM above 4 GiB.
    pub fn mapped_end() -> u64 {
        MAPPED.load(core::sync::atomic::Ordering::Acquire)
    }

    /// Guest memory through the identity map. `map` must describe only RAM below
    /// [`IdentityMapped::mapped_end`]; `None` otherwise.
    pub fn new(map: &GuestMap) -> Option<IdentityMapped> {
        map.ram
            .iter()
            .all(|r| r.end <= Self::mapped_end())
            .then_some(IdentityMapped { _private: () })
    }
}

// The one routine that reads or writes guest memory: `rep movsb` of `rdx` bytes from `rsi` to
// `rdi`, returning 0 in EAX; if the copy touches a guest page that is not validated, the #VC
// handler resumes at `evtpm_guest_copy_fixup` (`guest_copy_fixup`), which returns 1. DF is
// clear on entry (System V ABI).
#[cfg(target_os = "none")]
core::arch::global_asm!(
    ".pushsection .text.evtpm_guest_copy, \"ax\"",
    ".global evtpm_guest_copy",
    "evtpm_guest_copy:",
    "    mov rcx, rdx",
    ".global evtpm_guest_copy_insn",
    "evtpm_guest_copy_insn:",
    "    rep movsb",
    "    xor eax, eax",
    "    ret",
    ".global evtpm_guest_copy_fixup",
    "evtpm_guest_copy_fixup:",
    "    mov eax, 1",
    "    ret",
    ".popsection",
);

#[cfg(target_os = "none")]
extern "C" {
    fn evtpm_guest_copy(dst: *mut u8, src: *const u8, len: usize) -> u32;
    static evtpm_guest_copy_insn: u8;
    static evtpm_guest_copy_fixup: u8;
}

/// Where to resume after a #VC `PAGE_NOT_VALIDATED` at `rip`: the copy's failure exit if
/// `rip` is the guest copy's `rep movsb`, else `None` (the #VC is fatal).
#[cfg(target_os = "none")]
pub fn guest_copy_fixup(rip: u64) -> Option<u64> {
    let insn = (&raw const evtpm_guest_copy_insn) as u64;
    (rip == insn).then_some((&raw const evtpm_guest_copy_fixup) as u64)
}

#[cfg(target_os = "none")]
impl GuestMemory for IdentityMapped {
    fn copy_in(&self, region: &GuestRegion<'_>, dst: &mut [u8]) -> Result<(), GuestMemError> {
        if dst.len() != region.len() {
            return Err(GuestMemError::LengthMismatch);
        }
        // SAFETY:
        // 1. `region` was checked by `GuestMap::region` against a map whose RAM lies below
        //    `mapped_end()` (`IdentityMapped::new`; the map only grows), so `gpa..gpa+len` is
        //    identity-mapped RAM.
        // 2. It overlaps no SVSM-owned range, so no Rust object (image, stack, heap) lives there
        //    and `dst`, which is SVSM memory, cannot overlap it.
        // 3. `evtpm_guest_copy` reads each byte once (a snapshot of memory the guest may change
        //    concurrently) and forms no reference into the region; a page the guest never
        //    validated ends the copy through the #VC fix-up with 1, and `dst` is then partly
        //    written, which the error makes the caller discard.
        let failed =
            unsafe { evtpm_guest_copy(dst.as_mut_ptr(), region.gpa() as *const u8, dst.len()) };
        if failed != 0 {
            return Err(GuestMemError::NotValidated);
        }
        Ok(())
    }

    fn copy_out(&mut self, region: &GuestRegion<'_>, src: &[u8]) -> Result<(), GuestMemError> {
        if src.len() != region.len() {
            return Err(GuestMemError::LengthMismatch);
        }
        // SAFETY: as in `copy_in` (points 1 to 3), with the guest region as the destination:
        // byte stores into guest memory that no Rust object occupies.
        let failed = unsafe { evtpm_guest_copy(region.gpa() as *mut u8, src.as_ptr(), src.len()) };
        if failed != 0 {
            return Err(GuestMemError::NotValidated);
        }
        Ok(())
    }
}

/// Guest memory in a `Vec`, for host tests: `base..base + len` is backed.
#[derive(Debug, Clone)]
pub struct VecMemory {
    base: u64,
    bytes: Vec<u8>,
}

impl VecMemory {
    /// `len` zero bytes at guest physical `base`.
    pub fn new(base: u64, len: usize) -> VecMemory {
        VecMemory {
            base,
            bytes: alloc::vec![0; len],
        }
    }

    fn span(&self, region: &GuestRegion<'_>) -> Result<Range<usize>, GuestMemError> {
        let start = region
            .gpa()
            .checked_sub(self.base)
            .and_then(|o| usize::try_from(o).ok())
            .ok_or(GuestMemError::OutOfRange)?;
        let end = start
            .checked_add(region.len())
            .filter(|&e| e <= self.bytes.len())
            .ok_or(GuestMemError::OutOfRange)?;
        Ok(start..end)
    }

    /// The backing bytes, for assertions.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
}

impl GuestMemory for VecMemory {
    fn copy_in(&self, region: &GuestRegion<'_>, dst: &mut [u8]) -> Result<(), GuestMemError> {
        if dst.len() != region.len() {
            return Err(GuestMemError::LengthMismatch);
        }
        dst.copy_from_slice(&self.bytes[self.span(region)?]);
        Ok(())
    }

    fn copy_out(&mut self, region: &GuestRegion<'_>, src: &[u8]) -> Result<(), GuestMemError> {
        if src.len() != region.len() {
            return Err(GuestMemError::LengthMismatch);
        }
        let span = self.span(region)?;
        self.bytes[span].copy_from_slice(src);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RAM: Range<u64> = 0x10_0000..0x100_0000; // 1 MiB .. 16 MiB
    const SVSM: Range<u64> = 0x80_0000..0x90_0000; // 8 MiB .. 9 MiB, carved out of RAM

    fn map() -> GuestMap {
        GuestMap::new(&[RAM], &[SVSM])
    }

    #[test]
    fn a_page_of_guest_ram_is_accepted() {
        let m = map();
        let r = m.page(0x20_0000).expect("guest RAM");
        assert_eq!((r.gpa(), r.len()), (0x20_0000, 4096));
        assert!(m.region(0x20_0ff8, 8, 8, PageSize::Small).is_ok());
    }

    #[test]
    fn svsm_memory_is_refused() {
        let m = map();
        assert_eq!(m.page(SVSM.start), Err(GuestMemError::SvsmOwned));
        assert_eq!(m.page(SVSM.end - PAGE_SIZE), Err(GuestMemError::SvsmOwned));
        // The last bytes before the SVSM range are fine; one byte into it is not.
        assert!(m.region(SVSM.start - 8, 8, 8, PageSize::Small).is_ok());
        assert_eq!(
            m.region(SVSM.start - 8, 9, 1, PageSize::Small),
            Err(GuestMemError::CrossesPage)
        );
        assert_eq!(
            m.huge_page(SVSM.start),
            Err(GuestMemError::SvsmOwned),
            "a 2 MiB page overlapping the SVSM"
        );
    }

    #[test]
    fn unaligned_addresses_are_refused() {
        let m = map();
        assert_eq!(m.page(0x20_0008), Err(GuestMemError::Unaligned));
        assert_eq!(
            m.region(0x20_0004, 8, 8, PageSize::Small),
            Err(GuestMemError::Unaligned)
        );
        assert_eq!(m.huge_page(0x30_1000), Err(GuestMemError::Unaligned));
        // A zero or non-power-of-two alignment refuses everything.
        assert_eq!(
            m.region(0x20_0000, 8, 0, PageSize::Small),
            Err(GuestMemError::Unaligned)
        );
        assert_eq!(
            m.region(0x20_0000, 8, 6, PageSize::Small),
            Err(GuestMemError::Unaligned)
        );
    }

    #[test]
    fn regions_crossing_pages_are_refused() {
        let m = map();
        assert_eq!(
            m.region(0x20_0ffc, 8, 4, PageSize::Small),
            Err(GuestMemError::CrossesPage)
        );
        assert_eq!(
            m.region(0x20_0001, 4096, 1, PageSize::Small),
            Err(GuestMemError::CrossesPage)
        );
        assert_eq!(
            m.region(0x20_0000, 4097, 1, PageSize::Small),
            Err(GuestMemError::BadLength)
        );
        assert_eq!(
            m.region(0x20_0000, 0, 1, PageSize::Small),
            Err(GuestMemError::BadLength)
        );
    }

    #[test]
    fn addresses_beyond_guest_ram_are_refused() {
        let m = map();
        assert_eq!(m.page(RAM.end), Err(GuestMemError::OutOfRange));
        assert_eq!(m.page(0), Err(GuestMemError::OutOfRange));
        assert_eq!(m.page(!0xfffu64), Err(GuestMemError::OutOfRange));
        assert_eq!(
            m.region(u64::MAX, 1, 1, PageSize::Small),
            Err(GuestMemError::OutOfRange),
            "the end would overflow"
        );
        // A 2 MiB page whose last part lies past the end of RAM.
        let short = 0x20_0000..0x30_0000;
        let m2 = GuestMap::new(&[short], &[]);
        assert_eq!(m2.huge_page(0x20_0000), Err(GuestMemError::OutOfRange));
    }

    #[test]
    fn vmsa_pages_are_refused_until_removed() {
        let mut m = map();
        m.add_vmsa(0x40_0000).unwrap();
        assert!(m.is_vmsa(0x40_0000));
        assert_eq!(m.page(0x40_0000), Err(GuestMemError::Vmsa));
        assert_eq!(
            m.region(0x40_0ff0, 8, 8, PageSize::Small),
            Err(GuestMemError::Vmsa)
        );
        assert_eq!(m.huge_page(0x40_0000), Err(GuestMemError::Vmsa));
        assert!(m.page(0x40_1000).is_ok());
        // A VMSA page cannot be registered twice, and only VMSA pages can be removed.
        assert_eq!(m.add_vmsa(0x40_0000), Err(GuestMemError::Vmsa));
        assert_eq!(m.remove_vmsa(0x40_1000), Err(GuestMemError::VmsaState));
        m.remove_vmsa(0x40_0000).unwrap();
        assert!(m.page(0x40_0000).is_ok());
    }

    #[test]
    fn the_vmsa_set_is_bounded() {
        let ram = 0..(MAX_VMSAS as u64 + 1) * PAGE_SIZE;
        let mut m = GuestMap::new(&[ram], &[]);
        for i in 0..MAX_VMSAS as u64 {
            m.add_vmsa(i * PAGE_SIZE).unwrap();
        }
        assert_eq!(
            m.add_vmsa(MAX_VMSAS as u64 * PAGE_SIZE),
            Err(GuestMemError::TooManyVmsas)
        );
    }

    #[test]
    fn vec_memory_copies_in_and_out_exact_lengths() {
        let m = map();
        let mut mem = VecMemory::new(RAM.start, (RAM.end - RAM.start) as usize);
        let r = m.region(0x20_0010, 4, 4, PageSize::Small).unwrap();
        mem.copy_out(&r, &[1, 2, 3, 4]).unwrap();
        let mut b = [0u8; 4];
        mem.copy_in(&r, &mut b).unwrap();
        assert_eq!(b, [1, 2, 3, 4]);
        assert_eq!(
            mem.copy_in(&r, &mut [0u8; 3]),
            Err(GuestMemError::LengthMismatch)
        );
        assert_eq!(
            mem.copy_out(&r, &[0u8; 5]),
            Err(GuestMemError::LengthMismatch)
        );
        assert_eq!(mem.bytes()[0x10_0010..0x10_0014], [1, 2, 3, 4]);
    }

    #[test]
    fn error_codes_round_trip() {
        for c in 0..=255u8 {
            if let Some(e) = GuestMemError::from_code(c) {
                assert_eq!(e.code(), c);
            }
        }
        assert_eq!(GuestMemError::from_code(0), None);
    }
}
