//! Structures of TPM 2.0 Part 2 (sections 10 to 15), one type per structure, named after the
//! spec. Unmarshalling borrows byte strings from the input; every size and selector is checked
//! and rejected with the code the reference implementation returns.

#[macro_use]
mod macros;
mod basic;

pub use basic::*;
