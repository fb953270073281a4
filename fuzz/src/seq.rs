//! The `engine_sequence` generator: input bytes pick commands from a menu of plausible ones,
//! with fields drawn from the input and handles and passwords taken from earlier responses, so
//! that sequences reach the states single commands cannot (open sequences, changed hierarchy
//! auths, a shut-down or powered-off TPM).
//!
//! Input: a series of operations, each an opcode byte (modulo [`OPS`]) followed by the bytes
//! its fields consume. [`OP_RAW`] sends command bytes verbatim (locality, u16 length, bytes),
//! which is how traffic recorded from tpm2-tools becomes a seed.

use crate::{be32, exec, rc, Cmd, Cursor, ST_NO_SESSIONS, ST_SESSIONS};

pub const OP_STARTUP: u8 = 0;
pub const OP_SHUTDOWN: u8 = 1;
pub const OP_POWER: u8 = 2;
pub const OP_GET_RANDOM: u8 = 3;
pub const OP_STIR_RANDOM: u8 = 4;
pub const OP_PCR_READ: u8 = 5;
pub const OP_PCR_EXTEND: u8 = 6;
pub const OP_PCR_EVENT: u8 = 7;
pub const OP_PCR_RESET: u8 = 8;
pub const OP_HASH: u8 = 9;
pub const OP_HASH_SEQ_START: u8 = 10;
pub const OP_SEQ_UPDATE: u8 = 11;
pub const OP_SEQ_COMPLETE: u8 = 12;
pub const OP_EVENT_SEQ_COMPLETE: u8 = 13;
pub const OP_GET_CAPABILITY: u8 = 14;
pub const OP_READ_CLOCK: u8 = 15;
pub const OP_TEST_PARMS: u8 = 16;
pub const OP_CHANGE_AUTH: u8 = 17;
pub const OP_CLEAR: u8 = 18;
pub const OP_CLEAR_CONTROL: u8 = 19;
pub const OP_FLUSH: u8 = 20;
pub const OP_START_AUTH_SESSION: u8 = 21;
pub const OP_RAW: u8 = 22;
pub const OP_SELF_TEST: u8 = 23;
pub const OP_PCR_ALLOCATE: u8 = 24;
/// Number of opcodes.
pub const OPS: u8 = 25;
/// Operations per input at most (keeps one input fast).
pub const MAX_OPS: usize = 64;

const RH_OWNER: u32 = 0x4000_0001;
const RH_NULL: u32 = 0x4000_0007;
const RH_LOCKOUT: u32 = 0x4000_000A;
const RH_ENDORSEMENT: u32 = 0x4000_000B;
const RH_PLATFORM: u32 = 0x4000_000C;

const SHA1: u16 = 0x0004;
const SHA256: u16 = 0x000B;
const SHA384: u16 = 0x000C;
const SHA512: u16 = 0x000D;
const NULL: u16 = 0x0010;
const SM3: u16 = 0x0012;

/// What the generator believes about the TPM, updated from responses.
#[derive(Debug, Default)]
struct Model {
    /// Open hash/event sequences and their authValues.
    seqs: Vec<(u32, Vec<u8>)>,
    /// Sessions returned by `TPM2_StartAuthSession`.
    sessions: Vec<u32>,
    /// authValues of owner, endorsement, platform and lockout.
    auth: [Vec<u8>; 4],
}

impl Model {
    fn auth_slot(h: u32) -> Option<usize> {
        match h {
            RH_OWNER => Some(0),
            RH_ENDORSEMENT => Some(1),
            RH_PLATFORM => Some(2),
            RH_LOCKOUT => Some(3),
            _ => None,
        }
    }
    fn auth_of(&self, h: u32) -> Vec<u8> {
        if let Some(i) = Self::auth_slot(h) {
            return self.auth[i].clone();
        }
        self.seqs
            .iter()
            .find(|(s, _)| *s == h)
            .map(|(_, a)| a.clone())
            .unwrap_or_default()
    }
    fn forget_volatile(&mut self) {
        self.seqs.clear();
        self.sessions.clear();
    }
}

/// One step of a trace: the command sent (empty for a power signal) and the response.
pub type Step = (Vec<u8>, Vec<u8>);

/// Manufactures a TPM and runs the operations `data` describes, checking every response;
/// returns the trace. Ends with the resource check.
pub fn run(data: &[u8]) -> Vec<Step> {
    let mut tpm = crate::manufacture();
    let mut c = Cursor::new(data);
    let mut m = Model::default();
    let mut trace = Vec::new();
    for _ in 0..MAX_OPS {
        if c.is_empty() {
            break;
        }
        let op = c.u8() % OPS;
        if op == OP_POWER {
            match c.u8() % 3 {
                0 => {
                    tpm.power_off();
                    tpm.power_on();
                }
                1 => tpm.power_off(),
                _ => tpm.power_on(),
            }
            m.forget_volatile();
            trace.push((Vec::new(), Vec::new()));
            continue;
        }
        let (locality, cmd) = build(op, &mut c, &m);
        let cmd = corrupt(&mut c, cmd);
        let rsp = exec(&mut tpm, locality, &cmd);
        observe(&mut m, &cmd, &rsp);
        trace.push((cmd, rsp));
    }
    crate::check_resources(&mut tpm);
    trace
}

/// Sometimes damages a well-built command: flips a byte, truncates it, or breaks its size
/// field, so structured sequences also walk the error paths.
fn corrupt(c: &mut Cursor<'_>, mut cmd: Vec<u8>) -> Vec<u8> {
    let how = c.u8();
    if how < 240 || cmd.is_empty() {
        return cmd;
    }
    let at = c.u16() as usize % cmd.len();
    match how % 4 {
        0 => cmd[at] ^= c.u8() | 1,
        1 => cmd.truncate(at),
        2 if cmd.len() >= 6 => cmd[2..6].copy_from_slice(&u32::from(c.u16()).to_be_bytes()),
        _ => cmd[at] = c.u8(),
    }
    cmd
}

/// Learns handles and authValues from a successful response.
fn observe(m: &mut Model, cmd: &[u8], rsp: &[u8]) {
    if cmd.len() < 10 || rc(rsp) != 0 {
        return;
    }
    let cc = be32(&cmd[6..10]);
    let h1 = cmd.get(10..14).map(be32).unwrap_or(0);
    match cc {
        // HashSequenceStart: the new handle; its auth is the first parameter.
        0x186 if rsp.len() >= 14 => {
            let auth = cmd
                .get(10..)
                .filter(|p| p.len() >= 2)
                .and_then(|p| p.get(..crate::be16(p) as usize + 2))
                .map(|a| a[2..].to_vec())
                .unwrap_or_default();
            m.seqs.push((be32(&rsp[10..14]), auth));
        }
        0x176 if rsp.len() >= 14 => m.sessions.push(be32(&rsp[10..14])),
        // SequenceComplete, FlushContext: the handle is gone.
        0x13E | 0x165 => {
            m.seqs.retain(|(h, _)| *h != h1);
            m.sessions.retain(|h| *h != h1);
        }
        // EventSequenceComplete: the second handle is gone.
        0x185 => {
            let h2 = cmd.get(14..18).map(be32).unwrap_or(0);
            m.seqs.retain(|(h, _)| *h != h2);
        }
        0x144 => m.forget_volatile(),
        // HierarchyChangeAuth: authHandle, authorizationSize, the area, then newAuth.
        0x129 => {
            let area = cmd.get(14..18).map(be32).unwrap_or(0) as usize;
            let new = cmd.get(18 + area..).filter(|p| p.len() >= 2);
            if let (Some(i), Some(p)) = (Model::auth_slot(h1), new) {
                let n = (crate::be16(p) as usize).min(p.len() - 2);
                m.auth[i] = p[2..2 + n].to_vec();
            }
        }
        // Clear: ownerAuth, endorsementAuth and lockoutAuth become empty.
        0x126 => {
            m.auth[0].clear();
            m.auth[1].clear();
            m.auth[3].clear();
        }
        _ => {}
    }
}

/// The password for `h`: usually the right one.
fn password(c: &mut Cursor<'_>, m: &Model, h: u32) -> Vec<u8> {
    if c.u8() < 224 {
        m.auth_of(h)
    } else {
        c.bytes(80)
    }
}

/// Session attributes of a password session: usually `continueSession`.
fn attrs(c: &mut Cursor<'_>) -> u8 {
    let a = c.u8();
    if a < 200 {
        1
    } else {
        a
    }
}

fn pw1(c: &mut Cursor<'_>, m: &Model, cmd: Cmd, h: u32) -> Cmd {
    let p = password(c, m, h);
    let a = attrs(c);
    cmd.pw(&[(&p, a)])
}

fn hash_alg(c: &mut Cursor<'_>) -> u16 {
    match c.u8() % 8 {
        0 => SHA1,
        1 | 2 => SHA256,
        3 => SHA384,
        4 => SHA512,
        5 => NULL,
        6 => SM3,
        _ => c.u16(),
    }
}

fn digest_size(alg: u16) -> usize {
    match alg {
        SHA1 => 20,
        SHA256 | SM3 => 32,
        SHA384 => 48,
        SHA512 => 64,
        _ => 0,
    }
}

fn pcr(c: &mut Cursor<'_>) -> u32 {
    match c.u8() {
        b @ 0..=239 => u32::from(b % 24),
        240..=247 => 24,
        248..=251 => RH_NULL,
        _ => c.u32(),
    }
}

fn hierarchy(c: &mut Cursor<'_>) -> u32 {
    match c.u8() % 6 {
        0 => RH_OWNER,
        1 => RH_ENDORSEMENT,
        2 => RH_PLATFORM,
        3 => RH_NULL,
        4 => RH_LOCKOUT,
        _ => c.u32(),
    }
}

fn pick_seq(c: &mut Cursor<'_>, m: &Model) -> u32 {
    let i = c.u8() as usize;
    match m.seqs.get(i % (m.seqs.len() + 1)) {
        Some((h, _)) => *h,
        None if i & 0x80 != 0 => 0x8000_0000 + (i as u32 & 7),
        None => c.u32(),
    }
}

fn pcr_selection(c: &mut Cursor<'_>, mut cmd: Cmd) -> Cmd {
    let count = match c.u8() {
        0..=199 => 1,
        200..=229 => 2,
        230..=239 => 3,
        240..=247 => 0,
        _ => c.u8() as u32 % 32,
    };
    cmd = cmd.u32(count);
    for _ in 0..count.min(20) {
        let alg = hash_alg(c);
        let size = if c.u8() < 224 { 3 } else { c.u8() % 6 };
        cmd = cmd.u16(alg).u8(size);
        for _ in 0..size {
            cmd = cmd.u8(c.u8());
        }
    }
    cmd
}

fn digest_values(c: &mut Cursor<'_>, mut cmd: Cmd) -> Cmd {
    let count = match c.u8() {
        0..=159 => 1,
        160..=219 => 2,
        220..=239 => 3,
        240..=247 => 0,
        _ => c.u8() as u32 % 8,
    };
    cmd = cmd.u32(count);
    for _ in 0..count.min(8) {
        let alg = hash_alg(c);
        let mut d = vec![0u8; digest_size(alg)];
        d.iter_mut().for_each(|b| *b = c.u8());
        cmd = cmd.u16(alg).bytes(&d);
    }
    cmd
}

fn sym_def(c: &mut Cursor<'_>, cmd: Cmd) -> Cmd {
    match c.u8() % 4 {
        0 => cmd.u16(NULL),
        1 => cmd.u16(0x0006).u16(c.pick(&[128, 192, 256, 0])).u16(0x0043),
        2 => cmd.u16(0x000A).u16(hash_alg(c)),
        _ => cmd.u16(c.u16()).u16(c.u16()).u16(c.u16()),
    }
}

/// `TPMT_PUBLIC_PARMS` with mostly meaningful choices.
fn public_parms(c: &mut Cursor<'_>, cmd: Cmd) -> Cmd {
    let scheme = |c: &mut Cursor<'_>, cmd: Cmd, schemes: &[u16]| {
        let s = if c.u8() < 200 {
            c.pick(schemes)
        } else {
            c.u16()
        };
        if s == NULL {
            cmd.u16(s)
        } else {
            cmd.u16(s).u16(hash_alg(c))
        }
    };
    match c.u8() % 5 {
        0 => {
            let cmd = sym_def(c, cmd.u16(0x0001));
            let cmd = scheme(c, cmd, &[NULL, 0x0014, 0x0016, 0x0015, 0x0017]);
            let bits = c.pick(&[2048, 1024, 3072, 4096, 0, 2047]);
            cmd.u16(bits).u32(if c.bool() { 0 } else { c.u32() })
        }
        1 => {
            let cmd = sym_def(c, cmd.u16(0x0023));
            let cmd = scheme(c, cmd, &[NULL, 0x0018, 0x0019, 0x001A, 0x001C]);
            let cmd = cmd.u16(c.pick(&[0x0003, 0x0004, 0x0005, 0x0001, 0x0000]));
            scheme(c, cmd, &[NULL, 0x0020, 0x0021, 0x0022])
        }
        2 => {
            let cmd = cmd.u16(0x0008);
            match c.u8() % 3 {
                0 => cmd.u16(NULL),
                1 => cmd.u16(0x0005).u16(hash_alg(c)),
                _ => cmd
                    .u16(0x000A)
                    .u16(hash_alg(c))
                    .u16(c.pick(&[0x0022, NULL])),
            }
        }
        3 => sym_def(c, cmd.u16(0x0025)),
        _ => {
            let b = c.bytes(64);
            cmd.u16(c.u16()).bytes(&b)
        }
    }
}

/// Builds the command for `op`; returns it with its locality.
fn build(op: u8, c: &mut Cursor<'_>, m: &Model) -> (u8, Vec<u8>) {
    let locality = match c.u8() {
        0..=223 => 0,
        b @ 224..=251 => b % 5,
        b => b,
    };
    let ns = |cc| Cmd::new(ST_NO_SESSIONS, cc);
    let s = |cc| Cmd::new(ST_SESSIONS, cc);
    let cmd = match op {
        OP_STARTUP => ns(0x144).u16(if c.u8() < 128 { 0 } else { c.u16() % 3 }),
        OP_SHUTDOWN => ns(0x145).u16(if c.u8() < 128 { 0 } else { c.u16() % 3 }),
        OP_GET_RANDOM => ns(0x17B).u16(c.pick(&[16, 32, 64, 0, 65, 0xFFFF])),
        OP_STIR_RANDOM => ns(0x146).sized(&c.bytes(200)),
        OP_PCR_READ => pcr_selection(c, ns(0x17E)),
        OP_PCR_EXTEND => {
            let h = pcr(c);
            let cmd = pw1(c, m, s(0x182).u32(h), h);
            digest_values(c, cmd)
        }
        OP_PCR_EVENT => {
            let h = pcr(c);
            let ev = c.bytes(1100);
            pw1(c, m, s(0x13C).u32(h), h).sized(&ev)
        }
        OP_PCR_RESET => {
            let h = pcr(c);
            pw1(c, m, s(0x13D).u32(h), h)
        }
        OP_HASH => {
            let data = c.bytes(1100);
            ns(0x17D).sized(&data).u16(hash_alg(c)).u32(hierarchy(c))
        }
        OP_HASH_SEQ_START => {
            let auth = if c.u8() < 160 {
                Vec::new()
            } else {
                c.bytes(80)
            };
            ns(0x186).sized(&auth).u16(hash_alg(c))
        }
        OP_SEQ_UPDATE => {
            let h = pick_seq(c, m);
            let data = c.bytes(1100);
            pw1(c, m, s(0x15C).u32(h), h).sized(&data)
        }
        OP_SEQ_COMPLETE => {
            let h = pick_seq(c, m);
            let data = c.bytes(1100);
            pw1(c, m, s(0x13E).u32(h), h).sized(&data).u32(hierarchy(c))
        }
        OP_EVENT_SEQ_COMPLETE => {
            let (p, h) = (pcr(c), pick_seq(c, m));
            let (pa, sa) = (password(c, m, p), password(c, m, h));
            let data = c.bytes(1100);
            s(0x185)
                .u32(p)
                .u32(h)
                .pw(&[(&pa, attrs(c)), (&sa, attrs(c))])
                .sized(&data)
        }
        OP_GET_CAPABILITY => {
            let cap = match c.u8() % 12 {
                n @ 0..=9 => u32::from(n),
                10 => 0x100,
                _ => c.u32(),
            };
            let prop = match c.u8() % 8 {
                0 => 0,
                1 => 0x100,
                2 => 0x200,
                3 => 0x8000_0000,
                4 => 0x0200_0000,
                5 => 0x4000_0000,
                6 => u32::from(c.u16()),
                _ => c.u32(),
            };
            let count = match c.u8() % 6 {
                0 => 1,
                1 => 8,
                2 => 255,
                3 => 0,
                4 => u32::MAX,
                _ => c.u32(),
            };
            ns(0x17A).u32(cap).u32(prop).u32(count)
        }
        OP_READ_CLOCK => ns(0x181),
        OP_TEST_PARMS => public_parms(c, ns(0x18A)),
        OP_CHANGE_AUTH => {
            let h = hierarchy(c);
            let new = if c.u8() < 64 { Vec::new() } else { c.bytes(80) };
            pw1(c, m, s(0x129).u32(h), h).sized(&new)
        }
        OP_CLEAR => {
            let h = if c.bool() { RH_LOCKOUT } else { RH_PLATFORM };
            pw1(c, m, s(0x126).u32(h), h)
        }
        OP_CLEAR_CONTROL => {
            let h = if c.bool() { RH_LOCKOUT } else { RH_PLATFORM };
            let disable = if c.u8() < 240 { c.u8() & 1 } else { c.u8() };
            pw1(c, m, s(0x127).u32(h), h).u8(disable)
        }
        OP_FLUSH => {
            let h = match c.u8() % 4 {
                0 | 1 => pick_seq(c, m),
                2 if !m.sessions.is_empty() => c.pick(&m.sessions),
                _ => c.u32(),
            };
            ns(0x165).u32(h)
        }
        OP_START_AUTH_SESSION => {
            let key = if c.u8() < 224 { RH_NULL } else { c.u32() };
            let bind = if c.u8() < 192 { RH_NULL } else { hierarchy(c) };
            let nonce = c.bytes(64);
            let cmd = ns(0x176).u32(key).u32(bind).sized(&nonce).sized(&[]);
            let ty = if c.u8() < 224 { c.u8() % 4 } else { c.u8() };
            sym_def(c, cmd.u8(ty)).u16(hash_alg(c))
        }
        OP_SELF_TEST => match c.u8() % 3 {
            0 => ns(0x143).u8(c.u8() & 1),
            1 => {
                let n = u32::from(c.u8() % 4);
                let mut cmd = ns(0x142).u32(n);
                for _ in 0..n {
                    cmd = cmd.u16(hash_alg(c));
                }
                cmd
            }
            _ => ns(0x17C),
        },
        OP_PCR_ALLOCATE => {
            let cmd = pw1(c, m, s(0x12B).u32(RH_PLATFORM), RH_PLATFORM);
            pcr_selection(c, cmd)
        }
        _ => {
            // OP_RAW: u16 length, then the command bytes verbatim.
            let n = c.u16() as usize;
            let mut v = Vec::with_capacity(n.min(8192));
            for _ in 0..n.min(8192) {
                if c.is_empty() {
                    break;
                }
                v.push(c.u8());
            }
            return (locality, v);
        }
    };
    (locality, cmd.done())
}

/// Encodes `commands` as an `engine_sequence` input of [`OP_RAW`] operations (for seeds).
pub fn raw_ops(commands: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for cmd in commands {
        out.push(OP_RAW);
        out.push(0); // locality 0
        out.extend_from_slice(&(cmd.len() as u16).to_be_bytes());
        out.extend_from_slice(cmd);
        out.push(0); // no corruption
    }
    out
}

/// Runs `data` on two fresh TPMs and asserts both traces are the same (same platform, same
/// commands: the engine must answer the same bytes).
pub fn check(data: &[u8]) {
    let a = run(data);
    let b = run(data);
    assert_eq!(a.len(), b.len(), "trace lengths differ");
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        assert_eq!(x.0, y.0, "step {i}: commands differ");
        assert_eq!(x.1, y.1, "step {i}: responses differ for {:02x?}", x.0);
    }
}
