//! `evtpm bench` against `evtpm bench-echo` and `evtpm serve`, over both protocols.

mod common;
use common::*;
use std::process::Command;

fn bench(args: &[&str]) -> (String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_evtpm"))
        .arg("bench")
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let json = stdout.lines().last().unwrap().to_string();
    (stdout, json)
}

fn assert_json_shape(json: &str, label: &str, rc: u32) {
    assert!(
        json.starts_with(&format!(
            "{{\"target\":\"{label}\",\"iterations\":20,\"commands\":{{"
        )),
        "{json}"
    );
    for name in MIX {
        assert!(
            json.contains(&format!("\"{name}\":{{\"median_us\":")),
            "{name} in {json}"
        );
    }
    assert_eq!(
        json.matches(&format!("\"rc\":{rc},\"failures\":0}}"))
            .count(),
        MIX.len(),
        "every command answers {rc:#x}: {json}"
    );
}

/// The commands of the mix (issue 3's fast-path set).
const MIX: [&str; 19] = [
    "GetRandom",
    "StirRandom",
    "PCR_Extend",
    "PCR_Event",
    "PCR_Read",
    "PCR_Reset",
    "GetCapability",
    "Hash",
    "HashSeqStart",
    "SequenceUpdate",
    "SequenceComplete",
    "EventSeqStart",
    "EventSeqComplete",
    "ReadClock",
    "TestParms",
    "SelfTest",
    "GetTestResult",
    "StartAuthSess",
    "FlushContext",
];

#[test]
fn bench_over_mssim_against_echo() {
    let srv = Server::start(&["bench-echo", "--listen", "127.0.0.1:0", "--mssim"]);
    let addr = srv.addrs["mssim"].clone();
    let (table, json) = bench(&[
        "--mssim",
        &addr,
        "--iterations",
        "20",
        "--warmup",
        "2",
        "--label",
        "echo",
    ]);
    assert!(table.contains("GetRandom"), "{table}");
    assert_json_shape(&json, "echo", 0);
}

#[test]
fn bench_over_swtpm_against_the_server() {
    let srv = Server::start(&["serve", "--swtpm", "127.0.0.1:0"]);
    let addr = srv.addrs["swtpm"].clone();
    let (table, json) = bench(&[
        "--swtpm",
        &addr,
        "--iterations",
        "20",
        "--warmup",
        "2",
        "--startup",
    ]);
    assert!(table.contains("TPM2_Startup(CLEAR) -> 0x0"), "{table}");
    // Every command of the mix succeeds, including those that use a returned handle.
    assert_json_shape(&json, &format!("swtpm://{addr}"), 0);
}

#[test]
fn bench_suite_runs_evtpm_swtpm_and_the_floor() {
    let out = Command::new(env!("CARGO_BIN_EXE_evtpm"))
        .args(["bench-suite", "--iterations", "5", "--warmup", "1"])
        .args([
            "--keys-iterations",
            "2",
            "--keys-warmup",
            "1",
            "--rsa-iterations",
            "1",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Fails when any evtpm or swtpm response is not TPM_RC_SUCCESS.
    assert!(out.status.success(), "{stdout}\n{stderr}");
    for name in MIX {
        assert!(
            stdout.lines().any(|l| l.starts_with(name)),
            "{name}: {stdout}"
        );
    }
    assert!(stdout.contains("evtpm/swtpm"), "{stdout}");
    let json = stdout.lines().last().unwrap();
    assert!(
        json.starts_with("{\"suite\":\"evtpm-bench\",\"server_cpu\":null,\"iterations\":5,"),
        "{json}"
    );
    assert!(
        json.contains("\"evtpm_vs_swtpm\":{\"GetRandom\":"),
        "{json}"
    );
    assert!(json.contains("\"within_floor_target\":"), "{json}");
    // The key mixes ran too, every row of them against all three targets.
    for name in KEYS.iter().chain(&["CreatePrimary RSA new"]) {
        assert!(
            stdout.lines().any(|l| l.starts_with(name)),
            "{name}: {stdout}"
        );
    }
    assert!(stdout.contains("Keylime + kernel"), "{stdout}");
    for part in [",\"keys\":{", ",\"primaries\":{", "\"keylime_kernel\":{"] {
        assert!(json.contains(part), "{part} in {json}");
    }
    assert!(json.contains("\"issue4_serve_targets_met\":"), "{json}");
}

#[test]
fn bench_keys_mix_over_swtpm_against_the_server() {
    let srv = Server::start(&["serve", "--swtpm", "127.0.0.1:0", "--startup", "clear"]);
    let addr = srv.addrs["swtpm"].clone();
    let (table, json) = bench(&[
        "--swtpm",
        &addr,
        "--mix",
        "keys",
        "--iterations",
        "3",
        "--warmup",
        "1",
        "--rsa-period",
        "2",
    ]);
    for name in KEYS {
        assert!(table.contains(name), "{name}: {table}");
    }
    // Every one of the 20 steps succeeded, RSA-2048 CreatePrimary included (rounds 0 and 2).
    assert_eq!(
        json.matches("\"rc\":0,\"failures\":0}").count(),
        20,
        "{json}"
    );
    assert!(
        json.contains("\"CreatePrimary RSA-2048\":{\"median_us\":"),
        "{json}"
    );
}

/// Some rows of the keys mix.
const KEYS: [&str; 7] = [
    "CreatePrimary P-256",
    "CreatePrimary RSA-2048",
    "Create P-256",
    "Sign ECDSA P-256",
    "Quote ECDSA P-256",
    "StartAuthSession salted",
    "NV_UndefineSpace",
];
