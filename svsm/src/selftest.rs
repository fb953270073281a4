//! The boot self-test: `TPM2_Startup(TPM_SU_CLEAR)` and `TPM2_GetRandom` through
//! [`vtpm::Tpm::execute`], the same entry point the SVSM vTPM protocol will use.

use alloc::vec;
use core::fmt;
use tpm_proto::{Cc, Rc, St, Su, HEADER_SIZE};
use vtpm::{Platform, Tpm, MAX_RESPONSE_SIZE};

/// Bytes requested from `TPM2_GetRandom`.
pub const RANDOM_BYTES: u16 = 16;

/// `TPM2_Startup` (Part 3, 9.3): `TPM_ST_NO_SESSIONS`, size 12, `TPM_CC_Startup`, `startupType`.
pub fn startup_command(su: Su) -> [u8; 12] {
    command(Cc::Startup, su.0)
}

/// `TPM2_GetRandom` (Part 3, 16.1): `TPM_ST_NO_SESSIONS`, size 12, `TPM_CC_GetRandom`,
/// `bytesRequested`.
pub fn get_random_command(bytes: u16) -> [u8; 12] {
    command(Cc::GetRandom, bytes)
}

fn command(cc: Cc, param: u16) -> [u8; 12] {
    let mut c = [0u8; 12];
    c[0..2].copy_from_slice(&St::NoSessions.0.to_be_bytes());
    c[2..6].copy_from_slice(&12u32.to_be_bytes());
    c[6..10].copy_from_slice(&cc.0.to_be_bytes());
    c[10..12].copy_from_slice(&param.to_be_bytes());
    c
}

/// A response whose header is consistent: at least 10 bytes, `responseSize` equal to the length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Response<'a> {
    /// `TPM_ST_NO_SESSIONS` or `TPM_ST_SESSIONS`.
    pub tag: St,
    /// The response code.
    pub rc: Rc,
    /// What follows the header.
    pub body: &'a [u8],
}

/// Splits a response into header and body; `None` if the header is malformed.
pub fn parse_response(rsp: &[u8]) -> Option<Response<'_>> {
    let header = rsp.get(..HEADER_SIZE)?;
    let tag = St(u16::from_be_bytes([header[0], header[1]]));
    let size = u32::from_be_bytes([header[2], header[3], header[4], header[5]]);
    let rc = Rc(u32::from_be_bytes([
        header[6], header[7], header[8], header[9],
    ]));
    let well_formed = usize::try_from(size).ok() == Some(rsp.len())
        && (tag == St::NoSessions || tag == St::Sessions);
    well_formed.then_some(Response {
        tag,
        rc,
        body: &rsp[HEADER_SIZE..],
    })
}

/// What the self-test saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    /// `TPM2_Startup`'s response code; `None` if the response was malformed.
    pub startup: Option<Rc>,
    /// `TPM2_GetRandom`'s response code; `None` if the response was malformed.
    pub get_random: Option<Rc>,
    /// Length of `randomBytes` when `TPM2_GetRandom` succeeded.
    pub random_len: Option<usize>,
}

impl Report {
    /// Both responses were well formed (the engine kept its contract; the codes are logged).
    pub fn responses_well_formed(&self) -> bool {
        self.startup.is_some() && self.get_random.is_some()
    }
}

/// `TPM2_Startup(CLEAR): rc=Success(0x0); TPM2_GetRandom(16): rc=..., 16 bytes`.
impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn rc(f: &mut fmt::Formatter<'_>, rc: Option<Rc>) -> fmt::Result {
            match rc {
                Some(rc) => write!(f, "rc={rc:?}"),
                None => f.write_str("malformed response"),
            }
        }
        f.write_str("TPM2_Startup(CLEAR): ")?;
        rc(f, self.startup)?;
        write!(f, "; TPM2_GetRandom({RANDOM_BYTES}): ")?;
        rc(f, self.get_random)?;
        match self.random_len {
            Some(n) => write!(f, ", {n} bytes"),
            None => Ok(()),
        }
    }
}

/// Runs the self-test on a freshly manufactured TPM.
pub fn run<P: Platform>(tpm: &mut Tpm<P>) -> Report {
    let mut rsp = vec![0u8; MAX_RESPONSE_SIZE];

    let n = tpm.execute(0, &startup_command(Su::Clear), &mut rsp);
    let startup = parse_response(&rsp[..n]).map(|r| r.rc);

    let n = tpm.execute(0, &get_random_command(RANDOM_BYTES), &mut rsp);
    let get_random = parse_response(&rsp[..n]);
    let random_len = get_random.filter(|r| r.rc == Rc::Success).and_then(|r| {
        // TPM2B_DIGEST randomBytes: u16 size, then the bytes.
        let size = usize::from(u16::from_be_bytes([*r.body.first()?, *r.body.get(1)?]));
        (r.body.len() == 2 + size).then_some(size)
    });

    Report {
        startup,
        get_random: get_random.map(|r| r.rc),
        random_len,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vtpm::{Config, PlatformError};

    #[derive(Debug)]
    struct Counter(u8);

    impl Platform for Counter {
        fn entropy(&mut self, buf: &mut [u8]) -> Result<(), PlatformError> {
            for b in buf {
                self.0 = self.0.wrapping_add(1);
                *b = self.0;
            }
            Ok(())
        }
        fn monotonic_ms(&self) -> u64 {
            0
        }
    }

    #[test]
    fn startup_clear_bytes_match_part3() {
        assert_eq!(
            startup_command(Su::Clear),
            [0x80, 0x01, 0, 0, 0, 12, 0, 0, 0x01, 0x44, 0, 0]
        );
    }

    #[test]
    fn get_random_bytes_match_part3() {
        assert_eq!(
            get_random_command(16),
            [0x80, 0x01, 0, 0, 0, 12, 0, 0, 0x01, 0x7b, 0, 16]
        );
    }

    #[test]
    fn parse_response_reads_header_and_body() {
        let rsp = [0x80, 0x01, 0, 0, 0, 14, 0, 0, 0, 0, 0, 2, 0xaa, 0xbb];
        let r = parse_response(&rsp).expect("well formed");
        assert_eq!(
            (r.tag, r.rc, r.body),
            (St::NoSessions, Rc::Success, &rsp[10..])
        );
    }

    #[test]
    fn parse_response_rejects_short_and_inconsistent_headers() {
        assert_eq!(parse_response(&[0x80, 0x01, 0, 0, 0, 10, 0, 0, 0]), None);
        assert_eq!(parse_response(&[0x80, 0x01, 0, 0, 0, 11, 0, 0, 0, 0]), None);
        assert_eq!(parse_response(&[0x00, 0xc4, 0, 0, 0, 10, 0, 0, 0, 0]), None);
    }

    #[test]
    fn report_display_names_codes_and_flags_malformed_responses() {
        let report = Report {
            startup: Some(Rc::Success),
            get_random: None,
            random_len: None,
        };
        assert_eq!(
            std::format!("{report}"),
            "TPM2_Startup(CLEAR): rc=Success(0x0); TPM2_GetRandom(16): malformed response"
        );
        let report = Report {
            startup: Some(Rc::Success),
            get_random: Some(Rc::Success),
            random_len: Some(16),
        };
        assert!(std::format!("{report}").ends_with("GetRandom(16): rc=Success(0x0), 16 bytes"));
    }

    #[test]
    fn self_test_gets_well_formed_responses_from_the_engine() {
        let mut tpm = Tpm::manufacture(Config::default(), Counter(0)).expect("manufacture");
        let report = run(&mut tpm);
        assert!(report.responses_well_formed(), "{report:?}");
        if report.get_random == Some(Rc::Success) {
            assert_eq!(report.random_len, Some(usize::from(RANDOM_BYTES)));
        }
    }
}
