"""An OpenAI-compatible chat completions server for benchmarks (standard library only).

A summary, rewrite or translation prompt (told by its system message) gets an answer of
its kind: a JSON summary quoting the conversation, or the text between the fences.

With $GOLD_LABELS (a JSON file mapping message text to label), labelling prompts are
answered from those labels instead, with a share wrong on purpose ($ERROR_RATE, 0.1 by
default; which messages, and the wrong label each gets, follow from a hash of the text,
so every run makes the same errors), and naming prompts (intent discovery) get
`cluster_<hash>`. With $TOKENIZER (a tokenizer.json; needs the `tokenizers` package),
usage counts the prompt's and answer's tokens with it instead of a fixed 500 + 20.

The requested model chooses the behaviour:
  instant  answers at once (streamed when asked), so a draft's latency is the service's own;
  paced    waits 500 ms, then streams 40 pieces 20 ms apart, logging when each piece left
           (JSON lines in $PACED_LOG) so a client can measure how late each piece arrives.

Usage: python3 instant_llm.py PORT
"""

import hashlib
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ANSWER = "Hello,\n\nThank you for your question; the answer is in our help centre. [S1]\n\nBest regards"
PIECES = 40
log_lock = threading.Lock()


def chunk(model, delta, finish=None):
    return {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


def label_answer(system, fenced):
    """Labels for the numbered messages: the first listed label whose words all occur in a
    message, else `other`."""
    labels = [line[2:].split(":")[0].strip() for line in system.splitlines() if line.startswith("- ")]
    entries = []
    for line in fenced.splitlines():
        if not line.startswith("[") or "] " not in line:
            continue
        number, text = line[1:].split("] ", 1)
        if not number.isdigit():
            continue
        text = text.lower()
        label = next((l for l in labels if l != "other" and all(w in text for w in l.split("_"))), "other")
        entries.append({"ref": int(number), "label": label, "confidence": 0.9})
    return json.dumps({"labels": entries})


GOLD = ({" ".join(text.split()): label for text, label in json.load(open(os.environ["GOLD_LABELS"], encoding="utf-8")).items()}
        if os.environ.get("GOLD_LABELS") else None)
ERROR_RATE = float(os.environ.get("ERROR_RATE", "0.1"))
TOKENIZER = None
if os.environ.get("TOKENIZER"):
    from tokenizers import Tokenizer
    TOKENIZER = Tokenizer.from_file(os.environ["TOKENIZER"])


def digest(text):
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def gold_answer(system, fenced):
    """Gold labels for the numbered messages, ERROR_RATE of them replaced by another label
    of the list (chosen by the text's hash)."""
    labels = [line[2:].split(":")[0].strip() for line in system.splitlines() if line.startswith("- ")]
    entries = []
    for line in fenced.splitlines():
        if not line.startswith("[") or "] " not in line:
            continue
        number, text = line[1:].split("] ", 1)
        if not number.isdigit():
            continue
        gold = GOLD.get(" ".join(text.split()), "other")
        gold = gold if gold in labels else "other"
        h = digest(text)
        if (h % 1000) / 1000 < ERROR_RATE:
            others = [label for label in labels if label != gold]
            gold = others[(h // 1000) % len(others)]
        entries.append({"ref": int(number), "label": gold, "confidence": 0.9})
    return json.dumps({"labels": entries})


def usage_of(body, content):
    if TOKENIZER is None:
        return {"prompt_tokens": 500, "completion_tokens": 20, "total_tokens": 520}
    count = lambda text: len(TOKENIZER.encode(text, add_special_tokens=False).ids)
    prompt = sum(count(m.get("content", "")) + 4 for m in body.get("messages", []))
    completion = count(content)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def answer_for(body):
    """The instant answer: a draft, or what a summary, rewrite or translation asks for."""
    messages = body.get("messages", [])
    system = next((m.get("content", "") for m in messages if m.get("role") == "system"), "")
    user = next((m.get("content", "") for m in messages if m.get("role") == "user"), "")
    fenced = user.split("=====\n", 1)[-1].split("\n===== END", 1)[0]
    if system.startswith("You summarise customer support conversations"):
        customer = [line[len("Customer: "):] for line in fenced.splitlines() if line.startswith("Customer: ")]
        first = customer[0] if customer else ""
        return json.dumps({"text": f"The customer wrote {len(customer)} message(s); the first: {first}",
                           "customer_goal": first, "what_was_tried": [], "open_questions": customer[-1:]})
    if system.startswith("You label customer support messages"):
        return gold_answer(system, fenced) if GOLD is not None else label_answer(system, fenced)
    if system.startswith("You name intents") and GOLD is not None:
        return json.dumps({"label": f"cluster_{digest(fenced) % 100000}", "description": "A group of messages."})
    if system.startswith("You rewrite"):
        return "Rewritten: " + fenced.strip()
    if system.startswith("You translate"):
        return "Translated: " + fenced.strip()
    if system.startswith("You turn a support lead's question"):
        # Tickets of the last 30 days by channel, whatever was asked.
        return json.dumps({"refused": None, "query": {
            "dataset": "tickets", "measures": [{"fn": "count", "field": None, "condition": None}],
            "filters": [{"field": "created_at", "op": "between", "value": "last_30_days"}],
            "group_by": [{"field": "channel", "bucket": None}],
            "order_by": [{"column": "count", "descending": True}], "limit": None}})
    if system.startswith("You state the answer"):
        # The first row of the result table, as it stands.
        rows = [line.strip("| ").split(" | ") for line in user.splitlines() if line.startswith("| ")]
        first = rows[1] if len(rows) > 1 else []
        return f"{first[0]} leads with {first[-1]}." if first else "Nothing matched."
    return ANSWER


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        model = body.get("model", "instant")
        usage = usage_of(body, answer_for(body))
        if not body.get("stream"):
            reply = json.dumps({"id": "chatcmpl-bench", "object": "chat.completion", "created": int(time.time()),
                                "model": model, "usage": usage,
                                "choices": [{"index": 0, "finish_reason": "stop",
                                             "message": {"role": "assistant", "content": answer_for(body)}}]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

        def send(event):
            data = f"data: {json.dumps(event) if isinstance(event, dict) else event}\n\n".encode()
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

        send(chunk(model, {"role": "assistant", "content": ""}))
        if model == "paced":
            time.sleep(0.5)
            for i in range(PIECES):
                piece = f"w{i:02d} " if i < PIECES - 1 else "end. [S1]"
                sent = time.time()
                send(chunk(model, {"content": piece}))
                with log_lock, open(os.environ["PACED_LOG"], "a") as log:
                    log.write(json.dumps({"piece": piece, "sent": sent}) + "\n")
                time.sleep(0.02)
        else:
            send(chunk(model, {"content": answer_for(body)}))
        send(chunk(model, {}, "stop"))
        send({"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": int(time.time()), "model": model,
              "choices": [], "usage": usage})
        send("[DONE]")
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
