//! `evtpm soak`: many mixed commands from several concurrent clients against one `evtpm serve`,
//! watching the server's memory.
//!
//! Starts `evtpm serve --swtpm 127.0.0.1:0 --startup clear` (this executable), then runs
//! `clients` connections at once until `commands` commands have been answered: one client runs
//! the keys mix (CreatePrimary, Create, Load, Sign, Quote, salted sessions, ContextSave and
//! ContextLoad, NV define/write/read/undefine, with every object flushed again; the TPM's eight
//! object slots allow one such client), the others the kernel-style mix (GetRandom, PCR_Extend,
//! PCR_Event, PCR_Read, hash and event sequences, ReadClock, StartAuthSession + FlushContext,
//! …), in rounds. Every response must be `TPM_RC_SUCCESS`. The server's resident memory is read
//! from `/proc` after the first tenth of the commands and at the end: it must stay flat (the
//! engine's resources are fixed at manufacture and every round frees what it took), and the
//! peak (`VmHWM`) is reported. One report line; exit status non-zero on any failure or growth.

use crate::bench::client::Target;
use crate::bench::commands::FastMix;
use crate::bench::keys::KeysMix;
use crate::bench::{self, Mix};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// Resident memory the server may gain between the first tenth and the end of the run.
pub const MAX_GROWTH_KIB: u64 = 2048;

/// `VmRSS` and `VmHWM` of `pid`, in KiB.
fn memory(pid: u32) -> Result<(u64, u64), String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|e| format!("/proc/{pid}/status: {e}"))?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<u64>().ok())
            .ok_or_else(|| format!("no {name} in /proc/{pid}/status"))
    };
    Ok((field("VmRSS:")?, field("VmHWM:")?))
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_server() -> Result<(Server, String), String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut child = Command::new(exe)
        .args(["serve", "--swtpm", "127.0.0.1:0", "--startup", "clear"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("evtpm serve: {e}"))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let server = Server(child);
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    let addr = line
        .split_whitespace()
        .find_map(|t| t.strip_prefix("swtpm="))
        .ok_or_else(|| format!("evtpm serve said {line:?}"))?
        .to_string();
    Ok((server, addr))
}

/// Runs the soak; returns the report line, or why it failed.
pub fn run(clients: usize, commands: u64) -> Result<String, String> {
    let clients = clients.max(1);
    let (server, addr) = start_server()?;
    let pid = server.0.id();
    let target = Target::Swtpm(addr);
    let done = Arc::new(AtomicU64::new(0));
    let failures = Arc::new(AtomicU64::new(0));
    let sent = Arc::new(AtomicU64::new(0));
    let baseline: Arc<std::sync::Mutex<Option<(u64, u64)>>> = Arc::default();
    let start = Instant::now();
    let mut threads = Vec::new();
    for c in 0..clients {
        let (target, done, failures, baseline, sent) = (
            target.clone(),
            done.clone(),
            failures.clone(),
            baseline.clone(),
            sent.clone(),
        );
        threads.push(std::thread::spawn(move || -> Result<(), String> {
            // One connection and one mix for the client's whole share: a mix's setup objects
            // (primaries) stay loaded for its life, so they are created once, not per batch.
            let mix: Box<dyn Mix> = if c == 0 {
                // RSA primaries only now and then: the soak is about churn, not prime search.
                Box::new(KeysMix::new(50).map_err(|e| e.to_string())?)
            } else {
                Box::new(FastMix::new())
            };
            let per_round = mix.names().len().max(1) as u64;
            let share = commands / clients as u64;
            // Steps with a period above one run less often: a little more than the share.
            let rounds = (share + share / 20).div_ceil(per_round).max(10) as usize;
            // The baseline is taken by client 1's report of the first tenth: the server has
            // then seen every kind of command at least once.
            let report = bench::run_with(&target, mix, rounds, &mut |sent| {
                let total = done.fetch_add(sent, Ordering::Relaxed) + sent;
                if total >= commands / 10 {
                    if let Ok(mut b) = baseline.lock() {
                        if b.is_none() {
                            *b = memory(pid).ok();
                        }
                    }
                }
            })
            .map_err(|e| format!("client {c}: {e}"))?;
            let answered: u64 = report.commands.iter().map(|s| s.samples as u64).sum();
            sent.fetch_add(answered, Ordering::Relaxed);
            let failed: u64 = report.commands.iter().map(|s| s.failures as u64).sum();
            if failed > 0 {
                let which: Vec<String> = report
                    .commands
                    .iter()
                    .filter(|s| s.failures > 0)
                    .map(|s| format!("{} {}x (last rc {:#x})", s.name, s.failures, s.rc))
                    .collect();
                eprintln!("soak: client {c}: failures: {}", which.join(", "));
            }
            failures.fetch_add(failed, Ordering::Relaxed);
            Ok(())
        }));
    }
    for t in threads {
        t.join().map_err(|_| "a client thread panicked")??;
    }
    let elapsed = start.elapsed().as_secs_f64();
    let (rss_end, hwm) = memory(pid)?;
    let (rss_start, _) = baseline
        .lock()
        .map_err(|_| "lock poisoned")?
        .ok_or("no baseline sample")?;
    let n = sent.load(Ordering::Relaxed);
    let failed = failures.load(Ordering::Relaxed);
    let growth = rss_end.saturating_sub(rss_start);
    let line = format!(
        "soak: {clients} clients, {n} commands in {elapsed:.1} s ({:.0}/s), {failed} failures; \
         server RSS {rss_start} KiB after the first tenth, {rss_end} KiB at the end \
         (+{growth} KiB, limit +{MAX_GROWTH_KIB}), peak {hwm} KiB",
        n as f64 / elapsed
    );
    drop(server);
    if failed > 0 {
        return Err(format!("{line}: commands failed"));
    }
    if growth > MAX_GROWTH_KIB {
        return Err(format!("{line}: resident memory grew"));
    }
    Ok(line)
}
