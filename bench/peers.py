"""Peers side by side: the simulator's t2 ``GET /employees`` against WireMock and Prism serving
the same body, and the bare aiohttp app (the limit of this stack).

The peers come from npm (the ``wiremock`` package carries WireMock's standalone jar, run on the
machine's Java; ``@stoplight/prism-cli``) and are installed into ``bench/.cache/peers`` (not in
git) when missing. A peer that cannot be installed or started is reported as skipped, never as
a pass. Each runs as it ships: WireMock keeps its request journal, as the simulator keeps its
own; WireMock with its journal and request log off is a row for information.
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import tempfile
from pathlib import Path

from .figures import (PBX_SIM, PY, ROOT, THROUGHPUT_TARGET, _load, alternating, free_port, http_json,
                      load_cores, process, wait_http)

CACHE = ROOT / "bench" / ".cache" / "peers"
PACKAGES = ("wiremock@3", "@stoplight/prism-cli@5")
PATH = "/crm/openapi/employees"


def install() -> str | None:
    """npm-install the peers into the cache folder; None, or why it could not be done."""
    if (CACHE / "node_modules" / ".bin" / "prism").exists() and _wiremock_jar():
        return None
    if shutil.which("npm") is None:
        return "npm not installed"
    CACHE.mkdir(parents=True, exist_ok=True)
    out = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error", *PACKAGES],
                         cwd=CACHE, capture_output=True, text=True, timeout=900)
    if out.returncode != 0:
        return "npm install failed: " + (out.stderr.strip().splitlines() or ["?"])[-1][:120]
    return None


def _wiremock_jar() -> Path | None:
    return next(iter(sorted((CACHE / "node_modules" / "wiremock").glob("**/wiremock-standalone-*.jar"))), None)


def _wiremock(body: bytes, port: int, root: Path, journal: bool = True) -> list[str] | str:
    """WireMock as it ships: it keeps its request journal (for verification), as the simulator
    keeps its own, which cannot be turned off. ``journal=False``: journal and request log off,
    as WireMock's docs advise for load tests (an information row: the simulator keeps both)."""
    jar = _wiremock_jar()
    if jar is None:
        return "no WireMock jar in the npm package"
    if shutil.which("java") is None:
        return "no Java runtime"
    (root / "mappings").mkdir(parents=True)
    (root / "mappings" / "employees.json").write_text(json.dumps({
        "request": {"method": "GET", "url": PATH},
        "response": {"status": 200, "body": body.decode("utf-8"),
                     "headers": {"Content-Type": "application/json; charset=utf-8"}}}), "utf-8")
    command = ["java", "-jar", str(jar), "--port", str(port), "--bind-address", "127.0.0.1",
               "--root-dir", str(root), "--disable-banner"]
    return command if journal else command + ["--no-request-journal", "--disable-request-logging"]


def _prism(body: bytes, port: int, root: Path) -> list[str] | str:
    prism = CACHE / "node_modules" / ".bin" / "prism"
    if not prism.exists():
        return "prism not installed"
    if shutil.which("node") is None:
        return "no node"
    spec = {"openapi": "3.0.3", "info": {"title": "t2 employees", "version": "1"},
            "paths": {PATH: {"get": {"responses": {"200": {
                "description": "employees",
                "content": {"application/json": {"example": json.loads(body)}}}}}}}}
    root.mkdir(parents=True)
    (root / "spec.json").write_text(json.dumps(spec, ensure_ascii=False), "utf-8")
    return [str(prism), "mock", str(root / "spec.json"), "--port", str(port), "--host", "127.0.0.1",
            "--errors", "false"]


def peers(seconds: float = 2.0, rounds: int = 5) -> list[tuple]:
    """Alternating rounds (simulator, bare, WireMock, Prism) with wrk at 64 connections, the
    servers on one CPU and wrk on the other; medians, and the medians of the paired ratios."""
    why_not = install()
    server_cpus, load_cpus = load_cores()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    rows: list[tuple] = []
    with process(PBX_SIM + ["serve", "--port", str(port)], cpus=server_cpus), \
            tempfile.TemporaryDirectory() as tmp:
        wait_http(f"{base}/_sim/health")
        accounts = {a["id"]: a for a in json.loads(http_json(f"{base}/_sim/accounts?secrets=1")[2])}
        headers = {"Authorization": accounts["t2"]["credentials"]["access_token"]}
        _, _, body = http_json(base + PATH, headers=headers)
        body_file = Path(tmp) / "body.json"
        body_file.write_bytes(body)
        servers: dict[str, tuple[str, dict]] = {"simulator": (base + PATH, headers)}
        skipped: dict[str, str] = {}
        makers = {"bare aiohttp": lambda b, port, root: [PY, "-m", "bench.bare", str(port), str(body_file)],
                  "WireMock": _wiremock, "Prism": _prism,
                  "WireMock, no journal": lambda b, port, root: _wiremock(b, port, root, journal=False)}
        started = []
        try:
            for name, make in makers.items():
                peer_port = free_port()
                command = make(body, peer_port, Path(tmp) / name) if name == "bare aiohttp" or not why_not \
                    else why_not
                if isinstance(command, str):
                    skipped[name] = command
                    continue
                ctx = process(command, cpus=server_cpus)
                ctx.__enter__()
                started.append(ctx)
                url = f"http://127.0.0.1:{peer_port}{PATH}"
                try:
                    wait_http(url, timeout=90)
                    _, _, answer = http_json(url)
                    if json.loads(answer) != json.loads(body):
                        raise RuntimeError("answers another body")
                except Exception as err:      # noqa: BLE001 — a peer that will not serve is skipped
                    skipped[name] = f"did not serve: {err}"
                    continue
                servers[name] = (url, {})
            for url, h in servers.values():
                _load(url, 1, h, {}, load_cpus)          # warm-up (the JVM's JIT above all)
            runs: dict[str, list[dict]] = {name: [] for name in servers}
            order = list(servers.items())
            for r in range(rounds):
                for name, (url, h) in alternating(order, r):
                    runs[name].append(_load(url, seconds, h, {}, load_cpus))
        finally:
            for ctx in reversed(started):
                ctx.__exit__(None, None, None)
    sim = runs["simulator"]
    errors = sum(r["errors"] for r in sim)
    rows.append((f"peers: simulator t2 GET /employees ({len(body)} B, 64 conns, median of {rounds})",
                 f"{statistics.median(r['rps'] for r in sim):.0f} rps, {errors} errors", "", "", "0 errors",
                 errors == 0))
    # None: for information (WireMock without its journal), neither a pass nor a failure
    targets = {"WireMock": 2.0, "Prism": 4.0, "bare aiohttp": THROUGHPUT_TARGET, "WireMock, no journal": None}
    for name, target in targets.items():
        wanted = "(information)" if target is None else f"≥ {target:g}x"
        if name in skipped:
            rows.append((f"peers: simulator / {name}", f"skipped: {skipped[name]}", "", "", wanted,
                         target is None))
            continue
        peer = runs[name]
        ratio = statistics.median(s["rps"] / p["rps"] for s, p in zip(sim, peer) if p["rps"])
        peer_errors = sum(r["errors"] for r in peer)
        rows.append((f"peers: simulator / {name}", f"{ratio:.2f}x",
                     f"{name} {statistics.median(r['rps'] for r in peer):.0f} rps, {peer_errors} errors",
                     f"{ratio:.2f}", wanted, target is None or (ratio >= target and errors == 0)))
    return rows
