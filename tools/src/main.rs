//! `evtpm`: host tools.
fn main() -> std::process::ExitCode {
    evtpm::cli::main()
}
