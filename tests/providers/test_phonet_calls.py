"""Phonet calls: makeCall, active calls v3, hangup, call history (company / missed / users)
with timeFrom/timeTo in ms, directions in all client encodings, limit/offset paging, and the
public recording links."""

from __future__ import annotations

import pytest

from simulator.core.engine import CallScript, Transfer
from simulator.core.models import CallRecord
from simulator.core.recordings import mp3_duration

from .test_phonet_auth import ACCOUNT, login
from .test_phonet_webhooks import CLIENT, DIRECT, SALES, incoming, run

USERS = "/rest/calls/users.api"
COMPANY = "/rest/calls/company.api"
MISSED = "/rest/calls/missed.api"
RECORD_KEYS = ["parentUuid", "uuid", "endAt", "lgDirection", "otherLegNum", "otherLegName", "leg", "leg2",
               "billSecs", "duration", "disposition", "transferHistory", "audioRecUrl", "trunk"]


def hleg(emp_id: int) -> dict:
    from .test_phonet_webhooks import EMP
    ext, name = EMP[emp_id]
    return {"id": emp_id, "type": 1, "displayName": name, "ext": ext}


@pytest.fixture
async def headers(client, sim):
    return await login(client, sim)


def window(sim, before: float = 3600, after: float = 3600) -> str:
    now = sim.clock.timestamp()
    return f"timeFrom={int((now - before) * 1000)}&timeTo={int((now + after) * 1000)}"


# ---- makeCall ----------------------------------------------------------------------------------

async def test_make_call_returns_uuid_and_the_call_is_live(client, sim, headers):
    resp = await client.post("/rest/user/makeCall", json={"legExt": "101", "otherLegNum": "+380993034330"},
                             headers=headers)
    assert resp.status == 200 and resp.content_type == "application/json"
    body = await resp.json()
    assert list(body) == ["uuid"] and len(body["uuid"]) == 32
    live = sim.engine.get_live(ACCOUNT, body["uuid"])
    assert live is not None and live.client == "+380993034330" and live.click_to_call


@pytest.mark.parametrize("body,status,text", [
    ({"otherLegNum": "+380993034330"}, 400, "Bad request: legExt is required"),
    ({"legExt": "101"}, 400, "Bad request: otherLegNum is required"),
    ({"legExt": "", "otherLegNum": "+380993034330"}, 400, "Bad request: legExt is required"),
    ({"legExt": "101", "otherLegNum": "abc"}, 400, "Bad request: otherLegNum is invalid"),
    ({"legExt": [1], "otherLegNum": "+380993034330"}, 400, "Bad request: legExt is invalid"),
    ({"legExt": "999", "otherLegNum": "+380993034330"}, 404, "User not found"),
])
async def test_make_call_errors_are_plain_text_and_start_nothing(client, sim, headers, body, status, text):
    resp = await client.post("/rest/user/makeCall", json=body, headers=headers)
    assert resp.status == status
    assert resp.content_type == "text/plain"
    assert await resp.text() == text
    assert sim.engine.live_calls(ACCOUNT) == []


async def test_make_call_bad_json_is_400(client, sim, headers):
    resp = await client.post("/rest/user/makeCall", data=b"{oops", headers=headers)
    assert resp.status == 400 and await resp.text() == "Bad request: body is not valid JSON"


async def test_strict_content_type_setting(client, sim, headers):
    sim.account(ACCOUNT).switches["strict_content_type"] = True
    resp = await client.post("/rest/user/makeCall", data=b'{"legExt":"101","otherLegNum":"+380993034330"}',
                             headers={**headers, "Content-Type": "text/plain"})
    assert resp.status == 415 and await resp.text() == "Unsupported Media Type"


# ---- active calls and hangup -------------------------------------------------------------------

async def test_active_calls_show_last_event_and_leave_after_hangup(client, sim, headers):
    resp = await client.post("/rest/user/makeCall", json={"legExt": "101", "otherLegNum": CLIENT},
                             headers=headers)
    uuid = (await resp.json())["uuid"]
    t0 = int(sim.clock.timestamp())
    await run(sim, 1)
    active = await (await client.get("/rest/calls/active/v3", headers=headers)).json()
    assert active == [{"uuid": uuid, "parentUuid": None, "lastEvent": "call.dial", "dialAt": t0,
                       "bridgeAt": None, "lgDirection": 2,
                       "leg": {"id": 1, "ext": "101", "displayName": "Каденюк Трохим"}, "leg2": None,
                       "otherLegs": [{"id": None, "name": None, "num": CLIENT, "companyName": None,
                                      "url": None, "priority": 1}],
                       "trunkNum": DIRECT, "trunkName": DIRECT}]
    await run(sim, 10)
    active = await (await client.get("/rest/calls/active/v3", headers=headers)).json()
    assert active[0]["lastEvent"] == "call.bridge" and active[0]["bridgeAt"] == t0 + 7
    resp = await client.get(f"/rest/calls/active/{uuid}/hangup", headers=headers)
    assert resp.status == 200 and await resp.read() == b""
    assert await (await client.get("/rest/calls/active/v3", headers=headers)).json() == []
    cdr = sim.account(ACCOUNT).state.cdrs.get(uuid)
    assert cdr is not None and cdr.answered
    resp = await client.get(f"/rest/calls/active/{uuid}/hangup", headers=headers)
    assert resp.status == 404 and await resp.text() == "Call not found"


async def test_hangup_fires_call_hangup_and_writes_history(client, sim, headers, crm):
    from conftest import point_crm
    point_crm(sim, ACCOUNT, crm.url)
    call = incoming(sim, outcome="answered", ring_s=2, talk_s=600)
    await run(sim, 10)
    dashed = f"{call.id[:8]}-{call.id[8:12]}-{call.id[12:16]}-{call.id[16:20]}-{call.id[20:]}".upper()
    resp = await client.get(f"/rest/calls/active/{dashed}/hangup", headers=headers)
    assert resp.status == 200
    assert await sim.webhooks.drain()
    events = [r.json for r in crm.received if "event" in r.json]
    assert [e["event"] for e in events] == ["call.dial", "call.bridge", "call.hangup"]
    assert events[-1]["serverTime"] == round(sim.clock.timestamp() * 1000)   # webhooks: ms
    records = await (await client.get(f"{COMPANY}?{window(sim)}", headers=headers)).json()
    assert [r["uuid"] for r in records] == [call.id]
    assert records[0]["billSecs"] == 8 and records[0]["disposition"] == 0


async def test_hangup_of_a_department_child_leg(client, sim, headers):
    call = incoming(sim, to=SALES, outcome="answered", answer="102", ring_s=5, talk_s=600)
    await run(sim, 1)
    active = await (await client.get("/rest/calls/active/v3", headers=headers)).json()
    assert len(active) == 4 and {a["parentUuid"] for a in active} == {call.id}
    resp = await client.get(f"/rest/calls/active/{active[0]['uuid']}/hangup", headers=headers)
    assert resp.status == 200
    assert sim.engine.get_live(ACCOUNT, call.id) is None


async def test_hangup_unknown_is_404(client, sim, headers):
    resp = await client.get("/rest/calls/active/0123456789abcdef0123456789abcdef/hangup", headers=headers)
    assert resp.status == 404 and await resp.text() == "Call not found"


# ---- history -----------------------------------------------------------------------------------

async def _calls(sim):
    """An answered incoming, a missed department call, an outgoing and an internal call."""
    state = sim.account(ACCOUNT).state
    a = incoming(sim, outcome="answered", ring_s=3, talk_s=20)
    await run(sim, 60)
    b = incoming(sim, to=SALES, caller="+380671234567", outcome="missed")
    await run(sim, 200)
    c = sim.engine.outgoing(sim.account(ACCOUNT), state.employees[2], "+380993034330",
                            CallScript(outcome="answered", ring_s=4, talk_s=10))
    await run(sim, 60)
    d = sim.engine.internal(sim.account(ACCOUNT), state.employees[1], state.employees[3],
                            CallScript(outcome="answered", ring_s=1, talk_s=3))
    await run(sim, 60)
    return a, b, c, d


async def test_company_calls_records_have_every_field(client, sim, headers):
    a, b, c, d = await _calls(sim)
    resp = await client.get(f"{COMPANY}?{window(sim)}", headers=headers)
    assert resp.status == 200
    every = await resp.json()
    for r in every:
        assert list(r) == RECORD_KEYS
    # the root calls, newest end first; the missed group call's legs are listed with it
    records = [r for r in every if r["parentUuid"] is None]
    assert [r["uuid"] for r in records] == [d.id, c.id, b.id, a.id]
    legs = [r for r in every if r["parentUuid"] is not None]
    assert {r["parentUuid"] for r in legs} == {b.id}
    assert {r["uuid"] for r in legs} == {lg[0] for lg in b.cdr.legs} and b.id not in {r["uuid"] for r in legs}
    assert all(r["leg"]["type"] == 1 and r["disposition"] == 1 for r in legs)
    base = sim.public_url
    assert records[3] == {
        "parentUuid": None, "uuid": a.id, "endAt": round(a.cdr.ended_at * 1000), "lgDirection": 4,
        "otherLegNum": CLIENT, "otherLegName": CLIENT, "leg": hleg(1), "leg2": None, "billSecs": 20,
        "duration": 23, "disposition": 0, "transferHistory": "101",
        "audioRecUrl": f"{base}/rest/public/calls/{a.id}/audio", "trunk": "o=380441108708;"}
    missed = records[2]
    assert missed["leg"] == {"id": 1, "type": 2, "displayName": "Відділ продажів", "ext": "701"}
    assert missed["disposition"] == 1 and missed["billSecs"] == 0 and missed["audioRecUrl"] is None
    assert missed["transferHistory"] is None and missed["trunk"] == "o=380440790042;"
    out = records[1]
    assert out["lgDirection"] == 2 and out["leg"] == hleg(2) and out["otherLegNum"] == "+380993034330"
    assert out["transferHistory"] == "102" and out["billSecs"] == 10
    internal = records[0]
    assert internal["lgDirection"] == 1 and internal["leg"] == hleg(1) and internal["leg2"] == hleg(3)
    assert internal["otherLegNum"] is None and internal["otherLegName"] is None
    assert internal["trunk"] is None and internal["transferHistory"] is None


@pytest.mark.parametrize("query,expected", [
    ("directions=4", {4}),
    ("directions=2&directions=4", {2, 4}),
    ("directions[0]=2&directions[1]=4", {2, 4}),
    ("directions%5B0%5D=1&directions%5B1%5D=2", {1, 2}),
    ("directions=6", {2, 4}),
    ("directions=2,1", {1, 2}),
    ("", {1, 2, 4}),
])
async def test_directions_every_encoding(client, sim, headers, query, expected):
    await _calls(sim)
    resp = await client.get(f"{COMPANY}?{window(sim)}&{query}", headers=headers)
    assert resp.status == 200
    assert {r["lgDirection"] for r in await resp.json()} == expected


@pytest.mark.parametrize("query,text", [
    ("timeTo=1", "Bad request: timeFrom is required"),
    ("timeFrom=1", "Bad request: timeTo is required"),
    ("timeFrom=abc&timeTo=1", "Bad request: timeFrom must be an integer"),
    ("timeFrom=-1&timeTo=1", "Bad request: timeFrom must not be negative"),
    ("timeFrom=10&timeTo=5", "Bad request: timeTo must not be less than timeFrom"),
    ("timeFrom=0&timeTo=5&limit=51", "Bad request: limit must be between 1 and 50"),
    ("timeFrom=0&timeTo=5&limit=0", "Bad request: limit must be between 1 and 50"),
    ("timeFrom=0&timeTo=5&offset=-1", "Bad request: offset must not be negative"),
    ("timeFrom=0&timeTo=5&directions=8", "Bad request: directions is invalid"),
    ("timeFrom=0&timeTo=5&directions=32", "Bad request: directions is invalid"),
    ("timeFrom=0&timeTo=5&directions=x", "Bad request: directions is invalid"),
])
async def test_company_bad_parameters_are_400(client, sim, headers, query, text):
    resp = await client.get(f"{COMPANY}?{query}", headers=headers)
    assert resp.status == 400 and resp.content_type == "text/plain"
    assert await resp.text() == text


async def test_limit_clamp_setting(client, sim, headers):
    sim.account(ACCOUNT).switches["calls_limit_overflow"] = "clamp"
    resp = await client.get(f"{COMPANY}?timeFrom=0&timeTo=5&limit=500", headers=headers)
    assert resp.status == 200


async def test_window_filters_on_end_time_half_open(client, sim, headers):
    a, *_ = await _calls(sim)
    end = round(a.cdr.ended_at * 1000)
    got = await (await client.get(f"{COMPANY}?timeFrom={end}&timeTo={end + 1}", headers=headers)).json()
    assert [r["uuid"] for r in got] == [a.id]
    got = await (await client.get(f"{COMPANY}?timeFrom={end - 1000}&timeTo={end}", headers=headers)).json()
    assert got == []


@pytest.fixture
def bulk(sim):
    """120 answered incoming calls, one a minute, loaded straight into the store."""
    state = sim.account(ACCOUNT).state
    t0 = sim.clock.timestamp() - 3 * 3600
    for i in range(120):
        start = t0 + i * 60
        state.cdrs.add(CallRecord(
            id=f"{i:032x}", direction="in", caller=f"+38050{i:07d}", callee=DIRECT, started_at=start,
            ended_at=start + 30 + (i % 7), outcome="answered", answered_at=start + 5,
            client=f"+38050{i:07d}", trunk=DIRECT, employee_id=1, employee_ids=(1,),
            record_file=f"f{i}", legs=((f"{i:032x}", 1, start, start + 5, start + 30 + (i % 7)),)))
    return t0


async def test_paging_with_offset_until_a_short_page(client, sim, headers, bulk):
    q = f"timeFrom={int(bulk * 1000)}&timeTo={int((bulk + 3 * 3600) * 1000)}"
    seen = []
    offset = 0
    while True:
        page = await (await client.get(f"{COMPANY}?{q}&limit=50&offset={offset}", headers=headers)).json()
        seen += page
        offset += len(page)
        if len(page) < 50:
            break
    assert len(seen) == 120 and offset == 120
    ends = [r["endAt"] for r in seen]
    assert ends == sorted(ends, reverse=True)
    assert len({r["uuid"] for r in seen}) == 120
    default = await (await client.get(f"{COMPANY}?{q}", headers=headers)).json()
    assert len(default) == 50 and default == seen[:50]


async def test_large_store_query_stays_bounded(client, sim, headers):
    """100,000 records over a day: a 50-record page walks only the tail of the window."""
    import time
    state = sim.account(ACCOUNT).state
    t0 = sim.clock.timestamp() - 86400
    state.cdrs.extend_sorted(
        CallRecord(id=f"{i:032x}", direction="out", caller="101", callee="+380501234567",
                   started_at=t0 + i * 0.864, ended_at=t0 + i * 0.864 + 40, outcome="answered",
                   answered_at=t0 + i * 0.864 + 5, client="+380501234567", trunk=DIRECT, employee_id=1)
        for i in range(100_000))
    q = f"timeFrom={int(t0 * 1000)}&timeTo={int((t0 + 86400) * 1000)}&limit=50"
    await client.get(f"{COMPANY}?{q}", headers=headers)   # first query computes the digest
    started = time.perf_counter()
    page = await (await client.get(f"{COMPANY}?{q}", headers=headers)).json()
    elapsed = time.perf_counter() - started
    assert len(page) == 50 and page[0]["endAt"] >= page[-1]["endAt"]
    assert elapsed < 0.25


async def test_missed_calls_are_unanswered_incoming_not_called_back(client, sim, headers):
    state = sim.account(ACCOUNT).state
    m1 = incoming(sim, caller="+380671234567", outcome="missed")
    await run(sim, 100)
    m2 = incoming(sim, caller="+380631111111", outcome="missed")
    await run(sim, 100)
    got = await (await client.get(f"{MISSED}?{window(sim)}", headers=headers)).json()
    assert [r["uuid"] for r in got] == [m2.id, m1.id]
    assert all(r["lgDirection"] == 4 and r["disposition"] != 0 and r["parentUuid"] is None for r in got)
    # calling m1's number back (answered) takes it off the list
    sim.engine.outgoing(sim.account(ACCOUNT), state.employees[2], "+380671234567",
                        CallScript(outcome="answered", ring_s=2, talk_s=5))
    await run(sim, 60)
    got = await (await client.get(f"{MISSED}?{window(sim)}&directions=1", headers=headers)).json()
    assert [r["uuid"] for r in got] == [m2.id]          # directions is ignored here


async def test_users_calls_per_employee_leg(client, sim, headers):
    dept = incoming(sim, to=SALES, answer="102", ring_s=4, talk_s=10)
    await run(sim, 120)
    got = await (await client.get(f"{USERS}?{window(sim)}", headers=headers)).json()
    assert len(got) == 4
    assert {r["parentUuid"] for r in got} == {dept.id}
    assert all(list(r) == RECORD_KEYS and r["leg"]["type"] == 1 for r in got)
    won = next(r for r in got if r["leg"]["id"] == 2)
    assert won["disposition"] == 0 and won["billSecs"] == 10 and won["transferHistory"] == "102"
    assert won["audioRecUrl"] == f"{sim.public_url}/rest/public/calls/{won['uuid']}/audio"
    lost = [r for r in got if r["leg"]["id"] != 2]
    assert all(r["disposition"] == 1 and r["audioRecUrl"] is None and r["billSecs"] == 0 for r in lost)
    company = await (await client.get(f"{COMPANY}?{window(sim)}", headers=headers)).json()
    root = [r for r in company if r["parentUuid"] is None]
    assert [r["uuid"] for r in root] == [dept.id]
    assert root[0]["leg"]["type"] == 2 and root[0]["transferHistory"] == "102"
    # each member's leg is there too, as users.api has it (every webhook uuid is in company.api)
    assert sorted((r for r in company if r["parentUuid"]), key=lambda r: r["uuid"]) == \
        sorted(got, key=lambda r: r["uuid"])


async def test_users_calls_transfer_and_directions(client, sim, headers):
    call = incoming(sim, outcome="answered", ring_s=2, talk_s=30, transfers=[Transfer(to="103", after_s=10)])
    await run(sim, 120)
    got = await (await client.get(f"{USERS}?{window(sim)}", headers=headers)).json()
    assert {r["uuid"] for r in got} == {call.id, call.cdr.legs[1][0]}
    company = await (await client.get(f"{COMPANY}?{window(sim)}", headers=headers)).json()
    root = next(r for r in company if r["uuid"] == call.id)
    assert root["transferHistory"] == "101 > 103" and root["leg"] == hleg(3)
    assert {r["uuid"] for r in company} == {call.id, call.cdr.legs[1][0]}
    pause = await client.get(f"{USERS}?{window(sim)}&directions=32&directions=64", headers=headers)
    assert pause.status == 200 and await pause.json() == []
    bad = await client.get(f"{USERS}?{window(sim)}&directions=8", headers=headers)
    assert bad.status == 400


async def test_make_call_uuid_is_the_same_everywhere(client, sim, headers):
    resp = await client.post("/rest/user/makeCall", json={"legExt": "101", "otherLegNum": CLIENT},
                             headers=headers)
    uuid = (await resp.json())["uuid"]
    await run(sim, 120)
    company = await (await client.get(f"{COMPANY}?{window(sim)}", headers=headers)).json()
    users = await (await client.get(f"{USERS}?{window(sim)}", headers=headers)).json()
    assert [r["uuid"] for r in company] == [uuid] and [r["uuid"] for r in users] == [uuid]
    assert company[0]["audioRecUrl"].endswith(f"/rest/public/calls/{uuid}/audio")
    audio = await client.get(f"/rest/public/calls/{uuid}/audio")
    assert audio.status == 200 and audio.content_type == "audio/mpeg"


# ---- recordings --------------------------------------------------------------------------------

async def test_recording_of_an_answered_call_and_its_channels(client, sim):
    call = incoming(sim, outcome="answered", ring_s=2, talk_s=12)
    await run(sim, 5)
    assert (await client.get(f"/rest/public/calls/{call.id}/audio")).status == 404   # still talking
    await run(sim, 60)
    files = {}
    for suffix in ("", "-rx", "-tx"):
        resp = await client.get(f"/rest/public/calls/{call.id}{suffix}/audio")
        assert resp.status == 200 and resp.content_type == "audio/mpeg"
        data = files[suffix] = await resp.read()
        assert data[:2] == b"\xff\xf3" and 11.5 <= mp3_duration(data) <= 13
    # the mixed file has both sides (dual channel, mode bits 10), each side is its own mono file
    assert files[""][3] >> 6 == 0b10 and files["-rx"][3] >> 6 == files["-tx"][3] >> 6 == 0b11
    assert len(set(files.values())) == 3
    dashed = f"{call.id[:8]}-{call.id[8:12]}-{call.id[12:16]}-{call.id[16:20]}-{call.id[20:]}"
    assert (await client.get(f"/rest/public/calls/{dashed.upper()}/audio")).status == 200
    sim.account(ACCOUNT).switches["split_recording"] = False
    resp = await client.get(f"/rest/public/calls/{call.id}-rx/audio")
    assert resp.status == 404 and await resp.text() == "Record not found"


async def test_no_recording_for_unanswered_call(client, sim):
    call = incoming(sim, outcome="missed")
    await run(sim, 120)
    resp = await client.get(f"/rest/public/calls/{call.id}/audio")
    assert resp.status == 404 and await resp.text() == "Record not found"


# ---- users -------------------------------------------------------------------------------------

async def test_users_list(client, sim, headers):
    resp = await client.get("/rest/users", headers=headers)
    users = await resp.json()
    assert users[0] == {"id": 1, "displayName": "Каденюк Трохим", "ext": "101",
                        "email": "tkadenyuk@test4.phonet.com.ua"}
    assert [u["ext"] for u in users] == ["101", "102", "103", "104", "105", "106"]
    assert all(list(u) == ["id", "displayName", "ext", "email"] for u in users)


async def test_user_status(client, sim, headers):
    get = lambda: client.get("/rest/user/status", headers=headers)   # noqa: E731
    assert await (await get()).json() == {"status": 2}                # no api_user_id
    account = sim.account(ACCOUNT)
    account.settings["api_user_id"] = 3
    assert await (await get()).json() == {"status": 0}
    account.state.employees[3].status = "offline"
    assert await (await get()).json() == {"status": 1}


async def test_pause_records_and_events(client, sim, headers, crm):
    from conftest import point_crm
    point_crm(sim, ACCOUNT, crm.url)
    account = sim.account(ACCOUNT)
    emp = account.state.find_employee("101")
    sim.engine.pause(account, emp, True)
    await run(sim, 60)
    sim.engine.pause(account, emp, False)
    call = incoming(sim, outcome="answered", ring_s=2, talk_s=30)
    await run(sim, 120)
    assert await sim.webhooks.drain()
    paused = [r.json for r in crm.received if r.json.get("lgDirection") in (32, 64)]
    assert [(e["event"], e["lgDirection"]) for e in paused] == [
        ("call.dial", 32), ("call.hangup", 32), ("call.dial", 64), ("call.hangup", 64)]
    assert paused[0]["leg"]["ext"] == "101" and paused[0]["bridgeAt"] is None
    assert all(e["leg2"] is None and e["otherLegs"] is None and e["trunkNum"] is None for e in paused)
    got = await (await client.get(f"{USERS}?{window(sim)}&directions=32&directions=64", headers=headers)).json()
    assert [r["lgDirection"] for r in got] == [64, 32]   # newest first
    assert all(list(r) == RECORD_KEYS and r["leg"] == hleg(1) and r["duration"] == 0 for r in got)
    default = await (await client.get(f"{USERS}?{window(sim)}", headers=headers)).json()
    assert {r["uuid"] for r in default} == {call.id}   # 32/64 only when asked for
    everything = await (await client.get(f"{USERS}?{window(sim)}&directions=103", headers=headers)).json()
    assert len(everything) == 3
