//! The host side of [`vtpm::Platform`]: the operating system's entropy and a monotonic clock.

use std::time::Instant;

/// Entropy from the OS (`getrandom(2)`), time from [`Instant`] since this value was created
/// (which `evtpm serve` does at process start).
#[derive(Debug, Clone, Copy)]
pub struct HostPlatform {
    start: Instant,
}

impl HostPlatform {
    pub fn new() -> Self {
        HostPlatform {
            start: Instant::now(),
        }
    }
}

impl Default for HostPlatform {
    fn default() -> Self {
        Self::new()
    }
}

impl vtpm::Platform for HostPlatform {
    fn entropy(&mut self, buf: &mut [u8]) -> Result<(), vtpm::PlatformError> {
        getrandom::getrandom(buf).map_err(|_| vtpm::PlatformError)
    }

    fn monotonic_ms(&self) -> u64 {
        // u64 milliseconds last 584 million years; saturate rather than wrap regardless.
        u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vtpm::Platform;

    #[test]
    fn entropy_fills_and_differs() {
        let mut p = HostPlatform::new();
        let (mut a, mut b) = ([0u8; 32], [0u8; 32]);
        p.entropy(&mut a).unwrap();
        p.entropy(&mut b).unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn clock_never_goes_backwards() {
        let p = HostPlatform::new();
        let t0 = p.monotonic_ms();
        std::thread::sleep(std::time::Duration::from_millis(5));
        assert!(p.monotonic_ms() >= t0 + 5);
    }
}
