//! The `log` backend: lines on the COM1 serial port (16550 UART, 115200 baud, 8N1).
//!
//! Lines look like `[INFO ] svsm::entry: message` and end in CR LF.

use core::fmt::{self, Write};
use log::Level;

/// Writes through to `W`, turning each `\n` into `\r\n` as a serial terminal expects.
#[derive(Debug)]
pub struct CrLf<W>(pub W);

impl<W: Write> Write for CrLf<W> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let mut lines = s.split('\n');
        if let Some(first) = lines.next() {
            self.0.write_str(first)?;
        }
        for line in lines {
            self.0.write_str("\r\n")?;
            self.0.write_str(line)?;
        }
        Ok(())
    }
}

/// Writes one log line.
pub fn write_record(
    w: &mut impl Write,
    level: Level,
    target: &str,
    args: fmt::Arguments<'_>,
) -> fmt::Result {
    writeln!(w, "[{level:<5}] {target}: {args}")
}

#[cfg(target_os = "none")]
pub use uart::{emergency_write, init};

#[cfg(target_os = "none")]
mod uart {
    use super::{write_record, CrLf};
    use crate::cpu::io::Port;
    use crate::cpu::lock::SpinLock;
    use core::fmt::{self, Write};
    use log::{LevelFilter, Log, Metadata, Record};

    const THR: Port = Port::com1(0); // transmit holding (DLAB=0) / divisor low (DLAB=1)
    const IER: Port = Port::com1(1); // interrupt enable / divisor high
    const FCR: Port = Port::com1(2);
    const LCR: Port = Port::com1(3);
    const MCR: Port = Port::com1(4);
    const LSR: Port = Port::com1(5);
    const LSR_THR_EMPTY: u8 = 1 << 5;

    /// COM1. Stateless: the lock around it keeps lines whole.
    #[derive(Debug)]
    struct Uart;

    impl Uart {
        fn init(&mut self) {
            IER.write_u8(0); // no interrupts
            LCR.write_u8(0x80); // DLAB: divisor follows
            THR.write_u8(1); // 115200 / 1
            IER.write_u8(0);
            LCR.write_u8(0x03); // 8N1, DLAB off
            FCR.write_u8(0xc7); // FIFOs on, cleared, 14-byte threshold
            MCR.write_u8(0x03); // DTR, RTS
        }

        fn write_byte(&mut self, b: u8) {
            // An absent UART reads 0xff, so this does not hang without one.
            while LSR.read_u8() & LSR_THR_EMPTY == 0 {
                core::hint::spin_loop();
            }
            THR.write_u8(b);
        }
    }

    impl Write for Uart {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            s.bytes().for_each(|b| self.write_byte(b));
            Ok(())
        }
    }

    struct Console(SpinLock<Uart>);

    impl Log for Console {
        fn enabled(&self, metadata: &Metadata<'_>) -> bool {
            metadata.level() <= log::max_level()
        }

        fn log(&self, record: &Record<'_>) {
            if self.enabled(record.metadata()) {
                let mut uart = self.0.lock();
                let _ = write_record(
                    &mut CrLf(&mut *uart),
                    record.level(),
                    record.target(),
                    *record.args(),
                );
            }
        }

        fn flush(&self) {}
    }

    static CONSOLE: Console = Console(SpinLock::new(Uart));

    /// Programs the UART and installs the logger at `level`.
    pub fn init(level: LevelFilter) {
        CONSOLE.0.lock().init();
        // Fails only if a logger is already set, i.e. on a second call: nothing to do then.
        let _ = log::set_logger(&CONSOLE);
        log::set_max_level(level);
    }

    /// Writes `args` without taking the console lock: for the panic handler, whose CPU may have
    /// panicked while holding it. Lines may interleave with another CPU's.
    pub fn emergency_write(args: fmt::Arguments<'_>) {
        let _ = CrLf(Uart).write_fmt(args);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::String;

    #[test]
    fn crlf_expands_every_newline() {
        let mut out = CrLf(String::new());
        out.write_str("a\nb\n").unwrap();
        out.write_str("\nc").unwrap();
        assert_eq!(out.0, "a\r\nb\r\n\r\nc");
    }

    #[test]
    fn record_line_has_padded_level_and_target() {
        let mut out = CrLf(String::new());
        write_record(
            &mut out,
            Level::Info,
            "svsm::entry",
            format_args!("rc={:#x}", 0x143),
        )
        .unwrap();
        assert_eq!(out.0, "[INFO ] svsm::entry: rc=0x143\r\n");
    }
}
