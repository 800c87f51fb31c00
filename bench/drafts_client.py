"""Drafting latency, measured against a running service (see bench/run-drafts).

1. Pipeline: a customer opens a ticket; the time from the message's acceptance
   (`created_at`) to its draft being ready (`updated_at`), both stamped by the service, with
   an instant LLM. One ticket at a time.
2. Baseline, in the same run: the work a draft needs, called directly by the client one
   after another: triage of the message, knowledge search, and the instant LLM.
3. Streaming relay: how late each piece of a paced LLM stream reaches a client of
   GET /v1/drafts/{id}/stream, against a client reading the LLM's stream directly.

Usage: python3 drafts_client.py API_URL LLM_URL KEY PACED_LOG ROUNDS
Prints one JSON object.
"""

import http.client
import json
import os
import statistics
import sys
import time
import urllib.request
from datetime import datetime
from urllib.parse import urlparse

api, llm, key, paced_log, rounds = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
QUESTIONS = [
    "How do I cancel my order?",
    "Can I change the delivery address after ordering?",
    "Do you price match?",
    "When will my refund reach my card?",
    "Who pays for return shipping?",
]


def call(method, url, body=None, token=key):
    request = urllib.request.Request(url, method=method, data=None if body is None else json.dumps(body).encode())
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request) as response:
        text = response.read()
        return json.loads(text) if text else None


def stamp(value):
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def wait_ready(ticket):
    while True:
        drafts = call("GET", f"{api}/v1/tickets/{ticket}/drafts")["data"]
        if drafts and drafts[0]["status"] != "generating":
            if drafts[0]["status"] != "ready":
                sys.exit(f"a draft did not get ready: {drafts[0]}")
            return drafts[0]
        time.sleep(0.005)


def percentiles(values):
    values = sorted(values)
    pick = lambda q: values[min(len(values) - 1, int(q * len(values)))]
    return {"p50_ms": pick(0.50) * 1000, "p95_ms": pick(0.95) * 1000, "mean_ms": statistics.mean(values) * 1000}


def set_model(model):
    call("PUT", f"{api}/v1/settings/llm", {"base_url": f"{llm}/v1", "model": model})


def read_sse(connection_url, path, headers, body=None):
    """Yields (arrival time, data) of each server-sent event."""
    url = urlparse(connection_url)
    connection = http.client.HTTPConnection(url.hostname, url.port)
    connection.request("POST" if body else "GET", path, body=json.dumps(body) if body else None, headers=headers)
    response = connection.getresponse()
    buffer = b""
    while True:
        line = response.readline()
        if not line:
            break
        if line in (b"\n", b"\r\n"):
            event, buffer = buffer, b""
            for part in event.decode().splitlines():
                if part.startswith("data: "):
                    yield time.time(), part[6:]
            continue
        buffer += line
    connection.close()


def sent_pieces(offset):
    with open(paced_log) as log:
        log.seek(offset)
        return [json.loads(line) for line in log.read().splitlines() if line]


# Warm-up: the first draft pays for lazy set-up (connections, table handles).
set_model("instant")
warm = call("POST", f"{api}/v1/tickets", {"subject": "Warm-up", "channel": "web",
                                         "customer": {"email": "warm@bench.test"}, "body": QUESTIONS[0]})
wait_ready(warm["ticket"]["id"])

pipeline, baseline = [], []
for i in range(rounds):
    question = QUESTIONS[i % len(QUESTIONS)] + f" (case {i})"
    created = call("POST", f"{api}/v1/tickets", {"subject": "Question", "channel": "web",
                                                "customer": {"email": f"c{i}@bench.test"}, "body": question})
    draft = wait_ready(created["ticket"]["id"])
    pipeline.append(stamp(draft["updated_at"]) - stamp(created["message"]["created_at"]))

    started = time.perf_counter()
    call("POST", f"{api}/v1/triage", {"text": question})
    call("POST", f"{api}/v1/knowledge/search", {"query": question, "limit": 5})
    call("POST", f"{llm}/v1/chat/completions", {"model": "instant", "messages": [{"role": "user", "content": question}]},
         token=None)
    baseline.append(time.perf_counter() - started)

print(f"pipeline and baseline: {rounds} rounds done", file=sys.stderr)
set_model("paced")
relay_delays, direct_delays, relay_streams = [], [], max(5, rounds // 10)
ticket = call("POST", f"{api}/v1/tickets", {"subject": "Stream", "channel": "web",
                                           "customer": {"email": "s@bench.test"}, "body": QUESTIONS[0]})["ticket"]["id"]
wait_ready(ticket)
for _ in range(relay_streams):
    offset = os.path.getsize(paced_log) if os.path.exists(paced_log) else 0
    draft = call("POST", f"{api}/v1/tickets/{ticket}/drafts", {})
    received = [(at, json.loads(data)) for at, data in
                read_sse(api, f"/v1/drafts/{draft['id']}/stream", {"Authorization": f"Bearer {key}"})]
    texts = [(at, event["text"]) for at, event in received if event["type"] == "text"]
    sent = sent_pieces(offset)
    if [text for _, text in texts] != [piece["piece"] for piece in sent]:
        sys.exit(f"the relay did not pass every piece one by one: {len(texts)} received, {len(sent)} sent")
    relay_delays += [at - piece["sent"] for (at, _), piece in zip(texts, sent)]

    offset = os.path.getsize(paced_log)
    body = {"model": "paced", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    arrivals = [(at, json.loads(data)) for at, data in
                read_sse(llm, "/v1/chat/completions", {"Content-Type": "application/json"}, body) if data != "[DONE]"]
    pieces = [(at, event["choices"][0]["delta"].get("content")) for at, event in arrivals if event["choices"]]
    pieces = [(at, text) for at, text in pieces if text]
    sent = sent_pieces(offset)
    direct_delays += [at - piece["sent"] for (at, _), piece in zip(pieces, sent)]

print(json.dumps({
    "rounds": rounds,
    "pipeline": percentiles(pipeline),
    "baseline": percentiles(baseline),
    "relay_streams": relay_streams,
    "relay_pieces": len(relay_delays),
    "relay": percentiles(relay_delays),
    "direct": percentiles(direct_delays),
}))
