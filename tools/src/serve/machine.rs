//! The TPM "machine" behind every transport: the engine plus the platform state the transports
//! signal (power, cancel), shared by all connections behind one lock.

use crate::wire;
use std::panic::AssertUnwindSafe;

/// What a transport drives: [`vtpm::Tpm`] in `evtpm serve`, [`Echo`] in `evtpm bench-echo`.
pub trait Backend: Send {
    /// Runs one command; see [`vtpm::Tpm::execute`].
    fn execute(&mut self, locality: u8, command: &[u8], response: &mut [u8]) -> usize;
    /// `_TPM_Init`.
    fn power_on(&mut self);
    /// Power removed.
    fn power_off(&mut self);
    /// Cancel signal on/off.
    fn set_cancel(&mut self, on: bool);
    /// Physical-presence signal on/off.
    fn set_physical_presence(&mut self, on: bool);
}

impl<P: vtpm::Platform + Send> Backend for vtpm::Tpm<P> {
    fn execute(&mut self, locality: u8, command: &[u8], response: &mut [u8]) -> usize {
        vtpm::Tpm::execute(self, locality, command, response)
    }
    fn power_on(&mut self) {
        vtpm::Tpm::power_on(self)
    }
    fn power_off(&mut self) {
        vtpm::Tpm::power_off(self)
    }
    fn set_cancel(&mut self, on: bool) {
        vtpm::Tpm::set_cancel(self, on)
    }
    fn set_physical_presence(&mut self, on: bool) {
        vtpm::Tpm::set_physical_presence(self, on)
    }
}

/// Answers every command with a fixed 10-byte `TPM_RC_SUCCESS` response: the transport floor
/// that `evtpm bench` compares the engine against.
#[derive(Debug, Default, Clone, Copy)]
pub struct Echo;

impl Backend for Echo {
    fn execute(&mut self, _locality: u8, _command: &[u8], response: &mut [u8]) -> usize {
        wire::write_response_header(response, 0)
    }
    fn power_on(&mut self) {}
    fn power_off(&mut self) {}
    fn set_cancel(&mut self, _on: bool) {}
    fn set_physical_presence(&mut self, _on: bool) {}
}

/// Largest command and response seen since the last query, for the MS simulator's
/// `TPM_GET_COMMAND_RESPONSE_SIZES` (`TcpServer.c`: size and the command code of each).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct LargestSizes {
    pub command_size: u32,
    pub command_code: u32,
    pub response_size: u32,
    pub response_code: u32,
}

/// The engine and its platform state. Held behind one mutex; the lock is taken only for the
/// duration of a command or signal, never across socket I/O.
pub struct Machine {
    backend: Box<dyn Backend>,
    powered: bool,
    startup_clear: bool,
    /// The engine panicked: its state is suspect, every command answers `TPM_RC_FAILURE`.
    failed: bool,
    largest: LargestSizes,
}

impl std::fmt::Debug for Machine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Machine")
            .field("powered", &self.powered)
            .field("startup_clear", &self.startup_clear)
            .field("failed", &self.failed)
            .field("largest", &self.largest)
            .finish_non_exhaustive()
    }
}

impl Machine {
    /// A machine whose backend is powered on (a freshly manufactured [`vtpm::Tpm`] is). With
    /// `startup_clear`, `TPM2_Startup(CLEAR)` is sent now and after every later `_TPM_Init`, so
    /// clients find the TPM started (swtpm's `--flags startup-clear`).
    pub fn new(backend: Box<dyn Backend>, startup_clear: bool) -> Self {
        let mut m = Machine {
            backend,
            powered: true,
            startup_clear,
            failed: false,
            largest: LargestSizes::default(),
        };
        m.after_init();
        m
    }

    pub fn is_powered(&self) -> bool {
        self.powered
    }

    /// Executes a command; `None` when the TPM is powered off (or stopped), which each transport
    /// answers in its own way. The engine promises never to panic; should it anyway, the server
    /// survives and the TPM goes into failure mode (`TPM_RC_FAILURE` from then on).
    pub fn execute(&mut self, locality: u8, command: &[u8], response: &mut [u8]) -> Option<usize> {
        if !self.powered {
            return None;
        }
        if self.failed {
            return Some(wire::write_response_header(response, super::TPM_RC_FAILURE));
        }
        let run = AssertUnwindSafe(|| self.backend.execute(locality, command, response));
        let n = match std::panic::catch_unwind(run) {
            Ok(n) => n.min(response.len()),
            Err(_) => {
                log::error!("the engine panicked; failure mode until the server restarts");
                self.failed = true;
                wire::write_response_header(response, super::TPM_RC_FAILURE)
            }
        };
        self.record_sizes(command, &response[..n]);
        Some(n)
    }

    /// Power on; a no-op when already on (the reference simulator's `_rpc__Signal_PowerOn(false)`:
    /// tpm2-tss sends it on every TCTI initialization and must not reset a running TPM).
    pub fn power_on(&mut self) {
        if !self.powered {
            self.init();
        }
    }

    /// `_TPM_Init` whether or not the TPM is on (reset/restart signals, swtpm `CMD_INIT`).
    /// A running TPM is powered off first, so volatile state is lost as on a real power cycle.
    pub fn reinit(&mut self) {
        if self.powered {
            self.backend.power_off();
        }
        self.init();
    }

    /// `_TPM_Init` without a power cycle: the MS simulator's reset and restart signals.
    pub fn tpm_init(&mut self) {
        self.init();
    }

    pub fn power_off(&mut self) {
        if self.powered {
            self.backend.power_off();
            self.powered = false;
        }
    }

    pub fn set_cancel(&mut self, on: bool) {
        self.backend.set_cancel(on);
    }

    pub fn set_physical_presence(&mut self, on: bool) {
        self.backend.set_physical_presence(on);
    }

    /// Returns and clears the largest command/response sizes seen.
    pub fn take_largest(&mut self) -> LargestSizes {
        std::mem::take(&mut self.largest)
    }

    fn init(&mut self) {
        self.backend.power_on();
        self.powered = true;
        self.after_init();
    }

    fn after_init(&mut self) {
        if !self.startup_clear {
            return;
        }
        let mut rsp = [0u8; vtpm::MAX_RESPONSE_SIZE];
        let n = self.backend.execute(0, &wire::STARTUP_CLEAR, &mut rsp);
        match wire::response_code(&rsp[..n.min(rsp.len())]) {
            Some(0) => log::debug!("TPM2_Startup(CLEAR) sent"),
            Some(rc) => log::warn!("internal TPM2_Startup(CLEAR) returned TPM_RC {rc:#010x}"),
            None => log::warn!("internal TPM2_Startup(CLEAR) returned a malformed response"),
        }
    }

    fn record_sizes(&mut self, command: &[u8], response: &[u8]) {
        let code = |b: &[u8]| {
            b.get(6..10)
                .map_or(0, |c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
        };
        let (csize, rsize) = (command.len() as u32, response.len() as u32);
        if csize > self.largest.command_size {
            self.largest.command_size = csize;
            self.largest.command_code = code(command);
        }
        if rsize > self.largest.response_size {
            self.largest.response_size = rsize;
            self.largest.response_code = code(response);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// Records the signals it receives.
    #[derive(Default)]
    struct Probe(Arc<Mutex<Vec<&'static str>>>);

    impl Backend for Probe {
        fn execute(&mut self, _l: u8, c: &[u8], r: &mut [u8]) -> usize {
            self.0.lock().unwrap().push(if c == wire::STARTUP_CLEAR {
                "startup"
            } else {
                "cmd"
            });
            wire::write_response_header(r, 0)
        }
        fn power_on(&mut self) {
            self.0.lock().unwrap().push("on");
        }
        fn power_off(&mut self) {
            self.0.lock().unwrap().push("off");
        }
        fn set_cancel(&mut self, _on: bool) {}
        fn set_physical_presence(&mut self, _on: bool) {}
    }

    #[test]
    fn power_on_is_idempotent_and_power_off_stops_commands() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut m = Machine::new(Box::new(Probe(log.clone())), false);
        m.power_on();
        assert!(log.lock().unwrap().is_empty());
        let mut rsp = [0u8; 64];
        assert_eq!(
            m.execute(0, &[0x80, 1, 0, 0, 0, 10, 0, 0, 1, 0x7b], &mut rsp),
            Some(10)
        );
        m.power_off();
        assert_eq!(m.execute(0, &[0; 10], &mut rsp), None);
        m.power_on();
        assert_eq!(*log.lock().unwrap(), ["cmd", "off", "on"]);
    }

    #[test]
    fn startup_clear_follows_every_init() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut m = Machine::new(Box::new(Probe(log.clone())), true);
        m.reinit();
        m.tpm_init();
        assert_eq!(
            *log.lock().unwrap(),
            ["startup", "off", "on", "startup", "on", "startup"]
        );
    }

    struct Panics;

    impl Backend for Panics {
        fn execute(&mut self, _l: u8, _c: &[u8], _r: &mut [u8]) -> usize {
            panic!("engine bug");
        }
        fn power_on(&mut self) {}
        fn power_off(&mut self) {}
        fn set_cancel(&mut self, _on: bool) {}
        fn set_physical_presence(&mut self, _on: bool) {}
    }

    #[test]
    fn engine_panic_enters_failure_mode() {
        let mut m = Machine::new(Box::new(Panics), false);
        let mut rsp = [0u8; 16];
        for _ in 0..2 {
            let n = m.execute(0, &wire::STARTUP_CLEAR, &mut rsp).unwrap();
            assert_eq!(wire::response_code(&rsp[..n]), Some(0x101));
        }
    }

    #[test]
    fn largest_sizes_are_taken_and_cleared() {
        let mut m = Machine::new(Box::new(Echo), false);
        let mut rsp = [0u8; 64];
        m.execute(0, &[0x80, 1, 0, 0, 0, 12, 0, 0, 1, 0x7b, 0, 32], &mut rsp);
        let l = m.take_largest();
        assert_eq!(
            (l.command_size, l.command_code, l.response_size),
            (12, 0x17b, 10)
        );
        assert_eq!(m.take_largest(), LargestSizes::default());
    }
}
