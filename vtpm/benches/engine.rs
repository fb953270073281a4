//! Engine-level latency per command: `Tpm::execute` on a started TPM, no transport.
//!
//! `cargo bench -p vtpm` (add `-- --warm-up-time 1 --measurement-time 3` on a shared machine).
//! Every command is checked once to succeed before it is timed, so the numbers are for the
//! success path. The platform is deterministic (counter entropy, a fake clock), so nothing here
//! waits on the OS.

mod common;

use common::*;
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use tpm_proto::HashAlg;
use vtpm::crypto::{Hasher, Hmac};
use vtpm::MAX_RESPONSE_SIZE;

const CC_GET_RANDOM: u32 = 0x17B;
const CC_PCR_EXTEND: u32 = 0x182;
const CC_PCR_READ: u32 = 0x17E;
const CC_PCR_EVENT: u32 = 0x13C;
const CC_GET_CAPABILITY: u32 = 0x17A;
const CC_HASH: u32 = 0x17D;
const CC_READ_CLOCK: u32 = 0x181;
const CC_HASH_SEQUENCE_START: u32 = 0x186;
const CC_SEQUENCE_UPDATE: u32 = 0x15C;
const CC_SEQUENCE_COMPLETE: u32 = 0x13E;

/// The PCR the mix extends (16: resettable, debug).
const PCR: u32 = 16;

/// Benches one fixed command: checked once, then `execute` in a loop.
fn bench_fixed(c: &mut Criterion, name: &str, command: Vec<u8>) {
    let mut tpm = started();
    let mut out = [0u8; MAX_RESPONSE_SIZE];
    ok(&mut tpm, &mut out, &command, name);
    c.bench_function(name, |b| {
        b.iter(|| black_box(tpm.execute(0, black_box(&command), &mut out)))
    });
}

fn pcr_extend_params() -> Vec<u8> {
    let mut p = vec![0, 0, 0, 1];
    p.extend_from_slice(&TPM_ALG_SHA256.to_be_bytes());
    p.extend_from_slice(&[0xA5; 32]);
    p
}

fn pcr_extend(session_area: &[u8]) -> Vec<u8> {
    let mut body = PCR.to_be_bytes().to_vec();
    body.extend_from_slice(session_area);
    body.extend_from_slice(&pcr_extend_params());
    cmd(SESSIONS, CC_PCR_EXTEND, &body)
}

fn start_auth_session() -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&TPM_RH_NULL.to_be_bytes()); // tpmKey
    body.extend_from_slice(&TPM_RH_NULL.to_be_bytes()); // bind
    body.extend_from_slice(&32u16.to_be_bytes());
    body.extend_from_slice(&[0x11; 32]); // nonceCaller
    body.extend_from_slice(&0u16.to_be_bytes()); // encryptedSalt
    body.push(TPM_SE_HMAC);
    body.extend_from_slice(&TPM_ALG_NULL.to_be_bytes()); // symmetric
    body.extend_from_slice(&TPM_ALG_SHA256.to_be_bytes()); // authHash
    cmd(NO_SESSIONS, CC_START_AUTH_SESSION, &body)
}

/// Starts an unbound, unsalted SHA-256 HMAC session: its handle and nonceTPM.
fn hmac_session(tpm: &mut BenchTpm, out: &mut [u8]) -> (u32, Vec<u8>) {
    let n = ok(tpm, out, &start_auth_session(), "StartAuthSession");
    let r = &out[..n];
    let handle = be32(&r[10..]);
    let len = u16::from_be_bytes([r[14], r[15]]) as usize;
    (handle, r[16..16 + len].to_vec())
}

/// nonceTPM from a response with one session (no response handle).
fn response_nonce(r: &[u8]) -> &[u8] {
    let param_size = be32(&r[10..]) as usize;
    let at = 14 + param_size;
    let len = u16::from_be_bytes([r[at], r[at + 1]]) as usize;
    &r[at + 2..at + 2 + len]
}

fn benches(c: &mut Criterion) {
    bench_fixed(
        c,
        "GetRandom(32)",
        cmd(NO_SESSIONS, CC_GET_RANDOM, &[0, 32]),
    );

    bench_fixed(
        c,
        "PCR_Extend(16, SHA-256, password)",
        pcr_extend(&pw_area()),
    );

    // PCR_Event(16, 32 B): one digest per active bank of the event data, then one extend each.
    let mut event = PCR.to_be_bytes().to_vec();
    event.extend_from_slice(&pw_area());
    event.extend_from_slice(&32u16.to_be_bytes());
    event.extend_from_slice(&[0x3C; 32]);
    bench_fixed(
        c,
        "PCR_Event(16, 32 B, password)",
        cmd(SESSIONS, CC_PCR_EVENT, &event),
    );

    // TPML_PCR_SELECTION: SHA-256, PCRs 0..7.
    let mut sel = vec![0, 0, 0, 1];
    sel.extend_from_slice(&TPM_ALG_SHA256.to_be_bytes());
    sel.extend_from_slice(&[3, 0xFF, 0, 0]);
    bench_fixed(
        c,
        "PCR_Read(SHA-256, 8 PCRs)",
        cmd(NO_SESSIONS, CC_PCR_READ, &sel),
    );

    // TPM_CAP_TPM_PROPERTIES from TPM_PT_FAMILY_INDICATOR, up to 127 properties.
    let mut cap = 6u32.to_be_bytes().to_vec();
    cap.extend_from_slice(&0x100u32.to_be_bytes());
    cap.extend_from_slice(&127u32.to_be_bytes());
    bench_fixed(
        c,
        "GetCapability(TPM_PROPERTIES)",
        cmd(NO_SESSIONS, CC_GET_CAPABILITY, &cap),
    );

    let mut hash = 64u16.to_be_bytes().to_vec();
    hash.extend_from_slice(&[0x5A; 64]);
    hash.extend_from_slice(&TPM_ALG_SHA256.to_be_bytes());
    hash.extend_from_slice(&TPM_RH_NULL.to_be_bytes());
    bench_fixed(c, "Hash(64 B, SHA-256)", cmd(NO_SESSIONS, CC_HASH, &hash));

    bench_fixed(c, "ReadClock", cmd(NO_SESSIONS, CC_READ_CLOCK, &[]));

    // HashSequenceStart + SequenceUpdate(64 B) + SequenceComplete(0 B): the handle is the same
    // transient slot each time, since the sequence is flushed by SequenceComplete.
    {
        let mut tpm = started();
        let mut out = [0u8; MAX_RESPONSE_SIZE];
        let mut start = 0u16.to_be_bytes().to_vec(); // empty auth
        start.extend_from_slice(&TPM_ALG_SHA256.to_be_bytes());
        let start = cmd(NO_SESSIONS, CC_HASH_SEQUENCE_START, &start);
        let n = ok(&mut tpm, &mut out, &start, "HashSequenceStart");
        let seq = be32(&out[10..n]);
        let mut update = seq.to_be_bytes().to_vec();
        update.extend_from_slice(&pw_area());
        update.extend_from_slice(&64u16.to_be_bytes());
        update.extend_from_slice(&[0x5A; 64]);
        let update = cmd(SESSIONS, CC_SEQUENCE_UPDATE, &update);
        let mut complete = seq.to_be_bytes().to_vec();
        complete.extend_from_slice(&pw_area());
        complete.extend_from_slice(&0u16.to_be_bytes());
        complete.extend_from_slice(&TPM_RH_NULL.to_be_bytes());
        let complete = cmd(SESSIONS, CC_SEQUENCE_COMPLETE, &complete);
        ok(&mut tpm, &mut out, &update, "SequenceUpdate");
        ok(&mut tpm, &mut out, &complete, "SequenceComplete");
        c.bench_function("HashSequenceStart+SequenceUpdate+SequenceComplete", |b| {
            b.iter(|| {
                tpm.execute(0, black_box(&start), &mut out);
                tpm.execute(0, black_box(&update), &mut out);
                black_box(tpm.execute(0, black_box(&complete), &mut out))
            })
        });
        // Still the same handle: nothing leaked.
        let n = ok(&mut tpm, &mut out, &start, "HashSequenceStart");
        assert_eq!(be32(&out[10..n]), seq);
    }

    // StartAuthSession (unbound, unsalted, HMAC, SHA-256) + FlushContext.
    {
        let mut tpm = started();
        let mut out = [0u8; MAX_RESPONSE_SIZE];
        let start = start_auth_session();
        let (handle, _) = hmac_session(&mut tpm, &mut out);
        let flush = flush(handle);
        ok(&mut tpm, &mut out, &flush, "FlushContext");
        c.bench_function("StartAuthSession(HMAC)+FlushContext", |b| {
            b.iter(|| {
                tpm.execute(0, black_box(&start), &mut out);
                black_box(tpm.execute(0, black_box(&flush), &mut out))
            })
        });
        let (again, _) = hmac_session(&mut tpm, &mut out);
        assert_eq!(again, handle, "no session leaked");
    }

    // PCR_Extend under an unbound, unsalted HMAC session. The HMAC key is sessionKey (empty)
    // || authValue of PCR 16 (empty): the caller may send an empty HMAC and gets one back.
    {
        let mut tpm = started();
        let mut out = [0u8; MAX_RESPONSE_SIZE];
        let (handle, _) = hmac_session(&mut tpm, &mut out);
        let ext = pcr_extend(&auth_area(handle, &[0x22; 32], CONTINUE_SESSION, &[]));
        ok(
            &mut tpm,
            &mut out,
            &ext,
            "PCR_Extend (HMAC session, empty HMAC)",
        );
        c.bench_function("PCR_Extend(16, HMAC session, empty HMAC)", |b| {
            b.iter(|| black_box(tpm.execute(0, black_box(&ext), &mut out)))
        });
    }

    // The same with a real HMAC: the bench computes cpHash and the HMAC (empty key) with the
    // engine's public crypto for each command, from the nonceTPM of the previous response, so
    // the time includes one SHA-256 and one HMAC-SHA-256 on the caller's side.
    {
        let mut tpm = started();
        let mut out = [0u8; MAX_RESPONSE_SIZE];
        let (handle, nonce_tpm) = hmac_session(&mut tpm, &mut out);
        let nonce_caller = [0x22u8; 32];
        let params = pcr_extend_params();
        let cp_hash = Hasher::digest(
            HashAlg::Sha256,
            &[&CC_PCR_EXTEND.to_be_bytes(), &PCR.to_be_bytes(), &params],
        );
        let authorized = |nonce_tpm: &[u8]| {
            let mac = Hmac::mac(
                HashAlg::Sha256,
                &[],
                &[
                    cp_hash.as_bytes(),
                    &nonce_caller,
                    nonce_tpm,
                    &[CONTINUE_SESSION],
                ],
            );
            pcr_extend(&auth_area(
                handle,
                &nonce_caller,
                CONTINUE_SESSION,
                mac.as_bytes(),
            ))
        };
        let mut nonce = nonce_tpm;
        let n = ok(
            &mut tpm,
            &mut out,
            &authorized(&nonce),
            "PCR_Extend (HMAC session, computed HMAC)",
        );
        nonce = response_nonce(&out[..n]).to_vec();
        c.bench_function("PCR_Extend(16, HMAC session, computed HMAC)", |b| {
            b.iter(|| {
                let c = authorized(&nonce);
                let n = tpm.execute(0, &c, &mut out);
                debug_assert_eq!(rc(&out[..n]), 0);
                nonce.clear();
                nonce.extend_from_slice(response_nonce(&out[..n]));
            })
        });
        let n = ok(&mut tpm, &mut out, &authorized(&nonce), "PCR_Extend after");
        assert!(n > 10);
    }
}

criterion_group!(engine, benches);
criterion_main!(engine);
