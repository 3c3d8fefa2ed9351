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
//!
//! It also lists the Rust SDK's sources (`guest-components/sdk/src`) for `kiln prototype new`
//! to embed (see `scaffold.rs`): a file added to the SDK is carried without anyone listing it.
//!
//! And it reads `wit/prototype.wit` with `wit-parser` (the parser `bindgen!` uses) into
//! `OUT_DIR/wit.rs`: the package's name and version and the world's imports, so the host's
//! version checks, messages and templates follow the WIT instead of a copy of it.

use std::path::PathBuf;
use std::process::{Command, Stdio};

const FLAG: &str = "-Wl,-z,pack-relative-relocs";

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    embed_sdk();
    describe_wit();
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

/// Write `OUT_DIR/sdk_sources.rs`: every `.rs` file of the SDK's `src/`, sorted, as
/// `(path in the crate, include_str!(...))`.
fn embed_sdk() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let src = manifest.join("../guest-components/sdk/src");
    println!("cargo::rerun-if-changed={}", src.display());
    let mut files: Vec<PathBuf> = std::fs::read_dir(&src)
        .unwrap_or_else(|e| panic!("cannot read the SDK's sources in {}: {e}", src.display()))
        .map(|entry| entry.expect("a readable directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "rs"))
        .collect();
    files.sort();
    let mut list = String::from("&[\n");
    for path in files {
        let name = path.file_name().expect("a file has a name").to_string_lossy().into_owned();
        let path = path.canonicalize().expect("the file was just listed");
        list.push_str(&format!(
            "    (\"src/{name}\", include_str!({:?})),\n",
            path.display().to_string()
        ));
    }
    list.push(']');
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("set by cargo"));
    std::fs::write(out.join("sdk_sources.rs"), list).expect("OUT_DIR is writable");
}

/// Write `OUT_DIR/wit.rs`: `WIT_PACKAGE` (`kiln:prototype`), `WIT_VERSION` (`0.2.0`) and
/// `WORLD_IMPORTS`, the full names of the interfaces with functions that the `prototype` world
/// imports (`kiln:prototype/log@0.2.0`, ...), in the WIT's order.
fn describe_wit() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let dir = manifest.join("../wit");
    println!("cargo::rerun-if-changed={}", dir.display());
    let mut resolve = wit_parser::Resolve::new();
    let (package, _) = resolve
        .push_path(&dir)
        .unwrap_or_else(|e| panic!("cannot read the WIT in {}: {e:#}", dir.display()));
    let world = resolve
        .select_world(&[package], Some("prototype"))
        .unwrap_or_else(|e| panic!("no world `prototype` in {}: {e:#}", dir.display()));
    let name = &resolve.packages[package].name;
    let version = name.version.as_ref().unwrap_or_else(|| {
        panic!("the package in {} has no version (`package {name}@X.Y.Z;`)", dir.display())
    });
    let imports: Vec<String> = resolve.worlds[world]
        .imports
        .values()
        .filter_map(|item| match item {
            wit_parser::WorldItem::Interface { id, .. }
                if !resolve.interfaces[*id].functions.is_empty() =>
            {
                Some(resolve.id_of(*id).expect("an imported interface of a package has a name"))
            }
            _ => None,
        })
        .collect();
    let text = format!(
        "/// The WIT package of the prototype world, `namespace:name`.\n\
         pub const WIT_PACKAGE: &str = {package:?};\n\
         /// The version of the WIT package, which this host implements.\n\
         pub const WIT_VERSION: &str = {version:?};\n\
         /// The interfaces with functions that the `prototype` world imports, by full name\n\
         /// (`{package}/log@{version}`): what the host implements for every prototype.\n\
         pub const WORLD_IMPORTS: &[&str] = &{imports:?};\n",
        package = format!("{}:{}", name.namespace, name.name),
        version = version.to_string(),
    );
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("set by cargo"));
    std::fs::write(out.join("wit.rs"), text).expect("OUT_DIR is writable");
}
