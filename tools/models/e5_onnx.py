"""Embeds texts with the converted multilingual-e5 ONNX model, as the Rust encoder does:
"query: "/"passage: " prefix, right padding with the pad id, sentence_embedding output."""

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer


class E5Onnx:
    """The converted encoder and its tokenizer, run by onnxruntime."""

    def __init__(self, model_dir, threads=2):
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        self.session = ort.InferenceSession(f"{model_dir}/model.onnx", options, providers=["CPUExecutionProvider"])
        self.tokenizer = Tokenizer.from_file(f"{model_dir}/tokenizer.json")
        self.pad_id = self.tokenizer.token_to_id("<pad>")
        if self.pad_id is None:
            self.pad_id = 1

    def embed(self, texts, kind="query", batch=16):
        """L2-normalised embeddings of `texts`, shape (len(texts), 384)."""
        prefix = "query: " if kind == "query" else "passage: "
        vectors = []
        for start in range(0, len(texts), batch):
            chunk = [prefix + text for text in texts[start:start + batch]]
            encodings = self.tokenizer.encode_batch(chunk)
            longest = max(len(e.ids) for e in encodings)
            ids = np.full((len(chunk), longest), self.pad_id, dtype=np.int64)
            mask = np.zeros((len(chunk), longest), dtype=np.int64)
            for row, encoding in enumerate(encodings):
                ids[row, :len(encoding.ids)] = encoding.ids
                mask[row, :len(encoding.ids)] = 1
            (embedding,) = self.session.run(["sentence_embedding"], {"input_ids": ids, "attention_mask": mask})
            vectors.append(embedding)
        return np.concatenate(vectors) if vectors else np.zeros((0, 384), dtype=np.float32)
