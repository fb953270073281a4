//! A minimal TPM client over either socket protocol, for the benchmark and tests.

use crate::wire::{self, header_size};
use std::fmt;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;
use tpm_proto::framing::mssim;
use tpm_proto::{HEADER_SIZE, MAX_RESPONSE_SIZE};

/// Where the benchmark sends its commands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// MS simulator protocol: command port here, platform port + 1.
    Mssim(String),
    /// swtpm socket protocol: the data port.
    Swtpm(String),
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Mssim(a) => write!(f, "mssim://{a}"),
            Target::Swtpm(a) => write!(f, "swtpm://{a}"),
        }
    }
}

const IO_TIMEOUT: Duration = Duration::from_secs(30);

/// Something that answers TPM commands: a [`Client`] over TCP, or, in tests, the engine itself.
pub trait Transact {
    /// Sends one command and returns the whole response.
    fn transact(&mut self, cmd: &[u8]) -> io::Result<&[u8]>;
}

impl Transact for Client {
    fn transact(&mut self, cmd: &[u8]) -> io::Result<&[u8]> {
        Client::transact(self, cmd)
    }
}

/// One persistent connection to a TPM.
#[derive(Debug)]
pub struct Client {
    stream: TcpStream,
    mssim: bool,
    buf: Vec<u8>,
}

fn connect(addr: SocketAddr) -> io::Result<TcpStream> {
    let s = TcpStream::connect_timeout(&addr, IO_TIMEOUT)?;
    s.set_nodelay(true)?;
    s.set_read_timeout(Some(IO_TIMEOUT))?;
    s.set_write_timeout(Some(IO_TIMEOUT))?;
    Ok(s)
}

impl Client {
    /// Connects. For the MS simulator protocol, first sends `TPM_SIGNAL_POWER_ON` and
    /// `TPM_SIGNAL_NV_ON` on the platform port, as tpm2-tss does on every TCTI initialization.
    pub fn connect(target: &Target) -> io::Result<Client> {
        match target {
            Target::Swtpm(a) => Ok(Client {
                stream: connect(crate::serve::resolve(a)?)?,
                mssim: false,
                buf: vec![0; 8 + MAX_RESPONSE_SIZE],
            }),
            Target::Mssim(a) => {
                let addr = crate::serve::resolve(a)?;
                let plat_addr = SocketAddr::new(addr.ip(), addr.port().wrapping_add(1));
                let mut plat = connect(plat_addr)?;
                for sig in [mssim::SIGNAL_POWER_ON, mssim::SIGNAL_NV_ON] {
                    plat.write_all(&sig.to_be_bytes())?;
                    let mut ack = [0u8; 4];
                    plat.read_exact(&mut ack)?;
                    if ack != [0; 4] {
                        return Err(io::Error::other(format!(
                            "platform signal {sig} failed: {}",
                            wire::be32(&ack)
                        )));
                    }
                }
                plat.write_all(&mssim::SESSION_END.to_be_bytes())?;
                Ok(Client {
                    stream: connect(addr)?,
                    mssim: true,
                    buf: vec![0; 8 + MAX_RESPONSE_SIZE],
                })
            }
        }
    }

    /// Sends one command at locality 0 and returns the response.
    ///
    /// The response is read with as few `read` calls as the kernel allows (usually one), not
    /// header first and then the rest: a second system call per response would cost every
    /// target whose responses are longer than a header, but not the echo floor, and so skew the
    /// comparison.
    pub fn transact(&mut self, cmd: &[u8]) -> io::Result<&[u8]> {
        if self.mssim {
            let mut frame = Vec::with_capacity(9 + cmd.len());
            frame.extend_from_slice(&mssim::SEND_COMMAND.to_be_bytes());
            frame.push(0);
            frame.extend_from_slice(&(cmd.len() as u32).to_be_bytes());
            frame.extend_from_slice(cmd);
            self.stream.write_all(&frame)?;
            // u32 size, the response, u32 0.
            let total = self.read_frame(4, |b| {
                let n = wire::be32(b) as usize;
                (n <= MAX_RESPONSE_SIZE).then_some(n + 8)
            })?;
            let n = total - 8;
            if self.buf[4 + n..total] != [0; 4] {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "missing trailing 0 after the response",
                ));
            }
            Ok(&self.buf[4..4 + n])
        } else {
            self.stream.write_all(cmd)?;
            let n = self.read_frame(HEADER_SIZE, |b| {
                header_size(b)
                    .map(|n| n as usize)
                    .filter(|n| (HEADER_SIZE..=MAX_RESPONSE_SIZE).contains(n))
            })?;
            Ok(&self.buf[..n])
        }
    }

    /// Reads one frame into `buf`: `head` bytes first, from which `len` tells the frame's
    /// total length (`None`: malformed). Returns that length. Bytes beyond it are an error: the
    /// server answers each command with exactly one response.
    fn read_frame(
        &mut self,
        head: usize,
        len: impl Fn(&[u8]) -> Option<usize>,
    ) -> io::Result<usize> {
        let invalid = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_string());
        let mut have = 0;
        let mut total = None;
        loop {
            if total.is_none() && have >= head {
                let n = len(&self.buf[..head])
                    .filter(|&n| (head..=self.buf.len()).contains(&n))
                    .ok_or_else(|| invalid("bad response size"))?;
                total = Some(n);
            }
            match total {
                Some(n) if have == n => return Ok(n),
                Some(n) if have > n => return Err(invalid("bytes after the response")),
                _ => {}
            }
            match self.stream.read(&mut self.buf[have..]) {
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(k) => have += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Ends an MS-simulator session politely (`TPM_SESSION_END`); no-op for swtpm.
    pub fn close(mut self) -> io::Result<()> {
        if self.mssim {
            self.stream.write_all(&mssim::SESSION_END.to_be_bytes())?;
        }
        Ok(())
    }
}
