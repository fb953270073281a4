//! evtpm host tools: `serve` puts the engine behind the MS-simulator and swtpm socket protocols;
//! `bench` times a command mix over either protocol against evtpm, swtpm or an echo server.

pub mod bench;
pub mod cli;
pub mod platform;
pub mod serve;
pub mod wire;
