//! The SVSM calling convention and protocols under hostile guests: a sequence of guest memory
//! writes and SVSM calls (any protocol, call and registers, addresses biased towards the
//! interesting places: the calling area, page boundaries, SVSM memory, the end of RAM) against
//! the real dispatcher over simulated guest memory. Checked after every call: the SVSM's own
//! memory is untouched, `call_pending` is clear, and a failed call left RCX..R9 as they were
//! (the attestation calls excepted: they report buffer sizes with `INVALID_PARAMETER`).

use svsm::mm::guest::{GuestMap, GuestMemory, PageSize, VecMemory};
use svsm::platform::qemu_test::SimulatedRmp;
use svsm::protocol::core::Vcpus;
use svsm::protocol::attest::Attestation;
use svsm::protocol::vtpm::Engine;
use svsm::protocol::{
    Caller, Cpu, Machine, Registers, Svsm, SvsmError, SvsmResult, SVSM_ATTEST_PROTOCOL,
};

/// Guest RAM: 128 KiB at 1 MiB, with the SVSM's 16 KiB inside it. Small, because under ASan
/// a fresh large allocation per input costs more than everything the input then does.
const RAM: core::ops::Range<u64> = 0x10_0000..0x12_0000;
const SVSM_MEM: core::ops::Range<u64> = 0x11_0000..0x11_4000;
const CAA: u64 = RAM.start;
const ZERO_PAGE: &[u8] = &[0; 4096];

/// Echoes a header-only response; a 300-byte manifest; reports of the right size carrying the
/// report data (the protocol layer is what is fuzzed, not the PSP).
#[derive(Debug, Default)]
struct Echo;

impl Engine for Echo {
    fn execute(&mut self, _locality: u8, command: &[u8], response: &mut [u8]) -> usize {
        let mut r = [0x80, 0x01, 0, 0, 0, 10, 0, 0, 0, 0];
        r[6..10].copy_from_slice(&(command.len() as u32).to_be_bytes());
        response[..10].copy_from_slice(&r);
        10
    }
}

#[derive(Debug, Default)]
struct Reports;

impl Attestation for Reports {
    fn vtpm_manifest(&self) -> &[u8] {
        &[0x5A; 300]
    }

    fn report(&mut self, report_data: &[u8; 64]) -> SvsmResult<Vec<u8>> {
        let mut r = vec![0u8; 1184];
        r[0x50..0x90].copy_from_slice(report_data);
        Ok(r)
    }
}

/// A byte cursor that yields zeros once the input runs out.
struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn u8(&mut self) -> u8 {
        let (b, rest) = self.0.split_first().map_or((0, &[][..]), |(b, r)| (*b, r));
        self.0 = rest;
        b
    }
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }
    fn u64(&mut self) -> u64 {
        u64::from(self.u32()) | (u64::from(self.u32()) << 32)
    }
    fn bytes(&mut self, n: usize) -> &[u8] {
        let n = n.min(self.0.len());
        let (b, rest) = self.0.split_at(n);
        self.0 = rest;
        b
    }
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// A register value: mostly an address near somewhere interesting, sometimes anything.
    fn arg(&mut self) -> u64 {
        let near = match self.u8() % 8 {
            0 => return self.u64(),
            1 => CAA,
            2 => SVSM_MEM.start,
            3 => SVSM_MEM.end,
            4 => RAM.end,
            5 => RAM.start + u64::from(self.u32()) % (RAM.end - RAM.start),
            6 => (RAM.start + u64::from(self.u32()) % (RAM.end - RAM.start)) & !0xFFF,
            _ => 0,
        };
        let delta = i64::from(self.u8() as i8);
        near.wrapping_add_signed(delta)
    }
}

pub fn check(data: &[u8]) {
    let machine = Machine {
        mem: VecMemory::new(RAM.start, (RAM.end - RAM.start) as usize),
        map: GuestMap::new(&[RAM], &[SVSM_MEM]),
        pages: SimulatedRmp::new(RAM),
        vcpus: Vcpus::new(&[0, 1]),
    };
    let s = Svsm::new(machine, Echo, Some(Box::new(Reports)));
    let mut cpu = Cpu {
        caller: Caller {
            vmpl: 1,
            sev_features: 1,
        },
        caa: CAA,
    };
    let mut input = Input(data);
    for _ in 0..64 {
        if input.is_empty() {
            break;
        }
        if input.u8() % 2 == 0 {
            // The guest writes its own memory (the SVSM's is refused, as the RMP would).
            let gpa = input.arg();
            let len = usize::from(input.u8()) * 17 % 4097;
            let bytes = input.bytes(len).to_vec();
            let mut m = s.machine.lock();
            let m = &mut *m;
            if let Ok(r) = m.map.region(gpa, bytes.len() as u64, 1, PageSize::Small) {
                let _ = m.mem.copy_out(&r, &bytes);
            }
            continue;
        }
        let protocol = u32::from(input.u8() % 4);
        let call = u32::from(input.u8() % 10);
        let before = Registers {
            rax: Registers::request(protocol, call),
            rcx: input.arg(),
            rdx: input.arg(),
            r8: input.arg(),
            r9: input.arg(),
        };
        {
            let mut m = s.machine.lock();
            let m = &mut *m;
            if let Ok(flag) = m.map.region(cpu.caa, 1, 1, PageSize::Small) {
                let _ = m.mem.copy_out(&flag, &[1]);
            }
        }
        let mut regs = before;
        let handled = s.handle_vmgexit(&mut cpu, &mut regs);
        if handled {
            let m = s.machine.lock();
            if let Ok(flag) = m.map.region(cpu.caa, 1, 1, PageSize::Small) {
                let mut b = [1u8];
                let _ = m.mem.copy_in(&flag, &mut b);
                assert_eq!(b[0] & 1, 0, "call_pending left set");
            }
            let failed = SvsmError::from_code(regs.rax).is_some();
            if failed && protocol != SVSM_ATTEST_PROTOCOL {
                assert_eq!(
                    (regs.rcx, regs.rdx, regs.r8, regs.r9),
                    (before.rcx, before.rdx, before.r8, before.r9),
                    "a failed call changed registers"
                );
            }
        } else {
            assert_eq!(regs, before, "no call, yet registers changed");
        }
        let off = (SVSM_MEM.start - RAM.start) as usize;
        let m = s.machine.lock();
        let svsm_bytes = &m.mem.bytes()[off..off + (SVSM_MEM.end - SVSM_MEM.start) as usize];
        // Page by page against a zero page: a memcmp, not a loop the coverage instrumentation
        // counts byte by byte (which made this check most of the target's time).
        assert!(
            svsm_bytes.chunks(4096).all(|p| p == ZERO_PAGE),
            "SVSM memory written"
        );
    }
}
