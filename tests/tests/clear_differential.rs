//! TPM2_Clear (Part 3, 24.6), differential: besides seeds, proofs, authorizations and owner
//! objects, the reference resets the dictionary-attack parameters, `Clock`, `resetCount` and
//! `restartCount`, re-enables the storage and endorsement hierarchies, and advances
//! `pcrUpdateCounter`.

use evtpm_tests::cmd::{self, RH_PLATFORM};
use evtpm_tests::diff::{c, differential, Step, View};
use tpm_proto::{AlgId, Cap, Cc, Su};

const LOCKOUT: u32 = 0x4000_000A;
const RH_OWNER: u32 = 0x4000_0001;

fn full(name: &str, bytes: Vec<u8>) -> Step {
    c(name, bytes, View::Full)
}

/// TPM_PT_LOCKOUT_COUNTER, MAX_AUTH_FAIL, LOCKOUT_INTERVAL, LOCKOUT_RECOVERY; TPM_PT_STARTUP_CLEAR.
fn state(tag: &str) -> Vec<Step> {
    vec![
        c(
            format!("{tag}: DA properties"),
            cmd::get_capability(Cap::TpmProperties, 0x20E, 4),
            View::Props(&[0x20E, 0x20F, 0x210, 0x211]),
        ),
        c(
            format!("{tag}: TPM_PT_STARTUP_CLEAR"),
            cmd::get_capability(Cap::TpmProperties, 0x201, 1),
            View::Props(&[0x201]),
        ),
        c(format!("{tag}: ReadClock"), cmd::read_clock(), View::Clock),
        c(
            format!("{tag}: pcrUpdateCounter"),
            cmd::pcr_read(&[(AlgId::Sha256, &[1, 0, 0])]),
            View::Full,
        ),
    ]
}

#[test]
fn clear_resets_da_clock_and_counters_as_the_reference() {
    differential(|| {
        let mut v = vec![
            full(
                "DictionaryAttackParameters(1, 2, 3)",
                cmd::with_pw(Cc::DictionaryAttackParameters, &[LOCKOUT], &[b""], &{
                    let mut p = 1u32.to_be_bytes().to_vec();
                    p.extend(2u32.to_be_bytes());
                    p.extend(3u32.to_be_bytes());
                    p
                }),
            ),
            full("Shutdown(STATE)", cmd::shutdown(Su::State)),
            Step::PowerCycle,
            full("Startup(CLEAR): Restart", cmd::startup(Su::Clear)),
            Step::PowerCycle,
            full("Startup(CLEAR): Reset", cmd::startup(Su::Clear)),
            full(
                "HierarchyControl: owner off",
                cmd::with_pw(Cc::HierarchyControl, &[RH_PLATFORM], &[b""], &{
                    let mut p = RH_OWNER.to_be_bytes().to_vec();
                    p.push(0);
                    p
                }),
            ),
        ];
        v.extend(state("before Clear"));
        v.push(full(
            "Clear",
            cmd::with_pw(Cc::Clear, &[RH_PLATFORM], &[b""], &[]),
        ));
        v.extend(state("after Clear"));
        v
    });
}
