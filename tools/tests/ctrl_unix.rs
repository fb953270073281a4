//! `evtpm serve --ctrl unix:PATH`: the control channel as QEMU's `-tpmdev emulator` drives it,
//! with the data channel passed as a socketpair end over SCM_RIGHTS (`CMD_SET_DATAFD`).

mod common;
use common::*;
use std::io::{self, Read, Write};
use std::mem::{size_of, MaybeUninit};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::Duration;

const CMD_GET_CAPABILITY: u32 = 1;
const CMD_INIT: u32 = 2;
const CMD_SET_LOCALITY: u32 = 5;
const CMD_STOP: u32 = 0x0e;
const CMD_SET_DATAFD: u32 = 0x10;
const CMD_SET_BUFFERSIZE: u32 = 0x11;

/// Sends `data` with `fd` attached (SCM_RIGHTS), in one sendmsg, as QEMU's chardev does.
fn send_with_fd(sock: &UnixStream, data: &[u8], fd: RawFd) -> io::Result<()> {
    let mut control = [0u64; 4];
    let mut iov = libc::iovec {
        iov_base: data.as_ptr() as *mut libc::c_void,
        iov_len: data.len(),
    };
    // SAFETY: msghdr is plain old data; all-zero is a valid empty value.
    let mut msg: libc::msghdr = unsafe { MaybeUninit::zeroed().assume_init() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    // SAFETY: CMSG_SPACE is a pure size computation.
    msg.msg_controllen = unsafe { libc::CMSG_SPACE(size_of::<RawFd>() as u32) } as _;
    // SAFETY: `msg` has a control buffer of msg_controllen bytes, so the first header fits.
    let cmsg = unsafe { libc::CMSG_FIRSTHDR(&msg) };
    assert!(!cmsg.is_null());
    // SAFETY: `cmsg` points at a properly aligned header inside `control`; its data area holds
    // one int (CMSG_SPACE above reserved it).
    unsafe {
        (*cmsg).cmsg_level = libc::SOL_SOCKET;
        (*cmsg).cmsg_type = libc::SCM_RIGHTS;
        (*cmsg).cmsg_len = libc::CMSG_LEN(size_of::<RawFd>() as u32) as _;
        libc::CMSG_DATA(cmsg).cast::<RawFd>().write_unaligned(fd);
    }
    // SAFETY: `msg` references `iov` (over `data`) and `control`, both live for the call.
    let n = unsafe { libc::sendmsg(sock.as_raw_fd(), &msg, 0) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    assert_eq!(n as usize, data.len());
    Ok(())
}

fn sock_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("evtpm-test-{}-{name}.sock", std::process::id()))
}

fn connect(path: &PathBuf) -> UnixStream {
    let s = UnixStream::connect(path).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

/// QEMU's sequence: SET_DATAFD, GET_CAPABILITY, STOP + SET_BUFFERSIZE, INIT, SET_LOCALITY (the
/// whole 4-byte union), then TPM commands over the socketpair.
#[test]
fn qemu_style_data_fd_over_scm_rights() {
    let path = sock_path("qemu");
    let srv = Server::start(&["serve", "--ctrl", &format!("unix:{}", path.display())]);
    assert_eq!(srv.addrs["ctrl"], format!("unix:{}", path.display()));
    let mut c = connect(&path);
    let (mut ours, theirs) = UnixStream::pair().unwrap();
    ours.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    send_with_fd(&c, &words(&[CMD_SET_DATAFD]), theirs.as_raw_fd()).unwrap();
    drop(theirs);
    let mut r = [0u8; 4];
    c.read_exact(&mut r).unwrap();
    assert_eq!(be32(&r), 0, "SET_DATAFD");

    let caps = ctrl(&mut c, CMD_GET_CAPABILITY, &[], 8);
    let caps = be32(&caps[4..]);
    assert_eq!(caps & 0x348F, 0x348F, "QEMU's minimum for TPM 2: {caps:#x}");
    assert_eq!(ctrl(&mut c, CMD_STOP, &[], 4), words(&[0]));
    assert_eq!(
        ctrl(&mut c, CMD_SET_BUFFERSIZE, &words(&[4096]), 16),
        words(&[0, 4096, 4096, 4096])
    );
    assert_eq!(ctrl(&mut c, CMD_INIT, &words(&[0]), 4), words(&[0]));
    assert_eq!(
        ctrl(&mut c, CMD_SET_LOCALITY, &[0, 0, 0, 0], 4),
        words(&[0])
    );

    check_response(&swtpm_send(&mut ours, &STARTUP_CLEAR));
    for _ in 0..50 {
        check_response(&swtpm_send(&mut ours, &GET_RANDOM_8));
    }
    // A second data descriptor on the same control connection: TPM_IOERROR.
    let (_a, b) = UnixStream::pair().unwrap();
    send_with_fd(&c, &words(&[CMD_SET_DATAFD]), b.as_raw_fd()).unwrap();
    c.read_exact(&mut r).unwrap();
    assert_eq!(be32(&r), 0x1f);
    // The data channel outlives further control traffic.
    check_response(&swtpm_send(&mut ours, &GET_RANDOM_8));
    drop(srv);
    let _ = std::fs::remove_file(&path);
}

#[test]
fn set_datafd_rejects_missing_and_non_socket_descriptors() {
    let path = sock_path("bad");
    let mut srv = Server::start(&["serve", "--ctrl", &format!("unix:{}", path.display())]);
    let mut c = connect(&path);
    assert_eq!(
        ctrl(&mut c, CMD_SET_DATAFD, &[], 4),
        words(&[3]),
        "no descriptor"
    );
    let file = std::fs::File::open("/dev/null").unwrap();
    send_with_fd(&c, &words(&[CMD_SET_DATAFD]), file.as_raw_fd()).unwrap();
    let mut r = [0u8; 4];
    c.read_exact(&mut r).unwrap();
    assert_eq!(be32(&r), 3, "not a socket");
    // A descriptor attached to some other command is closed, not leaked or used.
    let (_a, b) = UnixStream::pair().unwrap();
    send_with_fd(&c, &words(&[CMD_GET_CAPABILITY]), b.as_raw_fd()).unwrap();
    let mut caps = [0u8; 8];
    c.read_exact(&mut caps).unwrap();
    assert_eq!(be32(&caps), 0);
    // Garbage: unknown command answered, server alive.
    c.write_all(&[0xFF; 40]).unwrap();
    c.read_exact(&mut r).unwrap();
    assert_eq!(be32(&r), 10);
    assert!(srv.is_running());
    drop(srv);
    let _ = std::fs::remove_file(&path);
}

#[test]
fn unix_ctrl_with_tcp_data_channel_shares_the_locality() {
    let path = sock_path("mixed");
    let srv = Server::start(&[
        "serve",
        "--swtpm",
        "127.0.0.1:0",
        "--ctrl",
        &format!("unix:{}", path.display()),
    ]);
    assert!(!srv.addrs.contains_key("ctrl") || srv.addrs["ctrl"].starts_with("unix:"));
    let mut c = connect(&path);
    assert_eq!(ctrl(&mut c, CMD_SET_LOCALITY, &[1], 4), words(&[0]));
    let mut d = srv.connect("swtpm");
    check_response(&swtpm_send(&mut d, &GET_RANDOM_8));
    drop(srv);
    let _ = std::fs::remove_file(&path);
}
