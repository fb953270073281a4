//! `TCB_VERSION` (SNP ABI spec, table "TCB_VERSION Structure"; the Turin layout from ABI 1.56+)
//! and the product it depends on.
//!
//! Milan and Genoa: byte 0 BOOT_LOADER, 1 TEE, 2..5 reserved, 6 SNP, 7 MICROCODE.
//! Turin: byte 0 FMC, 1 BOOT_LOADER, 2 TEE, 3 SNP, 4..6 reserved, 7 MICROCODE.

use alloc::string::String;
use core::fmt;

/// The EPYC generation: names the AMD root and the TCB layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Product {
    Milan,
    Genoa,
    Turin,
}

impl Product {
    pub const ALL: [Product; 3] = [Product::Milan, Product::Genoa, Product::Turin];

    pub fn name(self) -> &'static str {
        match self {
            Product::Milan => "Milan",
            Product::Genoa => "Genoa",
            Product::Turin => "Turin",
        }
    }

    /// From a VCEK's productName extension ("Milan-B0", "Genoa", "Turin", ...).
    pub fn from_cert_name(name: &str) -> Option<Product> {
        let base = name.split('-').next().unwrap_or_default();
        Product::ALL.into_iter().find(|p| p.name() == base)
    }

    /// From the report's CPUID_FAM_ID/CPUID_MOD_ID (report version 3 and later).
    pub fn from_cpuid(family: u8, model: u8) -> Option<Product> {
        match (family, model) {
            (0x19, 0x00..=0x0F) => Some(Product::Milan),
            (0x19, 0x10..=0x1F) | (0x19, 0xA0..=0xAF) => Some(Product::Genoa),
            (0x1A, 0x00..=0x11) => Some(Product::Turin),
            _ => None,
        }
    }

    pub fn turin_layout(self) -> bool {
        self == Product::Turin
    }

    /// Length of the hwID extension / meaningful CHIP_ID prefix.
    pub fn chip_id_len(self) -> usize {
        if self.turin_layout() {
            8
        } else {
            64
        }
    }
}

/// A decoded TCB_VERSION.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tcb {
    /// Turin only.
    pub fmc: Option<u8>,
    pub bl: u8,
    pub tee: u8,
    pub snp: u8,
    pub ucode: u8,
}

impl Tcb {
    pub fn decode(raw: [u8; 8], turin: bool) -> Tcb {
        if turin {
            Tcb {
                fmc: Some(raw[0]),
                bl: raw[1],
                tee: raw[2],
                snp: raw[3],
                ucode: raw[7],
            }
        } else {
            Tcb {
                fmc: None,
                bl: raw[0],
                tee: raw[1],
                snp: raw[6],
                ucode: raw[7],
            }
        }
    }
}

impl fmt::Display for Tcb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(fmc) = self.fmc {
            write!(f, "fmc={fmc},")?;
        }
        write!(
            f,
            "bl={},tee={},snp={},ucode={}",
            self.bl, self.tee, self.snp, self.ucode
        )
    }
}

/// `--min-tcb`: per-component minimums. Unset components are not checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MinTcb {
    pub fmc: Option<u8>,
    pub bl: Option<u8>,
    pub tee: Option<u8>,
    pub snp: Option<u8>,
    pub ucode: Option<u8>,
    /// Raw TCB_VERSIONs given as 16 hex digits (decoded with the report's layout, then merged).
    pub raw: Option<[u8; 8]>,
}

impl MinTcb {
    /// Parses `bl=3,tee=0,snp=8,ucode=115[,fmc=N]` and/or a raw TCB_VERSION: 16 hex digits
    /// are the 8 bytes in report order (as a hex dump of the report shows them); `0x` and
    /// 1-16 hex digits is the little-endian u64 value (as AMD tools print it).
    pub fn parse(spec: &str) -> Result<MinTcb, String> {
        let mut m = MinTcb::default();
        for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if let Some((k, v)) = item.split_once('=') {
                let v: u8 = v
                    .trim()
                    .parse()
                    .map_err(|_| alloc::format!("--min-tcb: {item:?}: value must be 0..255"))?;
                let slot = match k.trim() {
                    "fmc" => &mut m.fmc,
                    "bl" | "bootloader" => &mut m.bl,
                    "tee" => &mut m.tee,
                    "snp" => &mut m.snp,
                    "ucode" | "microcode" => &mut m.ucode,
                    other => {
                        return Err(alloc::format!(
                            "--min-tcb: unknown component {other:?} (fmc, bl, tee, snp, ucode)"
                        ))
                    }
                };
                *slot = Some(v);
            } else {
                let raw = parse_raw(item)?;
                m.raw = Some(match m.raw {
                    None => raw,
                    Some(old) => core::array::from_fn(|i| old[i].max(raw[i])),
                });
            }
        }
        if m == MinTcb::default() {
            return Err("--min-tcb: empty".into());
        }
        Ok(m)
    }

    /// The components `have` falls short in, as "snp 7 < 8" phrases; empty when it meets all.
    pub fn shortfalls(&self, have: &Tcb, turin: bool) -> alloc::vec::Vec<String> {
        let raw = self.raw.map(|r| Tcb::decode(r, turin));
        let mut out = alloc::vec::Vec::new();
        let mut check = |name: &str, got: Option<u8>, named: Option<u8>, from_raw: Option<u8>| {
            let want = named.max(from_raw);
            match (got, want) {
                (_, None) => {}
                (Some(g), Some(w)) if g >= w => {}
                (Some(g), Some(w)) => out.push(alloc::format!("{name} {g} < {w}")),
                (None, Some(w)) => out.push(alloc::format!(
                    "{name} >= {w} wanted but this product's TCB has no {name}"
                )),
            }
        };
        check("fmc", have.fmc, self.fmc, raw.and_then(|r| r.fmc));
        check("bl", Some(have.bl), self.bl, raw.map(|r| r.bl));
        check("tee", Some(have.tee), self.tee, raw.map(|r| r.tee));
        check("snp", Some(have.snp), self.snp, raw.map(|r| r.snp));
        check("ucode", Some(have.ucode), self.ucode, raw.map(|r| r.ucode));
        out
    }
}

fn parse_raw(item: &str) -> Result<[u8; 8], String> {
    let bad = || {
        alloc::format!(
            "--min-tcb: {item:?} is neither NAME=N nor a TCB_VERSION (16 hex digits, or 0x<u64>)"
        )
    };
    if let Some(hex) = item.strip_prefix("0x").or_else(|| item.strip_prefix("0X")) {
        let v = u64::from_str_radix(hex, 16).map_err(|_| bad())?;
        return Ok(v.to_le_bytes());
    }
    let bytes = crate::hex::decode(item).map_err(|_| bad())?;
    bytes.try_into().map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_decode_per_product() {
        let milan = [0x03, 0x00, 0, 0, 0, 0, 0x08, 0x73];
        assert_eq!(
            Tcb::decode(milan, false).to_string(),
            "bl=3,tee=0,snp=8,ucode=115"
        );
        let turin = [0x00, 0x01, 0x00, 0x02, 0, 0, 0, 0x47];
        assert_eq!(
            Tcb::decode(turin, true).to_string(),
            "fmc=0,bl=1,tee=0,snp=2,ucode=71"
        );
    }

    #[test]
    fn min_tcb_compares_each_component() {
        let have = Tcb::decode([0x03, 0x00, 0, 0, 0, 0, 0x08, 0x73], false);
        let m = MinTcb::parse("bl=3,tee=0,snp=8,ucode=115").unwrap();
        assert!(m.shortfalls(&have, false).is_empty());
        let m = MinTcb::parse("snp=9").unwrap();
        assert_eq!(m.shortfalls(&have, false), ["snp 8 < 9"]);
        let m = MinTcb::parse("0300000000000874").unwrap();
        assert_eq!(m.shortfalls(&have, false), ["ucode 115 < 116"]);
        let m = MinTcb::parse("0x7308000000000003").unwrap();
        assert!(m.shortfalls(&have, false).is_empty());
        let m = MinTcb::parse("fmc=1").unwrap();
        assert_eq!(m.shortfalls(&have, false).len(), 1);
        for bad in [
            "",
            "bl=256",
            "xyz=1",
            "03",
            "zz00000000000000",
            "0xfffffffffffffffff",
        ] {
            assert!(MinTcb::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn products_from_names_and_cpuid() {
        assert_eq!(Product::from_cert_name("Milan-B0"), Some(Product::Milan));
        assert_eq!(Product::from_cert_name("Turin"), Some(Product::Turin));
        assert_eq!(Product::from_cert_name("evtpm-TEST"), None);
        assert_eq!(Product::from_cpuid(0x19, 0x01), Some(Product::Milan));
        assert_eq!(Product::from_cpuid(0x19, 0x11), Some(Product::Genoa));
        assert_eq!(Product::from_cpuid(0x1A, 0x02), Some(Product::Turin));
        assert_eq!(Product::from_cpuid(0x17, 0x31), None);
    }
}
