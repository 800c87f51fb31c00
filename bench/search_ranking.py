"""Times knowledge search through the HTTP API over the evaluation help centre: every
question of tests/fixtures/knowledge/support-eval.json searched once (first pass: the
sentence embeddings of new candidates are made) and once more (second pass: kept).

    python3 bench/search_ranking.py URL API_KEY [--ingest]

Prints one JSON line: {first: {p50, p95, mean}, second: {…}, queries}."""

import json
import pathlib
import statistics
import sys
import time
import urllib.request
import uuid

ROOT = pathlib.Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "knowledge"
MEDIA = {".md": "text/markdown", ".html": "text/html", ".txt": "text/plain", ".json": "application/json",
         ".csv": "text/csv", ".pdf": "application/pdf",
         ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}


def call(url, key, method, path, body=None, headers=None):
    request = urllib.request.Request(url + path, data=body, method=method,
                                     headers={"Authorization": "Bearer " + key, **(headers or {})})
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read() or b"null")


def ingest(url, key):
    ids = []
    for path in sorted((FIXTURES / "support-centre").iterdir()):
        boundary = "----" + uuid.uuid4().hex
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{path.name}\"\r\n"
                f"Content-Type: {MEDIA[path.suffix]}\r\n\r\n").encode() + path.read_bytes() + f"\r\n--{boundary}--\r\n".encode()
        ids.append(call(url, key, "POST", "/v1/knowledge/documents", body,
                        {"Content-Type": "multipart/form-data; boundary=" + boundary})["id"])
    for document in ids:
        while call(url, key, "GET", f"/v1/knowledge/documents/{document}")["status"] not in ("ready", "failed"):
            time.sleep(0.2)


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main():
    url, key = sys.argv[1], sys.argv[2]
    if "--ingest" in sys.argv:
        ingest(url, key)
    evaluation = json.loads((FIXTURES / "support-eval.json").read_text())
    questions = [q["query"] for q in evaluation["answerable"] + evaluation["unanswerable"]]
    result = {"queries": len(questions)}
    for name in ("first", "second"):
        times = []
        for question in questions:
            body = json.dumps({"query": question, "limit": 10}).encode()
            started = time.perf_counter()
            call(url, key, "POST", "/v1/knowledge/search", body, {"Content-Type": "application/json"})
            times.append((time.perf_counter() - started) * 1000)
        result[name] = {"p50": round(percentile(times, 0.5), 1), "p95": round(percentile(times, 0.95), 1),
                        "mean": round(statistics.mean(times), 1)}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
