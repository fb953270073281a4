//! Command dispatch (Part 1, section 18; Part 3, section 5): header, handle area, authorization
//! area, then the handler reads its parameters and writes its response parameters.
//!
//! The checks and their order follow the reference implementation's `ExecuteCommand`, so every
//! malformed command gets the code a reference TPM returns: header (`TPM_RC_BAD_TAG`,
//! `TPM_RC_COMMAND_SIZE`, `TPM_RC_COMMAND_CODE`), startup state (`TPM_RC_INITIALIZE`), handles
//! (interface type, then whether the entity is loaded), sessions (sizes, attributes, then
//! authorization), then parameters (numbered errors, `TPM_RC_SIZE` for trailing bytes).

mod attest;
mod audit;
mod auth;
mod capability;
mod clock;
mod context;
mod credential;
mod duplicate;
mod ecc;
mod hash;
mod hierarchy;
mod load;
mod nv;
mod object;
mod pcr;
mod policy;
pub(crate) mod pp;
mod random;
mod rsa;
mod session;
mod sign;
mod startup;
mod symmetric;
mod testing;

use crate::engine::{Platform, Power, Tpm};
use auth::Sessions;
use tpm_proto::command::{CommandDesc, CommandHeader};
use tpm_proto::{
    Cc, Handle, HashAlg, Marshal, Rc, Reader, St, Unmarshal, WriteError, Writer, HEADER_SIZE,
};

/// A parsed command, as a handler sees it.
#[derive(Debug)]
pub(crate) struct Command<'c> {
    pub locality: u8,
    #[allow(dead_code, reason = "read by session and audit handling")]
    pub desc: &'static CommandDesc,
    pub handles: [Handle; 3],
    params: Reader<'c>,
    param_n: u32,
}

impl<'c> Command<'c> {
    /// The command's `i`-th handle.
    pub fn handle(&self, i: usize) -> Handle {
        self.handles.get(i).copied().unwrap_or(Handle::Null) // infallible for i < 3
    }

    /// Reads the next parameter; a failure carries this parameter's number.
    pub fn param<T: Unmarshal<'c>>(&mut self) -> Result<T, Rc> {
        self.param_n += 1;
        let n = self.param_n;
        self.params.read().map_err(|rc| rc.param(n))
    }

    /// Reads a `TPMI_ALG_HASH` parameter (`+` when `allow_null`).
    pub fn hash_param(&mut self, allow_null: bool) -> Result<Option<HashAlg>, Rc> {
        self.param_n += 1;
        let n = self.param_n;
        HashAlg::unmarshal_opt(&mut self.params, allow_null).map_err(|rc| rc.param(n))
    }

    /// Called after the last parameter: bytes left over are `TPM_RC_SIZE`.
    pub fn end(&self) -> Result<(), Rc> {
        if self.params.is_empty() {
            Ok(())
        } else {
            Err(Rc::Size)
        }
    }
}

/// The response a handler builds: an optional handle and the parameter area.
#[derive(Debug)]
pub(crate) struct Response<'r> {
    pub handle: Option<Handle>,
    pub out: Writer<'r>,
}

impl Response<'_> {
    /// Writes a response parameter. Responses are sized so that this cannot fail for a
    /// `MAX_RESPONSE_SIZE` buffer; a failure is reported as `TPM_RC_SIZE`.
    pub fn put<T: Marshal + ?Sized>(&mut self, v: &T) -> Result<(), Rc> {
        self.out.write(v).map_err(|_: WriteError| Rc::Size)
    }

    pub fn u8(&mut self, v: u8) -> Result<(), Rc> {
        self.put(&v)
    }

    pub fn u16(&mut self, v: u16) -> Result<(), Rc> {
        self.put(&v)
    }

    pub fn u32(&mut self, v: u32) -> Result<(), Rc> {
        self.put(&v)
    }

    pub fn u64(&mut self, v: u64) -> Result<(), Rc> {
        self.put(&v)
    }

    /// Writes a `TPM2B` holding `b`.
    pub fn sized(&mut self, b: &[u8]) -> Result<(), Rc> {
        self.out.sized(b).map_err(|_| Rc::Size)
    }
}

type Handler<P> = fn(&mut Tpm<P>, &mut Command<'_>, &mut Response<'_>) -> Result<(), Rc>;

/// The handler of each implemented command. `TPM_CAP_COMMANDS` lists exactly these.
pub(crate) fn handler<P: Platform>(cc: Cc) -> Option<Handler<P>> {
    Some(match cc {
        Cc::Startup => startup::startup,
        Cc::Shutdown => startup::shutdown,
        Cc::SelfTest => testing::self_test,
        Cc::IncrementalSelfTest => testing::incremental_self_test,
        Cc::GetTestResult => testing::get_test_result,
        Cc::TestParms => testing::test_parms,
        Cc::GetCapability => capability::get_capability,
        Cc::GetRandom => random::get_random,
        Cc::StirRandom => random::stir_random,
        Cc::PcrRead => pcr::pcr_read,
        Cc::PcrExtend => pcr::pcr_extend,
        Cc::PcrEvent => pcr::pcr_event,
        Cc::PcrReset => pcr::pcr_reset,
        Cc::PcrAllocate => pcr::pcr_allocate,
        Cc::PcrSetAuthPolicy => pcr::pcr_set_auth_policy,
        Cc::PcrSetAuthValue => pcr::pcr_set_auth_value,
        Cc::PpCommands => pp::pp_commands,
        Cc::SetCommandCodeAuditStatus => audit::set_command_code_audit_status,
        Cc::EcEphemeral => ecc::ec_ephemeral,
        Cc::Commit => ecc::commit,
        Cc::Rewrap => duplicate::rewrap,
        Cc::ZGen2Phase => ecc::zgen_2phase,
        Cc::GetCommandAuditDigest => audit::get_command_audit_digest,
        Cc::GetSessionAuditDigest => audit::get_session_audit_digest,
        Cc::Hash => hash::hash,
        Cc::HashSequenceStart => hash::hash_sequence_start,
        Cc::SequenceUpdate => hash::sequence_update,
        Cc::SequenceComplete => hash::sequence_complete,
        Cc::EventSequenceComplete => hash::event_sequence_complete,
        Cc::ReadClock => clock::read_clock,
        Cc::HierarchyChangeAuth => hierarchy::hierarchy_change_auth,
        Cc::Clear => hierarchy::clear,
        Cc::StartAuthSession => session::start_auth_session,
        Cc::FlushContext => session::flush_context,
        Cc::ContextSave => context::context_save,
        Cc::ContextLoad => context::context_load,
        Cc::PolicyRestart => session::policy_restart,
        Cc::PolicyGetDigest => session::policy_get_digest,
        Cc::PolicyAuthValue => policy::policy_auth_value,
        Cc::PolicyPassword => policy::policy_password,
        Cc::PolicyCommandCode => policy::policy_command_code,
        Cc::PolicyLocality => policy::policy_locality,
        Cc::PolicyPcr => policy::policy_pcr,
        Cc::PolicyOr => policy::policy_or,
        Cc::PolicyCpHash => policy::policy_cp_hash,
        Cc::PolicyNameHash => policy::policy_name_hash,
        Cc::PolicyTemplate => policy::policy_template,
        Cc::PolicySecret => policy::policy_secret,
        Cc::PolicyAuthorize => policy::policy_authorize,
        Cc::PolicyAuthorizeNv => policy::policy_authorize_nv,
        Cc::PolicyPhysicalPresence => policy::policy_physical_presence,
        Cc::PolicyNvWritten => policy::policy_nv_written,
        Cc::PolicyNv => policy::policy_nv,
        Cc::PolicySigned => policy::policy_signed,
        Cc::PolicyTicket => policy::policy_ticket,
        Cc::ClockSet => clock::clock_set,
        Cc::ClockRateAdjust => clock::clock_rate_adjust,
        Cc::SetAlgorithmSet => hierarchy::set_algorithm_set,
        Cc::PolicyCounterTimer => policy::policy_counter_timer,
        Cc::PolicyDuplicationSelect => policy::policy_duplication_select,
        Cc::SetPrimaryPolicy => hierarchy::set_primary_policy,
        Cc::HierarchyControl => hierarchy::hierarchy_control,
        Cc::ChangeEps => hierarchy::change_eps,
        Cc::ChangePps => hierarchy::change_pps,
        Cc::DictionaryAttackLockReset => hierarchy::dictionary_attack_lock_reset,
        Cc::DictionaryAttackParameters => hierarchy::dictionary_attack_parameters,
        Cc::ClearControl => hierarchy::clear_control,
        Cc::CreatePrimary => object::create_primary,
        Cc::Create => object::create,
        Cc::CreateLoaded => object::create_loaded,
        Cc::Load => load::load,
        Cc::LoadExternal => load::load_external,
        Cc::ReadPublic => load::read_public,
        Cc::Unseal => load::unseal,
        Cc::ObjectChangeAuth => load::object_change_auth,
        Cc::EvictControl => load::evict_control,
        Cc::Sign => sign::sign,
        Cc::VerifySignature => sign::verify_signature,
        Cc::Hmac => sign::hmac,
        Cc::HmacStart => sign::hmac_start,
        Cc::RsaEncrypt => rsa::rsa_encrypt,
        Cc::RsaDecrypt => rsa::rsa_decrypt,
        Cc::EcdhKeyGen => ecc::ecdh_keygen,
        Cc::EcdhZGen => ecc::ecdh_zgen,
        Cc::EccParameters => ecc::ecc_parameters,
        Cc::EncryptDecrypt => symmetric::encrypt_decrypt1,
        Cc::EncryptDecrypt2 => symmetric::encrypt_decrypt2,
        Cc::Quote => attest::quote,
        Cc::Certify => attest::certify,
        Cc::CertifyCreation => attest::certify_creation,
        Cc::GetTime => attest::get_time,
        Cc::MakeCredential => credential::make_credential,
        Cc::ActivateCredential => credential::activate_credential,
        Cc::Duplicate => duplicate::duplicate,
        Cc::Import => duplicate::import,
        Cc::NvDefineSpace => nv::nv_define_space,
        Cc::NvUndefineSpace => nv::nv_undefine_space,
        Cc::NvUndefineSpaceSpecial => nv::nv_undefine_space_special,
        Cc::NvReadPublic => nv::nv_read_public,
        Cc::NvWrite => nv::nv_write,
        Cc::NvIncrement => nv::nv_increment,
        Cc::NvExtend => nv::nv_extend,
        Cc::NvSetBits => nv::nv_set_bits,
        Cc::NvWriteLock => nv::nv_write_lock,
        Cc::NvGlobalWriteLock => nv::nv_global_write_lock,
        Cc::NvRead => nv::nv_read,
        Cc::NvReadLock => nv::nv_read_lock,
        Cc::NvChangeAuth => nv::nv_change_auth,
        Cc::NvCertify => nv::nv_certify,
        _ => return None,
    })
}

/// True if `cc` is implemented.
pub(crate) fn implemented<P: Platform>(cc: Cc) -> bool {
    handler::<P>(cc).is_some()
}

/// Writes an error response (Part 1, 18.4: tag `TPM_ST_NO_SESSIONS`, size 10; also for
/// `TPM_RC_BAD_TAG`, as the reference implementation answers).
fn error_response(rc: Rc, response: &mut [u8]) -> usize {
    let tag = St::NoSessions;
    let Some(out) = response.get_mut(..HEADER_SIZE) else {
        return 0;
    };
    out[0..2].copy_from_slice(&tag.0.to_be_bytes());
    out[2..6].copy_from_slice(&(HEADER_SIZE as u32).to_be_bytes());
    out[6..10].copy_from_slice(&rc.0.to_be_bytes());
    HEADER_SIZE
}

pub(crate) fn execute<P: Platform>(
    tpm: &mut Tpm<P>,
    locality: u8,
    command: &[u8],
    response: &mut [u8],
) -> usize {
    match run(tpm, locality, command, response) {
        Ok(n) => n,
        Err(rc) => {
            if rc != Rc::Success {
                log::debug!("command failed: {rc:?}");
            }
            error_response(rc, response)
        }
    }
}

fn run<P: Platform>(
    tpm: &mut Tpm<P>,
    locality: u8,
    command: &[u8],
    response: &mut [u8],
) -> Result<usize, Rc> {
    if response.len() < HEADER_SIZE {
        return Ok(0);
    }
    let hdr = CommandHeader::parse(command)?;
    let desc = CommandDesc::find(hdr.cc).ok_or(Rc::CommandCode)?;
    let run_handler = handler::<P>(hdr.cc).ok_or(Rc::CommandCode)?;
    tpm.command = Some(hdr.cc);
    match tpm.power {
        Power::Off => return Err(Rc::Failure),
        Power::Init if hdr.cc != Cc::Startup => return Err(Rc::Initialize),
        _ => {}
    }
    if locality > 4 {
        return Err(Rc::Locality);
    }

    // Handle area: interface type, then whether the entity is present.
    let mut r = Reader::new(command);
    r.bytes(HEADER_SIZE)?;
    let mut handles = [Handle::Null; 3];
    for (i, (ty, _)) in desc.handles.iter().enumerate() {
        let n = i as u32 + 1;
        let h = Handle(r.u32().map_err(|rc| rc.handle(n))?);
        ty.check(h).map_err(|rc| rc.handle(n))?;
        handles[i] = h;
    }
    for (i, h) in handles.iter().take(desc.handles.len()).enumerate() {
        crate::entity::entity_present(tpm, *h, i as u32)?;
    }

    // Authorization area.
    let mut sessions = Sessions::none();
    if hdr.tag == St::Sessions {
        let auth_size = r.u32()? as usize;
        if auth_size < 9 || auth_size > r.remaining() {
            return Err(Rc::Size);
        }
        if desc.no_sessions {
            return Err(Rc::AuthContext);
        }
        let area = r.sub(auth_size)?;
        sessions.parse(tpm, area, desc)?;
    }
    let raw_params = r.rest();
    sessions.authorize(tpm, desc, &handles, locality, raw_params)?;
    // Command audit: the cpHash in the audit algorithm, over the parameters as received.
    let audit_cp = tpm.command_audit.audits(hdr.cc).then(|| {
        let alg = tpm.command_audit.alg();
        auth::cp_hash(tpm, alg, hdr.cc, &handles, desc, raw_params)
    });

    // The first parameter is decrypted in a copy of the parameter area. The buffer is only
    // initialized (zeroed) when a session decrypts: zeroing 4 KiB for every command was a
    // measurable share of the fastest commands.
    let mut decrypted: [u8; tpm_proto::MAX_COMMAND_SIZE];
    let params = if sessions.has_decrypt() {
        decrypted = [0u8; tpm_proto::MAX_COMMAND_SIZE];
        let copy = decrypted
            .get_mut(..raw_params.len())
            .ok_or(Rc::CommandSize)?;
        copy.copy_from_slice(raw_params);
        sessions.decrypt_parameter(tpm, copy)?;
        Reader::new(copy)
    } else {
        Reader::new(raw_params)
    };

    // Parameters and execution.
    let with_sessions = hdr.tag == St::Sessions;
    let param_at =
        HEADER_SIZE + if desc.response_handle { 4 } else { 0 } + if with_sessions { 4 } else { 0 };
    let (head, body) = response.split_at_mut(param_at.min(response.len()));
    let mut cmd = Command {
        locality,
        desc,
        handles,
        params,
        param_n: 0,
    };
    let mut rsp = Response {
        handle: None,
        out: Writer::new(body),
    };
    run_handler(tpm, &mut cmd, &mut rsp)?;
    let param_len = rsp.out.len();
    let response_handle = rsp.handle;

    // Response: header, handle, parameterSize, parameters, sessions.
    let mut total = param_at + param_len;
    if with_sessions {
        let (params_out, rest) = body.split_at_mut(param_len);
        let mut w = Writer::new(rest);
        sessions.respond(tpm, hdr.cc, params_out, &mut w)?;
        total += w.len();
    } else if !desc.no_sessions {
        // A command that could have had an audit session ran without: exclusivity ends.
        tpm.exclusive_audit = None;
    }
    if let Some(cp) = audit_cp {
        let out = body.get(..param_len).ok_or(Rc::Failure)?;
        let rp = crate::crypto::Hasher::digest(
            tpm.command_audit.alg(),
            &[&0u32.to_be_bytes(), &hdr.cc.0.to_be_bytes(), out],
        );
        tpm.command_audit.record(&cp, &rp);
    }
    let mut w = Writer::new(head);
    let tag = if with_sessions {
        St::Sessions
    } else {
        St::NoSessions
    };
    let hdr_ok = (|| {
        w.u16(tag.0)?;
        w.u32(total as u32)?;
        w.u32(Rc::Success.0)?;
        if desc.response_handle {
            w.u32(response_handle.unwrap_or(Handle::Null).0)?;
        }
        if with_sessions {
            w.u32(param_len as u32)?;
        }
        Ok::<(), WriteError>(())
    })();
    hdr_ok.map_err(|_| Rc::Size)?;
    Ok(total)
}
