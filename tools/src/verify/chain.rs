//! The AMD certificate chain: VCEK → ASK → ARK or VLEK → ASVK → ARK (AMD "Versioned Chip
//! Endorsement Key (VCEK) Certificate and KDS Interface Specification", pub. 57230), with the
//! Milan, Genoa and Turin roots built in (provenance: `roots/README.md`).
//!
//! Trust is pinned, not discovered: the ARK must be byte-identical to a built-in AMD root (or,
//! only with `--allow-test-root`, to the evtpm qemu-test root). Every link is matched by name
//! and checked by signature (RSASSA-PSS SHA-384), and every certificate must be valid at the
//! chosen time.

use super::test_root;
use super::x509::{Certificate, PublicKey};
use super::Product;
use alloc::string::String;
use alloc::vec::Vec;

struct BuiltIn {
    product: Product,
    ark: &'static [u8],
    ask: &'static [u8],
    asvk: &'static [u8],
}

const BUILT_IN: [BuiltIn; 3] = [
    BuiltIn {
        product: Product::Milan,
        ark: include_bytes!("roots/milan/ark.pem"),
        ask: include_bytes!("roots/milan/ask.pem"),
        asvk: include_bytes!("roots/milan/asvk.pem"),
    },
    BuiltIn {
        product: Product::Genoa,
        ark: include_bytes!("roots/genoa/ark.pem"),
        ask: include_bytes!("roots/genoa/ask.pem"),
        asvk: include_bytes!("roots/genoa/asvk.pem"),
    },
    BuiltIn {
        product: Product::Turin,
        ark: include_bytes!("roots/turin/ark.pem"),
        ask: include_bytes!("roots/turin/ask.pem"),
        asvk: include_bytes!("roots/turin/asvk.pem"),
    },
];

/// The DER of a built-in PEM certificate (empty if it could not be read, which a unit test
/// rules out).
fn der_of(pem: &'static [u8]) -> Vec<u8> {
    super::x509::certs_from_file(pem)
        .ok()
        .and_then(|mut v| v.drain(..).next())
        .unwrap_or_default()
}

/// What the chain ends in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Root {
    Amd(Product),
    /// The evtpm qemu-test root ([`test_root`]): its private keys are published.
    Test,
}

/// The kind of key that signs reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeafKind {
    Vcek,
    Vlek,
}

impl LeafKind {
    pub fn name(self) -> &'static str {
        match self {
            LeafKind::Vcek => "VCEK",
            LeafKind::Vlek => "VLEK",
        }
    }
}

/// Certificates given for the chain (DER); the intermediate and root are optional.
#[derive(Debug, Clone, Copy)]
pub struct ChainInput<'a> {
    pub leaf: &'a [u8],
    pub intermediate: Option<&'a [u8]>,
    pub root: Option<&'a [u8]>,
    /// Unix seconds at which every certificate must be valid.
    pub at: i64,
    pub allow_test_root: bool,
}

/// A verified chain.
#[derive(Debug, Clone)]
pub struct Chain {
    pub root: Root,
    pub leaf_kind: LeafKind,
    /// One line: "VCEK -> ASK -> ARK (Milan)".
    pub summary: String,
}

impl Chain {
    /// The product whose TCB layout the leaf uses (the test root uses Milan's).
    pub fn product(&self) -> Product {
        match self.root {
            Root::Amd(p) => p,
            Root::Test => test_root::PRODUCT_LAYOUT,
        }
    }
}

/// A candidate intermediate or root: its DER and where it came from.
struct Candidate {
    der: Vec<u8>,
    root: Option<Root>,
}

fn identify_root(der: &[u8]) -> Option<Root> {
    if der == test_root::ARK_DER {
        return Some(Root::Test);
    }
    BUILT_IN
        .iter()
        .find(|b| der_of(b.ark) == der)
        .map(|b| Root::Amd(b.product))
}

fn cn(c: &Certificate<'_>) -> String {
    alloc::format!("CN={}", c.subject_cn())
}

const TEST_ROOT_REFUSED: &str = "chains to the evtpm qemu-test root (TEST KEY: its private keys are published, it proves nothing about hardware); pass --allow-test-root to accept";

/// Verifies the chain from `input.leaf` up to a pinned root.
pub fn verify(input: &ChainInput<'_>) -> Result<Chain, String> {
    let leaf =
        Certificate::parse(input.leaf).map_err(|e| alloc::format!("leaf certificate: {e}"))?;
    let leaf_kind = if leaf.subject_cn() == "SEV-VLEK" {
        LeafKind::Vlek
    } else if leaf.subject_cn() == "SEV-VCEK" {
        LeafKind::Vcek
    } else {
        return Err(alloc::format!(
            "leaf certificate {} is neither SEV-VCEK nor SEV-VLEK",
            cn(&leaf)
        ));
    };
    if !matches!(leaf.public_key, PublicKey::EcP384(_)) {
        return Err(alloc::format!("{} key is not EC P-384", leaf_kind.name()));
    }

    // The root: given (and then pinned) or any built-in one.
    let roots: Vec<Candidate> = match input.root {
        Some(der) => {
            let root = identify_root(der).ok_or_else(|| {
                let name = Certificate::parse(der)
                    .map(|c| cn(&c))
                    .unwrap_or_else(|e| alloc::format!("unparsable: {e}"));
                alloc::format!("the given ARK ({name}) is not a built-in AMD root")
            })?;
            alloc::vec![Candidate {
                der: der.to_vec(),
                root: Some(root),
            }]
        }
        None => BUILT_IN
            .iter()
            .map(|b| Candidate {
                der: der_of(b.ark),
                root: Some(Root::Amd(b.product)),
            })
            .chain(core::iter::once(Candidate {
                der: test_root::ARK_DER.to_vec(),
                root: Some(Root::Test),
            }))
            .collect(),
    };

    // The intermediate: given, or the built-in ASK/ASVK of each candidate root.
    let intermediates: Vec<Candidate> = match input.intermediate {
        Some(der) => alloc::vec![Candidate {
            der: der.to_vec(),
            root: None,
        }],
        None => BUILT_IN
            .iter()
            .flat_map(|b| {
                [b.ask, b.asvk].map(|pem| Candidate {
                    der: der_of(pem),
                    root: Some(Root::Amd(b.product)),
                })
            })
            .chain(core::iter::once(Candidate {
                der: test_root::ASK_DER.to_vec(),
                root: Some(Root::Test),
            }))
            .collect(),
    };

    let mut inter_found = None;
    let mut last_err = None;
    for c in &intermediates {
        let ic = match Certificate::parse(&c.der) {
            Ok(ic) => ic,
            Err(e) => {
                last_err = Some(alloc::format!("intermediate certificate: {e}"));
                continue;
            }
        };
        if ic.subject.raw != leaf.issuer.raw {
            last_err = Some(alloc::format!(
                "{} is issued by CN={}, not by the given {}",
                leaf_kind.name(),
                leaf.issuer_cn(),
                cn(&ic)
            ));
            continue;
        }
        match leaf.verify_signed_by(&ic.public_key) {
            Ok(()) => {
                inter_found = Some((c, ic));
                break;
            }
            Err(e) => {
                last_err = Some(alloc::format!(
                    "{} signature by {}: {e}",
                    leaf_kind.name(),
                    cn(&ic)
                ))
            }
        }
    }
    let Some((inter_c, inter)) = inter_found else {
        return Err(if input.intermediate.is_some() {
            last_err.unwrap_or_default()
        } else {
            alloc::format!(
                "no built-in ASK/ASVK signed this {} (issuer CN={}); give --ask",
                leaf_kind.name(),
                leaf.issuer_cn()
            )
        });
    };
    let inter_is_vlek_ca = inter.subject_cn().starts_with("SEV-VLEK-");
    let inter_name = if inter_is_vlek_ca { "ASVK" } else { "ASK" };
    match (leaf_kind, inter_is_vlek_ca) {
        (LeafKind::Vcek, true) => return Err("a VCEK must be issued by an ASK, not an ASVK".into()),
        (LeafKind::Vlek, false) => {
            return Err(alloc::format!(
                "a VLEK must be issued by an ASVK (SEV-VLEK-*), not {}",
                cn(&inter)
            ))
        }
        _ => {}
    }

    let mut root_found = None;
    let mut root_err = None;
    for r in &roots {
        // A built-in intermediate only chains to its own product's root.
        if inter_c.root.is_some() && inter_c.root != r.root {
            continue;
        }
        let rc = match Certificate::parse(&r.der) {
            Ok(rc) => rc,
            Err(e) => {
                root_err = Some(alloc::format!("ARK: {e}"));
                continue;
            }
        };
        if rc.subject.raw != inter.issuer.raw {
            root_err = Some(alloc::format!(
                "{} {} is issued by CN={}, not by {}",
                inter_name,
                cn(&inter),
                inter.issuer_cn(),
                cn(&rc)
            ));
            continue;
        }
        if let Err(e) = inter.verify_signed_by(&rc.public_key) {
            root_err = Some(alloc::format!("{inter_name} signature by {}: {e}", cn(&rc)));
            continue;
        }
        root_found = Some((r, rc));
        break;
    }
    let Some((root_c, root)) = root_found else {
        return Err(root_err.unwrap_or_else(|| {
            alloc::format!(
                "{inter_name} {} is not issued by any built-in AMD ARK",
                cn(&inter)
            )
        }));
    };
    let which = root_c.root.unwrap_or(Root::Test);
    if which == Root::Test && !input.allow_test_root {
        return Err(TEST_ROOT_REFUSED.into());
    }
    if root.subject.raw != root.issuer.raw {
        return Err("ARK is not self-issued".into());
    }
    root.verify_signed_by(&root.public_key)
        .map_err(|e| alloc::format!("ARK self-signature: {e}"))?;

    for (name, c) in [
        (leaf_kind.name(), &leaf),
        (inter_name, &inter),
        ("ARK", &root),
    ] {
        c.check_validity(input.at)
            .map_err(|e| alloc::format!("{name} {}: {e}", cn(c)))?;
    }
    let label = match which {
        Root::Amd(p) => String::from(p.name()),
        Root::Test => "evtpm qemu-test TEST root, accepted by --allow-test-root".into(),
    };
    Ok(Chain {
        root: which,
        leaf_kind,
        summary: alloc::format!("{} -> {inter_name} -> ARK ({label})", leaf_kind.name()),
    })
}

/// The built-in ASK (or ASVK) and ARK of a product, DER, for tests and `--certs` fallbacks.
pub fn built_in(product: Product) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let b = BUILT_IN
        .iter()
        .find(|b| b.product == product)
        .unwrap_or(&BUILT_IN[0]);
    (der_of(b.ark), der_of(b.ask), der_of(b.asvk))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    #[test]
    fn built_in_roots_are_the_documented_certificates_and_self_verify() {
        let want = [
            (
                Product::Milan,
                "69d063b45344d26a2e94e1f4210de49ef555308287d4c174445c95639a540bcd",
            ),
            (
                Product::Genoa,
                "4c6598d19c18719c5dfd4a7d335f674e5bfe1d8f800cea2cf270c10d103db2f1",
            ),
            (
                Product::Turin,
                "1f084161a44bb6d93778a904877d4819cafa5d05ef4193b2ded9dd9c73dd3f6a",
            ),
        ];
        for (p, ark_sha) in want {
            let (ark, ask, asvk) = built_in(p);
            assert_eq!(super::super::hex::encode(&Sha256::digest(&ark)), ark_sha);
            let ark = Certificate::parse(&ark).unwrap();
            ark.verify_signed_by(&ark.public_key).unwrap();
            for inter in [ask, asvk] {
                Certificate::parse(&inter)
                    .unwrap()
                    .verify_signed_by(&ark.public_key)
                    .unwrap();
            }
            assert_eq!(ark.subject_cn(), alloc::format!("ARK-{}", p.name()));
        }
    }
}
