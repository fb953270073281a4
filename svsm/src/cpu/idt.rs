//! Exceptions: the firmware's own GDT (with a 64-bit TSS), the TSS's interrupt stacks and an IDT
//! whose 32 exception vectors report and stop cleanly.
//!
//! * IST1 is the #DF stack, IST2 the #VC stack (SNP's VMM-communication exception, which can
//!   arrive while the ordinary stack is in any state), IST3 the NMI stack; each is
//!   [`IST_STACK_SIZE`] bytes.
//! * Every vector saves all general registers into a [`TrapFrame`] and calls [`trap`]: `#BP`
//!   (int3) is counted and resumed, which the boot path uses to prove the IDT live; every other
//!   exception prints its name, error code, RIP, RSP (and CR2 for #PF) on the console and ends
//!   the run. Nothing unwinds: a fault at VMPL0 must stop, never continue with corrupt state.
//!
//! The descriptor encodings (AMD APM vol. 2, 4.8 and 8.9: 16-byte interrupt gates and system
//! segment descriptors) are pure functions, tested on the host; loading them is the only
//! `unsafe`, in [`install`].

/// Bytes of each interrupt stack.
pub const IST_STACK_SIZE: usize = 16 * 1024;

/// The IST slot (1-based, as in the gate) of the #DF, #VC and NMI stacks.
pub const IST_DF: u8 = 1;
pub const IST_VC: u8 = 2;
pub const IST_NMI: u8 = 3;

/// GDT selectors of [`install`]'s table.
pub const CODE_SELECTOR: u16 = 0x08;
pub const DATA_SELECTOR: u16 = 0x10;
pub const TSS_SELECTOR: u16 = 0x18;

/// The exception vectors that push an error code (APM vol. 2, table 8-1).
pub const fn has_error_code(vector: u8) -> bool {
    matches!(vector, 8 | 10..=14 | 17 | 21 | 29 | 30)
}

/// The architectural name of exception `vector`.
pub const fn name(vector: u8) -> &'static str {
    match vector {
        0 => "#DE divide error",
        1 => "#DB debug",
        2 => "NMI",
        3 => "#BP breakpoint",
        4 => "#OF overflow",
        5 => "#BR bound range",
        6 => "#UD invalid opcode",
        7 => "#NM device not available",
        8 => "#DF double fault",
        10 => "#TS invalid TSS",
        11 => "#NP segment not present",
        12 => "#SS stack fault",
        13 => "#GP general protection",
        14 => "#PF page fault",
        16 => "#MF x87 floating point",
        17 => "#AC alignment check",
        18 => "#MC machine check",
        19 => "#XM SIMD floating point",
        20 => "#VE virtualization",
        21 => "#CP control protection",
        28 => "#HV hypervisor injection",
        29 => "#VC VMM communication",
        30 => "#SX security",
        _ => "reserved vector",
    }
}

/// The IST slot vector `vector` runs on (0: the current stack).
pub const fn ist_for(vector: u8) -> u8 {
    match vector {
        8 => IST_DF,
        29 => IST_VC,
        2 => IST_NMI,
        _ => 0,
    }
}

/// A 64-bit interrupt gate to `handler` in the code segment, DPL 0, present, on IST `ist`:
/// the two quadwords of the 16-byte descriptor.
pub const fn interrupt_gate(handler: u64, ist: u8) -> [u64; 2] {
    let low = (handler & 0xFFFF)
        | ((CODE_SELECTOR as u64) << 16)
        | (((ist & 0x7) as u64) << 32)
        | (0x8E << 40) // present, DPL 0, type 0xE (64-bit interrupt gate)
        | (((handler >> 16) & 0xFFFF) << 48);
    [low, handler >> 32]
}

/// The 16-byte descriptor of an available 64-bit TSS at `base` with `limit` (type 0x9,
/// present, DPL 0, byte granularity).
pub const fn tss_descriptor(base: u64, limit: u32) -> [u64; 2] {
    let low = (limit as u64 & 0xFFFF)
        | ((base & 0xFF_FFFF) << 16)
        | (0x89 << 40)
        | (((limit as u64 >> 16) & 0xF) << 48)
        | (((base >> 24) & 0xFF) << 56);
    [low, base >> 32]
}

/// The 64-bit TSS (APM vol. 2, figure 12-8), 104 bytes: RSP0..2 at 4, IST1..7 at 0x24, the
/// I/O map base at 0x66 (set past the limit: no I/O bitmap).
pub const TSS_SIZE: usize = 104;

/// A TSS image with `ist[i]` as the top of IST stack `i + 1`.
pub fn tss_bytes(ist: &[u64; 7]) -> [u8; TSS_SIZE] {
    let mut t = [0u8; TSS_SIZE];
    for (i, top) in ist.iter().enumerate() {
        let at = 0x24 + 8 * i;
        t[at..at + 8].copy_from_slice(&top.to_le_bytes());
    }
    t[0x66..0x68].copy_from_slice(&(TSS_SIZE as u16).to_le_bytes());
    t
}

/// What every vector's stub saves, lowest address first: the general registers, the vector
/// and error code (0 when the CPU pushes none), then the CPU's interrupt frame.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct TrapFrame {
    pub r15: u64,
    pub r14: u64,
    pub r13: u64,
    pub r12: u64,
    pub r11: u64,
    pub r10: u64,
    pub r9: u64,
    pub r8: u64,
    pub rbp: u64,
    pub rdi: u64,
    pub rsi: u64,
    pub rdx: u64,
    pub rcx: u64,
    pub rbx: u64,
    pub rax: u64,
    pub vector: u64,
    pub error_code: u64,
    pub rip: u64,
    pub cs: u64,
    pub rflags: u64,
    pub rsp: u64,
    pub ss: u64,
}

// The stubs below push in this order; these pin the layout they rely on.
const _: () = assert!(::core::mem::offset_of!(TrapFrame, rax) == 14 * 8);
const _: () = assert!(::core::mem::offset_of!(TrapFrame, vector) == 15 * 8);
const _: () = assert!(::core::mem::offset_of!(TrapFrame, error_code) == 16 * 8);
const _: () = assert!(::core::mem::offset_of!(TrapFrame, rip) == 17 * 8);
const _: () = assert!(::core::mem::size_of::<TrapFrame>() == 22 * 8);

/// The report printed for a fatal exception.
pub fn describe(f: &TrapFrame, cr2: u64) -> impl core::fmt::Display + '_ {
    struct D<'a>(&'a TrapFrame, u64);
    impl core::fmt::Display for D<'_> {
        fn fmt(&self, out: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            let (f, cr2) = (self.0, self.1);
            let v = f.vector as u8;
            write!(out, "[EXCEPTION] vector {} ({})", f.vector, name(v))?;
            if has_error_code(v) {
                write!(out, " error code {:#x}", f.error_code)?;
            }
            write!(
                out,
                " at RIP {:#x} RSP {:#x} RFLAGS {:#x}",
                f.rip, f.rsp, f.rflags
            )?;
            if v == 14 {
                write!(out, " CR2 {cr2:#x}")?;
            }
            Ok(())
        }
    }
    D(f, cr2)
}

#[cfg(target_os = "none")]
pub use firmware::{breakpoints, install, raise_invalid_opcode, self_test};

#[cfg(target_os = "none")]
mod firmware {
    use super::*;
    use alloc::boxed::Box;
    use alloc::vec;
    use core::sync::atomic::{AtomicU64, Ordering};

    /// Breakpoints handled (and resumed) so far.
    static BREAKPOINTS: AtomicU64 = AtomicU64::new(0);

    pub fn breakpoints() -> u64 {
        BREAKPOINTS.load(Ordering::Relaxed)
    }

    // One stub per vector: push a zero error code where the CPU pushes none, push the vector,
    // then the common path saves every general register, passes the frame to `svsm_trap`,
    // restores and returns with IRETQ (which only #BP ever reaches).
    macro_rules! stubs {
        ($($v:literal)*) => {
            core::arch::global_asm!(
                $(
                    concat!(".pushsection .text.trap, \"ax\"\n",
                            ".global svsm_trap_", $v, "\n",
                            "svsm_trap_", $v, ":\n",
                            ".if ", $v, " != 8 && (", $v, " < 10 || ", $v, " > 14) && ", $v,
                            " != 17 && ", $v, " != 21 && ", $v, " != 29 && ", $v, " != 30\n",
                            "    push 0\n",
                            ".endif\n",
                            "    push ", $v, "\n",
                            "    jmp svsm_trap_common\n",
                            ".popsection\n"),
                )*
            );
            const STUBS: [unsafe extern "C" fn(); 32] = [$(paste_stub!($v)),*];
        };
    }

    macro_rules! paste_stub {
        ($v:literal) => {{
            extern "C" {
                #[link_name = concat!("svsm_trap_", $v)]
                fn stub();
            }
            stub
        }};
    }

    stubs!(0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31);

    core::arch::global_asm!(
        ".pushsection .text.trap, \"ax\"",
        "svsm_trap_common:",
        "    push rax",
        "    push rbx",
        "    push rcx",
        "    push rdx",
        "    push rsi",
        "    push rdi",
        "    push rbp",
        "    push r8",
        "    push r9",
        "    push r10",
        "    push r11",
        "    push r12",
        "    push r13",
        "    push r14",
        "    push r15",
        "    mov rdi, rsp",
        "    mov rbx, rsp",
        "    and rsp, -16",
        "    cld",
        "    call svsm_trap",
        "    mov rsp, rbx",
        "    pop r15",
        "    pop r14",
        "    pop r13",
        "    pop r12",
        "    pop r11",
        "    pop r10",
        "    pop r9",
        "    pop r8",
        "    pop rbp",
        "    pop rdi",
        "    pop rsi",
        "    pop rdx",
        "    pop rcx",
        "    pop rbx",
        "    pop rax",
        "    add rsp, 16",
        "    iretq",
        ".popsection",
    );

    /// Called by every stub with the saved frame.
    #[no_mangle]
    extern "C" fn svsm_trap(frame: &mut TrapFrame) {
        if frame.vector == 3 {
            BREAKPOINTS.fetch_add(1, Ordering::Relaxed);
            return;
        }
        // #VC (SEV-SNP only): CPUID, IN/OUT and MSR accesses are emulated (`sev::vc`).
        if frame.vector == 29 && crate::sev::snp::handle_vc(frame) {
            return;
        }
        let cr2: u64;
        // SAFETY: reading CR2 has no side effect; the firmware runs at CPL 0.
        unsafe { core::arch::asm!("mov {}, cr2", out(reg) cr2, options(nomem, nostack)) };
        crate::console::emergency_write(format_args!("\n{}\n", describe(frame, cr2)));
        crate::platform::exit(crate::platform::QemuExit::Failure);
    }

    /// Builds the GDT, TSS (with the three IST stacks) and IDT on the heap, loads them and
    /// reloads CS, DS, ES and SS. FS and GS are left alone: GS's base is the CPU's slot
    /// ([`crate::cpu::percpu`]), which a selector load would reset. Call once per CPU, after
    /// the heap is up: each CPU gets its own tables and IST stacks.
    pub fn install() {
        let mut ist = [0u64; 7];
        for slot in [IST_DF, IST_VC, IST_NMI] {
            let stack: &'static mut [u8] = vec![0u8; IST_STACK_SIZE].leak();
            // Stacks grow down; the top is 16-byte aligned (the allocation is at least 8-aligned
            // and the length a multiple of 16).
            let top = (stack.as_ptr() as u64 + IST_STACK_SIZE as u64) & !0xF;
            ist[usize::from(slot) - 1] = top;
        }
        let tss: &'static mut [u8; TSS_SIZE] = Box::leak(Box::new(tss_bytes(&ist)));
        let tss_desc = tss_descriptor(tss.as_ptr() as u64, TSS_SIZE as u32 - 1);
        let gdt: &'static mut [u64; 5] = Box::leak(Box::new([
            0,
            0x00AF_9A00_0000_FFFF, // 0x08: 64-bit code
            0x00CF_9200_0000_FFFF, // 0x10: flat data
            tss_desc[0],           // 0x18: TSS
            tss_desc[1],
        ]));
        let idt: &'static mut [[u64; 2]; 256] = Box::leak(Box::new([[0; 2]; 256]));
        for (v, stub) in STUBS.iter().enumerate() {
            idt[v] = interrupt_gate(*stub as usize as u64, ist_for(v as u8));
        }
        let gdtr = DescriptorPointer {
            limit: (core::mem::size_of_val(gdt) - 1) as u16,
            base: gdt.as_ptr() as u64,
        };
        let idtr = DescriptorPointer {
            limit: (core::mem::size_of_val(idt) - 1) as u16,
            base: idt.as_ptr() as u64,
        };
        // SAFETY: `gdtr` and `idtr` describe leaked ('static) tables built above: the GDT has
        // the code (0x08) and data (0x10) descriptors the running code already uses, so the
        // reloads below keep every segment register valid, and a present TSS at 0x18 whose
        // IST stacks are leaked heap allocations. The far return reloads CS with 0x08 and
        // continues at the next instruction; interrupts are off throughout.
        unsafe {
            core::arch::asm!(
                "lgdt [{gdtr}]",
                "mov ax, {data}",
                "mov ds, ax",
                "mov es, ax",
                "mov ss, ax",
                "push {code}",
                "lea rax, [rip + 2f]",
                "push rax",
                "retfq",
                "2:",
                "mov ax, {tss}",
                "ltr ax",
                "lidt [{idtr}]",
                gdtr = in(reg) &gdtr,
                idtr = in(reg) &idtr,
                data = const DATA_SELECTOR,
                code = const CODE_SELECTOR as u64,
                tss = const TSS_SELECTOR,
                out("rax") _,
            );
        }
    }

    /// Raises `#BP` once and checks that its handler ran and returned here: the IDT, the stub
    /// path and IRETQ work.
    pub fn self_test() -> bool {
        let before = breakpoints();
        // SAFETY: INT3 transfers to the #BP gate installed by `install`, whose handler only
        // counts and returns with IRETQ to the next instruction, all registers restored.
        unsafe { core::arch::asm!("int3") };
        breakpoints() == before + 1
    }

    /// Executes UD2: the `#UD` handler reports it and ends the run (the fatal path's test,
    /// `evtpm.selftest=fault` on the command line).
    pub fn raise_invalid_opcode() -> ! {
        // SAFETY: UD2 raises #UD, whose handler prints the report and exits through
        // isa-debug-exit (or halts); nothing after it runs.
        unsafe { core::arch::asm!("ud2", options(noreturn)) }
    }

    /// The operand of LGDT/LIDT.
    #[repr(C, packed)]
    struct DescriptorPointer {
        limit: u16,
        base: u64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gates_encode_handler_selector_ist_and_type() {
        let g = interrupt_gate(0x1122_3344_5566_7788, 2);
        assert_eq!(g[0] & 0xFFFF, 0x7788);
        assert_eq!((g[0] >> 16) & 0xFFFF, 0x08);
        assert_eq!((g[0] >> 32) & 0x7, 2);
        assert_eq!((g[0] >> 40) & 0xFF, 0x8E);
        assert_eq!(g[0] >> 48, 0x5566);
        assert_eq!(g[1], 0x1122_3344);
    }

    #[test]
    fn tss_descriptor_splits_base_and_limit() {
        let d = tss_descriptor(0xFFFF_8000_1234_5678, 103);
        assert_eq!(d[0] & 0xFFFF, 103);
        assert_eq!((d[0] >> 16) & 0xFF_FFFF, 0x34_5678);
        assert_eq!((d[0] >> 40) & 0xFF, 0x89);
        assert_eq!((d[0] >> 56) & 0xFF, 0x12);
        assert_eq!(d[1], 0xFFFF_8000);
    }

    #[test]
    fn tss_holds_the_ist_tops_and_no_io_bitmap() {
        let t = tss_bytes(&[1, 2, 3, 0, 0, 0, 0]);
        assert_eq!(&t[0x24..0x2C], &1u64.to_le_bytes());
        assert_eq!(&t[0x34..0x3C], &3u64.to_le_bytes());
        assert_eq!(&t[0x66..0x68], &104u16.to_le_bytes());
    }

    #[test]
    fn df_vc_and_nmi_get_their_own_stacks() {
        assert_eq!((ist_for(8), ist_for(29), ist_for(2)), (1, 2, 3));
        assert_eq!(ist_for(14), 0);
        for v in 0..32 {
            assert!(!name(v).is_empty());
        }
        assert!(has_error_code(14) && has_error_code(29) && !has_error_code(3));
    }

    #[test]
    fn reports_name_the_exception_and_cr2_for_page_faults() {
        let f = TrapFrame {
            vector: 14,
            error_code: 2,
            rip: 0x1000_0123,
            ..Default::default()
        };
        let s = std::format!("{}", describe(&f, 0xdead_0000));
        assert!(s.contains("#PF page fault"), "{s}");
        assert!(
            s.contains("error code 0x2") && s.contains("CR2 0xdead0000"),
            "{s}"
        );
        let f = TrapFrame {
            vector: 6,
            ..Default::default()
        };
        let s = std::format!("{}", describe(&f, 0));
        assert!(
            s.contains("#UD") && !s.contains("error code") && !s.contains("CR2"),
            "{s}"
        );
    }
}
