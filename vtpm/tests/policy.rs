//! Policy sessions through `Tpm::execute`: what a session must satisfy when it is used, and the
//! policy commands TPM2_PolicyTicket, TPM2_PolicyTemplate and TPM2_PolicyAuthorizeNV (Part 3,
//! section 23). Response codes are those swtpm 0.7 / libtpms 0.9 give for the same bytes.

mod common;
use common::*;

const IDX: u32 = 0x0150_0016;
// TPMA_NV bits.
const OWNERWRITE: u32 = 1 << 1;
const POLICYWRITE: u32 = 1 << 3;
const OWNERREAD: u32 = 1 << 17;
const AUTHREAD: u32 = 1 << 18;
const NO_DA: u32 = 1 << 25;
const READ_STCLEAR: u32 = 1 << 31;

// Command codes.
const NV_DEFINE_SPACE: u32 = 0x12A;
const NV_WRITE: u32 = 0x137;
const NV_CHANGE_AUTH: u32 = 0x13B;
const POLICY_NV_WRITTEN: u32 = 0x18F;
const POLICY_GET_DIGEST: u32 = 0x189;
const POLICY_SECRET: u32 = 0x151;
const POLICY_TICKET: u32 = 0x172;

// Response codes.
const POLICY_FAIL_S1: u32 = 0x99D;

/// `TPM2_StartAuthSession` of an unbound, unsalted SHA-256 session of `kind` (1 policy, 3
/// trial): (handle, nonceTPM).
fn start_session_nonce(t: &mut T, kind: u8) -> (u32, Vec<u8>) {
    let mut p = hex("40000007 40000007");
    p.extend(b2(&[7; 16]));
    p.extend(b2(b""));
    p.push(kind);
    p.extend(hex("0010 000b"));
    let r = exec(t, &cmd(ST_NO_SESSIONS, 0x176, &p));
    assert_eq!(rc(&r), 0, "StartAuthSession");
    (handle(&r), Rd::params(&r, true).b2().to_vec())
}

fn start_session(t: &mut T, kind: u8) -> u32 {
    start_session_nonce(t, kind).0
}

fn digest_of(t: &mut T, session: u32) -> Vec<u8> {
    let r = exec(t, &plain_cmd(POLICY_GET_DIGEST, &[session], &[]));
    assert_eq!(rc(&r), 0);
    Rd::params(&r, false).b2().to_vec()
}

/// A policy command `cc(session; params)`.
fn policy(t: &mut T, cc: u32, session: u32, params: &[u8]) -> u32 {
    rc(&exec(t, &plain_cmd(cc, &[session], params)))
}

/// `cc(handles; params)` authorized by `session` (no session key, so the HMAC is empty).
fn with_session(cc: u32, handles: &[u32], session: u32, params: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    for h in handles {
        body.extend_from_slice(&h.to_be_bytes());
    }
    body.extend_from_slice(&9u32.to_be_bytes());
    body.extend_from_slice(&session.to_be_bytes());
    body.extend_from_slice(&[0, 0, 1, 0, 0]);
    body.extend_from_slice(params);
    cmd(ST_SESSIONS, cc, &body)
}

/// The policy of one assertion: `H(0^32 || cc || args)`.
fn policy_of(cc: u32, args: &[u8]) -> Vec<u8> {
    sha256(&[&[0; 32], &cc.to_be_bytes(), args])
}

fn define(t: &mut T, index: u32, attrs: u32, policy: &[u8], size: u16) {
    let mut public = index.to_be_bytes().to_vec();
    public.extend(hex("000b"));
    public.extend(attrs.to_be_bytes());
    public.extend(b2(policy));
    public.extend(size.to_be_bytes());
    let mut p = b2(b"");
    p.extend(b2(&public));
    let r = exec(t, &auth_cmd(NV_DEFINE_SPACE, &[OWNER], &[b""], &p));
    assert_eq!(rc(&r), 0, "NV_DefineSpace");
}

fn owner_write(t: &mut T, index: u32, data: &[u8]) {
    let mut p = b2(data);
    p.extend([0, 0]);
    let r = exec(t, &auth_cmd(NV_WRITE, &[OWNER, index], &[b""], &p));
    assert_eq!(rc(&r), 0, "NV_Write");
}

fn write_by(t: &mut T, index: u32, session: u32) -> u32 {
    let mut p = b2(b"abcd");
    p.extend([0, 0]);
    rc(&exec(
        t,
        &with_session(NV_WRITE, &[index, index], session, &p),
    ))
}

#[test]
fn policy_nv_written_is_checked_when_the_session_is_used() {
    let mut t = started();
    let attrs = POLICYWRITE | OWNERWRITE | OWNERREAD | NO_DA;
    define(&mut t, IDX, attrs, &policy_of(POLICY_NV_WRITTEN, &[0]), 4);
    let s = start_session(&mut t, 1);
    assert_eq!(policy(&mut t, POLICY_NV_WRITTEN, s, &[0]), 0);
    assert_eq!(write_by(&mut t, IDX, s), 0, "unwritten, as asserted");
    assert_eq!(write_by(&mut t, IDX, s), POLICY_FAIL_S1, "written now");
    // On an entity that is not an NV index the assertion cannot hold.
    let mut p = b2(&policy_of(POLICY_NV_WRITTEN, &[1]));
    p.extend(hex("000b"));
    assert_eq!(rc(&exec(&mut t, &auth_cmd(0x12E, &[OWNER], &[b""], &p))), 0);
    let s = start_session(&mut t, 1);
    assert_eq!(policy(&mut t, POLICY_NV_WRITTEN, s, &[1]), 0);
    let c = with_session(0x129, &[OWNER], s, &b2(b""));
    assert_eq!(rc(&exec(&mut t, &c)), POLICY_FAIL_S1);
}

#[test]
fn admin_role_needs_a_policy_command_code() {
    let mut t = started();
    let written = policy_of(POLICY_NV_WRITTEN, &[1]);
    define(
        &mut t,
        IDX,
        POLICYWRITE | OWNERWRITE | OWNERREAD | NO_DA,
        &written,
        4,
    );
    owner_write(&mut t, IDX, b"abcd");
    let s = start_session(&mut t, 1);
    assert_eq!(policy(&mut t, POLICY_NV_WRITTEN, s, &[1]), 0);
    // The digest matches, but NV_ChangeAuth authorizes the index in the ADMIN role.
    let c = with_session(NV_CHANGE_AUTH, &[IDX], s, &b2(b"new"));
    assert_eq!(rc(&exec(&mut t, &c)), POLICY_FAIL_S1);
    // The USER role (NV_Write) is satisfied by the same session.
    assert_eq!(write_by(&mut t, IDX, s), 0);
    // A policy authorizing PolicySecret must include PolicyAuthValue or PolicyPassword.
    let mut p = b2(&written);
    p.extend(hex("000b"));
    assert_eq!(rc(&exec(&mut t, &auth_cmd(0x12E, &[OWNER], &[b""], &p))), 0);
    let other = start_session(&mut t, 1);
    let mut p = b2(b"");
    p.extend(b2(b""));
    p.extend(b2(b""));
    p.extend(0u32.to_be_bytes());
    let c = with_session(0x151, &[OWNER, other], s, &p);
    assert_eq!(rc(&exec(&mut t, &c)), 0x989, "TPM_RC_MODE + session 1");
}

/// `TPM2_PolicySecret(owner, session; nonceTPM, cpHashA, policyRef, expiration)` → (timeout,
/// marshalled ticket).
fn policy_secret(
    t: &mut T,
    s: u32,
    nonce: &[u8],
    cp: &[u8],
    expiration: i32,
) -> (Vec<u8>, Vec<u8>) {
    let mut p = b2(nonce);
    p.extend(b2(cp));
    p.extend(b2(b"ref"));
    p.extend(expiration.to_be_bytes());
    let r = exec(t, &auth_cmd(POLICY_SECRET, &[OWNER, s], &[b""], &p));
    assert_eq!(rc(&r), 0, "PolicySecret");
    let mut rd = Rd::params(&r, false);
    let timeout = rd.b2().to_vec();
    let start = rd.at;
    rd.bytes(6);
    rd.b2();
    (timeout, r[start..rd.at].to_vec())
}

/// `TPM2_PolicyTicket(session; timeout, cpHashA, policyRef, authName, ticket)`.
fn policy_ticket(t: &mut T, s: u32, timeout: &[u8], cp: &[u8], r#ref: &[u8], ticket: &[u8]) -> u32 {
    let mut p = b2(timeout);
    p.extend(b2(cp));
    p.extend(b2(r#ref));
    p.extend(b2(&OWNER.to_be_bytes()));
    p.extend_from_slice(ticket);
    policy(t, POLICY_TICKET, s, &p)
}

#[test]
fn policy_ticket_replays_a_policy_secret() {
    let mut t = started();
    let (s1, nonce) = start_session_nonce(&mut t, 1);
    let (timeout, ticket) = policy_secret(&mut t, s1, &nonce, b"", -100);
    assert_eq!(timeout.len(), 8);
    assert_eq!(
        timeout[0] & 0x80,
        0,
        "bound to the session: not expiresOnReset"
    );
    assert_eq!(
        &ticket[..6],
        &hex("8023 40000001")[..],
        "AUTH_SECRET, owner"
    );
    let s2 = start_session(&mut t, 1);
    assert_eq!(policy_ticket(&mut t, s2, &timeout, b"", b"ref", &ticket), 0);
    assert_eq!(digest_of(&mut t, s2), digest_of(&mut t, s1));
    // Anything changed: TPM_RC_TICKET on the ticket (parameter 5).
    let s3 = start_session(&mut t, 1);
    assert_eq!(
        policy_ticket(&mut t, s3, &timeout, b"", b"fer", &ticket),
        0x5E0
    );
    let mut flagged = timeout.clone();
    flagged[0] |= 0x80;
    assert_eq!(
        policy_ticket(&mut t, s3, &flagged, b"", b"ref", &ticket),
        0x5E0
    );
    let mut null = hex("8023 40000007");
    null.extend(b2(b""));
    assert_eq!(
        policy_ticket(&mut t, s3, &timeout, b"", b"ref", &null),
        0x5E0
    );
    // Not a timeout of this TPM's format (TPM_RC_SIZE), in the past (TPM_RC_EXPIRED), a
    // cpHashA of the wrong size (TPM_RC_SIZE on parameter 2).
    assert_eq!(
        policy_ticket(&mut t, s3, &timeout[..7], b"", b"ref", &ticket),
        0x1D5
    );
    assert_eq!(
        policy_ticket(&mut t, s3, &1u64.to_be_bytes(), b"", b"ref", &ticket),
        0x1E3
    );
    assert_eq!(
        policy_ticket(&mut t, s3, &timeout, &[1; 5], b"ref", &ticket),
        0x2D5
    );
    // A trial session has no use for tickets: TPM_RC_ATTRIBUTES on the session handle.
    let trial = start_session(&mut t, 3);
    assert_eq!(
        policy_ticket(&mut t, trial, &timeout, b"", b"ref", &ticket),
        0x182
    );
    assert_eq!(digest_of(&mut t, s3), vec![0; 32], "nothing was extended");
}

#[test]
fn expires_on_reset_tickets_carry_the_flag_and_a_cp_hash() {
    let mut t = started();
    let s1 = start_session(&mut t, 1);
    let cp = sha256(&[b"command"]);
    let (timeout, ticket) = policy_secret(&mut t, s1, b"", &cp, -100);
    assert_eq!(timeout[0] & 0x80, 0x80, "no nonce: expires on reset");
    let s2 = start_session(&mut t, 1);
    assert_eq!(
        policy_ticket(&mut t, s2, &timeout, b"", b"ref", &ticket),
        0x5E0
    );
    assert_eq!(policy_ticket(&mut t, s2, &timeout, &cp, b"ref", &ticket), 0);
    assert_eq!(digest_of(&mut t, s2), digest_of(&mut t, s1));
    // The session now holds that cpHash: another is TPM_RC_CPHASH.
    let other = sha256(&[b"other"]);
    let (t2, k2) = policy_secret(&mut t, s1, b"", &cp, -100);
    assert_eq!(policy_ticket(&mut t, s2, &t2, &cp, b"ref", &k2), 0);
    let s3 = start_session(&mut t, 1);
    assert_eq!(policy(&mut t, 0x16E, s3, &b2(&other)), 0, "PolicyCpHash");
    assert_eq!(
        policy_ticket(&mut t, s3, &timeout, &cp, b"ref", &ticket),
        0x151
    );
}

#[test]
fn policy_authorize_rejects_unknown_name_hash_and_bad_ticket() {
    let mut t = started();
    let s = start_session(&mut t, 1);
    let authorize = |t: &mut T, key_sign: &[u8]| {
        let mut p = b2(&[0; 32]);
        p.extend(b2(b""));
        p.extend(b2(key_sign));
        p.extend(hex("8022 40000001"));
        p.extend(b2(&[1; 32]));
        policy(t, 0x16A, s, &p)
    };
    assert_eq!(
        authorize(&mut t, &hex("0099 0101")),
        0x3C3,
        "TPM_RC_HASH + P3"
    );
    assert_eq!(authorize(&mut t, &[0]), 0x3C3);
    let mut name = hex("000b");
    name.extend([1; 31]);
    assert_eq!(authorize(&mut t, &name), 0x3D5, "TPM_RC_SIZE + P3");
    name.push(1);
    assert_eq!(
        authorize(&mut t, &name),
        0x4C4,
        "TPM_RC_VALUE + P4: the ticket"
    );
}

const POLICY_AUTHORIZE_NV: u32 = 0x192;

fn authorize_nv(t: &mut T, auth: u32, index: u32, s: u32) -> u32 {
    rc(&exec(
        t,
        &auth_cmd(POLICY_AUTHORIZE_NV, &[auth, index, s], &[b""], &[]),
    ))
}

fn nv_name(t: &mut T, index: u32) -> Vec<u8> {
    let r = exec(t, &plain_cmd(0x169, &[index], &[]));
    assert_eq!(rc(&r), 0, "NV_ReadPublic");
    let mut rd = Rd::params(&r, false);
    rd.b2();
    rd.b2().to_vec()
}

#[test]
fn policy_authorize_nv_takes_the_approved_policy_from_the_index() {
    let mut t = started();
    let rw = OWNERREAD | OWNERWRITE | NO_DA;
    define(&mut t, IDX, rw, b"", 34);
    // A trial session checks nothing, not even that the index was written.
    let trial = start_session(&mut t, 3);
    assert_eq!(authorize_nv(&mut t, OWNER, IDX, trial), 0);
    let unwritten = nv_name(&mut t, IDX);
    let s = start_session(&mut t, 1);
    assert_eq!(
        authorize_nv(&mut t, OWNER, IDX, s),
        0x14A,
        "TPM_RC_NV_UNINITIALIZED"
    );
    // Approved: PolicyCommandCode(NV_Read).
    let approved = policy_of(0x16C, &0x14Eu32.to_be_bytes());
    let mut entry = hex("000b");
    entry.extend(&approved);
    owner_write(&mut t, IDX, &entry);
    assert_eq!(
        authorize_nv(&mut t, OWNER, IDX, s),
        0x084,
        "TPM_RC_VALUE: not this digest"
    );
    assert_eq!(policy(&mut t, 0x16C, s, &0x14Eu32.to_be_bytes()), 0);
    assert_eq!(digest_of(&mut t, s), approved);
    assert_eq!(authorize_nv(&mut t, OWNER, IDX, s), 0);
    let name = nv_name(&mut t, IDX);
    assert_ne!(name, unwritten);
    assert_eq!(digest_of(&mut t, s), policy_of(POLICY_AUTHORIZE_NV, &name));
    assert_eq!(
        digest_of(&mut t, trial),
        policy_of(POLICY_AUTHORIZE_NV, &unwritten)
    );
}

#[test]
fn policy_authorize_nv_reads_a_tpmt_ha_with_the_references_codes() {
    let mut t = started();
    let rw = OWNERREAD | OWNERWRITE | NO_DA;
    define(&mut t, IDX, rw, b"", 34);
    define(&mut t, IDX + 1, rw, b"", 10);
    define(&mut t, IDX + 2, OWNERWRITE | AUTHREAD | NO_DA, b"", 34);
    define(&mut t, IDX + 3, rw | READ_STCLEAR, b"", 34);
    let s = start_session(&mut t, 1);
    let mut sha1 = hex("0004");
    sha1.extend([0; 32]);
    owner_write(&mut t, IDX, &sha1);
    assert_eq!(
        authorize_nv(&mut t, OWNER, IDX, s),
        0x083,
        "TPM_RC_HASH: not the session's"
    );
    let mut null = hex("0010");
    null.extend([0; 32]);
    owner_write(&mut t, IDX, &null);
    assert_eq!(
        authorize_nv(&mut t, OWNER, IDX, s),
        0x083,
        "TPM_RC_HASH: not a hash"
    );
    let mut sha512 = hex("000d");
    sha512.extend([0; 32]);
    owner_write(&mut t, IDX, &sha512);
    assert_eq!(
        authorize_nv(&mut t, OWNER, IDX, s),
        0x09A,
        "TPM_RC_INSUFFICIENT"
    );
    owner_write(&mut t, IDX + 1, &hex("000b 0000 0000 0000 0000"));
    assert_eq!(authorize_nv(&mut t, OWNER, IDX + 1, s), 0x09A);
    // Read access as for NV_Read.
    let mut zero = hex("000b");
    zero.extend([0; 32]);
    owner_write(&mut t, IDX + 2, &zero);
    assert_eq!(
        authorize_nv(&mut t, OWNER, IDX + 2, s),
        0x149,
        "TPM_RC_NV_AUTHORIZATION"
    );
    owner_write(&mut t, IDX + 3, &zero);
    let r = exec(&mut t, &auth_cmd(0x14F, &[OWNER, IDX + 3], &[b""], &[]));
    assert_eq!(rc(&r), 0, "NV_ReadLock");
    assert_eq!(
        authorize_nv(&mut t, OWNER, IDX + 3, s),
        0x148,
        "TPM_RC_NV_LOCKED"
    );
    // The index authorizing itself (AUTHREAD) holds the fresh session's digest, all zeros.
    assert_eq!(authorize_nv(&mut t, IDX + 2, IDX + 2, s), 0);
}

const POLICY_TEMPLATE: u32 = 0x190;

#[test]
fn policy_template_shares_the_hash_slot() {
    let mut t = started();
    let (a, b) = (sha256(&[b"a"]), sha256(&[b"b"]));
    let s = start_session(&mut t, 1);
    assert_eq!(policy(&mut t, POLICY_TEMPLATE, s, &b2(&a[..20])), 0x1D5);
    assert_eq!(policy(&mut t, POLICY_TEMPLATE, s, &b2(&a)), 0);
    assert_eq!(
        policy(&mut t, POLICY_TEMPLATE, s, &b2(&a)),
        0,
        "the same again"
    );
    assert_eq!(policy(&mut t, POLICY_TEMPLATE, s, &b2(&b)), 0x1C4);
    assert_eq!(
        policy(&mut t, POLICY_TEMPLATE, s, &b2(&b[..3])),
        0x1C4,
        "value before size"
    );
    assert_eq!(
        policy(&mut t, 0x16E, s, &b2(&a)),
        0x151,
        "no PolicyCpHash after it"
    );
    assert_eq!(
        policy(&mut t, 0x170, s, &b2(&a)),
        0x151,
        "no PolicyNameHash after it"
    );
    let once = policy_of(POLICY_TEMPLATE, &a);
    assert_eq!(
        digest_of(&mut t, s),
        sha256(&[&once, &POLICY_TEMPLATE.to_be_bytes(), &a])
    );
    let s = start_session(&mut t, 1);
    assert_eq!(policy(&mut t, 0x16E, s, &b2(&a)), 0);
    assert_eq!(
        policy(&mut t, POLICY_TEMPLATE, s, &b2(&a)),
        0x151,
        "not after PolicyCpHash"
    );
}

#[test]
fn policy_template_limits_creation_to_one_template() {
    let mut t = started();
    let template = ecc_template(STORAGE, AES128_CFB, SCHEME_NULL, 3);
    let hash = sha256(&[&template]);
    let mut p = b2(&policy_of(POLICY_TEMPLATE, &hash));
    p.extend(hex("000b"));
    assert_eq!(rc(&exec(&mut t, &auth_cmd(0x12E, &[OWNER], &[b""], &p))), 0);
    let create = |t: &mut T, s: u32, template: &[u8]| {
        let c = with_session(0x131, &[OWNER], s, &create_params(b"", b"", template, &[]));
        rc(&exec(t, &c))
    };
    let s = start_session(&mut t, 1);
    assert_eq!(policy(&mut t, POLICY_TEMPLATE, s, &b2(&hash)), 0);
    assert_eq!(create(&mut t, s, &template), 0);
    let other = ecc_template(STORAGE, AES128_CFB, SCHEME_NULL, 4);
    assert_eq!(create(&mut t, s, &other), POLICY_FAIL_S1);
    // Only the creation commands match a template.
    let c = with_session(0x129, &[OWNER], s, &b2(b""));
    assert_eq!(rc(&exec(&mut t, &c)), POLICY_FAIL_S1);
    // Parameters too short to hold a template.
    let c = with_session(0x131, &[OWNER], s, &hex("0004 0000 0000 00ff"));
    assert_eq!(rc(&exec(&mut t, &c)), POLICY_FAIL_S1);
}

#[test]
fn nonce_tpm_is_as_long_as_nonce_caller() {
    let mut t = started();
    let (s, nonce) = start_session_nonce(&mut t, 1);
    assert_eq!(
        nonce.len(),
        16,
        "nonceCaller sets the session's nonce size (Part 3, 11.1)"
    );
    // The nonce of a response to the session keeps that size.
    define(
        &mut t,
        IDX,
        POLICYWRITE | OWNERWRITE | OWNERREAD | NO_DA,
        &[0; 32],
        4,
    );
    let mut p = b2(b"abcd");
    p.extend([0, 0]);
    let r = exec(&mut t, &with_session(NV_WRITE, &[IDX, IDX], s, &p));
    assert_eq!(rc(&r), 0);
    // parameterSize (0), then TPMS_AUTH_RESPONSE: nonce, attributes, hmac.
    assert_eq!(&r[10..16], &hex("00000000 0010")[..]);
}

#[test]
fn trial_policy_nv_checks_only_the_operation() {
    let mut t = started();
    define(&mut t, IDX, OWNERREAD | OWNERWRITE | NO_DA, b"", 8);
    let trial = start_session(&mut t, 3);
    let policy_nv = |t: &mut T, s: u32, offset: u16, op: u16| {
        let mut p = b2(b"1234");
        p.extend(offset.to_be_bytes());
        p.extend(op.to_be_bytes());
        rc(&exec(t, &auth_cmd(0x149, &[OWNER, IDX, s], &[b""], &p)))
    };
    assert_eq!(policy_nv(&mut t, trial, 0, 0), 0, "unwritten, but a trial");
    assert_eq!(
        policy_nv(&mut t, trial, 6, 0),
        0,
        "past the end, but a trial"
    );
    assert_eq!(
        policy_nv(&mut t, trial, 0, 0x0C),
        0x3C4,
        "TPM_EO is checked on input"
    );
    let s = start_session(&mut t, 1);
    assert_eq!(policy_nv(&mut t, s, 0, 0), 0x14A);
}
