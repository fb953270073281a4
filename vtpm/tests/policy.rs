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
const NO_DA: u32 = 1 << 25;

// Command codes.
const NV_DEFINE_SPACE: u32 = 0x12A;
const NV_WRITE: u32 = 0x137;
const NV_CHANGE_AUTH: u32 = 0x13B;
const POLICY_NV_WRITTEN: u32 = 0x18F;

// Response codes.
const POLICY_FAIL_S1: u32 = 0x99D;

/// `TPM2_StartAuthSession` of an unbound, unsalted SHA-256 session of `kind` (1 policy, 3 trial).
fn start_session(t: &mut T, kind: u8) -> u32 {
    let mut p = hex("40000007 40000007");
    p.extend(b2(&[7; 16]));
    p.extend(b2(b""));
    p.push(kind);
    p.extend(hex("0010 000b"));
    let r = exec(t, &cmd(ST_NO_SESSIONS, 0x176, &p));
    assert_eq!(rc(&r), 0, "StartAuthSession");
    handle(&r)
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
