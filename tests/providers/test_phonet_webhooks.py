"""Phonet webhooks: the call.settings lookup (three answer shapes, responsible routing,
cache on the simulator clock), call.dial / call.bridge / call.hangup for incoming, outgoing,
internal and department calls, the time-unit switch, duplicates and UTM batches."""

from __future__ import annotations

import json

import pytest
from aiohttp import web

from conftest import point_crm
from simulator.core.engine import CallScript, Transfer

from .test_phonet_auth import ACCOUNT, login

DOMAIN = "test4.phonet.com.ua"
CLIENT = "+380501112233"
DIRECT = "+380441108708"          # employee 101's own number
SALES = "+380440790042"           # Линия 1 → department "sales" (101..104, ALL)
EMP = {1: ("101", "Каденюк Трохим"), 2: ("102", "Захарченко Зиновій"),
       3: ("103", "Демиденко Семен"), 4: ("104", "Носенко Софія")}

SHAPE_A = {"otherLeg": {"name": "Иван Иванов", "url": "http://crm.com/contacts?id=1", "urlText": "Иван Иванов",
                        "newEntry": False, "responsibleEmployeeExt": None, "responsibleEmployeeEmail": None}}
SHAPE_B = {"otherLeg": {"name": None, "url": "http://crm.com/contacts/new?phone=%2B380501112233",
                        "urlText": "Добавить контакт", "newEntry": True,
                        "responsibleEmployeeExt": None, "responsibleEmployeeEmail": None}}
SHAPE_C = {"otherLeg": None}
UNKNOWN = {"id": None, "name": None, "num": CLIENT, "companyName": None, "url": None, "priority": 1}


def leg(emp_id: int) -> dict:
    ext, name = EMP[emp_id]
    return {"id": emp_id, "ext": ext, "displayName": name}


class Crm:
    """Answers lookups with ``lookup`` (dict → JSON, or a web.Response); events with 200."""

    def __init__(self, crm, lookup=SHAPE_C):
        self.crm = crm
        self.lookup = lookup
        crm.answer = self.answer

    def answer(self, rec):
        data = rec.json
        if isinstance(data, dict) and data.get("request") == "call.settings":
            return self.lookup
        return None

    @property
    def lookups(self) -> list[dict]:
        return [r.json for r in self.crm.received if isinstance(r.json, dict) and "request" in r.json]

    @property
    def events(self) -> list[dict]:
        return [r.json for r in self.crm.received if isinstance(r.json, dict) and "event" in r.json]

    @property
    def batches(self) -> list[list]:
        return [r.json for r in self.crm.received if isinstance(r.json, list)]


@pytest.fixture
async def phonet_crm(sim, crm):
    point_crm(sim, ACCOUNT, crm.url)
    return Crm(crm)


async def run(sim, seconds: float) -> None:
    await sim.clock.advance(seconds)
    assert await sim.webhooks.drain()


def incoming(sim, to=DIRECT, caller=CLIENT, **script):
    return sim.place_call(ACCOUNT, "in", caller, to, script=CallScript(**script))


# ---- lookup ------------------------------------------------------------------------------------

async def test_incoming_answered_sends_lookup_then_dial_bridge_hangup_with_every_field(sim, phonet_crm):
    phonet_crm.lookup = SHAPE_A
    t0 = int(sim.clock.timestamp()) * 1000   # webhook times are epoch ms (observed.md)
    call = incoming(sim, outcome="answered", ring_s=3, talk_s=20)
    await run(sim, 60)
    assert phonet_crm.lookups == [{"request": "call.settings", "otherLegNum": CLIENT, "trunkNum": DIRECT}]
    assert phonet_crm.crm.received[0].json["request"] == "call.settings"   # before any event
    other = [{"id": None, "name": "Иван Иванов", "num": CLIENT, "companyName": None,
              "url": "http://crm.com/contacts?id=1", "priority": 1}]
    base = {"accountDomain": DOMAIN, "uuid": call.id, "parentUuid": None, "dialAt": t0,
            "lgDirection": 4, "leg": leg(1), "leg2": None, "otherLegs": other,
            "trunkNum": DIRECT, "trunkName": DIRECT}
    assert phonet_crm.events == [
        {"event": "call.dial", **base, "bridgeAt": None, "serverTime": t0},
        {"event": "call.bridge", **base, "bridgeAt": t0 + 3000, "serverTime": t0 + 3000},
        {"event": "call.hangup", **base, "bridgeAt": t0 + 3000, "serverTime": t0 + 23000},
    ]
    # key order of the document's example
    assert list(phonet_crm.events[0]) == ["event", "accountDomain", "uuid", "parentUuid", "dialAt", "bridgeAt",
                                          "serverTime", "lgDirection", "leg", "leg2", "otherLegs",
                                          "trunkNum", "trunkName"]
    received = phonet_crm.crm.received[0]
    assert received.content_type.startswith("application/json")
    assert call.cdr.caller_name == "Иван Иванов"


async def test_incoming_missed_has_no_bridge_and_null_bridge_at(sim, phonet_crm):
    t0 = int(sim.clock.timestamp()) * 1000
    call = incoming(sim, outcome="missed")
    await run(sim, 120)
    events = phonet_crm.events
    assert [e["event"] for e in events] == ["call.dial", "call.hangup"]
    assert all(e["bridgeAt"] is None for e in events)
    assert events[1]["uuid"] == call.id and events[1]["dialAt"] == t0
    assert events[1]["serverTime"] == round(call.cdr.ended_at * 1000)
    # shape C and no Teler match: the client is still there (receivers read otherLegs[0].num)
    assert events[0]["otherLegs"] == [{"id": None, "name": None, "num": CLIENT, "companyName": None,
                                       "url": None, "priority": 1}]


async def test_shape_b_gives_other_legs_entry_without_name(sim, phonet_crm):
    phonet_crm.lookup = SHAPE_B
    incoming(sim, outcome="answered", talk_s=5)
    await run(sim, 60)
    assert phonet_crm.events[0]["otherLegs"] == [
        {"id": None, "name": None, "num": CLIENT, "companyName": None,
         "url": "http://crm.com/contacts/new?phone=%2B380501112233", "priority": 1}]


async def test_teler_contact_follows_the_crm_in_other_legs(sim, phonet_crm):
    phonet_crm.lookup = SHAPE_A
    number = "+380930462791"   # seeded Teler contact 1 "Єфрем Мірошниченко"
    incoming(sim, caller=number, outcome="answered", talk_s=5)
    await run(sim, 60)
    other = phonet_crm.events[0]["otherLegs"]
    assert other[0]["priority"] == 1 and other[0]["id"] is None
    assert other[1] == {"id": 1, "name": "Єфрем Мірошниченко", "num": number,
                        "companyName": sim.account(ACCOUNT).state.contacts[1].company,
                        "url": f"https://{DOMAIN}/features/crm/contacts/edit.jsp#/?id=1", "priority": 2}


async def test_responsible_ext_wins_over_email(sim, phonet_crm):
    phonet_crm.lookup = {"otherLeg": {**SHAPE_A["otherLeg"], "responsibleEmployeeExt": "103",
                                      "responsibleEmployeeEmail": "snosenko@test4.phonet.com.ua"}}
    call = incoming(sim, to=SALES, outcome="answered", talk_s=5)
    await run(sim, 60)
    first = phonet_crm.events[0]
    assert first["event"] == "call.dial" and first["leg"] == leg(3)
    assert first["parentUuid"] is None and first["uuid"] == call.id   # a direct leg
    assert call.cdr.employee_id == 3


async def test_responsible_email_when_ext_matches_nobody(sim, phonet_crm):
    phonet_crm.lookup = {"otherLeg": {**SHAPE_A["otherLeg"], "responsibleEmployeeExt": "999",
                                      "responsibleEmployeeEmail": "SNOSENKO@test4.phonet.com.ua"}}
    call = incoming(sim, to=SALES, outcome="answered", talk_s=5)
    await run(sim, 60)
    assert phonet_crm.events[0]["leg"] == leg(4)
    assert call.cdr.employee_id == 4


async def test_responsible_ignored_on_outgoing(sim, phonet_crm, client):
    phonet_crm.lookup = {"otherLeg": {**SHAPE_A["otherLeg"], "responsibleEmployeeExt": "103"}}
    headers = await login(client, sim)
    resp = await client.post("/rest/user/makeCall", json={"legExt": "102", "otherLegNum": CLIENT},
                             headers=headers)
    uuid = (await resp.json())["uuid"]
    await run(sim, 120)
    assert phonet_crm.lookups == [{"request": "call.settings", "otherLegNum": CLIENT, "trunkNum": None}]
    assert {e["leg"]["id"] for e in phonet_crm.events} == {2}
    assert {e["uuid"] for e in phonet_crm.events} == {uuid}
    assert sim.account(ACCOUNT).state.cdrs.get(uuid).callee_name == "Иван Иванов"


@pytest.mark.parametrize("shape,ttl", [(SHAPE_C, 60), (SHAPE_B, 60), (SHAPE_A, 300),
                                       ({"otherLeg": {"name": None, "url": "u", "urlText": "t",
                                                      "newEntity": True}}, 60)])
async def test_lookup_cache_ttl_new_and_existing(sim, phonet_crm, shape, ttl):
    phonet_crm.lookup = shape
    incoming(sim, outcome="missed", ring_s=5)
    await run(sim, 40)
    assert len(phonet_crm.lookups) == 1
    incoming(sim, outcome="missed", ring_s=5)            # within the TTL: no request
    await run(sim, ttl - 45)
    assert len(phonet_crm.lookups) == 1
    await run(sim, 10)                                   # now past the TTL
    incoming(sim, outcome="missed", ring_s=5)
    await run(sim, 40)
    assert len(phonet_crm.lookups) == 2


async def test_cache_is_shared_by_incoming_and_outgoing_and_keeps_the_name(sim, phonet_crm, client):
    phonet_crm.lookup = SHAPE_A
    incoming(sim, outcome="missed", ring_s=5)
    await run(sim, 40)
    headers = await login(client, sim)
    resp = await client.post("/rest/user/makeCall", json={"legExt": "102", "otherLegNum": CLIENT},
                             headers=headers)
    uuid = (await resp.json())["uuid"]
    await run(sim, 60)
    assert len(phonet_crm.lookups) == 1
    assert sim.account(ACCOUNT).state.cdrs.get(uuid).callee_name == "Иван Иванов"


@pytest.mark.parametrize("answer", [
    web.Response(status=500, text="boom"),
    web.Response(status=200, text="Forbidden\n"),            # the doc's PHP IP filter
    web.Response(status=200, text=""),                       # the doc's Java IP filter
    web.json_response({"contact": "x"}),                     # no otherLeg
    web.json_response({"otherLeg": {"newEntry": "yes"}}),    # wrong type
])
async def test_failed_or_invalid_answer_means_no_contact_and_is_not_cached(sim, phonet_crm, answer):
    phonet_crm.lookup = None
    phonet_crm.crm.answer = lambda rec: (web.Response(status=answer.status, text=answer.text,
                                                      content_type=answer.content_type)
                                         if "request" in rec.json else None)
    call = incoming(sim, outcome="answered", talk_s=5)
    await run(sim, 60)
    assert call.contact_name == "" and call.responsible_id is None
    assert phonet_crm.events[0]["otherLegs"] == [UNKNOWN]
    journal = sim.webhook_journal.entries(account=ACCOUNT, hook="call.settings")
    assert journal[-1].contract["ok"] is False
    incoming(sim, outcome="missed", ring_s=5)
    await run(sim, 30)
    assert len(phonet_crm.lookups) == 2                  # asked again


async def test_cached_answers_of_numbers_that_never_call_again_are_forgotten(sim, phonet_crm):
    """The lookup cache is swept of expired answers when it has doubled: numbers that called
    once and never again do not stay in memory for ever (a 24-hour soak)."""
    from simulator.providers.phonet.state import CachedLookup, phonet_state

    st = phonet_state(sim.account(ACCOUNT))
    now = sim.clock.timestamp()
    for i in range(254):          # answers of earlier callers, their time over
        st.lookups[f"+38050{i:07d}"] = CachedLookup(None, now - 1)
    st.lookups["+380509999999"] = CachedLookup(None, now + 30)      # one still valid
    phonet_crm.lookup = SHAPE_A
    incoming(sim, outcome="missed", ring_s=5)
    await run(sim, 10)
    assert sorted(st.lookups) == sorted([CLIENT, "+380509999999"])
    assert st.lookups[CLIENT].other_leg == SHAPE_A["otherLeg"]
    assert st.lookups_sweep_at == 256


async def test_valid_answers_keep_the_contract(sim, phonet_crm):
    for shape in (SHAPE_A, SHAPE_B, SHAPE_C):
        phonet_crm.lookup = shape
        sim.account(ACCOUNT).state.provider_data["phonet"].lookups.clear()
        incoming(sim, outcome="missed", ring_s=5)
        await run(sim, 30)
    entries = sim.webhook_journal.entries(account=ACCOUNT, hook="call.settings")
    assert len(entries) == 3 and all(e.contract["ok"] for e in entries)


async def test_chrome_extension_mode_flags_shape_c(sim, phonet_crm):
    sim.account(ACCOUNT).switches["chrome_extension_mode"] = True
    incoming(sim, outcome="missed", ring_s=5)
    await run(sim, 30)
    entry = sim.webhook_journal.entries(account=ACCOUNT, hook="call.settings")[-1]
    assert entry.contract["ok"] is False


async def test_cache_can_be_switched_off(sim, phonet_crm):
    sim.account(ACCOUNT).switches["lookup_cache"] = False
    for _ in range(2):
        incoming(sim, outcome="missed", ring_s=5)
        await run(sim, 30)
    assert len(phonet_crm.lookups) == 2


async def test_lookup_url_events_url_utm_url_are_separate(sim, crm):
    account = sim.account(ACCOUNT)
    point_crm(sim, ACCOUNT, crm.url + "/default", lookup_url=crm.url + "/lookup", events_url=None)
    sim.webhooks.allowed_urls.add(crm.url + "/lookup")
    incoming(sim, outcome="missed", ring_s=5)
    await run(sim, 30)
    paths = [(r.path, "request" in r.json) for r in crm.received]
    assert paths[0] == ("/crm/lookup", True)
    assert all(p == "/crm/default" for p, is_lookup in paths[1:])
    account.crm.url = None   # no events URL at all: events are off, the lookup stays
    crm.received.clear()
    incoming(sim, caller="+380671234567", outcome="missed", ring_s=5)
    await run(sim, 30)
    assert [r.path for r in crm.received] == ["/crm/lookup"]


async def test_no_lookup_for_internal_calls(sim, phonet_crm):
    state = sim.account(ACCOUNT).state
    sim.engine.internal(sim.account(ACCOUNT), state.employees[1], state.employees[2],
                        CallScript(outcome="answered", talk_s=5))
    await run(sim, 60)
    assert phonet_crm.lookups == []


# ---- events per call kind -------------------------------------------------------------------------

async def test_department_call_has_child_legs_with_parent_uuid(sim, phonet_crm):
    call = incoming(sim, to=SALES, answer="102", ring_s=4, talk_s=10)
    await run(sim, 120)
    events = phonet_crm.events
    dials = [e for e in events if e["event"] == "call.dial"]
    assert {e["leg"]["id"] for e in dials} == {1, 2, 3, 4}
    assert all(e["parentUuid"] == call.id and e["uuid"] != call.id for e in dials)
    assert len({e["uuid"] for e in dials}) == 4
    bridges = [e for e in events if e["event"] == "call.bridge"]
    assert len(bridges) == 1 and bridges[0]["leg"] == leg(2)
    hangups = [e for e in events if e["event"] == "call.hangup"]
    assert {e["uuid"] for e in hangups} == {e["uuid"] for e in dials}
    won = next(e for e in hangups if e["leg"]["id"] == 2)
    assert won["bridgeAt"] == bridges[0]["bridgeAt"]
    assert all(e["bridgeAt"] is None for e in hangups if e["leg"]["id"] != 2)
    # per leg: dial before bridge before hangup
    for uuid in {e["uuid"] for e in dials}:
        kinds = [e["event"] for e in events if e["uuid"] == uuid]
        assert kinds[0] == "call.dial" and kinds[-1] == "call.hangup"


async def test_transfer_ends_the_leg_and_opens_a_child_leg(sim, phonet_crm):
    call = incoming(sim, outcome="answered", ring_s=2, talk_s=30, transfers=[Transfer(to="103", after_s=10)])
    await run(sim, 120)
    events = phonet_crm.events
    first = [e["event"] for e in events if e["uuid"] == call.id]
    assert first == ["call.dial", "call.bridge", "call.hangup"]
    child = [e for e in events if e["uuid"] != call.id]
    assert [e["event"] for e in child] == ["call.dial", "call.bridge", "call.hangup"]
    assert all(e["parentUuid"] == call.id and e["leg"] == leg(3) for e in child)


async def test_make_call_outgoing_events_use_the_returned_uuid(sim, phonet_crm, client):
    headers = await login(client, sim)
    t0 = int(sim.clock.timestamp()) * 1000
    resp = await client.post("/rest/user/makeCall", json={"legExt": "101", "otherLegNum": CLIENT},
                             headers=headers)
    assert resp.status == 200
    uuid = (await resp.json())["uuid"]
    await run(sim, 120)
    events = phonet_crm.events
    assert [e["event"] for e in events] == ["call.dial", "call.bridge", "call.hangup"]
    dial = events[0]
    assert dial == {"event": "call.dial", "accountDomain": DOMAIN, "uuid": uuid, "parentUuid": None,
                    "dialAt": t0, "bridgeAt": None, "serverTime": t0, "lgDirection": 2, "leg": leg(1),
                    "leg2": None, "otherLegs": [UNKNOWN], "trunkNum": DIRECT, "trunkName": DIRECT}
    # the employee answers after 2 s, then the client after 5 s
    assert events[1]["bridgeAt"] == t0 + 7000
    cdr = sim.account(ACCOUNT).state.cdrs.get(uuid)
    assert cdr is not None and cdr.direction == "out"


async def test_outgoing_unanswered_by_client(sim, phonet_crm):
    emp = sim.account(ACCOUNT).state.employees[2]
    sim.engine.outgoing(sim.account(ACCOUNT), emp, CLIENT, CallScript(outcome="missed"))
    await run(sim, 120)
    assert [e["event"] for e in phonet_crm.events] == ["call.dial", "call.hangup"]
    assert phonet_crm.events[1]["bridgeAt"] is None
    assert phonet_crm.events[0]["trunkNum"] == sim.account(ACCOUNT).default_clid()


async def test_outgoing_forbidden_still_dials_and_hangs_up(sim, phonet_crm):
    emp = sim.account(ACCOUNT).state.employees[2]
    sim.engine.outgoing(sim.account(ACCOUNT), emp, CLIENT, CallScript(outcome="forbidden"))
    await run(sim, 30)
    assert [e["event"] for e in phonet_crm.events] == ["call.dial", "call.hangup"]


async def test_internal_call_events(sim, phonet_crm, client):
    headers = await login(client, sim)
    t0 = int(sim.clock.timestamp()) * 1000
    resp = await client.post("/rest/user/makeCall", json={"legExt": 101, "otherLegNum": "102"},
                             headers=headers)
    uuid = (await resp.json())["uuid"]
    await run(sim, 60)
    assert phonet_crm.lookups == []
    events = phonet_crm.events
    assert [e["event"] for e in events] == ["call.dial", "call.bridge", "call.hangup"]
    assert events[1] == {"event": "call.bridge", "accountDomain": DOMAIN, "uuid": uuid, "parentUuid": None,
                         "dialAt": t0, "bridgeAt": t0 + 2000, "serverTime": t0 + 2000, "lgDirection": 1,
                         "leg": leg(1), "leg2": leg(2), "otherLegs": None, "trunkNum": None, "trunkName": None}


async def test_internal_events_can_be_switched_off(sim, phonet_crm):
    sim.account(ACCOUNT).settings["emit_internal_events"] = False
    state = sim.account(ACCOUNT).state
    sim.engine.internal(sim.account(ACCOUNT), state.employees[1], state.employees[2],
                        CallScript(outcome="answered", talk_s=5))
    await run(sim, 60)
    assert phonet_crm.events == []


async def test_webhook_times_are_milliseconds_by_default(sim, phonet_crm):
    await sim.clock.advance(0.25)
    t0 = sim.clock.timestamp()
    incoming(sim, outcome="answered", ring_s=3, talk_s=5)
    await run(sim, 30)
    dial, bridge, hangup = phonet_crm.events
    assert dial["dialAt"] == round(t0 * 1000) and dial["serverTime"] == round(t0 * 1000)
    assert bridge["bridgeAt"] == round((t0 + 3) * 1000)
    assert hangup["serverTime"] == round((t0 + 8) * 1000)


async def test_webhook_time_unit_switch_to_seconds(sim, phonet_crm):
    sim.account(ACCOUNT).switches["webhook_time_unit"] = "s"
    t0 = int(sim.clock.timestamp())
    incoming(sim, outcome="answered", ring_s=3, talk_s=5)
    await run(sim, 30)
    dial, bridge, hangup = phonet_crm.events
    assert (dial["dialAt"], bridge["bridgeAt"], hangup["serverTime"]) == (t0, t0 + 3, t0 + 8)


async def test_duplicate_switch_sends_each_event_twice_byte_identical(sim, phonet_crm):
    sim.account(ACCOUNT).switches["duplicate_events"] = True
    incoming(sim, outcome="answered", ring_s=3, talk_s=5)
    await run(sim, 30)
    bodies = [r.body for r in phonet_crm.crm.received if "event" in r.json]
    assert len(bodies) == 6
    assert bodies[0] == bodies[1] and bodies[2] == bodies[3] and bodies[4] == bodies[5]
    assert [json.loads(b)["event"] for b in bodies[::2]] == ["call.dial", "call.bridge", "call.hangup"]
    assert len(phonet_crm.lookups) == 1                 # the lookup is never duplicated


async def test_duplicate_rate_setting(sim, phonet_crm):
    sim.account(ACCOUNT).settings["duplicate_event_rate"] = 1.0
    incoming(sim, outcome="missed", ring_s=3)
    await run(sim, 30)
    assert len(phonet_crm.events) == 4


async def test_webhook_forwarded_for_header(sim, phonet_crm):
    sim.account(ACCOUNT).settings["webhook_forwarded_for"] = "89.184.65.208"
    incoming(sim, outcome="missed", ring_s=3)
    await run(sim, 30)
    assert all(r.headers.get("X-Forwarded-For") == "89.184.65.208" for r in phonet_crm.crm.received)


# ---- UTM ---------------------------------------------------------------------------------------

async def test_utm_batch_once_a_minute_with_tagged_calls(sim, phonet_crm):
    utm = {"utm_source": "google", "utm_medium": "cpc", "label": "callcatcher\n firstcall",
           "googleClientId": "1340605716.1544986520", "clientIp": "91.243.203.133"}
    await sim.clock.advance(60 - sim.clock.timestamp() % 60 + 1)   # one second into a minute
    start = sim.clock.timestamp()
    a = incoming(sim, outcome="answered", ring_s=2, talk_s=5, utm=utm)
    b = incoming(sim, caller="+380671234567", outcome="missed", ring_s=3, utm={"utm_source": "fb"})
    incoming(sim, caller="+380631111111", outcome="missed", ring_s=3)    # untagged
    await run(sim, 30)
    assert phonet_crm.batches == []                     # not before the minute boundary
    boundary = (start // 60 + 1) * 60
    await run(sim, boundary - sim.clock.timestamp() + 1)
    assert len(phonet_crm.batches) == 1
    batch = phonet_crm.batches[0]
    by_uuid = {r["callParentUuid"]: r for r in batch}
    assert set(by_uuid) == {a.id, b.id}
    assert by_uuid[a.id] == {
        "utmSource": "google", "utmMedium": "cpc", "utmCampaign": "(not set)", "utmContent": "(not set)",
        "utmTerm": "(not set)", "googleClientId": "1340605716.1544986520", "clientIp": "91.243.203.133",
        "referrer": "(not set)", "otherLegNum": CLIENT, "trunkSource": DIRECT.lstrip("+"),
        "label": "callcatcher\n firstcall", "callDate": round(a.cdr.ended_at * 1000),
        "callStart": round(a.cdr.started_at * 1000), "callParentUuid": a.id}
    await run(sim, 300)
    assert len(phonet_crm.batches) == 1                 # nothing new: no empty batches
    assert not sim.account(ACCOUNT).state.provider_data["phonet"].utm_task


async def test_utm_extra_field_switch(sim, phonet_crm):
    sim.account(ACCOUNT).switches["utm_extra_field"] = True
    incoming(sim, outcome="missed", ring_s=3, utm={"utm_source": "x"})
    await run(sim, 120)
    assert "simExtraField" in phonet_crm.batches[0][0]


async def test_lookup_timeout_proceeds_without_answer_and_is_not_cached(sim, phonet_crm):
    sim.account(ACCOUNT).settings["lookup_timeout_ms"] = 100
    phonet_crm.lookup = SHAPE_A
    phonet_crm.crm.delay = 0.4
    call = incoming(sim, outcome="answered", ring_s=2, talk_s=5)
    await run(sim, 30)
    entry = sim.webhook_journal.entries(account=ACCOUNT, hook="call.settings")[-1]
    assert entry.error and entry.error.startswith("timeout")
    assert call.contact_name == "" and call.cdr.answered
    assert [e["event"] for e in phonet_crm.events] == ["call.dial", "call.bridge", "call.hangup"]
    assert sim.account(ACCOUNT).state.provider_data["phonet"].lookups == {}
