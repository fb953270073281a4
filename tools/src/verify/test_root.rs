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

use super::tcb::Product;

/// The VCEK private key: the raw P-384 scalar, 48 bytes big-endian. **TEST ONLY.**
pub const VCEK_SCALAR: &[u8; 48] =
    include_bytes!("../../testdata/snp/test-root/TEST-ONLY-vcek-scalar.bin");
/// The VCEK certificate (DER), CN=SEV-VCEK, issued by the test ASK.
pub const VCEK_DER: &[u8] = include_bytes!("../../testdata/snp/test-root/vcek.der");
/// The test ASK (DER), CN=SEV-evtpm-TEST, issued by the test ARK.
pub const ASK_DER: &[u8] = include_bytes!("../../testdata/snp/test-root/ask.der");
/// The test ARK (DER), CN=ARK-evtpm-TEST, self-signed.
pub const ARK_DER: &[u8] = include_bytes!("../../testdata/snp/test-root/ark.der");
/// The CHIP_ID the test VCEK is bound to (its hwID extension).
pub const CHIP_ID: &[u8; 64] = include_bytes!("../../testdata/snp/test-root/chip-id.bin");
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::x509::{Certificate, PublicKey};

    #[test]
    fn scalar_matches_the_published_vcek_certificate() {
        let key = p384::ecdsa::SigningKey::from_slice(VCEK_SCALAR).unwrap();
        let point = key.verifying_key().to_encoded_point(false);
        let cert = Certificate::parse(VCEK_DER).unwrap();
        assert_eq!(cert.public_key, PublicKey::EcP384(point.as_bytes()));
        let hw_id = cert.extension(crate::verify::oid::AMD_HW_ID).unwrap();
        assert_eq!(hw_id.value, CHIP_ID);
        assert!(test_root_sign(b"body").is_some());
    }
}
