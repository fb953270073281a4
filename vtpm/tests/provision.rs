//! Manufacturer provisioning (`vtpm::provision`): the persistent EKs are what `TPM2_CreatePrimary`
//! with the EK templates gives, and the EK certificate indices can be read by anyone and changed
//! or removed by nobody — checked through `Tpm::execute` with the codes of the reference
//! implementation.

mod common;
use common::*;
use vtpm::provision::{EK_CERT_POLICY_LABEL, MAX_EK_CERT_SIZE};
use vtpm::{Config, EkTemplate, Tpm};

const NV_LOCKED: u32 = 0x148;
const ATTRIBUTES_H2: u32 = 0x282;
const POLICY_FAIL_S1: u32 = 0x99D;
const HANDLE_P1: u32 = 0x18B;

const EK_RSA: u32 = 0x8101_0001;
const EK_ECC: u32 = 0x8101_0002;
const CERT_RSA: u32 = 0x01C0_0002;
const CERT_ECC: u32 = 0x01C0_000A;

/// A manufactured TPM with both EKs and certificates provisioned, then started.
fn provisioned(rsa_cert: &[u8], ecc_cert: &[u8]) -> (T, Vec<u8>, Vec<u8>) {
    let mut t = Tpm::manufacture(Config::default(), TestPlatform::default()).unwrap();
    let rsa = t.provision_ek(EkTemplate::RsaL1).unwrap();
    let ecc = t.provision_ek(EkTemplate::EccL2).unwrap();
    t.provision_ek_certificate(EkTemplate::RsaL1, rsa_cert)
        .unwrap();
    t.provision_ek_certificate(EkTemplate::EccL2, ecc_cert)
        .unwrap();
    let r = exec(&mut t, &cmd(ST_NO_SESSIONS, 0x144, &[0, 0]));
    assert_eq!(rc(&r), 0, "Startup");
    (t, rsa, ecc)
}

/// `TPM2_NV_Read(authHandle, nvIndex; size, offset)` with an empty password.
fn nv_read(t: &mut T, auth: u32, index: u32, size: u16, offset: u16) -> Vec<u8> {
    let mut p = size.to_be_bytes().to_vec();
    p.extend_from_slice(&offset.to_be_bytes());
    exec(t, &auth_cmd(0x14E, &[auth, index], &[b""], &p))
}

/// The `outPublic` area (`TPMT_PUBLIC`, no size) of a ReadPublic or CreatePrimary response.
fn public_area(r: &[u8], handle: bool) -> Vec<u8> {
    Rd::params(r, handle).b2().to_vec()
}

#[test]
fn persistent_eks_are_the_keys_createprimary_derives_from_the_ek_templates() {
    let (mut t, rsa, ecc) = provisioned(b"rsa cert", b"ecc cert");
    for (h, area, template) in [
        (EK_RSA, &rsa, EkTemplate::RsaL1),
        (EK_ECC, &ecc, EkTemplate::EccL2),
    ] {
        let r = read_public(&mut t, h);
        assert_eq!(rc(&r), 0, "ReadPublic {h:#x}");
        assert_eq!(&public_area(&r, false), area);
        let r = create_primary(&mut t, ENDORSEMENT, &template.template());
        assert_eq!(rc(&r), 0, "CreatePrimary {template:?}");
        assert_eq!(&public_area(&r, true), area, "{template:?}");
        let flush = handle(&r).to_be_bytes();
        assert_eq!(rc(&exec(&mut t, &cmd(ST_NO_SESSIONS, 0x165, &flush))), 0);
    }
    // TPM_CAP_HANDLES, persistent range: both EKs, ascending.
    let mut p = 1u32.to_be_bytes().to_vec();
    p.extend_from_slice(&0x8100_0000u32.to_be_bytes());
    p.extend_from_slice(&16u32.to_be_bytes());
    let r = exec(&mut t, &cmd(ST_NO_SESSIONS, 0x17A, &p));
    assert_eq!(rc(&r), 0);
    let mut rd = Rd::params(&r, false);
    rd.bytes(1);
    assert_eq!(rd.u32(), 1, "TPM_CAP_HANDLES");
    assert_eq!(rd.u32(), 2, "two handles");
    assert_eq!((rd.u32(), rd.u32()), (EK_RSA, EK_ECC));
}

#[test]
fn certificates_read_back_with_owner_platform_and_index_authorization() {
    let cert: Vec<u8> = (0..1500u32).map(|i| (i * 7) as u8).collect();
    let (mut t, _, _) = provisioned(&cert, b"\x30\x03\x02\x01\x05");
    for auth in [OWNER, PLATFORM, CERT_RSA] {
        let mut got = Vec::new();
        for offset in (0..cert.len()).step_by(1024) {
            let n = (cert.len() - offset).min(1024) as u16;
            let r = nv_read(&mut t, auth, CERT_RSA, n, offset as u16);
            assert_eq!(rc(&r), 0, "NV_Read auth {auth:#x}");
            got.extend_from_slice(Rd::params(&r, false).b2());
        }
        assert_eq!(got, cert);
    }
    let r = nv_read(&mut t, OWNER, CERT_ECC, 5, 0);
    assert_eq!(Rd::params(&r, false).b2(), b"\x30\x03\x02\x01\x05");
}

#[test]
fn certificate_public_area_is_the_documented_one() {
    let (mut t, _, _) = provisioned(b"0123456789", b"x");
    let r = exec(&mut t, &plain_cmd(0x169, &[CERT_RSA], &[]));
    assert_eq!(rc(&r), 0, "NV_ReadPublic");
    let mut rd = Rd::params(&r, false);
    let public = rd.b2();
    let mut expect = CERT_RSA.to_be_bytes().to_vec();
    expect.extend_from_slice(&[0x00, 0x0B]);
    // PPWRITE WRITEDEFINE PPREAD OWNERREAD AUTHREAD NO_DA POLICY_DELETE PLATFORMCREATE,
    // WRITELOCKED, WRITTEN.
    let attrs: u32 = 1 | (1 << 13) | (1 << 16) | (1 << 17) | (1 << 18) | (1 << 25) | (1 << 10);
    let attrs = attrs | (1 << 30) | (1 << 11) | (1 << 29);
    expect.extend_from_slice(&attrs.to_be_bytes());
    expect.extend(b2(&sha256(&[EK_CERT_POLICY_LABEL])));
    expect.extend_from_slice(&10u16.to_be_bytes());
    assert_eq!(public, &expect[..]);
}

#[test]
fn the_guest_can_neither_rewrite_nor_remove_a_certificate() {
    let (mut t, _, _) = provisioned(b"certificate", b"x");
    // NV_Write with platform authorization (PPWRITE): write-locked.
    let mut p = b2(b"forged");
    p.extend_from_slice(&0u16.to_be_bytes());
    let r = exec(&mut t, &auth_cmd(0x137, &[PLATFORM, CERT_RSA], &[b""], &p));
    assert_eq!(rc(&r), NV_LOCKED, "NV_Write");
    // NV_UndefineSpace by the platform: POLICY_DELETE forbids it.
    let r = exec(&mut t, &auth_cmd(0x122, &[PLATFORM, CERT_RSA], &[b""], &[]));
    assert_eq!(rc(&r), ATTRIBUTES_H2, "NV_UndefineSpace");
    // NV_UndefineSpaceSpecial with a fresh policy session: its digest is not the authPolicy.
    let mut sas = 0x4000_0007u32.to_be_bytes().to_vec(); // tpmKey NULL
    sas.extend_from_slice(&0x4000_0007u32.to_be_bytes()); // bind NULL
    sas.extend(b2(&[0u8; 32]));
    sas.extend(b2(&[]));
    sas.push(0x01); // TPM_SE_POLICY
    sas.extend_from_slice(&[0x00, 0x10]); // symmetric NULL
    sas.extend_from_slice(&[0x00, 0x0B]); // SHA-256
    let r = exec(&mut t, &cmd(ST_NO_SESSIONS, 0x176, &sas));
    assert_eq!(rc(&r), 0, "StartAuthSession");
    let session = handle(&r);
    let mut c = CERT_RSA.to_be_bytes().to_vec();
    c.extend_from_slice(&PLATFORM.to_be_bytes());
    let mut area = Vec::new();
    for (h, hmac) in [(session, &[][..]), (0x4000_0009, &[][..])] {
        area.extend_from_slice(&h.to_be_bytes());
        area.extend(b2(&[]));
        area.push(0);
        area.extend(b2(hmac));
    }
    c.extend_from_slice(&(area.len() as u32).to_be_bytes());
    c.extend(area);
    let r = exec(&mut t, &cmd(ST_SESSIONS, 0x11F, &c));
    assert_eq!(rc(&r), POLICY_FAIL_S1, "NV_UndefineSpaceSpecial");
    // TPM2_Clear removes the endorsement hierarchy's persistent EKs but not the
    // platform-created certificates.
    let r = exec(&mut t, &auth_cmd(0x126, &[PLATFORM], &[b""], &[]));
    assert_eq!(rc(&r), 0, "Clear");
    assert_eq!(rc(&read_public(&mut t, EK_RSA)), HANDLE_P1);
    let r = nv_read(&mut t, CERT_RSA, CERT_RSA, 11, 0);
    assert_eq!(Rd::params(&r, false).b2(), b"certificate");
}

#[test]
fn provisioning_refuses_duplicates_and_oversized_certificates() {
    let mut t = Tpm::manufacture(Config::default(), TestPlatform::default()).unwrap();
    t.provision_ek(EkTemplate::RsaL1).unwrap();
    assert_eq!(
        t.provision_ek(EkTemplate::RsaL1).unwrap_err(),
        tpm_proto::Rc::NvDefined
    );
    let big = vec![0u8; MAX_EK_CERT_SIZE + 1];
    assert_eq!(
        t.provision_ek_certificate(EkTemplate::RsaL1, &big)
            .unwrap_err(),
        tpm_proto::Rc::Size
    );
    t.provision_ek_certificate(EkTemplate::RsaL1, &big[1..])
        .unwrap();
    assert_eq!(
        t.provision_ek_certificate(EkTemplate::RsaL1, b"again")
            .unwrap_err(),
        tpm_proto::Rc::NvDefined
    );
}
