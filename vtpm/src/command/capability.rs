//! TPM2_GetCapability (Part 3, 30.2) — what the TPM reports about itself must be true: the
//! command list is exactly the implemented handlers, the algorithm list exactly what works.

use super::{implemented, Command, Response};
use crate::engine::{Platform, Tpm};
use crate::pcr::{mask_bytes, property_mask};
use tpm_proto::command::COMMANDS;
use tpm_proto::{
    ht, AlgId, Cap, EccCurve, Handle, HashAlg, Pt, PtPcr, Rc, TpmaAlgorithm as A, TpmaPermanent,
    TpmaStartupClear, PCR_COUNT, PCR_SELECT_MAX,
};

/// `MAX_CAP_BUFFER` minus the capability selector and list count.
const MAX_CAP_DATA: usize = 1024 - 4 - 4;
const MAX_CAP_ALGS: usize = MAX_CAP_DATA / 6;
const MAX_CAP_HANDLES: usize = MAX_CAP_DATA / 4;
const MAX_CAP_CC: usize = MAX_CAP_DATA / 4;
const MAX_TPM_PROPERTIES: usize = MAX_CAP_DATA / 8;
const MAX_PCR_PROPERTIES: usize = MAX_CAP_DATA / (4 + 1 + PCR_SELECT_MAX);
const MAX_ECC_CURVES: usize = MAX_CAP_DATA / 2;

/// Implemented algorithms and their `TPMA_ALGORITHM` (Part 2, table 31), ascending by ID.
pub(crate) static ALGORITHMS: &[(AlgId, A)] = &[
    (AlgId::Rsa, A::ASYMMETRIC.union(A::OBJECT)),
    (AlgId::Sha1, A::HASH),
    (AlgId::Hmac, A::HASH.union(A::SIGNING)),
    (AlgId::Aes, A::SYMMETRIC),
    (AlgId::Mgf1, A::HASH.union(A::METHOD)),
    (
        AlgId::KeyedHash,
        A::HASH
            .union(A::OBJECT)
            .union(A::SIGNING)
            .union(A::ENCRYPTING),
    ),
    (AlgId::Xor, A::HASH.union(A::SYMMETRIC)),
    (AlgId::Sha256, A::HASH),
    (AlgId::Sha384, A::HASH),
    (AlgId::Sha512, A::HASH),
    (AlgId::Null, A::empty()),
    (AlgId::RsaSsa, A::ASYMMETRIC.union(A::SIGNING)),
    (AlgId::RsaEs, A::ASYMMETRIC.union(A::ENCRYPTING)),
    (AlgId::RsaPss, A::ASYMMETRIC.union(A::SIGNING)),
    (AlgId::Oaep, A::ASYMMETRIC.union(A::ENCRYPTING)),
    (
        AlgId::EcDsa,
        A::ASYMMETRIC.union(A::SIGNING).union(A::METHOD),
    ),
    (AlgId::EcDh, A::ASYMMETRIC.union(A::METHOD)),
    (AlgId::EcDaa, A::ASYMMETRIC.union(A::SIGNING)),
    (AlgId::Kdf1Sp800_56a, A::HASH.union(A::METHOD)),
    (AlgId::Kdf1Sp800_108, A::HASH.union(A::METHOD)),
    (AlgId::Ecc, A::ASYMMETRIC.union(A::OBJECT)),
    (AlgId::SymCipher, A::OBJECT),
    (AlgId::Ctr, A::SYMMETRIC.union(A::ENCRYPTING)),
    (AlgId::Ofb, A::SYMMETRIC.union(A::ENCRYPTING)),
    (AlgId::Cbc, A::SYMMETRIC.union(A::ENCRYPTING)),
    (AlgId::Cfb, A::SYMMETRIC.union(A::ENCRYPTING)),
    (AlgId::Ecb, A::SYMMETRIC.union(A::ENCRYPTING)),
];

/// Implemented curves.
pub(crate) static CURVES: &[EccCurve] = &[EccCurve::NistP256, EccCurve::NistP384];

/// Permanent handles the TPM answers to (reported under `TPM_HT_PERMANENT`).
static PERMANENT: &[Handle] = &[
    Handle::Owner,
    Handle::Null,
    Handle::Pw,
    Handle::Lockout,
    Handle::Endorsement,
    Handle::Platform,
    Handle::PlatformNv,
];

/// `TPM2_GetCapability(capability, property, propertyCount)` → `moreData`, `capabilityData`.
pub(crate) fn get_capability<P: Platform>(
    tpm: &mut Tpm<P>,
    cmd: &mut Command<'_>,
    rsp: &mut Response<'_>,
) -> Result<(), Rc> {
    let cap: Cap = cmd.param()?;
    let property: u32 = cmd.param()?;
    let count: u32 = cmd.param()?;
    cmd.end()?;
    let count = count as usize;
    // moreData is written first; reserve it and patch it once the list is built.
    let more_at = rsp.out.len();
    rsp.u8(0)?;
    rsp.u32(cap.0)?;
    let more = match cap {
        Cap::Algs => {
            let items: &mut dyn Iterator<Item = &(AlgId, A)> =
                &mut ALGORITHMS.iter().filter(|(a, _)| a.0 as u32 >= property);
            list(rsp, items, count.min(MAX_CAP_ALGS), |rsp, (a, attr)| {
                rsp.u16(a.0)?;
                rsp.u32(attr.bits())
            })?
        }
        Cap::Handles => handles(tpm, rsp, property, count.min(MAX_CAP_HANDLES))?,
        Cap::Commands => {
            let items = &mut COMMANDS
                .iter()
                .filter(|d| implemented::<P>(d.cc) && d.cc.0 >= (property & 0xFFFF))
                .filter(|_| property >> 16 == 0);
            list(rsp, items, count.min(MAX_CAP_CC), |rsp, d| {
                rsp.u32(d.attributes().bits())
            })?
        }
        Cap::PpCommands => {
            let items = &mut tpm.pp_list.from(property);
            list(rsp, items, count.min(MAX_CAP_CC), |rsp, cc| rsp.u32(cc.0))?
        }
        Cap::AuditCommands => {
            let audit = &tpm.command_audit;
            let items = &mut COMMANDS
                .iter()
                .filter(|d| d.cc.0 >= property && audit.audits(d.cc));
            list(rsp, items, count.min(MAX_CAP_CC), |rsp, d| rsp.u32(d.cc.0))?
        }
        Cap::Pcrs => {
            // The property selects nothing here and must be zero, as in the reference.
            if property != 0 {
                return Err(Rc::Value.param(2));
            }
            rsp.u32(HashAlg::ALL.len() as u32)?;
            for h in HashAlg::ALL {
                rsp.u16(h.alg().0)?;
                rsp.u8(PCR_SELECT_MAX as u8)?;
                rsp.put(&mask_bytes(tpm.pcrs.allocated_mask(h))[..])?;
            }
            false
        }
        Cap::TpmProperties => {
            // TPML_TAGGED_TPM_PROPERTY, marshalled into one buffer and written at once (this is
            // the capability clients poll most; 66 small writes cost more than the table).
            let props = properties(tpm);
            let max = count.min(MAX_TPM_PROPERTIES);
            let mut buf = [0u8; 4 + 8 * PROPERTY_COUNT];
            let mut n = 0usize;
            let mut more = false;
            for (p, v) in props.iter().filter(|(p, _)| p.0 >= property) {
                if n == max {
                    more = true;
                    break;
                }
                if let Some(slot) = buf.get_mut(4 + 8 * n..12 + 8 * n) {
                    slot[..4].copy_from_slice(&p.0.to_be_bytes());
                    slot[4..].copy_from_slice(&v.to_be_bytes());
                }
                n += 1;
            }
            buf[..4].copy_from_slice(&(n as u32).to_be_bytes());
            rsp.put(buf.get(..4 + 8 * n).unwrap_or(&[]))?;
            more
        }
        Cap::PcrProperties => {
            let tags = (0..=PtPcr::Auth.0)
                .map(PtPcr)
                .filter(|t| t.0 >= property)
                .filter_map(|t| property_mask(t).map(|m| (t, m)));
            let items: alloc::vec::Vec<_> = tags.collect();
            list(
                rsp,
                &mut items.iter(),
                count.min(MAX_PCR_PROPERTIES),
                |rsp, (t, m)| {
                    rsp.u32(t.0)?;
                    rsp.u8(PCR_SELECT_MAX as u8)?;
                    rsp.put(&mask_bytes(*m)[..])
                },
            )?
        }
        Cap::EccCurves => {
            let items = &mut CURVES.iter().filter(|c| c.0 as u32 >= property);
            list(rsp, items, count.min(MAX_ECC_CURVES), |rsp, c| rsp.u16(c.0))?
        }
        // Defined capabilities this TPM does not report: the property is what is rejected, as
        // in the reference implementation.
        Cap::AuthPolicies | Cap::Act => return Err(Rc::Value.param(2)),
        _ => return Err(Rc::Value.param(1)),
    };
    rsp.out
        .patch(more_at, &[more as u8])
        .map_err(|_| Rc::Failure)?;
    Ok(())
}

/// Writes a counted list of at most `max` items; returns `moreData`.
fn list<'a, T: 'a>(
    rsp: &mut Response<'_>,
    items: &mut dyn Iterator<Item = &'a T>,
    max: usize,
    mut put: impl FnMut(&mut Response<'_>, &T) -> Result<(), Rc>,
) -> Result<bool, Rc> {
    let count_at = rsp.out.len();
    rsp.u32(0)?;
    let mut n: u32 = 0;
    let mut more = false;
    for item in items {
        if n as usize == max {
            more = true;
            break;
        }
        put(rsp, item)?;
        n += 1;
    }
    rsp.out
        .patch(count_at, &n.to_be_bytes())
        .map_err(|_| Rc::Failure)?;
    Ok(more)
}

/// `TPM_CAP_HANDLES`: handles of the type named by the top octet of `property`, from `property`.
fn handles<P: Platform>(
    tpm: &Tpm<P>,
    rsp: &mut Response<'_>,
    property: u32,
    max: usize,
) -> Result<bool, Rc> {
    let start = Handle(property);
    let mut found: alloc::vec::Vec<u32> = alloc::vec::Vec::new();
    match start.ht() {
        ht::Pcr => found.extend((0..PCR_COUNT as u32).filter(|&p| p >= property)),
        ht::Permanent => found.extend(PERMANENT.iter().map(|h| h.0).filter(|&h| h >= property)),
        ht::Transient => found.extend(
            tpm.objects
                .handles()
                .map(|h| h.0)
                .filter(|&h| h >= property),
        ),
        // TPM_HT_LOADED_SESSION lists every loaded session; TPM_HT_SAVED_SESSION the saved ones.
        ht::HmacSession | ht::PolicySession => {
            let saved = start.ht() == ht::PolicySession;
            found.extend(
                tpm.sessions
                    .handles(saved)
                    .map(|h| h.0)
                    .filter(|&h| h >= property),
            );
            found.sort_unstable();
        }
        ht::Persistent => found.extend(
            tpm.objects
                .persistent_handles()
                .map(|h| h.0)
                .filter(|&h| h >= property),
        ),
        ht::NvIndex => found.extend(tpm.nv.handles().map(|h| h.0).filter(|&h| h >= property)),
        _ => return Err(Rc::Handle.param(2)),
    }
    list(rsp, &mut found.iter(), max, |rsp, h| rsp.u32(*h))
}

/// Four ASCII characters as a big-endian `UINT32` (vendor strings, manufacturer).
const fn chars(s: &[u8; 4]) -> u32 {
    u32::from_be_bytes(*s)
}

/// How many properties [`properties`] reports.
const PROPERTY_COUNT: usize = 66;

/// Fixed (`PT_FIXED`) and variable (`PT_VAR`) properties, ascending.
fn properties<P: Platform>(tpm: &Tpm<P>) -> [(Pt, u32); PROPERTY_COUNT] {
    let total = COMMANDS.iter().filter(|d| implemented::<P>(d.cc)).count() as u32;
    let loaded = tpm.objects.loaded() as u32;
    let capacity = tpm.objects.capacity() as u32;
    let sessions = tpm.sessions.loaded() as u32;
    let active = tpm.sessions.active() as u32;
    let session_capacity = tpm.sessions.capacity() as u32;
    let mut permanent = TpmaPermanent::TPM_GENERATED_EPS;
    if !tpm.owner_h.auth.is_empty() {
        permanent |= TpmaPermanent::OWNER_AUTH_SET;
    }
    if !tpm.endorsement_h.auth.is_empty() {
        permanent |= TpmaPermanent::ENDORSEMENT_AUTH_SET;
    }
    if !tpm.lockout_auth.is_empty() {
        permanent |= TpmaPermanent::LOCKOUT_AUTH_SET;
    }
    if tpm.disable_clear {
        permanent |= TpmaPermanent::DISABLE_CLEAR;
    }
    if tpm.da.in_lockout() {
        permanent |= TpmaPermanent::IN_LOCKOUT;
    }
    let mut startup_clear = TpmaStartupClear::empty();
    let e = tpm.enables;
    startup_clear.set(TpmaStartupClear::PH_ENABLE, e.platform);
    startup_clear.set(TpmaStartupClear::SH_ENABLE, e.owner);
    startup_clear.set(TpmaStartupClear::EH_ENABLE, e.endorsement);
    startup_clear.set(TpmaStartupClear::PH_ENABLE_NV, e.platform_nv);
    if tpm.orderly {
        startup_clear |= TpmaStartupClear::ORDERLY;
    }
    let version = env_version();
    [
        (Pt::FamilyIndicator, chars(b"2.0\0")),
        (Pt::Level, 0),
        (Pt::Revision, 159),
        (Pt::DayOfYear, 312),
        (Pt::Year, 2019),
        (Pt::Manufacturer, chars(b"EVTM")),
        (Pt::VendorString1, chars(b"evtp")),
        (Pt::VendorString2, chars(b"m\0\0\0")),
        (Pt::VendorString3, 0),
        (Pt::VendorString4, 0),
        (Pt::VendorTpmType, 1),
        (Pt::FirmwareVersion1, version),
        (Pt::FirmwareVersion2, 0),
        (Pt::InputBuffer, tpm_proto::MAX_BUFFER as u32),
        (Pt::HrTransientMin, capacity),
        (
            Pt::HrPersistentMin,
            tpm.objects.persistent_capacity() as u32,
        ),
        (Pt::HrLoadedMin, 3),
        (Pt::ActiveSessionsMax, 64),
        (Pt::PcrCount, PCR_COUNT as u32),
        (Pt::PcrSelectMin, tpm_proto::PCR_SELECT_MIN as u32),
        (Pt::ContextGapMax, 0xFFFF),
        (Pt::NvCountersMax, 0),
        (Pt::NvIndexMax, 2048),
        (Pt::Memory, 0x6),
        (Pt::ClockUpdate, 0x1000),
        (Pt::ContextHash, AlgId::Sha256.0 as u32),
        (Pt::ContextSym, AlgId::Aes.0 as u32),
        (Pt::ContextSymSize, 256),
        (Pt::OrderlyCount, 255),
        (Pt::MaxCommandSize, tpm_proto::MAX_COMMAND_SIZE as u32),
        (Pt::MaxResponseSize, tpm_proto::MAX_RESPONSE_SIZE as u32),
        (Pt::MaxDigest, tpm_proto::MAX_DIGEST_SIZE as u32),
        (Pt::MaxObjectContext, 2048),
        (Pt::MaxSessionContext, 512),
        (Pt::PsFamilyIndicator, 1),
        (Pt::PsLevel, 0),
        (Pt::PsRevision, 0x105),
        (Pt::PsDayOfYear, 0),
        (Pt::PsYear, 0),
        (Pt::SplitMax, 128),
        (Pt::TotalCommands, total),
        (Pt::LibraryCommands, total),
        (Pt::VendorCommands, 0),
        (Pt::NvBufferMax, tpm_proto::MAX_BUFFER as u32),
        (Pt::Modes, 0),
        (Pt::Permanent, permanent.bits()),
        (Pt::StartupClear, startup_clear.bits()),
        (Pt::HrNvIndex, tpm.nv.count() as u32),
        (Pt::HrLoaded, sessions),
        (Pt::HrLoadedAvail, session_capacity - sessions),
        (Pt::HrActive, active),
        (Pt::HrActiveAvail, session_capacity - active),
        (Pt::HrTransientAvail, capacity - loaded),
        (Pt::HrPersistent, tpm.objects.persistent_count() as u32),
        (
            Pt::HrPersistentAvail,
            tpm.objects
                .persistent_capacity()
                .saturating_sub(tpm.objects.persistent_count()) as u32,
        ),
        (Pt::NvCounters, tpm.nv.counters() as u32),
        (Pt::NvCountersAvail, tpm.nv.counters_avail() as u32),
        (Pt::AlgorithmSet, tpm.algorithm_set),
        (Pt::LoadedCurves, CURVES.len() as u32),
        (Pt::LockoutCounter, tpm.da.failed_tries),
        (Pt::MaxAuthFail, tpm.da.max_tries),
        (Pt::LockoutInterval, tpm.da.recovery_time),
        (Pt::LockoutRecovery, tpm.da.lockout_recovery),
        (Pt::NvWriteRecovery, 0),
        (Pt::AuditCounter0, (tpm.command_audit.counter >> 32) as u32),
        (Pt::AuditCounter1, tpm.command_audit.counter as u32),
    ]
}

/// `TPM_PT_FIRMWARE_VERSION_1`: major << 16 | minor of this crate.
pub(crate) fn env_version() -> u32 {
    let parse = |s: &str| s.parse::<u32>().unwrap_or(0);
    (parse(env!("CARGO_PKG_VERSION_MAJOR")) << 16) | parse(env!("CARGO_PKG_VERSION_MINOR"))
}
