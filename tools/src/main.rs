//! `evtpm`: host tools.
fn main() {}
