//! The guest's launch at VMPL1 under SEV-SNP: what the SVSM learns about the guest firmware
//! from the launch, the pages it prepares for it, and one turn of the per-vCPU request loop.
//!
//! `evtpm igvm` knows the guest firmware (an OVMF with SVSM support) and parses its SEV
//! metadata; it hands what the SVSM needs in the **launch-information page** at
//! [`LAUNCH_INFO_GPA`], measured page data (so a verifier of the launch MEASUREMENT also
//! verifies it):
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0x00 | 8 | magic `EVTPMLI1` |
//! | 0x08 | 4 | version, 1 |
//! | 0x0C | 4 | number of sections `n`, at most [`MAX_SECTIONS`] |
//! | 0x10 | 8 | guest firmware base (page aligned; the firmware ends at 4 GiB) |
//! | 0x18 | 8 | guest firmware size |
//! | 0x20 + 16·i | 8 | section `i`: GPA (page aligned) |
//! | 0x28 + 16·i | 4 | section `i`: size (page multiple, nonzero) |
//! | 0x2C + 16·i | 4 | section `i`: kind, as OVMF's SEV metadata (`OvmfPkg/ResetVector`): 1 SEC memory, 2 secrets page, 3 CPUID page, 4 SVSM calling area, 0x10 kernel hashes |
//!
//! The rest of the page is zero. [`LaunchInfo::parse`] refuses anything else, and
//! [`LaunchInfo::check`] every layout that would make the SVSM hand the guest its own memory.
//!
//! [`prepare`] then does, through [`GuestPrep`] (PVALIDATE, page state changes and RMPADJUST
//! on SNP hardware; a recording fake in the tests), what a VMPL0 launch would have done for
//! the firmware: the firmware's launched pages made accessible to VMPL1; every metadata
//! section accepted (assigned private, validated, zeroed) and made VMPL1-accessible; the
//! guest's secrets page (VMPCK0 zeroed, SVSM fields filled: [`super::secrets`]) and the CPUID
//! page written where the firmware looks for them. The calling area section is the boot
//! vCPU's first calling area.
//!
//! [`turn`] is the request loop's step after the guest's VMSA stopped, over [`GuestVmsa`]: the
//! VMSA made unrunnable while its registers are read and written, an SVSM call served when the
//! exit was a VMGEXIT with `call_pending` set, the VMSA made runnable again.

use super::rmp::{PvalidateResult, RmpAttributes, RmpadjustResult, VmplPermissions};
use super::secrets::{SecretsPage, SvsmInfo, SECRETS_PAGE_SIZE};
use super::vmsa::{self, VMEXIT_VMGEXIT, VMSA_SIZE};
use crate::mm::guest::GuestMemory;
use crate::protocol::core::{PageState, Vcpu};
use crate::protocol::vtpm::Engine;
use crate::protocol::{Caller, Cpu, Svsm};
use core::ops::Range;

/// Where `evtpm igvm` puts the launch-information page: below the secrets and CPUID pages
/// (`super::layout`), inside the first GiB.
pub const LAUNCH_INFO_GPA: u64 = 0x00FF_D000;
/// Where the loader inserts its memory map (an IGVM parameter area with `IGVM_VHT_MEMORY_MAP`,
/// `IGVM_VHT_PARAMETER_INSERT` at this GPA), below the launch-information page. From here to
/// the end of the image, memory is the SVSM's.
pub const MEMORY_MAP_GPA: u64 = 0x00FF_C000;
/// Bytes of an `IGVM_VHS_MEMORY_MAP_ENTRY`.
pub const MEMORY_MAP_ENTRY: usize = 24;
/// The memory map's lowest bound on guest physical addresses: 52 bits.
const MAX_GPA: u64 = 1 << 52;
/// The page's magic.
pub const MAGIC: [u8; 8] = *b"EVTPMLI1";
/// The page format version.
pub const VERSION: u32 = 1;
/// Most sections a page describes (OVMF has five kinds).
pub const MAX_SECTIONS: usize = 32;
/// Largest guest firmware accepted (an OVMF image is 2 to 4 MiB).
pub const MAX_FIRMWARE: u64 = 64 << 20;

const PAGE: u64 = 4096;
const FOUR_GIB: u64 = 4 << 30;

/// Offsets in the launch-information page (module documentation).
mod off {
    pub const MAGIC: usize = 0x00;
    pub const VERSION: usize = 0x08;
    pub const COUNT: usize = 0x0C;
    pub const FW_BASE: usize = 0x10;
    pub const FW_SIZE: usize = 0x18;
    pub const SECTIONS: usize = 0x20;
    /// Bytes per section: GPA (8), size (4), kind (4).
    pub const SECTION: usize = 16;
    pub const SECTION_SIZE: usize = 8;
    pub const SECTION_KIND: usize = 12;
}
const _: () = assert!(off::SECTIONS + MAX_SECTIONS * off::SECTION <= 4096);
const _: () = assert!(off::SECTION_KIND + 4 == off::SECTION);
// The memory-map page holds 170 entries; QEMU refuses a map that does not fit.
const _: () = assert!(4096 / MEMORY_MAP_ENTRY == 170);

/// A section kind of OVMF's SEV metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SectionKind {
    /// Memory SEC uses before it can validate memory itself: accepted and zeroed.
    SecMemory,
    /// The guest's secrets page.
    Secrets,
    /// The guest's CPUID page.
    Cpuid,
    /// The boot vCPU's SVSM calling area.
    CallingArea,
    /// The page for the kernel hashes of a direct boot: accepted and zeroed.
    KernelHashes,
}

impl SectionKind {
    /// The kind's code in OVMF's metadata and in the launch-information page.
    pub const fn code(self) -> u32 {
        match self {
            SectionKind::SecMemory => 1,
            SectionKind::Secrets => 2,
            SectionKind::Cpuid => 3,
            SectionKind::CallingArea => 4,
            SectionKind::KernelHashes => 0x10,
        }
    }

    /// The kind of a code.
    pub const fn from_code(code: u32) -> Option<SectionKind> {
        Some(match code {
            1 => SectionKind::SecMemory,
            2 => SectionKind::Secrets,
            3 => SectionKind::Cpuid,
            4 => SectionKind::CallingArea,
            0x10 => SectionKind::KernelHashes,
            _ => return None,
        })
    }
}

/// One section: `size` bytes at `gpa`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Section {
    pub gpa: u64,
    pub size: u32,
    pub kind: SectionKind,
}

impl Section {
    fn range(&self) -> Range<u64> {
        self.gpa..self.gpa + u64::from(self.size)
    }
}

/// Why the launch information or the guest's preparation was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LaunchError {
    /// Not a launch-information page (magic, version, nonzero padding).
    Format,
    /// More than [`MAX_SECTIONS`] sections.
    TooManySections(u32),
    /// The firmware range is not page aligned, empty, too large, or does not end at 4 GiB.
    Firmware,
    /// Section `i` is unaligned, empty, of an unknown kind, outside the memory below the
    /// firmware, overlaps another section or the SVSM's memory.
    Section(usize),
    /// The sections lack (or repeat) a secrets page, a CPUID page or a calling area; or the
    /// secrets or CPUID section is not exactly one page, or the calling area not one page.
    Required(SectionKind),
    /// A page operation failed at this GPA.
    Page(u64),
    /// The guest's secrets page could not be made.
    Secrets,
    /// The loader's memory map is empty, overflows, or has overlapping RAM ranges.
    MemoryMap,
}

/// The RAM ranges of the loader's memory map page (IGVM spec, `IGVM_VHS_MEMORY_MAP_ENTRY`:
/// starting GPA page number u64, number of pages u64, type u16, flags u16, reserved u32; the
/// list ends at the first entry of zero pages or at the end of the page), in the map's order.
/// Only `MEMORY` (type 0) entries are RAM; the others (platform reserved, persistent, …) are
/// not the guest's to hand to the SVSM. Refused: no RAM at all, a range beyond 52 bits of
/// address, RAM ranges that overlap.
pub fn parse_memory_map(page: &[u8; 4096]) -> Result<alloc::vec::Vec<Range<u64>>, LaunchError> {
    let mut ram: alloc::vec::Vec<Range<u64>> = alloc::vec::Vec::new();
    for entry in page.chunks_exact(MEMORY_MAP_ENTRY) {
        let first = le64(entry, 0);
        let pages = le64(entry, 8);
        if pages == 0 {
            break;
        }
        let kind = u16::from_le_bytes([entry[16], entry[17]]);
        let range = first
            .checked_mul(PAGE)
            .and_then(|start| Some(start..start.checked_add(pages.checked_mul(PAGE)?)?))
            .filter(|r| r.end <= MAX_GPA)
            .ok_or(LaunchError::MemoryMap)?;
        if kind != 0 {
            continue;
        }
        if ram
            .iter()
            .any(|r| r.start < range.end && range.start < r.end)
        {
            return Err(LaunchError::MemoryMap);
        }
        ram.push(range);
    }
    if ram.is_empty() {
        return Err(LaunchError::MemoryMap);
    }
    Ok(ram)
}

/// What the launch-information page says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaunchInfo {
    pub firmware: Range<u64>,
    pub sections: alloc::vec::Vec<Section>,
}

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn le64(b: &[u8], at: usize) -> u64 {
    let mut x = [0u8; 8];
    x.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(x)
}

impl LaunchInfo {
    /// The page for `firmware` and `sections` (what `evtpm igvm` writes).
    pub fn encode(&self) -> Result<[u8; 4096], LaunchError> {
        if self.sections.len() > MAX_SECTIONS {
            return Err(LaunchError::TooManySections(self.sections.len() as u32));
        }
        let mut p = [0u8; 4096];
        let mut put = |at: usize, bytes: &[u8]| p[at..at + bytes.len()].copy_from_slice(bytes);
        put(off::MAGIC, &MAGIC);
        put(off::VERSION, &VERSION.to_le_bytes());
        put(off::COUNT, &(self.sections.len() as u32).to_le_bytes());
        put(off::FW_BASE, &self.firmware.start.to_le_bytes());
        let size = self.firmware.end.wrapping_sub(self.firmware.start);
        put(off::FW_SIZE, &size.to_le_bytes());
        for (i, s) in self.sections.iter().enumerate() {
            let at = off::SECTIONS + off::SECTION * i;
            put(at, &s.gpa.to_le_bytes());
            put(at + off::SECTION_SIZE, &s.size.to_le_bytes());
            put(at + off::SECTION_KIND, &s.kind.code().to_le_bytes());
        }
        Ok(p)
    }

    /// Reads a launch-information page (format only; see [`Self::check`]).
    pub fn parse(p: &[u8; 4096]) -> Result<LaunchInfo, LaunchError> {
        if p[off::MAGIC..off::MAGIC + 8] != MAGIC || le32(p, off::VERSION) != VERSION {
            return Err(LaunchError::Format);
        }
        let n = le32(p, off::COUNT);
        if n as usize > MAX_SECTIONS {
            return Err(LaunchError::TooManySections(n));
        }
        let n = n as usize;
        if p[off::SECTIONS + off::SECTION * n..]
            .iter()
            .any(|&b| b != 0)
        {
            return Err(LaunchError::Format);
        }
        let base = le64(p, off::FW_BASE);
        let size = le64(p, off::FW_SIZE);
        let end = base.checked_add(size).ok_or(LaunchError::Firmware)?;
        let mut sections = alloc::vec::Vec::with_capacity(n);
        for i in 0..n {
            let at = off::SECTIONS + off::SECTION * i;
            let kind = SectionKind::from_code(le32(p, at + off::SECTION_KIND))
                .ok_or(LaunchError::Section(i))?;
            sections.push(Section {
                gpa: le64(p, at),
                size: le32(p, at + off::SECTION_SIZE),
                kind,
            });
        }
        Ok(LaunchInfo {
            firmware: base..end,
            sections,
        })
    }

    /// Checks the layout against the SVSM's own memory `svsm`: the firmware page aligned, at
    /// most [`MAX_FIRMWARE`], ending at 4 GiB and clear of `svsm`; every section page aligned,
    /// nonzero, below the firmware, clear of `svsm` and of every other section; exactly one
    /// secrets page, one CPUID page and one calling-area page.
    pub fn check(&self, svsm: &Range<u64>) -> Result<(), LaunchError> {
        let overlaps = |a: &Range<u64>, b: &Range<u64>| a.start < b.end && b.start < a.end;
        let fw = &self.firmware;
        let size = fw.end - fw.start;
        if !fw.start.is_multiple_of(PAGE)
            || size == 0
            || size > MAX_FIRMWARE
            || fw.end != FOUR_GIB
            || overlaps(fw, svsm)
        {
            return Err(LaunchError::Firmware);
        }
        for (i, s) in self.sections.iter().enumerate() {
            let r = s.gpa.checked_add(u64::from(s.size)).map(|end| s.gpa..end);
            let ok = r.as_ref().is_some_and(|r| {
                s.gpa.is_multiple_of(PAGE)
                    && s.size != 0
                    && u64::from(s.size).is_multiple_of(PAGE)
                    && r.end <= fw.start
                    && !overlaps(r, svsm)
                    && self.sections[..i].iter().all(|o| !overlaps(r, &o.range()))
            });
            if !ok {
                return Err(LaunchError::Section(i));
            }
        }
        for kind in [
            SectionKind::Secrets,
            SectionKind::Cpuid,
            SectionKind::CallingArea,
        ] {
            let mut of_kind = self.sections.iter().filter(|s| s.kind == kind);
            match (of_kind.next(), of_kind.next()) {
                (Some(s), None) if u64::from(s.size) == PAGE => {}
                _ => return Err(LaunchError::Required(kind)),
            }
        }
        Ok(())
    }

    /// The GPA of the one section of `kind` ([`Self::check`] makes it exist).
    pub fn page_of(&self, kind: SectionKind) -> Option<u64> {
        self.sections.iter().find(|s| s.kind == kind).map(|s| s.gpa)
    }
}

/// The page operations [`prepare`] needs.
pub trait GuestPrep {
    /// Gives VMPL1 read, write and execute access to a page the launch validated (RMPADJUST).
    fn grant(&mut self, gpa: u64) -> Result<(), LaunchError>;
    /// Makes a page the launch did not add usable by the guest: assigned private (page state
    /// change), validated (PVALIDATE), zeroed, and granted as [`GuestPrep::grant`] does.
    fn accept(&mut self, gpa: u64) -> Result<(), LaunchError>;
    /// Writes a whole page (already accepted).
    fn write_page(&mut self, gpa: u64, page: &[u8; 4096]) -> Result<(), LaunchError>;
}

/// The guest's VMPL.
pub const GUEST_VMPL: u8 = 1;

/// The SNP operations on one 4 KiB guest page that [`SnpPrep`] is made of: on hardware a
/// GHCB MSR-protocol page state change, PVALIDATE, RMPADJUST and a guest-memory copy
/// (`super::run`); a recording fake in the tests.
pub trait SnpPages {
    /// Assigns the page to the guest as private (page state change); `false` if refused.
    fn make_private(&mut self, gpa: u64) -> bool;
    /// PVALIDATE (validate) of the page.
    fn pvalidate(&mut self, gpa: u64) -> PvalidateResult;
    /// RMPADJUST of the page.
    fn rmpadjust(&mut self, gpa: u64, attrs: RmpAttributes) -> RmpadjustResult;
    /// Writes the whole page; `false` if the copy failed.
    fn write(&mut self, gpa: u64, page: &[u8; 4096]) -> bool;
}

/// [`GuestPrep`] from [`SnpPages`]: granting is RMPADJUST of VMPL1 with every permission;
/// accepting is a page state change to private, PVALIDATE (a page that was already valid is
/// as good: it is zeroed next), zeroing, then granting, stopping at the first failure.
#[derive(Debug)]
pub struct SnpPrep<M>(pub M);

impl<M: SnpPages> GuestPrep for SnpPrep<M> {
    fn grant(&mut self, gpa: u64) -> Result<(), LaunchError> {
        let attrs = RmpAttributes::new(GUEST_VMPL, VmplPermissions::ALL, false)
            .map_err(|_| LaunchError::Page(gpa))?;
        match self.0.rmpadjust(gpa, attrs) {
            RmpadjustResult::Success => Ok(()),
            _ => Err(LaunchError::Page(gpa)),
        }
    }

    fn accept(&mut self, gpa: u64) -> Result<(), LaunchError> {
        if !self.0.make_private(gpa) {
            return Err(LaunchError::Page(gpa));
        }
        match self.0.pvalidate(gpa) {
            PvalidateResult::Success | PvalidateResult::Unchanged => {}
            _ => return Err(LaunchError::Page(gpa)),
        }
        if !self.0.write(gpa, &[0; 4096]) {
            return Err(LaunchError::Page(gpa));
        }
        self.grant(gpa)
    }

    fn write_page(&mut self, gpa: u64, page: &[u8; 4096]) -> Result<(), LaunchError> {
        if self.0.write(gpa, page) {
            Ok(())
        } else {
            Err(LaunchError::Page(gpa))
        }
    }
}

/// The guest map's RAM: the loader's RAM ranges cut at `mapped_end` (what the SVSM can reach),
/// empty ones dropped, and the guest firmware's range, which the loader does not list as RAM.
pub fn guest_ram(
    mut ram: alloc::vec::Vec<Range<u64>>,
    mapped_end: u64,
    firmware: &Range<u64>,
) -> alloc::vec::Vec<Range<u64>> {
    for r in ram.iter_mut() {
        r.end = r.end.min(mapped_end);
    }
    ram.retain(|r| r.start < r.end);
    ram.push(firmware.clone());
    ram
}

/// What the guest starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuestStart {
    /// The boot vCPU's calling area.
    pub caa: u64,
    /// Where its secrets page is.
    pub secrets: u64,
}

/// Prepares the guest's memory (see the module documentation) after [`LaunchInfo::check`]:
/// `secrets` is the SVSM's secrets page (VMPCK0 already taken from it), `cpuid` the CPUID page
/// the PSP checked, `svsm` the SVSM's memory (for the secrets page's SVSM fields).
pub fn prepare(
    info: &LaunchInfo,
    prep: &mut impl GuestPrep,
    secrets: &SecretsPage,
    cpuid: &[u8; 4096],
    svsm: &Range<u64>,
) -> Result<GuestStart, LaunchError> {
    info.check(svsm)?;
    let caa = info
        .page_of(SectionKind::CallingArea)
        .ok_or(LaunchError::Required(SectionKind::CallingArea))?;
    let secrets_gpa = info
        .page_of(SectionKind::Secrets)
        .ok_or(LaunchError::Required(SectionKind::Secrets))?;
    let cpuid_gpa = info
        .page_of(SectionKind::Cpuid)
        .ok_or(LaunchError::Required(SectionKind::Cpuid))?;
    let guest_secrets = secrets
        .guest_copy(&SvsmInfo {
            base: svsm.start,
            size: svsm.end - svsm.start,
            caa,
            max_version: 1,
            guest_vmpl: 1,
        })
        .map_err(|_| LaunchError::Secrets)?;

    for gpa in info.firmware.clone().step_by(PAGE as usize) {
        prep.grant(gpa)?;
    }
    for s in &info.sections {
        for gpa in s.range().step_by(PAGE as usize) {
            prep.accept(gpa)?;
        }
    }
    let mut page = [0u8; SECRETS_PAGE_SIZE];
    page.copy_from_slice(guest_secrets.as_bytes());
    let written = prep.write_page(secrets_gpa, &page);
    zeroize::Zeroize::zeroize(&mut page);
    written?;
    prep.write_page(cpuid_gpa, cpuid)?;
    Ok(GuestStart {
        caa,
        secrets: secrets_gpa,
    })
}

/// The guest's VMSA page as the request loop reaches it: copied in and out whole (it is
/// written by the hardware whenever the guest stops, so no reference to it is kept).
pub trait GuestVmsa {
    fn read(&mut self, page: &mut [u8; VMSA_SIZE]);
    fn write(&mut self, page: &[u8; VMSA_SIZE]);
}

/// The VMSA a vCPU's request loop runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The SVSM's own first VMSA of the guest (boot vCPU only, until the guest registers one).
    Own,
    /// A VMSA the guest registered (`SVSM_CORE_CREATE_VCPU`), at this GPA.
    Guest(u64),
}

/// One vCPU's request-loop state: what it runs and that vCPU's side of the calls ([`Cpu`]:
/// the caller, the calling area, which `SVSM_CORE_REMAP_CA` moves). Pure, so the loop's
/// decisions are tested on the host; the firmware's loop (`sev::run`) asks [`LoopState::next`]
/// before every run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoopState {
    current: Option<(Target, Cpu)>,
}

impl LoopState {
    /// The boot vCPU's: its own VMSA with calling area `caa`.
    pub fn boot(caller: Caller, caa: u64) -> LoopState {
        LoopState {
            current: Some((Target::Own, Cpu { caller, caa })),
        }
    }

    /// Another vCPU's: nothing to run until the guest registers a VMSA for it.
    pub fn idle() -> LoopState {
        LoopState { current: None }
    }

    /// What to run next, given what the guest has registered for this vCPU's APIC ID now
    /// ([`crate::protocol::core::Vcpus::of`]): the same VMSA as before keeps its [`Cpu`] (a
    /// moved calling area stays moved); a newly registered one takes over with the calling
    /// area it was registered with; one that was deleted leaves nothing to run (`None`). The
    /// SVSM's own VMSA runs until the guest registers one, and never again after.
    pub fn next(&mut self, registered: Option<Vcpu>, caller: Caller) -> Option<(Target, &mut Cpu)> {
        match (registered, self.current) {
            (Some(v), Some((Target::Guest(gpa), _))) if gpa == v.vmsa => {}
            (Some(v), _) => {
                self.current = Some((Target::Guest(v.vmsa), Cpu { caller, caa: v.caa }));
            }
            (None, Some((Target::Guest(_), _))) => self.current = None,
            (None, _) => {}
        }
        self.current.as_mut().map(|(t, cpu)| (*t, cpu))
    }
}

/// What one [`turn`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Turn {
    /// An SVSM call was served; its results are in the VMSA.
    Served,
    /// A VMGEXIT without `call_pending` set: nothing to do.
    NoCall,
    /// Another exit code (the hypervisor ran VMPL0 for its own reasons): nothing to do.
    Other(u64),
}

/// The request loop's step after the guest's VMSA stopped (see the module documentation).
pub fn turn<M: GuestMemory, E: Engine, P: PageState>(
    svsm: &Svsm<M, E, P>,
    cpu: &mut Cpu,
    guest: &mut impl GuestVmsa,
) -> Turn {
    let mut page = [0u8; VMSA_SIZE];
    guest.read(&mut page);
    vmsa::set_runnable(&mut page, false);
    guest.write(&page);
    // Read again: what the hardware wrote before the VMSA became unrunnable is now final.
    guest.read(&mut page);
    let code = vmsa::guest_exit_code(&page);
    let result = if code != VMEXIT_VMGEXIT {
        Turn::Other(code)
    } else if vmsa::serve_call(svsm, cpu, &mut page) {
        Turn::Served
    } else {
        Turn::NoCall
    };
    vmsa::set_runnable(&mut page, true);
    guest.write(&page);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_vcpu_loop_runs_its_own_vmsa_until_the_guest_registers_one() {
        let caller = Caller {
            vmpl: 1,
            sev_features: 1,
        };
        let v = |vmsa, caa| Vcpu {
            apic_id: 0,
            vmsa,
            caa,
        };
        let mut l = LoopState::boot(caller, 0x1000);
        let (t, cpu) = l.next(None, caller).unwrap();
        assert_eq!((t, cpu.caa), (Target::Own, 0x1000));
        cpu.caa = 0x1008; // SVSM_CORE_REMAP_CA
        assert_eq!(l.next(None, caller).unwrap().1.caa, 0x1008, "stays moved");
        // The guest registers a VMSA for this vCPU (at GPA 0: a GPA like any other).
        let (t, cpu) = l.next(Some(v(0, 0x2000)), caller).unwrap();
        assert_eq!((t, cpu.caa), (Target::Guest(0), 0x2000));
        cpu.caa = 0x2010;
        let (t, cpu) = l.next(Some(v(0, 0x2000)), caller).unwrap();
        assert_eq!(
            (t, cpu.caa),
            (Target::Guest(0), 0x2010),
            "same VMSA, same calling area"
        );
        // A newer one takes over; deleting it leaves nothing, not the SVSM's own.
        let (t, cpu) = l.next(Some(v(0x5000, 0x6000)), caller).unwrap();
        assert_eq!((t, cpu.caa), (Target::Guest(0x5000), 0x6000));
        assert!(l.next(None, caller).is_none());
        assert!(l.next(None, caller).is_none());
        assert_eq!(
            l.next(Some(v(0x7000, 0x8000)), caller).map(|(t, _)| t),
            Some(Target::Guest(0x7000))
        );
    }

    #[test]
    fn another_vcpu_loop_waits_for_a_registration() {
        let caller = Caller {
            vmpl: 1,
            sev_features: 1,
        };
        let mut l = LoopState::idle();
        assert!(l.next(None, caller).is_none());
        let v = Vcpu {
            apic_id: 3,
            vmsa: 0x9000,
            caa: 0xA000,
        };
        let (t, cpu) = l.next(Some(v), caller).unwrap();
        assert_eq!(
            (t, cpu.caa, cpu.caller),
            (Target::Guest(0x9000), 0xA000, caller)
        );
    }
    use crate::protocol::testutil::{query_vtpm_protocol, svsm, write, CAA};
    use crate::protocol::Registers;
    use alloc::vec::Vec;

    fn section(gpa: u64, size: u32, kind: SectionKind) -> Section {
        Section { gpa, size, kind }
    }

    /// Debian OVMF's SNP metadata, roughly: SEC memory, secrets, CPUID, calling area, hashes.
    fn ovmf_like() -> LaunchInfo {
        LaunchInfo {
            firmware: FOUR_GIB - (4 << 20)..FOUR_GIB,
            sections: Vec::from([
                section(0x80_0000, 0x9000, SectionKind::SecMemory),
                section(0x80_9000, 0x1000, SectionKind::Secrets),
                section(0x80_A000, 0x1000, SectionKind::Cpuid),
                section(0x80_B000, 0x1000, SectionKind::CallingArea),
                section(0x80_C000, 0x1000, SectionKind::KernelHashes),
                section(0x81_0000, 0x30000, SectionKind::SecMemory),
            ]),
        }
    }

    const SVSM_MEM: Range<u64> = MEMORY_MAP_GPA..0x200_0000;

    fn map_entry(p: &mut [u8; 4096], i: usize, first: u64, pages: u64, kind: u16) {
        let at = i * MEMORY_MAP_ENTRY;
        p[at..at + 8].copy_from_slice(&first.to_le_bytes());
        p[at + 8..at + 16].copy_from_slice(&pages.to_le_bytes());
        p[at + 16..at + 18].copy_from_slice(&kind.to_le_bytes());
    }

    #[test]
    fn the_memory_map_gives_the_ram_ranges() {
        // QEMU's e820 for 8 GiB: 2 GiB below the PCI hole, the rest above 4 GiB.
        let mut p = [0u8; 4096];
        map_entry(&mut p, 0, 0, 0x8_0000, 0);
        map_entry(&mut p, 1, 0xFEFFC, 4, 1);
        map_entry(&mut p, 2, 0x10_0000, 0x18_0000, 0);
        assert_eq!(
            parse_memory_map(&p).unwrap(),
            Vec::from([0..0x8000_0000, 0x1_0000_0000..0x2_8000_0000])
        );
        // Entries after the terminator are not read.
        map_entry(&mut p, 4, 0x30_0000, 1, 0);
        assert_eq!(parse_memory_map(&p).unwrap().len(), 2);
        // A full page of entries (170) is read to its end.
        let mut full = [0u8; 4096];
        for i in 0..4096 / MEMORY_MAP_ENTRY {
            map_entry(&mut full, i, 2 * i as u64, 1, 0);
        }
        assert_eq!(parse_memory_map(&full).unwrap().len(), 170);
    }

    #[test]
    fn hostile_memory_maps_are_refused() {
        let refuse = |f: &dyn Fn(&mut [u8; 4096])| {
            let mut p = [0u8; 4096];
            f(&mut p);
            parse_memory_map(&p)
        };
        assert_eq!(refuse(&|_| {}), Err(LaunchError::MemoryMap), "empty");
        assert_eq!(
            refuse(&|p| map_entry(p, 0, 0, 16, 1)),
            Err(LaunchError::MemoryMap),
            "no RAM"
        );
        assert_eq!(
            refuse(&|p| map_entry(p, 0, u64::MAX / 4096, 16, 0)),
            Err(LaunchError::MemoryMap),
            "overflow"
        );
        assert_eq!(
            refuse(&|p| map_entry(p, 0, 1 << 40, 1, 0)),
            Err(LaunchError::MemoryMap),
            "beyond 52 bits"
        );
        assert_eq!(
            refuse(&|p| {
                map_entry(p, 0, 0, 0x100, 0);
                map_entry(p, 1, 0xFF, 2, 0);
            }),
            Err(LaunchError::MemoryMap),
            "overlapping RAM"
        );
    }

    #[test]
    fn the_page_round_trips_and_its_layout_is_fixed() {
        let info = ovmf_like();
        let p = info.encode().unwrap();
        assert_eq!(&p[0..8], b"EVTPMLI1");
        assert_eq!(le32(&p, 12), 6);
        assert_eq!(le64(&p, 16), 0xFFC0_0000);
        assert_eq!(le64(&p, 24), 4 << 20);
        assert_eq!(le64(&p, 0x30), 0x80_9000, "section 1 GPA");
        assert_eq!(le32(&p, 0x38), 0x1000);
        assert_eq!(le32(&p, 0x3C), 2, "secrets");
        assert_eq!(LaunchInfo::parse(&p).unwrap(), info);
        assert_eq!(info.check(&SVSM_MEM), Ok(()));
    }

    #[test]
    fn malformed_pages_are_refused() {
        let good = ovmf_like().encode().unwrap();
        let mut p = good;
        p[0] ^= 1;
        assert_eq!(LaunchInfo::parse(&p), Err(LaunchError::Format));
        let mut p = good;
        p[8] = 2;
        assert_eq!(LaunchInfo::parse(&p), Err(LaunchError::Format));
        let mut p = good;
        p[4095] = 1;
        assert_eq!(
            LaunchInfo::parse(&p),
            Err(LaunchError::Format),
            "bytes after the sections"
        );
        let mut p = good;
        p[12..16].copy_from_slice(&33u32.to_le_bytes());
        assert_eq!(LaunchInfo::parse(&p), Err(LaunchError::TooManySections(33)));
        let mut p = good;
        p[0x2C..0x30].copy_from_slice(&9u32.to_le_bytes());
        assert_eq!(LaunchInfo::parse(&p), Err(LaunchError::Section(0)));
        let mut p = good;
        p[24..32].copy_from_slice(&u64::MAX.to_le_bytes());
        assert_eq!(LaunchInfo::parse(&p), Err(LaunchError::Firmware));
    }

    #[test]
    fn layouts_that_would_hand_out_svsm_memory_are_refused() {
        let check = |f: &dyn Fn(&mut LaunchInfo)| {
            let mut info = ovmf_like();
            f(&mut info);
            info.check(&SVSM_MEM)
        };
        assert_eq!(
            check(&|i| i.firmware.start += 1),
            Err(LaunchError::Firmware)
        );
        assert_eq!(
            check(&|i| i.firmware = 0xFF00_0000..0xFFFF_F000),
            Err(LaunchError::Firmware),
            "not ending at 4 GiB"
        );
        assert_eq!(
            check(&|i| i.firmware = FOUR_GIB - (128 << 20)..FOUR_GIB),
            Err(LaunchError::Firmware)
        );
        assert_eq!(
            check(&|i| i.firmware = FOUR_GIB..FOUR_GIB),
            Err(LaunchError::Firmware)
        );
        assert_eq!(
            check(&|i| i.sections[0].gpa = 0x100_0000),
            Err(LaunchError::Section(0)),
            "the SVSM image"
        );
        assert_eq!(
            check(&|i| i.sections[5].gpa = 0xFF_C000),
            Err(LaunchError::Section(5)),
            "overlapping the launch-information page"
        );
        assert_eq!(
            check(&|i| i.sections[2].gpa = 0x80_8000),
            Err(LaunchError::Section(2)),
            "overlapping SEC memory"
        );
        assert_eq!(
            check(&|i| i.sections[1].gpa += 8),
            Err(LaunchError::Section(1))
        );
        assert_eq!(
            check(&|i| i.sections[5].size = 0),
            Err(LaunchError::Section(5))
        );
        assert_eq!(
            check(&|i| i.sections[5].gpa = 0xFFC0_0000),
            Err(LaunchError::Section(5)),
            "inside the firmware"
        );
        assert_eq!(
            check(&|i| i.sections[5].gpa = u64::MAX - 0xFFF),
            Err(LaunchError::Section(5)),
            "wrapping"
        );
        assert_eq!(
            check(&|i| {
                i.sections.remove(3);
            }),
            Err(LaunchError::Required(SectionKind::CallingArea))
        );
        assert_eq!(
            check(&|i| i.sections[4].kind = SectionKind::Secrets),
            Err(LaunchError::Required(SectionKind::Secrets)),
            "two secrets pages"
        );
        assert_eq!(
            check(&|i| i.sections[2].size = 0x2000),
            Err(LaunchError::Section(3)),
            "a two-page CPUID section overlaps the calling area"
        );
        assert_eq!(
            check(&|i| {
                i.sections.remove(4);
                i.sections[3].size = 0x2000;
            }),
            Err(LaunchError::Required(SectionKind::CallingArea)),
            "a calling area of two pages"
        );
    }

    #[derive(Default)]
    struct Recorder {
        ops: Vec<(char, u64)>,
        pages: Vec<(u64, [u8; 4096])>,
        fail_at: Option<u64>,
    }

    impl GuestPrep for Recorder {
        fn grant(&mut self, gpa: u64) -> Result<(), LaunchError> {
            self.ops.push(('g', gpa));
            Ok(())
        }
        fn accept(&mut self, gpa: u64) -> Result<(), LaunchError> {
            if self.fail_at == Some(gpa) {
                return Err(LaunchError::Page(gpa));
            }
            self.ops.push(('a', gpa));
            Ok(())
        }
        fn write_page(&mut self, gpa: u64, page: &[u8; 4096]) -> Result<(), LaunchError> {
            self.ops.push(('w', gpa));
            self.pages.push((gpa, *page));
            Ok(())
        }
    }

    fn psp_secrets() -> SecretsPage {
        let mut p = [0u8; 4096];
        p[0..4].copy_from_slice(&3u32.to_le_bytes());
        for n in 0..4 {
            p[0x20 + 32 * n..0x40 + 32 * n].fill(0xa0 + n as u8);
        }
        SecretsPage::from_bytes(&p).unwrap()
    }

    #[test]
    fn prepare_grants_the_firmware_accepts_the_sections_and_writes_secrets_and_cpuid() {
        let info = ovmf_like();
        let mut r = Recorder::default();
        let cpuid = [0x5Cu8; 4096];
        let start = prepare(&info, &mut r, &psp_secrets(), &cpuid, &SVSM_MEM).unwrap();
        assert_eq!(
            start,
            GuestStart {
                caa: 0x80_B000,
                secrets: 0x80_9000
            }
        );
        let grants: Vec<u64> = r.ops.iter().filter(|o| o.0 == 'g').map(|o| o.1).collect();
        assert_eq!(grants.len(), 1024, "every page of 4 MiB of firmware");
        assert_eq!(grants[0], 0xFFC0_0000);
        assert_eq!(grants[1023], 0xFFFF_F000);
        let accepts: Vec<u64> = r.ops.iter().filter(|o| o.0 == 'a').map(|o| o.1).collect();
        assert_eq!(accepts.len(), 9 + 1 + 1 + 1 + 1 + 0x30);
        assert!(accepts.contains(&0x80_B000) && accepts.contains(&0x83_F000));
        let last = r.ops.len();
        assert_eq!(
            &r.ops[last - 2..],
            &[('w', 0x80_9000), ('w', 0x80_A000)],
            "secrets and CPUID written last, after their pages were accepted"
        );
        let (_, secrets) = r.pages[0];
        assert!(secrets[0x20..0x40].iter().all(|&b| b == 0), "VMPCK0 zeroed");
        assert_eq!(
            &secrets[0x40..0x60],
            &[0xa1; 32],
            "VMPCK1 kept for the guest"
        );
        assert_eq!(le64(&secrets, 0x140), SVSM_MEM.start, "SVSM base");
        assert_eq!(le64(&secrets, 0x148), SVSM_MEM.end - SVSM_MEM.start);
        assert_eq!(le64(&secrets, 0x150), 0x80_B000, "calling area");
        assert_eq!(secrets[0x15C], 1, "guest VMPL");
        assert_eq!(r.pages[1], (0x80_A000, cpuid));
    }

    #[test]
    fn prepare_refuses_a_bad_layout_before_touching_a_page_and_stops_at_a_failed_page() {
        let mut bad = ovmf_like();
        bad.sections[0].gpa = 0x100_0000;
        let mut r = Recorder::default();
        let cpuid = [0u8; 4096];
        assert_eq!(
            prepare(&bad, &mut r, &psp_secrets(), &cpuid, &SVSM_MEM),
            Err(LaunchError::Section(0))
        );
        assert!(r.ops.is_empty());
        let mut r = Recorder {
            fail_at: Some(0x80_9000),
            ..Recorder::default()
        };
        assert_eq!(
            prepare(&ovmf_like(), &mut r, &psp_secrets(), &cpuid, &SVSM_MEM),
            Err(LaunchError::Page(0x80_9000))
        );
        assert!(r.pages.is_empty(), "no secrets written");
    }

    /// The SNP page operations, recorded; `fail` makes one step fail at one GPA.
    #[derive(Default)]
    struct Machine {
        ops: Vec<(&'static str, u64)>,
        fail: Option<(&'static str, u64)>,
        zeroed: Vec<u64>,
    }

    impl Machine {
        fn step(&mut self, op: &'static str, gpa: u64) -> bool {
            self.ops.push((op, gpa));
            self.fail != Some((op, gpa))
        }
    }

    impl SnpPages for Machine {
        fn make_private(&mut self, gpa: u64) -> bool {
            self.step("psc", gpa)
        }
        fn pvalidate(&mut self, gpa: u64) -> PvalidateResult {
            if !self.step("pvalidate", gpa) {
                return PvalidateResult::FailInput;
            }
            if gpa == 0x7000 {
                PvalidateResult::Unchanged
            } else {
                PvalidateResult::Success
            }
        }
        fn rmpadjust(&mut self, gpa: u64, attrs: RmpAttributes) -> RmpadjustResult {
            assert_eq!(attrs.rdx(), 0x0F01, "VMPL1, every permission, not a VMSA");
            if self.step("rmpadjust", gpa) {
                RmpadjustResult::Success
            } else {
                RmpadjustResult::FailPermission
            }
        }
        fn write(&mut self, gpa: u64, page: &[u8; 4096]) -> bool {
            if page.iter().all(|&b| b == 0) {
                self.zeroed.push(gpa);
            }
            self.step("write", gpa)
        }
    }

    #[test]
    fn accepting_a_page_is_psc_pvalidate_zero_grant_in_that_order() {
        let mut p = SnpPrep(Machine::default());
        assert_eq!(p.accept(0x5000), Ok(()));
        assert_eq!(
            p.0.ops,
            [
                ("psc", 0x5000),
                ("pvalidate", 0x5000),
                ("write", 0x5000),
                ("rmpadjust", 0x5000)
            ]
        );
        assert_eq!(p.0.zeroed, [0x5000]);
        assert_eq!(
            p.accept(0x7000),
            Ok(()),
            "already validated: zeroed all the same"
        );
        assert_eq!(p.0.zeroed, [0x5000, 0x7000]);
        assert_eq!(p.grant(0xFFC0_0000), Ok(()));
        assert_eq!(p.0.ops.last(), Some(&("rmpadjust", 0xFFC0_0000)));
    }

    #[test]
    fn a_failed_step_stops_the_page_there() {
        for (i, op) in ["psc", "pvalidate", "write", "rmpadjust"]
            .iter()
            .enumerate()
        {
            let mut p = SnpPrep(Machine {
                fail: Some((op, 0x9000)),
                ..Machine::default()
            });
            assert_eq!(p.accept(0x9000), Err(LaunchError::Page(0x9000)), "{op}");
            assert_eq!(p.0.ops.len(), i + 1, "nothing after a failed {op}");
        }
        let mut p = SnpPrep(Machine {
            fail: Some(("write", 0x3000)),
            ..Machine::default()
        });
        assert_eq!(
            p.write_page(0x3000, &[1; 4096]),
            Err(LaunchError::Page(0x3000))
        );
    }

    #[test]
    fn guest_ram_is_cut_at_the_mapping_and_includes_the_firmware() {
        let fw = 0xFFC0_0000..FOUR_GIB;
        let ram = Vec::from([0..0x8000_0000, 0x1_0000_0000..0x90_0000_0000]);
        assert_eq!(
            guest_ram(ram.clone(), 512 << 30, &fw),
            [0..0x8000_0000, 0x1_0000_0000..0x80_0000_0000, fw.clone()]
        );
        assert_eq!(
            guest_ram(ram, FOUR_GIB, &fw),
            [0..0x8000_0000, fw.clone()],
            "without 1 GiB pages, RAM above 4 GiB is left out"
        );
    }

    /// A guest VMSA page in memory, counting the copies.
    struct Page {
        page: [u8; VMSA_SIZE],
        writes: Vec<[u8; VMSA_SIZE]>,
    }

    impl GuestVmsa for Page {
        fn read(&mut self, page: &mut [u8; VMSA_SIZE]) {
            *page = self.page;
        }
        fn write(&mut self, page: &[u8; VMSA_SIZE]) {
            self.page = *page;
            self.writes.push(*page);
        }
    }

    fn efer(p: &[u8; VMSA_SIZE]) -> u64 {
        le64(p, vmsa::off::EFER)
    }

    #[test]
    fn a_turn_serves_a_pending_call_with_the_vmsa_unrunnable_meanwhile() {
        let mut s = svsm();
        let mut v = vmsa::guest_reset_vmsa(1, 1);
        v[vmsa::off::GUEST_EXIT_CODE..vmsa::off::GUEST_EXIT_CODE + 8]
            .copy_from_slice(&VMEXIT_VMGEXIT.to_le_bytes());
        vmsa::set_call_registers(&mut v, &query_vtpm_protocol());
        let mut g = Page {
            page: v,
            writes: Vec::new(),
        };
        assert_eq!(turn(&s.svsm, &mut s.cpu, &mut g), Turn::NoCall);
        assert_eq!(g.writes.len(), 2);
        assert_eq!(efer(&g.writes[0]) & vmsa::EFER_SVME, 0, "unrunnable first");
        assert_ne!(efer(&g.writes[1]) & vmsa::EFER_SVME, 0, "runnable again");
        assert_eq!(vmsa::call_registers(&g.page).rax, Registers::request(0, 6));

        write(&mut s, CAA, &[1]);
        assert_eq!(turn(&s.svsm, &mut s.cpu, &mut g), Turn::Served);
        assert_eq!(vmsa::call_registers(&g.page).rax, 0, "SVSM_SUCCESS");
        assert_eq!(vmsa::call_registers(&g.page).rcx, 0x1_0000_0001);
        assert_ne!(efer(&g.page) & vmsa::EFER_SVME, 0);
    }

    #[test]
    fn other_exits_are_not_calls() {
        let mut s = svsm();
        write(&mut s, CAA, &[1]);
        let mut v = vmsa::guest_reset_vmsa(1, 1);
        v[vmsa::off::GUEST_EXIT_CODE..vmsa::off::GUEST_EXIT_CODE + 8]
            .copy_from_slice(&0x72u64.to_le_bytes());
        let mut g = Page {
            page: v,
            writes: Vec::new(),
        };
        assert_eq!(turn(&s.svsm, &mut s.cpu, &mut g), Turn::Other(0x72));
        assert_eq!(
            crate::protocol::testutil::read(&s, CAA, 1),
            [1],
            "call_pending left for a real VMGEXIT"
        );
        assert_ne!(efer(&g.page) & vmsa::EFER_SVME, 0);
    }
}
