//! `evtpm bench`: per-command latency of a fixed mix over one persistent connection.

pub mod client;
pub mod commands;
pub mod suite;

pub use client::{Client, Target};
use std::fmt::Write as _;
use std::io;
use std::time::Instant;

/// Latency of one command of the mix.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandStats {
    pub name: &'static str,
    pub median_us: f64,
    pub p99_us: f64,
    /// Response code of the last response (the placeholder engine answers
    /// `TPM_RC_COMMAND_CODE` to everything: compare like with like).
    pub rc: u32,
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
    let mix = commands::mix();
    let mut client = Client::connect(target)?;
    let startup_rc = if startup {
        let rsp = client.transact(&commands::startup_clear())?;
        Some(crate::wire::response_code(rsp).ok_or_else(|| malformed("Startup"))?)
    } else {
        None
    };
    let mut samples = vec![Vec::with_capacity(iterations); mix.len()];
    let mut rcs = vec![0u32; mix.len()];
    for round in 0..warmup + iterations {
        for (i, c) in mix.iter().enumerate() {
            let t0 = Instant::now();
            let rsp = client.transact(&c.bytes)?;
            let dt = t0.elapsed();
            rcs[i] = crate::wire::response_code(rsp).ok_or_else(|| malformed(c.name))?;
            if round >= warmup {
                samples[i].push(dt.as_secs_f64() * 1e6);
            }
        }
    }
    client.close()?;
    let commands = mix
        .iter()
        .zip(samples.iter_mut())
        .zip(rcs)
        .map(|((c, s), rc)| {
            s.sort_by(f64::total_cmp);
            CommandStats {
                name: c.name,
                median_us: median(s),
                p99_us: percentile(s, 0.99),
                rc,
            }
        })
        .collect();
    Ok(Report {
        target: target.to_string(),
        iterations,
        startup_rc,
        commands,
    })
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
            "  {:<14} {:>10} {:>10}  rc",
            "command", "median µs", "p99 µs"
        );
        for c in &self.commands {
            let _ = writeln!(
                s,
                "  {:<14} {:>10.1} {:>10.1}  {:#x}",
                c.name, c.median_us, c.p99_us, c.rc
            );
        }
        s
    }

    /// One JSON line: `{"target":…,"iterations":…,"commands":{"GetRandom":{"median_us":…,"p99_us":…,"rc":…},…}}`.
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
                "{sep}{}:{{\"median_us\":{:.2},\"p99_us\":{:.2},\"rc\":{}}}",
                json_str(c.name),
                c.median_us,
                c.p99_us,
                c.rc
            );
        }
        s.push_str("}}");
        s
    }
}

fn json_str(s: &str) -> String {
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
            }],
        };
        assert_eq!(
            r.json("swtpm \"a\""),
            r#"{"target":"swtpm \"a\"","iterations":3,"commands":{"GetRandom":{"median_us":1.00,"p99_us":2.50,"rc":323}}}"#
        );
    }
}
