//! `evtpm serve`: the engine behind the MS-simulator and swtpm socket protocols.
//!
//! One thread per connection; the engine sits in a [`Machine`] behind one mutex that is held
//! only while a command or signal executes, never across socket I/O, so a stalled client cannot
//! block the others. Connections are capped, every frame must complete within a deadline once
//! it has started, and no framing input can panic the server: malformed frames get a protocol
//! error or a closed connection.

pub mod ctrl_unix;
pub mod firmware;
pub mod machine;
pub mod mssim;
mod signals;
pub mod swtpm;

use crate::wire::{self, Deadlines};
use machine::{Backend, Machine};
use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex, MutexGuard};
use std::time::Duration;

/// `TPM_RC_FAILURE`: what a command gets once the engine has panicked (failure mode).
pub const TPM_RC_FAILURE: u32 = 0x101;
/// `TPM_RC_COMMAND_SIZE`: a frame announcing more than [`tpm_proto::MAX_COMMAND_SIZE`] bytes.
pub const TPM_RC_COMMAND_SIZE: u32 = 0x142;

/// How often a blocked read wakes up to check for shutdown and the idle limit.
const POLL_INTERVAL: Duration = Duration::from_millis(500);

/// What `evtpm serve` listens on and how it bounds its clients.
#[derive(Debug, Clone)]
pub struct Options {
    /// MS-simulator protocol: command port here, platform port at port + 1.
    pub mssim: Option<String>,
    /// swtpm socket protocol: data port here, control channel at port + 1 (unless `ctrl_unix`).
    pub swtpm: Option<String>,
    /// swtpm control channel on a unix socket (QEMU's `-tpmdev emulator`).
    pub ctrl_unix: Option<PathBuf>,
    /// Send `TPM2_Startup(CLEAR)` after every `_TPM_Init`.
    pub startup_clear: bool,
    pub max_connections: usize,
    pub deadlines: Deadlines,
}

/// Why the server stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// SIGINT or SIGTERM.
    Signal(i32),
    /// `TPM_STOP` on an MS-simulator port.
    MssimStop,
    /// `CMD_SHUTDOWN` on an swtpm control channel.
    SwtpmShutdown,
}

/// The engine is unusable: it panicked while holding the lock.
#[derive(Debug, Clone, Copy)]
pub struct Failed;

/// State shared by every connection.
#[derive(Debug)]
pub struct Shared {
    machine: Mutex<Machine>,
    /// The swtpm instance's locality (`CMD_SET_LOCALITY`), used by swtpm data connections that
    /// are not tied to one control connection: tpm2-tss sets it on a fresh control connection
    /// and then opens a fresh data connection per command, as swtpm itself assumes.
    pub swtpm_locality: AtomicU8,
    pub deadlines: Deadlines,
    max_connections: usize,
    active: AtomicUsize,
    stopping: AtomicBool,
    stop_tx: Mutex<mpsc::Sender<Stop>>,
}

impl Shared {
    /// The state of a server around `machine`, and the receiving end of its stop requests. The
    /// connection handlers (`mssim::serve_*`, `swtpm::serve_*`) need only this, so they can
    /// also be driven without sockets (the fuzz targets do).
    pub fn new(
        machine: Machine,
        deadlines: Deadlines,
        max_connections: usize,
    ) -> (Shared, mpsc::Receiver<Stop>) {
        let (stop_tx, stop_rx) = mpsc::channel();
        let shared = Shared {
            machine: Mutex::new(machine),
            swtpm_locality: AtomicU8::new(0),
            deadlines,
            max_connections: max_connections.max(1),
            active: AtomicUsize::new(0),
            stopping: AtomicBool::new(false),
            stop_tx: Mutex::new(stop_tx),
        };
        (shared, stop_rx)
    }

    /// The machine, or [`Failed`] if the engine panicked earlier (its state is then suspect and
    /// every later command answers `TPM_RC_FAILURE`).
    pub fn machine(&self) -> Result<MutexGuard<'_, Machine>, Failed> {
        self.machine.lock().map_err(|_| Failed)
    }

    /// Executes a command and returns the response length in `rsp`: always a well-formed
    /// response of at least a header, `TPM_RC_FAILURE` in failure mode. `None` while the TPM is
    /// powered off or stopped.
    pub fn execute(&self, locality: u8, cmd: &[u8], rsp: &mut [u8]) -> Option<usize> {
        let n = match self.machine() {
            Ok(mut m) => m.execute(locality, cmd, rsp)?,
            Err(Failed) => 0,
        };
        if n < tpm_proto::HEADER_SIZE {
            log::error!("engine wrote no response; answering TPM_RC_FAILURE");
            return Some(wire::write_response_header(rsp, TPM_RC_FAILURE));
        }
        Some(n)
    }

    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::Relaxed)
    }

    /// Asks the main thread to stop the server.
    pub fn request_stop(&self, why: Stop) {
        self.stopping.store(true, Ordering::Relaxed);
        if let Ok(tx) = self.stop_tx.lock() {
            let _ = tx.send(why);
        }
    }

    /// Counts a new connection in, or refuses it at the cap.
    pub fn admit(self: &Arc<Self>) -> Option<ConnGuard> {
        let prev = self.active.fetch_add(1, Ordering::AcqRel);
        if prev >= self.max_connections {
            self.active.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        Some(ConnGuard(self.clone()))
    }
}

/// One admitted connection; dropping it frees its slot.
#[derive(Debug)]
pub struct ConnGuard(Arc<Shared>);

impl Drop for ConnGuard {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Runs `f` on its own thread for an admitted connection; logs how it ended.
pub fn spawn_conn<F>(guard: ConnGuard, name: String, f: F)
where
    F: FnOnce() -> io::Result<()> + Send + 'static,
{
    let label = name.clone();
    let spawned = std::thread::Builder::new().name(name).spawn(move || {
        let _guard = guard;
        match f() {
            Ok(()) => log::debug!("{label}: closed"),
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                log::debug!("{label}: client went away mid-frame")
            }
            Err(e) => log::info!("{label}: closed: {e}"),
        }
    });
    if let Err(e) = spawned {
        log::error!("cannot spawn a connection thread: {e}");
    }
}

/// Applies the per-connection socket settings: no Nagle delay (every reply is one write), a
/// short receive timeout so reads can notice shutdown and enforce frame deadlines, and a send
/// timeout so a client that never reads cannot pin its thread.
fn configure_tcp(s: &TcpStream, d: &Deadlines) -> io::Result<()> {
    s.set_nodelay(true)?;
    s.set_read_timeout(Some(POLL_INTERVAL))?;
    s.set_write_timeout(Some(d.frame))
}

/// Which protocol a TCP listener speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Port {
    MssimCommand,
    MssimPlatform,
    SwtpmData,
    SwtpmCtrl,
}

/// A bound but not yet running server.
#[derive(Debug)]
pub struct Server {
    shared: Arc<Shared>,
    stop_rx: mpsc::Receiver<Stop>,
    tcp: Vec<(Port, TcpListener)>,
    unix: Option<(PathBuf, UnixListener)>,
}

impl Server {
    /// Binds every requested listener (port 0 picks a free pair of ports).
    pub fn bind(opts: &Options, backend: Box<dyn Backend>) -> io::Result<Server> {
        if opts.mssim.is_none() && opts.swtpm.is_none() && opts.ctrl_unix.is_none() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "nothing to serve: give --mssim, --swtpm or --ctrl",
            ));
        }
        let mut tcp = Vec::new();
        if let Some(a) = &opts.mssim {
            let (cmd, plat) = bind_pair(a)?;
            tcp.push((Port::MssimCommand, cmd));
            tcp.push((Port::MssimPlatform, plat));
        }
        if let Some(a) = &opts.swtpm {
            if opts.ctrl_unix.is_some() {
                tcp.push((Port::SwtpmData, TcpListener::bind(resolve(a)?)?));
            } else {
                let (data, ctrl) = bind_pair(a)?;
                tcp.push((Port::SwtpmData, data));
                tcp.push((Port::SwtpmCtrl, ctrl));
            }
        }
        let unix = match &opts.ctrl_unix {
            Some(p) => Some((p.clone(), ctrl_unix::bind(p)?)),
            None => None,
        };
        let machine = Machine::new(backend, opts.startup_clear);
        let (shared, stop_rx) = Shared::new(machine, opts.deadlines, opts.max_connections);
        Ok(Server {
            shared: Arc::new(shared),
            stop_rx,
            tcp,
            unix,
        })
    }

    /// The one-line readiness message: `listening on mssim=A platform=B swtpm=C ctrl=D`.
    pub fn listening_line(&self) -> String {
        let mut s = String::from("listening on");
        for (port, l) in &self.tcp {
            let name = match port {
                Port::MssimCommand => "mssim",
                Port::MssimPlatform => "platform",
                Port::SwtpmData => "swtpm",
                Port::SwtpmCtrl => "ctrl",
            };
            if let Ok(a) = l.local_addr() {
                s.push_str(&format!(" {name}={a}"));
            }
        }
        if let Some((p, _)) = &self.unix {
            s.push_str(&format!(" ctrl=unix:{}", p.display()));
        }
        s
    }

    /// Serves until a stop request (signal, `TPM_STOP`, `CMD_SHUTDOWN`); prints the listening
    /// line once every listener runs. Call before any other thread exists in the process, so
    /// the signal mask it sets is inherited by all of them.
    pub fn run(self) -> io::Result<Stop> {
        signals::block_termination()?;
        signals::spawn_waiter(self.shared.clone())?;
        for (port, listener) in self.tcp {
            let sh = self.shared.clone();
            std::thread::Builder::new()
                .name(format!("accept-{port:?}"))
                .spawn(move || accept_tcp(listener, port, sh))?;
        }
        let unix_path = match self.unix {
            Some((path, listener)) => {
                let sh = self.shared.clone();
                std::thread::Builder::new()
                    .name("accept-ctrl-unix".into())
                    .spawn(move || ctrl_unix::accept_loop(listener, sh))?;
                Some(path)
            }
            None => None,
        };
        let why = self.stop_rx.recv().unwrap_or(Stop::Signal(0));
        log::info!("stopping: {why:?}");
        if let Some(p) = unix_path {
            let _ = std::fs::remove_file(p);
        }
        Ok(why)
    }
}

/// Resolves `HOST:PORT` to its first address.
pub fn resolve(addr: &str) -> io::Result<SocketAddr> {
    addr.to_socket_addrs()?
        .next()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, format!("{addr}: no address")))
}

/// Binds `addr` and the next port up. With port 0 the kernel picks the first and we retry until
/// its successor is free too.
fn bind_pair(addr: &str) -> io::Result<(TcpListener, TcpListener)> {
    let base = resolve(addr)?;
    let next = |a: SocketAddr| -> io::Result<SocketAddr> {
        let p = a
            .port()
            .checked_add(1)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "port + 1 overflows"))?;
        Ok(SocketAddr::new(a.ip(), p))
    };
    if base.port() != 0 {
        let first = TcpListener::bind(base)?;
        let second = TcpListener::bind(next(base)?)?;
        return Ok((first, second));
    }
    for _ in 0..64 {
        let first = TcpListener::bind(base)?;
        let Ok(n) = next(first.local_addr()?) else {
            continue;
        };
        if let Ok(second) = TcpListener::bind(n) {
            return Ok((first, second));
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AddrInUse,
        "no free pair of consecutive ports",
    ))
}

fn accept_tcp(listener: TcpListener, port: Port, sh: Arc<Shared>) {
    let mut seq = 0u64;
    for conn in listener.incoming() {
        let stream = match conn {
            Ok(s) => s,
            Err(e) => {
                log::warn!("{port:?}: accept failed: {e}");
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        let peer = stream
            .peer_addr()
            .map(|a| a.to_string())
            .unwrap_or_default();
        let Some(guard) = sh.admit() else {
            log::warn!(
                "{port:?}: refusing {peer}: {} connections already open",
                sh.max_connections
            );
            continue;
        };
        if let Err(e) = configure_tcp(&stream, &sh.deadlines) {
            log::warn!("{port:?}: {peer}: {e}");
            continue;
        }
        seq += 1;
        log::debug!("{port:?}: connection {seq} from {peer}");
        let sh = sh.clone();
        let mut stream = stream;
        spawn_conn(guard, format!("{port:?}-{seq}"), move || match port {
            Port::MssimCommand => mssim::serve_command(&mut stream, &sh),
            Port::MssimPlatform => mssim::serve_platform(&mut stream, &sh),
            Port::SwtpmData => swtpm::serve_data(&mut stream, &sh, &SwtpmLocality::Instance),
            Port::SwtpmCtrl => swtpm::serve_ctrl(&mut stream, &sh),
        });
    }
}

/// Where an swtpm data connection takes its locality from.
#[derive(Debug)]
pub enum SwtpmLocality {
    /// The instance-wide value set by any control connection.
    Instance,
    /// The control connection that handed over this data channel (`CMD_SET_DATAFD`).
    Ctrl(Arc<AtomicU8>),
}
