//! One command into a long-lived engine: the first byte is the locality (0..4; from 0xF0 on,
//! the byte itself, so invalid localities are tried too), the rest the command bytes. The TPM is
//! manufactured and started once per process and re-manufactured every
//! [`REMANUFACTURE_EVERY`] inputs, so state builds up between inputs (as in a real TPM) but not
//! forever. Every response must be well formed, and the loaded objects and sessions must stay
//! within the configuration.
#![no_main]

use evtpm_fuzz::{check_resources, exec, manufacture, rc, TestPlatform, STARTUP_CLEAR};
use libfuzzer_sys::fuzz_target;
use std::sync::Mutex;
use vtpm::Tpm;

const REMANUFACTURE_EVERY: u32 = 10_000;

struct State {
    tpm: Tpm<TestPlatform>,
    runs: u32,
}

static STATE: Mutex<Option<State>> = Mutex::new(None);

fn fresh() -> State {
    let mut tpm = manufacture();
    let r = exec(&mut tpm, 0, &STARTUP_CLEAR);
    assert_eq!(rc(&r), 0, "TPM2_Startup(CLEAR) failed");
    State { tpm, runs: 0 }
}

fuzz_target!(|data: &[u8]| {
    let Some((&loc, command)) = data.split_first() else {
        return;
    };
    let mut guard = STATE.lock().unwrap_or_else(|e| e.into_inner());
    let st = guard.get_or_insert_with(fresh);
    if st.runs >= REMANUFACTURE_EVERY {
        *st = fresh();
    }
    st.runs += 1;
    let locality = if loc < 0xF0 { loc % 5 } else { loc };
    exec(&mut st.tpm, locality, command);
    check_resources(&mut st.tpm);
});
