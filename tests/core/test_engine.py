"""The call engine: outcomes, routing, department orders, queue, transfers, CDRs."""

import asyncio
from datetime import datetime, timezone

import pytest

from simulator.config import parse_config
from simulator.core.clock import Clock
from simulator.core.engine import CallScript, Transfer
from simulator.core.recordings import mp3_bytes, mp3_duration, transcript
from simulator.sim import Simulator

MONDAY_NOON_MSK = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
CLIENT = "79161234567"


def config(**dept):
    return {
        "server": {"seed": 3},
        "accounts": [{
            "id": "acc", "provider": "vats", "domain": "acc.megapbx.ru",
            "seed": {
                "employees": [
                    {"login": "anna", "ext": "101", "name": "Иванова Анна", "direct_number": "74950000101"},
                    {"login": "boris", "ext": "102", "name": "Петров Борис"},
                    {"login": "vera", "ext": "103", "name": "Сидорова Вера"},
                    {"login": "gleb", "ext": "104", "name": "Орлов Глеб"},
                ],
                "departments": [{"id": "sales", "name": "Отдел продаж", "members": ["anna", "boris", "vera"],
                                 "ring_interval": 10, "timeout": 60, **dept}],
                "numbers": [
                    {"number": "74950000001", "route": {"type": "department", "target": "sales"}},
                    {"number": "74950000002", "route": {"type": "employee", "target": "gleb"}},
                    {"number": "74950000003", "route": {
                        "type": "ivr", "ivr": {"1": {"type": "department", "target": "sales"},
                                               "2": {"type": "employee", "target": "gleb"}}}},
                    {"number": "74950000004", "route": {
                        "type": "schedule", "schedule": {"mon": ["09:00-18:00"]},
                        "work": {"type": "employee", "target": "gleb"}}},
                    {"number": "74950000005", "route": {"type": "voicemail"}},
                    {"number": "74950000006", "enabled": False},
                ],
                "blacklist": [{"number": "7900800*"}, {"number": "79990000000"}],
            },
        }],
    }


@pytest.fixture
def sim_config():
    return config()


@pytest.fixture
async def engine_sim(sim_config):
    sim = Simulator(parse_config(sim_config), Clock("manual", start=MONDAY_NOON_MSK))
    await sim.start()
    events = []
    sim.engine.subscribe(lambda e: events.append(e))
    sim.events = events
    yield sim
    await sim.close()


async def finish(sim, call, seconds=600):
    await sim.clock.advance(seconds)
    assert call.done.done(), f"call still {call.state}"
    return call.cdr


def acc(sim):
    return sim.account("acc")


def emp(sim, login):
    return acc(sim).state.employee_by_login(login)


async def test_incoming_department_answered_with_record(engine_sim):
    sim = engine_sim
    call = sim.engine.incoming(acc(sim), CLIENT, "74950000001")
    await sim.clock.advance(1)
    assert call.state == "ringing" and len(call.ringing_legs()) == 3
    assert sim.engine.queue("acc", "sales") == [call]
    await sim.clock.advance(1)   # default policy: employees answer after 2 s
    assert call.state == "answered" and sim.engine.queue("acc", "sales") == []
    cdr = await finish(sim, call)
    assert cdr.outcome == "answered" and cdr.direction == "in" and cdr.department_id == "sales"
    assert cdr.employee_id == emp(sim, "anna").id
    assert (cdr.wait_s, cdr.talk_s, cdr.duration_s) == (2, 30, 32)
    assert cdr.record_file.startswith("2026-03-02/") and cdr.trunk == "74950000001"
    assert acc(sim).state.cdrs.by_file(cdr.record_file) is cdr
    types = [e.type for e in sim.events]
    assert types[:2] == ["call.created", "call.queued"]
    assert types.count("leg.ringing") == 3 and types[-1] == "call.ended"
    # legs that did not answer are cancelled when anna answers
    ended = [e.leg.result for e in sim.events if e.type == "leg.ended"]
    assert ended.count("cancelled") == 2 and ended[-1] == "ended"
    assert all(leg.parent_id == call.id for leg in call.legs)


@pytest.mark.parametrize("order,starts", [
    ("ALL", [0, 0, 0]),
    ("BYORDER", [0, 10, 20, 30, 40, 50]),
    ("WATERFALL", [0, 10, 20]),
])
async def test_department_call_orders(engine_sim, order, starts):
    sim = engine_sim
    acc(sim).state.departments["sales"].call_order = order
    call = sim.engine.incoming(acc(sim), CLIENT, "74950000001", CallScript(outcome="missed"))
    cdr = await finish(sim, call)
    t0 = cdr.started_at
    assert [round(leg[2] - t0) for leg in cdr.legs] == starts
    assert cdr.outcome == "missed" and cdr.destination == "vm"
    if order == "BYORDER":
        rung = [sim.account("acc").state.employees[leg[1]].login for leg in cdr.legs]
        assert rung == ["anna", "boris", "vera", "anna", "boris", "vera"]


async def test_evenly_rotates_first_member(engine_sim):
    sim = engine_sim
    acc(sim).state.departments["sales"].call_order = "EVENLY"
    firsts = []
    for _ in range(3):
        call = sim.engine.incoming(acc(sim), CLIENT, "74950000001")
        cdr = await finish(sim, call)
        firsts.append(acc(sim).state.employees[cdr.employee_id].login)
    assert firsts == ["anna", "boris", "vera"]


async def test_answer_by_named_member_after_ring(engine_sim):
    sim = engine_sim
    acc(sim).state.departments["sales"].call_order = "BYORDER"
    call = sim.engine.incoming(acc(sim), CLIENT, "74950000001", CallScript(answer="vera", ring_s=4, talk_s=60))
    cdr = await finish(sim, call)
    assert cdr.employee_id == emp(sim, "vera").id and cdr.wait_s == 24 and cdr.talk_s == 60


async def test_member_with_calls_disabled_and_dnd_are_skipped(engine_sim):
    sim = engine_sim
    dept = acc(sim).state.departments["sales"]
    dept.member(emp(sim, "anna").id).calls_enabled = False
    emp(sim, "boris").dnd = True
    call = sim.engine.incoming(acc(sim), CLIENT, "74950000001")
    cdr = await finish(sim, call)
    assert cdr.employee_ids == (emp(sim, "vera").id,)


async def test_all_members_dnd_is_dnd_outcome(engine_sim):
    sim = engine_sim
    for login in ("anna", "boris", "vera"):
        emp(sim, login).dnd = True
    cdr = await finish(sim, sim.engine.incoming(acc(sim), CLIENT, "74950000001"))
    assert cdr.outcome == "dnd"
    emp(sim, "gleb").dnd = True
    cdr = await finish(sim, sim.engine.incoming(acc(sim), CLIENT, "74950000002"))
    assert cdr.outcome == "dnd"


async def test_timeout_target_employee_and_external(engine_sim):
    sim = engine_sim
    dept = acc(sim).state.departments["sales"]
    dept.timeout_target, dept.timeout_value, dept.timeout = "employee", "gleb", 20
    cdr = await finish(sim, sim.engine.incoming(acc(sim), CLIENT, "74950000001",
                                                CallScript(answer="gleb")))
    assert cdr.outcome == "answered" and cdr.employee_id == emp(sim, "gleb").id and cdr.wait_s == 22
    dept.timeout_target, dept.timeout_value = "external", "79035556677"
    cdr = await finish(sim, sim.engine.incoming(acc(sim), CLIENT, "74950000001",
                                                CallScript(answer="nobody-in-dept")))
    assert cdr.destination == "telnum"


@pytest.mark.parametrize("outcome,expected,hangup", [
    ("busy", "busy", "B"), ("unavailable", "unavailable", "B"), ("missed", "missed", "A"),
    ("cancelled", "cancelled", "A"),
])
async def test_incoming_employee_outcomes(engine_sim, outcome, expected, hangup):
    sim = engine_sim
    cdr = await finish(sim, sim.engine.incoming(acc(sim), CLIENT, "74950000002", CallScript(outcome=outcome, ring_s=7)))
    assert cdr.outcome == expected and cdr.hangup_side == hangup and not cdr.answered
    assert cdr.record_file == "" and cdr.talk_s == 0
    if outcome == "cancelled":
        assert cdr.duration_s == 7
    if outcome == "missed":
        assert cdr.duration_s == 7   # ring_s is honoured: the ringing stops then


async def test_blocked_and_unknown_numbers(engine_sim):
    sim = engine_sim
    state = acc(sim).state
    cdr = await finish(sim, sim.engine.incoming(acc(sim), "79008001234", "74950000001"))
    assert cdr.outcome == "blocked_blacklist" and cdr.duration_s == 0
    assert len(state.blacklist["7900800*"].blocked_at) == 1
    cdr = await finish(sim, sim.engine.incoming(acc(sim), "+79990000000", "74950000001"))
    assert cdr.outcome == "blocked_blacklist"
    cdr = await finish(sim, sim.engine.incoming(acc(sim), CLIENT, "74959999999"))
    assert cdr.outcome == "not_found"
    cdr = await finish(sim, sim.engine.incoming(acc(sim), CLIENT, "74950000006"))
    assert cdr.outcome == "not_found" and cdr.destination == "disabled"
    cdr = await finish(sim, sim.engine.incoming(acc(sim), "", "74950000001"))
    assert cdr.outcome == "answered"
    state.block_anonymous = True
    cdr = await finish(sim, sim.engine.incoming(acc(sim), "", "74950000001"))
    assert cdr.outcome == "blocked_anonymous"


async def test_direct_number_rings_employee(engine_sim):
    sim = engine_sim
    cdr = await finish(sim, sim.engine.incoming(acc(sim), CLIENT, "74950000101"))
    assert cdr.employee_id == emp(sim, "anna").id and cdr.outcome == "answered"


async def test_ivr_choice_and_no_choice(engine_sim):
    sim = engine_sim
    cdr = await finish(sim, sim.engine.incoming(acc(sim), CLIENT, "74950000003", CallScript(ivr="2")))
    assert cdr.employee_id == emp(sim, "gleb").id and cdr.wait_s == 5   # 3 s greeting + 2 s ring
    cdr = await finish(sim, sim.engine.incoming(acc(sim), CLIENT, "74950000003"))
    assert cdr.outcome == "cancelled" and cdr.destination == "ivr"


async def test_schedule_in_and_out_of_hours(engine_sim):
    sim = engine_sim
    cdr = await finish(sim, sim.engine.incoming(acc(sim), CLIENT, "74950000004"))
    assert cdr.outcome == "answered"       # Monday 12:00 Moscow
    await sim.clock.set(datetime(2026, 3, 2, 17, 0, tzinfo=timezone.utc))   # 20:00 Moscow
    cdr = await finish(sim, sim.engine.incoming(acc(sim), CLIENT, "74950000004"))
    assert cdr.outcome == "out_of_hours" and cdr.destination == "offtime"


async def test_voicemail_route(engine_sim):
    sim = engine_sim
    cdr = await finish(sim, sim.engine.incoming(acc(sim), CLIENT, "74950000005"))
    assert cdr.outcome == "voicemail" and cdr.destination == "vm"


async def test_transfer_history_and_events(engine_sim):
    sim = engine_sim
    script = CallScript(answer="gleb", talk_s=60, transfers=[Transfer("vera", 10), Transfer("boris", 30)])
    cdr = await finish(sim, sim.engine.incoming(acc(sim), CLIENT, "74950000002", script))
    assert cdr.transfer_history == "104 > 103 > 102"
    assert cdr.employee_id == emp(sim, "boris").id
    assert [e.type for e in sim.events].count("call.transferred") == 2


async def test_outgoing_outcomes(engine_sim):
    sim = engine_sim
    anna = emp(sim, "anna")
    cdr = await finish(sim, sim.engine.outgoing(acc(sim), anna, CLIENT))
    assert (cdr.direction, cdr.outcome, cdr.wait_s, cdr.talk_s) == ("out", "answered", 5, 30)
    assert cdr.trunk == "74950000101" and cdr.employee_id == anna.id
    for outcome in ("busy", "unavailable", "missed", "forbidden", "not_found"):
        cdr = await finish(sim, sim.engine.outgoing(acc(sim), anna, CLIENT, CallScript(outcome=outcome)))
        assert cdr.outcome == outcome, outcome


async def test_click_to_call_rings_employee_first(engine_sim):
    sim = engine_sim
    boris = emp(sim, "boris")
    call = sim.engine.click_to_call(acc(sim), boris, CLIENT)
    await sim.clock.advance(1)
    assert [leg.kind for leg in call.legs] == ["employee"] and call.legs[0].result == "ringing"
    await sim.clock.advance(2)
    assert [leg.kind for leg in call.legs] == ["employee", "client"]
    cdr = await finish(sim, call)
    assert cdr.outcome == "answered" and cdr.wait_s == 7 and cdr.employee_id == boris.id
    busy = await finish(sim, sim.engine.click_to_call(acc(sim), boris, CLIENT, CallScript(outcome="busy")))
    assert busy.outcome == "busy"


async def test_internal_call(engine_sim):
    sim = engine_sim
    cdr = await finish(sim, sim.engine.internal(acc(sim), emp(sim, "anna"), emp(sim, "boris")))
    assert cdr.direction == "internal" and cdr.outcome == "answered" and cdr.client == ""
    assert cdr.employee_id == emp(sim, "anna").id
    emp(sim, "boris").dnd = True
    cdr = await finish(sim, sim.engine.internal(acc(sim), emp(sim, "anna"), emp(sim, "boris")))
    assert cdr.outcome == "dnd"


async def test_hangup_interrupts_talk_and_ring(engine_sim):
    sim = engine_sim
    call = sim.engine.incoming(acc(sim), CLIENT, "74950000002", CallScript(talk_s=600))
    await sim.clock.advance(12)
    assert call.state == "answered"
    assert await sim.engine.hangup("acc", call.id, side="B")
    assert call.cdr.outcome == "answered" and call.cdr.talk_s == 10 and call.cdr.hangup_side == "B"
    call = sim.engine.incoming(acc(sim), CLIENT, "74950000002", CallScript(outcome="missed"))
    await sim.clock.advance(3)
    assert await sim.engine.hangup("acc", call.id, side="A")
    assert call.cdr.outcome == "cancelled"
    assert not await sim.engine.hangup("acc", call.id)
    assert not await sim.engine.hangup("other", "nope")


async def test_lookup_names_responsible_who_rings_first(engine_sim):
    sim = engine_sim
    account = acc(sim)

    async def lookup(account, call):
        call.contact_name = "ЗАО Рога и копыта"
        call.responsible_id = account.state.employee_by_login("gleb").id

    account.lookup = lookup
    cdr = await finish(sim, sim.engine.incoming(account, CLIENT, "74950000001"))
    assert cdr.employee_id == emp(sim, "gleb").id and cdr.department_id is None
    # the responsible does not answer: the number's route goes on
    account.policy.rules.append(__import__("simulator.config", fromlist=["PolicyRule"]).PolicyRule(
        match="104", side="employee", result="no_answer"))
    cdr = await finish(sim, sim.engine.incoming(account, CLIENT, "74950000001"))
    assert cdr.department_id == "sales" and cdr.employee_id == emp(sim, "anna").id
    assert cdr.employee_ids[0] == emp(sim, "gleb").id


async def test_outcome_policy_by_number_pattern(engine_sim):
    sim = engine_sim
    from simulator.config import PolicyRule
    account = acc(sim)
    account.policy.rules[:] = [PolicyRule(match="7903*", side="client", result="busy"),
                               PolicyRule(match="7905*", side="client", ring_s=9, talk_s=120, hangup="B")]
    anna = emp(sim, "anna")
    assert (await finish(sim, sim.engine.outgoing(account, anna, "79031112233"))).outcome == "busy"
    cdr = await finish(sim, sim.engine.outgoing(account, anna, "79051112233"))
    assert (cdr.wait_s, cdr.talk_s, cdr.hangup_side) == (9, 120, "B")


async def test_rating_utm_and_no_record(engine_sim):
    sim = engine_sim
    cdr = await finish(sim, sim.engine.incoming(acc(sim), CLIENT, "74950000002",
                                                CallScript(rating=5, record=False, utm={"utm_source": "google"})))
    assert cdr.rating == 5 and cdr.record_file == "" and cdr.utm == {"utm_source": "google"}
    assert sim.events[-1].type == "call.rated"


async def test_instant_mode_gives_the_same_timestamps(sim_config):
    async def run(mode):
        sim = Simulator(parse_config(sim_config), Clock(mode, start=MONDAY_NOON_MSK))
        await sim.start()
        calls = [sim.engine.incoming(sim.account("acc"), f"7916000000{i}", "74950000001",
                                     CallScript(ring_s=i + 1, answer="boris", talk_s=10 * i + 5)) for i in range(5)]
        if mode == "manual":
            await sim.clock.advance(3600)
        cdrs = await asyncio.gather(*(c.done for c in calls))
        await sim.close()
        return [(c.started_at, c.answered_at, c.ended_at) for c in cdrs]

    assert await run("instant") == await run("manual")


async def test_recordings_are_valid_mp3_of_talk_length():
    data = mp3_bytes(30)
    assert data[:2] == b"\xff\xf3"
    assert abs(mp3_duration(data) - 30) < 0.1
    assert len(mp3_bytes(10**9)) < 12 * 1024 * 1024
    words = transcript("abc", 20)
    assert words == transcript("abc", 20)
    assert {w["channel"] for w in words} == {"A", "B"}
    assert all(0 <= w["startTime"] < w["endTime"] <= 20 for w in words)
