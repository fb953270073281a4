//! The benchmark's command mix, marshalled by hand with tpm-proto's [`Writer`].

use super::Mix;
use tpm_proto::{AlgId, Cap, Cc, Handle, Pt, St, WriteError, Writer, HEADER_SIZE};

/// One command of the mix.
#[derive(Debug, Clone)]
pub struct BenchCommand {
    pub name: &'static str,
    pub bytes: Vec<u8>,
    /// Byte offset of a handle field that is filled in, before the command is sent, with the
    /// handle most recently returned by a [`BenchCommand::returns_handle`] command (sequence and
    /// session handles are the TPM's choice).
    pub handle_at: Option<usize>,
    /// The response carries a handle (at offset 10) that later commands use.
    pub returns_handle: bool,
}

/// Marshals a command: header (tag, size patched in afterwards, code), then `body`.
pub fn build(
    tag: St,
    cc: Cc,
    body: impl FnOnce(&mut Writer<'_>) -> Result<(), WriteError>,
) -> Vec<u8> {
    let mut buf = vec![0u8; tpm_proto::MAX_COMMAND_SIZE];
    let len = {
        let mut w = Writer::new(&mut buf);
        let marshal = |w: &mut Writer<'_>| -> Result<(), WriteError> {
            w.write(&tag)?;
            let size_at = w.reserve(4)?;
            w.write(&cc)?;
            body(w)?;
            let size = w.len() as u32;
            w.patch(size_at, &size.to_be_bytes())
        };
        // The mix is fixed and far below MAX_COMMAND_SIZE; failure is a programming error.
        marshal(&mut w).expect("benchmark command fits the command buffer");
        w.len()
    };
    debug_assert!(len >= HEADER_SIZE);
    buf.truncate(len);
    buf
}

/// `TPM2_Startup(TPM_SU_CLEAR)`.
pub fn startup_clear() -> Vec<u8> {
    build(St::NoSessions, Cc::Startup, |w| w.u16(0))
}

/// The PCR the mix extends, resets and reads (16: the debug PCR, resettable at every locality,
/// used by no measured boot).
const PCR: u32 = 16;

/// Where a handle to be filled in goes: right after the 10-byte header (first handle) or
/// after the first handle (second handle).
const HANDLE_1: usize = HEADER_SIZE;
const HANDLE_2: usize = HEADER_SIZE + 4;

/// An authorization area of `n` password sessions (`TPM_RS_PW`, empty nonce,
/// continueSession, empty password), as tpm2-tools sends them for empty authValues.
pub(super) fn password_sessions(w: &mut Writer<'_>, n: u32) -> Result<(), WriteError> {
    w.u32(n * (4 + 2 + 1 + 2))?;
    for _ in 0..n {
        w.write(&Handle::Pw)?;
        w.sized(&[])?;
        w.u8(0x01)?;
        w.sized(&[])?;
    }
    Ok(())
}

/// The command mix: every command of the fast-path set, each with the parameters a typical
/// client sends. Commands that need a handle the TPM returns (sequences, sessions) follow the
/// command that creates it; each round leaves the TPM as it found it (sequences completed,
/// session flushed, PCR 16 reset).
pub fn mix() -> Vec<BenchCommand> {
    let cmd = |name, bytes| BenchCommand {
        name,
        bytes,
        handle_at: None,
        returns_handle: false,
    };
    let creates = |name, bytes| BenchCommand {
        name,
        bytes,
        handle_at: None,
        returns_handle: true,
    };
    let uses = |name, at, bytes| BenchCommand {
        name,
        bytes,
        handle_at: Some(at),
        returns_handle: false,
    };
    // Placeholder for a handle filled in at run time.
    let returned = Handle::TransientFirst;
    vec![
        cmd(
            "GetRandom",
            build(St::NoSessions, Cc::GetRandom, |w| w.u16(32)),
        ),
        cmd(
            "StirRandom",
            build(St::NoSessions, Cc::StirRandom, |w| w.sized(&[0x3C; 32])),
        ),
        cmd(
            "PCR_Extend",
            build(St::Sessions, Cc::PcrExtend, |w| {
                w.u32(PCR)?;
                password_sessions(w, 1)?;
                // TPML_DIGEST_VALUES with one SHA-256 digest.
                w.u32(1)?;
                w.write(&AlgId::Sha256)?;
                w.bytes(&[0xA5; 32])
            }),
        ),
        cmd(
            "PCR_Event",
            build(St::Sessions, Cc::PcrEvent, |w| {
                w.u32(PCR)?;
                password_sessions(w, 1)?;
                w.sized(&[0xE7; 32])
            }),
        ),
        cmd(
            "PCR_Read",
            build(St::NoSessions, Cc::PcrRead, |w| {
                // TPML_PCR_SELECTION: SHA-256, 3-byte select with only PCR 16 set.
                w.u32(1)?;
                w.write(&AlgId::Sha256)?;
                w.u8(3)?;
                w.bytes(&[0x00, 0x00, 0x01])
            }),
        ),
        cmd(
            "PCR_Reset",
            build(St::Sessions, Cc::PcrReset, |w| {
                w.u32(PCR)?;
                password_sessions(w, 1)
            }),
        ),
        cmd(
            "GetCapability",
            build(St::NoSessions, Cc::GetCapability, |w| {
                w.write(&Cap::TpmProperties)?;
                w.write(&Pt::FamilyIndicator)?;
                // MAX_CAP_TPM_PROPERTIES for a 1024-byte MAX_CAP_DATA: all fixed properties.
                w.u32(127)
            }),
        ),
        cmd(
            "Hash",
            build(St::NoSessions, Cc::Hash, |w| {
                w.sized(&[0x5A; 64])?;
                w.write(&AlgId::Sha256)?;
                w.write(&Handle::Null)
            }),
        ),
        creates(
            "HashSeqStart",
            build(St::NoSessions, Cc::HashSequenceStart, |w| {
                w.sized(&[])?;
                w.write(&AlgId::Sha256)
            }),
        ),
        uses(
            "SequenceUpdate",
            HANDLE_1,
            build(St::Sessions, Cc::SequenceUpdate, |w| {
                w.write(&returned)?;
                password_sessions(w, 1)?;
                w.sized(&[0x5A; 64])
            }),
        ),
        uses(
            "SequenceComplete",
            HANDLE_1,
            build(St::Sessions, Cc::SequenceComplete, |w| {
                w.write(&returned)?;
                password_sessions(w, 1)?;
                w.sized(&[0x5A; 16])?;
                w.write(&Handle::Null)
            }),
        ),
        creates(
            "EventSeqStart",
            build(St::NoSessions, Cc::HashSequenceStart, |w| {
                w.sized(&[])?;
                w.write(&AlgId::Null)
            }),
        ),
        uses(
            "EventSeqComplete",
            HANDLE_2,
            build(St::Sessions, Cc::EventSequenceComplete, |w| {
                w.u32(PCR)?;
                w.write(&returned)?;
                password_sessions(w, 2)?;
                w.sized(&[0x5A; 64])
            }),
        ),
        cmd(
            "ReadClock",
            build(St::NoSessions, Cc::ReadClock, |_| Ok(())),
        ),
        cmd(
            "TestParms",
            build(St::NoSessions, Cc::TestParms, |w| {
                // TPMT_PUBLIC_PARMS for RSA-2048, no symmetric, no scheme, default exponent (what
                // `tpm2_testparms rsa2048` sends).
                w.write(&AlgId::Rsa)?;
                w.write(&AlgId::Null)?;
                w.write(&AlgId::Null)?;
                w.u16(2048)?;
                w.u32(0)
            }),
        ),
        cmd(
            "SelfTest",
            // fullTest = NO: test what has not been tested (nothing, after the first round).
            build(St::NoSessions, Cc::SelfTest, |w| w.u8(0)),
        ),
        cmd(
            "GetTestResult",
            build(St::NoSessions, Cc::GetTestResult, |_| Ok(())),
        ),
        creates(
            "StartAuthSess",
            build(St::NoSessions, Cc::StartAuthSession, |w| {
                // Unbound, unsalted SHA-256 HMAC session, no parameter encryption.
                w.write(&Handle::Null)?;
                w.write(&Handle::Null)?;
                w.sized(&[0x11; 32])?;
                w.sized(&[])?;
                w.u8(0x00)?; // TPM_SE_HMAC
                w.write(&AlgId::Null)?;
                w.write(&AlgId::Sha256)
            }),
        ),
        uses(
            "FlushContext",
            HANDLE_1,
            build(St::NoSessions, Cc::FlushContext, |w| w.write(&returned)),
        ),
    ]
}

/// [`mix`] as a [`Mix`]: fixed bytes, with the handle the last handle-creating command
/// returned filled in where a later command uses it.
#[derive(Debug)]
pub struct FastMix {
    mix: Vec<BenchCommand>,
    /// The mix's bytes, with returned handles filled in.
    bytes: Vec<Vec<u8>>,
    /// The handle the last handle-creating command returned (the placeholder until then; a
    /// transport floor that answers with a bare header returns none).
    handle: [u8; 4],
}

impl FastMix {
    pub fn new() -> FastMix {
        let mix = mix();
        FastMix {
            bytes: mix.iter().map(|c| c.bytes.clone()).collect(),
            mix,
            handle: [0x80, 0, 0, 0],
        }
    }
}

impl Default for FastMix {
    fn default() -> FastMix {
        FastMix::new()
    }
}

impl Mix for FastMix {
    fn names(&self) -> Vec<&'static str> {
        self.mix.iter().map(|c| c.name).collect()
    }

    fn command(&mut self, i: usize) -> &[u8] {
        let cmd = &mut self.bytes[i];
        if let Some(at) = self.mix[i].handle_at {
            cmd[at..at + 4].copy_from_slice(&self.handle);
        }
        cmd
    }

    fn response(&mut self, i: usize, rsp: &[u8]) {
        if self.mix[i].returns_handle {
            if let Some(h) = rsp.get(HEADER_SIZE..HEADER_SIZE + 4) {
                self.handle.copy_from_slice(h);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn startup_matches_the_reference_bytes() {
        assert_eq!(startup_clear(), crate::wire::STARTUP_CLEAR);
    }

    #[test]
    fn mix_commands_carry_their_own_size() {
        for c in mix() {
            assert_eq!(
                crate::wire::header_size(&c.bytes),
                Some(c.bytes.len() as u32),
                "{}",
                c.name
            );
        }
    }

    #[test]
    fn handle_placeholders_are_where_they_are_filled_in() {
        let m = mix();
        let mut returned = false;
        for c in &m {
            if let Some(at) = c.handle_at {
                assert!(
                    returned,
                    "{} follows a command that returns a handle",
                    c.name
                );
                assert_eq!(c.bytes[at..at + 4], [0x80, 0, 0, 0], "{}", c.name);
            }
            returned |= c.returns_handle;
        }
        for name in ["HashSeqStart", "EventSeqStart", "StartAuthSess"] {
            assert!(
                m.iter().any(|c| c.name == name && c.returns_handle),
                "{name}"
            );
        }
    }

    #[test]
    fn pcr_extend_is_marshalled_as_tpm2_tools_sends_it() {
        let m = mix();
        let ext = &m.iter().find(|c| c.name == "PCR_Extend").unwrap().bytes;
        let mut want = vec![
            0x80, 0x02, 0, 0, 0, 65, 0, 0, 0x01, 0x82, 0, 0, 0, 16, 0, 0, 0, 9,
        ];
        want.extend_from_slice(&[0x40, 0, 0, 0x09, 0, 0, 0x01, 0, 0, 0, 0, 0, 1, 0, 0x0B]);
        want.extend_from_slice(&[0xA5; 32]);
        assert_eq!(ext, &want);
    }
}
