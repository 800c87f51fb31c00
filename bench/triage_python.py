"""The triage model pipeline in Python with onnxruntime, on the same model files and
inputs as the Rust pipeline: tokenizer with the "query: " prefix, encoder, sentiment and
intent heads (batches of 16, right padding). Also times bare `session.run` on inputs
tokenized in advance, the floor any pipeline pays. Prints one JSON object.

Usage: triage_python.py MODEL_SET_DIR TEXTS_FILE
"""

import json
import sys
import time

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

BATCH = 16


def session(path):
    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])


def main():
    model_dir, texts_file = sys.argv[1], sys.argv[2]
    manifest = json.load(open(f"{model_dir}/manifest.json", encoding="utf-8"))
    texts = [line for line in open(texts_file, encoding="utf-8").read().split("\n") if line]
    tokenizer = Tokenizer.from_file(f"{model_dir}/{manifest['encoder']['tokenizer']}")
    encoder = session(f"{model_dir}/{manifest['encoder']['model']}")
    sentiment = session(f"{model_dir}/{manifest['heads']['sentiment']['model']}")
    intent = session(f"{model_dir}/{manifest['heads']['intent']['model']}")
    intent_labels = manifest["heads"]["intent"]["labels"]
    sentiment_labels = manifest["heads"]["sentiment"]["labels"]

    def prepare(chunk):
        encodings = tokenizer.encode_batch(["query: " + text for text in chunk])
        longest = max(len(e.ids) for e in encodings)
        ids = np.full((len(chunk), longest), 1, dtype=np.int64)
        mask = np.zeros((len(chunk), longest), dtype=np.int64)
        for row, encoding in enumerate(encodings):
            ids[row, :len(encoding.ids)] = encoding.ids
            mask[row, :len(encoding.ids)] = 1
        return {"input_ids": ids, "attention_mask": mask}

    def run(inputs):
        (embedding,) = encoder.run(["sentence_embedding"], inputs)
        (p_sentiment,) = sentiment.run(["probabilities"], {"embedding": embedding})
        (p_intent,) = intent.run(["probabilities"], {"embedding": embedding})
        return p_sentiment, p_intent

    def triage(chunk):
        results = []
        for start in range(0, len(chunk), BATCH):
            p_sentiment, p_intent = run(prepare(chunk[start:start + BATCH]))
            for s, i in zip(p_sentiment, p_intent):
                best = int(np.argmax(i))
                label = intent_labels[best] if i[best] >= 0.4 else "other"
                results.append((label, sentiment_labels[int(np.argmax(s))]))
        return results

    triage(texts[:16])
    latencies = []
    for text in texts:
        started = time.perf_counter()
        triage([text])
        latencies.append((time.perf_counter() - started) * 1000)
    latencies.sort()

    rounds = 3
    started = time.perf_counter()
    for _ in range(rounds):
        triage(texts)
    batch_seconds = (time.perf_counter() - started) / rounds

    prepared_single = [prepare([text]) for text in texts]
    bare = []
    for inputs in prepared_single:
        started = time.perf_counter()
        run(inputs)
        bare.append((time.perf_counter() - started) * 1000)
    bare.sort()
    prepared_batches = [prepare(texts[i:i + BATCH]) for i in range(0, len(texts), BATCH)]
    started = time.perf_counter()
    for _ in range(rounds):
        for inputs in prepared_batches:
            run(inputs)
    bare_batch_seconds = (time.perf_counter() - started) / rounds

    pick = lambda values, q: values[round((len(values) - 1) * q)]
    print(json.dumps({
        "texts": len(texts),
        "single_p50_ms": pick(latencies, 0.50),
        "single_p99_ms": pick(latencies, 0.99),
        "single_mean_ms": sum(latencies) / len(latencies),
        "batch_texts_per_second": len(texts) / batch_seconds,
        "bare_single_mean_ms": sum(bare) / len(bare),
        "bare_single_p50_ms": pick(bare, 0.50),
        "bare_batch_texts_per_second": len(texts) / bare_batch_seconds,
    }))


if __name__ == "__main__":
    main()
