//! Policy sessions, differential: the same command bytes go to the reference (swtpm/libtpms)
//! and to the endpoint under test. Policy digests are deterministic, so `TPM2_PolicyGetDigest`
//! answers are compared byte for byte; session handles are captured (Part 2 §7.5: the TPM
//! chooses them).

use evtpm_tests::cmd::{self, RH_OWNER};
use evtpm_tests::diff::{c, differential, slot, Step, View};
use sha2::Digest;
use tpm_proto::{AlgId, Cc};

const POLICY: u8 = 1;
const TRIAL: u8 = 3;

fn sized(b: &[u8]) -> Vec<u8> {
    let mut v = (b.len() as u16).to_be_bytes().to_vec();
    v.extend_from_slice(b);
    v
}

fn sha256(parts: &[&[u8]]) -> Vec<u8> {
    let mut h = sha2::Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().to_vec()
}

fn full(name: &str, bytes: Vec<u8>) -> Step {
    c(name, bytes, View::Full)
}

/// Starts a session of `kind` (SHA-256) whose handle goes to slot `n`.
fn start(n: usize, kind: u8) -> Step {
    c(
        format!("StartAuthSession into slot {n}"),
        cmd::start_auth_session(kind, AlgId::Sha256),
        View::Capture(n),
    )
}

fn flush(n: usize) -> Step {
    full(
        &format!("flush slot {n}"),
        cmd::no_sessions(Cc::FlushContext, &slot(n).to_be_bytes()),
    )
}

fn digest_of(n: usize) -> Step {
    full(
        &format!("PolicyGetDigest slot {n}"),
        cmd::policy(Cc::PolicyGetDigest, slot(n), &[]),
    )
}

/// `TPM2_PolicySecret(owner, session; nonceTPM "", cpHashA, policyRef, expiration)`.
fn policy_secret(n: usize, cp: &[u8], policy_ref: &[u8], expiration: i32) -> Vec<u8> {
    let mut p = sized(b"");
    p.extend(sized(cp));
    p.extend(sized(policy_ref));
    p.extend(expiration.to_be_bytes());
    cmd::with_pw(Cc::PolicySecret, &[RH_OWNER, slot(n)], &[b""], &p)
}

/// PolicyCpHash, PolicyNameHash, PolicyDuplicationSelect and the cpHashA of PolicySecret share
/// one slot in the session (the reference's `u1`): which may follow which (Part 3, 23.2.1).
#[test]
fn policy_hash_slot_agrees() {
    differential(|| {
        let (a, b) = (sha256(&[b"a"]), sha256(&[b"b"]));
        let on = |cc: Cc, n: usize, d: &[u8]| cmd::policy(cc, slot(n), &sized(d));
        let dup_select = |n: usize| {
            let mut p = sized(&[0, 0x0B, 1, 2]);
            p.extend(sized(&[0, 0x0B, 3, 4]));
            p.push(1);
            cmd::policy(Cc::PolicyDuplicationSelect, slot(n), &p)
        };
        vec![
            start(0, POLICY),
            full("CpHash of 20 octets", on(Cc::PolicyCpHash, 0, &a[..20])),
            full("CpHash", on(Cc::PolicyCpHash, 0, &a)),
            full("CpHash again", on(Cc::PolicyCpHash, 0, &a)),
            full("CpHash, another", on(Cc::PolicyCpHash, 0, &b)),
            full("NameHash after CpHash", on(Cc::PolicyNameHash, 0, &a)),
            full(
                "PolicySecret, another cpHashA",
                policy_secret(0, &b, b"", 0),
            ),
            full(
                "PolicySecret, the same cpHashA",
                policy_secret(0, &a, b"r", 0),
            ),
            full("DuplicationSelect after CpHash", dup_select(0)),
            digest_of(0),
            flush(0),
            start(0, POLICY),
            full("NameHash of 33 octets", on(Cc::PolicyNameHash, 0, &[1; 33])),
            full("NameHash", on(Cc::PolicyNameHash, 0, &a)),
            full("NameHash again", on(Cc::PolicyNameHash, 0, &a)),
            full("CpHash after NameHash", on(Cc::PolicyCpHash, 0, &a)),
            full(
                "PolicySecret, cpHashA after NameHash",
                policy_secret(0, &a, b"", 0),
            ),
            full(
                "PolicySecret without cpHashA",
                policy_secret(0, b"", b"", 0),
            ),
            digest_of(0),
            flush(0),
            start(0, TRIAL),
            full(
                "PolicyCommandCode(Duplicate)",
                cmd::policy(
                    Cc::PolicyCommandCode,
                    slot(0),
                    &Cc::Duplicate.0.to_be_bytes(),
                ),
            ),
            full("DuplicationSelect after CommandCode", dup_select(0)),
            flush(0),
            start(0, TRIAL),
            full("DuplicationSelect", dup_select(0)),
            full("DuplicationSelect twice", dup_select(0)),
            // TPM2B_NAME holds sizeof(TPMU_NAME): 68 octets in the reference (C padding).
            full("DuplicationSelect, names of 68 octets", {
                let mut p = sized(&[7; 68]);
                p.extend(sized(&[7; 68]));
                p.push(0);
                cmd::policy(Cc::PolicyDuplicationSelect, slot(0), &p)
            }),
            full("DuplicationSelect, a name of 69 octets", {
                let mut p = sized(&[7; 69]);
                p.extend(sized(&[7; 2]));
                p.push(0);
                cmd::policy(Cc::PolicyDuplicationSelect, slot(0), &p)
            }),
            full(
                "NameHash after DuplicationSelect",
                on(Cc::PolicyNameHash, 0, &a),
            ),
            digest_of(0),
            flush(0),
        ]
    });
}

const IDX: u32 = 0x0150_0016;
// TPMA_NV bits.
const OWNERWRITE: u32 = 1 << 1;
const POLICYWRITE: u32 = 1 << 3;
const OWNERREAD: u32 = 1 << 17;
const NO_DA: u32 = 1 << 25;
const READ_STCLEAR: u32 = 1 << 31;

/// `TPM2_NV_DefineSpace(owner)` of a SHA-256 index with `policy`.
fn define(index: u32, attrs: u32, policy: &[u8], size: u16) -> Vec<u8> {
    let mut public = index.to_be_bytes().to_vec();
    public.extend_from_slice(&[0x00, 0x0B]);
    public.extend_from_slice(&attrs.to_be_bytes());
    public.extend(sized(policy));
    public.extend_from_slice(&size.to_be_bytes());
    let mut p = sized(b"");
    p.extend(sized(&public));
    cmd::with_pw(Cc::NvDefineSpace, &[RH_OWNER], &[b""], &p)
}

/// `TPM2_NV_Write(index, index; data, 0)` authorized by the session in slot `n`.
fn write_by_policy(index: u32, n: usize, data: &[u8]) -> Vec<u8> {
    let mut p = sized(data);
    p.extend_from_slice(&[0, 0]);
    cmd::with_session(Cc::NvWrite, &[index, index], slot(n), &p)
}

/// The policy of one assertion: `H(0^32 || cc || args)`.
fn policy_of(cc: Cc, args: &[u8]) -> Vec<u8> {
    sha256(&[&[0; 32], &cc.0.to_be_bytes(), args])
}

fn nv_written(n: usize, yes: bool) -> Vec<u8> {
    cmd::policy(Cc::PolicyNvWritten, slot(n), &[yes as u8])
}

/// What a policy session must satisfy when it is used (reference `CheckPolicyAuthSession`):
/// PolicyNvWritten against the index's `WRITTEN`, a command code for the ADMIN role,
/// PolicyAuthValue or PolicyPassword for PolicySecret (`TPM_RC_MODE`), and the order of the
/// checks.
#[test]
fn policy_use_checks_agree() {
    differential(|| {
        let unwritten = policy_of(Cc::PolicyNvWritten, &[0]);
        let written = policy_of(Cc::PolicyNvWritten, &[1]);
        let attrs = POLICYWRITE | OWNERWRITE | OWNERREAD | NO_DA;
        let mut set_owner_policy = sized(&written);
        set_owner_policy.extend_from_slice(&[0x00, 0x0B]);
        vec![
            full(
                "define, policy NvWritten(NO)",
                define(IDX, attrs, &unwritten, 4),
            ),
            start(0, POLICY),
            full("NvWritten(NO)", nv_written(0, false)),
            full("NvWritten(YES) after NO", nv_written(0, true)),
            // The response carries the session's next nonceTPM (random): compared by size.
            c(
                "write the unwritten index",
                write_by_policy(IDX, 0, b"abcd"),
                View::RcSize,
            ),
            full("write it again", write_by_policy(IDX, 0, b"abcd")),
            flush(0),
            full(
                "define, policy NvWritten(YES)",
                define(IDX + 1, attrs, &written, 4),
            ),
            start(0, POLICY),
            full("NvWritten(YES)", nv_written(0, true)),
            full(
                "write unwritten, YES asserted",
                write_by_policy(IDX + 1, 0, b"abcd"),
            ),
            full(
                "owner writes it",
                cmd::with_pw(
                    Cc::NvWrite,
                    &[RH_OWNER, IDX + 1],
                    &[b""],
                    &[0, 1, b'x', 0, 0],
                ),
            ),
            c(
                "write written, YES asserted",
                write_by_policy(IDX + 1, 0, b"abcd"),
                View::RcSize,
            ),
            full(
                "NV_ChangeAuth (ADMIN) without a command code",
                cmd::with_session(Cc::NvChangeAuth, &[IDX + 1], slot(0), &sized(b"new")),
            ),
            full(
                "SetPrimaryPolicy(owner, NvWritten(YES))",
                cmd::with_pw(Cc::SetPrimaryPolicy, &[RH_OWNER], &[b""], &set_owner_policy),
            ),
            full(
                "owner authorized with NvWritten",
                cmd::with_session(Cc::HierarchyChangeAuth, &[RH_OWNER], slot(0), &sized(b"")),
            ),
            start(1, POLICY),
            full(
                "PolicySecret(owner) by a policy without AuthValue",
                cmd::with_session(Cc::PolicySecret, &[RH_OWNER, slot(1)], slot(0), &{
                    let mut p = sized(b"");
                    p.extend(sized(b""));
                    p.extend(sized(b""));
                    p.extend(0u32.to_be_bytes());
                    p
                }),
            ),
            flush(1),
            flush(0),
            start(0, POLICY),
            full(
                "CommandCode(NV_Read)",
                cmd::policy(Cc::PolicyCommandCode, slot(0), &Cc::NvRead.0.to_be_bytes()),
            ),
            full(
                "wrong digest and wrong command code",
                cmd::with_session(Cc::HierarchyChangeAuth, &[RH_OWNER], slot(0), &sized(b"")),
            ),
            full(
                "define, policy CommandCode(NV_Read)",
                define(
                    IDX + 2,
                    attrs,
                    &policy_of(Cc::PolicyCommandCode, &Cc::NvRead.0.to_be_bytes()),
                    4,
                ),
            ),
            full(
                "right digest, wrong command code",
                write_by_policy(IDX + 2, 0, b"abcd"),
            ),
            flush(0),
        ]
    });
}

const RH_NULL: u32 = 0x4000_0007;
const RH_LOCKOUT: u32 = 0x4000_000A;
const RH_PLATFORM: u32 = 0x4000_000C;
const PPWRITE: u32 = 1;
const AUTHREAD: u32 = 1 << 18;
const PPREAD: u32 = 1 << 16;
const PLATFORMCREATE: u32 = 1 << 30;
const PIN_PASS: u32 = 9 << 4;

/// `TPM2_PolicySecret(auth, session in slot n; "", "", "r", -100)` with `password`.
fn secret_ticket(auth: u32, password: &[u8], n: usize) -> Vec<u8> {
    let mut p = sized(b"");
    p.extend(sized(b""));
    p.extend(sized(b"r"));
    p.extend((-100i32).to_be_bytes());
    cmd::with_pw(Cc::PolicySecret, &[auth, slot(n)], &[password], &p)
}

/// `TPM2_PolicyTicket(session in slot n; timeout, cpHashA, "r", authName, ticket)`.
fn ticket_cmd(n: usize, timeout: &[u8], cp: &[u8], name: &[u8], ticket: &[u8]) -> Vec<u8> {
    let mut p = sized(timeout);
    p.extend(sized(cp));
    p.extend(sized(b"r"));
    p.extend(sized(name));
    p.extend_from_slice(ticket);
    cmd::policy(Cc::PolicyTicket, slot(n), &p)
}

/// A `TPMT_TK_AUTH` with `tag`, `hierarchy` and a digest of `len` octets.
fn tk(tag: u16, hierarchy: u32, len: usize) -> Vec<u8> {
    let mut t = tag.to_be_bytes().to_vec();
    t.extend(hierarchy.to_be_bytes());
    t.extend(sized(&vec![0x33; len]));
    t
}

/// A keyed-hash key with known bits in the NULL hierarchy (`TPM2_LoadExternal`).
fn load_external_hmac_key() -> Vec<u8> {
    let (seed, bits) = ([0x11u8; 32], [0x42u8; 32]);
    let mut public = vec![0x00, 0x08, 0x00, 0x0B];
    public.extend(((1u32 << 6) | (1 << 10) | (1 << 18)).to_be_bytes()); // userWithAuth noDA sign
    public.extend([0, 0, 0x00, 0x05, 0x00, 0x0B]);
    public.extend(sized(&sha256(&[&seed, &bits])));
    let mut sensitive = vec![0x00, 0x08, 0, 0];
    sensitive.extend(sized(&seed));
    sensitive.extend(sized(&bits));
    let mut p = sized(&sensitive);
    p.extend(sized(&public));
    p.extend(RH_NULL.to_be_bytes());
    cmd::no_sessions(Cc::LoadExternal, &p)
}

/// TPM2_PolicyTicket's checks of its inputs (Part 3, 23.5) and the tickets PolicySecret hands out
/// for entities of each hierarchy (the ticket HMACs themselves differ: each TPM has its own
/// proofs, and libtpms MACs with SHA-512).
#[test]
fn policy_ticket_agrees() {
    differential(|| {
        let owner = RH_OWNER.to_be_bytes();
        let good_timeout = 0x8000_0000_0001_0000u64.to_be_bytes();
        let secret = tk(0x8023, RH_OWNER, 32);
        vec![
            start(0, POLICY),
            start(1, TRIAL),
            c(
                "PolicySecret(owner) ticket",
                secret_ticket(RH_OWNER, b"", 0),
                View::AuthTicket,
            ),
            full(
                "trial session",
                ticket_cmd(1, &good_timeout, b"", &owner, &secret),
            ),
            full(
                "timeout of 7 octets",
                ticket_cmd(0, &good_timeout[..7], b"", &owner, &secret),
            ),
            full("empty timeout", ticket_cmd(0, b"", b"", &owner, &secret)),
            full(
                "timeout of 9 octets",
                ticket_cmd(0, &[0; 9], b"", &owner, &secret),
            ),
            full(
                "cpHashA of 5 octets",
                ticket_cmd(0, &good_timeout, &[1; 5], &owner, &secret),
            ),
            full(
                "a made-up ticket",
                ticket_cmd(0, &good_timeout, b"", &owner, &secret),
            ),
            full(
                "the NULL ticket",
                ticket_cmd(0, &good_timeout, b"", &owner, &tk(0x8023, RH_NULL, 0)),
            ),
            full(
                "an AUTH_SIGNED ticket",
                ticket_cmd(0, &good_timeout, b"", &owner, &tk(0x8025, RH_OWNER, 64)),
            ),
            full(
                "a creation ticket",
                ticket_cmd(0, &good_timeout, b"", &owner, &tk(0x8021, RH_OWNER, 32)),
            ),
            full(
                "hierarchy 0x40000002",
                ticket_cmd(0, &good_timeout, b"", &owner, &tk(0x8023, 0x4000_0002, 32)),
            ),
            full(
                "hierarchy lockout",
                ticket_cmd(0, &good_timeout, b"", &owner, &tk(0x8023, RH_LOCKOUT, 32)),
            ),
            full(
                "expired",
                ticket_cmd(0, &1u64.to_be_bytes(), b"", &owner, &secret),
            ),
            full("timeout 0", ticket_cmd(0, &[0; 8], b"", &owner, &secret)),
            full(
                "authName of 68 octets",
                ticket_cmd(0, &good_timeout, b"", &[1; 68], &secret),
            ),
            full(
                "authName of 69 octets",
                ticket_cmd(0, &good_timeout, b"", &[1; 69], &secret),
            ),
            full(
                "an HMAC session handle",
                cmd::policy(Cc::PolicyTicket, 0x0200_0000, &[0; 8]),
            ),
            full(
                "nothing was extended",
                cmd::policy(Cc::PolicyGetDigest, slot(0), &[]),
            ),
            flush(1),
            c(
                "LoadExternal HMAC key",
                load_external_hmac_key(),
                View::Capture(1),
            ),
            c(
                "PolicySecret(NULL-hierarchy key) ticket",
                secret_ticket(slot(1), b"", 0),
                View::AuthTicket,
            ),
            flush(1),
            c(
                "PolicySecret(lockout) ticket",
                secret_ticket(RH_LOCKOUT, b"", 0),
                View::AuthTicket,
            ),
            c(
                "PolicySecret(PCR 5) ticket",
                secret_ticket(5, b"", 0),
                View::AuthTicket,
            ),
            full("define a platform index", {
                let mut public = IDX.to_be_bytes().to_vec();
                public.extend([0x00, 0x0B]);
                public.extend((PPWRITE | PPREAD | AUTHREAD | PLATFORMCREATE | NO_DA).to_be_bytes());
                public.extend(sized(b""));
                public.extend(4u16.to_be_bytes());
                let mut p = sized(b"");
                p.extend(sized(&public));
                cmd::with_pw(Cc::NvDefineSpace, &[RH_PLATFORM], &[b""], &p)
            }),
            full(
                "platform writes it",
                cmd::with_pw(
                    Cc::NvWrite,
                    &[RH_PLATFORM, IDX],
                    &[b""],
                    &[0, 1, b'x', 0, 0],
                ),
            ),
            c(
                "PolicySecret(platform index) ticket",
                secret_ticket(IDX, b"", 0),
                View::AuthTicket,
            ),
            full(
                "define a PIN Pass index",
                define(IDX + 1, OWNERWRITE | OWNERREAD | PIN_PASS | NO_DA, b"", 8),
            ),
            full(
                "pinLimit 5",
                cmd::with_pw(Cc::NvWrite, &[RH_OWNER, IDX + 1], &[b""], &{
                    let mut p = sized(&[0, 0, 0, 0, 0, 0, 0, 5]);
                    p.extend([0, 0]);
                    p
                }),
            ),
            c(
                "PolicySecret(PIN Pass index) ticket",
                secret_ticket(IDX + 1, b"", 0),
                View::AuthTicket,
            ),
            flush(0),
        ]
    });
}

/// TPM2_PolicyAuthorize's checks of its inputs (Part 3, 23.16).
#[test]
fn policy_authorize_checks_agree() {
    differential(|| {
        let authorize = |n: usize, approved: &[u8], key_sign: &[u8], hierarchy: u32| {
            let mut p = sized(approved);
            p.extend(sized(b""));
            p.extend(sized(key_sign));
            p.extend(0x8022u16.to_be_bytes());
            p.extend(hierarchy.to_be_bytes());
            p.extend(sized(&[1; 32]));
            cmd::policy(Cc::PolicyAuthorize, slot(n), &p)
        };
        let zero = [0u8; 32];
        let mut sha256_name = vec![0x00, 0x0B];
        sha256_name.extend([1; 32]);
        vec![
            start(0, POLICY),
            start(1, TRIAL),
            full(
                "keySign of an unknown hash",
                authorize(0, &zero, &[0, 0x99, 1, 1], RH_OWNER),
            ),
            full(
                "keySign of TPM_ALG_NULL",
                authorize(0, &zero, &[0, 0x10, 1, 1], RH_OWNER),
            ),
            full("keySign of one octet", authorize(0, &zero, &[0], RH_OWNER)),
            full("empty keySign", authorize(0, &zero, &[], RH_OWNER)),
            full(
                "keySign too short",
                authorize(0, &zero, &sha256_name[..33], RH_OWNER),
            ),
            full(
                "approvedPolicy not the digest",
                authorize(0, &[1; 32], &sha256_name, RH_OWNER),
            ),
            full(
                "a made-up ticket",
                authorize(0, &zero, &sha256_name, RH_OWNER),
            ),
            full(
                "a NULL-hierarchy ticket",
                authorize(0, &zero, &sha256_name, RH_NULL),
            ),
            full(
                "trial, unknown hash",
                authorize(1, &zero, &[0, 0x99, 1, 1], RH_OWNER),
            ),
            full("trial", authorize(1, &[1; 32], &sha256_name, RH_OWNER)),
            digest_of(1),
            flush(1),
            flush(0),
        ]
    });
}

/// `TPM2_PolicyAuthorizeNV(authHandle, nvIndex, session in slot n)`, owner password.
fn authorize_nv(auth: u32, index: u32, n: usize) -> Vec<u8> {
    cmd::with_pw(Cc::PolicyAuthorizeNv, &[auth, index, slot(n)], &[b""], &[])
}

fn owner_write(index: u32, data: &[u8]) -> Vec<u8> {
    let mut p = sized(data);
    p.extend([0, 0]);
    cmd::with_pw(Cc::NvWrite, &[RH_OWNER, index], &[b""], &p)
}

/// TPM2_PolicyAuthorizeNV (Part 3, 23.22): read access, the `TPMT_HA` in the index and the
/// digests, against the reference.
#[test]
fn policy_authorize_nv_agrees() {
    differential(|| {
        let rw = OWNERREAD | OWNERWRITE | NO_DA;
        let approved = policy_of(Cc::PolicyCommandCode, &Cc::NvRead.0.to_be_bytes());
        let entry = |alg: u16, digest: &[u8]| {
            let mut e = alg.to_be_bytes().to_vec();
            e.extend_from_slice(digest);
            e
        };
        let cc_nv_read =
            |n: usize| cmd::policy(Cc::PolicyCommandCode, slot(n), &Cc::NvRead.0.to_be_bytes());
        let mut v = vec![
            full("define 34", define(IDX, rw, b"", 34)),
            full("define 10", define(IDX + 1, rw, b"", 10)),
            full("define 100", define(IDX + 2, rw, b"", 100)),
            full(
                "define owner-write, auth-read",
                define(IDX + 3, OWNERWRITE | AUTHREAD | NO_DA, b"", 34),
            ),
            full(
                "define READ_STCLEAR",
                define(IDX + 4, rw | READ_STCLEAR, b"", 34),
            ),
            full("define counter", define(IDX + 5, rw | (1 << 4), b"", 8)),
            start(0, POLICY),
            start(1, TRIAL),
            full("unwritten", authorize_nv(RH_OWNER, IDX, 0)),
            full("trial, unwritten", authorize_nv(RH_OWNER, IDX, 1)),
            digest_of(1),
            full(
                "write the approved policy",
                owner_write(IDX, &entry(0x0B, &approved)),
            ),
            full("not this session's digest", authorize_nv(RH_OWNER, IDX, 0)),
            full("CommandCode(NV_Read)", cc_nv_read(0)),
            full("approved", authorize_nv(RH_OWNER, IDX, 0)),
            digest_of(0),
            full(
                "again: the digest has changed",
                authorize_nv(RH_OWNER, IDX, 0),
            ),
            full(
                "write a SHA-1 entry",
                owner_write(IDX, &entry(0x04, &[0; 32])),
            ),
            full("SHA-1 entry", authorize_nv(RH_OWNER, IDX, 0)),
            full(
                "write an AES entry",
                owner_write(IDX, &entry(0x06, &[0; 32])),
            ),
            full("AES entry", authorize_nv(RH_OWNER, IDX, 0)),
            full(
                "write a NULL entry",
                owner_write(IDX, &entry(0x10, &[0; 32])),
            ),
            full("NULL entry", authorize_nv(RH_OWNER, IDX, 0)),
            full(
                "write a SHA-512 entry",
                owner_write(IDX, &entry(0x0D, &[0; 32])),
            ),
            full("SHA-512 entry, 34 octets", authorize_nv(RH_OWNER, IDX, 0)),
            full(
                "write a short entry",
                owner_write(IDX + 1, &entry(0x0B, &[0; 8])),
            ),
            full("10-octet index", authorize_nv(RH_OWNER, IDX + 1, 0)),
            flush(0),
            start(0, POLICY),
            full(
                "write a long index",
                owner_write(IDX + 2, &{
                    let mut e = entry(0x0B, &approved);
                    e.extend([0x6A; 66]);
                    e
                }),
            ),
            full("CommandCode(NV_Read)", cc_nv_read(0)),
            full("100-octet index", authorize_nv(RH_OWNER, IDX + 2, 0)),
            digest_of(0),
            flush(0),
            start(0, POLICY),
            full(
                "write auth-read",
                owner_write(IDX + 3, &entry(0x0B, &[0; 32])),
            ),
            full(
                "owner without OWNERREAD",
                authorize_nv(RH_OWNER, IDX + 3, 0),
            ),
            full(
                "trial, owner without OWNERREAD",
                authorize_nv(RH_OWNER, IDX + 3, 1),
            ),
            full("by the index itself", authorize_nv(IDX + 3, IDX + 3, 0)),
            digest_of(0),
            full(
                "write READ_STCLEAR",
                owner_write(IDX + 4, &entry(0x0B, &[0; 32])),
            ),
            full(
                "read lock",
                cmd::with_pw(Cc::NvReadLock, &[RH_OWNER, IDX + 4], &[b""], &[]),
            ),
            full("read-locked", authorize_nv(RH_OWNER, IDX + 4, 0)),
            full(
                "increment counter",
                cmd::with_pw(Cc::NvIncrement, &[RH_OWNER, IDX + 5], &[b""], &[]),
            ),
            full("counter", authorize_nv(RH_OWNER, IDX + 5, 0)),
            full(
                "an HMAC session handle",
                cmd::with_pw(
                    Cc::PolicyAuthorizeNv,
                    &[RH_OWNER, IDX, 0x0200_0000],
                    &[b""],
                    &[],
                ),
            ),
            flush(1),
            flush(0),
        ];
        v.push(c(
            "GetCapability(COMMANDS, PolicyAuthorizeNV, 1)",
            cmd::get_capability(tpm_proto::Cap::Commands, Cc::PolicyAuthorizeNv.0, 1),
            View::CapEntries,
        ));
        v
    });
}

/// `TPM2_CreatePrimary(owner; inSensitive, template, "", none)` authorized by the session in
/// slot `n`.
fn create_primary_by(n: usize, template: &[u8]) -> Vec<u8> {
    let mut p = sized(&[0, 0, 0, 0]);
    p.extend(sized(template));
    p.extend([0, 0, 0, 0, 0, 0]);
    cmd::with_session(Cc::CreatePrimary, &[RH_OWNER], slot(n), &p)
}

/// TPM2_PolicyTemplate (Part 3, 23.21): its place in the session's hash slot, and a template
/// policy on the owner hierarchy deciding which CreatePrimary it authorizes.
#[test]
fn policy_template_agrees() {
    differential(|| {
        let (a, b) = (sha256(&[b"a"]), sha256(&[b"b"]));
        let on = |cc: Cc, n: usize, d: &[u8]| cmd::policy(cc, slot(n), &sized(d));
        // An ECC P-256 storage key: restricted decrypt, AES-128-CFB.
        let mut template = vec![0x00, 0x23, 0x00, 0x0B, 0x00, 0x03, 0x04, 0x72, 0, 0];
        template.extend([0x00, 0x06, 0x00, 0x80, 0x00, 0x43, 0x00, 0x10]);
        template.extend([0x00, 0x03, 0x00, 0x10, 0, 0, 0, 0]);
        let mut other = template.clone();
        other[19] = 0x04; // P-384
        let hash = sha256(&[&template]);
        let mut set_policy = sized(&policy_of(Cc::PolicyTemplate, &hash));
        set_policy.extend([0x00, 0x0B]);
        vec![
            start(0, POLICY),
            full("Template of 20 octets", on(Cc::PolicyTemplate, 0, &a[..20])),
            full("Template", on(Cc::PolicyTemplate, 0, &a)),
            full("Template again", on(Cc::PolicyTemplate, 0, &a)),
            full("another Template", on(Cc::PolicyTemplate, 0, &b)),
            full("another, short", on(Cc::PolicyTemplate, 0, &b[..3])),
            full("CpHash after Template", on(Cc::PolicyCpHash, 0, &a)),
            full("NameHash after Template", on(Cc::PolicyNameHash, 0, &a)),
            full(
                "PolicySecret, cpHashA = templateHash",
                policy_secret(0, &a, b"", 0),
            ),
            full("Template after that", on(Cc::PolicyTemplate, 0, &a)),
            full(
                "PolicySecret, another cpHashA",
                policy_secret(0, &b, b"", 0),
            ),
            digest_of(0),
            flush(0),
            start(0, TRIAL),
            full("CpHash", on(Cc::PolicyCpHash, 0, &a)),
            full("Template after CpHash", on(Cc::PolicyTemplate, 0, &a)),
            flush(0),
            start(0, TRIAL),
            full("NameHash", on(Cc::PolicyNameHash, 0, &a)),
            full("Template after NameHash", on(Cc::PolicyTemplate, 0, &a)),
            flush(0),
            full(
                "SetPrimaryPolicy(owner, Template)",
                cmd::with_pw(Cc::SetPrimaryPolicy, &[RH_OWNER], &[b""], &set_policy),
            ),
            start(0, POLICY),
            full(
                "Template of the storage key",
                on(Cc::PolicyTemplate, 0, &hash),
            ),
            full(
                "CreatePrimary of another template",
                create_primary_by(0, &other),
            ),
            c(
                "CreatePrimary of that template",
                create_primary_by(0, &template),
                View::Capture(1),
            ),
            flush(1),
            full(
                "HierarchyChangeAuth by a template policy",
                cmd::with_session(Cc::HierarchyChangeAuth, &[RH_OWNER], slot(0), &sized(b"")),
            ),
            full(
                "CreatePrimary with a truncated template size",
                cmd::with_session(
                    Cc::CreatePrimary,
                    &[RH_OWNER],
                    slot(0),
                    &[0, 4, 0, 0, 0, 0, 0, 0xFF],
                ),
            ),
            flush(0),
        ]
    });
}

/// PolicyNV and PolicyCounterTimer (Part 3, 23.9–23.10): a trial session checks nothing but
/// the operation, which is checked when the command is read.
#[test]
fn policy_nv_and_counter_timer_agree() {
    differential(|| {
        let policy_nv = |n: usize, index: u32, operand: &[u8], offset: u16, op: u16| {
            let mut p = sized(operand);
            p.extend(offset.to_be_bytes());
            p.extend(op.to_be_bytes());
            cmd::with_pw(Cc::PolicyNv, &[RH_OWNER, index, slot(n)], &[b""], &p)
        };
        let counter_timer = |n: usize, operand: &[u8], offset: u16, op: u16| {
            let mut p = sized(operand);
            p.extend(offset.to_be_bytes());
            p.extend(op.to_be_bytes());
            cmd::policy(Cc::PolicyCounterTimer, slot(n), &p)
        };
        vec![
            full(
                "define",
                define(IDX, OWNERREAD | OWNERWRITE | NO_DA, b"", 8),
            ),
            full(
                "define owner-write only",
                define(IDX + 1, OWNERWRITE | AUTHREAD | NO_DA, b"", 8),
            ),
            start(0, POLICY),
            start(1, TRIAL),
            full("unwritten", policy_nv(0, IDX, b"1234", 0, 0)),
            full("trial, unwritten", policy_nv(1, IDX, b"1234", 0, 0)),
            full("trial, no OWNERREAD", policy_nv(1, IDX + 1, b"1234", 0, 0)),
            full("trial, past the end", policy_nv(1, IDX, b"1234", 6, 0)),
            full("trial, offset past the end", policy_nv(1, IDX, b"", 9, 0)),
            full("trial, operation 0x0C", policy_nv(1, IDX, b"1234", 0, 0x0C)),
            full("operation 0x0C", policy_nv(0, IDX, b"1234", 0, 0x0C)),
            full("write", owner_write(IDX, b"12345678")),
            full("equal", policy_nv(0, IDX, b"5678", 4, 0)),
            full("not equal", policy_nv(0, IDX, b"5678", 0, 0)),
            full("past the end", policy_nv(0, IDX, b"1234", 6, 0)),
            full("offset past the end", policy_nv(0, IDX, b"", 9, 0)),
            digest_of(0),
            digest_of(1),
            full(
                "CounterTimer, trial, outside TPMS_TIME_INFO",
                counter_timer(1, &[0; 8], 30, 0),
            ),
            full(
                "CounterTimer, outside TPMS_TIME_INFO",
                counter_timer(0, &[0; 8], 30, 0),
            ),
            full(
                "CounterTimer, trial, operation 0x0C",
                counter_timer(1, &[0; 8], 0, 0x0C),
            ),
            full("CounterTimer, safe is YES", counter_timer(0, &[1], 24, 0)),
            full(
                "CounterTimer, 2 octets at 24",
                counter_timer(1, &[0; 2], 24, 0),
            ),
            full("CounterTimer, nothing at 25", counter_timer(1, b"", 25, 0)),
            full("CounterTimer, nothing at 26", counter_timer(0, b"", 26, 0)),
            full(
                "CounterTimer, 26 octets",
                counter_timer(0, &[0; 26], 0, 0x0A),
            ),
            digest_of(0),
            digest_of(1),
            flush(1),
            flush(0),
        ]
    });
}
