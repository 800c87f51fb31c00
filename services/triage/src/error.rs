//! Errors of loading and running the models.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum TriageError {
    /// A model file or the runtime library is missing or does not match its checksum.
    #[error("{what} at {path}: {reason}; install the models with `{command}`", command = crate::SETUP_COMMAND)]
    Setup { what: String, path: PathBuf, reason: String },
    /// ONNX Runtime refused to load or run a model.
    #[error("ONNX Runtime: {0}")]
    Runtime(String),
    /// The tokenizer failed on an input.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// Head weights that do not fit the encoder or their labels.
    #[error("invalid model: {0}")]
    Invalid(String),
}

impl TriageError {
    pub(crate) fn setup(what: impl Into<String>, path: impl Into<PathBuf>, reason: impl ToString) -> Self {
        Self::Setup { what: what.into(), path: path.into(), reason: reason.to_string() }
    }
}

impl<T> From<ort::Error<T>> for TriageError {
    fn from(error: ort::Error<T>) -> Self {
        Self::Runtime(error.to_string())
    }
}
