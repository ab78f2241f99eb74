"""The clients compared, and how each one is told to fetch a workload.

Every client fetches every URL of the workload and reads every body; all
but curl and oha also write one JSON line per URL, which `count_ok` checks
afterwards. A client whose tool is missing is reported, not run.

| client | what it is |
|---|---|
| volley | the binary under test, full records to a file |
| reqwest-baseline | bench/reqwest-baseline: reqwest + tokio + `buffer_unordered` |
| aiohttp-gather | bench/clients/aiohttp_gather.py: gather + semaphore |
| httpx-async | bench/clients/httpx_async.py: `httpx.AsyncClient` + gather |
| curl-parallel | `curl --parallel --parallel-max C -K list` |
| curl-parallel --output-dir | BIG only: the same, each body saved to a file of its own (the peer of volley `--save-dir`) |
| oha | one URL, `-n N -c C`: the raw ceiling of the loop, not a fetcher |
"""

import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent
ROOT = BENCH.parent


@dataclass
class Workload:
    """What one measured run of one client is asked to do."""

    name: str  # FAST, SLOW, BIG, MANY-10^4, HOSTS, ...
    server: str  # nginx or testbed
    urls_file: Path
    n: int
    concurrency: int
    first_url: str
    per_host: int = 0  # 0: no per-host limit
    big: bool = False  # large binary bodies: volley records no body
    curl_config: Path = None  # written on first use

    def curl_list(self):
        """The curl config (`url = …` / `output = /dev/null`) for this list."""
        if self.curl_config is None:
            self.curl_config = self.urls_file.with_suffix(".curl")
            with open(self.urls_file) as src, open(self.curl_config, "w") as dst:
                for line in src:
                    dst.write(f'url = "{line.strip()}"\noutput = "/dev/null"\n')
        return self.curl_config


@dataclass
class Job:
    """One client's command for one workload, and how to check its output."""

    client: str
    argv: list
    out_file: Path = None  # records written by the client, if any
    ok_marker: bytes = None  # substring found once in every successful record
    stdout_file: Path = None  # where stdout goes (curl's status codes, oha's report)
    ok_regex: str = None  # in stdout_file: a regex whose group(1) counts successes
    cleanup: list = field(default_factory=list)  # directories removed after the run


@dataclass
class Client:
    name: str
    tool: str  # the program that must exist
    workloads: set = field(default_factory=lambda: {"FAST", "SLOW", "BIG", "HOSTS"})
    servers: set = field(default_factory=lambda: {"nginx", "testbed"})

    def available(self):
        return Path(self.tool).exists() if "/" in self.tool else shutil.which(self.tool) is not None

    def handles(self, workload):
        return workload.name.split("-")[0] in self.workloads and workload.server in self.servers


class Volley(Client):
    def __init__(self, binary, save_dir=False):
        super().__init__(
            "volley --save-dir" if save_dir else "volley",
            str(binary),
            {"BIG"} if save_dir else {"FAST", "SLOW", "BIG", "MANY", "HOSTS"},
        )
        self.save_dir = save_dir

    def job(self, w, tmp):
        out = tmp / "volley.jsonl"
        argv = [self.tool, str(w.urls_file), "-o", str(out), "-c", str(w.concurrency), "-q"]
        if w.per_host:
            argv += ["--per-host", str(w.per_host)]
        cleanup = []
        if self.save_dir:
            # Each body to its own file; records carry body_path instead.
            save = tmp / "volley-bodies"
            shutil.rmtree(save, ignore_errors=True)
            save.mkdir()
            argv += ["--save-dir", str(save)]
            cleanup.append(save)
        elif w.big:
            argv += ["--body", "none"]
        return Job(self.name, argv, out, b'"ok":true', cleanup=cleanup)


class ReqwestBaseline(Client):
    def __init__(self, binary):
        super().__init__("reqwest-baseline", str(binary),
                         {"FAST", "SLOW", "BIG", "MANY", "HOSTS"})

    def job(self, w, tmp):
        out = tmp / "reqwest.jsonl"
        argv = [self.tool, str(w.urls_file), str(out), str(w.concurrency)]
        return Job(self.name, argv, out, b'"status":200')


class PythonClient(Client):
    def __init__(self, name, script, module, workloads=None, servers=None):
        super().__init__(name, sys.executable)
        if workloads:
            self.workloads = workloads
        if servers:
            self.servers = servers
        self.script = BENCH / "clients" / script
        self.module = module

    def available(self):
        probe = subprocess.run([sys.executable, "-c", f"import {self.module}"],
                               capture_output=True)
        return probe.returncode == 0

    def job(self, w, tmp):
        out = tmp / f"{self.name}.jsonl"
        argv = [sys.executable, str(self.script), str(w.urls_file), str(out), str(w.concurrency)]
        if w.per_host and self.module == "aiohttp":
            argv.append(str(w.per_host))
        return Job(self.name, argv, out, b'"status": 200')


class CurlParallel(Client):
    def __init__(self):
        super().__init__("curl-parallel", "curl")

    def job(self, w, tmp):
        # --parallel-max is capped at 300 by curl; the workloads stay below.
        codes = tmp / "curl-codes.txt"
        argv = ["curl", "-s", "--parallel", "--parallel-max", str(w.concurrency),
                "-w", "%{http_code}\\n", "-K", str(w.curl_list())]
        # One status code a line on stdout: the records curl can give.
        return Job(self.name, argv, codes, b"200", stdout_file=codes)


class CurlParallelFiles(Client):
    """curl saving every body to a file of its own, as `volley --save-dir`
    does: the like-for-like peer for that row (plain curl-parallel writes to
    /dev/null)."""

    def __init__(self):
        super().__init__("curl-parallel --output-dir", "curl", {"BIG"})

    def job(self, w, tmp):
        save = tmp / "curl-bodies"
        save.mkdir(exist_ok=True)
        config = tmp / "curl-files.curl"
        with open(w.urls_file) as src, open(config, "w") as dst:
            for i, line in enumerate(src):
                dst.write(f'url = "{line.strip()}"\noutput = "{save}/{i}.bin"\n')
        codes = tmp / "curl-files-codes.txt"
        argv = ["curl", "-s", "--parallel", "--parallel-max", str(w.concurrency),
                "-w", "%{http_code}\\n", "-K", str(config)]
        return Job(self.name, argv, codes, b"200", stdout_file=codes, cleanup=[save])


class Oha(Client):
    def __init__(self):
        super().__init__("oha", "oha")

    def job(self, w, tmp):
        argv = ["oha", "-n", str(w.n), "-c", str(w.concurrency), "--no-tui", w.first_url]
        return Job(self.name, argv, stdout_file=tmp / "oha.txt",
                   ok_regex=r"\[200\]\s+(\d+)\s+responses")


def all_clients(volley_bin, baseline_bin, volley_has_save_dir):
    clients = [
        Volley(volley_bin),
        ReqwestBaseline(baseline_bin),
        PythonClient("aiohttp-gather", "aiohttp_gather.py", "aiohttp"),
        # httpx needs 2-7 ms of CPU a request here (~40 s a FAST or SLOW run):
        # it runs on nginx only, and not HOSTS, to keep the suite short.
        PythonClient("httpx-async", "httpx_async.py", "httpx",
                     workloads={"FAST", "SLOW", "BIG"}, servers={"nginx"}),
        CurlParallel(),
        CurlParallelFiles(),
        Oha(),
    ]
    if volley_has_save_dir:
        clients.insert(1, Volley(volley_bin, save_dir=True))
    return clients


def count_ok(job):
    """(records, successful records) in the job's output; (None, None) if it
    writes none."""
    if job.ok_regex:
        try:
            match = re.search(job.ok_regex, job.stdout_file.read_text())
        except OSError:
            match = None
        return None, int(match.group(1)) if match else None
    if job.out_file is None or not job.out_file.exists():
        return None, None
    lines = ok = 0
    tail = b""
    with open(job.out_file, "rb") as f:
        while chunk := f.read(1 << 22):
            data = tail + chunk
            cut = data.rfind(b"\n") + 1
            lines += data.count(b"\n", 0, cut)
            ok += data.count(job.ok_marker, 0, cut)
            tail = data[cut:]
    return lines, ok
