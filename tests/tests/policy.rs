//! tpm2-tools 5.4 policy flows against each endpoint: PolicyTicket standing in for a
//! PolicySecret, with the policy digests checked against values the test computes itself.

use evtpm_tests::{each_endpoint, show, tpm2, Endpoint, Server, TempDir};
use sha2::Digest;

/// Runs a tpm2 subcommand, asserting success; returns stdout.
#[track_caller]
fn ok(server: &Server, args: &[&str]) -> Vec<u8> {
    let o = tpm2(server, args);
    assert!(
        o.status.success(),
        "{}: tpm2 {args:?} failed: {}",
        server.endpoint(),
        show(&o)
    );
    o.stdout
}

fn started(ep: Endpoint) -> Server {
    let s = Server::start(ep);
    ok(&s, &["startup", "-c"]);
    s
}

fn sha256(parts: &[&[u8]]) -> Vec<u8> {
    let mut h = sha2::Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().to_vec()
}

/// `PolicyUpdate(cc, name, ref)` from the all-zero digest (Part 3, 23.2.3).
fn policy_update(cc: u32, name: &[u8], policy_ref: &[u8]) -> Vec<u8> {
    let inner = sha256(&[&[0; 32], &cc.to_be_bytes(), name]);
    sha256(&[&inner, policy_ref])
}

/// `tpm2_policysecret` with an expiration gives a ticket and a timeout; `tpm2_policyticket`
/// in a fresh session (Part 3, 23.5) reaches the same digest, `PolicyUpdate(PolicySecret,
/// owner, "")`.
#[test]
fn policy_ticket_stands_in_for_policy_secret() {
    each_endpoint(|ep| {
        let s = started(ep);
        let dir = TempDir::new("policyticket");
        let p = |n: &str| dir.path().join(n).to_str().expect("utf-8 path").to_owned();
        let (s1, s2, ticket, timeout) = (p("s1.ctx"), p("s2.ctx"), p("ticket"), p("timeout"));
        let owner = dir.file("owner.name", &0x4000_0001u32.to_be_bytes());
        ok(&s, &["startauthsession", "--policy-session", "-S", &s1]);
        let (p1, p2) = (p("p1"), p("p2"));
        ok(
            &s,
            &[
                "policysecret",
                "-S",
                &s1,
                "-c",
                "o",
                "-t",
                "-100",
                "--ticket",
                &ticket,
                "--timeout",
                &timeout,
                "-L",
                &p1,
            ],
        );
        ok(&s, &["flushcontext", &s1]);
        let t = std::fs::read(&timeout).expect("timeout file");
        assert_eq!(t.len(), 8, "{ep}");
        assert_eq!(
            t[0] & 0x80,
            0x80,
            "{ep}: no nonceTPM, so the ticket expires on reset"
        );
        ok(&s, &["startauthsession", "--policy-session", "-S", &s2]);
        ok(
            &s,
            &[
                "policyticket",
                "-S",
                &s2,
                "-n",
                owner.to_str().unwrap(),
                "--ticket",
                &ticket,
                "--timeout",
                &timeout,
                "-L",
                &p2,
            ],
        );
        ok(&s, &["flushcontext", &s2]);
        let want = policy_update(0x151, &0x4000_0001u32.to_be_bytes(), b"");
        assert_eq!(
            std::fs::read(&p1).unwrap(),
            want,
            "{ep}: PolicySecret digest"
        );
        assert_eq!(
            std::fs::read(&p2).unwrap(),
            want,
            "{ep}: PolicyTicket digest"
        );
    });
}
