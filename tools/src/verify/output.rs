//! Rendering an [`Outcome`]: verdict lines, or one JSON object.

use super::{Outcome, Status};
use alloc::string::String;
use core::fmt::Write;

pub fn text(o: &Outcome) -> String {
    let mut s = String::new();
    if let Some(r) = &o.summary {
        let product = r.product.map_or("unknown product", |p| p.name());
        let _ = writeln!(
            s,
            "INFO report: {}: version {}, {product}, signed by {}, VMPL {}, POLICY {:#x}",
            r.source, r.version, r.signing_key, r.vmpl, r.policy
        );
        let _ = writeln!(s, "INFO measurement: {}", r.measurement);
        let _ = writeln!(s, "INFO report_data: {}", r.report_data);
        let _ = writeln!(
            s,
            "INFO tcb: reported {}, current {}",
            r.reported_tcb, r.current_tcb
        );
        if let Some((f, m, st)) = r.cpuid {
            let _ = writeln!(
                s,
                "INFO cpuid: family {f:#04x}, model {m:#04x}, stepping {st:#04x}"
            );
        }
        if let Some((launch, current)) = r.mit_vectors {
            let _ = writeln!(
                s,
                "INFO mitigation vectors: launch {launch:#x}, current {current:#x}"
            );
        }
    }
    for c in &o.checks {
        let _ = writeln!(s, "{} {}: {}", c.status.word(), c.name, c.detail);
    }
    let failed = o.failed();
    if failed.is_empty() {
        let _ = writeln!(s, "OK: every requested check passed");
    } else {
        let _ = writeln!(s, "REJECTED: failed {}", failed.join(", "));
    }
    s
}

fn json_str(s: &mut String, v: &str) {
    s.push('"');
    for ch in v.chars() {
        match ch {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            '\n' => s.push_str("\\n"),
            c if (c as u32) < 0x20 => {
                let _ = write!(s, "\\u{:04x}", c as u32);
            }
            c => s.push(c),
        }
    }
    s.push('"');
}

pub fn json(o: &Outcome) -> String {
    let mut s = String::from("{\"ok\":");
    s.push_str(if o.ok() { "true" } else { "false" });
    s.push_str(",\"report\":");
    match &o.summary {
        None => s.push_str("null"),
        Some(r) => {
            s.push('{');
            let fields: [(&str, String); 10] = [
                ("source", r.source.clone()),
                ("product", r.product.map_or("", |p| p.name()).into()),
                ("signing_key", r.signing_key.clone()),
                ("measurement", r.measurement.clone()),
                ("report_data", r.report_data.clone()),
                ("host_data", r.host_data.clone()),
                ("chip_id", r.chip_id.clone()),
                ("reported_tcb", r.reported_tcb.clone()),
                ("current_tcb", r.current_tcb.clone()),
                ("policy", alloc::format!("{:#x}", r.policy)),
            ];
            let _ = write!(s, "\"version\":{},\"vmpl\":{}", r.version, r.vmpl);
            for (k, v) in &fields {
                s.push(',');
                json_str(&mut s, k);
                s.push(':');
                json_str(&mut s, v);
            }
            s.push('}');
        }
    }
    s.push_str(",\"checks\":[");
    for (i, c) in o.checks.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str("{\"name\":");
        json_str(&mut s, c.name);
        s.push_str(",\"status\":");
        json_str(
            &mut s,
            match c.status {
                Status::Pass => "pass",
                Status::Fail => "fail",
                Status::Skip => "skip",
            },
        );
        s.push_str(",\"detail\":");
        json_str(&mut s, &c.detail);
        s.push('}');
    }
    s.push_str("]}");
    s
}
