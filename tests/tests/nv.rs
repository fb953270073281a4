//! tpm2-tools 5.4 NV flows against each endpoint: define, write, read, read public, undefine,
//! counters, extend and bit-field indices, locks, index authValues, the NV handle list and
//! `tpm2_nvcertify`, with values checked independently (the test computes digests and Names
//! itself; openssl verifies the certification signatures).

use evtpm_tests::tpm2_fails as fails;
use evtpm_tests::{each_endpoint, flush_transient, hexs, show, tpm2, Endpoint, Server, TempDir};
use sha2::Digest;
use tpm_proto::{TpmsAttest, TpmuAttest, Unmarshal};

const IDX: u32 = 0x0150_0016;

/// Runs a tpm2 subcommand, asserting success; returns stdout as bytes.
#[track_caller]
fn ok(server: &Server, args: &[&str]) -> Vec<u8> {
    let o = tpm2(server, args);
    assert!(
        o.status.success(),
        "{}: tpm2 {args:?} failed: {}",
        server.endpoint(),
        show(&o)
    );
    o.stdout
}

fn started(ep: Endpoint) -> Server {
    let s = Server::start(ep);
    ok(&s, &["startup", "-c"]);
    s
}

fn hex_index(i: u32) -> String {
    format!("{i:#x}")
}

fn define(s: &Server, index: u32, size: usize, attrs: &str) {
    ok(
        s,
        &[
            "nvdefine",
            &hex_index(index),
            "-C",
            "o",
            "-s",
            &size.to_string(),
            "-a",
            attrs,
        ],
    );
}

fn read(s: &Server, index: u32, size: usize) -> Vec<u8> {
    ok(
        s,
        &[
            "nvread",
            &hex_index(index),
            "-C",
            "o",
            "-s",
            &size.to_string(),
        ],
    )
}

/// The NV indices `tpm2_getcap handles-nv-index` lists.
fn nv_handles(s: &Server) -> Vec<u32> {
    String::from_utf8(ok(s, &["getcap", "handles-nv-index"]))
        .expect("utf-8")
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- 0x"))
        .map(|h| u32::from_str_radix(h, 16).expect("hex handle"))
        .collect()
}

/// Marshalled `TPMS_NV_PUBLIC` of a SHA-256 index without a policy.
fn nv_public(index: u32, attrs: u32, size: u16) -> Vec<u8> {
    let mut p = index.to_be_bytes().to_vec();
    p.extend_from_slice(&[0, 0x0B]);
    p.extend_from_slice(&attrs.to_be_bytes());
    p.extend_from_slice(&[0, 0]);
    p.extend_from_slice(&size.to_be_bytes());
    p
}

#[test]
fn nv_define_write_read_public_undefine() {
    each_endpoint(|ep| {
        let s = started(ep);
        let dir = TempDir::new("nv");
        define(&s, IDX, 32, "ownerread|ownerwrite");
        let data: Vec<u8> = (0u8..32).map(|b| b.wrapping_mul(7)).collect();
        let file = dir.file("data", &data);
        ok(
            &s,
            &[
                "nvwrite",
                &hex_index(IDX),
                "-C",
                "o",
                "-i",
                file.to_str().unwrap(),
            ],
        );
        assert_eq!(read(&s, IDX, 32), data, "{ep}");
        // A partial read from an offset.
        let part = ok(
            &s,
            &[
                "nvread",
                &hex_index(IDX),
                "-C",
                "o",
                "-s",
                "5",
                "--offset",
                "10",
            ],
        );
        assert_eq!(part, &data[10..15], "{ep}");

        // Name = nameAlg || SHA-256(TPMS_NV_PUBLIC), attributes now include WRITTEN.
        let public = String::from_utf8(ok(&s, &["nvreadpublic", &hex_index(IDX)])).unwrap();
        let attrs = 0x2002_0002u32; // ownerread | ownerwrite | written
        let mut name = vec![0, 0x0B];
        name.extend_from_slice(&sha2::Sha256::digest(nv_public(IDX, attrs, 32)));
        assert!(
            public.contains(&format!("name: {}", hexs(&name))),
            "{ep}: {public}"
        );
        assert!(public.contains("value: 0x20020002"), "{ep}: {public}");
        assert!(public.contains("size: 32"), "{ep}: {public}");

        ok(&s, &["nvundefine", &hex_index(IDX), "-C", "o"]);
        fails(&s, &["nvreadpublic", &hex_index(IDX)]);
        assert!(!nv_handles(&s).contains(&IDX), "{ep}");
    });
}

#[test]
fn nv_define_twice_and_unwritten_read_fail() {
    each_endpoint(|ep| {
        let s = started(ep);
        define(&s, IDX, 8, "ownerread|ownerwrite");
        let err = fails(
            &s,
            &[
                "nvdefine",
                &hex_index(IDX),
                "-C",
                "o",
                "-s",
                "8",
                "-a",
                "ownerread|ownerwrite",
            ],
        );
        assert!(
            err.contains("0x14c") || err.contains("0x14C"),
            "{ep}: {err}"
        );
        let err = fails(&s, &["nvread", &hex_index(IDX), "-C", "o", "-s", "8"]);
        assert!(
            err.contains("0x14a") || err.contains("0x14A"),
            "{ep}: {err}"
        );
    });
}

#[test]
fn nv_counter_increments() {
    each_endpoint(|ep| {
        let s = started(ep);
        define(&s, IDX, 8, "nt=counter|ownerread|ownerwrite");
        for _ in 0..3 {
            ok(&s, &["nvincrement", &hex_index(IDX), "-C", "o"]);
        }
        assert_eq!(read(&s, IDX, 8), 3u64.to_be_bytes(), "{ep}");
    });
}

#[test]
fn nv_extend_matches_computed_hash() {
    each_endpoint(|ep| {
        let s = started(ep);
        let dir = TempDir::new("nvextend");
        define(&s, IDX, 32, "nt=extend|ownerread|ownerwrite");
        let mut expect = [0u8; 32].to_vec();
        for chunk in [&b"first event"[..], b"second"] {
            let f = dir.file("ev", chunk);
            ok(
                &s,
                &[
                    "nvextend",
                    "-C",
                    "o",
                    "-i",
                    f.to_str().unwrap(),
                    &hex_index(IDX),
                ],
            );
            expect = sha2::Sha256::new()
                .chain_update(&expect)
                .chain_update(chunk)
                .finalize()
                .to_vec();
        }
        assert_eq!(read(&s, IDX, 32), expect, "{ep}");
    });
}

#[test]
fn nv_setbits_ors_bits() {
    each_endpoint(|ep| {
        let s = started(ep);
        define(&s, IDX, 8, "nt=bits|ownerread|ownerwrite");
        ok(&s, &["nvsetbits", "-C", "o", "-i", "0x5", &hex_index(IDX)]);
        ok(
            &s,
            &["nvsetbits", "-C", "o", "-i", "0x100000000", &hex_index(IDX)],
        );
        assert_eq!(read(&s, IDX, 8), 0x1_0000_0005u64.to_be_bytes(), "{ep}");
    });
}

#[test]
fn nv_write_and_read_locks() {
    each_endpoint(|ep| {
        let s = started(ep);
        let dir = TempDir::new("nvlock");
        let file = dir.file("data", b"abcd");
        let f = file.to_str().unwrap();
        define(&s, IDX, 4, "ownerread|ownerwrite|write_stclear");
        ok(&s, &["nvwrite", &hex_index(IDX), "-C", "o", "-i", f]);
        ok(&s, &["nvwritelock", &hex_index(IDX), "-C", "o"]);
        let err = fails(&s, &["nvwrite", &hex_index(IDX), "-C", "o", "-i", f]);
        assert!(err.contains("0x148"), "{ep}: {err}");
        assert_eq!(read(&s, IDX, 4), b"abcd", "{ep}");

        define(&s, IDX + 1, 4, "ownerread|ownerwrite|read_stclear");
        ok(&s, &["nvwrite", &hex_index(IDX + 1), "-C", "o", "-i", f]);
        ok(&s, &["nvreadlock", &hex_index(IDX + 1), "-C", "o"]);
        let err = fails(&s, &["nvread", &hex_index(IDX + 1), "-C", "o", "-s", "4"]);
        assert!(err.contains("0x148"), "{ep}: {err}");
        // Writing is still allowed.
        ok(&s, &["nvwrite", &hex_index(IDX + 1), "-C", "o", "-i", f]);
    });
}

#[test]
fn nv_index_auth_value() {
    each_endpoint(|ep| {
        let s = started(ep);
        let dir = TempDir::new("nvauth");
        let f = dir.file("data", b"wxyz");
        let f = f.to_str().unwrap();
        ok(
            &s,
            &[
                "nvdefine",
                &hex_index(IDX),
                "-C",
                "o",
                "-s",
                "4",
                "-p",
                "secret",
                "-a",
                "authread|authwrite",
            ],
        );
        ok(&s, &["nvwrite", &hex_index(IDX), "-P", "secret", "-i", f]);
        fails(&s, &["nvwrite", &hex_index(IDX), "-P", "wrong", "-i", f]);
        let data = ok(&s, &["nvread", &hex_index(IDX), "-P", "secret", "-s", "4"]);
        assert_eq!(data, b"wxyz", "{ep}");
        // The owner has no access to this index.
        let err = fails(&s, &["nvread", &hex_index(IDX), "-C", "o", "-s", "4"]);
        assert!(err.contains("0x149"), "{ep}: {err}");
    });
}

#[test]
fn nv_getcap_lists_indices_ascending() {
    each_endpoint(|ep| {
        let s = started(ep);
        for i in [IDX + 2, IDX, IDX + 1] {
            define(&s, i, 4, "ownerread|ownerwrite");
        }
        // The firmware comes provisioned with its EK certificate indices (tests/tests/ek.rs),
        // above the test's range.
        let ek_certs: &[u32] = if ep == Endpoint::EvtpmFirmware {
            &[0x01C0_0002, 0x01C0_000A]
        } else {
            &[]
        };
        assert_eq!(
            nv_handles(&s),
            [&[IDX, IDX + 1, IDX + 2], ek_certs].concat(),
            "{ep}"
        );
        ok(&s, &["nvundefine", &hex_index(IDX + 1), "-C", "o"]);
        assert_eq!(nv_handles(&s), [&[IDX, IDX + 2], ek_certs].concat(), "{ep}");
    });
}

/// `openssl dgst -sha256 -verify pem -signature sig msg`, asserting success.
#[track_caller]
fn openssl_verifies(ep: Endpoint, pem: &str, sig: &str, msg: &str) {
    let o = std::process::Command::new("openssl")
        .args(["dgst", "-sha256", "-verify", pem, "-signature", sig, msg])
        .output()
        .expect("openssl");
    assert!(
        o.status.success(),
        "{ep}: openssl dgst -verify: {}",
        show(&o)
    );
}

/// `tpm2_nvcertify` (Part 3, 31.16) signed by an ECDSA and an RSASSA key: a range of the index
/// (`TPMS_NV_CERTIFY_INFO`) and, with `--size 0`, the digest of the whole index
/// (`TPMS_NV_DIGEST_CERTIFY_INFO`). openssl verifies each signature over the attestation with the
/// key's PEM from `tpm2_readpublic`; the `TPMS_ATTEST` is parsed and its fields compared with the
/// index Name and data the test computes.
#[test]
fn nv_certify_signed_by_ecc_and_rsa_keys() {
    each_endpoint(|ep| {
        let s = started(ep);
        let dir = TempDir::new("nvcertify");
        let path = |n: &str| dir.path().join(n).to_str().expect("utf-8 path").to_owned();
        let data: Vec<u8> = (0u8..32).map(|b| b.wrapping_mul(29) ^ 0x5A).collect();
        let file = dir.file("data", &data);
        define(&s, IDX, 32, "ownerread|ownerwrite");
        ok(
            &s,
            &[
                "nvwrite",
                &hex_index(IDX),
                "-C",
                "o",
                "-i",
                file.to_str().unwrap(),
            ],
        );
        let mut name = vec![0, 0x0B];
        name.extend_from_slice(&sha2::Sha256::digest(nv_public(IDX, 0x2002_0002, 32)));
        let attrs = "fixedtpm|fixedparent|sensitivedataorigin|userwithauth|sign";
        for alg in ["ecc256:ecdsa-sha256", "rsa2048:rsassa-sha256"] {
            let (ctx, pem) = (path("key.ctx"), path("key.pem"));
            ok(
                &s,
                &[
                    "createprimary",
                    "-C",
                    "o",
                    "-G",
                    alg,
                    "-a",
                    attrs,
                    "-c",
                    &ctx,
                ],
            );
            ok(&s, &["readpublic", "-c", &ctx, "-f", "pem", "-o", &pem]);
            flush_transient(&s);
            for range in [&["--size", "8", "--offset", "4"][..], &["--size", "0"]] {
                let (sig, attest) = (path("sig"), path("attest"));
                let mut args = vec![
                    "nvcertify",
                    "-C",
                    &ctx,
                    "-g",
                    "sha256",
                    "-f",
                    "plain",
                    "-o",
                    &sig,
                    "-q",
                    "0a0b0c",
                    "--attestation",
                    &attest,
                    "-c",
                    "o",
                ];
                args.extend_from_slice(range);
                let index = hex_index(IDX);
                args.push(&index);
                ok(&s, &args);
                flush_transient(&s);
                openssl_verifies(ep, &pem, &sig, &attest);
                let bytes = std::fs::read(&attest).expect("attestation file");
                let a = TpmsAttest::from_bytes(&bytes)
                    .unwrap_or_else(|rc| panic!("{ep} {alg}: TPMS_ATTEST: {rc:?}"));
                assert!(a.is_tpm_generated(), "{ep} {alg}");
                assert_eq!(a.extra_data.0, [0x0a, 0x0b, 0x0c], "{ep} {alg}");
                match a.attested {
                    TpmuAttest::Nv(nv) if range.len() == 4 => {
                        assert_eq!(nv.index_name.0, &name[..], "{ep} {alg}");
                        assert_eq!(nv.offset, 4, "{ep} {alg}");
                        assert_eq!(nv.nv_contents.0, &data[4..12], "{ep} {alg}");
                    }
                    TpmuAttest::NvDigest(nv) if range.len() == 2 => {
                        assert_eq!(nv.index_name.0, &name[..], "{ep} {alg}");
                        assert_eq!(
                            nv.nv_digest.0,
                            &sha2::Sha256::digest(&data)[..],
                            "{ep} {alg}"
                        );
                    }
                    other => panic!("{ep} {alg} {range:?}: attested {other:?}"),
                }
            }
        }
    });
}
