//! Kubernetes naming rules: DNS-1123 labels and subdomains, label keys and values. Shared by
//! the app (environment names, labels), the runtime (prototype names) and validation.

/// Whether `name` is a DNS-1123 label: at most 63 lowercase letters, digits and `-`,
/// starting and ending with a letter or digit.
pub fn is_dns1123_label(name: &str) -> bool {
    let alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    !name.is_empty()
        && name.len() <= 63
        && name.chars().all(|c| alnum(c) || c == '-')
        && name.starts_with(alnum)
        && name.ends_with(alnum)
}

/// Whether `name` is a DNS-1123 subdomain: dot-separated labels, at most 253 characters.
pub fn is_dns1123_subdomain(name: &str) -> bool {
    name.len() <= 253 && name.split('.').all(is_dns1123_label)
}

fn is_label_name(name: &str) -> bool {
    let alnum = |c: char| c.is_ascii_alphanumeric();
    !name.is_empty()
        && name.len() <= 63
        && name.chars().all(|c| alnum(c) || matches!(c, '-' | '_' | '.'))
        && name.starts_with(alnum)
        && name.ends_with(alnum)
}

/// Check a label key (`[prefix/]name`) and value against Kubernetes' rules.
pub fn check_label(key: &str, value: &str) -> Result<(), String> {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    if prefix.is_some_and(|p| !is_dns1123_subdomain(p)) || !is_label_name(name) {
        return Err(format!(
            "invalid label key `{key}`: an optional DNS subdomain prefix and `/`, then at most 63 \
             letters, digits, `-`, `_` and `.`, starting and ending with a letter or digit"
        ));
    }
    if !value.is_empty() && !is_label_name(value) {
        return Err(format!(
            "invalid label value `{value}` for `{key}`: at most 63 letters, digits, `-`, `_` and \
             `.`, starting and ending with a letter or digit (or empty)"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_subdomains() {
        assert!(is_dns1123_label("tf-serving"));
        assert!(!is_dns1123_label("Tf"));
        assert!(is_dns1123_subdomain("rbac.authorization.k8s.io"));
        assert!(!is_dns1123_subdomain("a..b"));
        assert!(check_label("app.kubernetes.io/name", "serveInception").is_ok());
        assert!(check_label("team", "").is_ok());
        assert!(check_label("-bad", "x").is_err());
        assert!(check_label("ok", "bad value").is_err());
        assert!(check_label("Bad_Prefix/x", "y").is_err());
    }
}
