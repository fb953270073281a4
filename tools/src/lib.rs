//! evtpm host tools: `serve` puts the engine behind the MS-simulator and swtpm socket protocols;
//! `bench` times a command mix over either protocol against evtpm, swtpm or an echo server;
//! `verify` checks SEV-SNP attestation reports and the EK binding they carry.

extern crate alloc;

pub mod bench;
pub mod cli;
pub mod igvm;
pub mod measure;
pub mod platform;
pub mod serve;
pub mod soak;
pub mod verify;
pub mod wire;
