//! `evtpm measure` against `sev-snp-measure` (PyPI, IBM; installed by `make test` from
//! tests/py/requirements.txt):
//!
//! * the OVMF-only SNP launch of Debian's OVMF images (package `ovmf`), for 1, 2 and 4 vCPUs of
//!   three CPU models: byte-equal launch digests;
//! * the parts the evtpm launch shares with `--mode snp:svsm` (OVMF pages, an SVSM image's
//!   pages, SECRETS/CPUID/ZERO sections, the SVSM's 32-bit entry VMSA): the same digest for a
//!   synthetic SVSM image carrying the footer table `sev-snp-measure` reads;
//! * `evtpm measure IMAGE` on the firmware (`EVTPM_FIRMWARE`): deterministic, and a change of
//!   one byte of a loaded segment changes it.

use evtpm::measure::{self, LaunchDigest, Ovmf, PageType};
use std::path::Path;
use std::process::Command;

const OVMF_IMAGES: [&str; 2] = [
    "/usr/share/OVMF/OVMF_CODE.fd",
    "/usr/share/OVMF/OVMF_CODE_4M.fd",
];

/// `sev-snp-measure ARGS` → the hex digest.
fn reference(args: &[&str]) -> String {
    let o = Command::new("sev-snp-measure").args(args).output().expect(
        "sev-snp-measure is not installed: make test installs it (tests/py/requirements.txt)",
    );
    assert!(
        o.status.success(),
        "sev-snp-measure {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).trim().to_owned()
}

fn evtpm(args: &[&str]) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_evtpm"))
        .arg("measure")
        .args(args)
        .output()
        .expect("evtpm measure");
    assert!(
        o.status.success(),
        "evtpm measure {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).trim().to_owned()
}

fn ovmf_images() -> Vec<&'static str> {
    let found: Vec<&str> = OVMF_IMAGES
        .into_iter()
        .filter(|p| Path::new(p).is_file())
        .collect();
    assert!(
        !found.is_empty(),
        "no OVMF image in /usr/share/OVMF: install Debian's ovmf package (make deps)"
    );
    found
}

#[test]
fn the_ovmf_launch_digest_equals_sev_snp_measure() {
    for ovmf in ovmf_images() {
        for vcpus in ["1", "2", "4"] {
            for model in ["EPYC-v4", "EPYC-Milan", "EPYC-Genoa"] {
                let args = ["--ovmf", ovmf, "--vcpus", vcpus, "--vcpu-type", model];
                let ours = evtpm(&args);
                assert_eq!(ours.len(), 96);
                let theirs = reference(&[&["--mode", "snp"][..], &args[..]].concat());
                assert_eq!(ours, theirs, "{ovmf}, {vcpus} vCPUs, {model}");
            }
        }
    }
}

/// A GUID in its firmware byte order.
fn guid(s: &str) -> [u8; 16] {
    let hex: String = s.chars().filter(|c| *c != '-').collect();
    let mut g = [0u8; 16];
    for (i, b) in g.iter_mut().enumerate() {
        *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap();
    }
    g[0..4].reverse();
    g[4..6].reverse();
    g[6..8].reverse();
    g
}

/// A 64 KiB SVSM image in the form `sev-snp-measure --mode snp:svsm` reads: code bytes, an
/// `ASEV` metadata table (a ZERO range, the SECRETS and CPUID pages) and the footer GUID table
/// with the SVSM_INFO entry (entry point offset) and the metadata entry.
fn synthetic_svsm(sections: &[(u32, u32, u32)], entry_offset: u32) -> Vec<u8> {
    let mut img: Vec<u8> = (0..0x1_0000u32).map(|i| (i * 31 % 251) as u8).collect();
    let len = img.len();
    // ASEV table at 0x8000.
    let asev = 0x8000;
    let mut t = b"ASEV".to_vec();
    t.extend((16 + 12 * sections.len() as u32).to_le_bytes());
    t.extend(1u32.to_le_bytes());
    t.extend((sections.len() as u32).to_le_bytes());
    for (gpa, size, kind) in sections {
        t.extend(gpa.to_le_bytes());
        t.extend(size.to_le_bytes());
        t.extend(kind.to_le_bytes());
    }
    img[asev..asev + t.len()].copy_from_slice(&t);
    // Footer table, read backwards from 32 bytes before the end.
    let entry = |data: &[u8], g: &str| {
        let mut e = data.to_vec();
        e.extend(((data.len() + 18) as u16).to_le_bytes());
        e.extend(guid(g));
        e
    };
    let mut table = entry(
        &entry_offset.to_le_bytes(),
        "a789a612-0597-4c4b-a49f-cbb1fe9d1ddd",
    );
    table.extend(entry(
        &((len - asev) as u32).to_le_bytes(),
        "dc886566-984a-4798-a75e-5585a7bf67cc",
    ));
    let footer_size = (table.len() + 18) as u16;
    table.extend(footer_size.to_le_bytes());
    table.extend(guid("96b582de-1fb2-45f7-baea-a366c55a082d"));
    let end = len - 32;
    img[end - table.len()..end].copy_from_slice(&table);
    img
}

#[test]
fn the_svsm_launch_parts_equal_sev_snp_measure_snp_svsm() {
    let ovmf_path = ovmf_images()[0];
    let ovmf = Ovmf::parse(std::fs::read(ovmf_path).unwrap()).unwrap();
    let sections = [
        (0x0080_0000u32, 0x3000u32, 1u32), // SNP_SEC_MEM: ZERO pages
        (0x0080_3000, 0x1000, 2),          // SECRETS
        (0x0080_4000, 0x1000, 3),          // CPUID
    ];
    let entry_offset = 0x100;
    let img = synthetic_svsm(&sections, entry_offset);
    let dir = std::env::temp_dir().join(format!("evtpm-measure-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("svsm.bin");
    std::fs::write(&path, &img).unwrap();

    // The SVSM image ends where the OVMF variable store (of this size) begins.
    const VARS_SIZE: u64 = 0x2_0000;
    let img_gpa = ovmf.gpa() - VARS_SIZE - img.len() as u64;
    let sig = measure::vcpu_signature("EPYC-Milan").unwrap();
    for vcpus in [1u32, 3] {
        let mut ld = LaunchDigest::default();
        ld.normal_pages(ovmf.gpa(), &ovmf.data);
        ld.normal_pages(img_gpa, &img);
        for (gpa, size, kind) in sections {
            match kind {
                1 => ld.empty_pages(PageType::Zero, gpa.into(), size.into()),
                2 => ld.update(PageType::Secrets, gpa.into(), &[0; 48]),
                _ => ld.update(PageType::Cpuid, gpa.into(), &[0; 48]),
            }
        }
        let eip = (img_gpa + u64::from(entry_offset)) as u32;
        for _ in 0..vcpus {
            ld.vmsa(&measure::svsm_vmsa(eip, sig, 0x1));
        }
        let theirs = reference(&[
            "--mode",
            "snp:svsm",
            "--ovmf",
            ovmf_path,
            "--svsm",
            path.to_str().unwrap(),
            "--vcpus",
            &vcpus.to_string(),
            "--vcpu-type",
            "EPYC-Milan",
            "--vars-size",
            &VARS_SIZE.to_string(),
        ]);
        assert_eq!(
            evtpm::verify::hex::encode(&ld.digest()),
            theirs,
            "{vcpus} vCPUs"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_firmware_launch_digest_is_deterministic_and_covers_the_image() {
    let Some(image) = std::env::var_os("EVTPM_FIRMWARE") else {
        eprintln!("EVTPM_FIRMWARE unset: skipping the firmware measurement");
        return;
    };
    let ovmf = ovmf_images()[0];
    let image = Path::new(&image);
    let args = |img: &str| {
        evtpm(&[
            img,
            "--ovmf",
            ovmf,
            "--vcpus",
            "2",
            "--vcpu-type",
            "EPYC-Genoa",
        ])
    };
    let a = args(image.to_str().unwrap());
    assert_eq!(a, args(image.to_str().unwrap()), "deterministic");
    let mut bytes = std::fs::read(image).unwrap();
    let (_, segments) = measure::elf_segments(&bytes).unwrap();
    // Flip one byte of the first loaded segment, found by its contents.
    let first = &segments[0].data;
    let at = bytes
        .windows(64)
        .position(|w| w == &first[..64])
        .expect("segment bytes in the file");
    bytes[at + 100] ^= 1;
    let dir = std::env::temp_dir().join(format!("evtpm-measure-fw-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let changed = dir.join("svsm");
    std::fs::write(&changed, &bytes).unwrap();
    assert_ne!(a, args(changed.to_str().unwrap()));
    let _ = std::fs::remove_dir_all(&dir);
}
