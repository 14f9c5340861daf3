"""Past calls for the seed: the office's traffic model (``core/traffic.py``) played through the
real call engine on an instant clock that starts ``days`` ago, so history, statistics and
recordings agree with each other. ``random_script`` is the benchmarks' flat mix of outcomes."""

from __future__ import annotations

import asyncio
import random
from datetime import datetime, timezone

from .clock import Clock
from .engine import CallEngine, CallScript, Transfer
from .traffic import PlannedPause, Traffic, office_from_state

INCOMING_OUTCOMES = [("answered", 70), ("missed", 14), ("cancelled", 10), ("busy", 3), ("unavailable", 3)]
OUTGOING_OUTCOMES = [("answered", 65), ("missed", 20), ("busy", 10), ("unavailable", 5)]


def _pick(rng: random.Random, weighted: list[tuple[str, int]]) -> str:
    return rng.choices([w[0] for w in weighted], weights=[w[1] for w in weighted])[0]


def random_script(rng: random.Random, direction: str, employees: list) -> CallScript:
    """A realistic mix of outcomes, durations, transfers and ratings."""
    outcome = _pick(rng, INCOMING_OUTCOMES if direction == "in" else OUTGOING_OUTCOMES)
    script = CallScript(outcome=outcome)
    if outcome == "answered":
        script.ring_s = round(rng.uniform(2, 14), 0)
        script.talk_s = round(rng.lognormvariate(4.2, 0.8), 0) + 5
        if direction == "in" and len(employees) > 1 and rng.random() < 0.08:
            script.transfers = [Transfer(to=rng.choice(employees).login, after_s=min(20.0, script.talk_s / 2))]
        if rng.random() < 0.15:
            script.rating = rng.randint(1, 5)
    elif outcome == "cancelled":
        script.ring_s = round(rng.uniform(3, 25), 0)
    script.hangup = rng.choice("AB")
    return script


async def seed_history(account, calls: int, days: int, now: float, seed: int, listener=None) -> None:
    """Run about ``calls`` calls of the office's traffic model (``core/traffic.py``) through the
    engine over the ``days`` before ``now`` (no webhooks); ``listener`` sees the engine's events.

    On an asyncio loop of its own, in a worker thread: the instant clock knows that every call
    waits by looking at asyncio's ready queue, which the server's loop may not have (uvloop);
    the history is then the same whatever loop serves. The account is not yet visible to
    anyone while this runs."""
    if calls <= 0:
        return
    await asyncio.to_thread(asyncio.run, _run_history(account, calls, days, now, seed, listener))


async def _run_history(account, calls: int, days: int, now: float, seed: int, listener=None) -> None:
    state = account.state
    office = office_from_state(account)
    if not office.employees:
        return
    rng = random.Random(f"{seed}:{account.id}:history")
    start = now - days * 86400
    traffic = Traffic(office, account.config.seed.traffic, rng, regulars=max(10, calls // 12))
    plan = traffic.history(calls, start, now - 1800)   # the last call starts half an hour before now
    clock = Clock("instant", start=datetime.fromtimestamp(start, tz=timezone.utc))
    engine = CallEngine(clock, lookups=False, rng=random.Random(f"{seed}:{account.id}:history-calls"),
                        account_clocks=False)
    if listener is not None:
        engine.subscribe(listener)
    # blocking anonymous callers is part of the live account; the history keeps to callers with numbers
    block, account.state.block_anonymous = account.state.block_anonymous, False

    async def one(item) -> None:
        await clock.sleep(item.at)
        if isinstance(item, PlannedPause):
            emp = state.find_employee(item.employee)
            if emp is not None:
                engine.pause(account, emp, item.on)
            return
        script = item.script()
        if item.direction == "in":
            call = engine.incoming(account, item.from_, item.to, script)
        elif item.direction == "out":
            emp = state.find_employee(item.employee)
            if emp is None:
                return
            place = engine.click_to_call if item.click_to_call else engine.outgoing
            call = place(account, emp, item.to, script)
        else:
            a, b = state.find_employee(item.from_), state.find_employee(item.to)
            if a is None or b is None:
                return
            call = engine.internal(account, a, b, script)
        await call.done

    try:
        await asyncio.gather(*(one(item) for item in plan))
    finally:
        account.state.block_anonymous = block
        await clock.close()
