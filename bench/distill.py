"""Distillation and intent discovery, measured against a running service (bench/run-distillation).

Data: the project's bilingual intent examples (tools/models/data/intents.jsonl, 28 intents,
English and Chinese). The model set's held-out intent split (heads/intent_heldout.jsonl)
is the evaluation set; none of it is ever a tenant message. From the rest, 1,000 messages
(seeded shuffle) are the tenant's customer messages and 3 others per intent are the
admin's examples.

1. Labelling: the tenant's LLM (bench/instant_llm.py with GOLD_LABELS: gold labels with
   10 % wrong on purpose) labels the 1,000 messages in a labelling job; wall time and
   tokens per 1,000 messages.
2. Versions, each trained by the service and activated by hand, then scored by macro-F1
   on the held-out set through POST /v1/triage (as the model serves):
   admin examples alone; the LLM's labels alone; the LLM's labels with the admin examples
   (default weights); the same 1,000 messages with their gold labels (set as agents'
   corrections) alone. Inside the service one in five labels of each is held out for the
   gate, so each trains on about 800 messages.
3. Cost of the small model: the service's CPU time while it accepted and triaged the
   1,000 messages, and while it answered the held-out set through POST /v1/triage.
4. Discovery, three times: a taxonomy without three intents (chosen by seed); the first
   500 messages labelled by the LLM (those of the missing intents as `other`, the only
   label that fits) train the tenant's model; the other 500 arrive and are triaged by it;
   a discovery run over them; for each removed intent the proposal holding most of its
   messages, its purity and recall.

Usage: distill.py prepare WORK            (writes WORK/gold.json for the LLM)
       distill.py run API LLM_URL TOKEN SERVER_PID WORK
Prints one JSON object. BENCH_PARTS (default "distillation,discovery") picks the parts;
DISCOVERY_TRIALS (default 3) the number of discovery trials.
"""

import json
import os
import random
import sys
import time
import urllib.error
import urllib.request

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
SEED = 20261205
MESSAGES = 1000
ADMIN_EXAMPLES = 3


def models_dir():
    """The installed model set (MODELS_DIR, as scripts/setup-models prints it)."""
    return os.environ["MODELS_DIR"]


def data():
    rows = [json.loads(line) for line in open(os.path.join(ROOT, "tools/models/data/intents.jsonl"), encoding="utf-8")]
    heldout = [json.loads(line) for line in open(os.path.join(models_dir(), "heads/intent_heldout.jsonl"), encoding="utf-8")]
    held_texts = {row["text"] for row in heldout}
    pool = [row for row in rows if row["text"] not in held_texts]
    random.Random(SEED).shuffle(pool)
    messages = pool[:MESSAGES]
    labels = sorted({row["label"] for row in rows})
    admin = {label: [row["text"] for row in pool[MESSAGES:] if row["label"] == label][:ADMIN_EXAMPLES] for label in labels}
    return labels, messages, admin, heldout


class Api:
    def __init__(self, base, token):
        self.base, self.token = base, token

    def call(self, method, path, body=None, expect=None):
        request = urllib.request.Request(self.base + path, method=method,
                                         data=None if body is None else json.dumps(body).encode())
        request.add_header("Content-Type", "application/json")
        request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request) as response:
                text = response.read()
                return json.loads(text) if text else None
        except urllib.error.HTTPError as error:
            sys.exit(f"{method} {path}: {error.code} {error.read().decode()}")


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait(what, check, timeout=1800):
    deadline = time.time() + timeout
    while True:
        value = check()
        if value is not None:
            return value
        if time.time() > deadline:
            sys.exit(f"{what} did not finish in {timeout} s")
        time.sleep(0.2)


def macro_f1(gold, predicted):
    scores = []
    for label in sorted(set(gold)):
        hits = sum(1 for g, p in zip(gold, predicted) if g == label and p == label)
        said = sum(1 for p in predicted if p == label)
        support = sum(1 for g in gold if g == label)
        precision = hits / said if said else 0.0
        recall = hits / support
        scores.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    return sum(scores) / len(scores)


def new_tenant(platform, llm_url, slug, taxonomy):
    created = platform.call("POST", "/v1/platform/tenants",
                            {"name": slug, "slug": slug, "owner_email": f"owner@{slug}.test"})
    api = Api(platform.base, created["api_key"])
    api.call("PUT", "/v1/settings/llm", {"base_url": f"{llm_url}/v1", "model": "gold"})
    api.call("PUT", "/v1/settings/drafting", {"auto_draft": False, "summary_min_messages": 1000})
    api.call("PUT", "/v1/intents", {"labels": taxonomy})
    return api


def open_tickets(api, messages):
    """Opens a ticket per message; returns (ticket id, message id, gold label) once all are triaged."""
    opened = []
    for index, row in enumerate(messages):
        created = api.call("POST", "/v1/tickets", {"subject": f"Message {index}", "channel": "web",
                                                    "customer": {"email": f"c{index % 50}@example.test"},
                                                    "body": row["text"]})
        opened.append((created["ticket"]["id"], created["message"]["id"], row["label"]))
    for ticket, _, _ in opened:
        wait("triage", lambda: True if api.call("GET", f"/v1/tickets/{ticket}/messages")["data"][0]
             .get("triage", {}).get("status") in ("done", "failed") else None)
    return opened


def train(api, weights):
    job = api.call("POST", "/v1/intents/train", {"weights": weights})
    wait("training", lambda: True if api.call("GET", "/v1/intents/training")["status"] != "queued" else None)
    version = api.call("GET", f"/v1/intents/models/{job['id']}")
    api.call("POST", f"/v1/intents/models/{job['id']}/activate", {})
    return version


def evaluate(api, heldout, pid):
    before = cpu_seconds(pid)
    predicted = [api.call("POST", "/v1/triage", {"text": row["text"]})["intent"]["label"] for row in heldout]
    cpu = cpu_seconds(pid) - before
    return macro_f1([row["label"] for row in heldout], predicted), cpu


def distillation(platform, llm_url, pid, labels, messages, admin, heldout):
    taxonomy = [{"label": label, "examples": admin[label]} for label in labels]
    api = new_tenant(platform, llm_url, "distil", taxonomy)
    started, cpu_before = time.time(), cpu_seconds(pid)
    opened = open_tickets(api, messages)
    ingest = {"wall_s": time.time() - started, "cpu_s": cpu_seconds(pid) - cpu_before, "messages": len(opened)}

    job = api.call("POST", "/v1/intents/labelling", {"scope": {"only": "all"}, "max_messages": MESSAGES})
    job = wait("labelling", lambda: (lambda j: j if j["status"] not in ("queued", "running") else None)(
        api.call("GET", f"/v1/intents/labelling/{job['id']}")))
    labelled = {key: job[key] for key in ("status", "total", "labelled", "invalid", "skipped",
                                          "prompt_tokens", "completion_tokens", "started_at", "finished_at")}

    results = {}
    for name, weights in (("admin examples alone", {"admin_example": 1, "agent": 0, "llm": 0}),
                          ("LLM labels alone", {"admin_example": 0, "agent": 0, "llm": 1}),
                          ("LLM labels + admin examples (default weights)", {})):
        version = train(api, weights)
        f1, cpu = evaluate(api, heldout, pid)
        results[name] = {"macro_f1": f1, "examples": version["examples"], "gate": version["gate"]["code"],
                         "set_aside": version["metrics"].get("llm_labels_set_aside", 0), "eval_cpu_s": cpu}
    for ticket, message, label in opened:
        api.call("PATCH", f"/v1/tickets/{ticket}/messages/{message}/triage", {"intent": label})
    version = train(api, {"admin_example": 0, "agent": 1, "llm": 0})
    f1, cpu = evaluate(api, heldout, pid)
    results["gold labels alone"] = {"macro_f1": f1, "examples": version["examples"], "gate": version["gate"]["code"],
                                    "eval_cpu_s": cpu}
    return {"ingest": ingest, "labelling": labelled, "versions": results, "heldout": len(heldout)}


def discovery(platform, llm_url, labels, messages, admin, trial):
    """A tenant without three intents: its first 500 messages labelled by the LLM (those of
    the missing intents as `other`) train its model; the next 500 arrive and are triaged by
    it; discovery runs over those."""
    removable = [label for label in labels if label != "other"]
    removed = sorted(random.Random(SEED + trial).sample(removable, 3))
    taxonomy = [{"label": label, "examples": admin[label]} for label in labels if label not in removed]
    api = new_tenant(platform, llm_url, f"discover{trial}", taxonomy)
    half = len(messages) // 2
    open_tickets(api, messages[:half])
    job = api.call("POST", "/v1/intents/labelling", {"scope": {"only": "all"}, "max_messages": half})
    wait("labelling", lambda: True if api.call("GET", f"/v1/intents/labelling/{job['id']}")["status"]
         not in ("queued", "running") else None)
    train(api, {})
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 1))
    opened = open_tickets(api, messages[half:])
    gold = {message: label for _, message, label in opened}
    run = api.call("POST", "/v1/intents/discovery", {"from": since})
    run = wait("discovery", lambda: (lambda r: r if r["status"] != "queued" else None)(
        api.call("GET", f"/v1/intents/discovery/{run['id']}")))
    found = {}
    for label in removed:
        total = sum(1 for value in gold.values() if value == label)
        best = None
        for proposal in run["proposals"]:
            hits = sum(1 for message in proposal["message_ids"] if gold.get(message) == label)
            if hits and (best is None or hits > best["hits"]):
                best = {"hits": hits, "size": proposal["size"], "label_suggestion": proposal["label_suggestion"],
                        "keywords": proposal["keywords"]}
        if best:
            best["purity"], best["recall"] = best["hits"] / best["size"], best["hits"] / total
        found[label] = {"messages": total, "best": best}
    return {"removed": removed, "candidates": run["messages"], "proposals": len(run["proposals"]), "found": found}


def main():
    if sys.argv[1] == "prepare":
        labels, messages, admin, heldout = data()
        rows = [json.loads(line) for line in open(os.path.join(ROOT, "tools/models/data/intents.jsonl"), encoding="utf-8")]
        json.dump({row["text"]: row["label"] for row in rows}, open(os.path.join(sys.argv[2], "gold.json"), "w"),
                  ensure_ascii=False)
        return
    api_url, llm_url, token, pid, work = sys.argv[2:7]
    labels, messages, admin, heldout = data()
    platform = Api(api_url, token)
    parts = os.environ.get("BENCH_PARTS", "distillation,discovery").split(",")
    result = {}
    if "distillation" in parts:
        result["distillation"] = distillation(platform, llm_url, int(pid), labels, messages, admin, heldout)
    if "discovery" in parts:
        trials = int(os.environ.get("DISCOVERY_TRIALS", "3"))
        result["discovery"] = [discovery(platform, llm_url, labels, messages, admin, trial) for trial in range(trials)]
    json.dump(result, open(os.path.join(work, "result.json"), "w"), indent=1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
