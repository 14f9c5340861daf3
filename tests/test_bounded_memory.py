"""Bounded memory for a long soak: call records kept within the configured retention (count or
age), the oldest dropped and counted in /_sim/health; phonet sessions that idle out are evicted
without being used again, and past ``max_sessions`` the least recently used go."""

from __future__ import annotations

import pytest

from conftest import small_config
from simulator.core.models import CallRecord
from simulator.core.store import CdrStore
from simulator.providers.phonet.state import phonet_state


def record(i: int, start: float) -> CallRecord:
    return CallRecord(id=f"c{i}", direction="in", caller="79101234567", callee="74950000001", started_at=start,
                      ended_at=start + 10, outcome="answered", answered_at=start + 2, client=f"7916000{i:04d}",
                      record_file=f"r{i}")


def test_a_count_cap_keeps_the_newest_and_counts_the_rest():
    store = CdrStore()
    store.retain(100, None)
    for i in range(1000):
        store.add(record(i, 1000.0 + i))
        assert len(store) <= 100
    kept = [c.id for c in store]
    assert kept[-1] == "c999" and len(kept) >= 99 and store.dropped == 1000 - len(kept)
    assert store.get("c0") is None and store.by_file("r0") is None and store.last_with("79160000000") is None
    assert store.get("c999") is not None and store.window(0, 10**9)[0].id == kept[0]


def test_the_legs_of_dropped_calls_leave_the_leg_index():
    """A call's other legs (phonet serves a transfer leg's recording by its uuid) are found by
    ``by_leg`` while the call is kept, and forgotten with it."""
    store = CdrStore()
    store.retain(10, None)
    for i in range(50):
        cdr = record(i, 1000.0 + i)
        cdr.legs = ((cdr.id, 1, cdr.started_at, cdr.answered_at, cdr.ended_at),
                    (f"leg{i}", 2, cdr.started_at + 1, None, cdr.ended_at))
        store.add(cdr)
    assert store.by_leg("leg49").id == "c49"
    assert store.by_leg("c49") is None               # the call's own leg is the call's id
    assert store.by_leg("leg0") is None and len(store._by_leg) == len(store)


def test_an_age_cap_drops_what_started_too_long_before_the_newest():
    store = CdrStore()
    store.retain(None, 3600)
    for i in range(200):
        store.add(record(i, i * 60.0))          # a call a minute for 200 minutes
    newest = 199 * 60.0
    assert all(c.started_at >= newest - 3600 for c in store)
    assert store.dropped == 200 - len(store) and store.dropped >= 140


@pytest.fixture
def sim_config():
    cfg = small_config()
    cfg["server"]["retention"] = {"calls": 20}
    return cfg


async def test_retention_applies_to_calls_through_the_engine_and_health_counts_it(client, sim):
    number = next(iter(sim.account("vats").state.numbers))
    for i in range(40):
        resp = await client.post("/_sim/calls", json={"account": "vats", "direction": "in", "from": f"7916{i:07d}",
                                                      "to": number, "outcome": "answered", "ring_s": 1, "talk_s": 2})
        assert resp.status == 201
        await client.post("/_sim/clock", json={"advance": "10s"})
    assert len(sim.account("vats").state.cdrs) <= 20
    health = await (await client.get("/_sim/health")).json()
    assert health["calls_dropped"] == 40 - len(sim.account("vats").state.cdrs) > 0


async def test_logins_that_never_come_back_are_evicted_once_idle(client, sim):
    account = sim.account("phonet")
    body = {"domain": account.domain, "apiKey": account.credentials["api_key"]}
    for _ in range(300):
        assert (await client.post("/rest/security/authorize", json=body)).status == 200
    sessions = phonet_state(account).sessions
    assert len(sessions) >= 256 - 1            # none idle yet: all kept
    await client.post("/_sim/clock", json={"advance": "31m"})
    for _ in range(300):
        await client.post("/rest/security/authorize", json=body)
    assert len(sessions) <= 300                # the first 300 idled out and were swept
    assert all(s.last_seen == sim.clock.timestamp() for s in sessions.values())


async def test_past_max_sessions_the_least_recently_used_go(client, sim):
    account = sim.account("phonet")
    account.settings["max_sessions"] = 50
    body = {"domain": account.domain, "apiKey": account.credentials["api_key"]}
    first = (await client.post("/rest/security/authorize", json=body)).cookies["JSESSIONID"].value
    for i in range(200):
        await client.post("/_sim/clock", json={"advance": "1s"})
        await client.post("/rest/security/authorize", json=body)
        client.session.cookie_jar.clear()      # the test names the session it uses
        if i % 10 == 0:    # the first session stays in use: it is never the least recent
            resp = await client.get("/rest/users", headers={"Cookie": f"JSESSIONID={first}"})
            assert resp.status == 200, (i, await resp.text())
    assert len(phonet_state(account).sessions) <= 50
    assert first in phonet_state(account).sessions
