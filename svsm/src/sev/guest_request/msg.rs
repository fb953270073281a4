//! SNP guest messages (SNP ABI 56860, section "SNP_GUEST_REQUEST", tables "Message Header
//! Format", "AEAD Algorithm Encodings", "Message Type Encodings", and in section "Attestation"
//! the tables "MSG_REPORT_REQ Message Structure" and "MSG_REPORT_RSP Message Structure").
//!
//! A message is one 4 KiB page: a 0x60-byte header, then the payload encrypted with AES-256-GCM
//! under the VMPCK named in the header. The 96-bit IV is the message sequence number,
//! little-endian, in its first eight bytes, the rest zero; the additional authenticated data
//! is the header from the ALGO field (0x30) to its end (0x60); the 16-byte tag goes in the
//! first 16 bytes of AUTHTAG. MSG_SEQNO itself is not in the AAD: it is bound through the IV.
//!
//! [`seal`] and [`open`] are pure functions over private pages; the state machine that decides
//! which sequence number to use, and wipes the key, is [`super::GuestRequester`].

use crate::sev::secrets::Vmpck;
use aes_gcm::aead::AeadInPlace;
use aes_gcm::{Aes256Gcm, KeyInit, Nonce, Tag};
use core::mem::{offset_of, size_of};

/// A guest message occupies one page.
pub const MSG_PAGE_SIZE: usize = 4096;
/// The header's size (HDR_SIZE for header version 1).
pub const HDR_SIZE: usize = 0x60;
/// The largest payload a page holds.
pub const MAX_PAYLOAD: usize = MSG_PAGE_SIZE - HDR_SIZE;
/// Header version 1.
pub const HDR_VERSION: u8 = 1;
/// AEAD algorithm 1: AES-256-GCM ("AEAD Algorithm Encodings"; 0 is invalid).
pub const ALGO_AES_256_GCM: u8 = 1;
/// AES-GCM's tag length.
pub const TAG_SIZE: usize = 16;
/// Start of the additional authenticated data: the ALGO field.
pub const AAD_START: usize = offset_of!(MsgHeader, algo);

/// The message header ("Message Header Format").
#[repr(C, packed)]
#[derive(Debug, Clone, Copy)]
pub struct MsgHeader {
    /// The authentication tag; AES-256-GCM uses the first 16 bytes, the rest are zero.
    pub authtag: [u8; 32],
    /// The message sequence number: the IV.
    pub msg_seqno: u64,
    pub reserved_028: [u8; 8],
    /// The AEAD algorithm.
    pub algo: u8,
    pub hdr_version: u8,
    pub hdr_size: u16,
    pub msg_type: u8,
    pub msg_version: u8,
    /// The payload's size in bytes (without the tag).
    pub msg_size: u16,
    pub reserved_038: u32,
    /// The VMPCK protecting the message: 0 for the SVSM, which runs at VMPL0.
    pub msg_vmpck: u8,
    pub reserved_03d: [u8; 35],
}

const _: () = assert!(offset_of!(MsgHeader, authtag) == 0x00);
const _: () = assert!(offset_of!(MsgHeader, msg_seqno) == 0x20);
const _: () = assert!(offset_of!(MsgHeader, algo) == 0x30);
const _: () = assert!(offset_of!(MsgHeader, hdr_version) == 0x31);
const _: () = assert!(offset_of!(MsgHeader, hdr_size) == 0x32);
const _: () = assert!(offset_of!(MsgHeader, msg_type) == 0x34);
const _: () = assert!(offset_of!(MsgHeader, msg_version) == 0x35);
const _: () = assert!(offset_of!(MsgHeader, msg_size) == 0x36);
const _: () = assert!(offset_of!(MsgHeader, msg_vmpck) == 0x3c);
const _: () = assert!(size_of::<MsgHeader>() == HDR_SIZE);

const SEQNO: usize = offset_of!(MsgHeader, msg_seqno);
const ALGO: usize = offset_of!(MsgHeader, algo);
const HDR_VERSION_AT: usize = offset_of!(MsgHeader, hdr_version);
const HDR_SIZE_AT: usize = offset_of!(MsgHeader, hdr_size);
const MSG_TYPE: usize = offset_of!(MsgHeader, msg_type);
const MSG_VERSION: usize = offset_of!(MsgHeader, msg_version);
const MSG_SIZE: usize = offset_of!(MsgHeader, msg_size);
const MSG_VMPCK: usize = offset_of!(MsgHeader, msg_vmpck);

/// The message types used here ("Message Type Encodings").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum MsgType {
    /// `MSG_REPORT_REQ`.
    ReportReq = 5,
    /// `MSG_REPORT_RSP`.
    ReportRsp = 6,
}

impl MsgType {
    /// The type of the PSP's answer to a request of this type; `None` for a response type.
    pub const fn response(self) -> Option<MsgType> {
        match self {
            MsgType::ReportReq => Some(MsgType::ReportRsp),
            MsgType::ReportRsp => None,
        }
    }
}

/// The VMPCK this firmware uses: VMPCK0, as the SVSM runs at VMPL0.
pub const VMPCK_ID: u8 = 0;

/// `MSG_REPORT_REQ` (version 1).
#[repr(C, packed)]
#[derive(Debug, Clone, Copy)]
pub struct ReportReq {
    /// Guest data the report carries.
    pub report_data: [u8; 64],
    /// The VMPL the report is for; at least the requester's VMPL.
    pub vmpl: u32,
    /// Bits 1:0 KEY_SEL: 0 the VLEK if one is installed, else the VCEK; 1 the VCEK; 2 the VLEK.
    pub key_sel: u32,
    pub reserved: [u8; 24],
}

const _: () = assert!(offset_of!(ReportReq, report_data) == 0x00);
const _: () = assert!(offset_of!(ReportReq, vmpl) == 0x40);
const _: () = assert!(offset_of!(ReportReq, key_sel) == 0x44);
const _: () = assert!(offset_of!(ReportReq, reserved) == 0x48);
const _: () = assert!(size_of::<ReportReq>() == REPORT_REQ_SIZE);

/// Bytes of `MSG_REPORT_REQ`.
pub const REPORT_REQ_SIZE: usize = 0x60;
/// `MSG_REPORT_REQ` version.
pub const REPORT_REQ_VERSION: u8 = 1;

impl ReportReq {
    /// The request's bytes.
    pub fn to_bytes(&self) -> [u8; REPORT_REQ_SIZE] {
        let mut b = [0u8; REPORT_REQ_SIZE];
        b[..0x40].copy_from_slice(&self.report_data);
        b[0x40..0x44].copy_from_slice(&{ self.vmpl }.to_le_bytes());
        b[0x44..0x48].copy_from_slice(&{ self.key_sel }.to_le_bytes());
        b
    }
}

/// The `ATTESTATION_REPORT` size.
pub const REPORT_SIZE: usize = evidence::report::offset::SIZE;

/// `MSG_REPORT_RSP`: a status, the report's size, and the report.
#[repr(C, packed)]
#[derive(Debug, Clone, Copy)]
pub struct ReportRsp {
    /// 0 success, 0x16 `INVALID_PARAMETERS`, 0x27 `INVALID_KEY_SELECTION`.
    pub status: u32,
    pub report_size: u32,
    pub reserved: [u8; 24],
    pub report: [u8; REPORT_SIZE],
}

const _: () = assert!(offset_of!(ReportRsp, status) == 0x00);
const _: () = assert!(offset_of!(ReportRsp, report_size) == 0x04);
const _: () = assert!(offset_of!(ReportRsp, reserved) == 0x08);
const _: () = assert!(offset_of!(ReportRsp, report) == REPORT_RSP_REPORT);
const _: () = assert!(size_of::<ReportRsp>() == REPORT_RSP_SIZE);

/// Offset of the report in `MSG_REPORT_RSP`.
pub const REPORT_RSP_REPORT: usize = 0x20;
/// Bytes of `MSG_REPORT_RSP` with a whole report.
pub const REPORT_RSP_SIZE: usize = REPORT_RSP_REPORT + REPORT_SIZE;

/// Why a message could not be sealed, or a response was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MsgError {
    /// A payload larger than a page holds, or than the caller's buffer.
    Size(usize),
    /// A header field other than expected: which one, and what it held.
    Header(&'static str, u64),
    /// The tag did not verify: the message was not made with this key, IV and header.
    Tag,
}

/// The IV of the message with sequence number `seqno`.
pub fn iv(seqno: u64) -> [u8; 12] {
    let mut iv = [0u8; 12];
    iv[..8].copy_from_slice(&seqno.to_le_bytes());
    iv
}

fn cipher(key: &Vmpck) -> Aes256Gcm {
    Aes256Gcm::new(key.bytes().into())
}

/// Writes into `page` the message of `msg_type`, `version`, sequence number `seqno` carrying
/// `payload`, encrypted under `key`. The rest of the page is zeroed.
pub fn seal(
    key: &Vmpck,
    seqno: u64,
    msg_type: MsgType,
    version: u8,
    payload: &[u8],
    page: &mut [u8; MSG_PAGE_SIZE],
) -> Result<(), MsgError> {
    if payload.len() > MAX_PAYLOAD {
        return Err(MsgError::Size(payload.len()));
    }
    page.fill(0);
    page[SEQNO..SEQNO + 8].copy_from_slice(&seqno.to_le_bytes());
    page[ALGO] = ALGO_AES_256_GCM;
    page[HDR_VERSION_AT] = HDR_VERSION;
    page[HDR_SIZE_AT..HDR_SIZE_AT + 2].copy_from_slice(&(HDR_SIZE as u16).to_le_bytes());
    page[MSG_TYPE] = msg_type as u8;
    page[MSG_VERSION] = version;
    // payload.len() <= MAX_PAYLOAD < 65536.
    page[MSG_SIZE..MSG_SIZE + 2].copy_from_slice(&(payload.len() as u16).to_le_bytes());
    page[MSG_VMPCK] = VMPCK_ID;
    let (header, body) = page.split_at_mut(HDR_SIZE);
    let body = &mut body[..payload.len()];
    body.copy_from_slice(payload);
    let tag = cipher(key)
        .encrypt_in_place_detached(Nonce::from_slice(&iv(seqno)), &header[AAD_START..], body)
        .map_err(|_| MsgError::Size(payload.len()))?;
    header[..TAG_SIZE].copy_from_slice(&tag);
    Ok(())
}

/// What a response must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expected {
    pub seqno: u64,
    pub msg_type: MsgType,
    pub version: u8,
}

/// Checks the header of the message in `page` against `expected` and decrypts its payload into
/// `out`; returns the payload's size. `page` must be a private copy: the hypervisor can change
/// the shared page at any time. On any error `out` holds no plaintext.
pub fn open(
    key: &Vmpck,
    page: &[u8; MSG_PAGE_SIZE],
    expected: &Expected,
    out: &mut [u8],
) -> Result<usize, MsgError> {
    let u16_at = |at: usize| u16::from_le_bytes([page[at], page[at + 1]]);
    let mut seqno = [0u8; 8];
    seqno.copy_from_slice(&page[SEQNO..SEQNO + 8]);
    let checks: [(&'static str, u64, u64); 7] = [
        ("MSG_SEQNO", u64::from_le_bytes(seqno), expected.seqno),
        ("ALGO", page[ALGO].into(), ALGO_AES_256_GCM.into()),
        (
            "HDR_VERSION",
            page[HDR_VERSION_AT].into(),
            HDR_VERSION.into(),
        ),
        ("HDR_SIZE", u16_at(HDR_SIZE_AT).into(), HDR_SIZE as u64),
        ("MSG_TYPE", page[MSG_TYPE].into(), expected.msg_type as u64),
        (
            "MSG_VERSION",
            page[MSG_VERSION].into(),
            expected.version.into(),
        ),
        ("MSG_VMPCK", page[MSG_VMPCK].into(), VMPCK_ID.into()),
    ];
    for (field, got, want) in checks {
        if got != want {
            return Err(MsgError::Header(field, got));
        }
    }
    let size = usize::from(u16_at(MSG_SIZE));
    if size > MAX_PAYLOAD || size > out.len() {
        return Err(MsgError::Size(size));
    }
    let (header, body) = page.split_at(HDR_SIZE);
    let out = &mut out[..size];
    out.copy_from_slice(&body[..size]);
    let result = cipher(key).decrypt_in_place_detached(
        Nonce::from_slice(&iv(expected.seqno)),
        &header[AAD_START..],
        out,
        Tag::from_slice(&header[..TAG_SIZE]),
    );
    if result.is_err() {
        out.fill(0);
        return Err(MsgError::Tag);
    }
    Ok(size)
}
