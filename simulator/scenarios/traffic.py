"""Traffic: realistic calls for load and soak tests of a CRM.

The calls come from the office's traffic model in ``core/traffic.py`` (the one the seeded
history uses): its mix of directions and outcomes, ring and talk times, regular clients and
known contacts, call-backs of missed calls, transfers to a colleague, holds, ratings and UTM
tags. ``TrafficPlan`` places them at a Poisson rate on the simulator clock for a bounded
duration, flat by default (a steady load) or shaped by the account's office hours
(``office_hours``). Calls go through ``sim.place_call`` in-process, or ``POST /_sim/calls``
to a running server.
"""

from __future__ import annotations

import asyncio
import heapq
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Awaitable, Callable

from ..config import TrafficSettings
from ..core.clock import Clock
from ..core.traffic import Office, PlannedCall, Traffic, office_from_state

__all__ = ["Office", "PlannedCall", "TrafficGenerator", "TrafficPlan", "TrafficReport", "office_of",
           "run_in_process"]


class TrafficPlan:
    """A seeded stream of ``PlannedCall``s: the same seed gives the same calls. ``start``
    (epoch) with ``office_hours`` shapes the arrivals by the office's day and week; the rate
    is then that of an average working hour."""

    def __init__(self, office: Office, calls_per_hour: float, seed: int = 1,
                 settings: TrafficSettings | None = None, start: float = 0.0, office_hours: bool = False):
        if calls_per_hour <= 0:
            raise ValueError("calls per hour must be positive")
        self.office = office
        self.rate = calls_per_hour
        self.start = start
        self.office_hours = office_hours
        self.rng = random.Random(f"traffic:{seed}")
        self.model = Traffic(office, settings, self.rng)

    def calls(self, duration_s: float):
        """The calls of ``duration_s`` seconds in time order, call-backs of missed calls among them."""
        later: list[tuple[float, int, PlannedCall]] = []
        n = 0
        for t in self.model.poisson(self.rate, self.start, duration_s, shaped=self.office_hours):
            while later and later[0][0] <= t:
                yield heapq.heappop(later)[2]
            call = self.model.call(t)
            yield call
            back = self.model.callback(call)
            if back is not None and back.at < duration_s:
                n += 1
                heapq.heappush(later, (back.at, n, back))
        while later:
            yield heapq.heappop(later)[2]

    def next_call(self, at: float) -> PlannedCall:
        return self.model.call(at)


@dataclass
class TrafficReport:
    planned: int = 0
    placed: int = 0
    rejected: list[str] = field(default_factory=list)
    outcomes: Counter = field(default_factory=Counter)
    webhooks: int = 0
    webhook_failures: int = 0
    violations: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    simulated_s: float = 0.0
    notes: list[str] = field(default_factory=list)

    def render(self) -> str:
        lat = sorted(self.latencies_ms)

        def pct(p: float) -> str:
            return f"{lat[min(len(lat) - 1, int(p * len(lat)))]:.0f}" if lat else "-"

        lines = [f"traffic: {self.placed} of {self.planned} calls placed over {self.simulated_s / 3600:.2f} h "
                 "of simulated time"]
        if self.outcomes:
            lines.append("  outcomes: " + ", ".join(f"{k} {v}" for k, v in self.outcomes.most_common()))
        lines.append(f"  webhooks: {self.webhooks} sent, {self.webhook_failures} failed, "
                     f"{self.violations} contract violations; CRM latency p50 {pct(0.5)} ms, p95 {pct(0.95)} ms, "
                     f"max {lat[-1]:.0f} ms" if lat else f"  webhooks: {self.webhooks} sent")
        lines.extend(f"  rejected: {r}" for r in self.rejected[:10])
        lines.extend(f"  note: {n}" for n in self.notes)
        return "\n".join(lines)


Place = Callable[[PlannedCall], Awaitable["asyncio.Future | None"]]


class TrafficGenerator:
    """Plays a ``TrafficPlan`` on ``clock`` for ``duration_s``; ``place`` starts one call and
    returns a future that resolves with the call record (or None when nothing to wait for)."""

    def __init__(self, plan: TrafficPlan, clock: Clock, place: Place, duration_s: float,
                 on_call: Callable[[PlannedCall], None] | None = None):
        self.plan = plan
        self.clock = clock
        self.place = place
        self.duration_s = duration_s
        self.on_call = on_call or (lambda c: None)

    async def run(self, report: TrafficReport | None = None) -> TrafficReport:
        report = report or TrafficReport()
        start = self.clock.timestamp()
        pending: list[asyncio.Future] = []
        for call in self.plan.calls(self.duration_s):
            report.planned += 1
            await self.clock.sleep(start + call.at - self.clock.timestamp())
            try:
                done = await self.place(call)
            except ValueError as err:
                report.rejected.append(f"{call.direction} {call.from_} → {call.to}: {err}")
                continue
            report.placed += 1
            self.on_call(call)
            if done is not None:
                pending.append(done)
        await self.clock.sleep(start + self.duration_s - self.clock.timestamp())
        for fut in pending:
            cdr = await fut
            if cdr is not None:
                report.outcomes[cdr.outcome] += 1
        report.simulated_s = self.clock.timestamp() - start
        return report


def office_of(sim, account_id: str) -> Office:
    return office_from_state(sim.account(account_id))


async def run_in_process(sim, account_id: str, calls_per_hour: float, duration_s: float, seed: int = 1,
                         on_call: Callable[[PlannedCall], None] | None = None,
                         office_hours: bool = False) -> TrafficReport:
    """Traffic through ``sim.place_call``; webhooks go to the account's CRM."""
    account = sim.account(account_id)
    plan = TrafficPlan(office_of(sim, account_id), calls_per_hour, seed, account.config.seed.traffic,
                       sim.clock.timestamp(), office_hours)
    first_entry = len(sim.webhook_journal.entries(account_id))

    async def place(call: PlannedCall):
        placed = sim.place_call(account_id, call.direction, call.from_, call.to, call.employee, call.script(),
                                click_to_call=call.click_to_call)
        return placed.done

    report = await TrafficGenerator(plan, sim.clock, place, duration_s, on_call).run()
    await sim.webhooks.drain(60.0)
    entries = sim.webhook_journal.entries(account_id)[first_entry:]
    report.webhooks = len(entries)
    report.webhook_failures = sum(1 for e in entries if not e.delivered)
    report.violations = sum(len(e.contract.get("violations", [])) for e in entries)
    report.latencies_ms = [e.latency_ms for e in entries if e.error is None]
    if not sim.account(account_id).crm.url and not sim.account(account_id).crm.events_url:
        report.notes.append("the account has no CRM URL: no webhooks were sent (give --crm-url)")
    return report
