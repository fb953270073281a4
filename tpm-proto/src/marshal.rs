//! Bounds-checked marshalling (TPM 2.0 Part 2, section 5: all integers big-endian, no padding).
//!
//! [`Reader`] is a cursor over untrusted bytes; every read is checked and a short buffer is
//! `TPM_RC_INSUFFICIENT`, as in the reference implementation's `UINT*_Unmarshal`. Structures
//! borrow byte strings from the input instead of copying them. [`Writer`] writes into a buffer the
//! caller owns and reports overflow instead of growing.

use crate::rc::Rc;

/// A bounds-checked cursor over untrusted input.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub const fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// Bytes not yet consumed.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// True when all input has been consumed.
    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// Offset of the next byte from the start of the input.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// The unconsumed input, without consuming it.
    pub fn rest(&self) -> &'a [u8] {
        &self.buf[self.pos..]
    }

    /// Consumes and returns `n` bytes, or `TPM_RC_INSUFFICIENT`.
    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8], Rc> {
        if n > self.remaining() {
            return Err(Rc::Insufficient);
        }
        let out = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    /// Consumes exactly `N` bytes into an array.
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], Rc> {
        let b = self.bytes(N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(b);
        Ok(out)
    }

    pub fn u8(&mut self) -> Result<u8, Rc> {
        Ok(self.array::<1>()?[0])
    }

    pub fn u16(&mut self) -> Result<u16, Rc> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    pub fn u32(&mut self) -> Result<u32, Rc> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    pub fn u64(&mut self) -> Result<u64, Rc> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    /// Splits off a sub-reader over the next `n` bytes (for size-prefixed structures).
    pub fn sub(&mut self, n: usize) -> Result<Reader<'a>, Rc> {
        Ok(Reader::new(self.bytes(n)?))
    }

    /// Reads one value of type `T`.
    pub fn read<T: Unmarshal<'a>>(&mut self) -> Result<T, Rc> {
        T::unmarshal(self)
    }

    /// Runs `f` and also returns the exact bytes it consumed: what a Name or a signature is
    /// computed over (`TPMT_PUBLIC`, `TPMS_NV_PUBLIC`, `TPMS_ATTEST`), without re-marshalling.
    pub fn with_raw<T>(
        &mut self,
        f: impl FnOnce(&mut Reader<'a>) -> Result<T, Rc>,
    ) -> Result<(T, &'a [u8]), Rc> {
        let start = self.pos;
        let v = f(self)?;
        // `start <= self.pos <= buf.len()`: the cursor only moves forward and stays in bounds.
        let raw = self.buf.get(start..self.pos).unwrap_or_default();
        Ok((v, raw))
    }
}

/// The buffer given to a [`Writer`] was too small.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteError;

/// Writes big-endian values into a caller-owned buffer.
#[derive(Debug)]
pub struct Writer<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl<'a> Writer<'a> {
    pub fn new(buf: &'a mut [u8]) -> Self {
        Writer { buf, pos: 0 }
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.pos
    }

    pub fn is_empty(&self) -> bool {
        self.pos == 0
    }

    /// Room left.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// The bytes written so far.
    pub fn written(&self) -> &[u8] {
        &self.buf[..self.pos]
    }

    /// Mutable access to the bytes written so far (to patch sizes or encrypt in place).
    pub fn written_mut(&mut self) -> &mut [u8] {
        &mut self.buf[..self.pos]
    }

    pub fn bytes(&mut self, b: &[u8]) -> Result<(), WriteError> {
        if b.len() > self.remaining() {
            return Err(WriteError);
        }
        self.buf[self.pos..self.pos + b.len()].copy_from_slice(b);
        self.pos += b.len();
        Ok(())
    }

    pub fn u8(&mut self, v: u8) -> Result<(), WriteError> {
        self.bytes(&[v])
    }

    pub fn u16(&mut self, v: u16) -> Result<(), WriteError> {
        self.bytes(&v.to_be_bytes())
    }

    pub fn u32(&mut self, v: u32) -> Result<(), WriteError> {
        self.bytes(&v.to_be_bytes())
    }

    pub fn u64(&mut self, v: u64) -> Result<(), WriteError> {
        self.bytes(&v.to_be_bytes())
    }

    /// Writes a `u16` size prefix followed by `b` (any `TPM2B`).
    pub fn sized(&mut self, b: &[u8]) -> Result<(), WriteError> {
        let n = u16::try_from(b.len()).map_err(|_| WriteError)?;
        self.u16(n)?;
        self.bytes(b)
    }

    /// Writes a `u16` size placeholder, runs `f`, then patches in the number of bytes `f` wrote
    /// (for `TPM2B` wrappers of structures such as `TPM2B_PUBLIC`).
    pub fn sized_with(
        &mut self,
        f: impl FnOnce(&mut Writer<'a>) -> Result<(), WriteError>,
    ) -> Result<(), WriteError> {
        let at = self.pos;
        self.u16(0)?;
        f(self)?;
        let n = u16::try_from(self.pos - at - 2).map_err(|_| WriteError)?;
        self.buf[at..at + 2].copy_from_slice(&n.to_be_bytes());
        Ok(())
    }

    /// Writes one value.
    pub fn write<T: Marshal + ?Sized>(&mut self, v: &T) -> Result<(), WriteError> {
        v.marshal(self)
    }

    /// Reserves `n` bytes to be filled later; returns their offset.
    pub fn reserve(&mut self, n: usize) -> Result<usize, WriteError> {
        if n > self.remaining() {
            return Err(WriteError);
        }
        let at = self.pos;
        self.buf[at..at + n].fill(0);
        self.pos += n;
        Ok(at)
    }

    /// Overwrites already-written bytes at `at`.
    pub fn patch(&mut self, at: usize, b: &[u8]) -> Result<(), WriteError> {
        let end = at.checked_add(b.len()).ok_or(WriteError)?;
        if end > self.pos {
            return Err(WriteError);
        }
        self.buf[at..end].copy_from_slice(b);
        Ok(())
    }
}

/// Reads a value from untrusted input. Failure is the `TPM_RC` the reference returns.
pub trait Unmarshal<'a>: Sized {
    fn unmarshal(r: &mut Reader<'a>) -> Result<Self, Rc>;

    /// Unmarshals from a whole buffer, requiring that every byte is consumed
    /// (`TPM_RC_SIZE` otherwise, as for a size-prefixed structure with trailing bytes).
    fn from_bytes(b: &'a [u8]) -> Result<Self, Rc> {
        let mut r = Reader::new(b);
        let v = Self::unmarshal(&mut r)?;
        if !r.is_empty() {
            return Err(Rc::Size);
        }
        Ok(v)
    }
}

/// A type whose Part 2 interface has a `+` form (`TPMI_ALG_HASH+`, `TPMT_SYM_DEF+`,
/// `TPMI_RH_HIERARCHY+`, ...): the reference's `allowNull` flag, which lets `TPM_ALG_NULL` or
/// `TPM_RH_NULL` (for `TPMI_SH_AUTH_SESSION+`, `TPM_RS_PW`) through. [`Unmarshal`] on such a type is
/// the strict form.
pub trait UnmarshalNullable<'a>: Sized {
    fn unmarshal_nullable(r: &mut Reader<'a>, allow_null: bool) -> Result<Self, Rc>;
}

/// The `+` form of `T` as a parameter type: unmarshals with `allow_null` set.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct AllowNull<T>(pub T);

impl<'a, T: UnmarshalNullable<'a>> Unmarshal<'a> for AllowNull<T> {
    fn unmarshal(r: &mut Reader<'a>) -> Result<Self, Rc> {
        T::unmarshal_nullable(r, true).map(AllowNull)
    }
}

impl<T: Marshal> Marshal for AllowNull<T> {
    fn marshal(&self, w: &mut Writer<'_>) -> Result<(), WriteError> {
        self.0.marshal(w)
    }
}

/// Writes a value in TPM wire format.
pub trait Marshal {
    fn marshal(&self, w: &mut Writer<'_>) -> Result<(), WriteError>;

    /// Marshals into `buf`, returning the number of bytes written.
    fn to_bytes(&self, buf: &mut [u8]) -> Result<usize, WriteError> {
        let mut w = Writer::new(buf);
        self.marshal(&mut w)?;
        Ok(w.len())
    }
}

macro_rules! int_impl {
    ($($t:ident),*) => {$(
        impl<'a> Unmarshal<'a> for $t {
            fn unmarshal(r: &mut Reader<'a>) -> Result<Self, Rc> {
                r.$t()
            }
        }
        impl Marshal for $t {
            fn marshal(&self, w: &mut Writer<'_>) -> Result<(), WriteError> {
                w.$t(*self)
            }
        }
    )*};
}
int_impl!(u8, u16, u32, u64);

impl Marshal for [u8] {
    fn marshal(&self, w: &mut Writer<'_>) -> Result<(), WriteError> {
        w.bytes(self)
    }
}

impl<T: Marshal + ?Sized> Marshal for &T {
    fn marshal(&self, w: &mut Writer<'_>) -> Result<(), WriteError> {
        (**self).marshal(w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_input_is_insufficient() {
        let mut r = Reader::new(&[1, 2, 3]);
        assert_eq!(r.u32(), Err(Rc::Insufficient));
        assert_eq!(r.u16(), Ok(0x0102));
        assert_eq!(r.u16(), Err(Rc::Insufficient));
        assert_eq!(r.u8(), Ok(3));
        assert!(r.is_empty());
    }

    #[test]
    fn writer_refuses_to_overflow() {
        let mut buf = [0u8; 3];
        let mut w = Writer::new(&mut buf);
        assert_eq!(w.u16(0xABCD), Ok(()));
        assert_eq!(w.u16(1), Err(WriteError));
        assert_eq!(w.u8(7), Ok(()));
        assert_eq!(w.written(), &[0xAB, 0xCD, 7]);
    }

    #[test]
    fn sized_with_patches_length() {
        let mut buf = [0u8; 8];
        let mut w = Writer::new(&mut buf);
        w.sized_with(|w| w.u32(0xDEADBEEF)).unwrap();
        assert_eq!(w.written(), &[0, 4, 0xDE, 0xAD, 0xBE, 0xEF]);
    }
}
