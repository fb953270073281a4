//! What the criterion benches share: a deterministic platform, a started TPM, command framing.

#![allow(dead_code)] // each bench uses its own subset

use std::cell::Cell;
use vtpm::{Config, Platform, PlatformError, Tpm, MAX_RESPONSE_SIZE};

/// Counter entropy and a clock that ticks one millisecond per read.
#[derive(Debug, Default)]
pub struct BenchPlatform {
    next: u8,
    now: Cell<u64>,
}

impl Platform for BenchPlatform {
    fn entropy(&mut self, buf: &mut [u8]) -> Result<(), PlatformError> {
        for b in buf {
            self.next = self.next.wrapping_add(1);
            *b = self.next;
        }
        Ok(())
    }
    fn monotonic_ms(&self) -> u64 {
        self.now.set(self.now.get() + 1);
        self.now.get()
    }
}

pub type BenchTpm = Tpm<BenchPlatform>;

pub const NO_SESSIONS: u16 = 0x8001;
pub const SESSIONS: u16 = 0x8002;

pub const CC_STARTUP: u32 = 0x144;
pub const CC_FLUSH_CONTEXT: u32 = 0x165;
pub const CC_START_AUTH_SESSION: u32 = 0x176;

pub const TPM_RH_OWNER: u32 = 0x4000_0001;
pub const TPM_RH_NULL: u32 = 0x4000_0007;
pub const TPM_RS_PW: u32 = 0x4000_0009;
pub const TPM_ALG_SHA256: u16 = 0x000B;
pub const TPM_ALG_NULL: u16 = 0x0010;
pub const TPM_SE_HMAC: u8 = 0x00;
pub const CONTINUE_SESSION: u8 = 0x01;

/// A command: header (`tag`, size, `cc`), then `body`.
pub fn cmd(tag: u16, cc: u32, body: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(10 + body.len());
    v.extend_from_slice(&tag.to_be_bytes());
    v.extend_from_slice(&((10 + body.len()) as u32).to_be_bytes());
    v.extend_from_slice(&cc.to_be_bytes());
    v.extend_from_slice(body);
    v
}

/// An authorization area holding one `TPMS_AUTH_COMMAND`.
pub fn auth_area(handle: u32, nonce: &[u8], attrs: u8, hmac: &[u8]) -> Vec<u8> {
    let mut s = Vec::new();
    s.extend_from_slice(&handle.to_be_bytes());
    s.extend_from_slice(&(nonce.len() as u16).to_be_bytes());
    s.extend_from_slice(nonce);
    s.push(attrs);
    s.extend_from_slice(&(hmac.len() as u16).to_be_bytes());
    s.extend_from_slice(hmac);
    let mut v = (s.len() as u32).to_be_bytes().to_vec();
    v.extend_from_slice(&s);
    v
}

/// A password session with an empty password.
pub fn pw_area() -> Vec<u8> {
    auth_area(TPM_RS_PW, &[], CONTINUE_SESSION, &[])
}

pub fn rc(r: &[u8]) -> u32 {
    u32::from_be_bytes(r[6..10].try_into().unwrap())
}

pub fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes(b[..4].try_into().unwrap())
}

/// Runs `c` and returns the response length; panics unless it succeeded (setup only).
pub fn ok(tpm: &mut BenchTpm, out: &mut [u8], c: &[u8], what: &str) -> usize {
    let n = tpm.execute(0, c, out);
    assert_eq!(rc(&out[..n]), 0, "{what}: rc {:#x}", rc(&out[..n]));
    n
}

/// A manufactured TPM after `TPM2_Startup(CLEAR)`.
pub fn started() -> BenchTpm {
    let mut tpm = Tpm::manufacture(Config::default(), BenchPlatform::default()).unwrap();
    let mut out = [0u8; MAX_RESPONSE_SIZE];
    ok(
        &mut tpm,
        &mut out,
        &cmd(NO_SESSIONS, CC_STARTUP, &[0, 0]),
        "Startup",
    );
    tpm
}

/// `TPM2_FlushContext(handle)`.
pub fn flush(handle: u32) -> Vec<u8> {
    cmd(NO_SESSIONS, CC_FLUSH_CONTEXT, &handle.to_be_bytes())
}
