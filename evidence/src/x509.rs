//! X.509 certificates (RFC 5280 §4.1), read with [`crate::der`], and the two signature schemes
//! the SNP chain uses: RSASSA-PSS (ARK, ASK/ASVK) and ECDSA P-384 (the report, EK certificates).
//!
//! Real AMD certificates are accepted as they are: a VCEK's serial number is 0 and it has no
//! Authority Key Identifier; neither matters here because the chain is pinned by name and key.

use crate::der::{self, Reader, Tlv};
use crate::oid;
use crate::time;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;
use sha2::{Digest, Sha384};

/// A parsed certificate, borrowing the DER it was read from.
#[derive(Debug, Clone)]
pub struct Certificate<'a> {
    pub raw: &'a [u8],
    pub tbs: &'a [u8],
    pub serial: &'a [u8],
    /// The outer signatureAlgorithm (checked equal to the one inside the TBS).
    pub sig_alg: Tlv<'a>,
    pub issuer: Tlv<'a>,
    pub subject: Tlv<'a>,
    pub not_before: i64,
    pub not_after: i64,
    pub spki: Tlv<'a>,
    pub public_key: PublicKey<'a>,
    pub extensions: Vec<Extension<'a>>,
    pub signature: &'a [u8],
}

/// A subject public key this verifier can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublicKey<'a> {
    /// Big-endian modulus and exponent, leading zeros removed.
    Rsa {
        n: &'a [u8],
        e: &'a [u8],
    },
    /// SEC1 uncompressed point `04 ‖ x ‖ y`.
    EcP384(&'a [u8]),
    EcP256(&'a [u8]),
    Other,
}

#[derive(Debug, Clone, Copy)]
pub struct Extension<'a> {
    pub oid: &'a [u8],
    pub critical: bool,
    /// The extnValue OCTET STRING's contents.
    pub value: &'a [u8],
}

/// Why a certificate was refused.
pub type Error = String;

fn e<T>(what: &str, r: Result<T, der::Error>) -> Result<T, Error> {
    r.map_err(|err| alloc::format!("{what}: {err}"))
}

impl<'a> Certificate<'a> {
    pub fn parse(raw: &'a [u8]) -> Result<Self, Error> {
        let body = e("certificate", der::single(raw, der::SEQUENCE))?;
        let mut r = Reader::new(body);
        let tbs_tlv = e("tbsCertificate", r.expect_tlv(der::SEQUENCE))?;
        let sig_alg = e("signatureAlgorithm", r.expect_tlv(der::SEQUENCE))?;
        let sig = e("signatureValue", r.expect(der::BIT_STRING))?;
        let signature = e("signatureValue", der::bit_string_bytes(sig))?;
        e("certificate", r.finish())?;

        let mut t = Reader::new(tbs_tlv.value);
        let version = e("version", t.optional(der::context(0)))?;
        if let Some(v) = version {
            let v = e(
                "version",
                der::single(v, der::INTEGER).and_then(der::uint_u64),
            )?;
            if v != 2 {
                return Err(alloc::format!("X.509 version {} (want v3)", v + 1));
            }
        }
        let serial = e("serialNumber", t.expect(der::INTEGER))?;
        let inner_alg = e("signature", t.expect_tlv(der::SEQUENCE))?;
        if inner_alg.raw != sig_alg.raw {
            return Err("signature algorithms inside and outside the TBS differ".into());
        }
        let issuer = e("issuer", t.expect_tlv(der::SEQUENCE))?;
        let validity = e("validity", t.expect(der::SEQUENCE))?;
        let mut v = Reader::new(validity);
        let not_before = read_time(&mut v)?;
        let not_after = read_time(&mut v)?;
        e("validity", v.finish())?;
        let subject = e("subject", t.expect_tlv(der::SEQUENCE))?;
        let spki = e("subjectPublicKeyInfo", t.expect_tlv(der::SEQUENCE))?;
        let public_key = parse_spki(spki.value)?;
        // issuerUniqueID [1], subjectUniqueID [2]: skipped.
        for tag in [0x81, 0x82] {
            if t.peek_tag() == Some(tag) {
                e("uniqueID", t.read())?;
            }
        }
        let mut extensions = Vec::new();
        if let Some(exts) = e("extensions", t.optional(der::context(3)))? {
            let seq = e("extensions", der::single(exts, der::SEQUENCE))?;
            let mut x = Reader::new(seq);
            while !x.is_empty() {
                let ext = e("extension", x.expect(der::SEQUENCE))?;
                let mut xr = Reader::new(ext);
                let oid = e("extnID", xr.expect(der::OID))?;
                let critical = match e("critical", xr.optional(der::BOOLEAN))? {
                    Some([0x00]) | None => false,
                    Some([0xFF]) => true,
                    Some(_) => return Err("extension: bad BOOLEAN".into()),
                };
                let value = e("extnValue", xr.expect(der::OCTET_STRING))?;
                e("extension", xr.finish())?;
                if extensions.iter().any(|x: &Extension<'_>| x.oid == oid) {
                    return Err(alloc::format!("duplicate extension {}", oid::dotted(oid)));
                }
                extensions.push(Extension {
                    oid,
                    critical,
                    value,
                });
            }
        }
        e("tbsCertificate", t.finish())?;
        Ok(Certificate {
            raw,
            tbs: tbs_tlv.raw,
            serial,
            sig_alg,
            issuer,
            subject,
            not_before,
            not_after,
            spki,
            public_key,
            extensions,
            signature,
        })
    }

    pub fn extension(&self, oid: &[u8]) -> Option<&Extension<'a>> {
        self.extensions.iter().find(|x| x.oid == oid)
    }

    pub fn subject_cn(&self) -> String {
        common_name(self.subject.value)
    }

    pub fn issuer_cn(&self) -> String {
        common_name(self.issuer.value)
    }

    /// Fails unless `at` (Unix seconds) lies within notBefore..=notAfter.
    pub fn check_validity(&self, at: i64) -> Result<(), Error> {
        if at < self.not_before {
            Err(alloc::format!(
                "not valid before {}",
                time::format_rfc3339(self.not_before)
            ))
        } else if at > self.not_after {
            Err(alloc::format!(
                "expired {}",
                time::format_rfc3339(self.not_after)
            ))
        } else {
            Ok(())
        }
    }

    /// Checks this certificate's signature with `issuer`'s key: RSASSA-PSS SHA-384 (parameters
    /// read from the certificate and required to be SHA-384, MGF1-SHA-384, salt 48, trailer 1)
    /// or ECDSA P-384 with SHA-384.
    pub fn verify_signed_by(&self, issuer: &PublicKey<'_>) -> Result<(), Error> {
        let mut r = Reader::new(self.sig_alg.value);
        let alg = e("signatureAlgorithm", r.expect(der::OID))?;
        if alg == oid::RSASSA_PSS {
            let params = e("RSASSA-PSS parameters", r.expect(der::SEQUENCE))?;
            e("signatureAlgorithm", r.finish())?;
            check_pss_params(params)?;
            let PublicKey::Rsa { n, e: exp } = issuer else {
                return Err("issuer key is not RSA".into());
            };
            verify_pss_sha384(n, exp, self.tbs, self.signature)
        } else if alg == oid::ECDSA_SHA384 {
            let PublicKey::EcP384(point) = issuer else {
                return Err("issuer key is not EC P-384".into());
            };
            let sig = ecdsa_sig_from_der(self.signature)?;
            verify_p384_prehash(point, &Sha384::digest(self.tbs), &sig)
        } else {
            Err(alloc::format!(
                "unsupported signature algorithm {}",
                oid::dotted(alg)
            ))
        }
    }
}

/// An ECDSA-Sig-Value (RFC 5480 §2.2.3: SEQUENCE { r INTEGER, s INTEGER }) for P-384.
fn ecdsa_sig_from_der(sig: &[u8]) -> Result<p384::ecdsa::Signature, Error> {
    let bad = || String::from("malformed ECDSA signature");
    let mut r = Reader::new(der::single(sig, der::SEQUENCE).map_err(|_| bad())?);
    let scalar = |r: &mut Reader<'_>| -> Result<[u8; 48], Error> {
        let m = r
            .expect(der::INTEGER)
            .and_then(der::uint_bytes)
            .map_err(|_| bad())?;
        if m.len() > 48 {
            return Err(bad());
        }
        let mut out = [0u8; 48];
        out[48 - m.len()..].copy_from_slice(m);
        Ok(out)
    };
    let (rs, ss) = (scalar(&mut r)?, scalar(&mut r)?);
    r.finish().map_err(|_| bad())?;
    p384::ecdsa::Signature::from_scalars(rs, ss).map_err(|_| bad())
}

fn read_time(r: &mut Reader<'_>) -> Result<i64, Error> {
    let t = e("time", r.read())?;
    let s = core::str::from_utf8(t.value).map_err(|_| String::from("time: not ASCII"))?;
    match t.tag {
        der::UTC_TIME => time::parse_utc_time(s),
        der::GENERALIZED_TIME => time::parse_generalized_time(s),
        other => Err(alloc::format!("time: unexpected tag {other:#04x}")),
    }
}

/// RSASSA-PSS-params (RFC 4055 §3.1) must say SHA-384, MGF1 with SHA-384, salt 48, trailer 1:
/// the only parameters AMD uses, and the ones the verification below implements.
fn check_pss_params(params: &[u8]) -> Result<(), Error> {
    let mut r = Reader::new(params);
    let hash = e("PSS hashAlgorithm", r.optional(der::context(0)))?
        .ok_or("PSS: hashAlgorithm absent (SHA-1 default)")?;
    let hash = alg_oid(e("PSS hashAlgorithm", der::single(hash, der::SEQUENCE))?)?;
    let mgf = e("PSS maskGenAlgorithm", r.optional(der::context(1)))?
        .ok_or("PSS: maskGenAlgorithm absent (MGF1-SHA-1 default)")?;
    let mut m = Reader::new(e("PSS maskGenAlgorithm", der::single(mgf, der::SEQUENCE))?);
    let mgf_oid = e("PSS maskGenAlgorithm", m.expect(der::OID))?;
    let mgf_hash = alg_oid(e("PSS MGF1 hash", m.expect(der::SEQUENCE))?)?;
    e("PSS maskGenAlgorithm", m.finish())?;
    let salt = match e("PSS saltLength", r.optional(der::context(2)))? {
        Some(s) => e(
            "PSS saltLength",
            der::single(s, der::INTEGER).and_then(der::uint_u64),
        )?,
        None => 20,
    };
    let trailer = match e("PSS trailerField", r.optional(der::context(3)))? {
        Some(s) => e(
            "PSS trailerField",
            der::single(s, der::INTEGER).and_then(der::uint_u64),
        )?,
        None => 1,
    };
    e("PSS parameters", r.finish())?;
    if hash != oid::SHA384 || mgf_oid != oid::MGF1 || mgf_hash != oid::SHA384 {
        return Err("RSASSA-PSS parameters are not SHA-384 / MGF1-SHA-384".into());
    }
    if salt != 48 || trailer != 1 {
        return Err(alloc::format!(
            "RSASSA-PSS salt {salt} trailer {trailer} (want 48, 1)"
        ));
    }
    Ok(())
}

/// The OID of an AlgorithmIdentifier's contents (parameters absent or NULL).
fn alg_oid(alg: &[u8]) -> Result<&[u8], Error> {
    let mut r = Reader::new(alg);
    let o = e("AlgorithmIdentifier", r.expect(der::OID))?;
    e("AlgorithmIdentifier", r.optional(der::NULL))?;
    e("AlgorithmIdentifier", r.finish())?;
    Ok(o)
}

/// Reads a SubjectPublicKeyInfo's contents.
pub fn parse_spki(spki: &[u8]) -> Result<PublicKey<'_>, Error> {
    let mut r = Reader::new(spki);
    let alg = e("SPKI algorithm", r.expect(der::SEQUENCE))?;
    let bits = e("SPKI key", r.expect(der::BIT_STRING))?;
    let key = e("SPKI key", der::bit_string_bytes(bits))?;
    e("SPKI", r.finish())?;
    let mut a = Reader::new(alg);
    let alg_oid = e("SPKI algorithm", a.expect(der::OID))?;
    if alg_oid == oid::RSA_ENCRYPTION || alg_oid == oid::RSASSA_PSS {
        let seq = e("RSAPublicKey", der::single(key, der::SEQUENCE))?;
        let mut k = Reader::new(seq);
        let n = e("modulus", k.expect(der::INTEGER).and_then(der::uint_bytes))?;
        let exp = e(
            "publicExponent",
            k.expect(der::INTEGER).and_then(der::uint_bytes),
        )?;
        e("RSAPublicKey", k.finish())?;
        return Ok(PublicKey::Rsa { n, e: exp });
    }
    if alg_oid == oid::EC_PUBLIC_KEY {
        let curve = e("EC parameters", a.expect(der::OID))?;
        e("SPKI algorithm", a.finish())?;
        return Ok(match (curve, key.len()) {
            (c, 97) if c == oid::SECP384R1 && key[0] == 4 => PublicKey::EcP384(key),
            (c, 65) if c == oid::PRIME256V1 && key[0] == 4 => PublicKey::EcP256(key),
            _ => PublicKey::Other,
        });
    }
    Ok(PublicKey::Other)
}

/// RSASSA-PSS verification (RFC 8017 §8.1.2) with SHA-384, MGF1-SHA-384, salt length 48.
pub fn verify_pss_sha384(n: &[u8], exp: &[u8], msg: &[u8], sig: &[u8]) -> Result<(), Error> {
    use rsa::traits::SignatureScheme;
    let key = rsa::RsaPublicKey::new(
        rsa::BigUint::from_bytes_be(n),
        rsa::BigUint::from_bytes_be(exp),
    )
    .map_err(|err| alloc::format!("RSA key refused: {err}"))?;
    let hashed = Sha384::digest(msg);
    rsa::Pss::new_with_salt::<Sha384>(48)
        .verify(&key, &hashed, sig)
        .map_err(|_| String::from("RSASSA-PSS signature does not verify"))
}

/// ECDSA P-384 verification of a SHA-384 digest with a SEC1 point.
pub fn verify_p384_prehash(
    point: &[u8],
    digest: &[u8],
    sig: &p384::ecdsa::Signature,
) -> Result<(), Error> {
    use p384::ecdsa::signature::hazmat::PrehashVerifier;
    let key = p384::ecdsa::VerifyingKey::from_sec1_bytes(point)
        .map_err(|_| String::from("not a valid P-384 public key"))?;
    key.verify_prehash(digest, sig)
        .map_err(|_| String::from("ECDSA P-384 signature does not verify"))
}

/// The first commonName in a Name (SEQUENCE OF RDN), or "" if there is none.
pub fn common_name(name: &[u8]) -> String {
    let mut out = String::new();
    let mut r = Reader::new(name);
    while let Ok(set) = r.expect(der::SET) {
        let mut s = Reader::new(set);
        while let Ok(atv) = s.expect(der::SEQUENCE) {
            let mut a = Reader::new(atv);
            let (Ok(o), Ok(v)) = (a.expect(der::OID), a.read()) else {
                continue;
            };
            if o == oid::COMMON_NAME && out.is_empty() {
                for ch in String::from_utf8_lossy(v.value).chars() {
                    if ch.is_control() {
                        let _ = write!(out, "\\u{{{:x}}}", ch as u32);
                    } else {
                        out.push(ch);
                    }
                }
            }
        }
    }
    out
}

/// Reads a certificate file's contents: DER, or one or more PEM `CERTIFICATE` blocks.
pub fn certs_from_file(data: &[u8]) -> Result<Vec<Vec<u8>>, Error> {
    if data.first() == Some(&der::SEQUENCE) {
        return Ok(alloc::vec![data.to_vec()]);
    }
    let text = core::str::from_utf8(data).map_err(|_| String::from("neither DER nor PEM"))?;
    let blocks = crate::pem::decode_all(text, "CERTIFICATE")?;
    if blocks.is_empty() {
        return Err("no CERTIFICATE in PEM".into());
    }
    Ok(blocks)
}
