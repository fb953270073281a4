//! A small DER reader and writer (ITU-T X.690), just what X.509 certificates need.
//!
//! The reader takes untrusted bytes: every length is checked against what is left, only
//! definite lengths and single-byte tags are accepted, and nothing is allocated. It is lenient
//! where real AMD certificates are unusual but harmless (an INTEGER serial number 0), and strict
//! where a lax reading could change the meaning (lengths, nesting).
//!
//! The writer uses only `core` and `alloc` so [`crate::ek_cert::build`] can move into a
//! `no_std` crate unchanged.

use alloc::vec::Vec;
use core::fmt;

pub const BOOLEAN: u8 = 0x01;
pub const INTEGER: u8 = 0x02;
pub const BIT_STRING: u8 = 0x03;
pub const OCTET_STRING: u8 = 0x04;
pub const NULL: u8 = 0x05;
pub const OID: u8 = 0x06;
pub const UTF8_STRING: u8 = 0x0C;
pub const PRINTABLE_STRING: u8 = 0x13;
pub const IA5_STRING: u8 = 0x16;
pub const UTC_TIME: u8 = 0x17;
pub const GENERALIZED_TIME: u8 = 0x18;
pub const SEQUENCE: u8 = 0x30;
pub const SET: u8 = 0x31;

/// Context-specific constructed tag `[n]`.
pub const fn context(n: u8) -> u8 {
    0xA0 | n
}

/// Why DER bytes were refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    Truncated,
    BadLength,
    HighTag,
    /// Expected this tag, found the other.
    Tag {
        want: u8,
        got: u8,
    },
    TrailingData,
    Invalid(&'static str),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Truncated => f.write_str("DER: truncated"),
            Error::BadLength => f.write_str("DER: bad length"),
            Error::HighTag => f.write_str("DER: multi-byte tag"),
            Error::Tag { want, got } => write!(f, "DER: expected tag {want:#04x}, got {got:#04x}"),
            Error::TrailingData => f.write_str("DER: trailing data"),
            Error::Invalid(what) => write!(f, "DER: invalid {what}"),
        }
    }
}

/// One tag-length-value: `raw` is the whole encoding, `value` the contents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tlv<'a> {
    pub tag: u8,
    pub value: &'a [u8],
    pub raw: &'a [u8],
}

/// Reads consecutive TLVs from a byte slice.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Reader { data }
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    pub fn peek_tag(&self) -> Option<u8> {
        self.data.first().copied()
    }

    /// Reads the next TLV.
    pub fn read(&mut self) -> Result<Tlv<'a>, Error> {
        let d = self.data;
        let tag = *d.first().ok_or(Error::Truncated)?;
        if tag & 0x1F == 0x1F {
            return Err(Error::HighTag);
        }
        let first = *d.get(1).ok_or(Error::Truncated)?;
        let (len, header) = if first < 0x80 {
            (usize::from(first), 2)
        } else {
            let n = usize::from(first & 0x7F);
            // 0x80 is BER's indefinite length; more than 4 length bytes is no certificate.
            if n == 0 || n > 4 {
                return Err(Error::BadLength);
            }
            let bytes = d.get(2..2 + n).ok_or(Error::Truncated)?;
            let len = bytes
                .iter()
                .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
            (len, 2 + n)
        };
        let end = header.checked_add(len).ok_or(Error::BadLength)?;
        let raw = d.get(..end).ok_or(Error::Truncated)?;
        self.data = &d[end..];
        Ok(Tlv {
            tag,
            value: &raw[header..],
            raw,
        })
    }

    /// Reads the next TLV, which must carry `tag`; returns its contents.
    pub fn expect(&mut self, tag: u8) -> Result<&'a [u8], Error> {
        Ok(self.expect_tlv(tag)?.value)
    }

    pub fn expect_tlv(&mut self, tag: u8) -> Result<Tlv<'a>, Error> {
        let t = self.read()?;
        if t.tag != tag {
            return Err(Error::Tag {
                want: tag,
                got: t.tag,
            });
        }
        Ok(t)
    }

    /// Reads the next TLV if it carries `tag`.
    pub fn optional(&mut self, tag: u8) -> Result<Option<&'a [u8]>, Error> {
        if self.peek_tag() == Some(tag) {
            Ok(Some(self.expect(tag)?))
        } else {
            Ok(None)
        }
    }

    /// Fails unless everything was read.
    pub fn finish(&self) -> Result<(), Error> {
        if self.data.is_empty() {
            Ok(())
        } else {
            Err(Error::TrailingData)
        }
    }
}

/// Parses `data` as exactly one TLV with `tag` and returns its contents.
pub fn single(data: &[u8], tag: u8) -> Result<&[u8], Error> {
    let mut r = Reader::new(data);
    let v = r.expect(tag)?;
    r.finish()?;
    Ok(v)
}

/// The contents of a BIT STRING with no unused bits.
pub fn bit_string_bytes(value: &[u8]) -> Result<&[u8], Error> {
    match value.split_first() {
        Some((0, rest)) => Ok(rest),
        _ => Err(Error::Invalid("BIT STRING")),
    }
}

/// An unsigned INTEGER's magnitude: leading zero bytes removed; negative numbers refused.
pub fn uint_bytes(value: &[u8]) -> Result<&[u8], Error> {
    match value.first() {
        None => Err(Error::Invalid("INTEGER")),
        Some(b) if b & 0x80 != 0 => Err(Error::Invalid("negative INTEGER")),
        _ => {
            let zeros = value.iter().take_while(|&&b| b == 0).count();
            Ok(&value[zeros..])
        }
    }
}

/// A small non-negative INTEGER as a `u64`.
pub fn uint_u64(value: &[u8]) -> Result<u64, Error> {
    let mag = uint_bytes(value)?;
    if mag.len() > 8 {
        return Err(Error::Invalid("INTEGER too large"));
    }
    Ok(mag.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
}

/// Encodes an OBJECT IDENTIFIER's contents from its arcs (`const`-friendly callers keep the
/// encoded bytes instead).
pub fn encode_oid(arcs: &[u128]) -> Vec<u8> {
    let mut out = Vec::new();
    let (first, rest) = match arcs {
        [a, b, rest @ ..] => (a * 40 + b, rest),
        [a] => (a * 40, &[][..]),
        [] => return out,
    };
    for arc in core::iter::once(first).chain(rest.iter().copied()) {
        let mut tmp = [0u8; 19];
        let mut n = 0;
        let mut v = arc;
        loop {
            tmp[n] = (v & 0x7F) as u8;
            n += 1;
            v >>= 7;
            if v == 0 {
                break;
            }
        }
        for i in (0..n).rev() {
            out.push(tmp[i] | if i > 0 { 0x80 } else { 0 });
        }
    }
    out
}

/// Writes DER: each call appends one TLV; `constructed` nests.
#[derive(Debug, Default)]
pub struct Writer {
    out: Vec<u8>,
}

impl Writer {
    pub fn new() -> Self {
        Writer { out: Vec::new() }
    }

    pub fn into_vec(self) -> Vec<u8> {
        self.out
    }

    fn header(&mut self, tag: u8, len: usize) {
        self.out.push(tag);
        if len < 0x80 {
            self.out.push(len as u8);
        } else {
            let bytes = (len as u64).to_be_bytes();
            let skip = bytes.iter().take_while(|&&b| b == 0).count();
            self.out.push(0x80 | (8 - skip) as u8);
            self.out.extend_from_slice(&bytes[skip..]);
        }
    }

    /// A primitive TLV with the given contents.
    pub fn tlv(&mut self, tag: u8, value: &[u8]) -> &mut Self {
        self.header(tag, value.len());
        self.out.extend_from_slice(value);
        self
    }

    /// Pre-encoded bytes, appended as they are.
    pub fn raw(&mut self, der: &[u8]) -> &mut Self {
        self.out.extend_from_slice(der);
        self
    }

    /// A constructed TLV whose contents `f` writes.
    pub fn constructed(&mut self, tag: u8, f: impl FnOnce(&mut Writer)) -> &mut Self {
        let mut inner = Writer::new();
        f(&mut inner);
        self.tlv(tag, &inner.out)
    }

    pub fn sequence(&mut self, f: impl FnOnce(&mut Writer)) -> &mut Self {
        self.constructed(SEQUENCE, f)
    }

    /// A non-negative INTEGER from big-endian magnitude bytes (minimal encoding).
    pub fn uint(&mut self, magnitude: &[u8]) -> &mut Self {
        let zeros = magnitude.iter().take_while(|&&b| b == 0).count();
        let m = &magnitude[zeros..];
        let mut v = Vec::with_capacity(m.len() + 1);
        if !matches!(m.first(), Some(b) if b & 0x80 == 0) {
            v.push(0);
        }
        v.extend_from_slice(m);
        self.tlv(INTEGER, &v)
    }

    pub fn oid(&mut self, encoded: &[u8]) -> &mut Self {
        self.tlv(OID, encoded)
    }

    /// A BIT STRING with no unused bits.
    pub fn bit_string(&mut self, bytes: &[u8]) -> &mut Self {
        self.header(BIT_STRING, bytes.len() + 1);
        self.out.push(0);
        self.out.extend_from_slice(bytes);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_reads_nested_tlvs_and_refuses_overruns() {
        let der = [0x30, 0x06, 0x02, 0x01, 0x05, 0x04, 0x01, 0xAA];
        let mut r = Reader::new(&der);
        let seq = r.expect(SEQUENCE).unwrap();
        r.finish().unwrap();
        let mut inner = Reader::new(seq);
        assert_eq!(uint_u64(inner.expect(INTEGER).unwrap()), Ok(5));
        assert_eq!(inner.expect(OCTET_STRING).unwrap(), &[0xAA]);
        assert!(inner.is_empty());
        assert_eq!(
            Reader::new(&[0x30, 0x05, 0x02]).read(),
            Err(Error::Truncated)
        );
        assert_eq!(Reader::new(&[0x30, 0x80]).read(), Err(Error::BadLength));
        assert_eq!(
            Reader::new(&[0x30, 0x85, 1, 1, 1, 1, 1]).read(),
            Err(Error::BadLength)
        );
        assert_eq!(
            Reader::new(&[0x30, 0x84, 0xFF, 0xFF, 0xFF, 0xFF]).read(),
            Err(Error::Truncated)
        );
        assert_eq!(Reader::new(&[0x1F, 0x01, 0x00]).read(), Err(Error::HighTag));
    }

    #[test]
    fn integers_are_unsigned_magnitudes() {
        assert_eq!(uint_bytes(&[0x00]), Ok(&[][..]));
        assert_eq!(uint_bytes(&[0x00, 0x80]), Ok(&[0x80][..]));
        assert!(uint_bytes(&[0x80]).is_err());
        assert!(uint_bytes(&[]).is_err());
        assert!(uint_u64(&[1; 9]).is_err());
    }

    #[test]
    fn writer_round_trips_through_the_reader() {
        let mut w = Writer::new();
        w.sequence(|w| {
            w.uint(&[0x00, 0x80])
                .oid(&encode_oid(&[1, 2, 840, 113549, 1, 1, 10]));
            w.tlv(OCTET_STRING, &[7u8; 300]);
        });
        let der = w.into_vec();
        let seq = single(&der, SEQUENCE).unwrap();
        let mut r = Reader::new(seq);
        assert_eq!(r.expect(INTEGER).unwrap(), &[0x00, 0x80]);
        assert_eq!(
            r.expect(OID).unwrap(),
            &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x0A]
        );
        assert_eq!(r.expect(OCTET_STRING).unwrap().len(), 300);
        r.finish().unwrap();
    }
}
