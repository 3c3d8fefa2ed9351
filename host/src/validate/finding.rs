//! What validation finds, as plain data: one [`Finding`] per problem, naming the component,
//! the object and the JSON path, and printed in one stable order.

use serde::Serialize;
use serde_json::Value;

use crate::untrusted::Untrusted;

/// How bad a finding is. Errors block `show` and `apply`; warnings and notes do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The object would be rejected by the API server, or is not what was meant.
    Error,
    /// Something could not be checked, or is suspicious.
    Warning,
    /// Information about how validation ran.
    Note,
}

impl Severity {
    /// The word printed before a finding.
    pub fn word(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        }
    }
}

/// Which check produced a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Check {
    /// Identity, names, labels, namespaces, duplicates.
    Structure,
    /// The schema of a built-in kind or of a CustomResourceDefinition.
    Schema,
    /// A component's param values against its prototype's param schema.
    Params,
}

/// One problem found. Field order is sort order: by component, object, path, then severity.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Finding {
    /// The component it concerns; `None` for the environment as a whole.
    pub component: Option<String>,
    /// The object, `kind/namespace/name`; `None` for a component's params or the environment.
    pub object: Option<String>,
    /// The JSON path inside the object (`spec.template.spec.containers[0].image`) or the params
    /// (`params.replicas`); empty for the whole object.
    pub path: String,
    /// How bad it is.
    pub severity: Severity,
    /// The check that found it.
    pub check: Check,
    /// What is wrong, lowercase, names in backticks.
    pub message: String,
    /// What to do about it, when there is something specific.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl Finding {
    /// A finding about `object` of `component`.
    pub fn object(
        severity: Severity,
        check: Check,
        component: &str,
        object: &str,
        path: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Finding {
            component: Some(component.to_string()),
            object: Some(object.to_string()),
            path: path.into(),
            severity,
            check,
            message: message.into(),
            hint: None,
        }
    }

    /// The same finding with a hint.
    pub fn with_hint(mut self, hint: Option<String>) -> Self {
        self.hint = hint;
        self
    }

    /// Where it is, for people: ``component `web`, `Deployment/shop/web` at `spec.replicas` ``.
    /// Object names and paths come from what a guest rendered: each is shown escaped, on one
    /// line (see [`crate::untrusted`]).
    pub fn location(&self) -> String {
        let mut parts = Vec::new();
        if let Some(component) = &self.component {
            parts.push(format!("component `{}`", Untrusted(component)));
        }
        if let Some(object) = &self.object {
            parts.push(format!("`{}`", Untrusted(object)));
        }
        let mut out = parts.join(", ");
        if !self.path.is_empty() {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(&format!("at `{}`", Untrusted(&self.path)));
        }
        out
    }
}

impl std::fmt::Display for Finding {
    /// `error: component `web`, `Deployment/shop/web` at `spec.replcas`: unknown field ...`,
    /// on one line whatever the guest wrote: the message quotes names and values from objects,
    /// so it is escaped like them.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let location = self.location();
        let message = Untrusted(&self.message);
        if location.is_empty() {
            write!(f, "{}: {message}", self.severity.word())
        } else {
            write!(f, "{}: {location}: {message}", self.severity.word())
        }
    }
}

/// Every finding of one validation run, sorted and without repeats.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The findings, in print order.
    pub findings: Vec<Finding>,
    /// How many objects were checked.
    pub objects: usize,
    /// The schemas built-in kinds were checked against: `Kubernetes 1.33`.
    pub schemas: String,
    /// Fingerprints of the objects that passed their schema check, to remember for the next
    /// run (see [`super::Memo`]).
    pub passed: Vec<super::Fingerprint>,
}

impl Report {
    /// A report of `findings` over `objects` objects, sorted and deduplicated.
    pub fn new(mut findings: Vec<Finding>, objects: usize) -> Self {
        findings.sort();
        findings.dedup();
        Report { findings, objects, schemas: String::new(), passed: Vec::new() }
    }

    /// How many findings have `severity`.
    pub fn count(&self, severity: Severity) -> usize {
        self.findings.iter().filter(|f| f.severity == severity).count()
    }

    /// Whether nothing blocks: no errors (warnings and notes are fine).
    pub fn is_valid(&self) -> bool {
        self.count(Severity::Error) == 0
    }

    /// One line: ``2 errors, 1 warning in 14 objects``.
    pub fn summary(&self) -> String {
        let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
        format!(
            "{}, {} in {}",
            plural(self.count(Severity::Error), "error"),
            plural(self.count(Severity::Warning), "warning"),
            plural(self.objects, "object"),
        )
    }

    /// The report as text: each finding, its hint indented under it.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for finding in &self.findings {
            out.push_str(&format!("{finding}\n"));
            if let Some(hint) = &finding.hint {
                out.push_str(&format!("  hint: {}\n", Untrusted(hint)));
            }
        }
        out
    }

    /// The report as JSON: `{"valid": .., "summary": .., "findings": [..]}`.
    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "valid": self.is_valid(),
            "summary": self.summary(),
            "objects": self.objects,
            "schemas": self.schemas,
            "findings": self.findings,
        })
    }
}

/// A JSON pointer inside `instance` (`/spec/containers/0/name`) as people write paths:
/// `spec.containers[0].name`. Keys that are not plain words are quoted:
/// `metadata.labels["app.kubernetes.io/name"]`.
pub fn json_path<'a>(instance: &Value, segments: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = String::new();
    let mut at = Some(instance);
    for segment in segments {
        match at {
            Some(Value::Array(items)) => {
                out.push_str(&format!("[{segment}]"));
                at = segment.parse::<usize>().ok().and_then(|i| items.get(i));
            }
            _ => {
                push_key(&mut out, segment);
                at = at.and_then(|v| v.get(segment));
            }
        }
    }
    out
}

/// Append `.key` (or `["key"]`) to a path.
pub fn push_key(path: &mut String, key: &str) {
    let plain =
        !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if plain {
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(key);
    } else {
        path.push_str(&format!("[{}]", Value::from(key)));
    }
}

/// `path` with `.key` appended.
pub fn join(path: &str, key: &str) -> String {
    let mut out = path.to_string();
    push_key(&mut out, key);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_read_like_kubectl_explain() {
        let object = json!({"spec": {"containers": [{"name": "a"}]}, "metadata": {"labels": {}}});
        assert_eq!(
            json_path(&object, ["spec", "containers", "0", "name"]),
            "spec.containers[0].name"
        );
        assert_eq!(
            json_path(&object, ["metadata", "labels", "app.kubernetes.io/name"]),
            "metadata.labels[\"app.kubernetes.io/name\"]"
        );
        assert_eq!(json_path(&object, []), "");
        assert_eq!(join("spec", "replcas"), "spec.replcas");
        assert_eq!(join("", "spec"), "spec");
    }

    #[test]
    fn findings_sort_by_component_object_path_and_print_with_hints() {
        let b = Finding::object(
            Severity::Error,
            Check::Schema,
            "web",
            "Deployment/a/w",
            "spec.x",
            "unknown field `x`",
        )
        .with_hint(Some("did you mean `y`?".into()));
        let a =
            Finding::object(Severity::Warning, Check::Structure, "db", "Service/a/d", "", "odd");
        let report = Report::new(vec![b.clone(), a.clone(), b.clone()], 3);
        assert_eq!(report.findings, [a, b]);
        assert_eq!(
            report.to_text(),
            "warning: component `db`, `Service/a/d`: odd\n\
             error: component `web`, `Deployment/a/w` at `spec.x`: unknown field `x`\n  \
             hint: did you mean `y`?\n"
        );
        assert_eq!(report.summary(), "1 error, 1 warning in 3 objects");
        assert!(!report.is_valid());
        assert_eq!(report.to_json()["findings"][1]["path"], "spec.x");
    }

    #[test]
    fn findings_show_what_guests_wrote_escaped_on_one_line() {
        let hostile = "a\nerror: forged\u{1b}]52;c;eA==\u{7}\u{202e}";
        let finding = Finding::object(
            Severity::Error,
            Check::Structure,
            "web",
            &format!("ConfigMap/dev/{hostile}"),
            join("metadata.labels", hostile),
            format!("invalid label value `{hostile}`"),
        )
        .with_hint(Some(format!("did you mean `{hostile}`?")));
        let text = Report::new(vec![finding], 1).to_text();
        assert_eq!(text.lines().count(), 2, "{text}");
        assert!(!text.chars().any(|c| c != '\n' && crate::untrusted::needs_escape(c)), "{text}");
        assert!(text.contains(r"ConfigMap/dev/a\nerror: forged\u{1b}]52;c;eA==\u{7}\u{202e}`"));
        assert!(
            text.contains(
                r#"at `metadata.labels["a\nerror: forged\u001b]52;c;eA==\u0007\u{202e}"]`"#
            )
        );
    }
}
