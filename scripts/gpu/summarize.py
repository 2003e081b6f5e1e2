#!/usr/bin/env python3
"""Turns one device run's outputs (the folder given, $OUT on the GPU machine) into the table of
docs/PERFORMANCE.md's CUDA section: hearth's tokens/s against the measured ceilings (ceilings.py)
and llama.cpp's llama-bench on the same synthetic GGUF.

  hearth-<label>.json   `hearth bench --json` outputs (label: model_test[_variant])
  llama-<label>.json    `llama-bench -o json` outputs
  ceilings.json         copy bandwidth and bf16 GEMM rate

Prefill flops: 2 x (matrix parameters of the layers) per token, plus causal attention
2 x 2 x head_dim x heads x layers x (depth + t) summed over the prompt (the output head runs for
the last token only). Decode bytes: what `hearth bench` reports (weights + KV read per token: f16 on CUDA, f32 on CPU).
"""
import glob
import json
import os
import sys

SHAPES = {  # layers, d_model, heads, kv heads, head_dim, d_ff
    "llama3-8b": (32, 4096, 32, 8, 128, 14336),
    "qwen3-8b": (36, 4096, 32, 8, 128, 12288),
    "smollm2-135m": (30, 576, 9, 3, 64, 1536),
}


def prefill_flops(shape, n_prompt, depth):
    layers, d, heads, kv, hd, ff = SHAPES[shape]
    per_layer = d * heads * hd * 2 + d * kv * hd * 2 + 3 * d * ff
    matmul = 2 * per_layer * layers * n_prompt
    keys = sum(depth + t + 1 for t in range(n_prompt))
    attention = 4 * hd * heads * layers * keys
    return matmul + attention


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def shape_of(model_field):
    for name in SHAPES:
        if name in model_field:
            return name
    return None


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("OUT", ".")
    ceil = load(os.path.join(out, "ceilings.json")) or {}
    copy = ceil.get("copy_gb_per_s")
    gemm = ceil.get("gemm_bf16_tflops")
    lines = []
    if ceil:
        lines.append(f"device {ceil.get('device')}: copy {copy:.0f} GB/s (read+write), "
                     f"bf16 GEMM 8192^3 {gemm:.0f} TFLOP/s")
    llama = {}
    for path in sorted(glob.glob(os.path.join(out, "llama-*.json"))):
        rows = load(path) or []
        for r in rows:
            key = (r.get("n_prompt", 0), r.get("n_gen", 0), r.get("n_depth", 0))
            llama[(os.path.basename(path)[6:-5], key)] = r.get("avg_ts")
    lines.append("| run | test | hearth t/s | of ceiling | llama.cpp t/s | hearth/llama.cpp |")
    lines.append("|---|---|---:|---:|---:|---:|")
    for path in sorted(glob.glob(os.path.join(out, "hearth-*.json"))):
        r = load(path)
        if not r:
            continue
        label = os.path.basename(path)[7:-5]
        shape = shape_of(r.get("model", "") + r.get("path", ""))
        depth = r.get("depth", 0)
        at = f" @ d{depth}" if depth else ""
        base = label.split("_")[0]
        if r.get("n_prompt", 0) > 0 and r["pp_tokens_per_s"]["median"] > 0:
            tps = r["pp_tokens_per_s"]["median"]
            frac = ""
            if shape and gemm:
                tflops = prefill_flops(shape, r["n_prompt"], depth) / (r["n_prompt"] / tps) / 1e12
                frac = f"{tflops:.0f} TFLOP/s = {100 * tflops / gemm:.0f}% GEMM"
            ref = llama.get((base, (r["n_prompt"], 0, depth)))
            ratio = f"{tps / ref:.2f}" if ref else ""
            lines.append(f"| {label} | pp{r['n_prompt']}{at} | {tps:.1f} | {frac} | "
                         f"{ref or '':} | {ratio} |")
        if r.get("n_gen", 0) > 0 and r["tg_tokens_per_s"]["median"] > 0:
            tps = r["tg_tokens_per_s"]["median"]
            bpt = r.get("bytes_per_token", 0)
            frac = ""
            if copy and bpt:
                gbs = bpt * tps / 1e9
                frac = f"{bpt / 1e9:.2f} GB/tok, {gbs:.0f} GB/s = {100 * gbs / copy:.0f}% copy"
            ref = llama.get((base, (0, r["n_gen"], depth)))
            ratio = f"{tps / ref:.2f}" if ref else ""
            lines.append(f"| {label} | tg{r['n_gen']}{at} | {tps:.1f} | {frac} | "
                         f"{ref or ''} | {ratio} |")
    for (label, key), ts in sorted(llama.items()):
        lines.append(f"| llama.cpp {label} | p{key[0]} g{key[1]} d{key[2]} | | | {ts:.1f} | |")
    text = "\n".join(lines)
    print(text)
    with open(os.path.join(out, "summary.md"), "w") as f:
        f.write(text + "\n")


if __name__ == "__main__":
    main()
