//! Secret params: a prototype never holds a secret's value, only a reference, and the value
//! reaches only the place the reference was put, in a Secret.
//!
//! The way of a secret through a render:
//!
//! 1. A component's secret param names a secret of the environment (`{ secret = "NAME" }`).
//!    Before the prototype runs, [`References::mint`] swaps each name for a reference: 128
//!    random bits from the operating system, new at every render, so a prototype cannot forge
//!    the reference of a secret it was not given, and nothing it derives from one is stable.
//!    Other components' views of the app leave secret params out.
//! 2. After post-processing, [`seal`] finds every reference in the objects. Where it stands
//!    whole as the value of a key of a `v1` Secret's `stringData` it is replaced by the mask
//!    `<secret NAME>` and the component is recorded as having placed that secret; anywhere
//!    else (another field or kind, a name, a key, a part of a string, base64-encoded) the
//!    render fails, naming the component, object and field. What a prototype does to a
//!    reference beyond that (hash it, encrypt it) yields nothing: the value was never in it.
//! 3. Validation, `show` and revisions see masks. Only on the way to the cluster (and with
//!    `show --reveal-secrets`) does [`reveal`] replace the masks a component placed by the
//!    values, which [`store`] decrypts or reads then.

pub mod store;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::Value;
use zeroize::Zeroizing;

use crate::manifest::Object;
use crate::prototype::{ParamValue, Params};

/// What every reference starts with.
pub const REFERENCE_PREFIX: &str = "kiln-secret:";

/// Why secrets could not be placed, found or read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// A reference outside a Secret's `stringData`, or changed.
    #[error(
        "component `{component}` put {} in {object} at `{path}`{how}: a secret may only be \
         placed whole, as the value of a key of a v1 Secret's `stringData`",
        secret.as_ref().map_or("a reference to a secret".into(), |s| format!("the reference to secret `{s}`"))
    )]
    Misplaced {
        /// The component.
        component: String,
        /// The secret whose reference it was; `None` when too little of it is left to tell.
        secret: Option<String>,
        /// The object, `Kind/name`.
        object: String,
        /// The field, e.g. `data.password` or `metadata.annotations.note`.
        path: String,
        /// How it was found when not whole: ` (as part of a string)`, ` (base64-encoded)`.
        how: String,
    },
    /// A secret param names a secret the environment does not have.
    #[error(
        "secret `{name}` (param `{param}` of component `{component}`) is not set for \
         environment `{environment}`"
    )]
    NotSet {
        /// The secret.
        name: String,
        /// The param naming it.
        param: String,
        /// Its component.
        component: String,
        /// The environment.
        environment: String,
    },
    /// A secret's value could not be had (decryption, the process environment, a file).
    #[error("secret `{name}` of environment `{environment}`: {message}")]
    Unreadable {
        /// The secret.
        name: String,
        /// The environment.
        environment: String,
        /// Why, with what to do.
        message: String,
    },
    /// The secrets file or the identity is unusable, or a change to them is refused.
    #[error("{0}")]
    Store(String),
}

impl Error {
    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Misplaced { .. } => Some(
                "a prototype places a secret with `kiln_sdk::secret` (Rust) or by putting the \
                 param's value in a Secret's `stringData` (docs/prototypes.md, Secrets)"
                    .into(),
            ),
            Error::NotSet { name, environment, .. } => Some(format!(
                "`kiln secret set {environment} {name}` stores it, encrypted; `--from-env VAR` \
                 or `--from-file PATH` takes it at apply instead"
            )),
            Error::Unreadable { .. } | Error::Store(_) => None,
        }
    }
}

/// Check that `name` can name a secret: lowercase letters, digits, `-`, `_` and `.`, starting
/// and ending with a letter or digit, at most 253 characters.
pub fn check_name(name: &str) -> Result<(), String> {
    let ok_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c);
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if name.is_empty() || name.len() > 253 {
        return Err("a secret's name has 1 to 253 characters".into());
    }
    if !name.chars().all(ok_char) || !edge(name.chars().next()) || !edge(name.chars().last()) {
        return Err(format!(
            "`{}` is not a secret's name: lowercase letters, digits, `-`, `_` and `.`, starting \
             and ending with a letter or digit",
            crate::untrusted::line(name)
        ));
    }
    Ok(())
}

/// The mask that stands for secret `name` in objects until its value is revealed.
pub fn mask(name: &str) -> String {
    format!("<secret {name}>")
}

/// The secret a mask stands for, if `text` is one.
pub fn masked_name(text: &str) -> Option<&str> {
    let name = text.strip_prefix("<secret ")?.strip_suffix('>')?;
    check_name(name).ok().map(|()| name)
}

/// The references handed to one component's render, by reference, with the secret and param
/// each stands for.
#[derive(Debug, Clone, Default)]
pub struct References {
    by_reference: BTreeMap<String, (String, String)>,
}

impl References {
    /// `params` as the guest gets them: each secret's name replaced by a fresh reference.
    pub fn mint(params: &Params) -> (Params, References) {
        let mut references = References::default();
        let params = params
            .iter()
            .map(|(param, value)| {
                let value = match value {
                    ParamValue::Secret(name) => {
                        let mut bits = [0u8; 16];
                        // Without the operating system's randomness Kiln could not keep the
                        // promise at all; it is there on every system Kiln runs on.
                        getrandom::fill(&mut bits).expect("the operating system gives randomness");
                        let reference = format!("{REFERENCE_PREFIX}{}", hex::encode(bits));
                        references
                            .by_reference
                            .insert(reference.clone(), (name.clone(), param.clone()));
                        ParamValue::Secret(reference)
                    }
                    other => other.clone(),
                };
                (param.clone(), value)
            })
            .collect();
        (params, references)
    }

    /// Whether the component was given no secret.
    pub fn is_empty(&self) -> bool {
        self.by_reference.is_empty()
    }
}

/// The secrets each component placed in its Secrets (as masks), which only those may receive.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Placed {
    by_component: BTreeMap<String, BTreeSet<String>>,
}

impl Placed {
    /// Every secret placed, each once, sorted.
    pub fn names(&self) -> BTreeSet<&str> {
        self.by_component.values().flatten().map(String::as_str).collect()
    }

    /// Whether no secret was placed.
    pub fn is_empty(&self) -> bool {
        self.by_component.is_empty()
    }
}

/// Find every reference in `objects` (see the module's docs): replace each placed whole in a
/// Secret's `stringData` by its mask, and fail on any other.
pub fn seal(
    objects: &mut [Object],
    references: &BTreeMap<String, References>,
) -> Result<Placed, Error> {
    let mut placed = Placed::default();
    if references.values().all(References::is_empty) {
        return Ok(placed);
    }
    // Every reference of every component: a component may also have copied another's out of
    // an error or a log, were they ever shown to it.
    let finder = Finder::new(references);
    for object in objects {
        let label = object_label(&object.value);
        let own = references.get(&object.component);
        let is_secret = object.value["apiVersion"] == "v1" && object.value["kind"] == "Secret";
        let mut found = Vec::new();
        walk(&mut object.value, &mut String::new(), &mut |path, text, at_key| {
            if is_secret
                && !at_key
                && path.starts_with("stringData.")
                && path.matches('.').count() == 1
                && let Some((name, _)) = own.and_then(|r| r.by_reference.get(text.as_str()))
            {
                found.push(name.clone());
                *text = mask(name);
                return Ok(());
            }
            match finder.find(text) {
                None => Ok(()),
                Some((secret, how)) => Err(Error::Misplaced {
                    component: object.component.clone(),
                    secret: (secret != "?").then(|| secret.to_string()),
                    object: label.clone(),
                    path: path.to_string(),
                    how: how.into(),
                }),
            }
        })?;
        if !found.is_empty() {
            placed.by_component.entry(object.component.clone()).or_default().extend(found);
        }
    }
    Ok(placed)
}

/// How many characters in a row of a reference's random part give it away: 64 bits, which no
/// other text holds by chance (every object carries two sha256 digests in hex: with 1,000
/// secrets, a false match in an app of 10,000 objects has odds of about one in a billion).
const PIECE: usize = 16;

/// Finds references in text, whole, in pieces, cut short or base64-encoded, in one pass over
/// the text whatever the number of references: an app of many objects and many secrets is
/// searched in time proportional to its text.
struct Finder<'a> {
    /// Each reference, with its secret.
    whole: HashMap<&'a str, &'a str>,
    /// Every `PIECE` characters in a row of each reference's random part, with its secret.
    pieces: HashMap<&'a [u8], &'a str>,
    /// Each reference's random part, with its secret.
    random: Vec<(&'a str, &'a str)>,
    /// `REFERENCE_PREFIX` in base64, which starts the base64 of every reference (12 bytes,
    /// so it encodes to 16 characters without padding).
    encoded_prefix: String,
}

impl<'a> Finder<'a> {
    fn new(references: &'a BTreeMap<String, References>) -> Self {
        let all = || references.values().flat_map(|r| r.by_reference.iter());
        let random: Vec<(&str, &str)> = all()
            .map(|(reference, (name, _))| (&reference[REFERENCE_PREFIX.len()..], name.as_str()))
            .collect();
        Finder {
            whole: all()
                .map(|(reference, (name, _))| (reference.as_str(), name.as_str()))
                .collect(),
            pieces: random
                .iter()
                .flat_map(|(random, name)| random.as_bytes().windows(PIECE).map(|w| (w, *name)))
                .collect(),
            random,
            encoded_prefix: base64(REFERENCE_PREFIX.as_bytes()),
        }
    }

    /// The secret whose reference `text` holds, and how (see [`Error::Misplaced`]).
    fn find(&self, text: &str) -> Option<(&'a str, &'static str)> {
        if let Some(name) = self.whole.get(text) {
            return Some((name, ""));
        }
        let bytes = text.as_bytes();
        if let Some(name) = bytes.windows(PIECE).find_map(|w| self.pieces.get(w)) {
            return Some((name, " (as part of a string)"));
        }
        if let Some(at) = text.find(REFERENCE_PREFIX) {
            // Cut short: name the reference its remaining digits begin, if any.
            let rest = &text[at + REFERENCE_PREFIX.len()..];
            let digits =
                rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_hexdigit()).len();
            let name = (digits > 0)
                .then(|| self.random.iter().find(|(random, _)| random.starts_with(&rest[..digits])))
                .flatten();
            return Some(match name {
                Some((_, name)) => (name, " (as part of a string)"),
                None => ("?", " (a changed reference)"),
            });
        }
        if text.contains(&self.encoded_prefix) {
            let name = self.whole.iter().find_map(|(reference, name)| {
                let encoded = base64(reference.as_bytes());
                text.contains(encoded.trim_end_matches('=')).then_some(*name)
            });
            return Some((name.unwrap_or("?"), " (base64-encoded)"));
        }
        None
    }
}

/// Visit every string of `value`, map keys included (`at_key`), with its dotted path.
fn walk(
    value: &mut Value,
    path: &mut String,
    visit: &mut dyn FnMut(&str, &mut String, bool) -> Result<(), Error>,
) -> Result<(), Error> {
    let len = path.len();
    match value {
        Value::String(text) => visit(path, text, false)?,
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                path.push_str(&format!("[{i}]"));
                walk(item, path, visit)?;
                path.truncate(len);
            }
        }
        Value::Object(map) => {
            for (key, item) in map.iter_mut() {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
                let mut key_text = key.clone();
                visit(path, &mut key_text, true)?;
                walk(item, path, visit)?;
                path.truncate(len);
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
    Ok(())
}

fn object_label(value: &Value) -> String {
    let kind = value["kind"].as_str().unwrap_or("?");
    let name = value["metadata"]["name"].as_str().unwrap_or("?");
    crate::untrusted::line(&format!("{kind}/{name}")).into_owned()
}

fn base64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Secret values by name, wiped from memory when dropped.
pub type Values = BTreeMap<String, Zeroizing<String>>;

/// Replace, in `objects` (each with its component), the masks each component placed by the
/// values. Returns how many were replaced.
pub fn reveal<'a>(
    objects: impl IntoIterator<Item = (&'a str, &'a mut Value)>,
    placed: &Placed,
    values: &Values,
) -> usize {
    let mut revealed = 0;
    for (component, object) in objects {
        let Some(own) = placed.by_component.get(component) else { continue };
        if object["apiVersion"] != "v1" || object["kind"] != "Secret" {
            continue;
        }
        let Some(data) = object.get_mut("stringData").and_then(Value::as_object_mut) else {
            continue;
        };
        for text in data.values_mut() {
            let Some(name) = text.as_str().and_then(masked_name) else { continue };
            if let (true, Some(value)) = (own.contains(name), values.get(name)) {
                *text = Value::String(value.as_str().to_owned());
                revealed += 1;
            }
        }
    }
    revealed
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn params() -> Params {
        Params::from([
            ("password".into(), ParamValue::Secret("db-password".into())),
            ("user".into(), ParamValue::String("admin".into())),
        ])
    }

    fn reference(params: &Params) -> String {
        match &params["password"] {
            ParamValue::Secret(reference) => reference.clone(),
            other => panic!("{other:?}"),
        }
    }

    fn object(component: &str, value: Value) -> Object {
        Object { component: component.into(), value, scope: None }
    }

    #[test]
    fn references_are_fresh_and_name_nothing() {
        let (a, _) = References::mint(&params());
        let (b, _) = References::mint(&params());
        assert_ne!(reference(&a), reference(&b));
        assert!(!reference(&a).contains("db-password"));
        assert_eq!(a["user"], ParamValue::String("admin".into()));
    }

    #[test]
    fn a_reference_in_string_data_is_masked_then_revealed_for_its_component_only() {
        let (given, refs) = References::mint(&params());
        let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"},
                            "stringData": {"password": reference(&given), "user": "admin"}});
        let mut objects = vec![object("db", secret.clone())];
        let placed = seal(&mut objects, &BTreeMap::from([("db".into(), refs)])).unwrap();
        assert_eq!(objects[0].value["stringData"]["password"], "<secret db-password>");
        assert_eq!(placed.names(), BTreeSet::from(["db-password"]));

        let values = Values::from([("db-password".into(), Zeroizing::new("hunter2".into()))]);
        let mut out = [
            ("db".to_string(), objects[0].value.clone()),
            // Another component writing the mask gets nothing.
            ("other".to_string(), objects[0].value.clone()),
        ];
        let pairs = out.iter_mut().map(|(c, v)| (c.as_str(), v));
        assert_eq!(reveal(pairs, &placed, &values), 1);
        assert_eq!(out[0].1["stringData"]["password"], "hunter2");
        assert_eq!(out[1].1["stringData"]["password"], "<secret db-password>");
    }

    #[test]
    fn a_reference_anywhere_else_fails_naming_component_object_and_field() {
        let cases = [
            (
                json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
                    "data": {"password": "REF"}}),
                "ConfigMap/c",
                "data.password",
                "",
            ),
            (
                json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
                    "data": {"password": "REF"}}),
                "Secret/s",
                "data.password",
                "",
            ),
            (
                json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s",
                    "annotations": {"a": "x REF y"}}}),
                "Secret/s",
                "metadata.annotations.a",
                " (as part of a string)",
            ),
            (
                json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
                    "stringData": {"REF": "x"}}),
                "Secret/s",
                "stringData.REF",
                "",
            ),
            (
                json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
                    "data": {"k": "B64"}}),
                "ConfigMap/c",
                "data.k",
                " (base64-encoded)",
            ),
        ];
        for (template, label, path, how) in cases {
            let (given, refs) = References::mint(&params());
            let reference = reference(&given);
            let text = template
                .to_string()
                .replace("B64", &base64(reference.as_bytes()))
                .replace("REF", &reference);
            let mut objects = vec![object("db", serde_json::from_str(&text).unwrap())];
            let err = seal(&mut objects, &BTreeMap::from([("db".into(), refs)])).unwrap_err();
            let path = path.replace("REF", &reference);
            assert_eq!(
                err,
                Error::Misplaced {
                    component: "db".into(),
                    secret: Some("db-password".into()),
                    object: label.into(),
                    path,
                    how: how.into(),
                },
                "{template}"
            );
        }
    }

    #[test]
    fn a_reference_cut_in_two_is_found_by_either_half_and_named() {
        let (given, refs) = References::mint(&params());
        let reference = reference(&given);
        let (a, b) = reference.split_at(reference.len() / 2);
        for half in [a, b] {
            let value = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
                               "data": {"k": format!("x{half}y")}});
            let mut objects = vec![object("db", value)];
            let refs = BTreeMap::from([("db".into(), refs.clone())]);
            let err = seal(&mut objects, &refs).unwrap_err();
            assert!(
                matches!(&err, Error::Misplaced { secret, how, .. }
                    if secret.as_deref() == Some("db-password") && how == " (as part of a string)"),
                "{half}: {err}"
            );
        }
    }

    #[test]
    fn another_components_reference_is_not_placed() {
        let (given, refs) = References::mint(&params());
        let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
                            "stringData": {"password": reference(&given)}});
        let mut objects = vec![object("thief", secret)];
        let references =
            BTreeMap::from([("db".into(), refs), ("thief".into(), References::default())]);
        assert!(matches!(
            seal(&mut objects, &references),
            Err(Error::Misplaced { component, .. }) if component == "thief"
        ));
    }

    #[test]
    fn names_and_masks() {
        assert!(check_name("db-password").is_ok());
        assert!(check_name("a.b_c").is_ok());
        for bad in ["", "-a", "A", "a b", "a/b", "a-"] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
        assert_eq!(masked_name(&mask("db-password")), Some("db-password"));
        assert_eq!(masked_name("<secret a b>"), None);
    }
}
