//! Objects and keys through tpm2-tools against each endpoint: primary keys (and that they are a
//! function of the template), ordinary keys created and loaded from files, signing and
//! verification, sealing, persistent handles, the EK/AK/quote flow Keylime uses (checked by
//! `tpm2_checkquote`, i.e. OpenSSL), HMAC, symmetric and RSA encryption.
//!
//! Transient objects are flushed after each tool: without a resource manager every tool that
//! loads a context leaves the object loaded, and the reference TPM has only three slots.

use evtpm_tests::{
    each_endpoint, flush_transient as flush, show, tpm2, tpm2_ok_flushed as ok, Endpoint, Server,
    TempDir,
};
use sha2::Digest;

/// Runs a tpm2 subcommand, asserting failure; returns stderr.
#[track_caller]
fn fails(server: &Server, args: &[&str]) -> String {
    let o = tpm2(server, args);
    assert!(
        !o.status.success(),
        "{}: tpm2 {args:?} should fail: {}",
        server.endpoint(),
        show(&o)
    );
    flush(server);
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn started(ep: Endpoint) -> Server {
    let s = Server::start(ep);
    ok(&s, &["startup", "-c"]);
    s
}

fn p(dir: &TempDir, name: &str) -> String {
    dir.path_of(name)
}

/// The value of a `key: value` line of tool output.
fn field(out: &str, key: &str) -> String {
    out.lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim() == key)
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_else(|| panic!("no {key} in {out}"))
}

/// The Name `tpm2_readpublic` reports for `ctx`.
fn name_of(s: &Server, ctx: &str) -> String {
    field(&ok(s, &["readpublic", "-c", ctx]), "name")
}

/// `000b || SHA-256(TPMT_PUBLIC)` for a `TPM2B_PUBLIC` file.
fn name_of_tpm2b_public(path: &str) -> String {
    let b = std::fs::read(path).expect("read public");
    let mut n = vec![0x00, 0x0b];
    n.extend(sha2::Sha256::digest(&b[2..]));
    hex::encode(n)
}

#[test]
fn primary_keys_have_the_name_of_their_public_area_and_are_reproducible() {
    each_endpoint(|ep| {
        let s = started(ep);
        let dir = TempDir::new("objects");
        for alg in ["ecc", "rsa"] {
            let ctx = p(&dir, "primary.ctx");
            ok(
                &s,
                &[
                    "createprimary",
                    "-C",
                    "o",
                    "-g",
                    "sha256",
                    "-G",
                    alg,
                    "-c",
                    &ctx,
                ],
            );
            let name = name_of(&s, &ctx);
            let pubf = p(&dir, "primary.pub");
            let rp = ok(&s, &["readpublic", "-c", &ctx, "-o", &pubf]);
            assert_eq!(field(&rp, "name"), name, "{ep}");
            assert_eq!(name_of_tpm2b_public(&pubf), name, "{ep}: {alg}");
            // The same template in the same hierarchy is the same key.
            ok(
                &s,
                &[
                    "createprimary",
                    "-C",
                    "o",
                    "-g",
                    "sha256",
                    "-G",
                    alg,
                    "-c",
                    &ctx,
                ],
            );
            assert_eq!(name_of(&s, &ctx), name, "{ep}: {alg}");
            // The same template in another hierarchy (another seed) is another key.
            ok(
                &s,
                &[
                    "createprimary",
                    "-C",
                    "e",
                    "-g",
                    "sha256",
                    "-G",
                    alg,
                    "-c",
                    &ctx,
                ],
            );
            assert_ne!(name_of(&s, &ctx), name, "{ep}: {alg}");
        }
    });
}

#[test]
fn create_load_sign_verify() {
    each_endpoint(|ep| {
        let s = started(ep);
        let dir = TempDir::new("objects");
        let primary = p(&dir, "primary.ctx");
        ok(
            &s,
            &[
                "createprimary",
                "-C",
                "o",
                "-g",
                "sha256",
                "-G",
                "ecc",
                "-c",
                &primary,
            ],
        );
        for alg in ["ecc", "rsa"] {
            let (pubf, privf, ctx) = (p(&dir, "k.pub"), p(&dir, "k.priv"), p(&dir, "k.ctx"));
            ok(
                &s,
                &[
                    "create", "-C", &primary, "-G", alg, "-u", &pubf, "-r", &privf,
                ],
            );
            let out = ok(
                &s,
                &[
                    "load", "-C", &primary, "-u", &pubf, "-r", &privf, "-c", &ctx,
                ],
            );
            assert_eq!(field(&out, "name"), name_of_tpm2b_public(&pubf), "{ep}");
            let msg = dir.file("msg.dat", b"a message to sign");
            let msg = msg.to_str().expect("utf-8");
            let sig = p(&dir, "sig.dat");
            ok(&s, &["sign", "-c", &ctx, "-g", "sha256", "-o", &sig, msg]);
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
            let other = dir.file("other.dat", b"another message");
            let other = other.to_str().expect("utf-8");
            fails(
                &s,
                &[
                    "verifysignature",
                    "-c",
                    &ctx,
                    "-g",
                    "sha256",
                    "-m",
                    other,
                    "-s",
                    &sig,
                ],
            );
        }
    });
}

#[test]
fn tampered_private_does_not_load() {
    each_endpoint(|ep| {
        let s = started(ep);
        let dir = TempDir::new("objects");
        let primary = p(&dir, "primary.ctx");
        ok(
            &s,
            &["createprimary", "-C", "o", "-G", "ecc", "-c", &primary],
        );
        let (pubf, privf) = (p(&dir, "k.pub"), p(&dir, "k.priv"));
        ok(
            &s,
            &[
                "create", "-C", &primary, "-G", "ecc", "-u", &pubf, "-r", &privf,
            ],
        );
        let mut blob = std::fs::read(&privf).expect("read private");
        let last = blob.len() - 1;
        blob[last] ^= 1;
        let bad = dir.file("bad.priv", &blob);
        let bad = bad.to_str().expect("utf-8");
        let err = fails(
            &s,
            &[
                "load",
                "-C",
                &primary,
                "-u",
                &pubf,
                "-r",
                bad,
                "-c",
                &p(&dir, "k.ctx"),
            ],
        );
        assert!(
            err.contains("0x1df") || err.contains("0x1DF"),
            "{ep}: TPM_RC_INTEGRITY: {err}"
        );
    });
}

#[test]
fn seal_and_unseal() {
    each_endpoint(|ep| {
        let s = started(ep);
        let dir = TempDir::new("objects");
        let primary = p(&dir, "primary.ctx");
        ok(
            &s,
            &["createprimary", "-C", "o", "-G", "ecc", "-c", &primary],
        );
        let secret = dir.file("secret.dat", b"the sealed secret");
        let secret = secret.to_str().expect("utf-8");
        let (pubf, privf, ctx) = (p(&dir, "s.pub"), p(&dir, "s.priv"), p(&dir, "s.ctx"));
        ok(
            &s,
            &[
                "create", "-C", &primary, "-i", secret, "-p", "sealpw", "-u", &pubf, "-r", &privf,
            ],
        );
        ok(
            &s,
            &[
                "load", "-C", &primary, "-u", &pubf, "-r", &privf, "-c", &ctx,
            ],
        );
        let out = tpm2(&s, &["unseal", "-c", &ctx, "-p", "sealpw"]);
        assert!(out.status.success(), "{ep}: {}", show(&out));
        assert_eq!(out.stdout, b"the sealed secret", "{ep}");
        flush(&s);
        fails(&s, &["unseal", "-c", &ctx, "-p", "wrong"]);
    });
}

#[test]
fn evictcontrol_persists_and_removes() {
    each_endpoint(|ep| {
        let s = started(ep);
        let dir = TempDir::new("objects");
        let primary = p(&dir, "primary.ctx");
        ok(
            &s,
            &["createprimary", "-C", "o", "-G", "ecc", "-c", &primary],
        );
        let name = name_of(&s, &primary);
        ok(
            &s,
            &["evictcontrol", "-C", "o", "-c", &primary, "0x81000005"],
        );
        let handles = ok(&s, &["getcap", "handles-persistent"]);
        assert!(handles.contains("0x81000005"), "{ep}: {handles}");
        let rp = ok(&s, &["readpublic", "-c", "0x81000005"]);
        assert_eq!(field(&rp, "name"), name, "{ep}");
        // The persistent key is a parent.
        let (pubf, privf) = (p(&dir, "k.pub"), p(&dir, "k.priv"));
        ok(
            &s,
            &[
                "create",
                "-C",
                "0x81000005",
                "-G",
                "ecc",
                "-u",
                &pubf,
                "-r",
                &privf,
            ],
        );
        // Taken handle; the platform range is not the owner's.
        fails(
            &s,
            &["evictcontrol", "-C", "o", "-c", &primary, "0x81000005"],
        );
        fails(
            &s,
            &["evictcontrol", "-C", "o", "-c", &primary, "0x81800000"],
        );
        ok(&s, &["evictcontrol", "-C", "o", "-c", "0x81000005"]);
        let handles = ok(&s, &["getcap", "handles-persistent"]);
        assert!(!handles.contains("0x81000005"), "{ep}: {handles}");
    });
}

#[test]
fn ek_ak_quote_checkquote() {
    each_endpoint(|ep| {
        let s = started(ep);
        let dir = TempDir::new("objects");
        let (ek, ak) = (p(&dir, "ek.ctx"), p(&dir, "ak.ctx"));
        ok(
            &s,
            &["createek", "-c", &ek, "-G", "ecc", "-u", &p(&dir, "ek.pub")],
        );
        let akpub = p(&dir, "ak.pub");
        ok(
            &s,
            &[
                "createak",
                "-C",
                &ek,
                "-c",
                &ak,
                "-G",
                "ecc",
                "-g",
                "sha256",
                "-s",
                "ecdsa",
                "-u",
                &akpub,
                "-n",
                &p(&dir, "ak.name"),
            ],
        );
        let _ = tpm2(&s, &["flushcontext", "-s"]);
        ok(
            &s,
            &[
                "pcrextend",
                "16:sha256=0000000000000000000000000000000000000000000000000000000000000001",
            ],
        );
        let (m, sig, pcrs) = (p(&dir, "q.msg"), p(&dir, "q.sig"), p(&dir, "q.pcrs"));
        ok(
            &s,
            &[
                "quote",
                "-c",
                &ak,
                "-l",
                "sha256:0,7,16",
                "-q",
                "abcdef0123",
                "-m",
                &m,
                "-s",
                &sig,
                "-o",
                &pcrs,
                "-g",
                "sha256",
            ],
        );
        ok(
            &s,
            &[
                "checkquote",
                "-u",
                &akpub,
                "-m",
                &m,
                "-s",
                &sig,
                "-f",
                &pcrs,
                "-g",
                "sha256",
                "-q",
                "abcdef0123",
            ],
        );
        // Another nonce does not check.
        let o = tpm2(
            &s,
            &[
                "checkquote",
                "-u",
                &akpub,
                "-m",
                &m,
                "-s",
                &sig,
                "-f",
                &pcrs,
                "-g",
                "sha256",
                "-q",
                "abcdef0124",
            ],
        );
        assert!(!o.status.success(), "{ep}: {}", show(&o));
    });
}

#[test]
fn hmac_symmetric_and_rsa_encryption() {
    each_endpoint(|ep| {
        let s = started(ep);
        let dir = TempDir::new("objects");
        let primary = p(&dir, "primary.ctx");
        ok(
            &s,
            &["createprimary", "-C", "o", "-G", "ecc", "-c", &primary],
        );
        let data = dir.file("data.dat", b"sixteen byte msg");
        let data = data.to_str().expect("utf-8");
        let load = |alg: &str, extra: &[&str]| -> String {
            let (pubf, privf, ctx) = (
                p(&dir, "k.pub"),
                p(&dir, "k.priv"),
                p(&dir, &format!("{alg}.ctx")),
            );
            let mut args = vec![
                "create", "-C", &primary, "-G", alg, "-u", &pubf, "-r", &privf,
            ];
            args.extend_from_slice(extra);
            ok(&s, &args);
            ok(
                &s,
                &[
                    "load", "-C", &primary, "-u", &pubf, "-r", &privf, "-c", &ctx,
                ],
            );
            ctx
        };
        // HMAC: the TPM's MAC equals one computed here from... the same TPM twice (the key
        // never leaves it), and differs for other data.
        let hk = load("hmac", &[]);
        let a = ok(&s, &["hmac", "-c", &hk, "--hex", data]);
        let b = ok(&s, &["hmac", "-c", &hk, "--hex", data]);
        assert_eq!(a, b, "{ep}");
        assert_eq!(a.trim().len(), 64, "{ep}: {a}");
        // AES-128-CFB round trip.
        let aes = load("aes128cfb", &[]);
        let (ct, pt) = (p(&dir, "ct.dat"), p(&dir, "pt.dat"));
        let iv = dir.file("iv.dat", &[3u8; 16]);
        let iv = iv.to_str().expect("utf-8");
        ok(
            &s,
            &["encryptdecrypt", "-c", &aes, "-t", iv, "-o", &ct, data],
        );
        assert_ne!(std::fs::read(&ct).expect("ct"), b"sixteen byte msg", "{ep}");
        ok(
            &s,
            &["encryptdecrypt", "-d", "-c", &aes, "-t", iv, "-o", &pt, &ct],
        );
        assert_eq!(std::fs::read(&pt).expect("pt"), b"sixteen byte msg", "{ep}");
        // RSA-OAEP round trip.
        let rsa = load(
            "rsa2048:oaep",
            &[
                "-a",
                "decrypt|fixedtpm|fixedparent|sensitivedataorigin|userwithauth",
            ],
        );
        let (enc, dec) = (p(&dir, "r.enc"), p(&dir, "r.dec"));
        ok(
            &s,
            &["rsaencrypt", "-c", &rsa, "-s", "oaep", "-o", &enc, data],
        );
        ok(
            &s,
            &["rsadecrypt", "-c", &rsa, "-s", "oaep", "-o", &dec, &enc],
        );
        assert_eq!(
            std::fs::read(&dec).expect("dec"),
            b"sixteen byte msg",
            "{ep}"
        );
    });
}
