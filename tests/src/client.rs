//! A raw TPM client: command bytes in, response bytes out, over the mssim or swtpm data socket,
//! plus the platform channel (power cycle, locality).

use crate::{hexs, Endpoint, Protocol, Server};
use std::fmt;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Duration;
use tpm_proto::framing::mssim;
use tpm_proto::{Rc, St};

/// How long to wait for any response before declaring the server stuck.
const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// swtpm control-channel commands (`swtpm/include/swtpm/tpm_ioctl.h`).
pub mod swtpm_ctrl {
    /// `CMD_INIT`: u32 flags in, u32 result out. Re-initialises the TPM (a power cycle).
    pub const CMD_INIT: u32 = 2;
    /// `CMD_SET_LOCALITY`: u8 locality in, u32 result out.
    pub const CMD_SET_LOCALITY: u32 = 5;
}

/// A TPM response.
#[derive(Clone, PartialEq, Eq)]
pub struct Response(pub Vec<u8>);

impl Response {
    pub fn bytes(&self) -> &[u8] {
        &self.0
    }

    /// The response tag (`TPM_ST`), or 0 if the response is shorter than a header.
    pub fn tag(&self) -> u16 {
        self.0
            .get(..2)
            .map_or(0, |b| u16::from_be_bytes([b[0], b[1]]))
    }

    /// The size field of the header.
    pub fn size_field(&self) -> u32 {
        self.u32_at(2).unwrap_or(0)
    }

    /// The response code; `Rc(u32::MAX)` if the response is shorter than a header.
    pub fn rc(&self) -> Rc {
        Rc(self.u32_at(6).unwrap_or(u32::MAX))
    }

    /// Everything after the 10-byte header.
    pub fn body(&self) -> &[u8] {
        self.0.get(10..).unwrap_or(&[])
    }

    /// The response parameters: for a `TPM_ST_SESSIONS` response, after `handles` response
    /// handles and the `parameterSize` field, `parameterSize` bytes; otherwise everything after
    /// the handles.
    pub fn params(&self, handles: usize) -> &[u8] {
        let b = self.body().get(4 * handles..).unwrap_or(&[]);
        if self.tag() == St::Sessions.0 && b.len() >= 4 {
            let n = u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize;
            b.get(4..4 + n).unwrap_or(&b[4..])
        } else {
            b
        }
    }

    fn u32_at(&self, at: usize) -> Option<u32> {
        let b = self.0.get(at..at + 4)?;
        Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// Asserts success, naming the command.
    #[track_caller]
    pub fn ok(self, what: &str) -> Response {
        assert_eq!(self.rc(), Rc::Success, "{what}: {self:?}");
        self
    }
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Response {{ tag: {:#06x}, rc: {:?}, bytes: {} }}",
            self.tag(),
            self.rc(),
            hexs(&self.0)
        )
    }
}

/// A raw connection to a server's data port.
#[derive(Debug)]
pub struct Tpm {
    endpoint: Endpoint,
    port: u16,
    data: TcpStream,
    /// The locality sent with each mssim command (swtpm keeps it server-side).
    locality: u8,
}

impl Tpm {
    /// Connects to `server`'s data port.
    pub fn connect(server: &Server) -> Tpm {
        let data = connect(server.port())
            .unwrap_or_else(|e| panic!("{}: connect to data port: {e}", server.endpoint()));
        Tpm {
            endpoint: server.endpoint(),
            port: server.port(),
            data,
            locality: 0,
        }
    }

    pub fn endpoint(&self) -> Endpoint {
        self.endpoint
    }

    /// Sends `cmd` exactly as given (the mssim framing carries its true length) and returns the
    /// response. Panics, printing the command, if the server does not answer.
    #[track_caller]
    pub fn transact(&mut self, cmd: &[u8]) -> Response {
        match self.try_transact(cmd) {
            Ok(r) => r,
            Err(e) => panic!(
                "{}: no response to command {}: {e}",
                self.endpoint,
                hexs(cmd)
            ),
        }
    }

    /// Like [`Tpm::transact`], returning I/O errors (a closed connection, a timeout).
    pub fn try_transact(&mut self, cmd: &[u8]) -> io::Result<Response> {
        match self.endpoint.protocol() {
            Protocol::Mssim => {
                let mut frame = Vec::with_capacity(cmd.len() + 9);
                frame.extend_from_slice(&mssim::SEND_COMMAND.to_be_bytes());
                frame.push(self.locality);
                frame.extend_from_slice(&(cmd.len() as u32).to_be_bytes());
                frame.extend_from_slice(cmd);
                self.data.write_all(&frame)?;
                let n = read_u32(&mut self.data)? as usize;
                if n > 1 << 20 {
                    return Err(io::Error::other(format!("response size {n}")));
                }
                let mut rsp = vec![0; n];
                self.data.read_exact(&mut rsp)?;
                let ack = read_u32(&mut self.data)?;
                if ack != 0 {
                    return Err(io::Error::other(format!("mssim ack {ack:#x}")));
                }
                Ok(Response(rsp))
            }
            Protocol::Swtpm => {
                self.data.write_all(cmd)?;
                let mut rsp = vec![0; 10];
                self.data.read_exact(&mut rsp)?;
                let n = u32::from_be_bytes([rsp[2], rsp[3], rsp[4], rsp[5]]) as usize;
                if !(10..=1 << 20).contains(&n) {
                    return Err(io::Error::other(format!(
                        "bad response size {n}: {}",
                        hexs(&rsp)
                    )));
                }
                rsp.resize(n, 0);
                self.data.read_exact(&mut rsp[10..])?;
                Ok(Response(rsp))
            }
        }
    }

    /// Sends `TPM2_Startup(CLEAR)` and asserts success.
    #[track_caller]
    pub fn startup_clear(&mut self) {
        self.transact(&crate::cmd::startup(tpm_proto::Su::Clear))
            .ok("TPM2_Startup(CLEAR)");
    }

    /// Sets the locality of the following commands (mssim: carried with each command; swtpm:
    /// `CMD_SET_LOCALITY` on the control channel).
    #[track_caller]
    pub fn set_locality(&mut self, locality: u8) {
        match self.endpoint.protocol() {
            Protocol::Mssim => self.locality = locality,
            Protocol::Swtpm => {
                let r = self.control(swtpm_ctrl::CMD_SET_LOCALITY, &[locality]);
                assert_eq!(
                    r, 0,
                    "{}: CMD_SET_LOCALITY {locality}: result {r:#x}",
                    self.endpoint
                );
            }
        }
    }

    /// Power-cycles the TPM: mssim `TPM_SIGNAL_POWER_OFF` then `TPM_SIGNAL_POWER_ON`; swtpm
    /// `CMD_INIT` with no flags. The TPM then needs `TPM2_Startup`.
    #[track_caller]
    pub fn power_cycle(&mut self) {
        match self.endpoint.protocol() {
            Protocol::Mssim => {
                for signal in [mssim::SIGNAL_POWER_OFF, mssim::SIGNAL_POWER_ON] {
                    let r = self.control(signal, &[]);
                    assert_eq!(
                        r, 0,
                        "{}: mssim signal {signal}: result {r:#x}",
                        self.endpoint
                    );
                }
            }
            Protocol::Swtpm => {
                let r = self.control(swtpm_ctrl::CMD_INIT, &0u32.to_be_bytes());
                assert_eq!(r, 0, "{}: CMD_INIT: result {r:#x}", self.endpoint);
            }
        }
    }

    /// Sends one platform/control command (u32 code, payload) on port P+1 and returns the u32
    /// result.
    #[track_caller]
    pub fn control(&mut self, code: u32, payload: &[u8]) -> u32 {
        let go = || -> io::Result<u32> {
            let mut s = connect(self.port + 1)?;
            let mut msg = code.to_be_bytes().to_vec();
            msg.extend_from_slice(payload);
            s.write_all(&msg)?;
            read_u32(&mut s)
        };
        go().unwrap_or_else(|e| {
            panic!(
                "{}: platform command {code} on port {}: {e}",
                self.endpoint,
                self.port + 1
            )
        })
    }
}

fn connect(port: u16) -> io::Result<TcpStream> {
    let s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(IO_TIMEOUT))?;
    s.set_write_timeout(Some(IO_TIMEOUT))?;
    s.set_nodelay(true)?;
    Ok(s)
}

fn read_u32(s: &mut TcpStream) -> io::Result<u32> {
    let mut b = [0; 4];
    s.read_exact(&mut b)?;
    Ok(u32::from_be_bytes(b))
}
