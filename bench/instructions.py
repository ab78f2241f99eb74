#!/usr/bin/env python3
"""Instructions per request, counted by valgrind's callgrind: volley against
the reqwest baseline on the same 2,000 small JSON responses from the testbed.

Unlike CPU time, an instruction count does not move with the machine's
load or frequency, so it shows a change in per-request work that timing
noise would hide. It says nothing about cache misses or system calls: read
it beside the timed FAST rows of table.md, not instead of them.

    python3 bench/instructions.py [--out DIR] [--n 2000]

Writes DIR/instructions.md (default DIR: bench/results/<date>). Needs
valgrind; run bench/run.sh once first so the binaries are built.
"""

import argparse
import datetime
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness.servers import Testbed  # noqa: E402

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent


def count(argv):
    """Total instructions of one run of `argv` under callgrind."""
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={tmp}/cg.out"] + argv,
                              capture_output=True, text=True, timeout=600)
    match = re.search(r"Collected\s*:\s*(\d+)", proc.stderr) or re.search(r"refs:\s*([\d,]+)", proc.stderr)
    if proc.returncode != 0 or not match:
        raise SystemExit(f"callgrind failed for {argv[0]}: {proc.stderr[-500:]}")
    return int(match.group(1).replace(",", ""))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=BENCH / "results" / datetime.date.today().isoformat())
    p.add_argument("--n", type=int, default=2000)
    p.add_argument("--volley", type=Path, default=ROOT / "target/release/volley")
    p.add_argument("--testbed", type=Path, default=ROOT / "target/release/testbed")
    p.add_argument("--baseline", type=Path,
                   default=BENCH / "reqwest-baseline/target/release/reqwest-baseline")
    args = p.parse_args()
    if not shutil.which("valgrind"):
        raise SystemExit("valgrind is not installed (Debian: apt-get install valgrind)")
    args.out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="volley-instructions-"))
    try:
        with Testbed(args.testbed, pin=None) as testbed:
            urls = tmp / "urls.txt"
            urls.write_text("".join(testbed.fast(i) + "\n" for i in range(args.n)))
            out = str(tmp / "out.jsonl")
            rows = {
                "volley (full records)": count([str(args.volley), str(urls), "-o", out, "-c", "64", "-q"]),
                "volley --body none": count([str(args.volley), str(urls), "-o", out, "-c", "64", "-q",
                                             "--body", "none"]),
                "reqwest-baseline": count([str(args.baseline), str(urls), out, "64"]),
            }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    base = rows["reqwest-baseline"]
    lines = [f"# Instructions per request (callgrind), {args.n:,} requests to the testbed, concurrency 64\n",
             "Whole process, start-up included; produced by `bench/instructions.py`.\n",
             "| client | instructions | per request | × reqwest-baseline |", "|---|---|---|---|"]
    for name, total in rows.items():
        lines.append(f"| {name} | {total:,} | {total / args.n:,.0f} | {total / base:.2f} |")
    text = "\n".join(lines) + "\n"
    (args.out / "instructions.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
