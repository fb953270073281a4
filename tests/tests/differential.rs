//! Differential tests: the same command bytes go to the reference (swtpm/libtpms) and to the
//! endpoint under test; response codes always, and every response field that is deterministic,
//! must agree. The runner, the views and the list of acceptable differences are in
//! `src/diff.rs`; this file holds the scenarios.

use evtpm_tests::cmd::{self, RH_NULL, RH_OWNER};
use evtpm_tests::diff::{
    acceptable, c, differential, extend3, mutate, read_all_pcrs, slot, Pair, Rng, Step, View,
    COMMON_BANKS, FIXED_PROPS, PCR_PROPS, VARIABLE_PROPS,
};
use evtpm_tests::each_endpoint;
use tpm_proto::{AlgId, Cap, Cc, Su};

#[test]
fn startup_shutdown_and_power_cycles_agree() {
    differential(|| {
        let mut v = vec![
            c("Startup(CLEAR) twice", cmd::startup(Su::Clear), View::Rc),
            c(
                "ReadClock after first startup",
                cmd::read_clock(),
                View::Clock,
            ),
            c("Extend 0", extend3(0, 1), View::Full),
            c("Extend 16", extend3(16, 2), View::Full),
            c("Extend 23", extend3(23, 3), View::Full),
            c("Shutdown(STATE)", cmd::shutdown(Su::State), View::Full),
            c("GetRandom after Shutdown", cmd::get_random(8), View::RcSize),
            c("Shutdown(STATE) again", cmd::shutdown(Su::State), View::Rc),
            Step::PowerCycle,
            c(
                "PCR_Read before Startup",
                cmd::pcr_read(&[(AlgId::Sha256, &[1, 0, 0])]),
                View::Rc,
            ),
            c(
                "Startup(STATE) resumes",
                cmd::startup(Su::State),
                View::Full,
            ),
            c("ReadClock after resume", cmd::read_clock(), View::Clock),
        ];
        v.push(c(
            "pcrUpdateCounter after TPM Resume",
            cmd::pcr_read(&[(AlgId::Sha256, &[1, 0, 0])]),
            View::Full,
        ));
        v.extend(read_all_pcrs("after TPM Resume"));
        v.extend([
            c("Shutdown(STATE)", cmd::shutdown(Su::State), View::Full),
            Step::PowerCycle,
            c(
                "Startup(CLEAR) after Shutdown(STATE)",
                cmd::startup(Su::Clear),
                View::Full,
            ),
            c("ReadClock after restart", cmd::read_clock(), View::Clock),
        ]);
        v.push(c(
            "pcrUpdateCounter after TPM Restart",
            cmd::pcr_read(&[(AlgId::Sha256, &[1, 0, 0])]),
            View::Full,
        ));
        v.extend(read_all_pcrs("after TPM Restart"));
        v.extend([
            c("Extend 0", extend3(0, 4), View::Full),
            c("Shutdown(CLEAR)", cmd::shutdown(Su::Clear), View::Full),
            Step::PowerCycle,
            c(
                "Startup(STATE) after Shutdown(CLEAR)",
                cmd::startup(Su::State),
                View::Rc,
            ),
            c("Startup(CLEAR)", cmd::startup(Su::Clear), View::Full),
            c("ReadClock after reset", cmd::read_clock(), View::Clock),
            Step::PowerCycle,
            c(
                "Startup(STATE) after power loss",
                cmd::startup(Su::State),
                View::Rc,
            ),
            c(
                "Startup(CLEAR) after power loss",
                cmd::startup(Su::Clear),
                View::Full,
            ),
            c(
                "ReadClock after disorderly reset",
                cmd::read_clock(),
                View::Clock,
            ),
            c(
                "Shutdown(5)",
                cmd::no_sessions(Cc::Shutdown, &[0, 5]),
                View::Rc,
            ),
        ]);
        v.extend(read_all_pcrs("after disorderly reset"));
        v
    });
}

#[test]
fn self_test_and_clock_agree() {
    differential(|| {
        vec![
            c("GetTestResult", cmd::get_test_result(), View::TestResult),
            c("SelfTest(NO)", cmd::self_test(false), View::Full),
            c("SelfTest(YES)", cmd::self_test(true), View::Full),
            c("GetTestResult", cmd::get_test_result(), View::TestResult),
            c(
                "IncrementalSelfTest()",
                cmd::incremental_self_test(&[]),
                View::Rc,
            ),
            c(
                "IncrementalSelfTest(SHA256, AES, RSA, ECC)",
                cmd::incremental_self_test(&[AlgId::Sha256, AlgId::Aes, AlgId::Rsa, AlgId::Ecc]),
                View::Rc,
            ),
            c(
                "IncrementalSelfTest(0x0099)",
                cmd::incremental_self_test(&[AlgId(0x99)]),
                View::Rc,
            ),
            c("ReadClock", cmd::read_clock(), View::Clock),
        ]
    });
}

#[test]
fn get_capability_agrees() {
    differential(|| {
        let mut v = Vec::new();
        for alg in [
            AlgId::Rsa,
            AlgId::Sha1,
            AlgId::Hmac,
            AlgId::Aes,
            AlgId::Sha256,
            AlgId::Ecc,
        ] {
            v.push(c(
                format!("GetCapability(ALGS, {alg:?}, 1)"),
                cmd::get_capability(Cap::Algs, alg.0 as u32, 1),
                View::Full,
            ));
        }
        v.push(c(
            "GetCapability(ALGS, 0, 1000)",
            cmd::get_capability(Cap::Algs, 0, 1000),
            View::Rc,
        ));
        for cc in [
            Cc::Startup,
            Cc::PcrExtend,
            Cc::PcrEvent,
            Cc::PcrReset,
            Cc::PcrAllocate,
            Cc::Hash,
            Cc::HashSequenceStart,
            Cc::SequenceUpdate,
            Cc::SequenceComplete,
            Cc::EventSequenceComplete,
            Cc::GetCapability,
            Cc::ReadClock,
            Cc::TestParms,
        ] {
            v.push(c(
                format!("GetCapability(COMMANDS, {cc:?}, 1)"),
                cmd::get_capability(Cap::Commands, cc.0, 1),
                View::CapEntries,
            ));
        }
        v.push(c(
            "GetCapability(COMMANDS, 0x11F, 500)",
            cmd::get_capability(Cap::Commands, 0x11F, 500),
            View::Rc,
        ));
        v.push(c(
            "GetCapability(PP_COMMANDS)",
            cmd::get_capability(Cap::PpCommands, 0, 100),
            View::Full,
        ));
        // Physical presence is not asserted: TPM_RC_PP for session 1, before the password.
        for auth in [&b""[..], b"wrong"] {
            v.push(c(
                format!("PP_Commands(PLATFORM, {auth:?}, [], [])"),
                cmd::with_pw(Cc::PpCommands, &[0x4000_000C], &[auth], &[0; 8]),
                View::Full,
            ));
        }
        v.push(c(
            "GetCapability(AUDIT_COMMANDS)",
            cmd::get_capability(Cap::AuditCommands, 0, 100),
            View::Full,
        ));
        v.push(c(
            "GetCapability(PCRS)",
            cmd::get_capability(Cap::Pcrs, 0, 1),
            View::PcrBanks,
        ));
        for (start, count) in [(0x100, 100), (0x100, 0xFFFF_FFFF), (0x100, 0x7FFF_FFFF)] {
            v.push(c(
                format!("GetCapability(TPM_PROPERTIES, {start:#x}, {count:#x})"),
                cmd::get_capability(Cap::TpmProperties, start, count),
                View::Props(FIXED_PROPS),
            ));
        }
        for (start, count) in [(0x112, 2), (0x112, 0), (0x12C, 1), (0x11E, 1)] {
            v.push(c(
                format!("GetCapability(TPM_PROPERTIES, {start:#x}, {count})"),
                cmd::get_capability(Cap::TpmProperties, start, count),
                View::Full,
            ));
        }
        v.push(c(
            "GetCapability(TPM_PROPERTIES, 0x200, 2)",
            cmd::get_capability(Cap::TpmProperties, 0x200, 2),
            View::Props(VARIABLE_PROPS),
        ));
        v.push(c(
            "GetCapability(PCR_PROPERTIES, 0, 100)",
            cmd::get_capability(Cap::PcrProperties, 0, 100),
            View::PcrProps(PCR_PROPS),
        ));
        v.push(c(
            "GetCapability(ECC_CURVES, P256, 1)",
            cmd::get_capability(Cap::EccCurves, 3, 1),
            View::Full,
        ));
        v.push(c(
            "GetCapability(ECC_CURVES, P384, 1)",
            cmd::get_capability(Cap::EccCurves, 4, 1),
            View::CapEntries,
        ));
        for (what, h, n, view) in [
            ("PCR all", 0u32, 24u32, View::Full),
            ("PCR 5", 0, 5, View::Full),
            ("PCR from 20", 20, 10, View::Full),
            ("permanent owner", RH_OWNER, 1, View::Full),
            ("permanent", 0x4000_0000, 100, View::Rc),
            ("transient", 0x8000_0000, 10, View::Full),
            ("persistent", 0x8100_0000, 10, View::Rc),
            ("NV", 0x0100_0000, 10, View::Rc),
            ("loaded sessions", 0x0200_0000, 10, View::Full),
            ("saved sessions", 0x0300_0000, 10, View::Full),
            ("bad handle type", 0x2000_0000, 10, View::Rc),
        ] {
            v.push(c(
                format!("GetCapability(HANDLES, {what})"),
                cmd::get_capability(Cap::Handles, h, n),
                view,
            ));
        }
        for cap in [
            Cap::AuthPolicies,
            Cap::Act,
            Cap::VendorProperty,
            Cap(0x77),
            Cap(0xFFFF_FFFF),
        ] {
            v.push(c(
                format!("GetCapability({cap:?})"),
                cmd::get_capability(cap, 0, 1),
                View::Rc,
            ));
        }
        v
    });
}

#[test]
fn random_agrees() {
    differential(|| {
        let mut v: Vec<Step> = [0u16, 1, 32, 48, 64, 1000, 0xFFFF]
            .into_iter()
            .map(|n| c(format!("GetRandom({n})"), cmd::get_random(n), View::RcSize))
            .collect();
        for n in [0usize, 1, 64, 128] {
            v.push(c(
                format!("StirRandom({n} bytes)"),
                cmd::stir_random(&vec![0xA5; n]),
                View::Full,
            ));
        }
        v
    });
}

#[test]
fn pcr_read_selections_agree() {
    differential(|| {
        let sha256 = |bits: &'static [u8]| cmd::pcr_read(&[(AlgId::Sha256, bits)]);
        vec![
            c("PCR_Read sha256 {0}", sha256(&[1, 0, 0]), View::Full),
            c(
                "PCR_Read sha256 all",
                sha256(&[0xff, 0xff, 0xff]),
                View::Full,
            ),
            c(
                "PCR_Read sha256 {17..23}",
                sha256(&[0, 0, 0xfe]),
                View::Full,
            ),
            c("PCR_Read sha256 none", sha256(&[0, 0, 0]), View::Full),
            c("PCR_Read no selection", cmd::pcr_read(&[]), View::Full),
            c("PCR_Read sha256 4 octets", sha256(&[1, 0, 0, 0]), View::Rc),
            c(
                "PCR_Read sha256 4 octets, bit 24",
                sha256(&[0, 0, 0, 1]),
                View::Rc,
            ),
            c("PCR_Read sha256 2 octets", sha256(&[1, 0]), View::Rc),
            c(
                "PCR_Read three banks {16}",
                cmd::pcr_read(&COMMON_BANKS.map(|b| (b, &[0u8, 0, 1][..]))),
                View::Full,
            ),
            c(
                "PCR_Read sha256 twice",
                cmd::pcr_read(&[(AlgId::Sha256, &[1, 0, 0]), (AlgId::Sha256, &[2, 0, 0])]),
                View::Full,
            ),
            c(
                "PCR_Read hash 0x0099",
                cmd::pcr_read(&[(AlgId(0x99), &[1, 0, 0])]),
                View::Rc,
            ),
        ]
    });
}

#[test]
fn pcr_extend_event_reset_at_each_locality_agree() {
    differential(|| {
        let mut v = Vec::new();
        for loc in 0..=4u8 {
            v.push(Step::Locality(loc));
            for pcr in [0u32, 16, 17, 18, 19, 20, 21, 22, 23] {
                let tag = format!("locality {loc} PCR {pcr}");
                v.push(c(format!("{tag}: Reset"), cmd::pcr_reset(pcr), View::Full));
                v.push(c(
                    format!("{tag}: Extend"),
                    extend3(pcr, loc * 32 + pcr as u8),
                    View::Full,
                ));
                v.push(c(
                    format!("{tag}: Event"),
                    cmd::pcr_event(pcr, &[loc, pcr as u8, 0x55]),
                    View::Digests,
                ));
            }
            v.extend(read_all_pcrs(&format!("after locality {loc}")));
        }
        v.push(Step::Locality(0));
        v.push(c(
            "Extend sha256 only",
            cmd::pcr_extend(16, &[(AlgId::Sha256, &[9; 32])]),
            View::Full,
        ));
        v.push(c("Extend empty list", cmd::pcr_extend(16, &[]), View::Full));
        v.push(c("Extend TPM_RH_NULL", extend3(RH_NULL, 1), View::Full));
        v.push(c(
            "Event TPM_RH_NULL",
            cmd::pcr_event(RH_NULL, b"null"),
            View::Digests,
        ));
        v.push(c(
            "Event 1024 bytes",
            cmd::pcr_event(16, &[7; 1024]),
            View::Digests,
        ));
        v.push(c("Event empty", cmd::pcr_event(16, &[]), View::Digests));
        v.extend(read_all_pcrs("end"));
        v
    });
}

#[test]
fn pcr_allocate_agrees() {
    differential(|| {
        let all = [0xffu8; 3];
        let none = [0u8; 3];
        let mut v = vec![
            c(
                "PCR_Allocate sha256 only",
                cmd::pcr_allocate(&[
                    (AlgId::Sha1, &none),
                    (AlgId::Sha256, &all),
                    (AlgId::Sha384, &none),
                ]),
                View::Allocate,
            ),
            c(
                "PCR_Read sha1 (still allocated until reset)",
                cmd::pcr_read(&[(AlgId::Sha1, &[1, 0, 0])]),
                View::Full,
            ),
            c("Shutdown(CLEAR)", cmd::shutdown(Su::Clear), View::Full),
            Step::PowerCycle,
            c("Startup(CLEAR)", cmd::startup(Su::Clear), View::Full),
            c(
                "GetCapability(PCRS)",
                cmd::get_capability(Cap::Pcrs, 0, 1),
                View::PcrBanks,
            ),
            c(
                "PCR_Read unallocated sha1",
                cmd::pcr_read(&[(AlgId::Sha1, &[1, 0, 0])]),
                View::Full,
            ),
            c(
                "PCR_Read sha1+sha256",
                cmd::pcr_read(&[(AlgId::Sha1, &[1, 0, 0]), (AlgId::Sha256, &[1, 0, 0])]),
                View::Full,
            ),
            c(
                "Extend 16 (sha1 digest ignored)",
                extend3(16, 5),
                View::Full,
            ),
            c(
                "Event 16",
                cmd::pcr_event(16, b"after allocate"),
                View::Digests,
            ),
            c(
                "PCR_Allocate back to three banks",
                cmd::pcr_allocate(&COMMON_BANKS.map(|b| (b, &all[..]))),
                View::Allocate,
            ),
            c(
                "PCR_Allocate bank 0x0099",
                cmd::pcr_allocate(&[(AlgId(0x99), &all)]),
                View::Rc,
            ),
            c(
                "PCR_Allocate 4 octets",
                cmd::pcr_allocate(&[(AlgId::Sha256, &[0xff; 4])]),
                View::Rc,
            ),
            Step::PowerCycle,
            c("Startup(CLEAR)", cmd::startup(Su::Clear), View::Full),
            c(
                "GetCapability(PCRS)",
                cmd::get_capability(Cap::Pcrs, 0, 1),
                View::PcrBanks,
            ),
        ];
        v.extend(read_all_pcrs("re-allocated"));
        v
    });
}

#[test]
fn hash_and_sequences_agree() {
    differential(|| {
        let mut v = Vec::new();
        for alg in COMMON_BANKS {
            for (what, data) in [
                ("empty", vec![]),
                ("abc", b"abc".to_vec()),
                ("1024", vec![0x61; 1024]),
            ] {
                v.push(c(
                    format!("Hash {alg:?} {what} NULL"),
                    cmd::hash(&data, alg, RH_NULL),
                    View::Full,
                ));
                v.push(c(
                    format!("Hash {alg:?} {what} owner"),
                    cmd::hash(&data, alg, RH_OWNER),
                    View::HashTicket,
                ));
            }
            // Data that starts with TPM_GENERATED_VALUE gets a NULL ticket (Part 3 §15.4).
            v.push(c(
                format!("Hash {alg:?} TPM_GENERATED owner"),
                cmd::hash(b"\xffTCGdata", alg, RH_OWNER),
                View::HashTicket,
            ));
        }
        v.push(c(
            "Hash endorsement",
            cmd::hash(b"e", AlgId::Sha256, 0x4000_000B),
            View::HashTicket,
        ));
        v.push(c(
            "Hash platform",
            cmd::hash(b"p", AlgId::Sha256, 0x4000_000C),
            View::HashTicket,
        ));
        // Hash sequence: start, update, complete.
        for (i, alg) in COMMON_BANKS.into_iter().enumerate() {
            v.push(c(
                format!("HashSequenceStart {alg:?}"),
                cmd::hash_sequence_start(b"pw", alg),
                View::Capture(i),
            ));
            for k in 0..3u8 {
                v.push(c(
                    format!("SequenceUpdate {alg:?} #{k}"),
                    cmd::sequence_update(slot(i), b"pw", &[k; 1024]),
                    View::Full,
                ));
            }
            v.push(c(
                format!("SequenceUpdate {alg:?} wrong auth"),
                cmd::sequence_update(slot(i), b"no", b"x"),
                View::Rc,
            ));
            v.push(c(
                format!("SequenceUpdate {alg:?} empty"),
                cmd::sequence_update(slot(i), b"pw", b""),
                View::Full,
            ));
            v.push(c(
                format!("SequenceComplete {alg:?} owner"),
                cmd::sequence_complete(slot(i), b"pw", b"tail", RH_OWNER),
                View::HashTicket,
            ));
            v.push(c(
                format!("SequenceUpdate {alg:?} after complete"),
                cmd::sequence_update(slot(i), b"pw", b"x"),
                View::Rc,
            ));
        }
        v.push(c(
            "HashSequenceStart sha256 (NULL ticket)",
            cmd::hash_sequence_start(b"", AlgId::Sha256),
            View::Capture(3),
        ));
        v.push(c(
            "SequenceComplete NULL",
            cmd::sequence_complete(slot(3), b"", b"abc", RH_NULL),
            View::Full,
        ));
        v.push(c(
            "HashSequenceStart 0x0099",
            cmd::hash_sequence_start(b"", AlgId(0x99)),
            View::Rc,
        ));
        v.push(c(
            "HashSequenceStart auth 65 bytes",
            cmd::hash_sequence_start(&[1; 65], AlgId::Sha256),
            View::Rc,
        ));
        // Event sequence (TPM_ALG_NULL): all banks at once, then extended into PCR 16.
        v.push(c(
            "HashSequenceStart NULL (event)",
            cmd::hash_sequence_start(b"ev", AlgId::Null),
            View::Capture(4),
        ));
        v.push(c(
            "SequenceUpdate event",
            cmd::sequence_update(slot(4), b"ev", &[0x42; 1000]),
            View::Full,
        ));
        v.push(c(
            "SequenceComplete on event sequence",
            cmd::sequence_complete(slot(4), b"ev", b"", RH_NULL),
            View::Rc,
        ));
        v.push(c(
            "EventSequenceComplete PCR 16",
            cmd::event_sequence_complete(16, slot(4), b"ev", b"end"),
            View::Digests,
        ));
        v.push(c(
            "PCR_Read 16",
            cmd::pcr_read(&COMMON_BANKS.map(|b| (b, &[0u8, 0, 1][..]))),
            View::Full,
        ));
        v.push(c(
            "HashSequenceStart NULL (event, no PCR)",
            cmd::hash_sequence_start(b"", AlgId::Null),
            View::Capture(5),
        ));
        v.push(c(
            "EventSequenceComplete TPM_RH_NULL",
            cmd::event_sequence_complete(RH_NULL, slot(5), b"", b"abc"),
            View::Digests,
        ));
        v.push(c(
            "HashSequenceStart sha256",
            cmd::hash_sequence_start(b"", AlgId::Sha256),
            View::Capture(6),
        ));
        v.push(c(
            "EventSequenceComplete on hash sequence",
            cmd::event_sequence_complete(16, slot(6), b"", b""),
            View::Rc,
        ));
        v.push(c(
            "HashSequenceStart NULL (for PCR 17)",
            cmd::hash_sequence_start(b"", AlgId::Null),
            View::Capture(7),
        ));
        v.push(c(
            "EventSequenceComplete PCR 17 at locality 0",
            cmd::event_sequence_complete(17, slot(7), b"", b""),
            View::Rc,
        ));
        v
    });
}

#[test]
fn test_parms_agrees() {
    differential(|| {
        vec![
            c(
                "TestParms rsa2048",
                cmd::test_parms(&cmd::parms_rsa(2048)),
                View::Full,
            ),
            c(
                "TestParms rsa 1000 bits",
                cmd::test_parms(&cmd::parms_rsa(1000)),
                View::Rc,
            ),
            c(
                "TestParms ecc P-256",
                cmd::test_parms(&cmd::parms_ecc(3)),
                View::Full,
            ),
            c(
                "TestParms ecc P-384",
                cmd::test_parms(&cmd::parms_ecc(4)),
                View::Full,
            ),
            c(
                "TestParms ecc curve 0x99",
                cmd::test_parms(&cmd::parms_ecc(0x99)),
                View::Rc,
            ),
            c(
                "TestParms aes128cfb",
                cmd::test_parms(&cmd::parms_symcipher(AlgId::Aes, 128, AlgId::Cfb)),
                View::Full,
            ),
            c(
                "TestParms aes256cfb",
                cmd::test_parms(&cmd::parms_symcipher(AlgId::Aes, 256, AlgId::Cfb)),
                View::Full,
            ),
            c(
                "TestParms aes 100 bits",
                cmd::test_parms(&cmd::parms_symcipher(AlgId::Aes, 100, AlgId::Cfb)),
                View::Rc,
            ),
            c(
                "TestParms sm4",
                cmd::test_parms(&cmd::parms_symcipher(AlgId::Sm4, 128, AlgId::Cfb)),
                View::Rc,
            ),
            c(
                "TestParms keyedhash",
                cmd::test_parms(&cmd::parms_keyedhash()),
                View::Full,
            ),
            c(
                "TestParms type 0x99",
                cmd::test_parms(&[0, 0x99, 0, 0x10]),
                View::Rc,
            ),
        ]
    });
}

fn mutator_bases() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("GetRandom", cmd::get_random(16)),
        ("StirRandom", cmd::stir_random(&[1; 16])),
        (
            "GetCapability props",
            cmd::get_capability(Cap::TpmProperties, 0x100, 8),
        ),
        ("GetCapability pcrs", cmd::get_capability(Cap::Pcrs, 0, 1)),
        (
            "GetCapability handles",
            cmd::get_capability(Cap::Handles, 0, 8),
        ),
        (
            "GetCapability commands",
            cmd::get_capability(Cap::Commands, Cc::PcrExtend.0, 1),
        ),
        (
            "PCR_Read",
            cmd::pcr_read(&[(AlgId::Sha256, &[0, 0, 1]), (AlgId::Sha1, &[1, 0, 0])]),
        ),
        ("PCR_Extend", extend3(16, 0x77)),
        ("PCR_Event", cmd::pcr_event(23, b"event data")),
        ("PCR_Reset", cmd::pcr_reset(16)),
        ("Hash", cmd::hash(b"mutant", AlgId::Sha256, RH_OWNER)),
        (
            "HashSequenceStart",
            cmd::hash_sequence_start(b"a", AlgId::Sha384),
        ),
        ("SelfTest", cmd::self_test(false)),
        (
            "IncrementalSelfTest",
            cmd::incremental_self_test(&[AlgId::Sha256]),
        ),
        ("GetTestResult", cmd::get_test_result()),
        ("ReadClock", cmd::read_clock()),
        ("TestParms rsa", cmd::test_parms(&cmd::parms_rsa(2048))),
        ("TestParms ecc", cmd::test_parms(&cmd::parms_ecc(3))),
        (
            "TestParms aes",
            cmd::test_parms(&cmd::parms_symcipher(AlgId::Aes, 128, AlgId::Cfb)),
        ),
    ]
}

/// Seeded random mutants of valid commands; only response codes are compared. The seed is
/// `EVTPM_DIFF_SEED` or a fixed default, printed so that a failure can be reproduced.
#[test]
fn mutated_commands_agree_on_response_codes() {
    let seed: u64 = std::env::var("EVTPM_DIFF_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5EED_0FE7_7B40);
    let per_base: usize = std::env::var("EVTPM_DIFF_MUTANTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    eprintln!("mutator seed {seed} ({per_base} mutants per command)");
    each_endpoint(|ep| {
        let mut pair = Pair::new(ep);
        pair.run(&[c("Startup(CLEAR)", cmd::startup(Su::Clear), View::Full)]);
        let mut rng = Rng(seed | 1);
        let mut accepted = 0;
        for (name, base) in mutator_bases() {
            for i in 0..per_base {
                let (what, m) = mutate(&mut rng, &base);
                let before = pair.failures.len();
                pair.send(&format!("{name} mutant {i}: {what}"), &m, View::Rc);
                if pair.failures.len() > before {
                    if let Some(why) = acceptable(&base, &m) {
                        pair.failures.pop();
                        accepted += 1;
                        eprintln!("{ep}: {name} mutant {i}: accepted difference: {why}");
                    }
                }
            }
        }
        eprintln!(
            "{ep}: {} mutants, {accepted} accepted differences",
            pair.executed - 1
        );
        pair.finish();
    });
}
