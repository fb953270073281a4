//! Attestation through `Tpm::execute`: Quote, Certify, CertifyCreation, GetTime and creation
//! data, with signatures checked independently.

mod common;
use common::*;

#[test]
fn quote_signs_the_pcr_digest() {
    let mut t = started();
    // Extend PCR 16 so the digest is not trivial.
    let mut p = hex("00000001 000b");
    p.extend_from_slice(&[0xAB; 32]);
    assert_eq!(rc(&exec(&mut t, &auth_cmd(0x182, &[16], &[b""], &p))), 0);
    let ek_like = ecc_template(SIGNING | RESTRICTED, SYM_NULL, ECDSA_SHA256, 3);
    let r = create_primary(&mut t, ENDORSEMENT, &ek_like);
    assert_eq!(rc(&r), 0);
    let ak = handle(&r);
    let public = Rd::params(&r, true).b2().to_vec();
    let mut p = b2(b"nonce");
    p.extend_from_slice(SCHEME_NULL);
    p.extend_from_slice(&hex("00000001 000b 03 000001"));
    let r = exec(&mut t, &auth_cmd(0x158, &[ak], &[b""], &p));
    assert_eq!(rc(&r), 0);
    let mut rd = Rd::params(&r, false);
    let quoted = rd.b2().to_vec();
    assert_eq!(rd.u16(), 0x0018);
    assert_eq!(rd.u16(), 0x000B);
    let sr = rd.b2().to_vec();
    let ss = rd.b2().to_vec();
    p256_verify(&public, &sha256(&[&quoted]), &sr, &ss);
    // TPMS_ATTEST: magic, TPM_ST_ATTEST_QUOTE, qualifiedSigner, extraData, clock, fw, quote.
    let mut a = Rd { b: &quoted, at: 0 };
    assert_eq!(a.u32(), 0xff54_4347);
    assert_eq!(a.u16(), 0x8018);
    let mut qn = vec![0x00, 0x0b];
    qn.extend(sha256(&[&ENDORSEMENT.to_be_bytes(), &name_of(&public)]));
    assert_eq!(a.b2(), &qn[..]);
    assert_eq!(a.b2(), b"nonce");
    a.bytes(8 + 4 + 4 + 1 + 8);
    assert_eq!(a.u32(), 1, "one PCR selection");
    let pcr16 = sha256(&[&[0u8; 32], &[0xAB; 32]]);
    assert_eq!(
        &quoted[quoted.len() - 34..],
        &[&[0u8, 32][..], &sha256(&[&pcr16])[..]].concat()[..]
    );
    assert_eq!(
        &quoted[quoted.len() - 44..quoted.len() - 34],
        &hex("00000001 000b 03 000001")[..]
    );
    // An unrestricted decryption key cannot quote: TPM_RC_KEY on handle 1.
    let srk = srk(&mut t);
    let mut p = b2(b"");
    p.extend_from_slice(SCHEME_NULL);
    p.extend_from_slice(&hex("00000000"));
    assert_eq!(
        rc(&exec(&mut t, &auth_cmd(0x158, &[srk], &[b""], &p))),
        0x19C
    );
}

#[test]
fn certify_and_certify_creation() {
    let mut t = started();
    let r = create_primary(
        &mut t,
        OWNER,
        &ecc_template(STORAGE, AES128_CFB, SCHEME_NULL, 3),
    );
    let srk = handle(&r);
    let mut rd = Rd::params(&r, true);
    let srk_public = rd.b2().to_vec();
    rd.b2();
    let creation_hash = rd.b2().to_vec();
    let ticket = r[rd.at..rd.at + 2 + 4 + 2 + 32].to_vec();
    let ak = create_loaded_key(
        &mut t,
        srk,
        b"",
        &ecc_template(SIGNING | RESTRICTED, SYM_NULL, ECDSA_SHA256, 3),
    );
    // Certify(srk by ak).
    let mut p = b2(b"q");
    p.extend_from_slice(SCHEME_NULL);
    let r = exec(&mut t, &auth_cmd(0x148, &[srk, ak], &[b"", b""], &p));
    assert_eq!(rc(&r), 0);
    let attest = Rd::params(&r, false).b2().to_vec();
    assert_eq!(&attest[4..6], &[0x80, 0x17]);
    assert!(attest
        .windows(36)
        .any(|w| w == [&[0u8, 34][..], &name_of(&srk_public)].concat()));
    // CertifyCreation with the creation ticket of the SRK.
    let mut p = b2(b"q");
    p.extend(b2(&creation_hash));
    p.extend_from_slice(SCHEME_NULL);
    p.extend_from_slice(&ticket);
    let r = exec(&mut t, &auth_cmd(0x14A, &[ak, srk], &[b""], &p));
    assert_eq!(rc(&r), 0);
    let attest = Rd::params(&r, false).b2().to_vec();
    assert_eq!(&attest[4..6], &[0x80, 0x1A]);
    // Another creation hash: TPM_RC_TICKET on parameter 4.
    let mut p = b2(b"q");
    p.extend(b2(&sha256(&[b"other"])));
    p.extend_from_slice(SCHEME_NULL);
    p.extend_from_slice(&ticket);
    assert_eq!(
        rc(&exec(&mut t, &auth_cmd(0x14A, &[ak, srk], &[b""], &p))),
        0x4E0
    );
    // GetTime by the endorsement admin.
    let mut p = b2(b"q");
    p.extend_from_slice(SCHEME_NULL);
    let r = exec(
        &mut t,
        &auth_cmd(0x14C, &[ENDORSEMENT, ak], &[b"", b""], &p),
    );
    assert_eq!(rc(&r), 0);
    let attest = Rd::params(&r, false).b2().to_vec();
    assert_eq!(&attest[4..6], &[0x80, 0x19]);
}

#[test]
fn creation_data_records_pcrs_and_certify_creation_accepts_create_tickets() {
    let mut t = started();
    let mut p = hex("00000001 000b");
    p.extend_from_slice(&[0x11; 32]);
    assert_eq!(rc(&exec(&mut t, &auth_cmd(0x182, &[16], &[b""], &p))), 0);
    let srk = srk(&mut t);
    let tmpl = ecc_template(SIGNING | RESTRICTED, SYM_NULL, ECDSA_SHA256, 3);
    let sel = hex("00000001 000b 03 000001");
    let r = exec(
        &mut t,
        &auth_cmd(0x153, &[srk], &[b""], &create_params(b"", b"", &tmpl, &sel)),
    );
    assert_eq!(rc(&r), 0);
    let mut rd = Rd::params(&r, false);
    let private = rd.b2().to_vec();
    let public = rd.b2().to_vec();
    let creation_data = rd.b2().to_vec();
    let creation_hash = rd.b2().to_vec();
    let ticket = r[rd.at..rd.at + 8 + 32].to_vec();
    assert_eq!(&ticket[2..6], &OWNER.to_be_bytes());
    let pcr16 = sha256(&[&[0u8; 32], &[0x11; 32]]);
    let mut cd = Rd {
        b: &creation_data,
        at: 0,
    };
    assert_eq!(cd.bytes(10), &sel[..]);
    assert_eq!(cd.b2(), &sha256(&[&pcr16])[..]);
    cd.bytes(1);
    assert_eq!(cd.u16(), 0x000b, "parentNameAlg");
    let ak = handle(&load(&mut t, srk, &private, &public));
    let mut p = b2(b"");
    p.extend(b2(&creation_hash));
    p.extend_from_slice(SCHEME_NULL);
    p.extend_from_slice(&ticket);
    let r = exec(&mut t, &auth_cmd(0x14A, &[ak, ak], &[b""], &p));
    assert_eq!(rc(&r), 0);
    // x509sign keys cannot TPM2_Sign: TPM_RC_ATTRIBUTES on handle 1.
    let x509 = create_loaded_key(
        &mut t,
        srk,
        b"",
        &ecc_template(SIGNING | (1 << 19), SYM_NULL, ECDSA_SHA256, 3),
    );
    let r = exec(
        &mut t,
        &auth_cmd(
            0x15D,
            &[x509],
            &[b""],
            &sign_params(&sha256(&[b"x"]), SCHEME_NULL, NULL_TICKET),
        ),
    );
    assert_eq!(rc(&r), 0x182);
}
