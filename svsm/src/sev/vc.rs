//! The #VC handler's logic (AMD APM vol. 2, "#VC Exception"; GHCB spec 56421, "Non-Automatic
//! Exits"): in an SEV-ES/SNP guest an intercepted instruction raises #VC with the exit code as
//! error code, and the guest itself must emulate it, asking the hypervisor through the GHCB where
//! it has to. The firmware routes its own CPUID and port I/O around #VC (`cpu`), so a #VC here
//! means an instruction some code path still executes directly; handling the three kinds the
//! issue names keeps such a path working instead of stopping the SVSM:
//!
//! * CPUID (exit 0x72): answered from the CPUID page, never from the hypervisor;
//! * IN/OUT (exit 0x7B), byte, word and dword, immediate or DX port, no string forms: a GHCB
//!   IOIO exit;
//! * RDMSR/WRMSR (exit 0x7C): a GHCB MSR exit (SW_EXITINFO1 0 read, 1 write).
//!
//! Decoding and applying are pure ([`decode`], [`apply`]) over the instruction bytes, the
//! saved registers and a [`VcBackend`]; the firmware's handler supplies the bytes at RIP and
//! the GHCB. Anything else is refused and stays a fatal exception.

/// Exit codes that arrive as #VC error codes.
pub mod code {
    pub const CPUID: u64 = 0x72;
    pub const IOIO: u64 = 0x7B;
    pub const MSR: u64 = 0x7C;
    /// An access to a private page whose Validated bit is clear (AMD APM vol. 2, 15.36.10);
    /// CR2 holds the address. Not emulated: the guest-memory copy has a fix-up for it.
    pub const PAGE_NOT_VALIDATED: u64 = 0x404;
}

/// What the faulting instruction asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VcAction {
    Cpuid,
    /// `size` bytes (1, 2, 4) from or to `port` (`None`: the port is DX).
    In {
        port: Option<u16>,
        size: u8,
    },
    Out {
        port: Option<u16>,
        size: u8,
    },
    Rdmsr,
    Wrmsr,
}

/// Why a #VC cannot be handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VcError {
    /// An exit code this handler does not emulate.
    UnknownExit(u64),
    /// The bytes at RIP are not an instruction of the kind the exit code says.
    Decode,
    /// The hypervisor failed the exit.
    Hypervisor,
}

/// Decodes the instruction at RIP (`insn`, up to 15 bytes) for exit `exit_code`: the action
/// and the instruction's length.
pub fn decode(exit_code: u64, insn: &[u8]) -> Result<(VcAction, usize), VcError> {
    match exit_code {
        code::CPUID => match insn {
            [0x0F, 0xA2, ..] => Ok((VcAction::Cpuid, 2)),
            _ => Err(VcError::Decode),
        },
        code::MSR => match insn {
            [0x0F, 0x32, ..] => Ok((VcAction::Rdmsr, 2)),
            [0x0F, 0x30, ..] => Ok((VcAction::Wrmsr, 2)),
            _ => Err(VcError::Decode),
        },
        code::IOIO => {
            let (wide, rest, prefix) = match insn {
                [0x66, rest @ ..] => (2u8, rest, 1),
                rest => (4u8, rest, 0),
            };
            let action = match rest {
                [0xE4, imm, ..] => (
                    VcAction::In {
                        port: Some(u16::from(*imm)),
                        size: 1,
                    },
                    2,
                ),
                [0xE5, imm, ..] => (
                    VcAction::In {
                        port: Some(u16::from(*imm)),
                        size: wide,
                    },
                    2,
                ),
                [0xEC, ..] => (
                    VcAction::In {
                        port: None,
                        size: 1,
                    },
                    1,
                ),
                [0xED, ..] => (
                    VcAction::In {
                        port: None,
                        size: wide,
                    },
                    1,
                ),
                [0xE6, imm, ..] => (
                    VcAction::Out {
                        port: Some(u16::from(*imm)),
                        size: 1,
                    },
                    2,
                ),
                [0xE7, imm, ..] => (
                    VcAction::Out {
                        port: Some(u16::from(*imm)),
                        size: wide,
                    },
                    2,
                ),
                [0xEE, ..] => (
                    VcAction::Out {
                        port: None,
                        size: 1,
                    },
                    1,
                ),
                [0xEF, ..] => (
                    VcAction::Out {
                        port: None,
                        size: wide,
                    },
                    1,
                ),
                _ => return Err(VcError::Decode),
            };
            Ok((action.0, action.1 + prefix))
        }
        other => Err(VcError::UnknownExit(other)),
    }
}

/// The registers an emulated instruction reads and writes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VcRegs {
    pub rax: u64,
    pub rbx: u64,
    pub rcx: u64,
    pub rdx: u64,
    pub rip: u64,
}

/// What the handler asks of the platform.
pub trait VcBackend {
    /// CPUID from the CPUID page: EAX, EBX, ECX, EDX.
    fn cpuid(&mut self, leaf: u32, subleaf: u32) -> [u32; 4];
    /// A port access; `write` is `Some` for OUT. IN returns the value.
    fn io(&mut self, port: u16, size: u8, write: Option<u32>) -> Result<u32, VcError>;
    /// An MSR access; `write` is `Some` for WRMSR. RDMSR returns the value.
    fn msr(&mut self, msr: u32, write: Option<u64>) -> Result<u64, VcError>;
}

/// Emulates `action` on `regs` and moves RIP past the instruction (`len` bytes).
pub fn apply(
    action: VcAction,
    len: usize,
    regs: &mut VcRegs,
    backend: &mut impl VcBackend,
) -> Result<(), VcError> {
    let low32 = |v: u64| v & 0xFFFF_FFFF;
    match action {
        VcAction::Cpuid => {
            let [a, b, c, d] = backend.cpuid(regs.rax as u32, regs.rcx as u32);
            regs.rax = u64::from(a);
            regs.rbx = u64::from(b);
            regs.rcx = u64::from(c);
            regs.rdx = u64::from(d);
        }
        VcAction::In { port, size } => {
            let port = port.unwrap_or(regs.rdx as u16);
            let v = u64::from(backend.io(port, size, None)?);
            // IN AL/AX keeps the rest of RAX; IN EAX zero-extends into RAX.
            regs.rax = match size {
                1 => (regs.rax & !0xFF) | (v & 0xFF),
                2 => (regs.rax & !0xFFFF) | (v & 0xFFFF),
                _ => low32(v),
            };
        }
        VcAction::Out { port, size } => {
            let port = port.unwrap_or(regs.rdx as u16);
            let mask = match size {
                1 => 0xFF,
                2 => 0xFFFF,
                _ => 0xFFFF_FFFF,
            };
            backend.io(port, size, Some((regs.rax & mask) as u32))?;
        }
        VcAction::Rdmsr => {
            let v = backend.msr(regs.rcx as u32, None)?;
            regs.rax = low32(v);
            regs.rdx = v >> 32;
        }
        VcAction::Wrmsr => {
            let v = (regs.rdx << 32) | low32(regs.rax);
            backend.msr(regs.rcx as u32, Some(v))?;
        }
    }
    regs.rip = regs.rip.wrapping_add(len as u64);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    #[derive(Default)]
    struct Fake {
        io: Vec<(u16, u8, Option<u32>)>,
        msr: Vec<(u32, Option<u64>)>,
    }

    impl VcBackend for Fake {
        fn cpuid(&mut self, leaf: u32, subleaf: u32) -> [u32; 4] {
            [leaf, subleaf, 0xC, 0xD]
        }
        fn io(&mut self, port: u16, size: u8, write: Option<u32>) -> Result<u32, VcError> {
            self.io.push((port, size, write));
            Ok(0xA1B2_C3D4)
        }
        fn msr(&mut self, msr: u32, write: Option<u64>) -> Result<u64, VcError> {
            self.msr.push((msr, write));
            if msr == 0xDEAD {
                return Err(VcError::Hypervisor);
            }
            Ok(0x1122_3344_5566_7788)
        }
    }

    fn run(exit: u64, insn: &[u8], regs: &mut VcRegs, f: &mut Fake) -> Result<(), VcError> {
        let (a, len) = decode(exit, insn)?;
        apply(a, len, regs, f)
    }

    #[test]
    fn cpuid_comes_from_the_backend_and_advances_rip() {
        let mut r = VcRegs {
            rax: 7,
            rcx: 1,
            rip: 0x1000,
            ..Default::default()
        };
        run(
            code::CPUID,
            &[0x0F, 0xA2, 0x90],
            &mut r,
            &mut Fake::default(),
        )
        .unwrap();
        assert_eq!(
            (r.rax, r.rbx, r.rcx, r.rdx, r.rip),
            (7, 1, 0xC, 0xD, 0x1002)
        );
    }

    #[test]
    fn port_io_in_all_forms() {
        let mut f = Fake::default();
        let mut r = VcRegs {
            rax: 0xFFFF_FFFF_FFFF_FF41,
            rdx: 0x3F8,
            rip: 0,
            ..Default::default()
        };
        run(code::IOIO, &[0xEE], &mut r, &mut f).unwrap(); // out dx, al
        assert_eq!(r.rip, 1);
        run(code::IOIO, &[0x66, 0xEF], &mut r, &mut f).unwrap(); // out dx, ax
        run(code::IOIO, &[0xE7, 0xF4], &mut r, &mut f).unwrap(); // out 0xf4, eax
        assert_eq!(r.rip, 1 + 2 + 2);
        assert_eq!(
            f.io,
            [
                (0x3F8, 1, Some(0x41)),
                (0x3F8, 2, Some(0xFF41)),
                (0xF4, 4, Some(0xFFFF_FF41))
            ]
        );
        run(code::IOIO, &[0xEC], &mut r, &mut f).unwrap(); // in al, dx
        assert_eq!(r.rax, 0xFFFF_FFFF_FFFF_FFD4, "IN AL keeps the upper bytes");
        run(code::IOIO, &[0x66, 0xE5, 0x71], &mut r, &mut f).unwrap(); // in ax, 0x71
        assert_eq!(r.rax, 0xFFFF_FFFF_FFFF_C3D4);
        assert_eq!(f.io.last(), Some(&(0x71, 2, None)));
        run(code::IOIO, &[0xED], &mut r, &mut f).unwrap(); // in eax, dx
        assert_eq!(r.rax, 0xA1B2_C3D4, "IN EAX zero-extends");
    }

    #[test]
    fn msr_reads_split_and_writes_join_edx_eax() {
        let mut f = Fake::default();
        let mut r = VcRegs {
            rcx: 0xC000_0080,
            rip: 10,
            ..Default::default()
        };
        run(code::MSR, &[0x0F, 0x32], &mut r, &mut f).unwrap();
        assert_eq!((r.rax, r.rdx, r.rip), (0x5566_7788, 0x1122_3344, 12));
        r.rax = 0xFFFF_FFFF_0000_0D01;
        r.rdx = 0x2;
        run(code::MSR, &[0x0F, 0x30], &mut r, &mut f).unwrap();
        assert_eq!(f.msr[1], (0xC000_0080, Some(0x2_0000_0D01)));
    }

    #[test]
    fn refusals_leave_the_registers_alone() {
        let mut f = Fake::default();
        let before = VcRegs {
            rcx: 0xDEAD,
            rip: 5,
            ..Default::default()
        };
        let mut r = before;
        assert_eq!(
            run(code::MSR, &[0x0F, 0x32], &mut r, &mut f),
            Err(VcError::Hypervisor)
        );
        assert_eq!(r, before);
        assert_eq!(
            run(code::CPUID, &[0x0F, 0x32], &mut r, &mut f),
            Err(VcError::Decode)
        );
        assert_eq!(
            run(code::IOIO, &[0x6C], &mut r, &mut f),
            Err(VcError::Decode),
            "INSB"
        );
        assert_eq!(run(code::IOIO, &[], &mut r, &mut f), Err(VcError::Decode));
        assert_eq!(
            run(0x6F, &[0x0F, 0x01, 0xD9], &mut r, &mut f),
            Err(VcError::UnknownExit(0x6F))
        );
        assert_eq!(r, before);
    }
}
