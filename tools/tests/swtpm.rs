//! `evtpm serve --swtpm`: swtpm's socket protocol (data port, TCP control channel).

mod common;
use common::*;
use std::io::{Read, Write};
use std::process::Command;
use std::time::Duration;

const CMD_GET_CAPABILITY: u32 = 1;
const CMD_INIT: u32 = 2;
const CMD_SHUTDOWN: u32 = 3;
const CMD_GET_TPMESTABLISHED: u32 = 4;
const CMD_SET_LOCALITY: u32 = 5;
const CMD_HASH_START: u32 = 6;
const CMD_CANCEL_TPM_CMD: u32 = 9;
const CMD_RESET_TPMESTABLISHED: u32 = 0x0b;
const CMD_STOP: u32 = 0x0e;
const CMD_GET_CONFIG: u32 = 0x0f;
const CMD_SET_DATAFD: u32 = 0x10;
const CMD_SET_BUFFERSIZE: u32 = 0x11;
const CMD_GET_INFO: u32 = 0x12;

fn server(extra: &[&str]) -> Server {
    let mut args = vec!["serve", "--swtpm", "127.0.0.1:0"];
    args.extend_from_slice(extra);
    Server::start(&args)
}

#[test]
fn ctrl_init_locality_capability_stop() {
    let srv = server(&[]);
    let mut c = srv.connect("ctrl");
    let caps = ctrl(&mut c, CMD_GET_CAPABILITY, &[], 8);
    assert_eq!(be32(&caps), 0);
    let caps = be32(&caps[4..]);
    // INIT, SHUTDOWN, GET_TPMESTABLISHED, SET_LOCALITY, RESET_TPMESTABLISHED, STOP,
    // SET_BUFFERSIZE: what QEMU requires of a TPM 2 emulator (minus SET_DATAFD on TCP).
    assert_eq!(caps & 0x248F, 0x248F, "{caps:#x}");
    assert_eq!(caps & (1 << 12), 0, "SET_DATAFD cannot work over TCP");

    let mut d = srv.connect("swtpm");
    check_response(&swtpm_send(&mut d, &STARTUP_CLEAR));
    // QEMU sends the whole ptm_loc union (4 bytes); tpm2-tss sends 1 byte.
    assert_eq!(
        ctrl(&mut c, CMD_SET_LOCALITY, &[3, 0, 0, 0], 4),
        words(&[0])
    );
    assert_eq!(ctrl(&mut c, CMD_SET_LOCALITY, &[2], 4), words(&[0]));
    assert_eq!(
        ctrl(&mut c, CMD_SET_LOCALITY, &[5], 4),
        words(&[0x3d]),
        "TPM_BAD_LOCALITY"
    );
    check_response(&swtpm_send(&mut d, &GET_RANDOM_8));

    // Stopped: data commands get TPM_RC_FAILURE; CMD_INIT brings the TPM back.
    assert_eq!(ctrl(&mut c, CMD_STOP, &[], 4), words(&[0]));
    assert_eq!(check_response(&swtpm_send(&mut d, &GET_RANDOM_8)), 0x101);
    assert_eq!(
        ctrl(&mut c, CMD_GET_TPMESTABLISHED, &[], 4),
        words(&[10]),
        "not running"
    );
    assert_eq!(
        ctrl(&mut c, CMD_SET_BUFFERSIZE, &words(&[4096]), 16),
        words(&[0, 4096, 4096, 4096])
    );
    assert_eq!(ctrl(&mut c, CMD_INIT, &words(&[0]), 4), words(&[0]));
    check_response(&swtpm_send(&mut d, &STARTUP_CLEAR));
    assert_eq!(
        ctrl(&mut c, CMD_SET_BUFFERSIZE, &words(&[4096]), 4),
        words(&[10]),
        "running"
    );
    assert_eq!(
        ctrl(&mut c, CMD_SET_BUFFERSIZE, &words(&[0]), 16),
        words(&[0, 4096, 4096, 4096])
    );
}

#[test]
fn ctrl_misc_commands() {
    let srv = server(&[]);
    let mut c = srv.connect("ctrl");
    assert_eq!(ctrl(&mut c, CMD_GET_TPMESTABLISHED, &[], 8), [0; 8]);
    assert_eq!(
        ctrl(&mut c, CMD_RESET_TPMESTABLISHED, &[0, 0, 0, 0], 4),
        words(&[0])
    );
    assert_eq!(
        ctrl(&mut c, CMD_RESET_TPMESTABLISHED, &[7], 4),
        words(&[0x3d])
    );
    assert_eq!(ctrl(&mut c, CMD_GET_CONFIG, &[], 8), words(&[0, 0]));
    assert_eq!(
        ctrl(&mut c, CMD_HASH_START, &[], 4),
        words(&[9]),
        "not supported: TPM_FAIL"
    );
    assert_eq!(ctrl(&mut c, CMD_CANCEL_TPM_CMD, &[], 4), words(&[9]));
    assert_eq!(
        ctrl(&mut c, CMD_SET_DATAFD, &[], 4),
        words(&[3]),
        "no descriptor over TCP"
    );
    let mut req = 1u64.to_be_bytes().to_vec();
    req.extend(words(&[0, 0]));
    let head = ctrl(&mut c, CMD_GET_INFO, &req, 12);
    assert_eq!(be32(&head), 0);
    let mut info = vec![0u8; be32(&head[8..]) as usize];
    c.read_exact(&mut info).unwrap();
    assert!(
        info.starts_with(b"{\"TPMSpecification\":") && info.ends_with(b"\0"),
        "{info:?}"
    );
}

#[test]
fn hostile_framing_is_refused_without_crashing() {
    let mut srv = server(&["--frame-timeout-ms", "500"]);
    // Oversized and undersized size fields: TPM_RC_COMMAND_SIZE, as swtpm answers; the
    // connection stays usable.
    for size in [0xFFFF_FFFFu32, 4097, 9, 0] {
        let mut d = srv.connect("swtpm");
        let mut h = vec![0x80, 0x01];
        h.extend(words(&[size, 0x17B]));
        d.write_all(&h).unwrap();
        let mut r = [0u8; 10];
        d.read_exact(&mut r).unwrap();
        assert_eq!(check_response(&r), 0x142, "size {size}");
        d.write_all(&GET_RANDOM_8).unwrap();
        let mut r = [0u8; 10];
        d.read_exact(&mut r).unwrap();
        assert_ne!(
            check_response(&r),
            0x142,
            "size {size}: next command parsed cleanly"
        );
    }
    // Truncated frame and silence: TPM_RC_COMMAND_SIZE once the frame timeout passes.
    let mut d = srv.connect("swtpm");
    d.write_all(&GET_RANDOM_8[..7]).unwrap();
    let mut r = [0u8; 10];
    d.read_exact(&mut r).unwrap();
    assert_eq!(check_response(&r), 0x142);
    // Unknown control command: TPM_BAD_ORDINAL, connection kept.
    let mut c = srv.connect("ctrl");
    assert_eq!(ctrl(&mut c, 0xABCD, &[1, 2, 3], 4), words(&[10]));
    // INIT with a body of the wrong size: TPM_BAD_PARAMETER.
    assert_eq!(ctrl(&mut c, CMD_INIT, &[0; 8], 4), words(&[3]));
    // Truncated control message (needs 4 bytes of init flags): closed after the timeout.
    c.write_all(&words(&[CMD_INIT])).unwrap();
    c.write_all(&[0]).unwrap();
    assert!(is_closed(&mut c, Duration::from_secs(5)));
    // Command word split across writes still parses.
    let mut c = srv.connect("ctrl");
    c.write_all(&[0, 0]).unwrap();
    std::thread::sleep(Duration::from_millis(50));
    c.write_all(&[0, 1]).unwrap();
    let mut r = [0u8; 8];
    c.read_exact(&mut r).unwrap();
    assert_eq!(be32(&r), 0);

    assert!(srv.is_running());
    let mut d = srv.connect("swtpm");
    check_response(&swtpm_send(&mut d, &GET_RANDOM_8));
}

#[test]
fn two_concurrent_clients_and_a_stalled_one() {
    let srv = server(&["--frame-timeout-ms", "3000"]);
    // A stalled client in the middle of a frame must not block anyone.
    let mut stalled = srv.connect("swtpm");
    stalled.write_all(&GET_RANDOM_8[..5]).unwrap();
    let mut a = srv.connect("swtpm");
    let mut b = srv.connect("swtpm");
    let addr = srv.addr("swtpm");
    let t = std::thread::spawn(move || {
        let mut c = std::net::TcpStream::connect(addr).unwrap();
        for _ in 0..200 {
            check_response(&swtpm_send(&mut c, &GET_RANDOM_8));
        }
    });
    for _ in 0..200 {
        check_response(&swtpm_send(&mut a, &GET_RANDOM_8));
        check_response(&swtpm_send(&mut b, &GET_RANDOM_8));
    }
    t.join().unwrap();
}

#[test]
fn connection_cap_closes_extra_connections() {
    let srv = server(&["--max-connections", "2"]);
    let mut a = srv.connect("swtpm");
    let mut b = srv.connect("swtpm");
    check_response(&swtpm_send(&mut a, &GET_RANDOM_8));
    check_response(&swtpm_send(&mut b, &GET_RANDOM_8));
    let mut c = srv.connect("swtpm");
    assert!(is_closed(&mut c, Duration::from_secs(5)));
    drop(a);
    std::thread::sleep(Duration::from_millis(200));
    let mut d = srv.connect("swtpm");
    check_response(&swtpm_send(&mut d, &GET_RANDOM_8));
}

#[test]
fn startup_clear_and_shutdown_exit() {
    let mut srv = server(&["--startup", "clear"]);
    let mut c = srv.connect("ctrl");
    assert_eq!(ctrl(&mut c, CMD_SHUTDOWN, &[], 4), words(&[0]));
    assert!(srv.wait_exit(Duration::from_secs(5)).success());
}

#[test]
fn sigterm_exits_cleanly() {
    let mut srv = server(&[]);
    let pid = srv.child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    assert!(srv.wait_exit(Duration::from_secs(5)).success());
}

#[test]
fn tpm2_tools_over_the_swtpm_tcti() {
    if !have("tpm2_getrandom") {
        eprintln!("tpm2-tools not installed; skipping");
        return;
    }
    let srv = server(&["--startup", "clear"]);
    let port = srv.addr("swtpm").port();
    let out = Command::new("tpm2_getrandom")
        .arg("8")
        .env(
            "TPM2TOOLS_TCTI",
            format!("swtpm:host=127.0.0.1,port={port}"),
        )
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() || err.contains("tpm:error(2.0)"),
        "{err}"
    );
    assert!(!err.contains("IO failure"), "{err}");
}

#[test]
fn idle_timeout_closes_silent_connections_only() {
    let srv = server(&["--idle-timeout", "1"]);
    let mut busy = srv.connect("swtpm");
    let mut idle = srv.connect("swtpm");
    let t0 = std::time::Instant::now();
    while t0.elapsed() < Duration::from_millis(1500) {
        check_response(&swtpm_send(&mut busy, &GET_RANDOM_8));
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(is_closed(&mut idle, Duration::from_secs(2)));
    check_response(&swtpm_send(&mut busy, &GET_RANDOM_8));
}
