"""Two trees side by side, for deciding whether a change earns its keep (the 15 % rule):

    python -m bench.paired startup TREE_A TREE_B [RUNS]
    python -m bench.paired throughput TREE_A TREE_B [ROUNDS] [ENDPOINT,ENDPOINT…]

Each tree is a checkout with its own ``.venv`` (a symlink to another tree's venv will do:
``python -m simulator`` run from a tree imports that tree). ``startup`` alternates the two
trees' ``pbx-sim serve`` (process start → first 200 of ``/_sim/health``; wall time and the
server's CPU time up to then). ``throughput`` runs both servers on one CPU, wrk on the other
with the servers' stderr drained there (as a container's log), in alternating 2-s rounds; it
gives requests a second and the server's CPU time per request, which other work on the
machine disturbs less. Both print medians and the median of the paired ratios.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import time
import urllib.request

from .figures import _endpoints, free_port, http_json, load_cores, wait_http


def _cpu_seconds(pid: int) -> float:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _serve(tree: str, port: int, options: tuple[str, ...] = (), **popen) -> subprocess.Popen:
    return subprocess.Popen([f"{tree}/.venv/bin/python", "-m", "simulator", "serve", "--port", str(port), *options],
                            cwd=tree, stdout=subprocess.DEVNULL, **popen)


def _report(name: str, unit: str, a: list[float], b: list[float], lower_is_better: bool) -> None:
    ratios = [y / x if lower_is_better else x / y for x, y in zip(a, b) if x and y]
    print(f"{name}: A {statistics.median(a):.3f} {unit}, B {statistics.median(b):.3f} {unit}; A's advantage "
          f"(median of paired ratios) {statistics.median(ratios):.3f} (min {min(ratios):.3f}, max {max(ratios):.3f})",
          flush=True)


def startup(a: str, b: str, runs: int = 20) -> None:
    def one(tree: str) -> tuple[float, float]:
        port = free_port()
        started = time.perf_counter()
        proc = _serve(tree, port, ("--log-level", "WARNING"), stderr=subprocess.DEVNULL)
        try:
            while True:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/_sim/health", timeout=1) as resp:
                        if resp.status == 200:
                            return time.perf_counter() - started, _cpu_seconds(proc.pid)
                except OSError:
                    time.sleep(0.005)
        finally:
            proc.terminate()
            proc.wait()

    for tree in (a, b):   # as installed: compiled bytecode, then one start to warm the caches
        subprocess.run([f"{tree}/.venv/bin/python", "-m", "compileall", "-q", "simulator"], cwd=tree,
                       stdout=subprocess.DEVNULL, check=False)
        one(tree)
    got: dict[str, list[tuple[float, float]]] = {a: [], b: []}
    for n in range(runs):
        for tree in ((a, b) if n % 2 == 0 else (b, a)):
            got[tree].append(one(tree))
    _report("start-up wall", "s", [w for w, _ in got[a]], [w for w, _ in got[b]], lower_is_better=True)
    _report("start-up CPU", "s", [c for _, c in got[a]], [c for _, c in got[b]], lower_is_better=True)


def throughput(a: str, b: str, rounds: int = 9, names: list[str] | None = None, seconds: int = 2) -> None:
    server_cpus, load_cpus = load_cores()
    pin = (lambda cpus: (lambda: os.sched_setaffinity(0, cpus))) if server_cpus else (lambda cpus: None)
    procs, bases, pids = [], {}, {}
    try:
        for tree in (a, b):
            port = free_port()
            proc = _serve(tree, port, stderr=subprocess.PIPE, preexec_fn=pin(server_cpus))
            procs += [proc, subprocess.Popen(["cat"], stdin=proc.stderr, stdout=subprocess.DEVNULL,
                                             preexec_fn=pin(load_cpus))]
            bases[tree], pids[tree] = f"http://127.0.0.1:{port}", proc.pid
        endpoints = {}
        for tree in (a, b):
            wait_http(bases[tree] + "/_sim/health")
            while json.loads(http_json(bases[tree] + "/_sim/health")[2])["seeding"]:
                time.sleep(0.1)
            accounts = {x["id"]: x for x in json.loads(http_json(bases[tree] + "/_sim/accounts?secrets=1")[2])}
            endpoints[tree] = _endpoints(bases[tree], accounts)

        def wrk(tree: str, name: str, length: int) -> tuple[float, float]:
            url, headers, cookies = endpoints[tree][name]
            if cookies:
                headers = {**headers, "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}
            args = ["wrk", "-t1", "-c64", f"-d{length}s"]
            for k, v in headers.items():
                args += ["-H", f"{k}: {v}"]
            before = _cpu_seconds(pids[tree])
            out = subprocess.run(args + [url], capture_output=True, text=True, check=True,
                                 preexec_fn=pin(load_cpus)).stdout
            if re.search(r"Non-2xx or 3xx responses", out):
                raise RuntimeError(f"{tree} {name}: errors in wrk's run")
            requests = int(re.search(r"(\d+) requests in", out).group(1))
            return (float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
                    (_cpu_seconds(pids[tree]) - before) / requests * 1e6)

        for name in names or list(endpoints[a]):
            for tree in (a, b):
                wrk(tree, name, 1)   # warm-up
            got: dict[str, list[tuple[float, float]]] = {a: [], b: []}
            for n in range(rounds):
                for tree in ((a, b) if n % 2 == 0 else (b, a)):
                    got[tree].append(wrk(tree, name, seconds))
            _report(f"{name}", "rps", [r for r, _ in got[a]], [r for r, _ in got[b]], lower_is_better=False)
            _report(f"{name} CPU per request", "us", [c for _, c in got[a]], [c for _, c in got[b]],
                    lower_is_better=True)
    finally:
        for proc in procs:
            proc.terminate()


if __name__ == "__main__":
    kind, tree_a, tree_b, *rest = sys.argv[1:]
    if kind == "startup":
        startup(tree_a, tree_b, *(int(x) for x in rest[:1]))
    else:
        throughput(tree_a, tree_b, *(int(x) for x in rest[:1]), *([rest[1].split(",")] if len(rest) > 1 else []))
