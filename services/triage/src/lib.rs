//! Triage of customer messages with ONNX Runtime: sentence embeddings (multilingual-e5
//! converted to ONNX), a sentiment head, an intent head (the default taxonomy or a
//! tenant's own), and language identification.
//!
//! Architecture invariant: this is the only crate that links `ort` and `tokenizers`.
//! It knows no database and no HTTP: callers hand it text and (for tenant models) head
//! weights, and store what it returns.

pub mod discover;
mod encoder;
mod error;
mod focus;
mod head;
mod language;
mod manifest;
mod models;
pub mod train;

pub use encoder::{Encoder, TextKind};
pub use error::TriageError;
pub use focus::{focus, windows};
pub use head::{HeadWeights, LinearHead};
pub use language::{Detection, detect, detect_language};
pub use manifest::Manifest;
pub use models::{IntentScore, Models, SentimentScore, Triage, TriageOptions};

use std::path::{Path, PathBuf};

/// The command that installs the models and the ONNX Runtime library.
pub const SETUP_COMMAND: &str = "scripts/setup-models";

/// The version of the recipe that builds the model set (tools/models/build.py); each
/// version lives in its own subfolder of the models directory.
pub const RECIPE_VERSION: u32 = 2;

/// The model set's folder inside a models directory.
pub fn model_set_dir(models_dir: &Path) -> PathBuf {
    models_dir.join(format!("v{RECIPE_VERSION}"))
}

/// The models directory when none is configured: `$XDG_CACHE_HOME/copilot/models`, else
/// `$HOME/.cache/copilot/models` (where `scripts/setup-models` installs by default).
pub fn default_models_dir() -> PathBuf {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .filter(|value| !value.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))
        .unwrap_or_else(|| PathBuf::from("."));
    cache.join("copilot").join("models")
}
