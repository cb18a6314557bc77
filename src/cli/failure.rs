//! A command's failure and the one conversion every error takes into it.

use super::output;
use crate::exit::{Exit, Exits};

/// A command's failure: the sentence for stderr and the exit code.
#[derive(Debug)]
pub struct Failure {
    pub message: String,
    pub code: Exit,
}

impl Failure {
    pub fn new(code: Exit, message: impl Into<String>) -> Failure {
        Failure {
            code,
            message: message.into(),
        }
    }

    /// An exit code whose reasons were printed already.
    pub fn quiet(code: Exit) -> Failure {
        Failure::new(code, "")
    }

    /// The message as stderr shows it: nothing in it a terminal would act on, whatever
    /// path or value it names.
    pub fn shown(&self) -> String {
        output::for_terminal(&self.message)
    }
}

/// Every error becomes a command's failure as its sentence and its exit code, here once.
impl<E: Exits> From<E> for Failure {
    fn from(error: E) -> Failure {
        Failure::new(error.exit(), error.to_string())
    }
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        // A closed pipe (`| head`) is not worth a message, but it is not success either.
        Failure::new(Exit::Failed, format!("cannot write the output: {e}"))
    }
}
