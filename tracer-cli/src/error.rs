//! Errors the user can act on. They print as one line and exit with status 2;
//! anything else is an internal failure (status 1) shown with its causes.

use std::fmt;

/// Exit status for bad input, missing privileges and unsupported kernels.
pub const USAGE_EXIT: i32 = 2;

/// An error whose message already says what went wrong and what to do.
#[derive(Debug)]
pub struct UserError(pub String);

impl fmt::Display for UserError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UserError {}

/// Builds an `anyhow::Error` carrying a `UserError`.
macro_rules! user_error {
    ($($arg:tt)*) => {
        anyhow::Error::new($crate::error::UserError(format!($($arg)*)))
    };
}
pub(crate) use user_error;

/// Returns early with a `UserError`.
macro_rules! refuse {
    ($($arg:tt)*) => {
        return Err($crate::error::user_error!($($arg)*))
    };
}
pub(crate) use refuse;

/// The exit status and the line to print for an error that ended the run.
pub fn report(err: &anyhow::Error) -> (i32, String) {
    match err.downcast_ref::<UserError>() {
        Some(user) => (USAGE_EXIT, user.0.clone()),
        None => (1, format!("{err:#}")),
    }
}
