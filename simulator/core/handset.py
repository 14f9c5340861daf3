"""Calls driven by hand: a call placed with ``manual`` (``CallScript.manual``) rings whoever its
route rings (an employee whose every line is taken is busy at once), then waits, with no
timeout, for a person's actions through the admin API (the inspector's phone): answer as one
of the ringing parties, transfer; hold and hang-up are the engine's own, for every call.

The engine's ringing and talking phases hand a manual call to ``HandsetCalls`` (a mixin of
``CallEngine``); routing, lookups, IVRs and schedules run as for any call. An action is
applied inside the call's own task, so it sees the call as it is; the admin request waits
for the answer (done, or refused with the reason in words).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .models import Leg

if TYPE_CHECKING:
    from .accounts import Account
    from .engine import Call
    from .models import Employee

ACTIONS = ("answer", "transfer", "hangup", "hold")


class Interrupted(Exception):
    """A live call was hung up or ended while a step of it waited (the engine's and a handset's)."""


class CallActionError(Exception):
    """An action the call cannot take now; ``status`` 404 (no such call) or 409 (not now)."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


@dataclass
class Handset:
    """The waiting end of a manual call: the action it waits for, if it waits for one now."""
    waiting: asyncio.Future | None = None
    expects: tuple[str, ...] = ()
    log: list[dict[str, Any]] = field(default_factory=list)   # actions taken, for the timeline


@dataclass
class _Action:
    name: str
    by: str | None
    args: dict[str, Any]
    reply: asyncio.Future


class _Refused(Exception):
    pass


class HandsetCalls:
    """``CallEngine``'s part for manual calls (``self`` is the engine)."""

    # ---- the admin side -------------------------------------------------------------------
    async def act(self, account_id: str | None, call_id: str, name: str, by: str | None = None,
                  **args: Any) -> "Call":
        """Apply ``name`` (answer / transfer) to a live manual call as ``by`` acts; hang-up and
        hold are the engine's own. Raises ``CallActionError``."""
        call = self.find_live(account_id, call_id)
        if call is None:
            raise CallActionError(404, "no such live call")
        if not call.script.manual:
            raise CallActionError(409, "the call follows its script; place it with \"manual\": true "
                                       "to answer or transfer it by hand")
        handset = call.handset
        if handset is None or handset.waiting is None or handset.waiting.done():
            raise CallActionError(409, f"the call is not waiting for a person now (state {call.state})")
        if name not in handset.expects:
            raise CallActionError(409, f"the call cannot {name} now (state {call.state}); it waits for "
                                       + " or ".join(handset.expects))
        reply = asyncio.get_running_loop().create_future()
        handset.waiting.set_result(_Action(name, by, args, reply))
        return await asyncio.shield(reply)

    def find_live(self, account_id: str | None, call_id: str) -> "Call | None":
        if account_id:
            return self.get_live(account_id, call_id)
        call = self.live.get(call_id)
        if call is not None:
            return call
        for c in self.live.values():
            if any(leg.id == call_id for leg in c.legs):
                return c
        return None

    # ---- the call's side ------------------------------------------------------------------
    async def _next_action(self, call: "Call", expects: tuple[str, ...]) -> _Action:
        handset = call.handset
        if handset is None:
            handset = call.handset = Handset()
        handset.waiting = asyncio.get_running_loop().create_future()
        handset.expects = expects
        try:
            await asyncio.wait({handset.waiting, call._interrupt}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiting, handset.waiting, handset.expects = handset.waiting, None, ()
        if call._interrupt.done():
            if waiting.done():
                waiting.result().reply.set_exception(CallActionError(409, "the call was hung up"))
            else:
                waiting.cancel()
            raise Interrupted
        return waiting.result()

    def _done(self, call: "Call", action: _Action, **detail: Any) -> None:
        call.handset.log.append({"action": action.name, "by": action.by, "at": call.clock.timestamp(), **detail})
        if not action.reply.done():
            action.reply.set_result(call)

    def _whose_leg(self, account: "Account", call: "Call", legs: list["Leg"], by: str | None) -> "Leg":
        """The ringing leg of the party ``by`` names: an employee (ext, login, id, number) or
        ``client``; alone among the ringing legs, it may go unnamed."""
        if by in (None, ""):
            if len(legs) == 1:
                return legs[0]
            raise _Refused("say who answers: " + ", ".join(self._party(account, leg) for leg in legs))
        if by == "client":
            for leg in legs:
                if leg.kind == "client":
                    return leg
            raise _Refused("the client is not being rung on this call")
        emp = account.state.find_employee(by)
        if emp is None:
            raise _Refused(f"no employee {by!r}")
        for leg in legs:
            if leg.employee_id == emp.id:
                return leg
        raise _Refused(f"{emp.name} ({emp.ext}) is not ringing on this call")

    @staticmethod
    def _party(account: "Account", leg: "Leg") -> str:
        if leg.kind == "client":
            return "client"
        emp = account.state.employees.get(leg.employee_id) if leg.employee_id is not None else None
        return emp.ext if emp is not None else leg.number

    async def _ring_by_hand(self, account: "Account", call: "Call",
                            plan: list[tuple[str, str, "Employee | None", float, float]],
                            parent_id: str | None = None) -> tuple[str, "Leg | None"]:
        """A ringing phase of a manual call: every party of ``plan`` rings at once, until one of
        them answers or a hang-up. Returns what ``CallEngine._ring`` returns."""
        legs: list[Leg] = []
        call.state = "ringing"
        seen: set[tuple[str, str]] = set()
        for kind, number, emp, _, _ in plan:
            if (kind, number) in seen:
                continue
            seen.add((kind, number))
            leg_id = self._new_id(account) if parent_id or len(plan) > 1 else call.id
            if any(existing.id == leg_id for existing in call.legs):
                leg_id = self._new_id(account)
            leg = Leg(id=leg_id, kind=kind, number=number, employee_id=emp.id if emp else None,
                      parent_id=parent_id, rang_at=call.clock.timestamp())
            call.legs.append(leg)
            if emp is not None:
                call.employee_id = emp.id
            self._emit("leg.ringing", call, leg)
            if emp is not None and self.office.busy(account, emp):   # every line taken: busy at once
                leg.ended_at, leg.result = self.clock.timestamp(), "busy"
                self._emit("leg.ended", call, leg)
                continue
            legs.append(leg)
        if not legs:
            return "busy", None
        while True:
            action = await self._next_action(call, ("answer",))
            try:
                won = self._whose_leg(account, call, legs, action.by)
            except _Refused as why:
                action.reply.set_exception(CallActionError(409, str(why)))
                continue
            break
        now = call.clock.timestamp()
        for leg in legs:
            if leg is not won:
                leg.ended_at, leg.result = now, "cancelled"
                self._emit("leg.ended", call, leg)
        won.answered_at, won.result = now, "answered"
        if won.employee_id is not None:
            call.employee_id = won.employee_id
            self.office.take_line(call, won.employee_id)
        self._emit("leg.answered", call, won)
        self._done(call, action, leg=won.id)
        return "answered", won

    async def _talk_by_hand(self, account: "Account", call: "Call", leg: "Leg") -> None:
        """The conversation of a manual call: transfers until a hang-up."""
        while True:
            action = await self._next_action(call, ("transfer",))
            target = account.state.find_employee(str(action.args.get("to") or ""))
            if target is None or not target.enabled:
                action.reply.set_exception(CallActionError(409, f"no employee {action.args.get('to')!r} to transfer to"))
                continue
            if target.id == leg.employee_id:
                action.reply.set_exception(CallActionError(409, f"{target.name} is on the call already"))
                continue
            if self.office.busy(account, target):
                action.reply.set_exception(CallActionError(409, f"{target.name} ({target.ext}) is busy: every line is taken"))
                continue
            current = self.employee(account, leg.employee_id)
            new_leg = self._hand_over(account, call, leg, current, target)
            self._done(call, action, to=target.ext, leg=new_leg.id)
            while True:
                answer = await self._next_action(call, ("answer",))
                try:
                    self._whose_leg(account, call, [new_leg], answer.by)
                except _Refused as why:
                    answer.reply.set_exception(CallActionError(409, str(why)))
                    continue
                break
            new_leg.answered_at, new_leg.result = call.clock.timestamp(), "answered"
            call.employee_id = target.id
            self.office.take_line(call, target.id)
            self._emit("leg.answered", call, new_leg)
            self._done(call, answer, leg=new_leg.id)
            leg = new_leg


__all__ = ["ACTIONS", "CallActionError", "Handset", "HandsetCalls"]
