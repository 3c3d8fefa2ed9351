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
    /// A path dependency on a checkout's `guest-components/sdk`.
    Path(PathBuf),
    /// The released crate.
    Version(&'static str),
}

impl Sdk {
    /// The SDK of the checkout this binary was built from, if it is still there; else the
    /// released crate.
    pub fn default_for_this_build() -> Sdk {
        let checkout =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("guest-components").join("sdk");
        match checkout.canonicalize() {
            Ok(path) if path.join("Cargo.toml").is_file() => Sdk::Path(path),
            _ => Sdk::Version(env!("CARGO_PKG_VERSION")),
        }
    }

    fn dependency(&self) -> String {
        match self {
            Sdk::Path(path) => {
                format!("kiln-sdk = {{ path = {:?} }}", path.display().to_string())
            }
            Sdk::Version(version) => format!("kiln-sdk = \"{version}\""),
        }
    }
}

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
pub fn files(
    lang: Lang,
    name: &str,
    sdk: &Sdk,
) -> Result<Vec<(&'static str, String, bool)>, Error> {
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
    };
    Ok(templates.iter().map(|(path, text, exec)| (*path, fill(text), *exec)).collect())
}

/// Create the project in `dir`, which must not exist or be empty.
pub fn create(dir: &Path, files: &[(&'static str, String, bool)]) -> Result<(), Error> {
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
        let sdk = Sdk::Version("0.1.0");
        for lang in [Lang::Rust, Lang::Python, Lang::Js] {
            for (path, text, _) in files(lang, "my-app", &sdk).unwrap() {
                assert!(!text.contains("{{"), "{path} of {lang:?} has a hole: {text}");
            }
        }
        let rust = files(Lang::Rust, "my-app", &sdk).unwrap();
        let lib = &rust.iter().find(|(p, ..)| *p == "src/lib.rs").unwrap().1;
        assert!(lib.contains("struct MyApp;"), "{lib}");
        let cargo = &rust.iter().find(|(p, ..)| *p == "Cargo.toml").unwrap().1;
        assert!(cargo.contains("kiln-sdk = \"0.1.0\""), "{cargo}");
    }

    #[test]
    fn a_bad_name_is_refused() {
        assert!(matches!(files(Lang::Js, "My_App", &Sdk::Version("0.1.0")), Err(Error::Name(_))));
    }
}
