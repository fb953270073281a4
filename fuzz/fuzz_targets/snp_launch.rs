//! The SNP launch's inputs from the host and the image: the loader's memory map (filled by the
//! hypervisor's QEMU, so hostile) and the launch-information page, on arbitrary bytes. Every
//! outcome is a value or an error, never a panic; an accepted memory map has aligned, disjoint,
//! nonempty RAM ranges below 2^52; an accepted launch-information page round-trips through
//! `encode`, and `prepare` on it touches no page of the SVSM's memory or beyond 4 GiB.
#![no_main]

use libfuzzer_sys::fuzz_target;
use svsm::sev::launch::{self, GuestPrep, LaunchError, LaunchInfo, MEMORY_MAP_GPA};
use svsm::sev::secrets::SecretsPage;

/// The SVSM's memory in a real launch: the memory-map page up to the end of a 1 MiB image.
const SVSM: core::ops::Range<u64> = MEMORY_MAP_GPA..0x110_0000;

struct Checked;

impl Checked {
    fn check(gpa: u64) -> Result<(), LaunchError> {
        assert!(gpa.is_multiple_of(4096), "unaligned page {gpa:#x}");
        assert!(!SVSM.contains(&gpa), "SVSM page {gpa:#x} handed to the guest");
        assert!(gpa < 4 << 30, "page {gpa:#x} beyond 4 GiB");
        Ok(())
    }
}

impl GuestPrep for Checked {
    fn grant(&mut self, gpa: u64) -> Result<(), LaunchError> {
        Self::check(gpa)
    }
    fn accept(&mut self, gpa: u64) -> Result<(), LaunchError> {
        Self::check(gpa)
    }
    fn write_page(&mut self, gpa: u64, _: &[u8; 4096]) -> Result<(), LaunchError> {
        Self::check(gpa)
    }
}

fn page(bytes: &[u8]) -> [u8; 4096] {
    let mut p = [0u8; 4096];
    let n = bytes.len().min(4096);
    p[..n].copy_from_slice(&bytes[..n]);
    p
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    if which & 1 == 0 {
        if let Ok(ram) = launch::parse_memory_map(&page(rest)) {
            assert!(!ram.is_empty());
            for (i, r) in ram.iter().enumerate() {
                assert!(r.start < r.end && r.end <= 1 << 52 && r.start % 4096 == 0);
                for o in &ram[..i] {
                    assert!(r.end <= o.start || o.end <= r.start, "overlap");
                }
            }
        }
        return;
    }
    // The launch-information page: the magic and version given, the rest from the input, so
    // the fuzzer spends its time past the header.
    let mut p = page(rest);
    p[0..8].copy_from_slice(&launch::MAGIC);
    p[8..12].copy_from_slice(&launch::VERSION.to_le_bytes());
    let Ok(info) = LaunchInfo::parse(&p) else {
        return;
    };
    assert_eq!(LaunchInfo::parse(&info.encode().unwrap()).unwrap(), info);
    if info.check(&SVSM).is_err() {
        return;
    }
    let mut secrets = [0u8; 4096];
    secrets[0..4].copy_from_slice(&3u32.to_le_bytes());
    let secrets = SecretsPage::from_bytes(&secrets).unwrap();
    launch::prepare(&info, &mut Checked, &secrets, &[0u8; 4096], &SVSM).unwrap();
});
