//! Objects through `Tpm::execute`, byte by byte: CreatePrimary, Create, Load, CreateLoaded,
//! LoadExternal, ReadPublic, Unseal, ObjectChangeAuth, EvictControl, and the hostile cases.

mod common;
use common::*;

#[test]
fn create_primary_returns_public_name_creation_data_and_ticket() {
    let mut t = started();
    let template = ecc_template(STORAGE, AES128_CFB, SCHEME_NULL, 3);
    let r = create_primary(&mut t, OWNER, &template);
    assert_eq!(rc(&r), 0);
    assert_eq!(handle(&r), 0x8000_0000);
    let mut rd = Rd::params(&r, true);
    let public = rd.b2().to_vec();
    let creation_data = rd.b2().to_vec();
    let creation_hash = rd.b2().to_vec();
    assert_eq!(rd.u16(), 0x8021, "TPM_ST_CREATION");
    assert_eq!(rd.u32(), OWNER);
    assert_eq!(rd.b2().len(), 32);
    let name = rd.b2().to_vec();
    assert_eq!(name, name_of(&public));
    assert_eq!(creation_hash, sha256(&[&creation_data]));
    // The template up to `unique`, then the P-256 point.
    assert_eq!(
        &public[..template.len() - 4],
        &template[..template.len() - 4]
    );
    assert_eq!(public.len(), template.len() - 4 + 2 + 32 + 2 + 32);
    // TPMS_CREATION_DATA: empty PCR selection, digest of nothing, locality 0, parent = owner.
    let mut cd = Rd {
        b: &creation_data,
        at: 0,
    };
    assert_eq!(cd.u32(), 0);
    assert_eq!(cd.b2(), &sha256(&[])[..]);
    assert_eq!(cd.bytes(1), &[1]);
    assert_eq!(cd.u16(), 0x0010);
    assert_eq!(cd.b2(), &OWNER.to_be_bytes());
    assert_eq!(cd.b2(), &OWNER.to_be_bytes());
    assert_eq!(cd.b2(), b"outside");
    // ReadPublic: the same area and Name; QN = 000b || H(owner || Name).
    let r = read_public(&mut t, 0x8000_0000);
    assert_eq!(rc(&r), 0);
    let mut rd = Rd::params(&r, false);
    assert_eq!(rd.b2(), &public[..]);
    assert_eq!(rd.b2(), &name[..]);
    let mut qn = vec![0x00, 0x0b];
    qn.extend(sha256(&[&OWNER.to_be_bytes(), &name]));
    assert_eq!(rd.b2(), &qn[..]);
}

#[test]
fn primary_keys_are_a_function_of_seed_and_template() {
    let mut t = started();
    let template = ecc_template(STORAGE, AES128_CFB, SCHEME_NULL, 3);
    let a = create_primary(&mut t, OWNER, &template);
    let b = create_primary(&mut t, OWNER, &template);
    let pa = Rd::params(&a, true).b2().to_vec();
    let pb = Rd::params(&b, true).b2().to_vec();
    assert_eq!(pa, pb);
    // Another hierarchy has another seed; another unique is another key.
    let e = create_primary(&mut t, ENDORSEMENT, &template);
    assert_ne!(Rd::params(&e, true).b2(), &pa[..]);
    let mut other = template.clone();
    let n = other.len();
    other.splice(n - 4.., [0, 1, 7, 0, 0]);
    let o = create_primary(&mut t, OWNER, &other);
    assert_eq!(rc(&o), 0);
    assert_ne!(Rd::params(&o, true).b2(), &pa[..]);
    // A TPM manufactured from the same entropy derives the same key.
    let mut t2 = started();
    let c = create_primary(&mut t2, OWNER, &template);
    assert_eq!(Rd::params(&c, true).b2(), &pa[..]);
}

#[test]
fn rsa_primary_and_supported_sizes() {
    let mut t = started();
    let r = create_primary(
        &mut t,
        OWNER,
        &rsa_template(STORAGE, AES128_CFB, SCHEME_NULL, 2048),
    );
    assert_eq!(rc(&r), 0);
    let public = Rd::params(&r, true).b2().to_vec();
    let n = &public[public.len() - 256..];
    assert!(n[0] >= 0x80);
    assert_eq!(&public[public.len() - 258..public.len() - 256], &[1, 0]);
    // RSA-4096 is not a TPMI_RSA_KEY_BITS: TPM_RC_VALUE on inPublic.
    let r = create_primary(
        &mut t,
        OWNER,
        &rsa_template(SIGNING, SYM_NULL, RSASSA_SHA256, 4096),
    );
    assert_eq!(rc(&r), 0x2C4);
    // An unknown curve: TPM_RC_CURVE on inPublic.
    let r = create_primary(
        &mut t,
        OWNER,
        &ecc_template(SIGNING, SYM_NULL, ECDSA_SHA256, 0x10),
    );
    assert_eq!(rc(&r), 0x2E6);
    // P-384.
    let r = create_primary(
        &mut t,
        OWNER,
        &ecc_template(SIGNING, SYM_NULL, ECDSA_SHA256, 4),
    );
    assert_eq!(rc(&r), 0);
}

#[test]
fn attribute_checks_follow_the_reference() {
    let mut t = started();
    let cases: &[(Vec<u8>, u32)] = &[
        // fixedTPM without fixedParent.
        (
            ecc_template(SIGNING & !FIXED_PARENT, SYM_NULL, ECDSA_SHA256, 3),
            0x2C2,
        ),
        // restricted with sign and decrypt both set.
        (
            ecc_template(STORAGE | SIGN, AES128_CFB, SCHEME_NULL, 3),
            0x2C2,
        ),
        // An asymmetric key cannot have its private part provided: sensitiveDataOrigin CLEAR.
        (
            ecc_template(SIGNING & !SENSITIVE_DATA_ORIGIN, SYM_NULL, ECDSA_SHA256, 3),
            0x2C2,
        ),
        // A restricted signing key needs a signing scheme.
        (
            ecc_template(SIGNING | RESTRICTED, SYM_NULL, SCHEME_NULL, 3),
            0x2D2,
        ),
        // A storage key needs a symmetric algorithm.
        (ecc_template(STORAGE, SYM_NULL, SCHEME_NULL, 3), 0x2D6),
        // A signing key may not have one.
        (ecc_template(SIGNING, AES128_CFB, ECDSA_SHA256, 3), 0x2D6),
        // A signing key with a decryption scheme.
        (
            ecc_template(SIGNING, SYM_NULL, &[0x00, 0x19, 0x00, 0x0B], 3),
            0x2D2,
        ),
        // RSA signing key with an RSA decryption scheme.
        (rsa_template(SIGNING, SYM_NULL, &[0x00, 0x15], 2048), 0x2D2),
        // ECSCHNORR is not implemented.
        (
            ecc_template(SIGNING, SYM_NULL, &[0x00, 0x1C, 0x00, 0x0B], 3),
            0x2D2,
        ),
        // A data object (neither sign nor decrypt) whose data the TPM would make.
        (
            keyedhash_template(
                FIXED_TPM | FIXED_PARENT | SENSITIVE_DATA_ORIGIN | USER_WITH_AUTH,
                SCHEME_NULL,
            ),
            0x2C2,
        ),
    ];
    for (template, want) in cases {
        let r = create_primary(&mut t, OWNER, template);
        assert_eq!(rc(&r), *want, "template {}", hex::encode(template));
    }
    // authPolicy of the wrong size: TPM_RC_SIZE on inPublic.
    let mut bad = ecc_template(SIGNING, SYM_NULL, ECDSA_SHA256, 3);
    bad.splice(8..10, [0, 3, 1, 2, 3]);
    assert_eq!(rc(&create_primary(&mut t, OWNER, &bad)), 0x2D5);
    // An authValue longer than the nameAlg digest: TPM_RC_SIZE on inSensitive.
    let template = ecc_template(SIGNING, SYM_NULL, ECDSA_SHA256, 3);
    let r = exec(
        &mut t,
        &auth_cmd(
            0x131,
            &[OWNER],
            &[b""],
            &create_params(&[7; 33], b"", &template, &[]),
        ),
    );
    assert_eq!(rc(&r), 0x1D5);
    // sensitive.data over 128 octets: TPM_RC_SIZE on inSensitive (unmarshal).
    let r = exec(
        &mut t,
        &auth_cmd(
            0x131,
            &[OWNER],
            &[b""],
            &create_params(b"", &[1; 129], &template, &[]),
        ),
    );
    assert_eq!(rc(&r), 0x1D5);
    // Trailing bytes in inPublic: TPM_RC_SIZE.
    let mut long = b2(&template);
    long[1] += 1;
    long.push(0);
    let mut p = sensitive_create(b"", b"");
    p.extend(long);
    p.extend(b2(b""));
    p.extend(0u32.to_be_bytes());
    assert_eq!(
        rc(&exec(&mut t, &auth_cmd(0x131, &[OWNER], &[b""], &p))),
        0x2D5
    );
}

#[test]
fn create_load_round_trip_and_wrong_parent() {
    let mut t = started();
    let srk = srk(&mut t);
    let template = ecc_template(SIGNING, SYM_NULL, ECDSA_SHA256, 3);
    let r = create(&mut t, srk, b"key", b"", &template);
    assert_eq!(rc(&r), 0);
    let (private, public) = private_public(&r);
    // integrity (2 + 32) || iv (2 + 16) || encrypted TPM2B_SENSITIVE.
    assert_eq!(&private[..2], &[0, 32]);
    assert_eq!(&private[34..36], &[0, 16]);
    let r = load(&mut t, srk, &private, &public);
    assert_eq!(rc(&r), 0);
    let h = handle(&r);
    assert_eq!(Rd::params(&r, true).b2(), &name_of(&public)[..]);
    assert_eq!(rc(&read_public(&mut t, h)), 0);
    // The signing key is not a parent: TPM_RC_TYPE on handle 1.
    let p = create_params(b"", b"", &template, &[]);
    assert_eq!(
        rc(&exec(&mut t, &auth_cmd(0x153, &[h], &[b"key"], &p))),
        0x18A
    );
    let mut p = b2(&private);
    p.extend(b2(&public));
    assert_eq!(
        rc(&exec(&mut t, &auth_cmd(0x157, &[h], &[b"key"], &p))),
        0x18A
    );
    // With the wrong password the authorization fails first (DA-protected key).
    assert_eq!(rc(&exec(&mut t, &auth_cmd(0x157, &[h], &[b""], &p))), 0x98E);
    // A child of a fixedTPM parent must be fixedTPM/fixedParent consistently, and a non-
    // duplicable storage child must match its parent's nameAlg and symmetric algorithm.
    let mut child = ecc_template(STORAGE, AES128_CFB, SCHEME_NULL, 3);
    child[2..4].copy_from_slice(&[0x00, 0x0C]);
    assert_eq!(rc(&create(&mut t, srk, b"", b"", &child)), 0x2C3);
    let child = ecc_template(
        STORAGE,
        &[0x00, 0x06, 0x01, 0x00, 0x00, 0x43],
        SCHEME_NULL,
        3,
    );
    assert_eq!(rc(&create(&mut t, srk, b"", b"", &child)), 0x2D6);
    // Data with sensitiveDataOrigin SET for an ordinary object.
    assert_eq!(rc(&create(&mut t, srk, b"", b"data", &template)), 0x2C2);
}

#[test]
fn tampered_private_is_integrity_and_foreign_public_is_integrity() {
    let mut t = started();
    let srk = srk(&mut t);
    let template = ecc_template(SIGNING, SYM_NULL, ECDSA_SHA256, 3);
    let r = create(&mut t, srk, b"", b"", &template);
    let (private, public) = private_public(&r);
    for i in [2, 20, 40, private.len() - 1] {
        let mut bad = private.clone();
        bad[i] ^= 0x01;
        assert_eq!(rc(&load(&mut t, srk, &bad, &public)), 0x1DF, "byte {i}");
    }
    // The same private with another public area (another Name).
    let r2 = create(&mut t, srk, b"", b"", &template);
    let (_, public2) = private_public(&r2);
    assert_eq!(rc(&load(&mut t, srk, &private, &public2)), 0x1DF);
    // Empty and truncated privates.
    assert_eq!(rc(&load(&mut t, srk, &[], &public)), 0x1D5);
    assert_eq!(rc(&load(&mut t, srk, &private[..1], &public)), 0x1DA);
    // Under another parent.
    let other = create_primary(
        &mut t,
        ENDORSEMENT,
        &ecc_template(STORAGE, AES128_CFB, SCHEME_NULL, 3),
    );
    assert_eq!(rc(&load(&mut t, handle(&other), &private, &public)), 0x1DF);
}

#[test]
fn seal_and_unseal() {
    let mut t = started();
    let srk = srk(&mut t);
    let sealed = keyedhash_template(FIXED_TPM | FIXED_PARENT | USER_WITH_AUTH, SCHEME_NULL);
    let r = create(&mut t, srk, b"pw", b"the secret", &sealed);
    assert_eq!(rc(&r), 0);
    let (private, public) = private_public(&r);
    let h = handle(&load(&mut t, srk, &private, &public));
    let r = exec(&mut t, &auth_cmd(0x15E, &[h], &[b"pw"], &[]));
    assert_eq!(rc(&r), 0);
    assert_eq!(Rd::params(&r, false).b2(), b"the secret");
    // Wrong password: the object is subject to DA protection (noDA CLEAR): TPM_RC_AUTH_FAIL.
    let r = exec(&mut t, &auth_cmd(0x15E, &[h], &[b"px"], &[]));
    assert_eq!(rc(&r), 0x98E);
    // Unseal of a key: TPM_RC_TYPE on handle 1.
    assert_eq!(
        rc(&exec(&mut t, &auth_cmd(0x15E, &[srk], &[b""], &[]))),
        0x18A
    );
    // A keyed-hash signing key is not sealed data: TPM_RC_ATTRIBUTES.
    let hmac_key = create_loaded_key(&mut t, srk, b"", &keyedhash_template(SIGNING, HMAC_SHA256));
    assert_eq!(
        rc(&exec(&mut t, &auth_cmd(0x15E, &[hmac_key], &[b""], &[]))),
        0x182
    );
    // Seal in a primary.
    let r = exec(
        &mut t,
        &auth_cmd(
            0x131,
            &[OWNER],
            &[b""],
            &create_params(b"", b"primary data", &sealed, &[]),
        ),
    );
    assert_eq!(rc(&r), 0);
}

#[test]
fn object_change_auth_rewraps_under_the_parent() {
    let mut t = started();
    let srk = srk(&mut t);
    let sealed = keyedhash_template(FIXED_TPM | FIXED_PARENT | USER_WITH_AUTH, SCHEME_NULL);
    let r = create(&mut t, srk, b"old", b"data", &sealed);
    let (_, public) = private_public(&r);
    let (private, _) = private_public(&r);
    let h = handle(&load(&mut t, srk, &private, &public));
    let r = exec(&mut t, &auth_cmd(0x150, &[h, srk], &[b"old"], &b2(b"new")));
    assert_eq!(rc(&r), 0);
    let new_private = Rd::params(&r, false).b2().to_vec();
    let h2 = handle(&load(&mut t, srk, &new_private, &public));
    let r = exec(&mut t, &auth_cmd(0x15E, &[h2], &[b"new"], &[]));
    assert_eq!(rc(&r), 0);
    assert_eq!(Rd::params(&r, false).b2(), b"data");
    // The wrong parent: TPM_RC_TYPE on handle 2.
    let other = handle(&create_primary(
        &mut t,
        ENDORSEMENT,
        &ecc_template(STORAGE, AES128_CFB, SCHEME_NULL, 3),
    ));
    let r = exec(
        &mut t,
        &auth_cmd(0x150, &[h, other], &[b"old"], &b2(b"new")),
    );
    assert_eq!(rc(&r), 0x28A);
}

#[test]
fn evict_control_makes_objects_persistent() {
    let mut t = started();
    let srk = srk(&mut t);
    let public = Rd::params(&read_public(&mut t, srk), false).b2().to_vec();
    let evict = |t: &mut T, obj: u32, ph: u32| {
        exec(
            t,
            &auth_cmd(0x120, &[OWNER, obj], &[b""], &ph.to_be_bytes()),
        )
    };
    // Owner cannot use the platform range; the handle must be persistent.
    assert_eq!(rc(&evict(&mut t, srk, 0x8180_0000)), 0x1CD);
    assert_eq!(rc(&evict(&mut t, srk, 0x8000_0001)), 0x1C4);
    assert_eq!(rc(&evict(&mut t, srk, 0x8100_0001)), 0);
    assert_eq!(rc(&evict(&mut t, srk, 0x8100_0001)), 0x14C);
    let r = read_public(&mut t, 0x8100_0001);
    assert_eq!(rc(&r), 0);
    assert_eq!(Rd::params(&r, false).b2(), &public[..]);
    // The persistent SRK is a parent.
    create_loaded_key(
        &mut t,
        0x8100_0001,
        b"",
        &ecc_template(SIGNING, SYM_NULL, ECDSA_SHA256, 3),
    );
    // GetCapability(TPM_CAP_HANDLES, 0x81000000) lists it.
    let r = exec(
        &mut t,
        &plain_cmd(0x17A, &[], &hex("00000001 81000000 00000010")),
    );
    assert_eq!(rc(&r), 0);
    assert_eq!(&r[10..], &hex("00 00000001 00000001 81000001"));
    // Platform cannot evict an owner object; the handle of a persistent object must match.
    let r = exec(
        &mut t,
        &auth_cmd(
            0x120,
            &[PLATFORM, srk],
            &[b""],
            &0x8180_0001u32.to_be_bytes(),
        ),
    );
    assert_eq!(rc(&r), 0x285);
    assert_eq!(rc(&evict(&mut t, 0x8100_0001, 0x8100_0002)), 0x28B);
    // Remove it.
    assert_eq!(rc(&evict(&mut t, 0x8100_0001, 0x8100_0001)), 0);
    assert_eq!(rc(&read_public(&mut t, 0x8100_0001)), 0x18B);
    // A temporary (NULL hierarchy) object cannot be persisted.
    let null_key = handle(&create_primary(
        &mut t,
        NULL,
        &ecc_template(STORAGE, AES128_CFB, SCHEME_NULL, 3),
    ));
    assert_eq!(rc(&evict(&mut t, null_key, 0x8100_0003)), 0x282);
}

#[test]
fn persistent_objects_are_bounded() {
    let mut t = started();
    let srk = srk(&mut t);
    for i in 0..7u32 {
        let r = exec(
            &mut t,
            &auth_cmd(
                0x120,
                &[OWNER, srk],
                &[b""],
                &(0x8100_0010 + i).to_be_bytes(),
            ),
        );
        assert_eq!(rc(&r), 0);
    }
    let r = exec(
        &mut t,
        &auth_cmd(0x120, &[OWNER, srk], &[b""], &0x8100_0020u32.to_be_bytes()),
    );
    assert_eq!(rc(&r), 0x14B, "TPM_RC_NV_SPACE");
}

#[test]
fn load_external_public_and_with_sensitive() {
    let mut t = started();
    let srk = srk(&mut t);
    let public = Rd::params(&read_public(&mut t, srk), false).b2().to_vec();
    // The SRK's public area alone in the owner hierarchy.
    let mut p = vec![0, 0];
    p.extend(b2(&public));
    p.extend(OWNER.to_be_bytes());
    let r = exec(&mut t, &plain_cmd(0x167, &[], &p));
    assert_eq!(rc(&r), 0);
    let h = handle(&r);
    assert_eq!(Rd::params(&r, true).b2(), &name_of(&public)[..]);
    // External: QN = Name.
    let rp = read_public(&mut t, h);
    let mut rd = Rd::params(&rp, false);
    rd.b2();
    let name = rd.b2().to_vec();
    assert_eq!(rd.b2(), &name[..]);
    // A public-only key cannot be a parent, and has no authValue.
    let tmpl = ecc_template(SIGNING, SYM_NULL, ECDSA_SHA256, 3);
    assert_eq!(rc(&create(&mut t, h, b"", b"", &tmpl)), 0x12F);
    // A point off the curve.
    let mut bad = public.clone();
    let n = bad.len();
    bad[n - 1] ^= 1;
    let mut p = vec![0, 0];
    p.extend(b2(&bad));
    p.extend(OWNER.to_be_bytes());
    assert_eq!(rc(&exec(&mut t, &plain_cmd(0x167, &[], &p))), 0x2E7);
    // A symmetric key with its sensitive area, in the NULL hierarchy.
    let key = [0x42u8; 16];
    let seed = [0x11u8; 32];
    let mut sym = sym_template(USER_WITH_AUTH | DECRYPT | SIGN, 128, 0x0043);
    sym.truncate(sym.len() - 2);
    sym.extend(b2(&sha256(&[&seed, &key])));
    let mut sens = hex("0025");
    sens.extend(b2(b"auth"));
    sens.extend(b2(&seed));
    sens.extend(b2(&key));
    let mut p = b2(&sens);
    p.extend(b2(&sym));
    p.extend(NULL.to_be_bytes());
    let r = exec(&mut t, &plain_cmd(0x167, &[], &p));
    assert_eq!(rc(&r), 0);
    // The same in the owner hierarchy: TPM_RC_HIERARCHY on parameter 3.
    let n = p.len();
    p[n - 4..].copy_from_slice(&OWNER.to_be_bytes());
    assert_eq!(rc(&exec(&mut t, &plain_cmd(0x167, &[], &p))), 0x3C5);
    // A key that does not match its unique: TPM_RC_BINDING, unnumbered as in the reference.
    let mut sens2 = hex("0025");
    sens2.extend(b2(b"auth"));
    sens2.extend(b2(&seed));
    sens2.extend(b2(&[0x43u8; 16]));
    let mut p = b2(&sens2);
    p.extend(b2(&sym));
    p.extend(NULL.to_be_bytes());
    assert_eq!(rc(&exec(&mut t, &plain_cmd(0x167, &[], &p))), 0x0A5);
}

#[test]
fn key_auth_rules_follow_user_with_auth_and_admin_with_policy() {
    let mut t = started();
    let srk = srk(&mut t);
    // userWithAuth CLEAR: the password cannot authorize USER role.
    let tmpl = ecc_template(STORAGE & !USER_WITH_AUTH, AES128_CFB, SCHEME_NULL, 3);
    let h = create_loaded_key(&mut t, srk, b"", &tmpl);
    let child = ecc_template(SIGNING, SYM_NULL, ECDSA_SHA256, 3);
    assert_eq!(rc(&create(&mut t, h, b"", b"", &child)), 0x12F);
    // ...but ADMIN role (ObjectChangeAuth) may use it while adminWithPolicy is CLEAR.
    let r = exec(&mut t, &auth_cmd(0x150, &[h, srk], &[b""], &b2(b"x")));
    assert_eq!(rc(&r), 0);
    // noDA SET: a wrong password is TPM_RC_BAD_AUTH.
    let r = exec(
        &mut t,
        &auth_cmd(
            0x153,
            &[srk],
            &[b"wrong"],
            &create_params(b"", b"", &child, &[]),
        ),
    );
    assert_eq!(rc(&r), 0x9A2);
}

#[test]
fn create_loaded_ordinary_and_primary() {
    let mut t = started();
    let srk = srk(&mut t);
    let tmpl = ecc_template(SIGNING, SYM_NULL, ECDSA_SHA256, 3);
    let mut p = sensitive_create(b"", b"");
    p.extend(b2(&tmpl));
    let r = exec(&mut t, &auth_cmd(0x191, &[srk], &[b""], &p));
    assert_eq!(rc(&r), 0);
    let mut rd = Rd::params(&r, true);
    let private = rd.b2().to_vec();
    let public = rd.b2().to_vec();
    assert_eq!(rd.b2(), &name_of(&public)[..]);
    assert_eq!(rc(&load(&mut t, srk, &private, &public)), 0);
    // A hierarchy as parent: a primary, the same key CreatePrimary derives.
    let r = exec(&mut t, &auth_cmd(0x191, &[OWNER], &[b""], &p));
    assert_eq!(rc(&r), 0);
    let mut rd = Rd::params(&r, true);
    assert_eq!(rd.b2(), b"");
    let primary = rd.b2().to_vec();
    let r = create_primary(&mut t, OWNER, &tmpl);
    assert_eq!(Rd::params(&r, true).b2(), &primary[..]);
}

#[test]
fn object_memory_is_bounded() {
    let mut t = started();
    let tmpl = ecc_template(STORAGE, AES128_CFB, SCHEME_NULL, 3);
    for i in 0..8u32 {
        let r = create_primary(&mut t, OWNER, &tmpl);
        assert_eq!(rc(&r), 0);
        assert_eq!(handle(&r), 0x8000_0000 + i);
    }
    assert_eq!(rc(&create_primary(&mut t, OWNER, &tmpl)), 0x902);
    // GetCapability lists the transient handles.
    let r = exec(
        &mut t,
        &plain_cmd(0x17A, &[], &hex("00000001 80000000 00000004")),
    );
    assert_eq!(
        &r[10..],
        &hex("01 00000001 00000004 80000000 80000001 80000002 80000003")
    );
}

#[test]
fn symmetric_and_keyed_hash_primaries() {
    let mut t = started();
    let r = create_primary(
        &mut t,
        OWNER,
        &sym_template(
            FIXED_TPM | FIXED_PARENT | SENSITIVE_DATA_ORIGIN | USER_WITH_AUTH | DECRYPT | SIGN,
            128,
            0x0043,
        ),
    );
    assert_eq!(rc(&r), 0);
    let public = Rd::params(&r, true).b2().to_vec();
    assert_eq!(&public[public.len() - 34..public.len() - 32], &[0, 32]);
    let r = create_primary(&mut t, OWNER, &keyedhash_template(SIGNING, HMAC_SHA256));
    assert_eq!(rc(&r), 0);
    // A provided symmetric key of the wrong size: TPM_RC_KEY_SIZE.
    let tmpl = sym_template(
        FIXED_TPM | FIXED_PARENT | USER_WITH_AUTH | DECRYPT | SIGN,
        128,
        0x0043,
    );
    let r = exec(
        &mut t,
        &auth_cmd(
            0x131,
            &[OWNER],
            &[b""],
            &create_params(b"", &[1; 15], &tmpl, &[]),
        ),
    );
    assert_eq!(rc(&r), 0x087);
}

#[test]
fn ek_public_is_what_create_primary_derives() {
    let mut t = started();
    for tmpl in [vtpm::EkTemplate::EccL2, vtpm::EkTemplate::RsaL1] {
        let ek = t.ek_public(tmpl).unwrap();
        let r = create_primary(&mut t, ENDORSEMENT, &tmpl.template());
        assert_eq!(rc(&r), 0);
        assert_eq!(Rd::params(&r, true).b2(), &ek[..]);
        // The EK needs a policy session: its password cannot be used for USER role.
        let h = handle(&r);
        let tmpl_child = ecc_template(SIGNING, SYM_NULL, ECDSA_SHA256, 3);
        assert_eq!(rc(&create(&mut t, h, b"", b"", &tmpl_child)), 0x12F);
    }
}

#[test]
fn clear_removes_owner_and_endorsement_objects_and_changes_the_srk() {
    let mut t = started();
    let tmpl = ecc_template(STORAGE, AES128_CFB, SCHEME_NULL, 3);
    let srk = srk(&mut t);
    let srk_public = Rd::params(&read_public(&mut t, srk), false).b2().to_vec();
    let ek = handle(&create_primary(&mut t, ENDORSEMENT, &tmpl));
    let ek_public = Rd::params(&read_public(&mut t, ek), false).b2().to_vec();
    let pk = handle(&create_primary(&mut t, PLATFORM, &tmpl));
    let evict = |t: &mut T, auth: u32, obj: u32, ph: u32| {
        exec(t, &auth_cmd(0x120, &[auth, obj], &[b""], &ph.to_be_bytes()))
    };
    assert_eq!(rc(&evict(&mut t, OWNER, srk, 0x8100_0001)), 0);
    assert_eq!(rc(&evict(&mut t, OWNER, ek, 0x8101_0001)), 0);
    assert_eq!(rc(&evict(&mut t, PLATFORM, pk, 0x8180_0001)), 0);
    let r = exec(&mut t, &auth_cmd(0x126, &[0x4000_000A], &[b""], &[]));
    assert_eq!(rc(&r), 0);
    assert_eq!(rc(&read_public(&mut t, 0x8100_0001)), 0x18B);
    assert_eq!(rc(&read_public(&mut t, 0x8101_0001)), 0x18B);
    assert_eq!(rc(&read_public(&mut t, 0x8180_0001)), 0);
    // A new storage seed: another SRK. The endorsement seed survives: the same EK.
    let r = create_primary(&mut t, OWNER, &tmpl);
    assert_ne!(Rd::params(&r, true).b2(), &srk_public[..]);
    let r = create_primary(&mut t, ENDORSEMENT, &tmpl);
    assert_eq!(Rd::params(&r, true).b2(), &ek_public[..]);
}

#[test]
fn create_loaded_rejects_trailing_template_bytes_and_derivation_parents() {
    let mut t = started();
    let srk = srk(&mut t);
    let mut tmpl = ecc_template(SIGNING, SYM_NULL, ECDSA_SHA256, 3);
    tmpl.push(0);
    let mut p = sensitive_create(b"", b"");
    p.extend(b2(&tmpl));
    assert_eq!(
        rc(&exec(&mut t, &auth_cmd(0x191, &[srk], &[b""], &p))),
        0x2D5
    );
    // A keyed-hash derivation parent (restricted decrypt, XOR with SP800-108): derived objects
    // are not implemented, the parent is refused as TPM_RC_TYPE.
    let xor = hex("000a 000b 0022");
    let parent = create_loaded_key(
        &mut t,
        srk,
        b"",
        &keyedhash_template(
            FIXED_TPM
                | FIXED_PARENT
                | SENSITIVE_DATA_ORIGIN
                | USER_WITH_AUTH
                | RESTRICTED
                | DECRYPT,
            &xor,
        ),
    );
    let mut p = sensitive_create(b"", b"");
    p.extend(b2(&ecc_template(SIGNING, SYM_NULL, ECDSA_SHA256, 3)));
    assert_eq!(
        rc(&exec(&mut t, &auth_cmd(0x191, &[parent], &[b""], &p))),
        0x18A
    );
}
