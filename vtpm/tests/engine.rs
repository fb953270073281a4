//! Engine-level tests: commands through `Tpm::execute`, checked byte by byte.

use std::cell::Cell;
use vtpm::{Config, Platform, PlatformError, Tpm};

/// A deterministic test platform: a counter as entropy, a clock the test advances.
#[derive(Debug, Default)]
struct TestPlatform {
    next: u8,
    now: Cell<u64>,
}

impl Platform for TestPlatform {
    fn entropy(&mut self, buf: &mut [u8]) -> Result<(), PlatformError> {
        for b in buf {
            self.next = self.next.wrapping_add(1);
            *b = self.next;
        }
        Ok(())
    }
    fn monotonic_ms(&self) -> u64 {
        self.now.set(self.now.get() + 1);
        self.now.get()
    }
}

fn tpm() -> Tpm<TestPlatform> {
    Tpm::manufacture(Config::default(), TestPlatform::default()).unwrap()
}

fn cmd(tag: u16, cc: u32, body: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&tag.to_be_bytes());
    v.extend_from_slice(&((10 + body.len()) as u32).to_be_bytes());
    v.extend_from_slice(&cc.to_be_bytes());
    v.extend_from_slice(body);
    v
}

fn exec(t: &mut Tpm<TestPlatform>, locality: u8, c: &[u8]) -> Vec<u8> {
    let mut out = [0u8; 4096];
    let n = t.execute(locality, c, &mut out);
    let r = out[..n].to_vec();
    let size = u32::from_be_bytes(r[2..6].try_into().unwrap()) as usize;
    assert_eq!(size, r.len(), "response size field matches");
    r
}

fn rc(r: &[u8]) -> u32 {
    u32::from_be_bytes(r[6..10].try_into().unwrap())
}

const PW: [u8; 13] = [0, 0, 0, 9, 0x40, 0, 0, 9, 0, 0, 1, 0, 0];

fn started() -> Tpm<TestPlatform> {
    let mut t = tpm();
    assert_eq!(rc(&exec(&mut t, 0, &cmd(0x8001, 0x144, &[0, 0]))), 0);
    t
}

#[test]
fn commands_before_startup_are_initialize() {
    let mut t = tpm();
    let r = exec(&mut t, 0, &cmd(0x8001, 0x17B, &[0, 8]));
    assert_eq!(rc(&r), 0x100);
    assert_eq!(&r[..2], &[0x80, 0x01]);
}

#[test]
fn startup_twice_is_initialize_and_state_needs_orderly_shutdown() {
    let mut t = tpm();
    assert_eq!(rc(&exec(&mut t, 0, &cmd(0x8001, 0x144, &[0, 1]))), 0x1C4);
    assert_eq!(rc(&exec(&mut t, 0, &cmd(0x8001, 0x144, &[0, 0]))), 0);
    assert_eq!(rc(&exec(&mut t, 0, &cmd(0x8001, 0x144, &[0, 0]))), 0x100);
}

#[test]
fn header_errors() {
    let mut t = started();
    // A defined tag that is not a command tag: TPM_RC_BAD_TAG; an undefined one: TPM_RC_VALUE.
    let r = exec(&mut t, 0, &cmd(0x8000, 0x17B, &[0, 8]));
    assert_eq!((rc(&r), &r[..2]), (0x1E, &[0x80, 0x01][..]));
    assert_eq!(rc(&exec(&mut t, 0, &cmd(0x8003, 0x17B, &[0, 8]))), 0x84);
    // Size field larger than the buffer.
    let mut c = cmd(0x8001, 0x17B, &[0, 8]);
    c[5] += 1;
    assert_eq!(rc(&exec(&mut t, 0, &c)), 0x142);
    // Unknown command code.
    assert_eq!(rc(&exec(&mut t, 0, &cmd(0x8001, 0x1FF, &[]))), 0x143);
    // Short buffer.
    let mut out = [0u8; 64];
    let n = t.execute(0, &[0x80, 0x01, 0, 0], &mut out);
    assert_eq!(n, 10);
}

#[test]
fn get_random_caps_at_digest_size() {
    let mut t = started();
    let r = exec(&mut t, 0, &cmd(0x8001, 0x17B, &[0, 200]));
    assert_eq!(rc(&r), 0);
    assert_eq!(u16::from_be_bytes([r[10], r[11]]), 64);
    let r2 = exec(&mut t, 0, &cmd(0x8001, 0x17B, &[0, 200]));
    assert_ne!(r[12..], r2[12..]);
}

#[test]
fn pcr_extend_needs_authorization_and_extends() {
    use sha2::Digest;
    let mut t = started();
    let mut body = vec![0, 0, 0, 16];
    let mut params = vec![0, 0, 0, 1, 0, 0x0B];
    params.extend_from_slice(&[0xAB; 32]);
    body.extend_from_slice(&params);
    assert_eq!(rc(&exec(&mut t, 0, &cmd(0x8001, 0x182, &body))), 0x125);
    let mut body = vec![0, 0, 0, 16];
    body.extend_from_slice(&PW);
    body.extend_from_slice(&params);
    let r = exec(&mut t, 0, &cmd(0x8002, 0x182, &body));
    assert_eq!(rc(&r), 0);
    assert_eq!(&r[10..], &[0, 0, 0, 0, 0, 0, 1, 0, 0]);
    // PCR_Read sha256:16
    let r = exec(
        &mut t,
        0,
        &cmd(0x8001, 0x17E, &[0, 0, 0, 1, 0, 0x0B, 3, 0, 0, 1]),
    );
    assert_eq!(rc(&r), 0);
    let expect = sha2::Sha256::new()
        .chain_update([0u8; 32])
        .chain_update([0xAB; 32])
        .finalize();
    assert_eq!(&r[r.len() - 32..], &expect[..]);
    // Locality 0 cannot reset PCR 0; can reset 16.
    let mut body = vec![0, 0, 0, 0];
    body.extend_from_slice(&PW);
    assert_eq!(rc(&exec(&mut t, 0, &cmd(0x8002, 0x13D, &body))), 0x907);
    let mut body = vec![0, 0, 0, 16];
    body.extend_from_slice(&PW);
    assert_eq!(rc(&exec(&mut t, 0, &cmd(0x8002, 0x13D, &body))), 0);
}

#[test]
fn bad_pcr_handle_and_bad_password() {
    let mut t = started();
    let mut body = vec![0, 0, 0, 24];
    body.extend_from_slice(&PW);
    body.extend_from_slice(&[0, 0, 0, 0]);
    assert_eq!(rc(&exec(&mut t, 0, &cmd(0x8002, 0x182, &body))), 0x184);
    // Wrong password for PCR 16 (empty auth): TPM_RC_BAD_AUTH + session 1.
    let body = [
        0, 0, 0, 16, 0, 0, 0, 10, 0x40, 0, 0, 9, 0, 0, 1, 0, 1, b'x', 0, 0, 0, 0,
    ];
    assert_eq!(rc(&exec(&mut t, 0, &cmd(0x8002, 0x182, &body))), 0x9A2);
}

#[test]
fn hash_sequence_matches_one_shot_hash() {
    use sha2::Digest;
    let mut t = started();
    // HashSequenceStart(auth = "", SHA256)
    let r = exec(&mut t, 0, &cmd(0x8001, 0x186, &[0, 0, 0, 0x0B]));
    assert_eq!(rc(&r), 0);
    let h = r[10..14].to_vec();
    let mut body = h.clone();
    body.extend_from_slice(&PW);
    body.extend_from_slice(&[0, 3, b'a', b'b', b'c']);
    assert_eq!(rc(&exec(&mut t, 0, &cmd(0x8002, 0x15C, &body))), 0);
    let mut body = h.clone();
    body.extend_from_slice(&PW);
    body.extend_from_slice(&[0, 3, b'd', b'e', b'f', 0x40, 0, 0, 1]);
    let r = exec(&mut t, 0, &cmd(0x8002, 0x13E, &body));
    assert_eq!(rc(&r), 0);
    let expect = sha2::Sha256::digest(b"abcdef");
    assert_eq!(&r[16..48], &expect[..]);
    // Flushed: the handle no longer references an object.
    let mut body = h.clone();
    body.extend_from_slice(&PW);
    body.extend_from_slice(&[0, 0]);
    assert_eq!(rc(&exec(&mut t, 0, &cmd(0x8002, 0x15C, &body))), 0x910);
}

#[test]
fn read_clock_is_safe_and_advances() {
    let mut t = started();
    let a = exec(&mut t, 0, &cmd(0x8001, 0x181, &[]));
    let b = exec(&mut t, 0, &cmd(0x8001, 0x181, &[]));
    let clock = |r: &[u8]| u64::from_be_bytes(r[18..26].try_into().unwrap());
    assert!(clock(&b) > clock(&a));
    assert_eq!(a[a.len() - 1], 1);
}

#[test]
fn get_capability_commands_lists_implemented() {
    let mut t = started();
    let r = exec(
        &mut t,
        0,
        &cmd(0x8001, 0x17A, &[0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 200]),
    );
    assert_eq!(rc(&r), 0);
    let n = u32::from_be_bytes(r[15..19].try_into().unwrap());
    assert!(n >= 19);
}

fn start_session(t: &mut Tpm<TestPlatform>) -> Vec<u8> {
    // StartAuthSession(NULL, NULL, nonceCaller[16], salt "", HMAC, symmetric NULL, SHA256)
    let mut body = vec![0x40, 0, 0, 7, 0x40, 0, 0, 7, 0, 16];
    body.extend_from_slice(&[7u8; 16]);
    body.extend_from_slice(&[0, 0, 0, 0, 0x10, 0, 0x0B]);
    let r = exec(t, 0, &cmd(0x8001, 0x176, &body));
    assert_eq!(rc(&r), 0);
    r[10..14].to_vec()
}

#[test]
fn saved_session_loads_once_and_tampered_blobs_fail_integrity() {
    let mut t = started();
    let h = start_session(&mut t);
    let saved = exec(&mut t, 0, &cmd(0x8001, 0x162, &h));
    assert_eq!(rc(&saved), 0);
    let context = saved[10..].to_vec();
    // Saved: not usable until loaded.
    let mut flip = context.clone();
    let last = flip.len() - 1;
    flip[last] ^= 1;
    assert_eq!(rc(&exec(&mut t, 0, &cmd(0x8001, 0x161, &flip))), 0x1DF);
    let r = exec(&mut t, 0, &cmd(0x8001, 0x161, &context));
    assert_eq!(rc(&r), 0);
    assert_eq!(r[10..14], h[..]);
    // Replaying the same blob: the session is no longer saved under that sequence.
    assert_eq!(rc(&exec(&mut t, 0, &cmd(0x8001, 0x161, &context))), 0x1CB);
}

#[test]
fn sequence_object_survives_context_save_and_load() {
    use sha2::Digest;
    let mut t = started();
    let r = exec(&mut t, 0, &cmd(0x8001, 0x186, &[0, 0, 0, 0x0B]));
    let h = r[10..14].to_vec();
    let mut body = h.clone();
    body.extend_from_slice(&PW);
    body.extend_from_slice(&[0, 3, b'a', b'b', b'c']);
    assert_eq!(rc(&exec(&mut t, 0, &cmd(0x8002, 0x15C, &body))), 0);
    let saved = exec(&mut t, 0, &cmd(0x8001, 0x162, &h));
    assert_eq!(rc(&saved), 0);
    assert_eq!(rc(&exec(&mut t, 0, &cmd(0x8001, 0x165, &h))), 0);
    let loaded = exec(&mut t, 0, &cmd(0x8001, 0x161, &saved[10..]));
    assert_eq!(rc(&loaded), 0);
    let mut body = loaded[10..14].to_vec();
    body.extend_from_slice(&PW);
    body.extend_from_slice(&[0, 3, b'd', b'e', b'f', 0x40, 0, 0, 7]);
    let r = exec(&mut t, 0, &cmd(0x8002, 0x13E, &body));
    assert_eq!(rc(&r), 0);
    assert_eq!(&r[16..48], &sha2::Sha256::digest(b"abcdef")[..]);
    // The blob is stale after a TPM Reset.
    t.power_on();
    assert_eq!(rc(&exec(&mut t, 0, &cmd(0x8001, 0x144, &[0, 0]))), 0);
    assert_eq!(
        rc(&exec(&mut t, 0, &cmd(0x8001, 0x161, &saved[10..]))),
        0x1DF
    );
}

#[test]
fn hierarchy_policy_authorizes_change_auth() {
    use sha2::Digest;
    let mut t = started();
    // policy = H(0^32 || CC_PolicyCommandCode || CC_HierarchyChangeAuth)
    let mut h = sha2::Sha256::new();
    h.update([0u8; 32]);
    h.update(0x16Cu32.to_be_bytes());
    h.update(0x129u32.to_be_bytes());
    let policy = h.finalize();
    // SetPrimaryPolicy(OWNER, policy, SHA256)
    let mut body = vec![0x40, 0, 0, 1];
    body.extend_from_slice(&PW);
    body.extend_from_slice(&[0, 32]);
    body.extend_from_slice(&policy);
    body.extend_from_slice(&[0, 0x0B]);
    assert_eq!(rc(&exec(&mut t, 0, &cmd(0x8002, 0x12E, &body))), 0);
    // Policy session, PolicyCommandCode(HierarchyChangeAuth).
    let mut sbody = vec![0x40, 0, 0, 7, 0x40, 0, 0, 7, 0, 16];
    sbody.extend_from_slice(&[7u8; 16]);
    sbody.extend_from_slice(&[0, 0, 1, 0, 0x10, 0, 0x0B]);
    let r = exec(&mut t, 0, &cmd(0x8001, 0x176, &sbody));
    assert_eq!(rc(&r), 0);
    let s = r[10..14].to_vec();
    let mut body = s.clone();
    body.extend_from_slice(&[0, 0, 1, 0x29]);
    assert_eq!(rc(&exec(&mut t, 0, &cmd(0x8001, 0x16C, &body))), 0);
    // HierarchyChangeAuth(OWNER) with the policy session, empty HMAC (no session key, no auth).
    let mut body = vec![0x40, 0, 0, 1, 0, 0, 0, 9];
    body.extend_from_slice(&s);
    body.extend_from_slice(&[0, 0, 1, 0, 0, 0, 2, b'p', b'w']);
    let r = exec(&mut t, 0, &cmd(0x8002, 0x129, &body));
    assert_eq!(rc(&r), 0, "{r:02x?}");
}

#[test]
fn clear_resets_dictionary_attack_parameters_clock_and_counts() {
    let mut t = started();
    let props = |t: &mut Tpm<TestPlatform>| {
        let r = exec(
            t,
            0,
            &cmd(0x8001, 0x17A, &[0, 0, 0, 6, 0, 0, 2, 0x0F, 0, 0, 0, 3]),
        );
        assert_eq!(rc(&r), 0);
        (0..3)
            .map(|i| u32::from_be_bytes(r[23 + 8 * i..27 + 8 * i].try_into().unwrap()))
            .collect::<Vec<_>>()
    };
    // DictionaryAttackParameters(lockout; maxTries 1, recoveryTime 2, lockoutRecovery 3).
    let mut body = vec![0x40, 0, 0, 0x0A];
    body.extend_from_slice(&PW);
    body.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3]);
    assert_eq!(rc(&exec(&mut t, 0, &cmd(0x8002, 0x13A, &body))), 0);
    assert_eq!(props(&mut t), [1, 2, 3]);
    let clock = |t: &mut Tpm<TestPlatform>| {
        let r = exec(t, 0, &cmd(0x8001, 0x181, &[]));
        let at = |i: usize| r[i..i + 8].try_into().unwrap();
        (
            u64::from_be_bytes(at(18)),
            u32::from_be_bytes(r[26..30].try_into().unwrap()),
        )
    };
    let (before, resets) = clock(&mut t);
    assert_eq!(resets, 1);
    // Clear(platform): the reference's DAPreInstall_Init, Clock and resetCount to zero.
    let mut body = vec![0x40, 0, 0, 0x0C];
    body.extend_from_slice(&PW);
    assert_eq!(rc(&exec(&mut t, 0, &cmd(0x8002, 0x126, &body))), 0);
    assert_eq!(props(&mut t), [3, 1000, 1000]);
    let (after, resets) = clock(&mut t);
    assert!(
        after < before,
        "Clock restarts from zero ({after} < {before})"
    );
    assert_eq!(resets, 0);
}
