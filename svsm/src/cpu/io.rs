//! Port I/O, restricted to the ports the firmware owns.
//!
//! A [`Port`] can only be made for the devices named here: the COM1 and COM2 16550 UARTs and
//! QEMU's `isa-debug-exit`. Neither can reach memory (no DMA), so reading or writing them cannot break
//! Rust's memory safety and the accessors are safe. Adding a constructor for a device that can
//! master the bus (or for an arbitrary port) would make them unsound: think before adding one.

/// Whether port accesses go through GHCB IOIO exits (SEV-SNP, [`route_via_ghcb`]) rather than
/// IN/OUT, which in an SEV-ES/SNP guest raise #VC.
#[cfg(target_os = "none")]
static VIA_GHCB: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

/// From now on, every [`Port`] access is a GHCB IOIO exit (`crate::sev::snp::ioio`).
#[cfg(target_os = "none")]
pub fn route_via_ghcb() {
    VIA_GHCB.store(true, core::sync::atomic::Ordering::Release);
}

#[cfg(target_os = "none")]
fn via_ghcb() -> bool {
    VIA_GHCB.load(core::sync::atomic::Ordering::Acquire)
}

/// An I/O port of a device that cannot access memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Port(u16);

/// Base port of the first serial port (COM1).
pub const COM1_BASE: u16 = 0x3f8;
/// Base port of the second serial port (COM2): the `qemu-test` platform's transport.
pub const COM2_BASE: u16 = 0x2f8;

impl Port {
    /// QEMU's `isa-debug-exit` device at `iobase=0xf4`: writing `v` ends QEMU with status
    /// `(v << 1) | 1`. Absent on real hardware, where writes are ignored.
    pub const DEBUG_EXIT: Port = Port(0xf4);

    /// Register `reg` (0..=7) of the COM1 UART.
    pub const fn com1(reg: u16) -> Port {
        assert!(reg < 8, "a 16550 has eight registers");
        Port(COM1_BASE + reg)
    }

    /// Register `reg` (0..=7) of the COM2 UART.
    pub const fn com2(reg: u16) -> Port {
        assert!(reg < 8, "a 16550 has eight registers");
        Port(COM2_BASE + reg)
    }

    /// The port number.
    pub const fn number(self) -> u16 {
        self.0
    }

    /// `IN AL, DX`.
    #[cfg(target_os = "none")]
    pub fn read_u8(self) -> u8 {
        if via_ghcb() {
            return crate::sev::snp::ioio(self.0, 1, None) as u8;
        }
        let value: u8;
        // SAFETY: `self` names a device that cannot access memory (module doc); IN only moves a
        // byte from it into AL.
        unsafe {
            core::arch::asm!("in al, dx", in("dx") self.0, out("al") value,
                options(nomem, nostack, preserves_flags));
        }
        value
    }

    /// `OUT DX, AL`.
    #[cfg(target_os = "none")]
    pub fn write_u8(self, value: u8) {
        if via_ghcb() {
            crate::sev::snp::ioio(self.0, 1, Some(u32::from(value)));
            return;
        }
        // SAFETY: as in `read_u8`; OUT only moves AL to the device.
        unsafe {
            core::arch::asm!("out dx, al", in("dx") self.0, in("al") value,
                options(nomem, nostack, preserves_flags));
        }
    }

    /// `OUT DX, EAX`.
    #[cfg(target_os = "none")]
    pub fn write_u32(self, value: u32) {
        if via_ghcb() {
            crate::sev::snp::ioio(self.0, 4, Some(value));
            return;
        }
        // SAFETY: as in `read_u8`; OUT only moves EAX to the device.
        unsafe {
            core::arch::asm!("out dx, eax", in("dx") self.0, in("eax") value,
                options(nomem, nostack, preserves_flags));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn com1_registers_are_consecutive_from_0x3f8() {
        assert_eq!(Port::com1(0).number(), 0x3f8);
        assert_eq!(Port::com1(5).number(), 0x3fd);
    }

    #[test]
    fn com2_registers_are_consecutive_from_0x2f8() {
        assert_eq!(Port::com2(0).number(), 0x2f8);
        assert_eq!(Port::com2(7).number(), 0x2ff);
    }

    #[test]
    #[should_panic]
    fn com1_rejects_a_ninth_register() {
        let _ = Port::com1(8);
    }
}
