//! Cryptographic primitives behind small wrappers, so a primitive can be swapped without touching
//! a command handler. Each wrapper has known-answer tests beside it.

pub mod drbg;
pub mod hash;
pub mod hmac;

pub use hash::{Digest, Hasher};
