"""Dead letters (GET /_sim/webhooks/dead) and resend (POST /_sim/webhooks/{id}/resend)."""

import asyncio

from aiohttp import web

from simulator.core.webhooks import Webhook


def event(url: str, n: int, **kw) -> Webhook:
    return Webhook("vats", "vats", "event", url, {"cmd": "event", "callid": f"c{n}", "n": n},
                   encoding="form", call_id=f"c{n}", **kw)


async def test_a_webhook_that_failed_every_attempt_is_a_dead_letter_until_resent(client, sim, crm):
    sim.webhooks.allowed_urls.add(crm.url)
    crm.answer = lambda rec: web.Response(status=503)
    sending = asyncio.ensure_future(sim.webhooks.send(event(crm.url, 1, retries=1)))
    while not sending.done():              # the backoff before the second attempt, on the clock
        await asyncio.sleep(0.01)
        await sim.clock.advance("1s")
    failed = sending.result()
    await sim.webhooks.send(event(crm.url, 2))
    crm.answer = None
    ok = await sim.webhooks.send(event(crm.url, 3))
    attempts = await (await client.get("/_sim/webhooks", params={"account": "vats"})).json()
    assert [(a["attempt"], a["status"], a["dead"]) for a in attempts] == [
        (1, 503, False), (2, 503, True), (1, 503, True), (1, 200, False)]

    dead = await (await client.get("/_sim/webhooks/dead")).json()
    assert [d["id"] for d in dead] == [failed.id, failed.id + 1]
    assert dead[0]["request_body"] == "cmd=event&callid=c1&n=1" and not dead[0]["may_have_been_received"]
    assert await (await client.get("/_sim/webhooks/dead", params={"hook": "history"})).json() == []

    resp = await client.post(f"/_sim/webhooks/{failed.id}/resend")
    assert resp.status == 200
    again = await resp.json()
    assert again["resend_of"] == failed.id and again["delivered"] and again["status"] == 200
    assert again["id"] > ok.id and again["attempt"] == 1
    assert (again["request_body"], again["request_headers"]) == (dead[0]["request_body"], dead[0]["request_headers"])
    assert crm.received[-1].body == b"cmd=event&callid=c1&n=1" and len(crm.received) == 5
    # delivered now: no longer a dead letter; the other one still is
    assert [d["id"] for d in await (await client.get("/_sim/webhooks/dead")).json()] == [failed.id + 1]

    # a resend of a resend names the first; a delivered webhook may be sent again too
    again2 = await (await client.post(f"/_sim/webhooks/{again['id']}/resend")).json()
    assert again2["resend_of"] == failed.id
    assert (await (await client.post(f"/_sim/webhooks/{ok.id}/resend")).json())["resend_of"] == ok.id
    journal = await (await client.get("/_sim/webhooks")).json()
    assert len(journal) == 7 and sum(1 for a in journal if a["resend_of"] == failed.id) == 2


async def test_a_failed_resend_keeps_the_dead_letter(client, sim, crm):
    sim.webhooks.allowed_urls.add(crm.url)
    crm.answer = lambda rec: web.Response(status=500)
    failed = await sim.webhooks.send(event(crm.url, 1))
    again = await (await client.post(f"/_sim/webhooks/{failed.id}/resend")).json()
    assert again["status"] == 500 and not again["delivered"] and not again["dead"]
    assert [d["id"] for d in await (await client.get("/_sim/webhooks/dead")).json()] == [failed.id]


async def test_a_timeout_is_a_dead_letter_that_may_have_been_received(client, sim, crm):
    sim.webhooks.allowed_urls.add(crm.url)
    crm.delay = 0.5
    await sim.webhooks.send(event(crm.url, 1, timeout=0.1))
    (dead,) = await (await client.get("/_sim/webhooks/dead", params={"account": "vats"})).json()
    assert dead["may_have_been_received"] and dead["error"].endswith("(the CRM may have received it)")


async def test_resend_of_an_unknown_attempt(client):
    for raw in ("999999", "abc", "-1", "1" * 40):
        resp = await client.post(f"/_sim/webhooks/{raw}/resend")
        assert resp.status == 404 and "no webhook attempt" in (await resp.json())["error"]
    assert (await client.get("/_sim/webhooks/dead", params={"limit": "x"})).status == 400
