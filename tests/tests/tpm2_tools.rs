//! tpm2-tools 5.4 against each endpoint: every command the Linux and Keylime stacks lean on for
//! PCRs, hashing, randomness, self-test and the clock, with values checked independently (the
//! test computes the expected digests itself).

use evtpm_tests::tpm2_fails as fails;
use evtpm_tests::{each_endpoint, hexs, show, tpm2, tpm2_with_stdin, Endpoint, Server, TempDir};
use sha2::Digest;
use std::collections::BTreeMap;
use std::time::Duration;

/// The PCR banks evtpm allocates by default; the reference (libtpms) also has SHA-512.
const BANKS: [&str; 3] = ["sha1", "sha256", "sha384"];

fn digest(bank: &str, data: &[u8]) -> Vec<u8> {
    match bank {
        "sha1" => sha1::Sha1::digest(data).to_vec(),
        "sha256" => sha2::Sha256::digest(data).to_vec(),
        "sha384" => sha2::Sha384::digest(data).to_vec(),
        "sha512" => sha2::Sha512::digest(data).to_vec(),
        _ => panic!("unknown bank {bank}"),
    }
}

/// PCR_new = H(PCR_old || d), TPM 2.0 Part 1, 17.2.
fn extended(bank: &str, old: &[u8], d: &[u8]) -> Vec<u8> {
    digest(bank, &[old, d].concat())
}

/// Runs a tpm2 subcommand, asserting success; returns stdout.
#[track_caller]
fn ok(server: &Server, args: &[&str]) -> String {
    let o = tpm2(server, args);
    assert!(
        o.status.success(),
        "{}: tpm2 {args:?} failed: {}",
        server.endpoint(),
        show(&o)
    );
    String::from_utf8(o.stdout).expect("utf-8 output")
}

/// A fresh server after `tpm2_startup -c`.
fn started(ep: Endpoint) -> Server {
    let s = Server::start(ep);
    ok(&s, &["startup", "-c"]);
    s
}

/// Parses `tpm2_pcrread` output (`  sha256:` then `    16: 0x…`) into (bank, pcr) → value.
fn parse_pcrread(out: &str) -> BTreeMap<(String, u32), Vec<u8>> {
    let mut map = BTreeMap::new();
    let mut bank = String::new();
    for line in out.lines() {
        let t = line.trim();
        if let Some(b) = t.strip_suffix(':') {
            bank = b.to_string();
        } else if let Some((idx, val)) = t.split_once(':') {
            let idx: u32 = idx
                .trim()
                .parse()
                .unwrap_or_else(|_| panic!("line {line:?}"));
            let val = val.trim().trim_start_matches("0x");
            map.insert(
                (bank.clone(), idx),
                hex::decode(val).unwrap_or_else(|_| panic!("line {line:?}")),
            );
        }
    }
    map
}

#[track_caller]
fn read_pcr(s: &Server, bank: &str, pcr: u32) -> Vec<u8> {
    let out = ok(s, &["pcrread", &format!("{bank}:{pcr}")]);
    parse_pcrread(&out)
        .remove(&(bank.to_string(), pcr))
        .unwrap_or_else(|| panic!("{}: no {bank}:{pcr} in {out}", s.endpoint()))
}

/// Parses `name: value` lines of simple YAML output into a map (last one wins).
fn yaml_scalars(out: &str) -> BTreeMap<String, String> {
    out.lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

#[test]
fn startup_clear_then_pcrread_works() {
    each_endpoint(|ep| {
        let s = Server::start(ep);
        // Before TPM2_Startup every command but Startup fails with TPM_RC_INITIALIZE.
        let err = fails(&s, &["pcrread", "sha256:0"]);
        assert!(
            err.contains("0x100"),
            "{ep}: expected TPM_RC_INITIALIZE: {err}"
        );
        ok(&s, &["startup", "-c"]);
        read_pcr(&s, "sha256", 0);
    });
}

#[test]
fn getcap_every_capability_parses_and_reports_key_facts() {
    let names = [
        "algorithms",
        "commands",
        "pcrs",
        "properties-fixed",
        "properties-variable",
        "ecc-curves",
        "handles-transient",
        "handles-persistent",
        "handles-permanent",
        "handles-pcr",
        "handles-nv-index",
        "handles-loaded-session",
        "handles-saved-session",
    ];
    each_endpoint(|ep| {
        let s = started(ep);
        let listed = ok(&s, &["getcap", "-l"]);
        for n in names {
            assert!(listed.contains(n), "tpm2_getcap -l lacks {n}: {listed}");
        }
        let out: BTreeMap<&str, String> =
            names.iter().map(|n| (*n, ok(&s, &["getcap", n]))).collect();
        for (n, o) in &out {
            for line in o.lines() {
                // Every line is a YAML mapping entry or list item.
                let t = line.trim();
                assert!(
                    t.is_empty() || t.starts_with("- ") || t.contains(':'),
                    "{ep}: getcap {n}: unparsable line {line:?}"
                );
            }
        }

        let algs = yaml_scalars(&out["algorithms"]);
        let alg_names: Vec<&str> = out["algorithms"]
            .lines()
            .filter(|l| !l.starts_with(' ') && l.ends_with(':'))
            .map(|l| l.trim_end_matches(':'))
            .collect();
        for a in [
            "rsa",
            "sha1",
            "hmac",
            "aes",
            "keyedhash",
            "sha256",
            "sha384",
            "ecc",
            "cfb",
        ] {
            assert!(
                alg_names.contains(&a),
                "{ep}: algorithms lack {a}: {alg_names:?}"
            );
        }
        assert!(algs.contains_key("value"));

        let cmds = &out["commands"];
        for c in [
            "TPM2_CC_Startup",
            "TPM2_CC_Shutdown",
            "TPM2_CC_SelfTest",
            "TPM2_CC_IncrementalSelfTest",
            "TPM2_CC_GetTestResult",
            "TPM2_CC_GetCapability",
            "TPM2_CC_GetRandom",
            "TPM2_CC_StirRandom",
            "TPM2_CC_PCR_Read",
            "TPM2_CC_PCR_Extend",
            "TPM2_CC_PCR_Event",
            "TPM2_CC_PCR_Reset",
            "TPM2_CC_PCR_Allocate",
            "TPM2_CC_Hash",
            "TPM2_CC_HashSequenceStart",
            "TPM2_CC_SequenceUpdate",
            "TPM2_CC_SequenceComplete",
            "TPM2_CC_EventSequenceComplete",
            "TPM2_CC_ReadClock",
            "TPM2_CC_TestParms",
        ] {
            assert!(cmds.contains(&format!("{c}:\n")), "{ep}: commands lack {c}");
        }

        let pcrs = &out["pcrs"];
        let all24 = (0..24)
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        for b in BANKS {
            let want = format!("- {b}: [ {all24} ]");
            assert!(pcrs.contains(&want), "{ep}: pcrs lack {want:?}: {pcrs}");
        }

        // properties-fixed prints `TPM2_PT_X:` then `  raw: 0x…` (and sometimes `value:`).
        let mut fixed = BTreeMap::new();
        let mut cur = String::new();
        for line in out["properties-fixed"].lines() {
            if !line.starts_with(' ') {
                cur = line.trim_end_matches(':').to_string();
            } else if let Some(v) = line.trim().strip_prefix("raw: ") {
                let v = u32::from_str_radix(v.trim_start_matches("0x"), 16)
                    .unwrap_or_else(|_| panic!("{ep}: raw value {line:?}"));
                fixed.insert(cur.clone(), v);
            }
        }
        for (prop, want) in [
            ("TPM2_PT_FAMILY_INDICATOR", 0x322E_3000),
            ("TPM2_PT_PCR_COUNT", 24),
            ("TPM2_PT_PCR_SELECT_MIN", 3),
            ("TPM2_PT_MAX_COMMAND_SIZE", 0x1000),
            ("TPM2_PT_MAX_RESPONSE_SIZE", 0x1000),
            ("TPM2_PT_INPUT_BUFFER", 0x400),
            ("TPM2_PT_NV_BUFFER_MAX", 0x400),
        ] {
            assert_eq!(fixed.get(prop), Some(&want), "{ep}: {prop} in {fixed:?}");
        }
        assert!(fixed.get("TPM2_PT_MAX_DIGEST").is_some_and(|&d| d >= 48));

        let var = &out["properties-variable"];
        for p in [
            "TPM2_PT_PERMANENT:",
            "TPM2_PT_STARTUP_CLEAR:",
            "TPM2_PT_HR_LOADED_AVAIL:",
        ] {
            assert!(var.contains(p), "{ep}: properties-variable lacks {p}");
        }
        let startup_clear: String = var
            .split("TPM2_PT_STARTUP_CLEAR:")
            .nth(1)
            .unwrap_or_default()
            .lines()
            .take(7)
            .collect::<Vec<_>>()
            .join("\n");
        for flag in ["phEnable", "shEnable", "ehEnable", "phEnableNV"] {
            let v = yaml_scalars(&startup_clear);
            assert_eq!(v.get(flag).map(String::as_str), Some("1"), "{ep}: {flag}");
        }

        for c in ["TPM2_ECC_NIST_P256: 0x3", "TPM2_ECC_NIST_P384: 0x4"] {
            assert!(out["ecc-curves"].contains(c), "{ep}: ecc-curves lack {c}");
        }

        let pcr_handles: Vec<&str> = out["handles-pcr"].lines().collect();
        let want: Vec<String> = (0..24)
            .map(|i| format!("- {i:#X}").replace("0X", "0x"))
            .collect();
        assert_eq!(pcr_handles, want, "{ep}: handles-pcr");

        for h in [
            "0x40000001",
            "0x40000007",
            "0x40000009",
            "0x4000000B",
            "0x4000000C",
        ] {
            assert!(
                out["handles-permanent"]
                    .lines()
                    .any(|l| l == format!("- {h}")),
                "{ep}: handles-permanent lacks {h}"
            );
        }
        for n in [
            "handles-transient",
            "handles-loaded-session",
            "handles-saved-session",
        ] {
            assert!(
                out[n].trim().is_empty(),
                "{ep}: fresh TPM has {n}: {}",
                out[n]
            );
        }
    });
}

#[test]
fn pcrread_after_startup_gives_pc_client_initial_values() {
    each_endpoint(|ep| {
        let s = started(ep);
        let sel = BANKS.map(|b| format!("{b}:all")).join("+");
        let map = parse_pcrread(&ok(&s, &["pcrread", &sel]));
        for b in BANKS {
            let n = digest(b, b"").len();
            for i in 0..24 {
                let v = &map[&(b.to_string(), i)];
                // PC Client PTP: PCRs 17–22 (locality 3/4 DRTM PCRs) start at all ones, the rest
                // at zero.
                let fill = if (17..=22).contains(&i) { 0xff } else { 0 };
                assert_eq!(v, &vec![fill; n], "{ep}: {b}:{i}");
            }
        }
    });
}

#[test]
fn pcrextend_each_bank_matches_computed_value() {
    each_endpoint(|ep| {
        let s = started(ep);
        for b in BANKS {
            for round in 0..2u8 {
                let old = read_pcr(&s, b, 16);
                let d = digest(b, &[b'x', round]);
                ok(&s, &["pcrextend", &format!("16:{b}={}", hexs(&d))]);
                assert_eq!(
                    read_pcr(&s, b, 16),
                    extended(b, &old, &d),
                    "{ep}: {b} round {round}"
                );
            }
        }
        // All three banks in one command.
        let olds: Vec<Vec<u8>> = BANKS.iter().map(|b| read_pcr(&s, b, 23)).collect();
        let ds: Vec<Vec<u8>> = BANKS.iter().map(|b| digest(b, b"multi")).collect();
        let arg = BANKS
            .iter()
            .zip(&ds)
            .map(|(b, d)| format!("{b}={}", hexs(d)))
            .collect::<Vec<_>>()
            .join(",");
        ok(&s, &["pcrextend", &format!("23:{arg}")]);
        for (i, b) in BANKS.iter().enumerate() {
            assert_eq!(
                read_pcr(&s, b, 23),
                extended(b, &olds[i], &ds[i]),
                "{ep}: {b}:23"
            );
        }
    });
}

/// Parses `tpm2_pcrevent` output (`sha256: <hex>` per bank).
fn parse_event_digests(out: &str) -> BTreeMap<String, Vec<u8>> {
    yaml_scalars(out)
        .into_iter()
        .map(|(k, v)| (k, hex::decode(v).expect("hex digest")))
        .collect()
}

fn check_pcrevent(s: &Server, data: &[u8]) {
    let ep = s.endpoint();
    let dir = TempDir::new("pcrevent");
    let f = dir.file("event.bin", data);
    let olds: Vec<Vec<u8>> = BANKS.iter().map(|b| read_pcr(s, b, 16)).collect();
    let out = ok(s, &["pcrevent", "16", f.to_str().expect("utf-8 path")]);
    let got = parse_event_digests(&out);
    for (i, b) in BANKS.iter().enumerate() {
        let d = digest(b, data);
        assert_eq!(
            got.get(*b),
            Some(&d),
            "{ep}: pcrevent {b} digest of {} bytes",
            data.len()
        );
        assert_eq!(
            read_pcr(s, b, 16),
            extended(b, &olds[i], &d),
            "{ep}: {b}:16 after pcrevent"
        );
    }
}

#[test]
fn pcrevent_small_file_uses_pcr_event() {
    each_endpoint(|ep| {
        let s = started(ep);
        check_pcrevent(&s, b"evtpm measured event\n");
        check_pcrevent(&s, b"");
    });
}

/// tpm2-tools hashes files larger than 1024 bytes with HashSequenceStart, SequenceUpdate and
/// EventSequenceComplete.
#[test]
fn pcrevent_large_file_uses_event_sequence() {
    each_endpoint(|ep| {
        let s = started(ep);
        let data: Vec<u8> = (0..5000u32).map(|i| (i * 7 + i / 251) as u8).collect();
        check_pcrevent(&s, &data);
        check_pcrevent(&s, &data[..1025]);
    });
}

#[test]
fn pcrreset_16_zeroes_and_pcr_0_is_refused_at_locality_0() {
    each_endpoint(|ep| {
        let s = started(ep);
        for b in BANKS {
            ok(
                &s,
                &["pcrextend", &format!("16:{b}={}", hexs(&digest(b, b"r")))],
            );
            assert_ne!(read_pcr(&s, b, 16), vec![0; digest(b, b"").len()]);
        }
        ok(&s, &["pcrreset", "16"]);
        for b in BANKS {
            assert_eq!(
                read_pcr(&s, b, 16),
                vec![0; digest(b, b"").len()],
                "{ep}: {b}:16"
            );
        }
        let err = fails(&s, &["pcrreset", "0"]);
        assert!(
            err.contains("0x907"),
            "{ep}: expected TPM_RC_LOCALITY (0x907): {err}"
        );
    });
}

fn check_hash(s: &Server, data: &[u8]) {
    let ep = s.endpoint();
    let dir = TempDir::new("hash");
    let f = dir.file("in.bin", data);
    for b in BANKS {
        let out = dir.path().join(format!("{b}.digest"));
        let ticket = dir.path().join(format!("{b}.ticket"));
        ok(
            s,
            &[
                "hash",
                "-g",
                b,
                "-o",
                out.to_str().expect("utf-8"),
                "-t",
                ticket.to_str().expect("utf-8"),
                f.to_str().expect("utf-8"),
            ],
        );
        let got = std::fs::read(&out).expect("digest file");
        assert_eq!(
            hexs(&got),
            hexs(&digest(b, data)),
            "{ep}: {b} of {} bytes",
            data.len()
        );
        // TPMT_TK_HASHCHECK: tag TPM_ST_HASHCHECK (0x8024), hierarchy owner (the tool's
        // default), then a TPM2B HMAC whose size is implementation-specific.
        let t = std::fs::read(&ticket).expect("ticket file");
        assert!(t.len() >= 8, "{ep}: ticket {}", hexs(&t));
        assert_eq!(
            &t[..6],
            &[0x80, 0x24, 0x40, 0, 0, 1],
            "{ep}: ticket {}",
            hexs(&t)
        );
        let n = u16::from_be_bytes([t[6], t[7]]) as usize;
        assert_eq!(t.len(), 8 + n, "{ep}: ticket {}", hexs(&t));
        assert!(
            n > 0,
            "{ep}: data not starting with TPM_GENERATED gets a real ticket"
        );
    }
}

#[test]
fn hash_small_file_matches_each_algorithm() {
    each_endpoint(|ep| {
        let s = started(ep);
        check_hash(&s, b"abc");
        check_hash(&s, &[0x5a; 1024]);
    });
}

/// Files over 1024 bytes go through HashSequenceStart / SequenceUpdate / SequenceComplete.
#[test]
fn hash_large_file_uses_hash_sequence() {
    each_endpoint(|ep| {
        let s = started(ep);
        let data: Vec<u8> = (0..4000u32).map(|i| (i % 253) as u8).collect();
        check_hash(&s, &data);
        check_hash(&s, &data[..1025]);
    });
}

#[test]
fn getrandom_gives_requested_bytes_that_differ() {
    each_endpoint(|ep| {
        let s = started(ep);
        let dir = TempDir::new("rand");
        let mut seen = Vec::new();
        for i in 0..2 {
            let f = dir.path().join(format!("r{i}"));
            ok(&s, &["getrandom", "32", "-o", f.to_str().expect("utf-8")]);
            let r = std::fs::read(&f).expect("random file");
            assert_eq!(r.len(), 32, "{ep}");
            seen.push(r);
        }
        assert_ne!(
            seen[0], seen[1],
            "{ep}: two GetRandom calls gave the same bytes"
        );
        let h = ok(&s, &["getrandom", "--hex", "16"]);
        assert_eq!(hex::decode(h.trim()).expect("hex").len(), 16, "{ep}");
    });
}

#[test]
fn selftest_and_gettestresult_succeed() {
    each_endpoint(|ep| {
        let s = started(ep);
        ok(&s, &["selftest"]);
        ok(&s, &["selftest", "-f"]);
        let out = ok(&s, &["gettestresult"]);
        assert_eq!(
            yaml_scalars(&out).get("status").map(String::as_str),
            Some("success"),
            "{ep}: {out}"
        );
    });
}

#[test]
fn readclock_advances_and_is_safe() {
    each_endpoint(|ep| {
        let s = started(ep);
        let read = || {
            let out = ok(&s, &["readclock"]);
            let v = yaml_scalars(&out);
            let num = |k: &str| -> u64 {
                v.get(k)
                    .and_then(|x| x.parse().ok())
                    .unwrap_or_else(|| panic!("{ep}: readclock lacks {k}: {out}"))
            };
            assert_eq!(
                v.get("safe").map(String::as_str),
                Some("yes"),
                "{ep}: {out}"
            );
            (
                num("time"),
                num("clock"),
                num("reset_count"),
                num("restart_count"),
            )
        };
        let a = read();
        std::thread::sleep(Duration::from_millis(60));
        let b = read();
        assert!(b.1 > a.1, "{ep}: clock did not advance: {a:?} then {b:?}");
        assert!(b.0 >= a.0, "{ep}: time went back: {a:?} then {b:?}");
        assert_eq!((a.2, a.3), (b.2, b.3), "{ep}: reset/restart counts changed");
    });
}

#[test]
fn stirrandom_accepts_stdin_data() {
    each_endpoint(|ep| {
        let s = started(ep);
        let o = tpm2_with_stdin(&s, &["stirrandom"], b"some additional entropy input");
        assert!(o.status.success(), "{ep}: {}", show(&o));
        let dir = TempDir::new("stir");
        let f = dir.file("seed", &[7u8; 128]);
        ok(&s, &["stirrandom", f.to_str().expect("utf-8")]);
        ok(&s, &["getrandom", "8", "--hex"]);
    });
}

#[test]
fn testparms_supported_and_unsupported() {
    each_endpoint(|ep| {
        let s = started(ep);
        for a in [
            "rsa2048",
            "ecc256",
            "ecc384",
            "aes128cfb",
            "aes256cfb",
            "hmac",
            "keyedhash",
        ] {
            ok(&s, &["testparms", a]);
        }
        // SM4 is not implemented by libtpms 0.9 nor evtpm: the TPM answers TPM_RC_SYMMETRIC + P1.
        let err = fails(&s, &["testparms", "sm4"]);
        assert!(
            err.contains("0x000001d6") || err.contains("0x1d6"),
            "{ep}: {err}"
        );
        // evtpm implements RSA-2048, ECC P-256/P-384 and AES (ARCHITECTURE.md); libtpms also has
        // Camellia and P-521, so these failures are asserted for evtpm only.
        if ep.is_evtpm() {
            for a in ["camellia256", "ecc521"] {
                fails(&s, &["testparms", a]);
            }
        }
    });
}
