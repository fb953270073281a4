//! The SEV-SNP layer: what only an SNP guest at VMPL0 does.
//!
//! | module | what | runs here |
//! |---|---|---|
//! | [`ghcb`] | the GHCB MSR protocol encodings, the GHCB page layout, the page-state-change buffer (GHCB spec 56421) | pure, host-tested |
//! | [`secrets`] | the secrets page layout and the guest's copy of it (SNP ABI 56860, SVSM spec 58019) | pure, host-tested |
//! | [`guest_request`] | SNP guest messages under VMPCK0 and the [`crate::service::ReportSource`] over them | pure, host-tested against a fake PSP |
//! | [`launch`] | the launch-information page, the guest's memory made ready at VMPL1, one turn of the request loop | pure, host-tested |
//! | [`layout`] | where an SNP launch puts the secrets and CPUID pages; the C-bit lookup `snp_start` does | pure, host-tested |
//! | [`start`] | the SNP start after `snp_start`: GHCB version, C-bit and hypervisor features over the MSR protocol | decision pure and host-tested; the exchange firmware only |
//! | [`vc`] | the #VC handler: CPUID from the CPUID page, IN/OUT and RDMSR/WRMSR through the GHCB | decode and emulation pure and host-tested |
//! | [`vmsa`] | the guest's VMSA at VMPL1 (reset state), SVSM-call registers in a VMSA, one turn of the request loop | pure, host-tested against the protocol dispatcher |
//! | [`rmp`] | the return codes of PVALIDATE and RMPADJUST and RMPADJUST's attribute operand | pure, host-tested |
//! | `instr` | PVALIDATE, RMPADJUST, VMGEXIT and the GHCB MSR as inline assembly | firmware target only |
//! | `shared` | the shared pages and the GHCB exit: the guest-request transport's machine | firmware target only |
//! | `run` | the guest's memory prepared, its VMSA created and registered, the boot vCPU's request loop | firmware target only |
//! | `snp` | the shared pool (GHCB, request, response pages) made shared; port I/O as GHCB IOIO exits; SNP reports under VMPCK0 | firmware target only |
//!
//! Everything whose logic can be separated from the hardware is pure code; the hardware touch
//! points are the few functions of `instr` and `shared`. Nothing here is used by the `qemu-test` platform,
//! which has no SNP: on it the software PSP ([`crate::platform::test_psp`]) makes the reports.

pub mod ghcb;
pub mod guest_request;
#[cfg(target_os = "none")]
pub mod instr;
pub mod launch;
pub mod layout;
pub mod rmp;
#[cfg(target_os = "none")]
pub mod run;
pub mod secrets;
#[cfg(target_os = "none")]
pub mod shared;
#[cfg(target_os = "none")]
pub mod snp;
pub mod start;
pub mod vc;
pub mod vmsa;
