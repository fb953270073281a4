//! The engine's state and its public face.

use crate::crypto::drbg::Drbg;
use crate::nv::Nv;
use crate::object::primary::{EkTemplate, PrimaryCache};
use crate::object::Objects;
use crate::pcr::Pcrs;
use crate::secret::AuthValue;
use tpm_proto::{Cc, Su};
use zeroize::Zeroizing;

/// What the engine needs from the machine it runs on.
pub trait Platform {
    /// Fills `buf` from a true random source (RDSEED/RDRAND in the firmware, the OS on a host).
    fn entropy(&mut self, buf: &mut [u8]) -> Result<(), PlatformError>;
    /// Milliseconds since an arbitrary origin; never goes backwards.
    fn monotonic_ms(&self) -> u64;
}

/// The platform's entropy source failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlatformError;

/// Why [`Tpm::manufacture`] failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManufactureError {
    /// The platform could not supply entropy for the seeds.
    Entropy,
}

/// Resource limits and defaults, fixed at manufacture.
#[derive(Debug, Clone)]
pub struct Config {
    /// Transient objects and sequence objects loaded at once (`TPM_RC_OBJECT_MEMORY` beyond).
    pub max_objects: usize,
    /// Sessions loaded or saved at once (`TPM_RC_SESSION_MEMORY` beyond).
    pub max_sessions: usize,
    /// Bytes of NV memory for indices and persistent objects (`TPM_RC_NV_SPACE` beyond).
    pub nv_bytes: usize,
    /// Persistent objects (`TPM2_EvictControl`) kept at once (`TPM_RC_NV_SPACE` beyond).
    pub max_persistent: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_objects: 8,
            max_sessions: 16,
            nv_bytes: 64 * 1024,
            max_persistent: 7,
        }
    }
}

/// Size of primary seeds and proof values (Part 1, 14.3: at least twice the security strength
/// of the largest hash; 64 bytes for SHA-512).
pub(crate) const SEED_SIZE: usize = 64;

/// Per-hierarchy secrets, created at manufacture (Part 1, section 14).
pub(crate) struct Hierarchy {
    /// The primary seed (EPS, SPS, PPS, or the null seed).
    pub seed: Zeroizing<[u8; SEED_SIZE]>,
    /// The hierarchy proof (ehProof, shProof, phProof; nullProof), the HMAC key of tickets.
    pub proof: Zeroizing<[u8; SEED_SIZE]>,
    /// `authValue` of the hierarchy (ownerAuth, endorsementAuth, platformAuth).
    pub auth: AuthValue,
    /// `authPolicy` of the hierarchy (`TPM2_SetPrimaryPolicy`).
    pub policy: Option<(tpm_proto::HashAlg, crate::crypto::Digest)>,
}

impl core::fmt::Debug for Hierarchy {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Hierarchy { .. }")
    }
}

impl Hierarchy {
    pub(crate) fn new<P: Platform>(platform: &mut P) -> Result<Hierarchy, ManufactureError> {
        let mut seed = Zeroizing::new([0u8; SEED_SIZE]);
        let mut proof = Zeroizing::new([0u8; SEED_SIZE]);
        platform
            .entropy(&mut seed[..])
            .map_err(|_| ManufactureError::Entropy)?;
        platform
            .entropy(&mut proof[..])
            .map_err(|_| ManufactureError::Entropy)?;
        Ok(Hierarchy {
            seed,
            proof,
            auth: AuthValue::empty(),
            policy: None,
        })
    }
}

/// `TPMA_STARTUP_CLEAR` hierarchy enables: all SET after every Startup(CLEAR).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Enables {
    pub platform: bool,
    pub owner: bool,
    pub endorsement: bool,
    pub platform_nv: bool,
}

impl Enables {
    pub const ALL: Enables = Enables {
        platform: true,
        owner: true,
        endorsement: true,
        platform_nv: true,
    };
}

/// Power and startup state (Part 1, section 12).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Power {
    /// No power: only the platform can act.
    Off,
    /// `_TPM_Init` done; only `TPM2_Startup` is accepted.
    Init,
    /// Started; every command is accepted.
    Started,
}

/// `TPMS_CLOCK_INFO` bookkeeping (Part 1, section 36).
#[derive(Debug, Clone)]
pub(crate) struct Clock {
    /// `Clock` when `base_ms` was taken; `Clock` never goes backwards.
    pub clock_base: u64,
    /// Platform time corresponding to `clock_base`.
    pub base_ms: u64,
    /// Platform time of the last `_TPM_Init` (`Time` counts from it).
    pub init_ms: u64,
    pub reset_count: u32,
    pub restart_count: u32,
}

/// A TPM 2.0 instance.
pub struct Tpm<P: Platform> {
    pub(crate) platform: P,
    #[allow(dead_code, reason = "NV space limits read it")]
    pub(crate) config: Config,
    pub(crate) drbg: Drbg,
    pub(crate) power: Power,
    /// The `TPM2_Shutdown` type seen since the last Startup, if any (orderly shutdown). A freshly
    /// manufactured TPM counts as shut down with CLEAR, as in the reference.
    pub(crate) shutdown: Option<Su>,
    /// The last Startup followed an orderly shutdown (`TPMA_STARTUP_CLEAR.orderly`).
    pub(crate) orderly: bool,
    pub(crate) platform_h: Hierarchy,
    pub(crate) owner_h: Hierarchy,
    pub(crate) endorsement_h: Hierarchy,
    pub(crate) null_h: Hierarchy,
    pub(crate) lockout_auth: AuthValue,
    pub(crate) lockout_policy: Option<(tpm_proto::HashAlg, crate::crypto::Digest)>,
    /// `TPM_PT_ALGORITHM_SET` (`TPM2_SetAlgorithmSet`).
    pub(crate) algorithm_set: u32,
    /// Which hierarchies are enabled (`TPM2_HierarchyControl`).
    pub(crate) enables: Enables,
    /// Dictionary-attack state.
    pub(crate) da: crate::da::DaState,
    /// `TPMA_PERMANENT.disableClear` (`TPM2_ClearControl`).
    pub(crate) disable_clear: bool,
    pub(crate) pcrs: Pcrs,
    /// PCRs saved by `TPM2_Shutdown(STATE)`, restored by `TPM2_Startup(STATE)`.
    pub(crate) saved_pcrs: Option<Pcrs>,
    /// authValue of the PCR authorization group (`TPM2_PCR_SetAuthValue`, Part 3, 22.8): state
    /// clear data, emptied by TPM Reset, TPM Restart and `TPM2_Clear`.
    pub(crate) pcr_auth: AuthValue,
    /// authPolicy of the PCR policy group (`TPM2_PCR_SetAuthPolicy`, Part 3, 22.7); `None` is
    /// `TPM_ALG_NULL`. Persistent: neither TPM Reset nor `TPM2_Clear` changes it.
    pub(crate) pcr_policy: Option<(tpm_proto::HashAlg, crate::crypto::Digest)>,
    /// The physical-presence signal (`TPM_SIGNAL_PHYS_PRES_ON`/`_OFF` of a simulator's
    /// platform; never asserted inside a confidential VM, where no person is present).
    pub(crate) physical_presence: bool,
    /// The commands that need physical presence when authorized by the platform
    /// (`TPM2_PP_Commands`; persistent), see [`crate::command::pp`].
    pub(crate) pp_list: crate::command::pp::PpList,
    /// Command audit: list, algorithm, digest and counter.
    pub(crate) command_audit: crate::audit::CommandAudit,
    /// The exclusive audit session (Part 1, "Session Audit"): the audit session that saw every command
    /// since it became one (reference `g_exclusiveAuditSession`).
    pub(crate) exclusive_audit: Option<tpm_proto::Handle>,
    /// The commit counter of two-phase ECC operations (`TPM2_EC_Ephemeral`).
    pub(crate) commit: crate::commit::Commit,
    pub(crate) objects: Objects,
    /// Recently derived primary objects (`TPM2_CreatePrimary` of a template seen before).
    pub(crate) primary_cache: PrimaryCache,
    /// Secret of the context blobs, renewed at every TPM Reset (`context.rs`).
    pub(crate) context_key: Zeroizing<[u8; 32]>,
    /// The context counter: the sequence number of the next saved context.
    pub(crate) context_sequence: u64,
    pub(crate) sessions: crate::session::Sessions,
    /// NV indices (Part 1, section 37).
    pub(crate) nv: Nv,
    /// The command being executed: whether an NV index's authValue or authPolicy may authorize
    /// it depends on whether the command writes the index (reference `IsWriteOperation`).
    pub(crate) command: Option<Cc>,
    pub(crate) clock: Clock,
    /// Result of the self-test (always passes: every algorithm has known-answer tests at build time).
    pub(crate) tested: bool,
    pub(crate) cancel: bool,
}

/// A summary without secrets: the seeds, proofs, DRBG state, context key, auth values and
/// object contents are not printed (the parts that are print redacted anyway).
impl<P: Platform> core::fmt::Debug for Tpm<P> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Tpm")
            .field("power", &self.power)
            .field("orderly", &self.orderly)
            .field("enables", &self.enables)
            .field("objects", &self.objects.loaded())
            .field("sessions", &self.sessions.loaded())
            .field("nv_indices", &self.nv.count())
            .field("context_sequence", &self.context_sequence)
            .finish_non_exhaustive()
    }
}

impl<P: Platform> Tpm<P> {
    /// Manufactures a TPM: fresh primary seeds and proofs from the platform's entropy source,
    /// default hierarchy state, empty NV. The TPM is powered on and awaits `TPM2_Startup`.
    pub fn manufacture(config: Config, mut platform: P) -> Result<Self, ManufactureError> {
        let mut seed = Zeroizing::new([0u8; 48]);
        platform
            .entropy(&mut seed[..])
            .map_err(|_| ManufactureError::Entropy)?;
        let drbg = Drbg::new(&seed[..], b"evtpm DRBG");
        let platform_h = Hierarchy::new(&mut platform)?;
        let owner_h = Hierarchy::new(&mut platform)?;
        let endorsement_h = Hierarchy::new(&mut platform)?;
        let null_h = Hierarchy::new(&mut platform)?;
        let now = platform.monotonic_ms();
        let objects = Objects::new(config.max_objects, config.max_persistent);
        let mut context_key = Zeroizing::new([0u8; 32]);
        platform
            .entropy(&mut context_key[..])
            .map_err(|_| ManufactureError::Entropy)?;
        let mut commit_nonce = Zeroizing::new([0u8; 32]);
        platform
            .entropy(&mut commit_nonce[..])
            .map_err(|_| ManufactureError::Entropy)?;
        let sessions = crate::session::Sessions::new(config.max_sessions);
        let nv = Nv::new(config.nv_bytes);
        Ok(Tpm {
            platform,
            config,
            drbg,
            power: Power::Init,
            shutdown: Some(Su::Clear),
            orderly: false,
            platform_h,
            owner_h,
            endorsement_h,
            null_h,
            lockout_auth: AuthValue::empty(),
            lockout_policy: None,
            disable_clear: false,
            da: crate::da::DaState::new(),
            enables: Enables::ALL,
            algorithm_set: 0,
            pcrs: Pcrs::new(),
            saved_pcrs: None,
            pcr_auth: AuthValue::empty(),
            pcr_policy: None,
            physical_presence: false,
            pp_list: crate::command::pp::PpList::default(),
            command_audit: crate::audit::CommandAudit::default(),
            exclusive_audit: None,
            commit: crate::commit::Commit::new(&commit_nonce),
            objects,
            primary_cache: PrimaryCache::default(),
            context_key,
            context_sequence: 0,
            sessions,
            nv,
            command: None,
            clock: Clock {
                clock_base: 0,
                base_ms: now,
                init_ms: now,
                reset_count: 0,
                restart_count: 0,
            },
            tested: false,
            cancel: false,
        })
    }

    /// Executes one command received at `locality`, writing the response into `response`
    /// (at least [`crate::MAX_RESPONSE_SIZE`] bytes for every response to fit). Returns the
    /// response length. Never panics; always writes a well-formed response if `response` can
    /// hold a 10-byte header (returns 0 otherwise).
    pub fn execute(&mut self, locality: u8, command: &[u8], response: &mut [u8]) -> usize {
        crate::command::execute(self, locality, command, response)
    }

    /// `_TPM_Init`: the power-on or reset signal. Volatile state is lost and the next command
    /// must be `TPM2_Startup`. Seeds, hierarchy authorizations, NV and `Clock` persist.
    pub fn power_on(&mut self) {
        self.objects.flush_all();
        self.sessions.flush_loaded();
        self.power = Power::Init;
        self.clock.init_ms = self.platform.monotonic_ms();
        self.cancel = false;
    }

    /// Power removed. Without a preceding `TPM2_Shutdown` the next Startup is a TPM Reset.
    pub fn power_off(&mut self) {
        self.objects.flush_all();
        self.sessions.flush_loaded();
        self.power = Power::Off;
    }

    /// `TPM_SIGNAL_CANCEL_ON`/`_OFF`.
    pub fn set_cancel(&mut self, on: bool) {
        self.cancel = on;
    }

    /// `TPM_SIGNAL_PHYS_PRES_ON`/`_OFF`: a person asserts (or stops asserting) physical
    /// presence at the platform. Off until signalled.
    pub fn set_physical_presence(&mut self, on: bool) {
        self.physical_presence = on;
    }

    /// True once `TPM2_Startup` has succeeded since the last `_TPM_Init`.
    pub fn is_started(&self) -> bool {
        self.power == Power::Started
    }

    /// The current `Clock` in milliseconds (Part 1, 36.3); advances while the TPM is powered.
    pub(crate) fn clock_now(&self) -> u64 {
        let now = self.platform.monotonic_ms();
        self.clock
            .clock_base
            .saturating_add(now.saturating_sub(self.clock.base_ms))
    }

    /// `Time`: milliseconds since the last `_TPM_Init`.
    pub(crate) fn time_now(&self) -> u64 {
        self.platform
            .monotonic_ms()
            .saturating_sub(self.clock.init_ms)
    }

    /// The public area (`TPMT_PUBLIC`, no size) of the endorsement key this TPM derives from its
    /// endorsement primary seed and `template`: the area `TPM2_CreatePrimary` with that template
    /// in the endorsement hierarchy returns, and the manifest the EK binding hashes.
    pub fn ek_public(
        &mut self,
        template: EkTemplate,
    ) -> Result<alloc::vec::Vec<u8>, tpm_proto::Rc> {
        Ok(self.derive_ek(template)?.public)
    }

    /// The EK of `template`, public and sensitive, derived from the EPS (or cached).
    pub(crate) fn derive_ek(
        &mut self,
        template: EkTemplate,
    ) -> Result<crate::object::create::Created, tpm_proto::Rc> {
        use tpm_proto::{Reader, TpmtPublic, UnmarshalNullable};
        let raw = template.template();
        let area = TpmtPublic::unmarshal_nullable(&mut Reader::new(&raw), false)?;
        self.primary_cache.get_or_derive(
            &self.endorsement_h.seed[..],
            &area,
            &raw,
            &[],
            AuthValue::empty(),
        )
    }

    /// Reseeds the DRBG from the platform if its reseed interval has run out, so that an
    /// operation that draws from it many times (key generation, blinding) does not fail.
    pub(crate) fn reseed_if_needed(&mut self) -> Result<(), tpm_proto::Rc> {
        if !self.drbg.needs_reseed() {
            return Ok(());
        }
        let mut fresh = Zeroizing::new([0u8; 48]);
        self.platform
            .entropy(&mut fresh[..])
            .map_err(|_| tpm_proto::Rc::Failure)?;
        self.drbg.reseed(&fresh[..], &[]);
        Ok(())
    }

    /// The hierarchy a permanent handle names (`TPM_RH_NULL` for the null hierarchy).
    pub(crate) fn hierarchy(&self, h: tpm_proto::Handle) -> Option<&Hierarchy> {
        use tpm_proto::Handle;
        match h {
            Handle::Owner => Some(&self.owner_h),
            Handle::Endorsement => Some(&self.endorsement_h),
            Handle::Platform => Some(&self.platform_h),
            Handle::Null => Some(&self.null_h),
            _ => None,
        }
    }

    /// Fills `out` from the DRBG, reseeding from the platform when it asks for it.
    pub(crate) fn random(&mut self, out: &mut [u8]) -> Result<(), tpm_proto::Rc> {
        if self.drbg.generate(out, &[]).is_ok() {
            return Ok(());
        }
        let mut fresh = Zeroizing::new([0u8; 48]);
        self.platform
            .entropy(&mut fresh[..])
            .map_err(|_| tpm_proto::Rc::Failure)?;
        self.drbg.reseed(&fresh[..], &[]);
        self.drbg
            .generate(out, &[])
            .map_err(|_| tpm_proto::Rc::Failure)
    }
}
