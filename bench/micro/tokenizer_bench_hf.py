"""Hugging Face tokenizers' encode throughput on the corpus tokenizer_bench writes, for comparison
with hearth's figures (docs/PERFORMANCE.md). Single-threaded, like hearth's encode.

  build/release/bench/tokenizer_bench --corpus_out=/tmp/tokenizer_bench_corpus.txt
  python bench/micro/tokenizer_bench_hf.py /tmp/tokenizer_bench_corpus.txt

The Qwen3 and Llama 3 references are their tokenizer.json files; SmolLM2 and Gemma 3 are built
from the GGUF files exactly as the golden tests build them (tests/fixtures/tokenizer/
make_goldens.py), so Gemma needs transformers installed.
"""

import argparse
import os
import sys
import time

os.environ.setdefault("RAYON_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from tokenizers import Tokenizer  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "../../tests/fixtures/tokenizer"))


def best_rate(fn, nbytes, min_seconds=2.0):
    """Input bytes per second of CPU time, in MiB/s (what Google Benchmark prints as M/s)."""
    best = float("inf")
    start = time.perf_counter()
    runs = 0
    while time.perf_counter() - start < min_seconds or runs < 3:
        t0 = time.process_time()
        fn()
        best = min(best, time.process_time() - t0)
        runs += 1
    return nbytes / best / (1 << 20)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("corpus")
    parser.add_argument("--shared", default=os.path.join(HERE, "../../../shared/tokenizers"))
    parser.add_argument("--models", default=os.path.expanduser("~/.cache/hearth/models"))
    args = parser.parse_args()
    with open(args.corpus, "rb") as f:
        raw = f.read()
    text = raw.decode("utf-8")
    prompts = []
    start = 0
    while start < len(raw):
        end = raw.find(b"\n", min(len(raw), start + 2048))
        end = len(raw) if end < 0 else end + 1
        prompts.append(raw[start:end].decode("utf-8"))
        start = end

    import make_goldens

    loaders = {
        "qwen3": lambda: Tokenizer.from_file(os.path.join(args.shared, "qwen3", "tokenizer.json")),
        "llama3": lambda: Tokenizer.from_file(os.path.join(args.shared, "llama3", "tokenizer.json")),
        "smollm2": lambda: make_goldens.smollm2_reference(
            os.path.join(args.models, "SmolLM2-135M-Instruct.Q4_1.gguf")),
        "gemma3": lambda: make_goldens.gemma3_reference(
            os.path.join(args.models, "gemma-3-270m-q4_k_m.gguf")),
    }
    print(f"{'tokenizer':10} {'encode MiB/s':>14} {'encode_prompts MiB/s':>22} {'tokens':>9}")
    for name, load in loaders.items():
        try:
            tok = load()
        except Exception as e:  # a missing file or package: skip, like the C++ bench
            print(f"{name:10} skipped ({e})")
            continue
        tok.encode_special_tokens = True
        tokens = len(tok.encode(text, add_special_tokens=False).ids)
        whole = best_rate(lambda: tok.encode(text, add_special_tokens=False), len(raw))
        pieces = best_rate(lambda: [tok.encode(p, add_special_tokens=False) for p in prompts], len(raw))
        print(f"{name:10} {whole:14.1f} {pieces:22.1f} {tokens:9d}")


if __name__ == "__main__":
    main()
