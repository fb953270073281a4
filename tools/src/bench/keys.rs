//! The key mixes (issue 4): what Keylime's agent, the Linux kernel's HMAC sessions and
//! tpm2-tools users ask of a TPM beyond the fast path.
//!
//! * [`KeysMix`]: storage primaries with the templates `tpm2_createprimary -G ecc`, `-G ecc384`
//!   and `-G rsa` send (the same template every round, so a TPM that caches primaries answers
//!   from its cache), an ECDSA P-256 key created and loaded under the P-256 primary, Sign with
//!   it, ContextSave and ContextLoad of it, Quote with a restricted ECDSA P-256 key (made once,
//!   in [`Mix::setup`]), a session salted with the P-256 primary (ECDH), and an NV index
//!   defined, written, read and undefined with owner authorization. Every object and session
//!   is flushed in the round that made it, so nothing accumulates, and no more than three
//!   objects are loaded at once (the quoting key, the P-256 primary and one more): the
//!   reference implementation, so swtpm, has three object slots. The key is flushed after its
//!   ContextSave and loaded again from the context, as a resource manager does.
//! * [`PrimariesMix`]: first-time primaries: the same templates with a `unique` field that
//!   differs every time, so that every CreatePrimary derives a new key. (`unique` is part of
//!   the template a TPM derives from and caches by; `outsideInfo` is not, so varying it would
//!   not do.)
//!
//! RSA-2048 CreatePrimary takes milliseconds; those steps run in every `rsa_period`-th round.

use super::commands::{build, password_sessions};
use super::{Mix, Transact};
use crate::wire::{be32, response_code};
use std::io;
use tpm_proto::{
    AlgId, Cc, Handle, Reader, St, Tpm2bPublic, TpmaNv, TpmaObject, TpmuPublicId, Unmarshal,
    WriteError, Writer, HEADER_SIZE,
};
use vtpm::crypto::{ecc, Drbg, EccCurve, EccPoint};

/// The object templates the mixes create.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Template {
    /// A storage parent as `tpm2_createprimary -G ecc` (P-256) or `-G ecc384` makes it:
    /// restricted decrypt, SHA-256 name, AES-128-CFB, no scheme, no KDF.
    StorageEcc(EccCurve),
    /// `tpm2_createprimary -G rsa`: RSA-2048, exponent 0 (65537), AES-128-CFB, no scheme.
    StorageRsa,
    /// An ECDSA-SHA256 P-256 signing key; `restricted` for a quoting key (an AK, as
    /// `tpm2_createak -G ecc -s ecdsa` makes it).
    SigningEcc { restricted: bool },
}

impl Template {
    /// Marshals the `TPMT_PUBLIC`, with `unique` as its unique field (the x coordinate of an
    /// ECC key, the modulus of an RSA key; empty in what tpm2-tools sends).
    pub fn marshal(self, w: &mut Writer<'_>, unique: &[u8]) -> Result<(), WriteError> {
        let object = TpmaObject::FIXED_TPM
            | TpmaObject::FIXED_PARENT
            | TpmaObject::SENSITIVE_DATA_ORIGIN
            | TpmaObject::USER_WITH_AUTH;
        let storage = object | TpmaObject::RESTRICTED | TpmaObject::DECRYPT;
        match self {
            Template::StorageEcc(curve) => {
                w.write(&AlgId::Ecc)?;
                w.write(&AlgId::Sha256)?;
                w.u32(storage.bits())?;
                w.sized(&[])?; // authPolicy
                aes128_cfb(w)?;
                w.write(&AlgId::Null)?; // scheme
                w.u16(curve.tpm_id())?;
                w.write(&AlgId::Null)?; // kdf
                w.sized(unique)?;
                w.sized(&[])
            }
            Template::StorageRsa => {
                w.write(&AlgId::Rsa)?;
                w.write(&AlgId::Sha256)?;
                w.u32(storage.bits())?;
                w.sized(&[])?;
                aes128_cfb(w)?;
                w.write(&AlgId::Null)?;
                w.u16(2048)?;
                w.u32(0)?; // exponent: 65537
                w.sized(unique)
            }
            Template::SigningEcc { restricted } => {
                let mut attrs = object | TpmaObject::SIGN_ENCRYPT;
                if restricted {
                    attrs |= TpmaObject::RESTRICTED;
                }
                w.write(&AlgId::Ecc)?;
                w.write(&AlgId::Sha256)?;
                w.u32(attrs.bits())?;
                w.sized(&[])?;
                w.write(&AlgId::Null)?; // symmetric
                w.write(&AlgId::EcDsa)?;
                w.write(&AlgId::Sha256)?;
                w.u16(EccCurve::NistP256.tpm_id())?;
                w.write(&AlgId::Null)?;
                w.sized(unique)?;
                w.sized(&[])
            }
        }
    }
}

/// `TPMT_SYM_DEF(_OBJECT)` AES-128-CFB: storage parents' and the kernel's session cipher.
fn aes128_cfb(w: &mut Writer<'_>) -> Result<(), WriteError> {
    w.write(&AlgId::Aes)?;
    w.u16(128)?;
    w.write(&AlgId::Cfb)
}

/// `TPM2_CreatePrimary(TPM_RH_OWNER)` with an empty authValue, no sensitive data, no
/// outsideInfo and no creation PCRs, password authorization (empty owner auth).
pub fn create_primary(t: Template, unique: &[u8]) -> Vec<u8> {
    build(St::Sessions, Cc::CreatePrimary, |w| {
        w.write(&Handle::Owner)?;
        password_sessions(w, 1)?;
        w.sized(&[0, 0, 0, 0])?; // inSensitive: empty userAuth, empty data
        w.sized_with(|w| t.marshal(w, unique))?;
        w.sized(&[])?; // outsideInfo
        w.u32(0) // creationPCR: none
    })
}

/// `TPM2_Create` under `parent`, as [`create_primary`] otherwise.
pub fn create(parent: u32, t: Template) -> Vec<u8> {
    build(St::Sessions, Cc::Create, |w| {
        w.u32(parent)?;
        password_sessions(w, 1)?;
        w.sized(&[0, 0, 0, 0])?;
        w.sized_with(|w| t.marshal(w, &[]))?;
        w.sized(&[])?;
        w.u32(0)
    })
}

/// `TPM2_Load` under `parent` of `blobs`: outPrivate and outPublic of a Create, as returned.
pub fn load(parent: u32, blobs: &[u8]) -> Vec<u8> {
    build(St::Sessions, Cc::Load, |w| {
        w.u32(parent)?;
        password_sessions(w, 1)?;
        if blobs.is_empty() {
            // Nothing was created (the echo floor): two empty TPM2Bs.
            w.u32(0)
        } else {
            w.bytes(blobs)
        }
    })
}

/// `TPM2_FlushContext(handle)`.
pub fn flush(handle: u32) -> Vec<u8> {
    build(St::NoSessions, Cc::FlushContext, |w| w.u32(handle))
}

/// The handle that starts a response's handle area (`None` for a bare header).
fn returned_handle(rsp: &[u8]) -> Option<u32> {
    rsp.get(HEADER_SIZE..HEADER_SIZE + 4).map(be32)
}

/// The parameter area of a response to a command with sessions that returns `handles` handles.
fn parameters(rsp: &[u8], handles: usize) -> Option<&[u8]> {
    let at = HEADER_SIZE + 4 * handles;
    let size = be32(rsp.get(at..at + 4)?) as usize;
    rsp.get(at + 4..at + 4 + size)
}

/// The first `n` `TPM2B`s of `b`, size fields included.
fn leading_tpm2bs(b: &[u8], n: usize) -> Option<&[u8]> {
    let mut at = 0;
    for _ in 0..n {
        let size = u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?) as usize;
        at += 2 + size;
    }
    b.get(..at)
}

/// outPrivate and outPublic from a `TPM2_Create` response.
fn created_blobs(rsp: &[u8]) -> Option<&[u8]> {
    leading_tpm2bs(parameters(rsp, 0)?, 2)
}

/// The public point of the ECC key a `TPM2_CreatePrimary` response carries.
fn primary_point(rsp: &[u8]) -> Option<EccPoint> {
    let mut r = Reader::new(parameters(rsp, 1)?);
    match Tpm2bPublic::unmarshal(&mut r).ok()?.public_area.unique {
        TpmuPublicId::Ecc(p) => Some(EccPoint {
            x: p.x.0.to_vec(),
            y: p.y.0.to_vec(),
        }),
        _ => None,
    }
}

/// `TPM_RC_RETRY`: the reference implementation (libtpms, so swtpm) answers the first
/// authorization of a DA-protected object after startup with it, having recorded in NV that
/// DA-protected authorization is in use; the caller sends the same command again, as tpm2-tss
/// does.
const TPM_RC_RETRY: u32 = 0x922;

/// Sends a setup command (again after `TPM_RC_RETRY`, a few times at most); anything but
/// `TPM_RC_SUCCESS` then is an error.
fn expect(tpm: &mut dyn Transact, cmd: &[u8], what: &str) -> io::Result<Vec<u8>> {
    let mut rsp = tpm.transact(cmd)?.to_vec();
    for _ in 0..3 {
        if response_code(&rsp) != Some(TPM_RC_RETRY) {
            break;
        }
        rsp = tpm.transact(cmd)?.to_vec();
    }
    match response_code(&rsp) {
        Some(0) => Ok(rsp),
        Some(rc) => Err(io::Error::other(format!("setup: {what}: rc {rc:#x}"))),
        None => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("setup: {what}: malformed response"),
        )),
    }
}

fn os_random(buf: &mut [u8]) -> io::Result<()> {
    getrandom::getrandom(buf).map_err(|e| io::Error::other(e.to_string()))
}

/// Placeholder handles until a TPM returns real ones (the echo floor never does).
const TRANSIENT: u32 = Handle::TransientFirst.0;
const HMAC_SESSION: u32 = Handle::HmacSessionFirst.0;

/// The digest Sign signs: any SHA-256-sized value (the TPM signs digests, not messages).
const DIGEST: [u8; 32] = [0x3C; 32];

/// The NV index the mix defines and undefines every round, and its size.
const NV_INDEX: u32 = 0x0150_0020;
const NV_SIZE: u16 = 32;

/// One step of [`KeysMix`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    PrimaryP256,
    PrimaryP384,
    FlushP384,
    PrimaryRsa,
    FlushRsa,
    Create,
    Load,
    Sign,
    ContextSave,
    FlushKey,
    ContextLoad,
    FlushLoaded,
    Quote,
    StartSaltedSession,
    FlushSession,
    NvDefineSpace,
    NvWrite,
    NvRead,
    NvUndefineSpace,
    FlushP256,
}

const KEYS_STEPS: [(Step, &str); 20] = [
    (Step::PrimaryP256, "CreatePrimary P-256"),
    (Step::PrimaryP384, "CreatePrimary P-384"),
    (Step::FlushP384, "FlushContext P-384"),
    (Step::PrimaryRsa, "CreatePrimary RSA-2048"),
    (Step::FlushRsa, "FlushContext RSA-2048"),
    (Step::Create, "Create P-256"),
    (Step::Load, "Load P-256"),
    (Step::Sign, "Sign ECDSA P-256"),
    (Step::ContextSave, "ContextSave"),
    (Step::FlushKey, "FlushContext key"),
    (Step::ContextLoad, "ContextLoad"),
    (Step::FlushLoaded, "FlushContext loaded"),
    (Step::Quote, "Quote ECDSA P-256"),
    (Step::StartSaltedSession, "StartAuthSession salted"),
    (Step::FlushSession, "FlushContext session"),
    (Step::NvDefineSpace, "NV_DefineSpace"),
    (Step::NvWrite, "NV_Write"),
    (Step::NvRead, "NV_Read"),
    (Step::NvUndefineSpace, "NV_UndefineSpace"),
    (Step::FlushP256, "FlushContext P-256"),
];

/// The rows of [`KeysMix`] that Keylime's agent and the kernel's HMAC-session path send: the
/// EK (the TCG RSA-2048 template, or ECC P-256) and the kernel's P-256 null-hierarchy primary;
/// the AK's Create and Load; ContextSave and ContextLoad (the agent keeps the AK as a context,
/// the kernel reloads its null key for every session); Quote; NV_Read (the EK certificate);
/// the salted session the kernel starts for every protected command; the FlushContexts after
/// them. Not in it: P-384, Sign, and defining and writing NV indices.
pub const KEYLIME_KERNEL: [&str; 14] = [
    "CreatePrimary P-256",
    "CreatePrimary RSA-2048",
    "FlushContext RSA-2048",
    "Create P-256",
    "Load P-256",
    "ContextSave",
    "ContextLoad",
    "FlushContext loaded",
    "FlushContext key",
    "Quote ECDSA P-256",
    "StartAuthSession salted",
    "FlushContext session",
    "NV_Read",
    "FlushContext P-256",
];

/// The key mix (module documentation); the state is what earlier responses returned.
#[derive(Debug)]
pub struct KeysMix {
    rsa_period: usize,
    /// The command being sent.
    cmd: Vec<u8>,
    /// The client's randomness for the ephemeral ECDH keys of salts.
    drbg: Drbg,
    /// The quoting key (restricted ECDSA P-256) that setup loaded.
    ak: u32,
    /// The AK as loaded by [`Mix::setup`] (none on the echo floor, which returns no handles).
    loaded_ak: Option<u32>,
    /// This round's P-256 storage primary and its public point.
    parent: u32,
    parent_point: Option<EccPoint>,
    /// The last P-384 or RSA primary, to be flushed.
    primary: u32,
    /// outPrivate and outPublic of the last Create, size fields included.
    created: Vec<u8>,
    /// The loaded key, its saved context, and the handle that context was loaded at.
    key: u32,
    context: Vec<u8>,
    loaded: u32,
    session: u32,
}

impl KeysMix {
    /// RSA-2048 CreatePrimary runs in every `rsa_period`-th round.
    pub fn new(rsa_period: usize) -> io::Result<KeysMix> {
        let mut seed = [0u8; 48];
        os_random(&mut seed)?;
        Ok(KeysMix {
            rsa_period: rsa_period.max(1),
            cmd: Vec::new(),
            drbg: Drbg::new(&seed, b"evtpm bench salt"),
            ak: TRANSIENT,
            loaded_ak: None,
            parent: TRANSIENT,
            parent_point: None,
            primary: TRANSIENT,
            created: Vec::new(),
            key: TRANSIENT,
            context: Vec::new(),
            loaded: TRANSIENT,
            session: HMAC_SESSION,
        })
    }

    /// `TPM2B_ENCRYPTED_SECRET` contents for a session salted with the P-256 primary: the
    /// public point of a fresh ephemeral key (Part 1, C.6.1: ECDH one-pass). The salt itself,
    /// `KDFe(Z.x, "SECRET", ephemeral.x, primary.x)`, is what a caller would then derive the
    /// session key from; the mix only times starting the session, so it is not computed. Empty
    /// until a primary's point is known (the echo floor returns none).
    fn encrypted_salt(&mut self) -> Vec<u8> {
        let Some(q) = &self.parent_point else {
            return Vec::new();
        };
        let Ok((eph, _z)) = ecc::ecdh_keygen(EccCurve::NistP256, q, &mut self.drbg) else {
            return Vec::new();
        };
        let mut v = Vec::with_capacity(4 + eph.x.len() + eph.y.len());
        for c in [&eph.x, &eph.y] {
            v.extend_from_slice(&(c.len() as u16).to_be_bytes());
            v.extend_from_slice(c);
        }
        v
    }

    fn build(&mut self, step: Step) -> Vec<u8> {
        let p256 = Template::StorageEcc(EccCurve::NistP256);
        let p384 = Template::StorageEcc(EccCurve::NistP384);
        let owner_nv = |cc: Cc, params: &dyn Fn(&mut Writer<'_>) -> Result<(), WriteError>| {
            build(St::Sessions, cc, |w| {
                w.write(&Handle::Owner)?;
                w.u32(NV_INDEX)?;
                password_sessions(w, 1)?;
                params(w)
            })
        };
        match step {
            Step::PrimaryP256 => create_primary(p256, &[]),
            Step::PrimaryP384 => create_primary(p384, &[]),
            Step::PrimaryRsa => create_primary(Template::StorageRsa, &[]),
            Step::FlushP384 | Step::FlushRsa => flush(self.primary),
            Step::Create => create(self.parent, Template::SigningEcc { restricted: false }),
            Step::Load => load(self.parent, &self.created),
            Step::Sign => build(St::Sessions, Cc::Sign, |w| {
                w.u32(self.key)?;
                password_sessions(w, 1)?;
                w.sized(&DIGEST)?;
                w.write(&AlgId::EcDsa)?;
                w.write(&AlgId::Sha256)?;
                // validation: the null ticket (TPM_ST_HASHCHECK, TPM_RH_NULL, empty digest),
                // enough for a key that is not restricted.
                w.write(&St::Hashcheck)?;
                w.write(&Handle::Null)?;
                w.sized(&[])
            }),
            Step::ContextSave => build(St::NoSessions, Cc::ContextSave, |w| w.u32(self.key)),
            Step::ContextLoad => build(St::NoSessions, Cc::ContextLoad, |w| {
                if self.context.is_empty() {
                    // Nothing saved (the echo floor): an empty TPMS_CONTEXT.
                    w.bytes(&[0; 18])
                } else {
                    w.bytes(&self.context)
                }
            }),
            Step::FlushLoaded => flush(self.loaded),
            Step::FlushKey => flush(self.key),
            Step::Quote => build(St::Sessions, Cc::Quote, |w| {
                w.u32(self.ak)?;
                password_sessions(w, 1)?;
                w.sized(&[0x71; 32])?; // qualifyingData: a verifier's nonce
                w.write(&AlgId::Null)?; // inScheme: the key's, ECDSA-SHA256
                                        // PCR selection sha256:0-7.
                w.u32(1)?;
                w.write(&AlgId::Sha256)?;
                w.u8(3)?;
                w.bytes(&[0xFF, 0, 0])
            }),
            Step::StartSaltedSession => {
                let salt = self.encrypted_salt();
                build(St::NoSessions, Cc::StartAuthSession, |w| {
                    w.u32(self.parent)?; // tpmKey
                    w.write(&Handle::Null)?; // bind
                    w.sized(&[0x11; 32])?; // nonceCaller
                    w.sized(&salt)?;
                    w.u8(0x00)?; // TPM_SE_HMAC
                    aes128_cfb(w)?;
                    w.write(&AlgId::Sha256)
                })
            }
            Step::FlushSession => flush(self.session),
            Step::NvDefineSpace => build(St::Sessions, Cc::NvDefineSpace, |w| {
                w.write(&Handle::Owner)?;
                password_sessions(w, 1)?;
                w.sized(&[])?; // auth
                w.sized_with(|w| {
                    w.u32(NV_INDEX)?;
                    w.write(&AlgId::Sha256)?;
                    // What `tpm2_nvdefine -C o -s 32` asks for.
                    let attrs = TpmaNv::OWNERWRITE
                        | TpmaNv::AUTHWRITE
                        | TpmaNv::OWNERREAD
                        | TpmaNv::AUTHREAD;
                    w.u32(attrs.bits())?;
                    w.sized(&[])?; // authPolicy
                    w.u16(NV_SIZE)
                })
            }),
            Step::NvWrite => owner_nv(Cc::NvWrite, &|w| {
                w.sized(&[0xA7; NV_SIZE as usize])?;
                w.u16(0)
            }),
            Step::NvRead => owner_nv(Cc::NvRead, &|w| {
                w.u16(NV_SIZE)?;
                w.u16(0)
            }),
            Step::NvUndefineSpace => owner_nv(Cc::NvUndefineSpace, &|_| Ok(())),
            Step::FlushP256 => flush(self.parent),
        }
    }
}

impl Mix for KeysMix {
    fn names(&self) -> Vec<&'static str> {
        KEYS_STEPS.iter().map(|(_, n)| *n).collect()
    }

    /// Creates and loads the quoting key under a P-256 primary, then flushes the primary.
    fn setup(&mut self, tpm: &mut dyn Transact) -> io::Result<()> {
        let p256 = Template::StorageEcc(EccCurve::NistP256);
        let rsp = expect(tpm, &create_primary(p256, &[]), "CreatePrimary P-256")?;
        let parent = returned_handle(&rsp).unwrap_or(TRANSIENT);
        let ak = Template::SigningEcc { restricted: true };
        let rsp = expect(tpm, &create(parent, ak), "Create AK")?;
        let blobs = created_blobs(&rsp).unwrap_or_default();
        let rsp = expect(tpm, &load(parent, blobs), "Load AK")?;
        self.loaded_ak = returned_handle(&rsp);
        self.ak = self.loaded_ak.unwrap_or(TRANSIENT);
        expect(tpm, &flush(parent), "FlushContext")?;
        Ok(())
    }

    fn teardown(&mut self, tpm: &mut dyn Transact) -> io::Result<()> {
        if let Some(ak) = self.loaded_ak.take() {
            tpm.transact(&flush(ak))?;
        }
        Ok(())
    }

    fn period(&self, i: usize) -> usize {
        match KEYS_STEPS[i].0 {
            Step::PrimaryRsa | Step::FlushRsa => self.rsa_period,
            _ => 1,
        }
    }

    fn command(&mut self, i: usize) -> &[u8] {
        self.cmd = self.build(KEYS_STEPS[i].0);
        &self.cmd
    }

    fn response(&mut self, i: usize, rsp: &[u8]) {
        let handle = returned_handle(rsp);
        match KEYS_STEPS[i].0 {
            Step::PrimaryP256 => {
                self.parent = handle.unwrap_or(self.parent);
                if let Some(q) = primary_point(rsp) {
                    self.parent_point = Some(q);
                }
            }
            Step::PrimaryP384 | Step::PrimaryRsa => self.primary = handle.unwrap_or(self.primary),
            Step::Create => {
                if let Some(b) = created_blobs(rsp) {
                    self.created = b.to_vec();
                }
            }
            Step::Load => self.key = handle.unwrap_or(self.key),
            Step::ContextSave => {
                if let Some(c) = rsp.get(HEADER_SIZE..).filter(|c| !c.is_empty()) {
                    self.context = c.to_vec();
                }
            }
            Step::ContextLoad => self.loaded = handle.unwrap_or(self.loaded),
            Step::StartSaltedSession => self.session = handle.unwrap_or(self.session),
            _ => {}
        }
    }
}

/// One step of [`PrimariesMix`]: a first-time primary of this template, or a flush of it.
const PRIMARIES_STEPS: [(Option<Template>, &str); 6] = [
    (
        Some(Template::StorageEcc(EccCurve::NistP256)),
        "CreatePrimary P-256 new",
    ),
    (None, "FlushContext P-256"),
    (
        Some(Template::StorageEcc(EccCurve::NistP384)),
        "CreatePrimary P-384 new",
    ),
    (None, "FlushContext P-384"),
    (Some(Template::StorageRsa), "CreatePrimary RSA new"),
    (None, "FlushContext RSA"),
];

/// First-time primaries (module documentation): `unique` is 16 random bytes of this mix and a
/// counter, so no two CreatePrimary commands, in this run or another, carry the same template.
#[derive(Debug)]
pub struct PrimariesMix {
    rsa_period: usize,
    cmd: Vec<u8>,
    unique: [u8; 24],
    counter: u64,
    handle: u32,
}

impl PrimariesMix {
    /// RSA-2048 CreatePrimary runs in every `rsa_period`-th round.
    pub fn new(rsa_period: usize) -> io::Result<PrimariesMix> {
        let mut unique = [0u8; 24];
        os_random(&mut unique[..16])?;
        Ok(PrimariesMix {
            rsa_period: rsa_period.max(1),
            cmd: Vec::new(),
            unique,
            counter: 0,
            handle: TRANSIENT,
        })
    }
}

impl Mix for PrimariesMix {
    fn names(&self) -> Vec<&'static str> {
        PRIMARIES_STEPS.iter().map(|(_, n)| *n).collect()
    }

    fn period(&self, i: usize) -> usize {
        if i >= 4 {
            self.rsa_period
        } else {
            1
        }
    }

    fn command(&mut self, i: usize) -> &[u8] {
        self.cmd = match PRIMARIES_STEPS[i].0 {
            Some(t) => {
                self.counter += 1;
                self.unique[16..].copy_from_slice(&self.counter.to_be_bytes());
                create_primary(t, &self.unique)
            }
            None => flush(self.handle),
        };
        &self.cmd
    }

    fn response(&mut self, i: usize, rsp: &[u8]) {
        if PRIMARIES_STEPS[i].0.is_some() {
            self.handle = returned_handle(rsp).unwrap_or(self.handle);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::HostPlatform;
    use crate::wire::header_size;

    /// The engine in process, answering as `evtpm serve` would.
    struct Engine {
        tpm: vtpm::Tpm<HostPlatform>,
        rsp: Vec<u8>,
    }

    impl Transact for Engine {
        fn transact(&mut self, cmd: &[u8]) -> io::Result<&[u8]> {
            let n = self.tpm.execute(0, cmd, &mut self.rsp);
            Ok(&self.rsp[..n])
        }
    }

    fn started() -> Engine {
        let tpm = vtpm::Tpm::manufacture(vtpm::Config::default(), HostPlatform::new()).unwrap();
        let mut e = Engine {
            tpm,
            rsp: vec![0; vtpm::MAX_RESPONSE_SIZE],
        };
        expect(&mut e, &crate::wire::STARTUP_CLEAR, "Startup").unwrap();
        e
    }

    /// Runs `rounds` rounds of `mix` against the engine; every response must succeed.
    fn run_rounds(mix: &mut dyn Mix, rounds: usize) {
        let mut e = started();
        mix.setup(&mut e).unwrap();
        let names = mix.names();
        for round in 0..rounds {
            for (i, name) in names.iter().enumerate() {
                if !round.is_multiple_of(mix.period(i)) {
                    continue;
                }
                let cmd = mix.command(i).to_vec();
                assert_eq!(header_size(&cmd), Some(cmd.len() as u32), "{name}");
                let rsp = e.transact(&cmd).unwrap().to_vec();
                assert_eq!(response_code(&rsp), Some(0), "round {round}: {name}");
                mix.response(i, &rsp);
            }
        }
    }

    // More rounds than the engine has object (8) and session (16) slots: a leak would exhaust
    // them; an index left defined would fail the next NV_DefineSpace.
    #[test]
    fn keys_mix_succeeds_on_the_engine_and_flushes_what_it_makes() {
        let mut mix = KeysMix::new(100).unwrap();
        run_rounds(&mut mix, 17);
        assert_eq!(mix.names().len(), KEYS_STEPS.len());
        assert!(mix.parent_point.is_some());
        assert_eq!(mix.period(3), 100);
        assert_eq!(mix.period(0), 1);
    }

    #[test]
    fn primaries_mix_succeeds_on_the_engine_with_a_new_unique_each_time() {
        let mut mix = PrimariesMix::new(100).unwrap();
        run_rounds(&mut mix, 6);
        let a = mix.command(0).to_vec();
        let b = mix.command(0).to_vec();
        assert_ne!(a, b, "every CreatePrimary carries another unique");
    }

    #[test]
    fn keylime_kernel_rows_are_rows_of_the_keys_mix() {
        let names: Vec<&str> = KEYS_STEPS.iter().map(|(_, n)| *n).collect();
        for k in KEYLIME_KERNEL {
            assert!(names.contains(&k), "{k}");
        }
    }

    // What `tpm2_createprimary -C o -G ecc` sends as inPublic (tpm2-tools 5.4, read from
    // swtpm's `--log level=20` command dump).
    #[test]
    fn ecc_storage_template_is_tpm2_createprimarys() {
        let mut buf = [0u8; 64];
        let mut w = Writer::new(&mut buf);
        Template::StorageEcc(EccCurve::NistP256)
            .marshal(&mut w, &[])
            .unwrap();
        let want = [
            0x00, 0x23, 0x00, 0x0B, 0x00, 0x03, 0x00, 0x72, 0x00, 0x00, 0x00, 0x06, 0x00, 0x80,
            0x00, 0x43, 0x00, 0x10, 0x00, 0x03, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00,
        ];
        assert_eq!(w.written(), &want);
    }
}
