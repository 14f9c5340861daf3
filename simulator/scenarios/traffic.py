"""Traffic: realistic calls for load and soak tests of a CRM.

``TrafficGenerator`` places calls at a Poisson rate on the simulator clock for a bounded
duration: Faker-made client numbers (with returning callers), a mix of directions
(incoming to the company numbers, outgoing and click-to-call from employees, internal),
outcomes (answered, missed, cancelled, busy, unavailable), ring and talk times, some
transfers, ratings and UTM tags. Calls go through ``sim.place_call`` in-process, or
``POST /_sim/calls`` to a running server.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Awaitable, Callable

from faker import Faker

from ..core.clock import Clock
from ..core.engine import CallScript, Transfer

# direction → [(outcome, weight)]; None = let the routing and the outcome policy decide who answers
INCOMING_OUTCOMES = [("answered", 70), ("missed", 14), ("cancelled", 12), ("busy", 4)]
OUTGOING_OUTCOMES = [("answered", 58), ("missed", 15), ("busy", 15), ("unavailable", 10), ("cancelled", 2)]
INTERNAL_OUTCOMES = [("answered", 85), ("missed", 15)]
DIRECTIONS = [("in", 62), ("out", 22), ("click_to_call", 10), ("internal", 6)]
UTM_SOURCES = [("google", "cpc"), ("yandex", "cpc"), ("facebook", "social"), ("email", "newsletter")]


@dataclass
class PlannedCall:
    """One call the generator decided on, in the admin API's terms."""
    at: float                          # seconds since the start of the traffic
    direction: str                     # in / out / internal
    from_: str
    to: str
    employee: str | None = None
    click_to_call: bool = False
    outcome: str = "answered"
    ring_s: float | None = None
    talk_s: float | None = None
    transfers: list[dict] = field(default_factory=list)
    rating: int | None = None
    utm: dict | None = None

    def script(self) -> CallScript:
        return CallScript(outcome=self.outcome, ring_s=self.ring_s, talk_s=self.talk_s,
                          transfers=[Transfer(t["to"], t["after_s"]) for t in self.transfers],
                          rating=self.rating, utm=self.utm)

    def request(self, account: str) -> dict:
        body = {"account": account, "direction": self.direction, "from": self.from_, "to": self.to,
                "outcome": self.outcome, "click_to_call": self.click_to_call,
                "transfers": self.transfers, "rating": self.rating, "utm": self.utm}
        if self.employee:
            body["employee"] = self.employee
        if self.ring_s is not None:
            body["ring_s"] = self.ring_s
        if self.talk_s is not None:
            body["talk_s"] = self.talk_s
        return {k: v for k, v in body.items() if v is not None}


@dataclass
class Office:
    """What the generator needs to know of an account."""
    employees: list[str]               # logins of employees who take calls
    numbers: list[str]                 # company numbers
    ukrainian: bool = False


def _pick(rng: random.Random, weighted: list[tuple[str, int]]) -> str:
    return rng.choices([w[0] for w in weighted], [w[1] for w in weighted])[0]


class TrafficPlan:
    """A seeded stream of ``PlannedCall``s: the same seed gives the same calls."""

    def __init__(self, office: Office, calls_per_hour: float, seed: int = 1):
        if calls_per_hour <= 0:
            raise ValueError("calls per hour must be positive")
        if not office.employees:
            raise ValueError("the account has no employees to take calls")
        self.office = office
        self.rate = calls_per_hour / 3600.0
        self.rng = random.Random(f"traffic:{seed}")
        self.fake = Faker("uk_UA" if office.ukrainian else "ru_RU")
        self.fake.seed_instance(seed)
        self.regulars: list[str] = [self._client() for _ in range(20)]

    def _client(self) -> str:
        if self.office.ukrainian:
            return self.fake.numerify("+380" + self.rng.choice(["50", "63", "67", "93", "97"]) + "#######")
        return self.fake.numerify("79" + "#########")

    def _talk(self) -> float:
        return round(min(1800.0, max(5.0, self.rng.lognormvariate(math.log(90), 0.9))))

    def calls(self, duration_s: float):
        t = 0.0
        while True:
            t += self.rng.expovariate(self.rate)
            if t >= duration_s:
                return
            yield self.next_call(t)

    def next_call(self, at: float) -> PlannedCall:
        rng, office = self.rng, self.office
        kind = _pick(rng, DIRECTIONS)
        client = rng.choice(self.regulars) if rng.random() < 0.3 else self._client()
        employee = rng.choice(office.employees)
        if kind == "internal" and len(office.employees) < 2:
            kind = "out"
        if kind == "in" and not office.numbers:
            kind = "out"
        if kind == "in":
            outcome = _pick(rng, INCOMING_OUTCOMES)
            call = PlannedCall(at, "in", client, rng.choice(office.numbers), outcome=outcome)
            if rng.random() < 0.2:
                source, medium = rng.choice(UTM_SOURCES)
                call.utm = {"utm_source": source, "utm_medium": medium,
                            "utm_campaign": self.fake.word(), "utm_term": self.fake.word()}
        elif kind == "internal":
            other = rng.choice([e for e in office.employees if e != employee])
            call = PlannedCall(at, "internal", employee, other, employee=employee,
                               outcome=_pick(rng, INTERNAL_OUTCOMES))
        else:
            call = PlannedCall(at, "out", employee, client, employee=employee,
                               click_to_call=kind == "click_to_call", outcome=_pick(rng, OUTGOING_OUTCOMES))
        if call.outcome == "answered":
            call.ring_s = round(rng.uniform(2, 20), 1)
            call.talk_s = self._talk()
            if call.direction == "in" and rng.random() < 0.06 and len(office.employees) > 1:
                call.transfers = [{"to": rng.choice(office.employees), "after_s": round(call.talk_s / 3)}]
            if call.direction == "in" and rng.random() < 0.1:
                call.rating = rng.choices([1, 2, 3, 4, 5], [1, 1, 2, 4, 6])[0]
        elif call.outcome == "cancelled":
            call.ring_s = round(rng.uniform(3, 25), 1)
        return call


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
    account = sim.account(account_id)
    state = account.state
    return Office([e.login for e in state.employees.values() if e.enabled],
                  [n.number for n in state.numbers.values() if n.enabled], account.provider == "phonet")


async def run_in_process(sim, account_id: str, calls_per_hour: float, duration_s: float, seed: int = 1,
                         on_call: Callable[[PlannedCall], None] | None = None) -> TrafficReport:
    """Traffic through ``sim.place_call``; webhooks go to the account's CRM."""
    plan = TrafficPlan(office_of(sim, account_id), calls_per_hour, seed)
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
