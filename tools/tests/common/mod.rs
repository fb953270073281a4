//! Test harness: runs `evtpm serve` (the real binary) on ephemeral ports and speaks to it.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const GET_RANDOM_8: [u8; 12] = [0x80, 0x01, 0, 0, 0, 12, 0, 0, 0x01, 0x7B, 0, 8];
pub const STARTUP_CLEAR: [u8; 12] = [0x80, 0x01, 0, 0, 0, 12, 0, 0, 0x01, 0x44, 0, 0];

/// A running `evtpm` child process, killed when dropped.
pub struct Server {
    pub child: Child,
    pub addrs: HashMap<String, String>,
}

impl Server {
    /// Starts `evtpm <args>` and waits for its "listening on" line.
    pub fn start(args: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_evtpm"))
            .args(args)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn evtpm");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert!(
            line.starts_with("listening on"),
            "unexpected first line: {line:?}"
        );
        let addrs = line
            .split_whitespace()
            .filter_map(|t| t.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Server { child, addrs }
    }

    pub fn addr(&self, key: &str) -> SocketAddr {
        self.addrs[key].parse().unwrap()
    }

    pub fn connect(&self, key: &str) -> TcpStream {
        let s = TcpStream::connect(self.addr(key)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.set_nodelay(true).unwrap();
        s
    }

    /// Waits for the process to exit by itself; panics after `limit`.
    pub fn wait_exit(&mut self, limit: Duration) -> std::process::ExitStatus {
        let t0 = Instant::now();
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                return st;
            }
            assert!(t0.elapsed() < limit, "server did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes(b[..4].try_into().unwrap())
}

pub fn words(w: &[u32]) -> Vec<u8> {
    w.iter().flat_map(|v| v.to_be_bytes()).collect()
}

pub fn read_u32(s: &mut impl Read) -> u32 {
    let mut b = [0u8; 4];
    s.read_exact(&mut b).unwrap();
    be32(&b)
}

/// Asserts `rsp` is a well-formed TPM response header and returns its response code.
pub fn check_response(rsp: &[u8]) -> u32 {
    assert!(rsp.len() >= 10, "short response {rsp:?}");
    let tag = u16::from_be_bytes([rsp[0], rsp[1]]);
    assert!(tag == 0x8001 || tag == 0x8002, "bad tag {tag:#x}");
    assert_eq!(be32(&rsp[2..]) as usize, rsp.len(), "size field");
    be32(&rsp[6..])
}

/// MS simulator: TPM_SEND_COMMAND; returns the response bytes.
pub fn mssim_send(s: &mut TcpStream, locality: u8, cmd: &[u8]) -> Vec<u8> {
    let mut f = words(&[8]);
    f.push(locality);
    f.extend(words(&[cmd.len() as u32]));
    f.extend_from_slice(cmd);
    s.write_all(&f).unwrap();
    let n = read_u32(s) as usize;
    let mut rsp = vec![0u8; n];
    s.read_exact(&mut rsp).unwrap();
    assert_eq!(read_u32(s), 0, "trailing zero");
    rsp
}

/// MS simulator platform port: one signal, its ack.
pub fn mssim_signal(s: &mut TcpStream, sig: u32) -> u32 {
    s.write_all(&words(&[sig])).unwrap();
    read_u32(s)
}

/// swtpm data channel: one raw command, its response.
pub fn swtpm_send(s: &mut impl ReadWrite, cmd: &[u8]) -> Vec<u8> {
    s.write_all(cmd).unwrap();
    let mut h = [0u8; 10];
    s.read_exact(&mut h).unwrap();
    let n = be32(&h[2..]) as usize;
    let mut rsp = h.to_vec();
    rsp.resize(n, 0);
    s.read_exact(&mut rsp[10..]).unwrap();
    rsp
}

/// swtpm control channel: one message (sent with one write), `reply_len` bytes back.
pub fn ctrl(s: &mut impl ReadWrite, code: u32, body: &[u8], reply_len: usize) -> Vec<u8> {
    let mut m = words(&[code]);
    m.extend_from_slice(body);
    s.write_all(&m).unwrap();
    let mut r = vec![0u8; reply_len];
    s.read_exact(&mut r).unwrap();
    r
}

pub trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

/// Whether the peer has closed the connection (EOF within `wait`).
pub fn is_closed(s: &mut TcpStream, wait: Duration) -> bool {
    s.set_read_timeout(Some(wait)).unwrap();
    let mut b = [0u8; 1];
    match s.read(&mut b) {
        Ok(0) => true,
        Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
        Ok(_) => false,
    }
}

/// Whether a program is on PATH.
pub fn have(prog: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {prog}"))
        .output()
        .is_ok_and(|o| o.status.success())
}
