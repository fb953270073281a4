//! Hardware random numbers: RDSEED (full-entropy seeds) with RDRAND (the CPU's reseeded DRBG) as
//! the fallback, each retried a bounded number of times.

/// The hardware gave no good random word within the retry budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exhausted;

/// Fills `buf` from `next`, one 64-bit word (little-endian) at a time, calling `next` at most
/// `attempts` times per word. A `None` is a transient failure (carry flag clear: the entropy
/// source is drained) and is retried; all-ones is rejected too, as some AMD parts have returned it
/// with the carry flag set after a suspend/resume.
pub fn fill(
    buf: &mut [u8],
    attempts: u32,
    mut next: impl FnMut() -> Option<u64>,
) -> Result<(), Exhausted> {
    for chunk in buf.chunks_mut(8) {
        let word = (0..attempts)
            .find_map(|_| {
                let w = next().filter(|&w| w != u64::MAX);
                if w.is_none() {
                    core::hint::spin_loop();
                }
                w
            })
            .ok_or(Exhausted)?;
        chunk.copy_from_slice(&word.to_le_bytes()[..chunk.len()]);
    }
    Ok(())
}

/// Proof that this CPU has RDRAND (and whether it has RDSEED): the instructions are executed only
/// through a value of this type.
#[cfg(target_os = "none")]
#[derive(Debug, Clone, Copy)]
pub struct HwRng {
    rdseed: bool,
}

#[cfg(target_os = "none")]
impl HwRng {
    /// `None` if the CPU lacks RDRAND (CPUID.01H:ECX[30]); RDSEED is CPUID.(07H,0):EBX[18].
    pub fn detect() -> Option<HwRng> {
        let max_leaf = super::cpuid(0, 0).eax;
        let rdrand = super::cpuid(1, 0).ecx & (1 << 30) != 0;
        let rdseed = max_leaf >= 7 && super::cpuid(7, 0).ebx & (1 << 18) != 0;
        rdrand.then_some(HwRng { rdseed })
    }

    /// Whether RDSEED is used before RDRAND.
    pub fn has_rdseed(self) -> bool {
        self.rdseed
    }

    /// One RDSEED, else one RDRAND; `None` if both came back empty.
    pub fn next_word(self) -> Option<u64> {
        if self.rdseed {
            if let Some(w) = self.rdseed() {
                return Some(w);
            }
        }
        self.rdrand()
    }

    fn rdrand(self) -> Option<u64> {
        let value: u64;
        let ok: u8;
        // SAFETY: `self` proves CPUID reported RDRAND, so the instruction does not fault; it only
        // writes the two output registers and the flags.
        unsafe {
            core::arch::asm!("rdrand {v}", "setc {ok}", v = out(reg) value, ok = out(reg_byte) ok,
                options(nomem, nostack));
        }
        (ok != 0).then_some(value)
    }

    fn rdseed(self) -> Option<u64> {
        let value: u64;
        let ok: u8;
        // SAFETY: called only when `self.rdseed`, i.e. CPUID reported RDSEED; as for RDRAND.
        unsafe {
            core::arch::asm!("rdseed {v}", "setc {ok}", v = out(reg) value, ok = out(reg_byte) ok,
                options(nomem, nostack));
        }
        (ok != 0).then_some(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_copies_words_little_endian_including_a_partial_tail() {
        let mut words = [0x0807_0605_0403_0201u64, 0x100f_0e0d_0c0b_0a09].into_iter();
        let mut buf = [0u8; 11];
        fill(&mut buf, 1, || words.next()).expect("enough words");
        assert_eq!(buf, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    }

    #[test]
    fn fill_retries_transient_failures_within_the_budget() {
        let mut calls = 0;
        let mut buf = [0u8; 8];
        fill(&mut buf, 4, || {
            calls += 1;
            (calls == 4).then_some(7)
        })
        .expect("fourth attempt succeeds");
        assert_eq!(buf, 7u64.to_le_bytes());
    }

    #[test]
    fn fill_gives_up_after_the_budget() {
        let mut calls = 0;
        let mut buf = [0u8; 16];
        let r = fill(&mut buf, 10, || {
            calls += 1;
            None
        });
        assert_eq!(r, Err(Exhausted));
        assert_eq!(calls, 10);
    }

    #[test]
    fn fill_rejects_all_ones_words() {
        let mut buf = [0u8; 8];
        assert_eq!(fill(&mut buf, 5, || Some(u64::MAX)), Err(Exhausted));
        let mut words = [u64::MAX, 42].into_iter();
        fill(&mut buf, 5, || words.next()).expect("second word is fine");
        assert_eq!(buf, 42u64.to_le_bytes());
    }
}
