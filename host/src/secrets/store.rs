//! Where secret values come from: `secrets/<env>.toml` in the app, one table per secret, each
//! either encrypted with age to the environment's recipients (safe to commit) or taken at the
//! time of use from the process environment or a file (for CI systems that inject secrets
//! that way). Nothing in the file is a value in plain text.
//!
//! ```toml
//! recipients = ["age1..."]          # who can decrypt this environment's secrets
//!
//! [secrets.db-password]
//! recipients = ["age1..."]          # whom this value is encrypted to
//! age = """
//! -----BEGIN AGE ENCRYPTED FILE-----
//! ...
//! """
//!
//! [secrets.api-token]
//! from-env = "API_TOKEN"
//! ```
//!
//! An encrypted value carries the environment's and the secret's name inside the ciphertext,
//! so a value moved to another secret or environment by editing the file is refused: age
//! authenticates each ciphertext, not where it sits. Decryption uses the identities in
//! `KILN_AGE_IDENTITY`, else `~/.config/kiln/age/keys.txt` (age's own format, as `age-keygen`
//! and `kiln secret keygen` write it).
//!
//! # Adding a source
//!
//! A field of [`Entry`] (kebab-case in the file), a case of [`Source`] and its arm in
//! [`Entry::source`], which decides that exactly one field is set (a new field must join its
//! tuple). [`values`] (how to read it) and [`list`] (how `kiln secret list` names it) match on
//! `Source` with no wildcard, so they fail to compile until they handle it; `kiln secret set`
//! (`cli/secret/mod.rs`) gets a flag and a case of [`Input`].

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use zeroize::Zeroizing;

use super::{Error, Values, check_name};
use crate::app::AppDir;

/// The variable naming the identity file.
pub const IDENTITY_VAR: &str = "KILN_AGE_IDENTITY";

/// An environment's `secrets/<env>.toml`.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretsFile {
    /// The age recipients new values are encrypted to.
    #[serde(default)]
    pub recipients: Vec<String>,
    /// The secrets, by name.
    #[serde(default)]
    pub secrets: BTreeMap<String, Entry>,
}

/// One secret: exactly one of its sources.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Entry {
    /// Whom `age` is encrypted to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recipients: Vec<String>,
    /// The value, encrypted with age and armored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub age: Option<String>,
    /// The process environment's variable that holds the value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from_env: Option<String>,
    /// The file that holds the value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from_file: Option<String>,
}

/// Where a secret's value comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum Source<'a> {
    /// Encrypted in the app.
    Age(&'a str),
    /// The process environment's variable.
    Env(&'a str),
    /// A file.
    File(&'a str),
}

impl Entry {
    /// Its one source.
    pub fn source(&self) -> Option<Source<'_>> {
        match (&self.age, &self.from_env, &self.from_file) {
            (Some(age), None, None) => Some(Source::Age(age)),
            (None, Some(var), None) => Some(Source::Env(var)),
            (None, None, Some(path)) => Some(Source::File(path)),
            _ => None,
        }
    }
}

/// The app-relative path of environment `env`'s secrets.
pub fn path(env: &str) -> String {
    format!("secrets/{env}.toml")
}

/// Read environment `env`'s secrets; none when it has no file.
pub fn read(dir: &AppDir, env: &str) -> Result<SecretsFile, Error> {
    let path = path(env);
    let text = dir.read(&path).map_err(|e| Error::Store(e.to_string()))?;
    let Some(text) = text else { return Ok(SecretsFile::default()) };
    let file: SecretsFile =
        toml::from_str(&text).map_err(|e| Error::Store(format!("{path}: {}", e.message())))?;
    for (name, entry) in &file.secrets {
        check_name(name).map_err(|e| Error::Store(format!("{path}: {e}")))?;
        if entry.source().is_none() {
            return Err(Error::Store(format!(
                "{path}: secret `{name}` needs exactly one of `age`, `from-env` and `from-file`"
            )));
        }
    }
    Ok(file)
}

/// The text of `file`, as `write` stores it.
pub fn render(env: &str, file: &SecretsFile) -> String {
    let body = toml::to_string_pretty(file).expect("a secrets file serializes");
    format!(
        "# The secrets of environment `{env}` (`kiln secret`). Values are encrypted with age to \
         the\n# recipients, or named by where they come from at apply: safe to commit.\n\n{body}"
    )
}

/// Write environment `env`'s secrets (atomically).
pub fn write(dir: &AppDir, env: &str, file: &SecretsFile) -> Result<(), Error> {
    dir.write(path(env), render(env, file).as_bytes()).map_err(|e| Error::Store(e.to_string()))
}

/// The identity file: `KILN_AGE_IDENTITY`, else `keys.txt` in Kiln's age directory of the
/// user's configuration.
pub fn identity_path() -> Option<PathBuf> {
    match std::env::var_os(IDENTITY_VAR) {
        Some(path) if !path.is_empty() => Some(PathBuf::from(path)),
        _ => dirs::config_dir().map(|dir| dir.join("kiln/age/keys.txt")),
    }
}

/// The identities that decrypt, from [`identity_path`].
pub fn identities() -> Result<Vec<Box<dyn age::Identity + Send + Sync>>, Error> {
    let path = identity_path().ok_or_else(|| {
        Error::Store(format!("no identity to decrypt secrets with: set {IDENTITY_VAR}"))
    })?;
    let missing = |e: std::io::Error| {
        Error::Store(format!(
            "cannot read the age identity {}: {e} (set {IDENTITY_VAR} to an identity file, or \
             create one with `kiln secret keygen`)",
            path.display()
        ))
    };
    let file = std::fs::File::open(&path).map_err(missing)?;
    let identities = age::IdentityFile::from_buffer(std::io::BufReader::new(file))
        .and_then(|file| file.into_identities().map_err(std::io::Error::other))
        .map_err(|e| {
            Error::Store(format!("{} is not an age identity file: {e}", path.display()))
        })?;
    if identities.is_empty() {
        return Err(Error::Store(format!("{} holds no age identity", path.display())));
    }
    Ok(identities)
}

/// Parse `recipients` as age X25519 recipients (`age1...`).
pub fn parse_recipients(recipients: &[String]) -> Result<Vec<age::x25519::Recipient>, Error> {
    recipients
        .iter()
        .map(|r| {
            age::x25519::Recipient::from_str(r).map_err(|e| {
                Error::Store(format!(
                    "`{}` is not an age recipient ({e}); one looks like `age1...`",
                    crate::untrusted::line(r)
                ))
            })
        })
        .collect()
}

/// What the ciphertext of secret `name` of `env` holds: both names, then the value.
fn sealed(env: &str, name: &str, value: &str) -> Zeroizing<Vec<u8>> {
    Zeroizing::new(format!("kiln-secret/v1\n{env}\n{name}\n{value}").into_bytes())
}

/// Encrypt `value` as secret `name` of `env` to `recipients`, armored.
pub fn encrypt(recipients: &[String], env: &str, name: &str, value: &str) -> Result<String, Error> {
    let parsed = parse_recipients(recipients)?;
    if parsed.is_empty() {
        return Err(Error::Store(format!(
            "environment `{env}` has no recipients to encrypt secrets to: `kiln secret recipient \
             add {env} age1...` adds one (`kiln secret keygen` makes a key pair)"
        )));
    }
    let failed = |e: &dyn std::fmt::Display| Error::Store(format!("cannot encrypt `{name}`: {e}"));
    let encryptor =
        age::Encryptor::with_recipients(parsed.iter().map(|r| r as &dyn age::Recipient))
            .map_err(|e| failed(&e))?;
    let mut out = Vec::new();
    let armor = age::armor::ArmoredWriter::wrap_output(&mut out, age::armor::Format::AsciiArmor)
        .map_err(|e| failed(&e))?;
    let mut writer = encryptor.wrap_output(armor).map_err(|e| failed(&e))?;
    writer.write_all(&sealed(env, name, value)).map_err(|e| failed(&e))?;
    writer.finish().and_then(|armor| armor.finish()).map_err(|e| failed(&e))?;
    Ok(String::from_utf8(out).expect("armor is ASCII"))
}

/// Decrypt secret `name` of `env` from `armored` with `identities`.
pub fn decrypt(
    identities: &[Box<dyn age::Identity + Send + Sync>],
    env: &str,
    name: &str,
    armored: &str,
) -> Result<Zeroizing<String>, Error> {
    let unreadable =
        |message: String| Error::Unreadable { name: name.into(), environment: env.into(), message };
    let decryptor = age::Decryptor::new_buffered(age::armor::ArmoredReader::new(
        armored.as_bytes(),
    ))
    .map_err(|e| unreadable(format!("not an age ciphertext ({e}): was the file edited?")))?;
    let mut plain = Zeroizing::new(Vec::new());
    decryptor
        .decrypt(identities.iter().map(|i| i.as_ref() as &dyn age::Identity))
        .map_err(|e| match e {
            age::DecryptError::NoMatchingKeys => unreadable(format!(
                "none of the identities in {} can decrypt it: it is encrypted to other \
                 recipients (`kiln secret list {env}` shows them; one of them can add yours \
                 with `kiln secret recipient add`)",
                identity_path().map(|p| p.display().to_string()).unwrap_or_default()
            )),
            other => unreadable(format!("cannot decrypt it ({other}): was the file edited?")),
        })?
        .read_to_end(&mut plain)
        .map_err(|e| unreadable(format!("cannot decrypt it ({e}): was the file edited?")))?;
    let text = std::str::from_utf8(&plain)
        .map_err(|_| unreadable("its plaintext is not Kiln's: was the file edited?".into()))?;
    let mut parts = text.splitn(4, '\n');
    let (magic, for_env, for_name) = (parts.next(), parts.next(), parts.next());
    let value = parts.next();
    match (magic, for_env, for_name, value) {
        (Some("kiln-secret/v1"), Some(e), Some(n), Some(value)) if e == env && n == name => {
            Ok(Zeroizing::new(value.to_string()))
        }
        (Some("kiln-secret/v1"), Some(e), Some(n), Some(_)) => Err(unreadable(format!(
            "the ciphertext was made for secret `{}` of environment `{}`: the file was edited \
             or tampered with; set the secret again",
            crate::untrusted::line(n),
            crate::untrusted::line(e)
        ))),
        _ => Err(unreadable("its plaintext is not Kiln's: was the file edited?".into())),
    }
}

/// The values of secrets `names` of environment `env`, each from its source. Identities are
/// read only when an encrypted secret is among them.
pub fn values<'a>(
    dir: &AppDir,
    env: &str,
    names: impl IntoIterator<Item = &'a str>,
) -> Result<Values, Error> {
    let file = read(dir, env)?;
    let mut identities = None;
    let mut values = Values::new();
    for name in names {
        let unreadable = |message: String| Error::Unreadable {
            name: name.into(),
            environment: env.into(),
            message,
        };
        let entry = file.secrets.get(name).ok_or_else(|| {
            unreadable(format!("not set (`kiln secret set {env} {name}` stores it)"))
        })?;
        let value = match entry.source().expect("checked when read") {
            Source::Age(armored) => {
                let identities = match &identities {
                    Some(identities) => identities,
                    None => identities.insert(self::identities()?),
                };
                decrypt(identities, env, name, armored)?
            }
            Source::Env(var) => Zeroizing::new(std::env::var(var).map_err(|_| {
                unreadable(format!("taken from the process environment, which has no `{var}`"))
            })?),
            Source::File(path) => {
                // Outside the app as a rule (`/run/secrets/...`), so not through its handle;
                // a relative path is the app's, wherever the command runs.
                let file = dir.root().join(path);
                let mut bytes = Zeroizing::new(Vec::new());
                std::fs::File::open(&file)
                    .and_then(|mut f| f.read_to_end(&mut bytes))
                    .map_err(|e| unreadable(format!("cannot read {}: {e}", file.display())))?;
                let text = std::str::from_utf8(&bytes)
                    .map_err(|_| unreadable(format!("{} is not UTF-8 text", file.display())))?;
                Zeroizing::new(text.to_string())
            }
        };
        values.insert(name.to_string(), value);
    }
    Ok(values)
}

/// How `kiln secret set` gets a value.
pub enum Input {
    /// The value itself, encrypted into the app.
    Value(Zeroizing<String>),
    /// Named only: the process environment's variable at apply.
    Env(String),
    /// Named only: the file at apply.
    File(String),
}

/// Set secret `name` of environment `env` (whose file `file` is) from `input`.
pub fn set(file: &mut SecretsFile, env: &str, name: &str, input: Input) -> Result<(), Error> {
    check_name(name).map_err(Error::Store)?;
    let entry = match input {
        Input::Value(value) => Entry {
            recipients: file.recipients.clone(),
            age: Some(encrypt(&file.recipients, env, name, &value)?),
            ..Entry::default()
        },
        Input::Env(var) => Entry { from_env: Some(var), ..Entry::default() },
        Input::File(path) => Entry { from_file: Some(path), ..Entry::default() },
    };
    file.secrets.insert(name.to_string(), entry);
    Ok(())
}

/// Make `recipients` the environment's, re-encrypting every encrypted secret to them (which
/// needs an identity that decrypts each).
pub fn set_recipients(
    file: &mut SecretsFile,
    env: &str,
    recipients: Vec<String>,
) -> Result<usize, Error> {
    parse_recipients(&recipients)?;
    let encrypted: Vec<String> = file
        .secrets
        .iter()
        .filter(|(_, entry)| entry.age.is_some())
        .map(|(name, _)| name.clone())
        .collect();
    if !encrypted.is_empty() && recipients.is_empty() {
        return Err(Error::Store(format!(
            "environment `{env}` holds encrypted secrets: it needs at least one recipient"
        )));
    }
    let identities = if encrypted.is_empty() { Vec::new() } else { identities()? };
    for name in &encrypted {
        let entry = file.secrets.get_mut(name).expect("listed above");
        let value = decrypt(&identities, env, name, entry.age.as_deref().expect("encrypted"))?;
        entry.age = Some(encrypt(&recipients, env, name, &value)?);
        entry.recipients = recipients.clone();
    }
    file.recipients = recipients;
    Ok(encrypted.len())
}

/// One secret as `kiln secret list` shows it: never its value.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Listed {
    /// Its name.
    pub name: String,
    /// Where its value comes from: `age`, `env VAR` or `file PATH`.
    pub source: String,
    /// Whom it is encrypted to (empty unless `age`).
    pub recipients: Vec<String>,
    /// Encrypted to others than the environment's recipients now: `kiln secret recipient add`
    /// (or `set` again) brings it in line.
    pub stale: bool,
}

/// The secrets of `file`, by name.
pub fn list(file: &SecretsFile) -> Vec<Listed> {
    let mut now = file.recipients.clone();
    now.sort();
    file.secrets
        .iter()
        .map(|(name, entry)| {
            let source = match entry.source() {
                Some(Source::Age(_)) => "age".to_string(),
                Some(Source::Env(var)) => format!("env {var}"),
                Some(Source::File(path)) => format!("file {path}"),
                None => "?".to_string(),
            };
            let mut theirs = entry.recipients.clone();
            theirs.sort();
            let stale = entry.age.is_some() && theirs != now;
            Listed { name: name.clone(), source, recipients: entry.recipients.clone(), stale }
        })
        .collect()
}

/// Write a new identity to `path` (readable by its owner only) and return its recipient.
/// Refuses to overwrite a file.
pub fn keygen(path: &Path) -> Result<String, Error> {
    let failed = |e: std::io::Error| Error::Store(format!("cannot write {}: {e}", path.display()));
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(failed)?;
    }
    let identity = age::x25519::Identity::generate();
    let recipient = identity.to_public().to_string();
    use age::secrecy::ExposeSecret;
    let text = Zeroizing::new(format!(
        "# created by kiln secret keygen\n# public key: {recipient}\n{}\n",
        identity.to_string().expose_secret()
    ));
    let mut file = std::fs::OpenOptions::new();
    file.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut file, 0o600);
    let mut file = file.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            Error::Store(format!(
                "{} exists; Kiln does not overwrite an identity (its secrets would be lost)",
                path.display()
            ))
        } else {
            failed(e)
        }
    })?;
    file.write_all(text.as_bytes()).and_then(|()| file.sync_all()).map_err(failed)?;
    Ok(recipient)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair() -> (Vec<Box<dyn age::Identity + Send + Sync>>, String) {
        let identity = age::x25519::Identity::generate();
        let recipient = identity.to_public().to_string();
        (vec![Box::new(identity)], recipient)
    }

    #[test]
    fn a_value_round_trips_only_under_its_own_names_and_keys() {
        let (identities, recipient) = pair();
        let armored = encrypt(&[recipient], "cloud", "db", "hunter2").unwrap();
        assert!(armored.starts_with("-----BEGIN AGE ENCRYPTED FILE-----"));
        assert!(!armored.contains("hunter2"));
        assert_eq!(decrypt(&identities, "cloud", "db", &armored).unwrap().as_str(), "hunter2");

        let moved = decrypt(&identities, "cloud", "other", &armored).unwrap_err().to_string();
        assert!(moved.contains("made for secret `db` of environment `cloud`"), "{moved}");
        let (stranger, _) = pair();
        let wrong = decrypt(&stranger, "cloud", "db", &armored).unwrap_err().to_string();
        assert!(wrong.contains("none of the identities"), "{wrong}");

        // Flip one character of the ciphertext's body.
        let mut lines: Vec<String> = armored.lines().map(String::from).collect();
        let body = &mut lines[1];
        let flipped = if body.starts_with('A') { "B" } else { "A" };
        body.replace_range(0..1, flipped);
        let tampered = lines.join("\n");
        let err = decrypt(&identities, "cloud", "db", &tampered).unwrap_err().to_string();
        assert!(err.contains("was the file edited?"), "{err}");
    }

    #[test]
    fn a_file_with_a_value_in_plain_text_or_two_sources_is_refused() {
        for text in [
            "[secrets.db]\nvalue = \"hunter2\"\n",
            "[secrets.db]\nfrom-env = \"A\"\nfrom-file = \"/b\"\n",
            "[secrets.db]\n",
        ] {
            let file: Result<SecretsFile, _> = toml::from_str(text);
            let refused = match file {
                Err(_) => true,
                Ok(file) => file.secrets["db"].source().is_none(),
            };
            assert!(refused, "{text}");
        }
    }
}
