//! SIGINT/SIGTERM: blocked in every thread and taken synchronously by one waiter thread
//! (`sigwait`), which asks the server to stop. No async-signal-safety concerns arise because no
//! handler ever runs.

use super::{Shared, Stop};
use std::io;
use std::mem::MaybeUninit;
use std::sync::Arc;

fn termination_set() -> io::Result<libc::sigset_t> {
    let mut set = MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: sigemptyset initializes the set it is given; we pass a valid, writable pointer.
    if unsafe { libc::sigemptyset(set.as_mut_ptr()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: the set was initialized by sigemptyset above; the signal numbers are valid.
        if unsafe { libc::sigaddset(set.as_mut_ptr(), sig) } != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    // SAFETY: initialized by sigemptyset/sigaddset above.
    Ok(unsafe { set.assume_init() })
}

/// Blocks SIGINT and SIGTERM in the calling thread; threads spawned afterwards inherit the mask.
pub fn block_termination() -> io::Result<()> {
    let set = termination_set()?;
    // SAFETY: `set` is a valid signal set; a null old-set pointer is allowed.
    let rc = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
    if rc != 0 {
        return Err(io::Error::from_raw_os_error(rc));
    }
    Ok(())
}

/// Starts the thread that waits for SIGINT/SIGTERM and requests a stop.
pub fn spawn_waiter(shared: Arc<Shared>) -> io::Result<()> {
    let set = termination_set()?;
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || loop {
            let mut sig: libc::c_int = 0;
            // SAFETY: `set` is a valid signal set whose signals are blocked in every thread (the
            // caller ran block_termination before spawning any); `sig` is a valid out-pointer.
            let rc = unsafe { libc::sigwait(&set, &mut sig) };
            if rc == 0 {
                log::info!("received signal {sig}");
                shared.request_stop(Stop::Signal(sig));
                return;
            }
        })?;
    Ok(())
}
