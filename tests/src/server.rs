//! Starting servers and running client tools.

use crate::{Endpoint, Protocol};
use std::collections::HashSet;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// How long a server may take to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long one client tool invocation may take before it is killed.
const TOOL_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the firmware may take to boot under QEMU (TCG) and manufacture its engine.
const FIRMWARE_START_TIMEOUT: Duration = Duration::from_secs(300);
/// Attempts at starting a server, each on a new port, before giving up.
const START_ATTEMPTS: usize = 4;

/// Ports handed out to servers of this test process and not yet released. The kernel does not
/// know that a port we probed and closed is about to be taken by our child, so without this two
/// test threads could pick the same pair. (Other processes can still race us; `Server::start`
/// retries on a new port if the server does not come up.)
static RESERVED: Mutex<Option<HashSet<u16>>> = Mutex::new(None);

fn with_reserved<T>(f: impl FnOnce(&mut HashSet<u16>) -> T) -> T {
    let mut g = RESERVED.lock().unwrap_or_else(|e| e.into_inner());
    f(g.get_or_insert_with(HashSet::new))
}

/// Finds P such that P and P+1 are both free on 127.0.0.1 and reserves them in this process.
fn free_port_pair() -> u16 {
    for _ in 0..200 {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let p = l.local_addr().expect("local_addr").port();
        if p == u16::MAX {
            continue;
        }
        if TcpListener::bind(("127.0.0.1", p + 1)).is_err() {
            continue;
        }
        let fresh = with_reserved(|r| {
            if r.contains(&p) || r.contains(&(p + 1)) {
                false
            } else {
                r.insert(p);
                r.insert(p + 1);
                true
            }
        });
        if fresh {
            return p;
        }
    }
    panic!("no free pair of adjacent TCP ports on 127.0.0.1");
}

fn release_port_pair(p: u16) {
    with_reserved(|r| {
        r.remove(&p);
        r.remove(&(p + 1));
    });
}

/// A directory under the system temp dir, removed on drop.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicU64 = AtomicU64::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let dir = std::env::temp_dir().join(format!(
            "evtpm-tests-{tag}-{}-{n}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// Writes `data` to a file in the directory and returns its path.
    pub fn file(&self, name: &str, data: &[u8]) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, data).expect("write temp file");
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Path of the `evtpm` binary: `EVTPM_BIN`, else `<workspace>/target/debug/evtpm` (or under
/// `CARGO_TARGET_DIR`). Panics with instructions if it does not exist.
pub fn evtpm_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("EVTPM_BIN") {
        let p = PathBuf::from(p);
        assert!(p.is_file(), "EVTPM_BIN={} does not exist", p.display());
        return p;
    }
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf();
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(|t| workspace.join(t))
        .unwrap_or_else(|| workspace.join("target"));
    let p = target.join("debug").join("evtpm");
    assert!(
        p.is_file(),
        "the evtpm binary is missing at {}: build it first (`cargo build -p evtpm`, or `make \
         test`), point EVTPM_BIN at it, or run only the reference with EVTPM_ENDPOINTS=swtpm",
        p.display()
    );
    p
}

/// The SVSM firmware image for the `evtpm-firmware` endpoint: `EVTPM_FIRMWARE`, else
/// `<workspace>/target/x86_64-unknown-none/firmware/svsm` (or under `CARGO_TARGET_DIR`).
pub fn firmware_image() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("EVTPM_FIRMWARE") {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(format!("EVTPM_FIRMWARE={} does not exist", p.display()))
        };
    }
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf();
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(|t| workspace.join(t))
        .unwrap_or_else(|| workspace.join("target"));
    let p = target.join("x86_64-unknown-none/firmware/svsm");
    if p.is_file() {
        Ok(p)
    } else {
        Err(format!(
            "endpoint evtpm-firmware: no firmware image at {} (`make firmware`, or point \
             EVTPM_FIRMWARE at one)",
            p.display()
        ))
    }
}

/// Everything the server printed, shared with the threads that read its pipes.
type Log = Arc<Mutex<String>>;

fn pump(mut r: impl Read + Send + 'static, log: Log) {
    thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = r.read(&mut buf) {
            if n == 0 {
                break;
            }
            let s = String::from_utf8_lossy(&buf[..n]);
            log.lock().unwrap_or_else(|e| e.into_inner()).push_str(&s);
        }
    });
}

/// A running TPM server on 127.0.0.1:`port` (data) and `port + 1` (platform/control), killed on
/// drop.
#[derive(Debug)]
pub struct Server {
    endpoint: Endpoint,
    port: u16,
    child: Child,
    log: Log,
    _state: TempDir,
}

impl Server {
    /// Starts a fresh server for `endpoint` and waits until it accepts connections.
    pub fn start(endpoint: Endpoint) -> Server {
        Server::start_with(endpoint, &[])
    }

    /// A fresh evtpm server provisioned as the firmware is at boot: persistent EKs and EK
    /// certificates (`evtpm serve --ek` on the host; the firmware always is). Panics for swtpm,
    /// which has no such provisioning here.
    pub fn start_provisioned(endpoint: Endpoint) -> Server {
        assert!(endpoint.is_evtpm(), "{endpoint}: no EK provisioning");
        let extra: &[&str] = if endpoint == Endpoint::EvtpmFirmware {
            &[]
        } else {
            &["--ek"]
        };
        Server::start_with(endpoint, extra)
    }

    /// [`Server::start`] with extra `evtpm serve` arguments (evtpm endpoints only).
    pub fn start_with(endpoint: Endpoint, extra: &[&str]) -> Server {
        let mut last_err = String::new();
        for _ in 0..START_ATTEMPTS {
            match Server::try_start(endpoint, extra) {
                Ok(s) => return s,
                Err(e) => last_err = e,
            }
        }
        panic!("{endpoint}: server did not start after {START_ATTEMPTS} attempts: {last_err}");
    }

    fn try_start(endpoint: Endpoint, extra: &[&str]) -> Result<Server, String> {
        let state = TempDir::new(endpoint.name());
        let port = free_port_pair();
        let mut cmd = match endpoint {
            Endpoint::Swtpm => {
                let mut c = Command::new("swtpm");
                c.args(["socket", "--tpm2", "--server"])
                    .arg(format!("type=tcp,port={port}"))
                    .arg("--ctrl")
                    .arg(format!("type=tcp,port={}", port + 1))
                    .arg("--tpmstate")
                    .arg(format!("dir={}", state.path().display()))
                    .args(["--flags", "not-need-init"]);
                c
            }
            Endpoint::EvtpmMssim | Endpoint::EvtpmSwtpm => {
                let flag = if endpoint == Endpoint::EvtpmMssim {
                    "--mssim"
                } else {
                    "--swtpm"
                };
                let mut c = Command::new(evtpm_bin());
                c.args(["serve", flag, &format!("127.0.0.1:{port}")]);
                c
            }
            Endpoint::EvtpmFirmware => {
                let image = match firmware_image() {
                    Ok(p) => p,
                    Err(e) => {
                        release_port_pair(port);
                        panic!("{e}");
                    }
                };
                let mut c = Command::new(evtpm_bin());
                c.args(["serve", "--mssim", &format!("127.0.0.1:{port}")])
                    .arg("--firmware")
                    .arg(image);
                c
            }
        };
        if endpoint.is_evtpm() {
            cmd.args(extra);
        }
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => {
                release_port_pair(port);
                panic!("{endpoint}: cannot run {cmd:?}: {e}");
            }
        };
        let log = Log::default();
        pump(child.stdout.take().expect("piped"), log.clone());
        pump(child.stderr.take().expect("piped"), log.clone());
        let mut server = Server {
            endpoint,
            port,
            child,
            log,
            _state: state,
        };
        let deadline = Instant::now()
            + if endpoint == Endpoint::EvtpmFirmware {
                FIRMWARE_START_TIMEOUT
            } else {
                START_TIMEOUT
            };
        loop {
            if let Ok(Some(status)) = server.child.try_wait() {
                return Err(format!(
                    "exited with {status} on port {port}:\n{}",
                    server.log()
                ));
            }
            // evtpm says when it is ready (after manufacturing its seeds and keys, which may
            // take a while in a debug build); swtpm does not, so only the port tells.
            let said_ready = !endpoint.is_evtpm() || server.log().contains("listening on");
            if said_ready && TcpStream::connect(("127.0.0.1", port)).is_ok() {
                // A server that failed to bind exits at once: make sure it was ours that answered.
                thread::sleep(Duration::from_millis(20));
                if let Ok(Some(status)) = server.child.try_wait() {
                    return Err(format!(
                        "exited with {status} on port {port}:\n{}",
                        server.log()
                    ));
                }
                return Ok(server);
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "not ready on port {port} after {START_TIMEOUT:?} (evtpm must print a line \
                     containing \"listening on\" once it accepts commands):\n{}",
                    server.log()
                ));
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn endpoint(&self) -> Endpoint {
        self.endpoint
    }

    pub fn protocol(&self) -> Protocol {
        self.endpoint.protocol()
    }

    /// The data port P (the platform/control port is P+1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The tpm2-tss TCTI configuration string for this server.
    pub fn tcti(&self) -> String {
        match self.protocol() {
            Protocol::Mssim => format!("mssim:host=127.0.0.1,port={}", self.port),
            Protocol::Swtpm => format!("swtpm:host=127.0.0.1,port={}", self.port),
        }
    }

    /// What the server printed so far (stdout and stderr interleaved).
    pub fn log(&self) -> String {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// True while the server process runs.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        release_port_pair(self.port);
        if thread::panicking() {
            let log = self.log();
            if !log.trim().is_empty() {
                eprintln!(
                    "--- {} server log (port {}) ---\n{log}",
                    self.endpoint, self.port
                );
            }
        }
    }
}

/// Runs `cmd`, feeding `stdin`, killing it after `timeout`.
pub fn run_with_timeout(mut cmd: Command, stdin: &[u8], timeout: Duration) -> Output {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let mut input = child.stdin.take().expect("piped");
    let data = stdin.to_vec();
    let writer = thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let mut out = child.stdout.take().expect("piped");
    let mut err = child.stderr.take().expect("piped");
    let out_t = thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let err_t = thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let deadline = Instant::now() + timeout;
    let status: ExitStatus = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} did not finish within {timeout:?}");
        }
        thread::sleep(Duration::from_millis(5));
    };
    let _ = writer.join();
    Output {
        status,
        stdout: out_t.join().unwrap_or_default(),
        stderr: err_t.join().unwrap_or_default(),
    }
}

/// Runs `tpm2 <args>` (tpm2-tools) against `server` with `TPM2TOOLS_TCTI` set.
pub fn tpm2(server: &Server, args: &[&str]) -> Output {
    tpm2_with_stdin(server, args, &[])
}

/// Like [`tpm2`], with `stdin` piped to the tool.
pub fn tpm2_with_stdin(server: &Server, args: &[&str], stdin: &[u8]) -> Output {
    let mut cmd = Command::new("tpm2");
    cmd.args(args)
        .env("TPM2TOOLS_TCTI", server.tcti())
        .env_remove("TPM2TOOLS_ENABLE_ERRATA");
    run_with_timeout(cmd, stdin, TOOL_TIMEOUT)
}

/// An `Output` for an assertion message: status, stdout and stderr.
pub fn show(o: &Output) -> String {
    format!(
        "status {}\n--- stdout\n{}\n--- stderr\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Runs a tpm2 subcommand, asserting success; returns stdout.
#[track_caller]
pub fn tpm2_ok(server: &Server, args: &[&str]) -> String {
    let o = tpm2(server, args);
    assert!(
        o.status.success(),
        "{}: tpm2 {args:?} failed: {}",
        server.endpoint(),
        show(&o)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Runs a tpm2 subcommand, asserting failure; returns stderr.
#[track_caller]
pub fn tpm2_fails(server: &Server, args: &[&str]) -> String {
    let o = tpm2(server, args);
    assert!(
        !o.status.success(),
        "{}: tpm2 {args:?} should fail: {}",
        server.endpoint(),
        show(&o)
    );
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs a tpm2 subcommand, asserting success, then flushes transient objects (without a resource
/// manager every tool that loads a context leaves it loaded; the reference has three slots).
/// Returns stdout.
#[track_caller]
pub fn tpm2_ok_flushed(server: &Server, args: &[&str]) -> String {
    let out = tpm2_ok(server, args);
    flush_transient(server);
    out
}

/// `tpm2_flushcontext -t`, asserting success.
#[track_caller]
pub fn flush_transient(server: &Server) {
    let o = tpm2(server, &["flushcontext", "-t"]);
    assert!(o.status.success(), "flushcontext -t: {}", show(&o));
}

impl TempDir {
    /// The path of `name` in this directory, as a string for a tool's command line.
    pub fn path_of(&self, name: &str) -> String {
        self.path().join(name).display().to_string()
    }
}
