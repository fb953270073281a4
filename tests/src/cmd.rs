//! Builders for the command bytes the tests send, written with `tpm_proto::Writer`.
//!
//! These build *valid* commands (the malformed tests then edit the bytes); each follows the
//! command's table in TPM 2.0 Part 3.

use tpm_proto::{AlgId, Cap, Cc, St, Su, WriteError, Writer};

/// `TPM_RS_PW`, the password session handle.
pub const RS_PW: u32 = 0x4000_0009;
pub const RH_OWNER: u32 = 0x4000_0001;
pub const RH_NULL: u32 = 0x4000_0007;
pub const RH_ENDORSEMENT: u32 = 0x4000_000B;
pub const RH_PLATFORM: u32 = 0x4000_000C;

/// Builds `tag | size | cc | body`, patching in the size.
pub fn command(
    tag: St,
    cc: Cc,
    body: impl FnOnce(&mut Writer<'_>) -> Result<(), WriteError>,
) -> Vec<u8> {
    let mut buf = vec![0u8; 16 * 1024];
    let n = {
        let mut w = Writer::new(&mut buf);
        let build = |w: &mut Writer<'_>| -> Result<(), WriteError> {
            w.write(&tag)?;
            let at = w.reserve(4)?;
            w.write(&cc)?;
            body(w)?;
            let n = w.len() as u32;
            w.patch(at, &n.to_be_bytes())
        };
        build(&mut w).expect("command fits the buffer");
        w.len()
    };
    buf.truncate(n);
    buf
}

/// A `TPM_ST_NO_SESSIONS` command whose body is `params`.
pub fn no_sessions(cc: Cc, params: &[u8]) -> Vec<u8> {
    command(St::NoSessions, cc, |w| w.bytes(params))
}

/// A `TPM_ST_SESSIONS` command with `handles`, one password session per entry of `auths`, then
/// `params`.
pub fn with_pw(cc: Cc, handles: &[u32], auths: &[&[u8]], params: &[u8]) -> Vec<u8> {
    command(St::Sessions, cc, |w| {
        for h in handles {
            w.u32(*h)?;
        }
        write_pw_area(w, auths)?;
        w.bytes(params)
    })
}

/// An authorization area: `authorizationSize` then one `TPMS_AUTH_COMMAND` per password.
pub fn write_pw_area(w: &mut Writer<'_>, auths: &[&[u8]]) -> Result<(), WriteError> {
    let size: usize = auths.iter().map(|a| 4 + 2 + 1 + 2 + a.len()).sum();
    w.u32(size as u32)?;
    for a in auths {
        w.u32(RS_PW)?; // sessionHandle
        w.sized(&[])?; // nonce
        w.u8(0)?; // sessionAttributes
        w.sized(a)?; // hmac = the password
    }
    Ok(())
}

fn params(f: impl FnOnce(&mut Writer<'_>) -> Result<(), WriteError>) -> Vec<u8> {
    let mut buf = vec![0u8; 16 * 1024];
    let n = {
        let mut w = Writer::new(&mut buf);
        f(&mut w).expect("parameters fit");
        w.len()
    };
    buf.truncate(n);
    buf
}

pub fn startup(su: Su) -> Vec<u8> {
    command(St::NoSessions, Cc::Startup, |w| w.write(&su))
}

pub fn shutdown(su: Su) -> Vec<u8> {
    command(St::NoSessions, Cc::Shutdown, |w| w.write(&su))
}

pub fn self_test(full: bool) -> Vec<u8> {
    command(St::NoSessions, Cc::SelfTest, |w| w.u8(full as u8))
}

pub fn incremental_self_test(algs: &[AlgId]) -> Vec<u8> {
    command(St::NoSessions, Cc::IncrementalSelfTest, |w| {
        w.u32(algs.len() as u32)?;
        algs.iter().try_for_each(|a| w.write(a))
    })
}

pub fn get_test_result() -> Vec<u8> {
    no_sessions(Cc::GetTestResult, &[])
}

pub fn get_capability(cap: Cap, property: u32, count: u32) -> Vec<u8> {
    command(St::NoSessions, Cc::GetCapability, |w| {
        w.write(&cap)?;
        w.u32(property)?;
        w.u32(count)
    })
}

pub fn get_random(n: u16) -> Vec<u8> {
    command(St::NoSessions, Cc::GetRandom, |w| w.u16(n))
}

pub fn stir_random(data: &[u8]) -> Vec<u8> {
    command(St::NoSessions, Cc::StirRandom, |w| w.sized(data))
}

/// A `TPML_PCR_SELECTION` with the given (hash, select bitmap) entries.
pub fn pcr_selection(sel: &[(AlgId, &[u8])]) -> Vec<u8> {
    params(|w| {
        w.u32(sel.len() as u32)?;
        for (alg, bits) in sel {
            w.write(alg)?;
            w.u8(bits.len() as u8)?;
            w.bytes(bits)?;
        }
        Ok(())
    })
}

/// A 3-octet select bitmap with the given PCRs set.
pub fn pcr_bits(pcrs: &[u32]) -> [u8; 3] {
    let mut b = [0u8; 3];
    for &p in pcrs {
        b[(p / 8) as usize] |= 1 << (p % 8);
    }
    b
}

pub fn pcr_read(sel: &[(AlgId, &[u8])]) -> Vec<u8> {
    no_sessions(Cc::PcrRead, &pcr_selection(sel))
}

/// `TPM2_PCR_Extend` with a `TPML_DIGEST_VALUES` of (hash, digest) entries.
pub fn pcr_extend(pcr: u32, digests: &[(AlgId, &[u8])]) -> Vec<u8> {
    let p = params(|w| {
        w.u32(digests.len() as u32)?;
        for (alg, d) in digests {
            w.write(alg)?;
            w.bytes(d)?;
        }
        Ok(())
    });
    with_pw(Cc::PcrExtend, &[pcr], &[b""], &p)
}

pub fn pcr_event(pcr: u32, data: &[u8]) -> Vec<u8> {
    with_pw(Cc::PcrEvent, &[pcr], &[b""], &params(|w| w.sized(data)))
}

pub fn pcr_reset(pcr: u32) -> Vec<u8> {
    with_pw(Cc::PcrReset, &[pcr], &[b""], &[])
}

/// `TPM2_PCR_Allocate` on the platform hierarchy (empty platform auth).
pub fn pcr_allocate(sel: &[(AlgId, &[u8])]) -> Vec<u8> {
    with_pw(Cc::PcrAllocate, &[RH_PLATFORM], &[b""], &pcr_selection(sel))
}

pub fn hash(data: &[u8], alg: AlgId, hierarchy: u32) -> Vec<u8> {
    command(St::NoSessions, Cc::Hash, |w| {
        w.sized(data)?;
        w.write(&alg)?;
        w.u32(hierarchy)
    })
}

pub fn hash_sequence_start(auth: &[u8], alg: AlgId) -> Vec<u8> {
    command(St::NoSessions, Cc::HashSequenceStart, |w| {
        w.sized(auth)?;
        w.write(&alg)
    })
}

pub fn sequence_update(seq: u32, auth: &[u8], data: &[u8]) -> Vec<u8> {
    with_pw(
        Cc::SequenceUpdate,
        &[seq],
        &[auth],
        &params(|w| w.sized(data)),
    )
}

pub fn sequence_complete(seq: u32, auth: &[u8], data: &[u8], hierarchy: u32) -> Vec<u8> {
    let p = params(|w| {
        w.sized(data)?;
        w.u32(hierarchy)
    });
    with_pw(Cc::SequenceComplete, &[seq], &[auth], &p)
}

pub fn event_sequence_complete(pcr: u32, seq: u32, auth: &[u8], data: &[u8]) -> Vec<u8> {
    let p = params(|w| w.sized(data));
    with_pw(Cc::EventSequenceComplete, &[pcr, seq], &[b"", auth], &p)
}

pub fn read_clock() -> Vec<u8> {
    no_sessions(Cc::ReadClock, &[])
}

/// `TPM2_TestParms` with a marshalled `TPMT_PUBLIC_PARMS`.
pub fn test_parms(public_parms: &[u8]) -> Vec<u8> {
    no_sessions(Cc::TestParms, public_parms)
}

/// `TPMT_PUBLIC_PARMS` for an RSA key of `bits` with no symmetric algorithm and no scheme.
pub fn parms_rsa(bits: u16) -> Vec<u8> {
    params(|w| {
        w.write(&AlgId::Rsa)?;
        w.write(&AlgId::Null)?; // symmetric
        w.write(&AlgId::Null)?; // scheme
        w.u16(bits)?;
        w.u32(0) // exponent: default
    })
}

/// `TPMT_PUBLIC_PARMS` for an ECC key on `curve` with no symmetric algorithm, scheme or KDF.
pub fn parms_ecc(curve: u16) -> Vec<u8> {
    params(|w| {
        w.write(&AlgId::Ecc)?;
        w.write(&AlgId::Null)?; // symmetric
        w.write(&AlgId::Null)?; // scheme
        w.u16(curve)?;
        w.write(&AlgId::Null) // kdf
    })
}

/// `TPMT_PUBLIC_PARMS` for a symmetric cipher object.
pub fn parms_symcipher(alg: AlgId, bits: u16, mode: AlgId) -> Vec<u8> {
    params(|w| {
        w.write(&AlgId::SymCipher)?;
        w.write(&alg)?;
        w.u16(bits)?;
        w.write(&mode)
    })
}

/// `TPMT_PUBLIC_PARMS` for a keyed-hash object with a null scheme.
pub fn parms_keyedhash() -> Vec<u8> {
    params(|w| {
        w.write(&AlgId::KeyedHash)?;
        w.write(&AlgId::Null)
    })
}

/// Reads a big-endian u16 at `at`.
pub fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

/// Reads a big-endian u32 at `at`.
pub fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Parses the `TPML_TAGGED_TPM_PROPERTY` of a `GetCapability(TPM_PROPERTIES)` response body into
/// (property, value) pairs.
pub fn parse_properties(body: &[u8]) -> Vec<(u32, u32)> {
    // moreData (1), capability (4), count (4), then pairs.
    let count = be32(body, 5) as usize;
    (0..count)
        .map(|i| (be32(body, 9 + 8 * i), be32(body, 13 + 8 * i)))
        .collect()
}

/// Parses a `TPML_DIGEST_VALUES` (as returned by PCR_Event and EventSequenceComplete) into
/// (hash, digest) pairs. Panics on a hash without a known digest size.
pub fn parse_digest_values(b: &[u8]) -> Vec<(AlgId, Vec<u8>)> {
    let count = be32(b, 0) as usize;
    let mut at = 4;
    let mut out = Vec::new();
    for _ in 0..count {
        let alg = AlgId(be16(b, at));
        let n = alg
            .digest_size()
            .unwrap_or_else(|| panic!("unknown hash {alg:?}"));
        out.push((alg, b[at + 2..at + 2 + n].to_vec()));
        at += 2 + n;
    }
    out
}

/// `TPM2_StartAuthSession(NULL, NULL, nonceCaller, "", sessionType, NULL, authHash)`: an
/// unbound, unsalted session of `kind` (`TPM_SE`: 0 HMAC, 1 policy, 3 trial).
pub fn start_auth_session(kind: u8, hash: AlgId) -> Vec<u8> {
    command(St::NoSessions, Cc::StartAuthSession, |w| {
        w.u32(RH_NULL)?;
        w.u32(RH_NULL)?;
        w.sized(&[0x5A; 16])?;
        w.sized(&[])?;
        w.u8(kind)?;
        w.write(&AlgId::Null)?;
        w.write(&hash)
    })
}

/// A command authorized by `session` (a policy or HMAC session without a session key, so the
/// HMAC is empty), `continueSession` set, for the handles needing authorization, then `params`.
pub fn with_session(cc: Cc, handles: &[u32], session: u32, params: &[u8]) -> Vec<u8> {
    command(St::Sessions, cc, |w| {
        for h in handles {
            w.u32(*h)?;
        }
        w.u32(4 + 2 + 1 + 2)?;
        w.u32(session)?;
        w.sized(&[])?;
        w.u8(1)?;
        w.sized(&[])?;
        w.bytes(params)
    })
}

/// A policy command on `session` without an authorization area: `cc(session; params)`.
pub fn policy(cc: Cc, session: u32, params: &[u8]) -> Vec<u8> {
    command(St::NoSessions, cc, |w| {
        w.u32(session)?;
        w.bytes(params)
    })
}
