"""Per-account clocks: POST /_sim/clock {"account": …} moves one account's time alone —
its tokens, sessions, periods and calls — while the server clock moves everyone."""

from __future__ import annotations

from datetime import datetime, timezone

from simulator.app import make_app
from simulator.config import parse_config
from simulator.core.clock import AccountClock, Clock
from simulator.sim import Simulator

from conftest import small_config
from providers.test_phonet_auth import login


def two_t2() -> dict:
    config = small_config()
    config["accounts"].append({"id": "t2b", "provider": "t2", "domain": "b.t2.ru",
                               "seed": {"generate": {"employees": 3}}})
    return config


async def employees(client, sim, account: str):
    return await client.get("/crm/openapi/employees",
                            headers={"Authorization": sim.account(account).credentials["access_token"]})


async def test_one_accounts_token_expires_the_others_does_not(aiohttp_client):
    sim = Simulator(parse_config(two_t2()), Clock("manual"))
    await sim.start()
    try:
        client = await aiohttp_client(make_app(sim))
        server_before = (await (await client.get("/_sim/clock")).json())["now"]
        resp = await client.post("/_sim/clock", json={"account": "t2", "advance": "25h"})
        assert resp.status == 200
        moved = await resp.json()
        assert moved["account"] == "t2" and moved["offset_s"] == 90000
        r = await employees(client, sim, "t2")
        assert r.status == 403
        assert await r.json() == {"details": "The token is expired", "message": "Forbidden"}
        assert (await employees(client, sim, "t2b")).status == 200
        # the server's clock, and the other account's, stand where they were
        assert (await (await client.get("/_sim/clock")).json())["now"] == server_before
        other = await (await client.get("/_sim/clock?account=t2b")).json()
        assert other["now"] == server_before and other["offset_s"] == 0
        assert (await (await client.get("/_sim/clock?account=t2")).json())["now"] == moved["now"]
    finally:
        await sim.close()


async def test_server_clock_moves_every_account(client, sim):
    await client.post("/_sim/clock", json={"account": "t2", "advance": "1h"})
    await client.post("/_sim/clock", json={"advance": "2h"})
    t2 = await (await client.get("/_sim/clock?account=t2")).json()
    vats = await (await client.get("/_sim/clock?account=vats")).json()
    server = await (await client.get("/_sim/clock")).json()
    assert vats["now"] == server["now"]
    assert datetime.fromisoformat(t2["now"].replace("Z", "+00:00")).timestamp() - \
        datetime.fromisoformat(server["now"].replace("Z", "+00:00")).timestamp() == 3600


async def test_phonet_session_idles_out_on_its_accounts_clock(client, sim):
    cookie = await login(client, sim)
    await client.post("/_sim/clock", json={"account": "vats", "advance": "2h"})
    assert (await client.get("/rest/users", headers=cookie)).status == 200
    await client.post("/_sim/clock", json={"account": "phonet", "advance": "31m"})
    resp = await client.get("/rest/users", headers=cookie)
    assert resp.status == 403 and await resp.text() == "Forbidden"


async def test_calls_take_their_accounts_time(client, sim):
    await client.post("/_sim/clock", json={"account": "vats", "advance": "3d"})
    vats = sim.account("vats")
    t2 = sim.account("t2")
    call_vats = sim.place_call("vats", "in", "79001112233", next(iter(vats.state.numbers.values())).number)
    call_t2 = sim.place_call("t2", "in", "79001112233", next(iter(t2.state.numbers.values())).number)
    assert call_vats.created_at - call_t2.created_at == 3 * 86400
    for call in (call_vats, call_t2):
        await sim.engine.hangup(call.account_id, call.id)


async def test_advancing_an_account_runs_its_live_calls(sim):
    vats = sim.account("vats")
    number = next(iter(vats.state.numbers.values())).number
    call = sim.place_call("vats", "in", "79001112233", number)
    await sim.clock.advance(0)
    assert call.live
    await sim.account_clock("vats").advance("2h")   # the account's time alone: the call ends
    assert not call.live
    assert call.ended_at > sim.clock.timestamp()


async def test_account_clock_set_and_unknown_account(client):
    resp = await client.post("/_sim/clock", json={"account": "vats", "set": "2030-01-01T00:00:00Z"})
    assert resp.status == 200
    assert (await resp.json())["now"] == "2030-01-01T00:00:00Z"
    assert (await client.post("/_sim/clock", json={"account": "nope", "advance": 1})).status == 404
    assert (await client.get("/_sim/clock?account=nope")).status == 404


async def test_account_clock_view():
    clock = Clock("manual", start=datetime(2026, 1, 1, tzinfo=timezone.utc))
    view = AccountClock(clock)
    await view.advance(60)
    assert view.timestamp() - clock.timestamp() == 60
    await clock.advance(10)
    assert view.timestamp() - clock.timestamp() == 60
    await view.set(datetime(2025, 12, 31, tzinfo=timezone.utc))
    assert view.now() == datetime(2025, 12, 31, tzinfo=timezone.utc)


async def test_offsets_go_back_with_a_snapshot(client, sim):
    from simulator.snapshot import Snapshot
    snap = Snapshot.take(sim)
    await client.post("/_sim/clock", json={"account": "t2", "advance": "25h"})
    await snap.restore(sim, clock="exact")
    assert sim.account_clock("t2").offset == 0
    assert (await employees(client, sim, "t2")).status == 200


async def test_a_snapshot_carries_an_offset_only_when_there_is_one(client, sim):
    from simulator.snapshot import Snapshot
    assert all("clock_offset_s" not in a for a in Snapshot.take(sim).data["accounts"])
    await client.post("/_sim/clock", json={"account": "vats", "advance": "1h"})
    snap = Snapshot.take(sim)
    assert [a.get("clock_offset_s") for a in snap.data["accounts"] if a["id"] == "vats"] == [3600]
    sim.account_clock("vats").offset = 0
    await Snapshot.parse(snap.to_bytes()).restore(sim, clock="exact")
    assert sim.account_clock("vats").offset == 3600


async def test_an_account_clock_stays_in_range_too(client):
    resp = await client.post("/_sim/clock", json={"account": "t2", "set": "3500-01-01T00:00:00Z"})
    assert resp.status == 400 and "3000-01-01" in (await resp.json())["error"]
    assert (await (await client.get("/_sim/clock?account=t2")).json())["offset_s"] == 0


async def test_finished_sleeps_leave_the_account_clocks_heap():
    import asyncio
    clock = Clock("instant", start=datetime(2026, 1, 1, tzinfo=timezone.utc))
    view = AccountClock(clock)
    await asyncio.gather(*(view.sleep(n + 1) for n in range(200)))
    assert len(view._sleepers) == 0
    await clock.close()
