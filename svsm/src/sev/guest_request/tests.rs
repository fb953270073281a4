//! The guest-request state machine against a fake PSP, and known-answer tests of the message
//! format against an independent AES-GCM (Python's `cryptography`).

use super::msg::{self, Expected, MsgError, MsgType, MSG_PAGE_SIZE, REPORT_RSP_SIZE};
use super::report::SnpReports;
use super::*;
use crate::service::ReportSource;
use aes_gcm::aead::AeadInPlace;
use aes_gcm::{Aes256Gcm, KeyInit, Nonce, Tag};
use std::collections::VecDeque;
use std::vec::Vec;

pub(super) const KEY: [u8; 32] = {
    let mut k = [0u8; 32];
    let mut i = 0;
    while i < 32 {
        k[i] = i as u8;
        i += 1;
    }
    k
};

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// What the fake hypervisor and PSP do with one exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Act {
    /// Forward the request; the PSP answers it honestly.
    Answer,
    /// The hypervisor answers BUSY without forwarding.
    Busy,
    /// The hypervisor answers INVALID_LEN (this many pages needed) without forwarding.
    InvalidLen(u64),
    /// The PSP refuses the request with this firmware error, without processing it.
    FirmwareError(u32),
    /// The hypervisor fails with this error code in `SW_EXITINFO2[63:32]`.
    HypervisorError(u32),
    /// The transport itself fails.
    TransportFails,
    /// The PSP processes the request; the response is then altered as named.
    WrongSeq,
    TamperTag,
    WrongType,
    WrongVersion,
    OversizedMsg,
    ReportStatus(u32),
    ShortReport,
    WrongReportData,
}

/// A PSP that holds VMPCK0 and keeps its own sequence number, behind a scripted hypervisor.
#[derive(Debug)]
pub(super) struct FakePsp {
    key: [u8; 32],
    /// The last sequence number the PSP accounted for.
    pub psp_seqno: u64,
    pub script: VecDeque<Act>,
    /// Every request page handed over, and whether certificate pages came with it.
    pub exchanges: Vec<(Vec<u8>, bool)>,
    /// Every (IV, ciphertext ‖ tag) that went either way under the key.
    pub ivs: Vec<(u64, Vec<u8>)>,
    pub backoffs: u32,
}

fn cipher(key: &[u8; 32]) -> Aes256Gcm {
    Aes256Gcm::new(key.into())
}

impl FakePsp {
    pub(super) fn new(script: &[Act]) -> FakePsp {
        FakePsp {
            key: KEY,
            psp_seqno: 0,
            script: script.iter().copied().collect(),
            exchanges: Vec::new(),
            ivs: Vec::new(),
            backoffs: 0,
        }
    }

    pub(super) fn next_act(&mut self) -> Act {
        self.script.pop_front().unwrap_or(Act::Answer)
    }

    /// The PSP's side of SNP_GUEST_REQUEST: the response page, or a firmware error.
    pub(super) fn process(
        &mut self,
        page: &[u8; MSG_PAGE_SIZE],
        act: Act,
    ) -> Result<[u8; MSG_PAGE_SIZE], u32> {
        let seqno = u64::from_le_bytes(page[0x20..0x28].try_into().unwrap());
        let size = u16::from_le_bytes([page[0x36], page[0x37]]) as usize;
        if seqno != self.psp_seqno + 1 || page[0x30] != 1 || page[0x34] != 5 || page[0x3c] != 0 {
            return Err(0x16);
        }
        let mut payload = page[0x60..0x60 + size].to_vec();
        let mut record = payload.clone();
        record.extend_from_slice(&page[..16]);
        cipher(&self.key)
            .decrypt_in_place_detached(
                Nonce::from_slice(&msg::iv(seqno)),
                &page[0x30..0x60],
                &mut payload,
                Tag::from_slice(&page[..16]),
            )
            .map_err(|_| 0x16u32)?;
        self.ivs.push((seqno, record));
        self.psp_seqno = seqno + 1;

        let report_data: [u8; 64] = payload[..64].try_into().unwrap();
        let vmpl = u32::from_le_bytes(payload[0x40..0x44].try_into().unwrap());
        let mut rsp = std::vec![0u8; REPORT_RSP_SIZE];
        rsp[4..8].copy_from_slice(&1184u32.to_le_bytes());
        let report = evidence::test_root::qemu_test_report(&report_data, vmpl, &[9; 32]).unwrap();
        rsp[0x20..].copy_from_slice(&report);
        match act {
            Act::ReportStatus(s) => {
                rsp[0..4].copy_from_slice(&s.to_le_bytes());
                rsp[0x20..].fill(0);
            }
            Act::ShortReport => rsp[4..8].copy_from_slice(&1000u32.to_le_bytes()),
            Act::WrongReportData => rsp[0x20 + 0x50] ^= 1,
            _ => {}
        }

        let rsp_seqno = seqno + if act == Act::WrongSeq { 3 } else { 1 };
        let mut out = [0u8; MSG_PAGE_SIZE];
        out[0x20..0x28].copy_from_slice(&rsp_seqno.to_le_bytes());
        out[0x30] = 1;
        out[0x31] = 1;
        out[0x32] = 0x60;
        out[0x34] = if act == Act::WrongType { 5 } else { 6 };
        out[0x35] = if act == Act::WrongVersion { 2 } else { 1 };
        out[0x36..0x38].copy_from_slice(&(rsp.len() as u16).to_le_bytes());
        let (header, body) = out.split_at_mut(0x60);
        body[..rsp.len()].copy_from_slice(&rsp);
        let tag = cipher(&self.key)
            .encrypt_in_place_detached(
                Nonce::from_slice(&msg::iv(rsp_seqno)),
                &header[0x30..],
                &mut body[..rsp.len()],
            )
            .unwrap();
        header[..16].copy_from_slice(&tag);
        let mut record = body[..rsp.len()].to_vec();
        record.extend_from_slice(&tag);
        self.ivs.push((rsp_seqno, record));
        match act {
            Act::TamperTag => out[3] ^= 0x80,
            Act::OversizedMsg => out[0x36..0x38].copy_from_slice(&4000u16.to_le_bytes()),
            _ => {}
        }
        Ok(out)
    }

    /// The hypervisor's verdict for `act` before anything is forwarded, if it is not forwarded.
    pub(super) fn hypervisor(act: Act) -> Option<Result<ExitStatus, TransportError>> {
        let status = |exit_info2, rbx| Some(Ok(ExitStatus { exit_info2, rbx }));
        match act {
            Act::Busy => status(exit_info2::BUSY, 0),
            Act::InvalidLen(pages) => status(exit_info2::INVALID_LEN, pages),
            Act::FirmwareError(code) => status(code.into(), 0),
            Act::HypervisorError(code) => status(u64::from(code) << 32, 0),
            Act::TransportFails => Some(Err(TransportError("the test transport failed"))),
            _ => None,
        }
    }
}

impl Transport for FakePsp {
    fn exchange(
        &mut self,
        request: &[u8; MSG_PAGE_SIZE],
        response: &mut [u8; MSG_PAGE_SIZE],
        certs: Option<&mut [u8]>,
    ) -> Result<ExitStatus, TransportError> {
        self.exchanges.push((request.to_vec(), certs.is_some()));
        let act = self.next_act();
        if let Some(verdict) = FakePsp::hypervisor(act) {
            return verdict;
        }
        match self.process(request, act) {
            Ok(page) => {
                *response = page;
                if let Some(c) = certs {
                    c.fill(0xce);
                }
                Ok(ExitStatus {
                    exit_info2: 0,
                    rbx: 0,
                })
            }
            Err(code) => Ok(ExitStatus {
                exit_info2: code.into(),
                rbx: 0,
            }),
        }
    }

    fn backoff(&mut self, _attempt: u32) {
        self.backoffs += 1;
    }
}

fn requester() -> GuestRequester {
    GuestRequester::new(Vmpck::new(KEY))
}

fn report_req(fill: u8) -> [u8; msg::REPORT_REQ_SIZE] {
    msg::ReportReq {
        report_data: [fill; 64],
        vmpl: 0,
        key_sel: 0,
        reserved: [0; 24],
    }
    .to_bytes()
}

fn ask(r: &mut GuestRequester, psp: &mut FakePsp) -> Result<Response, GuestRequestError> {
    let mut out = [0u8; REPORT_RSP_SIZE];
    r.request(psp, MsgType::ReportReq, 1, &report_req(7), &mut out, None)
}

// ---- known answers ------------------------------------------------------------------------

// Produced with Python 3 and `cryptography` 48.0.0:
//   from cryptography.hazmat.primitives.ciphers.aead import AESGCM; import struct
//   key = bytes(range(32))
//   aad = struct.pack('<BBHBBHIB', 1, 1, 0x60, TYPE, 1, SIZE, 0, 0) + bytes(35)
//   iv = struct.pack('<Q', SEQ) + bytes(4)
//   ct = AESGCM(key).encrypt(iv, PAYLOAD, aad)   # ciphertext ‖ 16-byte tag
// Request: SEQ 1, TYPE 5, PAYLOAD = bytes(range(64)) + struct.pack('<II', 0, 0) + bytes(24).
const KAT_AAD: &str = "010160000501600000000000000000000000000000000000000000000000000000000000000000000000000000000000";
const KAT_CT: &str = "e22d803ca0aaea00420d0fc830cc86c4dc70dd3d68bd7d05560647e5013b996fccddd2ea048788e8f0f437f862242ea7c0e4fcb7d1456ca0bbb1da492b891678bcafa49213c0f2445044cd48be94fd5eb5f3e8b761e80896f353185b4abd740d";
const KAT_TAG: &str = "0f354f26b13f7433d3674d8eebcaf847";
// Response: SEQ 2, TYPE 6, PAYLOAD = bytes(0xa0 + i for i in range(32)).
const KAT_RSP_CT: &str = "46cf49c35e00ce1a0514c4bf202b59ade1bdda73624e36a4f2cfa281d43cc7ac";
const KAT_RSP_TAG: &str = "d7032cf4285ff1461bd622660fd937ea";

#[test]
fn a_sealed_request_matches_an_independent_aes_gcm() {
    let mut payload = [0u8; 0x60];
    for (i, b) in payload[..64].iter_mut().enumerate() {
        *b = i as u8;
    }
    let mut page = [0xffu8; MSG_PAGE_SIZE];
    msg::seal(
        &Vmpck::new(KEY),
        1,
        MsgType::ReportReq,
        1,
        &payload,
        &mut page,
    )
    .unwrap();
    assert_eq!(&page[..16], &hex(KAT_TAG)[..], "tag");
    assert_eq!(&page[16..32], &[0; 16], "the rest of AUTHTAG is zero");
    assert_eq!(&page[0x20..0x28], &1u64.to_le_bytes(), "MSG_SEQNO");
    assert_eq!(&page[0x28..0x30], &[0; 8]);
    assert_eq!(
        &page[0x30..0x60],
        &hex(KAT_AAD)[..],
        "the AAD is the header from ALGO on"
    );
    assert_eq!(&page[0x60..0xc0], &hex(KAT_CT)[..], "ciphertext");
    assert!(
        page[0xc0..].iter().all(|&b| b == 0),
        "the rest of the page is zero"
    );
}

#[test]
fn a_response_made_by_an_independent_aes_gcm_opens() {
    let mut page = [0u8; MSG_PAGE_SIZE];
    page[..16].copy_from_slice(&hex(KAT_RSP_TAG));
    page[0x20..0x28].copy_from_slice(&2u64.to_le_bytes());
    page[0x30..0x38].copy_from_slice(&[1, 1, 0x60, 0, 6, 1, 32, 0]);
    page[0x60..0x80].copy_from_slice(&hex(KAT_RSP_CT));
    let expected = Expected {
        seqno: 2,
        msg_type: MsgType::ReportRsp,
        version: 1,
    };
    let mut out = [0u8; 64];
    let n = msg::open(&Vmpck::new(KEY), &page, &expected, &mut out).unwrap();
    let want: Vec<u8> = (0..32).map(|i| 0xa0 + i as u8).collect();
    assert_eq!(&out[..n], &want[..]);
    // The same bytes under the wrong sequence number fail at the header; with the header
    // changed to match, at the tag (the IV differs).
    let wrong = Expected {
        seqno: 4,
        ..expected
    };
    assert_eq!(
        msg::open(&Vmpck::new(KEY), &page, &wrong, &mut out),
        Err(MsgError::Header("MSG_SEQNO", 2))
    );
    page[0x20..0x28].copy_from_slice(&4u64.to_le_bytes());
    assert_eq!(
        msg::open(&Vmpck::new(KEY), &page, &wrong, &mut out),
        Err(MsgError::Tag)
    );
    assert!(out.iter().all(|&b| b == 0), "no plaintext left behind");
}

#[test]
fn every_aad_byte_is_authenticated_and_reserved_bytes_outside_it_are_not() {
    let key = Vmpck::new(KEY);
    let mut page = [0u8; MSG_PAGE_SIZE];
    let expected = Expected {
        seqno: 2,
        msg_type: MsgType::ReportRsp,
        version: 1,
    };
    let mut fake = FakePsp::new(&[]);
    let sealed = fake
        .process(
            &{
                let mut p = [0u8; MSG_PAGE_SIZE];
                msg::seal(&key, 1, MsgType::ReportReq, 1, &report_req(1), &mut p).unwrap();
                p
            },
            Act::Answer,
        )
        .unwrap();
    let mut out = [0u8; REPORT_RSP_SIZE];
    assert!(msg::open(&key, &sealed, &expected, &mut out).is_ok());
    // Reserved bytes inside the AAD (after the checked fields) break the tag.
    for at in [0x38, 0x3b, 0x3d, 0x5f] {
        page.copy_from_slice(&sealed);
        page[at] ^= 1;
        assert_eq!(
            msg::open(&key, &page, &expected, &mut out),
            Err(MsgError::Tag),
            "{at:#x}"
        );
    }
    // The reserved bytes between MSG_SEQNO and ALGO are not in the AAD.
    page.copy_from_slice(&sealed);
    page[0x28] ^= 1;
    assert!(msg::open(&key, &page, &expected, &mut out).is_ok());
}

// ---- the state machine ----------------------------------------------------------------------

#[test]
fn requests_use_odd_sequence_numbers_and_advance_by_two() {
    let mut r = requester();
    let mut psp = FakePsp::new(&[]);
    for i in 1..=3u64 {
        let resp = ask(&mut r, &mut psp).unwrap();
        assert_eq!(resp.len, REPORT_RSP_SIZE);
        assert_eq!(resp.certificates, Certificates::NotRequested);
        assert_eq!(r.seqno(), 2 * i);
    }
    let seqnos: Vec<u64> = psp.ivs.iter().map(|(s, _)| *s).collect();
    assert_eq!(seqnos, [1, 2, 3, 4, 5, 6], "request n+1, response n+2");
}

#[test]
fn a_response_with_the_wrong_sequence_wipes_the_key_and_nothing_more_is_sent() {
    let mut r = requester();
    let mut psp = FakePsp::new(&[Act::WrongSeq]);
    assert_eq!(
        ask(&mut r, &mut psp),
        Err(GuestRequestError::Response(MsgError::Header(
            "MSG_SEQNO",
            4
        )))
    );
    assert!(r.is_wiped());
    let sent = psp.exchanges.len();
    assert_eq!(ask(&mut r, &mut psp), Err(GuestRequestError::KeyWiped));
    assert_eq!(psp.exchanges.len(), sent, "nothing was encrypted or sent");
}

#[test]
fn a_tampered_tag_wipes_the_key() {
    let mut r = requester();
    let mut psp = FakePsp::new(&[Act::TamperTag]);
    assert_eq!(
        ask(&mut r, &mut psp),
        Err(GuestRequestError::Response(MsgError::Tag))
    );
    assert!(r.is_wiped());
    assert_eq!(r.seqno(), 0, "nothing accounted for");
}

#[test]
fn wrong_type_version_size_and_every_error_wipe_the_key() {
    let cases = [
        (
            Act::WrongType,
            GuestRequestError::Response(MsgError::Header("MSG_TYPE", 5)),
        ),
        (
            Act::WrongVersion,
            GuestRequestError::Response(MsgError::Header("MSG_VERSION", 2)),
        ),
        (
            Act::OversizedMsg,
            GuestRequestError::Response(MsgError::Size(4000)),
        ),
        (Act::FirmwareError(0x16), GuestRequestError::Firmware(0x16)),
        (Act::HypervisorError(7), GuestRequestError::Hypervisor(7)),
        (
            Act::TransportFails,
            GuestRequestError::Transport(TransportError("the test transport failed")),
        ),
        // INVALID_LEN answers only extended requests: to a plain one it is a lie.
        (Act::InvalidLen(2), GuestRequestError::Hypervisor(1)),
    ];
    for (act, err) in cases {
        let mut r = requester();
        let mut psp = FakePsp::new(&[act]);
        assert_eq!(ask(&mut r, &mut psp), Err(err), "{act:?}");
        assert!(r.is_wiped(), "{act:?}");
        assert_eq!(ask(&mut r, &mut psp), Err(GuestRequestError::KeyWiped));
        assert_eq!(psp.exchanges.len(), 1, "{act:?}");
    }
}

#[test]
fn a_response_into_a_buffer_too_small_wipes_the_key() {
    let mut r = requester();
    let mut psp = FakePsp::new(&[]);
    let mut out = [0u8; 100];
    assert_eq!(
        r.request(
            &mut psp,
            MsgType::ReportReq,
            1,
            &report_req(1),
            &mut out,
            None
        ),
        Err(GuestRequestError::Response(MsgError::Size(REPORT_RSP_SIZE)))
    );
    assert!(r.is_wiped());
}

#[test]
fn busy_resends_the_identical_ciphertext() {
    let mut r = requester();
    let mut psp = FakePsp::new(&[Act::Busy, Act::Busy, Act::Answer]);
    ask(&mut r, &mut psp).unwrap();
    assert_eq!(psp.exchanges.len(), 3);
    assert_eq!(psp.exchanges[0], psp.exchanges[1]);
    assert_eq!(psp.exchanges[1], psp.exchanges[2]);
    assert_eq!(psp.backoffs, 2);
    assert_eq!(r.seqno(), 2);
    assert!(!r.is_wiped());
}

#[test]
fn endless_busy_wipes_the_key() {
    let mut r = requester();
    let mut psp = FakePsp::new(&[Act::Busy; MAX_BUSY_RETRIES as usize + 1]);
    assert_eq!(ask(&mut r, &mut psp), Err(GuestRequestError::Busy));
    assert!(r.is_wiped());
    assert_eq!(psp.exchanges.len(), MAX_BUSY_RETRIES as usize + 1);
    assert!(psp.exchanges.windows(2).all(|w| w[0] == w[1]));
}

#[test]
fn invalid_len_resends_the_same_ciphertext_as_a_plain_request() {
    let mut r = requester();
    let mut psp = FakePsp::new(&[Act::InvalidLen(4)]);
    let mut out = [0u8; REPORT_RSP_SIZE];
    let mut certs = std::vec![0u8; MSG_PAGE_SIZE];
    let resp = r
        .request(
            &mut psp,
            MsgType::ReportReq,
            1,
            &report_req(2),
            &mut out,
            Some(&mut certs),
        )
        .unwrap();
    assert_eq!(resp.certificates, Certificates::TooSmall { pages: 4 });
    assert_eq!(psp.exchanges.len(), 2);
    assert!(psp.exchanges[0].1, "first as an extended request");
    assert!(!psp.exchanges[1].1, "then as a plain one");
    assert_eq!(
        psp.exchanges[0].0, psp.exchanges[1].0,
        "the same sealed bytes"
    );
    assert_eq!(r.seqno(), 2);
    assert!(
        certs.iter().all(|&b| b == 0),
        "no certificates were written"
    );
    // The next extended request, with room, gets them.
    let mut certs = std::vec![0u8; 4 * MSG_PAGE_SIZE];
    let resp = r
        .request(
            &mut psp,
            MsgType::ReportReq,
            1,
            &report_req(2),
            &mut out,
            Some(&mut certs),
        )
        .unwrap();
    assert_eq!(resp.certificates, Certificates::Written);
    assert!(certs.iter().all(|&b| b == 0xce));
    assert_eq!(r.seqno(), 4);
}

#[test]
fn a_failed_invalid_len_resend_wipes_the_key() {
    let mut r = requester();
    let mut psp = FakePsp::new(&[Act::InvalidLen(4), Act::FirmwareError(0x27)]);
    let mut out = [0u8; REPORT_RSP_SIZE];
    let mut certs = std::vec![0u8; MSG_PAGE_SIZE];
    assert_eq!(
        r.request(
            &mut psp,
            MsgType::ReportReq,
            1,
            &report_req(2),
            &mut out,
            Some(&mut certs)
        ),
        Err(GuestRequestError::Firmware(0x27))
    );
    assert!(r.is_wiped());
    // A second INVALID_LEN, to the plain resend, is a lie too.
    let mut r = requester();
    let mut psp = FakePsp::new(&[Act::InvalidLen(4), Act::InvalidLen(8)]);
    assert_eq!(
        r.request(
            &mut psp,
            MsgType::ReportReq,
            1,
            &report_req(2),
            &mut out,
            Some(&mut certs)
        ),
        Err(GuestRequestError::Hypervisor(1))
    );
    assert!(r.is_wiped());
}

#[test]
fn no_two_messages_under_the_key_share_an_iv() {
    let mut r = requester();
    let script = [
        Act::Answer,
        Act::Busy,
        Act::Answer,
        Act::InvalidLen(3),
        Act::Answer,
        Act::Busy,
        Act::Busy,
        Act::Answer,
        Act::Answer,
    ];
    let mut psp = FakePsp::new(&script);
    let mut out = [0u8; REPORT_RSP_SIZE];
    let mut certs = std::vec![0u8; MSG_PAGE_SIZE];
    for i in 0..5u8 {
        let certs = (i == 2).then_some(&mut certs[..]);
        r.request(
            &mut psp,
            MsgType::ReportReq,
            1,
            &report_req(i),
            &mut out,
            certs,
        )
        .unwrap();
    }
    assert!(psp.script.is_empty());
    assert_eq!(psp.ivs.len(), 10, "five requests, five responses");
    let mut seen = std::collections::BTreeMap::new();
    for (iv, bytes) in &psp.ivs {
        assert!(
            seen.insert(*iv, bytes.clone()).is_none(),
            "IV {iv} used twice"
        );
    }
    // Every exchange of the same sequence number carried the same bytes.
    let mut sent = std::collections::BTreeMap::new();
    for (page, _) in &psp.exchanges {
        let seqno = u64::from_le_bytes(page[0x20..0x28].try_into().unwrap());
        assert_eq!(sent.entry(seqno).or_insert_with(|| page.clone()), page);
    }
    assert_eq!(sent.keys().copied().collect::<Vec<_>>(), [1, 3, 5, 7, 9]);
}

#[test]
fn arguments_refused_before_sealing_keep_the_key() {
    let mut r = requester();
    let mut psp = FakePsp::new(&[]);
    let mut out = [0u8; REPORT_RSP_SIZE];
    let big = std::vec![0u8; msg::MAX_PAYLOAD + 1];
    let mut odd = std::vec![0u8; 100];
    type Case<'a> = (MsgType, &'a [u8], Option<&'a mut [u8]>);
    let cases: [Case<'_>; 3] = [
        (MsgType::ReportReq, &big, None),
        (MsgType::ReportRsp, &report_req(0), None),
        (MsgType::ReportReq, &report_req(0), Some(&mut odd)),
    ];
    for (t, payload, certs) in cases {
        assert_eq!(
            r.request(&mut psp, t, 1, payload, &mut out, certs),
            Err(GuestRequestError::BadArgument)
        );
    }
    assert!(!r.is_wiped());
    assert!(psp.exchanges.is_empty());
    assert!(ask(&mut r, &mut psp).is_ok());
}

#[test]
fn the_sequence_number_never_wraps() {
    let mut r = GuestRequester::with_seqno(Vmpck::new(KEY), u64::MAX - 1);
    let mut psp = FakePsp::new(&[]);
    assert_eq!(
        ask(&mut r, &mut psp),
        Err(GuestRequestError::SequenceExhausted)
    );
    assert!(r.is_wiped());
    assert!(psp.exchanges.is_empty());
}

#[test]
fn a_zero_key_is_no_key() {
    let mut r = GuestRequester::new(Vmpck::new([0; 32]));
    assert!(r.is_wiped());
    assert_eq!(
        ask(&mut r, &mut FakePsp::new(&[])),
        Err(GuestRequestError::KeyWiped)
    );
}

// ---- the report source ------------------------------------------------------------------------

#[test]
fn reports_carry_the_report_data_at_vmpl0() {
    let mut reports = SnpReports::new(requester(), FakePsp::new(&[]));
    let rd = [0x42u8; 64];
    let report = reports.report(&rd).unwrap();
    assert_eq!(report.len(), 1184);
    let o = evidence::report::offset::REPORT_DATA;
    assert_eq!(&report[o..o + 64], &rd[..]);
    // The request the PSP saw: MSG_REPORT_REQ v1, VMPL 0, KEY_SEL 0.
    let psp = reports.transport();
    let (page, _) = &psp.exchanges[0];
    assert_eq!((page[0x34], page[0x35]), (5, 1));
    assert_eq!(u16::from_le_bytes([page[0x36], page[0x37]]), 0x60);
    assert_eq!(reports.requester().seqno(), 2);
    assert!(reports.report(&rd).is_ok());
    assert_eq!(reports.requester().seqno(), 4);
}

#[test]
fn a_report_request_payload_is_report_data_vmpl_and_key_selection() {
    let mut psp = FakePsp::new(&[]);
    let mut r = requester();
    let mut out = [0u8; REPORT_RSP_SIZE];
    let payload = msg::ReportReq {
        report_data: [3; 64],
        vmpl: 2,
        key_sel: 1,
        reserved: [0; 24],
    }
    .to_bytes();
    assert_eq!(&payload[0x40..0x48], &[2, 0, 0, 0, 1, 0, 0, 0]);
    assert!(payload[0x48..].iter().all(|&b| b == 0));
    r.request(&mut psp, MsgType::ReportReq, 1, &payload, &mut out, None)
        .unwrap();
    let vmpl = u32::from_le_bytes(out[0x20 + 0x30..0x20 + 0x34].try_into().unwrap());
    assert_eq!(vmpl, 2, "the PSP decrypted the VMPL field");
}

#[test]
fn a_verified_but_wrong_report_response_wipes_the_key() {
    for act in [
        Act::ReportStatus(0x16),
        Act::ReportStatus(0x27),
        Act::ShortReport,
        Act::WrongReportData,
    ] {
        let mut reports = SnpReports::new(requester(), FakePsp::new(&[act]));
        assert!(reports.report(&[1; 64]).is_err(), "{act:?}");
        assert!(reports.requester().is_wiped(), "{act:?}");
        assert!(matches!(
            reports.last_error(),
            Some(GuestRequestError::Payload(_))
        ));
        assert_eq!(
            reports.report(&[1; 64]),
            Err(crate::service::ServiceError::Report(
                "VMPCK0 was wiped by an earlier failure"
            ))
        );
    }
}
