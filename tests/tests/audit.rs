//! Command and session audit through tpm2-tools (`tpm2_setcommandauditstatus`,
//! `tpm2_getcommandauditdigest`, `tpm2_startauthsession --audit-session`,
//! `tpm2_getsessionauditdigest`): the reports verify with `tpm2_verifysignature`, and the
//! digests in them are recomputed here from what the tools sent and received.

use evtpm_tests::{each_endpoint, tpm2_ok_flushed as ok, Endpoint, Server, TempDir};
use sha2::{Digest, Sha256};

const CC_SET_CC_AUDIT: u32 = 0x140;
const CC_GET_RANDOM: u32 = 0x17B;

fn started(ep: Endpoint) -> Server {
    let s = Server::start(ep);
    ok(&s, &["startup", "-c"]);
    s
}

fn sha256(parts: &[&[u8]]) -> Vec<u8> {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().to_vec()
}

/// A signing key (ECC P-256, ECDSA-SHA256) under an endorsement primary, loaded at `key.ctx`.
fn signing_key(s: &Server, dir: &TempDir) -> String {
    let prim = dir.path_of("prim.ctx");
    let key = dir.path_of("key.ctx");
    ok(s, &["createprimary", "-C", "e", "-G", "ecc", "-c", &prim]);
    ok(
        s,
        &[
            "create",
            "-C",
            &prim,
            "-G",
            "ecc:ecdsa",
            "-u",
            &dir.path_of("key.pub"),
            "-r",
            &dir.path_of("key.priv"),
            "-c",
            &key,
        ],
    );
    key
}

/// The `TPMS_ATTEST` fields after the common header: (type, attested bytes).
fn attested(path: &str) -> (u16, Vec<u8>) {
    let b = std::fs::read(path).expect("attestation");
    // The tools write the TPMS_ATTEST without the TPM2B size.
    assert_eq!(&b[..4], &[0xFF, 0x54, 0x43, 0x47], "TPM_GENERATED_VALUE");
    let kind = u16::from_be_bytes([b[4], b[5]]);
    let mut at = 6;
    for _ in 0..2 {
        let n = u16::from_be_bytes([b[at], b[at + 1]]) as usize;
        at += 2 + n; // qualifiedSigner, extraData
    }
    at += 17 + 8; // clockInfo, firmwareVersion
    (kind, b[at..].to_vec())
}

fn verify(s: &Server, key: &str, msg: &str, sig: &str) {
    ok(
        s,
        &[
            "verifysignature",
            "-c",
            key,
            "-g",
            "sha256",
            "-m",
            msg,
            "-s",
            sig,
        ],
    );
}

/// Runs the report tool `tool` signed by `key` (plus `extra` arguments), checks the signature
/// and returns the attestation's type and `attested` bytes.
fn signed_report(
    s: &Server,
    dir: &TempDir,
    key: &str,
    tool: &str,
    extra: &[&str],
) -> (u16, Vec<u8>) {
    let (msg, sig) = (dir.path_of("att"), dir.path_of("sig"));
    let mut args = vec![tool, "-c", key, "-g", "sha256", "-m", &msg, "-s", &sig];
    args.extend_from_slice(extra);
    ok(s, &args);
    verify(s, key, &msg, &sig);
    attested(&msg)
}

#[test]
fn command_audit_reports_the_audited_getrandom() {
    each_endpoint(|ep| {
        let s = started(ep);
        let dir = TempDir::new("audit");
        let key = signing_key(&s, &dir);
        ok(
            &s,
            &["setcommandauditstatus", "-g", "sha256", "TPM2_CC_GetRandom"],
        );
        let rand = dir.path_of("rand");
        ok(&s, &["getrandom", "8", "-o", &rand]);
        let (kind, a) = signed_report(&s, &dir, &key, "getcommandauditdigest", &[]);
        assert_eq!(kind, 0x8015, "{ep}: TPM_ST_ATTEST_COMMAND_AUDIT");
        assert_ne!(&a[..8], &[0; 8], "{ep}: auditCounter counts the digest");
        assert_eq!(&a[8..10], &[0x00, 0x0B], "{ep}: digestAlg");
        let n = u16::from_be_bytes([a[10], a[11]]) as usize;
        assert_eq!(n, 32, "{ep}: auditDigest");
        let command_digest = &a[12 + n + 2..];
        let expect = sha256(&[&CC_SET_CC_AUDIT.to_be_bytes(), &CC_GET_RANDOM.to_be_bytes()]);
        assert_eq!(command_digest, &expect[..], "{ep}: commandDigest");
    });
}

#[test]
fn session_audit_reports_the_commands_of_the_session() {
    each_endpoint(|ep| {
        let s = started(ep);
        let dir = TempDir::new("audit");
        let key = signing_key(&s, &dir);
        let session = dir.path_of("session.ctx");
        ok(&s, &["startauthsession", "-S", &session, "--audit-session"]);
        let rand = dir.path_of("rand");
        ok(&s, &["getrandom", "8", "-S", &session, "-o", &rand]);
        let (kind, a) = signed_report(&s, &dir, &key, "getsessionauditdigest", &["-S", &session]);
        assert_eq!(kind, 0x8016, "{ep}: TPM_ST_ATTEST_SESSION_AUDIT");
        // One audited GetRandom(8): H(0^32 || cpHash || rpHash).
        let bytes = std::fs::read(&rand).expect("random bytes");
        let cp = sha256(&[&CC_GET_RANDOM.to_be_bytes(), &[0, 8]]);
        let rp = sha256(&[
            &0u32.to_be_bytes(),
            &CC_GET_RANDOM.to_be_bytes(),
            &[0, 8],
            &bytes,
        ]);
        let digest = sha256(&[&[0; 32], &cp, &rp]);
        assert_eq!(&a[1..3], &[0, 32], "{ep}");
        assert_eq!(&a[3..], &digest[..], "{ep}: sessionDigest");
        ok(&s, &["flushcontext", &session]);
    });
}
