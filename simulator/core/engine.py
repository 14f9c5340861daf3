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
import dataclasses
import logging
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Awaitable, Callable

from .handset import Handset, HandsetCalls, Interrupted as _Interrupted
from .models import CallRecord, Department, Employee, Leg, PauseRecord, Route
from .office import Office
from .policy import NO_ANSWER_RING_S, Reaction

if TYPE_CHECKING:
    from .accounts import Account
    from .clock import AccountClock, Clock

log = logging.getLogger("simulator.engine")

EMPLOYEE_RING_TIMEOUT_S = 30.0   # a direct call to one employee rings this long
CLIENT_RING_TIMEOUT_S = 60.0     # an outgoing call rings the client this long
GREETING_S = 3.0                 # an IVR greeting before the caller's choice
VOICEMAIL_S = 20.0               # a message left in voicemail
MAX_ROUTE_DEPTH = 6              # timeout targets pointing at each other stop here
PICKUP_AFTER_S = 8.0             # a colleague picks up a ringing phone after this long
QUEUE_POLL_S = 5.0               # a queued caller is offered to a freed member this often
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


# ---- what a caller or a test scripts ---------------------------------------------------------

@dataclass
class Transfer:
    to: str                 # employee ref (login, ext, id, number)
    after_s: float = 10.0   # seconds into the conversation


@dataclass
class Hold:
    after_s: float = 10.0   # seconds into the conversation
    hold_s: float = 20.0    # how long the client waits on hold


@dataclass
class Conference:
    with_: str              # employee ref, or an outside number, added as the third party
    after_s: float = 10.0


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
    holds: list[Hold] = field(default_factory=list)
    pickup: str | None = None       # the employee (ref) who picks up the ringing call at ring_s
    conference: list[Conference] = field(default_factory=list)
    queue_s: float | None = None    # seconds in the department's queue before a member is free


# ---- live calls ----------------------------------------------------------------------------

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
    holds: list[list] = field(default_factory=list)   # [start, end | None] spans on hold
    pickup_from: int | None = None
    conference: list[str] = field(default_factory=list)
    queue_position: int | None = None
    busy_forward: bool = False
    on_duty: bool = False
    trunks: list[str] = field(default_factory=list)    # lines tried when more than one was
    missed_callback: bool = False
    done: asyncio.Future | None = None
    _interrupt: asyncio.Future | None = None
    _interrupt_side: str = "A"
    clock: "Clock | AccountClock | None" = field(default=None, repr=False)   # the account's

    @property
    def live(self) -> bool:
        return self.state != "ended"

    @property
    def on_hold(self) -> bool:
        return bool(self.holds) and self.holds[-1][1] is None

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
# (account id, "employee.paused" / "employee.unpaused", the pause record)
OfficeListener = Callable[[str, str, PauseRecord], None]
Lookup = Callable[["Account", Call], Awaitable[None]]


def listed(pattern: str, number: str) -> bool:
    """A white-list entry: digits, or a prefix ending in '*' (a leading '+' ignored)."""
    digits = number.lstrip("+")
    if pattern.endswith("*"):
        return digits.startswith(pattern[:-1].lstrip("+"))
    return digits == pattern.lstrip("+")


class CallEngine(HandsetCalls):
    """Runs calls for every account on one clock."""

    def __init__(self, clock: "Clock", lookups: bool = True, rng: random.Random | None = None,
                 account_clocks: bool = True):
        self.clock = clock
        # calls read their account's clock (``Account.clock``); the seeded history runs on
        # a clock of its own instead
        self.account_clocks = account_clocks
        self.lookups = lookups   # off for the seeded history: no CRM is asked about the past
        # the seeded history draws ids and choices from its own generator, so they do not
        # depend on what the account did before (credentials, earlier calls)
        self.rng = rng
        self.office = Office()
        self.office_listeners: list[OfficeListener] = []
        self.live: dict[str, Call] = {}                  # call id → live call (all accounts)
        self.queues: dict[tuple[str, str], list[str]] = {}   # (account, department) → call ids
        self.listeners: list[Listener] = []
        self._tasks: set[asyncio.Task] = set()

    # ---- plumbing ------------------------------------------------------------------------
    def subscribe(self, listener: Listener) -> None:
        self.listeners.append(listener)

    def _emit(self, type_: str, call: Call, leg: Leg | None = None, **data) -> None:
        event = CallEvent(type_, call, leg, call.clock.timestamp(), data)
        for listener in self.listeners:
            try:
                listener(event)
            except Exception:   # a broken listener must not break the call
                log.exception("listener failed on %s", type_)

    def _rng(self, account: "Account") -> random.Random:
        return self.rng or account.rng

    def clock_of(self, account: "Account") -> "Clock | AccountClock":
        if self.account_clocks and account.clock is not None:
            return account.clock
        return self.clock

    def _new_id(self, account: "Account") -> str:
        return "%032x" % (self.rng or account.id_rng or account.rng).getrandbits(128)

    # ---- the office: lines, hold, pause --------------------------------------------------
    def subscribe_office(self, listener: OfficeListener) -> None:
        self.office_listeners.append(listener)

    def is_busy(self, account: "Account", employee: Employee) -> bool:
        """Every line of the employee's phone is taken by a call."""
        return self.office.busy(account, employee)

    def hold(self, account_id: str, call_id: str, on: bool = True) -> bool:
        """Put an answered live call on hold (``on``) or take it off. False when there is no
        such answered call or it already is in that state."""
        call = self.get_live(account_id, call_id)
        if call is None or call.answered_at is None or call.on_hold == on:
            return False
        now = call.clock.timestamp()
        if on:
            call.holds.append([now, None])
        else:
            call.holds[-1][1] = now
        self._emit("call.held" if on else "call.unheld", call, call.current_leg())
        return True

    def unhold(self, account_id: str, call_id: str) -> bool:
        return self.hold(account_id, call_id, on=False)

    def pause(self, account: "Account", employee: Employee, on: bool = True) -> PauseRecord | None:
        """The employee sets (``on``) or removes their pause ("not at desk"): a paused
        employee is not rung. None when nothing changed."""
        if employee.paused == on:
            return None
        employee.paused = on
        record = PauseRecord(self._new_id(account), employee.id, self.clock_of(account).timestamp(), on)
        account.state.pauses.append(record)
        kind = "employee.paused" if on else "employee.unpaused"
        for listener in self.office_listeners:
            try:
                listener(account.id, kind, record)
            except Exception:   # a broken listener must not break the office
                log.exception("office listener failed on %s", kind)
        return record

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
        clock = self.clock_of(account)
        call = Call(id=self._new_id(account), account_id=account.id, direction=direction,
                    caller=caller, callee=callee, created_at=clock.timestamp(), script=script)
        call.clock = clock
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

    @staticmethod
    def _returns_missed(account: "Account", call: Call) -> None:
        """An outgoing call to a client whose last call was an unanswered incoming one is a
        call-back of that missed call."""
        last = account.state.cdrs.last_with(call.client)
        call.missed_callback = last is not None and last.direction == "in" and not last.answered

    def outgoing(self, account: "Account", employee: Employee, number: str,
                 script: CallScript | None = None, clid: str = "") -> Call:
        """An employee dials a client from their phone."""
        call = self._base_call(account, "out", employee.ext, number, script)
        call.client = number
        self._returns_missed(account, call)
        call.employee_id = employee.id
        call.caller_name = employee.name
        call.trunk = clid or employee.direct_number or account.default_clid()
        return self._start(account, call, self._outgoing)

    def click_to_call(self, account: "Account", employee: Employee, number: str,
                      script: CallScript | None = None, clid: str = "") -> Call:
        """The PBX rings the employee first, then dials the client (every provider's makeCall)."""
        call = self._base_call(account, "out", employee.ext, number, script)
        call.client = number
        self._returns_missed(account, call)
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
            if self.office.session_refused(account, call):
                call.outcome, call.hangup_side = "max_sessions", "B"
            else:
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
        await call.clock.sleep(seconds, call._interrupt)
        if call._interrupt.done():
            raise _Interrupted

    def _finish(self, account: "Account", call: Call) -> None:
        if call.state == "ended":
            return
        now = call.clock.timestamp()
        for leg in call.legs:
            if leg.ended_at is None:
                leg.ended_at = now
                leg.result = "ended" if leg.result == "answered" else "cancelled"
                self._emit("leg.ended", call, leg)
        self._dequeue(call)
        if call.holds and call.holds[-1][1] is None:
            call.holds[-1][1] = now
        self.office.release(account, call)
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
        return f"{day}/{self._rng(account).randrange(10**11, 10**12)}"

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
            click_to_call=call.click_to_call, missed_callback=call.missed_callback,
            holds=tuple((a, b) for a, b in call.holds), pickup_from=call.pickup_from,
            conference=tuple(call.conference), queue_position=call.queue_position,
            busy_forward=call.busy_forward, on_duty=call.on_duty,
            trunks=tuple(call.trunks) if len(call.trunks) > 1 else (),
        )

    # ---- parties' reactions --------------------------------------------------------------
    def _reaction(self, account: "Account", call: Call, side: str, number: str,
                  employee: Employee | None = None) -> Reaction:
        script = call.script
        aliases = (employee.ext, employee.login, employee.direct_number) if employee else ()
        base = account.policy.react(number, side, *aliases)
        target_side = "employee" if call.direction in ("in", "internal") else "client"
        if side == "employee" and employee is not None and self.office.busy(account, employee):
            return Reaction("busy", 0.0, base.talk_s, base.hangup)   # every line is taken
        if side == target_side:
            if script.outcome in ("busy", "unavailable"):
                return Reaction(script.outcome, script.ring_s or 0.0, base.talk_s, base.hangup)
            if script.outcome in ("missed", "cancelled") or (script.pickup and side == "employee"):
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
        elif script.outcome == "missed" and script.ring_s is not None:
            timeout = min(timeout, script.ring_s)   # nobody answers; the ringing stops then
        pickup = None
        if script.pickup and any(kind == "employee" for kind, *_ in plan):
            pickup = account.state.find_employee(script.pickup)
            if pickup is not None:
                cancel_at = min(script.ring_s if script.ring_s is not None else PICKUP_AFTER_S, timeout)
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
                moments.append((min(start + r.ring_s, timeout), 2, r.result, i))
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
                          parent_id=parent_id, rang_at=call.clock.timestamp())
                if any(existing.id == leg.id for existing in call.legs):
                    leg.id = self._new_id(account)
                call.legs.append(leg)
                legs[i] = leg
                if emp is not None:
                    call.employee_id = emp.id
                self._emit("leg.ringing", call, leg)
            elif i in legs and legs[i].result == "ringing":
                leg = legs[i]
                leg.ended_at = call.clock.timestamp()
                leg.result = "no_answer" if action == "stop" else action
                if action in ("busy", "unavailable"):
                    busy_results.append(action)
                self._emit("leg.ended", call, leg)
        if legs and all(leg.result != "ringing" for leg in legs.values()) and len(legs) == len(
                [m for m in moments if m[2] == "start"]):
            end_at = elapsed
        await self._wait(call, end_at - elapsed)
        now = call.clock.timestamp()
        outcome: str
        won: Leg | None = None
        if answer_at is not None and end_at == answer_at and (cancel_at is None or answer_at < cancel_at):
            won = legs.get(winner)
            outcome = "answered"
        elif cancel_at is not None and end_at == cancel_at and pickup is not None:
            outcome = "picked_up"
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
            leg.result = ("picked_up" if outcome == "picked_up" else
                          "cancelled" if (won is not None or outcome == "cancelled") else "no_answer")
            self._emit("leg.ended", call, leg)
        if outcome == "picked_up" and pickup is not None:
            # a colleague takes the call ringing on another phone
            call.pickup_from = next((leg.employee_id for leg in legs.values() if leg.employee_id is not None), None)
            won = Leg(id=self._new_id(account), kind="employee", number=pickup.ext, employee_id=pickup.id,
                      parent_id=call.id, rang_at=now)
            call.legs.append(won)
            self._emit("leg.ringing", call, won)
            won.answered_at, won.result = now, "answered"
            call.employee_id = pickup.id
            self.office.take_line(call, pickup.id)
            self._emit("leg.answered", call, won)
            return "answered", won
        if won is not None:
            won.answered_at = now
            won.result = "answered"
            if won.employee_id is not None:
                call.employee_id = won.employee_id
                self.office.take_line(call, won.employee_id)
            self._emit("leg.answered", call, won)
            reaction = reactions[winner]
            return "answered", won if reaction else won
        return outcome, None

    async def _talk(self, account: "Account", call: Call, leg: Leg, reaction_talk: float,
                    reaction_hangup: str | None) -> None:
        if call.answered_at is None:
            call.answered_at = call.clock.timestamp()
            call.state = "answered"
            self._emit("call.answered", call, leg)
        if call.script.manual:
            return await self._talk_by_hand(account, call, leg)
        script = call.script
        talk = script.talk_s if script.talk_s is not None else reaction_talk
        # what happens during the conversation, in time order: (offset, order, kind, item)
        plan: list[tuple[float, int, str, object]] = [(t.after_s, 0, "transfer", t) for t in script.transfers]
        plan += [(c.after_s, 1, "conference", c) for c in script.conference]
        for h in script.holds:
            plan += [(h.after_s, 2, "hold", h), (h.after_s + h.hold_s, 3, "unhold", h)]
        plan.sort(key=lambda p: (p[0], p[1]))
        spent = 0.0
        for at, _, kind, item in plan:
            if at >= talk and kind != "unhold":
                break
            wait = max(0.0, min(at, talk) - spent)
            await self._wait(call, wait)
            spent += wait
            if kind == "hold":
                self.hold(account.id, call.id, True)
            elif kind == "unhold":
                self.hold(account.id, call.id, False)
            elif kind == "conference":
                self._join(account, call, item.with_)
            else:
                new_leg, ring = await self._transfer(account, call, leg, item.to)
                spent += ring
                leg = new_leg or leg
        await self._wait(call, max(0.0, talk - spent))
        side = script.hangup or reaction_hangup or self._rng(account).choice("AB")
        call.hangup_side = side
        call.outcome = "answered"

    def _hand_over(self, account: "Account", call: Call, leg: Leg, current: Employee | None,
                   target: Employee) -> Leg:
        """``leg`` ends transferred and ``target`` rings on a new leg (scripted and by-hand transfers)."""
        leg.ended_at = call.clock.timestamp()
        leg.result = "transferred"
        self.office.free_line(call, leg.employee_id)
        self._emit("leg.ended", call, leg)
        if not call.transfers and current is not None:
            call.transfers.append(current.ext)
        call.transfers.append(target.ext)
        new_leg = Leg(id=self._new_id(account), kind="employee", number=target.ext,
                      employee_id=target.id, parent_id=call.id, rang_at=call.clock.timestamp())
        call.legs.append(new_leg)
        self._emit("call.transferred", call, new_leg, from_employee=current.id if current else None)
        self._emit("leg.ringing", call, new_leg)
        return new_leg

    async def _transfer(self, account: "Account", call: Call, leg: Leg, ref: str) -> tuple[Leg | None, float]:
        """The talking employee hands the call to ``ref``; (the new leg, seconds it rang)."""
        target = account.state.find_employee(ref)
        current = self.employee(account, leg.employee_id)
        if target is None or (current is not None and target.id == current.id) or self.office.busy(account, target):
            return None, 0.0
        new_leg = self._hand_over(account, call, leg, current, target)
        r = account.policy.react(target.ext, "employee", target.login)
        ring = min(r.ring_s, 5.0) if r.result == "answer" else 0.0
        await self._wait(call, ring)
        new_leg.answered_at = call.clock.timestamp()
        new_leg.result = "answered"
        call.employee_id = target.id
        self.office.take_line(call, target.id)
        self._emit("leg.answered", call, new_leg)
        return new_leg, ring

    def _join(self, account: "Account", call: Call, ref: str) -> None:
        """A third party joins the conversation (a conference): a colleague or an outside number."""
        emp = account.state.find_employee(ref)
        if emp is not None and (self.office.busy(account, emp) or any(
                lg.employee_id == emp.id and lg.result == "answered" for lg in call.legs)):
            return
        now = call.clock.timestamp()
        if emp is not None:
            leg = Leg(id=self._new_id(account), kind="employee", number=emp.ext, employee_id=emp.id,
                      parent_id=call.id, rang_at=now)
            call.conference.append(emp.ext)
            self.office.take_line(call, emp.id)
        else:
            leg = Leg(id=self._new_id(account), kind="client", number=ref, parent_id=call.id, rang_at=now)
            call.conference.append(ref)
        call.legs.append(leg)
        self._emit("leg.ringing", call, leg)
        leg.answered_at, leg.result = now, "answered"
        self._emit("leg.answered", call, leg)
        self._emit("call.conference", call, leg)

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
            entry.blocked_at.append(call.clock.timestamp())
            call.outcome, call.destination = "blocked_blacklist", "blocked"
            return
        script = call.script
        if script.outcome == "not_in_white_list" or (
                state.white_list and not any(listed(p, call.caller) for p in state.white_list)):
            call.outcome, call.destination, call.hangup_side = "not_in_white_list", "blocked", "B"
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
        elif script.outcome == "congestion" or not self.office.channel_free(account, number.number):
            await self._wait(call, script.ring_s or 0.0)
            call.outcome, call.destination, call.hangup_side = "congestion", "none", "B"
            return
        else:
            self.office.take_channel(account, call, number.number)
        await self._lookup(account, call)
        if call.responsible_id is not None:
            responsible = state.employees.get(call.responsible_id)
            if responsible is not None and not responsible.dnd and not responsible.paused \
                    and not self.office.busy(account, responsible):
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
            if emp.only_internal or call.script.outcome == "only_internal":
                call.employee_id = emp.id   # takes internal calls only
                call.outcome, call.hangup_side = "only_internal", "B"
                return
            if route.on_busy is not None and (call.script.outcome == "busy" or emp.paused
                                              or self.office.busy(account, emp)):
                # busy forward: the number's route says where a call to a busy employee goes
                call.busy_forward = True
                call.employee_id = emp.id
                if call.script.outcome == "busy":
                    call.script = dataclasses.replace(call.script, outcome=None)
                await self._route(account, call, route.on_busy, depth + 1)
                return
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
                # out of hours to a person or a group: the on-duty routing
                call.on_duty = route.other.type in ("employee", "department", "external")
                await self._route(account, call, route.other, depth + 1)
            else:
                await self._wait(call, GREETING_S)
                call.outcome, call.destination = "out_of_hours", "offtime"
        elif kind in ("voicemail", "fax"):
            call.destination = "vm" if kind == "voicemail" else "fax"
            script = call.script
            await self._wait(call, (GREETING_S if script.ring_s is None else script.ring_s)
                             + (VOICEMAIL_S if script.talk_s is None else script.talk_s))
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
        local = datetime.fromtimestamp(self.clock_of(account).timestamp(), tz=timezone(timedelta(hours=account.utc_offset)))
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
        ready = [e for e in employees if not e.dnd and e.enabled and not e.paused]
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

    def department_plan(self, dept: Department, members: list[Employee],
                        total: float | None = None) -> list[tuple[Employee, float, float]]:
        """(employee, start, stop) offsets of each ring in the department's call order."""
        n = len(members)
        if n == 0:
            return []
        interval = float(dept.ring_interval or 15)
        total = float(dept.timeout) if total is None else total
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
            if emp.dnd or emp.paused:
                dnd_skipped += 1
                continue
            if emp.only_internal:
                continue
            members.append(emp)
        key = (account.id, dept.id)
        queue = self.queues.setdefault(key, [])
        queue.append(call.id)
        self._emit("call.queued", call, None, department=dept.id, position=len(queue))
        result, leg, plan = "timeout", None, []
        limit = float(dept.timeout)
        try:
            # busy members are passed over: the next free one rings; with none free the
            # caller waits in the queue until one is (or the department's timeout)
            free = [e for e in members if not self.office.busy(account, e)]
            waited = 0.0
            if members and (call.script.queue_s is not None or not free):
                call.queue_position = queue.index(call.id) + 1
                if call.script.queue_s is not None:
                    waited = min(call.script.queue_s, limit)
                    await self._wait(call, waited)
                else:
                    while not free and waited < limit:
                        step = min(QUEUE_POLL_S, limit - waited)
                        await self._wait(call, step)
                        waited += step
                        free = [e for e in members if not self.office.busy(account, e)]
                free = [e for e in members if not self.office.busy(account, e)]
            plan = self.department_plan(dept, free, limit - waited) if waited < limit else []
            if plan:
                result, leg = await self._ring(
                    account, call, [("employee", e.ext, e, s, t) for e, s, t in plan],
                    limit - waited, parent_id=call.id)
            elif not waited:
                await self._wait(call, min(limit, GREETING_S))
        finally:
            self._dequeue(call)
        if result == "timeout" and call.script.outcome == "missed" and call.script.ring_s is not None:
            call.outcome, call.hangup_side = "missed", "A"   # the caller gave up at ring_s
            return
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
            await self._wait(call, VOICEMAIL_S if call.script.talk_s is None else call.script.talk_s)
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
            await self._wait(call, 1.0 if script.ring_s is None else script.ring_s)
            call.outcome, call.hangup_side = script.outcome, "B"
            return
        if emp is not None and (emp.only_internal or script.outcome == "only_internal"):
            await self._wait(call, script.ring_s or 0.0)
            call.outcome, call.hangup_side = "only_internal", "B"
            return
        if emp is not None and not call.click_to_call:
            if self.office.busy(account, emp):
                call.outcome, call.hangup_side = "busy", "A"   # no free line to dial out on
                return
            self.office.take_line(call, emp.id)
        rule = account.policy.react(call.client, "client")
        if rule.result in ("forbidden", "not_found"):
            call.outcome = rule.result
            return
        await self._lookup(account, call)
        if call.click_to_call and emp is not None:
            # the PBX rings the employee's phone first
            r = account.policy.react(emp.ext, "employee", emp.login, emp.direct_number)
            first = Leg(id=self._new_id(account), kind="employee", number=emp.ext, employee_id=emp.id,
                        rang_at=call.clock.timestamp())
            call.legs.append(first)
            call.state = "ringing"
            self._emit("leg.ringing", call, first)
            if self.office.busy(account, emp):
                first.ended_at, first.result = call.clock.timestamp(), "busy"
                self._emit("leg.ended", call, first)
                call.outcome, call.hangup_side = "busy", "B"   # the employee's phone is on a call
                return
            if r.result != "answer" or emp.dnd or emp.paused:
                await self._wait(call, 0.0 if r.result in ("busy", "unavailable") else EMPLOYEE_RING_TIMEOUT_S)
                first.ended_at, first.result = call.clock.timestamp(), "no_answer"
                self._emit("leg.ended", call, first)
                call.outcome, call.hangup_side = "cancelled", "A"
                return
            await self._wait(call, r.ring_s)
            first.answered_at, first.result = call.clock.timestamp(), "answered"
            self.office.take_line(call, emp.id)
            self._emit("leg.answered", call, first)
        if not self._seize_trunk(account, call):
            await self._wait(call, script.ring_s or 0.0)
            call.outcome, call.hangup_side = "congestion", "B"
            return
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

    def _seize_trunk(self, account: "Account", call: Call) -> bool:
        """An outgoing call takes a free channel of its line, else tries the company's other
        lines in turn; False (congestion) when none is free. ``script.outcome`` congestion
        finds every line tried full."""
        first = call.trunk
        state = account.state
        forced = call.script.outcome == "congestion"
        if not forced and self.office.channel_free(account, first):
            self.office.take_channel(account, call, first)
            return True
        others = [n.number for n in state.numbers.values() if n.enabled and n.number != first]
        tried = [first]
        for number in others[:2 if forced else None]:
            tried.append(number)
            if not forced and self.office.channel_free(account, number):
                call.trunk = number
                call.trunks = tried
                self.office.take_channel(account, call, number)
                return True
        call.trunks = tried
        return False

    async def _internal(self, account: "Account", call: Call) -> None:
        callee = account.state.employee_by_ext(call.callee)
        if callee is None:
            call.outcome = "not_found"
            return
        call.destination = "user"
        if callee.dnd or callee.paused:
            call.outcome = "dnd"
            return
        caller = account.state.employee_by_ext(call.caller)
        if caller is not None and caller is not callee:
            if self.office.busy(account, caller):
                call.outcome, call.hangup_side = "busy", "A"
                return
            self.office.take_line(call, caller.id)
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
