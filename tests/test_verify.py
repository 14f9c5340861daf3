"""POST /_sim/verify: counts over the webhook and request journals, near misses that say
which fields differed, and ``within`` waiting on the simulator clock."""

from __future__ import annotations

import pytest

from conftest import point_crm


async def answered_call(sim, account: str = "vats", **script):
    from simulator.core.engine import CallScript
    acc = sim.account(account)
    number = next(iter(acc.state.numbers.values())).number
    call = sim.place_call(account, "in", "79001112233", number,
                          script=CallScript(outcome=script.pop("outcome", "answered"), ring_s=2, talk_s=10, **script))
    while call.live:
        await sim.clock.advance(1)
    await sim.webhooks.drain(5)
    return call


async def verify(client, **body):
    resp = await client.post("/_sim/verify", json=body)
    return resp.status, await resp.json()


async def test_webhook_count_matches(client, sim, crm):
    point_crm(sim, "vats", crm.url)
    call = await answered_call(sim)
    status, body = await verify(client, webhooks={"account": "vats", "hook": "history", "fields": {"status": "Success"}},
                                count={"min": 1, "max": 1})
    assert (status, body) == (200, {"ok": True, "matched": 1})
    status, body = await verify(client, webhooks={"account": "vats", "hook": "event", "call": call.id,
                                                  "fields": {"type": "ACCEPTED"}})
    assert status == 200 and body["matched"] >= 1


async def test_near_misses_name_the_fields_that_differed(client, sim, crm):
    point_crm(sim, "vats", crm.url)
    await answered_call(sim)
    status, body = await verify(client, webhooks={"account": "vats", "hook": "history",
                                                  "fields": {"status": "Missed", "type": "in"}})
    assert status == 422
    assert body["ok"] is False and body["matched"] == 0
    closest = body["near_misses"][0]
    assert closest["hook"] == "history"
    assert closest["differences"] == [{"field": "fields.status", "expected": "Missed", "actual": "Success"}]
    assert len(body["near_misses"]) <= 3


async def test_too_many_is_a_failure_too(client, sim, crm):
    point_crm(sim, "vats", crm.url)
    await answered_call(sim)
    await answered_call(sim)
    status, body = await verify(client, webhooks={"account": "vats", "hook": "history"}, count={"min": 1, "max": 1})
    assert status == 422 and body["matched"] == 2


async def test_requests_the_crm_made(client, sim):
    key = sim.account("vats").credentials["api_key"]
    await client.get("/crmapi/v1/users", headers={"X-API-KEY": key})
    await client.get("/crmapi/v1/users", headers={"X-API-KEY": "wrong"})
    status, body = await verify(client, requests={"account": "vats", "method": "GET", "path": "/crmapi/v1/users*",
                                                  "status": 200}, count={"min": 1, "max": 1})
    assert (status, body) == (200, {"ok": True, "matched": 1})
    status, body = await verify(client, requests={"method": "POST", "path": "/crmapi/v1/users"})
    assert status == 422
    assert {"field": "method", "expected": "POST", "actual": "GET"} in body["near_misses"][0]["differences"]
    # the admin API's own requests are not what the CRM did
    status, body = await verify(client, requests={"path": "/_sim/*"})
    assert status == 422 and body["near_misses"][0]["path"].startswith("/crmapi")


async def test_within_waits_on_the_simulator_clock(client, sim, crm):
    from simulator.core.engine import CallScript
    point_crm(sim, "vats", crm.url)
    acc = sim.account("vats")
    number = next(iter(acc.state.numbers.values())).number
    sim.place_call("vats", "in", "79001112233", number, script=CallScript(outcome="answered", ring_s=3, talk_s=20))
    before = sim.clock.timestamp()
    status, body = await verify(client, webhooks={"account": "vats", "hook": "history"})
    assert status == 422                         # not yet: the call goes on
    status, body = await verify(client, webhooks={"account": "vats", "hook": "history"}, within="1m")
    assert (status, body) == (200, {"ok": True, "matched": 1})
    assert 23 <= sim.clock.timestamp() - before < 60    # the manual clock moved as far as needed


@pytest.mark.parametrize("body, words", [
    ({}, "give webhooks or requests"),
    ({"webhooks": {}, "requests": {}}, "give webhooks or requests"),
    ({"webhooks": {"hook": "x"}, "count": {"min": 2, "max": 1}}, "below count.min"),
    ({"webhooks": {"hook": "x"}, "within": "forever"}, "not a duration"),
    ({"webhooks": {"colour": "x"}}, "webhooks.colour"),
])
async def test_bad_verifications_are_refused(client, body, words):
    resp = await client.post("/_sim/verify", json=body)
    assert resp.status == 400
    assert words in (await resp.json())["error"]


def test_describe_reads_well():
    from simulator.verify import VerifySpec, describe
    spec = VerifySpec.model_validate({"webhooks": {"hook": "history", "fields": {"status": "Success"}},
                                      "count": {"min": 1, "max": 1}})
    text = describe(spec, {"ok": False, "matched": 0, "near_misses": [
        {"id": 4, "hook": "history", "call": "c1", "at": "2026-01-01T00:00:00Z",
         "differences": [{"field": "fields.status", "expected": "Success", "actual": "Missed"}]}]})
    assert text.splitlines() == [
        'expected exactly 1 webhooks matching {"hook": "history", "fields": {"status": "Success"}}, found 0',
        "  closest: #4 (hook=history, call=c1, at=2026-01-01T00:00:00Z)",
        '    fields.status: expected "Success", got "Missed"']
