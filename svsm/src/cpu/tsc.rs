//! The time-stamp counter as a millisecond clock.
//!
//! The frequency comes from CPUID leaf 15H (TSC/crystal ratio) or 16H (base frequency) where the
//! CPU reports them, otherwise it is assumed to be [`DEFAULT_TSC_KHZ`]: AMD parts report neither,
//! and an SNP guest will take it from the secure-TSC frequency instead. Until then the clock is
//! monotonic but only roughly scaled, which is all the engine's `TPMS_CLOCK_INFO` needs now.

/// Assumed TSC frequency when CPUID does not tell: 2 GHz.
pub const DEFAULT_TSC_KHZ: u64 = 2_000_000;

/// The TSC frequency in kHz from CPUID: leaf 15H (`eax` = denominator, `ebx` = numerator, `ecx` =
/// crystal Hz) when complete, else leaf 16H `eax` (base MHz). Pass `None` for leaves above the
/// CPU's maximum.
pub fn khz_from_cpuid(leaf15: Option<(u32, u32, u32)>, leaf16_eax: Option<u32>) -> Option<u64> {
    if let Some((den, num, crystal_hz)) = leaf15 {
        if den != 0 && num != 0 && crystal_hz != 0 {
            let khz = u64::from(crystal_hz) * u64::from(num) / u64::from(den) / 1000;
            if khz != 0 {
                return Some(khz);
            }
        }
    }
    leaf16_eax
        .map(|mhz| u64::from(mhz & 0xffff) * 1000)
        .filter(|&khz| khz != 0)
}

/// Milliseconds between two TSC readings at `khz` (ticks per millisecond); never negative.
pub fn elapsed_ms(origin: u64, now: u64, khz: u64) -> u64 {
    now.saturating_sub(origin) / khz.max(1)
}

/// A millisecond clock over the TSC, counting from its creation.
#[cfg(target_os = "none")]
#[derive(Debug, Clone, Copy)]
pub struct TscClock {
    origin: u64,
    khz: u64,
}

#[cfg(target_os = "none")]
impl TscClock {
    /// Starts the clock now, with the frequency CPUID reports (or the default).
    pub fn start() -> TscClock {
        let max_leaf = super::cpuid(0, 0).eax;
        let leaf15 = (max_leaf >= 0x15).then(|| {
            let r = super::cpuid(0x15, 0);
            (r.eax, r.ebx, r.ecx)
        });
        let leaf16 = (max_leaf >= 0x16).then(|| super::cpuid(0x16, 0).eax);
        let khz = khz_from_cpuid(leaf15, leaf16).unwrap_or(DEFAULT_TSC_KHZ);
        TscClock {
            origin: rdtsc(),
            khz,
        }
    }

    /// The assumed frequency.
    pub fn khz(&self) -> u64 {
        self.khz
    }

    /// Milliseconds since [`TscClock::start`].
    pub fn now_ms(&self) -> u64 {
        elapsed_ms(self.origin, rdtsc(), self.khz)
    }
}

/// `RDTSC`.
#[cfg(target_os = "none")]
pub fn rdtsc() -> u64 {
    let lo: u32;
    let hi: u32;
    // SAFETY: RDTSC reads the counter into EDX:EAX and touches nothing else (CR4.TSD is clear at
    // CPL 0 in any case).
    unsafe {
        core::arch::asm!("rdtsc", out("eax") lo, out("edx") hi, options(nomem, nostack, preserves_flags));
    }
    (u64::from(hi) << 32) | u64::from(lo)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaf15_gives_crystal_times_ratio() {
        // 24 MHz crystal, ratio 2:250 (e.g. a 3 GHz part).
        assert_eq!(
            khz_from_cpuid(Some((2, 250, 24_000_000)), Some(2900)),
            Some(3_000_000)
        );
    }

    #[test]
    fn incomplete_leaf15_falls_back_to_leaf16() {
        assert_eq!(
            khz_from_cpuid(Some((2, 250, 0)), Some(2900)),
            Some(2_900_000)
        );
        assert_eq!(khz_from_cpuid(None, Some(2100)), Some(2_100_000));
    }

    #[test]
    fn no_frequency_leaves_is_unknown() {
        assert_eq!(khz_from_cpuid(None, None), None);
        assert_eq!(khz_from_cpuid(Some((0, 0, 0)), Some(0)), None);
    }

    #[test]
    fn elapsed_never_goes_backwards_and_survives_zero_frequency() {
        assert_eq!(elapsed_ms(1000, 500, 1), 0);
        assert_eq!(elapsed_ms(0, 6_000_000, 2_000_000), 3);
        assert_eq!(elapsed_ms(0, 5, 0), 5);
    }
}
