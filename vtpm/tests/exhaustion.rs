//! Resource exhaustion through `Tpm::execute`: every configured limit answers the spec's code
//! (Part 2, 6.6: `TPM_RC_OBJECT_MEMORY`, `TPM_RC_SESSION_MEMORY`, `TPM_RC_NV_SPACE`,
//! `TPM_RC_CONTEXT_GAP`), changes nothing, and the TPM recovers as soon as something is freed.

mod common;
use common::*;
use vtpm::Config;

const OBJECT_MEMORY: u32 = 0x902;
const SESSION_MEMORY: u32 = 0x903;
const NV_SPACE: u32 = 0x14B;
const CONTEXT_GAP: u32 = 0x901;

fn flush(t: &mut T, h: u32) {
    let r = exec(t, &cmd(ST_NO_SESSIONS, 0x165, &h.to_be_bytes()));
    assert_eq!(rc(&r), 0, "FlushContext {h:#x}");
}

/// An unbound, unsalted HMAC session (SHA-256); returns the response.
fn start_session(t: &mut T) -> Vec<u8> {
    let mut p = b2(&[0x11; 16]); // nonceCaller
    p.extend(b2(&[])); // encryptedSalt
    p.push(0x00); // TPM_SE_HMAC
    p.extend_from_slice(SYM_NULL);
    p.extend_from_slice(&[0x00, 0x0B]);
    exec(t, &plain_cmd(0x176, &[NULL, NULL], &p))
}

/// A HashSequenceStart: the cheapest object to fill a slot with.
fn sequence(t: &mut T) -> Vec<u8> {
    let mut p = b2(&[]);
    p.extend_from_slice(&[0x00, 0x0B]);
    exec(t, &cmd(ST_NO_SESSIONS, 0x186, &p))
}

/// `TPM2_ContextSave`; returns the `TPMS_CONTEXT` bytes.
fn save(t: &mut T, h: u32) -> Result<Vec<u8>, u32> {
    let r = exec(t, &plain_cmd(0x162, &[h], &[]));
    match rc(&r) {
        0 => Ok(r[10..].to_vec()),
        e => Err(e),
    }
}

fn load(t: &mut T, context: &[u8]) -> u32 {
    let r = exec(t, &cmd(ST_NO_SESSIONS, 0x161, context));
    assert_eq!(rc(&r), 0, "ContextLoad");
    handle(&r)
}

#[test]
fn object_slots_run_out_and_come_back() {
    let mut t = started();
    let max = Config::default().max_objects;
    let handles: Vec<u32> = (0..max)
        .map(|_| {
            let r = sequence(&mut t);
            assert_eq!(rc(&r), 0);
            handle(&r)
        })
        .collect();
    assert_eq!(rc(&sequence(&mut t)), OBJECT_MEMORY);
    let srk = create_primary(
        &mut t,
        OWNER,
        &ecc_template(STORAGE, AES128_CFB, SCHEME_NULL, 3),
    );
    assert_eq!(
        rc(&srk),
        OBJECT_MEMORY,
        "CreatePrimary with every slot taken"
    );
    flush(&mut t, handles[3]);
    let r = sequence(&mut t);
    assert_eq!(rc(&r), 0, "a flushed slot is reused");
    assert_eq!(handle(&r), handles[3]);
}

#[test]
fn sessions_run_out_and_come_back() {
    let mut t = started();
    let max = Config::default().max_sessions;
    let handles: Vec<u32> = (0..max)
        .map(|_| {
            let r = start_session(&mut t);
            assert_eq!(rc(&r), 0);
            handle(&r)
        })
        .collect();
    assert_eq!(rc(&start_session(&mut t)), SESSION_MEMORY);
    // A saved session still holds its slot (Part 1, 30.5): saving frees nothing.
    let ctx = save(&mut t, handles[0]).unwrap();
    assert_eq!(rc(&start_session(&mut t)), SESSION_MEMORY);
    let h = load(&mut t, &ctx);
    assert_eq!(h, handles[0]);
    flush(&mut t, handles[5]);
    assert_eq!(
        rc(&start_session(&mut t)),
        0,
        "a flushed session's slot is reused"
    );
}

#[test]
fn nv_space_runs_out_and_comes_back() {
    let mut t = started();
    // Owner-defined ordinary indices of 2 KiB until the configured NV bytes are gone.
    let define = |t: &mut T, index: u32| {
        let mut public = index.to_be_bytes().to_vec();
        public.extend_from_slice(&[0x00, 0x0B]);
        public.extend_from_slice(&0x0006_0006u32.to_be_bytes()); // OWNERWRITE|OWNERREAD
        public.extend(b2(&[]));
        public.extend_from_slice(&2048u16.to_be_bytes());
        let mut p = b2(&[]);
        p.extend(b2(&public));
        rc(&exec(t, &auth_cmd(0x12A, &[OWNER], &[b""], &p)))
    };
    let mut defined = Vec::new();
    loop {
        let index = 0x0150_0000 + defined.len() as u32;
        match define(&mut t, index) {
            0 => defined.push(index),
            NV_SPACE => break,
            e => panic!("NV_DefineSpace {index:#x}: {e:#x}"),
        }
        assert!(defined.len() < 1000, "NV never ran out");
    }
    assert!(defined.len() >= 16, "only {} indices fit", defined.len());
    let last = 0x0150_0000 + defined.len() as u32;
    assert_eq!(define(&mut t, last), NV_SPACE, "still full");
    let victim = defined[defined.len() / 2];
    let r = exec(&mut t, &auth_cmd(0x122, &[OWNER, victim], &[b""], &[]));
    assert_eq!(rc(&r), 0, "NV_UndefineSpace");
    assert_eq!(define(&mut t, last), 0, "the freed space is reused");
}

#[test]
fn the_context_gap_is_enforced_and_closes_when_the_oldest_session_returns() {
    let mut t = started();
    let a = handle(&start_session(&mut t));
    let b = handle(&start_session(&mut t));
    let ctx_a = save(&mut t, a).unwrap();
    // Session B saved and reloaded until the context counter is 2^16 ahead of A's save.
    let mut ctx_b = Vec::new();
    let mut gap_at = None;
    for i in 0..0x1_0010u32 {
        match save(&mut t, b) {
            Ok(c) => {
                ctx_b = c;
                load(&mut t, &ctx_b);
            }
            Err(e) => {
                assert_eq!(e, CONTEXT_GAP, "save {i}");
                gap_at = Some(i);
                break;
            }
        }
    }
    let gap_at = gap_at.expect("TPM_RC_CONTEXT_GAP never came");
    assert!(
        (0xFFF0..=0x1_0000).contains(&gap_at),
        "gap after {gap_at} saves"
    );
    // B is still loaded and usable; A's context is still good.
    assert_eq!(load(&mut t, &ctx_a), a);
    assert!(
        save(&mut t, b).is_ok(),
        "with A loaded again there is no gap"
    );
    let _ = ctx_b;
}
