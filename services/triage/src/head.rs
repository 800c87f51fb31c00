//! Classifier heads on sentence embeddings: a linear layer and a softmax, run by ONNX
//! Runtime. Shipped heads carry their weights inside their graph; a tenant's own head
//! runs through one shared graph that takes the weights as inputs.

use std::sync::Mutex;

use ndarray::Array2;
use ort::{session::Session, value::TensorRef};
use serde::{Deserialize, Serialize};

use crate::TriageError;

/// The weights of a linear head: `probabilities = softmax(embedding · weight + bias)`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HeadWeights {
    pub labels: Vec<String>,
    /// `dim × labels.len()`, row-major.
    pub weight: Vec<f32>,
    pub bias: Vec<f32>,
}

impl HeadWeights {
    /// Checks the shapes against the encoder's dimension.
    pub fn validate(&self, dim: usize) -> Result<(), TriageError> {
        let classes = self.labels.len();
        if classes < 2 || self.bias.len() != classes || self.weight.len() != dim * classes {
            return Err(TriageError::Invalid(format!(
                "head for {classes} labels has {} weights and {} biases; expected {} and {classes}",
                self.weight.len(),
                self.bias.len(),
                dim * classes
            )));
        }
        Ok(())
    }
}

/// A head session: either with its weights inside (`embedding` → `probabilities`) or the
/// shared linear graph (`embedding`, `weight`, `bias` → `probabilities`).
pub struct LinearHead {
    session: Mutex<Session>,
    /// The labels of a head whose weights are inside its graph.
    labels: Vec<String>,
}

impl LinearHead {
    pub(crate) fn new(session: Session, labels: Vec<String>) -> Self {
        Self { session: Mutex::new(session), labels }
    }

    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// Class probabilities of each embedding, with the weights inside the graph.
    pub fn probabilities(&self, embeddings: &[Vec<f32>]) -> Result<Vec<Vec<f32>>, TriageError> {
        let input = to_matrix(embeddings)?;
        let mut session = self.session.lock().map_err(|_| TriageError::Runtime("head lock poisoned".into()))?;
        let outputs = session.run(ort::inputs!["embedding" => TensorRef::from_array_view(&input)?])?;
        rows(&outputs["probabilities"].try_extract_array::<f32>()?)
    }

    /// Class probabilities of each embedding under the given weights (shared graph).
    pub fn probabilities_with(
        &self,
        embeddings: &[Vec<f32>],
        head: &HeadWeights,
    ) -> Result<Vec<Vec<f32>>, TriageError> {
        let input = to_matrix(embeddings)?;
        head.validate(input.ncols())?;
        // The stored weights are passed by reference: a tenant head runs on every batch.
        let classes = head.labels.len();
        let mut session = self.session.lock().map_err(|_| TriageError::Runtime("head lock poisoned".into()))?;
        let outputs = session.run(ort::inputs![
            "embedding" => TensorRef::from_array_view(&input)?,
            "weight" => TensorRef::from_array_view(([input.ncols(), classes], head.weight.as_slice()))?,
            "bias" => TensorRef::from_array_view(([classes], head.bias.as_slice()))?,
        ])?;
        rows(&outputs["probabilities"].try_extract_array::<f32>()?)
    }
}

fn to_matrix(embeddings: &[Vec<f32>]) -> Result<Array2<f32>, TriageError> {
    let dim = embeddings.first().map_or(0, Vec::len);
    let flat: Vec<f32> = embeddings.iter().flatten().copied().collect();
    Array2::from_shape_vec((embeddings.len(), dim), flat).map_err(|error| TriageError::Invalid(error.to_string()))
}

fn rows(array: &ndarray::ArrayViewD<'_, f32>) -> Result<Vec<Vec<f32>>, TriageError> {
    if array.ndim() != 2 {
        return Err(TriageError::Invalid(format!("a head returned a tensor of rank {}", array.ndim())));
    }
    Ok(array.outer_iter().map(|row| row.iter().copied().collect()).collect())
}
