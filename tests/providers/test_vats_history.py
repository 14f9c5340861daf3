"""vats call history (seed §4): json and csv, external and inner, with the period rules."""

from __future__ import annotations

import time
from datetime import datetime, timezone

import pytest

from simulator.core.engine import CallScript
from simulator.core.models import CallRecord

from .test_vats_common import (  # noqa: F401  (fixtures)
    ANTON_NUMBER,
    CLIENT,
    DOMAIN,
    SALES_NUMBER,
    api,
    finish,
    sim_config,
)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


async def call_at(sim, when: datetime, direction: str, a: str, b: str, **script) -> str:
    await sim.clock.set(when)
    click = script.pop("click_to_call", False)
    employee = a if direction == "out" else None
    call = sim.place_call("vats", direction, a, b, employee=employee, script=CallScript(**script),
                          click_to_call=click)
    await finish(sim, call)
    return call.id


@pytest.fixture
async def calls(sim, client) -> dict[str, str]:
    """Calls over six weeks; "now" is Monday 2026-01-12 15:00 UTC (18:00 in Moscow)."""
    ids = {
        "december": await call_at(sim, utc(2025, 12, 20, 10), "in", CLIENT, ANTON_NUMBER, talk_s=10),
        "last_week": await call_at(sim, utc(2026, 1, 5, 10), "in", CLIENT, ANTON_NUMBER, talk_s=10),
        "sunday": await call_at(sim, utc(2026, 1, 11, 10), "out", "anton", CLIENT, talk_s=10),
        # 01:00 on Monday in Moscow, still Sunday in UTC: "today" is the account's day
        "monday_night": await call_at(sim, utc(2026, 1, 11, 22), "in", CLIENT, ANTON_NUMBER, outcome="missed"),
        "answered": await call_at(sim, utc(2026, 1, 12, 12), "in", CLIENT, ANTON_NUMBER, ring_s=2, talk_s=40,
                                  rating=5),
        "group_missed": await call_at(sim, utc(2026, 1, 12, 13), "in", "79107654321", SALES_NUMBER,
                                      outcome="cancelled", ring_s=13),
        "outgoing": await call_at(sim, utc(2026, 1, 12, 14), "out", "ivan", CLIENT, click_to_call=True,
                                  talk_s=23),
        "inner": await call_at(sim, utc(2026, 1, 12, 14, 30), "internal", "anton", "701", ring_s=5, talk_s=23),
        "inner_missed": await call_at(sim, utc(2026, 1, 12, 14, 40), "internal", "admin", "702",
                                      outcome="missed"),
    }
    await sim.clock.set(utc(2026, 1, 12, 15))
    return ids


def uids(body) -> list[str]:
    return [r["uid"] for r in body]


async def test_today_by_default_newest_first(sim, api, calls):
    status, body = await api.get("/history/json")
    assert status == 200
    assert uids(body) == [calls["outgoing"], calls["group_missed"], calls["answered"], calls["monday_night"]]
    record = f"{sim.public_url}/crmapi/v1/records/{calls['answered']}.mp3"
    assert body[2] == {"uid": calls["answered"], "type": "in", "direction": "in", "status": "success",
                       "client": CLIENT, "account": "anton", "destination": "user", "user": "anton",
                       "user_name": "Антон Петров", "group_name": "", "diversion": ANTON_NUMBER,
                       "start": "2026-01-12T12:00:00Z", "wait": 2, "duration": 40, "record": record, "rating": 5}
    assert body[1] == {"uid": calls["group_missed"], "type": "in", "direction": "in", "status": "missed",
                       "client": "79107654321", "account": "", "destination": "group", "user": "",
                       "user_name": "", "group_name": "Отдел продаж", "diversion": SALES_NUMBER,
                       "start": "2026-01-12T13:00:00Z", "wait": 13, "duration": 0, "record": ""}
    assert body[0]["type"] == body[0]["direction"] == "out"
    assert (body[0]["status"], body[0]["user"], body[0]["duration"], body[0]["destination"]) == (
        "success", "ivan", 23, "")
    assert all(v is not None for r in body for v in r.values())


async def test_statuses_of_unanswered_calls(sim, api, calls):
    call = sim.place_call("vats", "out", "anton", CLIENT, employee="anton", script=CallScript(outcome="busy"))
    await finish(sim, call)
    _, body = await api.get("/history/json?type=out")
    assert [(r["uid"], r["status"]) for r in body][:1] == [(call.id, "no_answer")]
    _, body = await api.get("/history/json?type=missed")
    assert uids(body) == [calls["group_missed"], calls["monday_night"]]
    assert {r["status"] for r in body} == {"missed"}


@pytest.mark.parametrize("kind,expected", [
    ("all", ["outgoing", "group_missed", "answered", "monday_night"]),
    ("in", ["group_missed", "answered", "monday_night"]),
    ("out", ["outgoing"]),
    ("missed", ["group_missed", "monday_night"]),
])
async def test_type_filter(api, calls, kind, expected):
    _, body = await api.get(f"/history/json?type={kind}")
    assert uids(body) == [calls[k] for k in expected]


@pytest.mark.parametrize("period,expected", [
    ("today", ["outgoing", "group_missed", "answered", "monday_night"]),
    ("yesterday", ["sunday"]),
    ("this_week", ["outgoing", "group_missed", "answered", "monday_night"]),
    ("last_week", ["sunday", "last_week"]),
    ("this_month", ["outgoing", "group_missed", "answered", "monday_night", "sunday", "last_week"]),
    ("last_month", ["december"]),
])
async def test_periods_in_moscow_time(api, calls, period, expected):
    _, body = await api.get(f"/history/json?period={period}")
    assert uids(body) == [calls[k] for k in expected]


async def test_period_wins_over_start_and_end(api, calls):
    _, body = await api.get("/history/json?period=yesterday&start=20200101T000000Z&end=20200101T000000Z")
    assert uids(body) == [calls["sunday"]]


async def test_period_wins_even_over_a_malformed_start(api, calls):
    """The seed: with a period the period's calls are exported "независимо от значения start и end"."""
    _, body = await api.get("/history/json?period=yesterday&start=garbage&end=20200101T000000Z")
    assert uids(body) == [calls["sunday"]]


async def test_a_malformed_start_without_a_period_is_refused(api, calls):
    status, body = await api.get("/history/json?start=garbage")
    assert (status, body) == (400, {"message": "Validation error", "errors": {"start": "must be YYYYmmddTHHMMSSZ"}})


@pytest.mark.parametrize("query,expected", [
    ("start=20260105T000000Z&end=20260111T100000Z", ["sunday", "last_week"]),        # end is inclusive
    ("start=2026-01-05T00:00:00Z&end=2026-01-11T09:59:59Z", ["last_week"]),         # extended form
    ("start=20260112T120000Z", ["outgoing", "group_missed", "answered"]),            # end: now
    ("end=20260111T235959Z", ["monday_night"]),    # start: the start of end's day in Moscow (Jan 12)
    ("end=20260111T120000Z", ["sunday"]),
    ("start=20251201T000000Z&end=20251231T235959Z", ["december"]),
    ("start=2026-01-12T15:00:00%2B03:00", ["outgoing", "group_missed", "answered"]),   # with an offset
])
async def test_start_and_end(api, calls, query, expected):
    status, body = await api.get("/history/json?" + query)
    assert status == 200
    assert uids(body) == [calls[k] for k in expected]


async def test_limit_keeps_the_newest(api, calls):
    _, body = await api.get("/history/json?period=this_month&limit=2")
    assert uids(body) == [calls["outgoing"], calls["group_missed"]]
    _, body = await api.get("/history/json?period=this_month&type=in&limit=2")
    assert uids(body) == [calls["group_missed"], calls["answered"]]


@pytest.mark.parametrize("path,query,field", [
    ("/history/json", "period=week", "period"),          # the seed's own example is not a valid period
    ("/history/json", "type=inner", "type"),
    ("/history/csv", "type=success", "type"),
    ("/history/inner/json", "type=in", "type"),
    ("/history/inner/csv", "type=missed", "type"),
    ("/history/json", "limit=many", "limit"),
    ("/history/json", "limit=-3", "limit"),
    ("/history/json", "start=yesterday", "start"),
    ("/history/csv", "end=2026-13-45", "end"),
    ("/history/json", "start=20260112T000000Z&end=20260111T000000Z", "start"),
])
async def test_bad_history_queries(api, calls, path, query, field):
    status, body = await api.get(f"{path}?{query}")
    assert status == 400 and body["message"] == "Validation error" and list(body["errors"]) == [field]


async def test_history_csv(sim, api, calls):
    status, body = await api.get("/history/csv")
    assert status == 200
    lines = body.decode().splitlines()
    record = f"{sim.public_url}/crmapi/v1/records/{calls['answered']}.mp3"
    assert lines[2] == f"{calls['answered']},in,{CLIENT},anton@{DOMAIN},{ANTON_NUMBER},2026-01-12T12:00:00Z,2,40,{record}"
    assert lines[1] == f"{calls['group_missed']},missed,79107654321,sales@{DOMAIN},{SALES_NUMBER},2026-01-12T13:00:00Z,13,0,"
    assert lines[0].startswith(f"{calls['outgoing']},out,{CLIENT},ivan@{DOMAIN},")
    assert len(lines) == 4 and all(len(line.split(",")) == 9 for line in lines)
    _, body = await api.get("/history/csv?type=out")
    assert body.decode().count("\n") == 1
    async with api.client.get("/crmapi/v1/history/csv", headers={"X-API-KEY": "test-key"}) as resp:
        assert resp.content_type == "text/csv"


async def test_inner_history(sim, api, calls):
    _, body = await api.get("/history/inner/json")
    record = f"{sim.public_url}/crmapi/v1/records/{calls['inner']}.mp3"
    assert body == [
        {"uid": calls["inner_missed"], "status": "noanswer", "from": "admin", "to": "anton",
         "from_name": "Администратор", "to_name": "Антон Петров", "start": "2026-01-12T14:40:00Z", "wait": 30,
         "duration": 0, "record": ""},
        {"uid": calls["inner"], "status": "success", "from": "anton", "to": "admin", "from_name": "Антон Петров",
         "to_name": "Администратор", "start": "2026-01-12T14:30:00Z", "wait": 5, "duration": 23,
         "record": record},
    ]
    _, body = await api.get("/history/inner/json?type=success")
    assert uids(body) == [calls["inner"]]
    _, body = await api.get("/history/inner/json?type=noanswer&period=yesterday")
    assert body == []
    _, body = await api.get("/history/inner/csv?type=noanswer")
    assert body.decode() == (f"{calls['inner_missed']},noanswer,admin@{DOMAIN},anton@{DOMAIN},"
                             "2026-01-12T14:40:00Z,30,0,\n")


async def test_empty_history_is_an_empty_array(api, sim):
    await sim.clock.set(utc(2026, 1, 12, 15))
    assert await api.get("/history/json") == (200, [])
    assert await api.get("/history/csv") == (200, b"")


async def test_one_day_of_a_large_history_is_a_window_not_a_scan(sim, api):
    """100,000 CDRs over 100 days; a day with limit 100 must not touch the other days."""
    state = sim.account("vats").state
    start = utc(2025, 6, 1).timestamp()
    state.cdrs.extend_sorted(
        CallRecord(id=f"c{i}", direction="in" if i % 3 else "out", caller=CLIENT, callee=ANTON_NUMBER,
                   started_at=start + i * 86.4, ended_at=start + i * 86.4 + 30, outcome="answered",
                   answered_at=start + i * 86.4 + 5, client=CLIENT, trunk=ANTON_NUMBER, via=ANTON_NUMBER,
                   employee_id=2)
        for i in range(100_000))
    await sim.clock.set(utc(2025, 12, 17, 12))
    began = time.perf_counter()
    status, body = await api.get("/history/json?start=20250801T000000Z&end=20250801T235959Z&limit=100")
    elapsed = time.perf_counter() - began
    assert status == 200 and len(body) == 100
    last = max(i for i in range(100_000) if start + i * 86.4 < utc(2025, 8, 2).timestamp())
    assert body[0]["uid"] == f"c{last}" and body[-1]["uid"] == f"c{last - 99}"
    assert elapsed < 0.25, elapsed
    print(f"one day of 100k CDRs: {elapsed * 1000:.1f} ms")
