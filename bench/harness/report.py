"""Turns the raw runs (one CSV row per measured run) into the markdown
tables: the median of the repetitions per workload, server and client, and
the derived columns (requests/s, CPU-seconds per 10k requests, ratios to
volley)."""

import statistics

COLUMNS = ["client", "wall s", "req/s", "user s", "sys s", "CPU s / 10k req",
           "peak RSS MiB", "server CPU s", "ok", "wall × volley", "CPU × volley"]


def _median(rows, key):
    values = [r[key] for r in rows if r.get(key) not in (None, "")]
    return statistics.median(values) if values else None


def summarise(rows):
    """{(workload, server): {client: summary}} from the measured (non-warm-up) rows."""
    groups = {}
    for r in rows:
        if r["warmup"]:
            continue
        groups.setdefault((r["workload"], r["server"]), {}).setdefault(r["client"], []).append(r)
    out = {}
    for key, by_client in groups.items():
        out[key] = {}
        for client, runs in by_client.items():
            good = [r for r in runs if r["exit"] == 0]
            if not good:
                out[key][client] = {"failed": runs[-1]["exit"], "stderr": runs[-1]["stderr"], "n": runs[-1]["n"]}
                continue
            n = good[0]["n"]
            wall = _median(good, "wall_s")
            user = _median(good, "user_s")
            sys_ = _median(good, "sys_s")
            cpu = statistics.median(r["user_s"] + r["sys_s"] for r in good) if user is not None else None
            rss = _median(good, "max_rss_kib")
            oks = [r["ok"] for r in good if r["ok"] is not None]
            out[key][client] = {
                "n": n, "runs": len(good), "wall": wall, "user": user, "sys": sys_, "cpu": cpu,
                "rps": n / wall if wall else None,
                "cpu10k": cpu / n * 10_000 if cpu is not None else None,
                "rss_mib": rss / 1024 if rss is not None else None,
                "server_cpu": _median(good, "server_cpu_s"),
                "ok": f"{min(oks)}/{n}" if oks else "-",
            }
    return out


def _fmt(x, digits=2):
    if x is None:
        return "n/a"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    if abs(x) >= 100:
        return f"{x:.0f}"
    return f"{x:.{digits}f}"


def other_work(rows, workload, server, key="other_cores"):
    """The most and the median of other work's CPU (in cores) during the
    measured runs of one case, or None when not recorded. `key` is
    "other_cores" (everything but the client and the server, steal
    included) or "steal_cores" (the hypervisor's share alone)."""
    values = [r[key] for r in rows if not r["warmup"] and r["workload"] == workload
              and r["server"] == server and r.get(key) not in (None, "")]
    if not values:
        return None
    return max(values), statistics.median(values)


def measured_runs(rows, workload, server):
    """How many measured runs each client had in one case: `{client: n}`."""
    counts = {}
    for r in rows:
        if not r["warmup"] and r["workload"] == workload and r["server"] == server:
            counts[r["client"]] = counts.get(r["client"], 0) + 1
    return counts


def table(summary, workload, server, clients):
    """A markdown table for one workload on one server, clients in order."""
    by_client = summary.get((workload, server), {})
    base = by_client.get("volley", {})
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for client in clients:
        s = by_client.get(client)
        if s is None:
            continue
        if "failed" in s:
            cells = [client] + ["n/a"] * (len(COLUMNS) - 1)
            cells[-3] = f"failed ({s['failed']})"
        elif s.get("missing"):
            cells = [client] + ["n/a"] * (len(COLUMNS) - 1)
        else:
            wall_ratio = s["wall"] / base["wall"] if base.get("wall") else None
            cpu_ratio = s["cpu"] / base["cpu"] if base.get("cpu") else None
            cells = [client, _fmt(s["wall"], 3), _fmt(s["rps"]), _fmt(s["user"]), _fmt(s["sys"]),
                     _fmt(s["cpu10k"], 3), _fmt(s["rss_mib"], 1), _fmt(s["server_cpu"]),
                     s["ok"], _fmt(wall_ratio), _fmt(cpu_ratio)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
