//! The benchmark's command mix, marshalled by hand with tpm-proto's [`Writer`].

use tpm_proto::{AlgId, Cap, Cc, Handle, Pt, St, WriteError, Writer, HEADER_SIZE};

/// One command of the mix.
#[derive(Debug, Clone)]
pub struct BenchCommand {
    pub name: &'static str,
    pub bytes: Vec<u8>,
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

/// The PCR the mix extends and reads (16: the debug PCR, resettable, used by no measured boot).
const PCR: u32 = 16;

/// GetRandom 32; PCR_Extend of PCR 16 with one SHA-256 digest under a password session;
/// PCR_Read of that PCR; GetCapability of the fixed TPM properties; Hash of 64 bytes with
/// SHA-256; ReadClock.
pub fn mix() -> Vec<BenchCommand> {
    let cmd = |name, bytes| BenchCommand { name, bytes };
    vec![
        cmd(
            "GetRandom",
            build(St::NoSessions, Cc::GetRandom, |w| w.u16(32)),
        ),
        cmd(
            "PCR_Extend",
            build(St::Sessions, Cc::PcrExtend, |w| {
                w.u32(PCR)?;
                // Authorization area: one TPMS_AUTH_COMMAND for TPM_RS_PW, empty nonce,
                // continueSession, empty password.
                w.u32(4 + 2 + 1 + 2)?;
                w.write(&Handle::Pw)?;
                w.sized(&[])?;
                w.u8(0x01)?;
                w.sized(&[])?;
                // TPML_DIGEST_VALUES with one SHA-256 digest.
                w.u32(1)?;
                w.write(&AlgId::Sha256)?;
                w.bytes(&[0xA5; 32])
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
        cmd(
            "ReadClock",
            build(St::NoSessions, Cc::ReadClock, |_| Ok(())),
        ),
    ]
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
