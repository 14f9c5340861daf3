"""Past calls for the seed: produced by running the real call engine on an instant clock
that starts ``days`` ago, so history, statistics and recordings agree with each other."""

from __future__ import annotations

import asyncio
import random
from datetime import datetime, timezone

from .clock import Clock
from .engine import CallEngine, CallScript, Transfer
from .seed import NumberFactory

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


async def seed_history(account, calls: int, days: int, now: float, seed: int) -> None:
    """Run ``calls`` calls through the engine over the ``days`` before ``now`` (no webhooks).

    On an asyncio loop of its own, in a worker thread: the instant clock knows that every call
    waits by looking at asyncio's ready queue, which the server's loop may not have (uvloop);
    the history is then the same whatever loop serves. The account is not yet visible to
    anyone while this runs."""
    if calls <= 0:
        return
    await asyncio.to_thread(asyncio.run, _run_history(account, calls, days, now, seed))


async def _run_history(account, calls: int, days: int, now: float, seed: int) -> None:
    state = account.state
    employees = [e for e in state.employees.values() if not e.dnd]
    numbers = list(state.numbers.values())
    if not employees:
        return
    rng = random.Random(f"{seed}:{account.id}:history")
    span = days * 86400
    start = now - span
    clock = Clock("instant", start=datetime.fromtimestamp(start, tz=timezone.utc))
    engine = CallEngine(clock, lookups=False, rng=random.Random(f"{seed}:{account.id}:history-calls"))
    # blocked/DND behaviour is part of the live account; the history keeps to plain calls
    block, account.state.block_anonymous = account.state.block_anonymous, False
    factory = NumberFactory(rng, account.locale == "uk_UA")
    clients = [factory.mobile() for _ in range(max(10, calls // 4))]
    # business hours, weekdays mostly; last call starts two hours before now
    offsets = sorted(rng.uniform(0, span - 7200) for _ in range(calls))

    async def one(offset: float) -> None:
        await clock.sleep(offset)
        roll = rng.random()
        client = rng.choice(clients)
        if state.blacklist_match(client):
            client = clients[0]
        if roll < 0.6 and numbers:
            script = random_script(rng, "in", employees)
            call = engine.incoming(account, client, rng.choice(numbers).number, script)
        elif roll < 0.92:
            script = random_script(rng, "out", employees)
            call = engine.outgoing(account, rng.choice(employees), client, script)
        else:
            a, b = rng.sample(employees, 2) if len(employees) > 1 else (employees[0], employees[0])
            call = engine.internal(account, a, b, CallScript(outcome="answered", talk_s=rng.randint(10, 200)))
        await call.done

    try:
        await asyncio.gather(*(one(o) for o in offsets))
    finally:
        account.state.block_anonymous = block
        await clock.close()
