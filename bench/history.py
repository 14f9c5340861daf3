"""History at scale: one account with N synthetic CDRs, one-day window queries over HTTP.

    python -m bench.history vats|t2|phonet 1000000

The CDRs are made directly (a million calls through the engine would take minutes) with
the same shape the engine gives: employees, numbers and recordings of the account.
"""

from __future__ import annotations

import asyncio
import json
import random
import resource
import sys
import time
from datetime import datetime, timedelta, timezone

import aiohttp
from aiohttp import web

from simulator.app import make_app
from simulator.config import parse_config
from simulator.core.clock import Clock
from simulator.core.models import CallRecord
from simulator.sim import Simulator

DAYS = 30
END = datetime(2026, 11, 1, tzinfo=timezone.utc)


def synthetic_cdrs(account, count: int, rng: random.Random):
    state = account.state
    employees = list(state.employees.values())
    numbers = [n.number for n in state.numbers.values()]
    phonet = account.provider == "phonet"
    clients = [("+380" if phonet else "7") + "9" + "".join(rng.choice("0123456789") for _ in range(8 if phonet else 9))
               for _ in range(50000)]
    start = (END - timedelta(days=DAYS)).timestamp()
    step = DAYS * 86400 / count
    outcomes = ("answered", "answered", "answered", "missed", "cancelled", "busy")
    for i in range(count):
        t = start + i * step
        emp = employees[i % len(employees)]
        client = clients[i % len(clients)]
        outcome = outcomes[i % len(outcomes)]
        direction = "in" if i % 3 else "out"
        answered = t + 5 if outcome == "answered" else None
        end = t + (65 if answered else 20)
        cid = "%032x" % rng.getrandbits(128)
        day = datetime.fromtimestamp(t, tz=timezone.utc).strftime("%Y-%m-%d")
        yield CallRecord(
            id=cid, direction=direction, caller=client if direction == "in" else emp.ext,
            callee=numbers[i % len(numbers)] if direction == "in" else client, started_at=t, ended_at=end,
            outcome=outcome, answered_at=answered, client=client, trunk=numbers[i % len(numbers)],
            employee_id=emp.id, employee_ids=(emp.id,), caller_name=emp.name if direction == "out" else "",
            record_file=f"{day}/{10**11 + i}" if answered else "", via=numbers[i % len(numbers)],
            legs=((cid, emp.id, t, answered, end),))


def request_for(provider: str, account, day_start: datetime, empty: bool) -> tuple[str, dict, int]:
    day = day_start if not empty else END + timedelta(days=100)
    nxt = day + timedelta(days=1)
    if provider == "vats":
        fmt = "%Y%m%dT%H%M%SZ"
        return (f"/crmapi/v1/history/json?start={day.strftime(fmt)}&end={nxt.strftime(fmt)}&limit=100",
                {"X-API-KEY": account.credentials["api_key"]}, 100)
    if provider == "t2":
        iso = lambda d: d.strftime("%Y-%m-%dT%H:%M:%S.000Z")
        return (f"/crm/openapi/call-records/info?start={iso(day)}&end={iso(nxt)}&size=100",
                {"Authorization": account.credentials["access_token"]}, 100)
    ms = lambda d: int(d.timestamp() * 1000)
    return (f"/rest/calls/company.api?timeFrom={ms(day)}&timeTo={ms(nxt)}&limit=50",
            {"Content-Type": "application/json"}, 50)


async def main(provider: str, count: int) -> dict:
    cfg = parse_config({"server": {"seed": 1, "journal_size": 1000}, "accounts": [{
        "id": "big", "provider": provider, "domain": "big.example.com",
        "settings": {"strict_host": False} if provider == "phonet" else {},   # logs in on 127.0.0.1
        "seed": {"generate": {"employees": 20, "departments": 3, "numbers": 5}}}]})
    sim = Simulator(cfg, Clock("manual", start=END))
    await sim.start()
    account = sim.account("big")
    rng = random.Random(5)
    account.state.cdrs.extend_sorted(synthetic_cdrs(account, count, rng))
    app = make_app(sim)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    cookies = {}
    async with aiohttp.ClientSession() as session:
        if provider == "phonet":
            async with session.post(f"{base}/rest/security/authorize",
                                    json={"domain": account.domain, "apiKey": account.credentials["api_key"]}) as r:
                assert r.status == 200, await r.text()
                cookies = {"JSESSIONID": r.cookies["JSESSIONID"].value}
        session.cookie_jar.update_cookies(cookies)

        async def measure(empty: bool, n: int) -> tuple[list[float], int, str]:
            times, errors = [], 0
            path = ""
            for i in range(n):
                day = END - timedelta(days=1 + i % (DAYS - 1))
                path, headers, limit = request_for(provider, account, day, empty)
                t0 = time.perf_counter()
                async with session.get(base + path, headers=headers) as resp:
                    body = await resp.read()
                    if resp.status != 200:
                        errors += 1
                        if errors == 1:
                            print(resp.status, body[:300], file=sys.stderr)
                    elif not empty and len(json.loads(body)) != limit:
                        errors += 1
                times.append((time.perf_counter() - t0) * 1000)
            return sorted(times), errors, path

        await measure(False, 20)   # warm up
        base_times, _, _ = await measure(True, 200)
        times, errors, path = await measure(False, 500)
    await runner.cleanup()
    pct = lambda xs, q: round(xs[min(len(xs) - 1, int(len(xs) * q))], 2)
    return {"request": path.split("?")[0], "limit": request_for(provider, account, END, False)[2],
            "p50_ms": pct(times, 0.5), "p99_ms": pct(times, 0.99), "errors": errors,
            "baseline_p50_ms": pct(base_times, 0.5),
            "rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1], int(sys.argv[2])))))
