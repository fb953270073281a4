//! Differential testing against the reference: the scenario runner used by
//! `tests/differential.rs` ([`Pair`], [`Step`], [`View`]) and the seeded command mutator. The
//! same command bytes go to the reference (swtpm/libtpms) and to the endpoint under test;
//! response codes always, and every response field that is deterministic, must agree.
//!
//! Each scenario is a list of [`Step`]s: hand-written commands, locality changes and power
//! cycles. A [`View`] says which part of a response is compared. Disagreements are collected, not
//! stopped at, and each is printed with the command and both responses in hex, so that one run
//! shows the engine author every difference.
//!
//! Differences that are *acceptable* (and therefore not compared):
//! * Algorithms: libtpms implements more than evtpm (SHA-512 and its PCR bank, SM3, Camellia,
//!   P-521, RSA-1024/3072...). TPM 2.0 Part 2 §6.3 leaves the implemented set to the TPM, so
//!   views filter lists (PCR banks, PCR_Event digests) to SHA-1/SHA-256/SHA-384, and the mutator
//!   accepts a difference when the mutation produced the ID of an algorithm only libtpms has.
//! * Ticket HMACs and their size (Part 1 §11.4.6.3: the proof and the HMAC hash are the TPM's;
//!   libtpms MACs with SHA-512, evtpm with SHA-256), also those of PolicySigned/PolicySecret
//!   ([`View::AuthTicket`] compares their tag, hierarchy and `timeout`'s expiresOnReset bit),
//!   random bytes (nonceTPM: compared by size, [`View::RcSize`]), clock and time values, `TPM2_IncrementalSelfTest`'s `toDoList` and
//!   `TPM2_GetTestResult`'s `outData` (Part 3 §10.3/10.4: vendor-specific), `PCR_Allocate`'s
//!   size fields, and the handle values of sequence objects (Part 2 §7.5: any transient handle).
//! * `GetCapability` answers listing implementation choices (the algorithm, command, curve and
//!   vendor lists, persistent and NV handles: evtpm may hold an EK) are compared entry by entry
//!   for entries both must have, or by response code only.
//! * In a `TPMS_ATTEST` ([`View::Attest`]), `clockInfo` and `firmwareVersion`: the clock is the
//!   TPM's own, and outside the endorsement and platform hierarchies `resetCount`,
//!   `restartCount` and `firmwareVersion` are obfuscated with a KDF of the TPM's own `shProof`
//!   (Part 1 §36.7). Signature values are not compared either (keys made from the TPM's own
//!   seeds, ECDSA nonces, and the signed bytes contain the clock); their algorithm, hash and size
//!   are, and the tpm2-tools tests verify signatures independently. Keys created from seeds also
//!   have their own Names, so their `qualifiedSigner` is left out (`signer: false`).
//! * Transient handles beyond the reference's three object slots: libtpms' `TPMI_DH_OBJECT`
//!   range check answers `TPM_RC_VALUE` for 0x80000003 and above (`TRANSIENT_LAST` follows
//!   `MAX_LOADED_OBJECTS`, Part 2 §9.3), where evtpm, with more slots, reports the object as not
//!   loaded. Scenarios name unloaded objects with handles below 0x80000003.

use crate::cmd;
use crate::{each_endpoint, hexs, Endpoint, Response, Server, Tpm};
use tpm_proto::{AlgId, Marshal, Su, TpmsAttest, Unmarshal};

pub const COMMON_BANKS: [AlgId; 3] = [AlgId::Sha1, AlgId::Sha256, AlgId::Sha384];

/// Fixed TPM properties (Part 2 §6.13) that must agree: PCR_COUNT, PCR_SELECT_MIN,
/// MAX_COMMAND_SIZE, MAX_RESPONSE_SIZE, INPUT_BUFFER, NV_BUFFER_MAX, MAX_DIGEST, FAMILY_INDICATOR,
/// LEVEL. MAX_DIGEST (64 on libtpms) presumes the engine implements SHA-512 for hashing, as
/// libtpms does; an engine without SHA-512 reports 48 and this list is where to relax that.
pub const FIXED_PROPS: &[u32] = &[
    0x100, 0x101, 0x10D, 0x112, 0x113, 0x11E, 0x11F, 0x120, 0x12C,
];
/// TPM_PT_PERMANENT and TPM_PT_STARTUP_CLEAR.
pub const VARIABLE_PROPS: &[u32] = &[0x200, 0x201];
/// TPM_PT_PCR_SAVE, EXTEND_L0..RESET_L4, NO_INCREMENT, DRTM_RESET: the PC Client PCR attributes;
/// TPM_PT_PCR_POLICY and TPM_PT_PCR_AUTH: the policy and authorization groups (PCRs 20–22).
pub const PCR_PROPS: &[u32] = &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0x11, 0x12, 0x13, 0x14];

/// Which part of a response must agree.
#[derive(Clone, Copy, Debug)]
pub enum View {
    /// Every byte.
    Full,
    /// A `GetCapability` answer without `moreData`: the entries must agree, but whether more
    /// exist depends on the implemented set (Part 2, 6.3).
    CapEntries,
    /// A `PCR_Read` answer without `pcrUpdateCounter`: libtpms allocates a SHA-512 bank too, and
    /// the counter counts each bank a PCR_Event extends (reference `PCRExtend`), so after an event
    /// the counters differ by the number of extra banks. Scenarios without events compare the
    /// counter with `Full`.
    PcrValues,
    /// A `TPM_CAP_HANDLES` answer: the handles below the bound (and not `moreData`). The
    /// firmware comes provisioned with its EK certificate indices at 0x01C00002/0x01C0000A
    /// (`tests/tests/ek.rs`), which the reference does not have; NV scenarios compare the
    /// indices they define, below 0x01C00000.
    HandlesBelow(u32),
    /// Tag and response code.
    Rc,
    /// Tag, response code and total size (random bytes).
    RcSize,
    /// Response code, and the listed `TPM_PT` values of a TPM_PROPERTIES answer.
    Props(&'static [u32]),
    /// Response code, and the listed `TPM_PT_PCR` selections of a PCR_PROPERTIES answer.
    PcrProps(&'static [u32]),
    /// Response code, and the SHA-1/256/384 entries of a TPM_CAP_PCRS answer.
    PcrBanks,
    /// Response code, and the SHA-1/256/384 digests of a `TPML_DIGEST_VALUES` (PCR_Event,
    /// EventSequenceComplete).
    Digests,
    /// Hash / SequenceComplete: the digest, ticket tag and hierarchy, and whether the ticket
    /// HMAC is empty.
    HashTicket,
    /// PCR_Allocate: allocationSuccess and maxPCR.
    Allocate,
    /// ReadClock: resetCount, restartCount.
    Clock,
    /// GetTestResult: testResult.
    TestResult,
    /// Response code; on success remember the response handle in this slot for later
    /// [`slot`] placeholders.
    Capture(usize),
    /// PolicySigned / PolicySecret: the size of `timeout` and its most significant bit (set when
    /// the ticket expires on reset), the `TPMT_TK_AUTH` tag and hierarchy, and whether its HMAC
    /// is empty.
    AuthTicket,
    /// An attestation (`TPM2B_ATTEST`, `TPMT_SIGNATURE`, no response handle): the `TPMS_ATTEST`
    /// without `clockInfo` and `firmwareVersion` (and without `qualifiedSigner` unless `signer`),
    /// and the signature's algorithm, hash and size.
    Attest { signer: bool },
}

/// A placeholder handle in command bytes, replaced by the handle captured in `slot` (sequence
/// handles are implementation-chosen).
pub fn slot(n: usize) -> u32 {
    0x80FF_FF00 + n as u32
}

#[derive(Clone, Debug)]
pub enum Step {
    Cmd(String, Vec<u8>, View),
    Locality(u8),
    PowerCycle,
}

pub fn c(name: impl Into<String>, bytes: Vec<u8>, view: View) -> Step {
    Step::Cmd(name.into(), bytes, view)
}

pub fn be32(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at + 4)
        .map(|x| u32::from_be_bytes([x[0], x[1], x[2], x[3]]))
}

pub fn be16(b: &[u8], at: usize) -> Option<u16> {
    b.get(at..at + 2).map(|x| u16::from_be_bytes([x[0], x[1]]))
}

/// The comparable rendering of `r` under `view`.
pub fn render(view: View, r: &Response) -> String {
    let head = format!("tag {:#06x} rc {:?}", r.tag(), r.rc());
    if r.rc().0 != 0 {
        return head;
    }
    let p = r.params(0);
    let tail = match view {
        View::Full => hexs(r.bytes()),
        View::CapEntries => hexs(p.get(1..).unwrap_or(&[])),
        View::HandlesBelow(bound) => {
            // moreData, capability, count, handles.
            let count = be32(p, 5).unwrap_or(0) as usize;
            (0..count)
                .filter_map(|i| be32(p, 9 + 4 * i))
                .filter(|h| *h < bound)
                .map(|h| format!("{h:#010x}"))
                .collect::<Vec<_>>()
                .join(" ")
        }
        View::PcrValues => hexs(p.get(4..).unwrap_or(&[])),
        View::Rc | View::Capture(_) => String::new(),
        View::RcSize => format!("size {}", r.bytes().len()),
        View::Props(list) => {
            let props = cmd::parse_properties(p);
            list.iter()
                .map(|want| {
                    let v = props.iter().find(|(k, _)| k == want).map(|(_, v)| *v);
                    format!("{want:#x}={v:x?}")
                })
                .collect::<Vec<_>>()
                .join(" ")
        }
        View::PcrProps(list) => {
            // moreData, capability, count, then TPMS_TAGGED_PCR_SELECT { tag, size, select }.
            let n = be32(p, 5).unwrap_or(0);
            let mut at = 9;
            let mut found = Vec::new();
            for _ in 0..n {
                let (Some(tag), Some(&size)) = (be32(p, at), p.get(at + 4)) else {
                    break;
                };
                let sel = p.get(at + 5..at + 5 + size as usize).unwrap_or(&[]);
                if list.contains(&tag) {
                    found.push(format!("{tag:#x}={}", hexs(sel)));
                }
                at += 5 + size as usize;
            }
            found.join(" ")
        }
        View::PcrBanks => {
            let n = be32(p, 5).unwrap_or(0);
            let mut at = 9;
            let mut found = Vec::new();
            for _ in 0..n {
                let (Some(alg), Some(&size)) = (be16(p, at), p.get(at + 2)) else {
                    break;
                };
                let sel = p.get(at + 3..at + 3 + size as usize).unwrap_or(&[]);
                if COMMON_BANKS.contains(&AlgId(alg)) {
                    found.push(format!("{:?}={}", AlgId(alg), hexs(sel)));
                }
                at += 3 + size as usize;
            }
            found.join(" ")
        }
        View::Digests => cmd::parse_digest_values(p)
            .into_iter()
            .filter(|(a, _)| COMMON_BANKS.contains(a))
            .map(|(a, d)| format!("{a:?}={}", hexs(&d)))
            .collect::<Vec<_>>()
            .join(" "),
        View::HashTicket => {
            let n = be16(p, 0).unwrap_or(0) as usize;
            let digest = p.get(2..2 + n).unwrap_or(&[]);
            let t = p.get(2 + n..).unwrap_or(&[]);
            let hmac_len = be16(t, 6).unwrap_or(0);
            format!(
                "digest {} ticket tag {:x?} hierarchy {:x?} hmac {}",
                hexs(digest),
                be16(t, 0),
                be32(t, 2),
                if hmac_len == 0 { "empty" } else { "present" }
            )
        }
        View::Allocate => format!("success {:?} maxPCR {:?}", p.first(), be32(p, 1)),
        // `safe` is not compared: libtpms clears it after a disorderly power cycle because its
        // Clock is only saved to NV now and then; evtpm keeps Clock in memory for the TPM's whole
        // life, so no larger value can have been reported and `safe` stays YES (Part 1, 36.6).
        // tpm2_tools.rs asserts `safe: yes` on evtpm.
        View::Clock => format!(
            "resetCount {:?} restartCount {:?}",
            be32(p, 16),
            be32(p, 20)
        ),
        View::TestResult => format!("testResult {:x?}", be32(p, p.len().saturating_sub(4))),
        View::Attest { signer } => render_attest(p, signer),
        View::AuthTicket => {
            let n = be16(p, 0).unwrap_or(0) as usize;
            let flag = p.get(2).map(|b| b >> 7);
            let t = p.get(2 + n..).unwrap_or(&[]);
            format!(
                "timeout size {n} expiresOnReset {flag:?} ticket tag {:x?} hierarchy {:x?} hmac {}",
                be16(t, 0),
                be32(t, 2),
                if be16(t, 6).unwrap_or(0) == 0 {
                    "empty"
                } else {
                    "present"
                }
            )
        }
    };
    format!("{head} {tail}")
}

/// [`View::Attest`] of the parameters `p`.
fn render_attest(p: &[u8], signer: bool) -> String {
    let n = be16(p, 0).unwrap_or(0) as usize;
    let attest = p.get(2..2 + n).unwrap_or(&[]);
    let sig = p.get(2 + n..).unwrap_or(&[]);
    let a = match TpmsAttest::from_bytes(attest) {
        Ok(a) => a,
        Err(rc) => return format!("unparsable TPMS_ATTEST ({rc:?}): {}", hexs(attest)),
    };
    let signer = if signer {
        hexs(a.qualified_signer.0)
    } else {
        "-".into()
    };
    let mut union = vec![0u8; attest.len()];
    let n = a.attested.to_bytes(&mut union).unwrap_or(0);
    format!(
        "magic {:#x} type {:?} qualifiedSigner {signer} extraData {} attested {} \
         signature {:x?} hash {:x?} size {}",
        a.magic,
        a.type_(),
        hexs(a.extra_data.0),
        hexs(union.get(..n).unwrap_or(&[])),
        be16(sig, 0),
        be16(sig, 2),
        sig.len()
    )
}

/// The reference and the endpoint under test, side by side.
#[derive(Debug)]
pub struct Pair {
    ep: Endpoint,
    _servers: (Server, Server),
    reference: Tpm,
    target: Tpm,
    slots: Vec<[u32; 2]>,
    pub failures: Vec<String>,
    pub executed: usize,
    /// `EVTPM_DIFF_TRACE` set: print every compared view.
    trace: bool,
}

impl Pair {
    /// Starts a reference swtpm and `ep`, and sends Startup(CLEAR) to both (compared).
    pub fn new(ep: Endpoint) -> Pair {
        let rs = Server::start(Endpoint::Swtpm);
        let ts = Server::start(ep);
        let reference = Tpm::connect(&rs);
        let target = Tpm::connect(&ts);
        Pair {
            ep,
            _servers: (rs, ts),
            reference,
            target,
            slots: vec![[0; 2]; 8],
            failures: Vec::new(),
            executed: 0,
            trace: std::env::var_os("EVTPM_DIFF_TRACE").is_some(),
        }
    }

    pub fn substitute(&self, bytes: &[u8], side: usize) -> Vec<u8> {
        let mut b = bytes.to_vec();
        for (n, s) in self.slots.iter().enumerate() {
            let ph = slot(n).to_be_bytes();
            let mut i = 10;
            while i + 4 <= b.len() {
                if b[i..i + 4] == ph {
                    b[i..i + 4].copy_from_slice(&s[side].to_be_bytes());
                    i += 4;
                } else {
                    i += 1;
                }
            }
        }
        b
    }

    /// Sends `bytes` to both; records a failure if the views differ. Returns both responses.
    pub fn send(&mut self, name: &str, bytes: &[u8], view: View) -> (Response, Response) {
        let rb = self.substitute(bytes, 0);
        let tb = self.substitute(bytes, 1);
        let r = self.reference.transact(&rb);
        let t = self.target.try_transact(&tb).unwrap_or_else(|e| {
            panic!(
                "{}: {name}: no response from the endpoint ({e})\n  command:   {}\n  reference: {}",
                self.ep,
                hexs(&tb),
                hexs(r.bytes())
            )
        });
        self.executed += 1;
        let (rv, tv) = (render(view, &r), render(view, &t));
        if self.trace {
            eprintln!("{}: {name}: {rv}", self.ep);
        }
        if rv != tv {
            self.failures.push(format!(
                "{name} [{view:?}]\n  command:   {}\n  reference: {}\n  {:<10} {}\n  want: {rv}\n  got:  {tv}",
                hexs(&tb),
                hexs(r.bytes()),
                format!("{}:", self.ep),
                hexs(t.bytes())
            ));
        }
        if let View::Capture(n) = view {
            self.slots[n] = [
                be32(r.body(), 0).unwrap_or(0),
                be32(t.body(), 0).unwrap_or(0),
            ];
        }
        (r, t)
    }

    pub fn run(&mut self, steps: &[Step]) {
        // Steps at a locality the endpoint cannot express (the firmware's SVSM transport has
        // locality 0 only) are left out until the scenario returns to one it can.
        let mut unreachable = false;
        for s in steps {
            match s {
                Step::Cmd(_, _, _) if unreachable => {}
                Step::Cmd(name, bytes, view) => {
                    self.send(name, bytes, *view);
                }
                Step::Locality(l) => {
                    unreachable = *l > self.ep.max_locality();
                    if !unreachable {
                        self.reference.set_locality(*l);
                        self.target.set_locality(*l);
                    }
                }
                Step::PowerCycle => {
                    self.reference.power_cycle();
                    self.target.power_cycle();
                }
            }
        }
    }

    /// Fails the test listing every disagreement.
    pub fn finish(self) {
        assert!(
            self.failures.is_empty(),
            "{}: {} of {} responses disagree with the reference:\n\n{}",
            self.ep,
            self.failures.len(),
            self.executed,
            self.failures.join("\n\n")
        );
    }
}

/// Runs `steps` (after a compared Startup(CLEAR)) against swtpm and each endpoint.
pub fn differential(steps: impl Fn() -> Vec<Step>) {
    each_endpoint(|ep| {
        let mut pair = Pair::new(ep);
        pair.run(&[c("Startup(CLEAR)", cmd::startup(Su::Clear), View::Full)]);
        pair.run(&steps());
        pair.finish();
    });
}

pub fn read_all_pcrs(tag: &str) -> Vec<Step> {
    let mut v = Vec::new();
    for bank in COMMON_BANKS {
        for chunk in 0..3u32 {
            let pcrs: Vec<u32> = (chunk * 8..chunk * 8 + 8).collect();
            v.push(c(
                format!("{tag}: PCR_Read {bank:?} {}..{}", chunk * 8, chunk * 8 + 7),
                cmd::pcr_read(&[(bank, &cmd::pcr_bits(&pcrs))]),
                View::PcrValues,
            ));
        }
    }
    v
}

pub fn extend3(pcr: u32, seed: u8) -> Vec<u8> {
    cmd::pcr_extend(
        pcr,
        &[
            (AlgId::Sha1, &[seed; 20]),
            (AlgId::Sha256, &[seed; 32]),
            (AlgId::Sha384, &[seed; 48]),
        ],
    )
}

/// Algorithm IDs libtpms implements and evtpm does not (see the module comment).
pub const REFERENCE_ONLY_ALGS: [AlgId; 6] = [
    AlgId::Sha512,
    AlgId::Sm3_256,
    AlgId::Camellia,
    AlgId::Tdes,
    AlgId::EcDaa,
    AlgId::EcSchnorr,
];

/// xorshift64*: a small seeded generator, so a failing mutant can be reproduced.
#[derive(Debug)]
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// One random mutation of a valid command: flip body bytes, truncate (never below the 10-byte
/// header: swtpm does not answer shorter commands), set the size field, or change the tag.
pub fn mutate(rng: &mut Rng, base: &[u8]) -> (String, Vec<u8>) {
    let mut m = base.to_vec();
    let what = match rng.below(4) {
        0 if m.len() > 10 => {
            let flips = 1 + rng.below(3);
            for _ in 0..flips {
                let at = 10 + rng.below(m.len() - 10);
                m[at] ^= 1 << rng.below(8);
            }
            format!("flip {flips} body bits")
        }
        1 if m.len() > 10 => {
            let n = 10 + rng.below(m.len() - 10);
            m.truncate(n);
            let n32 = n as u32;
            m[2..6].copy_from_slice(&n32.to_be_bytes());
            format!("truncate to {n} (size field follows)")
        }
        2 => {
            let v = match rng.below(4) {
                0 => m.len() as u32 + 1 + rng.below(8) as u32,
                1 => (m.len() as u32).saturating_sub(1 + rng.below(4) as u32),
                2 => rng.next_u64() as u32,
                _ => 0,
            };
            m[2..6].copy_from_slice(&v.to_be_bytes());
            format!("size field {v}")
        }
        _ => {
            let tags = [
                0x8001u16,
                0x8002,
                0x8000,
                0x00C1,
                0x00C4,
                rng.next_u64() as u16,
            ];
            let t = tags[rng.below(tags.len())];
            m[..2].copy_from_slice(&t.to_be_bytes());
            format!("tag {t:#06x}")
        }
    };
    (what, m)
}

/// Why a response-code difference on a mutant is acceptable, if it is.
pub fn acceptable(base: &[u8], mutant: &[u8]) -> Option<&'static str> {
    let has_alg = |b: &[u8], a: AlgId| b.windows(2).skip(10).any(|w| w == a.0.to_be_bytes());
    REFERENCE_ONLY_ALGS
        .iter()
        .any(|a| has_alg(mutant, *a) && !has_alg(base, *a))
        .then_some("mutation produced an algorithm only libtpms implements (Part 2 §6.3)")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rsp(tag: u16, rc: u32, body: &[u8]) -> Response {
        let mut v = tag.to_be_bytes().to_vec();
        v.extend_from_slice(&(10 + body.len() as u32).to_be_bytes());
        v.extend_from_slice(&rc.to_be_bytes());
        v.extend_from_slice(body);
        Response(v)
    }

    #[test]
    fn error_responses_render_as_tag_and_code_whatever_the_view() {
        let r = rsp(0x8001, 0x1c4, &[]);
        for view in [
            View::Full,
            View::Digests,
            View::Props(FIXED_PROPS),
            View::Clock,
        ] {
            assert_eq!(render(view, &r), "tag 0x8001 rc Value+P1(0x1c4)");
        }
    }

    #[test]
    fn props_view_lists_wanted_properties_present_or_not() {
        // moreData 1, TPM_CAP_TPM_PROPERTIES, two properties.
        let body = [
            &[1u8][..],
            &6u32.to_be_bytes(),
            &2u32.to_be_bytes(),
            &0x112u32.to_be_bytes(),
            &24u32.to_be_bytes(),
            &0x113u32.to_be_bytes(),
            &3u32.to_be_bytes(),
        ]
        .concat();
        let r = rsp(0x8001, 0, &body);
        assert_eq!(
            render(View::Props(&[0x112, 0x120]), &r),
            "tag 0x8001 rc Success(0x0) 0x112=Some(18) 0x120=None"
        );
    }

    #[test]
    fn digests_view_keeps_common_banks_only() {
        // A PCR_Event response: handles none, parameterSize, TPML_DIGEST_VALUES {sha1, sha512}.
        let mut params = 2u32.to_be_bytes().to_vec();
        params.extend_from_slice(&AlgId::Sha1.0.to_be_bytes());
        params.extend_from_slice(&[0xaa; 20]);
        params.extend_from_slice(&AlgId::Sha512.0.to_be_bytes());
        params.extend_from_slice(&[0xbb; 64]);
        let mut body = (params.len() as u32).to_be_bytes().to_vec();
        body.extend_from_slice(&params);
        body.extend_from_slice(&[0, 0, 1, 0, 0]);
        let r = rsp(0x8002, 0, &body);
        assert_eq!(
            render(View::Digests, &r),
            format!("tag 0x8002 rc Success(0x0) AlgId::Sha1={}", "aa".repeat(20))
        );
    }

    #[test]
    fn mutator_is_deterministic_and_keeps_the_header() {
        let base = cmd::get_random(8);
        let run = || {
            let mut rng = Rng(42);
            (0..50).map(|_| mutate(&mut rng, &base)).collect::<Vec<_>>()
        };
        let a = run();
        assert_eq!(a, run());
        assert!(a
            .iter()
            .all(|(_, m)| m.len() >= 10 && m[6..10] == base[6..10]));
    }

    #[test]
    fn mutant_naming_a_reference_only_algorithm_is_acceptable() {
        let base = cmd::hash(b"x", AlgId::Sha256, 0x4000_0001);
        let mutant = cmd::hash(b"x", AlgId::Sha512, 0x4000_0001);
        assert!(acceptable(&base, &mutant).is_some());
        assert!(acceptable(&base, &base).is_none());
    }
}
