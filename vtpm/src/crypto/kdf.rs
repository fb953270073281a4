//! The TPM's key derivation functions: KDFa (Part 1, 11.4.10.2: SP 800-108 counter mode with
//! HMAC), KDFe (Part 1, 11.4.10.3: SP 800-56A concatenation KDF) and MGF1 (RFC 8017, B.2.1).

use super::hash::Hasher;
use super::hmac::Hmac;
use super::CryptoError;
use tpm_proto::HashAlg;

/// Bytes needed for `bits` bits.
fn bytes_for(bits: u32) -> usize {
    (bits as usize).div_ceil(8)
}

/// Whether a zero octet must follow `label`: always, unless the label already ends in one (the
/// reference implementation's rule, which keeps labels given as C strings and as byte strings
/// interoperable; Part 1, 11.4.10.2 note).
fn label_terminator(label: &[u8]) -> &'static [u8] {
    match label.last() {
        Some(0) => &[],
        _ => &[0],
    }
}

/// Clears the bits above `bits` in the leading octet, so the output is a `bits`-bit big-endian
/// value, as the reference implementation's `CryptKDFa` does.
fn mask_leading(out: &mut [u8], bits: u32) {
    let rem = bits % 8;
    if rem != 0 {
        if let Some(b) = out.first_mut() {
            *b &= (1u8 << rem) - 1;
        }
    }
}

/// KDFa (Part 1, 11.4.10.2): `K(i) = HMAC(key, [i]₃₂ ‖ label ‖ 00 ‖ contextU ‖ contextV ‖ [bits]₃₂)`
/// for `i = 1, 2, …`, concatenated and cut to `bits`. `out` must be exactly `⌈bits/8⌉` bytes long.
pub fn kdf_a(
    hash: HashAlg,
    key: &[u8],
    label: &[u8],
    context_u: &[u8],
    context_v: &[u8],
    bits: u32,
    out: &mut [u8],
) -> Result<(), CryptoError> {
    if out.len() != bytes_for(bits) {
        return Err(CryptoError::Size);
    }
    let term = label_terminator(label);
    let mut counter: u32 = 0;
    for block in out.chunks_mut(hash.size()) {
        counter = counter.wrapping_add(1);
        let mut m = Hmac::new(hash, key);
        m.update(&counter.to_be_bytes())
            .update(label)
            .update(term)
            .update(context_u)
            .update(context_v)
            .update(&bits.to_be_bytes());
        let k = m.finish();
        for (o, b) in block.iter_mut().zip(k.as_bytes()) {
            *o = *b;
        }
    }
    mask_leading(out, bits);
    Ok(())
}

/// KDFe (Part 1, 11.4.10.3; SP 800-56A 5.8.1):
/// `K(i) = H([i]₃₂ ‖ Z ‖ label ‖ 00 ‖ partyUInfo ‖ partyVInfo)` for `i = 1, 2, …`, cut to `bits`.
/// `z` is the x coordinate of the shared point. `out` must be exactly `⌈bits/8⌉` bytes long.
pub fn kdf_e(
    hash: HashAlg,
    z: &[u8],
    label: &[u8],
    party_u: &[u8],
    party_v: &[u8],
    bits: u32,
    out: &mut [u8],
) -> Result<(), CryptoError> {
    if out.len() != bytes_for(bits) {
        return Err(CryptoError::Size);
    }
    let term = label_terminator(label);
    let mut counter: u32 = 0;
    for block in out.chunks_mut(hash.size()) {
        counter = counter.wrapping_add(1);
        let k = Hasher::digest(
            hash,
            &[&counter.to_be_bytes(), z, label, term, party_u, party_v],
        );
        for (o, b) in block.iter_mut().zip(k.as_bytes()) {
            *o = *b;
        }
    }
    mask_leading(out, bits);
    Ok(())
}

/// MGF1 (RFC 8017, B.2.1): fills `out` with `H(seed ‖ [0]₃₂) ‖ H(seed ‖ [1]₃₂) ‖ …`.
pub fn mgf1(hash: HashAlg, seed: &[u8], out: &mut [u8]) {
    let mut counter: u32 = 0;
    for block in out.chunks_mut(hash.size()) {
        let k = Hasher::digest(hash, &[seed, &counter.to_be_bytes()]);
        for (o, b) in block.iter_mut().zip(k.as_bytes()) {
            *o = *b;
        }
        counter = counter.wrapping_add(1);
    }
}

/// [`mgf1`] XORed into `data` (the masking step of OAEP and PSS).
pub(crate) fn mgf1_xor(hash: HashAlg, seed: &[u8], data: &mut [u8]) {
    let mut counter: u32 = 0;
    for block in data.chunks_mut(hash.size()) {
        let k = Hasher::digest(hash, &[seed, &counter.to_be_bytes()]);
        for (o, b) in block.iter_mut().zip(k.as_bytes()) {
            *o ^= *b;
        }
        counter = counter.wrapping_add(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::test_util::h;
    use alloc::vec;
    use alloc::vec::Vec;

    fn kdfa(hash: HashAlg, key: &[u8], label: &[u8], u: &[u8], v: &[u8], bits: u32) -> Vec<u8> {
        let mut out = vec![0u8; bytes_for(bits)];
        kdf_a(hash, key, label, u, v, bits, &mut out).unwrap();
        out
    }

    fn kdfe(hash: HashAlg, z: &[u8], label: &[u8], u: &[u8], v: &[u8], bits: u32) -> Vec<u8> {
        let mut out = vec![0u8; bytes_for(bits)];
        kdf_e(hash, z, label, u, v, bits, &mut out).unwrap();
        out
    }

    // Expected values from Python `cryptography` 4x: KBKDFHMAC(mode=CounterMode, rlen=4, llen=4,
    // location=BeforeFixed, label=<label without NUL>, context=contextU‖contextV) — its fixed input
    // is label ‖ 00 ‖ context ‖ [L]₃₂, which is KDFa's layout.
    #[test]
    fn kdfa_matches_sp800_108_counter_mode() {
        let key: Vec<u8> = (0u8..32).collect();
        let mut name = h("000b");
        name.extend(0x20u8..0x40);
        assert_eq!(
            kdfa(HashAlg::Sha256, &key, b"STORAGE", &name, &[], 256),
            h("646aafe24014e0661e2eb4cdc398be1376befea087f26d865322dd4e0677c836")
        );
        assert_eq!(
            kdfa(HashAlg::Sha256, &key, b"INTEGRITY", &[], &[], 256),
            h("bacf689f634ece301e1f1b15b072d9c87db6a69585db42b1a0cb8f73ebe2692e")
        );
        assert_eq!(
            kdfa(
                HashAlg::Sha1,
                &[0x11; 20],
                b"ATH",
                &[0xaa; 16],
                &[0xbb; 16],
                400
            ),
            h(
                "eb4b0607b67f2d46fb736eb97cef52222a5b9ef35890d9fa7b5b877a9b86b399
               b802f33cf25814150e5ac987aa81075a36c1"
            )
        );
        assert_eq!(
            kdfa(
                HashAlg::Sha384,
                &[b'k'; 48],
                b"CFB",
                b"nonceNewer",
                b"nonceOlder",
                384
            ),
            h(
                "13dc137f9a47cf72e904c1de387d929c40cf1938823d904996d26d5fdcc6a8df
               924fc701ce5dd28e90d74795a91cd864"
            )
        );
        assert_eq!(
            kdfa(
                HashAlg::Sha512,
                &[b'x'; 64],
                b"XOR",
                &[b'U'; 8],
                &[b'V'; 8],
                800
            ),
            h(
                "d8ddc7cdb009f0e02bbf47d1a2fea80567e7d9380492c83eeb11e2c033886808
               d2e2ac0083f039d601165f1a81e52280bf5d3598a6416abad5ff71004e285eb5
               90b3f75560f37c270e6787e102dae831ba1e76a74a5a1c57c0f4cc802aa8e3a7
               ef78b871"
            )
        );
    }

    // A label that already ends in NUL gets no second one: same output as the label without it
    // (expected value from KBKDFHMAC with label "IDENTITY", context "uv").
    #[test]
    fn kdfa_label_with_terminator_is_not_doubled() {
        let key: Vec<u8> = (0u8..32).collect();
        let expect = h("77d322b6823082497e72e9e4583b8da96fcdcb678f8aa3ee76c43796be30fdb0");
        assert_eq!(
            kdfa(HashAlg::Sha256, &key, b"IDENTITY\0", b"u", b"v", 256),
            expect
        );
        assert_eq!(
            kdfa(HashAlg::Sha256, &key, b"IDENTITY", b"u", b"v", 256),
            expect
        );
    }

    // 131 bits: the leading octet keeps its low 3 bits. Expected value from a direct Python
    // transcription of 11.4.10.2 (hmac module), cross-checked against KBKDFHMAC for whole bytes.
    #[test]
    fn kdfa_masks_partial_leading_octet() {
        let key: Vec<u8> = (0u8..32).collect();
        assert_eq!(
            kdfa(HashAlg::Sha256, &key, b"PRIME", b"ctx", &[], 131),
            h("031681d6c6468045a838cc5976176a15ed")
        );
    }

    #[test]
    fn kdf_output_length_must_match_bits() {
        let mut out = [0u8; 3];
        assert_eq!(
            kdf_a(HashAlg::Sha256, b"k", b"L", &[], &[], 32, &mut out),
            Err(CryptoError::Size)
        );
        assert_eq!(
            kdf_e(HashAlg::Sha256, b"z", b"L", &[], &[], 17, &mut out),
            Ok(())
        );
        assert_eq!(
            kdf_a(HashAlg::Sha256, b"k", b"L", &[], &[], 0, &mut []),
            Ok(())
        );
    }

    // Expected values from Python `cryptography`: ConcatKDFHash(algorithm, length,
    // otherinfo = label ‖ 00 ‖ partyUInfo ‖ partyVInfo).derive(Z).
    #[test]
    fn kdfe_matches_concat_kdf() {
        let z = [0xa5u8; 32];
        assert_eq!(
            kdfe(HashAlg::Sha256, &z, b"SECRET", &[1; 32], &[2; 32], 256),
            h("394e2f3d95a03e6b9836aa11599f67e2663660e15797894c873860aa0057e56a")
        );
        let z48 = [0xa5u8; 48];
        assert_eq!(
            kdfe(HashAlg::Sha384, &z48, b"SECRET\0", &[3; 48], &[4; 48], 384),
            h(
                "0735ffb95f9832fb764a8a481e8b2acbe0032431f594e4e28b79fe1fe15c2e4e
               15953f8abaa366413c4693a4535a6b7a"
            )
        );
        assert_eq!(
            kdfe(HashAlg::Sha1, &z, b"DUPLICATE", b"uu", b"vv", 320),
            h("2967e1866a329a825ea0e4f257a5f33073ef40d06644f5f21c96b8ce10e0ea37dd5b4d015cd316dc")
        );
    }

    // Expected values from a Python transcription of RFC 8017 B.2.1 (hashlib); the SHA-1 "foo"
    // output begins 1ac907…, the widely quoted MGF1 example.
    #[test]
    fn mgf1_known_answers() {
        let mut out = [0u8; 50];
        mgf1(HashAlg::Sha256, b"seed", &mut out);
        assert_eq!(
            out[..],
            h(
                "336f28a022193939585a1b4edc989f870917f3a5f6ddd16e4fb357084a6bdfc2
               73a649427664d03bbb062e456425488416c5"
            )[..]
        );
        let mut out = [0u8; 30];
        mgf1(HashAlg::Sha1, b"foo", &mut out);
        assert_eq!(
            out[..],
            h("1ac9075cd427bc90b48a9966828cab4a04c23fdf4c5ec5c9a25033cafc76")[..]
        );
        let mut x = [0u8; 30];
        mgf1_xor(HashAlg::Sha1, b"foo", &mut x);
        assert_eq!(x, out);
    }
}
