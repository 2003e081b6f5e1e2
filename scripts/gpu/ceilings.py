#!/usr/bin/env python3
"""The two ceilings the CUDA numbers are measured against, on the GPU at hand (PyTorch):

  copy  - device-to-device copy of a 2 GiB f32 buffer (random data), bytes read + written
          over the median time of 20 copies after 5 warm-ups (CUDA events);
  gemm  - bf16 x bf16 -> bf16 matrix product 8192^3 through cuBLAS (torch.matmul) on random
          data, 2*M*N*K flops over the median of 20 products, rotating 3 operand sets so the
          L2 cache cannot hold them.

Prints one JSON object (also written to argv[1] when given).
"""
import json
import sys

import torch


def median_seconds(fn, iters=20, warmup=5):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(iters):
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end) / 1e3)
    times.sort()
    return times[len(times) // 2], times[0], times[-1]


def main():
    dev = torch.device("cuda")
    props = torch.cuda.get_device_properties(dev)
    out = {
        "device": props.name,
        "sm_count": props.multi_processor_count,
        "memory_bytes": props.total_memory,
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
    }
    n = 1 << 29  # 2 GiB of f32
    src = torch.randn(n, device=dev)
    dst = torch.empty_like(src)
    med, best, worst = median_seconds(lambda: dst.copy_(src))
    assert torch.equal(dst[:1024], src[:1024]) and torch.equal(dst[-1024:], src[-1024:])
    moved = 2 * n * 4
    out["copy_gb_per_s"] = moved / med / 1e9
    out["copy_gb_per_s_best"] = moved / best / 1e9
    out["copy_bytes"] = moved
    del src, dst

    m = 8192
    sets = [(torch.randn(m, m, device=dev, dtype=torch.bfloat16),
             torch.randn(m, m, device=dev, dtype=torch.bfloat16)) for _ in range(3)]
    c = torch.empty(m, m, device=dev, dtype=torch.bfloat16)
    i = [0]

    def product():
        a, b = sets[i[0] % 3]
        i[0] += 1
        torch.matmul(a, b, out=c)

    med, best, worst = median_seconds(product)
    ref = sets[(i[0] - 1) % 3]
    check = (ref[0][:64].float() @ ref[1][:, :64].float())
    err = ((c[:64, :64].float() - check).norm() / check.norm()).item()
    out["gemm_bf16_tflops"] = 2 * m ** 3 / med / 1e12
    out["gemm_bf16_tflops_best"] = 2 * m ** 3 / best / 1e12
    out["gemm_rel_error"] = err
    text = json.dumps(out, indent=2)
    print(text)
    if len(sys.argv) > 1:
        with open(sys.argv[1], "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
