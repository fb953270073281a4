//! NV commands through `Tpm::execute`, checked byte by byte against the codes of the reference
//! implementation (Part 3, section 31).

use sha2::Digest;
use std::cell::Cell;
use vtpm::{Config, Platform, PlatformError, Tpm};

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

type T = Tpm<TestPlatform>;

// TPM_RC values.
const NV_RANGE: u32 = 0x146;
const NV_LOCKED: u32 = 0x148;
const NV_AUTHORIZATION: u32 = 0x149;
const NV_UNINITIALIZED: u32 = 0x14A;
const NV_SPACE: u32 = 0x14B;
const NV_DEFINED: u32 = 0x14C;
const AUTH_UNAVAILABLE: u32 = 0x12F;
const ATTRIBUTES: u32 = 0x082;
const ATTRIBUTES_H1: u32 = 0x182;
const ATTRIBUTES_H2: u32 = 0x282;
const ATTRIBUTES_P2: u32 = 0x2C2;
const SIZE_P1: u32 = 0x1D5;
const SIZE_P2: u32 = 0x2D5;
const VALUE_P1: u32 = 0x1C4;
const VALUE_P2: u32 = 0x2C4;
const HANDLE_H2: u32 = 0x28B;
const HANDLE_H1: u32 = 0x18B;
const AUTH_FAIL_S1: u32 = 0x98E;
const AUTH_TYPE: u32 = 0x124;

// TPMA_NV bits.
const PPWRITE: u32 = 1;
const OWNERWRITE: u32 = 1 << 1;
const AUTHWRITE: u32 = 1 << 2;
const POLICYWRITE: u32 = 1 << 3;
const COUNTER: u32 = 1 << 4;
const BITS: u32 = 2 << 4;
const EXTEND: u32 = 4 << 4;
const PIN_FAIL: u32 = 8 << 4;
const PIN_PASS: u32 = 9 << 4;
const POLICY_DELETE: u32 = 1 << 10;
const WRITEALL: u32 = 1 << 12;
const WRITEDEFINE: u32 = 1 << 13;
const WRITE_STCLEAR: u32 = 1 << 14;
const GLOBALLOCK: u32 = 1 << 15;
const PPREAD: u32 = 1 << 16;
const OWNERREAD: u32 = 1 << 17;
const AUTHREAD: u32 = 1 << 18;
const NO_DA: u32 = 1 << 25;
const CLEAR_STCLEAR: u32 = 1 << 27;
const WRITTEN: u32 = 1 << 29;
const PLATFORMCREATE: u32 = 1 << 30;
const READ_STCLEAR: u32 = 1 << 31;

const OWNER: u32 = 0x4000_0001;
const PLATFORM: u32 = 0x4000_000C;
const LOCKOUT: u32 = 0x4000_000A;
const IDX: u32 = 0x0150_0016;
const OWNER_RW: u32 = OWNERREAD | OWNERWRITE;

fn cmd(tag: u16, cc: u32, body: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&tag.to_be_bytes());
    v.extend_from_slice(&((10 + body.len()) as u32).to_be_bytes());
    v.extend_from_slice(&cc.to_be_bytes());
    v.extend_from_slice(body);
    v
}

fn exec(t: &mut T, c: &[u8]) -> Vec<u8> {
    let mut out = [0u8; 4096];
    let n = t.execute(0, c, &mut out);
    let r = out[..n].to_vec();
    assert_eq!(
        u32::from_be_bytes(r[2..6].try_into().unwrap()) as usize,
        r.len()
    );
    r
}

fn rc(r: &[u8]) -> u32 {
    u32::from_be_bytes(r[6..10].try_into().unwrap())
}

/// A password session with `pw`.
fn pw_session(pw: &[u8]) -> Vec<u8> {
    let mut s = vec![0x40, 0, 0, 9, 0, 0, 1];
    s.extend_from_slice(&(pw.len() as u16).to_be_bytes());
    s.extend_from_slice(pw);
    let mut v = (s.len() as u32).to_be_bytes().to_vec();
    v.extend_from_slice(&s);
    v
}

/// A command with the handles `hs`, one password session and `params`.
fn authed(t: &mut T, cc: u32, hs: &[u32], pw: &[u8], params: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    for h in hs {
        body.extend_from_slice(&h.to_be_bytes());
    }
    body.extend_from_slice(&pw_session(pw));
    body.extend_from_slice(params);
    exec(t, &cmd(0x8002, cc, &body))
}

fn tpm_with(config: Config) -> T {
    let mut t = Tpm::manufacture(config, TestPlatform::default()).unwrap();
    assert_eq!(rc(&exec(&mut t, &cmd(0x8001, 0x144, &[0, 0]))), 0);
    t
}

fn started() -> T {
    tpm_with(Config::default())
}

/// Marshalled `TPMS_NV_PUBLIC` (SHA-256 unless `alg` says otherwise).
fn nv_public(index: u32, alg: u16, attrs: u32, policy: &[u8], size: u16) -> Vec<u8> {
    let mut p = index.to_be_bytes().to_vec();
    p.extend_from_slice(&alg.to_be_bytes());
    p.extend_from_slice(&attrs.to_be_bytes());
    p.extend_from_slice(&(policy.len() as u16).to_be_bytes());
    p.extend_from_slice(policy);
    p.extend_from_slice(&size.to_be_bytes());
    p
}

fn define_full(t: &mut T, by: u32, auth: &[u8], public: &[u8]) -> u32 {
    let mut params = (auth.len() as u16).to_be_bytes().to_vec();
    params.extend_from_slice(auth);
    params.extend_from_slice(&(public.len() as u16).to_be_bytes());
    params.extend_from_slice(public);
    rc(&authed(t, 0x12A, &[by], b"", &params))
}

fn define(t: &mut T, index: u32, attrs: u32, size: u16) -> u32 {
    define_full(t, OWNER, b"", &nv_public(index, 0x0B, attrs, &[], size))
}

fn undefine(t: &mut T, by: u32, index: u32) -> u32 {
    rc(&authed(t, 0x122, &[by, index], b"", &[]))
}

fn write_as(t: &mut T, auth: u32, pw: &[u8], index: u32, data: &[u8], offset: u16) -> u32 {
    let mut params = (data.len() as u16).to_be_bytes().to_vec();
    params.extend_from_slice(data);
    params.extend_from_slice(&offset.to_be_bytes());
    rc(&authed(t, 0x137, &[auth, index], pw, &params))
}

fn write(t: &mut T, index: u32, data: &[u8], offset: u16) -> u32 {
    write_as(t, OWNER, b"", index, data, offset)
}

/// NV_Read → (rc, data).
fn read_as(t: &mut T, auth: u32, pw: &[u8], index: u32, size: u16, offset: u16) -> (u32, Vec<u8>) {
    let mut params = size.to_be_bytes().to_vec();
    params.extend_from_slice(&offset.to_be_bytes());
    let r = authed(t, 0x14E, &[auth, index], pw, &params);
    if rc(&r) != 0 {
        return (rc(&r), Vec::new());
    }
    let n = u16::from_be_bytes([r[14], r[15]]) as usize;
    (0, r[16..16 + n].to_vec())
}

fn read(t: &mut T, index: u32, size: u16, offset: u16) -> (u32, Vec<u8>) {
    read_as(t, OWNER, b"", index, size, offset)
}

fn simple(t: &mut T, cc: u32, auth: u32, index: u32) -> u32 {
    rc(&authed(t, cc, &[auth, index], b"", &[]))
}

fn read_public(t: &mut T, index: u32) -> Vec<u8> {
    exec(t, &cmd(0x8001, 0x169, &index.to_be_bytes()))
}

fn get_cap(t: &mut T, cap: u32, prop: u32, count: u32) -> Vec<u8> {
    let mut p = cap.to_be_bytes().to_vec();
    p.extend_from_slice(&prop.to_be_bytes());
    p.extend_from_slice(&count.to_be_bytes());
    let r = exec(t, &cmd(0x8001, 0x17A, &p));
    assert_eq!(rc(&r), 0);
    r
}

/// `TPM_CAP_HANDLES` for NV indices → the handles listed.
fn nv_handles(t: &mut T) -> Vec<u32> {
    let r = get_cap(t, 1, 0x0100_0000, 64);
    let n = u32::from_be_bytes(r[15..19].try_into().unwrap()) as usize;
    (0..n)
        .map(|i| u32::from_be_bytes(r[19 + 4 * i..23 + 4 * i].try_into().unwrap()))
        .collect()
}

fn property(t: &mut T, pt: u32) -> u32 {
    let r = get_cap(t, 6, pt, 1);
    assert_eq!(u32::from_be_bytes(r[19..23].try_into().unwrap()), pt);
    u32::from_be_bytes(r[23..27].try_into().unwrap())
}

/// Shutdown(`su`), power cycle, Startup(CLEAR).
fn reboot(t: &mut T, su: u8) {
    assert_eq!(rc(&exec(t, &cmd(0x8001, 0x145, &[0, su]))), 0);
    t.power_on();
    assert_eq!(rc(&exec(t, &cmd(0x8001, 0x144, &[0, 0]))), 0);
}

#[test]
fn define_write_read_undefine() {
    let mut t = started();
    assert_eq!(define(&mut t, IDX, OWNER_RW, 32), 0);
    assert_eq!(define(&mut t, IDX, OWNER_RW, 32), NV_DEFINED);
    assert_eq!(read(&mut t, IDX, 4, 0).0, NV_UNINITIALIZED);
    assert_eq!(write(&mut t, IDX, b"hello", 3), 0);
    // Unwritten octets read as erased flash, as in the reference.
    let (r, data) = read(&mut t, IDX, 10, 0);
    assert_eq!(r, 0);
    assert_eq!(data, b"\xff\xff\xffhello\xff\xff");
    assert_eq!(read(&mut t, IDX, 0, 32), (0, vec![]));
    assert_eq!(undefine(&mut t, OWNER, IDX), 0);
    assert_eq!(read(&mut t, IDX, 4, 0).0, HANDLE_H2);
    assert_eq!(undefine(&mut t, OWNER, IDX), HANDLE_H2);
    assert_eq!(write(&mut t, IDX, b"x", 0), HANDLE_H2);
}

#[test]
fn read_public_and_name() {
    let mut t = started();
    assert_eq!(define(&mut t, IDX, OWNER_RW, 16), 0);
    assert_eq!(write(&mut t, IDX, b"x", 0), 0);
    let r = read_public(&mut t, IDX);
    assert_eq!(rc(&r), 0);
    let public = nv_public(IDX, 0x0B, OWNER_RW | WRITTEN, &[], 16);
    assert_eq!(u16::from_be_bytes([r[10], r[11]]) as usize, public.len());
    assert_eq!(&r[12..12 + public.len()], &public[..]);
    let name = &r[12 + public.len()..];
    let mut expect = vec![0, 34, 0, 0x0B];
    expect.extend_from_slice(&sha2::Sha256::digest(&public));
    assert_eq!(name, &expect[..]);
    assert_eq!(rc(&read_public(&mut t, IDX + 1)), HANDLE_H1);
}

#[test]
fn define_space_attribute_checks() {
    let mut t = started();
    let d = |t: &mut T, attrs: u32, size: u16| define(t, IDX, attrs, size);
    // Type-specific sizes.
    assert_eq!(d(&mut t, OWNER_RW | COUNTER, 4), SIZE_P2);
    assert_eq!(d(&mut t, OWNER_RW | BITS, 9), SIZE_P2);
    assert_eq!(d(&mut t, OWNER_RW | EXTEND, 20), SIZE_P2);
    assert_eq!(d(&mut t, OWNER_RW | NO_DA | PIN_FAIL, 16), SIZE_P2);
    // An undefined type.
    assert_eq!(d(&mut t, OWNER_RW | (3 << 4), 8), ATTRIBUTES_P2);
    // Counters are never cleared; PIN indices cannot be written with their own auth.
    assert_eq!(
        d(&mut t, OWNER_RW | COUNTER | CLEAR_STCLEAR, 8),
        ATTRIBUTES_P2
    );
    assert_eq!(d(&mut t, OWNER_RW | PIN_FAIL, 8), ATTRIBUTES_P2);
    assert_eq!(
        d(&mut t, OWNERREAD | AUTHWRITE | PIN_PASS, 8),
        ATTRIBUTES_P2
    );
    // Locks and WRITTEN cannot be defined in; there must be a way to read and to write.
    assert_eq!(d(&mut t, OWNER_RW | WRITTEN, 8), ATTRIBUTES_P2);
    assert_eq!(d(&mut t, OWNERWRITE | POLICYWRITE, 8), ATTRIBUTES_P2);
    assert_eq!(d(&mut t, OWNERREAD | AUTHREAD, 8), ATTRIBUTES_P2);
    assert_eq!(
        d(&mut t, OWNER_RW | CLEAR_STCLEAR | WRITEDEFINE, 8),
        ATTRIBUTES_P2
    );
    // The creator must be able to delete it.
    assert_eq!(d(&mut t, OWNER_RW | PLATFORMCREATE, 8), ATTRIBUTES_H1);
    let public = nv_public(IDX, 0x0B, PPWRITE | PPREAD, &[], 8);
    assert_eq!(define_full(&mut t, PLATFORM, b"", &public), ATTRIBUTES_H1);
    assert_eq!(d(&mut t, OWNER_RW | POLICY_DELETE, 8), ATTRIBUTES_P2);
    assert_eq!(d(&mut t, OWNER_RW | WRITEALL, 1025), SIZE_P2);
    // Larger than TPM_PT_NV_INDEX_MAX is refused while unmarshalling.
    assert_eq!(d(&mut t, OWNER_RW, 2049), SIZE_P2);
    assert_eq!(d(&mut t, OWNER_RW, 2048), 0);
    // authPolicy and auth against the nameAlg's digest size.
    let public = nv_public(IDX + 1, 0x04, OWNER_RW, &[0xAA; 32], 8);
    assert_eq!(define_full(&mut t, OWNER, b"", &public), SIZE_P2);
    let public = nv_public(IDX + 1, 0x04, OWNER_RW, &[0xAA; 20], 8);
    assert_eq!(define_full(&mut t, OWNER, &[1; 21], &public), SIZE_P1);
    // Trailing zeros do not count.
    let mut auth = vec![1; 20];
    auth.extend_from_slice(&[0; 10]);
    assert_eq!(define_full(&mut t, OWNER, &auth, &public), 0);
    // Not an NV handle in the public area: TPM_RC_VALUE for parameter 2.
    let public = nv_public(0x8100_0001, 0x0B, OWNER_RW, &[], 8);
    assert_eq!(define_full(&mut t, OWNER, b"", &public), VALUE_P2);
    // Extend index of the nameAlg's size.
    let public = nv_public(IDX + 2, 0x0C, OWNER_RW | EXTEND, &[], 48);
    assert_eq!(define_full(&mut t, OWNER, b"", &public), 0);
}

#[test]
fn write_and_read_bounds() {
    let mut t = started();
    assert_eq!(define(&mut t, IDX, OWNER_RW, 8), 0);
    assert_eq!(write(&mut t, IDX, b"abc", 9), VALUE_P2);
    assert_eq!(write(&mut t, IDX, b"abc", 6), NV_RANGE);
    assert_eq!(write(&mut t, IDX, b"", 8), 0);
    assert_eq!(write(&mut t, IDX, b"abc", 5), 0);
    assert_eq!(read(&mut t, IDX, 4, 5).0, NV_RANGE);
    assert_eq!(read(&mut t, IDX, 1, 9).0, VALUE_P2);
    assert_eq!(read(&mut t, IDX, 1025, 0).0, VALUE_P1);
    assert_eq!(read(&mut t, IDX, 3, 5), (0, b"abc".to_vec()));
    // WRITEALL: only the whole index at once.
    assert_eq!(define(&mut t, IDX + 1, OWNER_RW | WRITEALL, 4), 0);
    assert_eq!(write(&mut t, IDX + 1, b"abc", 0), NV_RANGE);
    assert_eq!(write(&mut t, IDX + 1, b"abcd", 0), 0);
    // Trailing bytes after the parameters.
    let r = authed(&mut t, 0x14E, &[OWNER, IDX], b"", &[0, 1, 0, 0, 0]);
    assert_eq!(rc(&r), 0x095);
}

#[test]
fn owner_and_platform_need_their_attributes() {
    let mut t = started();
    assert_eq!(define(&mut t, IDX, OWNERWRITE | AUTHREAD, 8), 0);
    assert_eq!(
        write_as(&mut t, PLATFORM, b"", IDX, b"a", 0),
        NV_AUTHORIZATION
    );
    assert_eq!(write(&mut t, IDX, b"a", 0), 0);
    assert_eq!(read(&mut t, IDX, 1, 0).0, NV_AUTHORIZATION);
    assert_eq!(
        read_as(&mut t, PLATFORM, b"", IDX, 1, 0).0,
        NV_AUTHORIZATION
    );
    assert_eq!(read_as(&mut t, IDX, b"", IDX, 1, 0), (0, b"a".to_vec()));
    // The index's own authValue for a write needs AUTHWRITE.
    assert_eq!(write_as(&mut t, IDX, b"", IDX, b"a", 0), AUTH_UNAVAILABLE);
    // Authorizing one index with another is refused.
    assert_eq!(define(&mut t, IDX + 1, OWNER_RW | AUTHREAD, 8), 0);
    assert_eq!(write(&mut t, IDX + 1, b"a", 0), 0);
    assert_eq!(read_as(&mut t, IDX + 1, b"", IDX, 1, 0).0, NV_AUTHORIZATION);
}

#[test]
fn index_auth_value_is_checked() {
    let mut t = started();
    let public = nv_public(IDX, 0x0B, AUTHWRITE | AUTHREAD, &[], 8);
    assert_eq!(define_full(&mut t, OWNER, b"secret", &public), 0);
    assert_eq!(write_as(&mut t, IDX, b"secret", IDX, b"abc", 0), 0);
    assert_eq!(
        write_as(&mut t, IDX, b"wrong", IDX, b"abc", 0),
        AUTH_FAIL_S1
    );
    assert_eq!(
        read_as(&mut t, IDX, b"secret", IDX, 3, 0),
        (0, b"abc".to_vec())
    );
    // The owner cannot touch it.
    assert_eq!(write(&mut t, IDX, b"a", 0), NV_AUTHORIZATION);
}

#[test]
fn change_auth_needs_a_policy_session() {
    let mut t = started();
    let public = nv_public(IDX, 0x0B, AUTHWRITE | AUTHREAD, &[], 8);
    assert_eq!(define_full(&mut t, OWNER, b"secret", &public), 0);
    // NV_ChangeAuth authorizes the index in the ADMIN role: a password cannot satisfy it.
    let r = authed(&mut t, 0x13B, &[IDX], b"secret", &[0, 3, b'n', b'e', b'w']);
    assert_eq!(rc(&r), AUTH_TYPE);
    assert_eq!(write_as(&mut t, IDX, b"secret", IDX, b"abc", 0), 0);
}

#[test]
fn counter_increments_and_survives_redefinition() {
    let mut t = started();
    assert_eq!(define(&mut t, IDX, OWNER_RW | COUNTER, 8), 0);
    assert_eq!(read(&mut t, IDX, 8, 0).0, NV_UNINITIALIZED);
    assert_eq!(simple(&mut t, 0x134, OWNER, IDX), 0);
    assert_eq!(read(&mut t, IDX, 8, 0), (0, 1u64.to_be_bytes().to_vec()));
    assert_eq!(simple(&mut t, 0x134, OWNER, IDX), 0);
    assert_eq!(read(&mut t, IDX, 8, 0), (0, 2u64.to_be_bytes().to_vec()));
    // Not writable with NV_Write, not usable for extend or set-bits.
    assert_eq!(write(&mut t, IDX, &[0; 8], 0), ATTRIBUTES);
    assert_eq!(
        rc(&authed(&mut t, 0x136, &[OWNER, IDX], b"", &[0, 1, 7])),
        ATTRIBUTES_H2
    );
    assert_eq!(
        rc(&authed(&mut t, 0x135, &[OWNER, IDX], b"", &[0; 8])),
        ATTRIBUTES_H2
    );
    assert_eq!(property(&mut t, 0x20A), 1); // TPM_PT_NV_COUNTERS
                                            // A redefined counter starts above the deleted one.
    assert_eq!(undefine(&mut t, OWNER, IDX), 0);
    assert_eq!(property(&mut t, 0x20A), 0);
    assert_eq!(define(&mut t, IDX, OWNER_RW | COUNTER, 8), 0);
    assert_eq!(simple(&mut t, 0x134, OWNER, IDX), 0);
    assert_eq!(read(&mut t, IDX, 8, 0), (0, 3u64.to_be_bytes().to_vec()));
    // Increment on an ordinary index.
    assert_eq!(define(&mut t, IDX + 1, OWNER_RW, 8), 0);
    assert_eq!(simple(&mut t, 0x134, OWNER, IDX + 1), ATTRIBUTES_H2);
}

#[test]
fn extend_hashes_old_value_and_data() {
    let mut t = started();
    assert_eq!(define(&mut t, IDX, OWNER_RW | EXTEND, 32), 0);
    let extend = |t: &mut T, data: &[u8]| {
        let mut p = (data.len() as u16).to_be_bytes().to_vec();
        p.extend_from_slice(data);
        rc(&authed(t, 0x136, &[OWNER, IDX], b"", &p))
    };
    assert_eq!(extend(&mut t, b"abc"), 0);
    let one = sha2::Sha256::new()
        .chain_update([0u8; 32])
        .chain_update(b"abc")
        .finalize();
    assert_eq!(read(&mut t, IDX, 32, 0), (0, one.to_vec()));
    assert_eq!(extend(&mut t, b"def"), 0);
    let two = sha2::Sha256::new()
        .chain_update(one)
        .chain_update(b"def")
        .finalize();
    assert_eq!(read(&mut t, IDX, 32, 0), (0, two.to_vec()));
    assert_eq!(write(&mut t, IDX, &[0; 4], 0), ATTRIBUTES);
    assert_eq!(simple(&mut t, 0x134, OWNER, IDX), ATTRIBUTES_H2);
}

#[test]
fn set_bits_ors_into_bit_field() {
    let mut t = started();
    assert_eq!(define(&mut t, IDX, OWNER_RW | BITS, 8), 0);
    let set = |t: &mut T, bits: u64| rc(&authed(t, 0x135, &[OWNER, IDX], b"", &bits.to_be_bytes()));
    assert_eq!(set(&mut t, 0x11), 0);
    assert_eq!(set(&mut t, 0x0100_0000_0000_0002), 0);
    let expect = 0x0100_0000_0000_0013u64.to_be_bytes().to_vec();
    assert_eq!(read(&mut t, IDX, 8, 0), (0, expect));
    assert_eq!(define(&mut t, IDX + 1, OWNER_RW, 8), 0);
    assert_eq!(
        rc(&authed(&mut t, 0x135, &[OWNER, IDX + 1], b"", &[0; 8])),
        ATTRIBUTES_H2
    );
}

#[test]
fn write_lock_until_restart() {
    let mut t = started();
    assert_eq!(define(&mut t, IDX, OWNER_RW | WRITE_STCLEAR, 8), 0);
    assert_eq!(define(&mut t, IDX + 1, OWNER_RW | WRITEDEFINE, 8), 0);
    assert_eq!(define(&mut t, IDX + 2, OWNER_RW, 8), 0);
    assert_eq!(simple(&mut t, 0x138, OWNER, IDX + 2), ATTRIBUTES_H2);
    assert_eq!(simple(&mut t, 0x138, OWNER, IDX), 0);
    assert_eq!(write(&mut t, IDX, b"a", 0), NV_LOCKED);
    // Locking a locked index is no error.
    assert_eq!(simple(&mut t, 0x138, OWNER, IDX), 0);
    let r = read_public(&mut t, IDX);
    assert_eq!(
        &r[18..22],
        &(OWNER_RW | WRITE_STCLEAR | (1 << 11)).to_be_bytes()
    );
    // WRITEDEFINE: a written index stays locked across a restart; an unwritten one does not.
    assert_eq!(write(&mut t, IDX + 1, b"a", 0), 0);
    assert_eq!(simple(&mut t, 0x138, OWNER, IDX + 1), 0);
    reboot(&mut t, 1);
    assert_eq!(write(&mut t, IDX, b"a", 0), 0);
    assert_eq!(write(&mut t, IDX + 1, b"a", 0), NV_LOCKED);
    reboot(&mut t, 0);
    assert_eq!(write(&mut t, IDX + 1, b"a", 0), NV_LOCKED);
}

#[test]
fn read_lock_until_restart() {
    let mut t = started();
    assert_eq!(define(&mut t, IDX, OWNER_RW | READ_STCLEAR, 8), 0);
    assert_eq!(define(&mut t, IDX + 1, OWNER_RW, 8), 0);
    // Read-locking an unwritten index is fine.
    assert_eq!(simple(&mut t, 0x14F, OWNER, IDX), 0);
    assert_eq!(simple(&mut t, 0x14F, OWNER, IDX + 1), ATTRIBUTES_H2);
    assert_eq!(write(&mut t, IDX, b"a", 0), 0);
    assert_eq!(read(&mut t, IDX, 1, 0).0, NV_LOCKED);
    assert_eq!(simple(&mut t, 0x14F, OWNER, IDX), 0);
    reboot(&mut t, 0);
    assert_eq!(read(&mut t, IDX, 1, 0), (0, b"a".to_vec()));
}

#[test]
fn global_write_lock_locks_globallock_indices() {
    let mut t = started();
    assert_eq!(define(&mut t, IDX, OWNER_RW | GLOBALLOCK, 8), 0);
    assert_eq!(define(&mut t, IDX + 1, OWNER_RW, 8), 0);
    assert_eq!(rc(&authed(&mut t, 0x132, &[OWNER], b"", &[])), 0);
    assert_eq!(write(&mut t, IDX, b"a", 0), NV_LOCKED);
    assert_eq!(write(&mut t, IDX + 1, b"a", 0), 0);
    reboot(&mut t, 1);
    assert_eq!(write(&mut t, IDX, b"a", 0), 0);
}

#[test]
fn clear_stclear_index_is_unwritten_after_restart() {
    let mut t = started();
    assert_eq!(define(&mut t, IDX, OWNER_RW | CLEAR_STCLEAR, 8), 0);
    assert_eq!(define(&mut t, IDX + 1, OWNER_RW, 8), 0);
    assert_eq!(write(&mut t, IDX, b"a", 0), 0);
    assert_eq!(write(&mut t, IDX + 1, b"b", 0), 0);
    reboot(&mut t, 1);
    assert_eq!(read(&mut t, IDX, 1, 0).0, NV_UNINITIALIZED);
    assert_eq!(read(&mut t, IDX + 1, 1, 0), (0, b"b".to_vec()));
    // Indices survive a reset without any shutdown too.
    t.power_on();
    assert_eq!(rc(&exec(&mut t, &cmd(0x8001, 0x144, &[0, 0]))), 0);
    assert_eq!(read(&mut t, IDX + 1, 1, 0), (0, b"b".to_vec()));
}

#[test]
fn space_exhaustion_and_recovery() {
    let mut t = tpm_with(Config {
        nv_bytes: 5000,
        ..Config::default()
    });
    assert_eq!(define(&mut t, IDX, OWNER_RW, 2048), 0);
    assert_eq!(define(&mut t, IDX + 1, OWNER_RW, 2048), 0);
    assert_eq!(define(&mut t, IDX + 2, OWNER_RW, 2048), NV_SPACE);
    // TPM_PT_NV_COUNTERS_AVAIL: (5000 - 2 * (160 + 2048)) / (160 + 8).
    assert_eq!(property(&mut t, 0x20B), 3);
    assert_eq!(undefine(&mut t, OWNER, IDX), 0);
    assert_eq!(define(&mut t, IDX + 2, OWNER_RW, 2048), 0);
}

#[test]
fn index_count_is_bounded() {
    let mut t = started();
    for i in 0..128 {
        assert_eq!(define(&mut t, 0x0100_0000 + i, OWNER_RW, 0), 0);
    }
    assert_eq!(define(&mut t, 0x0100_1000, OWNER_RW, 0), NV_SPACE);
    assert_eq!(property(&mut t, 0x202), 128); // TPM_PT_HR_NV_INDEX
    assert_eq!(undefine(&mut t, OWNER, 0x0100_0005), 0);
    assert_eq!(define(&mut t, 0x0100_1000, OWNER_RW, 0), 0);
}

#[test]
fn get_capability_lists_indices_ascending() {
    let mut t = started();
    for h in [IDX + 5, IDX, IDX + 2] {
        assert_eq!(define(&mut t, h, OWNER_RW, 4), 0);
    }
    assert_eq!(nv_handles(&mut t), [IDX, IDX + 2, IDX + 5]);
    let r = get_cap(&mut t, 1, IDX + 1, 1);
    assert_eq!(r[10], 1, "moreData");
    assert_eq!(&r[15..23], &[0, 0, 0, 1, 0x01, 0x50, 0x00, 0x18]);
    assert_eq!(property(&mut t, 0x202), 3);
}

#[test]
fn clear_deletes_owner_indices_only() {
    let mut t = started();
    assert_eq!(define(&mut t, IDX, OWNER_RW, 4), 0);
    let public = nv_public(IDX + 1, 0x0B, PPWRITE | PPREAD | PLATFORMCREATE, &[], 4);
    assert_eq!(define_full(&mut t, PLATFORM, b"", &public), 0);
    // The owner may not delete a platform index.
    assert_eq!(undefine(&mut t, OWNER, IDX + 1), NV_AUTHORIZATION);
    assert_eq!(rc(&authed(&mut t, 0x126, &[LOCKOUT], b"", &[])), 0);
    assert_eq!(nv_handles(&mut t), [IDX + 1]);
    assert_eq!(undefine(&mut t, PLATFORM, IDX + 1), 0);
}

#[test]
fn policy_delete_index_needs_undefine_space_special() {
    let mut t = started();
    let attrs = PPWRITE | PPREAD | PLATFORMCREATE | POLICY_DELETE;
    let public = nv_public(IDX, 0x0B, attrs, &[0x11; 32], 4);
    assert_eq!(define_full(&mut t, PLATFORM, b"", &public), 0);
    assert_eq!(undefine(&mut t, PLATFORM, IDX), ATTRIBUTES_H2);
    // UndefineSpaceSpecial authorizes the index in the ADMIN role: a password cannot.
    let mut body = IDX.to_be_bytes().to_vec();
    body.extend_from_slice(&PLATFORM.to_be_bytes());
    let mut sessions = pw_session(b"");
    let n = u32::from_be_bytes(sessions[..4].try_into().unwrap()) as usize;
    let one = sessions[4..4 + n].to_vec();
    sessions.extend_from_slice(&one);
    sessions[..4].copy_from_slice(&(2 * n as u32).to_be_bytes());
    body.extend_from_slice(&sessions);
    assert_eq!(rc(&exec(&mut t, &cmd(0x8002, 0x11F, &body))), AUTH_TYPE);
    assert_eq!(nv_handles(&mut t), [IDX]);
}

#[test]
fn pin_pass_index_auth_follows_pin_count() {
    let mut t = started();
    let public = nv_public(IDX, 0x0B, OWNER_RW | PIN_PASS | NO_DA, &[], 8);
    assert_eq!(define_full(&mut t, OWNER, b"pin", &public), 0);
    // Unwritten: the authValue is not available.
    assert_eq!(read_as(&mut t, IDX, b"pin", IDX, 8, 0).0, AUTH_UNAVAILABLE);
    // pinCount 0, pinLimit 1.
    assert_eq!(write(&mut t, IDX, &[0, 0, 0, 0, 0, 0, 0, 1], 0), 0);
    assert_eq!(read_as(&mut t, IDX, b"pin", IDX, 8, 0).0, 0);
    // pinCount = pinLimit: no longer available.
    assert_eq!(write(&mut t, IDX, &[0, 0, 0, 1, 0, 0, 0, 1], 0), 0);
    assert_eq!(read_as(&mut t, IDX, b"pin", IDX, 8, 0).0, AUTH_UNAVAILABLE);
    // A PIN Fail index must be NO_DA.
    let public = nv_public(IDX + 1, 0x0B, OWNER_RW | PIN_FAIL, &[], 8);
    assert_eq!(define_full(&mut t, OWNER, b"pin", &public), ATTRIBUTES_P2);
}

#[test]
fn hostile_define_space_bytes() {
    let mut t = started();
    // Truncated TPM2B_NV_PUBLIC, size 0, reserved attribute bits, unknown nameAlg.
    let public = nv_public(IDX, 0x0B, OWNER_RW, &[], 8);
    let mut params = vec![0, 0];
    params.extend_from_slice(&(public.len() as u16 + 1).to_be_bytes());
    params.extend_from_slice(&public);
    assert_ne!(rc(&authed(&mut t, 0x12A, &[OWNER], b"", &params)), 0);
    assert_eq!(
        rc(&authed(&mut t, 0x12A, &[OWNER], b"", &[0, 0, 0, 0])),
        SIZE_P2
    );
    let public = nv_public(IDX, 0x0B, OWNER_RW | (1 << 8), &[], 8);
    assert_eq!(define_full(&mut t, OWNER, b"", &public), 0x2E1);
    let public = nv_public(IDX, 0x03, OWNER_RW, &[], 8);
    assert_eq!(define_full(&mut t, OWNER, b"", &public), 0x2C3);
    assert_eq!(nv_handles(&mut t), Vec::<u32>::new());
}
