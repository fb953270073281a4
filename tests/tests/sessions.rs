//! Sessions and policies through tpm2-tools against each endpoint: sessions saved to files with
//! TPM2_ContextSave and loaded back, HMAC sessions with response encryption that ESAPI decrypts
//! and verifies, policy digests that must equal what the reference TPM computes (they are pure
//! functions of the assertions, Part 3, 23), and a hierarchy authorized by its policy.

use evtpm_tests::{each_endpoint, show, tpm2, Endpoint, Server, TempDir};

#[track_caller]
fn ok(server: &Server, args: &[&str]) -> String {
    let o = tpm2(server, args);
    assert!(
        o.status.success(),
        "{}: tpm2 {args:?} failed: {}",
        server.endpoint(),
        show(&o)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn started(ep: Endpoint) -> Server {
    let s = Server::start(ep);
    ok(&s, &["startup", "-c"]);
    s
}

#[test]
fn hmac_session_with_response_encryption_is_verified_by_esapi() {
    each_endpoint(|ep| {
        let s = started(ep);
        let dir = TempDir::new("sessions");
        let ctx = dir.path().join("s.ctx");
        let ctx = ctx.to_str().expect("utf-8 path");
        ok(&s, &["startauthsession", "--hmac-session", "-S", ctx]);
        ok(&s, &["sessionconfig", ctx, "--enable-encrypt"]);
        // ESAPI checks the response HMAC and decrypts the random bytes (AES-128-CFB).
        let a = ok(&s, &["getrandom", "-S", ctx, "16", "--hex"]);
        let b = ok(&s, &["getrandom", "-S", ctx, "16", "--hex"]);
        assert_eq!(a.trim().len(), 32, "{ep}: {a}");
        assert_ne!(a, b, "{ep}: nonces roll, random bytes differ");
        ok(&s, &["flushcontext", ctx]);
        // Without encrypt/decrypt/audit the session authorizes nothing: TPM_RC_ATTRIBUTES.
        ok(&s, &["startauthsession", "--hmac-session", "-S", ctx]);
        let o = tpm2(&s, &["getrandom", "-S", ctx, "16"]);
        assert!(!o.status.success(), "{ep}: {}", show(&o));
        ok(&s, &["flushcontext", ctx]);
    });
}

/// Trial-session digests for a set of assertions; they must agree across endpoints.
fn policy_digests(s: &Server, dir: &TempDir) -> Vec<String> {
    let p = |n: &str| dir.path().join(n).to_str().expect("utf-8 path").to_string();
    let ctx = p("t.ctx");
    let mut out = Vec::new();
    ok(s, &["startauthsession", "-S", &ctx]);
    for (i, args) in [
        vec!["policypcr", "-S", &ctx, "-l", "sha256:0,1,16"],
        vec!["policycommandcode", "-S", &ctx, "TPM2_CC_PCR_Extend"],
        vec!["policyauthvalue", "-S", &ctx],
        vec!["policylocality", "-S", &ctx, "zero"],
        vec!["policypassword", "-S", &ctx],
    ]
    .into_iter()
    .enumerate()
    {
        let f = p(&format!("{i}.dig"));
        let mut a = args.clone();
        a.extend(["-L", &f]);
        ok(s, &a);
        out.push(hex::encode(std::fs::read(&f).expect("policy digest")));
    }
    ok(s, &["flushcontext", &ctx]);
    ok(s, &["startauthsession", "-S", &ctx]);
    let list = format!("sha256:{},{}", p("0.dig"), p("1.dig"));
    ok(
        s,
        &["policyor", "-S", &ctx, "-l", &list, "-L", &p("or.dig")],
    );
    out.push(hex::encode(
        std::fs::read(p("or.dig")).expect("policy digest"),
    ));
    ok(s, &["flushcontext", &ctx]);
    ok(s, &["startauthsession", "-S", &ctx]);
    ok(
        s,
        &["policysecret", "-S", &ctx, "-c", "o", "-L", &p("sec.dig")],
    );
    out.push(hex::encode(
        std::fs::read(p("sec.dig")).expect("policy digest"),
    ));
    ok(s, &["flushcontext", &ctx]);
    out
}

#[test]
fn policy_digests_agree_with_the_reference() {
    let reference = started(Endpoint::Swtpm);
    let want = policy_digests(&reference, &TempDir::new("policy-ref"));
    each_endpoint(|ep| {
        let s = started(ep);
        let got = policy_digests(&s, &TempDir::new("policy"));
        assert_eq!(got, want, "{ep}");
    });
}

#[test]
fn hierarchy_policy_authorizes_hierarchy_change_auth() {
    each_endpoint(|ep| {
        let s = started(ep);
        let dir = TempDir::new("hpolicy");
        let p = |n: &str| dir.path().join(n).to_str().expect("utf-8 path").to_string();
        ok(&s, &["startauthsession", "-S", &p("t.ctx")]);
        ok(
            &s,
            &[
                "policycommandcode",
                "-S",
                &p("t.ctx"),
                "TPM2_CC_HierarchyChangeAuth",
                "-L",
                &p("cc.dig"),
            ],
        );
        ok(&s, &["flushcontext", &p("t.ctx")]);
        ok(
            &s,
            &[
                "setprimarypolicy",
                "-C",
                "o",
                "-L",
                &p("cc.dig"),
                "-g",
                "sha256",
            ],
        );
        ok(
            &s,
            &["startauthsession", "--policy-session", "-S", &p("p.ctx")],
        );
        ok(
            &s,
            &[
                "policycommandcode",
                "-S",
                &p("p.ctx"),
                "TPM2_CC_HierarchyChangeAuth",
            ],
        );
        let session = format!("session:{}", p("p.ctx"));
        ok(&s, &["changeauth", "-c", "o", "-p", &session, "newpw"]);
        // The old (empty) password no longer works; the new one does.
        assert!(!tpm2(&s, &["changeauth", "-c", "o", "other"])
            .status
            .success());
        ok(&s, &["changeauth", "-c", "o", "-p", "newpw", ""]);
    });
}

#[test]
fn lockout_authorization_failure_locks_lockout_auth() {
    each_endpoint(|ep| {
        let s = started(ep);
        ok(
            &s,
            &["dictionarylockout", "-s", "-n", "2", "-t", "10", "-l", "20"],
        );
        let props = ok(&s, &["getcap", "properties-variable"]);
        assert!(
            props.contains("TPM2_PT_MAX_AUTH_FAIL: 0x2"),
            "{ep}: {props}"
        );
        assert!(
            props.contains("TPM2_PT_LOCKOUT_INTERVAL: 0xA"),
            "{ep}: {props}"
        );
        ok(&s, &["changeauth", "-c", "l", "lockpw"]);
        // A wrong lockoutAuth is TPM_RC_AUTH_FAIL (session 1) and disables lockoutAuth ...
        let o = tpm2(&s, &["dictionarylockout", "-c", "-p", "wrong"]);
        assert!(
            String::from_utf8_lossy(&o.stderr).contains("0x98E"),
            "{ep}: {}",
            show(&o)
        );
        // ... so even the right one is refused with TPM_RC_LOCKOUT for lockoutRecovery seconds.
        let o = tpm2(&s, &["dictionarylockout", "-c", "-p", "lockpw"]);
        assert!(
            String::from_utf8_lossy(&o.stderr).contains("0x921"),
            "{ep}: {}",
            show(&o)
        );
    });
}
