//! Finding intents a taxonomy lacks: clusters of message embeddings and the words that set
//! each cluster apart.
//!
//! Sentence embeddings of one encoder share a common direction (every pair of messages is
//! 0.75–0.9 similar), and a multilingual encoder adds one per language, so that two
//! messages of one language are nearer than two of one intent. Each message is therefore
//! centred on the mean of its language's messages (languages with too few messages on the
//! mean of all), which removes both; then average-linkage agglomerative clustering on cosine
//! distance, cut where clusters are on average closer than [`MAX_DISTANCE`]. Keywords are scored by how much more often a term occurs in the
//! cluster than in all the messages (words for alphabetic scripts, character pairs for
//! Chinese and Japanese, which have no spaces).

use std::collections::{HashMap, HashSet};

use kodama::{Method, linkage};

/// Average centred-cosine distance below which messages share a cluster. Chosen on
/// simulated discovery sets drawn from the project's bilingual intent examples
/// (tools/models/data/intents.jsonl: a head trained without three intents triages the next
/// 500 messages; those it places in `other` or below 0.5 are clustered), 20 draws of the
/// removed intents: with centring per language, 0.7 brought back the most intents in
/// clusters at least 80 % pure (2.7 of 3 on average, two or more in every draw; 0.6 with
/// one mean for all: 2.5, and one draw with a single intent).
pub const MAX_DISTANCE: f32 = 0.7;

/// A language needs this many messages for a mean of its own; fewer are centred on the mean
/// of all.
const MIN_LANGUAGE_GROUP: usize = 5;

/// Groups of indices of `embeddings` (each at least `min_size` strong), biggest first.
/// `languages` holds each message's language (any key; `None` when unknown), for centring.
pub fn cluster(
    embeddings: &[Vec<f32>],
    languages: &[Option<&str>],
    max_distance: f32,
    min_size: usize,
) -> Vec<Vec<usize>> {
    let n = embeddings.len();
    if n < 2 || n < min_size {
        return Vec::new();
    }
    let centred = centre(embeddings, languages);
    let mut condensed = Vec::with_capacity(n * (n - 1) / 2);
    for i in 0..n {
        for j in i + 1..n {
            condensed.push(1.0 - dot(&centred[i], &centred[j]));
        }
    }
    let dendrogram = linkage(&mut condensed, n, Method::Average);
    // Cluster ids: 0..n are the messages, n + k the cluster made by step k.
    let mut members: Vec<Vec<usize>> = (0..n).map(|i| vec![i]).collect();
    for step in dendrogram.steps() {
        if step.dissimilarity > max_distance {
            // Average linkage only merges further apart from here on.
            break;
        }
        let merged =
            [std::mem::take(&mut members[step.cluster1]), std::mem::take(&mut members[step.cluster2])].concat();
        members.push(merged);
    }
    let mut clusters: Vec<Vec<usize>> = members.into_iter().filter(|m| m.len() >= min_size).collect();
    for cluster in &mut clusters {
        cluster.sort_unstable();
    }
    clusters.sort_by(|a, b| b.len().cmp(&a.len()).then(a[0].cmp(&b[0])));
    clusters
}

/// Each vector minus the mean of its language's vectors (of all, for a language with fewer
/// than [`MIN_LANGUAGE_GROUP`] or none known), scaled to unit length.
fn centre(embeddings: &[Vec<f32>], languages: &[Option<&str>]) -> Vec<Vec<f32>> {
    let overall = mean(embeddings.iter());
    let mut groups: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, language) in languages.iter().enumerate().take(embeddings.len()) {
        if let Some(language) = language {
            groups.entry(language).or_default().push(i);
        }
    }
    let mut means: Vec<&Vec<f32>> = vec![&overall; embeddings.len()];
    let own: Vec<(Vec<usize>, Vec<f32>)> = groups
        .into_values()
        .filter(|members| members.len() >= MIN_LANGUAGE_GROUP)
        .map(|members| {
            let mean = mean(members.iter().map(|&i| &embeddings[i]));
            (members, mean)
        })
        .collect();
    for (members, mean) in &own {
        for &i in members {
            means[i] = mean;
        }
    }
    embeddings.iter().zip(means).map(|(e, mean)| unit(e.iter().zip(mean).map(|(v, m)| v - m).collect())).collect()
}

/// The mean of some vectors of one dimension.
fn mean<'a>(vectors: impl ExactSizeIterator<Item = &'a Vec<f32>>) -> Vec<f32> {
    let count = vectors.len().max(1) as f32;
    let mut sum: Vec<f32> = Vec::new();
    for vector in vectors {
        sum.resize(vector.len(), 0.0);
        for (s, v) in sum.iter_mut().zip(vector) {
            *s += v / count;
        }
    }
    sum
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn unit(mut v: Vec<f32>) -> Vec<f32> {
    let norm = dot(&v, &v).sqrt().max(1e-12);
    v.iter_mut().for_each(|x| *x /= norm);
    v
}

/// The mean of some embeddings, at unit length.
pub fn centroid(embeddings: &[&Vec<f32>]) -> Vec<f32> {
    unit(mean(embeddings.iter().copied()))
}

/// Cosine similarity of two vectors.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    dot(a, b) / (dot(a, a).sqrt() * dot(b, b).sqrt()).max(1e-12)
}

/// Words too common to tell anything, in the languages customers write most.
const STOPWORDS: &[&str] = &[
    "the", "and", "for", "you", "your", "with", "this", "that", "have", "has", "are", "was", "can", "could", "would",
    "please", "hello", "thanks", "thank", "from", "not", "but", "what", "when", "how", "why", "our", "its", "it's",
    "i'm", "any", "all", "there", "they", "them", "will", "just", "about", "into", "out", "get", "got", "did", "does",
    "der", "die", "das", "und", "ich", "ist", "nicht", "les", "des", "est", "pas", "que", "por", "para", "una", "你好",
    "谢谢", "请问", "一下", "我的", "我们", "你们", "可以", "什么", "怎么",
];

fn is_cjk(c: char) -> bool {
    matches!(c, '\u{4e00}'..='\u{9fff}' | '\u{3400}'..='\u{4dbf}' | '\u{3040}'..='\u{30ff}')
}

/// The terms of a text: lower-case words of three letters or more, and pairs of
/// consecutive CJK characters.
pub fn terms(text: &str) -> HashSet<String> {
    let mut found = HashSet::new();
    let lower = text.to_lowercase();
    for word in lower.split(|c: char| !(c.is_alphanumeric() || c == '\'') || is_cjk(c)) {
        let word = word.trim_matches('\'');
        if word.chars().count() >= 3 && !word.chars().all(|c| c.is_ascii_digit()) && !STOPWORDS.contains(&word) {
            found.insert(word.to_owned());
        }
    }
    let chars: Vec<char> = lower.chars().collect();
    for pair in chars.windows(2) {
        if is_cjk(pair[0]) && is_cjk(pair[1]) {
            let bigram: String = pair.iter().collect();
            if !STOPWORDS.contains(&bigram.as_str()) {
                found.insert(bigram);
            }
        }
    }
    found
}

/// The `top` terms that most set `members` apart from all `texts`: share of the cluster's
/// texts holding the term, times how much rarer it is overall (a lift), for terms in at
/// least a quarter of the cluster.
pub fn keywords(texts: &[&str], members: &[usize], top: usize) -> Vec<String> {
    let all: Vec<HashSet<String>> = texts.iter().map(|text| terms(text)).collect();
    let mut overall: HashMap<&str, usize> = HashMap::new();
    for set in &all {
        for term in set {
            *overall.entry(term.as_str()).or_default() += 1;
        }
    }
    let mut inside: HashMap<&str, usize> = HashMap::new();
    for &member in members {
        for term in &all[member] {
            *inside.entry(term.as_str()).or_default() += 1;
        }
    }
    let size = members.len().max(1) as f64;
    let total = texts.len().max(1) as f64;
    let mut scored: Vec<(&str, f64)> = inside
        .into_iter()
        .filter(|(_, count)| *count as f64 >= (size / 4.0).max(2.0).min(size))
        .map(|(term, count)| {
            let share = count as f64 / size;
            let lift = share / (overall[term] as f64 / total);
            (term, share * lift.ln_1p())
        })
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(b.0)));
    scored.into_iter().take(top).map(|(term, _)| term.to_owned()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Points around `groups` directions of an 8-dimensional space, plus a shared offset
    /// (the common direction real embeddings have).
    fn points(groups: usize, per_group: usize) -> Vec<Vec<f32>> {
        let mut out = Vec::new();
        for g in 0..groups {
            for i in 0..per_group {
                let mut v = vec![3.0f32; 8];
                v[g] += 1.0;
                v[(g + 1 + i % 3) % 8] += 0.1 * (i as f32 * 0.7).sin();
                out.push(v);
            }
        }
        out
    }

    #[test]
    fn separate_groups_become_separate_clusters_and_small_ones_are_left_out() {
        let mut embeddings = points(3, 6);
        embeddings.push({
            let mut lone = vec![3.0f32; 8];
            lone[7] += 1.0;
            lone
        });
        let languages = vec![None; embeddings.len()];
        let clusters = cluster(&embeddings, &languages, MAX_DISTANCE, 3);
        assert_eq!(clusters.len(), 3, "{clusters:?}");
        for (g, cluster) in clusters.iter().enumerate() {
            assert_eq!(cluster, &(g * 6..g * 6 + 6).collect::<Vec<_>>());
        }
        assert!(cluster(&embeddings[..2], &languages[..2], MAX_DISTANCE, 3).is_empty());
    }

    #[test]
    fn one_intent_in_two_languages_is_one_cluster_once_each_language_is_centred() {
        // Two intents (dimensions 0 and 1), each asked in two languages; the language moves
        // a message further (dimension 7) than the intent does.
        let mut embeddings = Vec::new();
        let mut languages = Vec::new();
        for intent in 0..2 {
            for (language, offset) in [("en", 0.0f32), ("zh", 2.5)] {
                for i in 0..6 {
                    let mut v = vec![3.0f32; 8];
                    v[intent] += 1.0;
                    v[7] += offset;
                    v[2 + i % 4] += 0.15 * (i as f32 * 1.3).sin();
                    embeddings.push(v);
                    languages.push(Some(language));
                }
            }
        }
        let clusters = cluster(&embeddings, &languages, MAX_DISTANCE, 3);
        assert_eq!(clusters, [(0..12).collect::<Vec<_>>(), (12..24).collect()]);
        // With the language unknown the two languages stay apart.
        let by_language = cluster(&embeddings, &vec![None; 24], MAX_DISTANCE, 3);
        assert!(by_language.iter().all(|c| c.iter().all(|&i| languages[i] == languages[c[0]])), "{by_language:?}");
        // A language with too few messages for its own mean is centred on the mean of all.
        let mut few = languages.clone();
        few[0] = Some("fr");
        assert_eq!(cluster(&embeddings, &few, MAX_DISTANCE, 3).len(), 2);
    }

    #[test]
    fn keywords_set_a_cluster_apart_in_english_and_chinese() {
        let texts = [
            "My invoice shows the wrong VAT number",
            "The VAT number on the invoice is wrong",
            "Please fix the VAT on my invoice",
            "Where is my parcel?",
            "The parcel is late",
            "发票上的税号错了",
            "发票税号不对",
            "发票的税号需要修改",
        ];
        assert_eq!(keywords(&texts, &[0, 1, 2], 2), ["invoice", "vat"]);
        let chinese = keywords(&texts, &[5, 6, 7], 3);
        assert!(chinese.contains(&"发票".to_owned()) && chinese.contains(&"税号".to_owned()), "{chinese:?}");
    }

    #[test]
    fn a_centroid_is_a_unit_mean() {
        let (a, b) = (vec![1.0, 0.0], vec![0.0, 1.0]);
        let c = centroid(&[&a, &b]);
        assert!((c[0] - c[1]).abs() < 1e-6 && (cosine(&c, &a) - std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-5);
    }
}
