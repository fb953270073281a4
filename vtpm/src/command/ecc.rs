//! ECC commands (Part 3, section 14): `TPM2_ECDH_KeyGen`, `TPM2_ECDH_ZGen`,
//! `TPM2_ECC_Parameters`, the two-phase key exchange `TPM2_EC_Ephemeral` and
//! `TPM2_ZGen_2Phase`, and `TPM2_Commit`, the first phase of an ECDAA signature.

use super::{Command, Response};
use crate::crypto::{ecc, EccCurve, EccPoint};
use crate::engine::{Platform, Tpm};
use crate::object::{KeyMaterial, LoadedKey, PublicKey};
use alloc::vec::Vec;
use tpm_proto::{
    AlgId, Rc, Tpm2bEccParameter, Tpm2bEccPoint, Tpm2bSensitiveData, TpmaObject as A, TpmiEccCurve,
    TpmiEccKeyExchange, TpmtEccScheme, TpmuPublicParms,
};

/// Writes a `TPM2B_ECC_POINT`.
fn write_point(rsp: &mut Response<'_>, p: &EccPoint) -> Result<(), Rc> {
    let size = 4 + p.x.len() + p.y.len();
    rsp.u16(u16::try_from(size).map_err(|_| Rc::Failure)?)?;
    rsp.sized(&p.x)?;
    rsp.sized(&p.y)
}

/// An unrestricted ECC decryption key whose scheme is ECDH or NULL: `TPM_RC_KEY` (not ECC),
/// `TPM_RC_ATTRIBUTES` (restricted or not decrypt), `TPM_RC_SCHEME` (another scheme), on
/// handle 1 (reference `TPM2_ECDH_ZGen`).
fn ecdh_key(k: &LoadedKey) -> Result<(EccCurve, &EccPoint), Rc> {
    let (PublicKey::Ecc(curve, q), TpmuPublicParms::Ecc(p)) = (&k.public_key, &k.parameters) else {
        return Err(Rc::Key.handle(1));
    };
    if k.has(A::RESTRICTED) || !k.has(A::DECRYPT) {
        return Err(Rc::Attributes.handle(1));
    }
    if !matches!(p.scheme, TpmtEccScheme::Null | TpmtEccScheme::EcDh(_)) {
        return Err(Rc::Scheme.handle(1));
    }
    Ok((*curve, q))
}

/// `TPM2_ECDH_KeyGen(keyHandle)` → `zPoint`, `pubPoint`: an ephemeral key pair and the shared
/// point with the key's public point (the sender's side of ECDH; no authorization needed).
/// `TPM_RC_KEY` for a key that is not ECC.
pub(crate) fn ecdh_keygen<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    cmd.end()?;
    tpm.reseed_if_needed()?;
    let k = tpm.objects.key(cmd.handle(0)).ok_or(Rc::Key.handle(1))?;
    // Any ECC key will do (reference `TPM2_ECDH_KeyGen`): only its public point is used.
    let PublicKey::Ecc(curve, q) = &k.public_key else {
        return Err(Rc::Key.handle(1));
    };
    let (pub_point, z) =
        ecc::ecdh_keygen(*curve, q, &mut tpm.drbg).map_err(|_| Rc::Key.handle(1))?;
    write_point(rsp, &z)?;
    write_point(rsp, &pub_point)
}

/// `TPM2_ECDH_ZGen(keyHandle; inPoint)` → `outPoint`: the key's scalar times `inPoint`
/// (`TPM_RC_ECC_POINT` on the parameter for a point not on the curve).
pub(crate) fn ecdh_zgen<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    let in_point: Tpm2bEccPoint<'_> = cmd.param()?;
    cmd.end()?;
    let k = tpm.objects.key(cmd.handle(0)).ok_or(Rc::Key.handle(1))?;
    ecdh_key(k)?;
    let Some(KeyMaterial::Ecc(d)) = k.sensitive.as_ref().map(|s| &s.key) else {
        return Err(Rc::Key.handle(1));
    };
    let peer = EccPoint {
        x: in_point.point.x.0.to_vec(),
        y: in_point.point.y.0.to_vec(),
    };
    let z = d.ecdh(&peer).map_err(|e| e.rc().param(1))?;
    write_point(rsp, &z)
}

/// Domain parameters (FIPS 186-4, D.1.2.3 and D.1.2.4): p, a, b, Gx, Gy, n.
const P256: [&str; 6] = [
    "ffffffff00000001000000000000000000000000ffffffffffffffffffffffff",
    "ffffffff00000001000000000000000000000000fffffffffffffffffffffffc",
    "5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b",
    "6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296",
    "4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5",
    "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551",
];
const P384: [&str; 6] = [
    "fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffff",
    "fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000fffffffc",
    "b3312fa7e23ee7e4988e056be3f82d19181d9c6efe8141120314088f5013875ac656398d8a2ed19d2a85c8edd3ec2aef",
    "aa87ca22be8b05378eb1c71ef320ad746e1d3b628ba79b9859f741e082542a385502f25dbf55296c3a545e3872760ab7",
    "3617de4a96262c6f5d9e98bf9292dc29f8f41dbd289a147ce9da3113b5f0b8c00a60b1ce1d7e819d7a431d7c90ea0e5f",
    "ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973",
];

/// Decodes a hex constant (lower-case, even length) into `out`, returning the length.
fn unhex(s: &str, out: &mut [u8; 48]) -> Result<usize, Rc> {
    let b = s.as_bytes();
    let n = b.len() / 2;
    let nib = |c: u8| match c {
        b'0'..=b'9' => Ok(c - b'0'),
        b'a'..=b'f' => Ok(c - b'a' + 10),
        _ => Err(Rc::Failure),
    };
    for (i, o) in out.iter_mut().take(n).enumerate() {
        let hi = *b.get(2 * i).ok_or(Rc::Failure)?;
        let lo = *b.get(2 * i + 1).ok_or(Rc::Failure)?;
        *o = (nib(hi)? << 4) | nib(lo)?;
    }
    Ok(n)
}

/// `TPM2_ECC_Parameters(curveID)` → `TPMS_ALGORITHM_DETAIL_ECC`: key size, no KDF or signing
/// scheme bound to the curve, the domain parameters and cofactor 1.
pub(crate) fn ecc_parameters<P: Platform>(
    _tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    let curve: TpmiEccCurve = cmd.param()?;
    cmd.end()?;
    let (bits, params) = match curve {
        TpmiEccCurve::NistP256 => (256u16, &P256),
        TpmiEccCurve::NistP384 => (384u16, &P384),
    };
    rsp.put(&curve)?;
    rsp.u16(bits)?;
    rsp.u16(AlgId::Null.0)?;
    rsp.u16(AlgId::Null.0)?;
    let mut buf = [0u8; 48];
    for p in params {
        let n = unhex(p, &mut buf)?;
        rsp.sized(buf.get(..n).ok_or(Rc::Failure)?)?;
    }
    rsp.sized(&[1])
}

/// The crypto curve of a `TPMI_ECC_CURVE`.
fn crypto_curve(c: TpmiEccCurve) -> Result<EccCurve, Rc> {
    EccCurve::from_tpm(c.curve().0).ok_or(Rc::Curve.param(1))
}

/// A `TPM2B_ECC_POINT` parameter as a point.
fn point(p: &Tpm2bEccPoint<'_>) -> EccPoint {
    EccPoint {
        x: p.point.x.0.to_vec(),
        y: p.point.y.0.to_vec(),
    }
}

/// `TPM2_EC_Ephemeral(curveID)` → `Q`, `counter` (Part 3, 14.8): the public point `Q = r·G` of
/// an ephemeral key the TPM can recompute once from `counter` ([`crate::commit`]).
pub(crate) fn ec_ephemeral<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    let curve: TpmiEccCurve = cmd.param()?;
    cmd.end()?;
    let curve = crypto_curve(curve)?;
    let r = tpm.commit.r(curve, None, &[]).ok_or(Rc::NoResult)?;
    let q = r.public()?;
    let counter = tpm.commit.commit();
    write_point(rsp, &q)?;
    rsp.u16(counter)
}

/// `TPM2_ZGen_2Phase(keyA; inQsB, inQeB, inScheme, counter)` → `outZ1`, `outZ2` (Part 3,
/// 14.7): the TPM's half of a two-phase key exchange with its static key `keyA` and the
/// ephemeral key committed by `TPM2_EC_Ephemeral` (`counter`). For `TPM_ALG_ECDH` (the Full
/// Unified Model, SP 800-56A C(2e, 2s)) `Z1 = dsA·QsB` and `Z2 = r·QeB`; ECMQV and SM2 are not
/// implemented (`TPM_RC_SCHEME`, as for any other value, on `inScheme`). The count is used up.
pub(crate) fn zgen_2phase<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    let qs_b: Tpm2bEccPoint<'_> = cmd.param()?;
    let qe_b: Tpm2bEccPoint<'_> = cmd.param()?;
    // TPMI_ECC_KEY_EXCHANGE: ECDH is the one implemented (TPM_RC_SCHEME for the others).
    let _: TpmiEccKeyExchange = cmd.param()?;
    let counter: u16 = cmd.param()?;
    cmd.end()?;
    let k = tpm.objects.key(cmd.handle(0)).ok_or(Rc::Key.handle(1))?;
    // The key's scheme, if any, must be the one asked for: a mismatch is on inScheme here.
    let (curve, _) = ecdh_key(k).map_err(|rc| {
        if rc == Rc::Scheme.handle(1) {
            Rc::Scheme.param(3)
        } else {
            rc
        }
    })?;
    let Some(KeyMaterial::Ecc(d)) = k.sensitive.as_ref().map(|s| &s.key) else {
        return Err(Rc::Key.handle(1));
    };
    let (qs_b, qe_b) = (point(&qs_b), point(&qe_b));
    ecc::check_point(curve, &qs_b).map_err(|_| Rc::EccPoint.param(1))?;
    ecc::check_point(curve, &qe_b).map_err(|_| Rc::EccPoint.param(2))?;
    let r = tpm
        .commit
        .r(curve, Some(counter), &[])
        .ok_or(Rc::Value.param(4))?;
    let z1 = d.ecdh(&qs_b).map_err(|e| e.rc().param(1))?;
    let z2 = r.ecdh(&qe_b).map_err(|e| e.rc().param(2))?;
    tpm.commit.end(counter);
    write_point(rsp, &z1)?;
    write_point(rsp, &z2)
}

/// `TPM2_Commit(signHandle; P1, s2, y2)` → `K`, `L`, `E`, `counter` (Part 3, 19.2): the first
/// phase of an ECDAA signature with the key, whose scheme must be ECDAA (`TPM_RC_SCHEME` on the
/// handle otherwise). With `r` the committed nonce key ([`crate::commit`], bound to the key's
/// Name): when `s2` and `y2` give a point `P2 = (H_nameAlg(s2) mod p, y2)`, `K = d·P2` and
/// `L = r·P2`; `E = r·P1` when `P1` is given, `E = r·G` when neither is. The point left out is
/// empty. `s2` without `y2` (or the reverse) is `TPM_RC_SIZE` on `y2`; a point off the curve is
/// `TPM_RC_ECC_POINT` on its parameter (reference `TPM2_Commit`, `CryptEccCommitCompute`).
pub(crate) fn commit<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    let p1: Tpm2bEccPoint<'_> = cmd.param()?;
    let s2: Tpm2bSensitiveData<'_> = cmd.param()?;
    let y2: Tpm2bEccParameter<'_> = cmd.param()?;
    cmd.end()?;
    let k = tpm.objects.key(cmd.handle(0)).ok_or(Rc::Key.handle(1))?;
    let (PublicKey::Ecc(curve, _), TpmuPublicParms::Ecc(parms)) = (&k.public_key, &k.parameters)
    else {
        return Err(Rc::Key.handle(1));
    };
    if !matches!(parms.scheme, TpmtEccScheme::EcDaa(_)) {
        return Err(Rc::Scheme.handle(1));
    }
    if s2.is_empty() != y2.is_empty() {
        return Err(Rc::Size.param(3));
    }
    let curve = *curve;
    let name_alg = k.name_alg.ok_or(Rc::Key.handle(1))?;
    let r = tpm
        .commit
        .r(curve, None, k.name.as_bytes())
        .ok_or(Rc::NoResult)?;
    let p2 = if s2.is_empty() {
        None
    } else {
        // x2 = H(s2) mod p.
        let mut buf = [0u8; 48];
        let n = unhex(
            if curve == EccCurve::NistP256 {
                P256[0]
            } else {
                P384[0]
            },
            &mut buf,
        )?;
        let p = num_bigint_dig::BigUint::from_bytes_be(buf.get(..n).ok_or(Rc::Failure)?);
        let h = crate::crypto::Hasher::digest(name_alg, &[s2.0]);
        let x2 = num_bigint_dig::BigUint::from_bytes_be(h.as_bytes()) % p;
        let point = EccPoint {
            x: x2.to_bytes_be(),
            y: y2.0.to_vec(),
        };
        ecc::check_point(curve, &point).map_err(|_| Rc::EccPoint.param(2))?;
        Some(point)
    };
    let p1 = if !p1.point.x.0.is_empty() || !p1.point.y.0.is_empty() {
        let point = point(&p1);
        ecc::check_point(curve, &point).map_err(|_| Rc::EccPoint.param(1))?;
        Some(point)
    } else {
        None
    };
    let empty = EccPoint {
        x: Vec::new(),
        y: Vec::new(),
    };
    let (mut big_k, mut big_l, mut big_e) = (empty.clone(), empty.clone(), empty);
    if let Some(p2) = &p2 {
        let Some(KeyMaterial::Ecc(d)) = k.sensitive.as_ref().map(|s| &s.key) else {
            return Err(Rc::Key.handle(1));
        };
        big_k = d.ecdh(p2)?;
        big_l = r.ecdh(p2)?;
    }
    match (&p1, &p2) {
        (Some(p1), _) => big_e = r.ecdh(p1)?,
        (None, None) => big_e = r.public()?,
        (None, Some(_)) => {}
    }
    let counter = tpm.commit.commit();
    write_point(rsp, &big_k)?;
    write_point(rsp, &big_l)?;
    write_point(rsp, &big_e)?;
    rsp.u16(counter)
}
