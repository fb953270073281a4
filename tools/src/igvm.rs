//! `evtpm igvm`: the firmware packaged as an IGVM file (Microsoft's Independent Guest Virtual
//! Machine format, the `igvm` crate) for an SEV-SNP launch by QEMU's `igvm-cfg` object, and
//! [`measure`]: the launch MEASUREMENT of such a file.
//!
//! The file holds, for the SEV-SNP platform (compatibility mask [`SNP_COMPAT`]) and in this
//! order, the evtpm launch of [`crate::measure::evtpm_launch`]:
//!
//! 1. the guest firmware (an OVMF built with SVSM support, supplied by the operator) as page
//!    data ending at 4 GiB: it runs at VMPL1, once the SVSM has made its pages VMPL1-accessible;
//! 2. the SVSM's loadable segments at their physical addresses: file bytes as page data, the
//!    rest of each segment (BSS, stack, heap) as page data without file data. QEMU launches
//!    those as NORMAL pages of zeros (`CGS_PAGE_TYPE_ZERO` goes to the same SNP_LAUNCH_UPDATE
//!    as data), and the `igvm` crate's own SNP measurement hashes them the same way;
//! 3. the loader's memory map, a parameter area QEMU fills from its e820 table and inserts
//!    (unmeasured) at [`MEMORY_MAP_GPA`]: the guest's RAM, for the SVSM's guest map;
//!    then the launch-information page at [`LAUNCH_INFO_GPA`] (`svsm::sev::launch`): where
//!    OVMF lies and its SEV metadata sections, which the SVSM prepares for it at run time;
//! 4. the SNP secrets page at [`SECRETS_GPA`] and the CPUID page at [`CPUID_GPA`], both for the
//!    SVSM alone. The guest's secrets page, with VMPCK0 zeroed and the SVSM fields (SVSM spec
//!    table 7: base, size, calling area, max protocol version, guest VMPL) filled in, is
//!    written by the SVSM at run time where OVMF's SEV metadata asks for it;
//! 5. one VMSA per possible vCPU (`vp_index` 0 to `max_vcpus - 1`), all in the SVSM's initial
//!    state ([`svsm_vmsa`]): every vCPU enters the SVSM at VMPL0; none starts in guest code
//!    at VMPL0. QEMU (with `qemu-patches/`) uses the first `-smp` of them and refuses a launch
//!    with more vCPUs than contexts. Identical VMSAs are stored once in the file.
//!
//! The guest policy travels as an initialization header ([`GUEST_POLICY`]).
//!
//! [`measure`] reads an IGVM file back (through the `igvm` crate's parser, not through the
//! builder) and replays what QEMU 10.2.2 with `qemu-patches/` hands to SNP_LAUNCH_UPDATE, so
//! its result can be compared with [`crate::measure::evtpm_launch`], computed from the ELF
//! and the OVMF image without any IGVM code, and with the `igvm` crate's own
//! `measurement::generate_snp_measurement` (the tests do both).

use crate::measure::{
    self, svsm_vmsa, LaunchDigest, Ovmf, PageType, CPUID_GPA, LAUNCH_INFO_GPA, MEMORY_MAP_GPA,
    SECRETS_GPA, VMSA_GPA,
};
use igvm::snp_defs::SevVmsa;
use igvm::{IgvmDirectiveHeader, IgvmFile, IgvmInitializationHeader, IgvmPlatformHeader};
use igvm_defs::{
    IgvmPageDataFlags, IgvmPageDataType, IgvmPlatformType, IGVM_VHS_PARAMETER,
    IGVM_VHS_PARAMETER_INSERT, IGVM_VHS_SUPPORTED_PLATFORM,
};
use zerocopy::{FromBytes, IntoBytes};

/// Bytes of a page.
const PAGE: u64 = 4096;

// The SVSM reads QEMU's memory map with its own entry size.
const _: () = assert!(
    core::mem::size_of::<igvm_defs::IGVM_VHS_MEMORY_MAP_ENTRY>()
        == svsm::sev::launch::MEMORY_MAP_ENTRY
);

/// The compatibility mask of the SEV-SNP platform in files built here.
pub const SNP_COMPAT: u32 = 0x1;

/// The SNP guest policy (SNP ABI 56860, table "GUEST_POLICY Structure"): ABI major and minor 0,
/// SMT allowed (bit 16), the reserved bit 17 set as required; no migration agent, no debug,
/// no single-socket restriction.
pub const GUEST_POLICY: u64 = 0x3_0000;

/// `SEV_FEATURES` of every VMSA: SNPActive (APM vol. 2, table 15-36).
pub const SEV_FEATURES: u64 = 0x1;

/// How an image is built.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// VMSAs in the file: the most vCPUs a launch of it may have.
    pub max_vcpus: u32,
    /// The vCPU signature (`CPUID Fn0000_0001_EAX`) the VMSAs carry in RDX, as x86 reset does.
    pub vcpu_sig: u32,
}

fn page(gpa: u64, data_type: IgvmPageDataType, data: &[u8]) -> IgvmDirectiveHeader {
    IgvmDirectiveHeader::PageData {
        gpa,
        compatibility_mask: SNP_COMPAT,
        flags: IgvmPageDataFlags::new(),
        data_type,
        data: data.to_vec(),
    }
}

/// The IGVM file of the evtpm launch of the firmware ELF `image` with `ovmf` (see the module
/// documentation), serialized.
pub fn build(image: &[u8], ovmf: &Ovmf, o: &Options) -> Result<Vec<u8>, String> {
    if o.max_vcpus == 0 || o.max_vcpus > u32::from(u16::MAX) {
        return Err(format!("max vCPUs {} out of range", o.max_vcpus));
    }
    let (entry, segments) = measure::elf_segments(image)?;
    let entry = u32::try_from(entry).map_err(|_| "the entry point is above 4 GiB")?;
    let mut d = Vec::new();
    for (i, chunk) in ovmf.data.chunks(PAGE as usize).enumerate() {
        d.push(page(
            ovmf.gpa() + i as u64 * PAGE,
            IgvmPageDataType::NORMAL,
            chunk,
        ));
    }
    for s in &segments {
        if s.paddr % PAGE != 0 {
            return Err(format!("segment at {:#x} is not page-aligned", s.paddr));
        }
        let mut gpa = s.paddr;
        for chunk in s.data.chunks(PAGE as usize) {
            d.push(page(gpa, IgvmPageDataType::NORMAL, chunk));
            gpa += PAGE;
        }
        while gpa < s.paddr + s.mem_size {
            d.push(page(gpa, IgvmPageDataType::NORMAL, &[]));
            gpa += PAGE;
        }
    }
    // The loader's memory map, for the SVSM's guest map (`svsm::sev::launch::parse_memory_map`):
    // parameter area 0, filled by QEMU from its e820 table, inserted unmeasured.
    d.push(IgvmDirectiveHeader::ParameterArea {
        number_of_bytes: PAGE,
        parameter_area_index: 0,
        initial_data: Vec::new(),
    });
    d.push(IgvmDirectiveHeader::MemoryMap(IGVM_VHS_PARAMETER {
        parameter_area_index: 0,
        byte_offset: 0,
    }));
    d.push(IgvmDirectiveHeader::ParameterInsert(
        IGVM_VHS_PARAMETER_INSERT {
            gpa: MEMORY_MAP_GPA,
            compatibility_mask: SNP_COMPAT,
            parameter_area_index: 0,
        },
    ));
    d.push(page(
        LAUNCH_INFO_GPA,
        IgvmPageDataType::NORMAL,
        &ovmf.launch_info()?,
    ));
    d.push(page(SECRETS_GPA, IgvmPageDataType::SECRETS, &[]));
    d.push(page(CPUID_GPA, IgvmPageDataType::CPUID_DATA, &[]));
    let vmsa_page = svsm_vmsa(entry, o.vcpu_sig, SEV_FEATURES);
    let (vmsa, _) = SevVmsa::read_from_prefix(&vmsa_page[..])
        .map_err(|_| "VMSA page shorter than a SevVmsa")?;
    for vp in 0..o.max_vcpus {
        d.push(IgvmDirectiveHeader::SnpVpContext {
            gpa: VMSA_GPA,
            compatibility_mask: SNP_COMPAT,
            vp_index: vp as u16,
            vmsa: Box::new(vmsa),
        });
    }
    let platforms = vec![IgvmPlatformHeader::SupportedPlatform(
        IGVM_VHS_SUPPORTED_PLATFORM {
            compatibility_mask: SNP_COMPAT,
            highest_vtl: 0,
            platform_type: IgvmPlatformType::SEV_SNP,
            platform_version: 1,
            shared_gpa_boundary: 0,
        },
    )];
    let init = vec![IgvmInitializationHeader::GuestPolicy {
        policy: GUEST_POLICY,
        compatibility_mask: SNP_COMPAT,
    }];
    let file = IgvmFile::new(igvm::IgvmRevision::V1, platforms, init, d)
        .map_err(|e| format!("IGVM file: {e}"))?;
    let mut out = Vec::new();
    file.serialize(&mut out)
        .map_err(|e| format!("IGVM serialization: {e}"))?;
    Ok(out)
}

/// What an IGVM file asks of an SNP launch, read back from its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// The SNP guest policy, if the file sets one.
    pub policy: Option<u64>,
    /// VP contexts (VMSAs) in the file: the most vCPUs a launch may have.
    pub max_vcpus: u32,
    /// Pages of page data for the SNP platform.
    pub pages: u64,
}

fn parse(file: &[u8]) -> Result<(IgvmFile, u32), String> {
    let f = IgvmFile::new_from_binary(file, Some(igvm::IsolationType::Snp))
        .map_err(|e| format!("not a valid IGVM file: {e}"))?;
    let mask = f
        .platforms()
        .iter()
        .find_map(|p| {
            let IgvmPlatformHeader::SupportedPlatform(sp) = p;
            (sp.platform_type == IgvmPlatformType::SEV_SNP).then_some(sp.compatibility_mask)
        })
        .ok_or("the IGVM file has no SEV-SNP platform")?;
    Ok((f, mask))
}

/// The policy, VP context count and page count of an IGVM file.
pub fn summary(file: &[u8]) -> Result<Summary, String> {
    let (f, mask) = parse(file)?;
    let policy = f.initializations().iter().find_map(|h| match h {
        IgvmInitializationHeader::GuestPolicy {
            policy,
            compatibility_mask,
        } if compatibility_mask & mask != 0 => Some(*policy),
        _ => None,
    });
    let mut s = Summary {
        policy,
        max_vcpus: 0,
        pages: 0,
    };
    for h in f.directives() {
        match h {
            IgvmDirectiveHeader::PageData {
                compatibility_mask, ..
            } if compatibility_mask & mask != 0 => s.pages += 1,
            IgvmDirectiveHeader::SnpVpContext {
                compatibility_mask,
                vp_index,
                ..
            } if compatibility_mask & mask != 0 => {
                s.max_vcpus = s.max_vcpus.max(u32::from(*vp_index) + 1)
            }
            _ => {}
        }
    }
    Ok(s)
}

/// The launch MEASUREMENT of an SNP launch of the IGVM `file` with `vcpus` vCPUs, as QEMU
/// 10.2.2 with `qemu-patches/` performs it (`backends/igvm.c`, `target/i386/sev.c`):
///
/// * page data for the SNP platform, in file order: a NORMAL page (its contents hashed; a
///   page without file data is a page of zeros, `backends/igvm.c`), `unmeasured` an UNMEASURED page,
///   SECRETS and CPUID_DATA a SECRETS and a CPUID page; 2 MiB page data as 512 pages;
/// * then, at LAUNCH_FINISH, one VMSA per vCPU in vCPU order: the file's context for that
///   `vp_index` (its last one, as QEMU replaces an earlier one). Contexts for vCPUs the launch
///   does not have are skipped; a vCPU without a context is an error (the patched QEMU refuses
///   such a launch: the vCPU would start at the reset vector, at VMPL0, in guest code).
///
/// Directives that would change the launch in ways not modelled here are errors.
pub fn measure(file: &[u8], vcpus: u32) -> Result<[u8; 48], String> {
    let (f, mask) = parse(file)?;
    let mut ld = LaunchDigest::default();
    let mut vmsas: Vec<Option<[u8; PAGE as usize]>> = vec![None; vcpus as usize];
    let mut areas = std::collections::BTreeMap::new();
    for h in f.directives() {
        if h.compatibility_mask().is_some_and(|m| m & mask == 0) {
            continue;
        }
        match h {
            IgvmDirectiveHeader::PageData {
                gpa,
                flags,
                data_type,
                data,
                ..
            } => {
                if flags.shared() {
                    return Err(format!("shared page data at {gpa:#x} is not supported"));
                }
                let pages = if flags.is_2mb_page() { 512 } else { 1 };
                for i in 0..pages {
                    let at = gpa + i * PAGE;
                    let chunk = data
                        .get((i * PAGE) as usize..)
                        .map(|d| &d[..d.len().min(PAGE as usize)])
                        .unwrap_or(&[]);
                    match *data_type {
                        _ if flags.unmeasured() => ld.update(PageType::Unmeasured, at, &[0; 48]),
                        IgvmPageDataType::SECRETS => ld.update(PageType::Secrets, at, &[0; 48]),
                        IgvmPageDataType::CPUID_DATA | IgvmPageDataType::CPUID_XF => {
                            ld.update(PageType::Cpuid, at, &[0; 48])
                        }
                        IgvmPageDataType::NORMAL if chunk.is_empty() => {
                            ld.normal_pages(at, &[0; PAGE as usize])
                        }
                        IgvmPageDataType::NORMAL => ld.normal_pages(at, chunk),
                        t => return Err(format!("page data of unknown type {t:?} at {at:#x}")),
                    }
                }
            }
            IgvmDirectiveHeader::SnpVpContext {
                gpa,
                vp_index,
                vmsa,
                ..
            } => {
                if *gpa != VMSA_GPA {
                    return Err(format!(
                        "VMSA at {gpa:#x}: KVM measures it at {VMSA_GPA:#x}"
                    ));
                }
                if let Some(slot) = vmsas.get_mut(usize::from(*vp_index)) {
                    let mut p = [0u8; PAGE as usize];
                    let bytes = vmsa.as_bytes();
                    p[..bytes.len()].copy_from_slice(bytes);
                    *slot = Some(p);
                }
            }
            IgvmDirectiveHeader::ParameterArea {
                number_of_bytes,
                parameter_area_index,
                ..
            } => {
                areas.insert(*parameter_area_index, *number_of_bytes);
            }
            IgvmDirectiveHeader::ParameterInsert(p) => {
                let size = areas.get(&p.parameter_area_index).ok_or_else(|| {
                    format!(
                        "parameter area {} inserted before it is declared",
                        p.parameter_area_index
                    )
                })?;
                // QEMU inserts a parameter area as UNMEASURED pages.
                for at in (p.gpa..p.gpa + size).step_by(PAGE as usize) {
                    ld.update(PageType::Unmeasured, at, &[0; 48]);
                }
            }
            IgvmDirectiveHeader::MemoryMap(_)
            | IgvmDirectiveHeader::RequiredMemory { .. }
            | IgvmDirectiveHeader::ErrorRange { .. } => {}
            other => {
                return Err(format!(
                    "directive {other:?} is not part of an evtpm launch and not modelled"
                ))
            }
        }
    }
    for (i, v) in vmsas.iter().enumerate() {
        let v = v.as_ref().ok_or_else(|| {
            format!("vCPU {i} has no VP context in the file: launch with fewer vCPUs")
        })?;
        ld.vmsa(v);
    }
    Ok(ld.digest())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal 64-bit ELF with one PT_LOAD segment: `file` bytes at `paddr`, `mem` in memory.
    pub(crate) fn elf(paddr: u64, file: &[u8], mem: u64, entry: u64) -> Vec<u8> {
        let mut e = vec![0u8; 0x1000];
        e[..4].copy_from_slice(b"\x7fELF");
        e[4] = 2; // ELFCLASS64
        e[5] = 1; // little-endian
        e[6] = 1;
        e[0x10..0x12].copy_from_slice(&2u16.to_le_bytes()); // ET_EXEC
        e[0x12..0x14].copy_from_slice(&0x3Eu16.to_le_bytes()); // x86-64
        e[0x14..0x18].copy_from_slice(&1u32.to_le_bytes());
        e[0x18..0x20].copy_from_slice(&entry.to_le_bytes());
        e[0x20..0x28].copy_from_slice(&0x40u64.to_le_bytes()); // e_phoff
        e[0x34..0x36].copy_from_slice(&0x40u16.to_le_bytes()); // e_ehsize
        e[0x36..0x38].copy_from_slice(&0x38u16.to_le_bytes()); // e_phentsize
        e[0x38..0x3A].copy_from_slice(&1u16.to_le_bytes()); // e_phnum
        let ph = 0x40;
        e[ph..ph + 4].copy_from_slice(&1u32.to_le_bytes()); // PT_LOAD
        e[ph + 4..ph + 8].copy_from_slice(&7u32.to_le_bytes());
        e[ph + 8..ph + 16].copy_from_slice(&0x1000u64.to_le_bytes()); // p_offset
        e[ph + 16..ph + 24].copy_from_slice(&paddr.to_le_bytes());
        e[ph + 24..ph + 32].copy_from_slice(&paddr.to_le_bytes());
        e[ph + 32..ph + 40].copy_from_slice(&(file.len() as u64).to_le_bytes());
        e[ph + 40..ph + 48].copy_from_slice(&mem.to_le_bytes());
        e[ph + 48..ph + 56].copy_from_slice(&0x1000u64.to_le_bytes());
        e.extend_from_slice(file);
        e
    }

    fn fixture() -> (Vec<u8>, Ovmf) {
        let code: Vec<u8> = (0..9000u32).map(|i| (i * 7) as u8).collect();
        let image = elf(0x10_0000, &code, 0x5000, 0x10_0010);
        let ovmf = Ovmf::parse((0..0x4000u32).map(|i| (i % 251) as u8).collect()).unwrap();
        (image, ovmf)
    }

    #[test]
    fn the_igvm_measurement_equals_the_elf_and_ovmf_computation() {
        let (image, ovmf) = fixture();
        let o = Options {
            max_vcpus: 4,
            vcpu_sig: 0x0080_0F12,
        };
        let file = build(&image, &ovmf, &o).unwrap();
        for vcpus in 1..=4 {
            assert_eq!(
                measure(&file, vcpus).unwrap(),
                measure::evtpm_launch(&image, &ovmf, vcpus, o.vcpu_sig).unwrap(),
                "{vcpus} vCPUs"
            );
        }
        let err = measure(&file, 5).unwrap_err();
        assert!(err.contains("vCPU 4 has no VP context"), "{err}");
        let s = summary(&file).unwrap();
        assert_eq!(s.policy, Some(GUEST_POLICY));
        assert_eq!(s.max_vcpus, 4);
        // OVMF 4 pages, 3 file pages, 2 pages of zeros, launch information, secrets, CPUID.
        assert_eq!(s.pages, 4 + 3 + 2 + 1 + 2);
    }

    /// The `igvm` crate's own SNP launch digest (Microsoft's reference computation) measures
    /// every VP context in file order, so it equals a launch with as many vCPUs as contexts.
    #[test]
    fn the_igvm_crates_own_measurement_agrees() {
        let (image, ovmf) = fixture();
        for max_vcpus in [1, 3] {
            let o = Options {
                max_vcpus,
                vcpu_sig: 0x00A0_0F11,
            };
            let file = build(&image, &ovmf, &o).unwrap();
            let f = IgvmFile::new_from_binary(&file, Some(igvm::IsolationType::Snp)).unwrap();
            let theirs = igvm::measurement::generate_snp_measurement(
                f.initializations(),
                f.directives(),
                SNP_COMPAT,
            )
            .unwrap();
            assert_eq!(measure(&file, max_vcpus).unwrap(), theirs, "{max_vcpus}");
        }
    }

    #[test]
    fn builds_are_deterministic_and_identical_vmsas_are_stored_once() {
        let (image, ovmf) = fixture();
        let o = |n| Options {
            max_vcpus: n,
            vcpu_sig: 0x0080_0F12,
        };
        let a = build(&image, &ovmf, &o(1)).unwrap();
        assert_eq!(a, build(&image, &ovmf, &o(1)).unwrap());
        let many = build(&image, &ovmf, &o(64)).unwrap();
        assert!(
            many.len() < a.len() + 64 * 64,
            "{} vs {}",
            many.len(),
            a.len()
        );
    }

    #[test]
    fn a_changed_byte_changes_the_measurement() {
        let (mut image, ovmf) = fixture();
        let o = Options {
            max_vcpus: 1,
            vcpu_sig: 0x0080_0F12,
        };
        let before = measure(&build(&image, &ovmf, &o).unwrap(), 1).unwrap();
        let last = image.len() - 1;
        image[last] ^= 1;
        assert_ne!(
            before,
            measure(&build(&image, &ovmf, &o).unwrap(), 1).unwrap()
        );
    }

    #[test]
    fn hostile_files_are_errors() {
        for bad in [&[][..], &[0u8; 64][..], b"IGVM\x01\0\0\0"] {
            assert!(measure(bad, 1).is_err());
            assert!(summary(bad).is_err());
        }
        let (image, ovmf) = fixture();
        let o = Options {
            max_vcpus: 1,
            vcpu_sig: 0,
        };
        let mut file = build(&image, &ovmf, &o).unwrap();
        for i in (0..file.len()).step_by(97) {
            file[i] ^= 0x5A;
            let _ = measure(&file, 1);
            file[i] ^= 0x5A;
        }
        assert!(build(&image, &ovmf, &Options { max_vcpus: 0, ..o }).is_err());
    }
}
