"""Phonet as live clients read it (observed.md): time units by place, trunk strings on
internal active calls, the client in every external leg's otherLegs, a flat lookup answer
named as a CRM bug, crm.encoding refused, the missing-parameter 400 of note create."""

from __future__ import annotations

import pytest

from conftest import point_crm, small_config
from simulator.config import ConfigError, parse_config
from simulator.core.clock import Clock
from simulator.core.engine import CallScript
from simulator.sim import Simulator

from .test_phonet_auth import ACCOUNT, login
from .test_phonet_calls import window
from .test_phonet_webhooks import CLIENT, DIRECT, SALES, Crm, incoming, leg, run

ACTIVE = "/rest/calls/active/v3"


@pytest.fixture
async def phonet_crm(sim, crm):
    point_crm(sim, ACCOUNT, crm.url)
    return Crm(crm)


@pytest.fixture
async def headers(client, sim):
    return await login(client, sim)


# ---- time units: a switch per place -------------------------------------------------------------

async def test_time_units_differ_by_place(client, sim, headers, phonet_crm):
    await sim.clock.advance(0.5)
    t0 = sim.clock.timestamp()
    call = incoming(sim, outcome="answered", ring_s=3, talk_s=30)
    await run(sim, 5)
    active = await (await client.get(ACTIVE, headers=headers)).json()
    assert (active[0]["dialAt"], active[0]["bridgeAt"]) == (int(t0), int(t0 + 3))          # seconds
    dial, bridge = phonet_crm.events
    assert (dial["dialAt"], dial["serverTime"]) == (round(t0 * 1000), round(t0 * 1000))   # ms
    assert bridge["bridgeAt"] == round((t0 + 3) * 1000)
    await run(sim, 60)
    record = (await (await client.get(f"/rest/calls/company.api?{window(sim)}", headers=headers)).json())[0]
    assert record["uuid"] == call.id and record["endAt"] == round(call.cdr.ended_at * 1000)  # ms


async def test_each_place_has_its_own_switch(client, sim, headers, phonet_crm):
    account = sim.account(ACCOUNT)
    account.switches["active_calls_time_unit"] = "ms"
    t0 = int(sim.clock.timestamp())
    incoming(sim, outcome="answered", ring_s=3, talk_s=30)
    await run(sim, 5)
    active = await (await client.get(ACTIVE, headers=headers)).json()
    assert active[0]["dialAt"] == t0 * 1000 and active[0]["bridgeAt"] == (t0 + 3) * 1000
    assert phonet_crm.events[0]["dialAt"] == t0 * 1000          # webhooks untouched
    account.switches["webhook_time_unit"] = "s"
    account.switches["active_calls_time_unit"] = "s"
    await run(sim, 60)
    assert phonet_crm.events[-1]["event"] == "call.hangup" and phonet_crm.events[-1]["dialAt"] == t0
    assert phonet_crm.events[-1]["serverTime"] == t0 + 33


# ---- active calls: trunk strings on internal calls ----------------------------------------------

async def test_internal_active_call_carries_the_company_line(client, sim, headers):
    account = sim.account(ACCOUNT)
    state = account.state
    sim.engine.internal(account, state.employees[1], state.employees[2], CallScript(outcome="answered",
                                                                                   ring_s=2, talk_s=60))
    await run(sim, 5)
    active = await (await client.get(ACTIVE, headers=headers)).json()
    line = account.default_clid()
    number = state.company_number(line)
    assert line and active == [{
        "uuid": active[0]["uuid"], "parentUuid": None, "lastEvent": "call.bridge",
        "dialAt": active[0]["dialAt"], "bridgeAt": active[0]["dialAt"] + 2, "lgDirection": 1,
        "leg": leg(1), "leg2": leg(2), "otherLegs": None,
        "trunkNum": line, "trunkName": number.name or line}]
    assert all(isinstance(a["trunkNum"], str) and isinstance(a["trunkName"], str) for a in active)


async def test_every_active_call_has_string_trunks(client, sim, headers):
    account = sim.account(ACCOUNT)
    state = account.state
    incoming(sim, to=SALES, outcome="answered", answer="102", ring_s=20, talk_s=60)
    sim.engine.outgoing(account, state.employees[3], CLIENT, CallScript(outcome="answered", ring_s=20))
    sim.engine.internal(account, state.employees[5], state.employees[6], CallScript(outcome="answered", ring_s=20))
    await run(sim, 2)
    active = await (await client.get(ACTIVE, headers=headers)).json()
    assert {a["lgDirection"] for a in active} == {1, 2, 4}
    for a in active:
        assert isinstance(a["trunkNum"], str) and a["trunkNum"]
        assert isinstance(a["trunkName"], str) and a["trunkName"]


# ---- otherLegs ------------------------------------------------------------------------------------

async def test_other_legs_hold_an_unknown_client_on_every_external_event(client, sim, phonet_crm):
    account = sim.account(ACCOUNT)
    incoming(sim, to=SALES, outcome="answered", answer="103", ring_s=4, talk_s=10)
    sim.engine.outgoing(account, account.state.employees[2], "+380631234567",
                        CallScript(outcome="answered", ring_s=3, talk_s=5))
    await run(sim, 120)
    external = [e for e in phonet_crm.events if e["lgDirection"] in (2, 4)]
    assert len(external) >= 8
    for e in external:
        client_number = CLIENT if e["lgDirection"] == 4 else "+380631234567"
        assert e["otherLegs"] == [{"id": None, "name": None, "num": client_number, "companyName": None,
                                   "url": None, "priority": 1}]


async def test_other_legs_without_any_crm_connection(sim, crm):
    """Events only (no lookup connection, no Teler match): the client is still there."""
    account = sim.account(ACCOUNT)
    point_crm(sim, ACCOUNT, None, events_url=crm.url)
    sim.webhooks.allowed_urls.add(crm.url)
    account.switches["teler_in_other_legs"] = False
    incoming(sim, outcome="missed", ring_s=5)
    await run(sim, 60)
    events = [r.json for r in crm.received]
    assert events and all(e["otherLegs"][0]["num"] == CLIENT and e["otherLegs"][0]["id"] is None
                          for e in events)


# ---- a flat lookup answer ----------------------------------------------------------------------

async def test_flat_lookup_answer_is_a_crm_bug_and_routes_as_unknown(sim, phonet_crm):
    # the answer a widespread receiver bug sends: the otherLeg keys at the top level
    phonet_crm.lookup = {"name": "Иван Иванов", "url": "http://crm/1", "urlText": "Иван",
                         "newEntry": False, "responsibleEmployeeExt": "103"}
    call = incoming(sim, to=DIRECT, outcome="answered", ring_s=2, talk_s=5)
    await run(sim, 60)
    entry = sim.webhook_journal.entries(account=ACCOUNT, hook="call.settings")[-1]
    assert entry.contract["ok"] is False
    assert entry.contract["violations"][0].startswith("call.settings: flat answer (a CRM bug)")
    # as for an unknown client: normal routing (101's own number), no name, unknown otherLegs
    assert call.responsible_id is None and call.contact_name == "" and call.cdr.employee_id == 1
    assert phonet_crm.events[0]["otherLegs"] == [{"id": None, "name": None, "num": CLIENT,
                                                  "companyName": None, "url": None, "priority": 1}]


# ---- crm.encoding ------------------------------------------------------------------------------

async def test_crm_encoding_form_is_refused_in_the_configuration():
    cfg = small_config()
    next(a for a in cfg["accounts"] if a["id"] == ACCOUNT)["crm"] = {"url": "http://127.0.0.1:9/", "encoding": "form"}
    simulator = Simulator(parse_config(cfg), Clock("manual"))
    with pytest.raises(ConfigError, match="crm.encoding 'form' is not possible for provider phonet: "
                                          "it sends json only"):
        await simulator.start()
    await simulator.close()


async def test_crm_encoding_form_is_refused_by_the_admin_api(client, sim):
    resp = await client.patch(f"/_sim/accounts/{ACCOUNT}", json={"crm": {"encoding": "form"}})
    assert resp.status == 400
    assert "provider phonet: it sends json only" in await resp.text()
    assert sim.account(ACCOUNT).crm.encoding == "json"
    resp = await client.post("/_sim/accounts", json={"id": "p2", "provider": "phonet", "domain": "p2.phonet.com.ua",
                                                     "crm": {"encoding": "form"}})
    assert resp.status == 400 and "it sends json only" in await resp.text()
    resp = await client.patch(f"/_sim/accounts/{ACCOUNT}", json={"crm": {"encoding": "json"}})
    assert resp.status == 200
    resp = await client.patch("/_sim/accounts/vats", json={"crm": {"encoding": "json"}})
    assert resp.status == 200                       # vats may choose


# ---- note create --------------------------------------------------------------------------------

@pytest.mark.parametrize("body", [{}, {"content": None}, {"content": ""}, {"noteType": 0, "responsibleUserId": 1}])
async def test_note_create_without_content_is_the_documented_400(client, sim, headers, body):
    before = list(sim.account(ACCOUNT).state.contacts[1].notes)
    resp = await client.post("/rest/crm/contacts/v2/1/notes", json=body, headers=headers)
    assert resp.status == 400 and resp.content_type == "text/plain"
    assert await resp.text() == "Bad request: content is required"
    assert sim.account(ACCOUNT).state.contacts[1].notes == before
