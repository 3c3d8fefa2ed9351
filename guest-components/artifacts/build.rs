//! Builds the guest workspace (`guest-components/`) for `wasm32-wasip2` and writes
//! `guests.rs` with the path of every prototype's `.wasm`.
//!
//! Cargo reads `.cargo/config.toml` from the current directory, so the build runs there; the
//! outer build's wrappers and flags are removed so they do not leak into a wasm build.

use std::path::{Path, PathBuf};
use std::process::Command;

const TARGET: &str = "wasm32-wasip2";
const GUEST_DIRS: &[&str] = &["prototypes", "test-guests"];

fn main() {
    let artifacts = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let guests = artifacts.parent().expect("artifacts/ is inside guest-components/").to_path_buf();
    let wit = guests.parent().expect("guest-components/ is inside the repo").join("wit");
    let target_dir = guests.join("target");

    let mut cargo = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cargo
        .current_dir(&guests)
        .args(["build", "--release", "--workspace", "--target", TARGET, "--target-dir"])
        .arg(&target_dir);
    for var in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "CARGO_BUILD_TARGET",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET_DIR",
        "RUSTC_WORKSPACE_WRAPPER",
        "RUSTC_WRAPPER",
        "CARGO_PROFILE_RELEASE_DEBUG",
    ] {
        cargo.env_remove(var);
    }
    let status = cargo.status().expect("cannot run cargo to build the guest components");
    assert!(
        status.success(),
        "building guest-components/ for {TARGET} failed (see above); \
         if the target is missing, run `rustup target add {TARGET}`"
    );

    let out = target_dir.join(TARGET).join("release");
    let mut consts = String::new();
    let mut all = Vec::new();
    let mut embedded = Vec::new();
    for dir in GUEST_DIRS {
        for crate_dir in sorted_dirs(&guests.join(dir)) {
            let name = crate_dir
                .file_name()
                .expect("a directory has a name")
                .to_string_lossy()
                .into_owned();
            let wasm = out.join(format!("{}.wasm", name.replace('-', "_")));
            assert!(wasm.exists(), "guest `{name}` built but {} is missing", wasm.display());
            let ident = name.replace('-', "_").to_uppercase();
            consts.push_str(&format!(
                "/// The `{name}` guest, built from `guest-components/{dir}/{name}`.\n\
                 pub const {ident}: &str = {:?};\n",
                wasm.display().to_string()
            ));
            all.push(format!("({name:?}, {ident})"));
            if *dir == "prototypes" {
                embedded
                    .push(format!("({name:?}, include_bytes!({:?}))", wasm.display().to_string()));
            }
            println!("cargo:rerun-if-changed={}", wasm.display());
            println!("cargo:rerun-if-changed={}", crate_dir.display());
        }
    }
    consts.push_str(&format!(
        "/// Every guest: (crate name, path of its `.wasm`).\npub const ALL: &[(&str, &str)] = &[{}];\n",
        all.join(", ")
    ));
    consts.push_str(&format!(
        "/// The Kubeflow prototypes' wasm, embedded: (crate name, bytes).\n\
         pub const PROTOTYPES: &[(&str, &[u8])] = &[{}];\n",
        embedded.join(", ")
    ));
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("set by cargo"));
    std::fs::write(out_dir.join("guests.rs"), consts).expect("cannot write guests.rs");

    for path in [
        wit,
        guests.join("sdk"),
        guests.join("kubeflow"),
        guests.join("Cargo.toml"),
        guests.join("Cargo.lock"),
    ] {
        println!("cargo:rerun-if-changed={}", path.display());
    }
    for dir in GUEST_DIRS {
        println!("cargo:rerun-if-changed={}", guests.join(dir).display());
    }
}

fn sorted_dirs(parent: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(parent)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", parent.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.join("Cargo.toml").exists())
        .collect();
    dirs.sort();
    dirs
}
