"""vats webhooks (seed §2): contact, event, history, rating, in every call outcome; and how
the account's state (reception, blacklist, DND, department reception) changes the calls."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from simulator.config import PolicyRule
from simulator.core.engine import CallScript, Transfer
from simulator.core.policy import OutcomePolicy
from simulator.core.recordings import mp3_bytes

from .test_vats_common import (  # noqa: F401  (fixtures)
    ANTON_NUMBER,
    CLIENT,
    SALES_NUMBER,
    api,
    crm_answers,
    events,
    finish,
    hooks,
    point_crm,
    sim_config,
    start_at,
)

TOKEN = "vats-crm-token"
GROUP = "Отдел продаж"


@pytest.fixture
async def wired(sim, client, crm):
    """The vats account pointed at the test CRM, the clock on a Monday afternoon in Moscow."""
    await start_at(sim)
    point_crm(sim, "vats", crm.url)
    crm.answer = crm_answers({"contact_name": "ЗАО Рога и копыта", "responsible": ""})
    return crm


def incoming(sim, to=ANTON_NUMBER, caller=CLIENT, **script):
    return sim.place_call("vats", "in", caller, to, script=CallScript(**script))


async def test_answered_direct_call(sim, api, wired):
    call = incoming(sim, talk_s=40)
    cdr = await finish(sim, call)
    assert [r.content_type for r in wired.received] == ["application/x-www-form-urlencoded"] * len(wired.received)
    contact, *rest = hooks(wired)
    assert contact == {"cmd": "contact", "phone": CLIENT, "diversion": ANTON_NUMBER, "callid": call.id,
                       "crm_token": TOKEN}
    common = {"cmd": "event", "phone": CLIENT, "diversion": ANTON_NUMBER, "user": "anton", "ext": "702",
              "telnum": "74957654321", "direction": "in", "callid": call.id, "crm_token": TOKEN}
    assert rest[:3] == [{**common, "type": "INCOMING"}, {**common, "type": "ACCEPTED"},
                        {**common, "type": "COMPLETED"}]
    link = f"{sim.public_url}/crmapi/v1/records/{call.id}.mp3"
    assert rest[3] == {"cmd": "history", "type": "in", "user": "anton", "ext": "702", "telnum": "74957654321",
                       "phone": CLIENT, "diversion": ANTON_NUMBER, "start": "20260112T120000Z",
                       "duration": "42", "callid": call.id, "link": link, "status": "Success",
                       "crm_token": TOKEN}
    assert len(rest) == 4
    assert cdr.outcome == "answered" and cdr.caller_name == "ЗАО Рога и копыта"
    # the link is served, with the same key
    resp = await api.client.get(link.replace(sim.public_url, ""), headers={"X-API-KEY": "test-key"})
    assert resp.status == 200 and resp.content_type == "audio/mpeg"
    assert await resp.read() == mp3_bytes(40)
    assert await api.request("GET", f"/records/{call.id}.mp3", key=None) == (401, {"message": "Invalid token"})
    assert await api.get("/records/nope.mp3") == (404, {"message": "Not found"})
    # every attempt kept the contract
    assert all(a.contract["ok"] for a in sim.webhook_journal.entries("vats"))


async def test_missed_direct_call(sim, wired):
    call = incoming(sim, outcome="missed")
    cdr = await finish(sim, call)
    assert cdr.outcome == "missed" and not cdr.record_file
    assert events(wired) == [("INCOMING", "anton"), ("CANCELLED", "anton")]
    history = hooks(wired, "history")[0]
    assert (history["status"], history["user"], history["type"]) == ("Missed", "anton", "in")
    assert "link" not in history and history["duration"] == "30"


async def test_cancelled_by_the_client(sim, wired):
    call = incoming(sim, outcome="cancelled", ring_s=4)
    cdr = await finish(sim, call)
    assert cdr.outcome == "cancelled"
    assert events(wired) == [("INCOMING", "anton"), ("CANCELLED", "anton")]
    assert hooks(wired, "history")[0]["status"] == "Cancel"
    assert hooks(wired, "history")[0]["duration"] == "4"


async def test_busy_incoming(sim, wired):
    cdr = await finish(sim, incoming(sim, outcome="busy"))
    assert cdr.outcome == "busy"
    assert events(wired) == [("INCOMING", "anton"), ("CANCELLED", "anton")]
    # Busy is "только исходящий" in the seed: an incoming call the client could not get
    # through is Missed
    assert hooks(wired, "history")[0]["status"] == "Missed"


async def test_transferred_call(sim, wired):
    call = incoming(sim, talk_s=30, transfers=[Transfer(to="ivan", after_s=10)])
    cdr = await finish(sim, call)
    assert events(wired) == [("INCOMING", "anton"), ("ACCEPTED", "anton"), ("TRANSFERRED", "anton"),
                             ("INCOMING", "ivan"), ("ACCEPTED", "ivan"), ("COMPLETED", "ivan")]
    history = hooks(wired, "history")[0]
    assert (history["user"], history["ext"], history["status"]) == ("ivan", "703", "Success")
    assert {h["callid"] for h in hooks(wired)} == {call.id}
    assert cdr.transfers == ("702", "703")


async def test_department_call(sim, wired):
    call = incoming(sim, to=SALES_NUMBER, answer="ivan", ring_s=6, talk_s=20)
    await finish(sim, call)
    got = hooks(wired, "event")
    assert all(h["groupRealName"] == GROUP and h["callid"] == call.id for h in got)
    assert sorted(events(wired)[:3]) == [("INCOMING", "admin"), ("INCOMING", "anton"), ("INCOMING", "ivan")]
    assert sorted(events(wired)[3:5]) == [("CANCELLED", "admin"), ("CANCELLED", "anton")]
    assert events(wired)[5:] == [("ACCEPTED", "ivan"), ("COMPLETED", "ivan")]
    history = hooks(wired, "history")[0]
    assert (history["user"], history["groupRealName"], history["status"]) == ("ivan", GROUP, "Success")


async def test_department_call_nobody_answers(sim, api, wired):
    call = incoming(sim, to=SALES_NUMBER, outcome="missed")
    await finish(sim, call)
    assert sorted(events(wired)) == sorted([("INCOMING", u) for u in ("admin", "anton", "ivan")] +
                                           [("CANCELLED", u) for u in ("admin", "anton", "ivan")])
    history = hooks(wired, "history")[0]
    assert (history["user"], history["groupRealName"], history["status"]) == ("", GROUP, "Missed")
    assert "ext" not in history


async def test_contact_responsible_is_rung_first(sim, wired):
    for responsible, who in (("ivan", "ivan"), ("703", "ivan"), ("74957654321", "anton"), (702, "anton")):
        wired.received.clear()
        wired.answer = crm_answers({"contact_name": "Клиент", "responsible": responsible})
        call = incoming(sim, to=SALES_NUMBER, talk_s=5)
        cdr = await finish(sim, call)
        assert events(wired)[:2] == [("INCOMING", who), ("ACCEPTED", who)], responsible
        assert cdr.employee_ids == (sim.account("vats").state.employee_by_login(who).id,)
        assert call.lookup == {"contact_name": "Клиент", "responsible": responsible}


async def test_responsible_not_answering_falls_back_to_routing(sim, wired):
    wired.answer = crm_answers({"contact_name": "Клиент", "responsible": "ivan"})
    call = incoming(sim, to=SALES_NUMBER, answer="admin", talk_s=5)
    await finish(sim, call)
    assert events(wired)[:2] == [("INCOMING", "ivan"), ("CANCELLED", "ivan")]
    assert ("ACCEPTED", "admin") in events(wired)
    assert hooks(wired, "history")[0]["user"] == "admin"


async def test_contact_answer_breaking_the_contract_is_journaled(sim, wired):
    wired.answer = crm_answers({})
    cdr = await finish(sim, incoming(sim, talk_s=5))
    assert cdr.outcome == "answered"
    attempt = sim.webhook_journal.entries("vats", hook="contact")[-1]
    assert attempt.contract == {"ok": False, "violations": ["contact: contact_name missing",
                                                            "contact: responsible missing"]}


async def test_slow_crm_does_not_hold_the_call(sim, wired):
    sim.account("vats").crm.timeout = 0.1
    wired.delay = 0.3
    call = incoming(sim, talk_s=5)
    await sim.clock.advance(1)          # the contact lookup timed out meanwhile; the call went on
    wired.delay = 0
    cdr = await finish(sim, call)
    assert cdr.outcome == "answered" and cdr.employee_ids == (2,)
    attempt = sim.webhook_journal.entries("vats", hook="contact")[-1]
    assert attempt.error.startswith("timeout") and attempt.contract["ok"] is False


async def test_click_to_call_through_the_api(sim, api, wired):
    status, body = await api.post("/makecall", json={"phone": CLIENT, "user": "anton"})
    assert status == 200 and list(body) == ["callid"]
    call = sim.engine.get_live("vats", body["callid"])
    cdr = await finish(sim, call)
    assert cdr.id == body["callid"] and cdr.direction == "out" and cdr.outcome == "answered"
    assert hooks(wired, "contact") == []
    common = {"cmd": "event", "phone": CLIENT, "diversion": "74957654321", "user": "anton", "ext": "702",
              "telnum": "74957654321", "direction": "out", "callid": cdr.id, "crm_token": TOKEN}
    assert hooks(wired, "event") == [{**common, "type": "OUTGOING"}, {**common, "type": "ACCEPTED"},
                                     {**common, "type": "COMPLETED"}]
    history = hooks(wired, "history")[0]
    assert (history["type"], history["status"], history["user"], history["phone"]) == ("out", "Success", "anton",
                                                                                       CLIENT)
    assert history["link"].endswith(f"/crmapi/v1/records/{cdr.id}.mp3")


async def test_makecall_form_by_ext_with_clid(sim, api, wired):
    status, body = await api.post("/makecall", data={"phone": CLIENT, "user": "701", "clid": SALES_NUMBER})
    assert status == 200
    cdr = await finish(sim, sim.engine.get_live("vats", body["callid"]))
    assert cdr.via == SALES_NUMBER and hooks(wired, "history")[0]["diversion"] == SALES_NUMBER


@pytest.mark.parametrize("body,status,answer", [
    ({"phone": CLIENT, "user": "ghost"}, 404, {"message": "Not found"}),
    ({"user": "anton"}, 400, {"message": "Validation error", "errors": {"phone": "Field required"}}),
    ({"phone": "call me", "user": "anton"}, 400, None),
    ({"phone": CLIENT}, 400, {"message": "Validation error", "errors": {"user": "Field required"}}),
])
async def test_makecall_refused(sim, api, body, status, answer):
    got_status, got = await api.post("/makecall", json=body)
    assert got_status == status
    if answer is not None:
        assert got == answer
    else:
        assert list(got["errors"]) == ["phone"]
    assert sim.engine.live_calls("vats") == []


@pytest.mark.parametrize("result,status", [("busy", "Busy"), ("unavailable", "NotAvailable"),
                                           ("no_answer", "Missed")])
async def test_click_to_call_client_does_not_talk(sim, api, wired, result, status):
    sim.account("vats").policy = OutcomePolicy([PolicyRule(match=CLIENT, side="client", result=result)])
    _, body = await api.post("/makecall", json={"phone": CLIENT, "user": "anton"})
    await finish(sim, sim.engine.get_live("vats", body["callid"]))
    assert events(wired) == [("OUTGOING", "anton"), ("CANCELLED", "anton")]
    assert hooks(wired, "history")[0]["status"] == status


@pytest.mark.parametrize("outcome,status", [("forbidden", "NotAllowed"), ("not_found", "NotFound")])
async def test_outgoing_refused_by_the_network(sim, wired, outcome, status):
    call = sim.place_call("vats", "out", "anton", CLIENT, employee="anton", script=CallScript(outcome=outcome))
    await finish(sim, call)
    # OUTGOING and a closing CANCELLED, so a CRM pop-up opened by OUTGOING closes
    assert events(wired) == [("OUTGOING", "anton"), ("CANCELLED", "anton")]
    assert [h["cmd"] for h in hooks(wired)] == ["event", "event", "history"]
    assert hooks(wired, "history")[0]["status"] == status


async def test_manager_does_not_pick_up_click_to_call(sim, wired):
    sim.account("vats").policy = OutcomePolicy([PolicyRule(match="702", side="employee", result="no_answer")])
    call = sim.place_call("vats", "out", "anton", CLIENT, employee="anton", click_to_call=True)
    await finish(sim, call)
    assert events(wired) == []
    assert hooks(wired, "history")[0]["status"] == "Cancel"


async def test_rating_after_history(sim, wired):
    call = incoming(sim, talk_s=10, rating=4)
    await finish(sim, call)
    cmds = [h["cmd"] for h in hooks(wired)]
    assert cmds[-2:] == ["history", "rating"]
    assert hooks(wired, "history")[0]["rating"] == "4"
    assert hooks(wired, "rating") == [{"cmd": "rating", "phone": CLIENT, "rating": "4", "user": "anton",
                                       "ext": "702", "callid": call.id, "crm_token": TOKEN}]


async def test_json_encoding_when_the_account_says_so(sim, client, wired):
    resp = await client.patch("/_sim/accounts/vats", json={"crm": {"encoding": "json"}})
    assert resp.status == 200
    call = incoming(sim, talk_s=10, rating=5)
    await finish(sim, call)
    assert {r.content_type for r in wired.received} == {"application/json; charset=UTF-8"}
    history = json.loads(next(r.body for r in wired.received if b'"history"' in r.body))
    assert history["duration"] == 12 and history["rating"] == 5 and history["crm_token"] == TOKEN


async def test_no_crm_no_webhooks(sim, wired):
    sim.account("vats").crm.url = None
    cdr = await finish(sim, incoming(sim, talk_s=5))
    assert cdr.outcome == "answered"
    assert wired.received == [] and sim.webhook_journal.entries("vats") == []


async def test_internal_calls_send_nothing(sim, wired):
    call = sim.place_call("vats", "internal", "anton", "703")
    cdr = await finish(sim, call)
    assert cdr.direction == "internal" and wired.received == []


# ---- state changes act on calls --------------------------------------------------------------

async def test_disabled_number_rejects_calls(sim, api, wired):
    await api.delete(f"/telnums/{ANTON_NUMBER}/enabled")
    cdr = await finish(sim, incoming(sim))
    assert (cdr.outcome, cdr.destination) == ("not_found", "disabled")
    assert events(wired) == [] and hooks(wired, "contact") == []
    assert hooks(wired, "history")[0]["status"] == "Missed"     # NotFound is outgoing only
    await api.post(f"/telnums/{ANTON_NUMBER}/enabled")
    wired.received.clear()
    assert (await finish(sim, incoming(sim, talk_s=5))).outcome == "answered"


async def test_blacklisted_caller_is_blocked_and_counted(sim, api, wired):
    await api.post("/blacklist/telnums", json={"telnum": "7910*", "comment": "все 7910"})
    cdr = await finish(sim, incoming(sim))
    assert (cdr.outcome, cdr.destination) == ("blocked_blacklist", "blocked")
    assert events(wired) == [] and hooks(wired, "history")[0]["status"] == "Missed"   # NotAllowed: outgoing only
    _, body = await api.get("/blacklist/telnums?with=statistics")
    assert {"telnum": "7910*", "comment": "все 7910", "week": 1, "year": 1} in body
    await sim.clock.advance("8d")
    _, body = await api.get("/blacklist/telnums?with=statistics")
    assert {"telnum": "7910*", "comment": "все 7910", "week": 0, "year": 1} in body
    _, history = await api.get("/history/json?period=this_month")
    assert [(r["uid"], r["status"], r["destination"]) for r in history] == [(cdr.id, "missed", "hello")]
    await api.delete("/blacklist/telnums?telnum=7910*")
    assert (await finish(sim, incoming(sim, talk_s=5))).outcome == "answered"


async def test_anonymous_callers_blocked_when_switched_on(sim, api, wired):
    await api.post("/blacklist/block-anonymous")
    cdr = await finish(sim, incoming(sim, caller="anonymous"))
    assert cdr.outcome == "blocked_anonymous"
    await api.delete("/blacklist/block-anonymous")
    assert (await finish(sim, incoming(sim, caller="anonymous", talk_s=5))).outcome == "answered"


async def test_user_in_dnd_is_not_rung(sim, api, wired):
    await api.post("/users/anton/dnd")
    cdr = await finish(sim, incoming(sim))
    assert cdr.outcome == "dnd" and events(wired) == []
    assert hooks(wired, "history")[0]["status"] == "Missed"
    wired.received.clear()
    call = incoming(sim, to=SALES_NUMBER, talk_s=5)
    await finish(sim, call)
    assert ("INCOMING", "anton") not in events(wired)
    assert {u for t, u in events(wired) if t == "INCOMING"} == {"admin", "ivan"}


async def test_member_with_calls_disabled_is_not_rung(sim, api, wired):
    await api.delete("/users/admin/subscription?group_id=sales")
    await api.post("/groups/sales/users", json={"calls_disable": ["ivan"]})
    call = incoming(sim, to=SALES_NUMBER, talk_s=5)
    cdr = await finish(sim, call)
    assert {u for t, u in events(wired) if t == "INCOMING"} == {"anton"}
    assert cdr.employee_ids == (2,)


async def test_route_edit_changes_where_calls_go(sim, api, wired):
    await api.post(f"/telnums/{ANTON_NUMBER}", json={"type": "user", "user": "ivan", "greeting": False})
    await finish(sim, incoming(sim, talk_s=5))
    assert events(wired)[0] == ("INCOMING", "ivan")
    wired.received.clear()
    await api.post(f"/telnums/{ANTON_NUMBER}", json={
        "type": "ivr", "greeting": True,
        "ivr": {"name": "Меню", "items": [{"button": "2", "type": "user", "user": "admin"},
                                         {"button": "timeout", "type": "user", "user": "anton"}]}})
    await finish(sim, incoming(sim, talk_s=5, ivr="2"))
    assert events(wired)[0] == ("INCOMING", "admin")
    wired.received.clear()
    await finish(sim, incoming(sim, talk_s=5))
    assert events(wired)[0] == ("INCOMING", "anton")


async def test_scheduler_route_outside_working_hours(sim, api, wired):
    await api.post(f"/telnums/{ANTON_NUMBER}", json={
        "type": "scheduler", "greeting": False, "work": {"subtype": "user", "user": "anton"},
        "other": {"subtype": "user", "user": "ivan"},
        "schedule": {"monday": {"start": 32400, "end": 64800}}})
    await finish(sim, incoming(sim, talk_s=5))       # Monday 15:00 Moscow: working
    assert events(wired)[0] == ("INCOMING", "anton")
    wired.received.clear()
    await sim.clock.advance("5h")                     # Monday 20:00 Moscow: off hours
    await finish(sim, incoming(sim, talk_s=5))
    assert events(wired)[0] == ("INCOMING", "ivan")


async def test_every_webhook_matches_the_documented_shape(sim, api, wired):
    """The form bodies of all four hooks against ``webhooks`` of the provider's OpenAPI document."""
    from jsonschema import Draft202012Validator

    document = Path(__file__).resolve().parents[2] / "schemas" / "openapi" / "vats.json"
    schemas = json.loads(document.read_text("utf-8"))["components"]["schemas"]
    names = {"history": "HookHistory", "event": "HookEvent", "contact": "HookContact", "rating": "HookRating"}
    await finish(sim, incoming(sim, talk_s=10, rating=3, transfers=[Transfer(to="ivan", after_s=4)]))
    await finish(sim, incoming(sim, to=SALES_NUMBER, outcome="missed"))
    _, body = await api.post("/makecall", json={"phone": CLIENT, "user": "anton"})
    await finish(sim, sim.engine.get_live("vats", body["callid"]))
    seen = set()
    for data in hooks(wired):
        schema = schemas[names[data["cmd"]]]
        assert list(Draft202012Validator(schema).iter_errors(data)) == [], data
        seen.add(data["cmd"])
    assert seen == set(names)
