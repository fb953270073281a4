//! The Guest-Hypervisor Communication Block (AMD 56421, "SEV-ES Guest-Hypervisor Communication
//! Block Standardization", rev 2.0x): the MSR protocol ([`msr`]), the GHCB page ([`Ghcb`]), and
//! the page-state-change buffer ([`psc`]).
//!
//! The GHCB is a page shared with the hypervisor, who may change it at any time. [`Ghcb`] is
//! a *private copy* of such a page: the firmware fills it, copies it into the shared page, exits,
//! copies the page back and only then reads it. Every field the hypervisor returns is read
//! through the valid bitmap, so a field it did not mark valid is `None`, never stale data.

pub mod msr;
pub mod psc;

use core::mem::{offset_of, size_of};

/// Size of the GHCB page.
pub const GHCB_SIZE: usize = 4096;
/// Size of the shared buffer (0x800..0xFF0).
pub const SHARED_BUFFER_SIZE: usize = 0x7f0;
/// The GHCB protocol version this firmware writes into every GHCB (version 2: SEV-SNP).
pub const GHCB_PROTOCOL_VERSION: u16 = 2;
/// GHCB usage 0: the standard format (GHCB spec, "GHCB Layout").
pub const GHCB_USAGE_STANDARD: u32 = 0;

/// The SW_EXITCODE values of the NAE events this firmware issues (GHCB spec, table "List of
/// Supported Non-Automatic Events").
pub mod exit_code {
    /// SNP Page State Change.
    pub const SNP_PAGE_STATE_CHANGE: u64 = 0x8000_0010;
    /// SNP Guest Request.
    pub const SNP_GUEST_REQUEST: u64 = 0x8000_0011;
    /// SNP Extended Guest Request.
    pub const SNP_EXT_GUEST_REQUEST: u64 = 0x8000_0012;
    /// SNP AP Creation: `SW_EXITINFO1` from [`super::ap_creation_info1`], `SW_EXITINFO2` the
    /// VMSA's GPA, RAX the VMSA's `SEV_FEATURES`.
    pub const SNP_AP_CREATION: u64 = 0x8000_0013;
    /// IOIO: an IN or OUT (the SVM exit code, GHCB spec "Automatic/Non-Automatic Exits").
    pub const IOIO: u64 = 0x7B;
    /// MSR: RDMSR (SW_EXITINFO1 0) or WRMSR (1), RCX the MSR, EDX:EAX the value.
    pub const MSR: u64 = 0x7C;
}

/// The operation of an SNP AP Creation event (GHCB spec, "SNP AP Creation", `SW_EXITINFO1[15:0]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u64)]
pub enum ApCreation {
    /// Start the VMSA on the vCPU at the next opportunity (INIT-SIPI semantics).
    CreateOnInit = 0,
    /// Start the VMSA on the vCPU now.
    Create = 1,
    /// Forget the VMSA registered for that vCPU and VMPL.
    Destroy = 2,
}

/// `SW_EXITINFO1` of an SNP AP Creation event: bits 15:0 the operation, 19:16 the VMPL of the
/// VMSA, 63:32 the APIC ID of the vCPU it is for. `None` for a VMPL above 3.
pub fn ap_creation_info1(op: ApCreation, vmpl: u8, apic_id: u32) -> Option<u64> {
    (vmpl <= 3).then_some((u64::from(apic_id) << 32) | (u64::from(vmpl) << 16) | op as u64)
}

/// SW_EXITINFO1 of an IOIO exit (AMD APM vol. 2, "IOIO Intercept Information", table 15-6):
/// bit 0 IN (else OUT), bits 6:4 the operand size (8, 16, 32 bits), bits 9:7 the address size
/// (64-bit here), bits 31:16 the port. Single, non-string accesses only. `None` for a size
/// other than 1, 2 or 4 bytes.
pub fn ioio_info1(port: u16, size: u8, is_in: bool) -> Option<u64> {
    let size_bit = match size {
        1 => 1 << 4,
        2 => 1 << 5,
        4 => 1 << 6,
        _ => return None,
    };
    Some((u64::from(port) << 16) | (1 << 9) | size_bit | u64::from(is_in))
}

/// The value an IN returned in the GHCB's RAX, cut to `size` bytes; an error if the
/// hypervisor refused the exit or did not mark RAX valid.
pub fn ioio_result(ghcb: &Ghcb, size: u8) -> Result<u32, GhcbError> {
    ghcb.exit_result()?;
    let rax = ghcb.get(Field::Rax).ok_or(GhcbError::MissingResult)?;
    let mask = match size {
        1 => 0xff,
        2 => 0xffff,
        _ => 0xffff_ffff,
    };
    Ok((rax & mask) as u32)
}

/// The GHCB page (GHCB spec, table "GHCB Layout"; the save-area offsets are those of the VMSA,
/// AMD APM vol. 2 table B-4), with the fields this firmware uses named and everything else
/// reserved. Only for the layout: [`Ghcb`] reads and writes the bytes.
#[repr(C, packed)]
#[derive(Debug, Clone, Copy)]
pub struct GhcbLayout {
    pub reserved_000: [u8; 0x1f8],
    pub rax: u64,
    pub reserved_200: [u8; 0x108],
    pub rcx: u64,
    pub rdx: u64,
    pub rbx: u64,
    pub reserved_320: [u8; 0x70],
    pub sw_exit_code: u64,
    pub sw_exit_info1: u64,
    pub sw_exit_info2: u64,
    pub sw_scratch: u64,
    /// 0x3B0..0x3F0: further save-area fields (XCR0 at 0x3E8), not used here.
    pub reserved_3b0: [u8; 0x40],
    /// One bit per quadword of the save area: bit n set means quadword n (offset 8n) is valid.
    pub valid_bitmap: [u8; 16],
    /// 0x400..0x800: x87 state GPA and reserved.
    pub reserved_400: [u8; 0x400],
    pub shared_buffer: [u8; SHARED_BUFFER_SIZE],
    pub reserved_ff0: [u8; 10],
    pub protocol_version: u16,
    pub usage: u32,
}

const _: () = assert!(offset_of!(GhcbLayout, rax) == 0x1f8);
const _: () = assert!(offset_of!(GhcbLayout, rcx) == 0x308);
const _: () = assert!(offset_of!(GhcbLayout, rdx) == 0x310);
const _: () = assert!(offset_of!(GhcbLayout, rbx) == 0x318);
const _: () = assert!(offset_of!(GhcbLayout, sw_exit_code) == 0x390);
const _: () = assert!(offset_of!(GhcbLayout, sw_exit_info1) == 0x398);
const _: () = assert!(offset_of!(GhcbLayout, sw_exit_info2) == 0x3a0);
const _: () = assert!(offset_of!(GhcbLayout, sw_scratch) == 0x3a8);
const _: () = assert!(offset_of!(GhcbLayout, valid_bitmap) == 0x3f0);
const _: () = assert!(offset_of!(GhcbLayout, shared_buffer) == 0x800);
const _: () = assert!(offset_of!(GhcbLayout, protocol_version) == 0xffa);
const _: () = assert!(offset_of!(GhcbLayout, usage) == 0xffc);
const _: () = assert!(size_of::<GhcbLayout>() == GHCB_SIZE);

/// The save-area quadwords this firmware reads or writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Rax,
    Rbx,
    Rcx,
    Rdx,
    SwExitCode,
    SwExitInfo1,
    SwExitInfo2,
    SwScratch,
}

impl Field {
    /// The field's offset in the page.
    pub const fn offset(self) -> usize {
        match self {
            Field::Rax => offset_of!(GhcbLayout, rax),
            Field::Rbx => offset_of!(GhcbLayout, rbx),
            Field::Rcx => offset_of!(GhcbLayout, rcx),
            Field::Rdx => offset_of!(GhcbLayout, rdx),
            Field::SwExitCode => offset_of!(GhcbLayout, sw_exit_code),
            Field::SwExitInfo1 => offset_of!(GhcbLayout, sw_exit_info1),
            Field::SwExitInfo2 => offset_of!(GhcbLayout, sw_exit_info2),
            Field::SwScratch => offset_of!(GhcbLayout, sw_scratch),
        }
    }

    /// Its bit in the valid bitmap: the quadword index.
    pub const fn valid_bit(self) -> usize {
        self.offset() / 8
    }
}

const VALID_BITMAP: usize = offset_of!(GhcbLayout, valid_bitmap);
const SHARED_BUFFER: usize = offset_of!(GhcbLayout, shared_buffer);
const PROTOCOL_VERSION: usize = offset_of!(GhcbLayout, protocol_version);
const USAGE: usize = offset_of!(GhcbLayout, usage);

/// How a NAE event failed at the GHCB level (GHCB spec, "Hypervisor response": the low 32 bits
/// of SW_EXITINFO1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GhcbError {
    /// The hypervisor left SW_EXITINFO1 (or a result field) not valid.
    MissingResult,
    /// `SW_EXITINFO1[31:0]` = 1: the hypervisor asks to inject the exception in SW_EXITINFO2.
    Exception(u64),
    /// `SW_EXITINFO1[31:0]` = 2: the GHCB input was bad; `SW_EXITINFO2[31:0]` says how (1 not
    /// registered, 2 invalid usage, 3 invalid scratch area, 4 missing input, 5 invalid input,
    /// 6 invalid event).
    BadInput(u32),
    /// Any other SW_EXITINFO1 value.
    Unknown(u64),
}

/// A private copy of a GHCB page. Fields are little-endian.
#[derive(Clone)]
pub struct Ghcb {
    bytes: [u8; GHCB_SIZE],
}

impl core::fmt::Debug for Ghcb {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Ghcb")
            .field("sw_exit_code", &self.get(Field::SwExitCode))
            .field("sw_exit_info1", &self.get(Field::SwExitInfo1))
            .field("sw_exit_info2", &self.get(Field::SwExitInfo2))
            .finish_non_exhaustive()
    }
}

impl Default for Ghcb {
    fn default() -> Self {
        Ghcb {
            bytes: [0; GHCB_SIZE],
        }
    }
}

impl Ghcb {
    /// The page's bytes, as they are to be copied into the shared GHCB page.
    pub fn as_bytes(&self) -> &[u8; GHCB_SIZE] {
        &self.bytes
    }

    /// The page's bytes, for copying the shared GHCB page back in after the exit.
    pub fn as_bytes_mut(&mut self) -> &mut [u8; GHCB_SIZE] {
        &mut self.bytes
    }

    /// Zeroes the page: no field valid, nothing left from the previous exit.
    pub fn clear(&mut self) {
        self.bytes.fill(0);
    }

    fn read_u64(&self, at: usize) -> u64 {
        let mut v = [0u8; 8];
        v.copy_from_slice(&self.bytes[at..at + 8]);
        u64::from_le_bytes(v)
    }

    /// Whether `field` is marked valid.
    pub fn is_valid(&self, field: Field) -> bool {
        let bit = field.valid_bit();
        self.bytes[VALID_BITMAP + bit / 8] & (1 << (bit % 8)) != 0
    }

    /// Writes `field` and marks it valid.
    pub fn set(&mut self, field: Field, value: u64) {
        let at = field.offset();
        self.bytes[at..at + 8].copy_from_slice(&value.to_le_bytes());
        let bit = field.valid_bit();
        self.bytes[VALID_BITMAP + bit / 8] |= 1 << (bit % 8);
    }

    /// `field`, if it is marked valid.
    pub fn get(&self, field: Field) -> Option<u64> {
        self.is_valid(field).then(|| self.read_u64(field.offset()))
    }

    /// The protocol version field.
    pub fn protocol_version(&self) -> u16 {
        u16::from_le_bytes([
            self.bytes[PROTOCOL_VERSION],
            self.bytes[PROTOCOL_VERSION + 1],
        ])
    }

    /// The usage field.
    pub fn usage(&self) -> u32 {
        let mut v = [0u8; 4];
        v.copy_from_slice(&self.bytes[USAGE..USAGE + 4]);
        u32::from_le_bytes(v)
    }

    /// The shared buffer (0x800..0xFF0).
    pub fn shared_buffer(&self) -> &[u8; SHARED_BUFFER_SIZE] {
        let slice = &self.bytes[SHARED_BUFFER..SHARED_BUFFER + SHARED_BUFFER_SIZE];
        // A slice of exactly SHARED_BUFFER_SIZE bytes: the conversion cannot fail.
        slice.try_into().unwrap_or(&[0; SHARED_BUFFER_SIZE])
    }

    /// The shared buffer, to fill.
    pub fn shared_buffer_mut(&mut self) -> &mut [u8] {
        &mut self.bytes[SHARED_BUFFER..SHARED_BUFFER + SHARED_BUFFER_SIZE]
    }

    /// The guest physical address of the shared buffer when the page is at `ghcb_gpa` (for
    /// SW_SCRATCH).
    pub const fn shared_buffer_gpa(ghcb_gpa: u64) -> u64 {
        ghcb_gpa + SHARED_BUFFER as u64
    }

    /// Clears the page and sets up the NAE event `code` with its two exit-information words,
    /// in the standard format of protocol version [`GHCB_PROTOCOL_VERSION`]. The event's other
    /// inputs are set afterwards with [`Ghcb::set`].
    pub fn prepare(&mut self, code: u64, info1: u64, info2: u64) {
        self.clear();
        self.bytes[PROTOCOL_VERSION..PROTOCOL_VERSION + 2]
            .copy_from_slice(&GHCB_PROTOCOL_VERSION.to_le_bytes());
        self.bytes[USAGE..USAGE + 4].copy_from_slice(&GHCB_USAGE_STANDARD.to_le_bytes());
        self.set(Field::SwExitCode, code);
        self.set(Field::SwExitInfo1, info1);
        self.set(Field::SwExitInfo2, info2);
    }

    /// The hypervisor's verdict on the event just exited: `Ok` when `SW_EXITINFO1[31:0]` is 0
    /// (the event's own results are then in the other fields).
    pub fn exit_result(&self) -> Result<(), GhcbError> {
        let info1 = self
            .get(Field::SwExitInfo1)
            .ok_or(GhcbError::MissingResult)?;
        let info2 = self.get(Field::SwExitInfo2).unwrap_or(0);
        match info1 & 0xffff_ffff {
            0 => Ok(()),
            1 => Err(GhcbError::Exception(info2)),
            2 => Err(GhcbError::BadInput(info2 as u32)),
            _ => Err(GhcbError::Unknown(info1)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ap_creation_info1_packs_operation_vmpl_and_apic_id() {
        assert_eq!(ap_creation_info1(ApCreation::Create, 1, 0), Some(0x1_0001));
        assert_eq!(
            ap_creation_info1(ApCreation::Destroy, 1, 7),
            Some(0x7_0001_0002)
        );
        assert_eq!(
            ap_creation_info1(ApCreation::CreateOnInit, 3, u32::MAX),
            Some(0xFFFF_FFFF_0003_0000)
        );
        assert_eq!(ap_creation_info1(ApCreation::Create, 4, 0), None);
    }

    #[test]
    fn valid_bits_are_quadword_indices() {
        assert_eq!(Field::Rax.valid_bit(), 0x1f8 / 8);
        assert_eq!(Field::SwExitCode.valid_bit(), 114);
        assert_eq!(Field::SwScratch.valid_bit(), 117);
        let mut g = Ghcb::default();
        g.set(Field::Rbx, 0x1122_3344_5566_7788);
        // RBX is quadword 99: byte 12 of the bitmap, bit 3.
        assert_eq!(g.as_bytes()[0x3f0 + 12], 1 << 3);
        assert_eq!(
            &g.as_bytes()[0x318..0x320],
            &0x1122_3344_5566_7788u64.to_le_bytes()
        );
        assert_eq!(g.get(Field::Rbx), Some(0x1122_3344_5566_7788));
    }

    #[test]
    fn fields_not_marked_valid_read_as_none() {
        let mut g = Ghcb::default();
        // The hypervisor wrote RAX but did not mark it valid.
        g.as_bytes_mut()[0x1f8] = 0x55;
        assert_eq!(g.get(Field::Rax), None);
        g.set(Field::Rax, 7);
        assert_eq!(g.get(Field::Rax), Some(7));
        g.clear();
        assert_eq!(g.get(Field::Rax), None);
        assert!(g.as_bytes().iter().all(|&b| b == 0));
    }

    #[test]
    fn prepare_writes_version_usage_and_the_exit_fields() {
        let mut g = Ghcb::default();
        g.set(Field::Rcx, 9);
        g.prepare(exit_code::SNP_GUEST_REQUEST, 0x1000, 0x2000);
        assert_eq!(g.get(Field::Rcx), None, "stale inputs are cleared");
        assert_eq!(g.protocol_version(), 2);
        assert_eq!(g.usage(), 0);
        assert_eq!(&g.as_bytes()[0xffa..0xffc], &[2, 0]);
        assert_eq!(g.get(Field::SwExitCode), Some(0x8000_0011));
        assert_eq!(g.get(Field::SwExitInfo1), Some(0x1000));
        assert_eq!(g.get(Field::SwExitInfo2), Some(0x2000));
    }

    #[test]
    fn exit_result_decodes_sw_exitinfo1() {
        let mut g = Ghcb::default();
        assert_eq!(g.exit_result(), Err(GhcbError::MissingResult));
        g.set(Field::SwExitInfo1, 0);
        assert_eq!(g.exit_result(), Ok(()));
        g.set(Field::SwExitInfo2, 0x8000_0b0e);
        g.set(Field::SwExitInfo1, 1);
        assert_eq!(g.exit_result(), Err(GhcbError::Exception(0x8000_0b0e)));
        g.set(Field::SwExitInfo2, 4);
        g.set(Field::SwExitInfo1, 2);
        assert_eq!(g.exit_result(), Err(GhcbError::BadInput(4)));
        g.set(Field::SwExitInfo1, 3);
        assert_eq!(g.exit_result(), Err(GhcbError::Unknown(3)));
        // Only the low 32 bits are the verdict.
        g.set(Field::SwExitInfo1, 0xdead_0000_0000);
        assert_eq!(g.exit_result(), Ok(()));
    }

    #[test]
    fn the_shared_buffer_is_0x800_to_0xff0() {
        let mut g = Ghcb::default();
        g.shared_buffer_mut().fill(0xab);
        assert_eq!(g.as_bytes()[0x7ff], 0);
        assert_eq!(g.as_bytes()[0x800], 0xab);
        assert_eq!(g.as_bytes()[0xfef], 0xab);
        assert_eq!(g.as_bytes()[0xff0], 0);
        assert!(g.shared_buffer().iter().all(|&b| b == 0xab));
        assert_eq!(Ghcb::shared_buffer_gpa(0x7000), 0x7800);
    }
}

#[cfg(test)]
mod ioio_tests {
    use super::*;

    #[test]
    fn ioio_info1_encodes_port_size_direction() {
        // OUT to COM1's THR, one byte: port 0x3F8, SZ8, A64.
        assert_eq!(ioio_info1(0x3f8, 1, false), Some(0x03f8_0210));
        // IN from COM1's LSR.
        assert_eq!(ioio_info1(0x3fd, 1, true), Some(0x03fd_0211));
        // OUT of a dword to isa-debug-exit.
        assert_eq!(ioio_info1(0xf4, 4, false), Some(0x00f4_0240));
        assert_eq!(ioio_info1(0x3f8, 3, false), None);
        assert_eq!(ioio_info1(0x3f8, 8, true), None);
    }

    #[test]
    fn ioio_result_needs_success_and_a_valid_rax() {
        let mut g = Ghcb::default();
        g.prepare(exit_code::IOIO, 0x03fd_0211, 0);
        g.set(Field::SwExitInfo1, 0);
        assert_eq!(ioio_result(&g, 1), Err(GhcbError::MissingResult));
        g.set(Field::Rax, 0x1234_5660);
        assert_eq!(ioio_result(&g, 1), Ok(0x60));
        assert_eq!(ioio_result(&g, 2), Ok(0x5660));
        assert_eq!(ioio_result(&g, 4), Ok(0x1234_5660));
        g.set(Field::SwExitInfo1, 2);
        g.set(Field::SwExitInfo2, 4);
        assert_eq!(ioio_result(&g, 1), Err(GhcbError::BadInput(4)));
    }
}
