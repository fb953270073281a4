//! `evtpm verify` against the twelve real SNP vectors in `tools/testdata/snp/`: each passes
//! with its own certificates, and each single-field tamper fails the check that names it.

use evtpm::verify::{self, report::offset, Evidence, Policy};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Within every vector's certificate validity (the VLEK expired 2025-12-10).
const AT: &str = "2025-12-01T00:00:00Z";

struct Vector {
    name: &'static str,
    vmpl: u32,
    vlek: bool,
    /// `milan-v2-go-sev-guest` was launched with POLICY.DEBUG set: only `policy` may fail.
    debug: bool,
}

const VECTORS: [Vector; 12] = [
    v("genoa-v3-azure-trustee"),
    v("genoa-v3-routex"),
    v("genoa-v5-oak"),
    v("genoa-v5-routex"),
    v("milan-v2-azure-trustee"),
    Vector {
        debug: true,
        ..v("milan-v2-go-sev-guest")
    },
    v("milan-v2-trustee"),
    v("milan-v2-virtee-sev"),
    v("milan-v3-azure-trustee"),
    v("milan-v3-oak"),
    Vector {
        vmpl: 1,
        vlek: true,
        ..v("milan-v3-vlek-trustee")
    },
    v("turin-v5-oak"),
];

const fn v(name: &'static str) -> Vector {
    Vector {
        name,
        vmpl: 0,
        vlek: false,
        debug: false,
    }
}

fn dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/snp")
        .join(name)
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn pem_der(path: &Path) -> Vec<u8> {
    verify::x509::certs_from_file(&read(path))
        .unwrap()
        .remove(0)
}

impl Vector {
    fn report(&self) -> Vec<u8> {
        read(&dir(self.name).join("report.bin"))
    }
    fn leaf_path(&self) -> PathBuf {
        dir(self.name).join(if self.vlek { "vlek.der" } else { "vcek.der" })
    }
    fn inter_path(&self) -> PathBuf {
        dir(self.name).join(if self.vlek { "asvk.pem" } else { "ask.pem" })
    }
    fn measurement(&self) -> String {
        verify::hex::encode(&self.report()[offset::MEASUREMENT..offset::MEASUREMENT + 48])
    }
    fn evidence(&self, report: Vec<u8>) -> Evidence {
        Evidence {
            report: Some((report, self.name.into())),
            vcek: Some(read(&self.leaf_path())),
            ask: Some(pem_der(&self.inter_path())),
            ark: Some(pem_der(&dir(self.name).join("ark.pem"))),
            ..Evidence::default()
        }
    }
    fn policy(&self) -> Policy {
        let r = self.report();
        let m: [u8; 48] = r[offset::MEASUREMENT..offset::MEASUREMENT + 48]
            .try_into()
            .unwrap();
        Policy {
            measurements: Some(vec![m]),
            expect_vmpl: self.vmpl,
            at: verify::time::parse_rfc3339(AT).unwrap(),
            ..Policy::default()
        }
    }
    /// The checks that fail on the untouched report.
    fn baseline_failures(&self) -> Vec<&'static str> {
        if self.debug {
            vec!["policy"]
        } else {
            vec![]
        }
    }
}

fn evtpm(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_evtpm"))
        .arg("verify")
        .args(args)
        .output()
        .expect("run evtpm");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

fn assert_verdicts(v: &Vector, code: i32, out: &str) {
    let fails: Vec<&str> = out
        .lines()
        .filter_map(|l| l.strip_prefix("FAIL "))
        .filter_map(|l| l.split(':').next())
        .collect();
    assert_eq!(fails, v.baseline_failures(), "{}:\n{out}", v.name);
    assert_eq!(code, if v.debug { 1 } else { 0 }, "{}:\n{out}", v.name);
    for check in ["chain", "signature", "vcek", "vmpl", "measurement"] {
        assert!(
            out.contains(&format!("PASS {check}:")),
            "{}: {check}\n{out}",
            v.name
        );
    }
}

#[test]
fn every_vector_passes_with_explicit_certificates() {
    for v in &VECTORS {
        let (leaf, inter, ark) = (v.leaf_path(), v.inter_path(), dir(v.name).join("ark.pem"));
        let report = dir(v.name).join("report.bin");
        let vmpl = v.vmpl.to_string();
        let m = v.measurement();
        let (code, out) = evtpm(&[
            "--report",
            report.to_str().unwrap(),
            "--vcek",
            leaf.to_str().unwrap(),
            "--ask",
            inter.to_str().unwrap(),
            "--ark",
            ark.to_str().unwrap(),
            "--at",
            AT,
            "--expect-vmpl",
            &vmpl,
            "--measurement",
            &m,
        ]);
        assert_verdicts(v, code, &out);
        if v.debug {
            assert!(out.contains("FAIL policy: debug allowed (bit 19)"), "{out}");
        }
    }
}

#[test]
fn every_vector_passes_with_a_certificate_directory() {
    for v in &VECTORS {
        let d = dir(v.name);
        let report = d.join("report.bin");
        let vmpl = v.vmpl.to_string();
        let m = v.measurement();
        let (code, out) = evtpm(&[
            "--report",
            report.to_str().unwrap(),
            "--certs",
            d.to_str().unwrap(),
            "--at",
            AT,
            "--expect-vmpl",
            &vmpl,
            "--measurement",
            &m,
            "--min-tcb",
            "bl=0",
        ]);
        assert_verdicts(v, code, &out);
        let product = v.name.split('-').next().unwrap();
        let chain = out.lines().find(|l| l.starts_with("PASS chain:")).unwrap();
        assert!(
            chain.to_lowercase().contains(product),
            "{}: {chain}",
            v.name
        );
        let want = if v.vlek {
            "VLEK -> ASVK -> ARK"
        } else {
            "VCEK -> ASK -> ARK"
        };
        assert!(chain.contains(want), "{chain}");
        assert_eq!(
            out.contains("INFO mitigation vectors:"),
            v.name.contains("-v5-"),
            "{out}"
        );
        if v.name == "genoa-v5-routex" {
            assert!(
                out.contains("INFO mitigation vectors: launch 0xb, current 0xb"),
                "{out}"
            );
        }
    }
}

#[test]
fn the_leaf_alone_is_enough_with_the_built_in_roots() {
    for v in &VECTORS {
        let mut e = v.evidence(v.report());
        e.ask = None;
        e.ark = None;
        let o = verify::run(&e, &v.policy());
        assert_eq!(
            o.failed(),
            v.baseline_failures(),
            "{}\n{}",
            v.name,
            o.text()
        );
    }
}

/// Runs the library on `report` and returns the failed checks.
fn failures(
    v: &Vector,
    report: Vec<u8>,
    tweak: impl FnOnce(&mut Evidence, &mut Policy),
) -> Vec<&'static str> {
    let mut e = v.evidence(report);
    let mut p = v.policy();
    tweak(&mut e, &mut p);
    let o = verify::run(&e, &p);
    let mut f = o.failed();
    f.retain(|c| !v.baseline_failures().contains(c));
    f
}

fn flipped(report: &[u8], at: usize, mask: u8) -> Vec<u8> {
    let mut r = report.to_vec();
    r[at] ^= mask;
    r
}

#[test]
fn every_single_field_tamper_fails_the_check_that_names_it() {
    for v in &VECTORS {
        let r = v.report();
        let cases: [(&str, usize, u8, &[&str]); 7] = [
            (
                "MEASUREMENT",
                offset::MEASUREMENT + 5,
                0x01,
                &["signature", "measurement"],
            ),
            (
                "REPORT_DATA",
                offset::REPORT_DATA + 63,
                0x80,
                &["signature"],
            ),
            ("VMPL", offset::VMPL, 0x02, &["signature", "vmpl"]),
            (
                "POLICY debug",
                offset::POLICY + 2,
                0x08,
                &["signature", "policy"],
            ),
            (
                "REPORTED_TCB",
                offset::REPORTED_TCB + 7,
                0x01,
                &["signature", "vcek"],
            ),
            (
                "signature R",
                offset::SIGNATURE_R + 10,
                0x01,
                &["signature"],
            ),
            ("signature S", offset::SIGNATURE_S, 0x01, &["signature"]),
        ];
        for (field, at, mask, want) in cases {
            let mut want: Vec<&str> = want.to_vec();
            if v.debug && field == "POLICY debug" {
                want.retain(|c| *c != "policy"); // flipping the bit turns debug off
            }
            assert_eq!(
                failures(v, flipped(&r, at, mask), |_, _| {}),
                want,
                "{} {field}",
                v.name
            );
        }
        // CHIP_ID is bound by the VCEK's hwID; a VLEK's report has a zero CHIP_ID.
        let chip = failures(v, flipped(&r, offset::CHIP_ID + 3, 0x10), |_, _| {});
        let want: &[&str] = if v.vlek {
            &["signature"]
        } else {
            &["signature", "vcek"]
        };
        assert_eq!(chip, want, "{} CHIP_ID", v.name);
    }
}

#[test]
fn a_vcek_of_another_chip_fails_signature_and_hwid() {
    let milan = &VECTORS[6]; // milan-v2-trustee
    let other = read(&dir("milan-v2-virtee-sev").join("vcek.der"));
    let f = failures(milan, milan.report(), |e, _| e.vcek = Some(other));
    assert_eq!(f, ["signature", "vcek"]);
    let turin = &VECTORS[11];
    let genoa = read(&dir("genoa-v5-oak").join("vcek.der"));
    let f = failures(turin, turin.report(), |e, _| {
        e.vcek = Some(genoa);
        e.ask = None;
        e.ark = None;
    });
    assert_eq!(f, ["signature", "vcek"], "Genoa VCEK on a Turin report");
}

#[test]
fn an_ask_of_another_product_fails_the_chain() {
    for v in &VECTORS {
        let product = v.name.split('-').next().unwrap();
        let other = if product == "genoa" { "milan" } else { "genoa" };
        let ask = verify::chain::built_in(match other {
            "milan" => verify::Product::Milan,
            _ => verify::Product::Genoa,
        });
        let f = failures(v, v.report(), |e, _| e.ask = Some(ask.1));
        assert_eq!(f, ["chain"], "{}", v.name);
    }
    // On the command line, naming the check.
    let v = &VECTORS[6];
    let d = dir(v.name);
    let genoa_ask = dir("genoa-v3-routex").join("ask.pem");
    let (code, out) = evtpm(&[
        "--report",
        d.join("report.bin").to_str().unwrap(),
        "--vcek",
        d.join("vcek.der").to_str().unwrap(),
        "--ask",
        genoa_ask.to_str().unwrap(),
        "--at",
        AT,
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("FAIL chain: VCEK is issued by CN=SEV-Milan, not by the given CN=SEV-Genoa"),
        "{out}"
    );
}

#[test]
fn an_ark_that_is_not_a_built_in_root_is_refused() {
    let v = &VECTORS[6];
    let fake = verify::test_root::ASK_DER.to_vec();
    let f = failures(v, v.report(), |e, _| e.ark = Some(fake));
    assert_eq!(f, ["chain"]);
    let genoa_ark = verify::chain::built_in(verify::Product::Genoa).0;
    let f = failures(v, v.report(), |e, _| e.ark = Some(genoa_ark));
    assert_eq!(f, ["chain"]);
}

#[test]
fn expired_and_not_yet_valid_certificates_fail_the_chain() {
    let at = |s: &str| verify::time::parse_rfc3339(s).unwrap();
    for v in &VECTORS {
        let f = failures(v, v.report(), |_, p| p.at = at("2033-01-01T00:00:00Z"));
        assert_eq!(f, ["chain"], "{} after expiry", v.name);
        let f = failures(v, v.report(), |_, p| p.at = at("2019-01-01T00:00:00Z"));
        assert_eq!(f, ["chain"], "{} before issue", v.name);
    }
    let vlek = &VECTORS[10];
    let d = dir(vlek.name);
    let (code, out) = evtpm(&[
        "--report",
        d.join("report.bin").to_str().unwrap(),
        "--certs",
        d.to_str().unwrap(),
        "--expect-vmpl",
        "1",
        "--at",
        "2025-12-11T00:00:00Z",
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("FAIL chain: VLEK CN=SEV-VLEK: expired 2025-12-10T22:14:21Z"),
        "{out}"
    );
}

#[test]
fn measurement_vmpl_and_tcb_policies_are_enforced() {
    let v = &VECTORS[6];
    let f = failures(v, v.report(), |_, p| p.measurements = Some(vec![[0; 48]]));
    assert_eq!(f, ["measurement"]);
    let f = failures(v, v.report(), |_, p| p.expect_vmpl = 2);
    assert_eq!(f, ["vmpl"]);
    let f = failures(v, v.report(), |_, p| {
        p.min_tcb = Some(verify::MinTcb::parse("bl=3,tee=0,snp=8,ucode=115").unwrap())
    });
    assert!(f.is_empty());
    let f = failures(v, v.report(), |_, p| {
        p.min_tcb = Some(verify::MinTcb::parse("snp=9").unwrap())
    });
    assert_eq!(f, ["tcb"]);
    // The VCEK matches REPORTED_TCB, not CURRENT_TCB: milan-v2-trustee's CURRENT_TCB has
    // ucode 0xce but its REPORTED_TCB 0x73; the raw form is compared per component.
    let f = failures(v, v.report(), |_, p| {
        p.min_tcb = Some(verify::MinTcb::parse("03000000000008ce").unwrap())
    });
    assert_eq!(f, ["tcb"]);
    let turin = &VECTORS[11];
    let f = failures(turin, turin.report(), |_, p| {
        p.min_tcb = Some(verify::MinTcb::parse("fmc=1").unwrap())
    });
    assert_eq!(f, ["tcb"]);
}

#[test]
fn allow_list_files_take_comments_and_blank_lines() {
    let v = &VECTORS[0];
    let tmp = std::env::temp_dir().join(format!("evtpm-verify-allow-{}", std::process::id()));
    std::fs::write(
        &tmp,
        format!(
            "# allowed images\n\n{}  # other\n{}\n",
            "00".repeat(48),
            v.measurement()
        ),
    )
    .unwrap();
    let d = dir(v.name);
    let args = |allow: &Path| {
        evtpm(&[
            "--report",
            d.join("report.bin").to_str().unwrap(),
            "--certs",
            d.to_str().unwrap(),
            "--at",
            AT,
            "--allow",
            allow.to_str().unwrap(),
        ])
    };
    let (code, out) = args(&tmp);
    assert_eq!(code, 0, "{out}");
    std::fs::write(&tmp, "00".repeat(48)).unwrap();
    let (code, out) = args(&tmp);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("FAIL measurement:"), "{out}");
    std::fs::write(&tmp, "abc\n").unwrap();
    let (code, out) = args(&tmp);
    assert_eq!(code, 2, "{out}");
    let _ = std::fs::remove_file(&tmp);
}

#[test]
fn json_output_is_one_object_with_every_check() {
    let v = &VECTORS[11];
    let d = dir(v.name);
    let (code, out) = evtpm(&[
        "--report",
        d.join("report.bin").to_str().unwrap(),
        "--certs",
        d.to_str().unwrap(),
        "--at",
        AT,
        "--json",
    ]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(
        out.starts_with("{\"ok\":true,\"report\":{\"version\":5,"),
        "{out}"
    );
    for c in [
        "chain",
        "signature",
        "vcek",
        "vmpl",
        "policy",
        "tcb",
        "measurement",
        "binding",
    ] {
        assert!(
            out.contains(&format!("{{\"name\":\"{c}\",\"status\":")),
            "{c}: {out}"
        );
    }
    assert!(out.contains("\"product\":\"Turin\""), "{out}");
}

#[test]
fn hostile_reports_and_certificates_give_fail_lines_not_crashes() {
    let v = &VECTORS[6];
    let r = v.report();
    // Wrong sizes and versions.
    for bad in [vec![], r[..100].to_vec(), [r.clone(), vec![0]].concat()] {
        let o = verify::run(&v.evidence(bad), &v.policy());
        assert!(o.failed().contains(&"report"), "{}", o.text());
    }
    for version in [0u8, 1, 4, 6, 0xFF] {
        let mut b = r.clone();
        b[0] = version;
        let o = verify::run(&v.evidence(b), &v.policy());
        assert_eq!(o.failed()[0], "report");
    }
    // Bytes of the signed area and the signature, one position in 37 (0x330..0x4A0 is
    // reserved and unsigned: flipping it changes nothing).
    for at in (0..offset::RESERVED_330).step_by(37) {
        let o = verify::run(&v.evidence(flipped(&r, at, 0xFF)), &v.policy());
        assert!(!o.ok(), "flip at {at:#x} accepted");
    }
    // Truncated and corrupted certificates.
    let leaf = read(&v.leaf_path());
    for cut in (0..leaf.len()).step_by(29) {
        let mut e = v.evidence(r.clone());
        e.vcek = Some(leaf[..cut].to_vec());
        let o = verify::run(&e, &v.policy());
        assert!(o.failed().contains(&"chain"));
    }
    for at in (0..leaf.len()).step_by(13) {
        let mut e = v.evidence(r.clone());
        let mut bad = leaf.clone();
        bad[at] ^= 0x5A;
        e.vcek = Some(bad);
        let o = verify::run(&e, &v.policy());
        assert!(!o.ok(), "VCEK corrupted at {at} accepted");
    }
    let ask = pem_der(&v.inter_path());
    for at in (0..ask.len()).step_by(31) {
        let mut e = v.evidence(r.clone());
        let mut bad = ask.clone();
        bad[at] ^= 0xA5;
        e.ask = Some(bad);
        let o = verify::run(&e, &v.policy());
        assert!(
            o.failed().contains(&"chain"),
            "ASK corrupted at {at} accepted"
        );
    }
}

#[test]
fn usage_errors_exit_2() {
    let (code, out) = evtpm(&["--measurement", "00"]);
    assert_eq!(code, 2, "{out}");
    let (code, out) = evtpm(&["--report", "/nonexistent/report.bin"]);
    assert_eq!(code, 2, "{out}");
    let (code, out) = evtpm(&["--report", "x", "--at", "yesterday"]);
    assert_eq!(code, 2, "{out}");
    let (code, out) = evtpm(&["--report", "x", "--min-tcb", "bogus=1"]);
    assert_eq!(code, 2, "{out}");
}
