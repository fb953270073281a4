//! Attestation reports from the PSP: the [`ReportSource`] of the SNP platform.
//!
//! The caller binds its data into REPORT_DATA (SHA-512 of nonce and manifest, see
//! [`crate::protocol::attest`]); this asks for a report at VMPL0, the SVSM's own, with that
//! REPORT_DATA and the default key selection (the VLEK if the host installed one, else the
//! VCEK), and hands back the 1184-byte `ATTESTATION_REPORT` once `MSG_REPORT_RSP` says success
//! and its sizes are right. Any failure, including a verified response that is wrong in any of
//! these ways, wipes VMPCK0 (see [`super`]).

use super::msg::{
    MsgType, ReportReq, REPORT_REQ_VERSION, REPORT_RSP_REPORT, REPORT_RSP_SIZE, REPORT_SIZE,
};
use super::{GuestRequestError, GuestRequester, Transport};
use crate::service::{ReportSource, ServiceError};
use alloc::vec::Vec;
use evidence::report::offset;

/// The VMPL reports are requested for: the SVSM's.
pub const REPORT_VMPL: u32 = 0;
/// KEY_SEL 0: the VLEK if installed, else the VCEK.
pub const KEY_SEL_DEFAULT: u32 = 0;

/// Reports through SNP guest requests over `T`.
pub struct SnpReports<T: Transport> {
    requester: GuestRequester,
    transport: T,
    last_error: Option<GuestRequestError>,
}

impl<T: Transport> core::fmt::Debug for SnpReports<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SnpReports")
            .field("requester", &self.requester)
            .field("last_error", &self.last_error)
            .finish_non_exhaustive()
    }
}

impl<T: Transport> SnpReports<T> {
    /// Reports through `requester` (which owns VMPCK0) over `transport`.
    pub fn new(requester: GuestRequester, transport: T) -> SnpReports<T> {
        SnpReports {
            requester,
            transport,
            last_error: None,
        }
    }

    /// The channel, for inspection.
    pub fn requester(&self) -> &GuestRequester {
        &self.requester
    }

    /// The transport, for inspection.
    pub fn transport(&self) -> &T {
        &self.transport
    }

    /// Why the last report failed, if one did.
    pub fn last_error(&self) -> Option<GuestRequestError> {
        self.last_error
    }

    fn request(&mut self, report_data: &[u8; 64]) -> Result<Vec<u8>, GuestRequestError> {
        let req = ReportReq {
            report_data: *report_data,
            vmpl: REPORT_VMPL,
            key_sel: KEY_SEL_DEFAULT,
            reserved: [0; 24],
        };
        let mut rsp = alloc::vec![0u8; REPORT_RSP_SIZE];
        let r = self.requester.request(
            &mut self.transport,
            MsgType::ReportReq,
            REPORT_REQ_VERSION,
            &req.to_bytes(),
            &mut rsp,
            None,
        )?;
        let u32_at =
            |at: usize| u32::from_le_bytes([rsp[at], rsp[at + 1], rsp[at + 2], rsp[at + 3]]);
        let status = u32_at(0);
        let report_size = u32_at(4);
        let problem = if r.len < 8 {
            Some("MSG_REPORT_RSP shorter than its header")
        } else if status != 0 {
            Some("MSG_REPORT_RSP status is not success")
        } else if report_size as usize != REPORT_SIZE || r.len != REPORT_RSP_SIZE {
            Some("MSG_REPORT_RSP of the wrong size")
        } else {
            None
        };
        if let Some(p) = problem {
            self.requester.wipe();
            return Err(GuestRequestError::Payload(p));
        }
        let report = rsp.split_off(REPORT_RSP_REPORT);
        let vmpl = u32::from_le_bytes([
            report[offset::VMPL],
            report[offset::VMPL + 1],
            report[offset::VMPL + 2],
            report[offset::VMPL + 3],
        ]);
        if vmpl != REPORT_VMPL
            || report[offset::REPORT_DATA..offset::MEASUREMENT] != report_data[..]
        {
            self.requester.wipe();
            return Err(GuestRequestError::Payload(
                "the report is not for this VMPL and REPORT_DATA",
            ));
        }
        Ok(report)
    }
}

impl<T: Transport> ReportSource for SnpReports<T> {
    fn report(&mut self, report_data: &[u8; 64]) -> Result<Vec<u8>, ServiceError> {
        self.request(report_data).map_err(|e| {
            let wiped = self.requester.is_wiped();
            log::error!("SNP report request failed ({e:?}); VMPCK0 wiped: {wiped}");
            self.last_error = Some(e);
            ServiceError::Report(match (e, wiped) {
                (GuestRequestError::KeyWiped, _) => "VMPCK0 was wiped by an earlier failure",
                (_, true) => "the SNP guest request failed; VMPCK0 is wiped",
                (_, false) => "the SNP guest request was refused before it was sent",
            })
        })
    }
}
