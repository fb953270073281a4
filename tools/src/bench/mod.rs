//! `evtpm bench`: per-command latency of a fixed mix over one persistent connection.

pub mod client;
pub mod commands;
pub mod suite;

pub use client::{Client, Target};
use std::fmt::Write as _;
use std::io;
use std::time::Instant;
use tpm_proto::HEADER_SIZE;

/// Latency of one command of the mix.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandStats {
    pub name: &'static str,
    pub median_us: f64,
    pub p99_us: f64,
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

/// Runs `warmup` untimed and `iterations` timed rounds of the mix.
pub fn run(target: &Target, iterations: usize, warmup: usize, startup: bool) -> io::Result<Report> {
    let mut r = Runner::connect(target, iterations)?;
    if startup {
        r.startup()?;
    }
    for round in 0..warmup + iterations {
        r.round(round >= warmup)?;
    }
    r.finish()
}

/// The mix against one target over one persistent connection, a round at a time (so that a
/// suite can interleave its targets round by round and machine noise hits them alike).
#[derive(Debug)]
pub struct Runner {
    target: String,
    client: Client,
    mix: Vec<commands::BenchCommand>,
    /// The mix's bytes, with returned handles filled in.
    bytes: Vec<Vec<u8>>,
    /// The handle the last handle-creating command returned (the placeholder until then; a
    /// transport floor that answers with a bare header returns none).
    handle: [u8; 4],
    samples: Vec<Vec<f64>>,
    rcs: Vec<u32>,
    failures: Vec<usize>,
    iterations: usize,
    startup_rc: Option<u32>,
}

impl Runner {
    pub fn connect(target: &Target, iterations: usize) -> io::Result<Runner> {
        let mix = commands::mix();
        let n = mix.len();
        Ok(Runner {
            target: target.to_string(),
            client: Client::connect(target)?,
            bytes: mix.iter().map(|c| c.bytes.clone()).collect(),
            mix,
            handle: [0x80, 0, 0, 0],
            samples: vec![Vec::with_capacity(iterations); n],
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

    /// Number of commands in the mix.
    pub fn len(&self) -> usize {
        self.mix.len()
    }

    /// Always false: the mix is not empty.
    pub fn is_empty(&self) -> bool {
        self.mix.is_empty()
    }

    /// One round of the mix; `timed` keeps its samples.
    pub fn round(&mut self, timed: bool) -> io::Result<()> {
        for i in 0..self.mix.len() {
            self.step(i, timed)?;
        }
        Ok(())
    }

    /// Sends the mix's `i`-th command (steps must go in mix order: later commands use handles
    /// earlier ones return); `timed` keeps its sample.
    pub fn step(&mut self, i: usize, timed: bool) -> io::Result<()> {
        let c = &self.mix[i];
        let cmd = &mut self.bytes[i];
        if let Some(at) = c.handle_at {
            cmd[at..at + 4].copy_from_slice(&self.handle);
        }
        let t0 = Instant::now();
        let rsp = self.client.transact(cmd)?;
        let dt = t0.elapsed();
        let rc = crate::wire::response_code(rsp).ok_or_else(|| malformed(c.name))?;
        self.rcs[i] = rc;
        if rc != 0 {
            self.failures[i] += 1;
        } else if c.returns_handle {
            if let Some(h) = rsp.get(HEADER_SIZE..HEADER_SIZE + 4) {
                self.handle.copy_from_slice(h);
            }
        }
        if timed {
            self.samples[i].push(dt.as_secs_f64() * 1e6);
        }
        Ok(())
    }

    /// Closes the connection and summarizes the samples.
    pub fn finish(self) -> io::Result<Report> {
        let Runner {
            target,
            client,
            mix,
            mut samples,
            rcs,
            failures,
            iterations,
            startup_rc,
            ..
        } = self;
        client.close()?;
        let commands = mix
            .iter()
            .zip(samples.iter_mut())
            .zip(rcs.into_iter().zip(failures))
            .map(|((c, s), (rc, failures))| {
                s.sort_by(f64::total_cmp);
                CommandStats {
                    name: c.name,
                    median_us: median(s),
                    p99_us: percentile(s, 0.99),
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
            "  {:<16} {:>10} {:>10}  rc (failed responses)",
            "command", "median µs", "p99 µs"
        );
        for c in &self.commands {
            let _ = writeln!(
                s,
                "  {:<16} {:>10.1} {:>10.1}  {:#x} ({})",
                c.name, c.median_us, c.p99_us, c.rc, c.failures
            );
        }
        s
    }

    /// One JSON line: `{"target":…,"iterations":…,"commands":{"GetRandom":{"median_us":…,"p99_us":…,"rc":…,"failures":…},…}}`.
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
                "{sep}{}:{{\"median_us\":{:.2},\"p99_us\":{:.2},\"rc\":{},\"failures\":{}}}",
                json_str(c.name),
                c.median_us,
                c.p99_us,
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
                rc: 0x143,
                failures: 2,
            }],
        };
        assert_eq!(
            r.json("swtpm \"a\""),
            r#"{"target":"swtpm \"a\"","iterations":3,"commands":{"GetRandom":{"median_us":1.00,"p99_us":2.50,"rc":323,"failures":2}}}"#
        );
    }
}
