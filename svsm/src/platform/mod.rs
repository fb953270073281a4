//! What the firmware gives the engine (`vtpm::Platform`): entropy from RDSEED/RDRAND and a
//! millisecond clock from the TSC. And, under QEMU, a way out, and the [`qemu_test`] platform
//! through which the host plays the guest.

pub mod qemu_test;
pub mod test_psp;

/// Tries per 64-bit word before entropy is declared unavailable. Intel's guidance is ten RDRAND
/// retries; each try here is an RDSEED and an RDRAND.
pub const ENTROPY_ATTEMPTS: u32 = 32;

/// Outcome reported through QEMU's `isa-debug-exit` device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum QemuExit {
    /// Boot and self-test completed.
    Success = 0x10,
    /// Boot failed or the firmware panicked.
    Failure = 0x11,
}

impl QemuExit {
    /// The exit status QEMU reports for this code: `(code << 1) | 1`.
    pub const fn status(self) -> i32 {
        ((self as i32) << 1) | 1
    }
}

#[cfg(target_os = "none")]
pub use firmware::{exit, CpuPlatform};

#[cfg(target_os = "none")]
mod firmware {
    use super::{QemuExit, ENTROPY_ATTEMPTS};
    use crate::cpu::io::Port;
    use crate::cpu::rand::{self, HwRng};
    use crate::cpu::tsc::TscClock;
    use vtpm::PlatformError;

    /// The engine's platform on this CPU.
    #[derive(Debug)]
    pub struct CpuPlatform {
        rng: HwRng,
        clock: TscClock,
    }

    impl CpuPlatform {
        /// `None` if the CPU has no RDRAND: a TPM without a hardware entropy source is not made.
        pub fn detect() -> Option<CpuPlatform> {
            Some(CpuPlatform {
                rng: HwRng::detect()?,
                clock: TscClock::start(),
            })
        }

        /// Whether RDSEED backs the entropy (else RDRAND alone).
        pub fn has_rdseed(&self) -> bool {
            self.rng.has_rdseed()
        }

        /// The TSC frequency assumed by the clock.
        pub fn tsc_khz(&self) -> u64 {
            self.clock.khz()
        }
    }

    impl vtpm::Platform for CpuPlatform {
        fn entropy(&mut self, buf: &mut [u8]) -> Result<(), PlatformError> {
            let rng = self.rng;
            rand::fill(buf, ENTROPY_ATTEMPTS, || rng.next_word()).map_err(|_| PlatformError)
        }

        fn monotonic_ms(&self) -> u64 {
            self.clock.now_ms()
        }
    }

    /// Ends a QEMU run with `code` through `isa-debug-exit`; where there is no such device (real
    /// hardware), halts.
    pub fn exit(code: QemuExit) -> ! {
        Port::DEBUG_EXIT.write_u32(code as u32);
        crate::cpu::halt()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qemu_exit_statuses_are_odd_and_distinct() {
        assert_eq!(QemuExit::Success.status(), 33);
        assert_eq!(QemuExit::Failure.status(), 35);
    }
}
