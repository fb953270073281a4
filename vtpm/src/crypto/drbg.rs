//! SP 800-90A Rev. 1 HMAC_DRBG (section 10.1.2) with SHA-256, without prediction resistance.
//!
//! This is the engine's only source of randomness: `TPM2_GetRandom`, nonces, salts, and through
//! its [`rand_core::RngCore`] implementation RSA blinding and key generation. The platform
//! supplies entropy at instantiation and whenever [`Drbg::generate`] reports
//! [`CryptoError::ReseedRequired`].

use super::hmac::Hmac;
use super::CryptoError;
use tpm_proto::HashAlg;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// The DRBG's error type of the interim interface; every crypto error is a [`CryptoError`].
pub type DrbgError = CryptoError;

/// Output length of SHA-256, the DRBG's `outlen`.
const OUTLEN: usize = 32;

/// Largest single request (SP 800-90A table 2: `max_number_of_bits_per_request` = 2^19 bits).
/// Larger requests are split into several generate calls.
pub const MAX_REQUEST_BYTES: usize = 1 << 16;

/// Generate calls allowed between reseeds. SP 800-90A permits 2^48; we ask the platform for
/// fresh entropy far more often than that.
pub const RESEED_INTERVAL: u64 = 1 << 24;

/// An HMAC_DRBG instance (`Key`, `V`, `reseed_counter`). Wiped on drop.
///
/// `Key` is held as its HMAC key schedule (an [`Hmac`] with both pads absorbed) rather than as
/// bytes: every `HMAC(Key, ·)` of a generate call then starts from a clone, which saves the two
/// pad compressions per HMAC (a 32-byte request costs 8 SHA-256 compressions instead of 12).
pub struct Drbg {
    key: Hmac,
    v: [u8; OUTLEN],
    reseed_counter: u64,
    reseed_interval: u64,
    /// Set when [`rand_core::RngCore::fill_bytes`] had to run past the reseed interval (it
    /// cannot return an error); see [`Drbg::take_rng_error`].
    rng_overrun: bool,
}

impl core::fmt::Debug for Drbg {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Drbg")
            .field("reseed_counter", &self.reseed_counter)
            .finish_non_exhaustive()
    }
}

impl Drbg {
    /// Instantiates (SP 800-90A 10.1.2.3) from `entropy_input` (which includes the nonce) and a
    /// personalization string.
    pub fn new(entropy_input: &[u8], personalization: &[u8]) -> Drbg {
        let mut d = Drbg {
            key: Hmac::new(HashAlg::Sha256, &[0; OUTLEN]),
            v: [1; OUTLEN],
            reseed_counter: 1,
            reseed_interval: RESEED_INTERVAL,
            rng_overrun: false,
        };
        d.update(&[entropy_input, personalization]);
        d
    }

    /// The same DRBG with a different reseed interval (at least 1).
    pub fn with_reseed_interval(mut self, interval: u64) -> Drbg {
        self.reseed_interval = interval.max(1);
        self
    }

    /// Reseeds (SP 800-90A 10.1.2.4) with fresh entropy and optional additional input.
    pub fn reseed(&mut self, entropy: &[u8], additional: &[u8]) {
        self.update(&[entropy, additional]);
        self.reseed_counter = 1;
        self.rng_overrun = false;
    }

    /// Whether the next generate call would need a reseed first.
    /// Mixes `additional` into the state (SP 800-90A 10.1.2.2 `HMAC_DRBG_Update` with the data
    /// as `provided_data`), as `TPM2_StirRandom` does in the reference implementation. The
    /// reseed counter is not reset: this adds no entropy the DRBG may count on.
    pub fn add_input(&mut self, additional: &[u8]) {
        if !additional.is_empty() {
            self.update(&[additional]);
        }
    }

    pub fn needs_reseed(&self) -> bool {
        self.reseed_counter > self.reseed_interval
    }

    /// Fills `out` (SP 800-90A 10.1.2.5). Requests longer than [`MAX_REQUEST_BYTES`] are split;
    /// the additional input goes into the first part. If the whole request would cross the reseed
    /// interval nothing is written and [`CryptoError::ReseedRequired`] is returned.
    pub fn generate(&mut self, out: &mut [u8], additional: &[u8]) -> Result<(), CryptoError> {
        let calls = out.len().div_ceil(MAX_REQUEST_BYTES).max(1) as u64;
        let last = self.reseed_counter.saturating_add(calls - 1);
        if last > self.reseed_interval {
            return Err(CryptoError::ReseedRequired);
        }
        self.generate_unchecked(out, additional);
        Ok(())
    }

    /// Reports (and clears) a reseed-interval overrun by the [`rand_core::RngCore`] interface.
    /// Callers that hand the DRBG to a library (key generation, blinding) check this afterwards
    /// and discard the result on error.
    pub fn take_rng_error(&mut self) -> Result<(), CryptoError> {
        if core::mem::take(&mut self.rng_overrun) {
            Err(CryptoError::ReseedRequired)
        } else {
            Ok(())
        }
    }

    fn generate_unchecked(&mut self, out: &mut [u8], additional: &[u8]) {
        let mut first = true;
        let mut chunks = out.chunks_mut(MAX_REQUEST_BYTES);
        // An empty request still advances the state, as one generate call.
        let mut empty: [u8; 0] = [];
        let mut next = chunks.next();
        if next.is_none() {
            next = Some(&mut empty[..]);
        }
        while let Some(chunk) = next {
            let add = if first { additional } else { &[] };
            first = false;
            self.generate_one(chunk, add);
            next = chunks.next();
        }
    }

    fn generate_one(&mut self, out: &mut [u8], additional: &[u8]) {
        if !additional.is_empty() {
            self.update(&[additional]);
        }
        for block in out.chunks_mut(OUTLEN) {
            let mut m = self.key.clone();
            m.update(&self.v);
            self.v.copy_from_slice(m.finish().as_bytes());
            for (o, b) in block.iter_mut().zip(self.v.iter()) {
                *o = *b;
            }
        }
        self.update(&[additional]);
        self.reseed_counter = self.reseed_counter.saturating_add(1);
    }

    /// HMAC_DRBG_Update (10.1.2.2) with `provided_data` the concatenation of `parts`.
    fn update(&mut self, parts: &[&[u8]]) {
        let empty = parts.iter().all(|p| p.is_empty());
        for round in [0u8, 1] {
            if round == 1 && empty {
                break;
            }
            let mut m = self.key.clone();
            m.update(&self.v).update(&[round]);
            for p in parts {
                m.update(p);
            }
            let mut key = m.finish();
            self.key = Hmac::new(HashAlg::Sha256, key.as_bytes());
            key.wipe();
            let mut m = self.key.clone();
            m.update(&self.v);
            self.v.copy_from_slice(m.finish().as_bytes());
        }
    }
}

impl Zeroize for Drbg {
    fn zeroize(&mut self) {
        self.key = Hmac::new(HashAlg::Sha256, &[0; OUTLEN]);
        self.v.zeroize();
        self.reseed_counter = 0;
    }
}

impl Drop for Drbg {
    fn drop(&mut self) {
        self.zeroize();
    }
}

impl ZeroizeOnDrop for Drbg {}

impl rand_core::RngCore for Drbg {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        self.fill_bytes(&mut b);
        u32::from_le_bytes(b)
    }

    fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        self.fill_bytes(&mut b);
        u64::from_le_bytes(b)
    }

    /// Generates with empty additional input. Past the reseed interval it keeps generating (a
    /// library caller cannot handle an error, and zeros or a panic would be worse) and records the
    /// overrun for [`Drbg::take_rng_error`].
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        if self.generate(dest, &[]).is_err() {
            self.rng_overrun = true;
            self.generate_unchecked(dest, &[]);
        }
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.generate(dest, &[]).map_err(|_| {
            const CODE: u32 = rand_core::Error::CUSTOM_START;
            match core::num::NonZeroU32::new(CODE) {
                Some(c) => rand_core::Error::from(c),
                None => rand_core::Error::from(core::num::NonZeroU32::MIN),
            }
        })
    }
}

impl rand_core::CryptoRng for Drbg {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::test_util::h;
    use alloc::vec;
    use alloc::vec::Vec;
    use rand_core::RngCore;

    /// The DRBG's `Key` is held as an HMAC key schedule; it is compared through a MAC under it.
    fn key_mac(d: &Drbg) -> crate::crypto::hash::Digest {
        let mut m = d.key.clone();
        m.update(b"key check");
        m.finish()
    }

    fn cat(a: &[u8], b: &[u8]) -> Vec<u8> {
        let mut v = a.to_vec();
        v.extend_from_slice(b);
        v
    }

    // NIST CAVP drbgvectors_pr_false, HMAC_DRBG.rsp, [SHA-256], no personalization or additional
    // input, COUNT = 0 (instantiate, reseed, generate twice, compare the second output). Quoted
    // with its intermediate values in BoringSSL's Go test `TestHMACDRBG` (BoringSSL's ACVP
    // tooling, util/fipstools).
    #[test]
    fn cavp_pr_false_sha256_count0() {
        let mut d = Drbg::new(
            &cat(
                &h("06032cd5eed33f39265f49ecb142c511da9aff2af71203bffaf34a9ca5bd9c0d"),
                &h("0e66f71edc43e42a45ad3c6fc6cdc4df"),
            ),
            &[],
        );
        assert_eq!(
            d.v,
            h("81e0d8830ed2d16f9b288a1cb289c5fab3f3c5c28131be7cafedcc7734604d34")[..]
        );
        assert_eq!(
            key_mac(&d),
            Hmac::mac(
                HashAlg::Sha256,
                &h("17dc11c2389f5eeb9d0f6a5148a1ea83ee8a828f4f140ac78272a0da435fa121"),
                &[b"key check"]
            )
        );
        d.reseed(
            &h("01920a4e669ed3a85ae8a33b35a74ad7fb2a6bb4cf395ce00334a9c9a5a5d552"),
            &[],
        );
        assert_eq!(
            d.v,
            h("c246fa97570ba2b9d9e5b453fe4632366f146fbd8491146563eb463c9eafe50c")[..]
        );
        let mut out = [0u8; 128];
        d.generate(&mut out, &[]).unwrap();
        d.generate(&mut out, &[]).unwrap();
        assert_eq!(
            out[..],
            h(
                "76fc79fe9b50beccc991a11b5635783a83536add03c157fb30645e611c2898bb
               2b1bc215000209208cd506cb28da2a51bdb03826aaf2bd2335d576d519160842
               e7158ad0949d1a9ec3e66ea1b1a064b005de914eac2e9d4f2d72a8616a802254
               22918250ff66a41bd2f864a6a38cc5b6499dc43f7f2bd09e1e0f8f5885935124"
            )[..]
        );
        assert_eq!(
            d.v,
            h("80524881711e89a61e6fe7169581e50fb9ad642f3dff48fba5773352fa04cec3")[..]
        );
    }

    // NIST CAVP drbgvectors_pr_true, HMAC_DRBG.rsp, [SHA-256], [AdditionalInputLen = 256],
    // [ReturnedBitsLen = 256] COUNT = 0, run as BoringSSL's `TestHMACDRBGPredictionResistance`
    // does: prediction resistance is a reseed with (EntropyInputPR, AdditionalInput) before each
    // generate. Exercises reseed with additional input.
    #[test]
    fn cavp_pr_true_sha256_as_reseeds() {
        let mut d = Drbg::new(
            &cat(
                &h("6c1f4bffc476e488fb57eb80dc106cf2b417bad22b196baa6346958256db490f"),
                &h("5f1b92223e3909e43677da2f588a6d19"),
            ),
            &[],
        );
        let mut out = [0u8; 32];
        d.reseed(
            &h("abaca65695bd5d289880453850fc8289b76f78b43f970ed32f4125a941165515"),
            &h("e6cd940610375e504fa80406120b34d498b022393436e910c0ba2560603fd066"),
        );
        d.generate(&mut out, &[]).unwrap();
        d.reseed(
            &h("4a39b666cf861816d7d82ef6e23f70f149d74d9bd499eea19b622e751c43d839"),
            &h("d20082c5bdf6f6711af391e7d01046b9d3610827de63aa2671a5f5ad07b90841"),
        );
        d.generate(&mut out, &[]).unwrap();
        assert_eq!(
            out[..],
            h("d3c36e4ae25ff21a95a157a89f13eb976362a695ea755f0465ed4a7bb20c5cb3")[..]
        );
    }

    // NIST CAVP drbgvectors_no_reseed, HMAC_DRBG.rsp (HMAC_DRBG.txt lines 8950-9211), [SHA-256],
    // [PersonalizationStringLen = 256], [AdditionalInputLen = 0] COUNT = 0; from the Coq
    // transcription in the VST project's hmacdrbg tests (PrincetonUniversity/VST).
    #[test]
    fn cavp_no_reseed_sha256_personalization() {
        let mut d = Drbg::new(
            &cat(
                &h("5cacc68165a2e2ee20812f35ec73a79dbf30fd475476ac0c44fc6174cdac2b55"),
                &h("6f885496c1e63af620becd9e71ecb824"),
            ),
            &h("e72dd8590d4ed5295515c35ed6199e9d211b8f069b3058caa6670b96ef1208d0"),
        );
        let mut out = [0u8; 128];
        d.generate(&mut out, &[]).unwrap();
        d.generate(&mut out, &[]).unwrap();
        assert_eq!(
            out[..],
            h(
                "f1012cf543f94533df27fedfbf58e5b79a3dc517a9c402bdbfc9a0c0f721f9d5
               3faf4aafdc4b8f7a1b580fcaa52338d4bd95f58966a243cdcd3f446ed4bc546d
               9f607b190dd69954450d16cd0e2d6437067d8b44d19a6af7a7cfa8794e5fbd72
               8e8fb2f2e8db5dd4ff1aa275f35886098e80ff844886060da8b1e7137846b23b"
            )[..]
        );
    }

    // NIST CAVP drbgvectors_no_reseed, HMAC_DRBG.rsp (HMAC_DRBG.txt lines 8687-8948), [SHA-256],
    // [AdditionalInputLen = 256] COUNT = 0, with the intermediate (V, Key) after instantiate;
    // from the Coq transcription in the VST project's hmacdrbg tests (PrincetonUniversity/VST).
    #[test]
    fn cavp_no_reseed_sha256_additional_input() {
        let mut d = Drbg::new(
            &cat(
                &h("d3cc4d1acf3dde0c4bd2290d262337042dc632948223d3a2eaab87da44295fbd"),
                &h("0109b0e729f457328aa18569a9224921"),
            ),
            &[],
        );
        assert_eq!(
            d.v,
            h("ce2b227a459d2fb4058b1a7bf88be68f2f60bc3d2d9d178375198173b1932684")[..]
        );
        assert_eq!(
            key_mac(&d),
            Hmac::mac(
                HashAlg::Sha256,
                &h("65e359c55b4cc3c11fe4d7fc411ad5f51da2323bb0bd31f6162e5785c20be475"),
                &[b"key check"]
            )
        );
        let mut out = [0u8; 128];
        d.generate(
            &mut out,
            &h("3c311848183c9a212a26f27f8c6647e40375e466a0857cc39c4e47575d53f1f6"),
        )
        .unwrap();
        assert_eq!(
            d.v,
            h("36651a0f4b6e3d62035f68758a8496b14f57b8fe72600ce9aaab087601d224ca")[..]
        );
        d.generate(
            &mut out,
            &h("fcb9abd19ccfbccef88c9c39bfb3dd7b1c12266c9808992e305bc3cff566e4e4"),
        )
        .unwrap();
        assert_eq!(
            out[..],
            h(
                "9c7b758b212cd0fcecd5daa489821712e3cdea4467b560ef5ddc24ab47749a1f
               1ffdbbb118f4e62fcfca3371b8fbfc5b0646b83e06bfbbab5fac30ea09ea2bc7
               6f1ea568c9be0444b2cc90517b20ca825f2d0eccd88e7175538b85d90ab39018
               3ca6395535d34473af6b5a5b88f5a59ee7561573337ea819da0dcc3573a22974"
            )[..]
        );
    }

    #[test]
    fn generate_reports_reseed_required_and_reseed_clears_it() {
        let mut d = Drbg::new(&[7; 48], b"t").with_reseed_interval(2);
        let mut out = [0u8; 16];
        d.generate(&mut out, &[]).unwrap();
        d.generate(&mut out, &[]).unwrap();
        let before = out;
        assert_eq!(d.generate(&mut out, &[]), Err(CryptoError::ReseedRequired));
        assert_eq!(out, before, "nothing written on error");
        d.reseed(&[9; 32], &[]);
        d.generate(&mut out, &[]).unwrap();
    }

    #[test]
    fn large_requests_are_split_and_counted() {
        let mut d = Drbg::new(&[1; 48], &[]).with_reseed_interval(2);
        let mut big = vec![0u8; MAX_REQUEST_BYTES + 1];
        d.generate(&mut big, b"x").unwrap();
        assert!(d.needs_reseed());
        // The split output equals two separate calls.
        let mut e = Drbg::new(&[1; 48], &[]);
        let mut a = vec![0u8; MAX_REQUEST_BYTES];
        let mut b = [0u8; 1];
        e.generate(&mut a, b"x").unwrap();
        e.generate(&mut b, &[]).unwrap();
        assert_eq!(big[..MAX_REQUEST_BYTES], a[..]);
        assert_eq!(big[MAX_REQUEST_BYTES], b[0]);
        let mut d3 = Drbg::new(&[1; 48], &[]).with_reseed_interval(1);
        assert_eq!(d3.generate(&mut big, &[]), Err(CryptoError::ReseedRequired));
    }

    #[test]
    fn rng_interface_records_overrun() {
        let mut d = Drbg::new(&[3; 48], &[]).with_reseed_interval(1);
        let mut b = [0u8; 8];
        d.fill_bytes(&mut b);
        assert_eq!(d.take_rng_error(), Ok(()));
        assert!(d.try_fill_bytes(&mut b).is_err());
        d.fill_bytes(&mut b);
        assert_ne!(b, [0; 8]);
        assert_eq!(d.take_rng_error(), Err(CryptoError::ReseedRequired));
        assert_eq!(d.take_rng_error(), Ok(()));
    }

    #[test]
    fn add_input_changes_the_state_and_empty_input_does_not() {
        let (mut a, mut b, mut c) = (
            Drbg::new(&[7; 48], b"p"),
            Drbg::new(&[7; 48], b"p"),
            Drbg::new(&[7; 48], b"p"),
        );
        b.add_input(b"stir");
        c.add_input(b"");
        // The same as a generate call's additional-input step: HMAC_DRBG_Update(data).
        let mut d = Drbg::new(&[7; 48], b"p");
        d.update(&[b"stir"]);
        assert_eq!(key_mac(&d), key_mac(&b));
        assert_eq!(d.v, b.v);
        let (mut x, mut y, mut z) = ([0u8; 32], [0u8; 32], [0u8; 32]);
        a.generate(&mut x, &[]).unwrap();
        b.generate(&mut y, &[]).unwrap();
        c.generate(&mut z, &[]).unwrap();
        assert_ne!(x, y);
        assert_eq!(x, z);
    }
}
