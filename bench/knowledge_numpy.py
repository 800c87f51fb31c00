"""Baseline for the knowledge search bench: exact brute-force cosine search with numpy
over the same vectors and queries, timed per query, and the overlap of LanceDB's top 10
with the exact top 10."""

import json
import pathlib
import sys
import time

import numpy as np

out = pathlib.Path(sys.argv[1])
summary = json.loads(sys.argv[2])
dim, top = summary["dimensions"], 10
vectors = np.fromfile(out / "vectors.f32", dtype="<f4").reshape(-1, dim)
queries = np.fromfile(out / "queries.f32", dtype="<f4").reshape(-1, dim)
lance_top = json.loads((out / "lance_top.json").read_text())

np.dot(vectors, queries[0])  # warm-up
latencies, overlaps = [], []
for query, theirs in zip(queries, lance_top):
    started = time.perf_counter()
    scores = vectors @ query
    best = np.argpartition(-scores, top)[:top]
    best = best[np.argsort(-scores[best])]
    latencies.append((time.perf_counter() - started) * 1000)
    overlaps.append(len(set(best.tolist()) & set(theirs)) / top)

latencies.sort()
pick = lambda p: latencies[round((len(latencies) - 1) * p)]
print(json.dumps({"p50_ms": pick(0.5), "p95_ms": pick(0.95), "recall_of_lance_top10": sum(overlaps) / len(overlaps)}))
