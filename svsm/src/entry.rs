//! `svsm_main`, called by the boot code, and the panic handler.
//!
//! After manufacturing the engine the firmware either serves the `qemu-test` platform (when
//! QEMU gave it a second serial port) or runs its self-test and exits through
//! `isa-debug-exit` (`make qemu-smoke`).

use crate::cpu::tsc::TscClock;
use crate::platform::{self, CpuPlatform, QemuExit};
use crate::{console, mm, selftest};
use log::{error, info, LevelFilter};
use vtpm::{Config, Tpm};

/// The firmware's Rust entry: 64-bit mode, own stack, `.bss` zeroed. `boot_info` is the physical
/// address of the PVH `hvm_start_info`, 0 when the loader gave none, or
/// [`crate::sev::layout::SNP_BOOT`] after the SEV-SNP entry.
#[no_mangle]
extern "C" fn svsm_main(boot_info: u64) -> ! {
    // The boot CPU's slot first: the GHCB exits below find their page through it.
    let _ = crate::cpu::percpu::enter(0);
    // An SEV-SNP launch (`snp_start`): CPUID and port I/O would raise #VC until the SNP start
    // has routed them (CPUID page, GHCB), so it goes first.
    let snp = (boot_info == crate::sev::layout::SNP_BOOT).then(crate::sev::start::early);
    let clock = TscClock::start();
    console::init(LevelFilter::Info);
    info!("evtpm svsm {} booting", env!("CARGO_PKG_VERSION"));
    match &snp {
        Some(pages) => info!(
            "SEV-SNP launch: CPUID from the CPUID page, GHCB and guest-request pages shared (request {:#x})",
            pages.request
        ),
        None if boot_info != 0 => info!("PVH start info at {boot_info:#x}"),
        None => {}
    }

    mm::heap::init();
    crate::cpu::idt::install();
    if !crate::cpu::idt::self_test() {
        error!("exception handling: #BP did not come back");
        platform::exit(QemuExit::Failure);
    }
    info!("GDT, TSS (IST stacks for #DF, #VC, NMI) and IDT live: int3 handled and resumed");
    let cmdline = match snp {
        Some(_) => alloc::string::String::new(),
        None => mm::pvh_cmdline(boot_info).unwrap_or_default(),
    };
    if !cmdline.is_empty() {
        info!("command line: {cmdline}");
    }
    if cmdline
        .split_whitespace()
        .any(|w| w == "evtpm.selftest=fault")
    {
        info!("evtpm.selftest=fault: executing UD2");
        crate::cpu::idt::raise_invalid_opcode();
    }
    let heap = mm::heap::stats();
    info!("heap: {} KiB at {:#x}", heap.size / 1024, heap.start);

    let Some(platform) = CpuPlatform::detect() else {
        error!("no RDRAND on this CPU: no entropy for the TPM's seeds");
        platform::exit(QemuExit::Failure);
    };
    info!(
        "entropy: {}; TSC assumed at {} kHz",
        if platform.has_rdseed() {
            "RDSEED, RDRAND fallback"
        } else {
            "RDRAND"
        },
        platform.tsc_khz()
    );

    // REPORT_ID of the qemu-test software PSP: random per boot, as the PSP's is per guest.
    let mut platform = platform;
    let mut report_id = [0u8; 32];
    if vtpm::Platform::entropy(&mut platform, &mut report_id).is_err() {
        error!("no entropy for the report ID");
        platform::exit(QemuExit::Failure);
    }

    let start = clock.now_ms();
    let mut tpm = match Tpm::manufacture(Config::default(), platform) {
        Ok(tpm) => tpm,
        Err(e) => {
            error!("manufacture failed: {e:?}");
            platform::exit(QemuExit::Failure);
        }
    };
    info!("engine manufactured ({} ms)", clock.now_ms() - start);

    // SEV-SNP: the vTPM service with reports from the PSP (guest requests under VMPCK0), then
    // the guest firmware at VMPL1, served on the boot vCPU (`sev::run`).
    if let Some(pages) = snp {
        use crate::sev::layout::termination;
        let (reports, secrets) = match crate::sev::snp::reports(pages) {
            Ok(r) => r,
            Err(e) => {
                error!("SNP reports: {e}");
                crate::sev::start::terminate(termination::SERVICE);
            }
        };
        let start = clock.now_ms();
        let service = match crate::service::VtpmService::new(tpm, alloc::boxed::Box::new(reports)) {
            Ok(service) => service,
            Err(e) => {
                error!("provisioning failed: {e:?}");
                crate::sev::start::terminate(termination::SERVICE);
            }
        };
        info!(
            "EKs and EK certificates ready (reports from the PSP) in {} ms",
            clock.now_ms() - start
        );
        crate::sev::run::launch(
            service.tpm,
            alloc::boxed::Box::new(service.attestation),
            &secrets,
        );
    }

    // With a second serial port the host is there to play the guest (`qemu-test` platform):
    // serve it the vTPM service — the engine not even started, provisioned first: EKs
    // persistent, EK certificates carrying reports from the software PSP (test key).
    // Without one, self-test and leave.
    if platform::qemu_test::com2_present() {
        let start = clock.now_ms();
        let psp = alloc::boxed::Box::new(platform::test_psp::TestPsp::new(report_id));
        let service = match crate::service::VtpmService::new(tpm, psp) {
            Ok(s) => s,
            Err(e) => {
                error!("provisioning failed: {e:?}");
                platform::exit(QemuExit::Failure);
            }
        };
        info!(
            "EKs and EK certificates ready (RSA-2048 L-1, ECC P-256 L-2; reports signed with the qemu-test TEST key) in {} ms; serving the qemu-test platform ({} ms since entry)",
            clock.now_ms() - start,
            clock.now_ms()
        );
        platform::qemu_test::run(
            service.tpm,
            alloc::boxed::Box::new(service.attestation),
            mm::image(),
            &clock,
        );
    }

    let report = selftest::run(&mut tpm);
    info!("{report}");
    let heap = mm::heap::stats();
    info!(
        "heap in use: {} KiB; {} ms since entry",
        heap.used / 1024,
        clock.now_ms()
    );

    if report.responses_well_formed() {
        info!("self-test passed");
        platform::exit(QemuExit::Success);
    }
    error!("self-test failed: malformed response");
    platform::exit(QemuExit::Failure)
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    console::emergency_write(format_args!("\n[PANIC] {info}\n"));
    platform::exit(QemuExit::Failure)
}
