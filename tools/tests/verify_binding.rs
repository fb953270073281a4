//! The EK binding, end to end with synthetic reports signed by the qemu-test root: the
//! `--ek` forms, the nonce, the evtpm EK certificate, and Keylime's `ek_check_script` mode.

use evtpm::verify::{ek, ek_cert, hex, pem, report::offset, test_root, BOOT_NONCE};
use sha2::{Digest, Sha512};
use std::path::{Path, PathBuf};
use std::process::Command;

const MEASUREMENT: [u8; 48] = [0x42; 48];

/// A scratch directory, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let p = std::env::temp_dir().join(format!("evtpm-verify-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Scratch(p)
    }
    fn file(&self, name: &str, data: &[u8]) -> String {
        let p = self.0.join(name);
        std::fs::write(&p, data).unwrap();
        p.to_str().unwrap().to_owned()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A fake RSA-2048 EK made from the L-1 template (the modulus need not be a real key: the
/// binding only hashes it).
fn fake_rsa_ek(seed: u8) -> Vec<u8> {
    let mut n = [0u8; 256];
    for (i, chunk) in n.chunks_mut(64).enumerate() {
        chunk.copy_from_slice(&Sha512::digest([seed, i as u8]));
    }
    n[0] |= 0x80;
    ek::template_l1(&n)
}

/// A real P-256 point (the generator's double), in the L-2 template.
fn fake_ecc_ek() -> Vec<u8> {
    let key = p256_point();
    ek::template_l2(&key.0, &key.1)
}

fn p256_point() -> ([u8; 32], [u8; 32]) {
    let x =
        hex::decode("7cf27b188d034f7e8a52380304b51ac3c08969e277f21b35a60b48fc47669978").unwrap();
    let y =
        hex::decode("07775510db8ed040293d9ac69f7430dbba7dade63ce982299e04b79d227873d1").unwrap();
    (x.try_into().unwrap(), y.try_into().unwrap())
}

/// A version-3 report as the qemu-test firmware would make it, binding `tpmt` with `nonce`.
fn test_report(tpmt: &[u8], nonce: &[u8], tweak: impl FnOnce(&mut [u8])) -> Vec<u8> {
    let mut r = vec![0u8; offset::SIZE];
    r[offset::VERSION..][..4].copy_from_slice(&3u32.to_le_bytes());
    r[offset::POLICY..][..8].copy_from_slice(&0x30000u64.to_le_bytes());
    r[offset::SIGNATURE_ALGO..][..4].copy_from_slice(&1u32.to_le_bytes());
    for at in [
        offset::CURRENT_TCB,
        offset::REPORTED_TCB,
        offset::COMMITTED_TCB,
        offset::LAUNCH_TCB,
    ] {
        r[at..at + 8].copy_from_slice(&test_root::REPORTED_TCB);
    }
    r[offset::REPORT_DATA..][..64].copy_from_slice(&ek::binding_digest(nonce, tpmt));
    r[offset::MEASUREMENT..][..48].copy_from_slice(&MEASUREMENT);
    r[offset::CPUID_FAM_ID] = 0x19;
    r[offset::CPUID_MOD_ID] = 0x01;
    r[offset::CPUID_STEP] = 0x01;
    r[offset::CHIP_ID..][..64].copy_from_slice(test_root::CHIP_ID);
    tweak(&mut r);
    let sig = test_root::test_root_sign(&r[..offset::SIGNATURE]).unwrap();
    r[offset::SIGNATURE..offset::SIGNATURE + 144].copy_from_slice(&sig);
    r
}

fn tpm2b(tpmt: &[u8]) -> Vec<u8> {
    let mut b = (tpmt.len() as u16).to_be_bytes().to_vec();
    b.extend_from_slice(tpmt);
    b
}

fn ek_pem(tpmt: &[u8]) -> String {
    let key = ek::parse_tpmt_public(tpmt, "test").unwrap().key;
    pem::encode("PUBLIC KEY", &ek::spki_der(&key).unwrap())
}

fn test_root_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/snp/test-root")
}

fn evtpm(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_evtpm"))
        .arg("verify")
        .args(args)
        .output()
        .expect("run evtpm");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

fn failed(out: &str) -> Vec<&str> {
    out.lines()
        .filter_map(|l| l.strip_prefix("FAIL "))
        .filter_map(|l| l.split(':').next())
        .collect()
}

#[test]
fn binding_passes_with_the_test_root_and_fails_without_the_flag() {
    let s = Scratch::new("bind");
    let tpmt = fake_rsa_ek(1);
    let nonce = [0xA5u8; 32];
    let report = s.file("report.bin", &test_report(&tpmt, &nonce, |_| {}));
    let ek = s.file("ek.tpm2b", &tpm2b(&tpmt));
    let certs = test_root_dir();
    let m = hex::encode(&MEASUREMENT);
    let args = |extra: &[&str]| {
        let mut a = vec![
            "--report",
            &report,
            "--ek",
            &ek,
            "--certs",
            certs.to_str().unwrap(),
            "--nonce",
            "a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5",
            "--measurement",
            &m,
            "--min-tcb",
            "bl=3,tee=0,snp=8,ucode=115",
        ];
        a.extend_from_slice(extra);
        evtpm(&a)
    };
    let (code, out) = args(&["--allow-test-root"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("PASS chain: VCEK -> ASK -> ARK (evtpm qemu-test TEST root"),
        "{out}"
    );
    assert!(
        out.contains(
            "PASS binding: REPORT_DATA = SHA-512(nonce ‖ TPMT_PUBLIC) for the RSA-2048 EK"
        ),
        "{out}"
    );
    let (code, out) = args(&[]);
    assert_eq!(code, 1, "{out}");
    assert_eq!(failed(&out), ["chain"], "{out}");
    assert!(out.contains("qemu-test root (TEST KEY"), "{out}");
    // Naming the test ARK explicitly does not help either.
    let ark = certs.join("ark.pem");
    let (code, out) = args(&["--ark", ark.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("FAIL chain: chains to the evtpm qemu-test root"),
        "{out}"
    );
}

#[test]
fn binding_fails_for_another_ek_or_another_nonce() {
    let s = Scratch::new("bind-neg");
    let tpmt = fake_rsa_ek(1);
    let report = s.file("report.bin", &test_report(&tpmt, b"fresh", |_| {}));
    let vcek = test_root_dir().join("vcek.der");
    let run = |ek_bytes: &[u8], nonce: &str| {
        let ek = s.file("ek.bin", ek_bytes);
        evtpm(&[
            "--report",
            &report,
            "--vcek",
            vcek.to_str().unwrap(),
            "--allow-test-root",
            "--ek",
            &ek,
            "--nonce",
            nonce,
        ])
    };
    let fresh = hex::encode(b"fresh");
    let (code, out) = run(&tpmt, &fresh);
    assert_eq!(code, 0, "{out}");
    let (code, out) = run(&fake_rsa_ek(2), &fresh);
    assert_eq!((code, failed(&out)), (1, vec!["binding"]), "{out}");
    let (code, out) = run(&tpmt, &hex::encode(b"stale"));
    assert_eq!((code, failed(&out)), (1, vec!["binding"]), "{out}");
    let (code, out) = run(&tpmt, "");
    assert_eq!((code, failed(&out)), (1, vec!["binding"]), "{out}");
    let (code, out) = run(b"not an EK", &fresh);
    assert_eq!((code, failed(&out)), (1, vec!["binding"]), "{out}");
}

#[test]
fn a_public_key_ek_is_rebuilt_from_the_default_templates() {
    let s = Scratch::new("bind-pem");
    let vcek = test_root_dir().join("vcek.der");
    for tpmt in [fake_rsa_ek(3), fake_ecc_ek()] {
        let report = s.file("report.bin", &test_report(&tpmt, &[], |_| {}));
        for (name, bytes) in [
            ("ek.pem", ek_pem(&tpmt).into_bytes()),
            ("ek.tpmt", tpmt.clone()),
            ("ek.tpm2b", tpm2b(&tpmt)),
        ] {
            let ek = s.file(name, &bytes);
            let (code, out) = evtpm(&[
                "--report",
                &report,
                "--vcek",
                vcek.to_str().unwrap(),
                "--allow-test-root",
                "--ek",
                &ek,
            ]);
            assert_eq!(code, 0, "{name}: {out}");
            assert!(out.contains("PASS binding"), "{out}");
        }
    }
}

#[test]
fn the_evtpm_ek_certificate_carries_report_ek_and_chain() {
    let s = Scratch::new("ekcert");
    let tpmt = fake_rsa_ek(4);
    let report = test_report(&tpmt, &BOOT_NONCE, |_| {});
    let chain = ek_cert::Endorsements {
        vcek: Some(test_root::VCEK_DER),
        ask: Some(test_root::ASK_DER),
        ark: Some(test_root::ARK_DER),
        omit_tpmt_public: false,
    };
    let cert = ek_cert::build(&tpmt, &report, &chain).unwrap();
    let cert_path = s.file("ek.der", &cert);
    let pem_path = s.file("ek.pem", pem::encode("CERTIFICATE", &cert).as_bytes());
    for path in [&cert_path, &pem_path] {
        let (code, out) = evtpm(&["--ek-cert", path, "--allow-test-root"]);
        assert_eq!(code, 0, "{out}");
        assert!(
            out.contains("PASS ek-cert: key = RSA-2048; signed by the evtpm EK binding issuer"),
            "{out}"
        );
        assert!(out.contains("with the boot nonce (64 zero bytes)"), "{out}");
    }
    // The EK the TPM holds must be the certificate's.
    let other = s.file("other.tpm2b", &tpm2b(&fake_rsa_ek(5)));
    let (code, out) = evtpm(&["--ek-cert", &cert_path, "--allow-test-root", "--ek", &other]);
    assert_eq!(
        (code, failed(&out)),
        (1, vec!["ek-cert", "binding"]),
        "{out}"
    );
    let same = s.file("same.pem", ek_pem(&tpmt).as_bytes());
    let (code, out) = evtpm(&["--ek-cert", &cert_path, "--allow-test-root", "--ek", &same]);
    assert_eq!(code, 0, "{out}");
    // A nonce other than the boot nonce does not match the boot-time report.
    let (code, out) = evtpm(&[
        "--ek-cert",
        &cert_path,
        "--allow-test-root",
        "--nonce",
        "01",
    ]);
    assert_eq!((code, failed(&out)), (1, vec!["binding"]), "{out}");
    // Without embedded certificates, a report naming the test CHIP_ID is checked against the
    // built-in test chain with --allow-test-root, and refused without it; --certs supplies
    // the certificates as well.
    let bare = ek_cert::build(&tpmt, &report, &ek_cert::Endorsements::default()).unwrap();
    let bare_path = s.file("bare.der", &bare);
    let (code, out) = evtpm(&["--ek-cert", &bare_path, "--allow-test-root"]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = evtpm(&["--ek-cert", &bare_path]);
    assert_eq!(
        (code, failed(&out)),
        (1, vec!["chain", "signature", "vcek"]),
        "{out}"
    );
    assert!(out.contains("published TEST key"), "{out}");
    let certs = test_root_dir();
    let (code, out) = evtpm(&[
        "--ek-cert",
        &bare_path,
        "--allow-test-root",
        "--certs",
        certs.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}");
    // Not an evtpm EK certificate.
    let issuer = ek_cert::issuer_cert().unwrap();
    let (code, out) = evtpm(&["--ek-cert", &s.file("issuer.der", &issuer)]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("FAIL ek-cert: EK certificate: no SNP report extension"),
        "{out}"
    );
}

#[test]
fn hostile_ek_certificates_never_crash() {
    let tpmt = fake_ecc_ek();
    let report = test_report(&tpmt, &BOOT_NONCE, |_| {});
    let cert = ek_cert::build(&tpmt, &report, &ek_cert::Endorsements::default()).unwrap();
    for cut in 0..cert.len() {
        let _ = ek_cert::parse(&cert[..cut]);
    }
    // Each parse that gets as far as the issuer signature costs an ECDSA verification (slow
    // in debug builds): every 17th byte.
    for at in (0..cert.len()).step_by(17) {
        let mut bad = cert.clone();
        bad[at] ^= 0x80;
        let _ = ek_cert::parse(&bad);
    }
}

/// Runs `evtpm verify --ek-check-script <flags>` the way Keylime runs its script: through a
/// wrapper with no arguments, in the given environment.
fn keylime(s: &Scratch, flags: &str, env: &[(&str, String)]) -> (i32, String) {
    let script = s.0.join("ek_check.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nexec '{}' verify --ek-check-script {flags}\n",
            env!("CARGO_BIN_EXE_evtpm")
        ),
    )
    .unwrap();
    let out = Command::new("sh")
        .arg(&script)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn keylime_ek_check_script_mode_accepts_only_the_bound_ek() {
    let s = Scratch::new("keylime");
    let tpmt = fake_rsa_ek(6);
    let report = test_report(&tpmt, &BOOT_NONCE, |_| {});
    let chain = ek_cert::Endorsements {
        vcek: Some(test_root::VCEK_DER),
        ..ek_cert::Endorsements::default()
    };
    let cert = ek_cert::build(&tpmt, &report, &chain).unwrap();
    let store = s.0.join("tpm_cert_store");
    std::fs::create_dir_all(&store).unwrap();
    std::fs::write(
        store.join("evtpm-ek-binding-issuer.pem"),
        pem::encode("CERTIFICATE", &ek_cert::issuer_cert().unwrap()),
    )
    .unwrap();
    let env = |tpmt: &[u8], ek_cert: String| {
        vec![
            (
                "AGENT_UUID",
                "d432fbb3-d2f1-4a97-9ef7-75bd81c00000".to_string(),
            ),
            ("EK", ek_pem(tpmt)),
            ("EK_TPM", pem::base64_encode(&tpm2b(tpmt))),
            ("EK_CERT", ek_cert),
            ("PROVKEYS", "{}".to_string()),
            ("TPM_CERT_STORE", store.to_str().unwrap().to_string()),
        ]
    };
    let b64 = pem::base64_encode(&cert);
    let (code, out) = keylime(&s, "--allow-test-root", &env(&tpmt, b64.clone()));
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("PASS binding"), "{out}");
    assert!(
        out.contains("EK_TPM"),
        "the exact TPMT_PUBLIC is used: {out}"
    );

    // Another EK presented with this certificate.
    let (code, out) = keylime(&s, "--allow-test-root", &env(&fake_rsa_ek(7), b64.clone()));
    assert_eq!(
        (code, failed(&out)),
        (1, vec!["ek-cert", "binding"]),
        "{out}"
    );
    // The test root is refused unless the wrapper allows it.
    let (code, out) = keylime(&s, "", &env(&tpmt, b64.clone()));
    assert_eq!((code, failed(&out)), (1, vec!["chain"]), "{out}");
    // No certificate, or Keylime's placeholders for none.
    for none in ["", "None", "emulator"] {
        let (code, out) = keylime(&s, "--allow-test-root", &env(&tpmt, none.into()));
        assert_ne!(code, 0, "{none:?}: {out}");
        assert!(out.contains("EK_CERT is empty"), "{out}");
    }
    // Only EK (PEM) set: the TPMT_PUBLIC is rebuilt from the L-1 template.
    let mut only_pem = env(&tpmt, b64.clone());
    only_pem.retain(|(k, _)| *k != "EK_TPM");
    let (code, out) = keylime(&s, "--allow-test-root", &only_pem);
    assert_eq!(code, 0, "{out}");
    // Other flags still apply: a measurement allow-list without this image rejects it.
    let (code, out) = keylime(
        &s,
        &format!("--allow-test-root --measurement {}", "00".repeat(48)),
        &env(&tpmt, b64.clone()),
    );
    assert_eq!((code, failed(&out)), (1, vec!["measurement"]), "{out}");
    // Garbage in the environment.
    let (code, out) = keylime(&s, "--allow-test-root", &env(&tpmt, "!!!".into()));
    assert_ne!(code, 0, "{out}");
    let mut bad_tpm = env(&tpmt, b64);
    bad_tpm[2].1 = pem::base64_encode(b"\x00\x05abc");
    let (code, out) = keylime(&s, "--allow-test-root", &bad_tpm);
    assert_eq!(code, 1, "{out}");
    assert!(failed(&out).contains(&"binding"), "{out}");
}

#[test]
fn the_test_root_signature_is_what_the_verifier_checks() {
    let tpmt = fake_rsa_ek(8);
    let r = test_report(&tpmt, &[], |r| r[offset::VMPL] = 0);
    let body = &r[..offset::SIGNATURE];
    let sig = test_root::test_root_sign(body).unwrap();
    assert_eq!(&r[offset::SIGNATURE..offset::SIGNATURE + 144], &sig[..]);
    assert!(sig[48..72].iter().all(|&b| b == 0) && sig[120..].iter().all(|&b| b == 0));
    assert_eq!(test_root::test_root_sign(body), Some(sig), "deterministic");
}
