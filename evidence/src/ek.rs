//! The endorsement key as the report binds it: its `TPMT_PUBLIC` (TPM 2.0 Part 2, §12.2.4).
//!
//! The SVSM spec's attestation (SVSM spec, chapter 7, `SVSM_ATTEST_SINGLE_SERVICE`) puts
//! SHA-512(nonce ‖ manifest) into REPORT_DATA, and the vTPM service manifest is the EK's
//! `TPMT_PUBLIC` without its size prefix. So checking the binding needs those exact bytes:
//! given as a TPM2B_PUBLIC/TPMT_PUBLIC they are used as they are; given as a plain public key
//! they are rebuilt from the TCG EK Credential Profile (v2.5, §B.3.3/B.3.4) default templates,
//! L-1 (RSA-2048) and L-2 (ECC NIST P-256). That is exactly what `tpm2_createek -G rsa|ecc`
//! recreates: TPM2_CreatePrimary on the endorsement hierarchy with the template whose
//! `unique` is zero-filled yields a `TPMT_PUBLIC` equal to the template with `unique` replaced
//! by the key (the modulus; x and y), which is what [`from_spki`] writes.

use crate::der::{self, Writer};
use crate::oid;
use crate::x509::{self, PublicKey};
use alloc::string::String;
use alloc::vec::Vec;
use sha2::{Digest, Sha512};

pub const TPM_ALG_RSA: u16 = 0x0001;
pub const TPM_ALG_AES: u16 = 0x0006;
pub const TPM_ALG_SHA256: u16 = 0x000B;
pub const TPM_ALG_NULL: u16 = 0x0010;
pub const TPM_ALG_ECC: u16 = 0x0023;
pub const TPM_ALG_CFB: u16 = 0x0043;
pub const TPM_ECC_NIST_P256: u16 = 0x0003;
pub const TPM_ECC_NIST_P384: u16 = 0x0004;

/// fixedTPM | fixedParent | sensitiveDataOrigin | adminWithPolicy | restricted | decrypt.
pub const EK_ATTRIBUTES: u32 = 0x0003_00B2;

/// The EK authPolicy of the L-1/L-2 templates: PolicySecret(TPM_RH_ENDORSEMENT).
pub const EK_AUTH_POLICY: [u8; 32] = [
    0x83, 0x71, 0x97, 0x67, 0x44, 0x84, 0xb3, 0xf8, 0x1a, 0x90, 0xcc, 0x8d, 0x46, 0xa5, 0xd7, 0x24,
    0xfd, 0x52, 0xd7, 0x6e, 0x06, 0x52, 0x0b, 0x64, 0xf2, 0xa1, 0xda, 0x1b, 0x33, 0x14, 0x69, 0xaa,
];

/// The public key inside a `TPMT_PUBLIC`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EkKey {
    /// Modulus (big-endian, as stored) and exponent (0 = 65537).
    Rsa {
        n: Vec<u8>,
        exponent: u32,
    },
    Ecc {
        curve: u16,
        x: Vec<u8>,
        y: Vec<u8>,
    },
}

impl EkKey {
    pub fn describe(&self) -> String {
        match self {
            EkKey::Rsa { n, .. } => alloc::format!("RSA-{}", n.len() * 8),
            EkKey::Ecc { curve, .. } => match *curve {
                TPM_ECC_NIST_P256 => "ECC NIST P-256".into(),
                TPM_ECC_NIST_P384 => "ECC NIST P-384".into(),
                c => alloc::format!("ECC curve {c:#06x}"),
            },
        }
    }

    /// Compares with an X.509 public key (leading zeros of the modulus ignored).
    pub fn matches(&self, key: &PublicKey<'_>) -> bool {
        let strip = |b: &[u8]| -> Vec<u8> { b.iter().copied().skip_while(|&x| x == 0).collect() };
        match (self, key) {
            (EkKey::Rsa { n, exponent }, PublicKey::Rsa { n: kn, e }) => {
                let exp = if *exponent == 0 { 65537 } else { *exponent };
                strip(n) == strip(kn) && strip(&exp.to_be_bytes()) == strip(e)
            }
            (EkKey::Ecc { curve, x, y }, PublicKey::EcP256(p) | PublicKey::EcP384(p)) => {
                let len = if *curve == TPM_ECC_NIST_P256 { 32 } else { 48 };
                p.len() == 1 + 2 * len
                    && x.len() == len
                    && y.len() == len
                    && p[1..1 + len] == x[..]
                    && p[1 + len..] == y[..]
            }
            _ => false,
        }
    }
}

/// An EK `TPMT_PUBLIC`, checked to parse, with where it came from.
#[derive(Debug, Clone)]
pub struct EkPublic {
    pub tpmt: Vec<u8>,
    pub key: EkKey,
    pub name_alg: u16,
    pub attributes: u32,
    /// How the bytes were obtained, for the verdict line.
    pub source: String,
}

impl EkPublic {
    pub fn describe(&self) -> String {
        alloc::format!("{} EK ({})", self.key.describe(), self.source)
    }
}

/// Reads big-endian TPM fields from a slice, bounds-checked.
struct Tpm<'a>(&'a [u8]);

impl<'a> Tpm<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if self.0.len() < n {
            return Err("TPMT_PUBLIC truncated".into());
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Ok(a)
    }
    fn u16(&mut self) -> Result<u16, String> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Result<u32, String> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn sized(&mut self) -> Result<&'a [u8], String> {
        let n = self.u16()?;
        self.take(usize::from(n))
    }
    /// An algorithm followed by a parameter unless it is TPM_ALG_NULL.
    fn alg_with_param(&mut self) -> Result<u16, String> {
        let alg = self.u16()?;
        if alg != TPM_ALG_NULL {
            self.u16()?;
        }
        Ok(alg)
    }
}

/// Parses an RSA or ECC `TPMT_PUBLIC` (no size prefix), which must be exactly `bytes`.
pub fn parse_tpmt_public(bytes: &[u8], source: &str) -> Result<EkPublic, String> {
    let mut r = Tpm(bytes);
    let type_ = r.u16()?;
    let name_alg = r.u16()?;
    let attributes = r.u32()?;
    r.sized()?; // authPolicy
    let sym = r.u16()?;
    if sym != TPM_ALG_NULL {
        r.u16()?; // keyBits
        r.u16()?; // mode
    }
    let key = match type_ {
        TPM_ALG_RSA => {
            r.alg_with_param()?; // scheme
            let bits = r.u16()?;
            let exponent = r.u32()?;
            let n = r.sized()?;
            if n.is_empty() || n.len() * 8 != usize::from(bits) {
                return Err(alloc::format!(
                    "TPMT_PUBLIC: RSA unique is {} bytes for keyBits {bits}",
                    n.len()
                ));
            }
            EkKey::Rsa {
                n: n.to_vec(),
                exponent,
            }
        }
        TPM_ALG_ECC => {
            r.alg_with_param()?; // scheme
            let curve = r.u16()?;
            r.alg_with_param()?; // kdf
            let x = r.sized()?.to_vec();
            let y = r.sized()?.to_vec();
            EkKey::Ecc { curve, x, y }
        }
        other => {
            return Err(alloc::format!(
                "TPMT_PUBLIC type {other:#06x} is not an RSA or ECC key"
            ))
        }
    };
    if !r.0.is_empty() {
        return Err(alloc::format!(
            "TPMT_PUBLIC: {} bytes after the public area",
            r.0.len()
        ));
    }
    Ok(EkPublic {
        tpmt: bytes.to_vec(),
        key,
        name_alg,
        attributes,
        source: source.into(),
    })
}

fn put_template_head(out: &mut Vec<u8>, type_: u16) {
    out.extend_from_slice(&type_.to_be_bytes());
    out.extend_from_slice(&TPM_ALG_SHA256.to_be_bytes());
    out.extend_from_slice(&EK_ATTRIBUTES.to_be_bytes());
    out.extend_from_slice(&32u16.to_be_bytes());
    out.extend_from_slice(&EK_AUTH_POLICY);
    out.extend_from_slice(&TPM_ALG_AES.to_be_bytes());
    out.extend_from_slice(&128u16.to_be_bytes());
    out.extend_from_slice(&TPM_ALG_CFB.to_be_bytes());
    out.extend_from_slice(&TPM_ALG_NULL.to_be_bytes()); // scheme
}

/// The L-1 template's `TPMT_PUBLIC` with `unique` = `modulus` (256 bytes).
pub fn template_l1(modulus: &[u8; 256]) -> Vec<u8> {
    let mut out = Vec::with_capacity(314);
    put_template_head(&mut out, TPM_ALG_RSA);
    out.extend_from_slice(&2048u16.to_be_bytes());
    out.extend_from_slice(&0u32.to_be_bytes()); // exponent: default 65537
    out.extend_from_slice(&256u16.to_be_bytes());
    out.extend_from_slice(modulus);
    out
}

/// The L-2 template's `TPMT_PUBLIC` with `unique` = (x, y).
pub fn template_l2(x: &[u8; 32], y: &[u8; 32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(122);
    put_template_head(&mut out, TPM_ALG_ECC);
    out.extend_from_slice(&TPM_ECC_NIST_P256.to_be_bytes());
    out.extend_from_slice(&TPM_ALG_NULL.to_be_bytes()); // kdf
    out.extend_from_slice(&32u16.to_be_bytes());
    out.extend_from_slice(x);
    out.extend_from_slice(&32u16.to_be_bytes());
    out.extend_from_slice(y);
    out
}

/// Rebuilds the `TPMT_PUBLIC` of an EK made from the L-1 or L-2 template from its
/// SubjectPublicKeyInfo (contents of the SEQUENCE).
pub fn from_spki(spki: &[u8], source: &str) -> Result<EkPublic, String> {
    let tpmt = match x509::parse_spki(spki)? {
        PublicKey::Rsa { n, e } => {
            let n: &[u8; 256] = n.try_into().map_err(|_| {
                alloc::format!(
                    "RSA-{} key: only the RSA-2048 (L-1) template can be rebuilt; give the TPM2B_PUBLIC",
                    n.len() * 8
                )
            })?;
            if e != [0x01, 0x00, 0x01] {
                return Err("RSA exponent is not 65537: not an L-1 EK".into());
            }
            template_l1(n)
        }
        PublicKey::EcP256(p) => {
            let (x, y) = p[1..].split_at(32);
            let (Ok(x), Ok(y)) = (<&[u8; 32]>::try_from(x), <&[u8; 32]>::try_from(y)) else {
                return Err("bad P-256 point".into());
            };
            template_l2(x, y)
        }
        _ => {
            return Err(
                "only RSA-2048 (L-1) and ECC P-256 (L-2) EKs can be rebuilt from a public key; give the TPM2B_PUBLIC".into(),
            )
        }
    };
    let mut ek = parse_tpmt_public(&tpmt, source)?;
    ek.source = alloc::format!("{source}, TPMT_PUBLIC rebuilt from the TCG default EK template");
    Ok(ek)
}

/// Reads an EK given as PEM (`PUBLIC KEY`), DER SubjectPublicKeyInfo, TPM2B_PUBLIC or
/// TPMT_PUBLIC.
pub fn from_file(data: &[u8], name: &str) -> Result<EkPublic, String> {
    if data.starts_with(b"-----BEGIN") {
        let text = core::str::from_utf8(data).map_err(|_| String::from("PEM is not UTF-8"))?;
        let blocks = crate::pem::decode_all(text, "PUBLIC KEY")?;
        let der = blocks
            .first()
            .ok_or_else(|| String::from("no PUBLIC KEY block in PEM"))?;
        let spki = der::single(der, der::SEQUENCE).map_err(|e| alloc::format!("{e}"))?;
        return from_spki(spki, &alloc::format!("{name}: PEM public key"));
    }
    if data.len() >= 2 {
        let size = usize::from(u16::from_be_bytes([data[0], data[1]]));
        if size == data.len() - 2 {
            return parse_tpmt_public(&data[2..], &alloc::format!("{name}: TPM2B_PUBLIC"));
        }
        let type_ = u16::from_be_bytes([data[0], data[1]]);
        if type_ == TPM_ALG_RSA || type_ == TPM_ALG_ECC {
            return parse_tpmt_public(data, &alloc::format!("{name}: TPMT_PUBLIC"));
        }
    }
    if data.first() == Some(&der::SEQUENCE) {
        if let Ok(spki) = der::single(data, der::SEQUENCE) {
            return from_spki(spki, &alloc::format!("{name}: DER public key"));
        }
    }
    Err("not an EK: expected a PEM/DER public key, a TPM2B_PUBLIC or a TPMT_PUBLIC".into())
}

/// REPORT_DATA the report must carry for this EK: SHA-512(nonce ‖ TPMT_PUBLIC).
pub fn binding_digest(nonce: &[u8], tpmt: &[u8]) -> [u8; 64] {
    let mut h = Sha512::new();
    h.update(nonce);
    h.update(tpmt);
    h.finalize().into()
}

/// The SubjectPublicKeyInfo (DER) of an EK: rsaEncryption or id-ecPublicKey.
pub fn spki_der(ek: &EkKey) -> Result<Vec<u8>, String> {
    let mut w = Writer::new();
    match ek {
        EkKey::Rsa { n, exponent } => {
            let exp = if *exponent == 0 { 65537 } else { *exponent };
            let mut key = Writer::new();
            key.sequence(|k| {
                k.uint(n).uint(&exp.to_be_bytes());
            });
            let key = key.into_vec();
            w.sequence(|w| {
                w.sequence(|a| {
                    a.oid(oid::RSA_ENCRYPTION).tlv(der::NULL, &[]);
                });
                w.bit_string(&key);
            });
        }
        EkKey::Ecc { curve, x, y } => {
            let (curve_oid, len) = match *curve {
                TPM_ECC_NIST_P256 => (oid::PRIME256V1, 32),
                TPM_ECC_NIST_P384 => (oid::SECP384R1, 48),
                c => {
                    return Err(alloc::format!(
                        "ECC curve {c:#06x} has no SPKI mapping here"
                    ))
                }
            };
            if x.len() != len || y.len() != len {
                return Err("ECC point coordinates have the wrong length".into());
            }
            let mut point = alloc::vec![4u8];
            point.extend_from_slice(x);
            point.extend_from_slice(y);
            w.sequence(|w| {
                w.sequence(|a| {
                    a.oid(oid::EC_PUBLIC_KEY).oid(curve_oid);
                });
                w.bit_string(&point);
            });
        }
    }
    Ok(w.into_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rebuilt_templates_parse_and_round_trip_through_spki() {
        let n = [0xC5u8; 256];
        let t = template_l1(&n);
        assert_eq!(t.len(), 314);
        let ek = parse_tpmt_public(&t, "test").unwrap();
        assert_eq!(ek.attributes, EK_ATTRIBUTES);
        let spki = spki_der(&ek.key).unwrap();
        let inner = der::single(&spki, der::SEQUENCE).unwrap();
        assert_eq!(from_spki(inner, "x").unwrap().tpmt, t);
        assert!(ek.key.matches(&x509::parse_spki(inner).unwrap()));

        let t = template_l2(&[1; 32], &[2; 32]);
        assert_eq!(t.len(), 122);
        let ek = parse_tpmt_public(&t, "test").unwrap();
        let spki = spki_der(&ek.key).unwrap();
        let inner = der::single(&spki, der::SEQUENCE).unwrap();
        assert_eq!(from_spki(inner, "x").unwrap().tpmt, t);
    }

    #[test]
    fn files_are_detected_by_shape() {
        let t = template_l2(&[1; 32], &[2; 32]);
        let mut b2 = (t.len() as u16).to_be_bytes().to_vec();
        b2.extend_from_slice(&t);
        assert_eq!(from_file(&b2, "f").unwrap().tpmt, t);
        assert_eq!(from_file(&t, "f").unwrap().tpmt, t);
        let spki = spki_der(&parse_tpmt_public(&t, "").unwrap().key).unwrap();
        let pem = crate::pem::encode("PUBLIC KEY", &spki);
        assert_eq!(from_file(pem.as_bytes(), "f").unwrap().tpmt, t);
        assert_eq!(from_file(&spki, "f").unwrap().tpmt, t);
        assert!(from_file(b"junk", "f").is_err());
        assert!(from_file(&t[..t.len() - 1], "f").is_err());
        assert!(from_file(&[], "f").is_err());
    }

    #[test]
    fn hostile_public_areas_are_refused() {
        let t = template_l1(&[0x80; 256]);
        for cut in 0..t.len() {
            assert!(parse_tpmt_public(&t[..cut], "").is_err(), "cut {cut}");
        }
        let mut extra = t.clone();
        extra.push(0);
        assert!(parse_tpmt_public(&extra, "").is_err());
        let mut bad_bits = t.clone();
        bad_bits[50..52].copy_from_slice(&1024u16.to_be_bytes());
        assert!(parse_tpmt_public(&bad_bits, "").is_err());
    }

    #[test]
    fn binding_is_sha512_of_nonce_then_public_area() {
        let d = binding_digest(b"", b"abc");
        assert_eq!(d[..4], [0xdd, 0xaf, 0x35, 0xa1]);
    }
}
