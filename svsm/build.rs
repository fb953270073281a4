//! Links the firmware image with `linker/svsm.ld` when building for `x86_64-unknown-none`; host
//! builds (unit tests, clippy) link normally.

use std::env;
use std::path::PathBuf;

fn main() {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let script = manifest_dir.join("../linker/svsm.ld");
    let script = script.canonicalize().unwrap_or(script);
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed={}", script.display());

    if env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("none") {
        println!("cargo:rustc-link-arg-bins=-T{}", script.display());
        // The target defaults to static-pie; the image is linked at its load address instead.
        println!("cargo:rustc-link-arg-bins=--no-pie");
    }
}
