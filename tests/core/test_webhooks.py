"""Webhook delivery: order per call, concurrency, timeouts, retries, CRM down, overflow,
contract checks of the CRM's answers."""

import asyncio
import json

import pytest
from aiohttp import web

from simulator.assets import AssetError
from simulator.core import webhooks as wh
from simulator.core.clock import Clock
from simulator.core.webhooks import Webhook, WebhookDelivery, check_answer


@pytest.fixture
async def crm_app(aiohttp_server):
    state = {"received": [], "fail_first": 0, "delay": {}, "status": 200}

    async def handle(request):
        body = await request.post() if request.content_type.startswith("application/x-www") else await request.json()
        state["received"].append(dict(body))
        delay = state["delay"].get(body.get("call"), 0)
        if delay:
            await asyncio.sleep(delay)
        if state["fail_first"] > 0:
            state["fail_first"] -= 1
            return web.Response(status=503)
        return web.json_response({"ok": True}, status=state["status"])

    app = web.Application()
    app.router.add_post("/crm", handle)
    server = await aiohttp_server(app)
    state["url"] = str(server.make_url("/crm"))
    return state


def delivery_for(clock, *urls, **kw) -> WebhookDelivery:
    """A delivery allowed to post to ``urls`` (as a configured CRM URL would be)."""
    delivery = WebhookDelivery(clock, **kw)
    delivery.allowed_urls.update(urls)
    return delivery


def hook(url, call, n, **kw):
    return Webhook(account_id="acc", provider="test", hook="event", url=url,
                   body={"call": call, "n": n, "name": "Иванов"}, call_id=call, **kw)


async def test_events_of_one_call_arrive_in_order(crm_app):
    delivery = delivery_for(Clock("manual"), crm_app["url"])
    crm_app["delay"] = {"slow": 0.05}
    for n in range(10):
        delivery.enqueue(hook(crm_app["url"], "slow", n))
        delivery.enqueue(hook(crm_app["url"], "fast", n))
    assert await delivery.drain(5)
    slow = [r["n"] for r in crm_app["received"] if r["call"] == "slow"]
    fast = [r["n"] for r in crm_app["received"] if r["call"] == "fast"]
    assert slow == list(range(10)) and fast == list(range(10))
    # calls run concurrently: the fast call was not held behind the slow one
    order = [r["call"] for r in crm_app["received"]]
    assert order.index("fast") < 2 and order[-1] == "slow"
    assert delivery.stats["delivered"] == 20
    assert len(delivery.journal.entries(call="slow")) == 10
    await delivery.close()


async def test_form_and_json_encoding(crm_app):
    delivery = delivery_for(Clock("manual"), crm_app["url"])
    form = Webhook("acc", "test", "history", crm_app["url"], {"cmd": "history", "call": "f", "n": 1, "flag": True, "x": None},
                   encoding="form")
    entry = await delivery.send(form)
    assert entry.request_headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert entry.request_body == "cmd=history&call=f&n=1&flag=true&x="
    assert crm_app["received"][-1] == {"cmd": "history", "call": "f", "n": "1", "flag": "true", "x": ""}
    entry = await delivery.send(hook(crm_app["url"], "j", 1))
    assert entry.request_headers["Content-Type"].startswith("application/json")
    assert "Иванов" in entry.request_body          # UTF-8, not \u escapes
    assert entry.status == 200 and entry.delivered and entry.latency_ms >= 0
    await delivery.close()


async def test_timeout_is_journaled_and_simulator_goes_on(crm_app):
    delivery = delivery_for(Clock("manual"), crm_app["url"])
    crm_app["delay"] = {"late": 0.5}
    entry = await delivery.send(hook(crm_app["url"], "late", 1, timeout=0.1))
    assert not entry.delivered and entry.error.startswith("timeout")
    assert entry.contract["ok"] is False
    assert delivery.stats["failed"] == 1
    await delivery.close()


async def test_retries_with_backoff_on_the_clock(crm_app):
    clock = Clock("instant")
    delivery = delivery_for(clock, crm_app["url"])
    crm_app["fail_first"] = 2
    t0 = clock.timestamp()
    entry = await delivery.send(hook(crm_app["url"], "r", 1, retries=3))
    assert entry.delivered and entry.attempt == 3
    assert [e.status for e in delivery.journal.entries(call="r")] == [503, 503, 200]
    assert clock.timestamp() - t0 == pytest.approx(0.5 + 1.0)   # exponential backoff, virtual
    crm_app["fail_first"] = 5
    entry = await delivery.send(hook(crm_app["url"], "r2", 1, retries=1))
    assert not entry.delivered and entry.attempt == 2
    await delivery.close()
    await clock.close()


async def test_crm_down_connection_refused(unused_tcp_port_factory):
    url = f"http://127.0.0.1:{unused_tcp_port_factory()}/crm"
    delivery = delivery_for(Clock("manual"), url)
    delivery.enqueue(hook(url, "c", 1))
    delivery.enqueue(hook(url, "c", 2))
    assert await delivery.drain(5)
    entries = delivery.journal.entries(call="c")
    assert [e.body if hasattr(e, "body") else json.loads(e.request_body)["n"] for e in entries] == [1, 2]
    assert all(e.error and e.error.startswith("connection failed") for e in entries)
    assert delivery.stats["failed"] == 2
    await delivery.close()


async def test_overflow_is_counted_not_silent(crm_app):
    delivery = delivery_for(Clock("manual"), crm_app["url"], queue_limit=3)
    results = [delivery.enqueue(hook(crm_app["url"], f"c{n}", n)) for n in range(5)]
    assert results == [True, True, True, False, False]
    assert delivery.stats["overflow"] == 2
    await delivery.drain(5)
    assert delivery.pending == 0
    await delivery.close()


def test_contract_check_against_schema(monkeypatch):
    schema = {"type": "object", "required": ["contact_name", "responsible"],
              "properties": {"contact_name": {"type": "string"}, "responsible": {"type": "string"}}}
    monkeypatch.setattr(wh, "answer_schema", lambda provider, hook: schema)
    wh._validator.cache_clear()
    try:
        ok, answer = check_answer("demo", "contact", 200, '{"contact_name": "A", "responsible": "andy"}', True)
        assert ok == [] and answer["responsible"] == "andy"
        bad, _ = check_answer("demo", "contact", 200, '{"contact_name": "A"}', True)
        assert bad == ["contact: responsible missing"]
        typed, _ = check_answer("demo", "contact", 200, '{"contact_name": 5, "responsible": "x"}', True)
        assert typed == ["contact: contact_name: 5 is not of type 'string'"]
        invalid, _ = check_answer("demo", "contact", 200, "<html>", True)
        assert invalid == ["contact: answer is not valid JSON"]
        empty, _ = check_answer("demo", "contact", 500, "", True)
        assert empty == ["contact: answered HTTP 500, expected 200", "contact: empty answer, expected JSON"]
        # a notification whose answer need not be JSON: a text body is fine, a JSON one is checked
        assert check_answer("demo", "event", 200, "whatever", False) == ([], None)
    finally:
        wh._validator.cache_clear()


def test_a_hook_without_its_schema_is_an_error_not_a_pass():
    """A missing schema file once counted as "no rules": every answer passed."""
    with pytest.raises(AssetError, match="crm/vats/nonesuch.json is missing"):
        check_answer("vats", "nonesuch", 200, '{"anything": 1}', True)


async def test_delivery_judges_a_hook_without_schema_failed(crm_app):
    delivery = delivery_for(Clock("manual"), crm_app["url"])
    entry = await delivery.send(Webhook(account_id="a", provider="vats", hook="nonesuch", url=crm_app["url"],
                                        body={"cmd": "nonesuch"}))
    assert entry.delivered and not entry.contract["ok"]
    assert entry.contract["violations"][0].startswith("nonesuch: cannot check the answer: ")
    await delivery.close()
