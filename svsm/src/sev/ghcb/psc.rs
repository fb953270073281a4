//! The SNP Page State Change NAE event's buffer (GHCB spec 56421, section "SNP Page State
//! Change", tables "Page State Change Header" and "Page State Change Entry"): a header and up
//! to 253 entries in the GHCB shared buffer, SW_SCRATCH pointing at it.
//!
//! The hypervisor advances `cur_entry` as it works and may return before it reaches
//! `end_entry`; the guest then issues the event again with the same buffer. [`progress`] reads
//! the header back and refuses a hypervisor that moves `end_entry` or moves `cur_entry`
//! backwards, which would make the guest loop or skip pages.

use super::SHARED_BUFFER_SIZE;
use crate::mm::guest::PageSize;
use core::mem::{offset_of, size_of};

/// Entries that fit in the shared buffer after the header.
pub const MAX_ENTRIES: usize = 253;

/// The header.
#[repr(C, packed)]
#[derive(Debug, Clone, Copy, Default)]
pub struct PscHeader {
    /// The next entry the hypervisor will process.
    pub cur_entry: u16,
    /// The last entry to process (inclusive).
    pub end_entry: u16,
    pub reserved: u32,
}

/// The whole buffer: header, then entries.
#[repr(C, packed)]
#[derive(Debug, Clone, Copy)]
pub struct PscBuffer {
    pub header: PscHeader,
    pub entries: [u64; MAX_ENTRIES],
}

const _: () = assert!(offset_of!(PscHeader, cur_entry) == 0);
const _: () = assert!(offset_of!(PscHeader, end_entry) == 2);
const _: () = assert!(offset_of!(PscHeader, reserved) == 4);
const _: () = assert!(size_of::<PscHeader>() == 8);
const _: () = assert!(offset_of!(PscBuffer, entries) == 8);
const _: () = assert!(size_of::<PscBuffer>() == SHARED_BUFFER_SIZE);

const ENTRIES: usize = offset_of!(PscBuffer, entries);

/// The operation of an entry (bits 55:52).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum PscOperation {
    /// Page assignment, private.
    Private = 1,
    /// Page assignment, shared.
    Shared = 2,
    /// PSMASH: split a 2 MiB RMP entry into 4 KiB entries.
    Psmash = 3,
    /// UNSMASH: merge 4 KiB RMP entries into one 2 MiB entry.
    Unsmash = 4,
}

/// Why a buffer could not be built, or the hypervisor's answer was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PscError {
    /// No entries, or more than [`MAX_ENTRIES`].
    BadCount(usize),
    /// An address not aligned to its page size, or beyond the 40-bit GFN field.
    BadAddress(u64),
    /// The hypervisor changed `end_entry`.
    EndMoved { sent: u16, got: u16 },
    /// The hypervisor moved `cur_entry` backwards.
    WentBackwards { before: u16, after: u16 },
}

/// One entry: bits 11:0 the current page within a 2 MiB entry (the hypervisor's progress, 0
/// from the guest), 51:12 the GFN, 55:52 the operation, 56 the page size (1 = 2 MiB), 63:57
/// reserved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PscEntry(pub u64);

impl PscEntry {
    const GFN_MASK: u64 = ((1 << 40) - 1) << 12;

    /// The entry for the page of `size` at `gpa`.
    pub fn new(gpa: u64, size: PageSize, op: PscOperation) -> Result<PscEntry, PscError> {
        if gpa & (size.bytes() - 1) != 0 || gpa & !Self::GFN_MASK != 0 {
            return Err(PscError::BadAddress(gpa));
        }
        let huge = matches!(size, PageSize::Huge) as u64;
        Ok(PscEntry(gpa | ((op as u64) << 52) | (huge << 56)))
    }

    /// The page's guest physical address.
    pub const fn gpa(self) -> u64 {
        self.0 & Self::GFN_MASK
    }

    /// Whether the entry is for a 2 MiB page.
    pub const fn is_huge(self) -> bool {
        self.0 & (1 << 56) != 0
    }

    /// The operation bits.
    pub const fn operation(self) -> u8 {
        ((self.0 >> 52) & 0xf) as u8
    }
}

/// Writes the header (`cur_entry` 0, `end_entry` the last index) and `entries` into `buffer`
/// (the GHCB shared buffer); returns the `end_entry` written.
pub fn encode(entries: &[PscEntry], buffer: &mut [u8]) -> Result<u16, PscError> {
    if entries.is_empty() || entries.len() > MAX_ENTRIES || buffer.len() < SHARED_BUFFER_SIZE {
        return Err(PscError::BadCount(entries.len()));
    }
    // 1 <= len <= 253: the last index fits a u16.
    let end = (entries.len() - 1) as u16;
    buffer[..SHARED_BUFFER_SIZE].fill(0);
    buffer[2..4].copy_from_slice(&end.to_le_bytes());
    for (i, e) in entries.iter().enumerate() {
        let at = ENTRIES + 8 * i;
        buffer[at..at + 8].copy_from_slice(&e.0.to_le_bytes());
    }
    Ok(end)
}

/// Where the hypervisor got to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PscProgress {
    /// Every entry was processed.
    Done,
    /// Entries from `next` on remain: issue the event again.
    Partial { next: u16 },
}

/// Reads the header the hypervisor returned in `buffer`, given the `end_entry` that was sent
/// and the `cur_entry` before this exit.
pub fn progress(buffer: &[u8], sent_end: u16, before: u16) -> Result<PscProgress, PscError> {
    if buffer.len() < size_of::<PscHeader>() {
        return Err(PscError::BadCount(buffer.len()));
    }
    let cur = u16::from_le_bytes([buffer[0], buffer[1]]);
    let end = u16::from_le_bytes([buffer[2], buffer[3]]);
    if end != sent_end {
        return Err(PscError::EndMoved {
            sent: sent_end,
            got: end,
        });
    }
    if cur < before {
        return Err(PscError::WentBackwards { before, after: cur });
    }
    if cur > end {
        Ok(PscProgress::Done)
    } else {
        Ok(PscProgress::Partial { next: cur })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_pack_gfn_operation_and_size() {
        let e = PscEntry::new(0x20_0000, PageSize::Huge, PscOperation::Shared).unwrap();
        assert_eq!(e.0, 0x0120_0000_0020_0000);
        assert!(e.is_huge());
        assert_eq!((e.gpa(), e.operation()), (0x20_0000, 2));
        let e = PscEntry::new(0x1234_5000, PageSize::Small, PscOperation::Private).unwrap();
        assert_eq!(e.0, 0x0010_0000_1234_5000);
        assert!(!e.is_huge());
        assert_eq!(
            PscEntry::new(0x20_1000, PageSize::Huge, PscOperation::Psmash),
            Err(PscError::BadAddress(0x20_1000))
        );
        assert_eq!(
            PscEntry::new(1 << 52, PageSize::Small, PscOperation::Unsmash),
            Err(PscError::BadAddress(1 << 52))
        );
    }

    #[test]
    fn encode_writes_header_and_entries_little_endian() {
        let entries = [
            PscEntry::new(0x1000, PageSize::Small, PscOperation::Shared).unwrap(),
            PscEntry::new(0x2000, PageSize::Small, PscOperation::Shared).unwrap(),
        ];
        let mut buf = [0xffu8; SHARED_BUFFER_SIZE];
        assert_eq!(encode(&entries, &mut buf), Ok(1));
        assert_eq!(&buf[..8], &[0, 0, 1, 0, 0, 0, 0, 0]);
        assert_eq!(&buf[8..16], &entries[0].0.to_le_bytes());
        assert_eq!(&buf[16..24], &entries[1].0.to_le_bytes());
        assert!(buf[24..].iter().all(|&b| b == 0), "the rest is cleared");
    }

    #[test]
    fn encode_takes_one_to_253_entries() {
        let mut buf = [0u8; SHARED_BUFFER_SIZE];
        assert_eq!(encode(&[], &mut buf), Err(PscError::BadCount(0)));
        let e = PscEntry::new(0x1000, PageSize::Small, PscOperation::Private).unwrap();
        assert_eq!(encode(&[e; MAX_ENTRIES], &mut buf), Ok(252));
        assert_eq!(&buf[SHARED_BUFFER_SIZE - 8..], &e.0.to_le_bytes());
        assert_eq!(
            encode(&[e; MAX_ENTRIES + 1], &mut buf),
            Err(PscError::BadCount(254))
        );
    }

    #[test]
    fn progress_follows_cur_entry_and_refuses_a_lying_hypervisor() {
        let mut buf = [0u8; 8];
        buf[2..4].copy_from_slice(&9u16.to_le_bytes());
        buf[0..2].copy_from_slice(&4u16.to_le_bytes());
        assert_eq!(progress(&buf, 9, 0), Ok(PscProgress::Partial { next: 4 }));
        buf[0..2].copy_from_slice(&10u16.to_le_bytes());
        assert_eq!(progress(&buf, 9, 4), Ok(PscProgress::Done));
        buf[0..2].copy_from_slice(&3u16.to_le_bytes());
        assert_eq!(
            progress(&buf, 9, 4),
            Err(PscError::WentBackwards {
                before: 4,
                after: 3
            })
        );
        buf[2..4].copy_from_slice(&2u16.to_le_bytes());
        assert_eq!(
            progress(&buf, 9, 0),
            Err(PscError::EndMoved { sent: 9, got: 2 })
        );
        assert_eq!(progress(&buf[..4], 9, 0), Err(PscError::BadCount(4)));
    }
}
