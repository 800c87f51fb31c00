//! Training a tenant's intent head: multinomial logistic regression on sentence
//! embeddings, full-batch Adam on standardised features (folded back into the weights),
//! deterministic, and k-fold cross-validated accuracy.

use crate::{HeadWeights, TriageError};

/// How a head is fitted.
#[derive(Clone, Copy, Debug)]
pub struct TrainOptions {
    pub iterations: usize,
    pub learning_rate: f32,
    /// L2 penalty on the weights.
    pub l2: f32,
}

impl Default for TrainOptions {
    fn default() -> Self {
        Self { iterations: 300, learning_rate: 0.05, l2: 0.01 }
    }
}

/// A fitted head and how well it generalises.
#[derive(Clone, Debug)]
pub struct Trained {
    pub head: HeadWeights,
    /// Mean accuracy over the folds of a stratified k-fold split; `None` with too few examples.
    pub cross_validated_accuracy: Option<f32>,
    pub folds: usize,
}

/// Fits a head over `labels` from `(label index, embedding)` examples.
pub fn train(labels: &[String], examples: &[(usize, Vec<f32>)], options: TrainOptions) -> Result<Trained, TriageError> {
    let dim = examples.first().map_or(0, |(_, e)| e.len());
    if labels.len() < 2 || dim == 0 {
        return Err(TriageError::Invalid("training needs at least two labels and one example".into()));
    }
    if examples.iter().any(|(label, e)| *label >= labels.len() || e.len() != dim) {
        return Err(TriageError::Invalid("an example has an unknown label or a wrong dimension".into()));
    }
    let smallest_class = (0..labels.len()).map(|l| examples.iter().filter(|(x, _)| *x == l).count()).min().unwrap_or(0);
    let folds = smallest_class.min(5);
    let cross_validated_accuracy = (folds >= 2).then(|| cross_validate(labels.len(), examples, folds, options));
    let (weight, bias) = fit(labels.len(), examples, options);
    Ok(Trained { head: HeadWeights { labels: labels.to_vec(), weight, bias }, cross_validated_accuracy, folds })
}

/// Stratified k-fold: the i-th example of each class goes to fold i mod k.
fn cross_validate(classes: usize, examples: &[(usize, Vec<f32>)], folds: usize, options: TrainOptions) -> f32 {
    let mut seen = vec![0usize; classes];
    let fold_of: Vec<usize> = examples
        .iter()
        .map(|(label, _)| {
            seen[*label] += 1;
            (seen[*label] - 1) % folds
        })
        .collect();
    let mut correct = 0usize;
    for fold in 0..folds {
        let train: Vec<(usize, Vec<f32>)> =
            examples.iter().zip(&fold_of).filter(|(_, f)| **f != fold).map(|(e, _)| e.clone()).collect();
        let (weight, bias) = fit(classes, &train, options);
        correct += examples
            .iter()
            .zip(&fold_of)
            .filter(|(_, f)| **f == fold)
            .filter(|((label, embedding), _)| argmax(&logits(embedding, &weight, &bias, classes)) == *label)
            .count();
    }
    correct as f32 / examples.len() as f32
}

fn logits(x: &[f32], weight: &[f32], bias: &[f32], classes: usize) -> Vec<f32> {
    let mut out = bias.to_vec();
    for (i, value) in x.iter().enumerate() {
        let row = &weight[i * classes..(i + 1) * classes];
        for (o, w) in out.iter_mut().zip(row) {
            *o += value * w;
        }
    }
    out
}

fn argmax(values: &[f32]) -> usize {
    values.iter().enumerate().fold(0, |best, (i, v)| if *v > values[best] { i } else { best })
}

fn softmax_in_place(values: &mut [f32]) {
    let max = values.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for v in values.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    for v in values.iter_mut() {
        *v /= sum;
    }
}

/// Fits weights (`dim × classes`, row-major) and biases by full-batch Adam.
fn fit(classes: usize, examples: &[(usize, Vec<f32>)], options: TrainOptions) -> (Vec<f32>, Vec<f32>) {
    let dim = examples[0].1.len();
    let n = examples.len() as f32;
    // Standardise each feature; embeddings sit in a narrow cone, which slows plain descent.
    let mut mean = vec![0.0f32; dim];
    for (_, x) in examples {
        for (m, v) in mean.iter_mut().zip(x) {
            *m += v / n;
        }
    }
    let mut std = vec![0.0f32; dim];
    for (_, x) in examples {
        for ((s, v), m) in std.iter_mut().zip(x).zip(&mean) {
            *s += (v - m) * (v - m) / n;
        }
    }
    for s in std.iter_mut() {
        *s = s.sqrt().max(1e-6);
    }
    let standardised: Vec<Vec<f32>> =
        examples.iter().map(|(_, x)| x.iter().zip(&mean).zip(&std).map(|((v, m), s)| (v - m) / s).collect()).collect();

    let mut weight = vec![0.0f32; dim * classes];
    let mut bias = vec![0.0f32; classes];
    let (mut m_w, mut v_w) = (vec![0.0f32; weight.len()], vec![0.0f32; weight.len()]);
    let (mut m_b, mut v_b) = (vec![0.0f32; classes], vec![0.0f32; classes]);
    let (beta1, beta2, epsilon) = (0.9f32, 0.999f32, 1e-8f32);
    for step in 1..=options.iterations {
        let mut grad_w: Vec<f32> = weight.iter().map(|w| options.l2 * w).collect();
        let mut grad_b = vec![0.0f32; classes];
        for (x, (label, _)) in standardised.iter().zip(examples) {
            let mut p = logits(x, &weight, &bias, classes);
            softmax_in_place(&mut p);
            p[*label] -= 1.0;
            for (i, value) in x.iter().enumerate() {
                let row = &mut grad_w[i * classes..(i + 1) * classes];
                for (g, error) in row.iter_mut().zip(&p) {
                    *g += value * error / n;
                }
            }
            for (g, error) in grad_b.iter_mut().zip(&p) {
                *g += error / n;
            }
        }
        let correction1 = 1.0 - beta1.powi(step as i32);
        let correction2 = 1.0 - beta2.powi(step as i32);
        let update = |params: &mut [f32], grads: &[f32], m: &mut [f32], v: &mut [f32]| {
            for (((param, g), m), v) in params.iter_mut().zip(grads).zip(m.iter_mut()).zip(v.iter_mut()) {
                *m = beta1 * *m + (1.0 - beta1) * g;
                *v = beta2 * *v + (1.0 - beta2) * g * g;
                *param -= options.learning_rate * (*m / correction1) / ((*v / correction2).sqrt() + epsilon);
            }
        };
        update(&mut weight, &grad_w, &mut m_w, &mut v_w);
        update(&mut bias, &grad_b, &mut m_b, &mut v_b);
    }
    // Fold the standardisation into the weights: (x - m) / s · W + b = x · (W / s) + (b - (m / s) · W).
    for i in 0..dim {
        for c in 0..classes {
            let w = weight[i * classes + c] / std[i];
            weight[i * classes + c] = w;
            bias[c] -= mean[i] * w;
        }
    }
    (weight, bias)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Points around three directions of a 4-dimensional space.
    fn clusters(per_class: usize) -> (Vec<String>, Vec<(usize, Vec<f32>)>) {
        let centres = [[1.0, 0.1, 0.0, 0.0], [0.0, 1.0, 0.1, 0.0], [0.0, 0.0, 1.0, 0.1]];
        let mut examples = Vec::new();
        for i in 0..per_class {
            for (label, centre) in centres.iter().enumerate() {
                let jitter = (i as f32 * 0.37).sin() * 0.05;
                let x: Vec<f32> = centre.iter().map(|c| c + jitter).collect();
                examples.push((label, x));
            }
        }
        (vec!["a".into(), "b".into(), "c".into()], examples)
    }

    #[test]
    fn separable_classes_are_learned_and_cross_validated() {
        let (labels, examples) = clusters(10);
        let trained = train(&labels, &examples, TrainOptions::default()).ok();
        let trained = trained.as_ref();
        assert_eq!(trained.and_then(|t| t.cross_validated_accuracy), Some(1.0));
        assert_eq!(trained.map(|t| t.folds), Some(5));
        let head = trained.map(|t| &t.head);
        for (label, x) in &examples {
            let predicted = head.map(|h| argmax(&logits(x, &h.weight, &h.bias, 3)));
            assert_eq!(predicted, Some(*label));
        }
    }

    #[test]
    fn training_is_deterministic() {
        let (labels, examples) = clusters(4);
        let first = train(&labels, &examples, TrainOptions::default()).ok().map(|t| t.head);
        let second = train(&labels, &examples, TrainOptions::default()).ok().map(|t| t.head);
        assert!(first.is_some());
        assert_eq!(first, second);
    }

    #[test]
    fn one_example_per_class_trains_without_cross_validation() {
        let (labels, examples) = clusters(1);
        let trained = train(&labels, &examples, TrainOptions::default()).ok();
        assert_eq!(trained.map(|t| t.cross_validated_accuracy), Some(None));
    }

    #[test]
    fn an_unknown_label_index_is_refused() {
        let labels = vec!["a".to_owned(), "b".to_owned()];
        let examples = vec![(0, vec![1.0, 0.0]), (5, vec![0.0, 1.0])];
        assert!(train(&labels, &examples, TrainOptions::default()).is_err());
    }
}
