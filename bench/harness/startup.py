"""volley's start-up cost, two ways:

- time to first request: the harness listens on 127.0.0.1 itself, starts
  volley on a one-URL input pointing at that socket, and notes when the
  request's first bytes arrive (median of several starts);
- a whole one-URL run (start, one request to nginx, write, exit) measured
  by hyperfine, next to the reqwest baseline and curl for scale.
"""

import json
import shutil
import socket
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from .servers import pin_argv

RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"


def time_to_first_request(volley, pin, runs=20):
    """Median and min milliseconds from spawning volley to its request's
    first bytes arriving at a local socket."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(10)
    port = listener.getsockname()[1]
    tmp = Path(tempfile.mkdtemp(prefix="volley-bench-startup-"))
    urls = tmp / "one.txt"
    urls.write_text(f"http://127.0.0.1:{port}/first\n")
    samples = []
    try:
        for _ in range(runs):
            arrived = {}

            def serve():
                conn, _ = listener.accept()
                with conn:
                    conn.recv(4096)
                    arrived["t"] = time.perf_counter()
                    conn.sendall(RESPONSE)

            server = threading.Thread(target=serve)
            server.start()
            start = time.perf_counter()
            # Not `-o /dev/null`: volley 0.1.0 fails on it (EINVAL, see docs/performance.md).
            proc = subprocess.run(pin_argv(pin) + [str(volley), str(urls), "-o", str(tmp / "out.jsonl"), "-q"],
                                  stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
            server.join(timeout=10)
            if proc.returncode == 0 and "t" in arrived:
                samples.append((arrived["t"] - start) * 1000)
    finally:
        listener.close()
        shutil.rmtree(tmp, ignore_errors=True)
    if not samples:
        return None
    return {"median_ms": statistics.median(samples), "min_ms": min(samples), "runs": len(samples)}


def hyperfine(commands, pin, out_json, runs):
    """Runs hyperfine on {name: argv}; returns {name: mean/median ms} or None."""
    if shutil.which("hyperfine") is None:
        return None
    argv = ["hyperfine", "-N", "--warmup", "3", "--runs", str(runs), "--export-json", str(out_json)]
    for name, cmd in commands.items():
        argv += ["-n", name, " ".join(pin_argv(pin) + cmd)]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        return None
    data = json.loads(Path(out_json).read_text())
    return {r["command"]: {"mean_ms": r["mean"] * 1000, "median_ms": r["median"] * 1000,
                           "stddev_ms": r["stddev"] * 1000, "min_ms": r["min"] * 1000}
            for r in data["results"]}
