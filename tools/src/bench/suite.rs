//! `evtpm bench-suite`: evtpm, swtpm and the echo floor, the same mix, in one run.
//!
//! Starts `evtpm serve --swtpm` and `evtpm bench-echo --swtpm` (this executable), and
//! `swtpm socket --tpm2` with a throw-away state directory, all on free local ports; benchmarks
//! each over the swtpm socket protocol, interleaving the targets command by command; prints a
//! comparison table (evtpm/swtpm ratio, evtpm above the echo floor) and one JSON line;
//! shuts every child down with `CMD_SHUTDOWN` (killing it only if that fails).

use super::{CommandStats, Report, Runner, Target};
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
    let mut runners = Vec::new();
    for (label, t) in &targets {
        eprintln!("connecting to {label} ({t})");
        runners.push(Runner::connect(t, a.iterations).map_err(|e| format!("{label}: {e}"))?);
    }
    eprintln!(
        "{} warm-up and {} timed rounds of {} commands, targets interleaved command by command",
        a.warmup,
        a.iterations,
        super::commands::mix().len()
    );
    // Each command goes to evtpm, swtpm and the floor in turn, so that load from elsewhere on
    // the machine (and the cost of waking a server that slept) falls on all three alike.
    let n = runners[0].len();
    for round in 0..a.warmup + a.iterations {
        for i in 0..n {
            for ((label, _), r) in targets.iter().zip(runners.iter_mut()) {
                r.step(i, round >= a.warmup)
                    .map_err(|e| format!("{label}: {e}"))?;
            }
        }
    }
    let mut reports = Vec::new();
    for ((label, _), r) in targets.iter().zip(runners) {
        reports.push(r.finish().map_err(|e| format!("{label}: {e}"))?);
    }
    drop((evtpm, echo, swtpm));
    print!("{}", comparison(&reports[0], &reports[1], &reports[2]));
    println!("{}", json(&reports[0], &reports[1], &reports[2]));
    // A command that failed did different work: the comparison is not valid.
    let failed: usize = reports[..2]
        .iter()
        .flat_map(|r| &r.commands)
        .map(|c| c.failures)
        .sum();
    if failed > 0 {
        return Err(format!(
            "{failed} evtpm/swtpm responses were not TPM_RC_SUCCESS (see the note above)"
        ));
    }
    Ok(())
}

/// The issue-3 target: `evtpm serve` within this fraction above the echo floor on every command.
pub const FLOOR_TARGET: f64 = 0.10;

/// How far evtpm's median is above the echo floor's, as a fraction of the floor.
fn over_floor(e: &CommandStats, f: &CommandStats) -> f64 {
    if f.median_us > 0.0 {
        e.median_us / f.median_us - 1.0
    } else {
        f64::NAN
    }
}

fn ratio(e: &CommandStats, w: &CommandStats) -> f64 {
    if w.median_us > 0.0 {
        e.median_us / w.median_us
    } else {
        f64::NAN
    }
}

/// The comparison table: medians and p99s side by side, the evtpm/swtpm ratio, and evtpm above
/// the echo floor in µs and in per cent (flagged when over [`FLOOR_TARGET`]).
pub fn comparison(ev: &Report, sw: &Report, echo: &Report) -> String {
    let mut s = format!(
        "swtpm socket protocol, one persistent connection per target, {} iterations\n",
        ev.iterations
    );
    let _ = writeln!(
        s,
        "{:<16} {:>16} {:>16} {:>16} {:>12} {:>10} {:>10}",
        "command",
        "evtpm med (p99)",
        "swtpm med (p99)",
        "echo med (p99)",
        "evtpm/swtpm",
        "-echo µs",
        "over echo"
    );
    let cell = |m: f64, p: f64| format!("{m:.1} ({p:.1})");
    let mut failed = Vec::new();
    let mut over = Vec::new();
    for ((e, w), f) in ev.commands.iter().zip(&sw.commands).zip(&echo.commands) {
        let o = over_floor(e, f);
        let flag = if o > FLOOR_TARGET { " *" } else { "" };
        let _ = writeln!(
            s,
            "{:<16} {:>16} {:>16} {:>16} {:>11.2}x {:>+10.1} {:>+9.1}%{flag}",
            e.name,
            cell(e.median_us, e.p99_us),
            cell(w.median_us, w.p99_us),
            cell(f.median_us, f.p99_us),
            ratio(e, w),
            e.median_us - f.median_us,
            o * 100.0,
        );
        if o > FLOOR_TARGET {
            over.push(e.name);
        }
        for (who, c) in [("evtpm", e), ("swtpm", w)] {
            if c.failures > 0 {
                failed.push(format!(
                    "{} {who}: {} failed, last rc {:#x}",
                    c.name, c.failures, c.rc
                ));
            }
        }
    }
    let (ev_sum, sw_sum, echo_sum) = (total(ev), total(sw), total(echo));
    let _ = writeln!(
        s,
        "{:<16} {:>16.1} {:>16.1} {:>16.1} {:>11.2}x {:>+10.1} {:>+9.1}%",
        "sum of medians",
        ev_sum,
        sw_sum,
        echo_sum,
        ev_sum / sw_sum,
        ev_sum - echo_sum,
        (ev_sum / echo_sum - 1.0) * 100.0
    );
    if over.is_empty() {
        let _ = writeln!(
            s,
            "evtpm is within {:.0}% of the echo floor on every command",
            FLOOR_TARGET * 100.0
        );
    } else {
        let _ = writeln!(
            s,
            "* more than {:.0}% above the echo floor: {}",
            FLOOR_TARGET * 100.0,
            over.join(", ")
        );
    }
    if !failed.is_empty() {
        let _ = writeln!(
            s,
            "note: non-success responses, so these commands did different work: {}",
            failed.join("; ")
        );
    }
    s
}

fn total(r: &Report) -> f64 {
    r.commands.iter().map(|c| c.median_us).sum()
}

/// One JSON line for the whole run: each target's report, then per command the evtpm/swtpm
/// ratio and evtpm's overhead above the echo floor (per cent).
pub fn json(ev: &Report, sw: &Report, echo: &Report) -> String {
    let num = |x: f64| {
        if x.is_finite() {
            format!("{x:.3}")
        } else {
            "null".into()
        }
    };
    let mut s = format!(
        "{{\"suite\":\"evtpm-bench\",\"iterations\":{},\"targets\":[{},{},{}],\"evtpm_vs_swtpm\":{{",
        ev.iterations,
        ev.json("evtpm"),
        sw.json("swtpm"),
        echo.json("echo")
    );
    let pairs = || ev.commands.iter().zip(&sw.commands).zip(&echo.commands);
    for (i, ((e, w), _)) in pairs().enumerate() {
        let sep = if i == 0 { "" } else { "," };
        let _ = write!(s, "{sep}{}:{}", super::json_str(e.name), num(ratio(e, w)));
    }
    s.push_str("},\"evtpm_over_echo_pct\":{");
    for (i, ((e, _), f)) in pairs().enumerate() {
        let sep = if i == 0 { "" } else { "," };
        let _ = write!(
            s,
            "{sep}{}:{}",
            super::json_str(e.name),
            num(over_floor(e, f) * 100.0)
        );
    }
    let all_within = pairs().all(|((e, _), f)| over_floor(e, f) <= FLOOR_TARGET);
    let _ = write!(s, "}},\"within_floor_target\":{all_within}}}");
    s
}
