//! `kiln prototype new`: the files of a new prototype project in Rust, Python or JavaScript,
//! from templates embedded in the binary (`host/templates/`). Writes only inside the new
//! project's directory, and only when that directory is new or empty.

use std::path::{Path, PathBuf};

/// The language of a new prototype.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Lang {
    /// Rust with the `kiln-sdk` crate.
    Rust,
    /// Python, built with componentize-py.
    Python,
    /// JavaScript, built with componentize-qjs (QuickJS).
    Js,
}

/// Where the Rust SDK comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sdk {
    /// The SDK this binary was built with, written into the project as `kiln-sdk/` (sources,
    /// WIT and a manifest of its own): the project builds anywhere, with nothing of Kiln's
    /// repository. The default.
    Bundled,
    /// A path dependency on an SDK crate elsewhere (a checkout's `guest-components/sdk`), for
    /// working on the SDK itself.
    Path(PathBuf),
    /// A version of the crate from the crates registry, once it is published there.
    Version(String),
}

impl Sdk {
    fn dependency(&self) -> String {
        match self {
            Sdk::Bundled => format!("kiln-sdk = {{ path = \"{BUNDLED_DIR}\" }}"),
            Sdk::Path(path) => {
                format!("kiln-sdk = {{ path = {:?} }}", path.display().to_string())
            }
            Sdk::Version(version) => format!("kiln-sdk = \"{version}\""),
        }
    }
}

/// Where a project keeps its bundled SDK.
const BUNDLED_DIR: &str = "kiln-sdk";

/// The SDK's sources, as `build.rs` listed them: (path in the crate, contents).
const SDK_SOURCES: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/sdk_sources.rs"));

/// The SDK's manifest for a project of its own.
const SDK_MANIFEST: &str = include_str!("../templates/rust/kiln-sdk/Cargo.toml");

/// Why a project could not be created.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The name is not usable as a prototype name.
    #[error("invalid prototype name `{0}`: use a DNS-1123 label (lowercase letters, digits, `-`)")]
    Name(String),
    /// The directory already has files in it.
    #[error("{} already exists and is not empty", .0.display())]
    NotEmpty(PathBuf),
    /// Writing a file failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// One file of a template: path in the project, contents, whether it is a script.
type Template = (&'static str, &'static str, bool);

const WIT: &str = include_str!("../../wit/prototype.wit");

const RUST: &[Template] = &[
    ("Cargo.toml", include_str!("../templates/rust/Cargo.toml"), false),
    (".cargo/config.toml", include_str!("../templates/rust/.cargo/config.toml"), false),
    ("src/lib.rs", include_str!("../templates/rust/src/lib.rs"), false),
    ("build", include_str!("../templates/rust/build"), true),
    ("README.md", include_str!("../templates/rust/README.md"), false),
    (".gitignore", include_str!("../templates/rust/gitignore"), false),
];

const PYTHON: &[Template] = &[
    ("app.py", include_str!("../templates/python/app.py"), false),
    ("wit/prototype.wit", WIT, false),
    ("build", include_str!("../templates/python/build"), true),
    ("README.md", include_str!("../templates/python/README.md"), false),
    (".gitignore", include_str!("../templates/python/gitignore"), false),
];

const JS: &[Template] = &[
    ("prototype.js", include_str!("../templates/js/prototype.js"), false),
    ("wit/prototype.wit", WIT, false),
    ("package.json", include_str!("../templates/js/package.json"), false),
    ("build", include_str!("../templates/js/build"), true),
    ("README.md", include_str!("../templates/js/README.md"), false),
    (".gitignore", include_str!("../templates/js/gitignore"), false),
];

/// The files of a new `lang` prototype named `name`: (path in the project, contents,
/// executable).
pub fn files(lang: Lang, name: &str, sdk: &Sdk) -> Result<Vec<(String, String, bool)>, Error> {
    if !crate::names::is_dns1123_label(name) {
        return Err(Error::Name(name.into()));
    }
    let templates = match lang {
        Lang::Rust => RUST,
        Lang::Python => PYTHON,
        Lang::Js => JS,
    };
    // `my-app` is `MyApp` in Rust; a leading digit needs a letter before it.
    let mut type_name: String = name
        .split('-')
        .map(|word| {
            let mut chars = word.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect();
    if type_name.starts_with(|c: char| c.is_ascii_digit()) {
        type_name.insert(0, 'P');
    }
    let fill = |text: &str| {
        text.replace("{{name}}", name)
            .replace("{{crate}}", &name.replace('-', "_"))
            .replace("{{type}}", &type_name)
            .replace("{{sdk}}", &sdk.dependency())
            .replace("{{sdk_version}}", env!("CARGO_PKG_VERSION"))
            .replace("{{wit_version}}", crate::render::WIT_VERSION)
    };
    let mut files: Vec<(String, String, bool)> =
        templates.iter().map(|(path, text, exec)| (path.to_string(), fill(text), *exec)).collect();
    if lang == Lang::Rust && *sdk == Sdk::Bundled {
        files.push((format!("{BUNDLED_DIR}/Cargo.toml"), fill(SDK_MANIFEST), false));
        files.push((format!("{BUNDLED_DIR}/wit/prototype.wit"), WIT.to_string(), false));
        for (path, text) in SDK_SOURCES {
            files.push((format!("{BUNDLED_DIR}/{path}"), text.to_string(), false));
        }
    }
    Ok(files)
}

/// Create the project in `dir`, which must not exist or be empty.
pub fn create(dir: &Path, files: &[(String, String, bool)]) -> Result<(), Error> {
    if dir.exists() && fs_err::read_dir(dir)?.next().is_some() {
        return Err(Error::NotEmpty(dir.into()));
    }
    for (path, text, executable) in files {
        let path = dir.join(path);
        if let Some(parent) = path.parent() {
            fs_err::create_dir_all(parent)?;
        }
        fs_err::write(&path, text)?;
        #[cfg(unix)]
        if *executable {
            use std::os::unix::fs::PermissionsExt;
            fs_err::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_filled_in_everywhere() {
        let sdk = Sdk::Version("0.1.0".into());
        for lang in [Lang::Rust, Lang::Python, Lang::Js] {
            for (path, text, _) in files(lang, "my-app", &sdk).unwrap() {
                assert!(!text.contains("{{"), "{path} of {lang:?} has a hole: {text}");
            }
        }
        let rust = files(Lang::Rust, "my-app", &sdk).unwrap();
        let lib = &rust.iter().find(|(p, ..)| p == "src/lib.rs").unwrap().1;
        assert!(lib.contains("struct MyApp;"), "{lib}");
        let cargo = &rust.iter().find(|(p, ..)| p == "Cargo.toml").unwrap().1;
        assert!(cargo.contains("kiln-sdk = \"0.1.0\""), "{cargo}");
        assert!(!rust.iter().any(|(p, ..)| p.starts_with("kiln-sdk/")), "not bundled");
    }

    /// A bundled SDK is the whole crate: every source file, the WIT its bindings are
    /// generated from, and a manifest whose dependencies are the guest workspace's.
    #[test]
    fn a_bundled_sdk_is_the_whole_crate_with_the_guest_workspaces_versions() {
        let rust = files(Lang::Rust, "my-app", &Sdk::Bundled).unwrap();
        let file =
            |path: &str| rust.iter().find(|(p, ..)| p == path).map(|(_, text, _)| text.as_str());
        assert!(file("Cargo.toml").unwrap().contains("kiln-sdk = { path = \"kiln-sdk\" }"));
        let lib = file("kiln-sdk/src/lib.rs").expect("the SDK's lib.rs");
        assert!(lib.contains("path: \"wit\""), "the bindings come from the crate's own wit/");
        let modules: Vec<&str> = lib
            .lines()
            .filter_map(|l| l.trim_start_matches("pub ").strip_prefix("mod ")?.strip_suffix(';'))
            .collect();
        assert!(modules.len() >= 4, "{modules:?}");
        for module in modules {
            assert!(file(&format!("kiln-sdk/src/{module}.rs")).is_some(), "{module}");
        }
        assert_eq!(file("kiln-sdk/wit/prototype.wit"), Some(WIT));

        let manifest: toml::Table = file("kiln-sdk/Cargo.toml").unwrap().parse().unwrap();
        assert_eq!(manifest["package"]["version"].as_str(), Some(env!("CARGO_PKG_VERSION")));
        let workspace: toml::Table =
            include_str!("../../guest-components/Cargo.toml").parse().unwrap();
        let sdk: toml::Table =
            include_str!("../../guest-components/sdk/Cargo.toml").parse().unwrap();
        let used: Vec<&String> = sdk["dependencies"].as_table().unwrap().keys().collect();
        let bundled = manifest["dependencies"].as_table().unwrap();
        assert_eq!(bundled.keys().collect::<Vec<_>>(), used, "the SDK's dependencies");
        for (name, spec) in bundled {
            assert_eq!(spec, &workspace["workspace"]["dependencies"][name], "`{name}`");
        }
    }

    /// Templates import the WIT's interfaces by name; each such name is one the world imports,
    /// at the version of `wit/prototype.wit` (write `{{wit_version}}` in a template).
    #[test]
    fn templates_import_what_the_world_offers() {
        let prefix = format!("{}/", crate::render::WIT_PACKAGE);
        for lang in [Lang::Rust, Lang::Python, Lang::Js] {
            for (path, text, _) in files(lang, "my-app", &Sdk::Bundled).unwrap() {
                if path.ends_with(".wit") {
                    continue;
                }
                for (at, _) in text.match_indices(&prefix) {
                    let name: String = text[at..]
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || "-:/@.".contains(*c))
                        .collect();
                    let name = name.trim_end_matches('.');
                    assert!(
                        crate::render::WORLD_IMPORTS.contains(&name),
                        "{path} of {lang:?} names `{name}`, which is not one of the world's \
                         imports {:?} (host/templates/)",
                        crate::render::WORLD_IMPORTS
                    );
                }
            }
        }
    }

    #[test]
    fn a_bad_name_is_refused() {
        assert!(matches!(files(Lang::Js, "My_App", &Sdk::Bundled), Err(Error::Name(_))));
    }
}
