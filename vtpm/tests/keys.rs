//! Using keys through `Tpm::execute`: Sign, VerifySignature, HMAC, HMAC_Start, RSA_Encrypt and
//! RSA_Decrypt, ECDH_KeyGen/ZGen, ECC_Parameters, EncryptDecrypt(2), MakeCredential and
//! ActivateCredential, Import, key contexts — with signatures checked independently where
//! possible.

mod common;
use common::*;

#[test]
fn ecdsa_sign_verify_and_ticket() {
    let mut t = started();
    let srk = srk(&mut t);
    let h = create_loaded_key(
        &mut t,
        srk,
        b"k",
        &ecc_template(SIGNING, SYM_NULL, ECDSA_SHA256, 3),
    );
    let public = Rd::params(&read_public(&mut t, h), false).b2().to_vec();
    let digest = sha256(&[b"hello"]);
    let r = exec(
        &mut t,
        &auth_cmd(
            0x15D,
            &[h],
            &[b"k"],
            &sign_params(&digest, SCHEME_NULL, NULL_TICKET),
        ),
    );
    assert_eq!(rc(&r), 0);
    let mut rd = Rd::params(&r, false);
    assert_eq!(rd.u16(), 0x0018);
    assert_eq!(rd.u16(), 0x000B);
    let sr = rd.b2().to_vec();
    let ss = rd.b2().to_vec();
    p256_verify(&public, &digest, &sr, &ss);
    // VerifySignature: a TPMT_TK_VERIFIED in the owner hierarchy.
    let mut p = b2(&digest);
    p.extend_from_slice(sig_of(&r));
    let v = exec(&mut t, &plain_cmd(0x177, &[h], &p));
    assert_eq!(rc(&v), 0);
    let mut rd = Rd::params(&v, false);
    assert_eq!(rd.u16(), 0x8022);
    assert_eq!(rd.u32(), OWNER);
    assert_eq!(rd.b2().len(), 32);
    // A different digest does not verify: TPM_RC_SIGNATURE on parameter 2.
    let mut p = b2(&sha256(&[b"other"]));
    p.extend_from_slice(sig_of(&r));
    assert_eq!(rc(&exec(&mut t, &plain_cmd(0x177, &[h], &p))), 0x2DB);
    // A digest of the wrong size for the scheme: TPM_RC_SIZE on parameter 1.
    let r = exec(
        &mut t,
        &auth_cmd(
            0x15D,
            &[h],
            &[b"k"],
            &sign_params(&digest[..20], SCHEME_NULL, NULL_TICKET),
        ),
    );
    assert_eq!(rc(&r), 0x1D5);
    // A scheme the key does not have: TPM_RC_SCHEME on parameter 2.
    let r = exec(
        &mut t,
        &auth_cmd(
            0x15D,
            &[h],
            &[b"k"],
            &sign_params(&digest, &[0x00, 0x18, 0x00, 0x0C], NULL_TICKET),
        ),
    );
    assert_eq!(rc(&r), 0x2D2);
    // A storage key cannot sign: TPM_RC_KEY on handle 1.
    let r = exec(
        &mut t,
        &auth_cmd(
            0x15D,
            &[srk],
            &[b""],
            &sign_params(&digest, SCHEME_NULL, NULL_TICKET),
        ),
    );
    assert_eq!(rc(&r), 0x19C);
}

#[test]
fn restricted_keys_sign_only_with_a_hashcheck_ticket() {
    let mut t = started();
    let srk = srk(&mut t);
    let ak = create_loaded_key(
        &mut t,
        srk,
        b"",
        &ecc_template(SIGNING | RESTRICTED, SYM_NULL, ECDSA_SHA256, 3),
    );
    let digest = sha256(&[b"data"]);
    let r = exec(
        &mut t,
        &auth_cmd(
            0x15D,
            &[ak],
            &[b""],
            &sign_params(&digest, SCHEME_NULL, NULL_TICKET),
        ),
    );
    assert_eq!(rc(&r), 0x3E0, "TPM_RC_TICKET on parameter 3");
    // TPM2_Hash in the owner hierarchy issues the ticket.
    let mut p = b2(b"data");
    p.extend_from_slice(&hex("000b 40000001"));
    let h = exec(&mut t, &plain_cmd(0x17D, &[], &p));
    assert_eq!(rc(&h), 0);
    let mut rd = Rd::params(&h, false);
    assert_eq!(rd.b2(), &digest[..]);
    let ticket = h[12 + 32..].to_vec();
    let r = exec(
        &mut t,
        &auth_cmd(
            0x15D,
            &[ak],
            &[b""],
            &sign_params(&digest, SCHEME_NULL, &ticket),
        ),
    );
    assert_eq!(rc(&r), 0);
    // The ticket is for that digest only.
    let r = exec(
        &mut t,
        &auth_cmd(
            0x15D,
            &[ak],
            &[b""],
            &sign_params(&sha256(&[b"x"]), SCHEME_NULL, &ticket),
        ),
    );
    assert_eq!(rc(&r), 0x3E0);
    // Data that starts with TPM_GENERATED_VALUE gets no ticket, so it can never be signed.
    let mut p = b2(&hex("ff544347 0000"));
    p.extend_from_slice(&hex("000b 40000001"));
    let h = exec(&mut t, &plain_cmd(0x17D, &[], &p));
    let d = Rd::params(&h, false).b2().to_vec();
    let ticket = h[12 + 32..].to_vec();
    assert_eq!(&ticket[2..6], &NULL.to_be_bytes());
    let r = exec(
        &mut t,
        &auth_cmd(0x15D, &[ak], &[b""], &sign_params(&d, SCHEME_NULL, &ticket)),
    );
    assert_eq!(rc(&r), 0x3E0);
}

#[test]
fn rsa_sign_pss_and_pkcs1_encrypt_decrypt() {
    let mut t = started();
    let srk = srk(&mut t);
    let h = create_loaded_key(
        &mut t,
        srk,
        b"",
        &rsa_template(SIGNING, SYM_NULL, SCHEME_NULL, 2048),
    );
    let digest = sha256(&[b"m"]);
    for scheme in [RSASSA_SHA256, RSAPSS_SHA256] {
        let r = exec(
            &mut t,
            &auth_cmd(
                0x15D,
                &[h],
                &[b""],
                &sign_params(&digest, scheme, NULL_TICKET),
            ),
        );
        assert_eq!(rc(&r), 0);
        assert_eq!(&r[14..16], &scheme[..2]);
        let mut p = b2(&digest);
        p.extend_from_slice(sig_of(&r));
        assert_eq!(rc(&exec(&mut t, &plain_cmd(0x177, &[h], &p))), 0);
    }
    // A signing key without a scheme needs one: NULL and NULL is TPM_RC_SCHEME.
    let r = exec(
        &mut t,
        &auth_cmd(
            0x15D,
            &[h],
            &[b""],
            &sign_params(&digest, SCHEME_NULL, NULL_TICKET),
        ),
    );
    assert_eq!(rc(&r), 0x2D2);
    // An RSA decryption key: OAEP round trip with a label.
    let attrs = FIXED_TPM | FIXED_PARENT | SENSITIVE_DATA_ORIGIN | USER_WITH_AUTH | DECRYPT;
    let d = create_loaded_key(
        &mut t,
        srk,
        b"",
        &rsa_template(attrs, SYM_NULL, SCHEME_NULL, 2048),
    );
    let oaep = hex("0017 000b");
    let mut p = b2(b"secret message");
    p.extend_from_slice(&oaep);
    p.extend(b2(b"label\0"));
    let r = exec(&mut t, &plain_cmd(0x174, &[d], &p));
    assert_eq!(rc(&r), 0);
    let ct = Rd::params(&r, false).b2().to_vec();
    assert_eq!(ct.len(), 256);
    let mut p = b2(&ct);
    p.extend_from_slice(&oaep);
    p.extend(b2(b"label\0"));
    let r = exec(&mut t, &auth_cmd(0x159, &[d], &[b""], &p));
    assert_eq!(rc(&r), 0);
    assert_eq!(Rd::params(&r, false).b2(), b"secret message");
    // A label that is not NUL-terminated: TPM_RC_VALUE on parameter 3.
    let mut p = b2(&ct);
    p.extend_from_slice(&oaep);
    p.extend(b2(b"label"));
    assert_eq!(rc(&exec(&mut t, &auth_cmd(0x159, &[d], &[b""], &p))), 0x3C4);
    // The restricted storage key cannot RSA_Decrypt: TPM_RC_ATTRIBUTES.
    let rsrk = handle(&create_primary(
        &mut t,
        OWNER,
        &rsa_template(STORAGE, AES128_CFB, SCHEME_NULL, 2048),
    ));
    let mut p = b2(&ct);
    p.extend_from_slice(&oaep);
    p.extend(b2(b""));
    assert_eq!(
        rc(&exec(&mut t, &auth_cmd(0x159, &[rsrk], &[b""], &p))),
        0x182
    );
}

#[test]
fn hmac_and_hmac_sequence_agree() {
    let mut t = started();
    let srk = srk(&mut t);
    let h = create_loaded_key(&mut t, srk, b"", &keyedhash_template(SIGNING, HMAC_SHA256));
    let mut p = b2(b"some data to mac");
    p.extend_from_slice(&hex("0010"));
    let r = exec(&mut t, &auth_cmd(0x155, &[h], &[b""], &p));
    assert_eq!(rc(&r), 0);
    let mac = Rd::params(&r, false).b2().to_vec();
    assert_eq!(mac.len(), 32);
    // The wrong hash for the key's scheme: TPM_RC_VALUE on parameter 2.
    let mut p = b2(b"x");
    p.extend_from_slice(&hex("000c"));
    assert_eq!(rc(&exec(&mut t, &auth_cmd(0x155, &[h], &[b""], &p))), 0x2C4);
    // HMAC_Start, SequenceUpdate, SequenceComplete.
    let mut p = b2(b"seq");
    p.extend_from_slice(&hex("0010"));
    let r = exec(&mut t, &auth_cmd(0x15B, &[h], &[b""], &p));
    assert_eq!(rc(&r), 0);
    let seq = handle(&r);
    assert_eq!(
        rc(&exec(
            &mut t,
            &auth_cmd(0x15C, &[seq], &[b"seq"], &b2(b"some data"))
        )),
        0
    );
    let mut p = b2(b" to mac");
    p.extend_from_slice(&OWNER.to_be_bytes());
    let r = exec(&mut t, &auth_cmd(0x13E, &[seq], &[b"seq"], &p));
    assert_eq!(rc(&r), 0);
    let mut rd = Rd::params(&r, false);
    assert_eq!(rd.b2(), &mac[..]);
    assert_eq!(rd.u16(), 0x8024);
    assert_eq!(rd.u32(), NULL);
    // The HMAC key signs with the HMAC scheme and verifies.
    let digest = sha256(&[b"d"]);
    let r = exec(
        &mut t,
        &auth_cmd(
            0x15D,
            &[h],
            &[b""],
            &sign_params(&digest, SCHEME_NULL, NULL_TICKET),
        ),
    );
    assert_eq!(rc(&r), 0);
    let mut p = b2(&digest);
    p.extend_from_slice(sig_of(&r));
    assert_eq!(rc(&exec(&mut t, &plain_cmd(0x177, &[h], &p))), 0);
    // A sealed-data object is not an HMAC key: TPM_RC_KEY... sign CLEAR.
    let sealed = keyedhash_template(FIXED_TPM | FIXED_PARENT | USER_WITH_AUTH, SCHEME_NULL);
    let r = create(&mut t, srk, b"", b"data", &sealed);
    let (private, public) = private_public(&r);
    let s = handle(&load(&mut t, srk, &private, &public));
    let mut p = b2(b"x");
    p.extend_from_slice(&hex("000b"));
    assert_eq!(rc(&exec(&mut t, &auth_cmd(0x155, &[s], &[b""], &p))), 0x19C);
}

/// `TPM2B_ECC_POINT` of a P-256 public key.
fn tpm_point(pk: &p256::PublicKey) -> Vec<u8> {
    use p256::elliptic_curve::sec1::ToEncodedPoint;
    let e = pk.to_encoded_point(false);
    let mut v = b2(e.x().unwrap());
    v.extend(b2(e.y().unwrap()));
    b2(&v)
}

/// A P-256 public key from a `TPMS_ECC_POINT` (x and y as TPM2Bs).
fn p256_point(x: &[u8], y: &[u8]) -> p256::PublicKey {
    let mut sec1 = vec![4u8];
    sec1.extend(x);
    sec1.extend(y);
    p256::PublicKey::from_sec1_bytes(&sec1).unwrap()
}

/// `(x, y)` of a `TPM2B_ECC_POINT` read from `rd`.
fn read_point(rd: &mut Rd<'_>) -> (Vec<u8>, Vec<u8>) {
    let all = rd.b2();
    let mut p = Rd { b: all, at: 0 };
    (p.b2().to_vec(), p.b2().to_vec())
}

/// The scalar `x mod n` of P-256 for big-endian bytes of any length.
fn p256_scalar(b: &[u8]) -> p256::Scalar {
    use num_bigint_dig::BigUint;
    use p256::elliptic_curve::PrimeField;
    let n = BigUint::parse_bytes(
        b"ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551",
        16,
    )
    .unwrap();
    let v = (BigUint::from_bytes_be(b) % n).to_bytes_be();
    let mut f = [0u8; 32];
    f[32 - v.len()..].copy_from_slice(&v);
    p256::Scalar::from_repr(f.into()).unwrap()
}

#[test]
fn ecdaa_commit_and_signature_verify_against_the_key() {
    use p256::elliptic_curve::sec1::ToEncodedPoint;
    use p256::elliptic_curve::PrimeField;
    let mut t = started();
    // An external P-256 key with the ECDAA scheme (SHA-256, count 0), loaded with its scalar so
    // that every point of the commit can be checked.
    let d = [0x2Du8; 32];
    let dk = p256::SecretKey::from_slice(&d).unwrap();
    let q = dk.public_key();
    let e = q.to_encoded_point(false);
    let mut public = ecc_template(USER_WITH_AUTH | SIGN, SYM_NULL, &hex("001A 000B 0000"), 3);
    public.truncate(public.len() - 4);
    public.extend(b2(e.x().unwrap()));
    public.extend(b2(e.y().unwrap()));
    let mut sens = hex("0023");
    sens.extend(b2(b""));
    sens.extend(b2(b""));
    sens.extend(b2(&d));
    let mut p = b2(&sens);
    p.extend(b2(&public));
    p.extend(NULL.to_be_bytes());
    let r = exec(&mut t, &plain_cmd(0x167, &[], &p));
    assert_eq!(rc(&r), 0, "LoadExternal");
    let key = handle(&r);

    // M = (H(s2) mod p, y2): the first s2 whose hash is an x coordinate.
    let (s2, m) = (0u8..)
        .find_map(|i| {
            let x = sha256(&[&[i]]);
            let mut sec1 = vec![2u8];
            sec1.extend(&x);
            p256::PublicKey::from_sec1_bytes(&sec1)
                .ok()
                .map(|m| (vec![i], m))
        })
        .unwrap();
    let me = m.to_encoded_point(false);
    // Commit(P1 = M, s2, y2 = M.y): K = d·M, L = r·M, E = r·P1 = L.
    let mut p = tpm_point(&m);
    p.extend(b2(&s2));
    p.extend(b2(me.y().unwrap()));
    let r = exec(&mut t, &auth_cmd(0x18B, &[key], &[b""], &p));
    assert_eq!(rc(&r), 0, "Commit");
    let mut rd = Rd::params(&r, false);
    let (kx, ky) = read_point(&mut rd);
    let (lx, ly) = read_point(&mut rd);
    let (ex, ey) = read_point(&mut rd);
    let dm = (m.to_projective() * *dk.to_nonzero_scalar()).to_affine();
    let dm = dm.to_encoded_point(false);
    assert_eq!(
        (&kx[..], &ky[..]),
        (&dm.x().unwrap()[..], &dm.y().unwrap()[..]),
        "K = d·M"
    );
    assert_eq!((&lx, &ly), (&ex, &ey), "L = r·M = E");
    assert_eq!(rd.u16(), 0, "the first count after a reset");

    // Commit() with nothing: K and L empty, E = r·G; then an ECDAA signature with its count.
    let r = exec(
        &mut t,
        &auth_cmd(0x18B, &[key], &[b""], &hex("0004 0000 0000 0000 0000")),
    );
    assert_eq!(rc(&r), 0);
    let mut rd = Rd::params(&r, false);
    assert_eq!(read_point(&mut rd), (vec![], vec![]));
    assert_eq!(read_point(&mut rd), (vec![], vec![]));
    let (ex, ey) = read_point(&mut rd);
    let big_e = p256_point(&ex, &ey);
    let count = rd.u16();
    assert_eq!(count, 1);
    let digest = sha256(&[b"ecdaa"]);
    let mut scheme = hex("001A 000B");
    scheme.extend(count.to_be_bytes());
    let sign = auth_cmd(
        0x15D,
        &[key],
        &[b""],
        &sign_params(&digest, &scheme, NULL_TICKET),
    );
    let r = exec(&mut t, &sign);
    assert_eq!(rc(&r), 0, "Sign ECDAA");
    let mut rd = Rd::params(&r, false);
    assert_eq!(rd.u16(), 0x001A);
    assert_eq!(rd.u16(), 0x000B);
    let (nonce, sig_s) = (rd.b2().to_vec(), rd.b2().to_vec());
    // s·G = E + T·Q with T = H(nonce || digest) mod n.
    let tt = p256_scalar(&sha256(&[&nonce, &digest]));
    let s_scalar = p256::Scalar::from_repr(p256::FieldBytes::clone_from_slice(&sig_s)).unwrap();
    let lhs = (p256::ProjectivePoint::GENERATOR * s_scalar).to_affine();
    let rhs = (big_e.to_projective() + q.to_projective() * tt).to_affine();
    assert_eq!(lhs, rhs, "the Schnorr equation");
    // The count is used up; and VerifySignature cannot check an ECDAA signature.
    assert_eq!(rc(&exec(&mut t, &sign)), 0x084);
    let mut p = b2(&digest);
    p.extend(hex("001A 000B"));
    p.extend(b2(&nonce));
    p.extend(b2(&sig_s));
    assert_eq!(rc(&exec(&mut t, &plain_cmd(0x177, &[key], &p))), 0x2D2);
    // An ECDSA key cannot commit: TPM_RC_SCHEME on the handle.
    let parent = srk(&mut t);
    let ecdsa = create_loaded_key(
        &mut t,
        parent,
        b"",
        &ecc_template(SIGNING, SYM_NULL, ECDSA_SHA256, 3),
    );
    assert_eq!(
        rc(&exec(
            &mut t,
            &auth_cmd(0x18B, &[ecdsa], &[b""], &hex("0004 0000 0000 0000 0000"))
        )),
        0x192
    );
    // s2 without y2: TPM_RC_SIZE on y2.
    let mut p = hex("0004 0000 0000");
    p.extend(b2(&s2));
    p.extend(b2(b""));
    assert_eq!(
        rc(&exec(&mut t, &auth_cmd(0x18B, &[key], &[b""], &p))),
        0x3D5
    );
}

#[test]
fn two_phase_key_exchange_agrees_with_the_peer() {
    use p256::elliptic_curve::sec1::ToEncodedPoint;
    let mut t = started();
    let srk = srk(&mut t);
    let attrs = FIXED_TPM | FIXED_PARENT | SENSITIVE_DATA_ORIGIN | USER_WITH_AUTH | DECRYPT;
    let template = ecc_template(attrs, SYM_NULL, &hex("0019 000b"), 3);
    let k = create_loaded_key(&mut t, srk, b"", &template);
    let r = exec(&mut t, &plain_cmd(0x173, &[k], &[])); // ReadPublic
    let mut rd = Rd::params(&r, false);
    let public = rd.b2().to_vec();
    let (qx, qy) = (
        &public[public.len() - 68 + 2..public.len() - 34],
        &public[public.len() - 32..],
    );
    let qs_a = p256_point(qx, qy);

    // The TPM's ephemeral key.
    let r = exec(&mut t, &plain_cmd(0x18E, &[], &[0, 3]));
    assert_eq!(rc(&r), 0);
    let mut rd = Rd::params(&r, false);
    let (ex, ey) = read_point(&mut rd);
    let qe_a = p256_point(&ex, &ey);
    let counter = rd.u16();

    // The peer's static and ephemeral keys.
    let ds_b = p256::SecretKey::from_slice(&[0x21; 32]).unwrap();
    let de_b = p256::SecretKey::from_slice(&[0x43; 32]).unwrap();
    let mut p = tpm_point(&ds_b.public_key());
    p.extend(tpm_point(&de_b.public_key()));
    p.extend(hex("0019"));
    p.extend(counter.to_be_bytes());
    let zgen = auth_cmd(0x18D, &[k], &[b""], &p);
    let r = exec(&mut t, &zgen);
    assert_eq!(rc(&r), 0);
    let mut rd = Rd::params(&r, false);
    let (z1x, z1y) = read_point(&mut rd);
    let (z2x, z2y) = read_point(&mut rd);
    let shared = |d: &p256::SecretKey, q: &p256::PublicKey| {
        let z = (q.to_projective() * *d.to_nonzero_scalar()).to_affine();
        let e = z.to_encoded_point(false);
        (e.x().unwrap().to_vec(), e.y().unwrap().to_vec())
    };
    assert_eq!((z1x, z1y), shared(&ds_b, &qs_a), "Z1 = dsB·QsA = dsA·QsB");
    assert_eq!((z2x, z2y), shared(&de_b, &qe_a), "Z2 = deB·QeA = deA·QeB");

    // The count is used up: TPM_RC_VALUE on parameter 4; so is one never committed.
    assert_eq!(rc(&exec(&mut t, &zgen)), 0x4C4);
    // ECMQV is not implemented: TPM_RC_SCHEME on parameter 3.
    let mut p = tpm_point(&ds_b.public_key());
    p.extend(tpm_point(&de_b.public_key()));
    p.extend(hex("001D"));
    p.extend(counter.to_be_bytes());
    assert_eq!(rc(&exec(&mut t, &auth_cmd(0x18D, &[k], &[b""], &p))), 0x3D2);
    // A storage key cannot: TPM_RC_ATTRIBUTES on handle 1.
    let r = exec(&mut t, &plain_cmd(0x18E, &[], &[0, 3]));
    let mut p = tpm_point(&ds_b.public_key());
    p.extend(tpm_point(&de_b.public_key()));
    p.extend(hex("0019"));
    p.extend(&r[r.len() - 2..]); // the new counter
    assert_eq!(
        rc(&exec(&mut t, &auth_cmd(0x18D, &[srk], &[b""], &p))),
        0x182
    );
    // An unsupported curve: TPM_RC_CURVE on parameter 1.
    assert_eq!(rc(&exec(&mut t, &plain_cmd(0x18E, &[], &[0, 0x10]))), 0x1E6);
}

#[test]
fn ecdh_keygen_and_zgen_agree() {
    let mut t = started();
    let srk = srk(&mut t);
    let attrs = FIXED_TPM | FIXED_PARENT | SENSITIVE_DATA_ORIGIN | USER_WITH_AUTH | DECRYPT;
    let k = create_loaded_key(
        &mut t,
        srk,
        b"",
        &ecc_template(attrs, SYM_NULL, &hex("0019 000b"), 3),
    );
    let r = exec(&mut t, &plain_cmd(0x163, &[k], &[]));
    assert_eq!(rc(&r), 0);
    let mut rd = Rd::params(&r, false);
    let z = rd.b2().to_vec();
    let pub_point = rd.b2().to_vec();
    let r = exec(&mut t, &auth_cmd(0x154, &[k], &[b""], &b2(&pub_point)));
    assert_eq!(rc(&r), 0);
    assert_eq!(Rd::params(&r, false).b2(), &z[..]);
    // A point off the curve: TPM_RC_ECC_POINT on parameter 1.
    let mut bad = pub_point.clone();
    let n = bad.len();
    bad[n - 1] ^= 1;
    assert_eq!(
        rc(&exec(&mut t, &auth_cmd(0x154, &[k], &[b""], &b2(&bad)))),
        0x1E7
    );
    // Any ECC key serves KeyGen (the storage key too); ZGen needs an unrestricted decryption
    // key: TPM_RC_ATTRIBUTES; a key that is not ECC: TPM_RC_KEY.
    assert_eq!(rc(&exec(&mut t, &plain_cmd(0x163, &[srk], &[]))), 0);
    let hk = create_loaded_key(&mut t, srk, b"", &keyedhash_template(SIGNING, HMAC_SHA256));
    assert_eq!(rc(&exec(&mut t, &plain_cmd(0x163, &[hk], &[]))), 0x19C);
    assert_eq!(
        rc(&exec(
            &mut t,
            &auth_cmd(0x154, &[srk], &[b""], &b2(&pub_point))
        )),
        0x182
    );
    // ECC_Parameters(P-256): the generator and the order.
    let r = exec(&mut t, &plain_cmd(0x178, &[], &[0, 3]));
    assert_eq!(rc(&r), 0);
    let mut rd = Rd::params(&r, false);
    assert_eq!(rd.u16(), 3);
    assert_eq!(rd.u16(), 256);
    assert_eq!(rd.u16(), 0x10);
    assert_eq!(rd.u16(), 0x10);
    for _ in 0..3 {
        rd.b2();
    }
    assert_eq!(
        rd.b2(),
        &hex("6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296")[..]
    );
    rd.b2();
    assert_eq!(
        rd.b2(),
        &hex("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551")[..]
    );
    assert_eq!(rd.b2(), &[1]);
    assert_eq!(rc(&exec(&mut t, &plain_cmd(0x178, &[], &[0, 5]))), 0x1E6);
}

#[test]
fn encrypt_decrypt_round_trips_and_checks_modes() {
    let mut t = started();
    let srk = srk(&mut t);
    let attrs = FIXED_TPM | FIXED_PARENT | SENSITIVE_DATA_ORIGIN | USER_WITH_AUTH | DECRYPT | SIGN;
    let k = create_loaded_key(&mut t, srk, b"", &sym_template(attrs, 128, 0x0010));
    let iv = [7u8; 16];
    let ed2 = |t: &mut T, data: &[u8], decrypt: u8, mode: u16, iv: &[u8]| {
        let mut p = b2(data);
        p.push(decrypt);
        p.extend_from_slice(&mode.to_be_bytes());
        p.extend(b2(iv));
        exec(t, &auth_cmd(0x193, &[k], &[b""], &p))
    };
    let r = ed2(&mut t, b"thirty-two bytes of plain text!!", 0, 0x0042, &iv);
    assert_eq!(rc(&r), 0);
    let mut rd = Rd::params(&r, false);
    let ct = rd.b2().to_vec();
    let iv_out = rd.b2().to_vec();
    assert_eq!(iv_out, ct[16..]);
    let r = ed2(&mut t, &ct, 1, 0x0042, &iv);
    assert_eq!(
        Rd::params(&r, false).b2(),
        b"thirty-two bytes of plain text!!"
    );
    // EncryptDecrypt (the first form) gives the same ciphertext.
    let mut p = vec![0u8];
    p.extend_from_slice(&hex("0042"));
    p.extend(b2(&iv));
    p.extend(b2(b"thirty-two bytes of plain text!!"));
    let r = exec(&mut t, &auth_cmd(0x164, &[k], &[b""], &p));
    assert_eq!(rc(&r), 0);
    assert_eq!(Rd::params(&r, false).b2(), &ct[..]);
    // The key has no mode, so one must be given: TPM_RC_MODE on parameter 3 (EncryptDecrypt2).
    assert_eq!(rc(&ed2(&mut t, b"x", 0, 0x0010, &iv)), 0x3C9);
    // CBC needs whole blocks (inData is parameter 1); the IV must be a block (parameter 4).
    assert_eq!(rc(&ed2(&mut t, b"short", 0, 0x0042, &iv)), 0x1D5);
    assert_eq!(rc(&ed2(&mut t, b"x", 0, 0x0043, &iv[..8])), 0x4D5);
    // ECB takes an empty IV.
    assert_eq!(rc(&ed2(&mut t, &[0u8; 16], 0, 0x0044, &[])), 0);
    // A storage key is not a symmetric key: TPM_RC_KEY.
    let mut p = b2(b"x");
    p.extend_from_slice(&hex("00 0043"));
    p.extend(b2(&iv));
    assert_eq!(
        rc(&exec(&mut t, &auth_cmd(0x193, &[srk], &[b""], &p))),
        0x19C
    );
}

#[test]
fn key_contexts_save_and_load() {
    let mut t = started();
    let srk = srk(&mut t);
    let k = create_loaded_key(
        &mut t,
        srk,
        b"pw",
        &ecc_template(SIGNING, SYM_NULL, ECDSA_SHA256, 3),
    );
    let r = exec(&mut t, &plain_cmd(0x162, &[k], &[]));
    assert_eq!(rc(&r), 0);
    let ctx = r[10..].to_vec();
    assert_eq!(&ctx[8..12], &0x8000_0000u32.to_be_bytes());
    assert_eq!(&ctx[12..16], &OWNER.to_be_bytes());
    assert_eq!(
        rc(&exec(&mut t, &plain_cmd(0x165, &[], &k.to_be_bytes()))),
        0
    );
    let r = exec(&mut t, &plain_cmd(0x161, &[], &ctx));
    assert_eq!(rc(&r), 0);
    let k2 = handle(&r);
    // The reloaded key signs with its password.
    let digest = sha256(&[b"x"]);
    let r = exec(
        &mut t,
        &auth_cmd(
            0x15D,
            &[k2],
            &[b"pw"],
            &sign_params(&digest, SCHEME_NULL, NULL_TICKET),
        ),
    );
    assert_eq!(rc(&r), 0);
    // A tampered context is rejected.
    let mut bad = ctx.clone();
    let n = bad.len();
    bad[n - 1] ^= 1;
    assert_ne!(rc(&exec(&mut t, &plain_cmd(0x161, &[], &bad))), 0);
}

#[test]
fn make_and_activate_credential_under_a_storage_key() {
    let mut t = started();
    let srk = srk(&mut t);
    let ak = create_loaded_key(
        &mut t,
        srk,
        b"",
        &ecc_template(SIGNING | RESTRICTED, SYM_NULL, ECDSA_SHA256, 3),
    );
    let other = create_loaded_key(
        &mut t,
        srk,
        b"",
        &ecc_template(SIGNING, SYM_NULL, ECDSA_SHA256, 3),
    );
    let rp = read_public(&mut t, ak);
    let mut rd = Rd::params(&rp, false);
    rd.b2();
    let name = rd.b2().to_vec();
    let mut p = b2(b"credential");
    p.extend(b2(&name));
    let r = exec(&mut t, &plain_cmd(0x168, &[srk], &p));
    assert_eq!(rc(&r), 0);
    let mut rd = Rd::params(&r, false);
    let blob = rd.b2().to_vec();
    let secret = rd.b2().to_vec();
    let activate = |t: &mut T, obj: u32, blob: &[u8], secret: &[u8]| {
        let mut p = b2(blob);
        p.extend(b2(secret));
        exec(t, &auth_cmd(0x147, &[obj, srk], &[b"", b""], &p))
    };
    let r = activate(&mut t, ak, &blob, &secret);
    assert_eq!(rc(&r), 0);
    assert_eq!(Rd::params(&r, false).b2(), b"credential");
    // For another object, or tampered: TPM_RC_INTEGRITY on parameter 1.
    assert_eq!(rc(&activate(&mut t, other, &blob, &secret)), 0x1DF);
    let mut bad = blob.clone();
    let n = bad.len();
    bad[n - 1] ^= 1;
    assert_eq!(rc(&activate(&mut t, ak, &bad, &secret)), 0x1DF);
    // A secret that is not a point on the curve: TPM_RC_ECC_POINT on parameter 2.
    let mut bad = secret.clone();
    bad[5] ^= 1;
    assert_eq!(rc(&activate(&mut t, ak, &blob, &bad)), 0x2E7);
    // A credential longer than the key's nameAlg digest: TPM_RC_SIZE on parameter 1.
    let mut p = b2(&[1u8; 33]);
    p.extend(b2(&name));
    assert_eq!(rc(&exec(&mut t, &plain_cmd(0x168, &[srk], &p))), 0x1D5);
    // A signing key cannot protect credentials: TPM_RC_TYPE on handle 1.
    let mut p = b2(b"c");
    p.extend(b2(&name));
    assert_eq!(rc(&exec(&mut t, &plain_cmd(0x168, &[ak], &p))), 0x18A);
}

/// An ECC P-256 signing key's public area (fixedTPM/fixedParent CLEAR) for scalar `d`.
fn external_ecc_public(d: &[u8; 32]) -> Vec<u8> {
    use p256::elliptic_curve::sec1::ToEncodedPoint;
    let sk = p256::SecretKey::from_slice(d).unwrap();
    let pt = sk.public_key().to_encoded_point(false);
    let attrs = USER_WITH_AUTH | SIGN;
    let mut t = ecc_template(attrs, SYM_NULL, ECDSA_SHA256, 3);
    t.truncate(t.len() - 4);
    t.extend(b2(pt.x().unwrap()));
    t.extend(b2(pt.y().unwrap()));
    t
}

#[test]
fn rewrap_moves_a_duplicate_between_parents() {
    let mut t = started();
    let srk = srk(&mut t);
    let other = create_loaded_key(
        &mut t,
        srk,
        b"",
        &rsa_template(STORAGE, AES128_CFB, SCHEME_NULL, 2048),
    );
    // A software-made duplicate without wrappers: TPM2B_SENSITIVE of an external P-256 key.
    let d = [0x11u8; 32];
    let public = external_ecc_public(&d);
    let name = name_of(&public);
    let mut sens = hex("0023");
    sens.extend(b2(b"pw"));
    sens.extend(b2(&[0u8; 32]));
    sens.extend(b2(&d));
    let blob = b2(&sens);
    let rewrap = |t: &mut T, old: u32, new: u32, dup: &[u8], seed: &[u8]| {
        let mut p = b2(dup);
        p.extend(b2(&name));
        p.extend(b2(seed));
        exec(t, &auth_cmd(0x152, &[old, new], &[b""], &p))
    };
    let import = |t: &mut T, parent: u32, dup: &[u8], seed: &[u8]| {
        let mut p = b2(b"");
        p.extend(b2(&public));
        p.extend(b2(dup));
        p.extend(b2(seed));
        p.extend_from_slice(SYM_NULL);
        let r = exec(t, &auth_cmd(0x156, &[parent], &[b""], &p));
        assert_eq!(rc(&r), 0, "import");
        let private = Rd::params(&r, false).b2().to_vec();
        let r = load(t, parent, &private, &public);
        assert_eq!(rc(&r), 0, "load");
        assert_eq!(rc(&exec(t, &plain_cmd(0x165, &[handle(&r)], &[]))), 0);
    };
    // Outer wrapper on for the SRK, then moved to the RSA parent, then off again.
    let r = rewrap(&mut t, NULL, srk, &blob, b"");
    assert_eq!(rc(&r), 0);
    let mut rd = Rd::params(&r, false);
    let (dup1, seed1) = (rd.b2().to_vec(), rd.b2().to_vec());
    assert_ne!(dup1, blob);
    import(&mut t, srk, &dup1, &seed1);
    let r = rewrap(&mut t, srk, other, &dup1, &seed1);
    assert_eq!(rc(&r), 0);
    let mut rd = Rd::params(&r, false);
    let (dup2, seed2) = (rd.b2().to_vec(), rd.b2().to_vec());
    assert_eq!(seed2.len(), 256, "a seed encrypted to the RSA-2048 parent");
    import(&mut t, other, &dup2, &seed2);
    let r = rewrap(&mut t, other, NULL, &dup2, &seed2);
    assert_eq!(rc(&r), 0);
    let mut rd = Rd::params(&r, false);
    assert_eq!(rd.b2(), &blob[..], "the inner blob comes back unchanged");
    assert_eq!(rd.b2(), &[] as &[u8]);

    // A seed without an old parent, or none with one: TPM_RC_HANDLE on oldParent.
    assert_eq!(rc(&rewrap(&mut t, NULL, srk, &blob, &seed1)), 0x18B);
    assert_eq!(rc(&rewrap(&mut t, srk, NULL, &dup1, b"")), 0x18B);
    // A seed that is not the SRK's: TPM_RC_VALUE on inSymSeed.
    assert_eq!(rc(&rewrap(&mut t, srk, NULL, &dup1, &seed2)), 0x3C4);
    // A tampered outer wrapper: TPM_RC_INTEGRITY on inDuplicate.
    let mut bad = dup1.clone();
    let n = bad.len();
    bad[n - 1] ^= 1;
    assert_eq!(rc(&rewrap(&mut t, srk, NULL, &bad, &seed1)), 0x1DF);
    // A new parent that is not a storage key: TPM_RC_TYPE on newParent.
    let signer = create_loaded_key(
        &mut t,
        srk,
        b"",
        &ecc_template(SIGNING, SYM_NULL, ECDSA_SHA256, 3),
    );
    assert_eq!(rc(&rewrap(&mut t, NULL, signer, &blob, b"")), 0x28A);
}

#[test]
fn import_of_an_unwrapped_duplicate() {
    let mut t = started();
    let srk = srk(&mut t);
    let d = [0x11u8; 32];
    let public = external_ecc_public(&d);
    let seed = [0u8; 32];
    let mut sens = hex("0023");
    sens.extend(b2(b"pw"));
    sens.extend(b2(&seed));
    sens.extend(b2(&d));
    let import = |t: &mut T, key: &[u8], public: &[u8], dup: &[u8], sym: &[u8]| {
        let mut p = b2(key);
        p.extend(b2(public));
        p.extend(b2(dup));
        p.extend(b2(b""));
        p.extend_from_slice(sym);
        exec(t, &auth_cmd(0x156, &[srk], &[b""], &p))
    };
    let r = import(&mut t, b"", &public, &b2(&sens), SYM_NULL);
    assert_eq!(rc(&r), 0);
    let private = Rd::params(&r, false).b2().to_vec();
    let r = load(&mut t, srk, &private, &public);
    assert_eq!(rc(&r), 0);
    let h = handle(&r);
    let digest = sha256(&[b"imported"]);
    let r = exec(
        &mut t,
        &auth_cmd(
            0x15D,
            &[h],
            &[b"pw"],
            &sign_params(&digest, SCHEME_NULL, NULL_TICKET),
        ),
    );
    assert_eq!(rc(&r), 0);
    let mut rd = Rd::params(&r, false);
    rd.u32();
    let (sr, ss) = (rd.b2().to_vec(), rd.b2().to_vec());
    p256_verify(&public, &digest, &sr, &ss);
    // A scalar that is not the public key's: TPM_RC_BINDING.
    let mut bad = sens.clone();
    let n = bad.len();
    bad[n - 1] ^= 1;
    assert_eq!(
        rc(&import(&mut t, b"", &public, &b2(&bad), SYM_NULL)),
        0x0A5
    );
    // fixedTPM objects are never imported: TPM_RC_ATTRIBUTES on objectPublic.
    let mut fixed = public.clone();
    fixed[7] |= 0x12;
    assert_eq!(
        rc(&import(&mut t, b"", &fixed, &b2(&sens), SYM_NULL)),
        0x2C2
    );
    // A key without an inner wrapping algorithm: TPM_RC_SIZE on encryptionKey.
    assert_eq!(
        rc(&import(&mut t, &[1; 16], &public, &b2(&sens), SYM_NULL)),
        0x1D5
    );
    // An inner wrap whose integrity does not match: TPM_RC_INTEGRITY on duplicate. The TPM
    // itself encrypts (AES-128-CFB, zero IV) with an external key of known value.
    let key = [7u8; 16];
    let sym_seed = [9u8; 32];
    let mut sym = sym_template(USER_WITH_AUTH | DECRYPT | SIGN, 128, 0x0043);
    sym.truncate(sym.len() - 2);
    sym.extend(b2(&sha256(&[&sym_seed, &key])));
    let mut ks = hex("0025");
    ks.extend(b2(b""));
    ks.extend(b2(&sym_seed));
    ks.extend(b2(&key));
    let mut p = b2(&ks);
    p.extend(b2(&sym));
    p.extend(NULL.to_be_bytes());
    let aes = handle(&exec(&mut t, &plain_cmd(0x167, &[], &p)));
    let encrypt = |t: &mut T, plain: &[u8]| {
        let mut p = b2(plain);
        p.extend_from_slice(&hex("00 0043"));
        p.extend(b2(&[0u8; 16]));
        let r = exec(t, &auth_cmd(0x193, &[aes], &[b""], &p));
        assert_eq!(rc(&r), 0);
        Rd::params(&r, false).b2().to_vec()
    };
    let mut plain = b2(&[0u8; 32]);
    plain.extend(b2(&sens));
    let wrapped = encrypt(&mut t, &plain);
    assert_eq!(
        rc(&import(&mut t, &key, &public, &wrapped, AES128_CFB)),
        0x3DF
    );
    // With the right digest the same inner wrap imports.
    let mut plain = b2(&sha256(&[&b2(&sens), &name_of(&public)]));
    plain.extend(b2(&sens));
    let wrapped = encrypt(&mut t, &plain);
    assert_eq!(rc(&import(&mut t, &key, &public, &wrapped, AES128_CFB)), 0);
    // A TPM2B_SENSITIVE whose size disagrees: TPM_RC_SIZE on duplicate.
    let mut short = b2(&sens);
    short[1] -= 1;
    assert_eq!(rc(&import(&mut t, b"", &public, &short, SYM_NULL)), 0x3D5);
}

#[test]
fn hmac_sequence_survives_context_save_and_load() {
    let mut t = started();
    let srk = srk(&mut t);
    let h = create_loaded_key(&mut t, srk, b"", &keyedhash_template(SIGNING, HMAC_SHA256));
    let mut p = b2(&[0x5a; 100]);
    p.extend_from_slice(&hex("0010"));
    let r = exec(&mut t, &auth_cmd(0x155, &[h], &[b""], &p));
    let mac = Rd::params(&r, false).b2().to_vec();
    let mut p = b2(b"");
    p.extend_from_slice(&hex("000b"));
    let seq = handle(&exec(&mut t, &auth_cmd(0x15B, &[h], &[b""], &p)));
    assert_eq!(
        rc(&exec(
            &mut t,
            &auth_cmd(0x15C, &[seq], &[b""], &b2(&[0x5a; 70]))
        )),
        0
    );
    let r = exec(&mut t, &plain_cmd(0x162, &[seq], &[]));
    assert_eq!(rc(&r), 0);
    let ctx = r[10..].to_vec();
    assert_eq!(
        rc(&exec(&mut t, &plain_cmd(0x165, &[], &seq.to_be_bytes()))),
        0
    );
    let seq2 = handle(&exec(&mut t, &plain_cmd(0x161, &[], &ctx)));
    let mut p = b2(&[0x5a; 30]);
    p.extend_from_slice(&NULL.to_be_bytes());
    let r = exec(&mut t, &auth_cmd(0x13E, &[seq2], &[b""], &p));
    assert_eq!(rc(&r), 0);
    assert_eq!(Rd::params(&r, false).b2(), &mac[..]);
}
