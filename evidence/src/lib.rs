//! Attestation evidence formats, written by the firmware and read by `evtpm verify`:
//!
//! * [`report`]: the SEV-SNP `ATTESTATION_REPORT` (SNP ABI, table 23; versions 2, 3 and 5),
//!   [`tcb`] its TCB_VERSION layouts;
//! * [`ek_cert`]: the evtpm EK certificate (X.509 v3 carrying the boot-time report), built on
//!   [`der`], [`oid`], [`x509`], [`ek`] (the EK as `TPMT_PUBLIC` and as SubjectPublicKeyInfo);
//! * [`test_root`]: the published qemu-test signing chain (**test keys**).
//!
//! `no_std` + `alloc`, no `unsafe`: the firmware links it, and everything here reads untrusted
//! bytes without panicking.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod der;
pub mod ek;
pub mod ek_cert;
pub mod hex;
pub mod oid;
pub mod pem;
pub mod report;
pub mod tcb;
pub mod test_root;
pub mod time;
pub mod x509;

/// The nonce of the boot-time report: the firmware requests the report that goes into the EK
/// certificate at boot, before any verifier could send a nonce, with 64 zero bytes as the
/// SVSM attestation nonce. REPORT_DATA = SHA-512(64 zero bytes ‖ EK TPMT_PUBLIC).
pub const BOOT_NONCE: [u8; 64] = [0; 64];
