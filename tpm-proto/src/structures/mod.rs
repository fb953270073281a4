//! Structures of TPM 2.0 Part 2 (sections 10 to 15), one type per structure, named after the
//! spec. Unmarshalling borrows byte strings from the input; every size and selector is checked
//! and rejected with the code the reference implementation returns.
//!
//! Table numbers cited as "table 2:N" follow the reference implementation's numbering
//! (`Marshal_fp.h`, Part 2 rev 1.38); later revisions shift them by a few.

#[macro_use]
mod macros;
mod algorithm;
mod basic;
mod interface;
mod list;
mod scheme;

pub use algorithm::*;
pub use basic::*;
pub use interface::*;
pub use list::*;
pub use scheme::*;
