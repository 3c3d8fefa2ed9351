//! The `kiln` binary (as `kiln-under-test`), built inside the test package so the integration tests can run it
//! (`CARGO_BIN_EXE_kiln`); the same one line as `host/src/main.rs`.

fn main() -> std::process::ExitCode {
    kiln::cli::main()
}
