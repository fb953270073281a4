//! NV commands, differential: the same command bytes go to the reference (swtpm/libtpms) and to
//! the endpoint under test, and every response must agree byte for byte (NV responses are
//! deterministic: data, public areas and Names), except where a view says otherwise.

use evtpm_tests::cmd::{self, RH_OWNER, RH_PLATFORM};
use evtpm_tests::diff::{c, differential, slot, Step, View};
use sha2::Digest;
use tpm_proto::{Cap, Cc, Su};

/// Where the firmware's provisioned EK certificate indices start (see `View::HandlesBelow`).
const EK_CERT_RANGE: u32 = 0x01C0_0000;
const IDX: u32 = 0x0150_0016;
const LOCKOUT: u32 = 0x4000_000A;

// TPMA_NV bits.
const PPWRITE: u32 = 1;
const OWNERWRITE: u32 = 1 << 1;
const AUTHWRITE: u32 = 1 << 2;
const POLICYWRITE: u32 = 1 << 3;
const COUNTER: u32 = 1 << 4;
const BITS: u32 = 2 << 4;
const EXTEND: u32 = 4 << 4;
const PIN_FAIL: u32 = 8 << 4;
const PIN_PASS: u32 = 9 << 4;
const POLICY_DELETE: u32 = 1 << 10;
const WRITEALL: u32 = 1 << 12;
const WRITEDEFINE: u32 = 1 << 13;
const WRITE_STCLEAR: u32 = 1 << 14;
const GLOBALLOCK: u32 = 1 << 15;
const PPREAD: u32 = 1 << 16;
const OWNERREAD: u32 = 1 << 17;
const AUTHREAD: u32 = 1 << 18;
const NO_DA: u32 = 1 << 25;
const ORDERLY: u32 = 1 << 26;
const CLEAR_STCLEAR: u32 = 1 << 27;
const WRITTEN: u32 = 1 << 29;
const PLATFORMCREATE: u32 = 1 << 30;
const READ_STCLEAR: u32 = 1 << 31;
const RW: u32 = OWNERREAD | OWNERWRITE;

fn sized(b: &[u8]) -> Vec<u8> {
    let mut v = (b.len() as u16).to_be_bytes().to_vec();
    v.extend_from_slice(b);
    v
}

fn public(index: u32, alg: u16, attrs: u32, policy: &[u8], size: u16) -> Vec<u8> {
    let mut p = index.to_be_bytes().to_vec();
    p.extend_from_slice(&alg.to_be_bytes());
    p.extend_from_slice(&attrs.to_be_bytes());
    p.extend_from_slice(&sized(policy));
    p.extend_from_slice(&size.to_be_bytes());
    p
}

fn define_full(by: u32, auth: &[u8], public: &[u8]) -> Vec<u8> {
    let mut params = sized(auth);
    params.extend_from_slice(&sized(public));
    cmd::with_pw(Cc::NvDefineSpace, &[by], &[b""], &params)
}

fn define(index: u32, attrs: u32, size: u16) -> Vec<u8> {
    define_full(RH_OWNER, b"", &public(index, 0x0B, attrs, &[], size))
}

fn undefine(by: u32, index: u32) -> Vec<u8> {
    cmd::with_pw(Cc::NvUndefineSpace, &[by, index], &[b""], &[])
}

fn write_as(auth: u32, pw: &[u8], index: u32, data: &[u8], offset: u16) -> Vec<u8> {
    let mut params = sized(data);
    params.extend_from_slice(&offset.to_be_bytes());
    cmd::with_pw(Cc::NvWrite, &[auth, index], &[pw], &params)
}

fn write(index: u32, data: &[u8], offset: u16) -> Vec<u8> {
    write_as(RH_OWNER, b"", index, data, offset)
}

fn read_as(auth: u32, pw: &[u8], index: u32, size: u16, offset: u16) -> Vec<u8> {
    let mut params = size.to_be_bytes().to_vec();
    params.extend_from_slice(&offset.to_be_bytes());
    cmd::with_pw(Cc::NvRead, &[auth, index], &[pw], &params)
}

fn read(index: u32, size: u16, offset: u16) -> Vec<u8> {
    read_as(RH_OWNER, b"", index, size, offset)
}

fn on(cc: Cc, index: u32, params: &[u8]) -> Vec<u8> {
    cmd::with_pw(cc, &[RH_OWNER, index], &[b""], params)
}

fn read_public(index: u32) -> Vec<u8> {
    cmd::no_sessions(Cc::NvReadPublic, &index.to_be_bytes())
}

fn full(name: &str, bytes: Vec<u8>) -> Step {
    c(name, bytes, View::Full)
}

fn reboot(su: Su) -> Vec<Step> {
    vec![
        full("Shutdown", cmd::shutdown(su)),
        Step::PowerCycle,
        full("Startup(CLEAR)", cmd::startup(Su::Clear)),
    ]
}

#[test]
fn nv_define_space_checks_agree() {
    differential(|| {
        let d = |name: &str, attrs: u32, size: u16| full(name, define(IDX, attrs, size));
        let p = |name: &str, by: u32, auth: &[u8], public: Vec<u8>| {
            full(name, define_full(by, auth, &public))
        };
        vec![
            d("counter of 4 octets", RW | COUNTER, 4),
            d("bits of 9 octets", RW | BITS, 9),
            d("SHA-256 extend of 20 octets", RW | EXTEND, 20),
            d("PIN Fail of 16 octets", RW | NO_DA | PIN_FAIL, 16),
            d("undefined type 3", RW | (3 << 4), 8),
            d(
                "counter with CLEAR_STCLEAR",
                RW | COUNTER | CLEAR_STCLEAR,
                8,
            ),
            d("PIN Fail without NO_DA", RW | PIN_FAIL, 8),
            d(
                "PIN Pass with AUTHWRITE",
                OWNERREAD | AUTHWRITE | PIN_PASS,
                8,
            ),
            d("PIN Pass with GLOBALLOCK", RW | PIN_PASS | GLOBALLOCK, 8),
            d("WRITTEN set", RW | WRITTEN, 8),
            d("READLOCKED set", RW | (1 << 28), 8),
            d("no way to read", OWNERWRITE | POLICYWRITE, 8),
            d("no way to write", OWNERREAD | AUTHREAD, 8),
            d(
                "CLEAR_STCLEAR with WRITEDEFINE",
                RW | CLEAR_STCLEAR | WRITEDEFINE,
                8,
            ),
            d("PLATFORMCREATE by the owner", RW | PLATFORMCREATE, 8),
            p(
                "platform without PLATFORMCREATE",
                RH_PLATFORM,
                b"",
                public(IDX, 0x0B, PPWRITE | PPREAD, &[], 8),
            ),
            d("POLICY_DELETE by the owner", RW | POLICY_DELETE, 8),
            d("WRITEALL larger than a buffer", RW | WRITEALL, 1025),
            d("larger than NV_INDEX_MAX", RW, 2049),
            p(
                "authPolicy of the wrong size",
                RH_OWNER,
                b"",
                public(IDX, 0x04, RW, &[0xAA; 32], 8),
            ),
            p(
                "auth longer than the nameAlg digest",
                RH_OWNER,
                &[1; 21],
                public(IDX, 0x04, RW, &[], 8),
            ),
            p(
                "reserved attribute bit",
                RH_OWNER,
                b"",
                public(IDX, 0x0B, RW | (1 << 8), &[], 8),
            ),
            p(
                "unknown nameAlg",
                RH_OWNER,
                b"",
                public(IDX, 0x03, RW, &[], 8),
            ),
            p(
                "persistent handle",
                RH_OWNER,
                b"",
                public(0x8100_0001, 0x0B, RW, &[], 8),
            ),
            full(
                "empty TPM2B_NV_PUBLIC",
                cmd::with_pw(Cc::NvDefineSpace, &[RH_OWNER], &[b""], &[0, 0, 0, 0]),
            ),
            p(
                "auth with trailing zeros",
                RH_OWNER,
                &[
                    1, 2, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                ],
                public(IDX, 0x04, RW, &[0xAA; 20], 2048),
            ),
            d("defined twice", RW, 8),
            p(
                "SHA-384 extend",
                RH_OWNER,
                b"",
                public(IDX + 1, 0x0C, RW | EXTEND, &[], 48),
            ),
            full("ReadPublic of the SHA-1 index", read_public(IDX)),
            full("ReadPublic of the extend index", read_public(IDX + 1)),
            full("ReadPublic of an undefined index", read_public(IDX + 2)),
        ]
    });
}

#[test]
fn nv_ordinary_index_agrees() {
    differential(|| {
        vec![
            // NO_DA: the first authorization of a DA-protected entity after startup is
            // TPM_RC_RETRY in libtpms (USE_DA_USED), which evtpm does not do.
            full("define", define(IDX, RW | NO_DA, 32)),
            full("read unwritten", read(IDX, 4, 0)),
            full("write 5 at 3", write(IDX, b"hello", 3)),
            full("read 10 at 0 (unwritten octets)", read(IDX, 10, 0)),
            full("ReadPublic after write", read_public(IDX)),
            full("write at offset 33", write(IDX, b"abc", 33)),
            full("write past the end", write(IDX, b"abc", 30)),
            full("write nothing at the end", write(IDX, b"", 32)),
            full("read 1025", read(IDX, 1025, 0)),
            full("read at offset 33", read(IDX, 1, 33)),
            full("read past the end", read(IDX, 4, 30)),
            full("read nothing at the end", read(IDX, 0, 32)),
            full("read by the platform", read_as(RH_PLATFORM, b"", IDX, 1, 0)),
            full(
                "write by the platform",
                write_as(RH_PLATFORM, b"", IDX, b"a", 0),
            ),
            full("read with the index auth", read_as(IDX, b"", IDX, 1, 0)),
            full("increment an ordinary index", on(Cc::NvIncrement, IDX, &[])),
            full(
                "extend an ordinary index",
                on(Cc::NvExtend, IDX, &sized(b"x")),
            ),
            full(
                "set bits of an ordinary index",
                on(Cc::NvSetBits, IDX, &[0; 8]),
            ),
            full("define WRITEALL", define(IDX + 1, RW | WRITEALL, 4)),
            full("partial write of WRITEALL", write(IDX + 1, b"abc", 0)),
            full("full write of WRITEALL", write(IDX + 1, b"abcd", 0)),
            full("undefine", undefine(RH_OWNER, IDX)),
            full("read undefined", read(IDX, 1, 0)),
            full("undefine undefined", undefine(RH_OWNER, IDX)),
            c(
                "NV handles",
                cmd::get_capability(Cap::Handles, 0x0100_0000, 16),
                View::HandlesBelow(EK_CERT_RANGE),
            ),
        ]
    });
}

#[test]
fn nv_counter_extend_and_bits_agree() {
    differential(|| {
        let bits = |b: u64| on(Cc::NvSetBits, IDX + 2, &b.to_be_bytes());
        vec![
            full("define counter", define(IDX, RW | COUNTER, 8)),
            full("read unwritten counter", read(IDX, 8, 0)),
            full("increment", on(Cc::NvIncrement, IDX, &[])),
            full("increment", on(Cc::NvIncrement, IDX, &[])),
            full("read counter", read(IDX, 8, 0)),
            full("write a counter", write(IDX, &[0; 8], 0)),
            full("extend a counter", on(Cc::NvExtend, IDX, &sized(b"x"))),
            // TPM_PT_NV_COUNTERS only: TPM_PT_HR_NV_INDEX also counts the firmware's two
            // provisioned EK certificate indices (the index lists are compared below 0x01C00000
            // by View::HandlesBelow, and in full by tests/tests/ek.rs and nv.rs).
            c(
                "NV_COUNTERS",
                cmd::get_capability(Cap::TpmProperties, 0x202, 9),
                View::Props(&[0x20A]),
            ),
            full("undefine counter", undefine(RH_OWNER, IDX)),
            full("redefine counter", define(IDX, RW | COUNTER, 8)),
            full("increment redefined", on(Cc::NvIncrement, IDX, &[])),
            full("read redefined counter", read(IDX, 8, 0)),
            full("define extend", define(IDX + 1, RW | EXTEND, 32)),
            full("extend abc", on(Cc::NvExtend, IDX + 1, &sized(b"abc"))),
            full("extend def", on(Cc::NvExtend, IDX + 1, &sized(b"def"))),
            full("read extend", read(IDX + 1, 32, 0)),
            full("write an extend index", write(IDX + 1, &[0; 4], 0)),
            full("define bits", define(IDX + 2, RW | BITS, 8)),
            full("set 0x11", bits(0x11)),
            full("set high bit", bits(1 << 63)),
            full("read bits", read(IDX + 2, 8, 0)),
            full("ReadPublic bits", read_public(IDX + 2)),
        ]
    });
}

#[test]
fn nv_locks_and_restarts_agree() {
    differential(|| {
        let mut v = vec![
            full("define WRITE_STCLEAR", define(IDX, RW | WRITE_STCLEAR, 8)),
            full("define WRITEDEFINE", define(IDX + 1, RW | WRITEDEFINE, 8)),
            full("define plain", define(IDX + 2, RW | GLOBALLOCK, 8)),
            full("define READ_STCLEAR", define(IDX + 3, RW | READ_STCLEAR, 8)),
            full(
                "define CLEAR_STCLEAR",
                define(IDX + 4, RW | CLEAR_STCLEAR, 8),
            ),
            full("define ORDERLY", define(IDX + 5, RW | ORDERLY, 8)),
            full(
                "write lock a plain index",
                on(Cc::NvWriteLock, IDX + 2, &[]),
            ),
            full("write lock WRITE_STCLEAR", on(Cc::NvWriteLock, IDX, &[])),
            full("write a locked index", write(IDX, b"a", 0)),
            full("write lock again", on(Cc::NvWriteLock, IDX, &[])),
            full("ReadPublic locked", read_public(IDX)),
            full("write WRITEDEFINE", write(IDX + 1, b"a", 0)),
            full("write lock WRITEDEFINE", on(Cc::NvWriteLock, IDX + 1, &[])),
            full("read lock unwritten", on(Cc::NvReadLock, IDX + 3, &[])),
            full("read read-locked unwritten", read(IDX + 3, 1, 0)),
            full("write read-locked", write(IDX + 3, b"r", 0)),
            full("read lock a plain index", on(Cc::NvReadLock, IDX + 2, &[])),
            full("write CLEAR_STCLEAR", write(IDX + 4, b"c", 0)),
            full("write ORDERLY", write(IDX + 5, b"o", 0)),
            full(
                "GlobalWriteLock",
                cmd::with_pw(Cc::NvGlobalWriteLock, &[RH_OWNER], &[b""], &[]),
            ),
            full("write GLOBALLOCK", write(IDX + 2, b"g", 0)),
        ];
        v.extend(reboot(Su::State));
        v.extend([
            full("write after restart", write(IDX, b"a", 0)),
            full("write WRITEDEFINE after restart", write(IDX + 1, b"a", 0)),
            full("write GLOBALLOCK after restart", write(IDX + 2, b"g", 0)),
            full("read READ_STCLEAR after restart", read(IDX + 3, 1, 0)),
            full("read CLEAR_STCLEAR after restart", read(IDX + 4, 1, 0)),
            full("read ORDERLY after restart", read(IDX + 5, 1, 0)),
            full("ReadPublic CLEAR_STCLEAR", read_public(IDX + 4)),
        ]);
        v.extend(reboot(Su::Clear));
        v.extend([
            full("read ORDERLY after reset", read(IDX + 5, 1, 0)),
            full("write WRITEDEFINE after reset", write(IDX + 1, b"a", 0)),
            full("ReadPublic WRITEDEFINE", read_public(IDX + 1)),
        ]);
        v
    });
}

#[test]
fn nv_authorization_agrees() {
    differential(|| {
        // NO_DA: see nv_ordinary_index_agrees.
        let idx_public = public(IDX, 0x0B, AUTHWRITE | AUTHREAD | NO_DA, &[], 8);
        let pin = public(IDX + 2, 0x0B, RW | PIN_PASS | NO_DA, &[], 8);
        let special = public(
            IDX + 3,
            0x0B,
            PPWRITE | PPREAD | PLATFORMCREATE | POLICY_DELETE | NO_DA,
            &[0x11; 32],
            4,
        );
        let mut undefine_special = IDX.wrapping_add(3).to_be_bytes().to_vec();
        undefine_special.extend_from_slice(&RH_PLATFORM.to_be_bytes());
        vec![
            full(
                "define with auth",
                define_full(RH_OWNER, b"secret", &idx_public),
            ),
            full(
                "write with the index auth",
                write_as(IDX, b"secret", IDX, b"abc", 0),
            ),
            full(
                "read with the index auth",
                read_as(IDX, b"secret", IDX, 3, 0),
            ),
            full("owner write without OWNERWRITE", write(IDX, b"a", 0)),
            full("owner read without OWNERREAD", read(IDX, 1, 0)),
            full(
                "define owner-write, auth-read",
                define(IDX + 1, OWNERWRITE | AUTHREAD | NO_DA, 8),
            ),
            full(
                "index write without AUTHWRITE",
                write_as(IDX + 1, b"", IDX + 1, b"a", 0),
            ),
            full("write as owner", write(IDX + 1, b"a", 0)),
            full(
                "read with another index's auth",
                read_as(IDX, b"secret", IDX + 1, 1, 0),
            ),
            full(
                "ChangeAuth with a password",
                cmd::with_pw(Cc::NvChangeAuth, &[IDX], &[b"secret"], &sized(b"new")),
            ),
            full("define PIN Pass", define_full(RH_OWNER, b"pin", &pin)),
            full(
                "PIN read unwritten",
                read_as(IDX + 2, b"pin", IDX + 2, 8, 0),
            ),
            full(
                "write pinLimit 1",
                write(IDX + 2, &[0, 0, 0, 0, 0, 0, 0, 1], 0),
            ),
            // The data shows pinCount after this authorization: compared once the session layer
            // counts PIN Pass uses (`Nv::pin_authorization`).
            c(
                "PIN read",
                read_as(IDX + 2, b"pin", IDX + 2, 8, 0),
                View::Rc,
            ),
            full(
                "write pinCount 1",
                write(IDX + 2, &[0, 0, 0, 1, 0, 0, 0, 1], 0),
            ),
            full("PIN read at limit", read_as(IDX + 2, b"pin", IDX + 2, 8, 0)),
            full(
                "define POLICY_DELETE",
                define_full(RH_PLATFORM, b"", &special),
            ),
            full(
                "UndefineSpace POLICY_DELETE",
                undefine(RH_PLATFORM, IDX + 3),
            ),
            full(
                "UndefineSpaceSpecial with passwords",
                cmd::with_pw(
                    Cc::NvUndefineSpaceSpecial,
                    &[IDX + 3, RH_PLATFORM],
                    &[b"", b""],
                    &[],
                ),
            ),
            full(
                "define platform index",
                define_full(
                    RH_PLATFORM,
                    b"",
                    &public(IDX + 4, 0x0B, PPWRITE | PPREAD | PLATFORMCREATE, &[], 4),
                ),
            ),
            full(
                "owner undefines platform index",
                undefine(RH_OWNER, IDX + 4),
            ),
            full("Clear", cmd::with_pw(Cc::Clear, &[LOCKOUT], &[b""], &[])),
            c(
                "NV handles after Clear",
                cmd::get_capability(Cap::Handles, 0x0100_0000, 16),
                View::HandlesBelow(EK_CERT_RANGE),
            ),
            full("platform undefines", undefine(RH_PLATFORM, IDX + 3)),
            full("platform undefines", undefine(RH_PLATFORM, IDX + 4)),
            c(
                "NV handles at the end",
                cmd::get_capability(Cap::Handles, 0x0100_0000, 16),
                View::HandlesBelow(EK_CERT_RANGE),
            ),
        ]
    });
}

// TPMA_OBJECT bits of the certifying keys.
const OBJ_FIXED: u32 = (1 << 1) | (1 << 4); // fixedTPM | fixedParent
const OBJ_SDO: u32 = 1 << 5; // sensitiveDataOrigin
const OBJ_USER: u32 = 1 << 6; // userWithAuth
const OBJ_NO_DA: u32 = 1 << 10;
const OBJ_RESTRICTED: u32 = 1 << 16;
const OBJ_DECRYPT: u32 = 1 << 17;
const OBJ_SIGN: u32 = 1 << 18;
const OBJ_SIGNING: u32 = OBJ_FIXED | OBJ_SDO | OBJ_USER | OBJ_NO_DA | OBJ_SIGN;

const SCHEME_NULL: &[u8] = &[0x00, 0x10];
const ECDSA_SHA256: &[u8] = &[0x00, 0x18, 0x00, 0x0B];
const ECDSA_SHA384: &[u8] = &[0x00, 0x18, 0x00, 0x0C];
const RSASSA_SHA256: &[u8] = &[0x00, 0x14, 0x00, 0x0B];
const RSAPSS_SHA384: &[u8] = &[0x00, 0x16, 0x00, 0x0C];
const HMAC_SHA1: &[u8] = &[0x00, 0x05, 0x00, 0x04];

/// `TPM2_NV_Certify(sign, auth, index; qualifyingData, inScheme, size, offset)` with empty
/// passwords for both authorizations (libtpms wants one for `TPM_RH_NULL` too).
fn certify_q(
    sign: u32,
    auth: u32,
    index: u32,
    q: &[u8],
    scheme: &[u8],
    size: u16,
    off: u16,
) -> Vec<u8> {
    let mut p = sized(q);
    p.extend_from_slice(scheme);
    p.extend_from_slice(&size.to_be_bytes());
    p.extend_from_slice(&off.to_be_bytes());
    cmd::with_pw(Cc::NvCertify, &[sign, auth, index], &[b"", b""], &p)
}

fn certify(sign: u32, auth: u32, index: u32, scheme: &[u8], size: u16, off: u16) -> Vec<u8> {
    certify_q(sign, auth, index, b"nonce", scheme, size, off)
}

/// `TPM2_CreatePrimary(owner)` of `public`, no sensitive data, no creation PCRs.
fn create_primary(public: &[u8]) -> Vec<u8> {
    let mut p = sized(&[0, 0, 0, 0]);
    p.extend_from_slice(&sized(public));
    p.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    cmd::with_pw(Cc::CreatePrimary, &[RH_OWNER], &[b""], &p)
}

/// An ECC P-256 public area (SHA-256 Name) with `attrs`, `sym`, `scheme`, point (`x`, `y`).
fn ecc_public(attrs: u32, sym: &[u8], scheme: &[u8], x: &[u8], y: &[u8]) -> Vec<u8> {
    let mut t = vec![0x00, 0x23, 0x00, 0x0B];
    t.extend_from_slice(&attrs.to_be_bytes());
    t.extend_from_slice(&[0, 0]);
    t.extend_from_slice(sym);
    t.extend_from_slice(scheme);
    t.extend_from_slice(&[0x00, 0x03, 0x00, 0x10]);
    t.extend_from_slice(&sized(x));
    t.extend_from_slice(&sized(y));
    t
}

/// An RSA-2048 template (SHA-256 Name) with `attrs` and `scheme`.
fn rsa_template(attrs: u32, scheme: &[u8]) -> Vec<u8> {
    let mut t = vec![0x00, 0x01, 0x00, 0x0B];
    t.extend_from_slice(&attrs.to_be_bytes());
    t.extend_from_slice(&[0, 0, 0x00, 0x10]);
    t.extend_from_slice(scheme);
    t.extend_from_slice(&[0x08, 0x00, 0, 0, 0, 0, 0, 0]);
    t
}

/// `TPM2_LoadExternal` of an HMAC-SHA256 key with known bits in the NULL hierarchy: its Name,
/// and so the `qualifiedSigner` of what it certifies, is the same on every TPM.
fn load_external_hmac() -> Vec<u8> {
    let (seed, bits) = ([0x11u8; 32], [0x42u8; 32]);
    let unique: Vec<u8> = sha2::Sha256::new()
        .chain_update(seed)
        .chain_update(bits)
        .finalize()
        .to_vec();
    let mut public = vec![0x00, 0x08, 0x00, 0x0B];
    public.extend_from_slice(&(OBJ_USER | OBJ_NO_DA | OBJ_SIGN).to_be_bytes());
    public.extend_from_slice(&[0, 0, 0x00, 0x05, 0x00, 0x0B]);
    public.extend_from_slice(&sized(&unique));
    let mut sensitive = vec![0x00, 0x08, 0, 0];
    sensitive.extend_from_slice(&sized(&seed));
    sensitive.extend_from_slice(&sized(&bits));
    let mut p = sized(&sensitive);
    p.extend_from_slice(&sized(&public));
    p.extend_from_slice(&cmd::RH_NULL.to_be_bytes());
    cmd::no_sessions(Cc::LoadExternal, &p)
}

/// `TPM2_LoadExternal` of the public part only of an ECDSA P-256 signing key (the generator).
fn load_external_ecc_public() -> Vec<u8> {
    let x = hex::decode("6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296");
    let y = hex::decode("4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5");
    let public = ecc_public(
        OBJ_USER | OBJ_NO_DA | OBJ_SIGN,
        SCHEME_NULL,
        ECDSA_SHA256,
        &x.expect("hex"),
        &y.expect("hex"),
    );
    let mut p = vec![0, 0];
    p.extend_from_slice(&sized(&public));
    p.extend_from_slice(&RH_OWNER.to_be_bytes());
    cmd::no_sessions(Cc::LoadExternal, &p)
}

fn flush(n: usize) -> Vec<u8> {
    cmd::no_sessions(Cc::FlushContext, &slot(n).to_be_bytes())
}

/// `TPM2_NV_Certify` (Part 3, 31.16): response codes for good and bad input, and the
/// deterministic parts of each `TPMS_ATTEST` (see [`View::Attest`]), against the reference.
#[test]
fn nv_certify_agrees() {
    differential(|| {
        let null = cmd::RH_NULL;
        let signed = View::Attest { signer: true };
        let seeded = View::Attest { signer: false };
        let a = |name: &str, bytes: Vec<u8>| c(name, bytes, signed);
        let mut v = vec![
            // NO_DA throughout: see nv_ordinary_index_agrees.
            full("define 16", define(IDX, RW | NO_DA, 16)),
            full("define 2048", define(IDX + 1, RW | NO_DA, 2048)),
            full(
                "define owner-write, auth-read",
                define(IDX + 2, OWNERWRITE | AUTHREAD | NO_DA, 8),
            ),
            full(
                "define READ_STCLEAR",
                define(IDX + 3, RW | READ_STCLEAR | NO_DA, 8),
            ),
            a("unwritten", certify(null, RH_OWNER, IDX, SCHEME_NULL, 4, 0)),
            full("write 16", write(IDX, b"0123456789abcdef", 0)),
            full("write 2048 low", write(IDX + 1, &[b'x'; 1024], 0)),
            full("write 2048 high", write(IDX + 1, &[b'y'; 1024], 1024)),
            full("write auth-read", write(IDX + 2, b"authread", 0)),
            full("write READ_STCLEAR", write(IDX + 3, b"readlock", 0)),
            a("5 at 2", certify(null, RH_OWNER, IDX, SCHEME_NULL, 5, 2)),
            a(
                "digest form",
                certify(null, RH_OWNER, IDX, SCHEME_NULL, 0, 0),
            ),
            a(
                "digest form with a scheme and no key",
                certify(null, RH_OWNER, IDX, ECDSA_SHA256, 0, 0),
            ),
            a(
                "nothing at the end",
                certify(null, RH_OWNER, IDX, SCHEME_NULL, 0, 16),
            ),
            a(
                "17 octets",
                certify(null, RH_OWNER, IDX, SCHEME_NULL, 17, 0),
            ),
            a(
                "1 at the end",
                certify(null, RH_OWNER, IDX, SCHEME_NULL, 1, 16),
            ),
            a(
                "offset past the end",
                certify(null, RH_OWNER, IDX, SCHEME_NULL, 0, 17),
            ),
            a(
                "size and offset 0xFFFF",
                certify(null, RH_OWNER, IDX, SCHEME_NULL, 0xFFFF, 0xFFFF),
            ),
            a(
                "1025 of 16",
                certify(null, RH_OWNER, IDX, SCHEME_NULL, 1025, 0),
            ),
            a(
                "1025 of 2048",
                certify(null, RH_OWNER, IDX + 1, SCHEME_NULL, 1025, 0),
            ),
            a(
                "1024 at 1024",
                certify(null, RH_OWNER, IDX + 1, SCHEME_NULL, 1024, 1024),
            ),
            a(
                "digest of 2048",
                certify(null, RH_OWNER, IDX + 1, SCHEME_NULL, 0, 0),
            ),
            a(
                "owner without OWNERREAD",
                certify(null, RH_OWNER, IDX + 2, SCHEME_NULL, 1, 0),
            ),
            a(
                "platform without PPREAD",
                certify(null, RH_PLATFORM, IDX, SCHEME_NULL, 1, 0),
            ),
            a(
                "index auth with AUTHREAD",
                certify(null, IDX + 2, IDX + 2, SCHEME_NULL, 8, 0),
            ),
            a(
                "index auth without AUTHREAD",
                certify(null, IDX, IDX, SCHEME_NULL, 1, 0),
            ),
            a(
                "another index's auth",
                certify(null, IDX + 2, IDX, SCHEME_NULL, 1, 0),
            ),
            a(
                "qualifyingData of 66",
                certify_q(null, RH_OWNER, IDX, &[7; 66], SCHEME_NULL, 1, 0),
            ),
            a(
                "qualifyingData of 67",
                certify_q(null, RH_OWNER, IDX, &[7; 67], SCHEME_NULL, 1, 0),
            ),
            a(
                "undefined index",
                certify(null, RH_OWNER, IDX + 9, SCHEME_NULL, 1, 0),
            ),
            a(
                "a PCR as the index",
                certify(null, RH_OWNER, 1, SCHEME_NULL, 1, 0),
            ),
            a(
                "owner as signHandle",
                certify(RH_OWNER, RH_OWNER, IDX, SCHEME_NULL, 1, 0),
            ),
            a(
                "a transient signHandle not loaded",
                certify(0x8000_0002, RH_OWNER, IDX, SCHEME_NULL, 1, 0),
            ),
            a(
                "unknown scheme",
                certify(null, RH_OWNER, IDX, &[0x00, 0x06, 0x00, 0x0B], 1, 0),
            ),
            a(
                "one session for two authorizations",
                cmd::with_pw(
                    Cc::NvCertify,
                    &[null, RH_OWNER, IDX],
                    &[b""],
                    &[0, 0, 0x00, 0x10, 0, 1, 0, 0],
                ),
            ),
            a(
                "a trailing octet",
                cmd::with_pw(
                    Cc::NvCertify,
                    &[null, RH_OWNER, IDX],
                    &[b"", b""],
                    &[0, 0, 0x00, 0x10, 0, 1, 0, 0, 0],
                ),
            ),
            full("read lock", on(Cc::NvReadLock, IDX + 3, &[])),
            a(
                "read-locked",
                certify(null, RH_OWNER, IDX + 3, SCHEME_NULL, 1, 0),
            ),
            c(
                "LoadExternal HMAC key",
                load_external_hmac(),
                View::Capture(0),
            ),
            a(
                "HMAC: 3 at 1",
                certify(slot(0), RH_OWNER, IDX, SCHEME_NULL, 3, 1),
            ),
            a(
                "HMAC: digest form",
                certify(slot(0), RH_OWNER, IDX, SCHEME_NULL, 0, 0),
            ),
            a(
                "HMAC: another hash",
                certify(slot(0), RH_OWNER, IDX, HMAC_SHA1, 0, 0),
            ),
            a(
                "HMAC: ECDSA scheme",
                certify(slot(0), RH_OWNER, IDX, ECDSA_SHA256, 0, 0),
            ),
            c(
                "LoadExternal public ECC key",
                load_external_ecc_public(),
                View::Capture(1),
            ),
            a(
                "public-only key",
                certify(slot(1), RH_OWNER, IDX, SCHEME_NULL, 1, 0),
            ),
            c(
                "CreatePrimary storage key",
                create_primary(&ecc_public(
                    OBJ_FIXED | OBJ_SDO | OBJ_USER | OBJ_NO_DA | OBJ_RESTRICTED | OBJ_DECRYPT,
                    &[0x00, 0x06, 0x00, 0x80, 0x00, 0x43],
                    SCHEME_NULL,
                    &[],
                    &[],
                )),
                View::Capture(2),
            ),
            a(
                "a key that cannot sign",
                certify(slot(2), RH_OWNER, IDX, SCHEME_NULL, 1, 0),
            ),
            a(
                "a key that cannot sign, read-locked index",
                certify(slot(2), RH_OWNER, IDX + 3, SCHEME_NULL, 1, 0),
            ),
            full("flush HMAC key", flush(0)),
            full("flush public key", flush(1)),
            full("flush storage key", flush(2)),
            c(
                "CreatePrimary ECDSA key",
                create_primary(&ecc_public(
                    OBJ_SIGNING,
                    SCHEME_NULL,
                    ECDSA_SHA256,
                    &[],
                    &[],
                )),
                View::Capture(0),
            ),
            c(
                "ECDSA: 5 at 2",
                certify(slot(0), RH_OWNER, IDX, SCHEME_NULL, 5, 2),
                seeded,
            ),
            c(
                "ECDSA: digest of 2048",
                certify(slot(0), RH_OWNER, IDX + 1, ECDSA_SHA256, 0, 0),
                seeded,
            ),
            c(
                "ECDSA: another hash",
                certify(slot(0), RH_OWNER, IDX, ECDSA_SHA384, 1, 0),
                seeded,
            ),
            c(
                "ECDSA: RSASSA scheme",
                certify(slot(0), RH_OWNER, IDX, RSASSA_SHA256, 1, 0),
                seeded,
            ),
            c(
                "ECDSA: RSASSA scheme, read-locked index",
                certify(slot(0), RH_OWNER, IDX + 3, RSASSA_SHA256, 1, 0),
                seeded,
            ),
            c(
                "ECDSA: read-locked index",
                certify(slot(0), RH_OWNER, IDX + 3, SCHEME_NULL, 1, 0),
                seeded,
            ),
            c(
                "CreatePrimary RSASSA key",
                create_primary(&rsa_template(OBJ_SIGNING, RSASSA_SHA256)),
                View::Capture(1),
            ),
            c(
                "RSASSA: 16 at 0",
                certify(slot(1), RH_OWNER, IDX, SCHEME_NULL, 16, 0),
                seeded,
            ),
            c(
                "RSASSA: digest form",
                certify(slot(1), RH_OWNER, IDX, SCHEME_NULL, 0, 0),
                seeded,
            ),
            c(
                "RSASSA: PSS scheme",
                certify(slot(1), RH_OWNER, IDX, RSAPSS_SHA384, 0, 0),
                seeded,
            ),
            full("flush RSASSA key", flush(1)),
            c(
                "CreatePrimary RSA key without a scheme",
                create_primary(&rsa_template(OBJ_SIGNING, SCHEME_NULL)),
                View::Capture(1),
            ),
            c(
                "RSA: no scheme at all",
                certify(slot(1), RH_OWNER, IDX, SCHEME_NULL, 0, 0),
                seeded,
            ),
            c(
                "RSA: PSS-SHA384 digest form",
                certify(slot(1), RH_OWNER, IDX + 1, RSAPSS_SHA384, 0, 0),
                seeded,
            ),
            full("define counter", define(IDX + 4, RW | COUNTER | NO_DA, 8)),
            a(
                "unwritten counter",
                certify(null, RH_OWNER, IDX + 4, SCHEME_NULL, 8, 0),
            ),
            full("increment", on(Cc::NvIncrement, IDX + 4, &[])),
            a(
                "counter",
                certify(null, RH_OWNER, IDX + 4, SCHEME_NULL, 8, 0),
            ),
            full("define extend", define(IDX + 5, RW | EXTEND | NO_DA, 32)),
            full("extend", on(Cc::NvExtend, IDX + 5, &sized(b"event"))),
            a(
                "extend index, low half",
                certify(null, RH_OWNER, IDX + 5, SCHEME_NULL, 16, 0),
            ),
            c(
                "extend index, digest form",
                certify(slot(1), RH_OWNER, IDX + 5, RSAPSS_SHA384, 0, 0),
                seeded,
            ),
            c(
                "GetCapability(COMMANDS, NV_Certify, 1)",
                cmd::get_capability(Cap::Commands, Cc::NvCertify.0, 1),
                View::CapEntries,
            ),
        ];
        v.extend(reboot(Su::State));
        v.push(a(
            "READ_STCLEAR after restart",
            certify(null, RH_OWNER, IDX + 3, SCHEME_NULL, 8, 0),
        ));
        v
    });
}
