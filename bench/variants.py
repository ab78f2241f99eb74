#!/usr/bin/env python3
"""volley's FAST workload under a few flag variants, to see which part of
its per-request cost each flag moves (a lead for the profile, not a
comparison with other tools).

    python3 bench/variants.py [--out DIR] [--runs 5]

Runs FAST on nginx (20,000 URLs, concurrency 64, same pinning as run.py)
with the default flags, `--read-ahead 64` (spawn no request before a slot
is near), `--body none` (no body in the records) and both; writes the
medians to DIR/variants.md (default DIR: bench/results/<date>).
"""

import argparse
import datetime
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import measure  # noqa: E402
from harness.clients import Job  # noqa: E402
from harness.servers import Nginx  # noqa: E402

BENCH = Path(__file__).resolve().parent
VARIANTS = {
    "default": [],
    "--read-ahead 64": ["--read-ahead", "64"],
    "--body none": ["--body", "none"],
    "--read-ahead 64 --body none": ["--read-ahead", "64", "--body", "none"],
}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=BENCH / "results" / datetime.date.today().isoformat())
    p.add_argument("--volley", type=Path, default=BENCH.parent / "target/release/volley")
    p.add_argument("--runs", type=int, default=5)
    args = p.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    pin = (0, 1) if len(os.sched_getaffinity(0)) >= 2 and shutil.which("taskset") else (None, None)
    tmp = Path(tempfile.mkdtemp(prefix="volley-variants-"))
    n = 20_000
    results = {name: [] for name in VARIANTS}
    try:
        with Nginx(pin=pin[0]) as nginx:
            urls = tmp / "urls.txt"
            urls.write_text("".join(nginx.fast(i) + "\n" for i in range(n)))
            for rep in range(args.runs + 1):  # the first round is a warm-up
                for name, flags in VARIANTS.items():
                    out = tmp / "out.jsonl"
                    job = Job(name, [str(args.volley), str(urls), "-o", str(out), "-c", "64", "-q"] + flags,
                              out, b'"ok":true')
                    row = measure.run(job, nginx, pin[1], quiet_wait_s=15)
                    if rep and row["exit"] == 0 and row["ok"] == n:
                        results[name].append(row)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    lines = [f"# volley FAST (nginx, {n:,} URLs, concurrency 64) by flags\n",
             f"Median of {args.runs} runs after one warm-up round; produced by `bench/variants.py`.\n",
             "| flags | wall s | user s | sys s | CPU s / 10k req | peak RSS MiB | runs |",
             "|---|---|---|---|---|---|---|"]
    for name, rows in results.items():
        if not rows:
            lines.append(f"| {name} | n/a | n/a | n/a | n/a | n/a | 0 |")
            continue
        med = {k: statistics.median(r[k] for r in rows) for k in ["wall_s", "user_s", "sys_s", "max_rss_kib"]}
        cpu = statistics.median(r["user_s"] + r["sys_s"] for r in rows)
        lines.append(f"| `{name}` | {med['wall_s']:.3f} | {med['user_s']:.2f} | {med['sys_s']:.2f} | "
                     f"{cpu / n * 10_000:.3f} | {med['max_rss_kib'] / 1024:.1f} | {len(rows)} |")
    text = "\n".join(lines) + "\n"
    (args.out / "variants.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
