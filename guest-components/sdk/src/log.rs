//! Log lines for the user, shown tagged with the component. The host bounds how much a
//! prototype may log; lines past the bound are dropped, never an error.

use crate::bindings::kiln::prototype::log::log;
use crate::bindings::kiln::prototype::types::Level;

/// Detail for prototype authors, shown with `--verbose`.
pub fn debug(message: &str) {
    log(Level::Debug, message);
}

/// Progress worth telling the user.
pub fn info(message: &str) {
    log(Level::Info, message);
}

/// Something the user should look at.
pub fn warn(message: &str) {
    log(Level::Warn, message);
}

/// Something went wrong; prefer returning an [`crate::Error`].
pub fn error(message: &str) {
    log(Level::Error, message);
}
