#!/usr/bin/env python3
"""Runs volley's benchmarks on loopback and writes the results.

    bench/run.sh [--quick] [--only FAST,SLOW,...] [--servers nginx,testbed]

bench/run.sh installs what is missing and builds the binaries first; this
script assumes they exist and reports any missing tool as "n/a". Results go
to bench/results/<YYYY-MM-DD>/: runs.csv (one row per measured run,
warm-ups included and flagged), table.md, startup.json, versions.txt.
bench/README.md describes the method.
"""

import argparse
import csv
import datetime
import hashlib
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import clients as C  # noqa: E402
from harness import measure, report, startup  # noqa: E402
from harness.servers import Nginx, Testbed  # noqa: E402

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent

# name: (requests, concurrency, servers). MANY's sizes are separate rows.
WORKLOADS = {
    "FAST": (20_000, 64, ("nginx", "testbed")),
    "SLOW": (5_000, 256, ("nginx", "testbed")),
    # One of SLOW's 256 slots alone: its requests (`slot_requests`: 20) in
    # sequence on one connection. Its fastest wall is the floor SLOW is held
    # to, measured on this server in this run (each request's 50 ms plus
    # the server's own timer and the round trip).
    "SLOW-1": (None, 1, ("nginx", "testbed")),
    "BIG": (500, 32, ("nginx", "testbed")),
    "MANY-10^4": (10_000, 64, ("nginx",)),
    "MANY-10^5": (100_000, 64, ("nginx",)),
    "MANY-10^6": (1_000_000, 64, ("nginx",)),
    "HOSTS": (20_000, 64, ("nginx",)),
}


def slot_requests(scale=1.0):
    """How many requests each of SLOW's slots runs back to back:
    ceil(N / C), SLOW-1's request count and SLOW's floor in rounds."""
    n, concurrency, _ = WORKLOADS["SLOW"]
    return -(-max(1, int(n * scale)) // concurrency)


# BIG's runs last ~0.3 s and vary by ±20%: more of them for a stable median.
MIN_REPS = {"BIG": 7, "SLOW-1": 5}
LONG_RUN_S = 20
CLIENT_ORDER = ["volley", "volley --save-dir", "reqwest-baseline", "aiohttp-gather",
                "httpx-async", "curl-parallel", "curl-parallel --output-dir", "oha"]
CSV_FIELDS = ["started", "workload", "server", "client", "rep", "warmup", "n", "concurrency",
              "exit", "wall_s", "user_s", "sys_s", "max_rss_kib", "server_cpu_s", "records", "ok",
              "load_before", "load_after", "busy_before", "other_cores", "steal_cores", "stderr"]


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help="one run per case, no warm-up, MANY up to 10^5 only")
    p.add_argument("--reps", type=int, help="measured runs per case (default 3; --quick 1)")
    p.add_argument("--only", help="comma-separated workloads (FAST,SLOW,BIG,MANY,HOSTS,STARTUP)")
    p.add_argument("--servers", default="nginx,testbed", help="comma-separated servers")
    p.add_argument("--out", type=Path, help="results directory (default bench/results/<date>)")
    p.add_argument("--volley", type=Path, default=ROOT / "target/release/volley")
    p.add_argument("--testbed", type=Path, default=ROOT / "target/release/testbed")
    p.add_argument("--baseline", type=Path,
                   default=BENCH / "reqwest-baseline/target/release/reqwest-baseline")
    p.add_argument("--scale", type=float, default=1.0,
                   help="multiply every workload's request count (a smoke test: --scale 0.05)")
    p.add_argument("--quiet-wait", type=float, default=0,
                   help="before each run, wait up to this many seconds for other work on the "
                        "machine to drop below 0.3 cores (the busy_before column records it)")
    p.add_argument("--merge", action="store_true",
                   help="keep the rows of runs.csv in --out for the cases not run now "
                        "(to re-run only the workloads a busy machine spoiled)")
    p.add_argument("--report-only", action="store_true",
                   help="run nothing: rebuild table.md from runs.csv and startup.json in --out")
    p.add_argument("--budget-min", type=float, default=30,
                   help="stop starting new runs after this many minutes")
    return p.parse_args()


def cmd_out(argv):
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        return (p.stdout or p.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return "n/a"


def versions(args, volley):
    py = sys.executable
    lock = (BENCH / "reqwest-baseline/Cargo.lock").read_text() if (BENCH / "reqwest-baseline/Cargo.lock").exists() else ""
    reqwest = next((lock.split("\n")[i + 1].split('"')[1] for i, l in enumerate(lock.split("\n"))
                    if l == 'name = "reqwest"'), "n/a")
    git = cmd_out(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"])
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "crates", "Cargo.toml", "Cargo.lock"],
                           capture_output=True, text=True).stdout.strip()
    cpu = next((l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines()
                if l.startswith("model name")), "n/a")
    return {
        "volley": f"{cmd_out([str(volley), '--version'])} ("
                  + ("" if Path(args.volley).resolve() == (ROOT / "target/release/volley").resolve()
                     else "given with --volley, not built by this run; ")
                  + f"work tree at run time: git {git}{', uncommitted changes in crates/' if dirty else ''})",
        "rustc": cmd_out(["rustc", "--version"]),
        "reqwest-baseline": f"reqwest {reqwest}",
        "nginx": cmd_out(["nginx", "-v"]).replace("nginx version: ", ""),
        "nginx echo module": cmd_out(["dpkg-query", "-W", "-f", "${Version}", "libnginx-mod-http-echo"]),
        "curl": cmd_out(["curl", "--version"]),
        "oha": cmd_out(["oha", "--version"]),
        "python": cmd_out([py, "--version"]),
        "aiohttp": cmd_out([py, "-c", "import aiohttp; print(aiohttp.__version__)"]),
        "httpx": cmd_out([py, "-c", "import httpx; print(httpx.__version__)"]),
        "hyperfine": cmd_out(["hyperfine", "--version"]),
        "time": cmd_out(["dpkg-query", "-W", "-f", "GNU time ${Version}", "time"]),
        "kernel": platform.release(),
        "cpu": f"{cpu}, {os.cpu_count()} cores",
    }


def write_urls(path, n, url):
    with open(path, "w") as f:
        for i in range(n):
            f.write(url(i) + "\n")


def urls_for(name, server, n, tmp):
    path = tmp / f"{name}-{server.name}.txt"
    if name.startswith(("FAST", "MANY")):
        write_urls(path, n, server.fast)
    elif name.startswith("SLOW"):
        write_urls(path, n, server.slow)
    elif name == "BIG":
        write_urls(path, n, server.big)
    elif name == "HOSTS":
        ports = server.host_ports
        write_urls(path, n, lambda i: server.fast(i, ports[i % len(ports)]))
    first = path.open().readline().strip()
    return path, first


def main():
    args = parse_args()
    reps = args.reps or (1 if args.quick else 3)
    warmup = not args.quick
    wanted = set((args.only or "FAST,SLOW,BIG,MANY,HOSTS,STARTUP").upper().split(","))
    servers_wanted = args.servers.split(",")
    deadline = time.monotonic() + args.budget_min * 60
    two_cores = (os.cpu_count() or 1) >= 2 and shutil.which("taskset")
    server_cpu, client_cpu = (0, 1) if two_cores else (None, None)
    out_dir = args.out or BENCH / "results" / datetime.date.today().isoformat()
    out_dir.mkdir(parents=True, exist_ok=True)
    if args.report_only:
        rows = load_rows(out_dir / "runs.csv")
        startup_path = out_dir / "startup.json"
        startup_results = json.loads(startup_path.read_text()) if startup_path.exists() else None
        md = render(report.summarise(rows), rows, startup_results,
                    "Table re-rendered from runs.csv: see each case's other-work line for the load",
                    reps, warmup, server_cpu, client_cpu)
        (out_dir / "table.md").write_text(md)
        print(md)
        return
    tmp = Path(tempfile.mkdtemp(prefix="volley-bench-"))
    try:
        run_suite(args, reps, warmup, wanted, servers_wanted, deadline, server_cpu, client_cpu,
                  out_dir, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run_suite(args, reps, warmup, wanted, servers_wanted, deadline, server_cpu, client_cpu,
              out_dir, tmp):

    # Copies, so a rebuild elsewhere during the run cannot change what is measured.
    bins = {}
    for name, path in [("volley", args.volley), ("testbed", args.testbed), ("baseline", args.baseline)]:
        if path.exists():
            bins[name] = tmp / path.name
            shutil.copy2(path, bins[name])
        else:
            bins[name] = path  # missing: its client or server reports n/a
    has_save_dir = "--save-dir" in cmd_out_all([str(bins["volley"]), "--help"])
    clients = C.all_clients(bins["volley"], bins["baseline"], has_save_dir)
    available = {c.name: c.available() for c in clients}
    for c in clients:
        if not available[c.name]:
            print(f"[bench] {c.name}: not available, reported as n/a", flush=True)

    vers = versions(args, bins["volley"])
    for name in ["volley", "testbed", "baseline"]:
        if bins[name].exists():
            digest = hashlib.sha256(bins[name].read_bytes()).hexdigest()[:16]
            source = Path(getattr(args, name)).resolve()
            # Name the binary relative to the repository: results must not
            # carry this machine's paths.
            shown = source.relative_to(ROOT) if source.is_relative_to(ROOT) else source.name
            vers[f"sha256 of {name} binary"] = f"{digest}… (copied from {shown})"
    (out_dir / "versions.txt").write_text("".join(f"{k}: {v}\n" for k, v in vers.items()))
    load_start = Path("/proc/loadavg").read_text().strip()
    print(f"[bench] load average at start: {load_start}", flush=True)

    rows = []
    missing = []
    csv_path = out_dir / "runs.csv"
    kept = load_rows(csv_path) if args.merge else []
    new_path = out_dir / "runs.new.csv" if args.merge else csv_path
    csv_file = open(new_path, "w", newline="")
    writer = csv.DictWriter(csv_file, fieldnames=CSV_FIELDS)
    writer.writeheader()

    def record(row):
        rows.append(row)
        writer.writerow(row)
        csv_file.flush()

    startup_results = None
    servers = []
    if "nginx" in servers_wanted:
        servers.append(Nginx(pin=server_cpu) if Nginx.available() else None)
        if not Nginx.available():
            print("[bench] nginx or its echo module missing: nginx workloads n/a", flush=True)
    if "testbed" in servers_wanted:
        tb = Testbed(bins["testbed"], pin=server_cpu)
        servers.append(tb if tb.available() else None)
        if not tb.available():
            print("[bench] testbed binary missing: testbed workloads n/a", flush=True)

    for server in [s for s in servers if s]:
        with server:
            for name, (n, conc, on) in WORKLOADS.items():
                if name.split("-")[0] not in wanted or server.name not in on:
                    continue
                if args.quick and name == "MANY-10^6":
                    continue
                n = slot_requests(args.scale) if name == "SLOW-1" else max(1, int(n * args.scale))
                urls, first = urls_for(name, server, n, tmp)
                w = C.Workload(name, server.name, urls, n, conc, first,
                               per_host=4 if name == "HOSTS" else 0, big=name == "BIG")
                cases = [c for c in clients if c.handles(w)]
                for c in cases:
                    if not available[c.name]:
                        missing.append((name, server.name, c.name))
                # MANY at 10^6 takes a minute a run: one run, no warm-up.
                case_reps = 1 if name == "MANY-10^6" else reps
                if not args.quick and not args.reps:
                    case_reps = max(case_reps, MIN_REPS.get(name, 0))
                plan = ([0] if warmup and name != "MANY-10^6" else []) + list(range(1, case_reps + 1))
                # A client whose run takes longer than LONG_RUN_S is not run
                # again for this case; if that was its warm-up, the warm-up
                # counts as its one measured run (start-up costs are noise
                # at that length).
                done = set()
                for rep in plan:
                    for c in cases:
                        if not available[c.name] or c.name in done:
                            continue
                        if time.monotonic() > deadline:
                            print(f"[bench] time budget spent: skipping {name} {c.name}", flush=True)
                            continue
                        job = c.job(w, tmp)
                        started = datetime.datetime.now().isoformat(timespec="seconds")
                        row = measure.run(job, server, client_cpu, quiet_wait_s=args.quiet_wait)
                        row.update(started=started, workload=name, server=server.name, client=c.name,
                                   rep=rep, warmup=rep == 0, n=n, concurrency=conc)
                        if row["wall_s"] > LONG_RUN_S:
                            done.add(c.name)
                            if rep == 0:
                                row.update(rep=1, warmup=False)
                        record(row)
                        label = "warm-up" if row["warmup"] else f"run {row['rep']}"
                        print(f"[bench] {name:10} {server.name:8} {c.name:17} "
                              f"{label:8} exit={row['exit']} "
                              f"wall={row['wall_s']:.3f}s cpu={(row['user_s'] or 0) + (row['sys_s'] or 0):.2f}s "
                              f"rss={(row['max_rss_kib'] or 0) / 1024:.0f}MiB ok={row['ok']} "
                              f"busy={row['busy_before']:.2f}/{row['other_cores']} "
                              f"steal={row['steal_cores']}", flush=True)
                        if row["exit"] != 0:
                            print(f"[bench]   stderr: {row['stderr']}", flush=True)
                for f in tmp.glob(f"{name}-{server.name}.*"):
                    f.unlink()

            if server.name == "nginx" and "STARTUP" in wanted:
                startup_results = run_startup(bins, server, client_cpu, out_dir, args.quick)
    csv_file.close()
    if args.merge:
        redone = {(r["workload"], r["server"]) for r in rows}
        rows = [r for r in kept if (r["workload"], r["server"]) not in redone] + rows
        with open(csv_path, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=CSV_FIELDS)
            w.writeheader()
            w.writerows(rows)
        new_path.unlink()
        if startup_results is None and (out_dir / "startup.json").exists():
            startup_results = json.loads((out_dir / "startup.json").read_text())

    load_end = Path("/proc/loadavg").read_text().strip()
    load_note = f"Load average at start `{load_start}`, at end `{load_end}`"
    if args.merge:
        redone_names = ", ".join(sorted(f"{w} on {srv}" for w, srv in redone))
        load_note += f" (of the last re-run, of {redone_names}; see each case's other-work line)"
    summary = report.summarise(rows)
    for (name, srv, client) in missing:
        summary.setdefault((name, srv), {})[client] = {"missing": True}
    md = render(summary, rows, startup_results, load_note, reps, warmup,
                server_cpu, client_cpu)
    (out_dir / "table.md").write_text(md)
    print(md)
    print(f"[bench] raw runs: {csv_path}")


def load_rows(path):
    """The rows of an earlier runs.csv, typed as `measure.run` makes them."""
    if not path.exists():
        return []
    floats = ["wall_s", "user_s", "sys_s", "server_cpu_s", "load_before", "load_after", "busy_before",
              "other_cores", "steal_cores"]
    ints = ["rep", "n", "concurrency", "max_rss_kib", "records", "ok"]
    rows = []
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            for k in floats:
                r[k] = float(r[k]) if r.get(k) else None
            for k in ints:
                r[k] = int(r[k]) if r.get(k) else None
            r["warmup"] = r["warmup"] == "True"
            r["exit"] = int(r["exit"]) if r["exit"].lstrip("-").isdigit() else r["exit"]
            rows.append(r)
    return rows


def cmd_out_all(argv):
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=30).stdout
    except OSError:
        return ""


def run_startup(bins, nginx, pin, out_dir, quick):
    one = Path(tempfile.mkdtemp(prefix="volley-bench-one-")) / "one.txt"
    url = nginx.fast(0)
    one.write_text(url + "\n")
    results = {}
    if bins["volley"].exists():
        results["time to first request"] = startup.time_to_first_request(
            bins["volley"], pin, runs=10 if quick else 30)
    # A real file, not /dev/null, which volley 0.1.0 refuses (EINVAL).
    commands = {"volley 1 URL": [str(bins["volley"]), str(one), "-o", str(one.parent / "volley.jsonl"), "-q"],
                "volley --version": [str(bins["volley"]), "--version"]}
    if bins["baseline"].exists():
        commands["reqwest-baseline 1 URL"] = [str(bins["baseline"]), str(one), str(one.parent / "reqwest.jsonl"), "1"]
    commands["curl 1 URL"] = ["curl", "-s", "-o", "/dev/null", url]
    results["hyperfine"] = startup.hyperfine(commands, pin, out_dir / "startup-hyperfine.json",
                                             runs=20 if quick else 100)
    (out_dir / "startup.json").write_text(json.dumps(results, indent=2) + "\n")
    shutil.rmtree(one.parent, ignore_errors=True)
    return results


def render(summary, rows, startup_results, load_note, reps, warmup, server_cpu, client_cpu):
    out = ["# volley benchmark results\n",
           f"Medians of the measured runs{' after one warm-up run' if warmup else ''}; each case says "
           f"how many runs it has. Server pinned to CPU {server_cpu}, client to CPU {client_cpu}. "
           f"{load_note}.\n",
           "CPU = the client's user + system seconds; server CPU = the server's. "
           "`ok` = responses with status 200 counted from the client's own output / requests.\n"]
    seen = []
    for (name, srv) in summary:
        if (name, srv) not in seen:
            seen.append((name, srv))
    order = list(WORKLOADS)
    seen.sort(key=lambda k: (order.index(k[0]), k[1] != "nginx"))
    for name, srv in seen:
        _, conc, _ = WORKLOADS[name]
        n = next((s["n"] for s in summary[(name, srv)].values() if "n" in s), 0)
        out.append(f"\n## {name} — {srv}, {n:,} requests, concurrency {conc}\n")
        out.append(report.table(summary, name, srv, CLIENT_ORDER))
        counts = sorted(set(report.measured_runs(rows, name, srv).values()))
        if counts:
            if len(counts) == 1:
                out.append(f"\nMeasured runs per client: {counts[0]}.\n")
            else:
                out.append(f"\nMeasured runs per client: {counts[0]} to {counts[-1]} (a client slower "
                           f"than {LONG_RUN_S:.0f} s a run is not run again).\n")
        other = report.other_work(rows, name, srv)
        if other:
            line = (f"\nOther work on the machine during these runs: median {other[1]:.2f} cores, "
                    f"at most {other[0]:.2f}")
            steal = report.other_work(rows, name, srv, key="steal_cores")
            if steal:
                line += f"; of it, CPU taken by the hypervisor (steal): median {steal[1]:.2f}, at most {steal[0]:.2f}"
            out.append(line + ".")
        out.append("")
    out.append(targets(summary, startup_results))
    if startup_results:
        out.append("\n## Start-up\n")
        ttfr = startup_results.get("time to first request")
        if ttfr:
            out.append(f"volley, spawn to first request bytes at the server: median "
                       f"{ttfr['median_ms']:.2f} ms, min {ttfr['min_ms']:.2f} ms ({ttfr['runs']} runs).\n")
        hf = startup_results.get("hyperfine")
        if hf:
            out.append("| command (whole run, hyperfine) | mean ms | median ms | min ms |\n|---|---|---|---|")
            for cmd, r in hf.items():
                out.append(f"| {cmd} | {r['mean_ms']:.2f} | {r['median_ms']:.2f} | {r['min_ms']:.2f} |")
        else:
            out.append("hyperfine: n/a")
    return "\n".join(out) + "\n"


def targets(summary, startup_results):
    """The performance targets volley is held to, checked against this run."""
    def get(workload, server, client, key):
        return summary.get((workload, server), {}).get(client, {}).get(key)

    def ratio(a, b):
        return a / b if a is not None and b else None

    lines = ["\n## Targets\n", "| target | server | measured | met |", "|---|---|---|---|"]

    def row(text, server, value, ok, fmt="{:.2f}×"):
        shown = "n/a" if value is None else fmt.format(value)
        met = "n/a" if value is None else ("yes" if ok(value) else "**no**")
        lines.append(f"| {text} | {server} | {shown} | {met} |")

    for srv in ["nginx", "testbed"]:
        v = get("FAST", srv, "volley", "cpu10k")
        row("FAST CPU per request ≤ 1.2× reqwest-baseline's", srv,
            ratio(v, get("FAST", srv, "reqwest-baseline", "cpu10k")), lambda x: x <= 1.2)
        row("FAST: aiohttp uses ≥ 6× volley's CPU", srv,
            ratio(get("FAST", srv, "aiohttp-gather", "cpu10k"), v), lambda x: x >= 6)
        row("FAST: curl uses ≥ 2× volley's CPU", srv,
            ratio(get("FAST", srv, "curl-parallel", "cpu10k"), v), lambda x: x >= 2)
    ideal = WORKLOADS["SLOW"][0] / WORKLOADS["SLOW"][1] * 0.050
    for srv in ["nginx", "testbed"]:
        walls = [c.get("wall") for name, c in summary.get(("SLOW", srv), {}).items()
                 if name != "volley" and c.get("wall")]
        best = f"{min(walls) / ideal:.2f}×" if walls else "n/a"
        row(f"SLOW wall ≤ 1.05× ideal ({ideal:.3f} s; fastest other client: {best})", srv,
            ratio(get("SLOW", srv, "volley", "wall"), ideal), lambda x: x <= 1.05)
        # Each of the C slots runs ceil(N / C) requests back to back, so no
        # client can finish before ceil(N / C) × 50 ms.
        rounds = slot_requests()
        row(f"SLOW wall against the floor of {rounds} rounds × 50 ms = {rounds * 0.05:.3f} s "
            "(informative)", srv,
            ratio(get("SLOW", srv, "volley", "wall"), rounds * 0.050), lambda x: x <= 1.05)
        # The floor as this server gives it: the fastest client's wall for
        # one slot's requests in sequence (SLOW-1), start-up included.
        alone = [(c["wall"], name) for name, c in summary.get(("SLOW-1", srv), {}).items()
                 if c.get("wall")]
        floor, fastest = min(alone) if alone else (None, None)
        shown = f"{floor:.3f} s, {fastest}" if floor else "n/a"
        row(f"SLOW wall against the measured floor: SLOW-1's fastest wall ({shown}) "
            "(informative)", srv,
            ratio(get("SLOW", srv, "volley", "wall"), floor), lambda x: x <= 1.05)
    rss6 = get("MANY-10^6", "nginx", "volley", "rss_mib")
    row("MANY peak RSS at 10^6 lines ≤ 64 MiB", "nginx", rss6, lambda x: x <= 64, "{:.1f} MiB")
    row("MANY peak RSS at 10^6 within 1.5× of 10^4", "nginx",
        ratio(rss6, get("MANY-10^4", "nginx", "volley", "rss_mib")), lambda x: x <= 1.5)
    for srv in ["nginx", "testbed"]:
        row("BIG wall ≤ 1.1× curl's (volley --body none)", srv,
            ratio(get("BIG", srv, "volley", "wall"), get("BIG", srv, "curl-parallel", "wall")),
            lambda x: x <= 1.1)
        row("BIG wall ≤ 1.1× curl's, both saving each body to a file "
            "(volley --save-dir, curl --output-dir)", srv,
            ratio(get("BIG", srv, "volley --save-dir", "wall"),
                  get("BIG", srv, "curl-parallel --output-dir", "wall")),
            lambda x: x <= 1.1)
    ttfr = (startup_results or {}).get("time to first request") or {}
    row("start-up (spawn → first request) < 20 ms", "local socket", ttfr.get("median_ms"),
        lambda x: x < 20, "{:.2f} ms")
    return "\n".join(lines) + "\n"


def _interrupt(signum, frame):
    raise KeyboardInterrupt


if __name__ == "__main__":
    # SIGTERM unwinds like Ctrl-C, so the servers' `with` blocks stop them.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        main()
    except KeyboardInterrupt:
        print("[bench] interrupted: servers stopped; runs.csv holds the runs so far", file=sys.stderr)
        sys.exit(130)
