//! The models directory's manifest: which files make up a model set and their SHA-256.
//! Every file is checked against it when the models load.

use std::{
    collections::BTreeMap,
    io::Read,
    path::{Path, PathBuf},
};

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::TriageError;

/// `manifest.json`, written by the setup command next to the files it lists.
#[derive(Clone, Debug, Deserialize)]
pub struct Manifest {
    /// The recipe version of the model set.
    pub version: u32,
    /// Relative path → SHA-256 (hex) of every file of the set.
    pub files: BTreeMap<String, String>,
    /// Relative path of the ONNX Runtime shared library.
    pub onnxruntime: String,
    /// Relative paths of the encoder graph and its tokenizer.
    pub encoder: EncoderFiles,
    /// The shipped heads and the shared linear graph for tenant heads.
    pub heads: HeadFiles,
    /// Held-out metrics of the shipped heads, as measured by the setup.
    #[serde(default)]
    pub metrics: serde_json::Value,
    #[serde(skip)]
    dir: PathBuf,
}

#[derive(Clone, Debug, Deserialize)]
pub struct EncoderFiles {
    pub model: String,
    pub tokenizer: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct HeadFile {
    pub model: String,
    pub labels: Vec<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct HeadFiles {
    pub sentiment: HeadFile,
    pub intent: HeadFile,
    /// The graph that takes a head's weights as inputs.
    pub linear: String,
}

impl Manifest {
    /// Reads `dir/manifest.json`.
    pub fn read(dir: &Path) -> Result<Self, TriageError> {
        let path = dir.join("manifest.json");
        let text =
            std::fs::read_to_string(&path).map_err(|error| TriageError::setup("model manifest", &path, error))?;
        let mut manifest: Manifest =
            serde_json::from_str(&text).map_err(|error| TriageError::setup("model manifest", &path, error))?;
        manifest.dir = dir.to_owned();
        Ok(manifest)
    }

    /// The absolute path of a listed file.
    pub fn path(&self, relative: &str) -> PathBuf {
        self.dir.join(relative)
    }

    /// Checks every listed file against its checksum.
    pub fn verify(&self) -> Result<(), TriageError> {
        for (relative, expected) in &self.files {
            let path = self.path(relative);
            let actual = sha256_file(&path).map_err(|error| TriageError::setup("model file", &path, error))?;
            if &actual != expected {
                return Err(TriageError::setup("model file", &path, "its SHA-256 does not match the manifest"));
            }
        }
        Ok(())
    }
}

fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let read = file.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
    }
    Ok(hex::encode(hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("copilot-manifest-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).ok();
        dir
    }

    fn write_manifest(dir: &Path, checksum: &str) {
        let manifest = serde_json::json!({
            "version": 1, "onnxruntime": "lib.so", "files": {"a.bin": checksum},
            "encoder": {"model": "e.onnx", "tokenizer": "t.json"},
            "heads": {"sentiment": {"model": "s.onnx", "labels": ["negative"]}, "intent": {"model": "i.onnx", "labels": ["other"]}, "linear": "l.onnx"},
        });
        std::fs::write(dir.join("manifest.json"), manifest.to_string()).ok();
    }

    #[test]
    fn a_file_matching_its_checksum_verifies() {
        let dir = scratch("ok");
        std::fs::write(dir.join("a.bin"), b"abc").ok();
        write_manifest(&dir, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert!(Manifest::read(&dir).and_then(|m| m.verify()).is_ok());
    }

    #[test]
    fn a_changed_file_names_itself_and_the_setup_command() {
        let dir = scratch("changed");
        std::fs::write(dir.join("a.bin"), b"abd").ok();
        write_manifest(&dir, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        let error = Manifest::read(&dir).and_then(|m| m.verify()).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(error.contains("a.bin") && error.contains("scripts/setup-models"), "{error}");
    }

    #[test]
    fn a_missing_manifest_names_the_setup_command() {
        let dir = scratch("missing");
        let error = Manifest::read(&dir).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(error.contains("manifest.json") && error.contains("scripts/setup-models"), "{error}");
    }
}
