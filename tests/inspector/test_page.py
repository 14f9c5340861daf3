"""The inspector's server side without a browser: the live event stream, the admin token
rules for a page a browser opens, and the views' filters."""

from __future__ import annotations

import asyncio
import json

import pytest

from conftest import point_crm, small_config
from simulator.app import make_app
from simulator.config import parse_config
from simulator.core.clock import Clock
from simulator.sim import Simulator


async def read_events(response, until: str, limit: int = 200) -> list[tuple[str, dict]]:
    """(type, data) of each event until one of type ``until``."""
    events = []
    while len(events) < limit:
        line = (await asyncio.wait_for(response.content.readline(), 5)).decode().rstrip("\r\n")
        assert not line.startswith("event:")   # unnamed: a browser's onmessage sees every kind
        if line.startswith("data:"):
            data = json.loads(line.split(":", 1)[1])
            events.append((data["type"], data))
            if data["type"] == until:
                return events
    raise AssertionError(f"no {until} event in {events}")


async def test_the_live_stream(client, sim, crm):
    point_crm(sim, "vats", crm.url)
    stream = await client.get("/_sim/events")
    assert stream.status == 200 and stream.content_type == "text/event-stream"
    assert (await read_events(stream, "hello"))[0][1]["clock"] == sim.clock.snapshot()
    number = next(iter(sim.account("vats").state.numbers))
    placed = await client.post("/_sim/calls", json={"account": "vats", "direction": "in", "from": "+79161234567",
                                                    "to": number, "manual": True})
    call_id = (await placed.json())["call_id"]
    events = await read_events(stream, "leg.ringing")
    assert ("call.created", {"type": "call.created", "account": "vats", "call": call_id, "state": "created",
                             "leg": None, "at": events[0][1]["at"]}) in events
    webhook = (await read_events(stream, "webhook"))[-1][1]
    assert webhook["account"] == "vats" and webhook["call"] == call_id and webhook["hook"] in ("contact", "event")
    entry = next(a for a in sim.webhook_journal.entries("vats") if a.id == webhook["id"])
    assert webhook["ok"] == entry.contract["ok"]
    key = sim.account("vats").credentials["api_key"]
    await client.get("/crmapi/v1/users", headers={"X-API-KEY": key})
    requests = (await read_events(stream, "requests"))[-1][1]
    assert requests == {"type": "requests", "accounts": ["vats"], "count": 1}
    employee = next(iter(sim.account("vats").state.employees.values()))
    sim.engine.pause(sim.account("vats"), employee, True)
    paused = (await read_events(stream, "employee.paused"))[-1][1]
    assert paused["account"] == "vats" and paused["employee"] == employee.id
    stream.close()


async def test_the_stream_of_one_account(client, sim):
    stream = await client.get("/_sim/events?account=t2")
    await read_events(stream, "hello")
    for account in ("vats", "t2"):
        number = next(iter(sim.account(account).state.numbers))
        await client.post("/_sim/calls", json={"account": account, "direction": "in", "from": "+79161234567",
                                               "to": number, "manual": True})
    events = await read_events(stream, "leg.ringing")
    assert {data["account"] for _, data in events} == {"t2"}
    stream.close()
    assert (await client.get("/_sim/events?account=nope")).status == 404


@pytest.fixture
async def guarded(aiohttp_client):
    sim = Simulator(parse_config(small_config(admin_token="s3cret")), Clock("manual"))
    await sim.start()
    yield await aiohttp_client(make_app(sim))
    await sim.close()


async def test_the_page_asks_for_the_admin_token(guarded):
    page = await guarded.get("/_sim/ui")
    assert page.status == 401 and page.content_type == "text/html"
    assert 'name=\'token\'' in await page.text()
    assert (await guarded.get("/_sim/ui?token=wrong")).status == 401
    assert (await guarded.get("/_sim/events")).status == 401
    opened = await guarded.get("/_sim/ui?token=s3cret", allow_redirects=False)
    assert opened.status == 303 and opened.headers["Location"] == "/_sim/ui"
    cookie = opened.cookies["pbx_sim_admin"]
    assert cookie.value == "s3cret" and cookie["httponly"] and cookie["samesite"] == "Strict"
    jar = {"Cookie": "pbx_sim_admin=s3cret"}
    assert (await guarded.get("/_sim/ui", headers=jar)).status == 200
    assert (await guarded.get("/_sim/ui/part/board", headers=jar)).status == 200
    events = await guarded.get("/_sim/events", headers=jar)
    assert events.status == 200
    events.close()
    # the cookie opens the page only: the admin API still wants the header
    assert (await guarded.get("/_sim/accounts", headers=jar)).status == 401
    assert (await guarded.post("/_sim/calls", headers=jar, json={})).status == 401
    assert (await guarded.get("/_sim/accounts?token=s3cret")).status == 401
    bearer = {"Authorization": "Bearer s3cret"}
    page = await guarded.get("/_sim/ui", headers=bearer)
    assert page.status == 200 and '<meta name="sim-token" content="s3cret">' in await page.text()


async def test_views_and_filters(client, sim, crm):
    point_crm(sim, "vats", crm.url)
    number = next(iter(sim.account("vats").state.numbers))
    placed = await client.post("/_sim/calls", json={"account": "vats", "direction": "in", "from": "+79161234567",
                                                    "to": number, "answer": None, "outcome": "answered",
                                                    "talk_s": 5})
    call_id = (await placed.json())["call_id"]
    await sim.clock.advance(120)
    await sim.webhooks.drain(5)
    board = await (await client.get("/_sim/ui/part/board?account=vats")).text()
    assert 'data-account="vats"' in board and 'data-account="t2"' not in board
    calls = await (await client.get("/_sim/ui/part/calls")).text()
    assert f'data-call="{call_id}"' in calls and f"/_sim/calls/{call_id}/recording?account=vats" in calls
    every = await (await client.get("/_sim/ui/part/webhooks")).text()
    bad = await (await client.get("/_sim/ui/part/webhooks?verdict=violations")).text()
    good = await (await client.get("/_sim/ui/part/webhooks?verdict=ok&hook=history")).text()
    assert 'data-verdict="violations"' in every and 'data-verdict="ok"' in every
    assert 'data-verdict="ok"' not in bad and 'data-verdict="violations"' in bad
    assert 'data-hook="history"' in good and 'data-hook="event"' not in good
    assert "history:" in good   # the wire name of what it says
    assert (await client.get("/_sim/ui/part/nothing")).status == 404
    assert (await client.get("/_sim/ui/static/app.js")).content_type == "application/javascript"
    assert (await client.get("/_sim/ui/static/../routes.py")).status == 404
    example = await client.get("/_sim/ui/examples/01_incoming_answered.yaml")
    assert example.status == 200 and "steps:" in await example.text()
    assert (await client.get("/_sim/ui/examples/..%2Fpyproject.toml")).status == 404


async def test_the_requests_view_shows_faults_and_strict_violations(client, sim):
    key = sim.account("vats").credentials["api_key"]
    added = await client.post("/_sim/faults", json={
        "account": "vats", "match": {"method": "GET", "path": "/crmapi/v1/users*"},
        "respond": {"error": "crm_disabled"}, "times": 1})
    fault_id = (await added.json())["id"]
    assert (await client.get("/crmapi/v1/users", headers={"X-API-KEY": key})).status != 200
    assert (await client.patch("/_sim/accounts/vats", json={"strict": "warn"})).status == 200
    await client.get("/crmapi/v1/users?no_such_parameter=1", headers={"X-API-KEY": key})
    sim.requests.flush()
    view = await (await client.get("/_sim/ui/part/requests?account=vats")).text()
    assert f"fault {fault_id}: error" in view
    assert "no_such_parameter" in view and "{&#39;kind&#39;" not in view   # violations in words, not dicts
    faults = await (await client.get("/_sim/ui/part/faults")).text()
    assert 'id="fault-form"' in faults and "POST /_sim/faults" in faults
