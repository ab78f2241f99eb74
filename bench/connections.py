#!/usr/bin/env python3
"""Connections per run over HTTPS: how many TLS connections volley opens to
nginx for 2,000 requests at concurrency 64, to an origin that speaks HTTP/2
and to one that speaks only HTTP/1.1.

Over HTTP/2 every request can share one connection; over HTTP/1.1 each
request in flight needs its own, so about 64. "accepted" counts every
connection nginx accepted (its stub_status), "used" those that carried a
request (its access log); the difference is connections opened and closed
unused.

    python3 bench/connections.py [--out DIR] [--reps 3] [[LABEL=]BINARY ...]

Each BINARY (default: target/release/volley) is run --reps times per
origin, interleaved, and named LABEL in the table. Writes DIR/connections.md and DIR/connections.csv
(default DIR: bench/results/<date>). Needs nginx and the openssl command.
"""

import argparse
import csv
import datetime
import resource
import statistics
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness.servers import free_ports, wait_for_port  # noqa: E402

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
REQUESTS = 2000
CONCURRENCY = 64

NGINX_CONF = """
daemon off;
worker_processes 1;
pid {run}/nginx.pid;
error_log {run}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    log_format conn '$connection $server_protocol';
    client_body_temp_path {run}/tmp;
    keepalive_requests 100000;
    http2_max_requests 100000;
    ssl_certificate {run}/leaf.pem;
    ssl_certificate_key {run}/leaf.key;
    server {{
        listen 127.0.0.1:{h2} ssl http2;
        access_log {run}/h2.log conn;
        location = /json {{ default_type application/json; return 200 '{{"ok":true}}'; }}
    }}
    server {{
        listen 127.0.0.1:{h1} ssl;
        access_log {run}/h1.log conn;
        location = /json {{ default_type application/json; return 200 '{{"ok":true}}'; }}
    }}
    server {{
        listen 127.0.0.1:{status};
        access_log off;
        location = /status {{ stub_status; }}
    }}
}}
"""


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_certificates(run):
    """A CA, and a certificate for 127.0.0.1 that it signed."""
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
            "-subj", "/CN=volley bench CA", cwd=run)
    openssl("req", *ec, "-keyout", "leaf.key", "-out", "leaf.csr", "-subj", "/CN=127.0.0.1",
            cwd=run)
    (run / "leaf.ext").write_text(
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
    )
    openssl("x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", "leaf.pem", "-days", "2", "-extfile", "leaf.ext", cwd=run)


def accepted(status_port):
    """nginx's count of accepted connections, less the one asking."""
    with urllib.request.urlopen(f"http://127.0.0.1:{status_port}/status", timeout=5) as r:
        lines = r.read().decode().splitlines()
    return int(lines[2].split()[0]) - 1


def one_run(binary, run, port, log, status_port):
    log.write_text("")
    urls = run / "urls.txt"
    urls.write_text("".join(f"https://127.0.0.1:{port}/json?i={i}\n" for i in range(REQUESTS)))
    before = accepted(status_port)
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    out = run / "out.jsonl"
    subprocess.run([str(binary), str(urls), "-c", str(CONCURRENCY), "--cacert",
                    str(run / "ca.pem"), "-o", str(out), "-q"], check=False, timeout=120)
    wall = time.monotonic() - start
    after_usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after_usage.ru_utime - usage.ru_utime) + (after_usage.ru_stime - usage.ru_stime)
    time.sleep(0.3)  # nginx writes its log lines as requests end
    opened = accepted(status_port) - before - 1  # the `before` request's own
    entries = [line.split() for line in log.read_text().splitlines() if line]
    ok = sum('"ok":true' in line for line in out.read_text().splitlines())
    return {
        "accepted": opened,
        "used": len({e[0] for e in entries}),
        "protocols": " ".join(sorted({e[1] for e in entries})),
        "ok": ok,
        "wall_s": round(wall, 3),
        "cpu_s": round(cpu, 3),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("binaries", nargs="*",
                        default=[f"volley={ROOT / 'target' / 'release' / 'volley'}"])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--out", type=Path,
                        default=BENCH / "results" / datetime.date.today().isoformat())
    args = parser.parse_args()
    for tool in ["nginx", "openssl"]:
        if not shutil.which(tool):
            sys.exit(f"{tool} is required")

    run = Path(tempfile.mkdtemp(prefix="volley-bench-tls-"))
    run.chmod(0o755)
    (run / "tmp").mkdir()
    make_certificates(run)
    (run / "leaf.key").chmod(0o644)
    h2, h1, status = free_ports(3)
    (run / "nginx.conf").write_text(NGINX_CONF.format(run=run, h2=h2, h1=h1, status=status))
    nginx = subprocess.Popen(["nginx", "-p", str(run), "-c", str(run / "nginx.conf"),
                              "-e", str(run / "error.log")], stdin=subprocess.DEVNULL)
    rows = []
    try:
        for port in [h2, h1, status]:
            wait_for_port(port, nginx)
        for rep in range(args.reps):
            for origin, port, log in [("HTTP/2", h2, run / "h2.log"),
                                      ("HTTP/1.1", h1, run / "h1.log")]:
                for spec in args.binaries:
                    label, _, path = spec.rpartition("=")
                    binary = Path(path)
                    row = one_run(binary, run, port, log, status)
                    row.update(binary=label or binary.name, origin=origin, rep=rep + 1)
                    print(row, flush=True)
                    rows.append(row)
    finally:
        nginx.terminate()
        nginx.wait(timeout=10)
        shutil.rmtree(run, ignore_errors=True)

    args.out.mkdir(parents=True, exist_ok=True)
    fields = ["binary", "origin", "rep", "accepted", "used", "protocols", "ok", "wall_s", "cpu_s"]
    with open(args.out / "connections.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    lines = [
        "# Connections per run over HTTPS",
        "",
        f"`python3 bench/connections.py`: {REQUESTS:,} requests at concurrency {CONCURRENCY} "
        "to nginx over TLS, one origin speaking HTTP/2 and one HTTP/1.1 only; "
        f"{args.reps} runs each, interleaved. accepted: connections nginx accepted; "
        "used: those that carried a request. Raw rows in connections.csv.",
        "",
        "| binary | origin | accepted (each run) | used (each run) | median wall s | median CPU s |",
        "|---|---|---|---|---|---|",
    ]
    for label in dict.fromkeys(r["binary"] for r in rows):
        for origin in ["HTTP/2", "HTTP/1.1"]:
            runs = [r for r in rows if r["binary"] == label and r["origin"] == origin]
            lines.append(
                f"| {label} | {origin} | {', '.join(str(r['accepted']) for r in runs)} | "
                f"{', '.join(str(r['used']) for r in runs)} | "
                f"{statistics.median(r['wall_s'] for r in runs):.3f} | "
                f"{statistics.median(r['cpu_s'] for r in runs):.3f} |"
            )
    lines += [
        "",
        "| binary | origin | run | accepted | used | ok | wall s | CPU s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(f"| {r['binary']} | {r['origin']} | {r['rep']} | {r['accepted']} | {r['used']} | "
                     f"{r['ok']}/{REQUESTS} | {r['wall_s']} | {r['cpu_s']} |")
    (args.out / "connections.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
