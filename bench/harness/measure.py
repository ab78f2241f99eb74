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


def _cpu_times():
    """The machine's (total, idle, steal) CPU ticks. Steal is time the
    hypervisor gave this VM's CPUs to someone else: it counts as busy, and
    is also kept on its own, since no process here can explain it."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    steal = fields[7] if len(fields) > 7 else 0
    return sum(fields[:8]), idle, steal


def busy_cores(interval_s=0.5):
    """Cores' worth of CPU used by the whole machine over `interval_s`.
    Called between runs, when the benchmark itself is idle (nginx and the
    testbed sleep), so this is the other work on the machine."""
    total0, idle0, _ = _cpu_times()
    time.sleep(interval_s)
    total1, idle1, _ = _cpu_times()
    span = total1 - total0
    return round((1 - (idle1 - idle0) / span) * (os.cpu_count() or 1), 2) if span else 0.0


def wait_quiet(max_wait_s, threshold=0.3):
    """Waits up to `max_wait_s` for the machine to be quiet; returns the last
    busy-cores sample."""
    deadline = time.monotonic() + max_wait_s
    busy = busy_cores()
    while busy > threshold and time.monotonic() < deadline:
        busy = busy_cores(1.0)
    return busy


def run(job, server, pin, timeout_s=RUN_TIMEOUT_S, quiet_wait_s=0):
    """Runs `job` once; returns a dict of measurements (a CSV row's worth)."""
    busy_before = wait_quiet(quiet_wait_s)
    tfile = job.out_file.with_suffix(".time") if job.out_file else Path(f"/tmp/bench-{os.getpid()}.time")
    if job.out_file and job.out_file.exists():
        job.out_file.unlink()
    argv = [TIME, "-f", "%e %U %S %M", "-o", str(tfile)] + pin_argv(pin) + job.argv
    stdout = open(job.stdout_file, "w") if job.stdout_file else subprocess.DEVNULL
    load_before = loadavg()
    server_cpu_before = server.cpu_seconds()
    machine_before = _cpu_times()
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
    machine_after = _cpu_times()
    server_cpu = server.cpu_seconds() - server_cpu_before
    row = {
        "exit": exit_code,
        "wall_s": round(elapsed, 4), "user_s": None, "sys_s": None, "max_rss_kib": None,
        "server_cpu_s": round(server_cpu, 3),
        "load_before": load_before, "load_after": loadavg(), "busy_before": busy_before,
        "other_cores": None,
        "steal_cores": round((machine_after[2] - machine_before[2]) / os.sysconf("SC_CLK_TCK")
                             / elapsed, 2) if elapsed > 0 else None,
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
    # Other work during the run: the machine's busy CPU seconds less the
    # client's and the server's, per second of the run (in cores).
    ticks = os.sysconf("SC_CLK_TCK")
    machine_busy_s = ((machine_after[0] - machine_before[0]) - (machine_after[1] - machine_before[1])) / ticks
    if row["user_s"] is not None and elapsed > 0:
        other = machine_busy_s - row["user_s"] - row["sys_s"] - server_cpu
        row["other_cores"] = round(max(other, 0.0) / elapsed, 2)
    row["records"], row["ok"] = count_ok(job)
    if job.out_file:
        job.out_file.unlink(missing_ok=True)
    for path in job.cleanup:
        shutil.rmtree(path, ignore_errors=True)
    return row
