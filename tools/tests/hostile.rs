//! Random bytes on every port: the server answers or hangs up, and keeps serving.

mod common;
use common::*;
use std::io::{Read, Write};
use std::time::Duration;

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

#[test]
fn random_bytes_on_every_port_never_take_the_server_down() {
    let path = std::env::temp_dir().join(format!("evtpm-test-{}-hostile.sock", std::process::id()));
    let ctrl_arg = format!("unix:{}", path.display());
    let mut srv = Server::start(&[
        "serve",
        "--mssim",
        "127.0.0.1:0",
        "--swtpm",
        "127.0.0.1:0",
        "--ctrl",
        &ctrl_arg,
        "--frame-timeout-ms",
        "200",
    ]);
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    for round in 0..40 {
        for port in ["mssim", "platform", "swtpm"] {
            let mut s = srv.connect(port);
            s.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
            let n = (rng.next() % 6000) as usize;
            let mut junk = rng.bytes(n);
            // Keep command words small now and then so real dispatch paths get hit too.
            if round % 2 == 0 && junk.len() >= 4 {
                junk[..3].fill(0);
                // Never TPM_STOP (21): that one is meant to stop the server.
                if junk[3] == 21 {
                    junk[3] = 8;
                }
            }
            let _ = s.write_all(&junk);
            let mut sink = [0u8; 8192];
            let _ = s.read(&mut sink);
        }
        let mut u = std::os::unix::net::UnixStream::connect(&path).unwrap();
        u.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
        let n = (rng.next() % 200) as usize;
        let mut junk = rng.bytes(n);
        if junk.len() >= 4 {
            junk[..3].fill(0);
            junk[3] %= 0x14;
            // Never SHUTDOWN: that one is meant to stop the server.
            if junk[3] == 3 {
                junk[3] = 1;
            }
        }
        let _ = u.write_all(&junk);
        let mut sink = [0u8; 4096];
        let _ = u.read(&mut sink);
    }
    assert!(srv.is_running());
    let mut p = srv.connect("platform");
    // A stray POWER_OFF or TPM_STOP-free junk may have powered the TPM off; power it on.
    assert_eq!(mssim_signal(&mut p, 1), 0);
    let mut d = srv.connect("swtpm");
    let mut c = std::os::unix::net::UnixStream::connect(&path).unwrap();
    assert_eq!(ctrl(&mut c, 2, &[0, 0, 0, 0], 4), words(&[0]), "CMD_INIT");
    check_response(&swtpm_send(&mut d, &GET_RANDOM_8));
    let mut m = srv.connect("mssim");
    check_response(&mssim_send(&mut m, 0, &GET_RANDOM_8));
    drop(srv);
    let _ = std::fs::remove_file(&path);
}
