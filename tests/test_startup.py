"""pbx-sim serve's start: the server answers its health check while the accounts' past calls are
seeded on a worker; every other request waits for them, so no answer shows a half-seeded account."""

from datetime import datetime, timezone

import pytest

from simulator.app import make_app
from simulator.config import ConfigError, parse_config
from simulator.core.clock import Clock
from simulator.sim import Simulator


def config(calls: int) -> dict:
    return {"accounts": [{"id": "vats", "provider": "vats", "credentials": {"api_key": "k"},
                          "seed": {"generate": {"employees": 5, "numbers": 2, "calls": calls, "days": 3}}}]}


async def test_health_answers_while_history_is_seeded_and_the_rest_waits(aiohttp_client):
    sim = Simulator(parse_config(config(3000)), Clock("manual"))
    await sim.start(history_later=True)
    try:
        client = await aiohttp_client(make_app(sim))
        health = await (await client.get("/_sim/health")).json()
        assert health["seeding"] is True and health["accounts"] == 1
        calls = await (await client.get("/_sim/calls", params={"account": "vats", "limit": "5000"})).json()
        assert len(calls) == 3000 and not sim.seeding        # waited for the whole history
        assert (await (await client.get("/_sim/health")).json())["seeding"] is False
    finally:
        await sim.close()


async def test_the_history_is_the_same_seeded_later():
    now = {}
    for later in (False, True):
        clock = Clock("manual", start=datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc))
        sim = Simulator(parse_config(config(200)), clock, reproducible=True)
        await sim.start(history_later=later)
        await sim.ready()
        now[later] = [(c.id, c.started_at, c.outcome) for c in sim.account("vats").state.cdrs]
        await sim.close()
    assert now[False] == now[True] and len(now[True]) == 200


async def test_a_bad_account_is_refused_before_the_server_answers():
    bad = config(10)
    bad["accounts"][0]["credentials"] = {"api_key": "k", "password": "p"}
    sim = Simulator(parse_config(bad), Clock("manual"))
    with pytest.raises(ConfigError, match="unknown credentials"):
        await sim.start(history_later=True)
    assert not sim.seeding and not sim.accounts
    await sim.close()
