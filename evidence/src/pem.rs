//! PEM (RFC 7468) blocks and the base64 alphabet they use.

use alloc::string::String;
use alloc::vec::Vec;

/// Decodes standard base64 (RFC 4648 §4), ignoring ASCII whitespace; padding optional.
pub fn base64_decode(s: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(s.len() / 4 * 3);
    let mut acc = 0u32;
    let mut bits = 0;
    let mut pad = 0;
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => {
                pad += 1;
                continue;
            }
            c if c.is_ascii_whitespace() => continue,
            _ => return Err("invalid base64".into()),
        };
        if pad > 0 {
            return Err("invalid base64: data after padding".into());
        }
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    if pad > 2 || bits >= 6 {
        return Err("invalid base64 length".into());
    }
    Ok(out)
}

/// Encodes standard base64 with padding.
pub fn base64_encode(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                s.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                s.push('=');
            }
        }
    }
    s
}

/// Every `-----BEGIN <label>-----` block's contents, in order.
pub fn decode_all(text: &str, label: &str) -> Result<Vec<Vec<u8>>, String> {
    let begin = alloc::format!("-----BEGIN {label}-----");
    let end = alloc::format!("-----END {label}-----");
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find(&begin) {
        let body = &rest[i + begin.len()..];
        let j = body
            .find(&end)
            .ok_or_else(|| alloc::format!("PEM: no {end}"))?;
        out.push(base64_decode(&body[..j])?);
        rest = &body[j + end.len()..];
    }
    Ok(out)
}

/// One PEM block.
pub fn encode(label: &str, der: &[u8]) -> String {
    let b64 = base64_encode(der);
    let mut s = alloc::format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        s.push_str(core::str::from_utf8(line).unwrap_or_default());
        s.push('\n');
    }
    s.push_str(&alloc::format!("-----END {label}-----\n"));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips_and_refuses_garbage() {
        for data in [&b""[..], b"f", b"fo", b"foo", b"foob", b"fooba", b"foobar"] {
            assert_eq!(base64_decode(&base64_encode(data)).unwrap(), data);
        }
        assert_eq!(base64_encode(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64_decode("Zm9v\nYg==").unwrap(), b"foob");
        assert!(base64_decode("Zm9v*").is_err());
        assert!(base64_decode("Z").is_err());
        assert!(base64_decode("Zg==Zg").is_err());
    }

    #[test]
    fn pem_blocks_are_found_in_order() {
        let text = alloc::format!(
            "junk\n{}{}",
            encode("CERTIFICATE", b"one"),
            encode("CERTIFICATE", b"two")
        );
        assert_eq!(
            decode_all(&text, "CERTIFICATE").unwrap(),
            [b"one".to_vec(), b"two".to_vec()]
        );
        assert!(decode_all("-----BEGIN CERTIFICATE-----\nZm9v", "CERTIFICATE").is_err());
    }
}
