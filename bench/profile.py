#!/usr/bin/env python3
"""Where volley's CPU goes on the FAST workload: `perf record` of one
volley run (20,000 small JSON responses from nginx, concurrency 64), then
three `perf report`s: time per binary (volley, libc, kernel), self time per
function, and the callers of each hot function (DWARF unwinding; the release
profile keeps line tables).

    python3 bench/profile.py [--out DIR] [--volley PATH] [--n 20000]

Writes DIR/profile-fast-{dso,self,callers}.txt
(default DIR: bench/results/<date>). Needs `perf` (Debian: linux-perf) and
nginx; run bench/run.sh once first so both are installed.
"""

import argparse
import datetime
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness.servers import Nginx, pin_argv  # noqa: E402

BENCH = Path(__file__).resolve().parent


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=BENCH / "results" / datetime.date.today().isoformat())
    p.add_argument("--volley", type=Path, default=BENCH.parent / "target/release/volley")
    p.add_argument("--n", type=int, default=20_000)
    args = p.parse_args()
    if shutil.which("perf") is None or not Nginx.available():
        sys.exit("profile: needs perf and nginx with the echo module")
    args.out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="volley-profile-"))
    two = shutil.which("taskset") and len(os.sched_getaffinity(0)) >= 2
    server_cpu, client_cpu = (0, 1) if two else (None, None)
    try:
        with Nginx(pin=server_cpu) as nginx:
            urls = tmp / "urls.txt"
            urls.write_text("".join(nginx.fast(i) + "\n" for i in range(args.n)))
            data = tmp / "perf.data"
            volley = [str(args.volley), str(urls), "-o", str(tmp / "out.jsonl"), "-c", "64", "-q"]
            subprocess.run(["perf", "record", "-F", "1999", "--call-graph", "dwarf,65528", "-o", str(data),
                            "--"] + pin_argv(client_cpu) + volley,
                           check=True, timeout=300, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        reports = {
            # Where the time goes: volley's code, libc (malloc, memmove), the kernel.
            "dso": ["--sort", "dso", "-g", "none", "--percent-limit", "0.5"],
            # Self time per function.
            "self": ["--sort", "symbol", "-g", "none", "--percent-limit", "0.5"],
            # For each hot function, its callers (callee-first chains, 6 deep).
            "callers": ["--sort", "symbol", "-g", "callee,0.5",
                        "--max-stack", "6", "--percent-limit", "1.5"],
        }
        for name, extra in reports.items():
            report = subprocess.run(["perf", "report", "-i", str(data), "--stdio", "--no-children"] + extra,
                                    capture_output=True, text=True, timeout=600)
            path = args.out / f"profile-fast-{name}.txt"
            # Drop the empty IPC columns (no hardware counters in a VM) and padding.
            lines = (re.sub(r"\s+-\s+-\s*$", "", line).rstrip() for line in report.stdout.splitlines())
            path.write_text("".join(line + "\n" for line in lines))
            print(f"profile: wrote {path}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
