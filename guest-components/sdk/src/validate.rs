//! Checks prototypes run on param values, with errors that name the param.

use crate::Error;

/// Check that `value` of param `param` is a DNS-1123 label: at most 63 characters of lowercase
/// letters, digits and `-`, starting and ending with a letter or digit. Most object names must be.
pub fn dns1123_label(param: &str, value: &str) -> Result<(), Error> {
    let alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    let ok = !value.is_empty()
        && value.len() <= 63
        && value.chars().all(|c| alnum(c) || c == '-')
        && value.starts_with(alnum)
        && value.ends_with(alnum);
    if ok {
        Ok(())
    } else {
        Err(Error::param(
            param,
            format!(
                "`{value}` is not a valid DNS-1123 label: use at most 63 lowercase letters, \
                 digits and `-`, starting and ending with a letter or digit"
            ),
        ))
    }
}

/// Check that `value` of param `param` is a DNS-1035 label: a DNS-1123 label that starts with a
/// letter. Service names must be.
pub fn dns1035_label(param: &str, value: &str) -> Result<(), Error> {
    dns1123_label(param, value)?;
    if value.starts_with(|c: char| c.is_ascii_lowercase()) {
        Ok(())
    } else {
        Err(Error::param(
            param,
            format!("`{value}` must start with a lowercase letter (it names a Service)"),
        ))
    }
}

/// Check that string param `param` is one of `known`, naming them all when it is not.
pub fn one_of(param: &str, value: &str, known: &[&str]) -> Result<(), Error> {
    if known.contains(&value) {
        return Ok(());
    }
    let list = known.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ");
    Err(Error::param(param, format!("unknown value `{value}`; expected one of {list}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_and_rejects_labels() {
        for good in ["a", "pd1", "tf-serving", &"x".repeat(63)] {
            assert!(dns1123_label("p", good).is_ok(), "{good}");
        }
        for bad in ["", "-a", "a-", "A", "pd_1", "a.b", &"x".repeat(64)] {
            assert!(dns1123_label("p", bad).is_err(), "{bad}");
        }
    }
}

#[cfg(test)]
mod more_tests {
    use super::*;

    #[test]
    fn service_names_start_with_a_letter() {
        assert!(dns1035_label("name", "inception").is_ok());
        assert!(dns1035_label("name", "1nception").is_err());
    }

    #[test]
    fn one_of_lists_the_known_values() {
        let err = one_of("cloud", "aws", &["gke", "azure"]).unwrap_err();
        assert_eq!(
            err,
            Error::param("cloud", "unknown value `aws`; expected one of `gke`, `azure`")
        );
    }
}
