"""cloudpbx webhooks: contact (awaited, routes the call), event and history, per call outcome."""

from __future__ import annotations

import json

import pytest
from aiohttp import web

from simulator.core.engine import CallScript, Transfer
from simulator.core.recordings import mp3_bytes
from simulator.providers.cloudpbx.auth import record_key

from conftest import point_crm
from .test_cloudpbx_api import (
    ANDY_NUMBER,
    BASE,
    CLIENT,
    FAX_NUMBER,
    IVR_NUMBER,
    SALES_NUMBER,
    TOKEN,
    WEDNESDAY,
    cloudpbx_config,
    run,
)

CRM_TOKEN = "76fsd7tfs-fhjdgfdjsfsk-hfgsdguuuwoeiwey1111"


@pytest.fixture
def sim_config() -> dict:
    return cloudpbx_config()


@pytest.fixture(autouse=True)
async def wednesday(sim):
    await sim.clock.set(WEDNESDAY)


@pytest.fixture
async def pointed(sim, crm):
    point_crm(sim, "cloudpbx", crm.url)
    # a CRM that does not know the caller answers {} (observed.md); events get an empty 200
    crm.answer = lambda rec: {} if rec.form.get("cmd") == "contact" else None
    return crm


def hooks(crm, cmd: str | None = None) -> list[dict]:
    return [r.form for r in crm.received if cmd is None or r.form.get("cmd") == cmd]


def events(crm) -> list[tuple[str, str]]:
    return [(h["type"], h["user"]) for h in hooks(crm, "event")]


def one_history(crm) -> dict:
    found = hooks(crm, "history")
    assert len(found) == 1
    return found[0]


def emp_id(sim, login):
    return sim.account("cloudpbx").state.employee_by_login(login).id


# ---- encoding, contact ------------------------------------------------------------------------

async def test_answered_direct_call_sends_contact_events_and_history(sim, client, pointed):
    crm = pointed
    call = sim.place_call("cloudpbx", "in", CLIENT, ANDY_NUMBER,
                          script=CallScript(outcome="answered", ring_s=4, talk_s=60, hangup="B"))
    cdr = await run(sim, call)
    for rec in crm.received:
        assert rec.content_type.startswith("application/x-www-form-urlencoded")
        assert rec.body.decode().startswith(f"crm_token={CRM_TOKEN}&cmd=")
    assert [h["cmd"] for h in hooks(crm)] == ["contact", "event", "event", "event", "history"]
    assert hooks(crm)[0] == {"crm_token": CRM_TOKEN, "cmd": "contact", "phone": CLIENT, "callid": cdr.id}
    assert hooks(crm, "event")[0] == {
        "crm_token": CRM_TOKEN, "cmd": "event", "type": "INCOMING", "phone": CLIENT, "diversion": ANDY_NUMBER,
        "user": "andy", "ext": "708", "telnum": "79261234567", "direction": "in", "callid": cdr.id}
    assert events(crm) == [("INCOMING", "andy"), ("ACCEPTED", "andy"), ("COMPLETED", "andy")]
    link = f"{sim.public_url}{BASE}/records/{cdr.id}.mp3?key={record_key(sim.account('cloudpbx'), cdr.id)}"
    assert one_history(crm) == {
        "crm_token": CRM_TOKEN, "cmd": "history", "type": "in", "status": "Success", "phone": CLIENT,
        "user": "andy", "ext": "708", "telnum": "79261234567", "diversion": ANDY_NUMBER,
        "start": "20260311T090000Z", "duration": "64", "callid": cdr.id, "link": link}
    resp = await client.get(link.replace(sim.public_url, ""))
    assert resp.status == 200 and await resp.read() == mp3_bytes(60)
    # the CRM kept the contract: a lookup answered {} is fine, events answered empty
    attempts = sim.webhook_journal.entries("cloudpbx")
    assert all(a.delivered and a.contract["ok"] for a in attempts)


async def test_json_encoding_when_the_account_says_so(sim, pointed):
    sim.account("cloudpbx").crm.encoding = "json"
    cdr = await run(sim, sim.place_call("cloudpbx", "in", CLIENT, ANDY_NUMBER,
                                        script=CallScript(outcome="answered")))
    first = pointed.received[0]
    assert first.content_type.startswith("application/json")
    assert list(first.json) == ["crm_token", "cmd", "phone", "callid"]
    assert pointed.received[-1].json["callid"] == cdr.id


async def test_contact_responsible_routes_the_call(sim, pointed):
    sim.account("cloudpbx").settings["route_to_responsible"] = True   # "activated in the cabinet"
    pointed.answer = lambda rec: ({"contact_name": "Менеджер ЗАО Рога и копыта", "responsible": "mike"}
                                  if rec.form["cmd"] == "contact" else None)
    cdr = await run(sim, sim.place_call("cloudpbx", "in", CLIENT, SALES_NUMBER,
                                        script=CallScript(outcome="answered", answer="mike")))
    assert cdr.outcome == "answered"
    assert cdr.employee_id == emp_id(sim, "mike")
    assert cdr.caller_name == "Менеджер ЗАО Рога и копыта"
    assert cdr.employee_ids == (emp_id(sim, "mike"),)      # the department was never rung
    assert events(pointed) == [("INCOMING", "mike"), ("ACCEPTED", "mike"), ("COMPLETED", "mike")]
    assert one_history(pointed)["user"] == "mike"
    assert sim.webhook_journal.entries("cloudpbx", hook="contact")[0].contract["ok"]


@pytest.mark.parametrize("responsible", ["702", "mike"])
async def test_responsible_who_does_not_answer_falls_back_to_routing(sim, pointed, responsible):
    sim.account("cloudpbx").settings["route_to_responsible"] = True
    pointed.answer = lambda rec: {"responsible": responsible} if rec.form["cmd"] == "contact" else None
    cdr = await run(sim, sim.place_call("cloudpbx", "in", CLIENT, SALES_NUMBER,
                                        script=CallScript(outcome="answered", answer="daria")))
    assert cdr.employee_id == emp_id(sim, "daria")
    assert events(pointed)[:2] == [("INCOMING", "mike"), ("CANCELLED", "mike")]
    assert ("ACCEPTED", "daria") in events(pointed)


async def test_route_to_responsible_is_off_until_enabled(sim, pointed):
    # the seed: routing to the responsible is "activated manually in the cabinet"
    assert "route_to_responsible" not in sim.account("cloudpbx").settings
    pointed.answer = lambda rec: {"responsible": "mike"} if rec.form["cmd"] == "contact" else None
    cdr = await run(sim, sim.place_call("cloudpbx", "in", CLIENT, ANDY_NUMBER,
                                        script=CallScript(outcome="answered")))
    assert cdr.employee_ids == (emp_id(sim, "andy"),)
    sim.account("cloudpbx").switches["route_to_responsible"] = True    # a switch turns it on too
    cdr = await run(sim, sim.place_call("cloudpbx", "in", CLIENT, ANDY_NUMBER,
                                        script=CallScript(outcome="answered", answer="mike")))
    assert cdr.employee_ids == (emp_id(sim, "mike"),)


@pytest.mark.parametrize("answer,ok", [
    (lambda: {}, True),
    (lambda: {"contact_name": "Иван"}, True),
    (lambda: {"responsible": "nobody"}, True),
    (lambda: {"contact_name": 5, "responsible": True}, False),
    (lambda: web.Response(status=500, text="oops"), False),
    (lambda: web.json_response({"error": "Invalid token"}, status=401), False),
    (lambda: web.Response(text="not json"), False),
])
async def test_contact_answers_that_do_not_route(sim, pointed, answer, ok):
    pointed.answer = lambda rec: answer() if rec.form["cmd"] == "contact" else None
    cdr = await run(sim, sim.place_call("cloudpbx", "in", CLIENT, ANDY_NUMBER,
                                        script=CallScript(outcome="answered")))
    assert cdr.outcome == "answered" and cdr.employee_id == emp_id(sim, "andy")
    assert sim.webhook_journal.entries("cloudpbx", hook="contact")[0].contract["ok"] is ok


async def test_no_contact_for_outgoing_calls_and_nothing_without_a_crm(sim, crm):
    cdr = await run(sim, sim.place_call("cloudpbx", "in", CLIENT, ANDY_NUMBER,
                                        script=CallScript(outcome="answered")))
    assert cdr.outcome == "answered" and crm.received == []
    assert sim.webhook_journal.entries("cloudpbx") == []
    point_crm(sim, "cloudpbx", crm.url)
    await run(sim, sim.place_call("cloudpbx", "out", "", CLIENT, employee="andy",
                                  script=CallScript(outcome="answered")))
    assert "contact" not in [h["cmd"] for h in hooks(crm)]


# ---- incoming outcomes ------------------------------------------------------------------------

async def test_department_call_answered_by_one_member(sim, pointed):
    cdr = await run(sim, sim.place_call("cloudpbx", "in", CLIENT, SALES_NUMBER,
                                        script=CallScript(outcome="answered", answer="daria", ring_s=5)))
    evs = hooks(pointed, "event")
    assert {e["groupRealName"] for e in evs} == {"Отдел продаж"}
    assert {e["callid"] for e in evs} == {cdr.id}
    assert sorted(events(pointed)[:2]) == [("INCOMING", "andy"), ("INCOMING", "daria")]
    assert events(pointed)[2:] == [("CANCELLED", "andy"), ("ACCEPTED", "daria"), ("COMPLETED", "daria")]
    h = one_history(pointed)
    assert (h["status"], h["user"], h["ext"], h["groupRealName"]) == ("Success", "daria", "705", "Отдел продаж")
    assert "telnum" not in h


async def test_missed_department_call(sim, pointed):
    cdr = await run(sim, sim.place_call("cloudpbx", "in", CLIENT, SALES_NUMBER, script=CallScript(outcome="missed")))
    assert sorted(events(pointed)) == [("CANCELLED", "andy"), ("CANCELLED", "daria"),
                                       ("INCOMING", "andy"), ("INCOMING", "daria")]
    assert one_history(pointed) == {
        "crm_token": CRM_TOKEN, "cmd": "history", "type": "in", "status": "Missed", "phone": CLIENT,
        "user": "g_sales", "groupRealName": "Отдел продаж", "diversion": SALES_NUMBER,
        "start": "20260311T090000Z", "duration": str(cdr.duration_s), "callid": cdr.id}


async def test_missed_direct_call(sim, pointed):
    await run(sim, sim.place_call("cloudpbx", "in", CLIENT, ANDY_NUMBER, script=CallScript(outcome="missed")))
    assert events(pointed) == [("INCOMING", "andy"), ("CANCELLED", "andy")]
    h = one_history(pointed)
    assert (h["status"], h["user"], h["duration"], "link" in h) == ("Missed", "andy", "30", False)


async def test_cancelled_by_the_caller(sim, pointed):
    await run(sim, sim.place_call("cloudpbx", "in", CLIENT, ANDY_NUMBER,
                                  script=CallScript(outcome="cancelled", ring_s=7)))
    assert events(pointed) == [("INCOMING", "andy"), ("CANCELLED", "andy")]
    h = one_history(pointed)
    assert (h["status"], h["user"], h["duration"]) == ("Cancel", "andy", "7")


async def test_busy_employee_is_a_missed_incoming_call(sim, pointed):
    await run(sim, sim.place_call("cloudpbx", "in", CLIENT, ANDY_NUMBER, script=CallScript(outcome="busy")))
    assert events(pointed) == [("INCOMING", "andy"), ("CANCELLED", "andy")]
    assert one_history(pointed)["status"] == "Missed"


async def test_transferred_call(sim, pointed):
    cdr = await run(sim, sim.place_call("cloudpbx", "in", CLIENT, ANDY_NUMBER, script=CallScript(
        outcome="answered", talk_s=60, transfers=[Transfer(to="mike", after_s=20)])))
    assert events(pointed) == [("INCOMING", "andy"), ("ACCEPTED", "andy"), ("TRANSFERRED", "andy"),
                               ("INCOMING", "mike"), ("ACCEPTED", "mike"), ("COMPLETED", "mike")]
    h = one_history(pointed)
    assert (h["status"], h["user"], h["callid"]) == ("Success", "mike", cdr.id)


async def test_dnd_employee_gets_no_ringing(sim, pointed, client):
    await client.post(BASE, data={"cmd": "set_dnd", "token": TOKEN, "user": "andy", "state": "true"})
    await run(sim, sim.place_call("cloudpbx", "in", CLIENT, ANDY_NUMBER))
    assert events(pointed) == []
    h = one_history(pointed)
    # the call never reached an employee's phone: the PBX account of the call is "ivr"
    assert (h["status"], h["user"], "ext" in h) == ("Missed", "ivr", False)


@pytest.mark.parametrize("number,script,user", [
    (IVR_NUMBER, CallScript(ivr="9"), "ivr"),
    (FAX_NUMBER, CallScript(), "fax"),
])
async def test_calls_that_reach_no_employee(sim, pointed, number, script, user):
    await run(sim, sim.place_call("cloudpbx", "in", CLIENT, number, script=script))
    assert [h["cmd"] for h in hooks(pointed)] == ["contact", "history"]
    h = one_history(pointed)
    assert (h["user"], h["diversion"]) == (user, number)
    assert h["status"] == ("Cancel" if user == "ivr" else "Missed")


async def test_blocked_caller_sends_nothing(sim, pointed):
    cdr = await run(sim, sim.place_call("cloudpbx", "in", "79000000666", SALES_NUMBER))
    assert cdr.outcome == "blocked_blacklist"
    assert pointed.received == []


# ---- outgoing outcomes ------------------------------------------------------------------------

async def test_makecall_webhooks(sim, client, pointed):
    resp = await client.post(BASE, data={"cmd": "makeCall", "token": TOKEN, "user": "andy", "phone": CLIENT})
    call_id = (await resp.json())["CallID"]
    cdr = await run(sim, sim.engine.get_live("cloudpbx", call_id))
    assert [h["cmd"] for h in hooks(pointed)] == ["event", "event", "event", "history"]
    assert hooks(pointed, "event")[0] == {
        "crm_token": CRM_TOKEN, "cmd": "event", "type": "OUTGOING", "phone": CLIENT,
        "diversion": "79261234567", "user": "andy", "ext": "708", "telnum": "79261234567",
        "direction": "out", "callid": call_id}
    assert events(pointed) == [("OUTGOING", "andy"), ("ACCEPTED", "andy"), ("COMPLETED", "andy")]
    h = one_history(pointed)
    assert (h["type"], h["status"], h["user"], h["phone"], h["callid"]) == ("out", "Success", "andy", CLIENT, call_id)
    assert h["duration"] == str(cdr.duration_s) and h["link"].startswith(sim.public_url)


async def test_makecall_employee_does_not_pick_up(sim, client, pointed):
    sim.account("cloudpbx").state.employee_by_login("andy").dnd = True
    resp = await client.post(BASE, data={"cmd": "makeCall", "token": TOKEN, "user": "andy", "phone": CLIENT})
    call_id = (await resp.json())["CallID"]
    await run(sim, sim.engine.get_live("cloudpbx", call_id))
    assert events(pointed) == []
    h = one_history(pointed)
    assert (h["type"], h["status"], h["callid"]) == ("out", "Cancel", call_id)


@pytest.mark.parametrize("outcome,status,evs", [
    ("missed", "Missed", ["OUTGOING", "CANCELLED"]),
    ("busy", "Busy", ["OUTGOING", "CANCELLED"]),
    ("unavailable", "NotAvailable", ["OUTGOING", "CANCELLED"]),
    # refused before the client's phone rang: still OUTGOING and a closing CANCELLED
    ("forbidden", "NotAllowed", ["OUTGOING", "CANCELLED"]),
    ("not_found", "NotFound", ["OUTGOING", "CANCELLED"]),
])
async def test_outgoing_outcomes(sim, pointed, outcome, status, evs):
    cdr = await run(sim, sim.place_call("cloudpbx", "out", "", CLIENT, employee="daria",
                                        script=CallScript(outcome=outcome)))
    assert cdr.outcome == outcome
    assert events(pointed) == [(e, "daria") for e in evs]
    h = one_history(pointed)
    assert (h["type"], h["status"], h["user"], h["ext"], h["callid"]) == ("out", status, "daria", "705", cdr.id)
    assert "link" not in h


async def test_outgoing_transferred(sim, pointed):
    await run(sim, sim.place_call("cloudpbx", "out", "", CLIENT, employee="andy", script=CallScript(
        outcome="answered", talk_s=60, transfers=[Transfer(to="mike", after_s=20)])))
    assert events(pointed) == [("OUTGOING", "andy"), ("ACCEPTED", "andy"), ("TRANSFERRED", "andy"),
                               ("COMPLETED", "mike")]
    assert one_history(pointed)["user"] == "mike"


async def test_internal_calls_send_nothing(sim, pointed):
    await run(sim, sim.place_call("cloudpbx", "internal", "andy", "mike"))
    assert pointed.received == []


# ---- delivery ---------------------------------------------------------------------------------

async def test_one_callid_across_hooks_and_history_csv(sim, client, pointed):
    cdr = await run(sim, sim.place_call("cloudpbx", "in", CLIENT, SALES_NUMBER,
                                        script=CallScript(outcome="answered", answer="andy")))
    assert {h["callid"] for h in hooks(pointed)} == {cdr.id}
    resp = await client.get(BASE, params={"cmd": "history", "token": TOKEN})
    assert (await resp.text()).split(",")[0] == cdr.id


async def test_crm_rejecting_hooks_is_journaled(sim, pointed):
    pointed.answer = lambda rec: web.json_response({"error": "Invalid token"}, status=401)
    await run(sim, sim.place_call("cloudpbx", "in", CLIENT, ANDY_NUMBER, script=CallScript(outcome="answered")))
    history = sim.webhook_journal.entries("cloudpbx", hook="history")
    assert len(history) == 1 and not history[0].delivered
    assert history[0].contract["violations"][0] == "history: answered HTTP 401, expected 200"
    assert json.loads(history[0].response_body) == {"error": "Invalid token"}
