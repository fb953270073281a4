//! Property tests over the Part 2 structures.
//!
//! The strategies here build *wire encodings* of valid structures with a small encoder of their
//! own, independent of the crate's `Marshal` impls. For each encoding: it must unmarshal,
//! consuming every byte; marshalling the value must give back exactly those bytes; and
//! unmarshalling that must give an equal value. Then the same bytes with one octet changed, and
//! arbitrary bytes, must never panic and never break a round trip (`roundtrip::check`).

use proptest::prelude::*;
use proptest::sample::select;
use tpm_proto::roundtrip::{self, KINDS};
use tpm_proto::*;

type B = Vec<u8>;
type S = BoxedStrategy<B>;

const NULL: u16 = 0x0010;

fn be16(v: u16) -> B {
    v.to_be_bytes().to_vec()
}
fn be32(v: u32) -> B {
    v.to_be_bytes().to_vec()
}
fn be64(v: u64) -> B {
    v.to_be_bytes().to_vec()
}
fn sized(b: B) -> B {
    [be16(b.len() as u16), b].concat()
}
fn tpm2b(max: usize) -> S {
    prop::collection::vec(any::<u8>(), 0..=max)
        .prop_map(sized)
        .boxed()
}
fn list(elem: S, max: usize) -> S {
    prop::collection::vec(elem, 0..=max)
        .prop_map(|v| [be32(v.len() as u32), v.concat()].concat())
        .boxed()
}
fn u16_of(values: &'static [u16]) -> S {
    select(values).prop_map(be16).boxed()
}
fn u32_of(values: &'static [u32]) -> S {
    select(values).prop_map(be32).boxed()
}
fn null() -> S {
    Just(be16(NULL)).boxed()
}

fn hash() -> S {
    u16_of(&[0x0004, 0x000B, 0x000C, 0x000D])
}
fn hash_or_null() -> S {
    prop_oneof![hash(), null()].boxed()
}
/// A `TPMT_HA`: a hash and a digest of exactly its size.
fn tpmt_ha() -> S {
    select(
        &[
            (0x0004u16, 20usize),
            (0x000B, 32),
            (0x000C, 48),
            (0x000D, 64),
        ][..],
    )
    .prop_flat_map(|(alg, n)| {
        prop::collection::vec(any::<u8>(), n).prop_map(move |d| [be16(alg), d].concat())
    })
    .boxed()
}
fn aes() -> S {
    (
        u16_of(&[128, 256]),
        u16_of(&[0x40, 0x41, 0x42, 0x43, 0x44, NULL]),
    )
        .prop_map(|(bits, mode)| [be16(0x0006), bits, mode].concat())
        .boxed()
}
fn sym_object_or_null() -> S {
    prop_oneof![aes(), null()].boxed()
}
fn sym_def_or_null() -> S {
    prop_oneof![
        aes(),
        hash().prop_map(|h| [be16(0x000A), h].concat()),
        null()
    ]
    .boxed()
}
fn with_hash(algs: &'static [u16]) -> S {
    (u16_of(algs), hash())
        .prop_map(|(a, h)| [a, h].concat())
        .boxed()
}
fn keyedhash_scheme() -> S {
    let xor = (hash(), u16_of(&[0x07, 0x20, 0x22, NULL]))
        .prop_map(|(h, k)| [be16(0x000A), h, k].concat());
    prop_oneof![with_hash(&[0x0005]), xor, null()].boxed()
}
fn rsa_scheme() -> S {
    prop_oneof![with_hash(&[0x14, 0x16, 0x17]), Just(be16(0x15)), null()].boxed()
}
fn rsa_decrypt() -> S {
    prop_oneof![with_hash(&[0x17]), Just(be16(0x15)), null()].boxed()
}
fn asym_scheme() -> S {
    prop_oneof![
        with_hash(&[0x14, 0x16, 0x17, 0x18, 0x19, 0x1C]),
        Just(be16(0x15)),
        null()
    ]
    .boxed()
}
fn ecc_scheme() -> S {
    prop_oneof![with_hash(&[0x18, 0x19, 0x1C]), null()].boxed()
}
fn kdf_scheme() -> S {
    prop_oneof![with_hash(&[0x07, 0x20, 0x22]), null()].boxed()
}
fn sig_scheme() -> S {
    prop_oneof![with_hash(&[0x05, 0x14, 0x16, 0x18, 0x1C]), null()].boxed()
}
fn ecc_point() -> S {
    (tpm2b(48), tpm2b(48))
        .prop_map(|(x, y)| [x, y].concat())
        .boxed()
}

/// Type, parameters and unique identifier of a public area.
fn parms_and_unique() -> BoxedStrategy<(B, B, B)> {
    let keyed = (keyedhash_scheme(), tpm2b(64)).prop_map(|(p, u)| (be16(0x0008), p, u));
    let sym = (aes(), tpm2b(64)).prop_map(|(p, u)| (be16(0x0025), p, u));
    let rsa = (
        sym_object_or_null(),
        rsa_scheme(),
        u16_of(&[1024, 2048, 3072]),
        any::<u32>(),
        tpm2b(384),
    )
        .prop_map(|(s, sc, bits, e, u)| (be16(0x0001), [s, sc, bits, be32(e)].concat(), u));
    let ecc = (
        sym_object_or_null(),
        ecc_scheme(),
        u16_of(&[3, 4]),
        kdf_scheme(),
        ecc_point(),
    )
        .prop_map(|(s, sc, c, k, u)| (be16(0x0023), [s, sc, c, k].concat(), u));
    prop_oneof![keyed, sym, rsa, ecc].boxed()
}
fn public_parms() -> S {
    parms_and_unique()
        .prop_map(|(t, p, _)| [t, p].concat())
        .boxed()
}
fn tpmt_public(name_alg: S) -> S {
    (parms_and_unique(), name_alg, any::<u32>(), tpm2b(64))
        .prop_map(|((t, p, u), n, attrs, policy)| {
            [t, n, be32(attrs & !TpmaObject::RESERVED), policy, p, u].concat()
        })
        .boxed()
}
fn tpmt_sensitive() -> S {
    let comp = prop_oneof![
        tpm2b(960).prop_map(|k| [be16(0x0001), k].concat()),
        tpm2b(48).prop_map(|k| [be16(0x0023), k].concat()),
        tpm2b(128).prop_map(|k| [be16(0x0008), k].concat()),
        tpm2b(32).prop_map(|k| [be16(0x0025), k].concat()),
    ];
    (comp, tpm2b(64), tpm2b(64))
        .prop_map(|(c, auth, seed)| {
            let (t, k) = c.split_at(2);
            [t.to_vec(), auth, seed, k.to_vec()].concat()
        })
        .boxed()
}
fn signature() -> S {
    let rsa = (u16_of(&[0x14, 0x16]), hash(), tpm2b(384)).prop_map(|(a, h, s)| [a, h, s].concat());
    let ecc = (u16_of(&[0x18, 0x1C]), hash(), tpm2b(48), tpm2b(48))
        .prop_map(|(a, h, r, s)| [a, h, r, s].concat());
    let hmac = tpmt_ha().prop_map(|ha| [be16(0x0005), ha].concat());
    prop_oneof![rsa, ecc, hmac].boxed()
}
fn hierarchy_or_null() -> S {
    u32_of(&[0x4000_0001, 0x4000_000C, 0x4000_000B, 0x4000_0007])
}
fn ticket(tags: &'static [u16]) -> S {
    (u16_of(tags), hierarchy_or_null(), tpm2b(64))
        .prop_map(|(t, h, d)| [t, h, d].concat())
        .boxed()
}
fn pcr_selection_list() -> S {
    let sel = (hash(), prop::collection::vec(any::<u8>(), 3))
        .prop_map(|(h, s)| [h, vec![3], s].concat())
        .boxed();
    list(sel, 4)
}
fn yes_no() -> S {
    any::<bool>().prop_map(|b| vec![u8::from(b)]).boxed()
}
fn clock_info() -> S {
    (any::<u64>(), any::<u32>(), any::<u32>(), yes_no())
        .prop_map(|(c, r, rs, s)| [be64(c), be32(r), be32(rs), s].concat())
        .boxed()
}
fn attest() -> S {
    let body = prop_oneof![
        (tpm2b(66), tpm2b(66)).prop_map(|(a, b)| [be16(0x8017), a, b].concat()),
        (tpm2b(66), tpm2b(64)).prop_map(|(a, b)| [be16(0x801A), a, b].concat()),
        (pcr_selection_list(), tpm2b(64)).prop_map(|(a, b)| [be16(0x8018), a, b].concat()),
        (any::<u64>(), any::<u16>(), tpm2b(64), tpm2b(64)).prop_map(|(c, a, d1, d2)| [
            be16(0x8015),
            be64(c),
            be16(a),
            d1,
            d2
        ]
        .concat()),
        (yes_no(), tpm2b(64)).prop_map(|(a, b)| [be16(0x8016), a, b].concat()),
        (any::<u64>(), clock_info(), any::<u64>()).prop_map(|(t, c, f)| [
            be16(0x8019),
            be64(t),
            c,
            be64(f)
        ]
        .concat()),
        (tpm2b(66), any::<u16>(), tpm2b(1024))
            .prop_map(|(n, o, c)| [be16(0x8014), n, be16(o), c].concat()),
    ];
    (
        any::<u32>(),
        body,
        tpm2b(66),
        tpm2b(66),
        clock_info(),
        any::<u64>(),
    )
        .prop_map(|(magic, body, signer, extra, clock, fw)| {
            let (ty, info) = body.split_at(2);
            [
                be32(magic),
                ty.to_vec(),
                signer,
                extra,
                clock,
                be64(fw),
                info.to_vec(),
            ]
            .concat()
        })
        .boxed()
}
fn creation_data() -> S {
    (
        pcr_selection_list(),
        tpm2b(64),
        0u8..=0x1F,
        any::<u16>(),
        tpm2b(66),
        tpm2b(66),
        tpm2b(66),
    )
        .prop_map(|(p, d, loc, alg, n, q, o)| [p, d, vec![loc], be16(alg), n, q, o].concat())
        .boxed()
}
fn nv_public() -> S {
    (
        0u32..=0x00FF_FFFF,
        hash(),
        any::<u32>(),
        tpm2b(64),
        0u16..=2048,
    )
        .prop_map(|(i, h, a, p, s)| {
            [
                be32(0x0100_0000 + i),
                h,
                be32(a & !TpmaNv::RESERVED),
                p,
                be16(s),
            ]
            .concat()
        })
        .boxed()
}
fn context() -> S {
    let saved = prop_oneof![
        (0u32..64).prop_map(|i| 0x0200_0000 + i),
        (0u32..64).prop_map(|i| 0x0300_0000 + i),
        0x8000_0000u32..=0x8000_0002,
    ];
    (any::<u64>(), saved, hierarchy_or_null(), tpm2b(2748))
        .prop_map(|(s, h, hi, b)| [be64(s), be32(h), hi, b].concat())
        .boxed()
}
fn capability() -> S {
    let u32s = |mask: u32| list(any::<u32>().prop_map(move |v| be32(v & !mask)).boxed(), 16);
    let algs = (any::<u16>(), any::<u32>())
        .prop_map(|(a, p)| [be16(a), be32(p & !TpmaAlgorithm::RESERVED)].concat())
        .boxed();
    let props = (any::<u32>(), any::<u32>())
        .prop_map(|(p, v)| [be32(p), be32(v)].concat())
        .boxed();
    let pcr_props = (any::<u32>(), prop::collection::vec(any::<u8>(), 0..=3))
        .prop_map(|(t, s)| [be32(t), vec![s.len() as u8], s].concat())
        .boxed();
    prop_oneof![
        list(algs, 16).prop_map(|l| [be32(0), l].concat()),
        u32s(0).prop_map(|l| [be32(1), l].concat()),
        u32s(TpmaCc::RESERVED).prop_map(|l| [be32(2), l].concat()),
        u32s(0).prop_map(|l| [be32(3), l].concat()),
        u32s(0).prop_map(|l| [be32(4), l].concat()),
        pcr_selection_list().prop_map(|l| [be32(5), l].concat()),
        list(props, 16).prop_map(|l| [be32(6), l].concat()),
        list(pcr_props, 16).prop_map(|l| [be32(7), l].concat()),
        list(any::<u16>().prop_map(be16).boxed(), 16).prop_map(|l| [be32(8), l].concat()),
    ]
    .boxed()
}
fn digest_list() -> S {
    prop::collection::vec(tpm2b(64), 2..=8)
        .prop_map(|v| [be32(v.len() as u32), v.concat()].concat())
        .boxed()
}
fn auth_command() -> S {
    let handle = prop_oneof![
        Just(0x4000_0009u32),
        any::<u32>().prop_map(|v| 0x0200_0000 | (v & 0xFF_FFFF)),
        any::<u32>().prop_map(|v| 0x0300_0000 | (v & 0xFF_FFFF)),
    ];
    (handle, tpm2b(64), any::<u8>(), tpm2b(64))
        .prop_map(|(h, n, a, m)| [be32(h), n, vec![a & !TpmaSession::RESERVED], m].concat())
        .boxed()
}

/// Unmarshals `$bytes` with `$parse`, requires every byte consumed, then marshal → same bytes
/// and unmarshal → equal value.
macro_rules! assert_round_trip {
    ($bytes:expr, $r:ident => $parse:expr) => {{
        let bytes: &[u8] = &$bytes;
        let mut $r = Reader::new(bytes);
        let parsed = $parse;
        prop_assert!(
            parsed.is_ok(),
            "valid encoding rejected: {:?}",
            parsed.err()
        );
        let v = parsed.unwrap();
        prop_assert!($r.is_empty(), "{} trailing bytes", $r.remaining());
        let mut buf = vec![0u8; bytes.len() + 8];
        let n = v.to_bytes(&mut buf).expect("marshal");
        prop_assert_eq!(&buf[..n], bytes);
        let mut $r = Reader::new(&buf[..n]);
        let again = $parse.expect("re-unmarshal");
        prop_assert_eq!(again, v);
    }};
}

proptest! {
    #[test]
    fn public_area_round_trips(b in tpmt_public(hash_or_null())) {
        assert_round_trip!(b, r => TpmtPublic::unmarshal_nullable(&mut r, true));
        let (_, raw) = TpmtPublic::unmarshal_with_raw(&mut Reader::new(&b), true).unwrap();
        prop_assert_eq!(raw, &b[..]);
    }

    #[test]
    fn sized_public_area_round_trips(b in tpmt_public(hash()).prop_map(sized)) {
        assert_round_trip!(b, r => Tpm2bPublic::unmarshal(&mut r));
        let (_, raw) = Tpm2bPublic::unmarshal_with_raw(&mut Reader::new(&b), false).unwrap();
        prop_assert_eq!(raw, &b[2..]);
    }

    #[test]
    fn public_parms_round_trip(b in public_parms()) {
        assert_round_trip!(b, r => TpmtPublicParms::unmarshal(&mut r));
    }

    #[test]
    fn schemes_round_trip(
        sym in sym_def_or_null(),
        obj in sym_object_or_null(),
        kh in keyedhash_scheme(),
        rsa in rsa_scheme(),
        dec in rsa_decrypt(),
        asym in asym_scheme(),
        ecc in ecc_scheme(),
        kdf in kdf_scheme(),
        sig in sig_scheme(),
    ) {
        assert_round_trip!(sym, r => TpmtSymDef::unmarshal_nullable(&mut r, true));
        assert_round_trip!(obj, r => TpmtSymDefObject::unmarshal_nullable(&mut r, true));
        assert_round_trip!(kh, r => TpmtKeyedhashScheme::unmarshal_nullable(&mut r, true));
        assert_round_trip!(rsa, r => TpmtRsaScheme::unmarshal_nullable(&mut r, true));
        assert_round_trip!(dec, r => TpmtRsaDecrypt::unmarshal_nullable(&mut r, true));
        assert_round_trip!(asym, r => TpmtAsymScheme::unmarshal_nullable(&mut r, true));
        assert_round_trip!(ecc, r => TpmtEccScheme::unmarshal_nullable(&mut r, true));
        assert_round_trip!(kdf, r => TpmtKdfScheme::unmarshal_nullable(&mut r, true));
        assert_round_trip!(sig, r => TpmtSigScheme::unmarshal_nullable(&mut r, true));
    }

    #[test]
    fn sensitive_areas_round_trip(
        s in tpmt_sensitive(),
        create in (tpm2b(64), tpm2b(128)).prop_map(|(a, d)| sized([a, d].concat())),
        derive in (tpm2b(32), tpm2b(32)).prop_map(|(a, b)| [a, b].concat()),
    ) {
        assert_round_trip!(s, r => TpmtSensitive::unmarshal(&mut r));
        assert_round_trip!(sized(s.clone()), r => Tpm2bSensitive::unmarshal(&mut r));
        assert_round_trip!(create, r => Tpm2bSensitiveCreate::unmarshal(&mut r));
        assert_round_trip!(derive, r => TpmsDerive::unmarshal(&mut r));
    }

    #[test]
    fn signatures_and_tickets_round_trip(
        sig in signature(),
        creation in ticket(&[0x8021]),
        verified in ticket(&[0x8022]),
        auth in ticket(&[0x8023, 0x8025]),
        check in ticket(&[0x8024]),
    ) {
        assert_round_trip!(sig, r => TpmtSignature::unmarshal(&mut r));
        assert_round_trip!(creation, r => TpmtTkCreation::unmarshal(&mut r));
        assert_round_trip!(verified, r => TpmtTkVerified::unmarshal(&mut r));
        assert_round_trip!(auth, r => TpmtTkAuth::unmarshal(&mut r));
        assert_round_trip!(check, r => TpmtTkHashcheck::unmarshal(&mut r));
    }

    #[test]
    fn attestation_round_trips(a in attest(), c in creation_data()) {
        assert_round_trip!(a, r => TpmsAttest::unmarshal(&mut r));
        assert_round_trip!(sized(c.clone()), r => Tpm2bCreationData::unmarshal(&mut r));
        prop_assert_eq!(Tpm2bAttest(&a).attest().map(|_| ()), Ok(()));
    }

    #[test]
    fn nv_context_and_capability_round_trip(
        nv in nv_public(),
        ctx in context(),
        cap in capability(),
        digests in digest_list(),
        values in list(tpmt_ha(), 4),
        auth in auth_command(),
    ) {
        assert_round_trip!(sized(nv.clone()), r => Tpm2bNvPublic::unmarshal(&mut r));
        assert_round_trip!(ctx, r => TpmsContext::unmarshal(&mut r));
        assert_round_trip!(cap, r => TpmsCapabilityData::unmarshal(&mut r));
        assert_round_trip!(digests, r => TpmlDigest::unmarshal(&mut r));
        assert_round_trip!(values, r => TpmlDigestValues::unmarshal(&mut r));
        assert_round_trip!(auth, r => TpmsAuthCommand::unmarshal(&mut r));
    }

    /// A valid public area with one octet changed: rejected or round-tripped, never a panic.
    #[test]
    fn mutated_public_area_never_breaks(
        b in tpmt_public(hash_or_null()),
        at in any::<prop::sample::Index>(),
        x in 1u8..=255,
    ) {
        let mut b = b;
        let i = at.index(b.len());
        b[i] ^= x;
        prop_assert!(roundtrip::check(0, &b).is_ok());
        prop_assert!(roundtrip::check(45, &b).is_ok());
        prop_assert!(roundtrip::check(1, &sized(b)).is_ok());
    }

    /// Arbitrary bytes as every top-level type: never a panic, never a broken round trip.
    #[test]
    fn arbitrary_bytes_never_break_any_type(b in prop::collection::vec(any::<u8>(), 0..600)) {
        for kind in 0..KINDS {
            let r = roundtrip::check(kind, &b);
            prop_assert!(r.is_ok(), "kind {}: {:?}", kind, r);
        }
    }
}
