//! `evtpm serve --mssim`: the MS TPM simulator protocol.

mod common;
use common::*;
use std::io::{Read, Write};
use std::process::Command;
use std::time::Duration;

fn server() -> Server {
    Server::start(&["serve", "--mssim", "127.0.0.1:0"])
}

#[test]
fn power_cycle_then_send_command_returns_a_tpm_response() {
    let srv = server();
    let mut plat = srv.connect("platform");
    assert_eq!(mssim_signal(&mut plat, 1), 0, "POWER_ON");
    assert_eq!(mssim_signal(&mut plat, 11), 0, "NV_ON");
    let mut cmd = srv.connect("mssim");
    check_response(&mssim_send(&mut cmd, 0, &STARTUP_CLEAR));
    check_response(&mssim_send(&mut cmd, 3, &GET_RANDOM_8));

    // Powered off, the reference simulator answers an empty response; power on restores.
    assert_eq!(mssim_signal(&mut plat, 2), 0, "POWER_OFF");
    assert!(mssim_send(&mut cmd, 0, &GET_RANDOM_8).is_empty());
    assert_eq!(mssim_signal(&mut plat, 1), 0, "POWER_ON");
    assert_eq!(mssim_signal(&mut plat, 17), 0, "RESET");
    assert_eq!(mssim_signal(&mut plat, 18), 0, "RESTART");
    check_response(&mssim_send(&mut cmd, 0, &STARTUP_CLEAR));
    for sig in [3, 4, 9, 10, 12, 13, 14] {
        assert_eq!(mssim_signal(&mut plat, sig), 0, "signal {sig}");
    }
}

#[test]
fn handshake_and_command_port_signals() {
    let srv = server();
    let mut s = srv.connect("mssim");
    s.write_all(&words(&[15, 1])).unwrap();
    let mut r = [0u8; 12];
    s.read_exact(&mut r).unwrap();
    assert_eq!(r, *words(&[1, 0x0D, 0]));
    // Platform signals are accepted on the command port too.
    assert_eq!(mssim_signal(&mut s, 1), 0);
    // _TPM_Hash_* is not supported by the engine: answered with 1, connection kept.
    assert_eq!(mssim_signal(&mut s, 5), 1);
    s.write_all(&words(&[6, 3])).unwrap();
    s.write_all(b"abc").unwrap();
    assert_eq!(read_u32(&mut s), 1);
    check_response(&mssim_send(&mut s, 0, &GET_RANDOM_8));
}

#[test]
fn get_command_response_sizes_reports_and_clears() {
    let srv = server();
    let mut s = srv.connect("mssim");
    check_response(&mssim_send(&mut s, 0, &GET_RANDOM_8));
    let mut p = srv.connect("platform");
    p.write_all(&words(&[25])).unwrap();
    let mut r = [0u8; 24];
    p.read_exact(&mut r).unwrap();
    assert_eq!(be32(&r), 16);
    assert_eq!((be32(&r[4..]), be32(&r[8..])), (12, 0x17B));
    assert_eq!(be32(&r[20..]), 0);
}

#[test]
fn hostile_framing_is_refused_without_crashing() {
    let mut srv = server();
    // Oversized size field: TPM_RC_COMMAND_SIZE, then the connection closes.
    let mut s = srv.connect("mssim");
    s.write_all(&words(&[8])).unwrap();
    s.write_all(&[0]).unwrap();
    s.write_all(&words(&[0xFFFF_FFFF])).unwrap();
    let n = read_u32(&mut s) as usize;
    let mut rsp = vec![0u8; n];
    s.read_exact(&mut rsp).unwrap();
    assert_eq!(check_response(&rsp), 0x142);
    assert_eq!(read_u32(&mut s), 0);
    assert!(is_closed(&mut s, Duration::from_secs(5)));

    // Truncated frames, then hang-up.
    for cut in [1, 3, 6, 9, 15] {
        let mut s = srv.connect("mssim");
        let mut f = words(&[8]);
        f.push(0);
        f.extend(words(&[12]));
        f.extend_from_slice(&GET_RANDOM_8);
        s.write_all(&f[..cut]).unwrap();
    }
    // Unknown command-port command: closed.
    let mut s = srv.connect("mssim");
    s.write_all(&words(&[0xDEAD_BEEF])).unwrap();
    assert!(is_closed(&mut s, Duration::from_secs(5)));
    // Unknown platform signal: 1, then closed.
    let mut p = srv.connect("platform");
    assert_eq!(mssim_signal(&mut p, 0x7777), 1);
    assert!(is_closed(&mut p, Duration::from_secs(5)));
    // Handshake with client version 0: closed.
    let mut s = srv.connect("mssim");
    s.write_all(&words(&[15, 0])).unwrap();
    assert!(is_closed(&mut s, Duration::from_secs(5)));

    assert!(srv.is_running());
    let mut s = srv.connect("mssim");
    check_response(&mssim_send(&mut s, 0, &GET_RANDOM_8));
}

#[test]
fn session_end_closes_and_stop_exits() {
    let mut srv = server();
    let mut s = srv.connect("mssim");
    s.write_all(&words(&[20])).unwrap();
    assert!(is_closed(&mut s, Duration::from_secs(5)));
    let mut p = srv.connect("platform");
    p.write_all(&words(&[21])).unwrap();
    assert!(srv.wait_exit(Duration::from_secs(5)).success());
}

#[test]
fn tpm2_tools_gets_a_tpm_error_not_a_transport_error() {
    if !have("tpm2_startup") {
        eprintln!("tpm2_startup not installed; skipping");
        return;
    }
    let srv = server();
    let port = srv.addr("mssim").port();
    let out = Command::new("tpm2_startup")
        .arg("-c")
        .env(
            "TPM2TOOLS_TCTI",
            format!("mssim:host=127.0.0.1,port={port}"),
        )
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    // The placeholder engine answers TPM_RC_COMMAND_CODE; once the engine lands, success.
    assert!(
        out.status.success() || err.contains("tpm:error(2.0)"),
        "{err}"
    );
    assert!(!err.contains("tcti:IO failure"), "{err}");
}
