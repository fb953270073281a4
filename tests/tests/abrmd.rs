//! tpm2-abrmd (the TPM2 Access Broker and Resource Manager daemon, Debian's 3.0.0) on top of
//! each endpoint, with tpm2-tools going through it (`tabrmd` TCTI on a private D-Bus session
//! bus): abrmd sends `TPM2_Startup` itself, virtualizes transient handles and sessions, and
//! context-saves/loads every transient object (including hash sequence objects) around each
//! command, so this exercises ContextSave/ContextLoad/FlushContext and GetCapability the way a
//! resource manager does. Nothing is skipped: a missing `dbus-daemon`, `tpm2-abrmd` or tabrmd
//! TCTI library fails with what to install.

use evtpm_tests::server::run_with_timeout;
use evtpm_tests::{each_endpoint, hexs, Server, TempDir};
use sha2::Digest;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

const TOOL_TIMEOUT: Duration = Duration::from_secs(120);
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// A private D-Bus session bus, killed on drop.
struct Bus {
    child: Child,
    address: String,
}

impl Bus {
    fn start(dir: &Path) -> Bus {
        let socket = dir.join("bus");
        let mut child = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--print-address=1"])
            .arg(format!("--address=unix:path={}", socket.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run dbus-daemon ({e}): install it (`apt-get install dbus-daemon`)")
            });
        let stdout = child.stdout.take().expect("piped");
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let address = match rx.recv_timeout(READY_TIMEOUT) {
            Ok(l) if !l.trim().is_empty() => l.trim().to_string(),
            other => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("dbus-daemon printed no bus address: {other:?}");
            }
        };
        Bus { child, address }
    }
}

impl Drop for Bus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// tpm2-abrmd on `bus` in front of `server`, killed on drop (its output is kept for failures).
struct Abrmd {
    child: Child,
    name: String,
    bus_address: String,
    log: Arc<Mutex<String>>,
}

impl Abrmd {
    fn start(bus: &Bus, server: &Server) -> Abrmd {
        static N: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "com.intel.tss2.Tabrmd.evtpm{}x{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let mut child = Command::new("tpm2-abrmd")
            .args(["--session", "--allow-root", "--logger=stdout"])
            .arg(format!("--dbus-name={name}"))
            .arg(format!("--tcti={}", server.tcti()))
            .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run tpm2-abrmd ({e}): install it (`apt-get install tpm2-abrmd`)")
            });
        let log = Arc::new(Mutex::new(String::new()));
        for r in [
            Box::new(child.stdout.take().expect("piped")) as Box<dyn Read + Send>,
            Box::new(child.stderr.take().expect("piped")),
        ] {
            let log = log.clone();
            thread::spawn(move || {
                let mut r = r;
                let mut buf = [0u8; 4096];
                while let Ok(n) = r.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    log.lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            });
        }
        let mut abrmd = Abrmd {
            child,
            name,
            bus_address: bus.address.clone(),
            log,
        };
        abrmd.wait_ready(server);
        abrmd
    }

    fn log(&self) -> String {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn tcti(&self) -> String {
        format!("tabrmd:bus_name={},bus_type=session", self.name)
    }

    /// Polls with `tpm2 getrandom` until abrmd owns its bus name and answers. The first command
    /// that succeeds is also the proof that abrmd started the TPM: nobody else sent Startup.
    fn wait_ready(&mut self, server: &Server) {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "{}: tpm2-abrmd exited with {status}:\n{}",
                    server.endpoint(),
                    self.log()
                );
            }
            let o = self.tool(&["getrandom", "--hex", "16"]);
            if o.status.success() {
                let out = String::from_utf8_lossy(&o.stdout).trim().to_string();
                assert_eq!(out.len(), 32, "getrandom --hex 16 printed {out:?}");
                return;
            }
            let err = String::from_utf8_lossy(&o.stderr).into_owned();
            assert!(
                !err.contains("Could not load tcti") || !err.contains("libtss2-tcti-tabrmd"),
                "the tabrmd TCTI is missing: `apt-get install libtss2-tcti-tabrmd0`\n{err}"
            );
            if Instant::now() > deadline {
                panic!(
                    "{}: tpm2-abrmd did not answer within {READY_TIMEOUT:?} (is the tabrmd TCTI \
                     installed? `apt-get install libtss2-tcti-tabrmd0`)\nlast tool error:\n{err}\n\
                     abrmd log:\n{}",
                    server.endpoint(),
                    self.log()
                );
            }
            thread::sleep(Duration::from_millis(100));
        }
    }

    fn tool(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new("tpm2");
        cmd.args(args)
            .env("TPM2TOOLS_TCTI", self.tcti())
            .env("DBUS_SESSION_BUS_ADDRESS", &self.bus_address)
            .env_remove("TPM2TOOLS_ENABLE_ERRATA");
        run_with_timeout(cmd, b"", TOOL_TIMEOUT)
    }

    #[track_caller]
    fn ok(&self, args: &[&str]) -> String {
        let o = self.tool(args);
        assert!(
            o.status.success(),
            "tpm2 {args:?} through abrmd failed ({}):\n{}\n{}\nabrmd log:\n{}",
            o.status,
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr),
            self.log()
        );
        String::from_utf8(o.stdout).expect("utf-8 output")
    }

    #[track_caller]
    fn fails(&self, args: &[&str]) -> String {
        let o = self.tool(args);
        assert!(
            !o.status.success(),
            "tpm2 {args:?} through abrmd should fail:\n{}",
            String::from_utf8_lossy(&o.stdout)
        );
        String::from_utf8_lossy(&o.stderr).into_owned()
    }
}

impl Drop for Abrmd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if thread::panicking() {
            eprintln!("--- tpm2-abrmd log ---\n{}", self.log());
        }
    }
}

fn p(dir: &TempDir, name: &str) -> String {
    dir.path_of(name)
}

/// The value of `sha256:16` from `tpm2_pcrread` output.
fn pcr16(out: &str) -> Vec<u8> {
    let line = out
        .lines()
        .find(|l| l.trim_start().starts_with("16:"))
        .unwrap_or_else(|| panic!("no PCR 16 in {out:?}"));
    let v = line.trim().trim_start_matches("16:").trim();
    hex::decode(v.trim_start_matches("0x")).expect("hex PCR value")
}

#[test]
fn tpm2_tools_through_abrmd() {
    each_endpoint(|ep| {
        let server = Server::start(ep);
        let dir = TempDir::new("abrmd");
        let bus = Bus::start(dir.path());
        let abrmd = Abrmd::start(&bus, &server);

        // Startup was abrmd's (wait_ready's GetRandom succeeded on a fresh, unstarted TPM).
        let rnd = abrmd.ok(&["getrandom", "--hex", "32"]);
        assert_eq!(rnd.trim().len(), 64);
        let props = abrmd.ok(&["getcap", "properties-variable"]);
        assert!(props.contains("TPM2_PT_STARTUP_CLEAR") || props.contains("startupClear"));

        // PCRs.
        let before = pcr16(&abrmd.ok(&["pcrread", "sha256:16"]));
        assert_eq!(before, vec![0u8; 32]);
        let d = sha2::Sha256::digest(b"through abrmd");
        abrmd.ok(&["pcrextend", &format!("16:sha256={}", hexs(&d))]);
        let after = pcr16(&abrmd.ok(&["pcrread", "sha256:16"]));
        assert_eq!(
            after,
            sha2::Sha256::digest([&before[..], &d[..]].concat()).to_vec()
        );

        // Objects: a primary, a child key created, loaded, used (every call a new connection; abrmd
        // flushes a client's transient objects when it leaves, the context files bring them back).
        let (prim, key) = (p(&dir, "prim.ctx"), p(&dir, "key.ctx"));
        let (kpub, kpriv) = (p(&dir, "key.pub"), p(&dir, "key.priv"));
        abrmd.ok(&["createprimary", "-C", "o", "-G", "ecc", "-c", &prim]);
        abrmd.ok(&[
            "create", "-C", &prim, "-G", "ecc", "-u", &kpub, "-r", &kpriv,
        ]);
        abrmd.ok(&["load", "-C", &prim, "-u", &kpub, "-r", &kpriv, "-c", &key]);
        let msg = dir.file("msg", b"signed through the resource manager");
        let msg = msg.display().to_string();
        let sig = p(&dir, "sig");
        abrmd.ok(&["sign", "-c", &key, "-g", "sha256", "-o", &sig, &msg]);
        abrmd.ok(&[
            "verifysignature",
            "-c",
            &key,
            "-g",
            "sha256",
            "-m",
            &msg,
            "-s",
            &sig,
        ]);

        // A large file: HashSequenceStart + SequenceUpdate x N + SequenceComplete, the sequence
        // object context-saved and reloaded by abrmd around each command.
        let big: Vec<u8> = (0..200_000u32).map(|i| (i * 7 + i / 251) as u8).collect();
        let file = dir.file("big", &big).display().to_string();
        let ticket = p(&dir, "ticket");
        let out = abrmd.ok(&[
            "hash", "-g", "sha256", "-C", "o", "--hex", "-t", &ticket, &file,
        ]);
        assert_eq!(out.trim(), hexs(&sha2::Sha256::digest(&big)));

        // A policy session: seal under PolicyPCR(sha256:16), unseal with a policy session that
        // lives across three tool invocations (abrmd keeps it between connections), then the
        // PCR moves and the policy no longer holds.
        let (trial, policy) = (p(&dir, "trial.ctx"), p(&dir, "pcr.policy"));
        abrmd.ok(&["startauthsession", "-S", &trial]);
        abrmd.ok(&["policypcr", "-S", &trial, "-l", "sha256:16", "-L", &policy]);
        abrmd.ok(&["flushcontext", &trial]);
        let secret = dir.file("secret", b"sealed behind a PCR policy");
        let (spub, spriv, sealed) = (p(&dir, "s.pub"), p(&dir, "s.priv"), p(&dir, "s.ctx"));
        abrmd.ok(&[
            "create",
            "-C",
            &prim,
            "-L",
            &policy,
            "-i",
            &secret.display().to_string(),
            "-u",
            &spub,
            "-r",
            &spriv,
        ]);
        abrmd.ok(&[
            "load", "-C", &prim, "-u", &spub, "-r", &spriv, "-c", &sealed,
        ]);
        let session = p(&dir, "pol.ctx");
        abrmd.ok(&["startauthsession", "--policy-session", "-S", &session]);
        abrmd.ok(&["policypcr", "-S", &session, "-l", "sha256:16"]);
        let auth = format!("session:{session}");
        let out = abrmd.ok(&["unseal", "-c", &sealed, "-p", &auth]);
        assert_eq!(out, "sealed behind a PCR policy");
        abrmd.ok(&["flushcontext", &session]);

        abrmd.ok(&["pcrextend", &format!("16:sha256={}", hexs(&d))]);
        abrmd.ok(&["startauthsession", "--policy-session", "-S", &session]);
        abrmd.ok(&["policypcr", "-S", &session, "-l", "sha256:16"]);
        let err = abrmd.fails(&["unseal", "-c", &sealed, "-p", &auth]);
        // TPM_RC_POLICY_FAIL on session 1.
        assert!(err.contains("0x99D"), "{err}");
        abrmd.ok(&["flushcontext", &session]);

        // The resource manager kept nothing loaded on the TPM for the departed clients.
        let handles = abrmd.ok(&["getcap", "handles-transient"]);
        assert!(
            handles.trim().is_empty(),
            "transient handles left: {handles}"
        );

        let mut abrmd = abrmd;
        assert!(
            matches!(abrmd.child.try_wait(), Ok(None)),
            "tpm2-abrmd died:\n{}",
            abrmd.log()
        );
        drop(abrmd);
        drop(bus);
    });
}
