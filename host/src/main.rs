//! The `kiln` binary; everything is in the library.

fn main() -> std::process::ExitCode {
    kiln::cli::main()
}
