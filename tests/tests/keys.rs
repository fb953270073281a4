//! Keys moving between TPMs and sessions keyed to them, through tpm2-tools against each
//! endpoint: credentials made in software (as a Keylime registrar does) and by the TPM and
//! activated with the EK under a PolicySecret session, duplication to another parent (with and
//! without an inner wrapper) and import, keys imported from PEM files, sessions salted with
//! loaded RSA and ECC keys, and the two-phase ECC key exchange.

use evtpm_tests::{each_endpoint, show, tpm2, tpm2_ok_flushed as ok, Endpoint, Server, TempDir};

fn started(ep: Endpoint) -> Server {
    let s = Server::start(ep);
    ok(&s, &["startup", "-c"]);
    s
}

fn p(dir: &TempDir, name: &str) -> String {
    dir.path_of(name)
}

#[test]
fn make_and_activate_credential() {
    each_endpoint(|ep| {
        let s = started(ep);
        let dir = TempDir::new("objects");
        let (ek, ak) = (p(&dir, "ek.ctx"), p(&dir, "ak.ctx"));
        let (ekpub, akname) = (p(&dir, "ek.pub"), p(&dir, "ak.name"));
        ok(&s, &["createek", "-c", &ek, "-G", "rsa", "-u", &ekpub]);
        ok(
            &s,
            &[
                "createak",
                "-C",
                &ek,
                "-c",
                &ak,
                "-G",
                "rsa",
                "-g",
                "sha256",
                "-s",
                "rsassa",
                "-u",
                &p(&dir, "ak.pub"),
                "-n",
                &akname,
            ],
        );
        let _ = tpm2(&s, &["flushcontext", "-s"]);
        let name = hex::encode(std::fs::read(&akname).expect("ak name"));
        let secret = dir.file("secret.dat", b"a credential secret");
        let secret = secret.to_str().expect("utf-8");
        // Made in software (as a Keylime registrar does) and by the TPM.
        for (i, tcti) in [["-T", "none"], ["--", "--"]].iter().enumerate() {
            let cred = p(&dir, &format!("cred{i}.out"));
            let mut args = vec!["makecredential"];
            if tcti[0] == "-T" {
                args.extend_from_slice(tcti);
            }
            args.extend_from_slice(&["-e", &ekpub, "-s", secret, "-n", &name, "-o", &cred]);
            ok(&s, &args);
            let session = p(&dir, "session.ctx");
            ok(
                &s,
                &["startauthsession", "--policy-session", "-S", &session],
            );
            ok(&s, &["policysecret", "-S", &session, "-c", "e"]);
            let out = p(&dir, "act.out");
            let auth = format!("session:{session}");
            ok(
                &s,
                &[
                    "activatecredential",
                    "-c",
                    &ak,
                    "-C",
                    &ek,
                    "-i",
                    &cred,
                    "-o",
                    &out,
                    "-P",
                    &auth,
                ],
            );
            ok(&s, &["flushcontext", &session]);
            assert_eq!(
                std::fs::read(&out).expect("out"),
                b"a credential secret",
                "{ep}"
            );
        }
    });
}

#[test]
fn duplicate_import_and_software_import() {
    each_endpoint(|ep| {
        let s = started(ep);
        let dir = TempDir::new("objects");
        let (primary, newparent) = (p(&dir, "primary.ctx"), p(&dir, "newparent.ctx"));
        ok(
            &s,
            &["createprimary", "-C", "o", "-G", "ecc", "-c", &primary],
        );
        ok(
            &s,
            &["createprimary", "-C", "o", "-G", "rsa", "-c", &newparent],
        );
        // A duplicable signing key whose policy allows TPM2_Duplicate.
        let (trial, policy) = (p(&dir, "trial.ctx"), p(&dir, "policy.dat"));
        ok(&s, &["startauthsession", "-S", &trial]);
        ok(
            &s,
            &[
                "policycommandcode",
                "-S",
                &trial,
                "-L",
                &policy,
                "TPM2_CC_Duplicate",
            ],
        );
        ok(&s, &["flushcontext", &trial]);
        let (pubf, privf, ctx) = (p(&dir, "d.pub"), p(&dir, "d.priv"), p(&dir, "d.ctx"));
        ok(
            &s,
            &[
                "create",
                "-C",
                &primary,
                "-G",
                "ecc",
                "-u",
                &pubf,
                "-r",
                &privf,
                "-a",
                "sensitivedataorigin|userwithauth|sign",
                "-L",
                &policy,
            ],
        );
        ok(
            &s,
            &[
                "load", "-C", &primary, "-u", &pubf, "-r", &privf, "-c", &ctx,
            ],
        );
        let msg = dir.file("m.dat", b"duplicated key signs");
        let msg = msg.to_str().expect("utf-8");
        for (g, dup_extra, imp_extra) in [
            ("null", vec![], vec![]),
            ("aes", vec!["-o", "sym.key"], vec!["-k", "sym.key"]),
        ] {
            let abs = |v: Vec<&str>| -> Vec<String> {
                v.into_iter()
                    .map(|a| {
                        if a.ends_with(".key") {
                            p(&dir, a)
                        } else {
                            a.to_string()
                        }
                    })
                    .collect()
            };
            let (dup_extra, imp_extra) = (abs(dup_extra), abs(imp_extra));
            let session = p(&dir, "session.ctx");
            ok(
                &s,
                &["startauthsession", "--policy-session", "-S", &session],
            );
            ok(
                &s,
                &["policycommandcode", "-S", &session, "TPM2_CC_Duplicate"],
            );
            let (dpriv, seed, ipriv) = (
                p(&dir, "dup.dpriv"),
                p(&dir, "dup.seed"),
                p(&dir, "dup.ipriv"),
            );
            let auth = format!("session:{session}");
            let mut args = vec![
                "duplicate",
                "-C",
                &newparent,
                "-c",
                &ctx,
                "-G",
                g,
                "-p",
                &auth,
            ];
            args.extend(dup_extra.iter().map(String::as_str));
            args.extend_from_slice(&["-r", &dpriv, "-s", &seed]);
            ok(&s, &args);
            ok(&s, &["flushcontext", &session]);
            let mut args = vec![
                "import", "-C", &newparent, "-u", &pubf, "-i", &dpriv, "-r", &ipriv, "-s", &seed,
                "-G", g,
            ];
            args.extend(imp_extra.iter().map(String::as_str));
            ok(&s, &args);
            let imported = p(&dir, "imported.ctx");
            ok(
                &s,
                &[
                    "load", "-C", &newparent, "-u", &pubf, "-r", &ipriv, "-c", &imported,
                ],
            );
            let sig = p(&dir, "s.sig");
            ok(
                &s,
                &["sign", "-c", &imported, "-g", "sha256", "-o", &sig, msg],
            );
            ok(
                &s,
                &[
                    "verifysignature",
                    "-c",
                    &ctx,
                    "-g",
                    "sha256",
                    "-m",
                    msg,
                    "-s",
                    &sig,
                ],
            );
        }
        // An external key imported in software (tpm2-tss makes the duplication blob).
        let pem = p(&dir, "ext.pem");
        let st = std::process::Command::new("openssl")
            .args([
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-out",
                &pem,
            ])
            .status()
            .expect("openssl");
        assert!(st.success());
        let (epub, epriv, ectx) = (p(&dir, "e.pub"), p(&dir, "e.priv"), p(&dir, "e.ctx"));
        ok(
            &s,
            &[
                "import", "-C", &primary, "-G", "ecc", "-i", &pem, "-u", &epub, "-r", &epriv,
            ],
        );
        ok(
            &s,
            &[
                "load", "-C", &primary, "-u", &epub, "-r", &epriv, "-c", &ectx,
            ],
        );
        let sig = p(&dir, "e.sig");
        ok(
            &s,
            &[
                "sign", "-c", &ectx, "-g", "sha256", "-f", "plain", "-o", &sig, msg,
            ],
        );
        let pubpem = p(&dir, "epub.pem");
        let st = std::process::Command::new("openssl")
            .args(["pkey", "-in", &pem, "-pubout", "-out", &pubpem])
            .status()
            .expect("openssl");
        assert!(st.success());
        let st = std::process::Command::new("openssl")
            .args([
                "dgst",
                "-sha256",
                "-verify",
                &pubpem,
                "-signature",
                &sig,
                msg,
            ])
            .output()
            .expect("openssl");
        assert!(st.status.success(), "{ep}: {}", show(&st));
    });
}

#[test]
fn sessions_salted_with_loaded_keys() {
    each_endpoint(|ep| {
        let s = started(ep);
        let dir = TempDir::new("objects");
        for alg in ["rsa", "ecc"] {
            let key = p(&dir, "salt.ctx");
            ok(&s, &["createprimary", "-C", "o", "-G", alg, "-c", &key]);
            let session = p(&dir, "s.ctx");
            let o = tpm2(
                &s,
                &[
                    "startauthsession",
                    "--hmac-session",
                    "-c",
                    &key,
                    "-S",
                    &session,
                ],
            );
            assert!(o.status.success(), "{ep}: {alg}: {}", show(&o));
            ok(&s, &["sessionconfig", &session, "--enable-encrypt"]);
            let r = ok(&s, &["getrandom", "-S", &session, "8", "--hex"]);
            assert_eq!(r.trim().len(), 16, "{ep}: {alg}: {r}");
            ok(&s, &["flushcontext", &session]);
        }
    });
}

/// An ECC key of `alg` (a `tpm2_create -G` value) under an owner primary, loaded; returns its
/// context and the path of its `TPM2B_PUBLIC`.
fn ecc_key(s: &Server, dir: &TempDir, alg: &str) -> (String, String) {
    let (prim, key, public) = (p(dir, "prim.ctx"), p(dir, "key.ctx"), p(dir, "key.pub"));
    ok(s, &["createprimary", "-C", "o", "-c", &prim]);
    ok(
        s,
        &[
            "create",
            "-C",
            &prim,
            "-G",
            alg,
            "-u",
            &public,
            "-r",
            &p(dir, "key.priv"),
            "-c",
            &key,
        ],
    );
    (key, public)
}

/// The number in a counter file of `tpm2_ecephemeral -t` / `tpm2_commit -t` (a big-endian
/// UINT16), as the tools that use it take it.
fn counter(path: &str) -> String {
    let b = std::fs::read(path).expect("counter file");
    u16::from_be_bytes([b[0], b[1]]).to_string()
}

/// The two-phase key exchange as tpm2-tools' manual page runs it: an ECDH key, an ephemeral
/// key from `tpm2_ecephemeral`, a peer key from `tpm2_ecdhkeygen` (whose Z with the TPM key is
/// the static-static Z1 of `tpm2_zgen2phase`), and a counter that works once.
#[test]
fn two_phase_key_exchange_with_tpm2_tools() {
    each_endpoint(|ep| {
        let s = started(ep);
        let dir = TempDir::new("zgen");
        let (key, _) = ecc_key(&s, &dir, "ecc256:ecdh");
        let (q, ctr) = (p(&dir, "ecc.q"), p(&dir, "ecc.ctr"));
        ok(&s, &["ecephemeral", "-u", &q, "-t", &ctr, "ecc256"]);
        let (peer_pub, peer_z) = (p(&dir, "peer.pub"), p(&dir, "peer.z"));
        ok(
            &s,
            &["ecdhkeygen", "-c", &key, "-u", &peer_pub, "-o", &peer_z],
        );
        let ctr = counter(&ctr);
        let (z1, z2) = (p(&dir, "z1"), p(&dir, "z2"));
        let zgen = [
            "zgen2phase",
            "-c",
            &key,
            "--static-public",
            &peer_pub,
            "--ephemeral-public",
            &q,
            "-t",
            &ctr,
            "--output-Z1",
            &z1,
            "--output-Z2",
            &z2,
        ];
        ok(&s, &zgen);
        let read = |f: &str| std::fs::read(f).expect("point file");
        assert_eq!(read(&z1), read(&peer_z), "{ep}: Z1 = dsA·(e·G) = e·QsA");
        assert_eq!(
            read(&z2).len(),
            read(&z1).len(),
            "{ep}: Z2 is a P-256 point"
        );
        let again = tpm2(&s, &zgen);
        assert!(!again.status.success(), "{ep}: the counter was used up");
    });
}

/// An ECDAA signature as tpm2-tools makes one (`tpm2_commit`, then `tpm2_sign -s ecdaa
/// --commit-index`): the Schnorr equation `s·G = E + T·Q`, `T = H(nonce || digest)`, holds with
/// the commit's `E` and the key's `Q`, checked with the p256 crate; the count works once.
#[test]
fn ecdaa_signature_with_tpm2_tools() {
    use p256::elliptic_curve::ops::Reduce;
    use p256::elliptic_curve::PrimeField;
    use p256::{AffinePoint, FieldBytes, ProjectivePoint, PublicKey, Scalar, U256};
    use sha2::Digest;
    let point = |x: &[u8], y: &[u8]| -> AffinePoint {
        let mut sec1 = vec![4u8];
        sec1.extend(x);
        sec1.extend(y);
        *PublicKey::from_sec1_bytes(&sec1)
            .expect("point")
            .as_affine()
    };
    // (x, y) of a TPMS_ECC_POINT at `b[at..]`.
    let coords = |b: &[u8], at: usize| -> (Vec<u8>, Vec<u8>) {
        let nx = usize::from(u16::from_be_bytes([b[at], b[at + 1]]));
        let x = b[at + 2..at + 2 + nx].to_vec();
        let at = at + 2 + nx;
        let ny = usize::from(u16::from_be_bytes([b[at], b[at + 1]]));
        (x, b[at + 2..at + 2 + ny].to_vec())
    };
    each_endpoint(|ep| {
        let s = started(ep);
        let dir = TempDir::new("ecdaa");
        let (key, public) = ecc_key(&s, &dir, "ecc256:ecdaa");
        let (e, ctr) = (p(&dir, "E.bin"), p(&dir, "count"));
        ok(&s, &["commit", "-c", &key, "-u", &e, "-t", &ctr]);
        let ctr = counter(&ctr);
        let msg = p(&dir, "msg");
        std::fs::write(&msg, b"signed with a commit").expect("message");
        let sig = p(&dir, "sig");
        let sign = [
            "sign",
            "-c",
            &key,
            "-g",
            "sha256",
            "-s",
            "ecdaa",
            "--commit-index",
            &ctr,
            "-o",
            &sig,
            &msg,
        ];
        ok(&s, &sign);
        // TPMT_SIGNATURE: sigAlg, hash, nonce, s.
        let b = std::fs::read(&sig).expect("signature");
        assert_eq!(
            &b[..4],
            &[0x00, 0x1A, 0x00, 0x0B],
            "{ep}: ECDAA with SHA-256"
        );
        let (nonce, sv) = coords(&b, 4);
        // E from the commit (TPM2B_ECC_POINT) and Q from the key's TPM2B_PUBLIC (its end).
        let eb = std::fs::read(&e).expect("E");
        let (ex, ey) = coords(&eb, 2);
        let pb = std::fs::read(&public).expect("public");
        let n = pb.len();
        let q = point(&pb[n - 66..n - 34], &pb[n - 32..]);
        let digest = sha2::Sha256::digest(b"signed with a commit");
        let t_hash = sha2::Sha256::new()
            .chain_update(&nonce)
            .chain_update(digest)
            .finalize();
        let t = <Scalar as Reduce<U256>>::reduce_bytes(&t_hash);
        let sv = Scalar::from_repr(FieldBytes::clone_from_slice(&sv)).unwrap();
        let lhs = (ProjectivePoint::GENERATOR * sv).to_affine();
        let rhs =
            (ProjectivePoint::from(point(&ex, &ey)) + ProjectivePoint::from(q) * t).to_affine();
        assert_eq!(lhs, rhs, "{ep}: s·G = E + T·Q");
        assert!(
            !tpm2(&s, &sign).status.success(),
            "{ep}: the count was used"
        );
    });
}
