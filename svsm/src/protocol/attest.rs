//! The attestation protocol (protocol 1; SVSM spec chapter 7: `SVSM_ATTEST_SERVICES` 0,
//! `SVSM_ATTEST_SINGLE_SERVICE` 1).
//!
//! RCX holds the GPA of the request ([`AttestRequest`], table 11 / 13: 8-byte aligned, within
//! one page; Linux puts it in its calling area's buffer). The SVSM reads the nonce, builds the
//! manifest — for `SVSM_ATTEST_SERVICES` the services manifest (table 12) listing the vTPM, for
//! `SVSM_ATTEST_SINGLE_SERVICE` with the vTPM GUID the vTPM's own manifest, the EK's
//! `TPMT_PUBLIC` — asks the PSP for a VMPL0 report with REPORT_DATA = SHA-512(nonce ‖ manifest),
//! and writes report and manifest into the guest's buffers (each may span pages; only the
//! bytes written are checked and touched). Results, on success and when a buffer is too small
//! (`SVSM_ERR_INVALID_PARAMETER`, nothing written): RCX = manifest size, RDX = certificates
//! size, R8 = report size — what Linux's configfs-tsm `sev_svsm_report_new` reads back to size
//! its retry. No certificates are returned (RDX = 0): the verifier has the VCEK from AMD's KDS,
//! and the qemu-test chain is built into `evtpm verify`.

use super::core::PageState;
use super::vtpm::Engine;
use super::{Registers, Svsm, SvsmError, SvsmResult};
use crate::mm::guest::{GuestMap, GuestMemory, GuestRegion, PageSize, PAGE_SIZE};
use alloc::vec::Vec;
use sha2::{Digest, Sha512};

pub const SVSM_ATTEST_SERVICES: u32 = 0;
pub const SVSM_ATTEST_SINGLE_SERVICE: u32 = 1;

/// The vTPM service GUID (chapter 8), `c476f1eb-0123-45a5-9641-b4e7dde5bfe3`.
pub const VTPM_SERVICE_GUID: Guid = Guid::parse("c476f1eb-0123-45a5-9641-b4e7dde5bfe3");
/// The services manifest GUID (table 12), `63849ebb-3d92-4670-a1ff-58f9c94b87bb`.
pub const SERVICES_MANIFEST_GUID: Guid = Guid::parse("63849ebb-3d92-4670-a1ff-58f9c94b87bb");

/// Largest nonce read (the spec sets no bound; Linux sends 64 bytes).
pub const MAX_NONCE: u32 = PAGE_SIZE as u32;

/// A GUID in its binary form (the first three fields little-endian, as UEFI and Linux's
/// `guid_t` store them, which is how the guest writes `service_guid`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Guid(pub [u8; 16]);

impl Guid {
    /// Parses the canonical text form at compile time (panics, i.e. fails the build, on a
    /// malformed literal).
    pub const fn parse(s: &str) -> Guid {
        let t = s.as_bytes();
        assert!(t.len() == 36, "GUID literal");
        let mut be = [0u8; 16];
        let (mut i, mut n) = (0, 0);
        while i < 36 {
            if t[i] == b'-' {
                i += 1;
                continue;
            }
            be[n] = (hex_digit(t[i]) << 4) | hex_digit(t[i + 1]);
            n += 1;
            i += 2;
        }
        assert!(n == 16, "GUID literal");
        let mut le = be;
        le[0] = be[3];
        le[1] = be[2];
        le[2] = be[1];
        le[3] = be[0];
        le[4] = be[5];
        le[5] = be[4];
        le[6] = be[7];
        le[7] = be[6];
        Guid(le)
    }
}

const fn hex_digit(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        b'A'..=b'F' => c - b'A' + 10,
        _ => panic!("GUID literal"),
    }
}

/// A buffer the guest names: `svsm_loc_entry` (GPA, length, 4 reserved bytes).
#[repr(C, packed)]
#[derive(Debug, Clone, Copy, Default)]
pub struct LocationEntry {
    pub pa: u64,
    pub len: u32,
    pub reserved: [u8; 4],
}

/// The attest request (tables 11 and 13; the single-service fields are ignored by
/// `SVSM_ATTEST_SERVICES`).
#[repr(C, packed)]
#[derive(Debug, Clone, Copy, Default)]
pub struct AttestRequest {
    pub report: LocationEntry,
    pub nonce: LocationEntry,
    pub manifest: LocationEntry,
    pub certificates: LocationEntry,
    pub service_guid: [u8; 16],
    pub manifest_version: u32,
    pub reserved: [u8; 4],
}

const _: () = assert!(::core::mem::offset_of!(LocationEntry, pa) == 0x00);
const _: () = assert!(::core::mem::offset_of!(LocationEntry, len) == 0x08);
const _: () = assert!(::core::mem::size_of::<LocationEntry>() == 0x10);
const _: () = assert!(::core::mem::offset_of!(AttestRequest, report) == 0x00);
const _: () = assert!(::core::mem::offset_of!(AttestRequest, nonce) == 0x10);
const _: () = assert!(::core::mem::offset_of!(AttestRequest, manifest) == 0x20);
const _: () = assert!(::core::mem::offset_of!(AttestRequest, certificates) == 0x30);
const _: () = assert!(::core::mem::offset_of!(AttestRequest, service_guid) == 0x40);
const _: () = assert!(::core::mem::offset_of!(AttestRequest, manifest_version) == 0x50);
const _: () = assert!(::core::mem::size_of::<AttestRequest>() == REQUEST_SIZE);

/// Bytes of the request.
pub const REQUEST_SIZE: usize = 0x58;

impl AttestRequest {
    /// Decodes the request bytes (little-endian fields).
    pub fn parse(b: &[u8; REQUEST_SIZE]) -> AttestRequest {
        let u64_at = |at: usize| {
            let mut v = [0u8; 8];
            v.copy_from_slice(&b[at..at + 8]);
            u64::from_le_bytes(v)
        };
        let u32_at = |at: usize| {
            let mut v = [0u8; 4];
            v.copy_from_slice(&b[at..at + 4]);
            u32::from_le_bytes(v)
        };
        let entry = |at: usize| LocationEntry {
            pa: u64_at(at),
            len: u32_at(at + 8),
            reserved: [0; 4],
        };
        let mut service_guid = [0u8; 16];
        service_guid.copy_from_slice(&b[0x40..0x50]);
        AttestRequest {
            report: entry(0x00),
            nonce: entry(0x10),
            manifest: entry(0x20),
            certificates: entry(0x30),
            service_guid,
            manifest_version: u32_at(0x50),
            reserved: [0; 4],
        }
    }
}

/// The services manifest (table 12) of the services this SVSM runs: the vTPM with `vtpm`.
/// Header: GUID, total size (u32), number of entries (u32); then per service its GUID, the
/// offset of its manifest from the start (u32) and its size (u32); then the manifests.
pub fn services_manifest(vtpm: &[u8]) -> Vec<u8> {
    const HEADER: usize = 16 + 4 + 4;
    const ENTRY: usize = 16 + 4 + 4;
    let total = HEADER + ENTRY + vtpm.len();
    let mut m = Vec::with_capacity(total);
    m.extend_from_slice(&SERVICES_MANIFEST_GUID.0);
    m.extend_from_slice(&(total as u32).to_le_bytes());
    m.extend_from_slice(&1u32.to_le_bytes());
    m.extend_from_slice(&VTPM_SERVICE_GUID.0);
    m.extend_from_slice(&((HEADER + ENTRY) as u32).to_le_bytes());
    m.extend_from_slice(&(vtpm.len() as u32).to_le_bytes());
    m.extend_from_slice(vtpm);
    m
}

/// The attestation service: the vTPM service manifest (the EK's `TPMT_PUBLIC`, fixed when the
/// engine was provisioned) and VMPL0 reports from the PSP (an SNP guest request; the software
/// PSP on `qemu-test`). It has its own lock ([`Svsm::attestation`]): a report never waits for a
/// vTPM command, nor a vTPM command for a report.
pub trait Attestation {
    /// The vTPM service manifest.
    fn vtpm_manifest(&self) -> &[u8];
    /// A VMPL0 `ATTESTATION_REPORT` carrying `report_data`.
    fn report(&mut self, report_data: &[u8; 64]) -> SvsmResult<Vec<u8>>;
}

/// What the guest asked for, read and checked before the PSP is asked.
struct Asked {
    manifest: Vec<u8>,
    nonce: Vec<u8>,
    report: LocationEntry,
    manifest_buf: LocationEntry,
}

/// Runs attestation call `call`. RCX, RDX and R8 are written on success and for a buffer that
/// is too small; on any other error `regs` is left as it was.
///
/// Guest memory is read under [`Svsm::machine`], the report requested under
/// [`Svsm::attestation`] alone, and the buffers are checked again, under [`Svsm::machine`],
/// when the report and manifest are written: what the guest's other vCPUs did to its memory
/// meanwhile (a page rescinded, made a VMSA) is seen then.
pub fn handle<M: GuestMemory, E: Engine, P: PageState>(
    svsm: &Svsm<M, E, P>,
    call: u32,
    regs: &mut Registers,
) -> SvsmResult {
    if call != SVSM_ATTEST_SERVICES && call != SVSM_ATTEST_SINGLE_SERVICE {
        return Err(SvsmError::UnsupportedCall);
    }
    let service = svsm
        .attestation
        .as_ref()
        .ok_or(SvsmError::UnsupportedCall)?;
    let report_size = evidence::report::offset::SIZE;
    let vtpm = service.lock().vtpm_manifest().to_vec();
    let asked = {
        let m = svsm.machine.lock();
        read_request(&m.map, &m.mem, call, vtpm, report_size, regs)?
    };
    let mut h = Sha512::new();
    h.update(&asked.nonce);
    h.update(&asked.manifest);
    let report_data: [u8; 64] = h.finalize().into();
    let report = service.lock().report(&report_data)?;
    if report.len() != report_size {
        return Err(SvsmError::InvalidRequest);
    }
    {
        let mut m = svsm.machine.lock();
        let m = &mut *m;
        let report_at = span(&m.map, asked.report.pa, report_size)?;
        let manifest_at = span(&m.map, asked.manifest_buf.pa, asked.manifest.len())?;
        for (bytes, regions) in [(&report[..], report_at), (&asked.manifest[..], manifest_at)] {
            for (region, at) in regions {
                let src = bytes
                    .get(at..at + region.len())
                    .ok_or(SvsmError::InvalidRequest)?;
                m.mem.copy_out(&region, src)?;
            }
        }
    }
    regs.rcx = asked.manifest.len() as u64;
    regs.rdx = 0;
    regs.r8 = report_size as u64;
    Ok(())
}

/// Reads and checks the request at RCX: the manifest asked for, the nonce, and buffers that
/// are large enough and that the guest may name (every destination is checked before the PSP
/// is asked or anything is written).
fn read_request<M: GuestMemory>(
    map: &GuestMap,
    mem: &M,
    call: u32,
    vtpm: Vec<u8>,
    report_size: usize,
    regs: &mut Registers,
) -> SvsmResult<Asked> {
    let head = map.region(regs.rcx, REQUEST_SIZE as u64, 8, PageSize::Small)?;
    let mut raw = [0u8; REQUEST_SIZE];
    mem.copy_in(&head, &mut raw)?;
    let req = AttestRequest::parse(&raw);

    let manifest = if call == SVSM_ATTEST_SERVICES {
        services_manifest(&vtpm)
    } else {
        let guid = Guid(req.service_guid);
        let version = req.manifest_version;
        // Version 0 asks for the current manifest; the vTPM has had one form (version 1).
        if guid != VTPM_SERVICE_GUID || version > 1 {
            return Err(SvsmError::InvalidParameter);
        }
        vtpm
    };
    let (report_buf, manifest_buf) = (req.report, req.manifest);
    if (report_buf.len as usize) < report_size || (manifest_buf.len as usize) < manifest.len() {
        regs.rcx = manifest.len() as u64;
        regs.rdx = 0;
        regs.r8 = report_size as u64;
        return Err(SvsmError::InvalidParameter);
    }

    let nonce_entry = req.nonce;
    if nonce_entry.len > MAX_NONCE {
        return Err(SvsmError::InvalidParameter);
    }
    let mut nonce = alloc::vec![0u8; nonce_entry.len as usize];
    for (region, at) in span(map, nonce_entry.pa, nonce.len())? {
        let dst = nonce
            .get_mut(at..at + region.len())
            .ok_or(SvsmError::InvalidParameter)?;
        mem.copy_in(&region, dst)?;
    }
    span(map, report_buf.pa, report_size)?;
    span(map, manifest_buf.pa, manifest.len())?;
    Ok(Asked {
        manifest,
        nonce,
        report: report_buf,
        manifest_buf,
    })
}

/// `len` bytes at `gpa` as checked page-sized pieces, each with its offset from `gpa`; empty
/// for `len` 0. Guest memory the guest may not name anywhere in the span fails the whole span.
fn span(map: &GuestMap, gpa: u64, len: usize) -> SvsmResult<Vec<(GuestRegion<'_>, usize)>> {
    let mut out = Vec::new();
    let mut done = 0usize;
    while done < len {
        let at = gpa
            .checked_add(done as u64)
            .ok_or(SvsmError::InvalidAddress)?;
        let room = (PAGE_SIZE - at % PAGE_SIZE) as usize;
        let n = room.min(len - done);
        out.push((map.region(at, n as u64, 1, PageSize::Small)?, done));
        done += n;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::super::SVSM_ATTEST_PROTOCOL as ATTEST;
    use super::*;

    const REQ: u64 = CAA + 8;
    const REPORT: u64 = 0x30_0000;
    const MANIFEST: u64 = 0x30_1000;
    const NONCE: u64 = 0x30_2FF0; // crosses into the next page

    fn request(report: (u64, u32), nonce: (u64, u32), manifest: (u64, u32)) -> Vec<u8> {
        let mut r = std::vec![0u8; REQUEST_SIZE];
        for (at, (pa, len)) in [(0x00, report), (0x10, nonce), (0x20, manifest)] {
            r[at..at + 8].copy_from_slice(&pa.to_le_bytes());
            r[at + 8..at + 12].copy_from_slice(&len.to_le_bytes());
        }
        r
    }

    fn single(mut r: Vec<u8>, guid: Guid, version: u32) -> Vec<u8> {
        r[0x40..0x50].copy_from_slice(&guid.0);
        r[0x50..0x54].copy_from_slice(&version.to_le_bytes());
        r
    }

    fn expected_report_data(nonce: &[u8], manifest: &[u8]) -> [u8; 64] {
        let mut h = Sha512::new();
        h.update(nonce);
        h.update(manifest);
        h.finalize().into()
    }

    #[test]
    fn guids_are_stored_with_their_first_three_fields_little_endian() {
        assert_eq!(
            VTPM_SERVICE_GUID.0,
            [
                0xeb, 0xf1, 0x76, 0xc4, 0x23, 0x01, 0xa5, 0x45, 0x96, 0x41, 0xb4, 0xe7, 0xdd, 0xe5,
                0xbf, 0xe3
            ]
        );
    }

    #[test]
    fn single_service_reports_the_ek_with_the_nonce() {
        let mut s = svsm();
        let nonce: Vec<u8> = (0..64).collect();
        write(&mut s, NONCE, &nonce[..16]);
        write(&mut s, NONCE + 16, &nonce[16..]);
        let req = single(
            request((REPORT, 4096), (NONCE, 64), (MANIFEST, 4096)),
            VTPM_SERVICE_GUID,
            0,
        );
        write(&mut s, REQ, &req);
        let r = call(&mut s, ATTEST, SVSM_ATTEST_SINGLE_SERVICE, [REQ, 0, 0, 0]);
        assert_eq!(r.rax, 0);
        let manifest = s.manifest.clone();
        assert_eq!((r.rcx, r.rdx, r.r8), (manifest.len() as u64, 0, 1184));
        assert_eq!(read(&s, MANIFEST, manifest.len()), manifest);
        let report = read(&s, REPORT, 1184);
        assert_eq!(
            &report[0x50..0x90],
            &expected_report_data(&nonce, &manifest)[..]
        );
        assert_eq!(s.reports(), 1);
    }

    #[test]
    fn services_manifest_lists_the_vtpm() {
        let mut s = svsm();
        write(
            &mut s,
            REQ,
            &request((REPORT, 1184), (0, 0), (MANIFEST, 4096)),
        );
        let r = call(&mut s, ATTEST, SVSM_ATTEST_SERVICES, [REQ, 0, 0, 0]);
        assert_eq!(r.rax, 0);
        let ek = s.manifest.clone();
        let m = read(&s, MANIFEST, r.rcx as usize);
        assert_eq!(&m[..16], &SERVICES_MANIFEST_GUID.0);
        assert_eq!(
            u32::from_le_bytes(m[16..20].try_into().unwrap()) as u64,
            r.rcx
        );
        assert_eq!(u32::from_le_bytes(m[20..24].try_into().unwrap()), 1);
        assert_eq!(&m[24..40], &VTPM_SERVICE_GUID.0);
        let off = u32::from_le_bytes(m[40..44].try_into().unwrap()) as usize;
        let len = u32::from_le_bytes(m[44..48].try_into().unwrap()) as usize;
        assert_eq!(&m[off..off + len], &ek[..]);
        let report = read(&s, REPORT, 1184);
        assert_eq!(&report[0x50..0x90], &expected_report_data(&[], &m)[..]);
    }

    #[test]
    fn small_buffers_get_the_sizes_and_nothing_is_written() {
        let mut s = svsm();
        write(&mut s, REPORT, &[0xAA; 16]);
        let req = single(
            request((REPORT, 1000), (0, 0), (MANIFEST, 4096)),
            VTPM_SERVICE_GUID,
            1,
        );
        write(&mut s, REQ, &req);
        let r = call(&mut s, ATTEST, SVSM_ATTEST_SINGLE_SERVICE, [REQ, 7, 7, 7]);
        assert_eq!(r.rax, SvsmError::InvalidParameter.code());
        assert_eq!((r.rcx, r.rdx, r.r8), (s.manifest.len() as u64, 0, 1184));
        assert_eq!(read(&s, REPORT, 16), [0xAA; 16]);
        assert_eq!(s.reports(), 0, "no report requested");
        // Manifest buffer too small.
        let req = single(
            request((REPORT, 4096), (0, 0), (MANIFEST, 8)),
            VTPM_SERVICE_GUID,
            0,
        );
        write(&mut s, REQ, &req);
        let r = call(&mut s, ATTEST, SVSM_ATTEST_SINGLE_SERVICE, [REQ, 7, 7, 7]);
        assert_eq!(r.rax, SvsmError::InvalidParameter.code());
        assert_eq!(r.rcx, s.manifest.len() as u64);
    }

    #[test]
    fn hostile_requests_are_refused_and_leave_registers_and_memory_alone() {
        let mut s = svsm();
        let ok = request((REPORT, 4096), (NONCE, 64), (MANIFEST, 4096));
        let cases: [(u32, Vec<u8>, u64, SvsmError); 7] = [
            // Unknown service, unknown manifest version.
            (
                SVSM_ATTEST_SINGLE_SERVICE,
                single(ok.clone(), SERVICES_MANIFEST_GUID, 0),
                REQ,
                SvsmError::InvalidParameter,
            ),
            (
                SVSM_ATTEST_SINGLE_SERVICE,
                single(ok.clone(), VTPM_SERVICE_GUID, 2),
                REQ,
                SvsmError::InvalidParameter,
            ),
            // Report buffer in SVSM memory; manifest past the end of RAM.
            (
                SVSM_ATTEST_SERVICES,
                request((SVSM_MEM.start, 4096), (0, 0), (MANIFEST, 4096)),
                REQ,
                SvsmError::InvalidAddress,
            ),
            (
                SVSM_ATTEST_SERVICES,
                request((REPORT, 4096), (0, 0), (RAM.end - 16, 4096)),
                REQ,
                SvsmError::InvalidAddress,
            ),
            // A nonce larger than a page; a nonce overlapping SVSM memory.
            (
                SVSM_ATTEST_SERVICES,
                request((REPORT, 4096), (NONCE, MAX_NONCE + 1), (MANIFEST, 4096)),
                REQ,
                SvsmError::InvalidParameter,
            ),
            (
                SVSM_ATTEST_SERVICES,
                request((REPORT, 4096), (SVSM_MEM.start - 8, 64), (MANIFEST, 4096)),
                REQ,
                SvsmError::InvalidAddress,
            ),
            // The request itself unaligned.
            (
                SVSM_ATTEST_SERVICES,
                ok.clone(),
                REQ + 1,
                SvsmError::InvalidParameter,
            ),
        ];
        for (i, (c, req, at, err)) in cases.into_iter().enumerate() {
            write(&mut s, REQ, &std::vec![0; REQUEST_SIZE + 8]);
            write(&mut s, at, &req);
            write(&mut s, REPORT, &[0x55; 64]);
            let r = call(&mut s, ATTEST, c, [at, 7, 8, 9]);
            assert_eq!(r.rax, err.code(), "case {i}");
            assert_eq!((r.rcx, r.rdx, r.r8), (at, 7, 8), "case {i}: registers kept");
            assert_eq!(
                read(&s, REPORT, 64),
                [0x55; 64],
                "case {i}: nothing written"
            );
        }
        assert_eq!(s.reports(), 0);
        // A request in SVSM memory, and an unknown call.
        let r = call(
            &mut s,
            ATTEST,
            SVSM_ATTEST_SERVICES,
            [SVSM_MEM.start, 0, 0, 0],
        );
        assert_eq!(r.rax, SvsmError::InvalidAddress.code());
        let r = call(&mut s, ATTEST, 2, [REQ, 0, 0, 0]);
        assert_eq!(r.rax, SvsmError::UnsupportedCall.code());
    }

    #[test]
    fn a_report_spanning_pages_is_written_whole() {
        let mut s = svsm();
        let at = 0x30_5000 - 100;
        write(&mut s, REQ, &request((at, 2048), (0, 0), (MANIFEST, 4096)));
        let r = call(&mut s, ATTEST, SVSM_ATTEST_SERVICES, [REQ, 0, 0, 0]);
        assert_eq!(r.rax, 0);
        let mut report = read(&s, at, 100);
        report.extend(read(&s, 0x30_5000, 1084));
        assert_eq!(
            &report[..4],
            &3u32.to_le_bytes(),
            "version 3, from the test PSP"
        );
        let m = read(&s, MANIFEST, r.rcx as usize);
        assert_eq!(&report[0x50..0x90], &expected_report_data(&[], &m)[..]);
    }
}
