//! Command audit and session audit (Part 1, "Command Audit" and "Session Audit"; Part 3, 18.5,
//! 18.6, 21.2) through `Tpm::execute`: the digests the reports carry are recomputed here from
//! the command and response bytes, independently of the engine.

mod common;
use common::*;
use sha2::{Digest, Sha256};

const SET_CC_AUDIT: u32 = 0x140;
const GET_CC_AUDIT_DIGEST: u32 = 0x133;
const GET_SESSION_AUDIT_DIGEST: u32 = 0x14D;
const GET_RANDOM: u32 = 0x17B;
const GET_CAPABILITY: u32 = 0x17A;
const START_AUTH_SESSION: u32 = 0x176;
const ALG_SHA256: u16 = 0x000B;
const ALG_NULL: u16 = 0x0010;

// TPMA_SESSION.
const CONTINUE: u8 = 0x01;
const AUDIT_EXCLUSIVE: u8 = 0x02;
const AUDIT_RESET: u8 = 0x04;
const AUDIT: u8 = 0x80;

fn sha256(parts: &[&[u8]]) -> Vec<u8> {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().to_vec()
}

/// `TPML_CC`.
fn ccs(list: &[u32]) -> Vec<u8> {
    let mut v = (list.len() as u32).to_be_bytes().to_vec();
    for cc in list {
        v.extend(cc.to_be_bytes());
    }
    v
}

fn set_audit(t: &mut T, alg: u16, set: &[u32], clear: &[u32]) -> Vec<u8> {
    let mut p = alg.to_be_bytes().to_vec();
    p.extend(ccs(set));
    p.extend(ccs(clear));
    exec(t, &auth_cmd(SET_CC_AUDIT, &[OWNER], &[b""], &p))
}

/// Unsigned report parameters: no qualifying data, scheme NULL.
fn report_params() -> Vec<u8> {
    let mut p = b2(&[]);
    p.extend(ALG_NULL.to_be_bytes());
    p
}

/// The `attested` union of the `TPMS_ATTEST` in a report response (signHandle NULL).
fn attested(r: &[u8], kind: u16) -> Vec<u8> {
    assert_eq!(rc(r), 0, "report");
    let mut rd = Rd::params(r, false);
    let attest = rd.b2();
    let mut a = Rd { b: attest, at: 0 };
    assert_eq!(a.u32(), 0xFF54_4347, "TPM_GENERATED_VALUE");
    assert_eq!(a.u16(), kind);
    a.b2(); // qualifiedSigner
    a.b2(); // extraData
    a.bytes(17 + 8); // clockInfo, firmwareVersion
    a.b[a.at..].to_vec()
}

fn audit_list(t: &mut T) -> Vec<u32> {
    let mut p = 4u32.to_be_bytes().to_vec(); // TPM_CAP_AUDIT_COMMANDS
    p.extend(0u32.to_be_bytes());
    p.extend(64u32.to_be_bytes());
    let r = exec(t, &plain_cmd(GET_CAPABILITY, &[], &p));
    let mut rd = Rd::params(&r, false);
    rd.bytes(1);
    assert_eq!(rd.u32(), 4);
    (0..rd.u32()).map(|_| rd.u32()).collect()
}

#[test]
fn command_audit_digest_chains_cp_and_rp_hashes_of_the_audited_commands() {
    let mut t = started();
    assert_eq!(audit_list(&mut t), [SET_CC_AUDIT]);
    // Audit GetRandom (and ignore a code that is not a command).
    let set = set_audit(&mut t, ALG_NULL, &[GET_RANDOM, 0x100], &[]);
    assert_eq!(rc(&set), 0);
    assert_eq!(audit_list(&mut t), [SET_CC_AUDIT, GET_RANDOM]);
    let r = exec(&mut t, &plain_cmd(GET_RANDOM, &[], &[0, 8]));
    assert_eq!(rc(&r), 0);

    // SetCommandCodeAuditStatus started the digest: cpHash over the owner's Name (its handle)
    // and the parameters; no response parameters.
    let mut set_params = ALG_NULL.to_be_bytes().to_vec();
    set_params.extend(ccs(&[GET_RANDOM, 0x100]));
    set_params.extend(ccs(&[]));
    let cp1 = sha256(&[
        &SET_CC_AUDIT.to_be_bytes(),
        &OWNER.to_be_bytes(),
        &set_params,
    ]);
    let rp1 = sha256(&[&0u32.to_be_bytes(), &SET_CC_AUDIT.to_be_bytes()]);
    let d1 = sha256(&[&[0u8; 32], &cp1, &rp1]);
    let cp2 = sha256(&[&GET_RANDOM.to_be_bytes(), &[0, 8]]);
    let rp2 = sha256(&[&0u32.to_be_bytes(), &GET_RANDOM.to_be_bytes(), &r[10..]]);
    let d2 = sha256(&[&d1, &cp2, &rp2]);

    let get = auth_cmd(
        GET_CC_AUDIT_DIGEST,
        &[ENDORSEMENT, NULL],
        &[b"", b""],
        &report_params(),
    );
    let a = attested(&exec(&mut t, &get), 0x8015);
    let mut rd = Rd { b: &a, at: 0 };
    assert_eq!(rd.bytes(8), 1u64.to_be_bytes(), "auditCounter");
    assert_eq!(rd.u16(), ALG_SHA256);
    assert_eq!(rd.b2(), &d2[..], "auditDigest");
    let list = sha256(&[&SET_CC_AUDIT.to_be_bytes(), &GET_RANDOM.to_be_bytes()]);
    assert_eq!(rd.b2(), &list[..], "commandDigest");

    // An unsigned report does not restart the digest; the counter is a variable property.
    let a = attested(&exec(&mut t, &get), 0x8015);
    assert_eq!(&a[10 + 2..10 + 2 + 32], &d2[..]);

    // Changing the algorithm with a list is TPM_RC_VALUE (parameter 1); alone, it ends the
    // digest, and the next audited command starts a SHA-384 one and counts it.
    assert_eq!(rc(&set_audit(&mut t, 0x000C, &[GET_RANDOM], &[])), 0x1C4);
    assert_eq!(rc(&set_audit(&mut t, 0x000C, &[], &[])), 0);
    let a = attested(&exec(&mut t, &get), 0x8015);
    let mut rd = Rd { b: &a, at: 0 };
    assert_eq!(rd.bytes(8), 1u64.to_be_bytes());
    assert_eq!(rd.u16(), 0x000C);
    assert_eq!(rd.b2(), &[] as &[u8], "no digest running");
    assert_eq!(rc(&exec(&mut t, &plain_cmd(GET_RANDOM, &[], &[0, 8]))), 0);
    let a = attested(&exec(&mut t, &get), 0x8015);
    let mut rd = Rd { b: &a, at: 0 };
    assert_eq!(rd.bytes(8), 2u64.to_be_bytes());
    rd.u16();
    assert_eq!(rd.b2().len(), 48);

    // SetCommandCodeAuditStatus cannot be taken off the list.
    assert_eq!(
        rc(&set_audit(
            &mut t,
            ALG_NULL,
            &[],
            &[SET_CC_AUDIT, GET_RANDOM]
        )),
        0
    );
    assert_eq!(audit_list(&mut t), [SET_CC_AUDIT]);
}

/// An unbound, unsalted HMAC session (empty session key) with SHA-256.
fn hmac_session(t: &mut T) -> u32 {
    let mut p = NULL.to_be_bytes().to_vec();
    p.extend(NULL.to_be_bytes());
    p.extend(b2(&[0x5A; 16]));
    p.extend(b2(&[]));
    p.extend([0x00]); // TPM_SE_HMAC
    p.extend(ALG_NULL.to_be_bytes());
    p.extend(ALG_SHA256.to_be_bytes());
    let r = exec(t, &cmd(ST_NO_SESSIONS, START_AUTH_SESSION, &p));
    assert_eq!(rc(&r), 0);
    handle(&r)
}

/// `GetRandom(8)` with `session` as its only session (audit, no HMAC: the key is empty).
fn audited_get_random(session: u32, attributes: u8) -> Vec<u8> {
    let mut area = session.to_be_bytes().to_vec();
    area.extend(b2(&[0x11; 16]));
    area.push(attributes);
    area.extend(b2(&[]));
    let mut body = (area.len() as u32).to_be_bytes().to_vec();
    body.extend(area);
    body.extend([0, 8]);
    cmd(ST_SESSIONS, GET_RANDOM, &body)
}

/// The response parameters and the session attributes of a one-session response.
fn split(r: &[u8]) -> (Vec<u8>, u8) {
    assert_eq!(rc(r), 0);
    let n = u32::from_be_bytes(r[10..14].try_into().unwrap()) as usize;
    let params = r[14..14 + n].to_vec();
    let mut rd = Rd { b: r, at: 14 + n };
    rd.b2(); // nonceTPM
    let attrs = rd.bytes(1)[0];
    assert_eq!(rd.b2(), &[] as &[u8], "no response HMAC with an empty key");
    (params, attrs)
}

fn session_report(t: &mut T, session: u32) -> Vec<u8> {
    let c = auth_cmd(
        GET_SESSION_AUDIT_DIGEST,
        &[ENDORSEMENT, NULL, session],
        &[b"", b""],
        &report_params(),
    );
    exec(t, &c)
}

#[test]
fn session_audit_digest_and_exclusivity() {
    let mut t = started();
    let s = hmac_session(&mut t);
    assert_eq!(
        rc(&session_report(&mut t, s)),
        0x38A,
        "not yet an audit session"
    );

    let mut digest = vec![0u8; 32];
    let cp = sha256(&[&GET_RANDOM.to_be_bytes(), &[0, 8]]);
    for round in 0..2 {
        let r = exec(&mut t, &audited_get_random(s, AUDIT | CONTINUE));
        let (params, attrs) = split(&r);
        assert_eq!(attrs, AUDIT | CONTINUE | AUDIT_EXCLUSIVE, "round {round}");
        let rp = sha256(&[&0u32.to_be_bytes(), &GET_RANDOM.to_be_bytes(), &params]);
        digest = sha256(&[&digest, &cp, &rp]);
    }
    let a = attested(&session_report(&mut t, s), 0x8016);
    assert_eq!(a[0], 1, "exclusiveSession: nothing ran in between");
    assert_eq!(&a[3..], &digest[..]);

    // That report ran without the audit session: exclusivity is gone, the digest is not.
    let a = attested(&session_report(&mut t, s), 0x8016);
    assert_eq!(a[0], 0);
    assert_eq!(&a[3..], &digest[..]);
    assert_eq!(
        rc(&exec(
            &mut t,
            &audited_get_random(s, AUDIT | AUDIT_EXCLUSIVE | CONTINUE)
        )),
        0x121,
        "TPM_RC_EXCLUSIVE"
    );
    let (_, attrs) = split(&exec(&mut t, &audited_get_random(s, AUDIT | CONTINUE)));
    assert_eq!(attrs, AUDIT | CONTINUE, "continues, not exclusive");
    // auditReset starts over from zero and makes the session exclusive again.
    let r = exec(
        &mut t,
        &audited_get_random(s, AUDIT | AUDIT_RESET | CONTINUE),
    );
    let (params, attrs) = split(&r);
    assert_eq!(attrs, AUDIT | AUDIT_RESET | CONTINUE | AUDIT_EXCLUSIVE);
    let rp = sha256(&[&0u32.to_be_bytes(), &GET_RANDOM.to_be_bytes(), &params]);
    let a = attested(&session_report(&mut t, s), 0x8016);
    assert_eq!(&a[3..], &sha256(&[&[0; 32], &cp, &rp])[..]);
}

#[test]
fn audit_sessions_are_hmac_sessions_and_one_per_command() {
    let mut t = started();
    // A policy session cannot audit.
    let mut p = NULL.to_be_bytes().to_vec();
    p.extend(NULL.to_be_bytes());
    p.extend(b2(&[0x5A; 16]));
    p.extend(b2(&[]));
    p.extend([0x01]);
    p.extend(ALG_NULL.to_be_bytes());
    p.extend(ALG_SHA256.to_be_bytes());
    let policy = handle(&exec(&mut t, &cmd(ST_NO_SESSIONS, START_AUTH_SESSION, &p)));
    assert_eq!(
        rc(&exec(&mut t, &audited_get_random(policy, AUDIT | CONTINUE))),
        0x982
    );
    // Two audit sessions: the second is refused.
    let (a, b) = (hmac_session(&mut t), hmac_session(&mut t));
    let mut area = Vec::new();
    for s in [a, b] {
        area.extend(s.to_be_bytes());
        area.extend(b2(&[0x11; 16]));
        area.push(AUDIT | CONTINUE);
        area.extend(b2(&[]));
    }
    let mut body = (area.len() as u32).to_be_bytes().to_vec();
    body.extend(area);
    body.extend([0, 8]);
    assert_eq!(
        rc(&exec(&mut t, &cmd(ST_SESSIONS, GET_RANDOM, &body))),
        0xA82,
        "TPM_RC_ATTRIBUTES, session 2"
    );
}
