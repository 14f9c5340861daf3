"""One model of an office's telephone traffic: the seeded history and ``pbx-sim traffic``
both draw their calls from it.

Arrivals follow the hour of the day in the account's time zone (a morning and an afternoon
peak, a lunch dip, few calls at night) and the day of the week (fewer at weekends); talk
times are log-normal (median about 1.5 minutes, a long tail), ring times vary; regular
clients call again, known contacts call (with their names), missed calls are called back
(from the phone or, through the CRM, by click-to-call), some calls are transferred to a
colleague, put on hold, rated. ``Traffic.showcase`` adds one call of each rarer kind the
office supports (pickup, conference, queue, busy forward, congestion, the denials, IVR
choices, on-duty and out-of-hours calls, a pause), so a seeded week shows every value a
provider documents. Parameters: ``TrafficSettings`` in the account's ``seed.traffic``.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from ..config import TrafficSettings
from .engine import CallScript, Conference, Hold, Transfer


@dataclass
class PlannedCall:
    """One call the model decided on, in the admin API's terms."""
    at: float                          # seconds since the start of the traffic
    direction: str                     # in / out / internal
    from_: str
    to: str
    employee: str | None = None
    click_to_call: bool = False
    outcome: str | None = "answered"
    ring_s: float | None = None
    talk_s: float | None = None
    transfers: list[dict] = field(default_factory=list)
    rating: int | None = None
    utm: dict | None = None
    answer: str | None = None
    caller_name: str | None = None
    ivr: str | None = None
    holds: list[dict] = field(default_factory=list)
    pickup: str | None = None
    conference: list[dict] = field(default_factory=list)
    queue_s: float | None = None

    def script(self) -> CallScript:
        return CallScript(outcome=self.outcome, ring_s=self.ring_s, talk_s=self.talk_s, answer=self.answer,
                          transfers=[Transfer(t["to"], t["after_s"]) for t in self.transfers],
                          rating=self.rating, utm=self.utm, caller_name=self.caller_name, ivr=self.ivr,
                          holds=[Hold(h["after_s"], h["hold_s"]) for h in self.holds], pickup=self.pickup,
                          conference=[Conference(c["with"], c["after_s"]) for c in self.conference],
                          queue_s=self.queue_s)

    def request(self, account: str) -> dict:
        """The body of ``POST /_sim/calls`` for this call."""
        body = {"account": account, "direction": self.direction, "from": self.from_, "to": self.to,
                "outcome": self.outcome, "click_to_call": self.click_to_call, "employee": self.employee,
                "transfers": self.transfers, "rating": self.rating, "utm": self.utm, "answer": self.answer,
                "ring_s": self.ring_s, "talk_s": self.talk_s, "ivr": self.ivr, "holds": self.holds,
                "pickup": self.pickup, "conference": self.conference, "queue_s": self.queue_s}
        return {k: v for k, v in body.items() if v not in (None, [], "")}


@dataclass
class PlannedPause:
    """An employee leaves their desk (``on``) or comes back."""
    at: float
    employee: str
    on: bool


@dataclass
class Office:
    """What the model knows of an account. Only ``employees`` and ``numbers`` are needed;
    the rest lets it route calls the way the office does."""
    employees: list[str]                        # logins of employees who take calls
    numbers: list[str]                          # company numbers
    ukrainian: bool = False
    utc_offset: float = 3.0
    direct: dict[str, str] = field(default_factory=dict)         # login → own number
    contacts: list[tuple[str, str]] = field(default_factory=list)   # (number, name) known to the PBX
    answerers: dict[str, list[str]] = field(default_factory=dict)   # number → who answers it
    roles: dict[str, str] = field(default_factory=dict)           # "ivr", "duty", "closed", "forward", "group" → number
    ivr: dict[str, str] = field(default_factory=dict)             # "fax", "external", "none" → digit
    blacklisted: list[str] = field(default_factory=list)


def office_from_state(account) -> Office:
    """The model's view of an account's state."""
    state = account.state
    employees = [e for e in state.employees.values() if e.enabled and not e.dnd]
    logins = [e.login for e in employees]
    office = Office(logins, [n.number for n in state.numbers.values() if n.enabled],
                    account.locale == "uk_UA", account.utc_offset,
                    direct={e.login: e.direct_number for e in employees if e.direct_number})
    for c in sorted(state.contacts.values(), key=lambda c: c.id):
        for number in c.numbers[:1]:
            office.contacts.append((number, c.name))
    for m in state.managers.values():
        for customer in m.customers:
            office.contacts.append((customer.number, customer.name))
    office.blacklisted = [b.number for b in state.blacklist.values() if not b.number.endswith("*")]

    def members(route, depth=0) -> list[str]:
        if route is None or depth > 4:
            return []
        if route.type == "employee":
            emp = state.find_employee(route.target)
            return [emp.login] if emp is not None and emp.login in logins else []
        if route.type == "department":
            dept = state.departments.get(route.target)
            if dept is None:
                return []
            return [state.employees[m.employee_id].login for m in dept.members
                    if m.employee_id in state.employees and state.employees[m.employee_id].login in logins]
        if route.type == "schedule":
            return members(route.work, depth + 1)
        if route.type == "ivr":
            return members(route.ivr.get(str(route.ivr_default)) or next(iter(route.ivr.values()), None), depth + 1)
        return []

    for n in state.numbers.values():
        if not n.enabled:
            continue
        office.answerers[n.number] = members(n.route)
        r = n.route
        if r.type == "ivr" and "ivr" not in office.roles:
            office.roles["ivr"] = n.number
            for digit, sub in r.ivr.items():
                kind = {"fax": "fax", "external": "external"}.get(sub.type)
                if kind:
                    office.ivr.setdefault(kind, digit)
            office.ivr["none"] = next(d for d in "987654321#*" if d not in r.ivr)
        elif r.type == "schedule":
            key = "duty" if r.other is not None and r.other.type in ("employee", "department", "external") \
                else "closed" if r.other is None else "schedule"
            office.roles.setdefault(key, n.number)
        elif r.type == "employee" and r.on_busy is not None:
            office.roles.setdefault("forward", n.number)
        elif r.type == "department":
            office.roles.setdefault("group", n.number)
    return office


class Traffic:
    """Draws an office's calls from ``settings`` with ``rng`` (the same seed: the same calls)."""

    def __init__(self, office: Office, settings: TrafficSettings | None = None,
                 rng: random.Random | None = None, regulars: int = 20):
        if not office.employees:
            raise ValueError("the account has no employees to take calls")
        self.office = office
        self.s = settings or TrafficSettings()
        self.rng = rng or random.Random(1)
        self.zone = timezone(timedelta(hours=office.utc_offset))
        self.regulars = [self._new_client() for _ in range(max(1, regulars))]

    # ---- the shape of a week -------------------------------------------------------------
    def weight(self, ts: float) -> float:
        """Relative intensity of calls at epoch ``ts`` (1.0: the working-day average)."""
        local = datetime.fromtimestamp(ts, tz=self.zone)
        hourly = self.s.hourly
        work_mean = sum(hourly[9:18]) / 9 or 1.0
        w = hourly[local.hour] / work_mean
        return w * (self.s.weekend if local.weekday() >= 5 else 1.0)

    def arrivals(self, count: int, start: float, end: float) -> list[float]:
        """``count`` call times in [start, end), drawn from the week's shape."""
        bins: list[tuple[float, float]] = []
        t = start
        while t < end:
            nxt = min(end, (math.floor(t / 3600) + 1) * 3600)
            bins.append((t, nxt))
            t = nxt
        weights = [self.weight(a) * (b - a) for a, b in bins]
        if not any(weights):
            weights = [b - a for a, b in bins]
        chosen = self.rng.choices(bins, weights=weights, k=count)
        return sorted(self.rng.uniform(a, b) for a, b in chosen)

    def poisson(self, rate_per_hour: float, start: float, duration_s: float, shaped: bool = True):
        """Call offsets (from ``start``) of a Poisson stream averaging ``rate_per_hour`` in working
        hours, thinned by the week's shape (flat when not ``shaped``)."""
        peak = max(self.s.hourly) / (sum(self.s.hourly[9:18]) / 9 or 1.0) if shaped else 1.0
        rate = rate_per_hour * max(1.0, peak) / 3600.0
        t = 0.0
        while True:
            t += self.rng.expovariate(rate)
            if t >= duration_s:
                return
            if not shaped or self.rng.random() * max(1.0, peak) < self.weight(start + t):
                yield t

    # ---- parties and timings -------------------------------------------------------------
    def _new_client(self) -> str:
        rng = self.rng
        if self.office.ukrainian:
            return "+380" + rng.choice(["50", "63", "67", "93", "97"]) + "".join(str(rng.randrange(10)) for _ in range(7))
        return "79" + "".join(str(rng.randrange(10)) for _ in range(9))

    def client(self) -> tuple[str, str | None]:
        """(number, name): a known contact, a regular or someone new."""
        roll = self.rng.random()
        if self.office.contacts and roll < self.s.contact_share:
            number, name = self.rng.choice(self.office.contacts)
            return number, name
        if roll < self.s.contact_share + self.s.repeat_share:
            return self.rng.choice(self.regulars), None
        return self._new_client(), None

    def talk(self) -> float:
        s = self.s
        return float(round(min(s.talk_max_s, max(5.0, self.rng.lognormvariate(math.log(s.talk_median_s), s.talk_spread)))))

    def ring(self) -> float:
        s = self.s
        return float(round(min(45.0, max(1.0, self.rng.lognormvariate(math.log(s.ring_median_s), s.ring_spread)))))

    def _pick(self, weights: dict[str, float]) -> str:
        return self.rng.choices(list(weights), weights=list(weights.values()))[0]

    def _other(self, login: str | None) -> str | None:
        others = [e for e in self.office.employees if e != login]
        return self.rng.choice(others) if others else None

    # ---- one call ------------------------------------------------------------------------
    def call(self, at: float) -> PlannedCall:
        rng, office, s = self.rng, self.office, self.s
        kind = self._pick(s.directions)
        employee = rng.choice(office.employees)
        if kind == "internal" and len(office.employees) < 2:
            kind = "out"
        if kind == "in" and not office.numbers:
            kind = "out"
        if kind == "in":
            number, name = self.client()
            to = rng.choice(office.numbers)
            if office.direct and rng.random() < 0.15:
                to = rng.choice(sorted(office.direct.values()))   # straight to an employee's own number
            call = PlannedCall(at, "in", number, to, outcome=self._pick(s.incoming), caller_name=name)
            if to == office.roles.get("ivr") and office.ivr:
                call.ivr = "1"
            if rng.random() < s.utm_share:
                source, medium = rng.choice([("google", "cpc"), ("yandex", "cpc"), ("facebook", "social"),
                                             ("email", "newsletter")])
                call.utm = {"utm_source": source, "utm_medium": medium, "utm_campaign": f"c{rng.randrange(1, 9)}"}
        elif kind == "internal":
            call = PlannedCall(at, "internal", employee, self._other(employee), employee=employee,
                               outcome=self._pick(s.internal))
        else:
            number, _ = self.client()
            call = PlannedCall(at, "out", employee, number, employee=employee,
                               click_to_call=kind == "click_to_call", outcome=self._pick(s.outgoing))
        self.timings(call)
        return call

    def timings(self, call: PlannedCall) -> None:
        rng, s = self.rng, self.s
        if call.outcome == "answered":
            call.ring_s = self.ring()
            call.talk_s = self.talk()
            if call.direction == "in":
                people = self.office.answerers.get(call.to) or [
                    login for login, number in self.office.direct.items() if number == call.to]
                if rng.random() < s.transfer_share and len(self.office.employees) > 1:
                    # the one who answers hands the call to a colleague (who answers is known
                    # when the office's routes are)
                    call.answer = rng.choice(people) if people else None
                    call.transfers = [{"to": self._other(call.answer), "after_s": round(min(60.0, call.talk_s / 3))}]
                if rng.random() < s.rating_share:
                    call.rating = rng.choices([1, 2, 3, 4, 5], [1, 1, 2, 4, 6])[0]
            if call.direction != "internal" and call.talk_s > 40 and rng.random() < s.hold_share:
                call.holds = [{"after_s": round(rng.uniform(10, call.talk_s / 2)),
                               "hold_s": round(min(call.talk_s / 2, rng.uniform(10, 90)))}]
        elif call.outcome in ("missed", "cancelled", "busy", "unavailable"):
            call.ring_s = (round(rng.uniform(3, 30)) if call.outcome == "cancelled" else
                           round(rng.uniform(10, 60)) if call.outcome == "missed" and rng.random() < 0.6 else
                           round(rng.uniform(1, 6)) if call.outcome in ("busy", "unavailable") else None)

    def callback(self, missed: PlannedCall) -> PlannedCall | None:
        """Someone returns a missed call: from the phone or by the CRM's click-to-call."""
        rng = self.rng
        if missed.direction != "in" or missed.outcome not in ("missed", "cancelled", "busy") \
                or rng.random() >= self.s.callback_share:
            return None
        people = self.office.answerers.get(missed.to) or self.office.employees
        employee = rng.choice(people)
        delay = min(4 * 3600.0, max(60.0, rng.lognormvariate(math.log(self.s.callback_delay_s), 0.8)))
        back = PlannedCall(missed.at + delay, "out", employee, missed.from_, employee=employee,
                           click_to_call=rng.random() < self.s.crm_callback_share,
                           outcome=self._pick(self.s.outgoing))
        self.timings(back)
        return back

    # ---- a history -----------------------------------------------------------------------
    def history(self, count: int, start: float, end: float) -> list[PlannedCall | PlannedPause]:
        """``count`` calls (call-backs included) over [start, end), with the showcase."""
        items: list[PlannedCall | PlannedPause] = []
        showcase = self.showcase(start, end) if self.s.showcase and count >= 40 else []
        plain = max(0, count - sum(isinstance(i, PlannedCall) for i in showcase))
        for at in self.arrivals(plain, start, end):
            if len(items) >= plain:   # call-backs count in
                break
            call = self.call(at - start)
            items.append(call)
            back = self.callback(call)
            if back is not None and start + back.at < end and len(items) < plain:
                items.append(back)
        items.extend(showcase)
        items.sort(key=lambda i: i.at)
        return items

    def _working_moment(self, start: float, end: float, hours: tuple[int, int] = (10, 17),
                        weekday: bool = True) -> float:
        """An offset in [start, end) at a weekday working hour (local time), not at lunch
        unless ``hours`` asks for it."""
        for _ in range(200):
            t = self.rng.uniform(start, end - 3600)
            local = datetime.fromtimestamp(t, tz=self.zone)
            lunch = 12 <= local.hour < 14 and not hours[0] >= 12
            if hours[0] <= local.hour < hours[1] and (local.weekday() < 5) == weekday and not lunch:
                return t - start
        return self.rng.uniform(0, max(0.0, end - start - 3600))

    def showcase(self, start: float, end: float) -> list[PlannedCall | PlannedPause]:
        """One call of every rarer kind the office supports."""
        o, rng = self.office, self.rng
        at = lambda hours=(10, 17): self._working_moment(start, end, hours)   # noqa: E731
        emp = lambda: rng.choice(o.employees)   # noqa: E731
        out: list[PlannedCall | PlannedPause] = []

        def incoming(to: str | None, when: float | None = None, **kw) -> PlannedCall | None:
            if not to:
                return None
            number, name = self.client()
            call = PlannedCall(at() if when is None else when, "in", number, to, caller_name=name, **kw)
            if call.outcome == "answered" and call.talk_s is None:
                call.ring_s, call.talk_s = self.ring(), self.talk()
            out.append(call)
            return call

        group = o.roles.get("group") or (o.numbers[0] if o.numbers else None)
        direct_login = next(iter(sorted(o.direct)), None)
        direct = o.direct.get(direct_login) if direct_login else None
        if direct and len(o.employees) > 1:
            incoming(direct, pickup=self._other(direct_login), ring_s=6.0, talk_s=self.talk())
            incoming(direct, outcome="busy", ring_s=2.0)
            pause_at = at((12, 14))
            out.append(PlannedPause(pause_at, direct_login, True))
            incoming(direct, when=pause_at + 300, outcome=None)     # rings nobody: not at desk
            out.append(PlannedPause(pause_at + 1800, direct_login, False))
        if len(o.employees) > 1:
            incoming(group, conference=[{"with": emp(), "after_s": 20.0}], talk_s=max(60.0, self.talk()))
            a = emp()
            internal = PlannedCall(at(), "internal", a, a, employee=a, talk_s=15.0, ring_s=3.0)   # to oneself
            out.append(internal)
        incoming(group, queue_s=float(round(rng.uniform(10, 25))), ring_s=3.0, talk_s=self.talk())
        incoming(o.roles.get("forward"), outcome="busy")             # the employee is busy: forwarded
        for outcome in ("max_sessions", "not_in_white_list"):
            incoming(group, outcome=outcome)
        incoming("7" + "".join(str(rng.randrange(10)) for _ in range(10)) if not o.ukrainian
                 else "+38044" + "".join(str(rng.randrange(10)) for _ in range(7)), outcome=None)   # wrong number
        if o.blacklisted:
            call = incoming(group, outcome=None)
            call.from_, call.caller_name = rng.choice(o.blacklisted), None
        ivr = o.roles.get("ivr")
        for digit in (o.ivr.get("fax"), o.ivr.get("external"), o.ivr.get("none")):
            if ivr and digit:
                incoming(ivr, ivr=digit, outcome=None if digit != o.ivr.get("external") else "answered")
        incoming(group, outcome="missed")                            # rings out: voicemail
        incoming(o.roles.get("duty"), when=self._working_moment(start, end, (19, 23)))
        incoming(o.roles.get("closed"), when=self._working_moment(start, end, (19, 23)), outcome=None)
        for outcome, ctc in (("congestion", False), ("only_internal", False), ("forbidden", False),
                             ("not_found", False), ("unavailable", False), ("busy", False), ("missed", True)):
            e = emp()
            number, _ = self.client()
            out.append(PlannedCall(at(), "out", e, number, employee=e, click_to_call=ctc, outcome=outcome,
                                   ring_s=float(round(rng.uniform(2, 20)))))
        # a missed call returned by the CRM's click-to-call and one returned from the phone
        for ctc in (True, False):
            missed = incoming(group, outcome="missed", ring_s=float(round(rng.uniform(15, 40))))
            if missed is not None:
                e = rng.choice(o.answerers.get(group) or o.employees)
                back = PlannedCall(missed.at + 900, "out", e, missed.from_, employee=e, click_to_call=ctc,
                                   ring_s=self.ring(), talk_s=self.talk())
                out.append(back)
        if len(o.employees) > 1 and group:
            people = o.answerers.get(group) or o.employees
            a = rng.choice(people)
            incoming(group, answer=a, talk_s=120.0, transfers=[{"to": self._other(a), "after_s": 30.0}])
        return [i for i in out if i.at + start < end]
