//! evtpm's TPM 2.0 engine.
//!
//! [`Tpm::manufacture`] creates a TPM with fresh primary seeds drawn from the [`Platform`]'s
//! entropy source; [`Tpm::execute`] runs one command and is the only entry point for commands. It
//! never panics and always writes a well-formed response. The engine does no I/O: the platform
//! gives it entropy and a monotonic clock, and the host (`evtpm serve`) or the firmware (`svsm`)
//! moves the bytes.
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;

mod audit;
mod command;
mod commit;
mod context;
pub mod crypto;
mod da;
mod engine;
mod entity;
mod nv;
mod object;
mod pcr;
pub mod provision;
mod secret;
mod session;

pub use engine::{Config, ManufactureError, Platform, PlatformError, Tpm};
pub use object::primary::EkTemplate;
pub use tpm_proto::{MAX_COMMAND_SIZE, MAX_RESPONSE_SIZE};
