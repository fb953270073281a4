//! The PCR authorization and policy groups, differential: TPM2_PCR_SetAuthValue and
//! TPM2_PCR_SetAuthPolicy (Part 3, 22.7–22.8), and how the group's authValue and policy
//! authorize PCR commands, against the reference (libtpms: one group, PCRs 20–22).

use evtpm_tests::cmd::{self, RH_OWNER, RH_PLATFORM};
use evtpm_tests::diff::{c, differential, slot, Step, View, PCR_PROPS};
use sha2::Digest;
use tpm_proto::{AlgId, Cap, Cc, Su};

const LOCKOUT: u32 = 0x4000_000A;

fn sized(b: &[u8]) -> Vec<u8> {
    let mut v = (b.len() as u16).to_be_bytes().to_vec();
    v.extend_from_slice(b);
    v
}

fn full(name: &str, bytes: Vec<u8>) -> Step {
    c(name, bytes, View::Full)
}

fn set_auth_value(pcr: u32, current: &[u8], new: &[u8]) -> Vec<u8> {
    cmd::with_pw(Cc::PcrSetAuthValue, &[pcr], &[current], &sized(new))
}

fn set_auth_policy(by: u32, policy: &[u8], alg: u16, pcr: u32) -> Vec<u8> {
    let mut p = sized(policy);
    p.extend(alg.to_be_bytes());
    p.extend(pcr.to_be_bytes());
    cmd::with_pw(Cc::PcrSetAuthPolicy, &[by], &[b""], &p)
}

/// `TPM2_PCR_Event(pcr; "e")` with `password`: PCR 16 and 23 take it at any locality.
fn event(pcr: u32, password: &[u8]) -> Vec<u8> {
    cmd::with_pw(Cc::PcrEvent, &[pcr], &[password], &sized(b"e"))
}

fn reboot(su: Su) -> Vec<Step> {
    vec![
        full("Shutdown", cmd::shutdown(su)),
        Step::PowerCycle,
        full(&format!("Startup({su:?})"), cmd::startup(su)),
    ]
}

#[test]
fn pcr_auth_value_agrees() {
    differential(|| {
        let mut v = vec![
            c(
                "PCR properties",
                cmd::get_capability(Cap::PcrProperties, 0, 32),
                View::PcrProps(PCR_PROPS),
            ),
            full("SetAuthValue PCR 16", set_auth_value(16, b"", b"x")),
            full("SetAuthValue PCR 23", set_auth_value(23, b"", b"x")),
            full("SetAuthValue PCR 24", set_auth_value(24, b"", b"x")),
            full(
                "SetAuthValue TPM_RH_NULL",
                set_auth_value(0x4000_0007, b"", b"x"),
            ),
            full("SetAuthValue PCR 20", set_auth_value(20, b"", b"secret")),
            full("PCR 21 with the old value", set_auth_value(21, b"", b"x")),
            full(
                "PCR 22, trailing zeros",
                set_auth_value(22, b"secret", b"new\0\0"),
            ),
            full("65 octets", set_auth_value(20, b"new", &[7; 65])),
            full("64 octets", set_auth_value(20, b"new", &[7; 64])),
            full("back to \"b\"", set_auth_value(20, &[7; 64], b"b")),
            full("PCR_Event 16 with a password", event(16, b"b")),
            c("PCR_Event 16", event(16, b""), View::Digests),
            full("Clear", cmd::with_pw(Cc::Clear, &[LOCKOUT], &[b""], &[])),
            full("PCR 20 after Clear", set_auth_value(20, b"", b"c")),
        ];
        v.extend(reboot(Su::State));
        v.push(full("PCR 20 after Resume", set_auth_value(20, b"c", b"d")));
        v.extend(reboot(Su::State));
        v.truncate(v.len() - 1);
        v.push(full("Startup(CLEAR): Restart", cmd::startup(Su::Clear)));
        v.push(full("PCR 20 after Restart", set_auth_value(20, b"", b"e")));
        v.extend([
            Step::PowerCycle,
            full("Startup(CLEAR): Reset", cmd::startup(Su::Clear)),
        ]);
        v.push(full("PCR 20 after Reset", set_auth_value(20, b"", b"")));
        // PCR 20 extends at localities 1–3 only, PCR 21 and 22 at locality 2.
        v.extend([
            full(
                "SetAuthValue for the extends",
                set_auth_value(20, b"", b"f"),
            ),
            Step::Locality(2),
            c(
                "PCR_Event 21 with the value",
                event(21, b"f"),
                View::Digests,
            ),
            full("PCR_Event 22 without it", event(22, b"")),
            Step::Locality(0),
            full("PCR_Event 20 at locality 0", event(20, b"f")),
        ]);
        v
    });
}

#[test]
fn pcr_auth_policy_agrees() {
    differential(|| {
        let p = sha2::Sha256::digest(b"p").to_vec();
        let by_session =
            |pcr: u32| cmd::with_session(Cc::PcrSetAuthValue, &[pcr], slot(0), &sized(b""));
        let policy: Vec<u8> = sha2::Sha256::new()
            .chain_update([0u8; 32])
            .chain_update(Cc::PolicyCommandCode.0.to_be_bytes())
            .chain_update(Cc::PcrSetAuthValue.0.to_be_bytes())
            .finalize()
            .to_vec();
        let mut v = vec![
            full("by the owner", set_auth_policy(RH_OWNER, &p, 0x0B, 20)),
            full(
                "policy of 20 octets",
                set_auth_policy(RH_PLATFORM, &p[..20], 0x0B, 20),
            ),
            full(
                "AES as the hash",
                set_auth_policy(RH_PLATFORM, &p, 0x06, 20),
            ),
            full(
                "empty SHA-256 policy",
                set_auth_policy(RH_PLATFORM, b"", 0x0B, 20),
            ),
            full("NULL, PCR 16", set_auth_policy(RH_PLATFORM, b"", 0x10, 16)),
            full("PCR 24", set_auth_policy(RH_PLATFORM, &p, 0x0B, 24)),
            full(
                "the owner handle as pcrNum",
                set_auth_policy(RH_PLATFORM, &p, 0x0B, RH_OWNER),
            ),
            c(
                "policy session",
                cmd::start_auth_session(1, AlgId::Sha256),
                View::Capture(0),
            ),
            full("PCR 20 by a session without policy", by_session(20)),
            full("PCR 16 by a policy session", by_session(16)),
            full(
                "SetAuthPolicy PCR 21",
                set_auth_policy(RH_PLATFORM, &policy, 0x0B, 21),
            ),
            full("PCR 20 by password", set_auth_value(20, b"", b"")),
            full("PCR 16 by password", set_auth_value(16, b"", b"")),
            full(
                "PolicyCommandCode(PCR_SetAuthValue)",
                cmd::policy(
                    Cc::PolicyCommandCode,
                    slot(0),
                    &Cc::PcrSetAuthValue.0.to_be_bytes(),
                ),
            ),
            // The response carries the session's next nonceTPM (random): compared by size.
            c("PCR 22 by the policy session", by_session(22), View::RcSize),
            full("Clear", cmd::with_pw(Cc::Clear, &[LOCKOUT], &[b""], &[])),
            full(
                "PCR 20 by password after Clear",
                set_auth_value(20, b"", b""),
            ),
            full(
                "SHA-1 policy",
                set_auth_policy(RH_PLATFORM, &[0; 20], 0x04, 20),
            ),
            full("PCR 20 by the SHA-256 session", by_session(20)),
            full("NULL policy", set_auth_policy(RH_PLATFORM, b"", 0x10, 22)),
            full("PCR 20 by password again", set_auth_value(20, b"", b"")),
            full("PCR 20 by the session, NULL policy", by_session(20)),
        ];
        v.extend(reboot(Su::Clear));
        v.push(full(
            "SetAuthPolicy PCR 20 after Reset",
            set_auth_policy(RH_PLATFORM, &policy, 0x0B, 20),
        ));
        v.extend(reboot(Su::Clear));
        v.push(full(
            "the policy outlives a Reset",
            set_auth_value(21, b"", b""),
        ));
        v
    });
}
