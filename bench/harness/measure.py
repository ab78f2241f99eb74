"""One measured run: the client under `/usr/bin/time` (wall, user and system
CPU, peak RSS of the client process tree's largest process) and `taskset`
(the client's core), bounded in time, with the server's CPU and the load
average read before and after."""

import os
import shutil
import subprocess
import time
from pathlib import Path

from .clients import count_ok
from .servers import pin_argv

TIME = "/usr/bin/time"
RUN_TIMEOUT_S = 300  # no single run may take longer


def loadavg():
    return float(Path("/proc/loadavg").read_text().split()[0])


def run(job, server, pin, timeout_s=RUN_TIMEOUT_S):
    """Runs `job` once; returns a dict of measurements (a CSV row's worth)."""
    tfile = job.out_file.with_suffix(".time") if job.out_file else Path(f"/tmp/bench-{os.getpid()}.time")
    if job.out_file and job.out_file.exists():
        job.out_file.unlink()
    argv = [TIME, "-f", "%e %U %S %M", "-o", str(tfile)] + pin_argv(pin) + job.argv
    stdout = open(job.stdout_file, "w") if job.stdout_file else subprocess.DEVNULL
    load_before = loadavg()
    server_cpu_before = server.cpu_seconds()
    started = time.monotonic()
    try:
        proc = subprocess.run(argv, stdout=stdout, stderr=subprocess.PIPE,
                              stdin=subprocess.DEVNULL, timeout=timeout_s)
        exit_code = proc.returncode
        stderr = proc.stderr.decode(errors="replace")[-500:]
    except subprocess.TimeoutExpired:
        exit_code, stderr = "timeout", f"killed after {timeout_s}s"
    finally:
        if job.stdout_file:
            stdout.close()
    elapsed = time.monotonic() - started
    server_cpu = server.cpu_seconds() - server_cpu_before
    row = {
        "exit": exit_code,
        "wall_s": round(elapsed, 4), "user_s": None, "sys_s": None, "max_rss_kib": None,
        "server_cpu_s": round(server_cpu, 3),
        "load_before": load_before, "load_after": loadavg(),
        "stderr": stderr.strip().replace("\n", " | ") if exit_code != 0 else "",
    }
    try:
        # The last line: a failing command makes time add "Command exited…".
        fields = tfile.read_text().strip().splitlines()[-1].split()
        # Wall time is our own monotonic clock (time's %e has 10 ms steps).
        row.update(user_s=float(fields[1]),
                   sys_s=float(fields[2]), max_rss_kib=int(fields[3]))
    except (OSError, IndexError, ValueError):
        pass
    finally:
        tfile.unlink(missing_ok=True)
    row["records"], row["ok"] = count_ok(job)
    if job.out_file:
        job.out_file.unlink(missing_ok=True)
    for path in job.cleanup:
        shutil.rmtree(path, ignore_errors=True)
    return row
