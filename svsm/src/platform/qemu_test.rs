//! The `qemu-test` platform: the firmware under plain QEMU (TCG, no SEV), with the host playing
//! the guest over the second serial port.
//!
//! Without SEV-SNP there is no guest at VMPL1 to make SVSM calls, so the host does what the
//! guest would: it writes bytes into guest RAM, sets `call_pending` in the calling area, and
//! "executes VMGEXIT" by sending the call's registers. The firmware performs exactly those
//! memory writes (through the same [`GuestMap`] checks as every guest address) and runs the
//! real dispatcher ([`Svsm::handle_vmgexit`]) with those registers. PVALIDATE and the VMSA
//! attribute are simulated ([`SimulatedRmp`]).
//!
//! # Memory
//!
//! Guest RAM is [`GUEST_RAM`] (1 MiB..128 MiB; QEMU needs `-m 128M` or more) minus the
//! firmware image (linked at 16 MiB), which is SVSM-owned. The calling area starts at
//! [`INITIAL_CAA`]. Everything is reached through the boot identity map.
//!
//! # Transport
//!
//! COM1 carries the log; COM2 (I/O port 0x2f8, QEMU's second `-serial`) carries frames. Every
//! frame, either way, is
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 4 | magic: `EVQ1` host→firmware, `EVR1` firmware→host |
//! | 4 | 1 | kind (below) |
//! | 5 | 1 | status: 0 in requests; the [`Status`] in responses |
//! | 6 | 2 | sequence number (LE), echoed in the response |
//! | 8 | 4 | payload length (LE), at most [`MAX_PAYLOAD`] |
//! | 12 | len | payload |
//! | 12 + len | 4 | CRC-32 (IEEE 802.3, LE) of bytes 0 .. 12 + len |
//!
//! | kind | request payload | response payload (status OK) |
//! |---|---|---|
//! | 1 `HELLO` | — | u64 calling-area GPA, u64 RAM start, u64 RAM end |
//! | 2 `WRITE` | u64 GPA, 1..=4096 bytes (within one page) | — |
//! | 3 `READ` | u64 GPA, u32 length 1..=4096 (within one page) | the bytes |
//! | 4 `CALL` | u64 RAX, RCX, RDX, R8, R9 | u64 RAX, RCX, RDX, R8, R9 after the call |
//! | 5 `SIGNAL` | u8: 1 power on (`_TPM_Init`), 2 power off, 3 cancel on, 4 cancel off | — |
//! | 6 `CALL_ON` | u8 vCPU (CPU slot, 0 = the boot vCPU), then `CALL`'s registers | as `CALL` |
//!
//! `CALL_ON` runs the call on that vCPU, whose calling area is [`ap_calling_area`] (the boot
//! vCPU's is the `HELLO` one). For another vCPU the firmware goes on serving frames while the
//! call runs there, and that vCPU sends the response when it is done: responses to `CALL_ON`
//! may come after those of later requests (match them by sequence number). A vCPU that does
//! not exist, or still has a call waiting, answers [`Status::NoVcpu`]. QEMU's `-smp N` gives
//! the firmware N vCPUs (it starts the others with INIT/SIPI, `cpu::percpu`).
//!
//! All integers are little-endian. `CALL` answers status [`Status::NoCall`] (registers
//! unchanged) when the calling area's `call_pending` is clear, exactly as a VMGEXIT without a
//! pending call. A refused `WRITE`/`READ` answers [`Status::Memory`] with one payload byte, the
//! [`GuestMemError::code`]. `SIGNAL` exists only here: on SNP the TPM lives and dies with the VM.
//!
//! The firmware scans for the magic, so garbage between frames is skipped. A header announcing
//! more than [`MAX_PAYLOAD`] bytes, a nonzero status byte in a request or a CRC mismatch is
//! answered [`Status::BadFrame`] and scanning resumes; a payload of the wrong length for its
//! kind is [`Status::BadPayload`]; an unknown kind is [`Status::BadKind`]. No input makes the
//! firmware stop serving. The firmware prints `qemu-test: ready` on COM1 once it serves.

use crate::mm::guest::{GuestMap, GuestMemError, GuestMemory, GuestRegion, PageSize, PAGE_SIZE};
use crate::protocol::core::{PageState, PvalidateFail};
use crate::protocol::vtpm::Engine;
use crate::protocol::{Cpu, Registers, Svsm, SvsmResult};
use alloc::vec::Vec;
use core::ops::Range;

/// Guest RAM on this platform (the firmware image inside it is carved out as SVSM-owned).
pub const GUEST_RAM: Range<u64> = 0x10_0000..0x800_0000;
/// The calling area the guest starts with.
pub const INITIAL_CAA: u64 = GUEST_RAM.start;

/// The calling area of the vCPU in CPU slot `slot` (≥ 1): the top pages of guest RAM, one
/// each.
pub const fn ap_calling_area(slot: usize) -> u64 {
    GUEST_RAM.end - slot as u64 * PAGE_SIZE
}
/// The APIC IDs of the simulated guest's vCPUs.
pub const APIC_IDS: [u32; 4] = [0, 1, 2, 3];
/// The VMPL the simulated guest runs at.
pub const GUEST_VMPL: u8 = 1;

/// Magic of host→firmware frames.
pub const REQUEST_MAGIC: [u8; 4] = *b"EVQ1";
/// Magic of firmware→host frames.
pub const RESPONSE_MAGIC: [u8; 4] = *b"EVR1";
/// Header bytes before the payload.
pub const HEADER: usize = 12;
/// Largest payload: a `WRITE` of a whole page.
pub const MAX_PAYLOAD: usize = 8 + PAGE_SIZE as usize;
/// The line the firmware logs on COM1 once it serves frames.
pub const READY_LINE: &str = "qemu-test: ready";

/// Frame kinds.
pub mod kind {
    pub const HELLO: u8 = 1;
    pub const WRITE: u8 = 2;
    pub const READ: u8 = 3;
    pub const CALL: u8 = 4;
    pub const SIGNAL: u8 = 5;
    pub const CALL_ON: u8 = 6;
}

/// Power and cancel signals (`SIGNAL` payload).
pub mod signal {
    pub const POWER_ON: u8 = 1;
    pub const POWER_OFF: u8 = 2;
    pub const CANCEL_ON: u8 = 3;
    pub const CANCEL_OFF: u8 = 4;
}

/// Response status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Status {
    Ok = 0,
    /// Oversized length, nonzero request status byte, or CRC mismatch.
    BadFrame = 1,
    /// Unknown kind.
    BadKind = 2,
    /// Payload length wrong for the kind, or an unknown signal.
    BadPayload = 3,
    /// The guest address was refused; payload: the [`GuestMemError::code`].
    Memory = 4,
    /// `CALL` without `call_pending` set: nothing ran.
    NoCall = 5,
    /// `CALL_ON` a vCPU that does not exist or still has a call waiting: nothing ran.
    NoVcpu = 6,
}

impl Status {
    pub fn from_u8(b: u8) -> Option<Status> {
        [
            Status::Ok,
            Status::BadFrame,
            Status::BadKind,
            Status::BadPayload,
            Status::Memory,
            Status::NoCall,
            Status::NoVcpu,
        ]
        .into_iter()
        .find(|s| *s as u8 == b)
    }
}

/// CRC-32 (IEEE 802.3: reflected, polynomial 0xEDB88320, init and final XOR 0xFFFFFFFF).
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0xedb8_8320 & (crc & 1).wrapping_neg());
        }
    }
    !crc
}

/// One decoded frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub kind: u8,
    pub status: u8,
    pub seq: u16,
    pub payload: Vec<u8>,
}

impl Frame {
    /// The wire bytes of this frame under `magic`. The payload must be at most
    /// [`MAX_PAYLOAD`] bytes (longer payloads are truncated to it).
    pub fn encode(&self, magic: [u8; 4]) -> Vec<u8> {
        let payload = &self.payload[..self.payload.len().min(MAX_PAYLOAD)];
        let mut v = Vec::with_capacity(HEADER + payload.len() + 4);
        v.extend_from_slice(&magic);
        v.push(self.kind);
        v.push(self.status);
        v.extend_from_slice(&self.seq.to_le_bytes());
        v.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        v.extend_from_slice(payload);
        let crc = crc32(&v);
        v.extend_from_slice(&crc.to_le_bytes());
        v
    }
}

/// Why bytes did not make a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameError {
    pub kind: u8,
    pub seq: u16,
}

/// Byte-at-a-time frame decoder that resynchronises on the magic.
#[derive(Debug)]
pub struct Decoder {
    magic: [u8; 4],
    buf: Vec<u8>,
    /// Payload length once the header is complete.
    len: Option<usize>,
}

impl Decoder {
    pub fn new(magic: [u8; 4]) -> Decoder {
        Decoder {
            magic,
            buf: Vec::with_capacity(HEADER + MAX_PAYLOAD + 4),
            len: None,
        }
    }

    /// Feeds one byte; returns a frame (or a framing error) when one completes.
    pub fn push(&mut self, b: u8) -> Option<Result<Frame, FrameError>> {
        self.buf.push(b);
        if self.buf.len() <= 4 {
            // Drop leading bytes until the buffer is a prefix of the magic.
            while !self.magic.starts_with(&self.buf) {
                self.buf.remove(0);
            }
            return None;
        }
        if self.buf.len() == HEADER {
            let h = &self.buf;
            let len = u32::from_le_bytes([h[8], h[9], h[10], h[11]]) as usize;
            if len > MAX_PAYLOAD {
                return Some(Err(self.fail()));
            }
            self.len = Some(len);
        }
        let len = self.len?;
        if self.buf.len() < HEADER + len + 4 {
            return None;
        }
        let body = HEADER + len;
        let crc = u32::from_le_bytes([
            self.buf[body],
            self.buf[body + 1],
            self.buf[body + 2],
            self.buf[body + 3],
        ]);
        if crc != crc32(&self.buf[..body]) {
            return Some(Err(self.fail()));
        }
        let frame = Frame {
            kind: self.buf[4],
            status: self.buf[5],
            seq: u16::from_le_bytes([self.buf[6], self.buf[7]]),
            payload: self.buf[HEADER..body].to_vec(),
        };
        self.reset();
        Some(Ok(frame))
    }

    fn fail(&mut self) -> FrameError {
        let e = FrameError {
            kind: self.buf[4],
            seq: u16::from_le_bytes([self.buf[6], self.buf[7]]),
        };
        self.reset();
        e
    }

    fn reset(&mut self) {
        self.buf.clear();
        self.len = None;
    }
}

/// The engine's power and cancel inputs, which only this platform drives (`SIGNAL`).
pub trait Signals {
    fn power_on(&mut self);
    fn power_off(&mut self);
    fn set_cancel(&mut self, on: bool);
}

impl<P: vtpm::Platform> Signals for vtpm::Tpm<P> {
    fn power_on(&mut self) {
        vtpm::Tpm::power_on(self)
    }
    fn power_off(&mut self) {
        vtpm::Tpm::power_off(self)
    }
    fn set_cancel(&mut self, on: bool) {
        vtpm::Tpm::set_cancel(self, on)
    }
}

/// RAX, RCX, RDX, R8, R9 from the 40 bytes at `p`.
fn registers(p: &[u8]) -> Registers {
    Registers {
        rax: le64(&p[0..]),
        rcx: le64(&p[8..]),
        rdx: le64(&p[16..]),
        r8: le64(&p[24..]),
        r9: le64(&p[32..]),
    }
}

fn le64(b: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    u64::from_le_bytes(a)
}

/// Hands a `CALL_ON` to another vCPU: (vCPU slot, sequence number, registers); `false` if that
/// vCPU does not exist or still has a call waiting.
pub type Post<'a> = &'a mut dyn FnMut(usize, u16, Registers) -> bool;

/// The response to a call: its status and the registers after it.
pub fn call_response(handled: bool, regs: &Registers) -> (Status, Vec<u8>) {
    let mut v = Vec::with_capacity(40);
    for r in [regs.rax, regs.rcx, regs.rdx, regs.r8, regs.r9] {
        v.extend_from_slice(&r.to_le_bytes());
    }
    (if handled { Status::Ok } else { Status::NoCall }, v)
}

/// Answers one decoded request (or framing error) with the response frame's bytes; none (an
/// empty vector) for a `CALL_ON` handed to another vCPU through `post`, which answers itself.
pub fn respond<M, E, P>(
    svsm: &Svsm<M, E, P>,
    cpu: &mut Cpu,
    request: Result<Frame, FrameError>,
    post: Post<'_>,
) -> Vec<u8>
where
    M: GuestMemory,
    E: Engine + Signals,
    P: PageState,
{
    let (kind, seq, status, payload) = match request {
        Err(e) => (e.kind, e.seq, Status::BadFrame, Vec::new()),
        Ok(f) if f.status != 0 => (f.kind, f.seq, Status::BadFrame, Vec::new()),
        Ok(f) => match serve(svsm, cpu, f.kind, f.seq, &f.payload, post) {
            Some((status, payload)) => (f.kind, f.seq, status, payload),
            None => return Vec::new(),
        },
    };
    Frame {
        kind,
        status: status as u8,
        seq,
        payload,
    }
    .encode(RESPONSE_MAGIC)
}

fn serve<M, E, P>(
    svsm: &Svsm<M, E, P>,
    cpu: &mut Cpu,
    kind: u8,
    seq: u16,
    p: &[u8],
    post: Post<'_>,
) -> Option<(Status, Vec<u8>)>
where
    M: GuestMemory,
    E: Engine + Signals,
    P: PageState,
{
    let ok = |v: Vec<u8>| (Status::Ok, v);
    let mem_err = |e: GuestMemError| (Status::Memory, alloc::vec![e.code()]);
    Some(match kind {
        kind::HELLO if p.is_empty() => {
            let mut v = Vec::with_capacity(24);
            v.extend_from_slice(&cpu.caa.to_le_bytes());
            v.extend_from_slice(&GUEST_RAM.start.to_le_bytes());
            v.extend_from_slice(&GUEST_RAM.end.to_le_bytes());
            ok(v)
        }
        kind::WRITE if p.len() > 8 => {
            let data = &p[8..];
            let mut m = svsm.machine.lock();
            let m = &mut *m;
            let r = m
                .map
                .region(le64(p), data.len() as u64, 1, PageSize::Small)
                .and_then(|r| m.mem.copy_out(&r, data));
            match r {
                Ok(()) => ok(Vec::new()),
                Err(e) => mem_err(e),
            }
        }
        kind::READ if p.len() == 12 => {
            let len = u32::from_le_bytes([p[8], p[9], p[10], p[11]]);
            let m = svsm.machine.lock();
            let region: Result<GuestRegion<'_>, _> =
                m.map.region(le64(p), u64::from(len), 1, PageSize::Small);
            let r = region.and_then(|r| {
                let mut v = alloc::vec![0u8; r.len()];
                m.mem.copy_in(&r, &mut v).map(|()| v)
            });
            match r {
                Ok(v) => ok(v),
                Err(e) => mem_err(e),
            }
        }
        kind::CALL if p.len() == 40 => {
            let mut regs = registers(p);
            let handled = svsm.handle_vmgexit(cpu, &mut regs);
            call_response(handled, &regs)
        }
        kind::CALL_ON if p.len() == 41 && p[0] == 0 => {
            let mut regs = registers(&p[1..]);
            let handled = svsm.handle_vmgexit(cpu, &mut regs);
            call_response(handled, &regs)
        }
        kind::CALL_ON if p.len() == 41 => {
            if post(usize::from(p[0]), seq, registers(&p[1..])) {
                return None;
            }
            (Status::NoVcpu, Vec::new())
        }
        kind::SIGNAL if p.len() == 1 => {
            match p[0] {
                signal::POWER_ON => svsm.engine.lock().power_on(),
                signal::POWER_OFF => svsm.engine.lock().power_off(),
                signal::CANCEL_ON => svsm.engine.lock().set_cancel(true),
                signal::CANCEL_OFF => svsm.engine.lock().set_cancel(false),
                _ => return Some((Status::BadPayload, Vec::new())),
            }
            ok(Vec::new())
        }
        kind::HELLO | kind::WRITE | kind::READ | kind::CALL | kind::SIGNAL | kind::CALL_ON => {
            (Status::BadPayload, Vec::new())
        }
        _ => (Status::BadKind, Vec::new()),
    })
}

/// PVALIDATE and the RMP VMSA attribute, simulated for a guest RAM range: a validated bit per
/// 4 KiB page and the set of 2 MiB pages validated whole. Faithful in the outcomes the core
/// protocol forwards: "unchanged" when a page already is in the requested state, "size
/// mismatch" for a 2 MiB operation over 4 KiB-validated pages (or the reverse), "input" for an
/// address outside the range.
#[derive(Debug, Clone)]
pub struct SimulatedRmp {
    ram: Range<u64>,
    valid: Vec<u64>,
    huge: Vec<u64>,
    vmsas: Vec<u64>,
}

impl SimulatedRmp {
    pub fn new(ram: Range<u64>) -> SimulatedRmp {
        let pages = ((ram.end.saturating_sub(ram.start)) / PAGE_SIZE) as usize;
        SimulatedRmp {
            ram,
            valid: alloc::vec![0; pages.div_ceil(64)],
            huge: Vec::new(),
            vmsas: Vec::new(),
        }
    }

    fn index(&self, gpa: u64) -> Option<usize> {
        (self.ram.start <= gpa && gpa < self.ram.end)
            .then(|| ((gpa - self.ram.start) / PAGE_SIZE) as usize)
    }

    /// Whether the 4 KiB page containing `gpa` is validated.
    pub fn is_valid(&self, gpa: u64) -> bool {
        self.index(gpa)
            .is_some_and(|i| self.valid[i / 64] & (1 << (i % 64)) != 0)
    }

    /// Whether the page at `gpa` has the VMSA attribute.
    pub fn is_vmsa(&self, gpa: u64) -> bool {
        self.vmsas.contains(&gpa)
    }

    fn set(&mut self, i: usize, on: bool) {
        if on {
            self.valid[i / 64] |= 1 << (i % 64);
        } else {
            self.valid[i / 64] &= !(1 << (i % 64));
        }
    }
}

impl PageState for SimulatedRmp {
    fn pvalidate(
        &mut self,
        region: &GuestRegion<'_>,
        size: PageSize,
        validate: bool,
    ) -> Result<(), PvalidateFail> {
        let gpa = region.gpa();
        let huge_base = gpa & !(PageSize::Huge.bytes() - 1);
        let first = self.index(gpa).ok_or(PvalidateFail::Input)?;
        match size {
            PageSize::Small => {
                if self.huge.contains(&huge_base) {
                    return Err(PvalidateFail::SizeMismatch);
                }
                if self.is_valid(gpa) == validate {
                    return Err(PvalidateFail::Unchanged);
                }
                self.set(first, validate);
            }
            PageSize::Huge => {
                let n = (PageSize::Huge.bytes() / PAGE_SIZE) as usize;
                let last = gpa + PageSize::Huge.bytes() - PAGE_SIZE;
                self.index(last).ok_or(PvalidateFail::Input)?;
                let is_huge = self.huge.contains(&gpa);
                let any_small = !is_huge
                    && (first..first + n).any(|i| self.valid[i / 64] & (1 << (i % 64)) != 0);
                if any_small {
                    return Err(PvalidateFail::SizeMismatch);
                }
                if is_huge == validate {
                    return Err(PvalidateFail::Unchanged);
                }
                if validate {
                    self.huge.push(gpa);
                } else {
                    self.huge.retain(|&h| h != gpa);
                }
                (first..first + n).for_each(|i| self.set(i, validate));
            }
        }
        Ok(())
    }

    fn set_vmsa(&mut self, page: &GuestRegion<'_>, vmsa: bool) -> SvsmResult {
        let gpa = page.gpa();
        if vmsa {
            if !self.vmsas.contains(&gpa) {
                self.vmsas.push(gpa);
            }
        } else {
            self.vmsas.retain(|&v| v != gpa);
        }
        Ok(())
    }
}

/// The guest map of this platform: [`GUEST_RAM`] minus `svsm` (the image).
pub fn guest_map(svsm: Range<u64>) -> GuestMap {
    GuestMap::new(&[GUEST_RAM], &[svsm])
}

#[cfg(target_os = "none")]
pub use firmware::{com2_present, run};

#[cfg(target_os = "none")]
mod firmware {
    use super::*;
    use crate::cpu::io::Port;
    use crate::cpu::lock::SpinLock;
    use crate::cpu::percpu::MAX_CPUS;
    use crate::mm::guest::IdentityMapped;
    use crate::protocol::attest::Attestation;
    use crate::protocol::core::Vcpus;
    use crate::protocol::{Caller, Machine};
    use core::sync::atomic::{AtomicBool, Ordering};

    const DATA: Port = Port::com2(0);
    const IER: Port = Port::com2(1);
    const FCR: Port = Port::com2(2);
    const LCR: Port = Port::com2(3);
    const MCR: Port = Port::com2(4);
    const LSR: Port = Port::com2(5);
    const SCRATCH: Port = Port::com2(7);
    const LSR_DATA_READY: u8 = 1 << 0;
    const LSR_THR_EMPTY: u8 = 1 << 5;

    /// Whether a UART answers at COM2 (its scratch register keeps what is written).
    pub fn com2_present() -> bool {
        [0x5a, 0xa5].into_iter().all(|v| {
            SCRATCH.write_u8(v);
            SCRATCH.read_u8() == v
        })
    }

    fn init() {
        IER.write_u8(0);
        LCR.write_u8(0x80);
        DATA.write_u8(1); // 115200 baud
        IER.write_u8(0);
        LCR.write_u8(0x03); // 8N1
        FCR.write_u8(0xc7);
        MCR.write_u8(0x03);
    }

    fn read_byte() -> u8 {
        while LSR.read_u8() & LSR_DATA_READY == 0 {
            core::hint::spin_loop();
        }
        DATA.read_u8()
    }

    fn write_all(bytes: &[u8]) {
        for &b in bytes {
            while LSR.read_u8() & LSR_THR_EMPTY == 0 {
                core::hint::spin_loop();
            }
            DATA.write_u8(b);
        }
    }

    /// The simulated guest every vCPU serves: VMPL1, no SEV features.
    const GUEST: Caller = Caller {
        vmpl: GUEST_VMPL,
        sev_features: 0,
    };

    /// The SVSM of this platform, as the firmware builds it.
    type QemuSvsm = Svsm<IdentityMapped, vtpm::Tpm<crate::platform::CpuPlatform>, SimulatedRmp>;

    /// The SVSM, for the other vCPUs (set once, before they are released).
    static SHARED: SpinLock<Option<&'static QemuSvsm>> = SpinLock::new(None);
    /// Each vCPU's waiting `CALL_ON` (sequence number, registers).
    static MAILBOX: [SpinLock<Option<(u16, Registers)>>; MAX_CPUS] =
        [const { SpinLock::new(None) }; MAX_CPUS];
    /// Which vCPUs run their loop.
    static SERVING: [AtomicBool; MAX_CPUS] = [const { AtomicBool::new(false) }; MAX_CPUS];
    /// One writer of frames at a time on COM2.
    static COM2_OUT: SpinLock<()> = SpinLock::new(());

    fn send(frame: &[u8]) {
        let _out = COM2_OUT.lock();
        write_all(frame);
    }

    /// Hands `regs` (request `seq`) to the vCPU in slot `slot`.
    fn post(slot: usize, seq: u16, regs: Registers) -> bool {
        if slot == 0 || !SERVING.get(slot).is_some_and(|s| s.load(Ordering::Acquire)) {
            return false;
        }
        let mut mailbox = MAILBOX[slot].lock();
        if mailbox.is_some() {
            return false;
        }
        *mailbox = Some((seq, regs));
        true
    }

    /// Another vCPU's loop: takes the calls posted to it and answers each on COM2 itself.
    fn ap_loop(_: u64) -> ! {
        let Some(svsm) = *SHARED.lock() else {
            crate::cpu::halt()
        };
        let slot = crate::cpu::percpu::current().slot();
        let mut cpu = Cpu {
            caller: GUEST,
            caa: ap_calling_area(slot),
        };
        SERVING[slot].store(true, Ordering::Release);
        loop {
            let Some((seq, mut regs)) = MAILBOX[slot].lock().take() else {
                core::hint::spin_loop();
                continue;
            };
            let handled = svsm.handle_vmgexit(&mut cpu, &mut regs);
            let (status, payload) = call_response(handled, &regs);
            let frame = Frame {
                kind: kind::CALL_ON,
                status: status as u8,
                seq,
                payload,
            };
            send(&frame.encode(RESPONSE_MAGIC));
        }
    }

    /// Serves frames on COM2 forever with `engine` (already manufactured) behind the real
    /// dispatcher, on this vCPU and on every other vCPU QEMU gave (each with its own loop and
    /// calling area, sharing the SVSM). `image` is the SVSM's own memory.
    pub fn run(
        engine: vtpm::Tpm<crate::platform::CpuPlatform>,
        attestation: alloc::boxed::Box<dyn Attestation + Send>,
        image: Range<u64>,
        clock: &crate::cpu::tsc::TscClock,
    ) -> ! {
        let map = guest_map(image);
        let Some(mem) = IdentityMapped::new(&map) else {
            log::error!("qemu-test: guest RAM is not identity-mapped");
            crate::platform::exit(crate::platform::QemuExit::Failure);
        };
        let machine = Machine {
            mem,
            map,
            pages: SimulatedRmp::new(GUEST_RAM),
            vcpus: Vcpus::new(&APIC_IDS),
        };
        let svsm: &'static QemuSvsm = alloc::boxed::Box::leak(alloc::boxed::Box::new(Svsm::new(
            machine,
            engine,
            Some(attestation),
        )));
        *SHARED.lock() = Some(svsm);
        let arrived = crate::cpu::percpu::start_aps_by_sipi(clock);
        let (_, aps) = crate::cpu::percpu::release_aps(ap_loop, 0);
        let start = clock.now_ms();
        while (1..=aps).any(|s| !SERVING[s].load(Ordering::Acquire))
            && clock.now_ms() - start < 1000
        {
            core::hint::spin_loop();
        }
        let serving = (1..=aps)
            .filter(|&s| SERVING[s].load(Ordering::Acquire))
            .count();
        let mut cpu = Cpu {
            caller: GUEST,
            caa: INITIAL_CAA,
        };
        init();
        log::info!(
            "qemu-test: {arrived} other vCPUs started, {serving} serving (CALL_ON 1..={serving})"
        );
        log::info!(
            "{READY_LINE}: frames on COM2, guest RAM {:#x}..{:#x}, calling area {:#x}",
            GUEST_RAM.start,
            GUEST_RAM.end,
            INITIAL_CAA
        );
        let mut decoder = Decoder::new(REQUEST_MAGIC);
        loop {
            if let Some(request) = decoder.push(read_byte()) {
                let response = respond(svsm, &mut cpu, request, &mut post);
                if !response.is_empty() {
                    send(&response);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::testutil::{self, FakeEngine, CAA, RAM, SVSM_MEM};
    use crate::protocol::SvsmError;
    use std::vec;

    impl Signals for FakeEngine {
        fn power_on(&mut self) {
            self.seen.push((0xf0, vec![]));
        }
        fn power_off(&mut self) {
            self.seen.push((0xf1, vec![]));
        }
        fn set_cancel(&mut self, on: bool) {
            self.seen.push((0xf2, vec![u8::from(on)]));
        }
    }

    #[test]
    fn crc32_matches_the_check_value() {
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
        assert_eq!(crc32(b""), 0);
    }

    fn request(kind: u8, seq: u16, payload: &[u8]) -> Vec<u8> {
        Frame {
            kind,
            status: 0,
            seq,
            payload: payload.to_vec(),
        }
        .encode(REQUEST_MAGIC)
    }

    fn decode_all(d: &mut Decoder, bytes: &[u8]) -> Vec<Result<Frame, FrameError>> {
        bytes.iter().filter_map(|&b| d.push(b)).collect()
    }

    #[test]
    fn frames_round_trip_and_garbage_between_them_is_skipped() {
        let mut bytes = b"xxEVEVQ".to_vec();
        bytes.extend(request(kind::READ, 7, &[1, 2, 3]));
        bytes.extend(b"EVQ");
        bytes.extend(request(kind::HELLO, 8, &[]));
        let mut d = Decoder::new(REQUEST_MAGIC);
        let frames = decode_all(&mut d, &bytes);
        assert_eq!(frames.len(), 2);
        let f = frames[0].clone().unwrap();
        assert_eq!((f.kind, f.seq, f.payload), (kind::READ, 7, vec![1, 2, 3]));
        assert_eq!(frames[1].clone().unwrap().seq, 8);
    }

    #[test]
    fn a_bad_crc_or_length_is_a_frame_error_and_decoding_resumes() {
        let mut bad = request(kind::READ, 1, &[0; 12]);
        let n = bad.len();
        bad[n - 1] ^= 1;
        let mut long = request(kind::WRITE, 2, &[]);
        long[8..12].copy_from_slice(&(MAX_PAYLOAD as u32 + 1).to_le_bytes());
        long.truncate(HEADER);
        let mut bytes = bad;
        bytes.extend(long);
        bytes.extend(request(kind::HELLO, 3, &[]));
        let mut d = Decoder::new(REQUEST_MAGIC);
        let out = decode_all(&mut d, &bytes);
        assert_eq!(
            out,
            [
                Err(FrameError {
                    kind: kind::READ,
                    seq: 1
                }),
                Err(FrameError {
                    kind: kind::WRITE,
                    seq: 2
                }),
                Ok(Frame {
                    kind: kind::HELLO,
                    status: 0,
                    seq: 3,
                    payload: vec![]
                })
            ]
        );
    }

    #[test]
    fn random_bytes_never_panic_the_decoder_or_the_responder() {
        let mut s = testutil::svsm();
        let mut d = Decoder::new(REQUEST_MAGIC);
        let mut x = 0x1234_5678_9abc_def0u64;
        for i in 0..200_000u32 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // Bias towards the magic so that headers with random fields get decoded too.
            let b = if i % 97 < 4 {
                REQUEST_MAGIC[(i % 97) as usize]
            } else {
                x as u8
            };
            if let Some(r) = d.push(b) {
                let rsp = respond(&s.svsm, &mut s.cpu, r, &mut |_, _, _| false);
                assert!(rsp.len() >= HEADER + 4);
            }
        }
    }

    fn exchange(s: &mut testutil::TestSvsm, kind: u8, payload: &[u8]) -> Frame {
        let mut d = Decoder::new(REQUEST_MAGIC);
        let req = decode_all(&mut d, &request(kind, 42, payload)).remove(0);
        let rsp = respond(&s.svsm, &mut s.cpu, req, &mut |_, _, _| false);
        let mut d = Decoder::new(RESPONSE_MAGIC);
        let f = decode_all(&mut d, &rsp).remove(0).unwrap();
        assert_eq!((f.kind, f.seq), (kind, 42));
        f
    }

    fn write_payload(gpa: u64, data: &[u8]) -> Vec<u8> {
        let mut p = gpa.to_le_bytes().to_vec();
        p.extend_from_slice(data);
        p
    }

    fn read_payload(gpa: u64, len: u32) -> Vec<u8> {
        let mut p = gpa.to_le_bytes().to_vec();
        p.extend_from_slice(&len.to_le_bytes());
        p
    }

    #[test]
    fn write_then_read_guest_memory() {
        let mut s = testutil::svsm();
        let f = exchange(&mut s, kind::WRITE, &write_payload(0x30_0010, b"hello"));
        assert_eq!(f.status, Status::Ok as u8);
        let f = exchange(&mut s, kind::READ, &read_payload(0x30_0010, 5));
        assert_eq!((f.status, f.payload), (0, b"hello".to_vec()));
    }

    #[test]
    fn memory_the_guest_may_not_name_is_refused_with_its_reason() {
        let mut s = testutil::svsm();
        s.m().map.add_vmsa(0x30_0000).unwrap();
        for (payload, e) in [
            (
                write_payload(SVSM_MEM.start, &[1]),
                GuestMemError::SvsmOwned,
            ),
            (write_payload(RAM.end, &[1]), GuestMemError::OutOfRange),
            (write_payload(0x30_0000, &[1]), GuestMemError::Vmsa),
            (
                write_payload(0x40_0fff, &[1, 2]),
                GuestMemError::CrossesPage,
            ),
            (read_payload(SVSM_MEM.start, 4), GuestMemError::SvsmOwned),
            (read_payload(0x40_0000, 4097), GuestMemError::BadLength),
            (read_payload(0x40_0000, 0), GuestMemError::BadLength),
        ] {
            let k = if payload.len() == 12 && e != GuestMemError::CrossesPage {
                kind::READ
            } else {
                kind::WRITE
            };
            let f = exchange(&mut s, k, &payload);
            assert_eq!(
                (f.status, f.payload.clone()),
                (Status::Memory as u8, vec![e.code()]),
                "{e:?}"
            );
        }
    }

    #[test]
    fn call_runs_the_dispatcher_only_with_call_pending() {
        let mut s = testutil::svsm();
        let mut regs = Registers::request(2, 0).to_le_bytes().to_vec();
        regs.extend_from_slice(&[0; 32]);
        let f = exchange(&mut s, kind::CALL, &regs);
        assert_eq!(f.status, Status::NoCall as u8);
        assert_eq!(le64(&f.payload), Registers::request(2, 0));
        exchange(&mut s, kind::WRITE, &write_payload(CAA, &[1]));
        let f = exchange(&mut s, kind::CALL, &regs);
        assert_eq!(f.status, Status::Ok as u8);
        assert_eq!((le64(&f.payload), le64(&f.payload[8..])), (0, 1 << 8));
        // An unknown protocol is answered by the dispatcher, not the transport.
        exchange(&mut s, kind::WRITE, &write_payload(CAA, &[1]));
        let mut bad = Registers::request(9, 0).to_le_bytes().to_vec();
        bad.extend_from_slice(&[0; 32]);
        let f = exchange(&mut s, kind::CALL, &bad);
        assert_eq!(le64(&f.payload), SvsmError::UnsupportedProtocol.code());
    }

    /// `CALL_ON` vCPU 0 runs here; another vCPU's call is posted (and answered by that vCPU,
    /// so nothing now) or, if it cannot take it, answered `NO_VCPU`.
    #[test]
    fn call_on_runs_here_for_vcpu_0_and_posts_for_the_others() {
        let mut s = testutil::svsm();
        let on = |vcpu: u8| {
            let mut p = std::vec![vcpu];
            p.extend_from_slice(&Registers::request(2, 0).to_le_bytes());
            p.extend_from_slice(&[7; 32]);
            p
        };
        exchange(&mut s, kind::WRITE, &write_payload(CAA, &[1]));
        let f = exchange(&mut s, kind::CALL_ON, &on(0));
        assert_eq!(f.status, Status::Ok as u8);
        assert_eq!((le64(&f.payload), le64(&f.payload[8..])), (0, 1 << 8));

        let mut posted = Vec::new();
        let mut d = Decoder::new(REQUEST_MAGIC);
        let req = decode_all(&mut d, &request(kind::CALL_ON, 77, &on(3))).remove(0);
        let rsp = respond(&s.svsm, &mut s.cpu, req, &mut |slot, seq, regs| {
            posted.push((slot, seq, regs));
            true
        });
        assert!(rsp.is_empty(), "the other vCPU answers");
        assert_eq!(posted.len(), 1);
        assert_eq!((posted[0].0, posted[0].1), (3, 77));
        assert_eq!(posted[0].2.rax, Registers::request(2, 0));
        assert_eq!(posted[0].2.r9, 0x0707_0707_0707_0707);

        let f = exchange(&mut s, kind::CALL_ON, &on(5));
        assert_eq!(f.status, Status::NoVcpu as u8);
        assert!(f.payload.is_empty());
        let f = exchange(&mut s, kind::CALL_ON, &on(1)[..40]);
        assert_eq!(f.status, Status::BadPayload as u8);
        assert!(s.engine().seen.is_empty(), "QUERY only");
        assert_eq!(ap_calling_area(1), GUEST_RAM.end - 4096);
    }

    #[test]
    fn bad_payloads_kinds_and_status_bytes_are_answered_not_obeyed() {
        let mut s = testutil::svsm();
        assert_eq!(
            exchange(&mut s, kind::CALL, &[0; 39]).status,
            Status::BadPayload as u8
        );
        assert_eq!(
            exchange(&mut s, kind::READ, &[0; 8]).status,
            Status::BadPayload as u8
        );
        assert_eq!(
            exchange(&mut s, kind::WRITE, &[0; 8]).status,
            Status::BadPayload as u8
        );
        assert_eq!(
            exchange(&mut s, kind::HELLO, &[0]).status,
            Status::BadPayload as u8
        );
        assert_eq!(
            exchange(&mut s, kind::SIGNAL, &[9]).status,
            Status::BadPayload as u8
        );
        assert_eq!(exchange(&mut s, 0, &[]).status, Status::BadKind as u8);
        assert_eq!(exchange(&mut s, 200, &[]).status, Status::BadKind as u8);
        let mut frame = Frame {
            kind: kind::SIGNAL,
            status: 1,
            seq: 5,
            payload: vec![signal::POWER_OFF],
        }
        .encode(REQUEST_MAGIC);
        let mut d = Decoder::new(REQUEST_MAGIC);
        let req = decode_all(&mut d, &frame).remove(0);
        let rsp = respond(&s.svsm, &mut s.cpu, req, &mut |_, _, _| false);
        assert_eq!(rsp[5], Status::BadFrame as u8);
        assert!(s.engine().seen.is_empty());
        frame.clear();
    }

    #[test]
    fn hello_and_signals() {
        let mut s = testutil::svsm();
        let f = exchange(&mut s, kind::HELLO, &[]);
        assert_eq!(le64(&f.payload), CAA);
        assert_eq!(le64(&f.payload[8..]), GUEST_RAM.start);
        for sig in [
            signal::POWER_OFF,
            signal::POWER_ON,
            signal::CANCEL_ON,
            signal::CANCEL_OFF,
        ] {
            assert_eq!(exchange(&mut s, kind::SIGNAL, &[sig]).status, 0);
        }
        let seen: Vec<u8> = s.engine().seen.iter().map(|(l, _)| *l).collect();
        assert_eq!(seen, [0xf1, 0xf0, 0xf2, 0xf2]);
    }

    #[test]
    fn simulated_rmp_reports_unchanged_size_mismatch_and_input() {
        let ram = 0..0x80_0000;
        let map = GuestMap::new(&[ram], &[]);
        let mut rmp = SimulatedRmp::new(0x20_0000..0x80_0000);
        let small = map.page(0x20_0000).unwrap();
        let huge = map.huge_page(0x40_0000).unwrap();
        assert_eq!(
            rmp.pvalidate(&small, PageSize::Small, false),
            Err(PvalidateFail::Unchanged)
        );
        assert_eq!(rmp.pvalidate(&small, PageSize::Small, true), Ok(()));
        assert_eq!(
            rmp.pvalidate(&small, PageSize::Small, true),
            Err(PvalidateFail::Unchanged)
        );
        assert_eq!(rmp.pvalidate(&huge, PageSize::Huge, true), Ok(()));
        let inside = map.page(0x40_1000).unwrap();
        assert_eq!(
            rmp.pvalidate(&inside, PageSize::Small, false),
            Err(PvalidateFail::SizeMismatch)
        );
        let huge_over_small = map.huge_page(0x20_0000).unwrap();
        assert_eq!(
            rmp.pvalidate(&huge_over_small, PageSize::Huge, true),
            Err(PvalidateFail::SizeMismatch)
        );
        assert_eq!(rmp.pvalidate(&huge, PageSize::Huge, false), Ok(()));
        assert!(!rmp.is_valid(0x40_1000));
        let outside = map.page(0x10_0000).unwrap();
        assert_eq!(
            rmp.pvalidate(&outside, PageSize::Small, true),
            Err(PvalidateFail::Input)
        );
    }

    #[test]
    fn the_guest_map_carves_the_image_out_of_guest_ram() {
        let map = guest_map(0x100_0000..0x190_0000);
        assert_eq!(map.page(0x100_0000), Err(GuestMemError::SvsmOwned));
        assert!(map.page(0x190_0000).is_ok());
        assert!(map.page(INITIAL_CAA).is_ok());
        assert_eq!(map.page(GUEST_RAM.end), Err(GuestMemError::OutOfRange));
    }
}
