//! The `volley` binary: everything lives in the library so tests can drive it.

fn main() -> std::process::ExitCode {
    volley_cli::main_entry()
}
