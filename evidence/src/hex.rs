//! Lower-case hex, as reports and measurements are written.

use alloc::string::String;
use alloc::vec::Vec;

pub fn encode(data: &[u8]) -> String {
    use core::fmt::Write;
    let mut s = String::with_capacity(data.len() * 2);
    for b in data {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Decodes hex digits (either case); surrounding whitespace is ignored.
pub fn decode(s: &str) -> Result<Vec<u8>, String> {
    let s = s.trim();
    let s = s.strip_prefix("0x").unwrap_or(s);
    if s.len() & 1 == 1 {
        return Err("odd number of hex digits".into());
    }
    let nib = |c: u8| match c {
        b'0'..=b'9' => Ok(c - b'0'),
        b'a'..=b'f' => Ok(c - b'a' + 10),
        b'A'..=b'F' => Ok(c - b'A' + 10),
        _ => Err(String::from("not a hex digit")),
    };
    s.as_bytes()
        .chunks(2)
        .map(|p| Ok(nib(p[0])? << 4 | nib(p[1])?))
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn hex_round_trips() {
        assert_eq!(super::encode(&[0x00, 0xAB]), "00ab");
        assert_eq!(super::decode(" 00Ab\n").unwrap(), [0x00, 0xAB]);
        assert!(super::decode("abc").is_err());
        assert!(super::decode("zz").is_err());
        assert_eq!(super::decode("").unwrap(), Vec::<u8>::new());
    }
}
