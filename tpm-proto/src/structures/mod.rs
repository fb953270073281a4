//! Structures of TPM 2.0 Part 2 (sections 10 to 15), one type per structure, named after the
//! spec. Unmarshalling borrows byte strings from the input; every size and selector is checked
//! and rejected with the code the reference implementation returns.
//!
//! Table numbers cited as "table 2:N" follow the reference implementation's numbering
//! (`Marshal_fp.h`, Part 2 rev 1.38); later revisions shift them by a few.

#[macro_use]
mod macros;
mod algorithm;
mod attest;
mod basic;
mod capability;
mod context;
mod interface;
mod list;
mod nv;
mod public;
mod scheme;
mod sensitive;
mod signature;

pub use algorithm::*;
pub use attest::*;
pub use basic::*;
pub use capability::*;
pub use context::*;
pub use interface::*;
pub use list::*;
pub use nv::*;
pub use public::*;
pub use scheme::*;
pub use sensitive::*;
pub use signature::*;

use crate::marshal::Reader;
use crate::rc::Rc;

/// Unmarshals a size-prefixed structure (`TPM2B_PUBLIC`, `TPM2B_ECC_POINT`, ...) the way the
/// reference does: the structure is read from the enclosing buffer, then the bytes it consumed
/// must equal the size (`TPM_RC_SIZE` otherwise). A zero size is `TPM_RC_SIZE` unless
/// `allow_empty` (only `TPM2B_SENSITIVE`), in which case it is `None`.
pub(crate) fn read_sized<'a, T>(
    r: &mut Reader<'a>,
    allow_empty: bool,
    f: impl FnOnce(&mut Reader<'a>) -> Result<T, Rc>,
) -> Result<Option<T>, Rc> {
    let size = usize::from(r.u16()?);
    if size == 0 {
        return if allow_empty { Ok(None) } else { Err(Rc::Size) };
    }
    let start = r.position();
    let v = f(r)?;
    if r.position() - start != size {
        return Err(Rc::Size);
    }
    Ok(Some(v))
}
