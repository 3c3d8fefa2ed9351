//! Links the `kiln` binary with packed relative relocations (`DT_RELR`) where the linker and
//! C library support them (GNU ld 2.38 or lld, glibc 2.36).
//!
//! Kiln is a position-independent executable of about 50 MB whose vtables and string tables
//! need some 56,000 relative relocations at every start. As `RELA` entries they take 1.3 MB
//! that the loader reads and applies one by one; packed, they take 15 KB. The seed's warm
//! `kiln show` went from 6.6 to 5.8 ms (hyperfine, one session). The executable stays
//! position-independent, so address-space randomisation is kept.
//!
//! The flag is probed by linking an empty C program with the same linker, so a toolchain
//! without it builds Kiln as before.

use std::path::PathBuf;
use std::process::{Command, Stdio};

const FLAG: &str = "-Wl,-z,pack-relative-relocs";

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=RUSTC_LINKER");
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    let native = var("TARGET") == var("HOST");
    if native && var("CARGO_CFG_TARGET_OS") == "linux" && var("CARGO_CFG_TARGET_ENV") == "gnu" {
        let linker = std::env::var("RUSTC_LINKER").unwrap_or_else(|_| "cc".into());
        if links_with(&linker, FLAG) {
            println!("cargo::rustc-link-arg-bins={FLAG}");
        } else {
            println!("cargo::warning=`{linker}` cannot link with {FLAG}; kiln starts slower");
        }
    }
}

/// Whether `linker` (a C compiler driver, as rustc uses it) links a C program with `flag`.
fn links_with(linker: &str, flag: &str) -> bool {
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("set by cargo"));
    let source = out.join("relr-probe.c");
    if std::fs::write(&source, "int main(void) { return 0; }\n").is_err() {
        return false;
    }
    Command::new(linker)
        .args(["-pie", "-fPIE", flag, "-o"])
        .arg(out.join("relr-probe"))
        .arg(&source)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}
