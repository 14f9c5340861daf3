"""Who is on the phone: each employee's lines, each company number's channels and each
account's simultaneous calls, kept by the call engine.

An employee's phone has one line unless the account's settings say otherwise (``lines``:
N, or ``call_waiting: true`` for two) or the employee has their own ``lines``. A line is
taken while the employee talks (an answered leg) and while they dial out; the engine
treats an employee with every line taken as busy. A company number with ``channels`` > 0
carries at most that many external calls at once (outgoing calls try the next line, and
end in congestion when none is free). ``AccountState.max_sessions`` > 0 caps the account's
simultaneous calls.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .accounts import Account
    from .engine import Call
    from .models import Employee


class Office:
    def __init__(self) -> None:
        self.lines: dict[tuple[str, int], set[str]] = {}     # (account, employee) → call ids
        self.channels: dict[tuple[str, str], set[str]] = {}  # (account, number) → call ids
        self.sessions: dict[str, set[str]] = {}              # account → live call ids
        self.held: dict[str, list[tuple]] = {}               # call id → the keys it holds

    # ---- lines ---------------------------------------------------------------------------
    @staticmethod
    def capacity(account: "Account", employee: "Employee") -> int:
        if employee.lines > 0:
            return employee.lines
        settings = account.settings
        if "lines" in settings:
            return max(1, int(settings["lines"]))
        return 2 if settings.get("call_waiting") else 1

    def busy(self, account: "Account", employee: "Employee") -> bool:
        taken = self.lines.get((account.id, employee.id))
        return taken is not None and len(taken) >= self.capacity(account, employee)

    def take_line(self, call: "Call", employee_id: int | None) -> None:
        if employee_id is None:
            return
        key = (call.account_id, employee_id)
        self.lines.setdefault(key, set()).add(call.id)
        self.held.setdefault(call.id, []).append(("line", key))

    def free_line(self, call: "Call", employee_id: int | None) -> None:
        taken = self.lines.get((call.account_id, employee_id))
        if taken is not None:
            taken.discard(call.id)

    # ---- company numbers -------------------------------------------------------------------
    def channel_free(self, account: "Account", number: str) -> bool:
        line = account.state.company_number(number)
        if line is None or line.channels <= 0:
            return True
        return len(self.channels.get((account.id, line.number), ())) < line.channels

    def take_channel(self, account: "Account", call: "Call", number: str) -> None:
        line = account.state.company_number(number)
        if line is None or line.channels <= 0:
            return   # unlimited lines are not counted
        key = (account.id, line.number)
        self.channels.setdefault(key, set()).add(call.id)
        self.held.setdefault(call.id, []).append(("channel", key))

    # ---- sessions --------------------------------------------------------------------------
    def session_refused(self, account: "Account", call: "Call") -> bool:
        """Counts the call in; True (and not counted) when the account is at its limit or
        the script says so."""
        limit = account.state.max_sessions
        if call.script.outcome == "max_sessions":
            return True
        if limit <= 0:
            return False
        live = self.sessions.setdefault(account.id, set())
        if len(live) >= limit:
            return True
        live.add(call.id)
        self.held.setdefault(call.id, []).append(("session", account.id))
        return False

    def release(self, account: "Account", call: "Call") -> None:
        for kind, key in self.held.pop(call.id, ()):
            table = self.lines if kind == "line" else self.channels if kind == "channel" else self.sessions
            taken = table.get(key)
            if taken is not None:
                taken.discard(call.id)
