"""Traffic: seeded, realistic, bounded by the duration, on the simulator clock."""

from __future__ import annotations

from collections import Counter

import pytest

from simulator.core.clock import Clock
from simulator.scenarios.traffic import Office, TrafficGenerator, TrafficPlan, office_of, run_in_process
from conftest import point_crm, small_config

from simulator.config import parse_config
from simulator.sim import Simulator

OFFICE = Office(["ivanov", "petrova", "sidorov", "kozlova"], ["74951234567", "74951234568"])


def test_the_same_seed_gives_the_same_calls():
    a = [(c.at, c.direction, c.from_, c.to, c.outcome) for c in TrafficPlan(OFFICE, 100, seed=5).calls(3600 * 4)]
    b = [(c.at, c.direction, c.from_, c.to, c.outcome) for c in TrafficPlan(OFFICE, 100, seed=5).calls(3600 * 4)]
    c = [(c.at, c.direction, c.from_, c.to, c.outcome) for c in TrafficPlan(OFFICE, 100, seed=6).calls(3600 * 4)]
    assert a == b and a != c


def test_the_mix_is_realistic():
    calls = list(TrafficPlan(OFFICE, 600, seed=1).calls(3600 * 10))
    assert 5400 < len(calls) < 7400                       # Poisson around 6000, and call-backs of missed calls
    assert all(0 < c.at < 36000 for c in calls)
    directions = Counter(c.direction for c in calls)
    assert directions["in"] > directions["out"] > directions["internal"] > 0
    assert any(c.click_to_call for c in calls)
    outcomes = Counter(c.outcome for c in calls)
    assert outcomes["answered"] > outcomes["missed"] > 0 and outcomes["busy"] and outcomes["cancelled"]
    talks = [c.talk_s for c in calls if c.talk_s]
    assert 5 <= min(talks) and max(talks) <= 1800 and 60 < sorted(talks)[len(talks) // 2] < 150
    assert any(c.transfers for c in calls) and any(c.rating for c in calls) and any(c.utm for c in calls)
    assert all(c.from_.startswith("79") and len(c.from_) == 11 for c in calls if c.direction == "in")
    returning = Counter(c.from_ for c in calls if c.direction == "in")
    assert returning.most_common(1)[0][1] > 20          # regular clients call again
    ua = TrafficPlan(Office(["a", "b"], ["+380441234567"], ukrainian=True), 60, seed=1)
    assert all(c.from_.startswith("+380") for c in ua.calls(3600) if c.direction == "in")


def test_bad_plans_are_refused():
    with pytest.raises(ValueError, match="positive"):
        TrafficPlan(OFFICE, 0)
    with pytest.raises(ValueError, match="no employees"):
        TrafficPlan(Office([], ["1"]), 10)


async def test_traffic_through_the_simulator_reaches_the_crm(crm):
    """An hour of calls on an instant clock: every call ends, is in history, and its webhooks
    reach the CRM."""
    sim = Simulator(parse_config(small_config(clock="instant")), Clock("instant"))
    await sim.start()
    point_crm(sim, "cloudpbx", crm.url)
    try:
        report = await run_in_process(sim, "cloudpbx", 120, 3600, seed=2)
    finally:
        await sim.close()
    account = sim.account("cloudpbx")
    assert report.placed == report.planned > 80
    assert sum(report.outcomes.values()) == report.placed == len(account.state.cdrs)
    assert report.simulated_s >= 3600
    assert report.webhooks > report.placed and report.webhook_failures == 0
    assert len(crm.received) == report.webhooks
    assert "webhooks:" in report.render() and "p95" in report.render()


async def test_the_generator_stops_at_the_duration():
    clock = Clock("instant")
    placed = []

    async def place(call):
        placed.append((clock.timestamp(), call))
        return None

    start = clock.timestamp()
    report = await TrafficGenerator(TrafficPlan(OFFICE, 3600, seed=1), clock, place, 600).run()
    await clock.close()
    assert report.placed == len(placed) and 450 < len(placed) < 750
    assert all(start <= t < start + 600 for t, _ in placed)
    assert all(abs((t - start) - c.at) < 1e-3 for t, c in placed)   # each call at its planned moment
    assert office_of  # exported for the CLI
