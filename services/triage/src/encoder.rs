//! Sentence embeddings: the tokenizer and the encoder graph, which pools and normalises
//! inside ONNX Runtime, so one text and a padded batch give the same vector.

use std::{path::Path, sync::Mutex};

use ndarray::Array2;
use ort::{session::Session, value::TensorRef};
use tokenizers::Tokenizer;

use crate::TriageError;

/// Texts per encoder run: larger batches pad more and gain little on two cores.
const BATCH: usize = 16;

/// e5 embeds questions and documents with different prefixes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextKind {
    /// A message or a search query.
    Query,
    /// A passage stored for retrieval.
    Passage,
}

impl TextKind {
    fn prefix(self) -> &'static str {
        match self {
            TextKind::Query => "query: ",
            TextKind::Passage => "passage: ",
        }
    }
}

/// The sentence encoder: one shared session, runs serialised by a mutex (each run uses
/// every intra-op thread already).
pub struct Encoder {
    tokenizer: Tokenizer,
    session: Mutex<Session>,
    pad_id: i64,
    dim: usize,
}

impl Encoder {
    pub(crate) fn load(session: Session, tokenizer_path: &Path) -> Result<Self, TriageError> {
        let tokenizer = Tokenizer::from_file(tokenizer_path)
            .map_err(|error| TriageError::setup("tokenizer", tokenizer_path, error))?;
        let pad_id = tokenizer.token_to_id("<pad>").map(i64::from).unwrap_or(1);
        let mut encoder = Self { tokenizer, session: Mutex::new(session), pad_id, dim: 0 };
        encoder.dim = encoder.embed(&["dimension probe"], TextKind::Query)?.first().map_or(0, Vec::len);
        if encoder.dim == 0 {
            return Err(TriageError::Invalid("the encoder returned an empty embedding".into()));
        }
        Ok(encoder)
    }

    /// The length of every embedding.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Embeds texts (L2-normalised vectors, in input order).
    pub fn embed(&self, texts: &[&str], kind: TextKind) -> Result<Vec<Vec<f32>>, TriageError> {
        let mut vectors = Vec::with_capacity(texts.len());
        for chunk in texts.chunks(BATCH) {
            vectors.extend(self.embed_batch(chunk, kind)?);
        }
        Ok(vectors)
    }

    fn embed_batch(&self, texts: &[&str], kind: TextKind) -> Result<Vec<Vec<f32>>, TriageError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let prefixed: Vec<String> = texts.iter().map(|text| format!("{}{text}", kind.prefix())).collect();
        let encodings =
            self.tokenizer.encode_batch(prefixed, true).map_err(|error| TriageError::Tokenizer(error.to_string()))?;
        let longest = encodings.iter().map(|encoding| encoding.get_ids().len()).max().unwrap_or(0).max(1);
        let mut ids = Array2::<i64>::from_elem((texts.len(), longest), self.pad_id);
        let mut mask = Array2::<i64>::zeros((texts.len(), longest));
        for (row, encoding) in encodings.iter().enumerate() {
            for (column, &id) in encoding.get_ids().iter().enumerate() {
                ids[[row, column]] = i64::from(id);
                mask[[row, column]] = 1;
            }
        }
        let mut session = self.session.lock().map_err(|_| TriageError::Runtime("encoder lock poisoned".into()))?;
        let outputs = session.run(ort::inputs![
            "input_ids" => TensorRef::from_array_view(&ids)?,
            "attention_mask" => TensorRef::from_array_view(&mask)?,
        ])?;
        let embeddings = outputs["sentence_embedding"].try_extract_array::<f32>()?;
        Ok(embeddings.outer_iter().map(|row| row.iter().copied().collect()).collect())
    }
}
