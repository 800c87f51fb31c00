//! Training a tenant's intent head: multinomial logistic regression on sentence
//! embeddings, each example weighted (a person's label counts more than an LLM's),
//! full-batch Adam on standardised features (folded back into the weights),
//! deterministic, and k-fold cross-validated accuracy. Also the head's prediction in plain
//! Rust and the scores a version is judged by (macro-F1 and per-label precision/recall).

use crate::{HeadWeights, TriageError};

/// One training example: a label index, the text's embedding and how much it counts.
#[derive(Clone, Debug, PartialEq)]
pub struct Example {
    pub label: usize,
    pub embedding: Vec<f32>,
    /// Positive; an example of weight 2 pulls like two of weight 1.
    pub weight: f32,
}

impl Example {
    pub fn new(label: usize, embedding: Vec<f32>) -> Self {
        Self { label, embedding, weight: 1.0 }
    }
}

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

/// Fits a head over `labels` from weighted examples.
pub fn train(labels: &[String], examples: &[Example], options: TrainOptions) -> Result<Trained, TriageError> {
    let dim = examples.first().map_or(0, |e| e.embedding.len());
    if labels.len() < 2 || dim == 0 {
        return Err(TriageError::Invalid("training needs at least two labels and one example".into()));
    }
    if examples.iter().any(|e| e.label >= labels.len() || e.embedding.len() != dim) {
        return Err(TriageError::Invalid("an example has an unknown label or a wrong dimension".into()));
    }
    if examples.iter().any(|e| !(e.weight.is_finite() && e.weight > 0.0)) {
        return Err(TriageError::Invalid("an example's weight is not a positive number".into()));
    }
    let smallest_class = (0..labels.len()).map(|l| examples.iter().filter(|e| e.label == l).count()).min().unwrap_or(0);
    let folds = smallest_class.min(5);
    let cross_validated_accuracy = (folds >= 2).then(|| cross_validate(labels.len(), examples, folds, options));
    let (weight, bias) = fit(labels.len(), examples, options);
    Ok(Trained { head: HeadWeights { labels: labels.to_vec(), weight, bias }, cross_validated_accuracy, folds })
}

/// Below this out-of-fold probability of its own label (with another label predicted) an
/// example's label is suspect.
pub const SUSPECT_BELOW: f32 = 0.1;

/// Which examples carry a label the others contradict (confident learning): each example is
/// predicted by heads fitted on the other folds (stratified, 5 at most); its label is
/// suspect when it gets less than [`SUSPECT_BELOW`] and another label is predicted. Noisy
/// labels (an LLM's) can be set aside this way before the final fit. All false with too
/// few examples for two folds.
pub fn suspect_labels(classes: usize, examples: &[Example], options: TrainOptions) -> Vec<bool> {
    let smallest = (0..classes).map(|l| examples.iter().filter(|e| e.label == l).count()).filter(|n| *n > 0).min();
    let folds = smallest.unwrap_or(0).min(5);
    if folds < 2 || examples.is_empty() {
        return vec![false; examples.len()];
    }
    let fold_of = stratified_folds(classes, examples, folds);
    let mut suspect = vec![false; examples.len()];
    for fold in 0..folds {
        let train: Vec<Example> =
            examples.iter().zip(&fold_of).filter(|(_, f)| **f != fold).map(|(e, _)| e.clone()).collect();
        let (weight, bias) = fit(classes, &train, options);
        for (index, example) in examples.iter().enumerate().filter(|(i, _)| fold_of[*i] == fold) {
            let mut p = logits(&example.embedding, &weight, &bias, classes);
            softmax_in_place(&mut p);
            suspect[index] = p[example.label] < SUSPECT_BELOW && argmax(&p) != example.label;
        }
    }
    suspect
}

/// The fold of each example: the i-th example of each class goes to fold i mod k.
fn stratified_folds(classes: usize, examples: &[Example], folds: usize) -> Vec<usize> {
    let mut seen = vec![0usize; classes];
    examples
        .iter()
        .map(|e| {
            seen[e.label] += 1;
            (seen[e.label] - 1) % folds
        })
        .collect()
}

/// Stratified k-fold: the i-th example of each class goes to fold i mod k.
fn cross_validate(classes: usize, examples: &[Example], folds: usize, options: TrainOptions) -> f32 {
    let fold_of = stratified_folds(classes, examples, folds);
    let mut correct = 0usize;
    for fold in 0..folds {
        let train: Vec<Example> =
            examples.iter().zip(&fold_of).filter(|(_, f)| **f != fold).map(|(e, _)| e.clone()).collect();
        let (weight, bias) = fit(classes, &train, options);
        correct += examples
            .iter()
            .zip(&fold_of)
            .filter(|(_, f)| **f == fold)
            .filter(|(e, _)| argmax(&logits(&e.embedding, &weight, &bias, classes)) == e.label)
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

/// Fits weights (`dim × classes`, row-major) and biases by full-batch Adam on the
/// weighted mean of the examples' losses.
fn fit(classes: usize, examples: &[Example], options: TrainOptions) -> (Vec<f32>, Vec<f32>) {
    let dim = examples[0].embedding.len();
    let n = examples.len() as f32;
    let total_weight: f32 = examples.iter().map(|e| e.weight).sum();
    // Standardise each feature; embeddings sit in a narrow cone, which slows plain descent.
    let mut mean = vec![0.0f32; dim];
    for e in examples {
        for (m, v) in mean.iter_mut().zip(&e.embedding) {
            *m += v / n;
        }
    }
    let mut std = vec![0.0f32; dim];
    for e in examples {
        for ((s, v), m) in std.iter_mut().zip(&e.embedding).zip(&mean) {
            *s += (v - m) * (v - m) / n;
        }
    }
    for s in std.iter_mut() {
        *s = s.sqrt().max(1e-6);
    }
    let standardised: Vec<Vec<f32>> = examples
        .iter()
        .map(|e| e.embedding.iter().zip(&mean).zip(&std).map(|((v, m), s)| (v - m) / s).collect())
        .collect();

    let mut weight = vec![0.0f32; dim * classes];
    let mut bias = vec![0.0f32; classes];
    let (mut m_w, mut v_w) = (vec![0.0f32; weight.len()], vec![0.0f32; weight.len()]);
    let (mut m_b, mut v_b) = (vec![0.0f32; classes], vec![0.0f32; classes]);
    let (beta1, beta2, epsilon) = (0.9f32, 0.999f32, 1e-8f32);
    for step in 1..=options.iterations {
        let mut grad_w: Vec<f32> = weight.iter().map(|w| options.l2 * w).collect();
        let mut grad_b = vec![0.0f32; classes];
        for (x, example) in standardised.iter().zip(examples) {
            let mut p = logits(x, &weight, &bias, classes);
            softmax_in_place(&mut p);
            p[example.label] -= 1.0;
            let share = example.weight / total_weight;
            for error in p.iter_mut() {
                *error *= share;
            }
            for (i, value) in x.iter().enumerate() {
                let row = &mut grad_w[i * classes..(i + 1) * classes];
                for (g, error) in row.iter_mut().zip(&p) {
                    *g += value * error;
                }
            }
            for (g, error) in grad_b.iter_mut().zip(&p) {
                *g += error;
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

/// The label index a head gives an embedding, and its probability.
pub fn predict(head: &HeadWeights, embedding: &[f32]) -> (usize, f32) {
    let classes = head.labels.len();
    let mut p = logits(embedding, &head.weight, &head.bias, classes);
    softmax_in_place(&mut p);
    let best = argmax(&p);
    (best, p[best])
}

/// How well one label was predicted.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LabelScore {
    pub label: String,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// How many held-out examples carry the label.
    pub support: usize,
}

/// Predictions scored against reference labels.
#[derive(Clone, Debug, PartialEq)]
pub struct Scores {
    /// The mean F1 over the labels the reference uses.
    pub macro_f1: f64,
    pub accuracy: f64,
    pub per_label: Vec<LabelScore>,
}

/// Scores `predicted` against `gold` (same order); `None` when there is nothing to score.
pub fn score(gold: &[&str], predicted: &[&str]) -> Option<Scores> {
    if gold.is_empty() || gold.len() != predicted.len() {
        return None;
    }
    let mut labels: Vec<&str> = gold.to_vec();
    labels.sort_unstable();
    labels.dedup();
    let per_label: Vec<LabelScore> = labels
        .iter()
        .map(|label| {
            let pairs = || gold.iter().zip(predicted);
            let hits = pairs().filter(|(g, p)| *g == label && *p == label).count() as f64;
            let support = gold.iter().filter(|g| *g == label).count();
            let said = predicted.iter().filter(|p| *p == label).count() as f64;
            let precision = if said > 0.0 { hits / said } else { 0.0 };
            let recall = hits / support as f64;
            let f1 = if precision + recall > 0.0 { 2.0 * precision * recall / (precision + recall) } else { 0.0 };
            LabelScore { label: (*label).to_owned(), precision, recall, f1, support }
        })
        .collect();
    let macro_f1 = per_label.iter().map(|s| s.f1).sum::<f64>() / per_label.len() as f64;
    let accuracy = gold.iter().zip(predicted).filter(|(g, p)| g == p).count() as f64 / gold.len() as f64;
    Some(Scores { macro_f1, accuracy, per_label })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Points around three directions of a 4-dimensional space.
    fn clusters(per_class: usize) -> (Vec<String>, Vec<Example>) {
        let centres = [[1.0, 0.1, 0.0, 0.0], [0.0, 1.0, 0.1, 0.0], [0.0, 0.0, 1.0, 0.1]];
        let mut examples = Vec::new();
        for i in 0..per_class {
            for (label, centre) in centres.iter().enumerate() {
                let jitter = (i as f32 * 0.37).sin() * 0.05;
                let x: Vec<f32> = centre.iter().map(|c| c + jitter).collect();
                examples.push(Example::new(label, x));
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
        for example in &examples {
            let predicted = head.map(|h| predict(h, &example.embedding).0);
            assert_eq!(predicted, Some(example.label));
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
        let examples = vec![Example::new(0, vec![1.0, 0.0]), Example::new(5, vec![0.0, 1.0])];
        assert!(train(&labels, &examples, TrainOptions::default()).is_err());
        let weightless =
            vec![Example::new(0, vec![1.0, 0.0]), Example { weight: 0.0, ..Example::new(1, vec![0.0, 1.0]) }];
        assert!(train(&labels, &weightless, TrainOptions::default()).is_err());
    }

    #[test]
    fn heavier_examples_win_where_examples_disagree() {
        // The same point carries both labels; the heavier one decides it.
        let labels = vec!["a".to_owned(), "b".to_owned()];
        let point = vec![1.0, 0.5];
        let examples = |weight_b: f32| {
            vec![
                Example::new(0, vec![0.0, 1.0]),
                Example::new(1, vec![1.0, 0.0]),
                Example::new(0, point.clone()),
                Example { weight: weight_b, ..Example::new(1, point.clone()) },
            ]
        };
        let predicted = |weight_b| {
            train(&labels, &examples(weight_b), TrainOptions::default()).ok().map(|t| predict(&t.head, &point).0)
        };
        assert_eq!(predicted(4.0), Some(1));
        assert_eq!(predicted(0.25), Some(0));
    }

    #[test]
    fn a_label_the_other_examples_contradict_is_suspect() {
        let (labels, mut examples) = clusters(10);
        // One example of the first group labelled as the second.
        examples[0].label = 1;
        let suspect = suspect_labels(labels.len(), &examples, TrainOptions::default());
        assert!(suspect[0], "the wrong label is suspect");
        assert_eq!(suspect.iter().filter(|s| **s).count(), 1, "{suspect:?}");
        assert!(suspect_labels(3, &examples[..3], TrainOptions::default()).iter().all(|s| !s), "too few to tell");
    }

    #[test]
    fn macro_f1_averages_the_labels_the_reference_uses() {
        let gold = ["a", "a", "b", "b"];
        let perfect = score(&gold, &gold).map(|s| s.macro_f1);
        assert_eq!(perfect, Some(1.0));
        // a: precision 2/3, recall 1 → 0.8; b: precision 1, recall 1/2 → 2/3.
        let scores = score(&gold, &["a", "a", "a", "b"]);
        let macro_f1 = scores.as_ref().map(|s| s.macro_f1).unwrap_or_default();
        assert!((macro_f1 - (0.8 + 2.0 / 3.0) / 2.0).abs() < 1e-9, "{scores:?}");
        assert_eq!(scores.map(|s| s.accuracy), Some(0.75));
        assert_eq!(score(&[], &[]), None);
        // A label only ever predicted costs precision, not a class of its own.
        assert_eq!(score(&["a"], &["c"]).map(|s| (s.macro_f1, s.per_label.len())), Some((0.0, 1)));
    }
}
