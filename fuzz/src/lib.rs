//! Shared pieces of the evtpm fuzz targets: a deterministic platform, a command builder, the
//! response well-formedness check, a byte cursor for structure-aware targets and an in-memory
//! stream for the `evtpm serve` framings.

pub mod seq;
pub mod stream;
pub mod svsm;

use std::cell::Cell;
use vtpm::{Config, Platform, PlatformError, Tpm};

/// `TPM_ST_NO_SESSIONS`, `TPM_ST_SESSIONS`.
pub const ST_NO_SESSIONS: u16 = 0x8001;
pub const ST_SESSIONS: u16 = 0x8002;
/// `TPM_RS_PW`.
pub const RS_PW: u32 = 0x4000_0009;
/// Response buffer of `engine_*`: the engine's `MAX_RESPONSE_SIZE`.
pub const RSP_SIZE: usize = 4096;

/// A deterministic platform: a counter as entropy, a clock that ticks once per reading. Two
/// TPMs manufactured from it and given the same commands answer byte for byte the same.
#[derive(Debug, Default)]
pub struct TestPlatform {
    next: u8,
    now: Cell<u64>,
}

impl Platform for TestPlatform {
    fn entropy(&mut self, buf: &mut [u8]) -> Result<(), PlatformError> {
        for b in buf {
            self.next = self.next.wrapping_add(1);
            *b = self.next;
        }
        Ok(())
    }
    fn monotonic_ms(&self) -> u64 {
        self.now.set(self.now.get() + 1);
        self.now.get()
    }
}

/// The resource limits every fuzzed TPM is manufactured with.
pub fn config() -> Config {
    Config::default()
}

/// A freshly manufactured TPM on [`TestPlatform`], not yet started.
pub fn manufacture() -> Tpm<TestPlatform> {
    match Tpm::manufacture(config(), TestPlatform::default()) {
        Ok(t) => t,
        Err(e) => panic!("manufacture failed: {e:?}"),
    }
}

/// `TPM2_Startup(TPM_SU_CLEAR)`.
pub const STARTUP_CLEAR: [u8; 12] = [0x80, 0x01, 0, 0, 0, 12, 0, 0, 0x01, 0x44, 0, 0];

pub fn be16(b: &[u8]) -> u16 {
    u16::from_be_bytes([b[0], b[1]])
}

pub fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

/// The response code of a response already checked by [`check_response`].
pub fn rc(rsp: &[u8]) -> u32 {
    be32(&rsp[6..10])
}

/// Asserts that `rsp` is a well-formed response to `command` (Part 1, 18.4 and 18.8): at least a
/// header, the size field equal to its length, tag `TPM_ST_NO_SESSIONS` or `TPM_ST_SESSIONS`; an
/// error is a bare 10-byte header with `TPM_ST_NO_SESSIONS`, and a success carries sessions
/// exactly when the command did.
pub fn check_response(command: &[u8], rsp: &[u8]) {
    assert!(
        rsp.len() >= 10,
        "response shorter than a header: {rsp:02x?}"
    );
    assert!(rsp.len() <= RSP_SIZE, "response of {} bytes", rsp.len());
    let size = be32(&rsp[2..6]) as usize;
    assert_eq!(size, rsp.len(), "size field {size} != length {}", rsp.len());
    let tag = be16(rsp);
    assert!(
        tag == ST_NO_SESSIONS || tag == ST_SESSIONS,
        "response tag {tag:#06x}"
    );
    if rc(rsp) != 0 {
        assert_eq!(rsp.len(), 10, "error response with a body: {rsp:02x?}");
        assert_eq!(tag, ST_NO_SESSIONS, "error response with TPM_ST_SESSIONS");
    } else {
        let ctag = command.get(..2).map(be16);
        assert_eq!(
            Some(tag),
            ctag,
            "success response tag differs from the command's"
        );
    }
}

/// Runs `command` and checks the response; returns it.
pub fn exec<P: Platform>(tpm: &mut Tpm<P>, locality: u8, command: &[u8]) -> Vec<u8> {
    let mut out = [0u8; RSP_SIZE];
    let n = tpm.execute(locality, command, &mut out);
    let rsp = &out[..n.min(RSP_SIZE)];
    assert_eq!(
        n,
        rsp.len(),
        "execute returned {n} for a {RSP_SIZE}-byte buffer"
    );
    check_response(command, rsp);
    rsp.to_vec()
}

/// Asserts that the TPM holds no more transient objects and sessions than its configuration
/// allows (`TPM_CAP_HANDLES` for transient, loaded and saved session handles) and that
/// `TPM_PT_HR_TRANSIENT_AVAIL` agrees. Does nothing unless the TPM is started.
pub fn check_resources<P: Platform>(tpm: &mut Tpm<P>) {
    if !tpm.is_started() {
        return;
    }
    let cfg = config();
    let transient = handles(tpm, 0x8000_0000);
    assert!(
        transient <= cfg.max_objects,
        "{transient} transient objects loaded, max {}",
        cfg.max_objects
    );
    let sessions = handles(tpm, 0x0200_0000) + handles(tpm, 0x0300_0000);
    assert!(
        sessions <= cfg.max_sessions,
        "{sessions} sessions, max {}",
        cfg.max_sessions
    );
    // TPM_CAP_TPM_PROPERTIES, TPM_PT_HR_TRANSIENT_AVAIL (0x207), one property.
    let r = exec(
        tpm,
        0,
        &Cmd::new(ST_NO_SESSIONS, 0x17A)
            .u32(6)
            .u32(0x207)
            .u32(1)
            .done(),
    );
    if rc(&r) == 0 && r.len() >= 27 && be32(&r[19..23]) == 0x207 {
        let avail = be32(&r[23..27]) as usize;
        assert_eq!(
            avail + transient,
            cfg.max_objects,
            "HR_TRANSIENT_AVAIL {avail} with {transient} loaded"
        );
    }
}

/// How many handles `TPM_CAP_HANDLES` lists from `first` on (up to 255).
fn handles<P: Platform>(tpm: &mut Tpm<P>, first: u32) -> usize {
    let r = exec(
        tpm,
        0,
        &Cmd::new(ST_NO_SESSIONS, 0x17A)
            .u32(1)
            .u32(first)
            .u32(255)
            .done(),
    );
    if rc(&r) != 0 {
        return 0;
    }
    // moreData (1), capability (4), count (4), handles.
    let count = be32(&r[15..19]) as usize;
    assert_eq!(r.len(), 19 + 4 * count, "TPM_CAP_HANDLES response length");
    let listed = r[19..].chunks(4).filter(|h| be32(h) >> 24 == first >> 24);
    listed.count()
}

/// Builds a command: header, then fields; [`Cmd::done`] patches the size.
#[derive(Debug, Clone)]
pub struct Cmd(Vec<u8>);

impl Cmd {
    pub fn new(tag: u16, cc: u32) -> Cmd {
        let mut v = Vec::with_capacity(64);
        v.extend_from_slice(&tag.to_be_bytes());
        v.extend_from_slice(&[0; 4]);
        v.extend_from_slice(&cc.to_be_bytes());
        Cmd(v)
    }
    pub fn u8(mut self, v: u8) -> Cmd {
        self.0.push(v);
        self
    }
    pub fn u16(mut self, v: u16) -> Cmd {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub fn u32(mut self, v: u32) -> Cmd {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub fn bytes(mut self, b: &[u8]) -> Cmd {
        self.0.extend_from_slice(b);
        self
    }
    /// A `TPM2B`: u16 size, then `b`.
    pub fn sized(self, b: &[u8]) -> Cmd {
        self.u16(b.len() as u16).bytes(b)
    }
    /// An authorization area of password sessions (`TPM_RS_PW`, empty nonce, `attrs`,
    /// the password as `hmac`).
    pub fn pw(mut self, auths: &[(&[u8], u8)]) -> Cmd {
        let size: usize = auths.iter().map(|(a, _)| 9 + a.len()).sum();
        self = self.u32(size as u32);
        for (a, attrs) in auths {
            self = self.u32(RS_PW).sized(&[]).u8(*attrs).sized(a);
        }
        self
    }
    pub fn done(mut self) -> Vec<u8> {
        let n = self.0.len() as u32;
        self.0[2..6].copy_from_slice(&n.to_be_bytes());
        self.0
    }
}

/// Reads fuzzer bytes as choices; past the end every read is zero.
#[derive(Debug)]
pub struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Cursor { data, pos: 0 }
    }
    pub fn is_empty(&self) -> bool {
        self.pos >= self.data.len()
    }
    pub fn u8(&mut self) -> u8 {
        let b = self.data.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        b
    }
    pub fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.u8(), self.u8()])
    }
    pub fn u32(&mut self) -> u32 {
        u32::from_be_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }
    pub fn bool(&mut self) -> bool {
        self.u8() & 1 != 0
    }
    /// One of `items`.
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.u8() as usize % items.len()]
    }
    /// Up to `max` bytes: usually a short run taken from the input, sometimes a long one that a
    /// counter pattern completes once the input runs out (so large buffers cost no input).
    pub fn bytes(&mut self, max: usize) -> Vec<u8> {
        let want = match self.u8() {
            0..=199 => self.u8() as usize % 65,
            200..=249 => self.u16() as usize,
            _ => max,
        }
        .min(max);
        let start = self.pos.min(self.data.len());
        let end = (start + want).min(self.data.len());
        self.pos = start + want;
        let mut v = self.data[start..end].to_vec();
        v.extend((v.len()..want).map(|i| i as u8));
        v
    }
}
