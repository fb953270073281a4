//! Entry points of the firmware image.
//!
//! * `_start` (the ELF entry): 64-bit long mode, identity-mapped, interrupts off, as left by a
//!   64-bit loader. No boot information.
//! * `pvh_start` (the `XEN_ELFNOTE_PHYS32_ENTRY` note, x86/HVM direct boot ABI as used by QEMU's
//!   `-kernel`): 32-bit protected mode, paging off, flat segments, `%ebx` = physical address of
//!   the `hvm_start_info`. It loads a GDT, identity-maps the first GiB with 2 MiB pages, enters
//!   long mode and joins `_start`'s path with the start-info address as the boot information.
//!
//! Both then switch to the image's own stack, zero `.bss` and call
//! `svsm_main(boot_info: u64) -> !`. Nothing here is Rust, so there is no `unsafe` to document.

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

    /* ---- early page tables (PML4, PDPT, PD), outside .bss so zeroing it spares them ---- */
    .pushsection .boot_pt, "aw", @nobits
    .balign 4096
boot_pml4:
    .skip 4096
boot_pdpt:
    .skip 4096
boot_pd:
    .skip 4096
    .popsection

    /* ---- 32-bit PVH entry ---- */
    .pushsection .text.boot, "ax"
    .code32
    .global pvh_start
pvh_start:
    cli
    cld
    movl %ebx, %esi                 /* hvm_start_info */

    lgdt boot_gdt_desc
    movl $0x10, %eax
    movl %eax, %ds
    movl %eax, %es
    movl %eax, %fs
    movl %eax, %gs
    movl %eax, %ss

    movl $boot_pml4, %edi           /* zero the three tables */
    xorl %eax, %eax
    movl $(3 * 4096 / 4), %ecx
    rep stosl
    movl $boot_pdpt, %eax
    orl $0x3, %eax                  /* present | writable */
    movl %eax, boot_pml4
    movl $boot_pd, %eax
    orl $0x3, %eax
    movl %eax, boot_pdpt
    movl $boot_pd, %edi             /* 512 x 2 MiB identity pages: the first GiB */
    movl $0x83, %eax                /* present | writable | page size */
    movl $512, %ecx
1:
    movl %eax, (%edi)
    addl $0x200000, %eax
    addl $8, %edi
    decl %ecx
    jnz 1b

    movl %cr4, %eax
    orl $0x20, %eax                 /* CR4.PAE */
    movl %eax, %cr4
    movl $boot_pml4, %eax
    movl %eax, %cr3
    movl $0xc0000080, %ecx          /* IA32_EFER */
    rdmsr
    orl $0x100, %eax                /* EFER.LME */
    wrmsr
    movl %cr0, %eax
    orl $0x80000001, %eax           /* CR0.PG | CR0.PE */
    movl %eax, %cr0
    ljmpl $0x08, $pvh_start64

    .code64
pvh_start64:
    movl %esi, %edi                 /* zero-extends: boot_info = hvm_start_info */
    jmp start64_common
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
    options(att_syntax)
);
