//! Malformed and refused commands: one test per class of bad input, each asserting the exact
//! response the reference (swtpm 0.7.1 / libtpms 0.9.2) gives. The expected codes were recorded
//! against that reference and are hard-coded here, so this file states the reference behaviour.
//!
//! Every error response on the reference is a bare header: tag `TPM_ST_NO_SESSIONS` (0x8001,
//! even for `TPM_RC_BAD_TAG`: libtpms does not answer with the TPM 1.2 tag 0x00C4), size 10.
//! After each bad command the test checks that the TPM still answers a good one.
//!
//! Not covered: a command shorter than the 10-byte header. swtpm waits for the rest of the
//! header and never answers, so there is no reference behaviour to assert.

use evtpm_tests::cmd::{self, RH_NULL, RH_OWNER, RH_PLATFORM, RS_PW};
use evtpm_tests::{each_endpoint, hexs, Server, Tpm};
use tpm_proto::{AlgId, Cap, Cc, Rc, St, Su};

const NO_SESSIONS: u16 = 0x8001;

/// Sends `command` and asserts the reference's error response: tag 0x8001, size 10, `rc`.
#[track_caller]
fn expect(tpm: &mut Tpm, what: &str, command: &[u8], rc: Rc) {
    let r = tpm.transact(command);
    let ep = tpm.endpoint();
    assert!(
        r.rc() == rc && r.tag() == NO_SESSIONS && r.bytes().len() == 10 && r.size_field() == 10,
        "{ep}: {what}\n  command:  {}\n  expected: tag 0x8001 size 10 rc {rc:?}\n  got:      {r:?}",
        hexs(command)
    );
    still_answers(tpm, what);
}

/// The TPM still executes a good command after a bad one.
#[track_caller]
fn still_answers(tpm: &mut Tpm, after: &str) {
    let r = tpm.transact(&cmd::get_random(8));
    assert!(
        r.rc() == Rc::Success || r.rc() == Rc::Initialize,
        "{}: TPM broken after {after}: {r:?}",
        tpm.endpoint()
    );
}

/// Runs `body` against a fresh, started TPM on each endpoint.
fn started(body: impl Fn(&mut Tpm)) {
    each_endpoint(|ep| {
        let server = Server::start(ep);
        let mut tpm = Tpm::connect(&server);
        tpm.startup_clear();
        body(&mut tpm);
    });
}

fn with_size_field(command: &[u8], size: u32) -> Vec<u8> {
    let mut c = command.to_vec();
    c[2..6].copy_from_slice(&size.to_be_bytes());
    c
}

fn with_tag(command: &[u8], tag: u16) -> Vec<u8> {
    let mut c = command.to_vec();
    c[..2].copy_from_slice(&tag.to_be_bytes());
    c
}

/// A `TPM2_PCR_Extend` of PCR `pcr` (SHA-256 bank), built from its parts so that each part can be
/// broken on purpose.
fn extend_sha256(pcr: u32) -> Vec<u8> {
    cmd::pcr_extend(pcr, &[(AlgId::Sha256, &[0x11; 32])])
}

/// `count`, one SHA-256 entry: the `TPML_DIGEST_VALUES` parameter of PCR_Extend.
fn digest_values(count: u32, digest: &[u8]) -> Vec<u8> {
    let mut v = count.to_be_bytes().to_vec();
    v.extend_from_slice(&AlgId::Sha256.0.to_be_bytes());
    v.extend_from_slice(digest);
    v
}

/// An authorization area given as raw bytes after the handle (any `authorizationSize`).
fn extend_with_auth_area(auth_area: &[u8]) -> Vec<u8> {
    cmd::command(St::Sessions, Cc::PcrExtend, |w| {
        w.u32(16)?;
        w.bytes(auth_area)?;
        w.bytes(&digest_values(1, &[0x11; 32]))
    })
}

/// One `TPMS_AUTH_COMMAND` for the password session with the given fields.
fn auth_command(handle: u32, nonce: &[u8], attrs: u8, hmac: &[u8]) -> Vec<u8> {
    let mut v = handle.to_be_bytes().to_vec();
    v.extend_from_slice(&(nonce.len() as u16).to_be_bytes());
    v.extend_from_slice(nonce);
    v.push(attrs);
    v.extend_from_slice(&(hmac.len() as u16).to_be_bytes());
    v.extend_from_slice(hmac);
    v
}

fn sized_area(sessions: &[Vec<u8>]) -> Vec<u8> {
    let body = sessions.concat();
    let mut v = (body.len() as u32).to_be_bytes().to_vec();
    v.extend_from_slice(&body);
    v
}

#[test]
fn bad_tag_is_refused() {
    started(|tpm| {
        let good = cmd::get_random(8);
        // TPM_ST_NULL is a TPM_ST but not a command tag: TPM_RC_BAD_TAG (format zero, 0x01E).
        expect(tpm, "tag TPM_ST_NULL", &with_tag(&good, 0x8000), Rc::BadTag);
        // Values that are not a TPM_ST at all fail TPM_ST unmarshalling: TPM_RC_VALUE without a
        // parameter number (0x084), also for the TPM 1.2 request tag 0x00C1.
        expect(tpm, "tag 0x8003", &with_tag(&good, 0x8003), Rc::Value);
        expect(
            tpm,
            "tag 0x00C1 (TPM 1.2)",
            &with_tag(&good, 0x00C1),
            Rc::Value,
        );
        expect(
            tpm,
            "tag 0x00C4 (response tag)",
            &with_tag(&good, 0x00C4),
            Rc::BadTag,
        );
        // TPM_ST_ATTEST_NV_DIGEST is defined (Part 2 rev 1.59) but libtpms' TPM_ST_Unmarshal
        // does not list it: TPM_RC_VALUE.
        expect(
            tpm,
            "tag 0x801C (TPM_ST_ATTEST_NV_DIGEST)",
            &with_tag(&good, 0x801C),
            Rc::Value,
        );
    });
}

#[test]
fn size_field_not_matching_length_is_refused() {
    started(|tpm| {
        let good = cmd::get_random(8); // 12 bytes
                                       // Size field larger than the bytes sent. (Over the swtpm protocol, which has no outer
                                       // framing, swtpm takes one read() as one command and answers at once; a server that
                                       // waits for the announced bytes would stall here.)
        expect(
            tpm,
            "size field 13 > 12",
            &with_size_field(&good, 13),
            Rc::CommandSize,
        );
        expect(
            tpm,
            "size field 11 < 12",
            &with_size_field(&good, 11),
            Rc::CommandSize,
        );
    });
}

#[test]
fn size_below_header_is_refused() {
    started(|tpm| {
        let good = cmd::get_random(8);
        expect(
            tpm,
            "size field 9",
            &with_size_field(&good[..10], 9),
            Rc::CommandSize,
        );
        expect(
            tpm,
            "size field 8 (12 bytes)",
            &with_size_field(&good, 8),
            Rc::CommandSize,
        );
        expect(
            tpm,
            "size field 0",
            &with_size_field(&good, 0),
            Rc::CommandSize,
        );
    });
}

#[test]
fn size_above_max_command_size_is_refused() {
    started(|tpm| {
        // 4097 bytes, size field 4097: one over TPM_PT_MAX_COMMAND_SIZE.
        let mut c = cmd::get_random(8);
        c.resize(4097, 0);
        let c = with_size_field(&c, 4097);
        expect(tpm, "4097-byte command", &c, Rc::CommandSize);
    });
}

#[test]
fn unknown_command_code_is_refused() {
    started(|tpm| {
        expect(
            tpm,
            "cc 0x1FF",
            &cmd::no_sessions(Cc(0x1FF), &[]),
            Rc::CommandCode,
        );
        expect(
            tpm,
            "cc 0x11E",
            &cmd::no_sessions(Cc(0x11E), &[]),
            Rc::CommandCode,
        );
        // A vendor-specific code (TPM_CC bit 29) the TPM does not implement.
        expect(
            tpm,
            "vendor cc",
            &cmd::no_sessions(Cc(0x2000_0001), &[]),
            Rc::CommandCode,
        );
        expect(
            tpm,
            "cc 0xFFFFFFFF",
            &cmd::no_sessions(Cc(u32::MAX), &[]),
            Rc::CommandCode,
        );
    });
}

#[test]
fn bad_handle_is_refused() {
    started(|tpm| {
        // TPMI_DH_PCR+ accepts PCR 0–23 and TPM_RH_NULL (a no-op extend) only: TPM_RC_VALUE + H1
        // (0x184).
        for h in [24u32, 0x0100_0000, RH_OWNER, 0x8000_0000] {
            let c = cmd::pcr_extend(h, &[(AlgId::Sha256, &[0x11; 32])]);
            expect(
                tpm,
                &format!("PCR_Extend handle {h:#x}"),
                &c,
                Rc::Value.handle(1),
            );
        }
        // TPMI_RH_PLATFORM for PCR_Allocate: the owner handle is TPM_RC_VALUE + H1 too.
        let c = cmd::with_pw(
            Cc::PcrAllocate,
            &[RH_OWNER],
            &[b""],
            &cmd::pcr_selection(&[]),
        );
        expect(tpm, "PCR_Allocate on owner", &c, Rc::Value.handle(1));
    });
}

#[test]
fn missing_authorization_is_refused() {
    started(|tpm| {
        // PCR_Extend has an authorized handle; TPM_ST_NO_SESSIONS gives TPM_RC_AUTH_MISSING.
        let c = cmd::command(St::NoSessions, Cc::PcrExtend, |w| {
            w.u32(16)?;
            w.bytes(&digest_values(1, &[0x11; 32]))
        });
        expect(tpm, "PCR_Extend without sessions", &c, Rc::AuthMissing);
        // TPM_ST_SESSIONS on a command with no parameters left for the area: the 4-byte
        // authorizationSize cannot be read (GetRandom has a 2-byte parameter only).
        let c = with_tag(&cmd::get_random(8), St::Sessions.0);
        expect(
            tpm,
            "GetRandom tagged SESSIONS, no area",
            &c,
            Rc::Insufficient,
        );
        // GetCapability's 12 parameter bytes read as an authorizationSize that overruns.
        let c = with_tag(
            &cmd::get_capability(Cap::TpmProperties, 0x100, 1),
            St::Sessions.0,
        );
        expect(tpm, "GetCapability tagged SESSIONS", &c, Rc::Size);
    });
}

#[test]
fn wrong_authorization_size_or_extra_session_is_refused() {
    started(|tpm| {
        let one = auth_command(RS_PW, &[], 0, &[]);
        let area = |size: u32| {
            let mut v = size.to_be_bytes().to_vec();
            v.extend_from_slice(&one);
            v
        };
        // authorizationSize larger / smaller than the session, and zero: TPM_RC_SIZE (0x095).
        expect(
            tpm,
            "authorizationSize 100",
            &extend_with_auth_area(&area(100)),
            Rc::Size,
        );
        expect(
            tpm,
            "authorizationSize 8",
            &extend_with_auth_area(&area(8)),
            Rc::Size,
        );
        expect(
            tpm,
            "authorizationSize 0",
            &extend_with_auth_area(&0u32.to_be_bytes()),
            Rc::Size,
        );
        // A second session on a one-handle command: TPM_RC_HANDLE + S2 (0xA8B).
        let two = sized_area(&[one.clone(), one.clone()]);
        expect(
            tpm,
            "two sessions for one handle",
            &extend_with_auth_area(&two),
            Rc::Handle.session(2),
        );
        // A password session on a command without authorized handles: TPM_RC_HANDLE + S1.
        let c = cmd::command(St::Sessions, Cc::GetRandom, |w| {
            w.bytes(&sized_area(std::slice::from_ref(&one)))?;
            w.u16(8)
        });
        expect(
            tpm,
            "password session on GetRandom",
            &c,
            Rc::Handle.session(1),
        );
        // A session handle that is not loaded: TPM_RC_REFERENCE_S0 (0x918).
        let bogus = sized_area(&[auth_command(0x0200_0000, &[], 0, &[])]);
        expect(
            tpm,
            "unloaded session handle",
            &extend_with_auth_area(&bogus),
            Rc::ReferenceS0,
        );
        // Reserved session attributes (bits 3, 4): TPM_RC_RESERVED_BITS + S1 (0x9A1).
        let reserved = sized_area(&[auth_command(RS_PW, &[], 0x18, &[])]);
        expect(
            tpm,
            "reserved session attributes",
            &extend_with_auth_area(&reserved),
            Rc::ReservedBits.session(1),
        );
        // A password session must have an empty nonce: TPM_RC_NONCE + S1 (0x98F).
        let nonce = sized_area(&[auth_command(RS_PW, b"abcd", 0, &[])]);
        expect(
            tpm,
            "password session with nonce",
            &extend_with_auth_area(&nonce),
            Rc::Nonce.session(1),
        );
    });
}

#[test]
fn wrong_password_is_refused() {
    started(|tpm| {
        let change = |auth: &[u8], new: &[u8]| {
            let mut p = (new.len() as u16).to_be_bytes().to_vec();
            p.extend_from_slice(new);
            cmd::with_pw(Cc::HierarchyChangeAuth, &[RH_OWNER], &[auth], &p)
        };
        // The PCR's authValue is empty: any non-empty password is TPM_RC_BAD_AUTH + S1 (0x9A2).
        let c = cmd::with_pw(
            Cc::PcrExtend,
            &[16],
            &[b"x"],
            &digest_values(1, &[0x11; 32]),
        );
        expect(
            tpm,
            "PCR_Extend with password x",
            &c,
            Rc::BadAuth.session(1),
        );
        // Set ownerAuth, then use the owner hierarchy with the wrong password.
        tpm.transact(&change(b"", b"abcd"))
            .ok("HierarchyChangeAuth(owner, abcd)");
        expect(
            tpm,
            "owner auth wrong",
            &change(b"wrong", b""),
            Rc::BadAuth.session(1),
        );
        expect(
            tpm,
            "owner auth empty",
            &change(b"", b""),
            Rc::BadAuth.session(1),
        );
        tpm.transact(&change(b"abcd", b""))
            .ok("HierarchyChangeAuth with the right password");
        // Platform hierarchy (empty auth) with a password.
        let c = cmd::with_pw(
            Cc::PcrAllocate,
            &[RH_PLATFORM],
            &[b"zz"],
            &cmd::pcr_selection(&[(AlgId::Sha256, &[0xff; 3])]),
        );
        expect(tpm, "platform auth wrong", &c, Rc::BadAuth.session(1));
    });
}

#[test]
fn truncated_parameters_are_refused() {
    started(|tpm| {
        // TPM_RC_INSUFFICIENT + P1 (0x1DA) in every case: the first parameter runs out.
        let c = cmd::no_sessions(Cc::GetRandom, &[8]);
        expect(tpm, "GetRandom with 1 byte", &c, Rc::Insufficient.param(1));
        let c = cmd::no_sessions(Cc::GetRandom, &[]);
        expect(
            tpm,
            "GetRandom with no parameter",
            &c,
            Rc::Insufficient.param(1),
        );
        let c = cmd::with_pw(Cc::PcrExtend, &[16], &[b""], &digest_values(1, &[0x11; 31]));
        expect(
            tpm,
            "PCR_Extend digest one byte short",
            &c,
            Rc::Insufficient.param(1),
        );
        let c = cmd::with_pw(Cc::PcrExtend, &[16], &[b""], &digest_values(2, &[0x11; 32]));
        expect(
            tpm,
            "PCR_Extend count 2, one digest",
            &c,
            Rc::Insufficient.param(1),
        );
        let c = cmd::no_sessions(Cc::StirRandom, &[0, 20, 1, 2, 3]);
        expect(
            tpm,
            "StirRandom TPM2B size beyond data",
            &c,
            Rc::Insufficient.param(1),
        );
        let c = cmd::no_sessions(Cc::GetCapability, &[0, 0, 0, 6, 0, 0, 1]);
        expect(
            tpm,
            "GetCapability property cut short",
            &c,
            Rc::Insufficient.param(2),
        );
        // The handle area itself cut short: TPM_RC_INSUFFICIENT + H1.
        let c = cmd::command(St::Sessions, Cc::PcrExtend, |w| w.u16(0));
        expect(
            tpm,
            "PCR_Extend handle cut short",
            &c,
            Rc::Insufficient.handle(1),
        );
    });
}

#[test]
fn trailing_bytes_are_refused() {
    started(|tpm| {
        // Bytes after the last parameter: TPM_RC_SIZE without a number (0x095).
        let mut c = cmd::get_random(8);
        c.push(0);
        expect(
            tpm,
            "GetRandom + 1 byte",
            &with_size_field(&c, 13),
            Rc::Size,
        );
        let mut c = extend_sha256(16);
        c.extend_from_slice(&[0; 4]);
        let n = c.len() as u32;
        expect(
            tpm,
            "PCR_Extend + 4 bytes",
            &with_size_field(&c, n),
            Rc::Size,
        );
        let mut c = cmd::read_clock();
        c.push(0);
        expect(
            tpm,
            "ReadClock + 1 byte",
            &with_size_field(&c, 11),
            Rc::Size,
        );
    });
}

#[test]
fn oversized_tpm2b_and_lists_are_refused() {
    started(|tpm| {
        // TPM2B_SENSITIVE_DATA holds at most 128 bytes: TPM_RC_SIZE + P1 (0x1D5).
        expect(
            tpm,
            "StirRandom 129 bytes",
            &cmd::stir_random(&[1; 129]),
            Rc::Size.param(1),
        );
        // TPM2B_MAX_BUFFER holds at most 1024 bytes.
        let c = cmd::hash(&[0x61; 1025], AlgId::Sha256, RH_NULL);
        expect(tpm, "Hash of 1025 bytes", &c, Rc::Size.param(1));
        // TPML_DIGEST_VALUES count above HASH_COUNT.
        let c = cmd::with_pw(
            Cc::PcrExtend,
            &[16],
            &[b""],
            &digest_values(100, &[0x11; 32]),
        );
        expect(tpm, "PCR_Extend count 100", &c, Rc::Size.param(1));
        // TPML_PCR_SELECTION count above HASH_COUNT.
        let sel = vec![(AlgId::Sha256, &[1u8, 0, 0][..]); 17];
        expect(
            tpm,
            "PCR_Read 17 selections",
            &cmd::pcr_read(&sel),
            Rc::Size.param(1),
        );
    });
}

#[test]
fn out_of_range_values_are_refused() {
    started(|tpm| {
        // sizeofSelect must be PCR_SELECT_MIN..=PCR_SELECT_MAX (3 here): TPM_RC_VALUE + P1.
        for bits in [&[][..], &[1, 0, 0, 0], &[1, 0, 0, 0, 0]] {
            let c = cmd::pcr_read(&[(AlgId::Sha256, bits)]);
            expect(
                tpm,
                &format!("PCR_Read sizeofSelect {}", bits.len()),
                &c,
                Rc::Value.param(1),
            );
        }
        let c = cmd::get_capability(Cap(0x77), 0, 1);
        expect(tpm, "GetCapability capability 0x77", &c, Rc::Value.param(1));
        expect(
            tpm,
            "SelfTest fullTest 2",
            &cmd::no_sessions(Cc::SelfTest, &[2]),
            Rc::Value.param(1),
        );
        expect(
            tpm,
            "Shutdown 5",
            &cmd::no_sessions(Cc::Shutdown, &[0, 5]),
            Rc::Value.param(1),
        );
        // Hash's hierarchy must be a TPMI_RH_HIERARCHY+ (TPM_RS_PW is not): VALUE + P3.
        let c = cmd::hash(b"abc", AlgId::Sha256, RS_PW);
        expect(tpm, "Hash hierarchy TPM_RS_PW", &c, Rc::Value.param(3));
    });
}

#[test]
fn unsupported_hash_algorithm_is_refused() {
    started(|tpm| {
        // TPMI_ALG_HASH rejects unknown and unimplemented hashes with TPM_RC_HASH.
        for alg in [AlgId(0x0099), AlgId::Sha3_256, AlgId::Sm3_256] {
            let c = cmd::pcr_read(&[(alg, &[1, 0, 0])]);
            expect(
                tpm,
                &format!("PCR_Read bank {alg:?}"),
                &c,
                Rc::Hash.param(1),
            );
        }
        for alg in [AlgId(0x0099), AlgId::Null] {
            let c = cmd::hash(b"abc", alg, RH_NULL);
            expect(tpm, &format!("Hash with {alg:?}"), &c, Rc::Hash.param(2));
        }
        let c = cmd::with_pw(
            Cc::PcrExtend,
            &[16],
            &[b""],
            &[&1u32.to_be_bytes()[..], &[0, 0x99], &[0x11; 20]].concat(),
        );
        expect(tpm, "PCR_Extend digest 0x0099", &c, Rc::Hash.param(1));
    });
}

#[test]
fn pcr_reset_and_extend_refused_at_wrong_locality() {
    started(|tpm| {
        // PC Client PTP: PCR 0–15 are never resettable; 17–22 need locality 4 (reset) and 2–4
        // (extend, by PCR). TPM_RC_LOCALITY (0x907, a warning).
        expect(
            tpm,
            "PCR_Reset 0 at locality 0",
            &cmd::pcr_reset(0),
            Rc::Locality,
        );
        expect(
            tpm,
            "PCR_Reset 17 at locality 0",
            &cmd::pcr_reset(17),
            Rc::Locality,
        );
        expect(
            tpm,
            "PCR_Reset 20 at locality 0",
            &cmd::pcr_reset(20),
            Rc::Locality,
        );
        expect(
            tpm,
            "PCR_Extend 17 at locality 0",
            &extend_sha256(17),
            Rc::Locality,
        );
        if tpm.endpoint().max_locality() < 4 {
            return;
        }
        tpm.set_locality(4);
        expect(
            tpm,
            "PCR_Reset 16 at locality 4",
            &cmd::pcr_reset(16),
            Rc::Locality,
        );
        expect(
            tpm,
            "PCR_Reset 0 at locality 4",
            &cmd::pcr_reset(0),
            Rc::Locality,
        );
        expect(
            tpm,
            "PCR_Extend 19 at locality 4",
            &extend_sha256(19),
            Rc::Locality,
        );
        tpm.set_locality(3);
        expect(
            tpm,
            "PCR_Reset 20 at locality 3",
            &cmd::pcr_reset(20),
            Rc::Locality,
        );
    });
}

#[test]
fn commands_before_startup_are_refused() {
    each_endpoint(|ep| {
        let server = Server::start(ep);
        let mut tpm = Tpm::connect(&server);
        for (what, c) in [
            ("GetRandom", cmd::get_random(8)),
            ("PCR_Read", cmd::pcr_read(&[(AlgId::Sha256, &[1, 0, 0])])),
            (
                "GetCapability",
                cmd::get_capability(Cap::TpmProperties, 0x100, 1),
            ),
            ("PCR_Extend", extend_sha256(16)),
            ("SelfTest", cmd::self_test(true)),
            ("Shutdown", cmd::shutdown(Su::Clear)),
        ] {
            expect(
                &mut tpm,
                &format!("{what} before Startup"),
                &c,
                Rc::Initialize,
            );
        }
        // Startup itself is unmarshalled before Startup: errors are format-one codes.
        let c = cmd::no_sessions(Cc::Startup, &[0, 2]);
        expect(
            &mut tpm,
            "Startup(2) before Startup",
            &c,
            Rc::Value.param(1),
        );
        let c = cmd::no_sessions(Cc::Startup, &[0]);
        expect(&mut tpm, "Startup truncated", &c, Rc::Insufficient.param(1));
        let c = cmd::no_sessions(Cc::Startup, &[0, 0, 0]);
        expect(&mut tpm, "Startup with trailing byte", &c, Rc::Size);
        // TPM_ST_SESSIONS with no room for authorizationSize.
        let c = with_tag(&cmd::startup(Su::Clear), St::Sessions.0);
        expect(&mut tpm, "Startup tagged SESSIONS", &c, Rc::Insufficient);
        tpm.startup_clear();
        still_answers(&mut tpm, "Startup");
    });
}

#[test]
fn startup_twice_is_refused() {
    started(|tpm| {
        expect(
            tpm,
            "Startup(CLEAR) again",
            &cmd::startup(Su::Clear),
            Rc::Initialize,
        );
        expect(
            tpm,
            "Startup(STATE) after Startup",
            &cmd::startup(Su::State),
            Rc::Initialize,
        );
        // After startup even an invalid startupType is TPM_RC_INITIALIZE (checked first).
        let c = cmd::no_sessions(Cc::Startup, &[0, 2]);
        expect(tpm, "Startup(2) after Startup", &c, Rc::Initialize);
    });
}

#[test]
fn startup_state_without_shutdown_state_is_refused() {
    each_endpoint(|ep| {
        let server = Server::start(ep);
        let mut tpm = Tpm::connect(&server);
        // Fresh TPM: no saved state. TPM_RC_VALUE + P1 (0x1C4).
        expect(
            &mut tpm,
            "Startup(STATE) on a fresh TPM",
            &cmd::startup(Su::State),
            Rc::Value.param(1),
        );
        tpm.startup_clear();
        // Power cycle without Shutdown.
        tpm.power_cycle();
        expect(
            &mut tpm,
            "Startup(STATE) after power loss",
            &cmd::startup(Su::State),
            Rc::Value.param(1),
        );
        tpm.startup_clear();
        // Shutdown(CLEAR) saves no state either.
        tpm.transact(&cmd::shutdown(Su::Clear))
            .ok("Shutdown(CLEAR)");
        tpm.power_cycle();
        expect(
            &mut tpm,
            "Startup(STATE) after Shutdown(CLEAR)",
            &cmd::startup(Su::State),
            Rc::Value.param(1),
        );
        tpm.startup_clear();
    });
}
