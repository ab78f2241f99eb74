"""The two local servers the workloads run against, started in the
foreground on 127.0.0.1 and stopped when the run ends.

- `Nginx`: Debian's nginx with bench/nginx.conf (one worker, keep-alive,
  the echo module for the 50 ms endpoint, a 1 MiB static file), listening on
  a main port plus the 50 origins of the HOSTS workload.
- `Testbed`: volley's own fault-injecting server (crates/testbed), which is
  what the tests and the demo use.

Each server knows how to spell the three endpoints, and reports the CPU
seconds its processes have used so far, so a run can tell how busy the
server side was.
"""

import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent
CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_ports(count):
    """Ports the kernel calls free right now (bound to port 0, then closed)."""
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def wait_for_port(port, process, deadline_s=10.0):
    """Waits until something accepts on 127.0.0.1:port, or fails."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listening on 127.0.0.1:{port} after {deadline_s}s")


def process_tree_cpu(pid):
    """User+system CPU seconds of `pid` and its direct children so far."""
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(c) for c in children]
    except OSError:
        pass
    total = 0.0
    for p in pids:
        try:
            stat = Path(f"/proc/{p}/stat").read_text()
        except OSError:
            continue
        # Fields after the command name (which may hold spaces) in parentheses.
        fields = stat[stat.rindex(")") + 2 :].split()
        total += (int(fields[11]) + int(fields[12])) / CLK_TCK
    return total


class Server:
    """A server process; subclasses say how to start it and spell URLs."""

    name = "?"
    process = None

    def cpu_seconds(self):
        return process_tree_cpu(self.process.pid) if self.process else 0.0

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()


class Nginx(Server):
    name = "nginx"
    HOSTS = 50

    def __init__(self, pin=None):
        self.pin = pin
        self.run_dir = None

    @staticmethod
    def available():
        return shutil.which("nginx") is not None and Path(
            "/usr/lib/nginx/modules/ngx_http_echo_module.so"
        ).exists()

    def start(self):
        self.run_dir = Path(tempfile.mkdtemp(prefix="volley-bench-nginx-"))
        # nginx's worker drops root for `nobody`: it must reach www/big.bin.
        self.run_dir.chmod(0o755)
        for d in ["tmp", "www"]:
            (self.run_dir / d).mkdir()
        (self.run_dir / "www" / "big.bin").write_bytes(
            bytes((i * 7 + 3) % 251 for i in range(256)) * 4096
        )
        ports = free_ports(1 + self.HOSTS)
        self.port, self.host_ports = ports[0], ports[1:]
        (self.run_dir / "listen.conf").write_text(
            "".join(f"listen 127.0.0.1:{p};\n" for p in ports)
        )
        conf = (BENCH / "nginx.conf").read_text().replace("@RUN@", str(self.run_dir))
        (self.run_dir / "nginx.conf").write_text(conf)
        argv = ["nginx", "-p", str(self.run_dir), "-c", str(self.run_dir / "nginx.conf"),
                "-e", str(self.run_dir / "error.log")]
        self.process = subprocess.Popen(pin_argv(self.pin) + argv, stdin=subprocess.DEVNULL)
        wait_for_port(self.port, self.process)
        for p in self.host_ports:
            wait_for_port(p, self.process)

    def stop(self):
        if self.process and self.process.poll() is None:
            # SIGTERM: nginx's fast shutdown (SIGQUIT would wait for idle
            # keep-alive connections).
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        if self.run_dir:
            shutil.rmtree(self.run_dir, ignore_errors=True)

    def fast(self, i, port=None):
        return f"http://127.0.0.1:{port or self.port}/json?i={i}"

    def slow(self, i):
        return f"http://127.0.0.1:{self.port}/delay?i={i}"

    def big(self, i):
        return f"http://127.0.0.1:{self.port}/big?i={i}"

    def version(self):
        out = subprocess.run(["nginx", "-v"], capture_output=True, text=True)
        return out.stderr.strip().replace("nginx version: ", "")


class Testbed(Server):
    name = "testbed"

    def __init__(self, binary, pin=None):
        self.binary = Path(binary)
        self.pin = pin

    def available(self):
        return self.binary.exists()

    def start(self):
        self.process = subprocess.Popen(
            pin_argv(self.pin) + [str(self.binary), "--port", "0"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True,
        )
        line = self.process.stdout.readline()
        match = re.search(r"127\.0\.0\.1:(\d+)", line)
        if not match:
            self.stop()
            raise RuntimeError(f"testbed said {line!r}")
        self.port = int(match.group(1))
        wait_for_port(self.port, self.process)

    def fast(self, i, port=None):
        return f"http://127.0.0.1:{self.port}/json/{i}"

    def slow(self, i):
        return f"http://127.0.0.1:{self.port}/delay/50?i={i}"

    def big(self, i):
        return f"http://127.0.0.1:{self.port}/big/1048576?i={i}"


def pin_argv(cpu):
    """`taskset -c CPU` when pinning, else nothing."""
    return ["taskset", "-c", str(cpu)] if cpu is not None else []
