//! `evtpm serve --firmware IMAGE`: the evtpm firmware booted under QEMU (TCG, no SEV) as the
//! engine behind the serve front-ends.
//!
//! The firmware serves the `qemu-test` platform on its second serial port (protocol in
//! `svsm/src/platform/qemu_test.rs`; the codec is shared through the `svsm` crate). This side
//! plays the guest: for every TPM command it writes the SVSM vTPM request (SVSM spec table 16)
//! into a guest page, sets `call_pending` in the calling area, issues `SVSM_VTPM_CMD` with
//! RCX = that page, and reads the response (table 17) back from the page — what Linux's
//! `tpm_svsm` driver does.
//!
//! Power signals (mssim `POWER_ON`/`POWER_OFF`, swtpm `CMD_INIT`) and cancel reach the engine
//! through the platform's `SIGNAL` frame: the TPM keeps its seeds across a power cycle, as the
//! in-process engine does; QEMU is not restarted.
//!
//! QEMU runs under a small `sh` watcher that kills it when this process's end of the watcher's
//! stdin closes, so QEMU never outlives `evtpm serve`, however it ends.

use super::machine::Backend;
use super::TPM_RC_FAILURE;
use crate::wire;
use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};
use svsm::platform::qemu_test::{
    kind, signal, Decoder, Frame, Status, MAX_PAYLOAD, READY_LINE, REQUEST_MAGIC, RESPONSE_MAGIC,
};
use svsm::protocol::vtpm::SVSM_VTPM_CMD;
use svsm::protocol::{Registers, SvsmError, SVSM_VTPM_PROTOCOL};
use tpm_proto::framing::svsm as vtpm_wire;

/// `TPM_RC_LOCALITY`: the SVSM vTPM serves locality 0 only.
const TPM_RC_LOCALITY: u32 = 0x907;
/// `TPM_RC_COMMAND_SIZE`: the command does not fit the request page.
const TPM_RC_COMMAND_SIZE: u32 = 0x142;
/// The largest chunk one `WRITE`/`READ` frame carries (one page).
const CHUNK: usize = 4096;

/// How to start the firmware.
#[derive(Debug, Clone)]
pub struct FirmwareOptions {
    /// The SVSM ELF image (`make firmware`).
    pub image: PathBuf,
    /// The QEMU binary.
    pub qemu: PathBuf,
    /// Where to keep the firmware's COM1 log; a temporary file when `None`.
    pub log: Option<PathBuf>,
    /// How long boot and manufacture may take.
    pub ready_timeout: Duration,
    /// How long one frame exchange may take (a command under TCG may be slow).
    pub io_timeout: Duration,
    /// vCPUs (QEMU `-smp`): the firmware serves `CALL_ON` on each.
    pub smp: u32,
}

impl FirmwareOptions {
    pub fn new(image: PathBuf) -> FirmwareOptions {
        FirmwareOptions {
            image,
            qemu: std::env::var_os("QEMU")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("qemu-system-x86_64")),
            log: None,
            ready_timeout: Duration::from_secs(300),
            io_timeout: Duration::from_secs(300),
            smp: 1,
        }
    }
}

/// The running firmware and the serial link to it.
#[derive(Debug)]
pub struct Firmware {
    watcher: Child,
    /// Closing this ends QEMU (see the module doc).
    lifeline: Option<ChildStdin>,
    link: UnixStream,
    decoder: Decoder,
    /// Frames [`Firmware::receive`] decoded but not yet returned.
    received: std::collections::VecDeque<Frame>,
    seq: u16,
    /// The calling area's GPA.
    caa: u64,
    /// The guest page that carries vTPM requests and responses.
    page: u64,
    /// The link lost step or the firmware died: every command fails from now on.
    broken: bool,
    dir: PathBuf,
    log: PathBuf,
    /// Milliseconds from starting QEMU to the firmware's ready line.
    pub boot_ms: u128,
}

/// What went wrong talking to the firmware.
#[derive(Debug)]
pub enum BridgeError {
    Io(io::Error),
    /// The firmware answered a frame with a non-OK status.
    Status(u8, Vec<u8>),
    /// The SVSM call failed with this RAX.
    Svsm(u64),
    /// The response page is malformed.
    BadResponse,
}

impl std::fmt::Display for BridgeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BridgeError::Io(e) => write!(f, "serial link: {e}"),
            BridgeError::Status(s, p) => write!(
                f,
                "firmware answered {:?} {p:02x?}",
                Status::from_u8(*s).map_or("unknown status", |s| match s {
                    Status::Ok => "Ok",
                    Status::BadFrame => "BadFrame",
                    Status::BadKind => "BadKind",
                    Status::BadPayload => "BadPayload",
                    Status::Memory => "Memory",
                    Status::NoCall => "NoCall",
                    Status::NoVcpu => "NoVcpu",
                })
            ),
            BridgeError::Svsm(rax) => match SvsmError::from_code(*rax) {
                Some(e) => write!(f, "SVSM call failed: {} ({rax:#x})", e.name()),
                None => write!(f, "SVSM call failed: {rax:#x}"),
            },
            BridgeError::BadResponse => f.write_str("malformed vTPM response page"),
        }
    }
}

impl From<io::Error> for BridgeError {
    fn from(e: io::Error) -> Self {
        BridgeError::Io(e)
    }
}

/// Kills `"$@"` when stdin reaches EOF; exits with its status when it ends by itself.
const WATCHER: &str = r#"exec 3<&0
"$@" </dev/null &
pid=$!
( read -r _ ; kill "$pid" 2>/dev/null ) <&3 >/dev/null 2>&1 &
exec 3<&-
wait "$pid""#;

fn scratch_dir() -> io::Result<PathBuf> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!("evtpm-fw-{}-{nanos}", std::process::id()));
    fs::create_dir_all(&dir)?;
    Ok(dir)
}

impl Firmware {
    /// Boots the image and waits until it serves (its ready line on COM1), then asks it where
    /// the calling area and guest RAM are.
    pub fn start(opts: &FirmwareOptions) -> io::Result<Firmware> {
        if !opts.image.is_file() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!(
                    "no firmware image at {} (make firmware)",
                    opts.image.display()
                ),
            ));
        }
        let dir = scratch_dir()?;
        let sock = dir.join("com2.sock");
        let log = opts.log.clone().unwrap_or_else(|| dir.join("com1.log"));
        let _ = fs::remove_file(&log);
        let qemu_err = dir.join("qemu.stderr");
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(WATCHER)
            .arg("evtpm-qemu-watcher")
            .arg(&opts.qemu)
            .args([
                "-accel", "tcg", "-machine", "q35", "-cpu", "max", "-m", "256M",
            ])
            .arg("-smp")
            .arg(opts.smp.max(1).to_string())
            .args([
                "-nodefaults",
                "-display",
                "none",
                "-no-reboot",
                "-monitor",
                "none",
            ])
            .arg("-serial")
            .arg(format!("file:{}", log.display()))
            .arg("-serial")
            .arg(format!("unix:{},server=on,wait=on", sock.display()))
            .args(["-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"])
            .arg("-kernel")
            .arg(&opts.image)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(fs::File::create(&qemu_err)?);
        let t0 = Instant::now();
        let mut watcher = cmd.spawn()?;
        let lifeline = watcher.stdin.take();
        let deadline = t0 + opts.ready_timeout;

        let fail = |watcher: &mut Child, what: String| -> io::Error {
            let _ = watcher.kill();
            let qemu = fs::read_to_string(&qemu_err).unwrap_or_default();
            let com1 = fs::read_to_string(&log).unwrap_or_default();
            io::Error::other(format!(
                "firmware: {what}\n--- QEMU stderr ---\n{qemu}--- COM1 ---\n{com1}"
            ))
        };

        // QEMU waits for this connection before it runs the guest.
        let link = loop {
            if let Ok(Some(st)) = watcher.try_wait() {
                return Err(fail(&mut watcher, format!("QEMU exited ({st})")));
            }
            match UnixStream::connect(&sock) {
                Ok(s) => break s,
                Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
                Err(e) => return Err(fail(&mut watcher, format!("no serial socket: {e}"))),
            }
        };
        loop {
            if fs::read_to_string(&log).is_ok_and(|l| l.contains(READY_LINE)) {
                break;
            }
            if let Ok(Some(st)) = watcher.try_wait() {
                return Err(fail(
                    &mut watcher,
                    format!("QEMU exited before ready ({st})"),
                ));
            }
            if Instant::now() > deadline {
                return Err(fail(
                    &mut watcher,
                    format!("not ready within {:?}", opts.ready_timeout),
                ));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let boot_ms = t0.elapsed().as_millis();
        link.set_read_timeout(Some(opts.io_timeout))?;
        link.set_write_timeout(Some(opts.io_timeout))?;
        let mut fw = Firmware {
            watcher,
            lifeline,
            link,
            decoder: Decoder::new(RESPONSE_MAGIC),
            received: std::collections::VecDeque::new(),
            seq: 0,
            caa: 0,
            page: 0,
            broken: false,
            dir,
            log,
            boot_ms,
        };
        let hello = fw
            .exchange(kind::HELLO, &[])
            .map_err(|e| io::Error::other(format!("HELLO: {e}")))?;
        if hello.len() != 24 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "HELLO: short answer",
            ));
        }
        fw.caa = le64(&hello[0..]);
        let ram_start = le64(&hello[8..]);
        // The request page: the page after the calling area's, inside guest RAM.
        fw.page = (fw.caa & !0xfff).max(ram_start) + 0x1000;
        log::info!(
            "firmware {} ready in {boot_ms} ms (QEMU start to ready line); calling area {:#x}, \
             vTPM page {:#x}; COM1 log {}",
            opts.image.display(),
            fw.caa,
            fw.page,
            fw.log.display()
        );
        Ok(fw)
    }

    /// The firmware's COM1 log.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// Sends one request frame and returns the OK response's payload.
    fn exchange(&mut self, kind: u8, payload: &[u8]) -> Result<Vec<u8>, BridgeError> {
        if self.broken {
            return Err(BridgeError::Io(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "link to the firmware is down",
            )));
        }
        let r = self.exchange_inner(kind, payload);
        if let Err(BridgeError::Io(_)) = &r {
            self.broken = true;
        }
        r
    }

    fn exchange_inner(&mut self, kind: u8, payload: &[u8]) -> Result<Vec<u8>, BridgeError> {
        let seq = self.post(kind, payload)?;
        let f = self.receive()?;
        let out_of_step = |what: &str| {
            BridgeError::Io(io::Error::new(io::ErrorKind::InvalidData, what.to_owned()))
        };
        if !self.received.is_empty() {
            return Err(out_of_step("bytes after the response"));
        }
        if f.seq != seq || f.kind != kind {
            return Err(out_of_step("response out of step"));
        }
        if f.status == Status::Ok as u8 {
            Ok(f.payload)
        } else {
            Err(BridgeError::Status(f.status, f.payload))
        }
    }

    /// Sends one request frame without waiting for its response; returns its sequence number.
    /// For exchanges the bridge does not make (`CALL_ON` to several vCPUs at once); collect
    /// the responses with [`Firmware::receive`].
    pub fn post(&mut self, kind: u8, payload: &[u8]) -> io::Result<u16> {
        self.seq = self.seq.wrapping_add(1);
        let frame = Frame {
            kind,
            status: 0,
            seq: self.seq,
            payload: payload.to_vec(),
        };
        self.link.write_all(&frame.encode(REQUEST_MAGIC))?;
        Ok(self.seq)
    }

    /// The next response frame, in the order the firmware sent them (after [`Firmware::post`];
    /// a frame that arrived with an earlier one is kept for the next call).
    pub fn receive(&mut self) -> io::Result<Frame> {
        let mut buf = [0u8; 4096];
        loop {
            if let Some(f) = self.received.pop_front() {
                return Ok(f);
            }
            let n = match self.link.read(&mut buf) {
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            for &b in &buf[..n] {
                match self.decoder.push(b) {
                    Some(Ok(f)) => self.received.push_back(f),
                    Some(Err(_)) => {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            "bad response CRC",
                        ))
                    }
                    None => {}
                }
            }
        }
    }

    /// Writes `data` at `gpa` as the guest would, one page-bounded chunk per frame.
    pub fn write(&mut self, gpa: u64, data: &[u8]) -> Result<(), BridgeError> {
        let mut off = 0;
        while off < data.len() {
            let at = gpa + off as u64;
            let room = CHUNK - (at % CHUNK as u64) as usize;
            let n = room.min(data.len() - off).min(MAX_PAYLOAD - 8);
            let mut p = Vec::with_capacity(8 + n);
            p.extend_from_slice(&at.to_le_bytes());
            p.extend_from_slice(&data[off..off + n]);
            self.exchange(kind::WRITE, &p)?;
            off += n;
        }
        Ok(())
    }

    /// Reads `len` bytes at `gpa` (within one page).
    pub fn read(&mut self, gpa: u64, len: u32) -> Result<Vec<u8>, BridgeError> {
        let mut p = gpa.to_le_bytes().to_vec();
        p.extend_from_slice(&len.to_le_bytes());
        self.exchange(kind::READ, &p)
    }

    /// Sets `call_pending` and issues the call in `regs` ("VMGEXIT"); returns the registers.
    pub fn call(&mut self, regs: Registers) -> Result<Registers, BridgeError> {
        self.write(self.caa, &[1])?;
        let mut p = Vec::with_capacity(40);
        for r in [regs.rax, regs.rcx, regs.rdx, regs.r8, regs.r9] {
            p.extend_from_slice(&r.to_le_bytes());
        }
        let out = self.exchange(kind::CALL, &p)?;
        if out.len() != 40 {
            return Err(BridgeError::BadResponse);
        }
        Ok(Registers {
            rax: le64(&out[0..]),
            rcx: le64(&out[8..]),
            rdx: le64(&out[16..]),
            r8: le64(&out[24..]),
            r9: le64(&out[32..]),
        })
    }

    /// `SVSM_VTPM_CMD` with `command` at `locality`; the TPM response goes into `response`.
    pub fn send_command(
        &mut self,
        locality: u8,
        command: &[u8],
        response: &mut [u8],
    ) -> Result<usize, BridgeError> {
        let mut page = vec![0u8; vtpm_wire::PAGE_SIZE];
        let Some(len) = vtpm_wire::write_request(&mut page, locality, command) else {
            return Ok(wire::write_response_header(response, TPM_RC_COMMAND_SIZE));
        };
        self.write(self.page, &page[..len])?;
        let regs = self.call(Registers {
            rax: Registers::request(SVSM_VTPM_PROTOCOL, SVSM_VTPM_CMD),
            rcx: self.page,
            ..Registers::default()
        })?;
        if regs.rax != 0 {
            if locality != 0 && regs.rax == SvsmError::InvalidParameter.code() {
                return Ok(wire::write_response_header(response, TPM_RC_LOCALITY));
            }
            return Err(BridgeError::Svsm(regs.rax));
        }
        let head = self.read(self.page, 4)?;
        let size = u32::from_le_bytes([head[0], head[1], head[2], head[3]]) as usize;
        if !(tpm_proto::HEADER_SIZE..=vtpm_wire::MAX_RESPONSE).contains(&size)
            || size > response.len()
        {
            return Err(BridgeError::BadResponse);
        }
        let mut got = 0;
        while got < size {
            let n = (size - got).min(CHUNK - 4);
            let at = self.page + 4 + got as u64;
            // Stay within the page: the response region is page + 4 .. page + 4 + size.
            let bytes = self.read(at, n as u32)?;
            response[got..got + n].copy_from_slice(&bytes);
            got += n;
        }
        Ok(size)
    }

    /// An SVSM attestation as Linux's configfs-tsm makes it: `SVSM_ATTEST_SINGLE_SERVICE` for
    /// the vTPM (or `SVSM_ATTEST_SERVICES` with `all_services`) with `nonce`, the request in the
    /// calling area's buffer and one page each for report and manifest. Returns (report,
    /// manifest), each as long as RCX and R8 say.
    pub fn attest(
        &mut self,
        nonce: &[u8],
        all_services: bool,
    ) -> Result<(Vec<u8>, Vec<u8>), BridgeError> {
        use svsm::protocol::attest::{self, VTPM_SERVICE_GUID};
        let (report_gpa, manifest_gpa, nonce_gpa) = (
            self.page + CHUNK as u64,
            self.page + 2 * CHUNK as u64,
            self.page + 3 * CHUNK as u64,
        );
        if nonce.len() > CHUNK {
            return Err(BridgeError::BadResponse);
        }
        self.write(nonce_gpa, nonce)?;
        let mut req = vec![0u8; attest::REQUEST_SIZE];
        let entries = [
            (0x00, report_gpa, CHUNK as u32),
            (0x10, nonce_gpa, nonce.len() as u32),
            (0x20, manifest_gpa, CHUNK as u32),
        ];
        for (at, pa, len) in entries {
            req[at..at + 8].copy_from_slice(&pa.to_le_bytes());
            req[at + 8..at + 12].copy_from_slice(&len.to_le_bytes());
        }
        let call = if all_services {
            attest::SVSM_ATTEST_SERVICES
        } else {
            req[0x40..0x50].copy_from_slice(&VTPM_SERVICE_GUID.0);
            attest::SVSM_ATTEST_SINGLE_SERVICE
        };
        let request_gpa = self.caa + svsm::protocol::CALLING_AREA_SIZE;
        self.write(request_gpa, &req)?;
        let regs = self.call(Registers {
            rax: Registers::request(svsm::protocol::SVSM_ATTEST_PROTOCOL, call),
            rcx: request_gpa,
            ..Registers::default()
        })?;
        if regs.rax != 0 {
            return Err(BridgeError::Svsm(regs.rax));
        }
        let (manifest_len, report_len) = (regs.rcx, regs.r8);
        if manifest_len > CHUNK as u64 || report_len > CHUNK as u64 {
            return Err(BridgeError::BadResponse);
        }
        let report = self.read(report_gpa, report_len as u32)?;
        let manifest = self.read(manifest_gpa, manifest_len as u32)?;
        Ok((report, manifest))
    }

    fn signal(&mut self, s: u8) {
        if let Err(e) = self.exchange(kind::SIGNAL, &[s]) {
            log::error!("firmware: signal {s}: {e}");
        }
    }
}

fn le64(b: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    u64::from_le_bytes(a)
}

impl Backend for Firmware {
    fn execute(&mut self, locality: u8, command: &[u8], response: &mut [u8]) -> usize {
        match self.send_command(locality, command, response) {
            Ok(n) => n,
            Err(e) => {
                log::error!("firmware: {e}; answering TPM_RC_FAILURE");
                if let Ok(Some(st)) = self.watcher.try_wait() {
                    log::error!(
                        "firmware: QEMU exited ({st}); COM1 log: {}",
                        self.log.display()
                    );
                    self.broken = true;
                }
                wire::write_response_header(response, TPM_RC_FAILURE)
            }
        }
    }
    fn power_on(&mut self) {
        self.signal(signal::POWER_ON);
    }
    fn power_off(&mut self) {
        self.signal(signal::POWER_OFF);
    }
    fn set_cancel(&mut self, on: bool) {
        self.signal(if on {
            signal::CANCEL_ON
        } else {
            signal::CANCEL_OFF
        });
    }
    /// A confidential VM has no physical presence: the firmware's engine never sees it asserted.
    fn set_physical_presence(&mut self, on: bool) {
        log::debug!("physical presence {on}: not forwarded to the firmware");
    }
}

impl Drop for Firmware {
    fn drop(&mut self) {
        drop(self.lifeline.take());
        let _ = self.watcher.kill();
        let _ = self.watcher.wait();
        let _ = fs::remove_file(self.dir.join("com2.sock"));
        let _ = fs::remove_file(self.dir.join("qemu.stderr"));
        if self.log.starts_with(&self.dir) {
            let _ = fs::remove_file(&self.log);
        }
        let _ = fs::remove_dir(&self.dir);
    }
}
