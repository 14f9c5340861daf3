"""Same configuration and seed: the same seeded ids and times on every start and after every
reset; calls placed at run time get ids of their own unless the run is reproducible."""

from datetime import datetime, timezone

from simulator.config import parse_config
from simulator.core.clock import Clock
from simulator.core.engine import CallScript
from simulator.sim import Simulator

START = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


def cfg():
    return parse_config({"server": {"seed": 5}, "accounts": [
        {"id": "a", "provider": "vats", "seed": {"generate": {"employees": 4, "departments": 2, "numbers": 3,
                                                               "calls": 60, "days": 2}}}]})


def seeded(sim):
    return [(c.id, c.started_at, c.ended_at, c.outcome) for c in sim.account("a").state.cdrs]


async def test_the_same_history_on_every_start_and_after_every_reset():
    first = Simulator(cfg(), Clock("manual", start=START))
    await first.start()
    again = Simulator(cfg(), Clock("manual", start=START))
    await again.start()
    history = seeded(first)
    assert len(history) == 60 and history == seeded(again)
    # time goes on, calls are made, the account is reset twice: the seed comes back unchanged
    account = first.account("a")
    emp = next(iter(account.state.employees.values()))
    call = first.engine.outgoing(account, emp, "79161234567", CallScript(talk_s=5))
    await first.clock.advance(3600)
    assert call.done.done()
    await first.reset("a")
    assert seeded(first) == history
    await first.clock.advance(7200)
    await first.reset()
    assert seeded(first) == history
    for sim in (first, again):
        await sim.close()


async def test_run_time_call_ids_are_new_on_every_start_unless_reproducible():
    ids = []
    for reproducible in (False, False, True, True):
        sim = Simulator(cfg(), Clock("manual", start=START), reproducible=reproducible)
        await sim.start()
        account = sim.account("a")
        emp = next(iter(account.state.employees.values()))
        ids.append(sim.engine.outgoing(account, emp, "79161234567").id)
        await sim.close()
    assert ids[0] != ids[1] and ids[2] == ids[3]
