//! What can go wrong running a prototype, in three classes kept apart: the prototype rejected
//! its params (the user's to fix), the prototype broke or hit a limit, or Kiln itself failed.
//! Whatever a guest wrote into a message (its own error, a panic, names from its description or
//! objects) is shown escaped on one line (see [`crate::untrusted`]).

use super::limits::Limit;
use crate::prototype::ParamError;
use crate::untrusted::Untrusted;

/// An error from loading or running a prototype. Every variant names the prototype.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file is not a Wasm component Kiln can compile.
    #[error("cannot compile prototype `{prototype}`: {}", Untrusted(message))]
    Compile {
        /// The prototype (its file name or name).
        prototype: String,
        /// wasmtime's explanation.
        message: String,
    },
    /// The component imports something the sandbox does not offer.
    #[error(
        "prototype `{prototype}` imports `{}`, which Kiln does not provide: {}",
        Untrusted(import),
        Untrusted(reason)
    )]
    DeniedImport {
        /// The prototype.
        prototype: String,
        /// The import, e.g. `wasi:sockets/tcp@0.2.0`.
        import: String,
        /// Why it is not offered.
        reason: String,
    },
    /// The component does not implement the `kiln:prototype` world.
    #[error(
        "prototype `{prototype}` does not implement the kiln:prototype world: {}",
        Untrusted(message)
    )]
    NotAPrototype {
        /// The prototype.
        prototype: String,
        /// What is missing or mistyped.
        message: String,
    },
    /// The prototype hit one of the user's limits.
    #[error("prototype `{prototype}` exceeded its `{limit}` limit of {value} {}", limit.what())]
    Limit {
        /// The prototype.
        prototype: String,
        /// The limit.
        limit: Limit,
        /// Its value in this render.
        value: u64,
    },
    /// The prototype trapped (a panic, an unreachable, a bad memory access).
    #[error("prototype `{prototype}` crashed: {}", Untrusted(message))]
    Trap {
        /// The prototype.
        prototype: String,
        /// The trap and, when the guest printed one, its panic message.
        message: String,
    },
    /// The prototype's self-description is inconsistent.
    #[error("prototype `{prototype}` describes itself incorrectly: {}", Untrusted(message))]
    BadInfo {
        /// The prototype.
        prototype: String,
        /// What is wrong.
        message: String,
    },
    /// Params that do not fit the prototype's description, found before it ran.
    #[error(transparent)]
    Param(#[from] ParamError),
    /// The prototype refused a param's value.
    #[error(
        "prototype `{prototype}` rejected param `{}`: {}",
        Untrusted(param),
        Untrusted(message)
    )]
    Rejected {
        /// The prototype.
        prototype: String,
        /// The param it names.
        param: String,
        /// Why.
        message: String,
    },
    /// The prototype failed for a reason of its own.
    #[error("prototype `{prototype}` failed: {}", Untrusted(message))]
    Failed {
        /// The prototype.
        prototype: String,
        /// Its message.
        message: String,
    },
    /// The prototype returned something that is not a Kubernetes object.
    #[error(
        "prototype `{prototype}` returned an invalid object (#{index}): {}",
        Untrusted(message)
    )]
    InvalidObject {
        /// The prototype.
        prototype: String,
        /// The object's position in the output, from 1.
        index: usize,
        /// What is wrong with it.
        message: String,
    },
    /// Kiln failed, not the prototype.
    #[error("internal error running prototype `{prototype}`: {message}")]
    Internal {
        /// The prototype.
        prototype: String,
        /// What failed.
        message: String,
    },
    /// The prototype's code is larger or more intricate than a `compile-*` limit allows,
    /// found before compiling.
    #[error(
        "prototype `{prototype}` exceeds its `{limit}` limit of {value} {} (it has at least {found})",
        limit.what()
    )]
    TooComplex {
        /// The prototype.
        prototype: String,
        /// The limit.
        limit: Limit,
        /// Its value for this compile.
        value: u64,
        /// What the prototype has, as far as Kiln read before stopping.
        found: u64,
    },
}

impl Error {
    /// A hint for the user, where one helps.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Limit { limit, .. } => Some(limit.hint()),
            Error::DeniedImport { .. } => Some(
                "prototypes run deny-by-default; build the component without that interface \
                 (Python: `componentize-py componentize --stub-wasi`; JavaScript: \
                 componentize-qjs, or componentize-js with its WASI features disabled)"
                    .into(),
            ),
            Error::Param(err) => err.hint(),
            Error::TooComplex { limit, .. } => Some(limit.hint()),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Error;

    /// A guest's newline must not start a line of Kiln's output, nor its escapes reach the
    /// terminal, whichever variant carries its text.
    #[test]
    fn guest_text_in_errors_is_escaped_on_one_line() {
        let hostile = || "x\nerror: forged\u{1b}[2J\u{9b}\u{202e}".to_string();
        let p = || "p".to_string();
        for err in [
            Error::Failed { prototype: p(), message: hostile() },
            Error::Rejected { prototype: p(), param: hostile(), message: hostile() },
            Error::Trap { prototype: p(), message: hostile() },
            Error::BadInfo { prototype: p(), message: hostile() },
            Error::InvalidObject { prototype: p(), index: 1, message: hostile() },
            Error::NotAPrototype { prototype: p(), message: hostile() },
            Error::Compile { prototype: p(), message: hostile() },
            Error::DeniedImport { prototype: p(), import: hostile(), reason: hostile() },
        ] {
            let text = err.to_string();
            assert!(!text.chars().any(crate::untrusted::needs_escape), "{text}");
            assert!(text.contains(r"x\nerror: forged\u{1b}[2J\u{9b}\u{202e}"), "{text}");
        }
    }
}
