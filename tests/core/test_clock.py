import asyncio
import time
from datetime import datetime, timedelta, timezone

import pytest

from simulator.core.clock import Clock, parse_duration, parse_mode

START = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


def test_parse_duration():
    assert parse_duration(90) == 90
    assert parse_duration("90s") == 90
    assert parse_duration("25h") == 25 * 3600
    assert parse_duration("1.5m") == 90
    assert parse_duration("2d") == 2 * 86400
    with pytest.raises(ValueError):
        parse_duration("soon")
    with pytest.raises(ValueError):
        parse_duration(True)


def test_parse_mode():
    assert parse_mode("real") == ("real", 1.0)
    assert parse_mode("instant") == ("instant", 1.0)
    assert parse_mode("scale:10") == ("scale", 10.0)
    for bad in ("fast", "scale:x", "scale:0", "scale:-2"):
        with pytest.raises(ValueError):
            parse_mode(bad)


async def test_manual_clock_stands_still_until_advanced():
    clock = Clock("manual", start=START)
    assert clock.now() == START
    await asyncio.sleep(0.01)
    assert clock.now() == START
    await clock.advance("25h")
    assert clock.now() == START + timedelta(hours=25)


async def test_manual_advance_wakes_sleepers_in_deadline_order():
    clock = Clock("manual", start=START)
    woke: list[tuple[str, datetime]] = []

    async def sleeper(name: str, seconds: float, then: float = 0):
        await clock.sleep(seconds)
        woke.append((name, clock.now()))
        if then:
            await clock.sleep(then)
            woke.append((name + "+", clock.now()))

    tasks = [asyncio.create_task(sleeper("b", 20)), asyncio.create_task(sleeper("a", 10, then=5)),
             asyncio.create_task(sleeper("c", 100))]
    await asyncio.sleep(0)
    await clock.advance(30)
    # the sleep scheduled by a woken task (a+ at 15 s) runs inside the same advance
    assert woke == [("a", START + timedelta(seconds=10)), ("a+", START + timedelta(seconds=15)),
                    ("b", START + timedelta(seconds=20))]
    assert clock.now() == START + timedelta(seconds=30)
    await clock.advance(70)
    assert woke[-1] == ("c", START + timedelta(seconds=100))
    await asyncio.gather(*tasks)


async def test_instant_clock_jumps_without_waiting():
    clock = Clock("instant", start=START)
    stamps = []

    async def call(offset: float):
        await clock.sleep(offset)
        stamps.append(clock.now())
        await clock.sleep(3600)
        stamps.append(clock.now())

    wall = time.perf_counter()
    await asyncio.gather(*(call(o) for o in (60, 30, 90)))
    assert time.perf_counter() - wall < 1.0
    assert stamps == [START + timedelta(seconds=s) for s in (30, 60, 90, 3630, 3660, 3690)]
    await clock.close()


async def test_instant_clock_waits_while_held():
    clock = Clock("instant", start=START)
    order = []

    async def slow_lookup():
        async with clock.hold():
            await asyncio.sleep(0.05)     # a CRM answering in real time
            order.append(("lookup done", clock.now()))

    async def other():
        await clock.sleep(10)
        order.append(("other woke", clock.now()))

    await asyncio.gather(slow_lookup(), other())
    assert order[0] == ("lookup done", START)
    assert order[1] == ("other woke", START + timedelta(seconds=10))
    await clock.close()


async def test_scaled_clock_runs_faster():
    clock = Clock("scale:1000", start=START)
    wall = time.perf_counter()
    await clock.sleep(100)      # 0.1 s of wall time
    elapsed = time.perf_counter() - wall
    assert 0.05 < elapsed < 1.0
    assert clock.now() >= START + timedelta(seconds=100)


async def test_real_clock_advance_and_set_shift_time():
    clock = Clock("real", start=START)
    await clock.advance(3600)
    assert clock.now() >= START + timedelta(hours=1)
    await clock.set(START)
    assert abs((clock.now() - START).total_seconds()) < 1
    assert clock.snapshot()["mode"] == "real"


async def test_real_clock_sleeper_wakes_on_advance():
    clock = Clock("real", start=START)
    task = asyncio.create_task(clock.sleep(3600))
    await asyncio.sleep(0.01)
    assert not task.done()
    await clock.advance(3601)
    await asyncio.wait_for(task, 1)


async def test_advance_rejects_negative():
    clock = Clock("manual", start=START)
    with pytest.raises(ValueError):
        await clock.advance(-5)


def test_period_windows_in_the_account_zone():
    from simulator.core.clock import period_window
    # Wednesday 2026-03-04 01:30 Moscow (+3) is still Tuesday in UTC
    now = datetime(2026, 3, 3, 22, 30, tzinfo=timezone.utc).timestamp()
    msk = timezone(timedelta(hours=3))
    day = lambda *a: datetime(*a, tzinfo=msk).timestamp()
    assert period_window("today", now, 3) == (day(2026, 3, 4), day(2026, 3, 5))
    assert period_window("yesterday", now, 3) == (day(2026, 3, 3), day(2026, 3, 4))
    assert period_window("this_week", now, 3) == (day(2026, 3, 2), day(2026, 3, 9))
    assert period_window("last_week", now, 3) == (day(2026, 2, 23), day(2026, 3, 2))
    assert period_window("this_month", now, 3) == (day(2026, 3, 1), day(2026, 4, 1))
    assert period_window("last_month", now, 3) == (day(2026, 2, 1), day(2026, 3, 1))
    assert period_window("today", now, 0)[0] == datetime(2026, 3, 3, tzinfo=timezone.utc).timestamp()
    with pytest.raises(ValueError):
        period_window("week", now, 3)
