//! Command-line interface.

use crate::bench::{self, Target};
use crate::platform::HostPlatform;
use crate::serve::firmware::{Firmware, FirmwareOptions};
use crate::serve::machine::{Backend, Echo};
use crate::serve::{Options, Server};
use crate::wire::Deadlines;
use clap::{ArgGroup, Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// evtpm host tools: serve the evtpm TPM 2.0 engine over the MS-simulator and swtpm socket
/// protocols, and measure TPM command latency.
#[derive(Debug, Parser)]
#[command(name = "evtpm", version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a TPM 2.0 (the evtpm engine, freshly manufactured, state in memory only) behind
    /// TCP/unix sockets until SIGINT/SIGTERM, TPM_STOP or CMD_SHUTDOWN.
    ///
    /// Prints one line "listening on mssim=… platform=… swtpm=… ctrl=…" to stdout once ready.
    /// Log level via RUST_LOG (default: info).
    #[command(after_help = SERVE_EXAMPLES)]
    Serve(ServeArgs),
    /// Time a command mix (`--mix fast`: GetRandom, PCR_Extend, PCR_Read, GetCapability, Hash,
    /// ReadClock, …; `--mix keys`: CreatePrimary, Create, Load, Sign, Quote, …) over one
    /// persistent connection; prints per-command median/p99 and one JSON line.
    Bench(BenchArgs),
    /// Answer every TPM command with a fixed 10-byte success response, no engine: the transport
    /// floor that `bench` results can be compared with.
    BenchEcho(EchoArgs),
    /// Start `evtpm serve --swtpm`, swtpm and `evtpm bench-echo`, run the same mixes (fast
    /// path, keys, first-time primaries) against all three and print comparison tables.
    BenchSuite(SuiteArgs),
    /// Boot the firmware under QEMU (qemu-test platform) and ask it for an SVSM attestation,
    /// as Linux's configfs-tsm does: nonce in, report and service manifest out. Check the
    /// result with `evtpm verify --report REPORT --ek MANIFEST --nonce HEX --allow-test-root`.
    Attest(AttestArgs),
    /// Print the expected SEV-SNP launch MEASUREMENT (96 hex digits): of the evtpm launch
    /// (IMAGE = the firmware ELF, with OVMF as the guest firmware), or of OVMF alone as
    /// `sev-snp-measure --mode snp` computes it. See tools/src/measure.rs for the layouts.
    Measure(MeasureArgs),
    /// Package the firmware and an operator-supplied OVMF (built with SVSM support) as an IGVM
    /// file for an SEV-SNP launch by QEMU (`-object igvm-cfg`); prints the file's launch
    /// MEASUREMENT for each vCPU count up to 4. See tools/src/igvm.rs for the contents.
    Igvm(IgvmArgs),
    /// Print (or with --run, run) the QEMU command line that launches an IGVM file on an SNP
    /// host, and the MEASUREMENT that launch will have. Needs the patched QEMU of
    /// `qemu-patches/` and a host kernel with SNP VMPL support (README, "On a real SNP host").
    #[command(after_help = LAUNCH_NOTES)]
    Launch(LaunchArgs),
    /// Soak `evtpm serve` (started here): several concurrent clients send mixed commands (the
    /// keys mix on one, the kernel-style mix on the others) until COMMANDS are answered; every
    /// response must succeed and the server's resident memory must stay flat. One report line.
    Soak(SoakArgs),
    /// Verify an SEV-SNP attestation report (AMD chain, signature, VMPL, policy, TCB,
    /// measurement) and its binding of the EK; usable as Keylime's ek_check_script.
    #[command(after_help = crate::verify::cmd::VERIFY_HELP)]
    Verify(crate::verify::cmd::VerifyArgs),
}

const SERVE_EXAMPLES: &str = "\
Examples:
  evtpm serve --mssim 127.0.0.1:2321
      TPM2TOOLS_TCTI=mssim:host=127.0.0.1,port=2321 tpm2_startup -c
  evtpm serve --swtpm 127.0.0.1:2321 --startup clear
      TPM2TOOLS_TCTI=swtpm:host=127.0.0.1,port=2321 tpm2_getrandom 8
  evtpm serve --mssim 127.0.0.1:2321 --firmware target/x86_64-unknown-none/firmware/svsm
      the same TPM, served by the SVSM firmware under QEMU through SVSM_VTPM_CMD
  evtpm serve --ctrl unix:/tmp/evtpm.sock
      qemu-system-x86_64 -chardev socket,id=chrtpm,path=/tmp/evtpm.sock \\
        -tpmdev emulator,id=tpm0,chardev=chrtpm -device tpm-crb,tpmdev=tpm0 …";

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// MS TPM simulator protocol (tpm2-tss `mssim` TCTI, IBM TSS): TPM commands on PORT,
    /// platform signals (power, NV, cancel) on PORT+1. Port 0 picks a free pair.
    #[arg(long, value_name = "HOST:PORT")]
    pub mssim: Option<String>,
    /// swtpm socket protocol (tpm2-tss `swtpm` TCTI): raw TPM commands on PORT, the swtpm
    /// control channel on PORT+1 (or on --ctrl). Port 0 picks a free pair.
    #[arg(long, value_name = "HOST:PORT")]
    pub swtpm: Option<String>,
    /// swtpm control channel on a unix socket, as QEMU's `-tpmdev emulator` uses it (the data
    /// channel is passed with CMD_SET_DATAFD). With --swtpm, replaces the control port PORT+1.
    #[arg(long, value_name = "unix:PATH", value_parser = parse_ctrl)]
    pub ctrl: Option<PathBuf>,
    /// Come up started: send TPM2_Startup(CLEAR) internally after every power-on/_TPM_Init
    /// (like swtpm's `--flags startup-clear`). Default: clients send TPM2_Startup themselves.
    #[arg(long, value_enum, value_name = "TYPE")]
    pub startup: Option<StartupType>,
    /// Provision the engine as the firmware does at boot: the RSA-2048 and ECC P-256 EKs
    /// persistent at 0x81010001 and 0x81010002, and their EK certificates at NV 0x01C00002
    /// and 0x01C0000A, each carrying an SNP report from the qemu-test software PSP — signed
    /// with the published TEST key (`evtpm verify --allow-test-root`), since a host has no PSP.
    #[arg(long, conflicts_with = "firmware")]
    pub ek: bool,
    /// Most connections open at once, all ports together; further connections are closed.
    #[arg(long, default_value_t = 64, value_name = "N")]
    pub max_connections: usize,
    /// Milliseconds a frame (command, signal, control message) may take to arrive once its
    /// first byte has; slower clients are disconnected.
    #[arg(long, default_value_t = 500, value_name = "MS")]
    pub frame_timeout_ms: u64,
    /// Seconds a connection may sit idle between frames [default: unlimited].
    #[arg(long, value_name = "SECS")]
    pub idle_timeout: Option<u64>,
    /// Serve the evtpm firmware instead of the in-process engine: boot IMAGE (`make firmware`)
    /// under QEMU (TCG, qemu-test platform) and send every TPM command to it as a guest would,
    /// through SVSM_VTPM_CMD. Power and cancel signals reach the firmware's engine.
    #[arg(long, value_name = "IMAGE")]
    pub firmware: Option<PathBuf>,
    /// QEMU binary for --firmware [default: $QEMU, else qemu-system-x86_64].
    #[arg(long, value_name = "PATH", requires = "firmware")]
    pub qemu: Option<PathBuf>,
    /// Keep the firmware's COM1 log here (--firmware) [default: a temporary file].
    #[arg(long, value_name = "PATH", requires = "firmware")]
    pub firmware_log: Option<PathBuf>,
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("sig").required(false)))]
pub struct MeasureArgs {
    /// The evtpm firmware ELF (`make firmware`); without it, OVMF alone is measured.
    #[arg(value_name = "IMAGE", conflicts_with = "igvm")]
    pub image: Option<PathBuf>,
    /// The OVMF image the launch carries (placed to end at 4 GiB).
    #[arg(long, value_name = "FILE", required_unless_present = "igvm")]
    pub ovmf: Option<PathBuf>,
    /// Measure the SNP launch of this IGVM file (`evtpm igvm`) instead: its VMSAs already
    /// carry the vCPU signature, so neither --ovmf nor --vcpu-type applies.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["ovmf", "sig"])]
    pub igvm: Option<PathBuf>,
    /// Number of vCPUs (one VMSA each).
    #[arg(long, value_name = "N")]
    pub vcpus: u32,
    /// QEMU CPU model of the guest (EPYC-v4, EPYC-Milan, EPYC-Genoa, …): its CPUID signature
    /// goes into RDX of every VMSA.
    #[arg(long, value_name = "MODEL", group = "sig")]
    pub vcpu_type: Option<String>,
    /// The CPUID signature itself (hex with 0x, or decimal).
    #[arg(long, value_name = "SIG", group = "sig")]
    pub vcpu_sig: Option<String>,
    /// SEV_FEATURES of the guest's VMSAs for the OVMF-only launch [default: 0x1, SNP active].
    #[arg(long, value_name = "HEX", default_value = "0x1")]
    pub guest_features: String,
}

#[derive(Debug, Args)]
pub struct IgvmArgs {
    /// The evtpm firmware ELF [default: target/x86_64-unknown-none/firmware/svsm].
    #[arg(
        value_name = "IMAGE",
        default_value = "target/x86_64-unknown-none/firmware/svsm"
    )]
    pub image: PathBuf,
    /// The guest firmware: an OVMF image built with SVSM (and TPM2) support, ending at 4 GiB.
    #[arg(long, value_name = "FILE")]
    pub ovmf: PathBuf,
    /// Where to write the IGVM file.
    #[arg(long, short, value_name = "FILE")]
    pub output: PathBuf,
    /// VP contexts in the file: the most vCPUs a launch of it may have.
    #[arg(long, value_name = "N", default_value_t = 16)]
    pub max_vcpus: u32,
    /// QEMU CPU model the launch uses (`-cpu`); its CPUID signature goes into RDX of every
    /// VMSA, as x86 reset puts it there.
    #[arg(long, value_name = "MODEL", default_value = "EPYC-v4")]
    pub vcpu_type: String,
}

#[derive(Debug, Args)]
pub struct LaunchArgs {
    /// The IGVM file (`evtpm igvm`, `make igvm`).
    #[arg(long, value_name = "FILE")]
    pub igvm: PathBuf,
    /// vCPUs (`-smp`), at most the file's VP contexts.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub vcpus: u32,
    /// Guest memory in MiB.
    #[arg(long, value_name = "MIB", default_value_t = 4096)]
    pub memory: u64,
    /// QEMU CPU model; must be the one the file was built for (its signature is in the VMSAs).
    #[arg(long, value_name = "MODEL", default_value = "EPYC-v4")]
    pub vcpu_type: String,
    /// The C-bit position and the physical address bits it costs (CPUID 0x8000001F EBX; 51
    /// and 1 on EPYC Milan and Genoa).
    #[arg(long, default_value_t = 51)]
    pub cbitpos: u32,
    #[arg(long, default_value_t = 1)]
    pub reduced_phys_bits: u32,
    /// The patched QEMU [default: $QEMU, else qemu-system-x86_64].
    #[arg(long, value_name = "PATH")]
    pub qemu: Option<PathBuf>,
    /// Guest kernel, initrd and command line, loaded by OVMF through fw_cfg.
    #[arg(long, value_name = "FILE")]
    pub kernel: Option<PathBuf>,
    #[arg(long, value_name = "FILE", requires = "kernel")]
    pub initrd: Option<PathBuf>,
    #[arg(long, value_name = "CMDLINE", requires = "kernel")]
    pub append: Option<String>,
    /// A guest disk image (qcow2), on virtio-scsi.
    #[arg(long, value_name = "FILE")]
    pub disk: Option<PathBuf>,
    /// Run QEMU (as this user: /dev/sev needs root or the kvm group) instead of printing.
    #[arg(long)]
    pub run: bool,
}

const LAUNCH_NOTES: &str = "\
Host requirements: an AMD EPYC (Milan or later) with SEV-SNP enabled in the BIOS, SNP firmware
1.51 or later, and a host kernel with SNP support and VMPL (multiple guest privilege level)
support in KVM: the SVSM runs at VMPL0 and starts the guest's VMSA at VMPL1. See the README,
section \"On a real SNP host\".";

#[derive(Debug, Args)]
pub struct SoakArgs {
    /// Concurrent client connections.
    #[arg(long, default_value_t = 4, value_name = "N")]
    pub clients: usize,
    /// Commands to send in all.
    #[arg(long, default_value_t = 1_000_000, value_name = "N")]
    pub commands: u64,
}

#[derive(Debug, Args)]
pub struct AttestArgs {
    /// The firmware image (`make firmware`).
    #[arg(long, value_name = "IMAGE")]
    pub firmware: PathBuf,
    /// The nonce, hex (configfs-tsm's inblob; up to 4096 bytes).
    #[arg(long, value_name = "HEX")]
    pub nonce: String,
    /// SVSM_ATTEST_SERVICES (the services manifest) instead of the vTPM service alone, whose
    /// manifest is the EK's TPMT_PUBLIC.
    #[arg(long)]
    pub all_services: bool,
    /// Where to write the 1184-byte ATTESTATION_REPORT.
    #[arg(long, value_name = "FILE")]
    pub report: PathBuf,
    /// Where to write the manifest.
    #[arg(long, value_name = "FILE")]
    pub manifest: PathBuf,
    /// QEMU binary [default: $QEMU, else qemu-system-x86_64].
    #[arg(long, value_name = "PATH")]
    pub qemu: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StartupType {
    /// TPM2_Startup(TPM_SU_CLEAR).
    Clear,
}

fn parse_ctrl(s: &str) -> Result<PathBuf, String> {
    match s.strip_prefix("unix:") {
        Some(p) if !p.is_empty() => Ok(PathBuf::from(p)),
        _ => Err("expected unix:PATH".into()),
    }
}

#[derive(Debug, Args)]
#[group(skip)]
#[command(group(ArgGroup::new("target").required(true)))]
pub struct BenchArgs {
    /// Target speaks the MS simulator protocol (platform port PORT+1 gets POWER_ON, NV_ON).
    #[arg(long, value_name = "HOST:PORT", group = "target")]
    pub mssim: Option<String>,
    /// Target speaks swtpm's socket protocol (raw commands on the data port).
    #[arg(long, value_name = "HOST:PORT", group = "target")]
    pub swtpm: Option<String>,
    /// Timed rounds of the mix.
    #[arg(long, default_value_t = 1000, value_name = "N")]
    pub iterations: usize,
    /// Untimed rounds first.
    #[arg(long, default_value_t = 50, value_name = "N")]
    pub warmup: usize,
    /// Send TPM2_Startup(CLEAR) before the mix (its result is reported, not required).
    #[arg(long)]
    pub startup: bool,
    /// Which mix: `fast` (issue 3's fast path), `keys` (primaries from tpm2-tools templates,
    /// Create, Load, Sign, Quote, salted session, contexts, NV) or `primaries` (first-time
    /// primaries, a new `unique` each).
    #[arg(long, value_enum, default_value_t = MixKind::Fast)]
    pub mix: MixKind,
    /// With `--mix keys|primaries`: RSA-2048 CreatePrimary runs in every N-th round only.
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub rsa_period: usize,
    /// Name of the target in the output [default: its URL, e.g. swtpm://HOST:PORT].
    #[arg(long)]
    pub label: Option<String>,
}

/// The command mixes `evtpm bench` can time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MixKind {
    Fast,
    Keys,
    Primaries,
}

#[derive(Debug, Args)]
#[group(skip)]
#[command(group(ArgGroup::new("proto").required(true)))]
pub struct EchoArgs {
    /// Address to listen on (port 0: any free port).
    #[arg(long, value_name = "HOST:PORT")]
    pub listen: String,
    /// Speak swtpm's socket protocol (data PORT, control PORT+1).
    #[arg(long, group = "proto")]
    pub swtpm: bool,
    /// Speak the MS simulator protocol (command PORT, platform PORT+1).
    #[arg(long, group = "proto")]
    pub mssim: bool,
}

#[derive(Debug, Args)]
pub struct SuiteArgs {
    /// Timed rounds of the fast-path mix.
    #[arg(long, default_value_t = 2000, value_name = "N")]
    pub iterations: usize,
    /// Untimed rounds of the fast-path mix first.
    #[arg(long, default_value_t = 100, value_name = "N")]
    pub warmup: usize,
    /// Timed rounds of each key mix (keys, first-time primaries).
    #[arg(long, default_value_t = 1000, value_name = "N")]
    pub keys_iterations: usize,
    /// Untimed rounds of each key mix first.
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub keys_warmup: usize,
    /// Timed samples of each RSA-2048 CreatePrimary step: it runs in every
    /// (keys-iterations / N)-th round only.
    #[arg(long, default_value_t = 50, value_name = "N")]
    pub rsa_iterations: usize,
    /// swtpm binary to compare with.
    #[arg(long, default_value = "swtpm", value_name = "PATH")]
    pub swtpm_bin: PathBuf,
    /// Rounds each target runs in a row in the steady-state run of the fast-path mix (the
    /// targets take turns block by block, so each server stays warm as with a client that has
    /// its TPM to itself); 0 skips that run.
    #[arg(long, default_value_t = 100, value_name = "N")]
    pub block: usize,
    /// Start the three servers on CPU N (`taskset -c N`) while this client stays where it was
    /// started: every round trip then wakes a server on another CPU, as for a client and a TPM
    /// that each have a CPU (pin the client with `taskset` or `BENCH_CPU`).
    #[arg(long, value_name = "N")]
    pub server_cpu: Option<usize>,
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Verify(a) = &cli.command {
        return crate::verify::cmd::run(a);
    }
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let result = match cli.command {
        Command::Serve(a) => serve(a),
        Command::BenchEcho(a) => echo(a),
        Command::Bench(a) => bench_one(a),
        Command::BenchSuite(a) => bench::suite::run(&a),
        Command::Attest(a) => attest(a),
        Command::Measure(a) => measure(a),
        Command::Igvm(a) => igvm(a),
        Command::Launch(a) => launch(a),
        Command::Soak(a) => crate::soak::run(a.clients, a.commands).map(|line| println!("{line}")),
        Command::Verify(_) => Ok(()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            log::error!("{e}");
            ExitCode::FAILURE
        }
    }
}

fn serve(a: ServeArgs) -> Result<(), String> {
    let opts = Options {
        mssim: a.mssim,
        swtpm: a.swtpm,
        ctrl_unix: a.ctrl,
        startup_clear: a.startup == Some(StartupType::Clear),
        max_connections: a.max_connections,
        deadlines: Deadlines {
            frame: Duration::from_millis(a.frame_timeout_ms.max(1)),
            idle: a.idle_timeout.map(Duration::from_secs),
        },
    };
    if let Some(image) = a.firmware {
        let mut fw = FirmwareOptions::new(image);
        if let Some(q) = a.qemu {
            fw.qemu = q;
        }
        fw.log = a.firmware_log;
        let firmware =
            Firmware::start(&fw).map_err(|e| format!("cannot start the firmware: {e}"))?;
        return run_server(&opts, Box::new(firmware));
    }
    let mut tpm = vtpm::Tpm::manufacture(vtpm::Config::default(), HostPlatform::new())
        .map_err(|e| format!("cannot manufacture the TPM: {e:?}"))?;
    if a.ek {
        let mut report_id = [0u8; 32];
        getrandom::getrandom(&mut report_id).map_err(|e| format!("no entropy: {e}"))?;
        let psp = Box::new(svsm::platform::test_psp::TestPsp::new(report_id));
        tpm = svsm::service::VtpmService::new(tpm, psp)
            .map_err(|e| format!("cannot provision the EKs: {e:?}"))?
            .tpm;
        log::info!(
            "EKs at 0x81010001 (RSA-2048) and 0x81010002 (ECC P-256), EK certificates at NV \
             0x01C00002 and 0x01C0000A (reports signed with the qemu-test TEST key)"
        );
    }
    run_server(&opts, Box::new(tpm))
}

fn parse_number(s: &str, what: &str) -> Result<u64, String> {
    let r = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16),
        None => s.parse(),
    };
    r.map_err(|_| format!("{what}: {s:?} is not a number"))
}

fn read(p: &std::path::Path) -> Result<Vec<u8>, String> {
    std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()))
}

fn measure(a: MeasureArgs) -> Result<(), String> {
    use crate::measure;
    if let Some(p) = &a.igvm {
        let digest = crate::igvm::measure(&read(p)?, a.vcpus)?;
        println!("{}", crate::verify::hex::encode(&digest));
        return Ok(());
    }
    let sig = match (&a.vcpu_type, &a.vcpu_sig) {
        (Some(t), _) => {
            measure::vcpu_signature(t).ok_or_else(|| format!("--vcpu-type: unknown model {t:?}"))?
        }
        (None, Some(s)) => u32::try_from(parse_number(s, "--vcpu-sig")?)
            .map_err(|_| String::from("--vcpu-sig: above 32 bits"))?,
        (None, None) => return Err("--vcpu-type or --vcpu-sig is required".into()),
    };
    let features = parse_number(&a.guest_features, "--guest-features")?;
    let ovmf_path = a.ovmf.as_deref().ok_or("--ovmf is required")?;
    let ovmf = measure::Ovmf::parse(read(ovmf_path)?)
        .map_err(|e| format!("{}: {e}", ovmf_path.display()))?;
    let digest = match &a.image {
        Some(p) => {
            let image = std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()))?;
            measure::evtpm_launch(&image, &ovmf, a.vcpus, sig)?
        }
        None => measure::ovmf_launch(&ovmf, a.vcpus, sig, features)?,
    };
    println!("{}", crate::verify::hex::encode(&digest));
    Ok(())
}

fn igvm(a: IgvmArgs) -> Result<(), String> {
    use crate::{igvm, measure};
    let sig = measure::vcpu_signature(&a.vcpu_type)
        .ok_or_else(|| format!("--vcpu-type: unknown model {:?}", a.vcpu_type))?;
    let ovmf =
        measure::Ovmf::parse(read(&a.ovmf)?).map_err(|e| format!("{}: {e}", a.ovmf.display()))?;
    let o = igvm::Options {
        max_vcpus: a.max_vcpus,
        vcpu_sig: sig,
    };
    let image = read(&a.image)?;
    let file = igvm::build(&image, &ovmf, &o)?;
    if let Err(why) = measure::launch_check(&image, &ovmf) {
        eprintln!(
            "warning: {}: {why}; the SVSM will refuse to launch it at VMPL1 (use an OVMF built \
             with SVSM support, OvmfPkg/AmdSev)",
            a.ovmf.display()
        );
    }
    std::fs::write(&a.output, &file).map_err(|e| format!("{}: {e}", a.output.display()))?;
    println!(
        "{}: {} bytes, SEV-SNP, up to {} vCPUs of {}, guest policy {:#x}",
        a.output.display(),
        file.len(),
        a.max_vcpus,
        a.vcpu_type,
        igvm::GUEST_POLICY
    );
    for n in 1..=a.max_vcpus.min(4) {
        let digest = igvm::measure(&file, n)?;
        println!(
            "MEASUREMENT ({n} vCPU{}): {}",
            if n == 1 { "" } else { "s" },
            crate::verify::hex::encode(&digest)
        );
    }
    Ok(())
}

/// The QEMU arguments of an SNP launch of an IGVM file (see `evtpm launch --help`).
pub fn launch_command(a: &LaunchArgs) -> Vec<String> {
    let mut v: Vec<String> = [
        "-enable-kvm",
        "-cpu",
        &a.vcpu_type,
        "-smp",
        &a.vcpus.to_string(),
        "-m",
        &format!("{}M", a.memory),
        "-machine",
        "q35,confidential-guest-support=sev0,memory-backend=ram0,igvm-cfg=igvm0",
        "-object",
        &format!(
            "memory-backend-memfd,id=ram0,size={}M,share=true,prealloc=false,reserve=false",
            a.memory
        ),
        "-object",
        &format!(
            "sev-snp-guest,id=sev0,cbitpos={},reduced-phys-bits={}",
            a.cbitpos, a.reduced_phys_bits
        ),
        "-object",
        &format!("igvm-cfg,id=igvm0,file={}", a.igvm.display()),
        "-nographic",
        "-vga",
        "none",
        "-no-reboot",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let mut add = |k: &str, val: String| {
        v.push(k.into());
        v.push(val);
    };
    if let Some(k) = &a.kernel {
        add("-kernel", k.display().to_string());
    }
    if let Some(i) = &a.initrd {
        add("-initrd", i.display().to_string());
    }
    if let Some(c) = &a.append {
        add("-append", c.clone());
    }
    if let Some(d) = &a.disk {
        add(
            "-drive",
            format!("file={},if=none,id=disk0,format=qcow2", d.display()),
        );
        add(
            "-device",
            "virtio-scsi-pci,id=scsi0,disable-legacy=on,iommu_platform=on".into(),
        );
        add("-device", "scsi-hd,drive=disk0,bootindex=0".into());
    }
    v
}

fn launch(a: LaunchArgs) -> Result<(), String> {
    let file = read(&a.igvm)?;
    let s = crate::igvm::summary(&file)?;
    if a.vcpus == 0 || a.vcpus > s.max_vcpus {
        return Err(format!(
            "--vcpus {}: the file has VP contexts for 1 to {} vCPUs",
            a.vcpus, s.max_vcpus
        ));
    }
    if a.vcpus as usize > svsm::cpu::percpu::MAX_CPUS {
        // The firmware has a CPU slot (stack, GHCB page, request loop) for this many vCPUs
        // (svsm/src/cpu/percpu.rs); the others would never run guest code.
        return Err(format!(
            "--vcpus {}: the SVSM serves at most {} vCPUs",
            a.vcpus,
            svsm::cpu::percpu::MAX_CPUS
        ));
    }
    let digest = crate::igvm::measure(&file, a.vcpus)?;
    let qemu = a
        .qemu
        .clone()
        .or_else(|| std::env::var_os("QEMU").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("qemu-system-x86_64"));
    let args = launch_command(&a);
    eprintln!(
        "expected MEASUREMENT: {}",
        crate::verify::hex::encode(&digest)
    );
    if !a.run {
        let quoted: Vec<String> = args.iter().map(|x| shell_quote(x)).collect();
        println!(
            "{} {}",
            shell_quote(&qemu.display().to_string()),
            quoted.join(" ")
        );
        return Ok(());
    }
    let status = std::process::Command::new(&qemu)
        .args(&args)
        .status()
        .map_err(|e| format!("{}: {e}", qemu.display()))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{} exited with {status}", qemu.display()))
    }
}

fn shell_quote(s: &str) -> String {
    if s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-_=,./:+@%".contains(&b))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

fn attest(a: AttestArgs) -> Result<(), String> {
    let nonce = crate::verify::hex::decode(&a.nonce).map_err(|e| format!("--nonce: {e}"))?;
    let mut fw = FirmwareOptions::new(a.firmware);
    if let Some(q) = a.qemu {
        fw.qemu = q;
    }
    let mut firmware =
        Firmware::start(&fw).map_err(|e| format!("cannot start the firmware: {e}"))?;
    let (report, manifest) = firmware
        .attest(&nonce, a.all_services)
        .map_err(|e| format!("attestation call: {e}"))?;
    std::fs::write(&a.report, &report).map_err(|e| format!("{}: {e}", a.report.display()))?;
    std::fs::write(&a.manifest, &manifest).map_err(|e| format!("{}: {e}", a.manifest.display()))?;
    log::info!(
        "report ({} bytes) in {}, manifest ({} bytes) in {}",
        report.len(),
        a.report.display(),
        manifest.len(),
        a.manifest.display()
    );
    Ok(())
}

fn echo(a: EchoArgs) -> Result<(), String> {
    let opts = Options {
        mssim: a.mssim.then(|| a.listen.clone()),
        swtpm: a.swtpm.then(|| a.listen.clone()),
        ctrl_unix: None,
        startup_clear: false,
        max_connections: 64,
        deadlines: Deadlines {
            frame: Duration::from_secs(5),
            idle: None,
        },
    };
    run_server(&opts, Box::new(Echo))
}

fn run_server(opts: &Options, backend: Box<dyn Backend>) -> Result<(), String> {
    let server = Server::bind(opts, backend).map_err(|e| format!("cannot listen: {e}"))?;
    let line = server.listening_line();
    log::info!("{line}");
    {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        writeln!(out, "{line}")
            .and_then(|_| out.flush())
            .map_err(|e| e.to_string())?;
    }
    server.run().map_err(|e| e.to_string())?;
    Ok(())
}

fn bench_one(a: BenchArgs) -> Result<(), String> {
    let target = match (a.mssim, a.swtpm) {
        (Some(m), _) => Target::Mssim(m),
        (_, Some(s)) => Target::Swtpm(s),
        _ => return Err("give --mssim or --swtpm".into()),
    };
    let label = a.label.unwrap_or_else(|| target.to_string());
    let mix: Box<dyn bench::Mix> = match a.mix {
        MixKind::Fast => Box::new(bench::commands::FastMix::new()),
        MixKind::Keys => {
            Box::new(bench::keys::KeysMix::new(a.rsa_period).map_err(|e| e.to_string())?)
        }
        MixKind::Primaries => {
            Box::new(bench::keys::PrimariesMix::new(a.rsa_period).map_err(|e| e.to_string())?)
        }
    };
    let report = bench::run(&target, mix, a.iterations, a.warmup, a.startup)
        .map_err(|e| format!("{target}: {e}"))?;
    print!("{}", report.table(&label));
    println!("{}", report.json(&label));
    Ok(())
}
