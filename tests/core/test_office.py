"""The office: lines and busy rules, hold, pause, pickup, conference, queue, congestion,
max sessions, white list, only-internal mode, on-duty routing, call-backs, and what each
provider renders of them."""

import pytest

from simulator.config import parse_config
from simulator.core.clock import Clock
from simulator.core.engine import CallScript, Conference, Hold, Transfer
from simulator.providers.phonet.models import CallViews
from simulator.providers.t2.models import Directory, call_view, live_call_json, rows_of
from simulator.providers.vats.models import render_history
from simulator.sim import Simulator

from .test_engine import CLIENT, MONDAY_NOON_MSK, config, finish

OTHER = "79167654321"


def office_config(provider="vats", **seed):
    cfg = config()
    account = cfg["accounts"][0]
    account["provider"] = provider
    numbers = account["seed"]["numbers"]
    numbers.append({"number": "74950000007", "route": {
        "type": "employee", "target": "gleb", "on_busy": {"type": "employee", "target": "boris"}}})
    numbers.append({"number": "74950000008", "route": {
        "type": "schedule", "schedule": {"sat": ["09:00-18:00"]},
        "work": {"type": "employee", "target": "gleb"}, "other": {"type": "employee", "target": "vera"}}})
    account["seed"].update(seed)
    return cfg


@pytest.fixture
async def office():
    sim = Simulator(parse_config(office_config()), Clock("manual", start=MONDAY_NOON_MSK))
    await sim.start()
    events = []
    sim.engine.subscribe(events.append)
    sim.events = events
    yield sim
    await sim.close()


def acc(sim):
    return sim.account("acc")


def emp(sim, login):
    return acc(sim).state.employee_by_login(login)


async def talking(sim, login, seconds=300, to="74950000002"):
    """A call that keeps ``login`` on the phone for ``seconds``."""
    call = sim.engine.internal(acc(sim), emp(sim, login), emp(sim, "gleb" if login != "gleb" else "anna"),
                               CallScript(outcome="answered", talk_s=seconds))
    await sim.clock.advance(3)
    assert call.state == "answered"
    return call


async def test_one_line_by_default_a_direct_call_to_a_busy_employee_is_busy(office):
    sim = office
    first = await talking(sim, "gleb")
    assert sim.engine.is_busy(acc(sim), emp(sim, "gleb"))
    second = sim.engine.incoming(acc(sim), CLIENT, "74950000002")
    await sim.clock.advance(5)
    assert second.done.done() and second.cdr.outcome == "busy" and second.cdr.hangup_side == "B"
    assert [leg.result for leg in second.legs] == ["busy"]
    await finish(sim, first)
    assert not sim.engine.is_busy(acc(sim), emp(sim, "gleb"))


async def test_call_waiting_setting_gives_a_second_line(office):
    sim = office
    acc(sim).settings["call_waiting"] = True
    await talking(sim, "gleb")
    second = sim.engine.incoming(acc(sim), CLIENT, "74950000002", CallScript(talk_s=20))
    cdr = await finish(sim, second)
    assert cdr.outcome == "answered" and cdr.employee_id == emp(sim, "gleb").id


async def test_busy_forward_follows_the_numbers_route(office):
    sim = office
    await talking(sim, "gleb")
    cdr = await finish(sim, sim.engine.incoming(acc(sim), CLIENT, "74950000007", CallScript(talk_s=40)))
    assert cdr.answered and cdr.busy_forward and cdr.employee_id == emp(sim, "boris").id
    row = call_view(cdr, Directory(acc(sim)))
    assert row.status == "ANSWERED_BY_BUSY_FORWARD_CLIENT"


async def test_department_passes_over_a_busy_member(office):
    sim = office
    acc(sim).state.departments["sales"].call_order = "BYORDER"
    await talking(sim, "anna")
    call = sim.engine.incoming(acc(sim), CLIENT, "74950000001", CallScript(talk_s=30))
    cdr = await finish(sim, call)
    assert cdr.answered and cdr.employee_id == emp(sim, "boris").id
    assert cdr.legs[0][1] == emp(sim, "boris").id   # anna was never rung


async def test_queue_when_every_member_is_busy_with_position(office):
    sim = office
    for login in ("anna", "boris", "vera"):   # every member is on the phone for 40 s
        sim.engine.outgoing(acc(sim), emp(sim, login), OTHER, CallScript(ring_s=1, talk_s=39))
    await sim.clock.advance(1)
    first = sim.engine.incoming(acc(sim), CLIENT, "74950000001", CallScript(talk_s=30))
    second = sim.engine.incoming(acc(sim), OTHER, "74950000001", CallScript(talk_s=30))
    await sim.clock.advance(1)
    queued = [e for e in sim.events if e.type == "call.queued" and e.call in (first, second)]
    assert [e.data["position"] for e in queued] == [1, 2]
    a, b = await finish(sim, first), await finish(sim, second)
    assert a.answered and a.queue_position == 1 and b.queue_position == 2
    assert call_view(a, Directory(acc(sim))).call_type == "INTERNAL_QUEUE"


async def test_scripted_queue_wait(office):
    sim = office
    cdr = await finish(sim, sim.engine.incoming(acc(sim), CLIENT, "74950000001",
                                                CallScript(queue_s=25, ring_s=4, talk_s=30)))
    assert cdr.queue_position == 1 and cdr.wait_s == 29 and cdr.talk_s == 30


async def test_click_to_call_from_a_busy_employee_is_refused(office):
    sim = office
    await talking(sim, "gleb")
    cdr = await finish(sim, sim.engine.click_to_call(acc(sim), emp(sim, "gleb"), CLIENT))
    assert cdr.outcome == "busy" and not cdr.answered and len(cdr.legs) == 1
    # no provider documents a refusal at the request: the call is taken, and its record says busy
    from simulator.providers.cloudpbx.webhooks import history_status
    from simulator.providers.vats.webhooks import history_body
    assert call_view(cdr, Directory(acc(sim))).status == "DESTINATION_BUSY"
    assert history_body(acc(sim), cdr, "http://sim")["status"] == "Busy" == history_status(cdr)
    assert CallViews(acc(sim), "http://sim").company(cdr)["disposition"] == 4


async def test_hold_and_unhold_on_a_live_call(office):
    sim = office
    call = sim.engine.incoming(acc(sim), CLIENT, "74950000002", CallScript(talk_s=100))
    await sim.clock.advance(1)
    assert not sim.engine.hold("acc", call.id)   # not answered yet
    await sim.clock.advance(10)
    assert sim.engine.hold("acc", call.id) and call.on_hold
    assert not sim.engine.hold("acc", call.id)   # already on hold
    await sim.clock.advance(15)
    assert sim.engine.unhold("acc", call.id) and not call.on_hold
    cdr = await finish(sim, call)
    assert cdr.hold_s == 15 and cdr.talk_s == 100
    assert [e.type for e in sim.events if e.type in ("call.held", "call.unheld")] == ["call.held", "call.unheld"]


async def test_scripted_holds(office):
    sim = office
    cdr = await finish(sim, sim.engine.incoming(acc(sim), CLIENT, "74950000002",
                                                CallScript(talk_s=90, holds=[Hold(20, 30)])))
    assert cdr.hold_s == 30 and cdr.holds[0][0] - cdr.answered_at == 20


async def test_pause_is_not_rung_and_has_phonet_records(office):
    sim = office
    gleb = emp(sim, "gleb")
    record = sim.engine.pause(acc(sim), gleb, True)
    assert record is not None and sim.engine.pause(acc(sim), gleb, True) is None
    cdr = await finish(sim, sim.engine.incoming(acc(sim), CLIENT, "74950000002"))
    assert cdr.outcome == "dnd"
    sim.engine.pause(acc(sim), gleb, False)
    views = CallViews(acc(sim), "http://sim")
    rows = [views.pause(p) for p in acc(sim).state.pauses]
    assert [r["lgDirection"] for r in rows] == [32, 64]
    assert rows[0]["leg"]["ext"] == "104" and rows[0]["otherLegNum"] is None and rows[0]["trunk"] is None


async def test_pickup(office):
    sim = office
    cdr = await finish(sim, sim.engine.incoming(acc(sim), CLIENT, "74950000002",
                                                CallScript(pickup="vera", ring_s=6, talk_s=50)))
    assert cdr.answered and cdr.employee_id == emp(sim, "vera").id and cdr.pickup_from == emp(sim, "gleb").id
    assert cdr.wait_s == 6 and cdr.talk_s == 50
    rows = [call_view(c, Directory(acc(sim))) for c in rows_of([cdr])]
    assert [(r.call_type, r.status) for r in rows] == [("MULTI_CHANNEL", "CANCELLED_BY_PICKUP"),
                                                      ("PICKUP_CALL", "ANSWERED_BY_NO_ANSWER_FORWARD_CLIENT")]
    assert rows[0].callee_name == "Орлов Глеб"


async def test_conference_of_three(office):
    sim = office
    call = sim.engine.incoming(acc(sim), CLIENT, "74950000002",
                               CallScript(talk_s=60, conference=[Conference("anna", 20)]))
    await sim.clock.advance(30)
    assert live_call_json(call, Directory(acc(sim)))["callType"] == "CONFERENCE"
    assert sim.engine.is_busy(acc(sim), emp(sim, "anna"))
    cdr = await finish(sim, call)
    assert cdr.conference == ("101",) and call_view(cdr, Directory(acc(sim))).call_type == "CONFERENCE"
    assert "call.conference" in [e.type for e in sim.events]


async def test_congestion_tries_every_line(office):
    sim = office
    lines = list(acc(sim).state.numbers)
    cdr = await finish(sim, sim.engine.outgoing(acc(sim), emp(sim, "anna"), CLIENT,
                                                CallScript(outcome="congestion", ring_s=2), clid=lines[0]))
    assert cdr.outcome == "congestion" and cdr.trunks == tuple(lines[:3]) and cdr.duration_s == 2
    record = CallViews(acc(sim), "http://sim").company(cdr)
    assert record["disposition"] == 2 and record["trunk"] == "".join(f"o={n};" for n in lines[:3])


async def test_congestion_when_the_lines_are_full(office):
    sim = office
    lines = list(acc(sim).state.numbers)
    for n in acc(sim).state.numbers.values():
        n.channels = 1 if n.number in lines[:2] else 0
        n.enabled = n.number in lines[:2]
    sim.engine.outgoing(acc(sim), emp(sim, "boris"), OTHER, CallScript(talk_s=100), clid=lines[0])
    second = sim.engine.outgoing(acc(sim), emp(sim, "vera"), OTHER, CallScript(talk_s=100), clid=lines[0])
    await sim.clock.advance(1)
    assert second.trunk == lines[1] and second.trunks == [lines[0], lines[1]]
    third = await finish(sim, sim.engine.outgoing(acc(sim), emp(sim, "gleb"), CLIENT, clid=lines[0]), 1)
    assert third.outcome == "congestion" and third.trunks == (lines[0], lines[1])


async def test_max_sessions(office):
    sim = office
    acc(sim).state.max_sessions = 1
    first = sim.engine.incoming(acc(sim), CLIENT, "74950000002", CallScript(talk_s=30))
    second = sim.engine.incoming(acc(sim), OTHER, "74950000001")
    await sim.clock.advance(1)
    assert second.done.done() and second.cdr.outcome == "max_sessions"
    assert call_view(second.cdr, Directory(acc(sim))).status == "DENIED_DUE_TO_MAX_SESSION"
    await finish(sim, first)
    third = await finish(sim, sim.engine.incoming(acc(sim), OTHER, "74950000001", CallScript(talk_s=5)))
    assert third.answered


async def test_white_list(office):
    sim = office
    acc(sim).state.white_list = ["7916123*"]
    ok = await finish(sim, sim.engine.incoming(acc(sim), CLIENT, "74950000002", CallScript(talk_s=5)))
    refused = await finish(sim, sim.engine.incoming(acc(sim), OTHER, "74950000002"))
    assert ok.answered and refused.outcome == "not_in_white_list"
    assert call_view(refused, Directory(acc(sim))).status == "DENIED_NOT_IN_WHITE_LIST"


async def test_only_internal_mode(office):
    sim = office
    gleb = emp(sim, "gleb")
    gleb.only_internal = True
    incoming = await finish(sim, sim.engine.incoming(acc(sim), CLIENT, "74950000002"))
    outgoing = await finish(sim, sim.engine.outgoing(acc(sim), gleb, CLIENT))
    internal = await finish(sim, sim.engine.internal(acc(sim), gleb, emp(sim, "anna"), CallScript(talk_s=5)))
    assert incoming.outcome == outgoing.outcome == "only_internal" and internal.answered
    status = {call_view(c, Directory(acc(sim))).status for c in (incoming, outgoing)}
    assert status == {"DENIED_DUE_TO_ONLY_INTERNAL_CALLS_ENABLED"}


async def test_on_duty_routing(office):
    sim = office
    cdr = await finish(sim, sim.engine.incoming(acc(sim), CLIENT, "74950000008", CallScript(talk_s=5)))
    assert cdr.on_duty and cdr.employee_id == emp(sim, "vera").id
    assert render_history(acc(sim), cdr, "http://sim")["destination"] == "onduty"


async def test_a_call_back_of_a_missed_call(office):
    sim = office
    missed = await finish(sim, sim.engine.incoming(acc(sim), CLIENT, "74950000002", CallScript(outcome="missed")))
    assert not missed.answered
    back = await finish(sim, sim.engine.click_to_call(acc(sim), emp(sim, "gleb"), CLIENT, CallScript(talk_s=5)))
    again = await finish(sim, sim.engine.outgoing(acc(sim), emp(sim, "gleb"), CLIENT, CallScript(talk_s=5)))
    assert back.missed_callback and not again.missed_callback
    assert call_view(back, Directory(acc(sim))).call_type == "CRM_CALLBACK"


async def test_transfer_to_a_busy_colleague_is_not_made(office):
    sim = office
    await talking(sim, "anna")   # with gleb
    cdr = await finish(sim, sim.engine.incoming(acc(sim), CLIENT, "74950000001",
                                                CallScript(answer="vera", talk_s=60, transfers=[Transfer("anna", 10)])))
    assert cdr.answered and cdr.employee_id == emp(sim, "vera").id and cdr.transfers == ()


async def test_every_timing_is_honoured(office):
    sim = office
    busy = await finish(sim, sim.engine.outgoing(acc(sim), emp(sim, "gleb"), CLIENT,
                                                 CallScript(outcome="busy", ring_s=9)))
    missed = await finish(sim, sim.engine.outgoing(acc(sim), emp(sim, "gleb"), CLIENT,
                                                   CallScript(outcome="missed", ring_s=17)))
    vm = await finish(sim, sim.engine.incoming(acc(sim), CLIENT, "74950000005", CallScript(ring_s=2, talk_s=41)))
    dept = await finish(sim, sim.engine.incoming(acc(sim), CLIENT, "74950000001",
                                                 CallScript(outcome="missed", ring_s=12)))
    assert (busy.outcome, busy.duration_s) == ("busy", 9)
    assert (missed.outcome, missed.duration_s) == ("missed", 17)
    assert (vm.outcome, vm.duration_s) == ("voicemail", 43)
    assert (dept.outcome, dept.duration_s) == ("missed", 12)
