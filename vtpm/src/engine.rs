//! The engine's state and its public face.

use crate::crypto::drbg::Drbg;
use alloc::vec::Vec;

/// What the engine needs from the machine it runs on.
pub trait Platform {
    /// Fills `buf` from a true random source (RDSEED/RDRAND in the firmware, the OS on a host).
    fn entropy(&mut self, buf: &mut [u8]) -> Result<(), PlatformError>;
    /// Milliseconds since an arbitrary origin; never goes backwards.
    fn monotonic_ms(&self) -> u64;
}

/// The platform's entropy source failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlatformError;

/// Why [`Tpm::manufacture`] failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManufactureError {
    /// The platform could not supply entropy for the seeds.
    Entropy,
}

/// Resource limits and defaults, fixed at manufacture.
#[derive(Debug, Clone)]
pub struct Config {
    /// Transient objects and sequence objects loaded at once (`TPM_RC_OBJECT_MEMORY` beyond).
    pub max_objects: usize,
    /// Sessions loaded or saved at once (`TPM_RC_SESSION_MEMORY` beyond).
    pub max_sessions: usize,
    /// Bytes of NV memory for indices and persistent objects (`TPM_RC_NV_SPACE` beyond).
    pub nv_bytes: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config { max_objects: 8, max_sessions: 16, nv_bytes: 64 * 1024 }
    }
}

/// A TPM 2.0 instance.
#[derive(Debug)]
pub struct Tpm<P: Platform> {
    pub(crate) platform: P,
    pub(crate) config: Config,
    pub(crate) drbg: Drbg,
    pub(crate) _objects: Vec<()>,
}

impl<P: Platform> Tpm<P> {
    /// Manufactures a TPM: fresh primary seeds from the platform's entropy source, default
    /// hierarchy state, empty NV. The TPM is powered on and awaits `TPM2_Startup`.
    pub fn manufacture(config: Config, mut platform: P) -> Result<Self, ManufactureError> {
        let mut seed = [0u8; 48];
        platform.entropy(&mut seed).map_err(|_| ManufactureError::Entropy)?;
        let drbg = Drbg::new(&seed, b"evtpm manufacture");
        Ok(Tpm { platform, config, drbg, _objects: Vec::new() })
    }

    /// Executes one command received at `locality`, writing the response into `response`
    /// (at least [`crate::MAX_RESPONSE_SIZE`] bytes for every response to fit). Returns the
    /// response length. Never panics; always writes a well-formed response if `response` can
    /// hold a 10-byte header (returns 0 otherwise).
    pub fn execute(&mut self, locality: u8, command: &[u8], response: &mut [u8]) -> usize {
        crate::command::execute(self, locality, command, response)
    }

    /// `_TPM_Init`: power on or reset signal. The next command must be `TPM2_Startup`.
    pub fn power_on(&mut self) {}

    /// Power removed: volatile state (loaded objects, sessions, PCRs) is lost.
    pub fn power_off(&mut self) {}

    /// `TPM_SIGNAL_CANCEL_ON`/`_OFF`: long-running commands may return `TPM_RC_CANCELED`.
    pub fn set_cancel(&mut self, _on: bool) {}
}
