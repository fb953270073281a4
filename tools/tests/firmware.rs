//! `evtpm serve --firmware`: the SVSM firmware under QEMU, driven by tpm2-tools, and the
//! firmware's SVSM dispatch reached directly through the qemu-test link with hostile input.
//!
//! Builds nothing: `EVTPM_FIRMWARE` names the image (`make firmware` builds
//! `target/x86_64-unknown-none/firmware/svsm`). Without it, or without QEMU or tpm2-tools,
//! each test says so and passes vacuously.

mod common;
use common::*;
use evtpm::serve::firmware::{BridgeError, Firmware, FirmwareOptions};
use std::path::PathBuf;
use std::process::Command;
use svsm::mm::guest::GuestMemError;
use svsm::platform::qemu_test::Status;
use svsm::protocol::{Registers, SvsmError};

fn image() -> Option<PathBuf> {
    let Some(p) = std::env::var_os("EVTPM_FIRMWARE") else {
        eprintln!("EVTPM_FIRMWARE unset: skipping (make firmware; EVTPM_FIRMWARE=target/x86_64-unknown-none/firmware/svsm)");
        return None;
    };
    let qemu = std::env::var("QEMU").unwrap_or_else(|_| "qemu-system-x86_64".into());
    if !have(&qemu) {
        eprintln!("{qemu} not found: skipping");
        return None;
    }
    let p = PathBuf::from(p);
    assert!(p.is_file(), "EVTPM_FIRMWARE={} does not exist", p.display());
    Some(p)
}

fn tpm2(srv: &Server, args: &[&str]) -> String {
    let tcti = format!("mssim:host=127.0.0.1,port={}", srv.addr("mssim").port());
    let out = Command::new(args[0])
        .args(&args[1..])
        .env("TPM2TOOLS_TCTI", tcti)
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", args[0]));
    assert!(
        out.status.success(),
        "{args:?}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn tpm2_tools_talk_to_the_firmware_through_svsm_vtpm_cmd() {
    let Some(image) = image() else { return };
    if !have("tpm2_startup") {
        eprintln!("tpm2-tools not found: skipping");
        return;
    }
    let image = image.to_str().expect("utf-8 path").to_owned();
    let srv = Server::start(&["serve", "--mssim", "127.0.0.1:0", "--firmware", &image]);
    tpm2(&srv, &["tpm2_startup", "-c"]);
    let random = tpm2(&srv, &["tpm2_getrandom", "--hex", "8"]);
    assert_eq!(random.trim().len(), 16, "{random:?}");
    let digest = "31f981e000de82cc18c540702db02f9e70d9b6ac671243e63276a697b1cece62";
    tpm2(&srv, &["tpm2_pcrextend", &format!("16:sha256={digest}")]);
    let pcr = tpm2(&srv, &["tpm2_pcrread", "sha256:16"]);
    // PCR 16 starts at zero: extended once, it is SHA-256(0^32 || digest).
    let mut data = vec![0u8; 32];
    data.extend(hex_decode(digest));
    let want = sha256_hex(&data);
    assert!(
        pcr.to_lowercase().contains(&want),
        "pcrread: {pcr}\nwanted 0x{want}"
    );
}

fn hex_decode(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn sha256_hex(data: &[u8]) -> String {
    let out = Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(data)?;
            c.wait_with_output()
        })
        .expect("sha256sum");
    String::from_utf8_lossy(&out.stdout)[..64].to_owned()
}

fn start() -> Option<Firmware> {
    let image = image()?;
    Some(Firmware::start(&FirmwareOptions::new(image)).expect("firmware boots"))
}

fn rax(fw: &mut Firmware, protocol: u32, call: u32, rcx: u64) -> u64 {
    fw.call(Registers {
        rax: Registers::request(protocol, call),
        rcx,
        ..Default::default()
    })
    .expect("call")
    .rax
}

#[test]
fn the_firmware_refuses_hostile_calls_with_the_spec_codes() {
    let Some(mut fw) = start() else { return };
    let page = 0x20_0000u64;
    // vTPM query, and a command through the page.
    let r = fw
        .call(Registers {
            rax: Registers::request(2, 0),
            ..Default::default()
        })
        .unwrap();
    assert_eq!((r.rax, r.rcx, r.rdx), (0, 1 << 8, 0));
    let mut rsp = [0u8; 4096];
    let n = fw
        .send_command(0, &STARTUP_CLEAR, &mut rsp)
        .expect("startup");
    assert_eq!(check_response(&rsp[..n]), 0);

    // Locality 1, an oversized size field, a bad platform command: INVALID_PARAMETER.
    for (locality, size, command) in [(1u8, 12u32, 8u32), (0, 4088, 8), (0, 12, 9)] {
        let mut req = command.to_le_bytes().to_vec();
        req.push(locality);
        req.extend(size.to_le_bytes());
        req.extend(GET_RANDOM_8);
        fw.write(page, &req).unwrap();
        assert_eq!(
            rax(&mut fw, 2, 1, page),
            SvsmError::InvalidParameter.code(),
            "locality {locality}, size {size}, command {command}"
        );
        assert_eq!(
            fw.read(page, req.len() as u32).unwrap(),
            req,
            "page untouched"
        );
    }
    // Bad GPAs: unaligned, the firmware image (16 MiB), beyond guest RAM.
    assert_eq!(
        rax(&mut fw, 2, 1, page + 8),
        SvsmError::InvalidParameter.code()
    );
    assert_eq!(
        rax(&mut fw, 2, 1, 0x100_0000),
        SvsmError::InvalidAddress.code()
    );
    assert_eq!(
        rax(&mut fw, 2, 1, 0x1000_0000),
        SvsmError::InvalidAddress.code()
    );
    // Unknown protocol and calls; an attestation request at a GPA the guest cannot name.
    assert_eq!(rax(&mut fw, 7, 0, 0), SvsmError::UnsupportedProtocol.code());
    assert_eq!(rax(&mut fw, 2, 9, 0), SvsmError::UnsupportedCall.code());
    assert_eq!(rax(&mut fw, 1, 2, 0), SvsmError::UnsupportedCall.code());
    assert_eq!(rax(&mut fw, 1, 0, 0), SvsmError::InvalidAddress.code());
    assert_eq!(
        rax(&mut fw, 1, 1, 0x100_0000),
        SvsmError::InvalidAddress.code()
    );
    // QUERY_PROTOCOL: core v1 and vTPM v1 served.
    let q = |fw: &mut Firmware, p: u64, v: u64| {
        fw.call(Registers {
            rax: Registers::request(0, 6),
            rcx: (p << 32) | v,
            ..Default::default()
        })
        .unwrap()
        .rcx
    };
    assert_eq!(q(&mut fw, 0, 1), (1 << 32) | 1);
    assert_eq!(q(&mut fw, 2, 1), (1 << 32) | 1);
    assert_eq!(q(&mut fw, 1, 1), (1 << 32) | 1);
    // The host, playing the guest, cannot write the SVSM's memory either.
    match fw.write(0x100_0000, &[0xcc]) {
        Err(BridgeError::Status(s, p)) => {
            assert_eq!(s, Status::Memory as u8);
            assert_eq!(p, [GuestMemError::SvsmOwned.code()]);
        }
        other => panic!("write into the image: {other:?}"),
    }
    // Still serving.
    let n = fw
        .send_command(0, &GET_RANDOM_8, &mut rsp)
        .expect("getrandom");
    assert_eq!(check_response(&rsp[..n]), 0);
}

/// `evtpm verify ARGS`: (exit code, stdout).
fn verify(args: &[&str]) -> (i32, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_evtpm"))
        .arg("verify")
        .args(args)
        .output()
        .expect("evtpm verify");
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
    )
}

#[test]
fn the_attestation_protocol_binds_the_nonce_and_the_ek_the_tpm_holds() {
    use evtpm::verify::{ek, hex, report::offset};
    let Some(mut fw) = start() else { return };
    let nonce: Vec<u8> = (0..64u8).map(|i| i.wrapping_mul(37) ^ 0x5A).collect();
    let (report, manifest) = fw
        .attest(&nonce, false)
        .expect("SVSM_ATTEST_SINGLE_SERVICE");
    assert_eq!(report.len(), offset::SIZE);
    assert_eq!(
        &report[offset::REPORT_DATA..offset::REPORT_DATA + 64],
        &ek::binding_digest(&nonce, &manifest)[..]
    );
    // The manifest is the EK at 0x81010001, as TPM2_ReadPublic gives it to the guest.
    let mut rsp = [0u8; 4096];
    let n = fw.send_command(0, &STARTUP_CLEAR, &mut rsp).unwrap();
    assert_eq!(check_response(&rsp[..n]), 0);
    let read_public = [
        0x80, 0x01, 0, 0, 0, 14, 0, 0, 0x01, 0x73, 0x81, 0x01, 0x00, 0x01,
    ];
    let n = fw.send_command(0, &read_public, &mut rsp).unwrap();
    assert_eq!(check_response(&rsp[..n]), 0, "ReadPublic 0x81010001");
    let size = u16::from_be_bytes([rsp[10], rsp[11]]) as usize;
    assert_eq!(&rsp[12..12 + size], &manifest[..]);

    // evtpm verify: passes with the nonce and the test root, fails with another nonce.
    let dir = std::env::temp_dir().join(format!("evtpm-attest-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (r, m) = (dir.join("report"), dir.join("manifest"));
    std::fs::write(&r, &report).unwrap();
    std::fs::write(&m, &manifest).unwrap();
    let (r, m) = (r.to_str().unwrap(), m.to_str().unwrap());
    let good = hex::encode(&nonce);
    let base = ["--report", r, "--ek", m, "--allow-test-root", "--nonce"];
    let (code, out) = verify(&[&base[..], &[good.as_str()]].concat());
    assert_eq!(code, 0, "{out}");
    let (code, out) = verify(&[&base[..], &["00"]].concat());
    assert!(code != 0 && out.contains("FAIL binding"), "{out}");

    // SVSM_ATTEST_SERVICES: the services manifest lists the vTPM with the same EK.
    let (report, services) = fw.attest(&nonce, true).expect("SVSM_ATTEST_SERVICES");
    assert_eq!(
        &report[offset::REPORT_DATA..offset::REPORT_DATA + 64],
        &ek::binding_digest(&nonce, &services)[..]
    );
    let le32 = |at: usize| u32::from_le_bytes(services[at..at + 4].try_into().unwrap()) as usize;
    assert_eq!((le32(16), le32(20)), (services.len(), 1));
    assert_eq!(
        &services[24..40],
        &svsm::protocol::attest::VTPM_SERVICE_GUID.0
    );
    assert_eq!(&services[le32(40)..le32(40) + le32(44)], &manifest[..]);
    let _ = std::fs::remove_dir_all(&dir);
}

/// `TPM2_CreatePrimary` of an RSA-2048 storage key in the owner hierarchy (password session,
/// empty auth) whose `unique` field is `unique`: a fresh key generation every time.
fn create_primary_rsa(unique: &[u8; 32]) -> Vec<u8> {
    let mut public = Vec::new();
    public.extend_from_slice(&0x0001u16.to_be_bytes()); // TPM_ALG_RSA
    public.extend_from_slice(&0x000Bu16.to_be_bytes()); // nameAlg SHA-256
    public.extend_from_slice(&0x0003_0072u32.to_be_bytes()); // restricted decrypt, fixed
    public.extend_from_slice(&0u16.to_be_bytes()); // authPolicy
    public.extend_from_slice(&[0x00, 0x06, 0x00, 0x80, 0x00, 0x43]); // AES-128-CFB
    public.extend_from_slice(&0x0010u16.to_be_bytes()); // scheme NULL
    public.extend_from_slice(&2048u16.to_be_bytes());
    public.extend_from_slice(&0u32.to_be_bytes()); // exponent 65537
    public.extend_from_slice(&32u16.to_be_bytes());
    public.extend_from_slice(unique);
    let mut c = Vec::new();
    c.extend_from_slice(&0x8002u16.to_be_bytes());
    c.extend_from_slice(&0u32.to_be_bytes()); // size, below
    c.extend_from_slice(&0x0000_0131u32.to_be_bytes()); // TPM_CC_CreatePrimary
    c.extend_from_slice(&0x4000_0001u32.to_be_bytes()); // TPM_RH_OWNER
    c.extend_from_slice(&9u32.to_be_bytes());
    c.extend_from_slice(&[0x40, 0, 0, 0x09, 0, 0, 0x01, 0, 0]); // TPM_RS_PW
    c.extend_from_slice(&[0, 4, 0, 0, 0, 0]); // inSensitive
    c.extend_from_slice(&(public.len() as u16).to_be_bytes());
    c.extend_from_slice(&public);
    c.extend_from_slice(&[0, 0, 0, 0, 0, 0]); // outsideInfo, creationPCR
    let n = c.len() as u32;
    c[2..6].copy_from_slice(&n.to_be_bytes());
    c
}

/// `CALL_ON` payload: the vCPU, then the registers.
fn call_on(vcpu: u8, regs: Registers) -> Vec<u8> {
    let mut p = vec![vcpu];
    for r in [regs.rax, regs.rcx, regs.rdx, regs.r8, regs.r9] {
        p.extend_from_slice(&r.to_le_bytes());
    }
    p
}

/// Under `-smp 2`, the second vCPU generates an RSA-2048 key (`SVSM_VTPM_CMD`, holding the
/// engine) while the first serves calls that need no engine: every one of those is answered
/// before the key generation ends. What SEV-SNP's per-vCPU request loops rely on, run here on
/// the real firmware with QEMU's multi-threaded TCG.
#[test]
fn a_vtpm_command_on_one_vcpu_stalls_no_other_vcpu() {
    use svsm::platform::qemu_test::{ap_calling_area, kind, INITIAL_CAA};
    use svsm::protocol::vtpm::SVSM_VTPM_CMD;
    use tpm_proto::framing::svsm as wire;
    let Some(image) = image() else { return };
    let mut opts = FirmwareOptions::new(image);
    opts.smp = 2;
    let mut fw = Firmware::start(&opts).expect("firmware boots");
    let log = std::fs::read_to_string(fw.log_path()).unwrap_or_default();
    assert!(log.contains("1 serving"), "{log}");
    let mut rsp = vec![0u8; 4096];
    let n = fw
        .send_command(0, &[0x80, 1, 0, 0, 0, 12, 0, 0, 1, 0x44, 0, 0], &mut rsp)
        .expect("Startup");
    assert_eq!(&rsp[6..n], &[0, 0, 0, 0], "TPM2_Startup(CLEAR)");

    // vCPU 1: CreatePrimary RSA-2048 with a unique field no earlier run used.
    let page: u64 = 0x40_0000;
    let mut unique = [0u8; 32];
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    unique[..16].copy_from_slice(&nanos.to_le_bytes());
    let mut req = vec![0u8; wire::PAGE_SIZE];
    wire::write_request(&mut req, 0, &create_primary_rsa(&unique)).unwrap();
    fw.write(page, &req).unwrap();
    fw.write(ap_calling_area(1), &[1]).unwrap();
    let t0 = std::time::Instant::now();
    let keygen = fw
        .post(
            kind::CALL_ON,
            &call_on(
                1,
                Registers {
                    rax: Registers::request(2, SVSM_VTPM_CMD),
                    rcx: page,
                    ..Default::default()
                },
            ),
        )
        .unwrap();

    // vCPU 0, meanwhile: set call_pending, QUERY_PROTOCOL (vTPM v1), five times.
    let mut order = Vec::new();
    let mut mine = Vec::new();
    for _ in 0..5 {
        let mut w = INITIAL_CAA.to_le_bytes().to_vec();
        w.push(1);
        mine.push(fw.post(kind::WRITE, &w).unwrap());
        let query = Registers {
            rax: Registers::request(0, 6),
            rcx: (2 << 32) | 1,
            ..Default::default()
        };
        mine.push(fw.post(kind::CALL_ON, &call_on(0, query)).unwrap());
    }
    let mut vcpu0_done = None;
    let mut keygen_frame = None;
    while keygen_frame.is_none() {
        let f = fw.receive().expect("a response");
        order.push(f.seq);
        if f.seq == keygen {
            keygen_frame = Some((f, t0.elapsed()));
        } else {
            assert_eq!(f.status, Status::Ok as u8, "vCPU 0's frame {}", f.seq);
            if f.kind == kind::CALL_ON {
                assert_eq!(u64::from_le_bytes(f.payload[..8].try_into().unwrap()), 0);
                assert_eq!(
                    u64::from_le_bytes(f.payload[8..16].try_into().unwrap()),
                    (1 << 32) | 1,
                    "vTPM protocol v1"
                );
            }
            if order.len() == mine.len() {
                vcpu0_done = Some(t0.elapsed());
            }
        }
    }
    let (f, keygen_time) = keygen_frame.unwrap();
    assert_eq!(
        &order[..mine.len()],
        &mine[..],
        "vCPU 0 was answered in full before vCPU 1's key generation ended"
    );
    assert_eq!(f.status, Status::Ok as u8);
    assert_eq!(u64::from_le_bytes(f.payload[..8].try_into().unwrap()), 0);
    eprintln!(
        "vCPU 0: 10 frames answered in {:?}; vCPU 1: RSA-2048 CreatePrimary in {keygen_time:?}",
        vcpu0_done.unwrap()
    );
    let mut out = Vec::new();
    for at in (0..4096).step_by(2048) {
        out.extend(fw.read(page + at, 2048).unwrap());
    }
    let tpm = wire::parse_response(&out).expect("response page");
    assert_eq!(&tpm[6..10], &[0, 0, 0, 0], "CreatePrimary succeeded");
    assert!(tpm.len() > 256 + 10, "an RSA-2048 public area");
}
