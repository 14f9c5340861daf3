"""Memory over a soak: a served simulator (its own process) takes phonet logins that never come
back and calls through every account for ``--duration`` seconds, its clock moved a minute
per round (sessions idle out, calls end); its RSS is sampled as it goes. Both accounts send
their webhooks to a sink (``bench.sink``, unless ``--no-crm``): phonet asks ``call.settings``
for every new caller and caches the answers, vats sends its events and contact lookups.

    python -m bench.soak [--duration 600] [--logins 200] [--calls 20] [--retention 5000] [--no-crm]

Prints one JSON line: RSS after the warm-up (the first fifth of the run, when retention has
filled) and at the end, their ratio, the most RSS seen, and what was done (logins, calls,
call records dropped by retention, sessions left).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from .figures import PY, ROOT, free_port, process, wait_http

CONFIG = """
server: {{seed: 5, journal_size: 1000, retention: {{calls: {retention}}}}}
accounts:
  - {{id: phonet, provider: phonet, domain: soak.phonet.com.ua, settings: {{strict_host: false}}, {crm}
     seed: {{generate: {{employees: 10, numbers: 2, calls: 0}}}}}}
  - {{id: vats, provider: vats, {crm}seed: {{generate: {{employees: 10, numbers: 2, calls: 0}}}}}}
"""


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def call(method: str, url: str, body: dict | None = None) -> tuple[int, dict | None, dict]:
    req = urllib.request.Request(url, method=method, data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        raw = resp.read()
        return resp.status, (json.loads(raw) if raw.strip() else None), dict(resp.headers)


def main() -> dict:
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=float, default=600, help="seconds of soak (default 600)")
    ap.add_argument("--logins", type=int, default=200, help="phonet logins per round")
    ap.add_argument("--calls", type=int, default=20, help="calls per account per round")
    ap.add_argument("--retention", type=int, default=5000, help="call records kept per account")
    ap.add_argument("--no-crm", action="store_true", help="no CRM: no webhooks, no lookups")
    args = ap.parse_args()
    port, sink_port = free_port(), free_port()
    base = f"http://127.0.0.1:{port}"
    crm = "" if args.no_crm else f"crm: {{url: 'http://127.0.0.1:{sink_port}/crm'}}, "
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        if not args.no_crm:
            stack.enter_context(process([PY, "-m", "bench.sink", str(sink_port)]))
            wait_http(f"http://127.0.0.1:{sink_port}/stats")
        config = Path(tmp) / "soak.yaml"
        config.write_text(CONFIG.format(retention=args.retention, crm=crm))
        proc = subprocess.Popen([*[PY, "-m", "simulator"], "serve", "--config", str(config), "--port", str(port),
                                 "--clock", "manual", "--log-level", "WARNING"], cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ})
        try:
            wait_http(base + "/_sim/health")
            accounts = {a["id"]: a for a in call("GET", base + "/_sim/accounts?secrets=1")[1]}
            phonet = accounts["phonet"]
            numbers = {aid: call("GET", f"{base}/_sim/accounts/{aid}/state?cdr_limit=0")[1]["numbers"][0]["number"]
                       for aid in accounts}
            started, samples, logins, calls, rounds = time.monotonic(), [], 0, 0, 0
            while time.monotonic() - started < args.duration:
                for _ in range(args.logins):
                    status, _, _ = call("POST", base + "/rest/security/authorize",
                                        {"domain": phonet["domain"], "apiKey": phonet["credentials"]["api_key"]})
                    logins += status == 200
                for aid, number in numbers.items():
                    for i in range(args.calls):
                        call("POST", base + "/_sim/calls", {"account": aid, "direction": "in",
                                                            "from": f"7916{rounds % 1000:03d}{i:04d}", "to": number,
                                                            "outcome": "answered", "ring_s": 5, "talk_s": 30})
                        calls += 1
                call("POST", base + "/_sim/clock", {"advance": "60s"})
                rounds += 1
                samples.append((time.monotonic() - started, rss_mb(proc.pid)))
            health = call("GET", base + "/_sim/health")[1]
            dead = len(call("GET", base + "/_sim/webhooks/dead?limit=100000")[1] or [])
        finally:
            proc.terminate()
            proc.wait(30)
    warm = [r for t, r in samples if t >= args.duration / 5]
    after_warmup, end = (warm[0] if warm else samples[0][1]), samples[-1][1]
    return {"duration_s": args.duration, "rounds": rounds, "logins": logins, "calls": calls,
            "calls_dropped": health.get("calls_dropped"), "webhooks": health.get("webhooks"),
            "dead_letters": dead, "rss_after_warmup_mb": round(after_warmup, 1),
            "rss_end_mb": round(end, 1), "rss_max_mb": round(max(r for _, r in samples), 1),
            "end_over_warmup": round(end / after_warmup, 3),
            "rss_samples_mb": [round(r, 1) for _, r in samples[:: max(1, len(samples) // 20)]]}


if __name__ == "__main__":
    print(json.dumps(main()))
