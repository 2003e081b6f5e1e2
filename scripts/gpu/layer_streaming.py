#!/usr/bin/env python3
"""What streaming a decode step's weights costs when each matrix is its own kernel (PyTorch,
and Triton where installed).

A Llama-3.1-8B q4_0 decode step reads 32 layers of four matrices (q/k/v 14.2 MB, o 9.4 MB,
gate/up 66.1 MB, down 33.1 MB) and the output head (295.5 MB): 129 streaming kernels of
those sizes, 4.22 GB. This times the same byte counts, each buffer distinct (4.22 GB in all,
so the 50 MB L2 holds none of them), in these ways:

  sum   - a float32 sum of each buffer (reads only, as a matvec does), the 129 sums recorded
          as one CUDA graph and replayed (no launch gaps);
  copy  - a copy of each buffer into a scratch of its size (reads + writes), same graph;
  read  - where Triton is installed: a read-only kernel of our own (each program sums BLOCK x
          ITERS floats, a partial sum per program), the best of a few shapes, same graph: the
          rate separate read-only kernels of these sizes reach, the bar for the matvecs;
  sizes - each size alone: its copies in a graph of their own, the time per copy, its rate,
          and its time above its bytes at the whole chain's rate.

The graph's time per step over 4.22 GB is the rate a chain of separate kernels of these sizes
reaches on this GPU, the bar for hearth's five launches a layer; its ratio to the copy ceiling
(ceilings.py) says how much of the 80% target such a chain can reach at all.
Prints one JSON object (also written to argv[1] when given).
"""
import json
import sys

import torch

from ceilings import median_seconds  # this directory is on sys.path when run as a script

try:
    import triton
    import triton.language as tl

    @triton.jit
    def partial_sums(x_ptr, out_ptr, n, BLOCK: tl.constexpr, ITERS: tl.constexpr):
        base = tl.program_id(0).to(tl.int64) * BLOCK * ITERS
        acc = tl.zeros([BLOCK], dtype=tl.float32)
        for i in range(ITERS):
            offs = base + i * BLOCK + tl.arange(0, BLOCK)
            acc += tl.load(x_ptr + offs, mask=offs < n, other=0.0, eviction_policy="evict_first")
        tl.store(out_ptr + tl.program_id(0), tl.sum(acc, axis=0))
except ImportError:  # the read-only chain is skipped
    triton = None

LAYERS = 32
SIZES = {"qkv": 14_155_776, "o": 9_437_184, "gate_up": 66_060_288, "down": 33_030_144}
HEAD = 295_501_824


def graph_seconds(fn):
    """fn's launches recorded as one CUDA graph (after one eager run): the replay's median."""
    fn()
    torch.cuda.synchronize()
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        fn()
    return median_seconds(graph.replay, warmup=3)[0]


def main():
    dev = torch.device("cuda")
    order = [name for _ in range(LAYERS) for name in SIZES]
    bufs = [torch.ones(SIZES[n] // 4, device=dev) for n in order]
    bufs.append(torch.ones(HEAD // 4, device=dev))
    total = sum(b.numel() * 4 for b in bufs)
    sums = torch.empty(len(bufs), device=dev)
    scratch = {b.numel(): torch.empty_like(b) for b in bufs}
    out = {"kernels": len(bufs), "bytes": total}

    def all_sums():
        for i, b in enumerate(bufs):
            torch.sum(b, dim=0, out=sums[i])

    def all_copies():
        for b in bufs:
            scratch[b.numel()].copy_(b)

    for name, fn in (("sum", all_sums), ("copy", all_copies)):
        t = graph_seconds(fn)
        moved = total * (2 if name == "copy" else 1)
        out[f"{name}_step_ms"] = t * 1e3
        out[f"{name}_gb_per_s"] = moved / t / 1e9
    assert abs(sums[0].item() - bufs[0].numel()) < 1e-3 * bufs[0].numel()

    if triton is not None:
        partials = torch.empty(HEAD // 4 // 1024 + 1, device=dev)
        best = None
        for block, iters, warps in ((1024, 4, 4), (2048, 2, 4), (4096, 1, 8), (4096, 4, 8),
                                    (8192, 2, 8)):
            def all_reads(block=block, iters=iters, warps=warps):
                for b in bufs:
                    n = b.numel()
                    grid = (triton.cdiv(n, block * iters),)
                    partial_sums[grid](b, partials, n, BLOCK=block, ITERS=iters, num_warps=warps)

            t = graph_seconds(all_reads)
            n0 = bufs[-1].numel()  # the head's partial sums are the last written
            got = partials[: triton.cdiv(n0, block * iters)].sum().item()
            assert abs(got - n0) < 1e-3 * n0, (got, n0)
            key = f"read_{block}x{iters}_w{warps}"
            out[key + "_step_ms"] = t * 1e3
            out[key + "_gb_per_s"] = total / t / 1e9
            if best is None or t < best[0]:
                best = (t, key)
        out["read_best"] = best[1]
        out["read_step_ms"] = best[0] * 1e3
        out["read_gb_per_s"] = total / best[0] / 1e9

    # Each size alone: its 32 buffers (the head: its one) copied in a graph of their own.
    rate = 2 * total / (out["copy_step_ms"] / 1e3)
    sizes = {}
    for name, n in list(SIZES.items()) + [("head", HEAD)]:
        group = [b for b, o in zip(bufs, order + ["head"]) if o == name]

        def copies(group=group):
            for b in group:
                scratch[b.numel()].copy_(b)

        t = graph_seconds(copies) / len(group)
        sizes[name] = {"us_per_copy": t * 1e6, "gb_per_s": 2 * n / t / 1e9,
                       "above_chain_rate_us": (t - 2 * n / rate) * 1e6}
    out["sizes"] = sizes
    text = json.dumps(out, indent=1)
    print(text)
    if len(sys.argv) > 1:
        with open(sys.argv[1], "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
