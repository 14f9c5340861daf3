"""10,000 calls of mixed outcomes on an instant clock, webhooks to a sink.

    python -m bench.calls 10000 http://127.0.0.1:PORT/crm
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time
from datetime import datetime, timezone

from simulator.config import parse_config
from simulator.core.clock import Clock
from simulator.core.history import random_script
from simulator.core.seed import NumberFactory
from simulator.sim import Simulator


async def main(count: int, url: str) -> dict:
    cfg = parse_config({"server": {"seed": 2, "journal_size": 1000, "webhook_queue": 1_000_000},
                        "accounts": [{"id": "load", "provider": "vats", "domain": "load.megapbx.ru",
                                      "crm": {"url": url, "crm_token": "bench", "timeout": 10},
                                      "seed": {"generate": {"employees": 30, "departments": 3, "numbers": 5}}}]})
    sim = Simulator(cfg, Clock("instant", start=datetime(2026, 11, 2, 6, 0, tzinfo=timezone.utc)))
    await sim.start()
    account = sim.account("load")
    rng = random.Random(11)
    employees = list(account.state.employees.values())
    numbers = [n.number for n in account.state.numbers.values()]
    clients = [NumberFactory(rng, False).mobile() for _ in range(2000)]
    offsets = sorted(rng.uniform(0, 10 * 3600) for _ in range(count))
    started = time.perf_counter()

    async def one(offset: float):
        await sim.clock.sleep(offset)
        if rng.random() < 0.65:
            call = sim.engine.incoming(account, rng.choice(clients), rng.choice(numbers),
                                       random_script(rng, "in", employees))
        else:
            call = sim.engine.outgoing(account, rng.choice(employees), rng.choice(clients),
                                       random_script(rng, "out", employees))
        await call.done

    await asyncio.gather(*(one(o) for o in offsets))
    await sim.webhooks.drain(600)
    elapsed = time.perf_counter() - started
    stats = dict(sim.webhooks.stats)
    await sim.close()
    return {"seconds": round(elapsed, 2), "calls": count, "webhooks": stats["attempts"],
            "failed": stats["failed"], "overflow": stats["overflow"], "cdrs": len(account.state.cdrs)}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(int(sys.argv[1]), sys.argv[2]))))
