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
            full(
                "NameHash after DuplicationSelect",
                on(Cc::PolicyNameHash, 0, &a),
            ),
            digest_of(0),
            flush(0),
        ]
    });
}
