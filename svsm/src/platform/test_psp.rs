//! The qemu-test platform's software PSP. QEMU without SEV-SNP has no AMD secure processor, so
//! reports are made here, in the firmware, and signed with the **published test VCEK**
//! ([`evidence::test_root`]): the whole path — report, EK certificate, `evtpm verify` — runs
//! in CI, and a verifier without `--allow-test-root` rejects every such report. The report
//! says VMPL 0 and carries the qemu-test MEASUREMENT, which means "nothing was measured".

use crate::service::{ReportSource, ServiceError};
use alloc::vec::Vec;

/// Signs reports with the test key; REPORT_ID is fixed per boot, as the PSP's is per guest.
#[derive(Debug, Clone)]
pub struct TestPsp {
    report_id: [u8; 32],
}

impl TestPsp {
    /// `report_id`: random per boot.
    pub fn new(report_id: [u8; 32]) -> TestPsp {
        TestPsp { report_id }
    }
}

impl ReportSource for TestPsp {
    fn report(&mut self, report_data: &[u8; 64]) -> Result<Vec<u8>, ServiceError> {
        evidence::test_root::qemu_test_report(report_data, 0, &self.report_id)
            .map(|r| r.to_vec())
            .ok_or(ServiceError::Report("the test VCEK key is invalid"))
    }
}
