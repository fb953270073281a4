//! Object identifiers, as their DER contents (X.690 8.19), with the dotted form beside each.

/// 1.2.840.113549.1.1.1 rsaEncryption
pub const RSA_ENCRYPTION: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01];
/// 1.2.840.113549.1.1.10 id-RSASSA-PSS (RFC 4055)
pub const RSASSA_PSS: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x0A];
/// 1.2.840.113549.1.1.8 id-mgf1
pub const MGF1: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x08];
/// 2.16.840.1.101.3.4.2.2 id-sha384
pub const SHA384: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02];
/// 1.2.840.10045.2.1 id-ecPublicKey
pub const EC_PUBLIC_KEY: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01];
/// 1.3.132.0.34 secp384r1
pub const SECP384R1: &[u8] = &[0x2B, 0x81, 0x04, 0x00, 0x22];
/// 1.2.840.10045.3.1.7 prime256v1 (NIST P-256)
pub const PRIME256V1: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07];
/// 1.2.840.10045.4.3.3 ecdsa-with-SHA384
pub const ECDSA_SHA384: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x03];
/// 2.5.4.3 commonName
pub const COMMON_NAME: &[u8] = &[0x55, 0x04, 0x03];
/// 2.5.4.10 organizationName
pub const ORGANIZATION: &[u8] = &[0x55, 0x04, 0x0A];
/// 2.5.29.19 basicConstraints
pub const BASIC_CONSTRAINTS: &[u8] = &[0x55, 0x1D, 0x13];
/// 2.5.29.15 keyUsage
pub const KEY_USAGE: &[u8] = &[0x55, 0x1D, 0x0F];

/// 1.3.6.1.4.1.3704.1.1 AMD structVersion (VCEK/VLEK certificate extensions: AMD's "Versioned
/// Chip Endorsement Key (VCEK) Certificate and KDS Interface Specification", pub. 57230).
pub const AMD_STRUCT_VERSION: &[u8] = &[0x2B, 0x06, 0x01, 0x04, 0x01, 0x9C, 0x78, 0x01, 0x01];
/// 1.3.6.1.4.1.3704.1.2 AMD productName (IA5String, e.g. "Milan-B0")
pub const AMD_PRODUCT_NAME: &[u8] = &[0x2B, 0x06, 0x01, 0x04, 0x01, 0x9C, 0x78, 0x01, 0x02];
/// 1.3.6.1.4.1.3704.1.3.1 AMD blSPL
pub const AMD_BL_SPL: &[u8] = &[0x2B, 0x06, 0x01, 0x04, 0x01, 0x9C, 0x78, 0x01, 0x03, 0x01];
/// 1.3.6.1.4.1.3704.1.3.2 AMD teeSPL
pub const AMD_TEE_SPL: &[u8] = &[0x2B, 0x06, 0x01, 0x04, 0x01, 0x9C, 0x78, 0x01, 0x03, 0x02];
/// 1.3.6.1.4.1.3704.1.3.3 AMD snpSPL
pub const AMD_SNP_SPL: &[u8] = &[0x2B, 0x06, 0x01, 0x04, 0x01, 0x9C, 0x78, 0x01, 0x03, 0x03];
/// 1.3.6.1.4.1.3704.1.3.8 AMD ucodeSPL
pub const AMD_UCODE_SPL: &[u8] = &[0x2B, 0x06, 0x01, 0x04, 0x01, 0x9C, 0x78, 0x01, 0x03, 0x08];
/// 1.3.6.1.4.1.3704.1.3.9 AMD fmcSPL (Turin)
pub const AMD_FMC_SPL: &[u8] = &[0x2B, 0x06, 0x01, 0x04, 0x01, 0x9C, 0x78, 0x01, 0x03, 0x09];
/// 1.3.6.1.4.1.3704.1.4 AMD hwID (raw CHIP_ID bytes, not wrapped in an OCTET STRING)
pub const AMD_HW_ID: &[u8] = &[0x2B, 0x06, 0x01, 0x04, 0x01, 0x9C, 0x78, 0x01, 0x04];
/// 1.3.6.1.4.1.3704.1.5 AMD csp_id (VLEK only)
pub const AMD_CSP_ID: &[u8] = &[0x2B, 0x06, 0x01, 0x04, 0x01, 0x9C, 0x78, 0x01, 0x05];

/// 2.25.167379264351598331392086617470116322212: the evtpm arc, a UUID OID (ITU-T X.667,
/// UUID 7dec12df-ddb6-419e-862d-9778a9a05ba4) that needs no registration. PLACEHOLDER until
/// evtpm has a Private Enterprise Number; the EK certificate extensions below hang off it.
pub const EVTPM_ARC: &[u8] = &[
    0x69, 0x81, 0xFB, 0xEC, 0x89, 0xB7, 0xFB, 0xDB, 0xB2, 0x86, 0xBD, 0x86, 0x96, 0xE5, 0xEF, 0x8A,
    0xCD, 0x81, 0xB7, 0x24,
];

/// `<EVTPM_ARC>.n` as DER contents (n < 128).
pub const fn evtpm(n: u8) -> [u8; 21] {
    let mut out = [0u8; 21];
    let mut i = 0;
    while i < EVTPM_ARC.len() {
        out[i] = EVTPM_ARC[i];
        i += 1;
    }
    out[20] = n;
    out
}

/// `<EVTPM_ARC>.1`: the SNP ATTESTATION_REPORT (OCTET STRING, 1184 bytes).
pub const EVTPM_SNP_REPORT: [u8; 21] = evtpm(1);
/// `<EVTPM_ARC>.2`: the EK's TPMT_PUBLIC exactly as the report binds it (OCTET STRING).
pub const EVTPM_EK_TPMT_PUBLIC: [u8; 21] = evtpm(2);
/// `<EVTPM_ARC>.3`: the VCEK or VLEK certificate (its DER as the extension value).
pub const EVTPM_VCEK: [u8; 21] = evtpm(3);
/// `<EVTPM_ARC>.4`: the ASK or ASVK certificate (its DER as the extension value).
pub const EVTPM_ASK: [u8; 21] = evtpm(4);
/// `<EVTPM_ARC>.5`: the ARK certificate (its DER as the extension value).
pub const EVTPM_ARK: [u8; 21] = evtpm(5);

/// Dotted form of DER OID contents, for messages.
pub fn dotted(encoded: &[u8]) -> alloc::string::String {
    use core::fmt::Write;
    let mut s = alloc::string::String::new();
    let mut v: u128 = 0;
    let mut first = true;
    for &b in encoded {
        v = (v << 7) | u128::from(b & 0x7F);
        if b & 0x80 == 0 {
            if first {
                let (a, b) = if v < 80 {
                    (v / 40, v % 40)
                } else {
                    (2, v - 80)
                };
                let _ = write!(s, "{a}.{b}");
                first = false;
            } else {
                let _ = write!(s, ".{v}");
            }
            v = 0;
        }
        if v > u128::MAX >> 7 {
            return "(oversized OID)".into();
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constants_match_their_dotted_forms() {
        assert_eq!(dotted(RSASSA_PSS), "1.2.840.113549.1.1.10");
        assert_eq!(dotted(AMD_HW_ID), "1.3.6.1.4.1.3704.1.4");
        assert_eq!(
            dotted(&EVTPM_SNP_REPORT),
            "2.25.167379264351598331392086617470116322212.1"
        );
        assert_eq!(
            crate::der::encode_oid(&[2, 25, 167379264351598331392086617470116322212]),
            EVTPM_ARC
        );
    }
}
