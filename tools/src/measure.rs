//! `evtpm measure`: the SEV-SNP launch MEASUREMENT a launch would produce, by the launch-digest
//! algorithm of SNP_LAUNCH_UPDATE (SNP Firmware ABI 56860, "SNP_LAUNCH_UPDATE": every page
//! added extends `LD = SHA-384(PAGE_INFO)`, table "PAGE_INFO Structure").
//!
//! Two layouts:
//!
//! * **OVMF alone** (no IMAGE): QEMU's SNP launch of an OVMF image, as `sev-snp-measure --mode
//!   snp` computes it — the OVMF image as NORMAL pages ending at 4 GiB, then the sections of
//!   its SEV metadata (`ASEV` table found through the footer GUID table: SNP_SEC_MEM and the SVSM
//!   calling area as ZERO pages, the SECRETS and CPUID pages, the kernel-hashes page as ZERO),
//!   then one VMSA per vCPU (the BSP at the reset vector, APs at OVMF's SEV-ES reset block).
//! * **The evtpm launch** (IMAGE = the firmware ELF): the OVMF image as NORMAL pages ending at
//!   4 GiB, the firmware's loadable segments at their physical addresses (file bytes as NORMAL
//!   pages, the rest of each segment — BSS, stack, heap — as NORMAL pages of zeros, as QEMU
//!   launches IGVM page data without file data), the loader's memory map at [`MEMORY_MAP_GPA`]
//!   (an UNMEASURED page), the launch-information page at
//!   [`LAUNCH_INFO_GPA`] (OVMF's place and SEV metadata, `svsm::sev::launch`), the SECRETS page at
//!   [`SECRETS_GPA`] and the CPUID page at [`CPUID_GPA`], then one VMSA per vCPU in the
//!   SVSM's initial state: 32-bit flat protected mode at the ELF entry (`snp_start`, the SNP entry),
//!   paging off, SEV_FEATURES = SNP active, as `sev-snp-measure --mode snp:svsm` models an SVSM
//!   launch. This is the layout of the IGVM file `evtpm igvm` builds (tools/src/igvm.rs); OVMF's own metadata
//!   pages are the firmware's to validate at run time and are not part of the launch.

use sha2::{Digest, Sha384};

/// Bytes of a page.
const PAGE: u64 = 4096;

/// Where the evtpm launch puts the launch-information page (`svsm::sev::launch`).
pub use svsm::sev::launch::{LAUNCH_INFO_GPA, MEMORY_MAP_GPA};
/// Where the evtpm launch puts the SNP secrets page and the CPUID page: just below the firmware
/// at 16 MiB, where its SNP entry looks for them (`svsm::sev::layout`).
pub use svsm::sev::layout::{CPUID_GPA, SECRETS_GPA};

/// PAGE_INFO.PAGE_TYPE values (ABI table "PAGE_TYPE Field Encodings").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum PageType {
    Normal = 1,
    Vmsa = 2,
    Zero = 3,
    Unmeasured = 4,
    Secrets = 5,
    Cpuid = 6,
}

/// The GPA recorded for a VMSA page: all ones, page-aligned, bits above 51 clear.
pub const VMSA_GPA: u64 = 0x0000_FFFF_FFFF_F000;

/// The launch digest being computed (the guest context's LD).
#[derive(Debug, Clone)]
pub struct LaunchDigest {
    ld: [u8; 48],
}

impl Default for LaunchDigest {
    fn default() -> Self {
        LaunchDigest { ld: [0; 48] }
    }
}

impl LaunchDigest {
    pub fn digest(&self) -> [u8; 48] {
        self.ld
    }

    /// One SNP_LAUNCH_UPDATE page: LD = SHA-384(PAGE_INFO) with PAGE_INFO = DIGEST_CUR (48),
    /// CONTENTS (48), LENGTH = 0x70 (u16), PAGE_TYPE (u8), IMI_PAGE (0), VMPL3/2/1_PERMS (0),
    /// reserved (0), GPA (u64); all little-endian.
    pub fn update(&mut self, page_type: PageType, gpa: u64, contents: &[u8; 48]) {
        let mut info = [0u8; 0x70];
        info[..48].copy_from_slice(&self.ld);
        info[48..96].copy_from_slice(contents);
        info[0x60..0x62].copy_from_slice(&0x70u16.to_le_bytes());
        info[0x62] = page_type as u8;
        info[0x68..0x70].copy_from_slice(&gpa.to_le_bytes());
        self.ld = Sha384::digest(info).into();
    }

    /// `data` as NORMAL pages from `gpa` (a short last page is zero-padded, as loaded).
    pub fn normal_pages(&mut self, gpa: u64, data: &[u8]) {
        for (i, chunk) in data.chunks(PAGE as usize).enumerate() {
            let mut page = [0u8; PAGE as usize];
            page[..chunk.len()].copy_from_slice(chunk);
            let contents: [u8; 48] = Sha384::digest(page).into();
            self.update(PageType::Normal, gpa + i as u64 * PAGE, &contents);
        }
    }

    /// `len` bytes (whole pages) of `page_type` pages without contents from `gpa`.
    pub fn empty_pages(&mut self, page_type: PageType, gpa: u64, len: u64) {
        for i in 0..len.div_ceil(PAGE) {
            self.update(page_type, gpa + i * PAGE, &[0; 48]);
        }
    }

    pub fn vmsa(&mut self, page: &[u8; PAGE as usize]) {
        let contents: [u8; 48] = Sha384::digest(page).into();
        self.update(PageType::Vmsa, VMSA_GPA, &contents);
    }
}

/// The 32-bit CPUID signature (Fn0000_0001_EAX) of a family, model and stepping (AMD CPUID
/// specification 25481: extended family and model above 0xF).
pub fn cpu_signature(family: u32, model: u32, stepping: u32) -> u32 {
    let (family_low, family_high) = if family > 0xF {
        (0xF, (family - 0xF) & 0xFF)
    } else {
        (family, 0)
    };
    (family_high << 20)
        | (((model >> 4) & 0xF) << 16)
        | (family_low << 8)
        | ((model & 0xF) << 4)
        | (stepping & 0xF)
}

/// The vCPU signature of a QEMU CPU model name (`-cpu`), as QEMU's builtin x86 definitions
/// set family, model and stepping.
pub fn vcpu_signature(name: &str) -> Option<u32> {
    let (f, m, s) = match name {
        "EPYC" | "EPYC-v1" | "EPYC-v2" | "EPYC-IBPB" | "EPYC-v3" | "EPYC-v4" => (23, 1, 2),
        "EPYC-Rome" | "EPYC-Rome-v1" | "EPYC-Rome-v2" | "EPYC-Rome-v3" => (23, 49, 0),
        "EPYC-Milan" | "EPYC-Milan-v1" | "EPYC-Milan-v2" => (25, 1, 1),
        "EPYC-Genoa" | "EPYC-Genoa-v1" => (25, 17, 0),
        "EPYC-Turin" => (26, 0, 0),
        _ => return None,
    };
    Some(cpu_signature(f, m, s))
}

/// One VMCB segment register: selector, attributes, limit, base (APM vol. 2, table B-4).
fn segment(vmsa: &mut [u8; PAGE as usize], at: usize, selector: u16, attrib: u16, limit: u32) {
    vmsa[at..at + 2].copy_from_slice(&selector.to_le_bytes());
    vmsa[at + 2..at + 4].copy_from_slice(&attrib.to_le_bytes());
    vmsa[at + 4..at + 8].copy_from_slice(&limit.to_le_bytes());
}

fn put64(vmsa: &mut [u8; PAGE as usize], at: usize, v: u64) {
    vmsa[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

/// Offsets in the VMSA (the SEV-ES save area, APM vol. 2 table B-4): the firmware's, which
/// builds the guest's VMSA with them.
use svsm::sev::vmsa::off as vmsa_off;

/// The register state KVM gives every vCPU at an SNP launch under QEMU, apart from what
/// [`reset_vmsa`] and [`svsm_vmsa`] set.
fn common_vmsa(vcpu_sig: u32, sev_features: u64) -> [u8; PAGE as usize] {
    use vmsa_off::*;
    let mut v = [0u8; PAGE as usize];
    for (at, attrib) in [(GDTR, 0), (IDTR, 0), (LDTR, 0x82), (TR, 0x8B)] {
        segment(&mut v, at, 0, attrib, 0xFFFF);
    }
    put64(&mut v, EFER, 0x1000); // SVME, set by KVM
    put64(&mut v, CR4, 0x40); // MCE, set by KVM
    put64(&mut v, DR7, 0x400);
    put64(&mut v, DR6, 0xFFFF_0FF0);
    put64(&mut v, RFLAGS, 0x2);
    put64(&mut v, G_PAT, 0x0007_0406_0007_0406);
    put64(&mut v, RDX, u64::from(vcpu_sig));
    put64(&mut v, SEV_FEATURES, sev_features);
    put64(&mut v, XCR0, 0x1);
    v
}

/// A vCPU at the x86 reset state, CS:IP from `eip` (the BSP's 0xFFFFFFF0, or OVMF's SEV-ES
/// reset block for APs), as QEMU sets it for an OVMF launch.
pub fn reset_vmsa(eip: u32, vcpu_sig: u32, sev_features: u64) -> [u8; PAGE as usize] {
    use vmsa_off::*;
    let mut v = common_vmsa(vcpu_sig, sev_features);
    for at in [ES, SS, DS, FS, GS] {
        segment(&mut v, at, 0, 0x93, 0xFFFF);
    }
    segment(&mut v, CS, 0xF000, 0x9B, 0xFFFF);
    put64(&mut v, CS + 8, u64::from(eip & 0xFFFF_0000));
    put64(&mut v, CR0, 0x10);
    put64(&mut v, RIP, u64::from(eip & 0xFFFF));
    v[MXCSR..MXCSR + 4].copy_from_slice(&0x1F80u32.to_le_bytes());
    v[X87_FCW..X87_FCW + 2].copy_from_slice(&0x37Fu16.to_le_bytes());
    v
}

/// The SVSM's vCPU: 32-bit flat protected mode (CS 0x8, data 0x10, 4 GiB limits), paging off,
/// at `eip`; MXCSR at its reset value. The x87 control word is left 0, as in
/// `sev-snp-measure --mode snp:svsm`, whose VMSA the evtpm launch layout follows.
pub fn svsm_vmsa(eip: u32, vcpu_sig: u32, sev_features: u64) -> [u8; PAGE as usize] {
    use vmsa_off::*;
    let mut v = common_vmsa(vcpu_sig, sev_features);
    for at in [ES, SS, DS, FS] {
        segment(&mut v, at, 0x10, 0xC93, 0xFFFF_FFFF);
    }
    segment(&mut v, GS, 0, 0x93, 0xFFFF);
    segment(&mut v, CS, 0x08, 0xC9B, 0xFFFF_FFFF);
    put64(&mut v, CR0, 0x11);
    put64(&mut v, RIP, u64::from(eip));
    v[MXCSR..MXCSR + 4].copy_from_slice(&0x1F80u32.to_le_bytes());
    v
}

/// GUIDs of OVMF's footer table, in their binary (little-endian fields) form.
mod guid {
    pub const FOOTER: &str = "96b582de-1fb2-45f7-baea-a366c55a082d";
    pub const SEV_ES_RESET_BLOCK: &str = "00f771de-1a7e-4fcb-890e-68c77e2fb44e";
    pub const SEV_METADATA: &str = "dc886566-984a-4798-a75e-5585a7bf67cc";

    /// The 16 bytes of a GUID as firmware stores it.
    pub fn bytes(s: &str) -> [u8; 16] {
        let hex: Vec<u8> = s
            .bytes()
            .filter(|c| *c != b'-')
            .collect::<Vec<_>>()
            .chunks(2)
            .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap_or("00"), 16).unwrap_or(0))
            .collect();
        let mut g = [0u8; 16];
        g.copy_from_slice(&hex[..16]);
        g[0..4].reverse();
        g[4..6].reverse();
        g[6..8].reverse();
        g
    }
}

/// A section of OVMF's SEV metadata (`OvmfSevMetadata.asm`: GPA, size, type).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Section {
    pub gpa: u32,
    pub size: u32,
    pub kind: u32,
}

/// An OVMF image: bytes, its footer GUID table, its SEV metadata.
#[derive(Debug, Clone)]
pub struct Ovmf {
    pub data: Vec<u8>,
    table: Vec<([u8; 16], Vec<u8>)>,
    pub sections: Vec<Section>,
}

fn le32(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at + 4)
        .map(|x| u32::from_le_bytes([x[0], x[1], x[2], x[3]]))
}

impl Ovmf {
    /// Parses the footer table (it ends 32 bytes before the end of the image: entries of
    /// data, u16 size, GUID, read backwards from the footer entry) and the `ASEV` metadata it
    /// points to. An image without a footer table has neither.
    pub fn parse(data: Vec<u8>) -> Result<Ovmf, String> {
        let mut table = Vec::new();
        const ENTRY: usize = 18; // u16 size + GUID
        let end = data
            .len()
            .checked_sub(32 + ENTRY)
            .ok_or("OVMF image too small")?;
        let entry = |at: usize| -> Option<(usize, [u8; 16])> {
            let size = u16::from_le_bytes([*data.get(at)?, *data.get(at + 1)?]) as usize;
            let mut g = [0u8; 16];
            g.copy_from_slice(data.get(at + 2..at + 18)?);
            Some((size, g))
        };
        if let Some((footer_size, g)) = entry(end) {
            if g == guid::bytes(guid::FOOTER) && footer_size >= ENTRY {
                let start = end
                    .checked_sub(footer_size - ENTRY)
                    .ok_or("OVMF footer table larger than the image")?;
                let mut cur = end;
                while cur >= start + ENTRY {
                    let (size, g) = entry(cur - ENTRY).ok_or("OVMF footer table truncated")?;
                    if size < ENTRY || cur < start + size {
                        return Err("OVMF footer table entry of a bad size".into());
                    }
                    table.push((g, data[cur - size..cur - ENTRY].to_vec()));
                    cur -= size;
                }
            }
        }
        let mut ovmf = Ovmf {
            data,
            table,
            sections: Vec::new(),
        };
        if let Some(e) = ovmf.item(guid::SEV_METADATA) {
            let from_end = le32(e, 0).ok_or("SEV metadata entry too short")? as usize;
            let start = ovmf
                .data
                .len()
                .checked_sub(from_end)
                .ok_or("SEV metadata offset beyond the image")?;
            let d = &ovmf.data;
            if d.get(start..start + 4) != Some(&b"ASEV"[..]) || le32(d, start + 8) != Some(1) {
                return Err("SEV metadata: bad signature or version".into());
            }
            let n = le32(d, start + 12).ok_or("SEV metadata truncated")? as usize;
            let mut sections = Vec::with_capacity(n.min(64));
            for i in 0..n {
                let at = start + 16 + 12 * i;
                sections.push(Section {
                    gpa: le32(d, at).ok_or("SEV metadata truncated")?,
                    size: le32(d, at + 4).ok_or("SEV metadata truncated")?,
                    kind: le32(d, at + 8).ok_or("SEV metadata truncated")?,
                });
            }
            ovmf.sections = sections;
        }
        Ok(ovmf)
    }

    fn item(&self, g: &str) -> Option<&[u8]> {
        let want = guid::bytes(g);
        self.table
            .iter()
            .find(|(k, _)| *k == want)
            .map(|(_, v)| &v[..])
    }

    /// GPA of the image's first byte: it ends at 4 GiB.
    pub fn gpa(&self) -> u64 {
        (1u64 << 32) - self.data.len() as u64
    }

    /// The launch-information page of the evtpm launch (`svsm::sev::launch`): where this image
    /// lies and its SEV metadata sections, for the SVSM to prepare the guest's memory by.
    pub fn launch_info(&self) -> Result<[u8; PAGE as usize], String> {
        use svsm::sev::launch::{LaunchInfo, Section as LaunchSection, SectionKind};
        let sections = self
            .sections
            .iter()
            .map(|s| {
                let kind = SectionKind::from_code(s.kind).ok_or_else(|| {
                    format!("OVMF SEV metadata section of unknown type {}", s.kind)
                })?;
                Ok(LaunchSection {
                    gpa: u64::from(s.gpa),
                    size: s.size,
                    kind,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        LaunchInfo {
            firmware: self.gpa()..1 << 32,
            sections,
        }
        .encode()
        .map_err(|e| format!("launch information: {e:?}"))
    }

    /// The APs' entry from the SEV-ES reset block, if the image has one.
    pub fn sev_es_reset_eip(&self) -> Option<u32> {
        self.item(guid::SEV_ES_RESET_BLOCK).and_then(|e| le32(e, 0))
    }
}

/// Whether the SVSM in `image` will accept `ovmf`'s launch information at run time
/// (`svsm::sev::launch::LaunchInfo::check`, against the SVSM's memory: the launch-information
/// page up to the end of the image).
pub fn launch_check(image: &[u8], ovmf: &Ovmf) -> Result<(), String> {
    use svsm::sev::launch::LaunchInfo;
    let (_, segments) = elf_segments(image)?;
    let end = segments
        .iter()
        .map(|s| s.paddr + s.mem_size)
        .max()
        .ok_or("the image has no loadable segment")?;
    let info = LaunchInfo::parse(&ovmf.launch_info()?).map_err(|e| format!("{e:?}"))?;
    info.check(&(MEMORY_MAP_GPA..end))
        .map_err(|e| format!("its SEV metadata does not fit: {e:?}"))
}

/// The OVMF-only SNP launch (see the module documentation).
pub fn ovmf_launch(
    ovmf: &Ovmf,
    vcpus: u32,
    vcpu_sig: u32,
    guest_features: u64,
) -> Result<[u8; 48], String> {
    let mut ld = LaunchDigest::default();
    ld.normal_pages(ovmf.gpa(), &ovmf.data);
    for s in &ovmf.sections {
        let (gpa, size) = (u64::from(s.gpa), u64::from(s.size));
        match s.kind {
            1 | 4 | 0x10 => ld.empty_pages(PageType::Zero, gpa, size), // SEC_MEM, CAA, hashes
            2 => ld.update(PageType::Secrets, gpa, &[0; 48]),
            3 => ld.update(PageType::Cpuid, gpa, &[0; 48]),
            k => return Err(format!("OVMF SEV metadata section of unknown type {k}")),
        }
    }
    let ap_eip = ovmf.sev_es_reset_eip();
    for i in 0..vcpus {
        let eip = if i == 0 {
            0xFFFF_FFF0
        } else {
            ap_eip.ok_or("OVMF has no SEV-ES reset block for APs")?
        };
        ld.vmsa(&reset_vmsa(eip, vcpu_sig, guest_features));
    }
    Ok(ld.digest())
}

/// A loadable segment of the firmware ELF: physical address, file bytes, memory size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub paddr: u64,
    pub data: Vec<u8>,
    pub mem_size: u64,
}

/// The entry point and PT_LOAD segments of a 64-bit little-endian ELF.
pub fn elf_segments(elf: &[u8]) -> Result<(u64, Vec<Segment>), String> {
    let u16_at = |at: usize| {
        elf.get(at..at + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
    };
    let u32_at = |at: usize| le32(elf, at);
    let u64_at = |at: usize| {
        elf.get(at..at + 8)
            .map(|b| u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
    };
    if elf.get(..6) != Some(&[0x7F, b'E', b'L', b'F', 2, 1][..]) {
        return Err("not a 64-bit little-endian ELF".into());
    }
    let bad = || String::from("ELF truncated");
    let entry = u64_at(0x18).ok_or_else(bad)?;
    let phoff = u64_at(0x20).ok_or_else(bad)? as usize;
    let phentsize = u16_at(0x36).ok_or_else(bad)? as usize;
    let phnum = u16_at(0x38).ok_or_else(bad)? as usize;
    let mut segments = Vec::new();
    for i in 0..phnum {
        let ph = phoff + i * phentsize;
        if u32_at(ph).ok_or_else(bad)? != 1 {
            continue; // not PT_LOAD
        }
        let offset = u64_at(ph + 0x08).ok_or_else(bad)? as usize;
        let paddr = u64_at(ph + 0x18).ok_or_else(bad)?;
        let filesz = u64_at(ph + 0x20).ok_or_else(bad)? as usize;
        let memsz = u64_at(ph + 0x28).ok_or_else(bad)?;
        if paddr % PAGE != 0 || (filesz as u64) > memsz {
            return Err(format!(
                "segment {i}: not page-aligned or file size above memory size"
            ));
        }
        let data = elf.get(offset..offset + filesz).ok_or_else(bad)?.to_vec();
        segments.push(Segment {
            paddr,
            data,
            mem_size: memsz,
        });
    }
    Ok((entry, segments))
}

/// The evtpm launch (see the module documentation).
pub fn evtpm_launch(
    image: &[u8],
    ovmf: &Ovmf,
    vcpus: u32,
    vcpu_sig: u32,
) -> Result<[u8; 48], String> {
    let (entry, segments) = elf_segments(image)?;
    let entry = u32::try_from(entry).map_err(|_| "the entry point is above 4 GiB")?;
    let mut ld = LaunchDigest::default();
    ld.normal_pages(ovmf.gpa(), &ovmf.data);
    for s in &segments {
        ld.normal_pages(s.paddr, &s.data);
        let file_pages = (s.data.len() as u64).div_ceil(PAGE) * PAGE;
        let mut gpa = s.paddr + file_pages;
        while gpa < s.paddr + s.mem_size {
            ld.normal_pages(gpa, &[0; PAGE as usize]);
            gpa += PAGE;
        }
    }
    ld.update(PageType::Unmeasured, MEMORY_MAP_GPA, &[0; 48]);
    ld.normal_pages(LAUNCH_INFO_GPA, &ovmf.launch_info()?);
    ld.update(PageType::Secrets, SECRETS_GPA, &[0; 48]);
    ld.update(PageType::Cpuid, CPUID_GPA, &[0; 48]);
    for _ in 0..vcpus {
        ld.vmsa(&svsm_vmsa(entry, vcpu_sig, 0x1));
    }
    Ok(ld.digest())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_signatures_of_qemu_models() {
        assert_eq!(vcpu_signature("EPYC-v4"), Some(0x0080_0F12));
        assert_eq!(vcpu_signature("EPYC-Milan"), Some(0x00A0_0F11));
        assert_eq!(vcpu_signature("EPYC-Genoa"), Some(0x00A1_0F10));
        assert_eq!(vcpu_signature("Skylake"), None);
    }

    #[test]
    fn guid_bytes_have_little_endian_fields() {
        assert_eq!(
            guid::bytes(guid::FOOTER),
            [
                0xde, 0x82, 0xb5, 0x96, 0xb2, 0x1f, 0xf7, 0x45, 0xba, 0xea, 0xa3, 0x66, 0xc5, 0x5a,
                0x08, 0x2d
            ]
        );
    }

    /// One NORMAL page of zeros at GPA 0 and one ZERO page at 0x1000, from LD = 0. The
    /// expected value comes from Python's hashlib:
    /// `ld=bytes(48); pi=lambda ld,c,t,g: hashlib.sha384(ld+c+(0x70).to_bytes(2,'little')+bytes([t,0,0,0,0,0])+g.to_bytes(8,'little')).digest();`
    /// `ld=pi(ld,hashlib.sha384(bytes(4096)).digest(),1,0); ld=pi(ld,bytes(48),3,0x1000); print(ld.hex())`
    #[test]
    fn page_info_chain_matches_an_independent_computation() {
        let mut ld = LaunchDigest::default();
        ld.normal_pages(0, &[0; 4096]);
        ld.empty_pages(PageType::Zero, 0x1000, 4096);
        assert_eq!(
            crate::verify::hex::encode(&ld.digest()),
            "3bb77aec4f0d90c147b6b7884b6bd5741994d2575305f89639c95186690d949261186702ef51f2fa7c0dd4c90f03ebfd"
        );
    }

    #[test]
    fn hostile_images_are_errors_not_panics() {
        for bad in [&[][..], &[0x7F, b'E', b'L', b'F', 2, 1][..], &[0u8; 64][..]] {
            assert!(elf_segments(bad).is_err());
            let _ = Ovmf::parse(bad.to_vec());
        }
        let mut footer = vec![0u8; 4096];
        let end = 4096 - 32 - 18;
        footer[end..end + 2].copy_from_slice(&0xFFFFu16.to_le_bytes());
        footer[end + 2..end + 18].copy_from_slice(&guid::bytes(guid::FOOTER));
        assert!(Ovmf::parse(footer).is_err());
    }
}
