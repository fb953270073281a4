//! `evtpm bench`: per-command latency of a fixed mix over one persistent connection.
//!
//! Two mixes: [`commands`] (issue 3's fast path: random, PCRs, hashing, clock, sessions) and
//! [`keys`] (key creation, signing, quotes, salted sessions, contexts, NV), each a [`Mix`]: a
//! fixed sequence of steps whose commands may carry what earlier responses returned.

pub mod client;
pub mod commands;
pub mod keys;
pub mod suite;

pub use client::{Client, Target, Transact};
use std::fmt::{self, Write as _};
use std::io;
use std::time::Instant;

/// A command mix: a fixed sequence of steps, one command each. A step's command may depend on
/// earlier responses (a handle, a key blob, a public key), so the mix sees every successful
/// response and builds each command just before it is sent (outside the timed interval).
pub trait Mix: fmt::Debug {
    /// The steps' names, in order: the report's rows.
    fn names(&self) -> Vec<&'static str>;

    /// Untimed commands sent once, after the connection (and any `TPM2_Startup`), before the
    /// first round: objects every round uses. An error stops the run.
    fn setup(&mut self, _tpm: &mut dyn Transact) -> io::Result<()> {
        Ok(())
    }

    /// Untimed commands sent once after the last round: frees what [`Mix::setup`] loaded, so
    /// that the next mix on the same TPM (swtpm has three object slots) starts from the same
    /// state.
    fn teardown(&mut self, _tpm: &mut dyn Transact) -> io::Result<()> {
        Ok(())
    }

    /// Step `i` runs only in every `period(i)`-th round (warm-up and timed rounds counted
    /// separately from 0): slow commands get fewer samples than fast ones.
    fn period(&self, _i: usize) -> usize {
        1
    }

    /// The command of step `i` for this round.
    fn command(&mut self, i: usize) -> &[u8];

    /// The response to step `i`, when it is `TPM_RC_SUCCESS`: keeps what later steps use. A
    /// response too short to carry it (the echo floor's bare header) leaves the state as it was.
    fn response(&mut self, i: usize, rsp: &[u8]);
}

/// Latency of one command of the mix.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandStats {
    pub name: &'static str,
    pub median_us: f64,
    pub p99_us: f64,
    /// Timed samples (fewer than the iterations for a step with a period above 1).
    pub samples: usize,
    /// Response code of the last response.
    pub rc: u32,
    /// Responses (warm-up included) that were not `TPM_RC_SUCCESS`: a command that fails does
    /// different work than one that succeeds, so its time is not comparable.
    pub failures: usize,
}

/// The result of one benchmark run.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub target: String,
    pub iterations: usize,
    /// Response code of the initial TPM2_Startup, if one was sent.
    pub startup_rc: Option<u32>,
    pub commands: Vec<CommandStats>,
}

/// Runs `warmup` untimed and `iterations` timed rounds of `mix`.
pub fn run(
    target: &Target,
    mix: Box<dyn Mix>,
    iterations: usize,
    warmup: usize,
    startup: bool,
) -> io::Result<Report> {
    let mut r = Runner::connect(target, mix, iterations)?;
    if startup {
        r.startup()?;
    }
    r.setup()?;
    for round in 0..warmup {
        r.round(round, false)?;
    }
    for round in 0..iterations {
        r.round(round, true)?;
    }
    r.finish()
}

/// `iterations` timed rounds of `mix` (no startup, no warm-up), calling `progress` after each
/// round with the number of steps the mix has (an upper bound of the commands it sent): the
/// soak's driver.
pub fn run_with(
    target: &Target,
    mix: Box<dyn Mix>,
    iterations: usize,
    progress: &mut dyn FnMut(u64),
) -> io::Result<Report> {
    let mut r = Runner::connect(target, mix, iterations)?;
    r.setup()?;
    let steps = r.len() as u64;
    for round in 0..iterations {
        r.round(round, true)?;
        progress(steps);
    }
    r.finish()
}

/// A mix against one target over one persistent connection, a step at a time (so that a
/// suite can interleave its targets step by step and machine noise hits them alike).
#[derive(Debug)]
pub struct Runner {
    target: String,
    client: Client,
    mix: Box<dyn Mix>,
    names: Vec<&'static str>,
    samples: Vec<Vec<f64>>,
    rcs: Vec<u32>,
    failures: Vec<usize>,
    iterations: usize,
    startup_rc: Option<u32>,
}

impl Runner {
    pub fn connect(target: &Target, mix: Box<dyn Mix>, iterations: usize) -> io::Result<Runner> {
        let names = mix.names();
        let n = names.len();
        Ok(Runner {
            target: target.to_string(),
            client: Client::connect(target)?,
            samples: (0..n)
                .map(|i| Vec::with_capacity(iterations.div_ceil(mix.period(i).max(1))))
                .collect(),
            mix,
            names,
            rcs: vec![0; n],
            failures: vec![0; n],
            iterations,
            startup_rc: None,
        })
    }

    /// Sends `TPM2_Startup(CLEAR)`; its response code is reported, not required.
    pub fn startup(&mut self) -> io::Result<()> {
        let rsp = self.client.transact(&commands::startup_clear())?;
        self.startup_rc =
            Some(crate::wire::response_code(rsp).ok_or_else(|| malformed("Startup"))?);
        Ok(())
    }

    /// The mix's untimed setup ([`Mix::setup`]).
    pub fn setup(&mut self) -> io::Result<()> {
        self.mix.setup(&mut self.client)
    }

    /// Number of steps in the mix.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether the mix has no steps.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// One round of the mix: round number `round` of the warm-up or of the timed rounds.
    pub fn round(&mut self, round: usize, timed: bool) -> io::Result<()> {
        for i in 0..self.len() {
            self.step(i, round, timed)?;
        }
        Ok(())
    }

    /// Sends the mix's `i`-th command, if it runs in round `round` (steps must go in mix order:
    /// later commands use what earlier ones return); `timed` keeps its sample.
    pub fn step(&mut self, i: usize, round: usize, timed: bool) -> io::Result<()> {
        if !round.is_multiple_of(self.mix.period(i).max(1)) {
            return Ok(());
        }
        let cmd = self.mix.command(i);
        let t0 = Instant::now();
        let rsp = self.client.transact(cmd)?;
        let dt = t0.elapsed();
        let rc = crate::wire::response_code(rsp).ok_or_else(|| malformed(self.names[i]))?;
        self.rcs[i] = rc;
        if rc == 0 {
            self.mix.response(i, rsp);
        } else {
            self.failures[i] += 1;
        }
        if timed {
            self.samples[i].push(dt.as_secs_f64() * 1e6);
        }
        Ok(())
    }

    /// Closes the connection and summarizes the samples.
    pub fn finish(mut self) -> io::Result<Report> {
        self.mix.teardown(&mut self.client)?;
        let Runner {
            target,
            client,
            names,
            mut samples,
            rcs,
            failures,
            iterations,
            startup_rc,
            ..
        } = self;
        client.close()?;
        let commands = names
            .into_iter()
            .zip(samples.iter_mut())
            .zip(rcs.into_iter().zip(failures))
            .map(|((name, s), (rc, failures))| {
                s.sort_by(f64::total_cmp);
                CommandStats {
                    name,
                    median_us: median(s),
                    p99_us: percentile(s, 0.99),
                    samples: s.len(),
                    rc,
                    failures,
                }
            })
            .collect();
        Ok(Report {
            target,
            iterations,
            startup_rc,
            commands,
        })
    }
}

fn malformed(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("{what}: malformed response"),
    )
}

/// Median of sorted samples (0 for none).
pub fn median(sorted: &[f64]) -> f64 {
    match sorted.len() {
        0 => 0.0,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// Nearest-rank percentile of sorted samples (0 for none).
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

impl Report {
    /// A human-readable table.
    pub fn table(&self, label: &str) -> String {
        let mut s = format!("{label}: {} iterations\n", self.iterations);
        if let Some(rc) = self.startup_rc {
            let _ = writeln!(s, "  TPM2_Startup(CLEAR) -> {rc:#x}");
        }
        let _ = writeln!(
            s,
            "  {:<24} {:>10} {:>10} {:>7}  rc (failed responses)",
            "command", "median µs", "p99 µs", "samples"
        );
        for c in &self.commands {
            let _ = writeln!(
                s,
                "  {:<24} {:>10.1} {:>10.1} {:>7}  {:#x} ({})",
                c.name, c.median_us, c.p99_us, c.samples, c.rc, c.failures
            );
        }
        s
    }

    /// One JSON line: `{"target":…,"iterations":…,"commands":{"GetRandom":{"median_us":…,"p99_us":…,"samples":…,"rc":…,"failures":…},…}}`.
    pub fn json(&self, label: &str) -> String {
        let mut s = format!(
            "{{\"target\":{},\"iterations\":{},\"commands\":{{",
            json_str(label),
            self.iterations
        );
        for (i, c) in self.commands.iter().enumerate() {
            let sep = if i == 0 { "" } else { "," };
            let _ = write!(
                s,
                "{sep}{}:{{\"median_us\":{:.2},\"p99_us\":{:.2},\"samples\":{},\"rc\":{},\"failures\":{}}}",
                json_str(c.name),
                c.median_us,
                c.p99_us,
                c.samples,
                c.rc,
                c.failures
            );
        }
        s.push_str("}}");
        s
    }
}

pub(crate) fn json_str(s: &str) -> String {
    let mut out = String::from("\"");
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_p99_use_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(median(&v), 50.5);
        assert_eq!(percentile(&v, 0.99), 99.0);
        assert_eq!(percentile(&[3.0], 0.99), 3.0);
        assert_eq!(median(&[]), 0.0);
    }

    #[test]
    fn json_line_has_the_documented_shape() {
        let r = Report {
            target: "x".into(),
            iterations: 3,
            startup_rc: None,
            commands: vec![CommandStats {
                name: "GetRandom",
                median_us: 1.0,
                p99_us: 2.5,
                samples: 3,
                rc: 0x143,
                failures: 2,
            }],
        };
        assert_eq!(
            r.json("swtpm \"a\""),
            r#"{"target":"swtpm \"a\"","iterations":3,"commands":{"GetRandom":{"median_us":1.00,"p99_us":2.50,"samples":3,"rc":323,"failures":2}}}"#
        );
    }
}
