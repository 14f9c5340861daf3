"""Webhook faults through /_sim/faults: drop, duplicate, delay, reorder (and probability),
each shown in the webhook journal with what was done and why; the order of a call's
webhooks kept except by reorder."""

from __future__ import annotations

from simulator.core.engine import CallScript

from conftest import point_crm


async def add(client, **fault) -> dict:
    resp = await client.post("/_sim/faults", json=fault)
    assert resp.status == 201, await resp.text()
    return await resp.json()


def incoming(sim, ring: float = 2, talk: float = 10):
    acc = sim.account("vats")
    number = next(iter(acc.state.numbers.values())).number
    return sim.place_call("vats", "in", "79001112233", number,
                          script=CallScript(outcome="answered", ring_s=ring, talk_s=talk))


async def run_out(sim, call, extra: float = 0) -> None:
    """Step the manual clock until the call ended and its webhooks (delayed ones too) went."""
    while call.live:
        await sim.clock.advance(1)
    for _ in range(int(extra)):          # a delayed webhook sleeps on the clock: step it
        await sim.webhooks.drain(0.02)
        await sim.clock.advance(1)
    await sim.webhooks.drain(5)


def sent(crm) -> list[str]:
    """What the CRM received, in order: cmd (and the event's type)."""
    out = []
    for r in crm.received:
        data = r.data
        out.append(data.get("cmd") + (f":{data['type']}" if data.get("cmd") == "event" else ""))
    return out


async def journal(client, hook: str | None = None) -> list[dict]:
    query = "account=vats" + (f"&hook={hook}" if hook else "")
    return await (await client.get(f"/_sim/webhooks?{query}")).json()


async def test_drop_never_sends_and_says_so(client, sim, crm):
    point_crm(sim, "vats", crm.url)
    fault = await add(client, account="vats", webhook={"hook": "history"}, action="drop")
    assert fault["kind"] == "drop"
    await run_out(sim, incoming(sim))
    assert "history" not in sent(crm) and "event:ACCEPTED" in sent(crm)
    [entry] = await journal(client, "history")
    assert entry["delivered"] is False and entry["status"] is None
    assert entry["error"] == f"dropped by {fault['id']}: not sent"
    assert entry["fault"]["kind"] == "drop" and entry["fault"]["why"] == "hook history matched history"


async def test_duplicate_sends_twice(client, sim, crm):
    point_crm(sim, "vats", crm.url)
    await add(client, account="vats", webhook={"hook": "history"}, action="duplicate", times=1)
    await run_out(sim, incoming(sim))
    assert sent(crm).count("history") == 2
    entries = await journal(client, "history")
    assert [e["fault"]["copy"] for e in entries] == [1, 2]
    assert entries[0]["request_body"] == entries[1]["request_body"]
    await run_out(sim, incoming(sim))                       # times: 1 → the next call's once
    assert sent(crm).count("history") == 3


async def test_delay_keeps_the_calls_order(client, sim, crm):
    point_crm(sim, "vats", crm.url)
    await run_out(sim, incoming(sim))
    plain = sent(crm)
    crm.received.clear()
    await add(client, account="vats", webhook={"hook": "event"}, action="delay", delay="30s", times=1)
    await run_out(sim, incoming(sim), extra=40)
    assert sent(crm) == plain                                # late, in order
    delayed = [e for e in await journal(client, "event") if e.get("fault")]
    assert len(delayed) == 1 and delayed[0]["fault"]["delay_s"] == 30
    # the call's webhooks after the delayed one waited for it
    entries = [e for e in await journal(client) if e["call"] == delayed[0]["call"]]
    assert [e["at"] >= delayed[0]["at"] for e in entries if e["id"] > delayed[0]["id"]] == \
        [True] * len([e for e in entries if e["id"] > delayed[0]["id"]])


async def test_reorder_lets_the_later_webhooks_go_first(client, sim, crm):
    point_crm(sim, "vats", crm.url)
    await run_out(sim, incoming(sim))
    plain = sent(crm)
    crm.received.clear()
    first_event = next(s for s in plain if s.startswith("event:"))
    await add(client, account="vats", webhook={"hook": "event"}, action="reorder", delay="60s", times=1)
    await run_out(sim, incoming(sim), extra=70)
    got = sent(crm)
    assert sorted(got) == sorted(plain) and got != plain
    assert got[-1] == first_event                            # held past everything after it
    [held] = [e for e in await journal(client, "event") if e.get("fault")]
    assert held["fault"]["kind"] == "reorder" and held["delivered"] is True


async def test_a_dropped_lookup_lets_the_call_go_on(client, sim, crm):
    point_crm(sim, "vats", crm.url)
    crm.answer = lambda r: {"contact_name": "Иван", "responsible": ""} if r.data.get("cmd") == "contact" else None
    await add(client, account="vats", webhook={"hook": "contact"}, action="drop")
    call = incoming(sim)
    await run_out(sim, call)
    assert "contact" not in sent(crm)
    assert call.outcome == "answered" and call.contact_name == ""
    [entry] = await journal(client, "contact")
    assert entry["fault"]["kind"] == "drop"


async def test_probability_is_drawn_from_the_accounts_generator(client, sim, crm):
    point_crm(sim, "vats", crm.url)
    await add(client, account="vats", webhook={"hook": "event"}, action="drop", probability=0.5)
    for _ in range(4):
        await run_out(sim, incoming(sim))
    entries = await journal(client, "event")
    dropped = [e for e in entries if e.get("fault")]
    assert 0 < len(dropped) < len(entries)
    assert all("drew" in e["fault"]["why"] for e in dropped)


async def test_webhook_faults_of_another_account_change_nothing(client, sim, crm):
    point_crm(sim, "vats", crm.url)
    await add(client, account="cloudpbx", webhook={"hook": "*"}, action="drop")
    await run_out(sim, incoming(sim))
    assert "history" in sent(crm)
    assert not any(e.get("fault") for e in await journal(client))


async def test_a_dropped_webhook_is_a_dead_letter_a_resend_delivers(client, sim, crm):
    point_crm(sim, "vats", crm.url)
    await add(client, account="vats", webhook={"hook": "history"}, action="drop", times=1)
    await run_out(sim, incoming(sim))
    [dead] = await (await client.get("/_sim/webhooks/dead?account=vats")).json()
    assert dead["hook"] == "history" and dead["fault"]["kind"] == "drop"
    resent = await (await client.post(f"/_sim/webhooks/{dead['id']}/resend")).json()
    assert resent["delivered"] is True and resent["resend_of"] == dead["id"] and resent["fault"] is None
    assert sent(crm).count("history") == 1
    assert await (await client.get("/_sim/webhooks/dead?account=vats")).json() == []


async def test_a_delayed_lookup_waits_in_real_time_within_the_answer_time(client, sim, crm):
    point_crm(sim, "vats", crm.url)
    crm.answer = lambda r: {"contact_name": "Иван", "responsible": ""} if r.data.get("cmd") == "contact" else None
    await add(client, account="vats", webhook={"hook": "contact"}, action="delay", delay="100ms")
    call = incoming(sim)
    await run_out(sim, call)
    [entry] = await journal(client, "contact")
    assert entry["delivered"] is True and entry["fault"]["delay_s"] == 0.1
    assert call.contact_name == "Иван"                     # still in time for the call
    assert call.answered_at - call.created_at == 2         # ring 2 s: the held clock stood still
