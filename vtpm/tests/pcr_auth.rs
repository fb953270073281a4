//! The PCR authorization and policy group (PCRs 20–22, as in libtpms): TPM2_PCR_SetAuthValue and
//! TPM2_PCR_SetAuthPolicy (Part 3, 22.7–22.8) through `Tpm::execute`, with the codes swtpm 0.7 /
//! libtpms 0.9 give for the same bytes.

mod common;
use common::*;

const PCR_SET_AUTH_POLICY: u32 = 0x12C;
const PCR_SET_AUTH_VALUE: u32 = 0x183;
const LOCKOUT: u32 = 0x4000_000A;
const BAD_AUTH_S1: u32 = 0x9A2;
const AUTH_TYPE: u32 = 0x124;

fn set_auth_value(t: &mut T, pcr: u32, current: &[u8], new: &[u8]) -> u32 {
    rc(&exec(
        t,
        &auth_cmd(PCR_SET_AUTH_VALUE, &[pcr], &[current], &b2(new)),
    ))
}

fn set_auth_policy(t: &mut T, by: u32, policy: &[u8], alg: u16, pcr: u32) -> u32 {
    let mut p = b2(policy);
    p.extend(alg.to_be_bytes());
    p.extend(pcr.to_be_bytes());
    rc(&exec(t, &auth_cmd(PCR_SET_AUTH_POLICY, &[by], &[b""], &p)))
}

fn startup(t: &mut T, su: u8) -> u32 {
    rc(&exec(t, &cmd(ST_NO_SESSIONS, 0x144, &[0, su])))
}

#[test]
fn pcr_auth_value_belongs_to_the_group_of_pcrs_20_to_22() {
    let mut t = started();
    assert_eq!(
        set_auth_value(&mut t, 16, b"", b"x"),
        0x084,
        "PCR 16 is in no group"
    );
    assert_eq!(set_auth_value(&mut t, 23, b"", b"x"), 0x084);
    assert_eq!(
        set_auth_value(&mut t, 24, b"", b"x"),
        0x184,
        "not a PCR handle"
    );
    assert_eq!(set_auth_value(&mut t, 20, b"", b"secret"), 0);
    // The whole group has the new value; PCRs are not DA-protected (TPM_RC_BAD_AUTH).
    assert_eq!(set_auth_value(&mut t, 21, b"", b"x"), BAD_AUTH_S1);
    assert_eq!(set_auth_value(&mut t, 22, b"secret", b"new\0\0"), 0);
    assert_eq!(set_auth_value(&mut t, 20, b"new", &[7; 65]), 0x1D5);
    // Extending PCR 20 is locality 1–3 only: the authorization passes, then TPM_RC_LOCALITY.
    let mut p = hex("00000001 000b");
    p.extend([0x11; 32]);
    assert_eq!(
        rc(&exec(&mut t, &auth_cmd(0x182, &[20], &[b"new"], &p))),
        0x907
    );
    assert_eq!(
        rc(&exec(&mut t, &auth_cmd(0x182, &[20], &[b""], &p))),
        BAD_AUTH_S1
    );
    assert_eq!(
        rc(&exec(&mut t, &auth_cmd(0x182, &[16], &[b"new"], &p))),
        BAD_AUTH_S1
    );
}

#[test]
fn pcr_auth_value_lasts_until_reset_restart_or_clear() {
    let mut t = started();
    assert_eq!(set_auth_value(&mut t, 20, b"", b"a"), 0);
    assert_eq!(
        rc(&exec(&mut t, &auth_cmd(0x126, &[LOCKOUT], &[b""], &[]))),
        0,
        "Clear"
    );
    assert_eq!(
        set_auth_value(&mut t, 20, b"", b"b"),
        0,
        "empty after TPM2_Clear"
    );
    // Resume keeps it.
    assert_eq!(rc(&exec(&mut t, &cmd(ST_NO_SESSIONS, 0x145, &[0, 1]))), 0);
    t.power_on();
    assert_eq!(startup(&mut t, 1), 0);
    assert_eq!(set_auth_value(&mut t, 20, b"b", b"c"), 0, "kept by Resume");
    // Restart empties it.
    assert_eq!(rc(&exec(&mut t, &cmd(ST_NO_SESSIONS, 0x145, &[0, 1]))), 0);
    t.power_on();
    assert_eq!(startup(&mut t, 0), 0);
    assert_eq!(
        set_auth_value(&mut t, 20, b"", b"d"),
        0,
        "empty after Restart"
    );
    t.power_on();
    assert_eq!(startup(&mut t, 0), 0);
    assert_eq!(set_auth_value(&mut t, 20, b"", b""), 0, "empty after Reset");
}

#[test]
fn pcr_auth_policy_requires_policy_sessions_for_the_group() {
    let mut t = started();
    let sha256_policy = sha256(&[b"p"]);
    assert_eq!(
        set_auth_policy(&mut t, OWNER, &sha256_policy, 0x0B, 20),
        0x184,
        "platform only"
    );
    assert_eq!(
        set_auth_policy(&mut t, PLATFORM, &sha256_policy[..20], 0x0B, 20),
        0x1D5
    );
    assert_eq!(
        set_auth_policy(&mut t, PLATFORM, &sha256_policy, 0x06, 20),
        0x2C3
    );
    assert_eq!(set_auth_policy(&mut t, PLATFORM, b"", 0x0B, 20), 0x1D5);
    assert_eq!(
        set_auth_policy(&mut t, PLATFORM, b"", 0x10, 16),
        0x3C4,
        "size, then group"
    );
    assert_eq!(
        set_auth_policy(&mut t, PLATFORM, &sha256_policy, 0x0B, 24),
        0x3C4
    );
    // A policy session whose digest is not the group's policy: TPM_RC_POLICY_FAIL; on a PCR
    // outside the group TPM_RC_AUTH_UNAVAILABLE.
    let mut sp = hex("40000007 40000007");
    sp.extend(b2(&[7; 16]));
    sp.extend(hex("0000 01 0010 000b"));
    let r = exec(&mut t, &cmd(ST_NO_SESSIONS, 0x176, &sp));
    let s = handle(&r);
    let by_session = |t: &mut T, pcr: u32| {
        let mut body = pcr.to_be_bytes().to_vec();
        body.extend(9u32.to_be_bytes());
        body.extend(s.to_be_bytes());
        body.extend([0, 0, 1, 0, 0]);
        body.extend(b2(b""));
        rc(&exec(t, &cmd(ST_SESSIONS, PCR_SET_AUTH_VALUE, &body)))
    };
    assert_eq!(by_session(&mut t, 20), 0x99D);
    assert_eq!(by_session(&mut t, 16), 0x12F);
    // PolicyCommandCode(PCR_SetAuthValue) as the group's policy.
    let policy = sha256(&[
        &[0; 32],
        &0x16Cu32.to_be_bytes(),
        &PCR_SET_AUTH_VALUE.to_be_bytes(),
    ]);
    assert_eq!(set_auth_policy(&mut t, PLATFORM, &policy, 0x0B, 21), 0);
    // Now the group takes policy sessions only.
    assert_eq!(set_auth_value(&mut t, 20, b"", b""), AUTH_TYPE);
    let mut p = s.to_be_bytes().to_vec();
    p.extend(PCR_SET_AUTH_VALUE.to_be_bytes());
    assert_eq!(rc(&exec(&mut t, &cmd(ST_NO_SESSIONS, 0x16C, &p))), 0);
    assert_eq!(by_session(&mut t, 22), 0);
    // The policy survives TPM2_Clear; TPM_ALG_NULL removes it.
    assert_eq!(
        rc(&exec(&mut t, &auth_cmd(0x126, &[LOCKOUT], &[b""], &[]))),
        0
    );
    assert_eq!(set_auth_value(&mut t, 20, b"", b""), AUTH_TYPE);
    assert_eq!(set_auth_policy(&mut t, PLATFORM, b"", 0x10, 22), 0);
    assert_eq!(set_auth_value(&mut t, 20, b"", b""), 0);
}

#[test]
fn pcr_properties_list_the_group() {
    let mut t = started();
    // GetCapability(TPM_CAP_PCR_PROPERTIES, TPM_PT_PCR_POLICY, 2)
    let r = exec(
        &mut t,
        &cmd(ST_NO_SESSIONS, 0x17A, &hex("00000007 00000013 00000002")),
    );
    assert_eq!(rc(&r), 0);
    assert_eq!(
        &r[10..],
        &hex("00 00000007 00000002 00000013 03 000070 00000014 03 000070")[..]
    );
}
