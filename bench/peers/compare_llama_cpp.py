#!/usr/bin/env python3
"""hearth vs llama.cpp on the same GGUF file, the same thread count, in the same run.

Builds llama-bench once (bench/peers/build_llama_cpp.sh), then alternates `hearth bench --json`
and `llama-bench -o json` for several rounds, so both see the same machine load, and prints each
round and the median ratios hearth / llama.cpp for prompt processing (pp), generation (tg) and
peak RSS (measured by this script for both processes alike: wait4's ru_maxrss).

    .venv/bin/python bench/peers/compare_llama_cpp.py                 # default model, 2 threads
    .venv/bin/python bench/peers/compare_llama_cpp.py -m MODEL.gguf -t 2 --rounds 5 --json out.json
    .venv/bin/python bench/peers/compare_llama_cpp.py --wait-idle 85   # on a shared machine

"other load" is the CPU time other processes used while each tool ran (in cores): llama.cpp's
OpenMP threads spin at barriers, so when another process takes a core it slows down far more
than hearth does; rounds with other load are not a fair comparison.
"""

import argparse
import json
import os
import selectors
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def default_model() -> Path:
    cache = Path(os.environ.get("HEARTH_CACHE_DIR", Path.home() / ".cache" / "hearth"))
    return cache / "models" / "SmolLM2-135M-Instruct.Q4_1.gguf"


def cpu_jiffies() -> tuple[int, int]:
    """(busy, total) clock ticks of all CPUs so far, from /proc/stat."""
    with open("/proc/stat") as f:
        ticks = [int(x) for x in f.readline().split()[1:9]]
    idle = ticks[3] + ticks[4]  # idle + iowait
    return sum(ticks) - idle, sum(ticks)


def idle_percent(seconds: float = 3.0) -> float:
    busy0, total0 = cpu_jiffies()
    time.sleep(seconds)
    busy1, total1 = cpu_jiffies()
    return 100.0 * (1.0 - (busy1 - busy0) / max(1, total1 - total0))


def wait_for_idle(threshold: float) -> float:
    """Returns once the machine was at least `threshold` % idle over 3 s (other builds and
    tests share it); prints how long it waited."""
    start = time.monotonic()
    while (idle := idle_percent()) < threshold:
        pass
    waited = time.monotonic() - start
    if waited > 4:
        print(f"  (waited {waited:.0f} s for an idle machine)", file=sys.stderr, flush=True)
    return idle


def run_with_rusage(cmd: list[str]) -> tuple[str, int, float]:
    """Runs cmd and returns (stdout, peak RSS bytes, other processes' CPU use during the run in
    cores) using os.wait4 on the child: the ticks all CPUs were busy minus the child's own."""
    busy0, _ = cpu_jiffies()
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = bytearray()
    err = bytearray()
    # read everything first (the child blocks on full pipes), then reap with wait4
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    sel.register(proc.stderr, selectors.EVENT_READ)
    open_streams = 2
    while open_streams:
        for key, _ in sel.select():
            chunk = os.read(key.fd, 65536)
            if not chunk:
                sel.unregister(key.fileobj)
                open_streams -= 1
            elif key.fileobj is proc.stdout:
                out += chunk
            else:
                err += chunk
    _, status, usage = os.wait4(proc.pid, 0)
    busy1, _ = cpu_jiffies()
    wall = time.monotonic() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.exit(f"error: {' '.join(cmd)} exited with {proc.returncode}:\n{err.decode()}")
    ticks = os.sysconf("SC_CLK_TCK")
    others = ((busy1 - busy0) / ticks - usage.ru_utime - usage.ru_stime) / max(wall, 1e-9)
    return out.decode(), usage.ru_maxrss * 1024, max(0.0, others)


def hearth_round(hearth: Path, model: Path, args) -> dict:
    cmd = [str(hearth), "bench", "-m", str(model), "-t", str(args.threads), "-p", str(args.p),
           "-g", str(args.g), "-n", str(args.reps), "--json"]
    out, rss, others = run_with_rusage(cmd)
    j = json.loads(out)
    return {"pp": j["pp_tokens_per_s"]["median"], "tg": j["tg_tokens_per_s"]["median"],
            "rss": rss, "other_load": others, "backend": j["backend"]}


def llama_round(llama_bench: Path, model: Path, args) -> dict:
    cmd = [str(llama_bench), "-m", str(model), "-t", str(args.threads), "-p", str(args.p),
           "-n", str(args.g), "-r", str(args.reps), "-o", "json"]
    out, rss, others = run_with_rusage(cmd)
    results = json.loads(out)
    row = {"rss": rss, "other_load": others}
    for r in results:
        # llama-bench reports each test separately: pp has n_gen == 0, tg has n_prompt == 0
        key = "pp" if r.get("n_gen", 0) == 0 else "tg"
        samples = r.get("samples_ts") or [r["avg_ts"]]
        row[key] = statistics.median(samples)
        row["build"] = f"{r.get('build_commit', '?')} ({r.get('build_number', '?')})"
        row["flash_attn"] = r.get("flash_attn")
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-m", "--model", type=Path, default=default_model())
    parser.add_argument("-t", "--threads", type=int, default=2)
    parser.add_argument("-p", type=int, default=512, help="prompt tokens (pp)")
    parser.add_argument("-g", type=int, default=128, help="generated tokens (tg)")
    parser.add_argument("--reps", type=int, default=3, help="trials per tool per round")
    parser.add_argument("--rounds", type=int, default=3, help="alternations hearth / llama.cpp")
    parser.add_argument("--hearth", type=Path, default=REPO / "build" / "release" / "tools" / "hearth" / "hearth")
    parser.add_argument("--llama-bench", type=Path, default=None, help="skip the build, use this")
    parser.add_argument("--json", type=Path, default=None, help="also write all rounds here")
    parser.add_argument("--wait-idle", type=float, default=0, metavar="PCT",
                        help="before each round, wait until the CPUs are PCT %% idle; a round "
                             "during which other processes used more than (100 - PCT) %% of "
                             "the CPUs is run again (up to 3 times)")
    args = parser.parse_args()

    if not args.model.exists():
        sys.exit(f"error: model {args.model} not found (scripts/bootstrap.sh fetches the default)")
    if not args.hearth.exists():
        sys.exit(f"error: {args.hearth} not found; build it (cmake --build --preset release)")
    llama_bench = args.llama_bench
    if llama_bench is None:
        built = subprocess.run([str(REPO / "bench" / "peers" / "build_llama_cpp.sh")],
                               stdout=subprocess.PIPE, text=True, check=True)
        llama_bench = Path(built.stdout.strip().splitlines()[-1])

    with open("/proc/loadavg") as f:
        load_before = f.read().split()[:3]
    rounds = []
    max_other = (100.0 - args.wait_idle) / 100.0 * (os.cpu_count() or 1)
    for i in range(args.rounds):
        for attempt in range(3 if args.wait_idle > 0 else 1):
            if args.wait_idle > 0:
                wait_for_idle(args.wait_idle)
            h = hearth_round(args.hearth, args.model, args)
            l = llama_round(llama_bench, args.model, args)
            quiet = max(h["other_load"], l["other_load"]) <= max_other
            print(f"round {i + 1}: hearth pp{args.p} {h['pp']:8.1f} tg{args.g} {h['tg']:7.1f} "
                  f"rss {h['rss'] / 2**20:6.1f} MiB | llama.cpp pp{args.p} {l['pp']:8.1f} "
                  f"tg{args.g} {l['tg']:7.1f} rss {l['rss'] / 2**20:6.1f} MiB | other load "
                  f"{h['other_load']:.2f} / {l['other_load']:.2f} cores"
                  + ("" if quiet or args.wait_idle <= 0 else " (busy: again)"), flush=True)
            if quiet or args.wait_idle <= 0:
                break
        rounds.append({"hearth": h, "llama.cpp": l, "quiet": quiet})
    with open("/proc/loadavg") as f:
        load_after = f.read().split()[:3]

    # with --wait-idle, the ratios come from the quiet rounds (all rounds if none was quiet)
    counted = [r for r in rounds if r["quiet"]] if args.wait_idle > 0 else rounds
    counted = counted or rounds

    def ratio(key: str) -> list[float]:
        return [r["hearth"][key] / r["llama.cpp"][key] for r in counted]

    summary = {
        "model": str(args.model), "threads": args.threads, "p": args.p, "g": args.g,
        "reps": args.reps, "rounds": args.rounds, "hearth_backend": rounds[0]["hearth"]["backend"],
        "llama_cpp_build": rounds[0]["llama.cpp"].get("build"),
        "llama_cpp_flash_attn": rounds[0]["llama.cpp"].get("flash_attn"),
        "loadavg_before": load_before, "loadavg_after": load_after,
        "ratio_tg": statistics.median(ratio("tg")), "ratio_pp": statistics.median(ratio("pp")),
        "ratio_rss": statistics.median(ratio("rss")), "rounds_counted": len(counted),
        "ratio_range": {k: [min(ratio(k)), max(ratio(k))] for k in ("tg", "pp", "rss")},
        "rounds_data": rounds,
    }
    print(f"llama.cpp build {summary['llama_cpp_build']}, hearth {summary['hearth_backend']}, "
          f"{args.threads} threads, load {' '.join(load_before)} -> {' '.join(load_after)}")
    print(f"median ratio hearth / llama.cpp over {len(counted)} rounds: tg{args.g} {summary['ratio_tg']:.3f}  "
          f"pp{args.p} {summary['ratio_pp']:.3f}  peak RSS {summary['ratio_rss']:.3f}")
    rr = summary["ratio_range"]
    print("per-round range: " + "  ".join(
        f"{k} {rr[k][0]:.3f}..{rr[k][1]:.3f}" for k in ("tg", "pp", "rss")))
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
