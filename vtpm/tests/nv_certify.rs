//! `TPM2_NV_Certify` (Part 3, 31.16) through `Tpm::execute`: both attestation forms, signatures
//! checked independently, and the reference's response codes in the reference's order (each
//! code below was read from swtpm 0.7 / libtpms 0.9 with the same command bytes).

mod common;
use common::*;

const NV_CERTIFY: u32 = 0x184;
const IDX: u32 = 0x0150_0016;
const OWNERWRITE: u32 = 1 << 1;
const OWNERREAD: u32 = 1 << 17;
const AUTHREAD: u32 = 1 << 18;
const READ_STCLEAR: u32 = 1 << 31;
const WRITTEN: u32 = 1 << 29;
const RW: u32 = OWNERREAD | OWNERWRITE;

fn define(t: &mut T, index: u32, attrs: u32, size: u16) {
    let mut public = index.to_be_bytes().to_vec();
    public.extend_from_slice(&hex("000b"));
    public.extend_from_slice(&attrs.to_be_bytes());
    public.extend_from_slice(&hex("0000"));
    public.extend_from_slice(&size.to_be_bytes());
    let mut p = b2(b"");
    p.extend(b2(&public));
    assert_eq!(rc(&exec(t, &auth_cmd(0x12A, &[OWNER], &[b""], &p))), 0);
}

fn write(t: &mut T, index: u32, data: &[u8], offset: u16) {
    let mut p = b2(data);
    p.extend_from_slice(&offset.to_be_bytes());
    let r = exec(t, &auth_cmd(0x137, &[OWNER, index], &[b""], &p));
    assert_eq!(rc(&r), 0, "NV_Write");
}

/// The Name of a written SHA-256 index without a policy: `000b || SHA-256(TPMS_NV_PUBLIC)`.
fn index_name(index: u32, attrs: u32, size: u16) -> Vec<u8> {
    let mut public = index.to_be_bytes().to_vec();
    public.extend_from_slice(&hex("000b"));
    public.extend_from_slice(&(attrs | WRITTEN).to_be_bytes());
    public.extend_from_slice(&hex("0000"));
    public.extend_from_slice(&size.to_be_bytes());
    name_of(&public)
}

/// `TPM2_NV_Certify(sign, auth, index; "nonce", inScheme, size, offset)`, two empty passwords
/// (the reference wants a session for `signHandle` even when it is `TPM_RH_NULL`).
fn certify_cmd(sign: u32, auth: u32, index: u32, scheme: &[u8], size: u16, off: u16) -> Vec<u8> {
    let mut p = b2(b"nonce");
    p.extend_from_slice(scheme);
    p.extend_from_slice(&size.to_be_bytes());
    p.extend_from_slice(&off.to_be_bytes());
    auth_cmd(NV_CERTIFY, &[sign, auth, index], &[b"", b""], &p)
}

fn certify(
    t: &mut T,
    sign: u32,
    auth: u32,
    index: u32,
    scheme: &[u8],
    size: u16,
    off: u16,
) -> Vec<u8> {
    exec(t, &certify_cmd(sign, auth, index, scheme, size, off))
}

/// Reads the common `TPMS_ATTEST` header of `attest` up to the attested union: checks the magic,
/// `type`, the qualified signer and `extraData`; returns a reader at the union.
fn attested<'a>(attest: &'a [u8], type_: u16, signer: &[u8]) -> Rd<'a> {
    let mut a = Rd { b: attest, at: 0 };
    assert_eq!(a.u32(), 0xff54_4347, "TPM_GENERATED_VALUE");
    assert_eq!(a.u16(), type_);
    assert_eq!(a.b2(), signer, "qualifiedSigner");
    assert_eq!(a.b2(), b"nonce", "extraData");
    a.bytes(17 + 8); // clockInfo, firmwareVersion
    a
}

/// An unrestricted ECDSA P-256 signing primary in the owner hierarchy: (handle, public area,
/// qualified name).
fn ecc_signer(t: &mut T) -> (u32, Vec<u8>, Vec<u8>) {
    let r = create_primary(t, OWNER, &ecc_template(SIGNING, SYM_NULL, ECDSA_SHA256, 3));
    assert_eq!(rc(&r), 0);
    let public = Rd::params(&r, true).b2().to_vec();
    let mut qn = vec![0x00, 0x0b];
    qn.extend(sha256(&[&OWNER.to_be_bytes(), &name_of(&public)]));
    (handle(&r), public, qn)
}

#[test]
fn nv_certify_signs_a_range_of_the_index() {
    let mut t = started();
    let data: Vec<u8> = (0u8..16).map(|b| b.wrapping_mul(13)).collect();
    define(&mut t, IDX, RW, 16);
    write(&mut t, IDX, &data, 0);
    let (key, public, qn) = ecc_signer(&mut t);
    let r = certify(&mut t, key, OWNER, IDX, SCHEME_NULL, 5, 2);
    assert_eq!(rc(&r), 0);
    let mut rd = Rd::params(&r, false);
    let attest = rd.b2().to_vec();
    assert_eq!(rd.u16(), 0x0018, "ECDSA");
    assert_eq!(rd.u16(), 0x000B, "the key's SHA-256");
    let (sr, ss) = (rd.b2().to_vec(), rd.b2().to_vec());
    p256_verify(&public, &sha256(&[&attest]), &sr, &ss);
    let mut a = attested(&attest, 0x8014, &qn);
    assert_eq!(a.b2(), &index_name(IDX, RW, 16)[..], "indexName");
    assert_eq!(a.u16(), 2, "offset");
    assert_eq!(a.b2(), &data[2..7], "nvContents");
    assert_eq!(a.at, attest.len());
}

#[test]
fn nv_certify_of_size_and_offset_zero_signs_the_digest_of_the_whole_index() {
    let mut t = started();
    define(&mut t, IDX, RW, 2048);
    write(&mut t, IDX, &[b'x'; 1024], 0);
    write(&mut t, IDX, &[b'y'; 1024], 1024);
    let (key, public, qn) = ecc_signer(&mut t);
    let r = certify(&mut t, key, OWNER, IDX, SCHEME_NULL, 0, 0);
    assert_eq!(rc(&r), 0);
    let mut rd = Rd::params(&r, false);
    let attest = rd.b2().to_vec();
    rd.u16();
    rd.u16();
    let (sr, ss) = (rd.b2().to_vec(), rd.b2().to_vec());
    p256_verify(&public, &sha256(&[&attest]), &sr, &ss);
    let mut a = attested(&attest, 0x801C, &qn);
    assert_eq!(a.b2(), &index_name(IDX, RW, 2048)[..], "indexName");
    assert_eq!(
        a.b2(),
        &sha256(&[&[b'x'; 1024], &[b'y'; 1024]])[..],
        "nvDigest"
    );
    assert_eq!(a.at, attest.len());
}

#[test]
fn nv_certify_without_a_key_is_unsigned_and_its_digest_empty() {
    let mut t = started();
    define(&mut t, IDX, RW, 16);
    write(&mut t, IDX, b"0123456789abcdef", 0);
    let null_name = NULL.to_be_bytes();
    // Any scheme is replaced by NULL when there is no key (reference `CryptSelectSignScheme`).
    for scheme in [SCHEME_NULL, ECDSA_SHA256] {
        let r = certify(&mut t, NULL, OWNER, IDX, scheme, 0, 0);
        assert_eq!(rc(&r), 0);
        let mut rd = Rd::params(&r, false);
        let attest = rd.b2().to_vec();
        assert_eq!(rd.u16(), 0x0010, "TPM_ALG_NULL signature");
        let mut a = attested(&attest, 0x801C, &null_name);
        a.b2();
        assert_eq!(a.b2(), b"", "no hash without a scheme");
    }
    // Offset at the end and size 0: the contents form, empty.
    let r = certify(&mut t, NULL, OWNER, IDX, SCHEME_NULL, 0, 16);
    assert_eq!(rc(&r), 0);
    let attest = Rd::params(&r, false).b2().to_vec();
    let mut a = attested(&attest, 0x8014, &null_name);
    a.b2();
    assert_eq!(a.u16(), 16);
    assert_eq!(a.b2(), b"");
}

#[test]
fn nv_certify_with_an_hmac_key_macs_the_attestation() {
    use hmac::Mac;
    let mut t = started();
    define(&mut t, IDX, RW, 4);
    write(&mut t, IDX, b"abcd", 0);
    let srk = srk(&mut t);
    let key_bits = [0x42u8; 32];
    let r = create(
        &mut t,
        srk,
        b"",
        &key_bits,
        &keyedhash_template(SIGNING & !SENSITIVE_DATA_ORIGIN, HMAC_SHA256),
    );
    assert_eq!(rc(&r), 0, "Create HMAC key");
    let (private, public) = private_public(&r);
    let key = handle(&load(&mut t, srk, &private, &public));
    let r = certify(&mut t, key, OWNER, IDX, SCHEME_NULL, 4, 0);
    assert_eq!(rc(&r), 0);
    let mut rd = Rd::params(&r, false);
    let attest = rd.b2().to_vec();
    assert_eq!(rd.u16(), 0x0005, "HMAC");
    assert_eq!(rd.u16(), 0x000B);
    let mac = rd.bytes(32);
    let mut h = <hmac::Hmac<sha2::Sha256> as Mac>::new_from_slice(&key_bits).unwrap();
    h.update(&sha256(&[&attest]));
    h.verify_slice(mac)
        .expect("HMAC over the attestation digest");
}

#[test]
fn nv_certify_checks_key_and_scheme_before_the_index() {
    let mut t = started();
    define(&mut t, IDX, RW, 8);
    let (key, _, _) = ecc_signer(&mut t);
    let storage = srk(&mut t);
    // Unwritten: TPM_RC_NV_UNINITIALIZED, but a key that cannot sign is reported first.
    assert_eq!(
        rc(&certify(&mut t, NULL, OWNER, IDX, SCHEME_NULL, 4, 0)),
        0x14A
    );
    assert_eq!(
        rc(&certify(&mut t, storage, OWNER, IDX, SCHEME_NULL, 4, 0)),
        0x19C,
        "TPM_RC_KEY + handle 1"
    );
    // A scheme the key does not have: TPM_RC_SCHEME + parameter 2.
    let ecdsa_sha384 = hex("0018 000c");
    assert_eq!(
        rc(&certify(&mut t, key, OWNER, IDX, &ecdsa_sha384, 4, 0)),
        0x2D2
    );
    assert_eq!(
        rc(&certify(&mut t, key, OWNER, IDX, RSASSA_SHA256, 4, 0)),
        0x2D2
    );
}

#[test]
fn nv_certify_applies_the_read_access_checks() {
    let mut t = started();
    define(&mut t, IDX, RW | READ_STCLEAR, 8);
    define(&mut t, IDX + 1, OWNERWRITE | AUTHREAD, 8);
    write(&mut t, IDX, b"12345678", 0);
    write(&mut t, IDX + 1, b"12345678", 0);
    let (key, _, _) = ecc_signer(&mut t);
    // The owner may not read an index without OWNERREAD; neither may the platform without
    // PPREAD, nor another index.
    assert_eq!(
        rc(&certify(&mut t, NULL, OWNER, IDX + 1, SCHEME_NULL, 1, 0)),
        0x149
    );
    assert_eq!(
        rc(&certify(&mut t, NULL, PLATFORM, IDX, SCHEME_NULL, 1, 0)),
        0x149
    );
    assert_eq!(
        rc(&certify(&mut t, NULL, IDX + 1, IDX, SCHEME_NULL, 1, 0)),
        0x149
    );
    // The index's own authValue needs AUTHREAD (TPM_RC_AUTH_UNAVAILABLE).
    assert_eq!(
        rc(&certify(&mut t, NULL, IDX, IDX, SCHEME_NULL, 1, 0)),
        0x12F
    );
    assert_eq!(
        rc(&certify(&mut t, NULL, IDX + 1, IDX + 1, SCHEME_NULL, 1, 0)),
        0
    );
    // Read-locked: TPM_RC_NV_LOCKED, after the key checks.
    let r = exec(&mut t, &auth_cmd(0x14F, &[OWNER, IDX], &[b""], &[]));
    assert_eq!(rc(&r), 0, "NV_ReadLock");
    assert_eq!(
        rc(&certify(&mut t, key, OWNER, IDX, SCHEME_NULL, 1, 0)),
        0x148
    );
    assert_eq!(
        rc(&certify(&mut t, key, OWNER, IDX, RSASSA_SHA256, 1, 0)),
        0x2D2
    );
}

#[test]
fn nv_certify_range_and_size_limits() {
    let mut t = started();
    define(&mut t, IDX, RW, 16);
    define(&mut t, IDX + 1, RW, 2048);
    write(&mut t, IDX, &[1; 16], 0);
    write(&mut t, IDX + 1, &[2; 1024], 0);
    let cert =
        |t: &mut T, index, size, off| rc(&certify(t, NULL, OWNER, index, SCHEME_NULL, size, off));
    assert_eq!(cert(&mut t, IDX, 17, 0), 0x146, "TPM_RC_NV_RANGE");
    assert_eq!(cert(&mut t, IDX, 1, 16), 0x146);
    assert_eq!(cert(&mut t, IDX, 0, 17), 0x146);
    assert_eq!(cert(&mut t, IDX, 0xFFFF, 0xFFFF), 0x146, "no wrap-around");
    // The range is checked before the size: more than MAX_NV_BUFFER_SIZE octets of a large
    // index is TPM_RC_VALUE + parameter 3.
    assert_eq!(cert(&mut t, IDX, 1025, 0), 0x146);
    assert_eq!(cert(&mut t, IDX + 1, 1025, 0), 0x3C4);
    assert_eq!(cert(&mut t, IDX + 1, 1024, 1024), 0);
    // Trailing bytes after the parameters: TPM_RC_SIZE; one session for two authorizations:
    // TPM_RC_AUTH_MISSING.
    let mut c = certify_cmd(NULL, OWNER, IDX, SCHEME_NULL, 1, 0);
    c.push(0);
    let n = c.len() as u32;
    c[2..6].copy_from_slice(&n.to_be_bytes());
    assert_eq!(rc(&exec(&mut t, &c)), 0x95);
    let mut p = b2(b"");
    p.extend_from_slice(&hex("0010 0001 0000"));
    let c = auth_cmd(NV_CERTIFY, &[NULL, OWNER, IDX], &[b""], &p);
    assert_eq!(rc(&exec(&mut t, &c)), 0x125);
}

#[test]
fn nv_certify_is_listed_in_tpm_cap_commands() {
    let mut t = started();
    // GetCapability(TPM_CAP_COMMANDS, NV_Certify, 1): TPMA_CC with cHandles 3.
    let mut p = 2u32.to_be_bytes().to_vec();
    p.extend_from_slice(&NV_CERTIFY.to_be_bytes());
    p.extend_from_slice(&1u32.to_be_bytes());
    let r = exec(&mut t, &cmd(ST_NO_SESSIONS, 0x17A, &p));
    assert_eq!(rc(&r), 0);
    assert_eq!(&r[15..23], &hex("00000001 06000184")[..]);
}
