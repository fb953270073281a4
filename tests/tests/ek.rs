//! The provisioned EKs and EK certificates, as a guest's tools see them (tpm2-tools 5.x) and
//! as `evtpm verify` checks them: persistent EKs equal to what `tpm2_createek` recreates, EK
//! certificates at the TCG indices that bind those EKs through a report, which the verifier
//! accepts with the qemu-test root and rejects without it, and that the guest can neither
//! rewrite nor remove. Runs on the evtpm endpoints (`evtpm serve --ek` on the host; the
//! firmware provisions itself at boot); swtpm has no such provisioning and is skipped.

use evtpm_tests::server::evtpm_bin;
use evtpm_tests::{each_endpoint, show, tpm2_fails as fails, tpm2_ok as ok, Server, TempDir};
use std::process::Command;

/// `evtpm verify ARGS`: (exit success, stdout).
fn verify(args: &[&str]) -> (bool, String) {
    let o = Command::new(evtpm_bin())
        .arg("verify")
        .args(args)
        .output()
        .expect("run evtpm verify");
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
    )
}

/// The qemu-test MEASUREMENT, hex.
fn qemu_test_measurement() -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha384::digest(
        b"evtpm qemu-test platform: no launch measurement",
    ))
}

fn provisioned_endpoints(body: impl Fn(&Server, &TempDir)) {
    each_endpoint(|ep| {
        if !ep.is_evtpm() {
            eprintln!("{ep}: no EK provisioning, skipped");
            return;
        }
        let server = Server::start_provisioned(ep);
        ok(&server, &["startup", "-c"]);
        let dir = TempDir::new("ek");
        body(&server, &dir);
    });
}

#[test]
fn persistent_eks_are_what_createek_recreates() {
    provisioned_endpoints(|s, dir| {
        let handles = ok(s, &["getcap", "handles-persistent"]);
        assert!(
            handles.contains("0x81010001") && handles.contains("0x81010002"),
            "{handles}"
        );
        for (alg, handle) in [("rsa", "0x81010001"), ("ecc", "0x81010002")] {
            let persistent = dir.path_of(&format!("{alg}-persistent.pub"));
            let created = dir.path_of(&format!("{alg}-created.pub"));
            let ctx = dir.path_of(&format!("{alg}.ctx"));
            ok(s, &["readpublic", "-c", handle, "-o", &persistent]);
            ok(s, &["createek", "-c", &ctx, "-G", alg, "-u", &created]);
            ok(s, &["flushcontext", "-t"]);
            assert_eq!(
                std::fs::read(&persistent).unwrap(),
                std::fs::read(&created).unwrap(),
                "{}: {alg} EK at {handle} differs from tpm2_createek's",
                s.endpoint()
            );
        }
    });
}

#[test]
fn ek_certificates_bind_the_eks_and_verify_only_with_the_test_root() {
    provisioned_endpoints(|s, dir| {
        let nv = ok(s, &["getcap", "handles-nv-index"]);
        let indices: Vec<u32> = nv
            .lines()
            .filter_map(|l| l.trim().strip_prefix("- 0x"))
            .map(|h| u32::from_str_radix(h, 16).unwrap())
            .collect();
        assert_eq!(
            indices,
            [0x01C0_0002, 0x01C0_000A],
            "{}: {nv}",
            s.endpoint()
        );
        let measurement = qemu_test_measurement();
        for (index, handle, other) in [
            ("0x01C00002", "0x81010001", "0x81010002"),
            ("0x01C0000A", "0x81010002", "0x81010001"),
        ] {
            let cert = dir.path_of(&format!("{index}.der"));
            let ek = dir.path_of(&format!("{handle}.pem"));
            let foreign = dir.path_of(&format!("{other}.pem"));
            ok(s, &["nvread", index, "-C", "o", "-o", &cert]);
            ok(s, &["readpublic", "-c", handle, "-f", "pem", "-o", &ek]);
            ok(s, &["readpublic", "-c", other, "-f", "pem", "-o", &foreign]);
            // The issuer signature is informational; OpenSSL must still parse the certificate.
            let o = Command::new("openssl")
                .args(["x509", "-inform", "der", "-noout", "-subject", "-in", &cert])
                .output()
                .unwrap();
            assert!(o.status.success(), "openssl x509: {}", show(&o));

            let base = [
                "--ek-cert",
                &cert,
                "--ek",
                &ek,
                "--measurement",
                &measurement,
            ];
            let (pass, out) = verify(&[&base[..], &["--allow-test-root"]].concat());
            assert!(pass, "{}: {index} with the test root:\n{out}", s.endpoint());
            assert!(out.contains("PASS binding"), "{out}");

            let (pass, out) = verify(&base);
            assert!(
                !pass,
                "{}: accepted without --allow-test-root:\n{out}",
                s.endpoint()
            );
            assert!(out.contains("FAIL chain"), "{out}");

            let wrong = "00".repeat(48);
            let (pass, out) = verify(&[
                "--ek-cert",
                &cert,
                "--ek",
                &ek,
                "--measurement",
                &wrong,
                "--allow-test-root",
            ]);
            assert!(!pass && out.contains("FAIL measurement"), "{out}");

            let (pass, out) = verify(&["--ek-cert", &cert, "--ek", &foreign, "--allow-test-root"]);
            assert!(!pass && out.contains("FAIL ek-cert"), "foreign EK:\n{out}");
        }
    });
}

#[test]
fn the_guest_cannot_rewrite_or_remove_an_ek_certificate() {
    provisioned_endpoints(|s, dir| {
        let before = dir.path_of("before.der");
        let after = dir.path_of("after.der");
        let forged = dir.path_of("forged.der");
        std::fs::write(&forged, b"forged").unwrap();
        ok(s, &["nvread", "0x01C00002", "-C", "o", "-o", &before]);
        let e = fails(s, &["nvwrite", "0x01C00002", "-C", "p", "-i", &forged]);
        assert!(e.contains("0x148") || e.contains("locked"), "NV_Write: {e}");
        let e = fails(s, &["nvundefine", "0x01C00002", "-C", "p"]);
        assert!(
            e.contains("0x282") || e.contains("attribute"),
            "NV_UndefineSpace: {e}"
        );
        fails(s, &["nvundefine", "0x01C0000A", "-C", "o"]);
        // TPM2_Clear removes the owner's and the endorsement hierarchy's persistent objects,
        // not the platform-created certificates.
        ok(s, &["clear", "-c", "p"]);
        ok(s, &["nvread", "0x01C00002", "-C", "o", "-o", &after]);
        assert_eq!(
            std::fs::read(&before).unwrap(),
            std::fs::read(&after).unwrap()
        );
        let handles = ok(s, &["getcap", "handles-persistent"]);
        assert!(!handles.contains("0x81010001"), "{handles}");
    });
}
