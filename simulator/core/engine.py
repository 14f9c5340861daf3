"""The call engine: every call is a small state machine driven on the simulator clock.

    created → ringing → answered → [transferred → answered] → ended (with an outcome)

A call has legs: one per employee rung (a department call has a leg per member it rings)
and one for the external party of an outgoing call. Each transition is a ``CallEvent``
handed to the listeners (the providers' webhook mappers, the journal); lookup-type
webhooks are awaited through ``lookup`` before an incoming call is routed, and their
answer can name the employee to ring first.

Ringing is planned, then played: for the legs of one ringing phase the engine works out
when each would answer (script or outcome policy), then sleeps from one planned moment to
the next, so a department call with BYORDER, EVENLY, WATERFALL or ALL order costs a few
clock sleeps whatever its size. A hang-up through an API interrupts any sleep.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Awaitable, Callable

from .handset import Handset, HandsetCalls
from .models import CallRecord, Department, Employee, Route
from .policy import NO_ANSWER_RING_S, Reaction

if TYPE_CHECKING:
    from .accounts import Account
    from .clock import Clock

log = logging.getLogger("simulator.engine")

EMPLOYEE_RING_TIMEOUT_S = 30.0   # a direct call to one employee rings this long
CLIENT_RING_TIMEOUT_S = 60.0     # an outgoing call rings the client this long
GREETING_S = 3.0                 # an IVR greeting before the caller's choice
VOICEMAIL_S = 20.0               # a message left in voicemail
MAX_ROUTE_DEPTH = 6              # timeout targets pointing at each other stop here
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


# ---- what a caller or a test scripts ---------------------------------------------------------

@dataclass
class Transfer:
    to: str                 # employee ref (login, ext, id, number)
    after_s: float = 10.0   # seconds into the conversation


@dataclass
class CallScript:
    """What happens in one call. Anything left ``None`` is decided by the outcome policy."""
    outcome: str | None = None      # answered / missed / cancelled / busy / unavailable / forbidden / not_found
    answer: str | None = None       # the employee (ref) who answers; others rung do not
    ring_s: float | None = None     # seconds until the answer (or until the caller gives up)
    talk_s: float | None = None
    hangup: str | None = None       # A (caller) / B (callee) hangs up
    transfers: list[Transfer] = field(default_factory=list)
    ivr: str | None = None          # digit pressed in an IVR
    rating: int | None = None
    record: bool | None = None
    utm: dict | None = None
    caller_name: str | None = None
    manual: bool = False            # ring, then wait for a person's actions (core/handset.py)


# ---- live calls ----------------------------------------------------------------------------

@dataclass(eq=False)
class Leg:
    id: str
    kind: str                        # employee / client
    number: str                      # ext for employees, the dialled number for clients
    employee_id: int | None = None
    parent_id: str | None = None     # the department (parent) call this leg belongs to
    rang_at: float = 0.0
    answered_at: float | None = None
    ended_at: float | None = None
    result: str = "ringing"          # ringing / answered / no_answer / cancelled / busy / unavailable / ended / transferred


@dataclass(eq=False)
class Call:
    id: str
    account_id: str
    direction: str                   # in / out / internal
    caller: str
    callee: str
    created_at: float
    client: str = ""
    trunk: str = ""
    caller_name: str = ""
    callee_name: str = ""
    state: str = "created"           # created / ringing / answered / ended
    legs: list[Leg] = field(default_factory=list)
    employee_id: int | None = None   # who is talking (or last rung)
    department_id: str | None = None
    parent_id: str | None = None
    answered_at: float | None = None
    ended_at: float | None = None
    outcome: str | None = None
    hangup_side: str = "A"
    transfers: list[str] = field(default_factory=list)
    destination: str = "user"
    record: bool = True
    rating: int | None = None
    utm: dict | None = None
    click_to_call: bool = False
    contact_name: str = ""
    responsible_id: int | None = None
    lookup: dict | None = None       # what the CRM answered to the lookup, as the provider read it
    script: CallScript = field(default_factory=CallScript)
    record_file: str = ""
    handset: Handset | None = None   # a manual call's waiting end
    cdr: CallRecord | None = None
    done: asyncio.Future | None = None
    _interrupt: asyncio.Future | None = None
    _interrupt_side: str = "A"

    @property
    def live(self) -> bool:
        return self.state != "ended"

    def ringing_legs(self) -> list[Leg]:
        return [leg for leg in self.legs if leg.result == "ringing"]

    def current_leg(self) -> Leg | None:
        for leg in reversed(self.legs):
            if leg.result == "answered":
                return leg
        return None


@dataclass
class CallEvent:
    type: str       # call.created / leg.ringing / leg.answered / leg.ended / call.answered /
                    # call.transferred / call.queued / call.dequeued / call.ended / call.rated
    call: Call
    leg: Leg | None
    at: float
    data: dict = field(default_factory=dict)


Listener = Callable[[CallEvent], None]
Lookup = Callable[["Account", Call], Awaitable[None]]


class _Interrupted(Exception):
    pass


class CallEngine(HandsetCalls):
    """Runs calls for every account on one clock."""

    def __init__(self, clock: "Clock", lookups: bool = True):
        self.clock = clock
        self.lookups = lookups   # off for the seeded history: no CRM is asked about the past
        self.live: dict[str, Call] = {}                  # call id → live call (all accounts)
        self.queues: dict[tuple[str, str], list[str]] = {}   # (account, department) → call ids
        self.listeners: list[Listener] = []
        self._tasks: set[asyncio.Task] = set()

    # ---- plumbing ------------------------------------------------------------------------
    def subscribe(self, listener: Listener) -> None:
        self.listeners.append(listener)

    def _emit(self, type_: str, call: Call, leg: Leg | None = None, **data) -> None:
        event = CallEvent(type_, call, leg, self.clock.timestamp(), data)
        for listener in self.listeners:
            try:
                listener(event)
            except Exception:   # a broken listener must not break the call
                log.exception("listener failed on %s", type_)

    def _new_id(self, account: "Account") -> str:
        return "%032x" % account.rng.getrandbits(128)

    def live_calls(self, account_id: str | None = None) -> list[Call]:
        return [c for c in self.live.values() if account_id is None or c.account_id == account_id]

    def get_live(self, account_id: str, call_id: str) -> Call | None:
        call = self.live.get(call_id)
        if call is not None and call.account_id == account_id:
            return call
        for c in self.live.values():   # a department child leg id names its call too
            if c.account_id == account_id and any(leg.id == call_id for leg in c.legs):
                return c
        return None

    def queue(self, account_id: str, department_id: str) -> list[Call]:
        return [self.live[cid] for cid in self.queues.get((account_id, department_id), []) if cid in self.live]

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass

    async def hangup(self, account_id: str, call_id: str, side: str = "B") -> bool:
        """End a live call now (an API's hang-up). False when no such live call."""
        call = self.get_live(account_id, call_id)
        if call is None:
            return False
        call._interrupt_side = side
        if call._interrupt is not None and not call._interrupt.done():
            call._interrupt.set_result(None)
        if call.done is not None:
            await asyncio.shield(call.done)
        return True

    # ---- starting calls ------------------------------------------------------------------
    def _start(self, account: "Account", call: Call, body) -> Call:
        loop = asyncio.get_running_loop()
        call.done = loop.create_future()
        call._interrupt = loop.create_future()
        self.live[call.id] = call
        task = loop.create_task(self._run(account, call, body))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return call

    def _base_call(self, account: "Account", direction: str, caller: str, callee: str,
                   script: CallScript | None) -> Call:
        script = script or CallScript()
        call = Call(id=self._new_id(account), account_id=account.id, direction=direction,
                    caller=caller, callee=callee, created_at=self.clock.timestamp(), script=script)
        call.record = account.record_calls if script.record is None else script.record
        call.rating = script.rating
        call.utm = script.utm
        return call

    def incoming(self, account: "Account", caller: str, to: str, script: CallScript | None = None) -> Call:
        """A client calls a company number (or an employee's direct number)."""
        call = self._base_call(account, "in", caller, to, script)
        call.client = caller
        call.trunk = to
        call.caller_name = call.script.caller_name or ""
        return self._start(account, call, self._incoming)

    def outgoing(self, account: "Account", employee: Employee, number: str,
                 script: CallScript | None = None, clid: str = "") -> Call:
        """An employee dials a client from their phone."""
        call = self._base_call(account, "out", employee.ext, number, script)
        call.client = number
        call.employee_id = employee.id
        call.caller_name = employee.name
        call.trunk = clid or employee.direct_number or account.default_clid()
        return self._start(account, call, self._outgoing)

    def click_to_call(self, account: "Account", employee: Employee, number: str,
                      script: CallScript | None = None, clid: str = "") -> Call:
        """The PBX rings the employee first, then dials the client (every provider's makeCall)."""
        call = self._base_call(account, "out", employee.ext, number, script)
        call.client = number
        call.employee_id = employee.id
        call.caller_name = employee.name
        call.click_to_call = True
        call.trunk = clid or employee.direct_number or account.default_clid()
        return self._start(account, call, self._outgoing)

    def internal(self, account: "Account", caller: Employee, callee: Employee,
                 script: CallScript | None = None) -> Call:
        call = self._base_call(account, "internal", caller.ext, callee.ext, script)
        call.employee_id = caller.id
        call.caller_name = caller.name
        call.callee_name = callee.name
        return self._start(account, call, self._internal)

    # ---- the call's life -----------------------------------------------------------------
    async def _run(self, account: "Account", call: Call, body) -> None:
        try:
            self._emit("call.created", call)
            await body(account, call)
        except _Interrupted:
            self._interrupted(call)
        except asyncio.CancelledError:
            call.outcome = call.outcome or "cancelled"
            self._finish(account, call)
            raise
        except Exception:
            log.exception("call %s failed", call.id)
            call.outcome = call.outcome or "unavailable"
        self._finish(account, call)

    def _interrupted(self, call: Call) -> None:
        call.hangup_side = call._interrupt_side
        if call.answered_at is None:
            call.outcome = "cancelled"

    async def _wait(self, call: Call, seconds: float) -> None:
        """Sleep on the clock; an API hang-up ends the wait with ``_Interrupted``."""
        if call._interrupt is not None and call._interrupt.done():
            raise _Interrupted
        if seconds <= 0:
            return
        await self.clock.sleep(seconds, call._interrupt)
        if call._interrupt.done():
            raise _Interrupted

    def _finish(self, account: "Account", call: Call) -> None:
        if call.state == "ended":
            return
        now = self.clock.timestamp()
        for leg in call.legs:
            if leg.ended_at is None:
                leg.ended_at = now
                leg.result = "ended" if leg.result == "answered" else "cancelled"
                self._emit("leg.ended", call, leg)
        self._dequeue(call)
        call.state = "ended"
        call.ended_at = now
        call.outcome = call.outcome or ("answered" if call.answered_at is not None else "missed")
        if call.answered_at is not None and call.record and not call.record_file:
            call.record_file = self._record_name(account, call)
        call.cdr = self._to_cdr(call)
        account.state.cdrs.add(call.cdr)
        self.live.pop(call.id, None)
        self._emit("call.ended", call)
        if call.rating is not None:
            self._emit("call.rated", call)
        if call.done is not None and not call.done.done():
            call.done.set_result(call.cdr)

    def _record_name(self, account: "Account", call: Call) -> str:
        day = datetime.fromtimestamp(call.created_at, tz=timezone.utc).strftime("%Y-%m-%d")
        return f"{day}/{account.rng.randrange(10**11, 10**12)}"

    def _to_cdr(self, call: Call) -> CallRecord:
        rung = [call.employee_id] if call.direction != "in" and call.employee_id is not None else []
        for leg in call.legs:
            if leg.employee_id is not None and leg.employee_id not in rung:
                rung.append(leg.employee_id)
        return CallRecord(
            id=call.id, direction=call.direction, caller=call.caller, callee=call.callee,
            started_at=call.created_at, ended_at=call.ended_at or call.created_at,
            outcome=call.outcome or "missed", answered_at=call.answered_at, parent_id=call.parent_id,
            caller_name=call.caller_name, callee_name=call.callee_name, client=call.client,
            trunk=call.trunk, employee_id=call.employee_id, employee_ids=tuple(rung),
            department_id=call.department_id, hangup_side=call.hangup_side,
            transfers=tuple(call.transfers), record_file=call.record_file, rating=call.rating,
            utm=call.utm, destination=call.destination, via=call.trunk,
            legs=tuple((leg.id, leg.employee_id, leg.rang_at, leg.answered_at, leg.ended_at)
                       for leg in call.legs),
            click_to_call=call.click_to_call,
        )

    # ---- parties' reactions --------------------------------------------------------------
    def _reaction(self, account: "Account", call: Call, side: str, number: str,
                  employee: Employee | None = None) -> Reaction:
        script = call.script
        aliases = (employee.ext, employee.login, employee.direct_number) if employee else ()
        base = account.policy.react(number, side, *aliases)
        target_side = "employee" if call.direction in ("in", "internal") else "client"
        if side == target_side:
            if script.outcome in ("busy", "unavailable"):
                return Reaction(script.outcome, 0.0, base.talk_s, base.hangup)
            if script.outcome in ("missed", "cancelled"):
                return Reaction("no_answer", NO_ANSWER_RING_S, base.talk_s, base.hangup)
            if side == "employee" and script.answer is not None:
                chosen = account.state.find_employee(script.answer)
                if employee is None or chosen is None or chosen.id != employee.id:
                    return Reaction("no_answer", NO_ANSWER_RING_S, base.talk_s, base.hangup)
                return Reaction("answer", script.ring_s if script.ring_s is not None else base.ring_s,
                                base.talk_s, base.hangup)
            if script.outcome == "answered" and base.result != "answer":
                base = Reaction("answer", self._default_ring(side), base.talk_s, base.hangup)
            if script.ring_s is not None and base.result == "answer":
                return Reaction("answer", script.ring_s, base.talk_s, base.hangup)
        return base

    @staticmethod
    def _default_ring(side: str) -> float:
        from .policy import CLIENT_ANSWER_S, EMPLOYEE_ANSWER_S
        return EMPLOYEE_ANSWER_S if side == "employee" else CLIENT_ANSWER_S

    # ---- ringing -------------------------------------------------------------------------
    async def _ring(self, account: "Account", call: Call,
                    plan: list[tuple[str, str, Employee | None, float, float]],
                    timeout: float, parent_id: str | None = None) -> tuple[str, Leg | None]:
        """Play one ringing phase.

        ``plan``: (kind, number, employee, start_offset, stop_offset) per leg. Returns
        (``answered``, leg) / (``busy`` | ``unavailable`` | ``timeout`` | ``cancelled``, None).
        The caller's ``cancel`` (script outcome cancelled) ends the phase at ``ring_s``.
        """
        if call.script.manual:
            return await self._ring_by_hand(account, call, plan, parent_id)
        script = call.script
        cancel_at = None
        if script.outcome == "cancelled":
            cancel_at = script.ring_s if script.ring_s is not None else min(10.0, timeout)
        # moments: (offset, order, action, index)
        moments: list[tuple[float, int, str, int]] = []
        reactions: list[Reaction] = []
        answer_at: float | None = None
        winner = -1
        for i, (kind, number, emp, start, stop) in enumerate(plan):
            side = "employee" if kind == "employee" else "client"
            r = self._reaction(account, call, side, number, emp)
            reactions.append(r)
            if start >= timeout:
                continue
            # at one moment: a leg stops before the next one starts (BYORDER hand-over)
            moments.append((start, 1, "start", i))
            if r.result in ("busy", "unavailable"):
                moments.append((start, 2, r.result, i))
            elif r.result == "answer" and start + r.ring_s < min(stop, timeout):
                at = start + r.ring_s
                if answer_at is None or at < answer_at:
                    answer_at, winner = at, i
                moments.append((min(stop, timeout), 0, "stop", i))
            else:
                moments.append((min(stop, timeout), 0, "stop", i))
        end_at = timeout
        if answer_at is not None:
            end_at = min(end_at, answer_at)
        if cancel_at is not None:
            end_at = min(end_at, cancel_at)
        moments = sorted(m for m in moments if m[0] <= end_at)
        legs: dict[int, Leg] = {}
        busy_results: list[str] = []
        elapsed = 0.0
        call.state = "ringing"
        for n, (offset, _, action, i) in enumerate(moments):
            if offset > end_at:
                break
            if legs and all(leg.result != "ringing" for leg in legs.values()) \
                    and not any(m[2] == "start" for m in moments[n:]):
                end_at = elapsed   # every leg gave up (busy / unavailable): the phase is over
                break
            if offset == end_at and action == "stop":
                continue   # the phase's end decides these
            await self._wait(call, offset - elapsed)
            elapsed = offset
            kind, number, emp, _, _ = plan[i]
            if action == "start":
                leg = Leg(id=self._new_id(account) if parent_id or len(plan) > 1 else call.id,
                          kind=kind, number=number, employee_id=emp.id if emp else None,
                          parent_id=parent_id, rang_at=self.clock.timestamp())
                if any(existing.id == leg.id for existing in call.legs):
                    leg.id = self._new_id(account)
                call.legs.append(leg)
                legs[i] = leg
                if emp is not None:
                    call.employee_id = emp.id
                self._emit("leg.ringing", call, leg)
            elif i in legs and legs[i].result == "ringing":
                leg = legs[i]
                leg.ended_at = self.clock.timestamp()
                leg.result = "no_answer" if action == "stop" else action
                if action in ("busy", "unavailable"):
                    busy_results.append(action)
                self._emit("leg.ended", call, leg)
        if legs and all(leg.result != "ringing" for leg in legs.values()) and len(legs) == len(
                [m for m in moments if m[2] == "start"]):
            end_at = elapsed
        await self._wait(call, end_at - elapsed)
        now = self.clock.timestamp()
        outcome: str
        won: Leg | None = None
        if answer_at is not None and end_at == answer_at and (cancel_at is None or answer_at < cancel_at):
            won = legs.get(winner)
            outcome = "answered"
        elif cancel_at is not None and end_at == cancel_at:
            outcome = "cancelled"
        elif busy_results and not any(leg.result == "ringing" for leg in legs.values()) \
                and len(busy_results) == len(legs):
            outcome = busy_results[0]
        else:
            outcome = "timeout"
        for leg in legs.values():
            if leg is won or leg.result != "ringing":
                continue
            leg.ended_at = now
            leg.result = "cancelled" if (won is not None or outcome == "cancelled") else "no_answer"
            self._emit("leg.ended", call, leg)
        if won is not None:
            won.answered_at = now
            won.result = "answered"
            if won.employee_id is not None:
                call.employee_id = won.employee_id
            self._emit("leg.answered", call, won)
            reaction = reactions[winner]
            return "answered", won if reaction else won
        return outcome, None

    async def _talk(self, account: "Account", call: Call, leg: Leg, reaction_talk: float,
                    reaction_hangup: str | None) -> None:
        if call.answered_at is None:
            call.answered_at = self.clock.timestamp()
            call.state = "answered"
            self._emit("call.answered", call, leg)
        if call.script.manual:
            return await self._talk_by_hand(account, call, leg)
        script = call.script
        talk = script.talk_s if script.talk_s is not None else reaction_talk
        spent = 0.0
        for transfer in script.transfers:
            target = account.state.find_employee(transfer.to)
            if target is None:
                continue
            wait = max(0.0, min(transfer.after_s, talk) - spent)
            await self._wait(call, wait)
            spent += wait
            current = self.employee(account, leg.employee_id)
            leg.ended_at = self.clock.timestamp()
            leg.result = "transferred"
            self._emit("leg.ended", call, leg)
            if not call.transfers and current is not None:
                call.transfers.append(current.ext)
            call.transfers.append(target.ext)
            new_leg = Leg(id=self._new_id(account), kind="employee", number=target.ext,
                          employee_id=target.id, parent_id=call.id, rang_at=self.clock.timestamp())
            call.legs.append(new_leg)
            self._emit("call.transferred", call, new_leg, from_employee=current.id if current else None)
            self._emit("leg.ringing", call, new_leg)
            r = account.policy.react(target.ext, "employee", target.login)
            ring = min(r.ring_s, 5.0) if r.result == "answer" else 0.0
            await self._wait(call, ring)
            spent += ring
            new_leg.answered_at = self.clock.timestamp()
            new_leg.result = "answered"
            call.employee_id = target.id
            self._emit("leg.answered", call, new_leg)
            leg = new_leg
        await self._wait(call, max(0.0, talk - spent))
        side = script.hangup or reaction_hangup or account.rng.choice("AB")
        call.hangup_side = side
        call.outcome = "answered"

    @staticmethod
    def employee(account: "Account", employee_id: int | None) -> Employee | None:
        return account.state.employees.get(employee_id) if employee_id is not None else None

    # ---- incoming ------------------------------------------------------------------------
    async def _incoming(self, account: "Account", call: Call) -> None:
        state = account.state
        anonymous = not call.caller or call.caller.lower() in ("anonymous", "unknown", "restricted")
        if anonymous and state.block_anonymous:
            call.outcome, call.destination = "blocked_anonymous", "blocked"
            return
        entry = state.blacklist_match(call.caller) if not anonymous else None
        if entry is not None:
            entry.blocked_at.append(self.clock.timestamp())
            call.outcome, call.destination = "blocked_blacklist", "blocked"
            return
        number = state.company_number(call.callee)
        direct = None
        if number is None:
            direct = state.employee_by_number(call.callee) or state.employee_by_ext(call.callee)
            if direct is None:
                call.outcome, call.destination = "not_found", "none"
                return
        elif not number.enabled:
            call.outcome, call.destination = "not_found", "disabled"
            return
        await self._lookup(account, call)
        if call.responsible_id is not None:
            responsible = state.employees.get(call.responsible_id)
            if responsible is not None and not responsible.dnd:
                result = await self._ring_employees(account, call, [responsible])
                if result == "answered" or call.outcome is not None:
                    return
        if direct is not None:
            await self._route(account, call, Route(type="employee", target=direct.login), 0)
        else:
            await self._route(account, call, number.route, 0)

    async def _lookup(self, account: "Account", call: Call) -> None:
        if account.lookup is None or not self.lookups:
            return
        async with self.clock.hold():
            try:
                await account.lookup(account, call)
            except Exception:
                log.exception("lookup for call %s failed", call.id)

    async def _route(self, account: "Account", call: Call, route: Route, depth: int) -> None:
        if depth > MAX_ROUTE_DEPTH:
            call.outcome = call.outcome or "missed"
            return
        state = account.state
        kind = route.type
        if kind == "employee":
            emp = state.find_employee(route.target)
            if emp is None:
                call.outcome, call.destination = "not_found", "user"
                return
            call.destination = "user"
            await self._ring_employees(account, call, [emp])
        elif kind == "department":
            dept = state.departments.get(route.target) or next(
                (d for d in state.departments.values() if d.ext == route.target or d.name == route.target), None)
            if dept is None:
                call.outcome, call.destination = "not_found", "group"
                return
            await self._ring_department(account, call, dept, depth)
        elif kind == "ivr":
            call.destination = "ivr"
            await self._wait(call, GREETING_S)
            digit = call.script.ivr if call.script.ivr is not None else route.ivr_default
            choice = route.ivr.get(str(digit)) if digit not in (None, "") else None
            if choice is None:
                await self._wait(call, 5.0)
                call.outcome = "cancelled"
                call.hangup_side = "A"
                return
            await self._route(account, call, choice, depth + 1)
        elif kind == "schedule":
            if self.in_hours(account, route):
                await self._route(account, call, route.work or Route(type="voicemail"), depth + 1)
            elif route.other is not None:
                call.destination = "offtime"
                await self._route(account, call, route.other, depth + 1)
            else:
                await self._wait(call, GREETING_S)
                call.outcome, call.destination = "out_of_hours", "offtime"
        elif kind in ("voicemail", "fax"):
            call.destination = "vm" if kind == "voicemail" else "fax"
            await self._wait(call, GREETING_S + VOICEMAIL_S)
            call.outcome = "voicemail"
            call.hangup_side = "A"
        elif kind == "external":
            call.destination = "telnum"
            result, leg = await self._ring(account, call, [("client", route.target, None, 0.0, CLIENT_RING_TIMEOUT_S)],
                                           CLIENT_RING_TIMEOUT_S)
            await self._after_ring(account, call, result, leg)
        else:
            call.outcome = "not_found"

    def in_hours(self, account: "Account", route: Route) -> bool:
        local = datetime.fromtimestamp(self.clock.timestamp(), tz=timezone(timedelta(hours=account.utc_offset)))
        spans = route.schedule.get(DAYS[local.weekday()], [])
        seconds = local.hour * 3600 + local.minute * 60 + local.second
        return any(start <= seconds < end for start, end in spans)

    async def _after_ring(self, account: "Account", call: Call, result: str, leg: Leg | None) -> str:
        if result == "answered" and leg is not None:
            kind_side = "employee" if leg.kind == "employee" else "client"
            emp = self.employee(account, leg.employee_id)
            r = self._reaction(account, call, kind_side, leg.number, emp)
            await self._talk(account, call, leg, r.talk_s, r.hangup)
        elif result in ("busy", "unavailable"):
            call.outcome = result
            call.hangup_side = "B"
        elif result == "cancelled":
            call.outcome = "cancelled"
            call.hangup_side = "A"
        return result

    async def _ring_employees(self, account: "Account", call: Call, employees: list[Employee]) -> str:
        ready = [e for e in employees if not e.dnd and e.enabled]
        if not ready:
            call.outcome = "dnd"
            return "dnd"
        plan = [("employee", e.ext, e, 0.0, EMPLOYEE_RING_TIMEOUT_S) for e in ready]
        result, leg = await self._ring(account, call, plan, EMPLOYEE_RING_TIMEOUT_S)
        if result == "timeout":
            if call.responsible_id is not None and len(employees) == 1 and employees[0].id == call.responsible_id \
                    and call.legs and call.legs[-1].employee_id == call.responsible_id:
                return "timeout"   # the responsible did not answer: route on
            call.outcome = "missed"
            call.hangup_side = "A"
            return result
        await self._after_ring(account, call, result, leg)
        return result

    def department_plan(self, dept: Department, members: list[Employee]) -> list[tuple[Employee, float, float]]:
        """(employee, start, stop) offsets of each ring in the department's call order."""
        n = len(members)
        if n == 0:
            return []
        interval = float(dept.ring_interval or 15)
        total = float(dept.timeout)
        order = dept.call_order
        if order == "ALL":
            return [(m, 0.0, total) for m in members]
        if order == "WATERFALL":
            return [(m, k * interval, total) for k, m in enumerate(members) if k * interval < total]
        start = 0
        if order == "EVENLY":
            start = dept.next_start % n
            dept.next_start = (dept.next_start + 1) % n
        plan = []
        k = 0
        while k * interval < total:
            m = members[(start + k) % n]
            plan.append((m, k * interval, min((k + 1) * interval, total)))
            k += 1
        return plan

    async def _ring_department(self, account: "Account", call: Call, dept: Department, depth: int) -> None:
        state = account.state
        call.department_id = dept.id
        call.destination = "group"
        members = []
        dnd_skipped = 0
        for m in dept.members:
            emp = state.employees.get(m.employee_id)
            if emp is None or not m.calls_enabled or not emp.enabled:
                continue
            if emp.dnd:
                dnd_skipped += 1
                continue
            members.append(emp)
        plan = self.department_plan(dept, members)
        key = (account.id, dept.id)
        self.queues.setdefault(key, []).append(call.id)
        self._emit("call.queued", call, None, department=dept.id)
        result, leg = "timeout", None
        try:
            if plan:
                result, leg = await self._ring(
                    account, call, [("employee", e.ext, e, s, t) for e, s, t in plan],
                    float(dept.timeout), parent_id=call.id)
            else:
                await self._wait(call, min(float(dept.timeout), GREETING_S))
        finally:
            self._dequeue(call)
        if result == "timeout":
            if not plan and dnd_skipped and dept.timeout_target == "voicemail":
                call.outcome, call.hangup_side = "dnd", "A"
                return
            await self._timeout_target(account, call, dept, depth)
            return
        await self._after_ring(account, call, result, leg)

    def _dequeue(self, call: Call) -> None:
        if call.department_id is None:
            return
        queue = self.queues.get((call.account_id, call.department_id))
        if queue and call.id in queue:
            queue.remove(call.id)
            self._emit("call.dequeued", call, None, department=call.department_id)

    async def _timeout_target(self, account: "Account", call: Call, dept: Department, depth: int) -> None:
        target = dept.timeout_target
        if target == "voicemail":
            call.destination = "vm"
            await self._wait(call, VOICEMAIL_S)
            call.outcome, call.hangup_side = "missed", "A"
        elif target == "employee":
            await self._route(account, call, Route(type="employee", target=dept.timeout_value), depth + 1)
        elif target == "department":
            await self._route(account, call, Route(type="department", target=dept.timeout_value), depth + 1)
        elif target == "external":
            await self._route(account, call, Route(type="external", target=dept.timeout_value), depth + 1)
        else:
            call.outcome = "missed"

    # ---- outgoing and internal -----------------------------------------------------------
    async def _outgoing(self, account: "Account", call: Call) -> None:
        emp = self.employee(account, call.employee_id)
        script = call.script
        if script.outcome in ("forbidden", "not_found"):
            await self._wait(call, 1.0)
            call.outcome, call.hangup_side = script.outcome, "B"
            return
        rule = account.policy.react(call.client, "client")
        if rule.result in ("forbidden", "not_found"):
            call.outcome = rule.result
            return
        await self._lookup(account, call)
        if call.click_to_call and emp is not None:
            # the PBX rings the employee's phone first
            r = account.policy.react(emp.ext, "employee", emp.login, emp.direct_number)
            first = Leg(id=self._new_id(account), kind="employee", number=emp.ext, employee_id=emp.id,
                        rang_at=self.clock.timestamp())
            call.legs.append(first)
            call.state = "ringing"
            self._emit("leg.ringing", call, first)
            if r.result != "answer" or emp.dnd:
                await self._wait(call, 0.0 if r.result in ("busy", "unavailable") else EMPLOYEE_RING_TIMEOUT_S)
                first.ended_at, first.result = self.clock.timestamp(), "no_answer"
                self._emit("leg.ended", call, first)
                call.outcome, call.hangup_side = "cancelled", "A"
                return
            await self._wait(call, r.ring_s)
            first.answered_at, first.result = self.clock.timestamp(), "answered"
            self._emit("leg.answered", call, first)
        result, leg = await self._ring(account, call, [("client", call.client, None, 0.0, CLIENT_RING_TIMEOUT_S)],
                                       CLIENT_RING_TIMEOUT_S)
        if result == "timeout":
            call.outcome, call.hangup_side = "missed", "A"
            return
        if result == "answered" and leg is not None:
            # the conversation is the employee's; the client leg carries the answer
            r = self._reaction(account, call, "client", call.client)
            await self._talk(account, call, leg, r.talk_s, r.hangup)
            return
        await self._after_ring(account, call, result, leg)

    async def _internal(self, account: "Account", call: Call) -> None:
        callee = account.state.employee_by_ext(call.callee)
        if callee is None:
            call.outcome = "not_found"
            return
        call.destination = "user"
        if callee.dnd:
            call.outcome = "dnd"
            return
        result, leg = await self._ring(account, call, [("employee", callee.ext, callee, 0.0, EMPLOYEE_RING_TIMEOUT_S)],
                                       EMPLOYEE_RING_TIMEOUT_S)
        if result == "timeout":
            call.outcome, call.hangup_side = "missed", "A"
            return
        if result == "answered":
            call.employee_id = call.employee_id  # the caller stays the call's employee
        await self._after_ring(account, call, result, leg)
        caller = account.state.employee_by_ext(call.caller)
        if caller is not None:
            call.employee_id = caller.id
