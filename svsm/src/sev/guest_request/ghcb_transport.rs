//! The [`Transport`] of SNP hardware: the GHCB spec's "SNP Guest Request" (SW_EXITCODE
//! 0x8000_0011) and "SNP Extended Guest Request" (0x8000_0012) NAE events.
//!
//! * SW_EXITINFO1 = GPA of the request page, SW_EXITINFO2 = GPA of the response page, both
//!   shared (hypervisor-owned) pages;
//! * extended: RAX = GPA of the certificate pages (contiguous, shared), RBX = their number;
//! * after the exit: `SW_EXITINFO1[31:0]` = 0, SW_EXITINFO2 = the hypervisor's error (63:32) and
//!   the PSP's (31:0); for INVALID_LEN, RBX = the pages needed.
//!
//! What touches the machine — copying to and from the shared pages, and the GHCB exit itself
//! (write the GHCB page, point the GHCB MSR at it, VMGEXIT, read it back) — is
//! [`SharedMemory`]. Everything else is here and runs on the host.

use super::{exit_info2, ExitStatus, Transport, TransportError};
use crate::sev::ghcb::{exit_code, Field, Ghcb};
use crate::sev::guest_request::msg::MSG_PAGE_SIZE;
use alloc::boxed::Box;

/// The machine under the GHCB transport.
pub trait SharedMemory {
    /// Copies `bytes` into the shared memory at `gpa`.
    fn write(&mut self, gpa: u64, bytes: &[u8]) -> Result<(), TransportError>;
    /// Copies the shared memory at `gpa` into `bytes`.
    fn read(&mut self, gpa: u64, bytes: &mut [u8]) -> Result<(), TransportError>;
    /// Makes `ghcb` this vCPU's GHCB, exits to the hypervisor (VMGEXIT), and copies the GHCB
    /// page back into `ghcb`.
    fn exit(&mut self, ghcb: &mut Ghcb) -> Result<(), TransportError>;
}

/// Where the shared pages are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SharedPages {
    /// GPA of the request page.
    pub request: u64,
    /// GPA of the response page.
    pub response: u64,
    /// GPA of the first certificate page.
    pub certs: u64,
    /// Number of contiguous certificate pages (0: no extended requests).
    pub cert_pages: u64,
}

/// Guest requests through the GHCB.
#[derive(Debug)]
pub struct GhcbTransport<M: SharedMemory> {
    mem: M,
    pages: SharedPages,
    ghcb: Box<Ghcb>,
}

impl<M: SharedMemory> GhcbTransport<M> {
    /// A transport over `mem`, with its shared pages at `pages`. The pages must be 4 KiB
    /// aligned and the certificate pages must not run past the end of the address space:
    /// `None` otherwise.
    pub fn new(mem: M, pages: SharedPages) -> Option<GhcbTransport<M>> {
        let aligned = |gpa: u64| gpa & (MSG_PAGE_SIZE as u64 - 1) == 0;
        let certs_end = pages
            .cert_pages
            .checked_mul(MSG_PAGE_SIZE as u64)
            .and_then(|len| pages.certs.checked_add(len));
        let ok = aligned(pages.request)
            && aligned(pages.response)
            && aligned(pages.certs)
            && certs_end.is_some();
        ok.then(|| GhcbTransport {
            mem,
            pages,
            ghcb: Box::default(),
        })
    }

    /// The machine, for inspection.
    pub fn memory(&self) -> &M {
        &self.mem
    }
}

impl<M: SharedMemory> Transport for GhcbTransport<M> {
    fn exchange(
        &mut self,
        request: &[u8; MSG_PAGE_SIZE],
        response: &mut [u8; MSG_PAGE_SIZE],
        certs: Option<&mut [u8]>,
    ) -> Result<ExitStatus, TransportError> {
        let p = self.pages;
        self.mem.write(p.request, request)?;
        self.mem.write(p.response, &[0; MSG_PAGE_SIZE])?;
        let extended = match certs.as_deref() {
            None => None,
            Some(c) => {
                let pages = (c.len() / MSG_PAGE_SIZE) as u64;
                if pages == 0 || pages > p.cert_pages {
                    return Err(TransportError("more certificate pages than are shared"));
                }
                // Stale certificates from an earlier request must not pass for new ones.
                for i in 0..pages {
                    self.mem
                        .write(p.certs + i * MSG_PAGE_SIZE as u64, &[0; MSG_PAGE_SIZE])?;
                }
                Some(pages)
            }
        };
        let g = &mut *self.ghcb;
        match extended {
            None => g.prepare(exit_code::SNP_GUEST_REQUEST, p.request, p.response),
            Some(pages) => {
                g.prepare(exit_code::SNP_EXT_GUEST_REQUEST, p.request, p.response);
                g.set(Field::Rax, p.certs);
                g.set(Field::Rbx, pages);
            }
        }
        self.mem.exit(g)?;
        g.exit_result()
            .map_err(|_| TransportError("the hypervisor refused the GHCB event"))?;
        let info2 = g
            .get(Field::SwExitInfo2)
            .ok_or(TransportError("SW_EXITINFO2 not valid after the exit"))?;
        let rbx = match (extended, info2) {
            (Some(_), exit_info2::INVALID_LEN) => g
                .get(Field::Rbx)
                .ok_or(TransportError("RBX not valid after INVALID_LEN"))?,
            _ => 0,
        };
        self.mem.read(p.response, response)?;
        if let (Some(c), 0) = (certs, info2) {
            self.mem.read(p.certs, c)?;
        }
        Ok(ExitStatus {
            exit_info2: info2,
            rbx,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::msg::MsgType;
    use super::super::report::SnpReports;
    use super::super::tests::{Act, FakePsp, KEY};
    use super::super::{Certificates, GuestRequester};
    use super::*;
    use crate::service::ReportSource;
    use crate::sev::secrets::Vmpck;
    use std::collections::BTreeMap;
    use std::vec::Vec;

    const PAGES: SharedPages = SharedPages {
        request: 0x10_0000,
        response: 0x10_1000,
        certs: 0x10_2000,
        cert_pages: 4,
    };

    /// Shared pages in a map, a hypervisor that runs the fake PSP, and a log of the GHCBs it got.
    #[derive(Debug)]
    struct FakeHypervisor {
        pages: BTreeMap<u64, Vec<u8>>,
        psp: FakePsp,
        ghcbs: Vec<Ghcb>,
        /// Marks SW_EXITINFO1 = 2 (bad input) instead of doing anything.
        refuse: bool,
    }

    impl FakeHypervisor {
        fn new(script: &[Act]) -> FakeHypervisor {
            FakeHypervisor {
                pages: BTreeMap::new(),
                psp: FakePsp::new(script),
                ghcbs: Vec::new(),
                refuse: false,
            }
        }

        fn page(&mut self, gpa: u64) -> &mut Vec<u8> {
            self.pages
                .entry(gpa & !0xfff)
                .or_insert_with(|| std::vec![0xee; MSG_PAGE_SIZE])
        }
    }

    impl SharedMemory for FakeHypervisor {
        fn write(&mut self, gpa: u64, bytes: &[u8]) -> Result<(), TransportError> {
            assert_eq!(bytes.len(), MSG_PAGE_SIZE);
            self.page(gpa).copy_from_slice(bytes);
            Ok(())
        }

        fn read(&mut self, gpa: u64, bytes: &mut [u8]) -> Result<(), TransportError> {
            for (i, chunk) in bytes.chunks_mut(MSG_PAGE_SIZE).enumerate() {
                let page = self.page(gpa + (i * MSG_PAGE_SIZE) as u64);
                chunk.copy_from_slice(&page[..chunk.len()]);
            }
            Ok(())
        }

        fn exit(&mut self, ghcb: &mut Ghcb) -> Result<(), TransportError> {
            self.ghcbs.push(ghcb.clone());
            let code = ghcb.get(Field::SwExitCode).unwrap();
            let req = ghcb.get(Field::SwExitInfo1).unwrap();
            let rsp = ghcb.get(Field::SwExitInfo2).unwrap();
            if self.refuse {
                ghcb.set(Field::SwExitInfo1, 2);
                ghcb.set(Field::SwExitInfo2, 5);
                return Ok(());
            }
            let extended = code == exit_code::SNP_EXT_GUEST_REQUEST;
            let act = self.psp.next_act();
            let request: [u8; MSG_PAGE_SIZE] = self.page(req).as_slice().try_into().unwrap();
            self.psp.exchanges.push((request.to_vec(), extended));
            let mut status = 0;
            match (act, FakePsp::hypervisor(act)) {
                (Act::InvalidLen(n), _) if extended => {
                    status = exit_info2::INVALID_LEN;
                    ghcb.set(Field::Rbx, n);
                }
                (_, Some(Ok(s))) => status = s.exit_info2,
                (_, Some(Err(_))) => unreachable!("not scripted here"),
                (_, None) => match self.psp.process(&request, act) {
                    Ok(page) => {
                        self.page(rsp).copy_from_slice(&page);
                        if extended {
                            let certs = ghcb.get(Field::Rax).unwrap();
                            let n = ghcb.get(Field::Rbx).unwrap();
                            for i in 0..n {
                                self.page(certs + i * 0x1000).fill(0xce);
                            }
                        }
                    }
                    Err(code) => status = code.into(),
                },
            }
            ghcb.set(Field::SwExitInfo1, 0);
            ghcb.set(Field::SwExitInfo2, status);
            Ok(())
        }
    }

    fn reports(script: &[Act]) -> SnpReports<GhcbTransport<FakeHypervisor>> {
        let t = GhcbTransport::new(FakeHypervisor::new(script), PAGES).unwrap();
        SnpReports::new(GuestRequester::new(Vmpck::new(KEY)), t)
    }

    #[test]
    fn a_report_travels_through_the_ghcb_guest_request_event() {
        let mut r = reports(&[]);
        let report = r.report(&[5; 64]).unwrap();
        assert_eq!(&report[0x50..0x90], &[5; 64]);
        let hv = r.transport().memory();
        assert_eq!(hv.ghcbs.len(), 1);
        let g = &hv.ghcbs[0];
        assert_eq!(g.get(Field::SwExitCode), Some(0x8000_0011));
        assert_eq!(g.get(Field::SwExitInfo1), Some(PAGES.request));
        assert_eq!(g.get(Field::SwExitInfo2), Some(PAGES.response));
        assert_eq!(g.get(Field::Rax), None);
        assert_eq!(g.get(Field::Rbx), None);
        assert_eq!((g.protocol_version(), g.usage()), (2, 0));
    }

    #[test]
    fn busy_through_the_ghcb_resends_the_same_request_page() {
        let mut r = reports(&[Act::Busy, Act::Answer]);
        assert!(r.report(&[5; 64]).is_ok());
        let hv = r.transport().memory();
        assert_eq!(hv.psp.exchanges.len(), 2);
        assert_eq!(hv.psp.exchanges[0], hv.psp.exchanges[1]);
    }

    #[test]
    fn an_extended_request_names_the_certificate_pages_and_handles_invalid_len() {
        let mut t = GhcbTransport::new(FakeHypervisor::new(&[Act::InvalidLen(3)]), PAGES).unwrap();
        let mut r = GuestRequester::new(Vmpck::new(KEY));
        let payload = [0u8; 0x60];
        let mut out = [0u8; 0x4c0];
        let mut certs = std::vec![0u8; 2 * MSG_PAGE_SIZE];
        let resp = r
            .request(
                &mut t,
                MsgType::ReportReq,
                1,
                &payload,
                &mut out,
                Some(&mut certs),
            )
            .unwrap();
        assert_eq!(resp.certificates, Certificates::TooSmall { pages: 3 });
        let hv = t.memory();
        let (ext, plain) = (&hv.ghcbs[0], &hv.ghcbs[1]);
        assert_eq!(ext.get(Field::SwExitCode), Some(0x8000_0012));
        assert_eq!(ext.get(Field::Rax), Some(PAGES.certs));
        assert_eq!(ext.get(Field::Rbx), Some(2));
        assert_eq!(plain.get(Field::SwExitCode), Some(0x8000_0011));
        assert_eq!(plain.get(Field::Rbx), None);
        assert!(certs.iter().all(|&b| b == 0));
        // With room: the certificates are copied back.
        let mut certs = std::vec![0u8; 3 * MSG_PAGE_SIZE];
        let resp = r
            .request(
                &mut t,
                MsgType::ReportReq,
                1,
                &payload,
                &mut out,
                Some(&mut certs),
            )
            .unwrap();
        assert_eq!(resp.certificates, Certificates::Written);
        assert!(certs.iter().all(|&b| b == 0xce));
    }

    #[test]
    fn a_refused_ghcb_event_or_too_many_certificate_pages_wipe_the_key() {
        let mut t = GhcbTransport::new(FakeHypervisor::new(&[]), PAGES).unwrap();
        t.mem.refuse = true;
        let mut r = SnpReports::new(GuestRequester::new(Vmpck::new(KEY)), t);
        assert!(r.report(&[5; 64]).is_err());
        assert!(r.requester().is_wiped());

        let mut t = GhcbTransport::new(FakeHypervisor::new(&[]), PAGES).unwrap();
        let mut r = GuestRequester::new(Vmpck::new(KEY));
        let mut certs = std::vec![0u8; 5 * MSG_PAGE_SIZE];
        let mut out = [0u8; 0x4c0];
        assert!(r
            .request(
                &mut t,
                MsgType::ReportReq,
                1,
                &[0; 0x60],
                &mut out,
                Some(&mut certs)
            )
            .is_err());
        assert!(r.is_wiped());
    }

    #[test]
    fn unaligned_or_wrapping_shared_pages_are_refused() {
        let bad = SharedPages {
            response: 0x10_1008,
            ..PAGES
        };
        assert!(GhcbTransport::new(FakeHypervisor::new(&[]), bad).is_none());
        let wraps = SharedPages {
            certs: !0xfff,
            cert_pages: 2,
            ..PAGES
        };
        assert!(GhcbTransport::new(FakeHypervisor::new(&[]), wraps).is_none());
    }
}
