//! The swtpm control channel on a unix socket, as QEMU's `-tpmdev emulator,chardev=…` uses it:
//! QEMU connects, creates a socketpair and sends one end with `CMD_SET_DATAFD` (SCM_RIGHTS);
//! TPM commands then flow over that descriptor while control commands continue here.

use super::swtpm::{self, res, CtrlStream};
use super::{spawn_conn, Shared, SwtpmLocality};
use std::io;
use std::mem::{size_of, MaybeUninit};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::fs::FileTypeExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::sync::atomic::AtomicU8;
use std::sync::Arc;

/// File descriptors accepted per message; extra ones are closed.
const MAX_FDS: usize = 4;

/// Binds the control socket, replacing a stale socket file left by an earlier run (but never
/// any other kind of file).
pub fn bind(path: &Path) -> io::Result<UnixListener> {
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if !meta.file_type().is_socket() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{}: exists and is not a socket", path.display()),
            ));
        }
        std::fs::remove_file(path)?;
    }
    UnixListener::bind(path)
}

pub fn accept_loop(listener: UnixListener, sh: Arc<Shared>) {
    let mut seq = 0u64;
    for conn in listener.incoming() {
        let mut stream = match conn {
            Ok(s) => s,
            Err(e) => {
                log::warn!("ctrl unix: accept failed: {e}");
                std::thread::sleep(std::time::Duration::from_millis(50));
                continue;
            }
        };
        let Some(guard) = sh.admit() else {
            log::warn!("ctrl unix: refusing a connection: connection limit reached");
            continue;
        };
        if let Err(e) = configure(&stream, &sh) {
            log::warn!("ctrl unix: {e}");
            continue;
        }
        seq += 1;
        let sh = sh.clone();
        spawn_conn(guard, format!("ctrl-unix-{seq}"), move || {
            swtpm::serve_ctrl(&mut stream, &sh)
        });
    }
}

fn configure(s: &UnixStream, sh: &Shared) -> io::Result<()> {
    s.set_read_timeout(Some(super::POLL_INTERVAL))?;
    s.set_write_timeout(Some(sh.deadlines.frame))
}

/// Takes over a data descriptor received with `CMD_SET_DATAFD`: it must be a stream socket.
/// Serves it on its own thread with the locality of the control connection that sent it.
/// Returns the control-channel result.
pub fn start_data_channel(fd: OwnedFd, sh: &Arc<Shared>, locality: Arc<AtomicU8>) -> u32 {
    match socket_type(fd.as_fd()) {
        Ok(libc::SOCK_STREAM) => {}
        Ok(t) => {
            log::warn!("CMD_SET_DATAFD: socket type {t} is not SOCK_STREAM");
            return res::BAD_PARAMETER;
        }
        Err(e) => {
            log::warn!("CMD_SET_DATAFD: not a socket: {e}");
            return res::BAD_PARAMETER;
        }
    }
    let Some(guard) = sh.admit() else {
        log::warn!("CMD_SET_DATAFD: connection limit reached");
        return res::FAIL;
    };
    let mut stream = UnixStream::from(fd);
    if let Err(e) = configure(&stream, sh) {
        log::warn!("CMD_SET_DATAFD: {e}");
        return res::FAIL;
    }
    let sh = sh.clone();
    let fdno = stream.as_raw_fd();
    spawn_conn(guard, format!("data-fd-{fdno}"), move || {
        swtpm::serve_data(&mut stream, &sh, &SwtpmLocality::Ctrl(locality))
    });
    res::SUCCESS
}

/// `getsockopt(SO_TYPE)`.
fn socket_type(fd: BorrowedFd<'_>) -> io::Result<libc::c_int> {
    let mut ty: libc::c_int = 0;
    let mut len = size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `fd` is a live descriptor for the duration of the borrow; `ty` and `len` are
    // valid, writable and `len` holds the size of `ty`.
    let rc = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_TYPE,
            (&mut ty as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(ty)
}

impl CtrlStream for UnixStream {
    const PASSES_FDS: bool = true;

    fn recv_msg(&mut self, buf: &mut [u8]) -> io::Result<(usize, Option<OwnedFd>)> {
        recv_with_fd(self.as_raw_fd(), buf)
    }
}

/// `recvmsg` into `buf`, collecting SCM_RIGHTS descriptors. The first is returned; any others
/// are closed (each received descriptor is owned from the moment the kernel installs it).
fn recv_with_fd(fd: libc::c_int, buf: &mut [u8]) -> io::Result<(usize, Option<OwnedFd>)> {
    // Control buffer for up to MAX_FDS descriptors, u64-aligned as cmsghdr requires.
    let mut control = [0u64; 8];
    const _: () = assert!(size_of::<[u64; 8]>() >= 16 + MAX_FDS * size_of::<libc::c_int>());
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: msghdr is plain old data; all-zero is a valid (empty) value.
    let mut msg: libc::msghdr = unsafe { MaybeUninit::zeroed().assume_init() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = size_of::<[u64; 8]>() as _;
    // SAFETY: `msg` points at one iovec covering `buf` and at `control`, all live and writable
    // for the call; MSG_CMSG_CLOEXEC keeps received descriptors out of child processes.
    let n = unsafe { libc::recvmsg(fd, &mut msg, libc::MSG_CMSG_CLOEXEC) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut first = None;
    // SAFETY: `msg` was filled in by a successful recvmsg; CMSG_FIRSTHDR only reads its control
    // fields, which point into `control`.
    let mut cmsg = unsafe { libc::CMSG_FIRSTHDR(&msg) };
    while !cmsg.is_null() {
        // SAFETY: CMSG_FIRSTHDR/CMSG_NXTHDR return either null or a pointer to a complete,
        // aligned cmsghdr inside `control`.
        let hdr = unsafe { &*cmsg };
        if hdr.cmsg_level == libc::SOL_SOCKET && hdr.cmsg_type == libc::SCM_RIGHTS {
            // SAFETY: computing the header length of an empty payload has no preconditions.
            let payload =
                (hdr.cmsg_len as usize).saturating_sub(unsafe { libc::CMSG_LEN(0) } as usize);
            // SAFETY: `cmsg` is a valid header (above); its data follows within `control`.
            let data = unsafe { libc::CMSG_DATA(cmsg) }.cast::<libc::c_int>();
            for i in 0..payload / size_of::<libc::c_int>() {
                // SAFETY: `i` indexes within the payload the kernel wrote (cmsg_len bounds it);
                // the data may be unaligned for c_int, hence read_unaligned.
                let raw = unsafe { data.add(i).read_unaligned() };
                if raw < 0 {
                    continue;
                }
                // SAFETY: the kernel just installed `raw` in our descriptor table for us; nothing
                // else owns it.
                let owned = unsafe { OwnedFd::from_raw_fd(raw) };
                if first.is_none() {
                    first = Some(owned);
                }
            }
        }
        // SAFETY: `msg` and `cmsg` are valid as above; CMSG_NXTHDR bounds-checks against
        // msg_controllen and returns null past the end.
        cmsg = unsafe { libc::CMSG_NXTHDR(&msg, cmsg) };
    }
    if msg.msg_flags & libc::MSG_CTRUNC != 0 {
        log::warn!("control message truncated: more than {MAX_FDS} descriptors sent");
    }
    Ok((n as usize, first))
}
