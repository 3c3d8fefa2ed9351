//! The app's registries: the built-in `kubeflow` one plus those in `kiln.toml`'s
//! `[registries.NAME]` tables (`uri`, and `ref` for git).

use std::collections::BTreeMap;

use super::{APP_FILE, App, AppError, files};
use crate::registry::{BUILTIN, Location};

/// The built-in registry's name, which no added registry may take.
pub const RESERVED_REGISTRY: &str = BUILTIN;

impl App {
    /// Every registry by name, the built-in one included.
    pub fn registries(&self) -> Result<BTreeMap<String, Location>, AppError> {
        let mut all = BTreeMap::from([(BUILTIN.to_string(), Location::Builtin)]);
        for (name, entry) in &self.file.registries {
            let location = Location::parse(&entry.uri, entry.reference.as_deref(), self.dir.root())
                .map_err(|e| AppError::Invalid {
                    location: entry.origin.clone(),
                    message: e.to_string(),
                })?;
            all.insert(name.clone(), location);
        }
        Ok(all)
    }

    /// The registry `name`.
    pub fn registry(&self, name: &str) -> Result<Location, AppError> {
        let all = self.registries()?;
        all.get(name).cloned().ok_or_else(|| AppError::Unknown {
            what: "registry",
            name: name.into(),
            suggestion: crate::prototype::suggest(name, all.keys().map(String::as_str)),
        })
    }

    /// Add registry `name` at `location` to `kiln.toml`.
    pub fn add_registry(&mut self, name: &str, location: &Location) -> Result<(), AppError> {
        if !crate::names::is_dns1123_label(name) {
            return Err(AppError::InvalidName {
                what: "registry",
                name: name.into(),
                rule: "use at most 63 lowercase letters, digits and `-` (it becomes a directory \
                       name under vendor/)",
            });
        }
        if name == RESERVED_REGISTRY || self.file.registries.contains_key(name) {
            return Err(AppError::Exists { what: "registry", name: name.into() });
        }
        let text = self.dir.read(APP_FILE)?.unwrap_or_default();
        let mut doc = files::edit(APP_FILE, &text)?;
        let table = files::table_mut(&mut doc, &["registries", name]);
        table["uri"] = toml_edit::value(location.uri());
        if let Some(reference) = location.reference() {
            table["ref"] = toml_edit::value(reference);
        }
        if let Some(registries) = doc.get_mut("registries").and_then(|r| r.as_table_mut()) {
            registries.set_implicit(true);
        }
        let text = doc.to_string();
        self.file = super::AppFile::parse(APP_FILE, &text)?;
        self.dir.write(APP_FILE, text.as_bytes())?;
        Ok(())
    }

    /// Remove registry `name` from `kiln.toml`, refusing while installed packages come from it.
    pub fn remove_registry(&mut self, name: &str) -> Result<(), AppError> {
        if name == RESERVED_REGISTRY {
            return Err(AppError::Param(format!(
                "`{RESERVED_REGISTRY}` is built into Kiln and cannot be removed"
            )));
        }
        self.registry(name)?;
        let users: Vec<String> = self
            .installed_packages()?
            .iter()
            .filter(|p| p.registry == name)
            .map(|p| p.reference())
            .collect();
        if !users.is_empty() {
            return Err(AppError::InUse { what: "registry", name: name.into(), users });
        }
        let text = self.dir.read(APP_FILE)?.unwrap_or_default();
        let mut doc = files::edit(APP_FILE, &text)?;
        if let Some(registries) = doc.get_mut("registries").and_then(|r| r.as_table_like_mut()) {
            registries.remove(name);
            if registries.is_empty() {
                doc.remove("registries");
            }
        }
        let text = doc.to_string();
        self.file = super::AppFile::parse(APP_FILE, &text)?;
        self.dir.write(APP_FILE, text.as_bytes())?;
        Ok(())
    }
}
