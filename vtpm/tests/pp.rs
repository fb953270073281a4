//! Physical presence (Part 3, 26.2 TPM2_PP_Commands; Part 1, 19.8): the codes swtpm 0.7 /
//! libtpms give (`TPM_RC_PP` for session 1 is 0x990) and the list `TPM_CAP_PP_COMMANDS` reports.

mod common;
use common::*;

const PP_COMMANDS: u32 = 0x12D;
const CLEAR: u32 = 0x126;
const CLEAR_CONTROL: u32 = 0x127;
const PCR_EXTEND: u32 = 0x182;
const GET_CAPABILITY: u32 = 0x17A;
const CAP_PP_COMMANDS: u32 = 3;
const PP_S1: u32 = 0x990;
const POLICY_PHYSICAL_PRESENCE: u32 = 0x187;

/// `TPML_CC` of `ccs`.
fn ccs(list: &[u32]) -> Vec<u8> {
    let mut v = (list.len() as u32).to_be_bytes().to_vec();
    for cc in list {
        v.extend(cc.to_be_bytes());
    }
    v
}

fn pp_commands(t: &mut T, set: &[u32], clear: &[u32]) -> u32 {
    let mut p = ccs(set);
    p.extend(ccs(clear));
    rc(&exec(t, &auth_cmd(PP_COMMANDS, &[PLATFORM], &[b""], &p)))
}

/// `TPM_CAP_PP_COMMANDS` from command code 0.
fn pp_list(t: &mut T) -> Vec<u32> {
    let mut p = CAP_PP_COMMANDS.to_be_bytes().to_vec();
    p.extend(0u32.to_be_bytes());
    p.extend(64u32.to_be_bytes());
    let r = exec(t, &plain_cmd(GET_CAPABILITY, &[], &p));
    assert_eq!(rc(&r), 0);
    let mut rd = Rd::params(&r, false);
    assert_eq!(rd.bytes(1), [0], "moreData");
    assert_eq!(rd.u32(), CAP_PP_COMMANDS);
    (0..rd.u32()).map(|_| rd.u32()).collect()
}

#[test]
fn pp_commands_needs_presence_which_a_vtpm_never_has() {
    let mut t = started();
    assert_eq!(pp_list(&mut t), [PP_COMMANDS]);
    // Presence is checked before the password: even a wrong one gets TPM_RC_PP.
    assert_eq!(pp_commands(&mut t, &[], &[]), PP_S1);
    let mut p = ccs(&[]);
    p.extend(ccs(&[]));
    assert_eq!(
        rc(&exec(
            &mut t,
            &auth_cmd(PP_COMMANDS, &[PLATFORM], &[b"wrong"], &p)
        )),
        PP_S1
    );
    // Only the platform may authorize it at all.
    assert_eq!(
        rc(&exec(&mut t, &auth_cmd(PP_COMMANDS, &[OWNER], &[b""], &p))),
        0x184,
        "TPM_RC_VALUE for handle 1: not TPM_RH_PLATFORM"
    );
}

#[test]
fn the_platform_puts_commands_on_the_list_while_presence_is_asserted() {
    let mut t = started();
    t.set_physical_presence(true);
    // Clear is PP-capable, PCR_Extend is not (ignored); PP_Commands cannot be removed.
    assert_eq!(pp_commands(&mut t, &[CLEAR, PCR_EXTEND], &[PP_COMMANDS]), 0);
    assert_eq!(pp_list(&mut t), [CLEAR, PP_COMMANDS]);
    t.set_physical_presence(false);
    // Clear by the platform now needs presence; by lockout it does not.
    assert_eq!(
        rc(&exec(&mut t, &auth_cmd(CLEAR, &[PLATFORM], &[b""], &[]))),
        PP_S1
    );
    assert_eq!(
        rc(&exec(&mut t, &auth_cmd(CLEAR, &[0x4000_000A], &[b""], &[]))),
        0
    );
    // ClearControl is still free of it.
    assert_eq!(
        rc(&exec(
            &mut t,
            &auth_cmd(CLEAR_CONTROL, &[PLATFORM], &[b""], &[0])
        )),
        0
    );
    t.set_physical_presence(true);
    assert_eq!(pp_commands(&mut t, &[], &[CLEAR]), 0);
    assert_eq!(pp_list(&mut t), [PP_COMMANDS]);
}

/// A command authorized by the policy session `session` (no nonce, continueSession, no HMAC).
fn with_policy(cc: u32, handle: u32, session: u32, params: &[u8]) -> Vec<u8> {
    let mut body = handle.to_be_bytes().to_vec();
    let mut area = session.to_be_bytes().to_vec();
    area.extend([0, 0, 0x01, 0, 0]);
    body.extend((area.len() as u32).to_be_bytes());
    body.extend(area);
    body.extend(params);
    cmd(ST_SESSIONS, cc, &body)
}

#[test]
fn a_policy_asking_for_presence_is_satisfied_only_while_it_is_asserted() {
    use sha2::{Digest, Sha256};
    let mut t = started();
    // The owner's authPolicy: H(0^32 || TPM_CC_PolicyPhysicalPresence).
    let mut h = Sha256::new();
    h.update([0u8; 32]);
    h.update(POLICY_PHYSICAL_PRESENCE.to_be_bytes());
    let digest = h.finalize();
    let mut p = b2(&digest);
    p.extend(0x000Bu16.to_be_bytes());
    assert_eq!(
        rc(&exec(&mut t, &auth_cmd(0x12E, &[OWNER], &[b""], &p))),
        0,
        "SetPrimaryPolicy"
    );
    // StartAuthSession(no key, no bind, nonce, no salt, POLICY, no symmetric, SHA-256).
    let mut p = NULL.to_be_bytes().to_vec();
    p.extend(NULL.to_be_bytes());
    p.extend(b2(&[0x33; 32]));
    p.extend(b2(&[]));
    p.extend([0x01, 0x00, 0x10, 0x00, 0x0b]);
    let r = exec(&mut t, &cmd(ST_NO_SESSIONS, 0x176, &p));
    assert_eq!(rc(&r), 0);
    let session = handle(&r);
    assert_eq!(
        rc(&exec(
            &mut t,
            &plain_cmd(POLICY_PHYSICAL_PRESENCE, &[session], &[])
        )),
        0
    );
    // HierarchyChangeAuth(OWNER, empty) under the policy: the digest matches, presence does not.
    let change = with_policy(0x129, OWNER, session, &b2(&[]));
    assert_eq!(rc(&exec(&mut t, &change)), PP_S1);
    t.set_physical_presence(true);
    assert_eq!(rc(&exec(&mut t, &change)), 0);
}
