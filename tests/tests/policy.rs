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

const IDX: u32 = 0x0150_0017;

/// `tpm2_policyauthorizenv` (Part 3, 23.22): the approved policy (PolicyPCR over PCR 16) is kept
/// in an index; a sealed object's policy names only the index. Unsealing works while PCR 16 holds
/// the approved value and fails (`TPM_RC_VALUE`) once it is extended. The policy digest is
/// checked against `H(0^32 || TPM_CC_PolicyAuthorizeNV || nvName)` computed here.
#[test]
fn policy_authorize_nv_seals_to_a_policy_kept_in_an_index() {
    each_endpoint(|ep| {
        let s = started(ep);
        let dir = TempDir::new("policyauthorizenv");
        let p = |n: &str| dir.path().join(n).to_str().expect("utf-8 path").to_owned();
        let idx = format!("{IDX:#x}");
        ok(
            &s,
            &[
                "nvdefine",
                &idx,
                "-C",
                "o",
                "-s",
                "34",
                "-a",
                "authread|authwrite",
            ],
        );
        let (trial, pcr_policy, anv_policy) = (p("trial.ctx"), p("pcr.policy"), p("anv.policy"));
        ok(&s, &["startauthsession", "-S", &trial]);
        ok(
            &s,
            &[
                "policypcr",
                "-S",
                &trial,
                "-l",
                "sha256:16",
                "-L",
                &pcr_policy,
            ],
        );
        ok(&s, &["flushcontext", &trial]);
        let mut entry = vec![0x00, 0x0B];
        entry.extend(std::fs::read(&pcr_policy).expect("policy file"));
        let entry = dir.file("entry", &entry);
        ok(
            &s,
            &["nvwrite", &idx, "-C", &idx, "-i", entry.to_str().unwrap()],
        );
        ok(&s, &["startauthsession", "-S", &trial]);
        ok(
            &s,
            &[
                "policyauthorizenv",
                "-S",
                &trial,
                "-C",
                &idx,
                "-L",
                &anv_policy,
                &idx,
            ],
        );
        ok(&s, &["flushcontext", &trial]);
        // nvName: nameAlg || SHA-256(TPMS_NV_PUBLIC) with authread|authwrite|written.
        let mut public = IDX.to_be_bytes().to_vec();
        public.extend([0x00, 0x0B]);
        public.extend(0x2004_0004u32.to_be_bytes());
        public.extend([0, 0, 0, 34]);
        let mut name = vec![0x00, 0x0B];
        name.extend(sha256(&[&public]));
        let want = sha256(&[&[0; 32], &0x192u32.to_be_bytes(), &name]);
        assert_eq!(std::fs::read(&anv_policy).unwrap(), want, "{ep}");

        let (prim, pubf, privf, key) = (p("prim.ctx"), p("key.pub"), p("key.priv"), p("key.ctx"));
        let secret = dir.file("secret", b"sealed under an NV policy");
        ok(&s, &["createprimary", "-C", "o", "-c", &prim]);
        let attrs = "fixedtpm|fixedparent";
        ok(
            &s,
            &[
                "create",
                "-C",
                &prim,
                "-L",
                &anv_policy,
                "-a",
                attrs,
                "-i",
                secret.to_str().unwrap(),
                "-u",
                &pubf,
                "-r",
                &privf,
            ],
        );
        evtpm_tests::flush_transient(&s);
        ok(
            &s,
            &["load", "-C", &prim, "-u", &pubf, "-r", &privf, "-c", &key],
        );
        evtpm_tests::flush_transient(&s);
        let session = p("session.ctx");
        let unseal = |expect_ok: bool| {
            ok(
                &s,
                &["startauthsession", "--policy-session", "-S", &session],
            );
            ok(&s, &["policypcr", "-S", &session, "-l", "sha256:16"]);
            let o = tpm2(&s, &["policyauthorizenv", "-S", &session, "-C", &idx, &idx]);
            let result = if o.status.success() {
                let u = ok(
                    &s,
                    &["unseal", "-c", &key, "-p", &format!("session:{session}")],
                );
                Some(u)
            } else {
                let err = String::from_utf8_lossy(&o.stderr).into_owned();
                assert!(err.contains("0x84"), "{ep}: {err}");
                None
            };
            ok(&s, &["flushcontext", &session]);
            evtpm_tests::flush_transient(&s);
            assert_eq!(result.is_some(), expect_ok, "{ep}");
            result
        };
        assert_eq!(unseal(true).unwrap(), b"sealed under an NV policy", "{ep}");
        ok(
            &s,
            &[
                "pcrextend",
                "16:sha256=0000000000000000000000000000000000000000000000000000000000000001",
            ],
        );
        unseal(false);
    });
}

/// `tpm2_policytemplate` (Part 3, 23.21) in the owner hierarchy's policy: with a policy session
/// asserting the template's digest, `tpm2_createprimary` of that template succeeds and of another
/// template fails with `TPM_RC_POLICY_FAIL`.
#[test]
fn policy_template_limits_create_primary_to_one_template() {
    each_endpoint(|ep| {
        let s = started(ep);
        let dir = TempDir::new("policytemplate");
        let p = |n: &str| dir.path().join(n).to_str().expect("utf-8 path").to_owned();
        let (template, session, policy) = (p("template"), p("session.ctx"), p("policy"));
        ok(
            &s,
            &[
                "createprimary",
                "-C",
                "o",
                "-c",
                &p("prim.ctx"),
                "--template-data",
                &template,
            ],
        );
        evtpm_tests::flush_transient(&s);
        let hash = sha256(&[&std::fs::read(&template).expect("template file")]);
        let hash_file = dir.file("template.hash", &hash);
        let hash_arg = hash_file.to_str().unwrap();
        ok(&s, &["startauthsession", "-S", &session]);
        ok(
            &s,
            &[
                "policytemplate",
                "-S",
                &session,
                "-L",
                &policy,
                "--template-hash",
                hash_arg,
            ],
        );
        ok(&s, &["flushcontext", &session]);
        assert_eq!(
            std::fs::read(&policy).unwrap(),
            sha256(&[&[0; 32], &0x190u32.to_be_bytes(), &hash]),
            "{ep}"
        );
        ok(
            &s,
            &["setprimarypolicy", "-C", "o", "-g", "sha256", "-L", &policy],
        );
        let create = |alg: Option<&str>| {
            ok(
                &s,
                &["startauthsession", "--policy-session", "-S", &session],
            );
            ok(
                &s,
                &[
                    "policytemplate",
                    "-S",
                    &session,
                    "--template-hash",
                    hash_arg,
                ],
            );
            let auth = format!("session:{session}");
            let (out, mut args) = (p("p2.ctx"), vec!["createprimary", "-C", "o"]);
            if let Some(alg) = alg {
                args.extend(["-G", alg]);
            }
            args.extend(["-c", &out, "-P", &auth]);
            let o = tpm2(&s, &args);
            ok(&s, &["flushcontext", &session]);
            evtpm_tests::flush_transient(&s);
            o
        };
        let o = create(Some("ecc"));
        assert!(!o.status.success(), "{ep}: another template: {}", show(&o));
        assert!(
            String::from_utf8_lossy(&o.stderr).contains("(0x99D)"),
            "{ep}: {}",
            show(&o)
        );
        let o = create(None);
        assert!(
            o.status.success(),
            "{ep}: the template of the policy: {}",
            show(&o)
        );
    });
}
