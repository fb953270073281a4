//! SNP guest requests under VMPCK0: the SVSM's own channel to the PSP (SNP ABI 56860,
//! "SNP_GUEST_REQUEST"; carried by the GHCB spec 56421 "SNP Guest Request" and "SNP Extended
//! Guest Request" NAE events).
//!
//! [`GuestRequester`] owns VMPCK0 and the message sequence number. AES-GCM falls apart if an IV
//! is ever used for two different messages, and the IV is the sequence number, so:
//!
//! * a request carries sequence number *n* + 1 (with *n* the last one accounted for), its
//!   response must carry *n* + 2, and only a response that verifies advances *n* by two;
//! * once a request is sealed, every way out other than a verified response — a wrong sequence
//!   number, a bad tag, a wrong type, version or size, a firmware or hypervisor error, a BUSY
//!   that does not clear, an INVALID_LEN resend that fails, a transport failure — **wipes
//!   VMPCK0**: the sealed request may have reached the PSP or not, so *n* is no longer known,
//!   and a key whose next IV is unknown must never encrypt again. Every later request fails
//!   before anything is sealed;
//! * BUSY (the hypervisor throttled the request) resends the *same* sealed page, never a new
//!   encryption: same IV, same bytes, nothing new revealed;
//! * INVALID_LEN (an extended request whose certificate buffer is too small: the hypervisor did
//!   not forward it) resends the same sealed page as a plain request, so that the PSP consumes
//!   the sequence number, and reports how many pages the certificates need.
//!
//! Arguments refused before anything is sealed (a payload too large for a page, a response
//! type given as a request) leave the key alone: no IV was used.
//!
//! The exchange itself — copying the pages to shared memory, filling the GHCB, VMGEXIT — is
//! behind [`Transport`], so the state machine runs on the host against a fake PSP.

pub mod ghcb_transport;
pub mod msg;
pub mod report;
#[cfg(test)]
mod tests;

use self::msg::{Expected, MsgError, MsgType, MSG_PAGE_SIZE};
use crate::sev::secrets::Vmpck;
use alloc::boxed::Box;

/// BUSY answers tolerated for one request before it is given up (and the key wiped).
pub const MAX_BUSY_RETRIES: u32 = 1000;

/// SW_EXITINFO2 after a guest request: bits 63:32 the hypervisor's error, 31:0 the firmware's
/// (GHCB spec, "SNP Guest Request").
pub mod exit_info2 {
    /// The hypervisor's error: the extended request's certificate buffer is too small (RBX
    /// holds the pages needed); the request was not forwarded.
    pub const INVALID_LEN: u64 = 1 << 32;
    /// The hypervisor's error: busy (throttled); the request was not forwarded.
    pub const BUSY: u64 = 2 << 32;
}

/// What the hypervisor answered for one exit, as the transport read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExitStatus {
    /// SW_EXITINFO2.
    pub exit_info2: u64,
    /// RBX, for an extended request (the certificate pages needed after INVALID_LEN).
    pub rbx: u64,
}

/// The transport could not complete an exit (GHCB-level failure, a result field missing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransportError(pub &'static str);

/// Hands sealed request pages to the PSP and brings response pages back.
pub trait Transport {
    /// Makes `request` the request page, issues the SNP Guest Request (or, with `certs`, the SNP
    /// Extended Guest Request with `certs.len() / 4096` certificate pages), and copies the
    /// response page into `response` (and the certificate pages into `certs`) once the
    /// hypervisor is back.
    fn exchange(
        &mut self,
        request: &[u8; MSG_PAGE_SIZE],
        response: &mut [u8; MSG_PAGE_SIZE],
        certs: Option<&mut [u8]>,
    ) -> Result<ExitStatus, TransportError>;

    /// Called before the `attempt`th resend after BUSY (1, 2, ...): a pause, where the platform
    /// has a way to pause.
    fn backoff(&mut self, _attempt: u32) {}
}

/// Why a request failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuestRequestError {
    /// VMPCK0 was wiped by an earlier failure (or never given): nothing was sent.
    KeyWiped,
    /// Refused before sealing (payload too large, not a request type, certificate buffer not
    /// whole pages): nothing was sent and the key is kept.
    BadArgument,
    /// The sequence number would overflow.
    SequenceExhausted,
    /// The transport failed.
    Transport(TransportError),
    /// The PSP's error code (`SW_EXITINFO2[31:0]`).
    Firmware(u32),
    /// The hypervisor's error code (`SW_EXITINFO2[63:32]`), other than a handled BUSY or
    /// INVALID_LEN.
    Hypervisor(u32),
    /// Still BUSY after [`MAX_BUSY_RETRIES`] resends.
    Busy,
    /// The response was refused.
    Response(MsgError),
    /// The caller refused the decrypted payload (see [`GuestRequester::wipe`]).
    Payload(&'static str),
}

/// The certificate pages of an extended request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Certificates {
    /// A plain request: none asked for.
    NotRequested,
    /// The hypervisor wrote them into the buffer.
    Written,
    /// The buffer was too small; the certificates need this many pages. The request itself was
    /// resent as a plain request and its response is valid.
    TooSmall { pages: u64 },
}

/// A verified response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Response {
    /// Bytes of decrypted payload in the caller's buffer.
    pub len: usize,
    pub certificates: Certificates,
}

/// The SVSM's VMPCK0 channel. See the module documentation for the rules it keeps.
pub struct GuestRequester {
    /// `None` once wiped; [`Vmpck`] zeroes itself when dropped.
    vmpck0: Option<Vmpck>,
    /// The last sequence number accounted for: that of the last verified response (0 before
    /// the first request).
    seqno: u64,
    /// The sealed request, kept private and resent byte for byte on BUSY and INVALID_LEN.
    request: Box<[u8; MSG_PAGE_SIZE]>,
    /// A private copy of the response page.
    response: Box<[u8; MSG_PAGE_SIZE]>,
}

impl core::fmt::Debug for GuestRequester {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("GuestRequester")
            .field("wiped", &self.is_wiped())
            .field("seqno", &self.seqno)
            .finish_non_exhaustive()
    }
}

enum Outcome {
    Forwarded,
    Busy,
    InvalidLen(u64),
    Failed(GuestRequestError),
}

/// Reads SW_EXITINFO2 (and RBX) after an exit. INVALID_LEN only means something for an
/// extended request.
fn classify(status: ExitStatus, extended: bool) -> Outcome {
    match status.exit_info2 {
        0 => Outcome::Forwarded,
        exit_info2::BUSY => Outcome::Busy,
        exit_info2::INVALID_LEN if extended => Outcome::InvalidLen(status.rbx),
        v if v >> 32 != 0 => Outcome::Failed(GuestRequestError::Hypervisor((v >> 32) as u32)),
        v => Outcome::Failed(GuestRequestError::Firmware(v as u32)),
    }
}

impl GuestRequester {
    /// The channel of a fresh guest, whose VMPCK0 has protected no message yet.
    pub fn new(vmpck0: Vmpck) -> GuestRequester {
        GuestRequester {
            vmpck0: (!vmpck0.is_zero()).then_some(vmpck0),
            seqno: 0,
            request: Box::new([0; MSG_PAGE_SIZE]),
            response: Box::new([0; MSG_PAGE_SIZE]),
        }
    }

    #[cfg(test)]
    pub(crate) fn with_seqno(vmpck0: Vmpck, seqno: u64) -> GuestRequester {
        GuestRequester {
            seqno,
            ..GuestRequester::new(vmpck0)
        }
    }

    /// The last sequence number accounted for.
    pub fn seqno(&self) -> u64 {
        self.seqno
    }

    /// Whether VMPCK0 is gone.
    pub fn is_wiped(&self) -> bool {
        self.vmpck0.is_none()
    }

    /// Destroys VMPCK0: no request is ever sealed again. For callers that refuse a response
    /// after it verified (a report of the wrong size, a failed status), so that *any* failure
    /// ends the channel.
    pub fn wipe(&mut self) {
        self.vmpck0 = None;
    }

    fn fail(&mut self, e: GuestRequestError) -> GuestRequestError {
        self.wipe();
        e
    }

    /// Sends `payload` as a message of `msg_type` and `version`, and decrypts the verified
    /// response into `response`. With `certs` (whole 4 KiB pages) the request is an extended
    /// one and the certificates land there.
    pub fn request(
        &mut self,
        transport: &mut dyn Transport,
        msg_type: MsgType,
        version: u8,
        payload: &[u8],
        response: &mut [u8],
        mut certs: Option<&mut [u8]>,
    ) -> Result<Response, GuestRequestError> {
        let key = self.vmpck0.as_ref().ok_or(GuestRequestError::KeyWiped)?;
        let response_type = msg_type.response().ok_or(GuestRequestError::BadArgument)?;
        if let Some(c) = certs.as_deref() {
            if c.is_empty() || c.len() % MSG_PAGE_SIZE != 0 {
                return Err(GuestRequestError::BadArgument);
            }
        }
        let (Some(seqno), Some(response_seqno)) =
            (self.seqno.checked_add(1), self.seqno.checked_add(2))
        else {
            return Err(self.fail(GuestRequestError::SequenceExhausted));
        };
        msg::seal(key, seqno, msg_type, version, payload, &mut self.request)
            .map_err(|_| GuestRequestError::BadArgument)?;

        // From here on the sealed request may reach the PSP: every failure wipes the key.
        let mut certificates = match certs {
            Some(_) => Certificates::Written,
            None => Certificates::NotRequested,
        };
        let mut busy = 0u32;
        loop {
            let status =
                transport.exchange(&self.request, &mut self.response, certs.as_deref_mut());
            let status = match status {
                Ok(s) => s,
                Err(e) => return Err(self.fail(GuestRequestError::Transport(e))),
            };
            match classify(status, certs.is_some()) {
                Outcome::Forwarded => break,
                Outcome::Busy => {
                    busy += 1;
                    if busy > MAX_BUSY_RETRIES {
                        return Err(self.fail(GuestRequestError::Busy));
                    }
                    transport.backoff(busy);
                }
                Outcome::InvalidLen(pages) => {
                    // Not forwarded: resend the same sealed page as a plain request, so the PSP
                    // consumes this sequence number (GHCB spec, "SNP Extended Guest Request").
                    certificates = Certificates::TooSmall { pages };
                    certs = None;
                }
                Outcome::Failed(e) => return Err(self.fail(e)),
            }
        }

        let expected = Expected {
            seqno: response_seqno,
            msg_type: response_type,
            version,
        };
        let Some(key) = self.vmpck0.as_ref() else {
            return Err(GuestRequestError::KeyWiped);
        };
        match msg::open(key, &self.response, &expected, response) {
            Ok(len) => {
                self.seqno = response_seqno;
                Ok(Response { len, certificates })
            }
            Err(e) => Err(self.fail(GuestRequestError::Response(e))),
        }
    }
}
