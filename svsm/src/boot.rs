//! Entry points of the firmware image.
//!
//! * `_start`: 64-bit long mode, identity-mapped, interrupts off, as left by a
//!   64-bit loader. No boot information.
//! * `pvh_start` (the `XEN_ELFNOTE_PHYS32_ENTRY` note, x86/HVM direct boot ABI as used by QEMU's
//!   `-kernel`): 32-bit protected mode, paging off, flat segments, `%ebx` = physical address of
//!   the `hvm_start_info`. It loads a GDT, identity-maps the first 4 GiB with 2 MiB pages, enters
//!   long mode and joins `_start`'s path with the start-info address as the boot information.
//!
//! * `snp_start` (the ELF entry, and the RIP of the launch VMSA `evtpm igvm` builds): an
//!   SEV-SNP launch, 32-bit protected mode, paging off (so every access is private). It finds
//!   the C-bit in the CPUID page at [`CPUID_GPA`] (Fn8000_001F EBX[5:0], checked by the PSP at
//!   launch; the lookup is `sev::layout::cbit_from_cpuid_page`), records it in `snp_cbit`,
//!   (only the first vCPU to arrive: the others wait in a `pause` loop until the boot vCPU
//!   sets `ap_release`, then enter long mode on its page tables, claim a CPU slot and
//!   call `svsm_ap_main(slot)` on the stack the boot vCPU left for it, see `sev::run`),
//!   identity-maps the first 4 GiB with the C-bit set in every entry, enters long mode and joins
//!   the common path with `boot_info` = [`SNP_BOOT`]. Without a plausible C-bit it asks the
//!   hypervisor to terminate the guest (GHCB MSR protocol, reason set 0xE, code `NO_CBIT`)
//!   and halts. It reads no MSR and executes no CPUID or I/O instruction: any of those would
//!   raise #VC before there is an IDT.
//!
//! All then switch to the image's own stack, zero `.bss` and call
//! `svsm_main(boot_info: u64) -> !`. Nothing here is Rust, so there is no `unsafe` to document.

use crate::sev::layout::{
    termination, CPUID_ENTRIES, CPUID_ENTRY_EBX, CPUID_ENTRY_SIZE, CPUID_GPA, CPUID_MAX_FUNCTIONS,
    SNP_BOOT, TERMINATION_SET,
};

const _: () = assert!(
    SNP_BOOT == u64::MAX,
    "snp_start loads boot_info with movq $-1"
);
const _: () = assert!(
    CPUID_GPA < 1 << 30,
    "the CPUID page must be inside the first GiB"
);

core::arch::global_asm!(
    r#"
    /* ---- PVH ELF note: XEN_ELFNOTE_PHYS32_ENTRY (18), name "Xen", 8-byte descriptor ---- */
    .pushsection .note.Xen, "a", @note
    .balign 4
    .long 4
    .long 8
    .long 18
    .asciz "Xen"
    .balign 4
    .quad pvh_start
    .balign 4
    .popsection

    /* ---- early GDT: null, 0x08 64-bit code, 0x10 flat data ---- */
    .pushsection .rodata.boot_gdt, "a"
    .balign 16
boot_gdt:
    .quad 0
    .quad 0x00af9a000000ffff
    .quad 0x00cf92000000ffff
boot_gdt_end:
boot_gdt_desc:
    .word boot_gdt_end - boot_gdt - 1
    .long boot_gdt
    .popsection

    /* ---- early page tables (PML4, PDPT, four PDs), outside .bss so zeroing it spares them ---- */
    .pushsection .boot_pt, "aw", @nobits
    .balign 4096
boot_pml4:
    .skip 4096
    .global boot_pdpt
boot_pdpt:
    .skip 4096
    .global boot_pd
boot_pd:
    .skip 4 * 4096
    .popsection

    /* ---- shared 32-bit steps of both entries ---- */
    /* The boot GDT and flat data segments. */
    .macro load_boot_segments
    lgdt boot_gdt_desc
    movl $0x10, %eax
    movl %eax, %ds
    movl %eax, %es
    movl %eax, %fs
    movl %eax, %gs
    movl %eax, %ss
    .endm

    /* PML4 -> PDPT -> four PDs identity-mapping the first 4 GiB with 2 MiB pages (the guest
       firmware ends at 4 GiB); %ebp is the high dword of every entry (the C-bit under SNP,
       else 0). Clobbers EAX, ECX, EDI. */
    .macro build_boot_tables
    movl $boot_pml4, %edi           /* zero the six tables */
    xorl %eax, %eax
    movl $(6 * 4096 / 4), %ecx
    rep stosl
    movl $boot_pdpt, %eax
    orl $0x3, %eax                  /* present | writable */
    movl %eax, boot_pml4
    movl %ebp, boot_pml4 + 4
    movl $boot_pd, %eax
    orl $0x3, %eax
    movl $boot_pdpt, %edi
    movl $4, %ecx
2:
    movl %eax, (%edi)               /* PDPT[i] -> boot_pd + i * 4096 */
    movl %ebp, 4(%edi)
    addl $4096, %eax
    addl $8, %edi
    decl %ecx
    jnz 2b
    movl $boot_pd, %edi
    movl $0x83, %eax                /* present | writable | page size */
    movl $(4 * 512), %ecx
1:
    movl %eax, (%edi)
    movl %ebp, 4(%edi)
    addl $0x200000, %eax
    addl $8, %edi
    decl %ecx
    jnz 1b
    .endm

    /* PAE, the boot tables, EFER.LME, paging: long mode, continuing at \target (64-bit code
       selector 0x08 of the boot GDT). \snp: write EFER outright with SVME set, as the launch
       VMSA has it (reading EFER could raise #VC before there is an IDT); else read-modify-
       write. Clobbers EAX, ECX, EDX. */
    .macro enter_long_mode target, snp
    movl %cr4, %eax
    orl $0x20, %eax                 /* CR4.PAE */
    movl %eax, %cr4
    movl $boot_pml4, %eax
    movl %eax, %cr3
    movl $0xc0000080, %ecx          /* IA32_EFER */
    .if \snp
    movl $0x1100, %eax              /* SVME | LME */
    xorl %edx, %edx
    .else
    rdmsr
    orl $0x100, %eax                /* EFER.LME */
    .endif
    wrmsr
    movl %cr0, %eax
    orl $0x80000001, %eax           /* CR0.PG | CR0.PE */
    movl %eax, %cr0
    ljmpl $0x08, $\target
    .endm

    /* ---- 32-bit PVH entry ---- */
    .pushsection .text.boot, "ax"
    .code32
    .global pvh_start
pvh_start:
    cli
    cld
    movl %ebx, %esi                 /* hvm_start_info */

    load_boot_segments

    xorl %ebp, %ebp                 /* no C-bit */
    build_boot_tables

    enter_long_mode pvh_start64, 0

    .code64
pvh_start64:
    movl %esi, %edi                 /* zero-extends: boot_info = hvm_start_info */
    jmp start64_common

    /* ---- another vCPU under plain QEMU, from the SIPI trampoline (32-bit, flat, paging
       off): counted in, it waits for the release like an SNP vCPU, then enters long mode on
       the boot CPU's tables and joins ap_start64 with %esi = 0 (not SNP) ---- */
    .code32
    .global pvh_ap_start32
pvh_ap_start32:
    lock incl ap_waiting
1:
    pause
    cmpl $0, ap_release
    je 1b
    load_boot_segments
    enter_long_mode pvh_ap_start64, 0

    .code64
pvh_ap_start64:
    xorl %esi, %esi                 /* not SNP */
    jmp ap_start64
    .popsection

    /* ---- the SIPI trampoline for plain QEMU: copied to {tramp} by the boot CPU
       (platform::qemu_test), where a SIPI with vector {tramp} >> 12 starts a vCPU in real
       mode at {tramp}:0 with CS = {tramp} >> 4. It loads its own GDT (flat 32-bit code and
       data), enters protected mode and jumps to pvh_ap_start32 in the image. Position-
       dependent on {tramp} only. ---- */
    .pushsection .rodata.ap_trampoline, "a"
    .code16
    .global ap_trampoline
    .global ap_trampoline_end
ap_trampoline:
    cli
    cld
    movw %cs, %ax
    movw %ax, %ds
    lgdtl ap_trampoline_gdt_desc - ap_trampoline
    movl %cr0, %eax
    orl $1, %eax                    /* CR0.PE */
    movl %eax, %cr0
    ljmpl $0x08, ${tramp} + (ap_trampoline_32 - ap_trampoline)
    .code32
ap_trampoline_32:
    movl $0x10, %eax
    movl %eax, %ds
    movl %eax, %es
    movl %eax, %ss
    movl $pvh_ap_start32, %eax
    jmp *%eax
    .balign 8
ap_trampoline_gdt:
    .quad 0
    .quad 0x00cf9a000000ffff        /* 0x08: flat 32-bit code */
    .quad 0x00cf92000000ffff        /* 0x10: flat data */
ap_trampoline_gdt_desc:
    .word 3 * 8 - 1
    .long {tramp} + (ap_trampoline_gdt - ap_trampoline)
ap_trampoline_end:
    .popsection

    /* ---- the C-bit position snp_start found, for sev::start ---- */
    .pushsection .data.snp_cbit, "aw"
    .balign 4
    .global snp_cbit
snp_cbit:
    .long 0
    /* 0 until the first vCPU claims the boot: every vCPU of an SNP launch enters snp_start */
snp_boot_cpu_claimed:
    .long 0
    /* Set by the boot vCPU (sev::run) once the page tables are final and the other vCPUs'
       stacks are in ap_stacks: until then they wait in snp_start. */
    .global ap_release
ap_release:
    .long 0
    /* How many other vCPUs wait there (the boot vCPU gives that many a stack). */
    .global ap_waiting
ap_waiting:
    .long 0
    /* The next free CPU slot (cpu::percpu; slot 0 is the boot vCPU's). */
ap_next:
    .long 1
    /* The top of each slot's stack, written by the boot vCPU before the release (0: none). */
    .balign 8
    .global ap_stacks
ap_stacks:
    .fill {max_cpus}, 8, 0
    .popsection

    /* ---- 32-bit SEV-SNP entry (the ELF entry) ---- */
    .pushsection .text.boot, "ax"
    .code32
    .global snp_start
snp_start:
    cli
    cld
    /* Every vCPU of the launch starts here (one VMSA each, all at this entry). The first to
       claim the boot builds the tables and runs the firmware; the others must not touch the
       shared boot state, and wait here, in private memory, until an SVSM that starts APs
       (CREATE_VCPU) has somewhere for them to go: with no interrupts, no I/O and no MSR access,
       nothing can make them leave. */
    movl $1, %ecx
    xorl %eax, %eax
    lock cmpxchgl %ecx, snp_boot_cpu_claimed
    jz 7f
    lock incl ap_waiting
8:
    pause
    cmpl $0, ap_release
    je 8b
    jmp snp_ap_start
7:
    load_boot_segments

    movl ${cpuid_page}, %esi        /* the CPUID page: count, then 48-byte entries */
    movl (%esi), %ecx
    cmpl ${cpuid_max}, %ecx
    ja snp_no_cbit
    leal {cpuid_entries}(%esi), %edi
3:
    testl %ecx, %ecx
    jz snp_no_cbit
    cmpl $0x8000001f, (%edi)
    je 4f
    addl ${cpuid_entry_size}, %edi
    decl %ecx
    jmp 3b
4:
    movl {cpuid_ebx}(%edi), %eax
    andl $0x3f, %eax                /* EBX[5:0]: the C-bit */
    cmpl $32, %eax
    jb snp_no_cbit
    cmpl $51, %eax
    ja snp_no_cbit
    movl %eax, snp_cbit
    leal -32(%eax), %ecx
    movl $1, %ebp
    shll %cl, %ebp                  /* the C-bit, in the high dword of a table entry */

    build_boot_tables

    enter_long_mode snp_start64, 1

snp_no_cbit:
    movl $0xc0010130, %ecx          /* the GHCB MSR: termination request */
    movl ${term_no_cbit}, %eax
    xorl %edx, %edx
    wrmsr
    .byte 0xf3, 0x0f, 0x01, 0xd9    /* VMGEXIT */
6:
    hlt
    jmp 6b

    /* Another vCPU, released by the boot vCPU: the boot vCPU's page tables (final by now),
       long mode, a slot and its stack, then svsm_ap_main(slot). A vCPU beyond the slots, or
       one without a stack, waits here for good. */
snp_ap_start:
    load_boot_segments
    enter_long_mode snp_ap_start64, 1

    .code64
snp_start64:
    movq $-1, %rdi                  /* boot_info = SNP_BOOT */
    jmp start64_common

snp_ap_start64:
    movl $1, %esi                   /* SNP */
ap_start64:
    movl $1, %eax
    lock xaddl %eax, ap_next(%rip)
    cmpl ${max_cpus}, %eax
    jae 9f
    leaq ap_stacks(%rip), %rcx
    movq (%rcx,%rax,8), %rsp
    testq %rsp, %rsp
    jz 9f
    movl %eax, %edi                 /* the slot; %esi: SNP or not */
    xorl %ebp, %ebp
    call svsm_ap_main
9:
    pause
    jmp 9b
    .popsection

    /* ---- 64-bit entry ---- */
    .pushsection .text.start, "ax"
    .code64
    .global _start
_start:
    xorl %edi, %edi                 /* boot_info = 0: unknown loader */
start64_common:
    cli
    cld
    leaq __stack_top(%rip), %rsp
    movq %rdi, %rbx
    leaq __bss_start(%rip), %rdi
    leaq __bss_end(%rip), %rcx
    subq %rdi, %rcx
    xorl %eax, %eax
    rep stosb
    movq %rbx, %rdi
    xorl %ebp, %ebp
    call svsm_main
2:
    cli
    hlt
    jmp 2b
    .popsection
"#,
    cpuid_page = const CPUID_GPA,
    cpuid_max = const CPUID_MAX_FUNCTIONS,
    cpuid_entries = const CPUID_ENTRIES,
    cpuid_entry_size = const CPUID_ENTRY_SIZE,
    cpuid_ebx = const CPUID_ENTRY_EBX,
    max_cpus = const crate::cpu::percpu::MAX_CPUS,
    tramp = const crate::cpu::percpu::AP_TRAMPOLINE,
    term_no_cbit = const ((termination::NO_CBIT as u32) << 16) | ((TERMINATION_SET as u32) << 12) | 0x100,
    options(att_syntax)
);
