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
    for name in [
        "GetRandom",
        "PCR_Extend",
        "PCR_Read",
        "GetCapability",
        "Hash",
        "ReadClock",
    ] {
        assert!(
            json.contains(&format!("\"{name}\":{{\"median_us\":")),
            "{name} in {json}"
        );
    }
    assert!(json.contains(&format!("\"rc\":{rc}}}")), "{json}");
}

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
    assert!(table.contains("TPM2_Startup(CLEAR) ->"), "{table}");
    // Every command gets a well-formed response; the placeholder engine's is TPM_RC_COMMAND_CODE.
    let label = format!("swtpm://{addr}");
    let rc = if json.contains("\"rc\":0}") { 0 } else { 0x143 };
    assert_json_shape(&json, &label, rc);
}
