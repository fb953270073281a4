//! `evtpm igvm`, `evtpm measure --igvm` and `evtpm launch` on the real firmware
//! (`EVTPM_FIRMWARE`, set by `make test`) with Debian's OVMF as the guest firmware:
//!
//! * the IGVM file's launch MEASUREMENT, for every vCPU count it allows, equals the one
//!   computed from the ELF and the OVMF image with no IGVM code (`evtpm measure IMAGE`), and,
//!   with as many vCPUs as VP contexts, the `igvm` crate's own SNP measurement;
//! * the file declares the SNP platform, the guest policy and its VP contexts;
//! * `evtpm launch` prints the SNP QEMU command line with that MEASUREMENT and refuses more
//!   vCPUs than the file has contexts for.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const OVMF: &str = "/usr/share/OVMF/OVMF_CODE_4M.fd";

fn evtpm(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_evtpm"))
        .args(args)
        .output()
        .expect("run evtpm")
}

fn ok(args: &[&str]) -> String {
    let o = evtpm(args);
    assert!(
        o.status.success(),
        "evtpm {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn firmware() -> Option<PathBuf> {
    let Some(p) = std::env::var_os("EVTPM_FIRMWARE") else {
        eprintln!("EVTPM_FIRMWARE unset: skipping the IGVM tests (make test sets it)");
        return None;
    };
    assert!(
        Path::new(OVMF).is_file(),
        "{OVMF} missing: install Debian's ovmf package (make deps)"
    );
    Some(PathBuf::from(p))
}

#[test]
fn the_firmware_igvm_file_measures_as_the_elf_and_as_the_igvm_crate_computes() {
    let Some(fw) = firmware() else { return };
    let dir = std::env::temp_dir().join(format!("evtpm-igvm-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("evtpm.igvm");
    let (fw, file_s) = (fw.to_str().unwrap(), file.to_str().unwrap());
    let out = ok(&[
        "igvm",
        fw,
        "--ovmf",
        OVMF,
        "-o",
        file_s,
        "--max-vcpus",
        "3",
        "--vcpu-type",
        "EPYC-Milan",
    ]);
    assert!(out.contains("up to 3 vCPUs of EPYC-Milan"), "{out}");

    let bytes = std::fs::read(&file).unwrap();
    let summary = evtpm::igvm::summary(&bytes).unwrap();
    assert_eq!(summary.max_vcpus, 3);
    assert_eq!(summary.policy, Some(evtpm::igvm::GUEST_POLICY));

    for n in ["1", "2", "3"] {
        let from_igvm = ok(&["measure", "--igvm", file_s, "--vcpus", n]);
        let from_elf = ok(&[
            "measure",
            fw,
            "--ovmf",
            OVMF,
            "--vcpus",
            n,
            "--vcpu-type",
            "EPYC-Milan",
        ]);
        assert_eq!(from_igvm, from_elf, "{n} vCPUs");
        assert_eq!(from_igvm.trim().len(), 96);
        assert!(out.contains(from_igvm.trim()), "igvm printed {out}");
    }

    let f = igvm::IgvmFile::new_from_binary(&bytes, Some(igvm::IsolationType::Snp)).unwrap();
    let theirs = igvm::measurement::generate_snp_measurement(
        f.initializations(),
        f.directives(),
        evtpm::igvm::SNP_COMPAT,
    )
    .unwrap();
    let ours = ok(&["measure", "--igvm", file_s, "--vcpus", "3"]);
    assert_eq!(ours.trim(), evtpm::verify::hex::encode(&theirs));

    let o = evtpm(&[
        "launch",
        "--igvm",
        file_s,
        "--vcpus",
        "2",
        "--vcpu-type",
        "EPYC-Milan",
    ]);
    assert!(o.status.success());
    let line = String::from_utf8_lossy(&o.stdout);
    let err = String::from_utf8_lossy(&o.stderr);
    for want in [
        "-smp 2",
        "-cpu EPYC-Milan",
        "confidential-guest-support=sev0",
        "igvm-cfg=igvm0",
        "sev-snp-guest,id=sev0,cbitpos=51,reduced-phys-bits=1",
        &format!("igvm-cfg,id=igvm0,file={file_s}"),
        "memory-backend-memfd",
    ] {
        assert!(line.contains(want), "{want:?} missing from {line}");
    }
    let two = ok(&["measure", "--igvm", file_s, "--vcpus", "2"]);
    assert!(err.contains(two.trim()), "{err}");

    let o = evtpm(&["launch", "--igvm", file_s, "--vcpus", "4"]);
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("1 to 3 vCPUs"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
