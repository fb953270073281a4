//! Random and truncated parameters for every object and key command, with real loaded objects
//! behind the handles: the engine must answer each with a well-formed response and never panic.

mod common;
use common::*;

/// xorshift64*: a small deterministic generator for test inputs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

#[test]
fn random_parameters_never_panic() {
    let mut t = started();
    let srk = srk(&mut t);
    let sign = create_loaded_key(
        &mut t,
        srk,
        b"",
        &ecc_template(SIGNING, SYM_NULL, ECDSA_SHA256, 3),
    );
    let hmac = create_loaded_key(&mut t, srk, b"", &keyedhash_template(SIGNING, HMAC_SHA256));
    let attrs = FIXED_TPM | FIXED_PARENT | SENSITIVE_DATA_ORIGIN | USER_WITH_AUTH | DECRYPT | SIGN;
    let aes = create_loaded_key(&mut t, srk, b"", &sym_template(attrs, 128, 0x0043));
    // (command code, handles, authorized handles)
    let commands: &[(u32, &[u32], usize)] = &[
        (0x131, &[OWNER], 1),
        (0x153, &[srk], 1),
        (0x191, &[srk], 1),
        (0x157, &[srk], 1),
        (0x167, &[], 0),
        (0x173, &[sign], 0),
        (0x15E, &[sign], 1),
        (0x150, &[sign, srk], 1),
        (0x120, &[OWNER, sign], 1),
        (0x15D, &[sign], 1),
        (0x177, &[sign], 0),
        (0x155, &[hmac], 1),
        (0x15B, &[hmac], 1),
        (0x174, &[srk], 0),
        (0x159, &[srk], 1),
        (0x163, &[srk], 0),
        (0x154, &[srk], 1),
        (0x178, &[], 0),
        (0x164, &[aes], 1),
        (0x193, &[aes], 1),
        (0x158, &[sign], 1),
        (0x148, &[srk, sign], 2),
        (0x14A, &[sign, srk], 1),
        (0x14C, &[ENDORSEMENT, sign], 2),
        (0x168, &[srk], 0),
        (0x147, &[sign, srk], 2),
        (0x156, &[srk], 1),
    ];
    let mut rng = Rng(0x1234_5678_9abc_def1);
    for &(cc, handles, auths) in commands {
        for round in 0..60 {
            let len = (rng.next() % 300) as usize;
            let mut params = rng.bytes(len);
            // Small sizes in the leading TPM2B make deeper parsing likely.
            if round % 2 == 0 && params.len() > 2 {
                params[0] = 0;
                params[1] %= 40;
            }
            let auth: Vec<&[u8]> = vec![b""; auths];
            let c = if auths == 0 {
                plain_cmd(cc, handles, &params)
            } else {
                auth_cmd(cc, handles, &auth, &params)
            };
            let r = exec(&mut t, &c);
            let code = rc(&r);
            // A successful random command is fine; flush whatever it may have loaded.
            if code == 0 && r.len() >= 14 && matches!(cc, 0x131 | 0x191 | 0x157 | 0x167 | 0x15B) {
                let h = handle(&r);
                exec(&mut t, &plain_cmd(0x165, &[], &h.to_be_bytes()));
            }
        }
    }
    // The objects are still usable.
    assert_eq!(rc(&read_public(&mut t, sign)), 0);
}

#[test]
fn mutated_valid_commands_never_panic() {
    let mut t = started();
    let srk = srk(&mut t);
    let sign_tmpl = ecc_template(SIGNING, SYM_NULL, ECDSA_SHA256, 3);
    let r = create(&mut t, srk, b"", b"", &sign_tmpl);
    let (private, public) = private_public(&r);
    let sign = handle(&load(&mut t, srk, &private, &public));
    let mut load_params = b2(&private);
    load_params.extend(b2(&public));
    let mut make = b2(b"credential");
    make.extend(b2(&name_of(&public)));
    let r = exec(&mut t, &plain_cmd(0x168, &[srk], &make));
    let mut rd = Rd::params(&r, false);
    let (blob, secret) = (rd.b2().to_vec(), rd.b2().to_vec());
    let mut activate = b2(&blob);
    activate.extend(b2(&secret));
    // The unmutated activation succeeds, so mutations start from a working command.
    let ok = exec(
        &mut t,
        &auth_cmd(0x147, &[sign, srk], &[b"", b""], &activate),
    );
    assert_eq!(rc(&ok), 0);
    let mut quote = b2(b"nonce");
    quote.extend_from_slice(SCHEME_NULL);
    quote.extend_from_slice(&hex("00000001 000b 03 000081"));
    let mut ext = vec![0, 0];
    ext.extend(b2(&public));
    ext.extend(OWNER.to_be_bytes());
    let mut sign_params = b2(&sha256(&[b"x"]));
    sign_params.extend_from_slice(SCHEME_NULL);
    sign_params.extend_from_slice(&[0x80, 0x24, 0x40, 0x00, 0x00, 0x07, 0x00, 0x00]);
    let valid: Vec<(u32, Vec<u32>, usize, Vec<u8>)> = vec![
        (
            0x131,
            vec![OWNER],
            1,
            create_params(b"", b"", &sign_tmpl, &[]),
        ),
        (
            0x153,
            vec![srk],
            1,
            create_params(b"a", b"", &sign_tmpl, &[]),
        ),
        (0x157, vec![srk], 1, load_params.clone()),
        (0x156, vec![srk], 1, {
            let mut p = b2(b"");
            p.extend(b2(&public));
            p.extend(b2(&private));
            p.extend(b2(b""));
            p.extend_from_slice(SYM_NULL);
            p
        }),
        (0x147, vec![sign, srk], 2, activate),
        (0x158, vec![sign], 1, quote),
        (0x167, vec![], 0, ext),
        (0x15D, vec![sign], 1, sign_params),
    ];
    let mut rng = Rng(0xfeed_f00d_dead_beef);
    for (cc, handles, auths, params) in &valid {
        for _ in 0..150 {
            let mut p = params.clone();
            match rng.next() % 3 {
                0 if !p.is_empty() => {
                    let i = (rng.next() as usize) % p.len();
                    p[i] ^= 1 << (rng.next() % 8);
                }
                1 if !p.is_empty() => {
                    let n = (rng.next() as usize) % p.len();
                    p.truncate(n);
                }
                _ => {
                    let i = (rng.next() as usize) % (p.len() + 1);
                    p.insert(i, rng.next() as u8);
                }
            }
            let auth: Vec<&[u8]> = vec![b""; *auths];
            let c = if *auths == 0 {
                plain_cmd(*cc, handles, &p)
            } else {
                auth_cmd(*cc, handles, &auth, &p)
            };
            let r = exec(&mut t, &c);
            if rc(&r) == 0 && matches!(cc, 0x131 | 0x157 | 0x167) {
                exec(&mut t, &plain_cmd(0x165, &[], &handle(&r).to_be_bytes()));
            }
        }
    }
    assert_eq!(rc(&read_public(&mut t, sign)), 0);
}
