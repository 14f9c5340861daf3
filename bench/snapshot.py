"""Health latency while a large snapshot is written and read: one account of N call records
(150,000 by default), ``GET /_sim/health`` asked without pause from another thread

- while the server writes its ``--state-file`` again and again; paired rounds of the way it is
  written now (``Snapshot.encode``: records in slices, the loop free between them) and the way
  it was (the whole picture and its JSON in one go);
- while the same snapshot is imported with ``PUT /_sim/snapshot`` (checked and its states built
  on a worker thread, then swapped in on the loop), paired with the way it was imported (parse,
  check and build on the loop).

    python -m bench.snapshot [calls] [rounds]

Prints one JSON line: health p50/p99/max during each way, and its time.
"""

from __future__ import annotations

import asyncio
import copy
import http.client
import json
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from aiohttp import web

from simulator.app import make_app
from simulator.config import parse_config
from simulator.core.clock import Clock
from simulator.core.store import AccountState
from simulator.sim import Simulator
from simulator.snapshot import Snapshot, StateFile, write_atomically

from .history import END, synthetic_cdrs


class HealthProbe:
    """Asks /_sim/health over one keep-alive connection until stopped, from a process of its
    own as a client would: a thread in the server's process measured its own wait for the
    interpreter lock while the loop ran the writer's slices (the loop answered every 13 ms at
    worst while that thread waited up to 430 ms). The child prints each request's span."""

    def __init__(self, port: int):
        self.port = port
        self.spans: list[tuple[float, float]] = []   # time.monotonic() at the request and its answer
        self._child: subprocess.Popen | None = None
        self._reader: threading.Thread | None = None

    def during(self, start: float, end: float) -> list[float]:
        """Latencies (ms) of the requests that were waiting at some moment of [start, end]: one
        that a blocked loop held through the whole window counts too."""
        return [(t1 - t0) * 1000 for t0, t1 in list(self.spans) if t1 >= start and t0 <= end]

    def start(self) -> None:
        self._child = subprocess.Popen([sys.executable, "-m", "bench.snapshot", "--probe", str(self.port)],
                                       cwd=Path(__file__).resolve().parent.parent, stdout=subprocess.PIPE,
                                       text=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    async def ready(self, timeout: float = 60) -> None:
        """Until the child's first answer (it imports this module first)."""
        deadline = time.monotonic() + timeout
        while not self.spans:
            if time.monotonic() > deadline or self._child.poll() is not None:
                raise RuntimeError("the health probe's process did not start asking")
            await asyncio.sleep(0.05)

    def _read(self) -> None:
        for line in self._child.stdout:
            t0, t1 = map(float, line.split())
            self.spans.append((t0, t1))

    def stop(self) -> None:
        self._child.terminate()
        self._child.wait(30)
        self._reader.join(30)


def probe(port: int) -> None:
    """The probe's process: a span a line (CLOCK_MONOTONIC is the machine's, not the process's)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        while True:
            t0 = time.monotonic()
            conn.request("GET", "/_sim/health")
            conn.getresponse().read()
            print(t0, time.monotonic(), flush=True)
            time.sleep(0.002)
    except (OSError, http.client.HTTPException, KeyboardInterrupt):   # the server is gone: done
        return


async def write_in_one_go(sim: Simulator, path: Path) -> None:
    """The writer before ``encode``: take and serialise on the loop, the disk in a thread."""
    body = Snapshot.take(sim).to_bytes()
    await asyncio.to_thread(write_atomically, path, body)


def put_snapshot(port: int, body: bytes) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    conn.request("PUT", "/_sim/snapshot?clock=keep", body=body, headers={"Content-Type": "application/json"})
    resp = conn.getresponse()
    answer = resp.read()
    if resp.status != 200:
        raise RuntimeError(f"PUT /_sim/snapshot: {resp.status} {answer[:200]!r}")


async def import_on_the_loop(sim: Simulator, body: bytes) -> None:
    """The import before it moved off the loop: parse, check and build the states in one go."""
    snap = Snapshot.parse(body, "snapshot")
    snap._states = {image.id: AccountState.from_json(copy.deepcopy(image.state)) for image in snap._doc.accounts}
    await snap.restore(sim, clock="keep")


async def paired_rounds(probe: HealthProbe, rounds: int, samples: dict, ways: dict) -> None:
    """``rounds`` rounds in which the ways alternate; each way's run times and the health
    latencies seen while it ran go to ``samples[way]``."""
    for way in ways:
        samples[way] = {"health": [], "write": []}
    for _ in range(rounds):
        for way, run in ways.items():
            t0 = time.monotonic()
            await run()
            t1 = time.monotonic()
            samples[way]["write"].append((t1 - t0) * 1000)
            await asyncio.sleep(0.2)         # an answer the run held, and the probe's lines, arrive now
            samples[way]["health"].extend(probe.during(t0, t1))


async def main(calls: int, writes: int) -> dict:
    cfg = parse_config({"server": {"seed": 1, "journal_size": 1000}, "accounts": [{
        "id": "big", "provider": "vats", "domain": "big.example.com",
        "seed": {"generate": {"employees": 20, "departments": 3, "numbers": 5}}}]})
    sim = Simulator(cfg, Clock("manual", start=END))
    await sim.start()
    sim.account("big").state.cdrs.extend_sorted(synthetic_cdrs(sim.account("big"), calls, random.Random(5)))
    runner = web.AppRunner(make_app(sim), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    probe = HealthProbe(site._server.sockets[0].getsockname()[1])
    probe.start()
    await probe.ready()
    result: dict = {"calls": calls, "writes": writes}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "state.json"
        state = StateFile(path)
        samples: dict[str, dict[str, list[float]]] = {}
        await asyncio.sleep(0.2)
        await paired_rounds(probe, writes, samples, {
            "sliced": lambda: state.save(sim), "one_go": lambda: write_in_one_go(sim, path)})
        result["file_mb"] = round(path.stat().st_size / 1e6, 1)
        raw = path.read_bytes()
        await paired_rounds(probe, writes, samples, {
            "import_off_loop": lambda: asyncio.to_thread(put_snapshot, probe.port, raw),
            "import_on_loop": lambda: import_on_the_loop(sim, raw)})
    probe.stop()
    await runner.cleanup()
    pct = lambda xs, q: round(sorted(xs)[min(len(xs) - 1, int(len(xs) * q))], 1) if xs else None
    for way, s in samples.items():
        result[way] = {"health_n": len(s["health"]), "health_p50_ms": pct(s["health"], 0.5),
                       "health_p99_ms": pct(s["health"], 0.99), "health_max_ms": pct(s["health"], 1.0),
                       ("import" if way.startswith("import") else "write") + "_ms_median": pct(s["write"], 0.5)}
    return result


if __name__ == "__main__":
    if sys.argv[1:2] == ["--probe"]:
        probe(int(sys.argv[2]))
        sys.exit(0)
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 150_000
    w = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    print(json.dumps(asyncio.run(main(n, w))))
