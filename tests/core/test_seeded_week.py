"""A seeded week of the demo configuration: every documented value of every provider's
history, monitoring and webhook fields appears at least once (the lists are the providers'
own, so a value added to one is checked too), and the traffic has an office's shape."""

from __future__ import annotations

import copy
import math
import statistics
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest

from simulator.config import load_config
from simulator.core.clock import Clock
from simulator.providers.cloudpbx import webhooks as cloud_hooks
from simulator.providers.phonet.models import DISPOSITIONS, LG_DIRECTIONS, CallViews
from simulator.providers.t2.models import (CALL_STATUSES, CALL_TYPES, MONITORING_CALL_TYPES, Directory, call_view,
                                           live_call_json, rows_of)
from simulator.providers.vats import webhooks as vats_hooks
from simulator.providers.vats.models import HISTORY_DESTINATIONS, HISTORY_STATUSES, INNER_STATUSES, render_history, \
    render_inner
from simulator.sim import Simulator

START = datetime(2026, 3, 9, 9, 0, tzinfo=timezone.utc)   # a Monday noon in Moscow


@pytest.fixture(scope="module")
def week():
    """The demo configuration's seeded week, and what the history's engine did meanwhile."""
    import asyncio

    seen: dict[str, list] = {}

    def listener(event):
        call = event.call
        snap = copy.copy(call)
        snap.legs = [copy.copy(leg) for leg in call.legs]
        snap.conference = list(call.conference)
        seen.setdefault(call.account_id, []).append((event, snap, vats_hooks._event_type(event),
                                                     cloud_hooks._event_type(call, event)))

    async def build():
        sim = Simulator(load_config(None), Clock("manual", start=START))
        sim.history_listener = listener
        await sim.start()
        await sim.close()
        return sim

    return asyncio.run(build()), seen


def missing(documented, produced) -> list:
    return [v for v in documented if v not in produced]


def test_t2_every_call_type_status_and_monitoring_type(week):
    sim, seen = week
    account = sim.account("t2")
    directory = Directory(account)
    rows = [call_view(c, directory) for c in rows_of(account.state.cdrs)]
    assert missing(CALL_TYPES, {r.call_type for r in rows}) == []
    assert missing(CALL_STATUSES, {r.status for r in rows}) == []
    live = {live_call_json(snap, directory)["callType"] for event, snap, *_ in seen["t2"]
            if event.type in ("leg.ringing", "leg.answered", "call.conference")}
    assert missing(MONITORING_CALL_TYPES, live) == []


def test_vats_every_history_and_webhook_value(week):
    sim, seen = week
    account = sim.account("vats")
    cdrs = list(account.state.cdrs)
    external = [render_history(account, c, sim.public_url) for c in cdrs if c.direction != "internal"]
    assert missing(HISTORY_STATUSES, {r["status"] for r in external}) == []
    assert missing(HISTORY_DESTINATIONS, {r["destination"] for r in external if r["type"] == "in"}) == []
    inner = {render_inner(account, c, sim.public_url)["status"] for c in cdrs if c.direction == "internal"}
    assert missing(INNER_STATUSES, inner) == []
    hooks = {vats_hooks.history_body(account, c, sim.public_url)["status"] for c in cdrs if c.direction != "internal"}
    assert missing(vats_hooks.HISTORY_HOOK_STATUSES, hooks) == []
    events = {kind for event, _, kind, _ in seen["vats"] if kind is not None and event.call.direction != "internal"}
    assert missing(vats_hooks.EVENT_TYPES, events) == []


def test_phonet_every_direction_and_disposition(week):
    sim, _ = week
    account = sim.account("phonet")
    views = CallViews(account, sim.public_url)
    records = [views.company(c) for c in account.state.cdrs]
    records += [r for c in account.state.cdrs for r in views.users(c)]
    records += [views.pause(p) for p in account.state.pauses]
    assert missing(LG_DIRECTIONS, {r["lgDirection"] for r in records}) == []
    assert missing(DISPOSITIONS, {r["disposition"] for r in records}) == []
    # several lines tried: a trunk of more than one line
    assert any(r["trunk"] and r["trunk"].count("o=") > 1 for r in records)
    # known contacts call, and history names them
    names = {c.name for c in account.state.contacts.values()}
    assert any(r["otherLegName"] in names for r in records)


def test_cloudpbx_every_history_status_and_event_type(week):
    sim, seen = week
    account = sim.account("cloudpbx")
    statuses = {cloud_hooks.history_status(c) for c in account.state.cdrs if c.direction != "internal"}
    assert missing(cloud_hooks.HISTORY_STATUSES, statuses) == []
    events = {mapped[0] for event, _, _, mapped in seen["cloudpbx"]
              if mapped is not None and event.call.direction in ("in", "out")}
    assert missing(cloud_hooks.EVENT_TYPES, events) == []


def test_the_week_has_an_office_shape(week):
    sim, _ = week
    for account in sim.accounts.values():
        zone = timezone(timedelta(hours=account.utc_offset))
        cdrs = list(account.state.cdrs)
        local = [datetime.fromtimestamp(c.started_at, tz=zone) for c in cdrs]
        weekday = [t for t in local if t.weekday() < 5]
        working = [t for t in weekday if 9 <= t.hour < 18]
        night = [t for t in local if t.hour < 7]
        assert len(working) / len(cdrs) > 0.65, account.id
        assert len(night) / len(cdrs) < 0.08, account.id
        days = Counter(t.date() for t in local)
        weekday_avg = statistics.mean(n for d, n in days.items() if d.weekday() < 5)
        weekend_avg = statistics.mean([n for d, n in days.items() if d.weekday() >= 5] or [0])
        assert weekend_avg < 0.5 * weekday_avg, account.id
        # the lunch dip: fewer calls 12-14 than 10-12 or 14-16 on weekdays
        by_hour = Counter(t.hour for t in weekday)
        assert by_hour[12] + by_hour[13] < min(by_hour[10] + by_hour[11], by_hour[14] + by_hour[15]), account.id
        talks = [c.talk_s for c in cdrs if c.answered]
        assert 60 <= statistics.median(talks) <= 180 and max(talks) > 4 * statistics.median(talks), account.id
        assert len(set(talks)) > len(talks) / 3, account.id
        waits = [c.wait_s for c in cdrs if c.answered]
        assert len(set(waits)) >= 10, account.id
        unanswered_out = [c.duration_s for c in cdrs if c.direction == "out" and not c.answered]
        assert Counter(unanswered_out).most_common(1)[0][1] < len(unanswered_out) / 3, account.id
        # missed calls are called back; regular clients call again; transfers go to someone else
        assert sum(c.missed_callback for c in cdrs) >= 3, account.id
        callers = Counter(c.client for c in cdrs if c.direction == "in")
        assert sum(n for n in callers.values() if n > 1) > len(cdrs) / 10, account.id
        transferred = [c for c in cdrs if c.transfers]
        assert transferred and all(len(set(c.transfers)) == len(c.transfers) for c in transferred), account.id
        assert any(c.holds for c in cdrs) and any(c.rating for c in cdrs), account.id
        assert math.isfinite(sum(c.duration_s for c in cdrs))
