//! # ⚠ TEST KEYS — PUBLISHED, NOT SECRET, PROVE NOTHING ⚠
//!
//! The evtpm **qemu-test** SNP root: an ARK → ASK → VCEK chain shaped like AMD's, whose private
//! keys anyone can re-create (`tools/testdata/snp/test-root/gen.py` derives them from a fixed,
//! published seed; the VCEK's private key is committed as `TEST-ONLY-vcek-key.pem`). The
//! qemu-test platform has no AMD secure processor, so its firmware signs attestation reports
//! with [`VCEK_SCALAR`] to exercise the whole attestation path; `evtpm verify` refuses such a
//! chain unless it is given `--allow-test-root`.
//!
//! **Never** accept this root for anything but tests: a report it signs says nothing about
//! the hardware, the firmware or the guest.
//!
//! A report the firmware signs with this key must carry, to pass the VCEK check:
//! CHIP_ID = [`CHIP_ID`], REPORTED_TCB = [`REPORTED_TCB`] (Milan layout: bl=3, tee=0, snp=8,
//! ucode=115), KEY_INFO.SIGNING_KEY = 0 (VCEK), SIGNATURE_ALGO = 1; then
//! `report[0x2A0..0x330] = test_root_sign(&report[..0x2A0])`.
//!
//! Everything here but [`test_root_sign`] is plain bytes (`include_bytes!`), usable from a
//! `no_std` crate by including the same files.

use crate::tcb::Product;

/// The VCEK private key: the raw P-384 scalar, 48 bytes big-endian. **TEST ONLY.**
pub const VCEK_SCALAR: &[u8; 48] =
    include_bytes!("../../tools/testdata/snp/test-root/TEST-ONLY-vcek-scalar.bin");
/// The VCEK certificate (DER), CN=SEV-VCEK, issued by the test ASK.
pub const VCEK_DER: &[u8] = include_bytes!("../../tools/testdata/snp/test-root/vcek.der");
/// The test ASK (DER), CN=SEV-evtpm-TEST, issued by the test ARK.
pub const ASK_DER: &[u8] = include_bytes!("../../tools/testdata/snp/test-root/ask.der");
/// The test ARK (DER), CN=ARK-evtpm-TEST, self-signed.
pub const ARK_DER: &[u8] = include_bytes!("../../tools/testdata/snp/test-root/ark.der");
/// The CHIP_ID the test VCEK is bound to (its hwID extension).
pub const CHIP_ID: &[u8; 64] = include_bytes!("../../tools/testdata/snp/test-root/chip-id.bin");
/// The REPORTED_TCB the test VCEK certifies, bytes in report order (Milan layout).
pub const REPORTED_TCB: [u8; 8] = [3, 0, 0, 0, 0, 0, 8, 115];
/// The TCB layout the test VCEK uses.
pub const PRODUCT_LAYOUT: Product = Product::Milan;

/// Signs the report body (bytes 0x000..0x29F) with the test VCEK: ECDSA P-384 over SHA-384,
/// deterministic (RFC 6979). Returns the report's signature field 0x2A0..0x32F: R and S as
/// 72-byte little-endian integers. `None` only if the embedded scalar were invalid (a unit test
/// rules that out).
pub fn test_root_sign(report_body: &[u8]) -> Option<[u8; 144]> {
    use p384::ecdsa::signature::hazmat::PrehashSigner;
    use sha2::{Digest, Sha384};
    let key = p384::ecdsa::SigningKey::from_slice(VCEK_SCALAR).ok()?;
    let sig: p384::ecdsa::Signature = key.sign_prehash(&Sha384::digest(report_body)).ok()?;
    let (r, s) = sig.split_bytes();
    let mut out = [0u8; 144];
    for i in 0..48 {
        out[i] = r[47 - i];
        out[72 + i] = s[47 - i];
    }
    Some(out)
}

/// MEASUREMENT in every qemu-test report: SHA-384 of this label. The qemu-test platform has no
/// launch digest (QEMU without SNP measures nothing), so it says so in the field instead of
/// pretending; an allow-list that accepts qemu-test guests lists this value.
pub const QEMU_TEST_MEASUREMENT_LABEL: &[u8] = b"evtpm qemu-test platform: no launch measurement";

/// The qemu-test platform's MEASUREMENT ([`QEMU_TEST_MEASUREMENT_LABEL`]).
pub fn qemu_test_measurement() -> [u8; 48] {
    use sha2::{Digest, Sha384};
    Sha384::digest(QEMU_TEST_MEASUREMENT_LABEL).into()
}

/// The qemu-test platform's software PSP: a version-3 `ATTESTATION_REPORT` at VMPL `vmpl` with
/// `report_data`, signed with the test VCEK. Policy 0x30000 (SMT allowed, the must-be-one bit
/// 17, debug off), the TCB and CHIP_ID the test VCEK certifies, CPUID of a Milan part,
/// MEASUREMENT [`qemu_test_measurement`], REPORT_ID `report_id` (per boot). `None` only if the
/// embedded key were invalid.
pub fn qemu_test_report(
    report_data: &[u8; 64],
    vmpl: u32,
    report_id: &[u8; 32],
) -> Option<[u8; crate::report::offset::SIZE]> {
    use crate::report::offset;
    let mut r = [0u8; offset::SIZE];
    let put = |r: &mut [u8; offset::SIZE], at: usize, b: &[u8]| {
        if let Some(dst) = r.get_mut(at..at + b.len()) {
            dst.copy_from_slice(b);
        }
    };
    put(&mut r, offset::VERSION, &3u32.to_le_bytes());
    put(&mut r, offset::POLICY, &0x30000u64.to_le_bytes());
    put(&mut r, offset::VMPL, &vmpl.to_le_bytes());
    put(&mut r, offset::SIGNATURE_ALGO, &1u32.to_le_bytes());
    for at in [
        offset::CURRENT_TCB,
        offset::REPORTED_TCB,
        offset::COMMITTED_TCB,
        offset::LAUNCH_TCB,
    ] {
        put(&mut r, at, &REPORTED_TCB);
    }
    put(&mut r, offset::REPORT_DATA, report_data);
    put(&mut r, offset::MEASUREMENT, &qemu_test_measurement());
    put(&mut r, offset::REPORT_ID, report_id);
    put(&mut r, offset::CPUID_FAM_ID, &[0x19, 0x01, 0x01]);
    put(&mut r, offset::CHIP_ID, CHIP_ID);
    let sig = test_root_sign(r.get(..offset::SIGNATURE)?)?;
    put(&mut r, offset::SIGNATURE, &sig);
    Some(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::x509::{Certificate, PublicKey};

    #[test]
    fn scalar_matches_the_published_vcek_certificate() {
        let key = p384::ecdsa::SigningKey::from_slice(VCEK_SCALAR).unwrap();
        let point = key.verifying_key().to_encoded_point(false);
        let cert = Certificate::parse(VCEK_DER).unwrap();
        assert_eq!(cert.public_key, PublicKey::EcP384(point.as_bytes()));
        let hw_id = cert.extension(crate::oid::AMD_HW_ID).unwrap();
        assert_eq!(hw_id.value, CHIP_ID);
        assert!(test_root_sign(b"body").is_some());
    }
}
