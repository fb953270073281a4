//! Shared helpers for the byte-level engine tests: a deterministic platform, command builders
//! and response readers.
#![allow(dead_code)]

use std::cell::Cell;
use vtpm::{Config, Platform, PlatformError, Tpm};

/// A deterministic test platform: a counter as entropy, a clock that ticks on every read.
#[derive(Debug, Default)]
pub struct TestPlatform {
    next: u8,
    now: Cell<u64>,
}

impl Platform for TestPlatform {
    fn entropy(&mut self, buf: &mut [u8]) -> Result<(), PlatformError> {
        for b in buf {
            self.next = self.next.wrapping_add(1);
            *b = self.next;
        }
        Ok(())
    }
    fn monotonic_ms(&self) -> u64 {
        self.now.set(self.now.get() + 1);
        self.now.get()
    }
}

pub type T = Tpm<TestPlatform>;

pub const ST_NO_SESSIONS: u16 = 0x8001;
pub const ST_SESSIONS: u16 = 0x8002;
pub const OWNER: u32 = 0x4000_0001;
pub const NULL: u32 = 0x4000_0007;
pub const ENDORSEMENT: u32 = 0x4000_000B;
pub const PLATFORM: u32 = 0x4000_000C;

pub fn started() -> T {
    let mut t = Tpm::manufacture(Config::default(), TestPlatform::default()).unwrap();
    let r = exec(&mut t, &cmd(ST_NO_SESSIONS, 0x144, &[0, 0]));
    assert_eq!(rc(&r), 0);
    t
}

pub fn cmd(tag: u16, cc: u32, body: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&tag.to_be_bytes());
    v.extend_from_slice(&((10 + body.len()) as u32).to_be_bytes());
    v.extend_from_slice(&cc.to_be_bytes());
    v.extend_from_slice(body);
    v
}

pub fn exec(t: &mut T, c: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; vtpm::MAX_RESPONSE_SIZE];
    let n = t.execute(0, c, &mut out);
    let r = out[..n].to_vec();
    let size = u32::from_be_bytes(r[2..6].try_into().unwrap()) as usize;
    assert_eq!(size, r.len(), "response size field matches");
    r
}

pub fn rc(r: &[u8]) -> u32 {
    u32::from_be_bytes(r[6..10].try_into().unwrap())
}

/// A password session (`TPM_RS_PW`) with `password`.
pub fn pw(password: &[u8]) -> Vec<u8> {
    let mut v = vec![0x40, 0, 0, 9, 0, 0, 1];
    v.extend_from_slice(&(password.len() as u16).to_be_bytes());
    v.extend_from_slice(password);
    v
}

/// A command with handles, one password session per entry of `auths`, and parameters.
pub fn auth_cmd(cc: u32, handles: &[u32], auths: &[&[u8]], params: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    for h in handles {
        body.extend_from_slice(&h.to_be_bytes());
    }
    let area: Vec<u8> = auths.iter().flat_map(|a| pw(a)).collect();
    body.extend_from_slice(&(area.len() as u32).to_be_bytes());
    body.extend_from_slice(&area);
    body.extend_from_slice(params);
    cmd(ST_SESSIONS, cc, &body)
}

/// A command without sessions.
pub fn plain_cmd(cc: u32, handles: &[u32], params: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    for h in handles {
        body.extend_from_slice(&h.to_be_bytes());
    }
    body.extend_from_slice(params);
    cmd(ST_NO_SESSIONS, cc, &body)
}

/// `u16` size then `b`.
pub fn b2(b: &[u8]) -> Vec<u8> {
    let mut v = (b.len() as u16).to_be_bytes().to_vec();
    v.extend_from_slice(b);
    v
}

pub fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    hex::decode(s).unwrap()
}

/// A big-endian reader over a response.
pub struct Rd<'a> {
    pub b: &'a [u8],
    pub at: usize,
}

impl<'a> Rd<'a> {
    /// Reader over the parameters of a response (after the header, the optional handle and,
    /// with sessions, the parameter size).
    pub fn params(r: &'a [u8], handle: bool) -> Rd<'a> {
        let tag = u16::from_be_bytes([r[0], r[1]]);
        let mut at = 10 + if handle { 4 } else { 0 };
        if tag == ST_SESSIONS {
            at += 4;
        }
        Rd { b: r, at }
    }
    pub fn u16(&mut self) -> u16 {
        let v = u16::from_be_bytes(self.b[self.at..self.at + 2].try_into().unwrap());
        self.at += 2;
        v
    }
    pub fn u32(&mut self) -> u32 {
        let v = u32::from_be_bytes(self.b[self.at..self.at + 4].try_into().unwrap());
        self.at += 4;
        v
    }
    pub fn bytes(&mut self, n: usize) -> &'a [u8] {
        let v = &self.b[self.at..self.at + n];
        self.at += n;
        v
    }
    pub fn b2(&mut self) -> &'a [u8] {
        let n = self.u16() as usize;
        self.bytes(n)
    }
}

/// The response handle.
pub fn handle(r: &[u8]) -> u32 {
    u32::from_be_bytes(r[10..14].try_into().unwrap())
}

// TPMA_OBJECT bits.
pub const FIXED_TPM: u32 = 1 << 1;
pub const ST_CLEAR: u32 = 1 << 2;
pub const FIXED_PARENT: u32 = 1 << 4;
pub const SENSITIVE_DATA_ORIGIN: u32 = 1 << 5;
pub const USER_WITH_AUTH: u32 = 1 << 6;
pub const ADMIN_WITH_POLICY: u32 = 1 << 7;
pub const NO_DA: u32 = 1 << 10;
pub const RESTRICTED: u32 = 1 << 16;
pub const DECRYPT: u32 = 1 << 17;
pub const SIGN: u32 = 1 << 18;

/// The attributes of a storage key as tpm2-tools makes one.
pub const STORAGE: u32 = FIXED_TPM
    | FIXED_PARENT
    | SENSITIVE_DATA_ORIGIN
    | USER_WITH_AUTH
    | NO_DA
    | RESTRICTED
    | DECRYPT;
/// A non-restricted signing key.
pub const SIGNING: u32 = FIXED_TPM | FIXED_PARENT | SENSITIVE_DATA_ORIGIN | USER_WITH_AUTH | SIGN;

/// An ECC template: SHA-256 name, `attrs`, no policy, `sym` (e.g. AES-128-CFB or NULL),
/// `scheme` bytes, curve, KDF NULL, empty unique.
pub fn ecc_template(attrs: u32, sym: &[u8], scheme: &[u8], curve: u16) -> Vec<u8> {
    let mut t = hex("0023 000b");
    t.extend_from_slice(&attrs.to_be_bytes());
    t.extend_from_slice(&[0, 0]);
    t.extend_from_slice(sym);
    t.extend_from_slice(scheme);
    t.extend_from_slice(&curve.to_be_bytes());
    t.extend_from_slice(&hex("0010 0000 0000"));
    t
}

/// An RSA template with `bits`, exponent 0, empty unique.
pub fn rsa_template(attrs: u32, sym: &[u8], scheme: &[u8], bits: u16) -> Vec<u8> {
    let mut t = hex("0001 000b");
    t.extend_from_slice(&attrs.to_be_bytes());
    t.extend_from_slice(&[0, 0]);
    t.extend_from_slice(sym);
    t.extend_from_slice(scheme);
    t.extend_from_slice(&bits.to_be_bytes());
    t.extend_from_slice(&hex("00000000 0000"));
    t
}

/// A keyed-hash template with `attrs` and `scheme`, empty unique.
pub fn keyedhash_template(attrs: u32, scheme: &[u8]) -> Vec<u8> {
    let mut t = hex("0008 000b");
    t.extend_from_slice(&attrs.to_be_bytes());
    t.extend_from_slice(&[0, 0]);
    t.extend_from_slice(scheme);
    t.extend_from_slice(&[0, 0]);
    t
}

/// A symmetric-cipher template (AES-`bits`, `mode`).
pub fn sym_template(attrs: u32, bits: u16, mode: u16) -> Vec<u8> {
    let mut t = hex("0025 000b");
    t.extend_from_slice(&attrs.to_be_bytes());
    t.extend_from_slice(&[0, 0]);
    t.extend_from_slice(&hex("0006"));
    t.extend_from_slice(&bits.to_be_bytes());
    t.extend_from_slice(&mode.to_be_bytes());
    t.extend_from_slice(&[0, 0]);
    t
}

pub const AES128_CFB: &[u8] = &[0x00, 0x06, 0x00, 0x80, 0x00, 0x43];
pub const SYM_NULL: &[u8] = &[0x00, 0x10];
pub const SCHEME_NULL: &[u8] = &[0x00, 0x10];
pub const ECDSA_SHA256: &[u8] = &[0x00, 0x18, 0x00, 0x0B];
pub const RSASSA_SHA256: &[u8] = &[0x00, 0x14, 0x00, 0x0B];
pub const RSAPSS_SHA256: &[u8] = &[0x00, 0x16, 0x00, 0x0B];
pub const HMAC_SHA256: &[u8] = &[0x00, 0x05, 0x00, 0x0B];

/// `TPM2B_SENSITIVE_CREATE` with `auth` and `data`.
pub fn sensitive_create(auth: &[u8], data: &[u8]) -> Vec<u8> {
    let mut inner = b2(auth);
    inner.extend(b2(data));
    b2(&inner)
}

/// Parameters of CreatePrimary / Create: inSensitive, inPublic, outsideInfo, creationPCR.
pub fn create_params(auth: &[u8], data: &[u8], template: &[u8], pcrs: &[u8]) -> Vec<u8> {
    let mut p = sensitive_create(auth, data);
    p.extend(b2(template));
    p.extend(b2(b"outside"));
    if pcrs.is_empty() {
        p.extend(0u32.to_be_bytes());
    } else {
        p.extend(pcrs);
    }
    p
}

/// `TPM2_CreatePrimary` under `hierarchy`; returns (rc, response).
pub fn create_primary(t: &mut T, hierarchy: u32, template: &[u8]) -> Vec<u8> {
    exec(
        t,
        &auth_cmd(
            0x131,
            &[hierarchy],
            &[b""],
            &create_params(b"", b"", template, &[]),
        ),
    )
}

/// The SRK-like ECC P-256 storage primary in the owner hierarchy; returns its handle.
pub fn srk(t: &mut T) -> u32 {
    let r = create_primary(t, OWNER, &ecc_template(STORAGE, AES128_CFB, SCHEME_NULL, 3));
    assert_eq!(rc(&r), 0, "CreatePrimary SRK");
    handle(&r)
}

/// `TPM2_Create` under `parent` (password `parent_auth`); returns the response.
pub fn create(t: &mut T, parent: u32, auth: &[u8], data: &[u8], template: &[u8]) -> Vec<u8> {
    exec(
        t,
        &auth_cmd(
            0x153,
            &[parent],
            &[b""],
            &create_params(auth, data, template, &[]),
        ),
    )
}

/// (outPrivate, outPublic) of a Create response.
pub fn private_public(r: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let mut rd = Rd::params(r, false);
    let private = rd.b2().to_vec();
    let public = rd.b2().to_vec();
    (private, public)
}

/// `TPM2_Load`; returns the response.
pub fn load(t: &mut T, parent: u32, private: &[u8], public: &[u8]) -> Vec<u8> {
    let mut p = b2(private);
    p.extend(b2(public));
    exec(t, &auth_cmd(0x157, &[parent], &[b""], &p))
}

/// Creates and loads a key under `parent`; returns its handle.
pub fn create_loaded_key(t: &mut T, parent: u32, auth: &[u8], template: &[u8]) -> u32 {
    let r = create(t, parent, auth, b"", template);
    assert_eq!(rc(&r), 0, "Create");
    let (private, public) = private_public(&r);
    let r = load(t, parent, &private, &public);
    assert_eq!(rc(&r), 0, "Load");
    handle(&r)
}

pub fn sha256(parts: &[&[u8]]) -> Vec<u8> {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().to_vec()
}

/// `000b || SHA-256(public)`.
pub fn name_of(public: &[u8]) -> Vec<u8> {
    let mut n = vec![0x00, 0x0b];
    n.extend(sha256(&[public]));
    n
}

/// `TPM2_FlushContext` is not implemented by the objects work; the tests restart the TPM
/// instead when they run out of slots.
pub fn read_public(t: &mut T, h: u32) -> Vec<u8> {
    exec(t, &plain_cmd(0x173, &[h], &[]))
}

/// `TPM2_Sign` parameters: digest, inScheme, validation.
pub fn sign_params(digest: &[u8], scheme: &[u8], ticket: &[u8]) -> Vec<u8> {
    let mut p = b2(digest);
    p.extend_from_slice(scheme);
    p.extend_from_slice(ticket);
    p
}

/// The `TPMT_SIGNATURE` of a `TPM2_Sign` response with one password session.
pub fn sig_of(r: &[u8]) -> &[u8] {
    &r[14..r.len() - 5]
}

/// The NULL hash-check ticket.
pub const NULL_TICKET: &[u8] = &[0x80, 0x24, 0x40, 0x00, 0x00, 0x07, 0x00, 0x00];

pub fn p256_verify(public: &[u8], digest: &[u8], r: &[u8], s: &[u8]) {
    use p256::ecdsa::signature::hazmat::PrehashVerifier;
    let n = public.len();
    let x = &public[n - 66..n - 34];
    let y = &public[n - 32..];
    let mut sec1 = vec![4u8];
    sec1.extend_from_slice(x);
    sec1.extend_from_slice(y);
    let vk = p256::ecdsa::VerifyingKey::from_sec1_bytes(&sec1).unwrap();
    let sig = p256::ecdsa::Signature::from_scalars(
        *p256::FieldBytes::from_slice(r),
        *p256::FieldBytes::from_slice(s),
    )
    .unwrap();
    vk.verify_prehash(digest, &sig)
        .expect("ECDSA signature verifies");
}
