"""t2 CRM OpenAPI: monitoring, employees, click-to-call, statistics, call records — driven
through HTTP on a manual clock, calls run by the core engine."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest

from simulator.core.engine import CallScript
from simulator.core.models import Employee
from simulator.core.recordings import mp3_duration, transcript
from simulator.providers.t2.auth import company_id
from simulator.providers.t2.models import full_number

BASE = "/crm/openapi"
START = datetime(2025, 6, 2, 7, 0, tzinfo=timezone.utc)   # Monday, 10:00 in Moscow
WINDOW = {"start": "2025-06-02T00:00:00+03:00", "end": "2025-06-03T00:00:00+03:00"}
CLIENT_A = "79001110001"
CLIENT_B = "79001110002"


@pytest.fixture
async def t2(sim):
    await sim.clock.set(START)
    sim.regenerate("t2")
    return sim.account("t2")


@pytest.fixture
def api(client, t2):
    async def call(method: str, path: str, **kwargs):
        headers = {"Authorization": t2.credentials["access_token"], **kwargs.pop("headers", {})}
        return await client.request(method, BASE + path, headers=headers, **kwargs)
    return call


async def finish(sim, call):
    while call.state != "ended":
        await sim.clock.advance(10)
    return call.cdr


def department_number(account) -> str:
    return next(n.number for n in account.state.numbers.values() if n.route.type == "department")


def bad_request(name: str) -> dict:
    return {"details": "Bad request", "message": f"Wrong parameter {name}"}


def not_present(name: str, java_type: str) -> dict:
    return {"details": f"Required request parameter '{name}' for method parameter type {java_type} is not present",
            "message": "Some of fields empty"}


def converted_to_null(name: str, java_type: str) -> dict:
    return {"details": f"Required request parameter '{name}' for method parameter type {java_type} is present "
                       "but converted to null", "message": "Some of fields empty"}


# ---- employees ------------------------------------------------------------------------------

async def test_employees(api, t2):
    t2.state.employees[99] = Employee(id=99, login="bare", ext="", name="", email="", mobile="")
    r = await api("GET", "/employees")
    assert r.status == 200
    assert r.content_type == "application/json"
    items = await r.json()
    assert len(items) == len(t2.state.employees)
    first = t2.state.employees[1]
    assert items[0] == {"employeeId": 1, "name": first.first_name, "surname": first.last_name,
                        "fullNumber": full_number(first), "shortNumber": first.ext, "email": first.email,
                        "groupName": t2.state.departments_of(1)[0].name}
    assert items[-1] == {"employeeId": 99}   # fields without a value are left out
    assert (await api("GET", "/employees/")).status == 200


# ---- click-to-call → monitoring → call records → statistics -----------------------------------

async def test_click_to_call_through_monitoring_to_records_and_statistics(api, sim, t2):
    emp = t2.state.employees[2]
    full = full_number(emp)
    r = await api("POST", "/call/outgoing", params={"destination": "79001234567", "source": full})
    assert r.status == 200
    assert await r.read() == b""
    await sim.clock.advance(0)
    caller = {"callType": "SINGLE_CHANNEL", "callerNumberShort": emp.ext, "callerNumberFull": full}
    r = await api("GET", "/monitoring/calls")
    assert await r.json() == [caller]   # the employee's phone rings: B not reached yet
    await sim.clock.advance(2)          # the employee picks up, the client's phone rings
    assert await (await api("GET", "/monitoring/calls")).json() == [{**caller, "calledNumberFull": "79001234567"}]
    await sim.clock.advance(5)          # the client answers: they talk
    assert await (await api("GET", "/monitoring/calls")).json() == [{**caller, "calledNumberFull": "79001234567"}]
    await sim.clock.advance(30)
    assert await (await api("GET", "/monitoring/calls")).json() == []

    r = await api("GET", "/call-records/info", params=WINDOW)
    assert r.status == 200
    records = await r.json()
    assert len(records) == 1
    record = records[0]
    file_name = record.pop("recordFileName")
    assert re.fullmatch(r"2025-06-02/\d+", file_name)
    assert record == {
        "callTimestamp": "2025-06-02T07:00:00.000Z", "date": "2025-06-02T07:00:00.000Z",
        "callType": "CRM_OUTGOING", "destinationNumber": "79001234567", "callerNumber": full,
        "callerName": emp.name, "calleeNumber": "79001234567", "calleeName": "",
        "callDuration": 37, "conversationDuration": 30, "callStatus": "ANSWERED_BY_ORIGINAL_CLIENT"}

    r = await api("GET", "/call-records/file", params={"filename": file_name},
                  headers={"Content-Type": "audio/mpeg"})
    assert r.status == 200
    assert r.content_type == "audio/mpeg"
    audio = await r.read()
    assert audio[:2] == b"\xff\xf3" and abs(mp3_duration(audio) - 30) < 0.1
    r = await api("GET", "/call-records/file/stt", params={"filename": file_name})
    assert r.status == 200
    words = await r.json()
    cdr = t2.state.cdrs.by_file(file_name)
    assert words == transcript(cdr.id, 30) and words
    assert {w["channel"] for w in words} <= {"A", "B"}
    assert set(words[0]) == {"channel", "startTime", "endTime", "word"}
    # the older document (seed 001) names it Filename
    r = await api("GET", "/call-records/file/stt", params={"Filename": file_name})
    assert r.status == 200 and await r.json() == words

    stats = await (await api("GET", "/statistics/common", params=WINDOW)).json()
    assert (stats["allCallCount"], stats["successCallCount"], stats["outgoingCallCount"],
            stats["commonCallDuration"], stats["maxCallDuration"]) == (1, 1, 1, 30, 30)
    journal = await (await api("GET", "/statistics/journal", params={**WINDOW, "number": full})).json()
    assert journal == {"number": full, "startTimestamp": int(START.timestamp()) - 10 * 3600,
                       "endTimestamp": int(START.timestamp()) + 14 * 3600, "numberOfCalls": 1,
                       "numberOfSuccessCalls": 1}


async def test_click_to_call_by_short_number_and_trailing_slash(api, sim, t2):
    emp = t2.state.employees[3]
    r = await api("POST", "/call/outgoing/", params={"destination": "+79001234568", "source": emp.ext})
    assert r.status == 200
    calls = sim.engine.live_calls("t2")
    assert len(calls) == 1
    assert (calls[0].employee_id, calls[0].client, calls[0].click_to_call) == (emp.id, "79001234568", True)
    # an 8-prefixed federal number names the same employee
    r = await api("POST", "/call/outgoing", params={"destination": "79001234569",
                                                     "source": "8" + full_number(emp)[1:]})
    assert r.status == 200
    assert len(sim.engine.live_calls("t2")) == 2


@pytest.mark.parametrize("params, status, body", [
    ({"source": "101"}, 400, not_present("destination", "String")),
    ({"destination": "79001234567"}, 400, not_present("source", "String")),
    ({"destination": "", "source": "101"}, 400, converted_to_null("destination", "String")),
    ({"destination": "79001234567", "source": ""}, 400, converted_to_null("source", "String")),
    ({"destination": "call-me", "source": "101"}, 400, bad_request("destination")),
    ({"destination": "79001234567", "source": "79999999999"}, 404,
     {"details": "Employee not found by source number", "message": "Object not found"}),
])
async def test_click_to_call_errors(api, sim, t2, params, status, body):
    r = await api("POST", "/call/outgoing", params=params)
    assert r.status == status
    assert r.content_type == "application/json"
    assert await r.json() == body
    assert sim.engine.live_calls("t2") == []


# ---- monitoring of queues -------------------------------------------------------------------

async def test_waiting_callers_show_in_pending_and_monitoring(api, sim, t2):
    number = department_number(t2)
    dept = t2.state.departments[t2.state.numbers[number].route.target]
    members = {e.ext: e for e in (t2.state.employees[m.employee_id] for m in dept.members)}
    call = sim.engine.incoming(t2, "79005550000", number)
    await sim.clock.advance(0)
    r = await api("GET", "/monitoring/calls/pending")
    assert r.status == 200
    assert await r.json() == [{"queueName": dept.name, "calls": ["79005550000"]}]
    live = await (await api("GET", "/monitoring/calls")).json()
    assert len(live) == 1
    assert live[0]["callType"] == "MULTI_CHANNEL" and live[0]["callerNumberFull"] == "79005550000"
    assert "callerNumberShort" not in live[0]
    assert live[0]["calledNumberShort"] in members
    assert live[0]["calledNumberFull"] == full_number(members[live[0]["calledNumberShort"]])
    await sim.clock.advance(2)   # a member answers: the queue is empty
    assert await (await api("GET", "/monitoring/calls/pending")).json() == []
    assert len(await (await api("GET", "/monitoring/calls")).json()) == 1
    cdr = await finish(sim, call)
    records = await (await api("GET", "/call-records/info", params=WINDOW)).json()
    assert [(r["callType"], r["callStatus"], r["destinationNumber"], r["calleeNumber"]) for r in records] == [
        ("MULTI_CHANNEL", "ANSWERED_COMMON", number, full_number(t2.state.employees[cdr.employee_id]))]


async def test_internal_call_in_monitoring(api, sim, t2):
    a, b = t2.state.employees[1], t2.state.employees[4]
    call = sim.engine.internal(t2, a, b)
    await sim.clock.advance(0)
    assert await (await api("GET", "/monitoring/calls")).json() == [{
        "callType": "INTERNAL", "callerNumberShort": a.ext, "callerNumberFull": full_number(a),
        "calledNumberShort": b.ext, "calledNumberFull": full_number(b)}]
    await finish(sim, call)
    records = await (await api("GET", "/call-records/info", params=WINDOW)).json()
    assert [(r["callType"], r["callerNumber"], r["calleeNumber"], r["calleeName"]) for r in records] == [
        ("INTERNAL", full_number(a), full_number(b), b.name)]


# ---- blacklist and the engine ---------------------------------------------------------------

async def test_blacklisted_caller_is_rejected_and_the_record_says_so(api, sim, t2):
    r = await api("POST", "/blacklist", data="79990001122", headers={"Content-Type": "html/text"})
    assert await r.json() == "SUCCESS"
    number = department_number(t2)
    cdr = await finish(sim, sim.engine.incoming(t2, "79990001122", number))
    assert cdr.outcome == "blocked_blacklist"
    r = await api("GET", "/call-records/info", params={**WINDOW, "caller": "79990001122"})
    assert await r.json() == [{
        "callTimestamp": "2025-06-02T07:00:00.000Z", "date": "2025-06-02T07:00:00.000Z",
        "callType": "MULTI_CHANNEL", "destinationNumber": number, "callerNumber": "79990001122",
        "callerName": "", "calleeNumber": number, "calleeName": "", "callDuration": 0,
        "callStatus": "DENIED_DUE_TO_BLACK_LISTED", "recordFileName": ""}]
    # off the list, the same caller gets through
    r = await api("DELETE", "/blacklist/by-msisdn/79990001122")
    assert await r.json() == "SUCCESS"
    cdr = await finish(sim, sim.engine.incoming(t2, "79990001122", number))
    assert cdr.outcome == "answered"


# ---- call records: filters, paging, sorting, dates --------------------------------------------

@pytest.fixture
async def four_calls(sim, t2):
    """A answered on employee 1's direct number, A missed on the department's number, employee 2
    calls B, employee 1 calls employee 3 — a minute apart."""
    e1, e2, e3 = (t2.state.employees[i] for i in (1, 2, 3))
    assert e1.direct_number
    calls = [
        lambda: sim.engine.incoming(t2, CLIENT_A, e1.direct_number,
                                    CallScript(outcome="answered", ring_s=4, talk_s=10, hangup="A")),
        lambda: sim.engine.incoming(t2, CLIENT_A, department_number(t2), CallScript(outcome="missed")),
        lambda: sim.engine.outgoing(t2, e2, CLIENT_B, CallScript(outcome="answered", talk_s=20, hangup="B")),
        lambda: sim.engine.internal(t2, e1, e3, CallScript(outcome="answered", talk_s=15, hangup="A")),
    ]
    cdrs = []
    for place in calls:
        started = sim.clock.timestamp()
        cdrs.append(await finish(sim, place()))
        await sim.clock.advance(max(0.0, started + 600 - sim.clock.timestamp()))
    return cdrs


async def records(api, **params):
    r = await api("GET", "/call-records/info", params={**WINDOW, **params})
    assert r.status == 200, await r.text()
    return await r.json()


def ids_of(t2, items) -> list[int]:
    """Which of the four calls (0..3) the items are, by their time."""
    base = START.timestamp()
    return [int((datetime.fromisoformat(i["callTimestamp"].replace("Z", "+00:00")).timestamp() - base) // 600)
            for i in items]


async def test_call_records_of_each_kind(api, t2, four_calls):
    items = await records(api)
    e1, e2, e3 = (t2.state.employees[i] for i in (1, 2, 3))
    assert [(i["callType"], i["callStatus"], i["callerNumber"], i["calleeNumber"]) for i in items] == [
        ("SINGLE_CHANNEL", "ANSWERED_BY_ORIGINAL_CLIENT", CLIENT_A, full_number(e1)),
        ("VOICEMAIL", "NOT_ANSWERED_COMMON", CLIENT_A,
         full_number(t2.state.employees[four_calls[1].employee_id])),
        ("OUTGOING", "ANSWERED_BY_ORIGINAL_CLIENT", full_number(e2), CLIENT_B),
        ("INTERNAL", "ANSWERED_BY_ORIGINAL_CLIENT", full_number(e1), full_number(e3)),
    ]
    assert "conversationDuration" not in items[1] and items[1]["recordFileName"] == ""
    assert [i.get("conversationDuration") for i in items] == [10, None, 20, 15]
    assert items[0]["callDuration"] == 14


async def test_call_records_filters(api, t2, four_calls):
    e1, e3 = t2.state.employees[1], t2.state.employees[3]
    assert ids_of(t2, await records(api, caller=CLIENT_A)) == [0, 1]
    assert ids_of(t2, await records(api, caller="8" + CLIENT_A[1:])) == [0, 1]
    assert ids_of(t2, await records(api, callee=CLIENT_B)) == [2]
    assert ids_of(t2, await records(api, caller=full_number(e1), callee=full_number(e3))) == [3]
    assert ids_of(t2, await records(api, caller=CLIENT_A, callee=CLIENT_B)) == []
    assert ids_of(t2, await records(api, is_recorded="true")) == [0, 2, 3]
    assert ids_of(t2, await records(api, is_recorded="false")) == [0, 1, 2, 3]


async def test_call_records_paging_and_sorting(api, t2, four_calls):
    assert ids_of(t2, await records(api, size=2)) == [0, 1]
    assert ids_of(t2, await records(api, page=1, size=2)) == [2, 3]
    assert ids_of(t2, await records(api, page=2, size=2)) == []
    assert ids_of(t2, await records(api, Size=3)) == [0, 1, 2]
    assert ids_of(t2, await records(api, sort="date,DESC")) == [3, 2, 1, 0]
    assert ids_of(t2, await records(api, sort="date,DESC", size=1, page=1)) == [2]
    assert ids_of(t2, await records(api, sort="conversationDuration,DESC")) == [1, 2, 3, 0]
    assert ids_of(t2, await records(api, sort="conversationDuration,ASC")) == [0, 3, 2, 1]
    assert ids_of(t2, await records(api, sort="callType")) == [3, 2, 0, 1]   # alphabetical
    assert ids_of(t2, await records(api, sort="callStatus,desc", size=2)) == [1, 0]


@pytest.mark.parametrize("params, body", [
    ({"sort": "colour,ASC"}, bad_request("sort")),
    ({"is_recorded": "maybe"}, bad_request("is_recorded")),
    ({"page": "first"}, bad_request("page")),
    ({"size": "-1"}, bad_request("size")),
    ({"start": "2025-06-02T00:00:00"}, bad_request("start")),
    ({"end": "2025-06-03"}, bad_request("end")),
    ({"start": ""}, converted_to_null("start", "OffsetDateTime")),
])
async def test_call_records_bad_parameters(api, params, body):
    r = await api("GET", "/call-records/info", params={**WINDOW, **params})
    assert r.status == 400
    assert r.content_type == "application/json"
    assert await r.json() == body


async def test_call_records_required_dates(api):
    r = await api("GET", "/call-records/info", params={"start": WINDOW["start"]})
    assert await r.json() == not_present("end", "OffsetDateTime")
    r = await api("GET", "/call-records/info")
    assert await r.json() == not_present("start", "OffsetDateTime")


@pytest.mark.parametrize("start", [
    "2025-06-01T21:00:00.000Z", "2025-06-01T21:00:00Z", "2025-06-02T00:00:00+03:00",
    "2025-06-02T00:00:00.5+03:00", "2025-06-02T00:00:00.123456789+03:00", "2025-06-02T00:00+03:00",
])
async def test_date_time_formats_accepted(api, four_calls, start):
    assert len(await records(api, start=start)) == 4


@pytest.mark.parametrize("start", [
    "2025-06-02T00:00:00", "2025-06-02", "yesterday", "1748811600", "2025-13-02T00:00:00Z",
    "2025-06-02T00:00:00+3", "02.06.2025 00:00",
])
async def test_date_time_formats_rejected(api, start):
    r = await api("GET", "/call-records/info", params={**WINDOW, "start": start})
    assert r.status == 400
    assert await r.json() == bad_request("start")


async def test_unencoded_plus_in_the_offset_is_read_as_plus(api, four_calls):
    # '+' sent raw in a query string arrives as a space
    r = await api("GET", "/call-records/info?start=2025-06-02T00:00:00+03:00&end=2025-06-03T00:00:00+03:00")
    assert r.status == 200
    assert len(await r.json()) == 4


async def test_large_page_size_is_capped(api, sim, t2):
    emp = t2.state.employees[2]
    for _ in range(3):
        await finish(sim, sim.engine.outgoing(t2, emp, CLIENT_B, CallScript(outcome="missed")))
    assert len(await records(api, size=2000)) == 3


# ---- recordings errors ----------------------------------------------------------------------

@pytest.mark.parametrize("path, details", [
    ("/call-records/file", "Record not found by filename"),
    ("/call-records/file/stt", "Transcription not found for filename"),
])
async def test_recording_not_found(api, four_calls, path, details):
    r = await api("GET", path, params={"filename": "2025-06-02/000000000000"})
    assert r.status == 404
    assert await r.json() == {"details": details, "message": "Object not found"}
    r = await api("GET", path)
    assert r.status == 400
    assert await r.json() == not_present("filename", "String")


async def test_recording_by_double_encoded_filename(api, four_calls):
    name = four_calls[0].record_file
    r = await api("GET", f"/call-records/file/stt?filename={name.replace('/', '%252F')}")
    assert r.status == 200
    assert await r.json() == transcript(four_calls[0].id, four_calls[0].talk_s)


# ---- statistics -----------------------------------------------------------------------------

async def test_statistics_common(api, four_calls):
    r = await api("GET", "/statistics/common", params=WINDOW)
    assert r.status == 200
    assert await r.json() == {
        "allCallCount": 4, "successCallCount": 2, "outgoingCallCount": 1, "lostCallCount": 1,
        "commonCallDuration": 30, "averageCallDuration": 10, "maxCallDuration": 20,
        "callCountPerDay": 3.0, "callCountPerHour": 0.125, "mnAvgCallDuration": 15, "mnMaxCallDuration": 20,
        "averageCallCountPerHour": 0, "transferCallCount": 0, "transferCallDuration": 0,
        "averageTransferCallDuration": 0, "hangupACallCount": 1, "hangupBCallCount": 1,
        "uniqueCallCount": 1, "redialCount": 1, "internalCallCount": 1, "internalCallDuration": 15,
        "averageInternalCallDuration": 15}
    r = await api("GET", "/statistics/common", params={**WINDOW, "subscriberNumber": CLIENT_B})
    stats = await r.json()
    assert (stats["allCallCount"], stats["outgoingCallCount"], stats["successCallCount"],
            stats["commonCallDuration"]) == (1, 1, 1, 20)
    # three calendar days, as in the document's example: 3 external calls / 3 days
    r = await api("GET", "/statistics/common", params={"start": "2025-06-01T10:15:30+03:00",
                                                       "end": "2025-06-03T10:15:30+03:00"})
    stats = await r.json()
    assert stats["callCountPerDay"] == 1.0 and stats["callCountPerHour"] == 1 / 24


async def test_statistics_journal(api, four_calls, t2):
    r = await api("GET", "/statistics/journal", params={**WINDOW, "number": CLIENT_A})
    assert await r.json() == {"number": CLIENT_A, "startTimestamp": 1748811600, "endTimestamp": 1748898000,
                              "numberOfCalls": 2, "numberOfSuccessCalls": 1}
    r = await api("GET", "/statistics/journal", params={**WINDOW, "number": "8" + CLIENT_A[1:]})
    assert (await r.json())["number"] == CLIENT_A                     # as the document writes it
    # the whole company: the document's example fills number (7XXXXXXXXXX), the main number
    main = t2.default_clid().lstrip("+")
    assert re.fullmatch(r"7\d{10}", main)
    r = await api("GET", "/statistics/journal", params=WINDOW)
    assert await r.json() == {"number": main, "startTimestamp": 1748811600, "endTimestamp": 1748898000,
                              "numberOfCalls": 4, "numberOfSuccessCalls": 3}
    # a window before the calls
    r = await api("GET", "/statistics/journal", params={"start": "2025-06-01T00:00:00Z",
                                                        "end": "2025-06-02T00:00:00Z"})
    assert (await r.json())["numberOfCalls"] == 0


@pytest.mark.parametrize("path", ["/statistics/common", "/statistics/journal", "/statistics/missing"])
async def test_statistics_bad_dates(api, path):
    r = await api("GET", path, params={"start": "2025-06-02", "end": WINDOW["end"]})
    assert r.status == 400
    assert await r.json() == bad_request("start")
    r = await api("GET", path, params={"start": WINDOW["start"]})
    assert await r.json() == not_present("end", "OffsetDateTime")


async def test_statistics_missing(api, sim, t2, four_calls):
    missed = four_calls[1]
    mcn = department_number(t2)
    emp = t2.state.employees[missed.employee_id]
    r = await api("GET", "/statistics/missing", params=WINDOW)
    assert r.status == 200
    items = await r.json()
    assert len(items) == 1
    item = items[0]
    assert isinstance(item.pop("id"), int)
    assert item == {"startDate": "2025-06-02T10:10:00+03:00", "waitDuration": missed.wait_s,
                    "callerNumber": CLIENT_A, "destinationNumber": mcn,
                    "calleeCompanyId": company_id(sim, t2), "calleeNumber": full_number(emp),
                    "calleeName": emp.name}
    other = next(n for n in t2.state.numbers if n != mcn)
    for query in (f"mcn_numbers={mcn}", f"mcn_numbers[]={mcn}", f"mcn_numbers={other}&mcn_numbers={mcn}",
                  f"mcn_numbers={other},{mcn}", f"mcn_numbers%5B%5D={mcn}"):
        r = await api("GET", f"/statistics/missing?start=2025-06-01T21:00:00Z&end=2025-06-02T21:00:00Z&{query}")
        assert len(await r.json()) == 1, query
    r = await api("GET", "/statistics/missing", params={**WINDOW, "mcn_numbers": other})
    assert await r.json() == []


async def test_statistics_missing_paging_and_sort(api, sim, t2):
    mcn = department_number(t2)
    for i, ring in enumerate((5, 15, 10)):
        await finish(sim, sim.engine.incoming(t2, f"7900222000{i}", mcn, CallScript(outcome="cancelled", ring_s=ring)))
    items = await (await api("GET", "/statistics/missing", params=WINDOW)).json()
    assert [i["callerNumber"] for i in items] == ["79002220000", "79002220001", "79002220002"]
    assert [i["waitDuration"] for i in items] == [5, 15, 10]
    items = await (await api("GET", "/statistics/missing", params={**WINDOW, "sort": "waitDuration,DESC"})).json()
    assert [i["waitDuration"] for i in items] == [15, 10, 5]
    items = await (await api("GET", "/statistics/missing", params={**WINDOW, "size": 1, "page": 2})).json()
    assert [i["callerNumber"] for i in items] == ["79002220002"]
    items = await (await api("GET", "/statistics/missing", params={**WINDOW, "sort": "startDate,DESC",
                                                                   "size": 2})).json()
    assert [i["callerNumber"] for i in items] == ["79002220002", "79002220001"]
    r = await api("GET", "/statistics/missing", params={**WINDOW, "sort": "nope"})
    assert await r.json() == bad_request("sort")


# ---- the server's own errors in t2's shape --------------------------------------------------

async def test_unknown_path_and_method(api, client):
    r = await api("GET", "/no/such/thing")
    assert r.status == 404
    assert await r.json() == {"details": "No handler found for GET /crm/openapi/no/such/thing",
                              "message": "Object not found"}
    r = await api("PATCH", "/employees")
    assert r.status == 405
    assert await r.json() == {"details": "Request method 'PATCH' is not supported",
                              "message": "Method Not Allowed"}


# ---- bad input never breaks the server --------------------------------------------------------

ODD_VALUES = ["", " ", "0001-01-01T00:00:00+03:00", "9999-12-31T23:59:59-18:00", "-1", "1e3", "99999999999999999999",
              "%", "null", "[]", "ДА", "2025-06-02T00:00:00+25:00", "true,false"]


@pytest.mark.parametrize("method, path, names", [
    ("POST", "/call/outgoing", ("destination", "source")),
    ("GET", "/statistics/common", ("start", "end", "subscriberNumber")),
    ("GET", "/statistics/journal", ("start", "end", "number")),
    ("GET", "/statistics/missing", ("start", "end", "mcn_numbers", "page", "size", "sort")),
    ("GET", "/call-records/info", ("start", "end", "caller", "callee", "is_recorded", "page", "size", "sort")),
    ("GET", "/call-records/file", ("filename",)),
    ("GET", "/call-records/file/stt", ("filename",)),
])
async def test_odd_parameters_get_documented_answers(api, sim, four_calls, method, path, names):
    valid = {"start": "0001-01-01T00:00:00Z", "end": "9999-12-31T23:59:59+18:00", "destination": "79001234567",
             "source": "101", "filename": four_calls[0].record_file}
    for name in names:
        for value in ODD_VALUES:
            r = await api(method, path, params={**{k: v for k, v in valid.items() if k in names}, name: value})
            assert r.status in (200, 400, 404), (name, value, r.status)
            if r.status != 200:
                assert set(await r.json()) == {"details", "message"}
    for call in sim.engine.live_calls("t2"):
        await sim.engine.hangup("t2", call.id)


@pytest.mark.parametrize("method, path", [
    ("GET", "/managers/-1"), ("GET", "/managers/99999999999999999999"), ("DELETE", "/managers/1.5"),
    ("DELETE", "/blacklist/by-msisdn/%20"), ("DELETE", "/blacklist/by-msisdn/abc"),
])
async def test_odd_path_values(api, method, path):
    r = await api(method, path)
    assert r.status in (200, 400, 404)
    assert r.content_type == "application/json"


# ---- callType / callStatus of the engine's outcomes -------------------------------------------

@pytest.mark.parametrize("kind, script, call_type, status", [
    ("out", CallScript(outcome="busy"), "OUTGOING", "DESTINATION_BUSY"),
    ("out", CallScript(outcome="missed"), "OUTGOING", "NOT_ANSWERED_COMMON"),
    ("out", CallScript(outcome="forbidden"), "OUTGOING", "DENIED_DUE_TO_OUTGOING_CALLS_BLOCKED"),
    ("in-direct", CallScript(outcome="cancelled", ring_s=4), "SINGLE_CHANNEL", "CANCELLED_BY_CALLER"),
    ("in-direct", CallScript(outcome="busy"), "SINGLE_CHANNEL", "DESTINATION_BUSY"),
    ("in-unknown", None, "UNKNOWN_CALL", "DENIED_DUE_TO_UNKNOWN_NUMBER"),
    ("in-mcn", CallScript(outcome="cancelled", ring_s=3), "MULTI_CHANNEL", "CANCELLED_BY_CALLER"),
    ("himself", None, "HIMSELF", "ANSWERED_BY_ORIGINAL_CLIENT"),
])
async def test_outcomes_map_to_documented_enumerations(api, sim, t2, kind, script, call_type, status):
    e1, e2 = t2.state.employees[1], t2.state.employees[2]
    if kind == "out":
        call = sim.engine.outgoing(t2, e2, CLIENT_B, script)
    elif kind == "in-direct":
        call = sim.engine.incoming(t2, CLIENT_A, e1.direct_number, script)
    elif kind == "in-unknown":
        call = sim.engine.incoming(t2, CLIENT_A, "74950000000", script)
    elif kind == "in-mcn":
        call = sim.engine.incoming(t2, CLIENT_A, department_number(t2), script)
    else:
        call = sim.engine.internal(t2, e1, e1, script)
    await finish(sim, call)
    items = await records(api)
    assert [(i["callType"], i["callStatus"]) for i in items] == [(call_type, status)]


async def test_answered_after_the_personal_manager_did_not(api, sim, t2):
    direct = t2.state.employees[1]
    manager = t2.state.managers[1]
    customer = manager.customers[0].number
    cdr = await finish(sim, sim.engine.incoming(t2, customer, direct.direct_number,
                                                CallScript(answer=str(direct.id), talk_s=5)))
    assert cdr.legs[0][1] == manager.employee_id and cdr.employee_id == direct.id
    items = await records(api)
    assert [(i["callStatus"], i["calleeNumber"]) for i in items] == [
        ("ANSWERED_BY_NO_ANSWER_FORWARD_CLIENT", full_number(direct))]


async def test_too_large_body_in_t2_shape(api):
    r = await api("POST", "/blacklist", data="7" * (2 * 1024 * 1024), headers={"Content-Type": "html/text"})
    assert r.status == 413
    assert await r.json() == {"details": "Maximum upload size exceeded", "message": "Payload Too Large"}
