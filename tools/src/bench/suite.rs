//! `evtpm bench-suite`: evtpm, swtpm and the echo floor, the same mix, in one run.
//!
//! Starts `evtpm serve --swtpm` and `evtpm bench-echo --swtpm` (this executable), and
//! `swtpm socket --tpm2` with a throw-away state directory, all on free local ports; benchmarks
//! each over the swtpm socket protocol; prints a comparison table and each run's JSON line;
//! shuts every child down with `CMD_SHUTDOWN` (killing it only if that fails).

use super::{Report, Target};
use crate::cli::SuiteArgs;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A child server this suite started; shut down when dropped.
#[derive(Debug)]
struct Proc {
    name: &'static str,
    child: Child,
    ctrl: SocketAddr,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let graceful =
            TcpStream::connect_timeout(&self.ctrl, Duration::from_secs(1)).and_then(|mut s| {
                s.set_read_timeout(Some(Duration::from_secs(2)))?;
                s.write_all(&3u32.to_be_bytes())?; // CMD_SHUTDOWN
                let mut r = [0u8; 4];
                s.read_exact(&mut r)
            });
        let t0 = Instant::now();
        while graceful.is_ok() && t0.elapsed() < Duration::from_secs(3) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        log::warn!("{}: did not exit after CMD_SHUTDOWN; killing it", self.name);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts this executable with `args` and reads its "listening on k=v …" line.
fn spawn_self(
    name: &'static str,
    args: &[&str],
) -> Result<(Proc, HashMap<String, String>), String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut child = Command::new(exe)
        .args(args)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{name}: {e}"))?;
    let mut line = String::new();
    let stdout = child.stdout.take().ok_or("no stdout")?;
    BufReader::new(stdout)
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    let addrs: HashMap<String, String> = line
        .split_whitespace()
        .filter_map(|t| t.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let ctrl = addrs.get("ctrl").and_then(|a| a.parse().ok());
    let Some(ctrl) = ctrl.filter(|_| addrs.contains_key("swtpm")) else {
        let _ = child.kill();
        let _ = child.wait();
        return Err(format!("{name}: unexpected first line {line:?}"));
    };
    Ok((Proc { name, child, ctrl }, addrs))
}

/// A free pair of consecutive local ports (released again; the caller binds them shortly).
fn free_pair() -> Result<u16, String> {
    for _ in 0..64 {
        let a = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        let p = a.local_addr().map_err(|e| e.to_string())?.port();
        if p < u16::MAX && TcpListener::bind(("127.0.0.1", p + 1)).is_ok() {
            return Ok(p);
        }
    }
    Err("no free pair of ports".into())
}

/// Starts swtpm (socket, TPM 2, started, throw-away state) and waits until it accepts.
fn spawn_swtpm(bin: &PathBuf, state: &PathBuf) -> Result<(Proc, String), String> {
    let port = free_pair()?;
    std::fs::create_dir_all(state).map_err(|e| e.to_string())?;
    let child = Command::new(bin)
        .args(["socket", "--tpm2"])
        .arg(format!("--server=type=tcp,port={port}"))
        .arg(format!("--ctrl=type=tcp,port={}", port + 1))
        .args(["--flags", "not-need-init,startup-clear"])
        .arg(format!("--tpmstate=dir={}", state.display()))
        .stdout(Stdio::null())
        .spawn()
        .map_err(|e| format!("{}: {e}", bin.display()))?;
    let ctrl: SocketAddr = ([127, 0, 0, 1], port + 1).into();
    let proc = Proc {
        name: "swtpm",
        child,
        ctrl,
    };
    let data: SocketAddr = ([127, 0, 0, 1], port).into();
    let t0 = Instant::now();
    while TcpStream::connect_timeout(&data, Duration::from_millis(200)).is_err() {
        if t0.elapsed() > Duration::from_secs(10) {
            return Err("swtpm did not start listening".into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok((proc, data.to_string()))
}

pub fn run(a: &SuiteArgs) -> Result<(), String> {
    let state = std::env::temp_dir().join(format!("evtpm-bench-swtpm-{}", std::process::id()));
    let result = run_in(a, &state);
    let _ = std::fs::remove_dir_all(&state);
    result
}

fn run_in(a: &SuiteArgs, state: &PathBuf) -> Result<(), String> {
    let (evtpm, ev_addrs) = spawn_self(
        "evtpm",
        &["serve", "--swtpm", "127.0.0.1:0", "--startup", "clear"],
    )?;
    let (echo, echo_addrs) = spawn_self(
        "echo",
        &["bench-echo", "--listen", "127.0.0.1:0", "--swtpm"],
    )?;
    let (swtpm, sw_addr) = spawn_swtpm(&a.swtpm_bin, state)?;
    let targets = [
        ("evtpm", Target::Swtpm(ev_addrs["swtpm"].clone())),
        ("swtpm", Target::Swtpm(sw_addr)),
        ("echo", Target::Swtpm(echo_addrs["swtpm"].clone())),
    ];
    let mut reports = Vec::new();
    for (label, t) in &targets {
        eprintln!("benchmarking {label} ({t}): {} iterations", a.iterations);
        let r =
            super::run(t, a.iterations, a.warmup, false).map_err(|e| format!("{label}: {e}"))?;
        reports.push(r);
    }
    drop((evtpm, echo, swtpm));
    print!("{}", comparison(&reports[0], &reports[1], &reports[2]));
    for ((label, _), r) in targets.iter().zip(&reports) {
        println!("{}", r.json(label));
    }
    Ok(())
}

/// The comparison table: medians and p99s side by side, evtpm/swtpm ratio and evtpm above the
/// echo floor.
pub fn comparison(ev: &Report, sw: &Report, echo: &Report) -> String {
    let mut s = format!(
        "swtpm socket protocol, one persistent connection, {} iterations\n",
        ev.iterations
    );
    let _ = writeln!(
        s,
        "{:<14} {:>16} {:>16} {:>16} {:>12} {:>14}",
        "command",
        "evtpm med (p99)",
        "swtpm med (p99)",
        "echo med (p99)",
        "evtpm/swtpm",
        "evtpm-echo µs"
    );
    let cell = |m: f64, p: f64| format!("{m:.1} ({p:.1})");
    let mut mismatched = Vec::new();
    for ((e, w), f) in ev.commands.iter().zip(&sw.commands).zip(&echo.commands) {
        let ratio = if w.median_us > 0.0 {
            e.median_us / w.median_us
        } else {
            f64::NAN
        };
        let _ = writeln!(
            s,
            "{:<14} {:>16} {:>16} {:>16} {:>11.2}x {:>+14.1}",
            e.name,
            cell(e.median_us, e.p99_us),
            cell(w.median_us, w.p99_us),
            cell(f.median_us, f.p99_us),
            ratio,
            e.median_us - f.median_us
        );
        if e.rc != w.rc {
            mismatched.push(format!("{} evtpm {:#x} / swtpm {:#x}", e.name, e.rc, w.rc));
        }
    }
    if !mismatched.is_empty() {
        let _ = writeln!(
            s,
            "note: response codes differ, so these commands did different work: {}",
            mismatched.join("; ")
        );
    }
    s
}
