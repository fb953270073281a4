//! Attestation (Part 3, section 18): `TPM2_Quote`, `TPM2_Certify`, `TPM2_CertifyCreation`,
//! `TPM2_GetTime` — a `TPMS_ATTEST` the TPM fills in, marshals and signs (reference
//! `FillInAttestInfo`, `SignAttestInfo`). `TPM2_NV_Certify` (Part 3, 31.16) lives with the NV
//! commands and signs through [`signer`] and [`attest`].

use super::clock::write_clock_info;
use super::object::{creation_ticket, pcr_digest};
use super::sign::{is_signing_key, scheme_hash, select_sign_scheme, sign_digest, SignatureOut};
use super::{Command, Response};
use crate::crypto::{kdf_a, Hasher};
use crate::engine::{Platform, Tpm};
use crate::entity::Name;
use subtle::ConstantTimeEq;
use tpm_proto::{
    AllowNull, Handle, HashAlg, Marshal, Rc, Tpm2bData, Tpm2bDigest, Tpm2bName, TpmlPcrSelection,
    TpmsAttest, TpmsCertifyInfo, TpmsClockInfo, TpmsCreationInfo, TpmsQuoteInfo,
    TpmsTimeAttestInfo, TpmsTimeInfo, TpmtSigScheme, TpmtTkCreation, TpmuAttest, Unmarshal, Writer,
    MAX_ATTEST_SIZE, TPM_GENERATED_VALUE,
};

/// The signing key of an attestation command (handle number `n`) and the selected scheme:
/// `TPM_RC_KEY` for a key that cannot sign, `TPM_RC_SCHEME` on parameter `p_scheme` for an
/// incompatible scheme.
pub(super) fn signer<P: Platform>(
    tpm: &Tpm<P>,
    h: Handle,
    n: u32,
    in_scheme: TpmtSigScheme,
    p_scheme: u32,
) -> Result<TpmtSigScheme, Rc> {
    let k = tpm.objects.key(h);
    if h != Handle::Null && (k.is_none() || !is_signing_key(k)) {
        return Err(Rc::Key.handle(n));
    }
    select_sign_scheme(k, in_scheme).ok_or(Rc::Scheme.param(p_scheme))
}

/// The parameters of a report that has nothing but `qualifyingData` and `inScheme`
/// (`TPM2_Certify`, `TPM2_GetTime`, the audit reports).
pub(super) fn report_params<'c>(
    cmd: &mut Command<'c>,
) -> Result<(Tpm2bData<'c>, TpmtSigScheme), Rc> {
    let qualifying_data: Tpm2bData<'c> = cmd.param()?;
    let AllowNull(in_scheme): AllowNull<TpmtSigScheme> = cmd.param()?;
    cmd.end()?;
    Ok((qualifying_data, in_scheme))
}

/// `TPMS_CLOCK_INFO` as `TPM2_ReadClock` reports it.
fn clock_info<P: Platform>(tpm: &Tpm<P>) -> Result<TpmsClockInfo, Rc> {
    let mut buf = [0u8; 17];
    let mut rsp = Response {
        handle: None,
        out: Writer::new(&mut buf),
    };
    write_clock_info(tpm, &mut rsp)?;
    TpmsClockInfo::from_bytes(&buf)
}

/// `firmwareVersion`: `TPM_PT_FIRMWARE_VERSION_1 << 32 | TPM_PT_FIRMWARE_VERSION_2`.
fn firmware_version() -> u64 {
    u64::from(super::capability::env_version()) << 32
}

/// Fills in the common fields, marshals `attested`, signs it and writes `TPM2B_ATTEST` and the
/// signature. For a signer outside the endorsement and platform hierarchies (or none),
/// `resetCount`, `restartCount` and `firmwareVersion` are obfuscated with
/// `KDFa(SHA-256, shProof, "OBFUSCATE", qualifiedSigner, "", 128)`, read as two little-endian
/// 64-bit words as the reference does on x86 (Part 1, 36.7).
pub(super) fn attest<P: Platform>(
    tpm: &mut Tpm<P>,
    rsp: &mut Response<'_>,
    sign_h: Handle,
    scheme: &TpmtSigScheme,
    qualifying_data: Tpm2bData<'_>,
    attested: TpmuAttest<'_>,
) -> Result<(), Rc> {
    let (qualified_signer, hierarchy) = match tpm.objects.key(sign_h) {
        Some(k) => (k.qualified_name, k.hierarchy),
        None => (Name::handle(Handle::Null), Handle::Null),
    };
    let mut clock_info = clock_info(tpm)?;
    let mut firmware_version = firmware_version();
    if hierarchy != Handle::Endorsement && hierarchy != Handle::Platform {
        let mut ob = [0u8; 16];
        kdf_a(
            HashAlg::Sha256,
            &tpm.owner_h.proof[..],
            b"OBFUSCATE",
            qualified_signer.as_bytes(),
            &[],
            128,
            &mut ob,
        )?;
        let mut w0 = [0u8; 8];
        let mut w1 = [0u8; 8];
        w0.copy_from_slice(ob.get(..8).ok_or(Rc::Failure)?);
        w1.copy_from_slice(ob.get(8..).ok_or(Rc::Failure)?);
        let (o0, o1) = (u64::from_le_bytes(w0), u64::from_le_bytes(w1));
        firmware_version = firmware_version.wrapping_add(o0);
        clock_info.reset_count = clock_info.reset_count.wrapping_add((o1 >> 32) as u32);
        clock_info.restart_count = clock_info.restart_count.wrapping_add(o1 as u32);
    }
    let a = TpmsAttest {
        magic: TPM_GENERATED_VALUE,
        qualified_signer: Tpm2bName(qualified_signer.as_bytes()),
        extra_data: qualifying_data,
        clock_info,
        firmware_version,
        attested,
    };
    let mut buf = [0u8; MAX_ATTEST_SIZE];
    let n = a.to_bytes(&mut buf).map_err(|_| Rc::Failure)?;
    let bytes = buf.get(..n).ok_or(Rc::Failure)?;
    let signature = match scheme_hash(scheme) {
        Some(hash) if tpm.objects.key(sign_h).is_some() => {
            let digest = Hasher::digest(hash, &[bytes]);
            sign_digest(tpm, sign_h, scheme, digest.as_bytes())?
        }
        _ => SignatureOut::Null,
    };
    rsp.sized(bytes)?;
    signature.write(rsp)
}

/// `TPM2_Quote(signHandle; qualifyingData, inScheme, PCRselect)` → `quoted`, `signature`. The
/// PCR digest uses the scheme's hash over the selected, allocated PCRs in selection order; the
/// selection reported is the one digested.
pub(crate) fn quote<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    let qualifying_data: Tpm2bData<'_> = cmd.param()?;
    let AllowNull(in_scheme): AllowNull<TpmtSigScheme> = cmd.param()?;
    let mut pcr_select: TpmlPcrSelection = cmd.param()?;
    cmd.end()?;
    let h = cmd.handle(0);
    let scheme = signer(tpm, h, 1, in_scheme, 2)?;
    let hash = scheme_hash(&scheme).ok_or(Rc::Scheme.param(2))?;
    let digest = pcr_digest(tpm, hash, &mut pcr_select);
    let attested = TpmuAttest::Quote(TpmsQuoteInfo {
        pcr_select,
        pcr_digest: Tpm2bDigest(digest.as_bytes()),
    });
    attest(tpm, rsp, h, &scheme, qualifying_data, attested)
}

/// `TPM2_Certify(objectHandle, signHandle; qualifyingData, inScheme)` → `certifyInfo`,
/// `signature`.
pub(crate) fn certify<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    let (qualifying_data, in_scheme) = report_params(cmd)?;
    let sign_h = cmd.handle(1);
    let scheme = signer(tpm, sign_h, 2, in_scheme, 2)?;
    let (name, qn) = match tpm.objects.key(cmd.handle(0)) {
        Some(k) => (k.name, k.qualified_name),
        None => (Name::empty(), Name::empty()),
    };
    let attested = TpmuAttest::Certify(TpmsCertifyInfo {
        name: Tpm2bName(name.as_bytes()),
        qualified_name: Tpm2bName(qn.as_bytes()),
    });
    attest(tpm, rsp, sign_h, &scheme, qualifying_data, attested)
}

/// `TPM2_CertifyCreation(signHandle, objectHandle; qualifyingData, creationHash, inScheme,
/// creationTicket)` → `certifyInfo`, `signature`: the ticket must be the one this TPM issued
/// for the object and creation hash (`TPM_RC_TICKET` otherwise).
pub(crate) fn certify_creation<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    let qualifying_data: Tpm2bData<'_> = cmd.param()?;
    let creation_hash: Tpm2bDigest<'_> = cmd.param()?;
    let AllowNull(in_scheme): AllowNull<TpmtSigScheme> = cmd.param()?;
    let ticket: TpmtTkCreation<'_> = cmd.param()?;
    cmd.end()?;
    let sign_h = cmd.handle(0);
    let scheme = signer(tpm, sign_h, 1, in_scheme, 3)?;
    let name = match tpm.objects.key(cmd.handle(1)) {
        Some(k) => k.name,
        None => Name::empty(),
    };
    let expect = creation_ticket(tpm, ticket.hierarchy.0, name.as_bytes(), creation_hash.0);
    if !bool::from(expect.as_bytes().ct_eq(ticket.digest.0)) {
        return Err(Rc::Ticket.param(4));
    }
    let attested = TpmuAttest::Creation(TpmsCreationInfo {
        object_name: Tpm2bName(name.as_bytes()),
        creation_hash,
    });
    attest(tpm, rsp, sign_h, &scheme, qualifying_data, attested)
}

/// `TPM2_GetTime(privacyAdminHandle, signHandle; qualifyingData, inScheme)` → `timeInfo`,
/// `signature`. The time information inside is in the clear; the outer clock information is
/// obfuscated like any other attestation's.
pub(crate) fn get_time<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    let (qualifying_data, in_scheme) = report_params(cmd)?;
    let sign_h = cmd.handle(1);
    let scheme = signer(tpm, sign_h, 2, in_scheme, 2)?;
    let attested = TpmuAttest::Time(TpmsTimeAttestInfo {
        time: TpmsTimeInfo {
            time: tpm.time_now(),
            clock_info: clock_info(tpm)?,
        },
        firmware_version: firmware_version(),
    });
    attest(tpm, rsp, sign_h, &scheme, qualifying_data, attested)
}
