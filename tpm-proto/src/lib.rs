//! TPM 2.0 wire format.
//!
//! This crate knows bytes, not semantics: the constants of TPM 2.0 Library Part 2, the structures
//! of Part 2 with bounds-checked unmarshalling that borrows from the input, the command table of
//! Part 3 (handle counts, authorization roles, parameter-encryption capability, `TPMA_CC`), and the
//! platform framings that carry TPM commands (the Microsoft simulator's TCP protocol and the SVSM
//! vTPM request of AMD 58019).
//!
//! Every unmarshalling failure is reported as the [`Rc`] a reference TPM returns, so the engine can
//! add the handle, parameter or session number and answer exactly as the reference does.
#![no_std]
#![forbid(unsafe_code)]

pub mod attributes;
pub mod command;
pub mod constants;
pub mod framing;
pub mod marshal;
pub mod rc;
pub mod roundtrip;
pub mod structures;

pub use attributes::*;
pub use constants::*;
pub use marshal::{AllowNull, Marshal, Reader, Unmarshal, UnmarshalNullable, WriteError, Writer};
pub use rc::Rc;
pub use structures::*;

/// Largest command or response this implementation accepts or produces (`TPM_PT_MAX_COMMAND_SIZE`,
/// `TPM_PT_MAX_RESPONSE_SIZE`).
pub const MAX_COMMAND_SIZE: usize = 4096;
/// See [`MAX_COMMAND_SIZE`].
pub const MAX_RESPONSE_SIZE: usize = 4096;
/// Size of the command and response header: tag (u16), size (u32), code (u32).
pub const HEADER_SIZE: usize = 10;
