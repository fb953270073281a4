//! A self-check over every top-level structure: unmarshal arbitrary bytes as one type and, if
//! that succeeds, require that marshalling gives back exactly the bytes consumed and that those
//! bytes unmarshal to an equal value. The fuzz target (`fuzz/fuzz_targets/unmarshal.rs`) and the
//! property tests drive it; nothing in the TPM calls it.
//!
//! The property holds because every Part 2 encoding is canonical: integers are fixed-width and
//! every variable part is size- or selector-prefixed, so one value has one encoding.

use crate::marshal::{Marshal, Reader, UnmarshalNullable};
use crate::rc::Rc;
use crate::structures::*;

/// The largest input checked; longer input is truncated (nothing valid is longer than a command).
pub const MAX_INPUT: usize = crate::MAX_COMMAND_SIZE;

/// What happened to the input.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Outcome {
    /// Unmarshal failed with this code.
    Rejected(Rc),
    /// Unmarshal succeeded and the value survived the round trip.
    RoundTripped,
}

/// A broken round trip: a bug in this crate.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Mismatch {
    pub kind: &'static str,
    pub stage: &'static str,
}

macro_rules! round_trip {
    ($data:expr, $name:ty, $r:ident => $parse:expr) => {{
        let kind = stringify!($name);
        let data: &[u8] = $data;
        let mut $r = Reader::new(data);
        let parsed: Result<$name, Rc> = $parse;
        match parsed {
            Err(rc) => Ok(Outcome::Rejected(rc)),
            Ok(v) => {
                let consumed = data.get(..$r.position()).unwrap_or_default();
                let mut buf = [0u8; MAX_INPUT];
                let n = v.to_bytes(&mut buf).map_err(|_| Mismatch {
                    kind,
                    stage: "marshal",
                })?;
                let out = buf.get(..n).unwrap_or_default();
                if out != consumed {
                    return Err(Mismatch {
                        kind,
                        stage: "bytes differ",
                    });
                }
                let mut $r = Reader::new(out);
                let again: Result<$name, Rc> = $parse;
                match again {
                    Ok(v2) if v2 == v && $r.is_empty() => Ok(Outcome::RoundTripped),
                    _ => Err(Mismatch {
                        kind,
                        stage: "re-unmarshal",
                    }),
                }
            }
        }
    }};
}

/// Number of distinct types [`check`] can exercise.
pub const KINDS: u8 = 50;

/// Unmarshals `data` as type number `kind % KINDS` and checks the round trip.
pub fn check(kind: u8, data: &[u8]) -> Result<Outcome, Mismatch> {
    let d = data.get(..MAX_INPUT).unwrap_or(data);
    match kind % KINDS {
        0 => round_trip!(d, TpmtPublic<'_>, r => TpmtPublic::unmarshal_nullable(&mut r, true)),
        1 => round_trip!(d, Tpm2bPublic<'_>, r => Tpm2bPublic::unmarshal_nullable(&mut r, true)),
        2 => round_trip!(d, TpmtPublicParms, r => r.read()),
        3 => round_trip!(d, Tpm2bSensitiveCreate<'_>, r => r.read()),
        4 => round_trip!(d, Tpm2bSensitive<'_>, r => r.read()),
        5 => round_trip!(d, TpmtSensitive<'_>, r => r.read()),
        6 => {
            round_trip!(d, TpmtSignature<'_>, r => TpmtSignature::unmarshal_nullable(&mut r, true))
        }
        7 => round_trip!(d, TpmtSigScheme, r => TpmtSigScheme::unmarshal_nullable(&mut r, true)),
        8 => round_trip!(d, TpmtSymDef, r => TpmtSymDef::unmarshal_nullable(&mut r, true)),
        9 => {
            round_trip!(d, TpmtSymDefObject, r => TpmtSymDefObject::unmarshal_nullable(&mut r, true))
        }
        10 => round_trip!(d, TpmtRsaDecrypt, r => TpmtRsaDecrypt::unmarshal_nullable(&mut r, true)),
        11 => round_trip!(d, TpmtKdfScheme, r => TpmtKdfScheme::unmarshal_nullable(&mut r, true)),
        12 => round_trip!(d, TpmtAsymScheme, r => TpmtAsymScheme::unmarshal_nullable(&mut r, true)),
        13 => {
            round_trip!(d, TpmtKeyedhashScheme, r => TpmtKeyedhashScheme::unmarshal_nullable(&mut r, true))
        }
        14 => round_trip!(d, TpmtEccScheme, r => TpmtEccScheme::unmarshal_nullable(&mut r, true)),
        15 => round_trip!(d, TpmtRsaScheme, r => TpmtRsaScheme::unmarshal_nullable(&mut r, true)),
        16 => round_trip!(d, Tpm2bEccPoint<'_>, r => r.read()),
        17 => round_trip!(d, TpmtTkCreation<'_>, r => r.read()),
        18 => round_trip!(d, TpmtTkVerified<'_>, r => r.read()),
        19 => round_trip!(d, TpmtTkAuth<'_>, r => r.read()),
        20 => round_trip!(d, TpmtTkHashcheck<'_>, r => r.read()),
        21 => round_trip!(d, TpmsAttest<'_>, r => r.read()),
        22 => round_trip!(d, Tpm2bCreationData<'_>, r => r.read()),
        23 => round_trip!(d, Tpm2bNvPublic<'_>, r => r.read()),
        24 => round_trip!(d, TpmsContext<'_>, r => r.read()),
        25 => round_trip!(d, TpmsCapabilityData, r => r.read()),
        26 => round_trip!(d, TpmlDigest<'_>, r => r.read()),
        27 => round_trip!(d, TpmlDigestValues<'_>, r => r.read()),
        28 => round_trip!(d, TpmlPcrSelection, r => r.read()),
        29 => round_trip!(d, TpmsAuthCommand<'_>, r => r.read()),
        30 => round_trip!(d, TpmsAuthResponse<'_>, r => r.read()),
        31 => round_trip!(d, TpmlCc, r => r.read()),
        32 => round_trip!(d, TpmlAlg, r => r.read()),
        33 => round_trip!(d, TpmlHandle, r => r.read()),
        34 => round_trip!(d, TpmiDhEntity, r => TpmiDhEntity::unmarshal_nullable(&mut r, true)),
        35 => {
            round_trip!(d, TpmiShAuthSession, r => TpmiShAuthSession::unmarshal_nullable(&mut r, true))
        }
        36 => round_trip!(d, TpmiDhContext, r => r.read()),
        37 => round_trip!(d, TpmiDhSaved, r => r.read()),
        38 => round_trip!(d, TpmsDerive<'_>, r => r.read()),
        39 => round_trip!(d, TpmsTimeInfo, r => r.read()),
        40 => round_trip!(d, TpmiStCommandTag, r => r.read()),
        41 => round_trip!(d, TpmSe, r => r.read()),
        42 => round_trip!(d, TpmsContextData<'_>, r => r.read()),
        43 => round_trip!(d, TpmtHa<'_>, r => r.read()),
        44 => round_trip!(d, TpmsSymcipherParms, r => r.read()),
        45 => round_trip!(d, TpmtPublic<'_>, r => r.read()),
        46 => round_trip!(d, TpmtSignature<'_>, r => r.read()),
        47 => round_trip!(d, TpmlTaggedPcrProperty, r => r.read()),
        48 => round_trip!(d, TpmlAlgProperty, r => r.read()),
        _ => round_trip!(d, TpmlCca, r => r.read()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_input_is_rejected_by_every_kind_but_never_mismatches() {
        for k in 0..KINDS {
            assert!(check(k, &[]).is_ok(), "kind {k}");
        }
    }

    #[test]
    fn a_valid_value_round_trips() {
        assert_eq!(
            check(7, &[0x00, 0x14, 0x00, 0x0B]),
            Ok(Outcome::RoundTripped)
        );
        assert_eq!(
            check(7, &[0x00, 0x14, 0x00]),
            Ok(Outcome::Rejected(Rc::Insufficient))
        );
    }
}
