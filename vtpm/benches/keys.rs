//! Engine-level latency of issue 4's key commands, and the cost of their own cryptography.
//!
//! `cargo bench -p vtpm --bench keys` (add `-- --warm-up-time 1 --measurement-time 3` on a
//! shared machine). Group `keys`: `Tpm::execute` per command on a started TPM (deterministic
//! platform as in `engine.rs`), each command checked once to succeed before it is timed;
//! commands that load something are timed together with the FlushContext that frees it again.
//! Group `crypto`: the primitives those commands are built on, through the same
//! `vtpm::crypto` code (and, for ECDSA, also RustCrypto's bare primitive), so that issue 4's
//! target "engine latency at most 1.25 × the command's own crypto + 20 µs" can be checked.
//! RSA-2048 key generation varies with how far the prime search goes: those rows use a new
//! template (or seed) every iteration and flat sampling.

mod common;

use common::*;
use criterion::{black_box, criterion_group, criterion_main, Criterion, SamplingMode};
use std::time::Duration;
use tpm_proto::{HashAlg, WriteError, Writer};
use vtpm::crypto::{
    ecc, kdf_a, kdf_e, sym, Drbg, EccCurve, EccPrivate, Hmac, RsaDecryptScheme, RsaPrivate, SymMode,
};
use vtpm::MAX_RESPONSE_SIZE;

const CC_CREATE_PRIMARY: u32 = 0x131;
const CC_CREATE: u32 = 0x153;
const CC_LOAD: u32 = 0x157;
const CC_SIGN: u32 = 0x15D;
const CC_QUOTE: u32 = 0x158;
const CC_CONTEXT_SAVE: u32 = 0x162;
const CC_CONTEXT_LOAD: u32 = 0x161;
const CC_NV_DEFINE_SPACE: u32 = 0x12A;
const CC_NV_UNDEFINE_SPACE: u32 = 0x122;
const CC_NV_WRITE: u32 = 0x137;
const CC_NV_READ: u32 = 0x14E;

const TPM_ALG_RSA: u16 = 0x0001;
const TPM_ALG_AES: u16 = 0x0006;
const TPM_ALG_ECDSA: u16 = 0x0018;
const TPM_ALG_ECC: u16 = 0x0023;
const TPM_ALG_CFB: u16 = 0x0043;
const TPM_ST_HASHCHECK: u16 = 0x8024;

/// `TPMA_OBJECT`: fixedTPM, fixedParent, sensitiveDataOrigin, userWithAuth; restricted,
/// decrypt, sign.
const OBJECT: u32 = 0x0000_0072;
const RESTRICTED: u32 = 1 << 16;
const DECRYPT: u32 = 1 << 17;
const SIGN: u32 = 1 << 18;

const NV_INDEX: u32 = 0x0150_0020;
/// `TPMA_NV`: ownerWrite, authWrite, ownerRead, authRead (what `tpm2_nvdefine -C o` asks for).
const NV_ATTRIBUTES: u32 = 0x0006_0006;

/// The templates of the serve-level mix (`tools/src/bench/keys.rs`): storage parents as
/// `tpm2_createprimary -G ecc|ecc384|rsa` sends them, and ECDSA-SHA256 P-256 signing keys.
#[derive(Debug, Clone, Copy)]
enum Template {
    StorageEcc(EccCurve),
    StorageRsa,
    SigningEcc { restricted: bool },
}

fn aes128_cfb(w: &mut Writer<'_>) -> Result<(), WriteError> {
    w.u16(TPM_ALG_AES)?;
    w.u16(128)?;
    w.u16(TPM_ALG_CFB)
}

impl Template {
    /// Marshals the `TPMT_PUBLIC` with `unique` (ECC x, RSA modulus); returns the offset of
    /// the unique bytes within what it wrote.
    fn marshal(self, w: &mut Writer<'_>, unique: &[u8]) -> Result<usize, WriteError> {
        let start = w.len();
        let (type_, attrs) = match self {
            Template::StorageEcc(_) => (TPM_ALG_ECC, OBJECT | RESTRICTED | DECRYPT),
            Template::StorageRsa => (TPM_ALG_RSA, OBJECT | RESTRICTED | DECRYPT),
            Template::SigningEcc { restricted } => (
                TPM_ALG_ECC,
                OBJECT | SIGN | if restricted { RESTRICTED } else { 0 },
            ),
        };
        w.u16(type_)?;
        w.u16(TPM_ALG_SHA256)?;
        w.u32(attrs)?;
        w.sized(&[])?;
        match self {
            Template::StorageEcc(curve) => {
                aes128_cfb(w)?;
                w.u16(TPM_ALG_NULL)?;
                w.u16(curve.tpm_id())?;
                w.u16(TPM_ALG_NULL)?;
            }
            Template::StorageRsa => {
                aes128_cfb(w)?;
                w.u16(TPM_ALG_NULL)?;
                w.u16(2048)?;
                w.u32(0)?;
            }
            Template::SigningEcc { .. } => {
                w.u16(TPM_ALG_NULL)?;
                w.u16(TPM_ALG_ECDSA)?;
                w.u16(TPM_ALG_SHA256)?;
                w.u16(EccCurve::NistP256.tpm_id())?;
                w.u16(TPM_ALG_NULL)?;
            }
        }
        let at = w.len() + 2 - start;
        w.sized(unique)?;
        if !matches!(self, Template::StorageRsa) {
            w.sized(&[])?;
        }
        Ok(at)
    }
}

/// The parameters of CreatePrimary and Create: empty sensitive, `t` with `unique`, no
/// outsideInfo, no creation PCRs. Returns them and the offset of the unique bytes.
fn creation_params(t: Template, unique: &[u8]) -> (Vec<u8>, usize) {
    let mut buf = [0u8; 1024];
    let mut w = Writer::new(&mut buf);
    let mut at = 0;
    let mut marshal = |w: &mut Writer<'_>| -> Result<(), WriteError> {
        w.sized(&[0, 0, 0, 0])?;
        let public = w.len() + 2;
        w.sized_with(|w| t.marshal(w, unique).map(|u| at = public + u))?;
        w.sized(&[])?;
        w.u32(0)
    };
    marshal(&mut w).unwrap();
    (w.written().to_vec(), at)
}

/// A command with one handle and a password session; returns it and where `params` begin.
fn with_pw(cc: u32, handles: &[u32], params: &[u8]) -> (Vec<u8>, usize) {
    let mut body = Vec::new();
    for h in handles {
        body.extend_from_slice(&h.to_be_bytes());
    }
    body.extend_from_slice(&pw_area());
    let at = 10 + body.len();
    body.extend_from_slice(params);
    (cmd(SESSIONS, cc, &body), at)
}

/// `TPM2_CreatePrimary(TPM_RH_OWNER)`; returns it and the offset of the unique bytes.
fn create_primary(t: Template, unique: &[u8]) -> (Vec<u8>, usize) {
    let (params, u) = creation_params(t, unique);
    let (c, at) = with_pw(CC_CREATE_PRIMARY, &[TPM_RH_OWNER], &params);
    (c, at + u)
}

/// The parameter area of a response with sessions and `handles` response handles.
fn params(r: &[u8], handles: usize) -> &[u8] {
    let at = 10 + 4 * handles;
    let size = be32(&r[at..]) as usize;
    &r[at + 4..at + 4 + size]
}

/// Length of the `TPM2B` at the start of `b`, size field included.
fn tpm2b_len(b: &[u8]) -> usize {
    2 + u16::from_be_bytes([b[0], b[1]]) as usize
}

struct Loaded {
    handle: u32,
    /// The response's parameters (outPublic first, for a primary).
    params: Vec<u8>,
}

fn run_create_primary(tpm: &mut BenchTpm, out: &mut [u8], t: Template) -> Loaded {
    let (c, _) = create_primary(t, &[]);
    let n = ok(tpm, out, &c, "CreatePrimary");
    Loaded {
        handle: be32(&out[10..n]),
        params: params(&out[..n], 1).to_vec(),
    }
}

/// Create under `parent`: outPrivate and outPublic, size fields included.
fn run_create(tpm: &mut BenchTpm, out: &mut [u8], parent: u32, t: Template) -> Vec<u8> {
    let (p, _) = creation_params(t, &[]);
    let (c, _) = with_pw(CC_CREATE, &[parent], &p);
    let n = ok(tpm, out, &c, "Create");
    let p = params(&out[..n], 0);
    let priv_len = tpm2b_len(p);
    p[..priv_len + tpm2b_len(&p[priv_len..])].to_vec()
}

fn load_cmd(parent: u32, blobs: &[u8]) -> Vec<u8> {
    with_pw(CC_LOAD, &[parent], blobs).0
}

/// The public point in a CreatePrimary response's outPublic (an ECC storage template with an
/// empty authPolicy: x and y are the last two TPM2Bs of the public area).
fn primary_point(p: &[u8]) -> ecc::EccPoint {
    let public_len = tpm2b_len(p);
    let public = &p[..public_len];
    // type, nameAlg, attributes, authPolicy (empty), AES-128-CFB, scheme, curve, kdf.
    let x_at = 2 + 2 + 2 + 4 + 2 + 6 + 2 + 2 + 2;
    let x_len = tpm2b_len(&public[x_at..]);
    let x = public[x_at + 2..x_at + x_len].to_vec();
    let y = public[x_at + x_len + 2..].to_vec();
    ecc::EccPoint { x, y }
}

/// Times one command (or a command and the flush that undoes it) in a loop.
fn bench_loop(c: &mut Criterion, name: &str, tpm: &mut BenchTpm, cmds: &[Vec<u8>]) {
    let mut out = vec![0u8; MAX_RESPONSE_SIZE];
    for (i, cmd) in cmds.iter().enumerate() {
        ok(tpm, &mut out, cmd, &format!("{name} [{i}]"));
    }
    c.bench_function(name, |b| {
        b.iter(|| {
            for cmd in cmds {
                black_box(tpm.execute(0, black_box(cmd), &mut out));
            }
        })
    });
    // Still succeeding, and nothing leaked (a leak would have exhausted the slots long ago).
    for (i, cmd) in cmds.iter().enumerate() {
        ok(tpm, &mut out, cmd, &format!("{name} after [{i}]"));
    }
}

/// CreatePrimary with a new `unique` each iteration (a counter in its last 8 bytes), then the
/// flush of the handle it returned (always the same slot).
fn bench_new_primary(c: &mut Criterion, name: &str, t: Template) {
    let mut tpm = started();
    let mut out = vec![0u8; MAX_RESPONSE_SIZE];
    let (mut cp, at) = create_primary(t, &[0x5E; 32]);
    let mut counter = 0u64;
    let mut next = |cp: &mut Vec<u8>| {
        counter += 1;
        cp[at + 24..at + 32].copy_from_slice(&counter.to_be_bytes());
    };
    next(&mut cp);
    let n = ok(&mut tpm, &mut out, &cp, name);
    let fl = flush(be32(&out[10..n]));
    ok(&mut tpm, &mut out, &fl, "FlushContext");
    c.bench_function(name, |b| {
        b.iter(|| {
            next(&mut cp);
            black_box(tpm.execute(0, &cp, &mut out));
            black_box(tpm.execute(0, &fl, &mut out))
        })
    });
    next(&mut cp);
    ok(&mut tpm, &mut out, &cp, name);
}

fn engine(c: &mut Criterion) {
    let p256 = Template::StorageEcc(EccCurve::NistP256);
    let p384 = Template::StorageEcc(EccCurve::NistP384);
    let mut out = vec![0u8; MAX_RESPONSE_SIZE];

    // Repeated templates (what tpm2_createprimary sends): the engine's primary cache answers.
    for (name, t) in [
        ("CreatePrimary P-256 repeated+Flush", p256),
        ("CreatePrimary P-384 repeated+Flush", p384),
        (
            "CreatePrimary RSA-2048 repeated+Flush",
            Template::StorageRsa,
        ),
    ] {
        let mut tpm = started();
        let h = run_create_primary(&mut tpm, &mut out, t).handle;
        ok(&mut tpm, &mut out, &flush(h), "FlushContext");
        bench_loop(c, name, &mut tpm, &[create_primary(t, &[]).0, flush(h)]);
    }
    bench_new_primary(c, "CreatePrimary P-256 new+Flush", p256);
    bench_new_primary(c, "CreatePrimary P-384 new+Flush", p384);

    // The rest under one P-256 storage primary, as in the serve-level mix.
    let mut tpm = started();
    let parent = run_create_primary(&mut tpm, &mut out, p256);
    let signing = Template::SigningEcc { restricted: false };
    let (create_params, _) = creation_params(signing, &[]);
    let create = with_pw(CC_CREATE, &[parent.handle], &create_params).0;
    bench_loop(c, "Create P-256 signing key", &mut tpm, &[create]);

    let blobs = run_create(&mut tpm, &mut out, parent.handle, signing);
    let n = ok(&mut tpm, &mut out, &load_cmd(parent.handle, &blobs), "Load");
    let key = be32(&out[10..n]);
    ok(&mut tpm, &mut out, &flush(key), "FlushContext");
    bench_loop(
        c,
        "Load P-256+Flush",
        &mut tpm,
        &[load_cmd(parent.handle, &blobs), flush(key)],
    );

    let n = ok(&mut tpm, &mut out, &load_cmd(parent.handle, &blobs), "Load");
    let key = be32(&out[10..n]);
    let mut sign = vec![0, 32];
    sign.extend_from_slice(&[0x3C; 32]);
    sign.extend_from_slice(&TPM_ALG_ECDSA.to_be_bytes());
    sign.extend_from_slice(&TPM_ALG_SHA256.to_be_bytes());
    sign.extend_from_slice(&TPM_ST_HASHCHECK.to_be_bytes());
    sign.extend_from_slice(&TPM_RH_NULL.to_be_bytes());
    sign.extend_from_slice(&[0, 0]);
    let sign = with_pw(CC_SIGN, &[key], &sign).0;
    bench_loop(c, "Sign ECDSA P-256", &mut tpm, &[sign]);

    let save = cmd(NO_SESSIONS, CC_CONTEXT_SAVE, &key.to_be_bytes());
    bench_loop(c, "ContextSave", &mut tpm, std::slice::from_ref(&save));
    let n = ok(&mut tpm, &mut out, &save, "ContextSave");
    let context = cmd(NO_SESSIONS, CC_CONTEXT_LOAD, &out[10..n]);
    let n = ok(&mut tpm, &mut out, &context, "ContextLoad");
    let loaded = be32(&out[10..n]);
    ok(&mut tpm, &mut out, &flush(loaded), "FlushContext");
    bench_loop(c, "ContextLoad+Flush", &mut tpm, &[context, flush(loaded)]);
    ok(&mut tpm, &mut out, &flush(key), "FlushContext");

    let ak = Template::SigningEcc { restricted: true };
    let blobs = run_create(&mut tpm, &mut out, parent.handle, ak);
    let n = ok(
        &mut tpm,
        &mut out,
        &load_cmd(parent.handle, &blobs),
        "Load AK",
    );
    let ak = be32(&out[10..n]);
    let mut quote = vec![0, 32];
    quote.extend_from_slice(&[0x71; 32]);
    quote.extend_from_slice(&TPM_ALG_NULL.to_be_bytes());
    quote.extend_from_slice(&[0, 0, 0, 1]);
    quote.extend_from_slice(&TPM_ALG_SHA256.to_be_bytes());
    quote.extend_from_slice(&[3, 0xFF, 0, 0]);
    let quote = with_pw(CC_QUOTE, &[ak], &quote).0;
    bench_loop(c, "Quote ECDSA P-256 sha256:0-7", &mut tpm, &[quote]);
    ok(&mut tpm, &mut out, &flush(ak), "FlushContext");

    // A session salted with the primary: the caller's ephemeral key and Z are computed once
    // (the TPM's work, one ECDH and KDFe, is the same for every salt).
    let q = primary_point(&parent.params);
    let seed = [0x42u8; 48];
    let (eph, _z) =
        ecc::ecdh_keygen(EccCurve::NistP256, &q, &mut Drbg::new(&seed, b"bench")).unwrap();
    let mut salted = parent.handle.to_be_bytes().to_vec();
    salted.extend_from_slice(&TPM_RH_NULL.to_be_bytes());
    salted.extend_from_slice(&[0, 32]);
    salted.extend_from_slice(&[0x11; 32]);
    salted.extend_from_slice(&((4 + eph.x.len() + eph.y.len()) as u16).to_be_bytes());
    for coord in [&eph.x, &eph.y] {
        salted.extend_from_slice(&(coord.len() as u16).to_be_bytes());
        salted.extend_from_slice(coord);
    }
    salted.push(TPM_SE_HMAC);
    salted.extend_from_slice(&[0x00, 0x06, 0x00, 0x80, 0x00, 0x43]); // AES-128-CFB
    salted.extend_from_slice(&TPM_ALG_SHA256.to_be_bytes());
    let salted = cmd(NO_SESSIONS, CC_START_AUTH_SESSION, &salted);
    let n = ok(&mut tpm, &mut out, &salted, "StartAuthSession salted");
    let session = be32(&out[10..n]);
    ok(&mut tpm, &mut out, &flush(session), "FlushContext");
    bench_loop(
        c,
        "StartAuthSession salted ECDH P-256+Flush",
        &mut tpm,
        &[salted, flush(session)],
    );

    let mut nv_public = NV_INDEX.to_be_bytes().to_vec();
    nv_public.extend_from_slice(&TPM_ALG_SHA256.to_be_bytes());
    nv_public.extend_from_slice(&NV_ATTRIBUTES.to_be_bytes());
    nv_public.extend_from_slice(&[0, 0, 0, 32]); // authPolicy empty, dataSize 32
    let mut define = vec![0, 0];
    define.extend_from_slice(&(nv_public.len() as u16).to_be_bytes());
    define.extend_from_slice(&nv_public);
    let define = with_pw(CC_NV_DEFINE_SPACE, &[TPM_RH_OWNER], &define).0;
    let undefine = with_pw(CC_NV_UNDEFINE_SPACE, &[TPM_RH_OWNER, NV_INDEX], &[]).0;
    bench_loop(
        c,
        "NV_DefineSpace+NV_UndefineSpace",
        &mut tpm,
        &[define.clone(), undefine],
    );
    ok(&mut tpm, &mut out, &define, "NV_DefineSpace");
    let mut write = vec![0, 32];
    write.extend_from_slice(&[0xA7; 32]);
    write.extend_from_slice(&[0, 0]);
    let write = with_pw(CC_NV_WRITE, &[TPM_RH_OWNER, NV_INDEX], &write).0;
    bench_loop(c, "NV_Write 32 B", &mut tpm, &[write]);
    let read = with_pw(CC_NV_READ, &[TPM_RH_OWNER, NV_INDEX], &[0, 32, 0, 0]).0;
    bench_loop(c, "NV_Read 32 B", &mut tpm, &[read]);
}

/// RSA-2048 primaries: tens of milliseconds each, and as variable as the prime search.
fn engine_rsa(c: &mut Criterion) {
    let mut g = c.benchmark_group("rsa");
    g.sampling_mode(SamplingMode::Flat).sample_size(50);
    let mut tpm = started();
    let mut out = vec![0u8; MAX_RESPONSE_SIZE];
    let (mut cp, at) = create_primary(Template::StorageRsa, &[0x5E; 32]);
    let mut counter = 0u64;
    let fl = {
        let n = ok(&mut tpm, &mut out, &cp, "CreatePrimary RSA-2048");
        flush(be32(&out[10..n]))
    };
    ok(&mut tpm, &mut out, &fl, "FlushContext");
    g.bench_function("CreatePrimary RSA-2048 new+Flush", |b| {
        b.iter(|| {
            counter += 1;
            cp[at + 24..at + 32].copy_from_slice(&counter.to_be_bytes());
            black_box(tpm.execute(0, &cp, &mut out));
            black_box(tpm.execute(0, &fl, &mut out))
        })
    });
    // The same prime search outside the engine: a DRBG seeded by KDFa from a seed and a name
    // that changes every iteration, as a primary's is.
    let mut counter = 0u64;
    g.bench_function(
        "crypto RSA-2048 keygen (KDFa + DRBG + sieved prime search)",
        |b| {
            b.iter(|| {
                counter += 1;
                let mut drbg = primary_drbg(&counter.to_be_bytes());
                black_box(RsaPrivate::generate_with(2048, 0, |b| drbg.generate(b, &[])).unwrap())
            })
        },
    );
    g.finish();
}

/// The DRBG a primary is derived from (vtpm's `object::primary`): KDFa(SHA-256, seed,
/// "Primary Object Creation", name, [], 512) instantiating an HMAC_DRBG.
fn primary_drbg(name: &[u8]) -> Drbg {
    let seed = [0x5Au8; 64];
    let mut material = [0u8; 64];
    kdf_a(
        HashAlg::Sha256,
        &seed,
        b"Primary Object Creation",
        name,
        &[],
        512,
        &mut material,
    )
    .unwrap();
    Drbg::new(&material, b"evtpm primary")
}

fn crypto(c: &mut Criterion) {
    // RSA-2048 OAEP decryption (what ActivateCredential does with the EK), on the constant-time
    // CRT operation.
    let mut rd = Drbg::new(&[9u8; 48], b"bench rsa");
    let rsa = RsaPrivate::generate(2048, 0, &mut rd).unwrap();
    let oaep = RsaDecryptScheme::Oaep(HashAlg::Sha256);
    let ct = rsa
        .public()
        .encrypt(oaep, b"IDENTITY\0", &[0x11; 32], &mut rd)
        .unwrap();
    c.bench_function("crypto RSA-2048 OAEP decrypt (constant-time CRT)", |b| {
        b.iter(|| black_box(rsa.decrypt(oaep, b"IDENTITY\0", &ct, &mut rd).unwrap()))
    });
    let digest = [0x3Cu8; 32];
    for curve in [EccCurve::NistP256, EccCurve::NistP384] {
        let bits = curve.field_bytes() * 8;
        c.bench_function(
            &format!("crypto P-{bits} keygen primary (KDFa + DRBG + d·G)"),
            |b| {
                b.iter(|| {
                    let mut drbg = primary_drbg(black_box(b"name"));
                    let k = EccPrivate::generate(curve, &mut drbg).unwrap();
                    black_box(k.public().unwrap())
                })
            },
        );
    }
    let mut drbg = Drbg::new(&[7u8; 48], b"bench");
    c.bench_function("crypto P-256 keygen (DRBG + d·G)", |b| {
        b.iter(|| {
            let k = EccPrivate::generate(EccCurve::NistP256, &mut drbg).unwrap();
            black_box(k.public().unwrap())
        })
    });
    let k = EccPrivate::generate(EccCurve::NistP256, &mut drbg).unwrap();
    c.bench_function("crypto P-256 d·G (public key)", |b| {
        b.iter(|| black_box(k.public().unwrap()))
    });
    c.bench_function("crypto ECDSA P-256 sign (vtpm::crypto)", |b| {
        b.iter(|| black_box(k.sign(black_box(&digest)).unwrap()))
    });
    // RustCrypto's ECDSA without building a SigningKey (which computes the public key first).
    {
        use ecdsa::hazmat::SignPrimitive;
        let secret = p256::SecretKey::from_slice(&k.scalar()).unwrap();
        let scalar: p256::Scalar = *secret.to_nonzero_scalar();
        let z = p256::FieldBytes::clone_from_slice(&digest);
        c.bench_function("crypto ECDSA P-256 sign (RFC 6979 primitive)", |b| {
            b.iter(|| {
                black_box(
                    scalar
                        .try_sign_prehashed_rfc6979::<sha2::Sha256>(black_box(&z), &[])
                        .unwrap(),
                )
            })
        });
    }
    // What Load (and ContextLoad) decrypt with: the integrity HMAC and the AES-128-CFB
    // decryption of a P-256 key's private area under a storage parent (Part 1, 22–23: two
    // KDFa, one HMAC, ~100 bytes of CFB).
    let (seed, name) = ([0x33u8; 32], [0x44u8; 34]);
    let mut private = [0x55u8; 100];
    c.bench_function("crypto Load unwrap (KDFa x2 + HMAC + AES-128-CFB)", |b| {
        b.iter(|| {
            let mut hmac_key = [0u8; 32];
            kdf_a(
                HashAlg::Sha256,
                &seed,
                b"INTEGRITY",
                &[],
                &[],
                256,
                &mut hmac_key,
            )
            .unwrap();
            let mac = Hmac::mac(HashAlg::Sha256, &hmac_key, &[&private, &name]);
            let mut key = [0u8; 16];
            kdf_a(
                HashAlg::Sha256,
                &seed,
                b"STORAGE",
                &name,
                &[],
                128,
                &mut key,
            )
            .unwrap();
            sym::decrypt(&key, SymMode::Cfb, &mut [0u8; 16], &mut private).unwrap();
            black_box(mac)
        })
    });
    let peer = EccPrivate::generate(EccCurve::NistP256, &mut drbg)
        .unwrap()
        .public()
        .unwrap();
    c.bench_function("crypto ECDH P-256 d·Q + KDFe (salt)", |b| {
        b.iter(|| {
            let z = k.ecdh(black_box(&peer)).unwrap();
            let mut salt = [0u8; 32];
            kdf_e(
                HashAlg::Sha256,
                &z.x,
                b"SECRET",
                &peer.x,
                &peer.x,
                256,
                &mut salt,
            )
            .unwrap();
            black_box(salt)
        })
    });
    let k384 = EccPrivate::generate(EccCurve::NistP384, &mut drbg).unwrap();
    let peer384 = EccPrivate::generate(EccCurve::NistP384, &mut drbg)
        .unwrap()
        .public()
        .unwrap();
    c.bench_function("crypto ECDH P-384 d·Q", |b| {
        b.iter(|| black_box(k384.ecdh(black_box(&peer384)).unwrap()))
    });
}

fn config() -> Criterion {
    Criterion::default().warm_up_time(Duration::from_secs(1))
}

criterion_group! {
    name = keys;
    config = config();
    targets = engine, crypto, engine_rsa
}
criterion_main!(keys);
