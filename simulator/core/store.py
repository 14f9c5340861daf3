"""Per-account state behind one interface, and the call-record index.

``CdrStore`` keeps call records sorted by start time with a parallel list of start
timestamps, so a time-window query bisects instead of scanning a million records.
"""

from __future__ import annotations

import bisect
import dataclasses
import random
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator

from .models import (
    BlacklistEntry,
    CallRecord,
    CompanyNumber,
    Contact,
    Department,
    Employee,
    PauseRecord,
    PersonalManager,
    SimCard,
)


class CdrStore:
    """``retain(calls, max_age_s)`` caps what it keeps (``server.retention``): past ``calls``
    records, or records that started more than ``max_age_s`` before the newest, the oldest are
    dropped, in batches of 1 % of the cap (dropping from the front of a list moves all of it:
    once per record would cost each new call a copy of the whole index), so the store never
    holds more than the cap. ``dropped`` counts them (``/_sim/health``)."""

    def __init__(self) -> None:
        self.max_calls: int | None = None
        self.max_age_s: float | None = None
        self.dropped = 0
        self._reset()

    def _reset(self) -> None:
        self._records: list[CallRecord] = []
        self._starts: list[float] = []
        self._by_id: dict[str, CallRecord] = {}
        self._by_file: dict[str, CallRecord] = {}
        self._last_by_client: dict[str, CallRecord] = {}
        self._by_leg: dict[str, CallRecord] = {}   # a transfer's or group's other legs → the call
        self.pickups = 0   # records of picked-up calls (providers that list them twice ask)

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self) -> Iterator[CallRecord]:
        return iter(self._records)

    def add(self, cdr: CallRecord) -> None:
        if not self._starts or cdr.started_at >= self._starts[-1]:
            self._records.append(cdr)
            self._starts.append(cdr.started_at)
        else:
            i = bisect.bisect_right(self._starts, cdr.started_at)
            self._records.insert(i, cdr)
            self._starts.insert(i, cdr.started_at)
        self._by_id[cdr.id] = cdr
        if cdr.record_file:
            self._by_file[cdr.record_file] = cdr
        for leg in cdr.legs:
            if leg[0] != cdr.id:
                self._by_leg[leg[0]] = cdr
        if cdr.pickup_from is not None:
            self.pickups += 1
        if cdr.client:
            key = cdr.client.lstrip("+")
            last = self._last_by_client.get(key)
            if last is None or last.started_at <= cdr.started_at:
                self._last_by_client[key] = cdr
        if self.max_calls is not None or self.max_age_s is not None:
            self._trim()

    def retain(self, max_calls: int | None, max_age_s: float | None) -> None:
        self.max_calls, self.max_age_s = max_calls, max_age_s
        self._trim()

    def _trim(self) -> None:
        n = len(self._records)
        cut = 0
        if self.max_calls is not None and n > self.max_calls:
            cut = n - self.max_calls + self.max_calls // 100
        if self.max_age_s is not None and n and self._starts[0] < self._starts[-1] - self.max_age_s:
            keep_from = self._starts[-1] - self.max_age_s * 0.99
            cut = max(cut, bisect.bisect_left(self._starts, keep_from))
        if not cut:
            return
        gone = self._records[:cut]
        del self._records[:cut]
        del self._starts[:cut]
        for cdr in gone:
            if self._by_id.get(cdr.id) is cdr:
                del self._by_id[cdr.id]
            if cdr.record_file and self._by_file.get(cdr.record_file) is cdr:
                del self._by_file[cdr.record_file]
            for leg in cdr.legs:
                if self._by_leg.get(leg[0]) is cdr:
                    del self._by_leg[leg[0]]
            if cdr.client:
                key = cdr.client.lstrip("+")
                if self._last_by_client.get(key) is cdr:
                    del self._last_by_client[key]
            if cdr.pickup_from is not None:
                self.pickups -= 1
        self.dropped += cut

    def extend_sorted(self, cdrs: Iterable[CallRecord]) -> None:
        """Bulk load (benchmarks, snapshots): records must come sorted by start."""
        for cdr in cdrs:
            self.add(cdr)

    def get(self, call_id: str) -> CallRecord | None:
        return self._by_id.get(call_id)

    def by_leg(self, leg_id: str) -> CallRecord | None:
        """The call one of whose other legs (a transfer's, a group member's) has this id."""
        return self._by_leg.get(leg_id)

    def last_with(self, client: str) -> CallRecord | None:
        """The latest call with this external number (the engine's call-back rule)."""
        return self._last_by_client.get(client.lstrip("+"))

    def by_file(self, name: str) -> CallRecord | None:
        return self._by_file.get(name)

    def window(self, start: float | None = None, end: float | None = None,
               reverse: bool = False) -> list[CallRecord]:
        """Records with ``start <= started_at < end`` in start order (a slice, no scan)."""
        lo = 0 if start is None else bisect.bisect_left(self._starts, start)
        hi = len(self._starts) if end is None else bisect.bisect_left(self._starts, end)
        part = self._records[lo:hi]
        if reverse:
            part.reverse()
        return part

    def iter_window(self, start: float | None = None, end: float | None = None,
                    reverse: bool = False) -> Iterator[CallRecord]:
        """Like ``window`` but lazy, for queries that stop after ``limit`` matches."""
        lo = 0 if start is None else bisect.bisect_left(self._starts, start)
        hi = len(self._starts) if end is None else bisect.bisect_left(self._starts, end)
        rng = range(hi - 1, lo - 1, -1) if reverse else range(lo, hi)
        records = self._records
        for i in rng:
            yield records[i]

    def clear(self) -> None:
        self._reset()   # the retention limits and the drop count stay


@dataclass
class AccountState:
    """Everything one account (tenant) holds. Handlers and the engine change it in place."""
    employees: dict[int, Employee] = field(default_factory=dict)
    departments: dict[str, Department] = field(default_factory=dict)
    numbers: dict[str, CompanyNumber] = field(default_factory=dict)
    sims: dict[str, SimCard] = field(default_factory=dict)
    blacklist: dict[str, BlacklistEntry] = field(default_factory=dict)
    block_anonymous: bool = False
    managers: dict[int, PersonalManager] = field(default_factory=dict)
    contacts: dict[int, Contact] = field(default_factory=dict)
    cdrs: CdrStore = field(default_factory=CdrStore)
    pauses: list[PauseRecord] = field(default_factory=list)   # in time order
    white_list: list[str] = field(default_factory=list)      # numbers / prefixes*; empty: off
    max_sessions: int = 0                                    # simultaneous calls; 0: no limit
    next_ids: dict[str, int] = field(default_factory=dict)
    # Provider-owned state that has no place in the neutral domain (phonet's lookup cache,
    # t2's token generations ...): a dict per provider key.
    provider_data: dict[str, Any] = field(default_factory=dict)

    # ---- ids -----------------------------------------------------------------------------
    def next_id(self, kind: str, start: int = 1) -> int:
        value = self.next_ids.get(kind, start)
        self.next_ids[kind] = value + 1
        return value

    # ---- employees -----------------------------------------------------------------------
    def employee_by_login(self, login: str) -> Employee | None:
        for e in self.employees.values():
            if e.login == login:
                return e
        return None

    def employee_by_ext(self, ext: str) -> Employee | None:
        for e in self.employees.values():
            if e.ext == ext:
                return e
        return None

    def employee_by_number(self, number: str) -> Employee | None:
        """By direct number or mobile, ignoring a leading '+'."""
        digits = number.lstrip("+")
        if not digits:
            return None
        for e in self.employees.values():
            if e.direct_number and e.direct_number.lstrip("+") == digits:
                return e
        for e in self.employees.values():
            if e.mobile and e.mobile.lstrip("+") == digits:
                return e
        return None

    def employee_by_email(self, email: str) -> Employee | None:
        email = email.strip().lower()
        for e in self.employees.values():
            if e.email and e.email.lower() == email:
                return e
        return None

    def find_employee(self, ref: str | int | None) -> Employee | None:
        """An employee named by id, login, ext or direct number (what CRMs send)."""
        if ref is None:
            return None
        if isinstance(ref, int) and not isinstance(ref, bool):
            return self.employees.get(ref)
        ref = str(ref).strip()
        if not ref:
            return None
        return (self.employee_by_login(ref) or self.employee_by_ext(ref)
                or self.employee_by_number(ref)
                or (self.employees.get(int(ref)) if ref.isdigit() and len(ref) < 10 else None))

    def free_ext(self, start: int = 700) -> str:
        used = {e.ext for e in self.employees.values()} | {d.ext for d in self.departments.values()}
        n = start
        while str(n) in used:
            n += 1
        return str(n)

    def departments_of(self, employee_id: int) -> list[Department]:
        return [d for d in self.departments.values() if d.member(employee_id) is not None]

    def departments_by_employee(self) -> dict[int, list[Department]]:
        """Every employee's departments (in ``departments_of``'s order) in one pass, for lists."""
        out: dict[int, list[Department]] = {}
        for d in self.departments.values():
            for m in d.members:
                found = out.get(m.employee_id)
                if found is None:
                    out[m.employee_id] = [d]
                elif found[-1] is not d:   # listed twice in one department: once
                    found.append(d)
        return out

    def remove_employee(self, employee_id: int) -> None:
        self.employees.pop(employee_id, None)
        for d in self.departments.values():
            d.members = [m for m in d.members if m.employee_id != employee_id]
        for sim in self.sims.values():
            if sim.employee_id == employee_id:
                sim.employee_id = None
                sim.state = "disabled"

    # ---- blacklist -----------------------------------------------------------------------
    def blacklist_match(self, number: str) -> BlacklistEntry | None:
        if not number:
            return None
        exact = self.blacklist.get(number.lstrip("+"))
        if exact is not None:
            return exact
        for entry in self.blacklist.values():
            if entry.number.endswith("*") and entry.matches(number):
                return entry
        return None

    # ---- numbers -------------------------------------------------------------------------
    def company_number(self, number: str) -> CompanyNumber | None:
        digits = number.lstrip("+")
        hit = self.numbers.get(number) or self.numbers.get(digits)
        if hit is not None:
            return hit
        for n in self.numbers.values():
            if n.number.lstrip("+") == digits:
                return n
        return None

    # ---- export --------------------------------------------------------------------------
    def to_json(self, *, cdr_limit: int | None = None) -> dict:
        """The account's state as JSON (admin API and snapshots)."""
        if cdr_limit is None:
            cdrs = list(self.cdrs)
        else:   # the newest cdr_limit (0: none; a slice from -0 would be all of them)
            cdrs = self.cdrs.window()[-cdr_limit:] if cdr_limit > 0 else []
        return {
            "employees": [dataclasses.asdict(e) for e in self.employees.values()],
            "departments": [dataclasses.asdict(d) for d in self.departments.values()],
            "numbers": [dataclasses.asdict(n) for n in self.numbers.values()],
            "sims": [dataclasses.asdict(s) for s in self.sims.values()],
            "blacklist": [dataclasses.asdict(b) for b in self.blacklist.values()],
            "block_anonymous": self.block_anonymous,
            "managers": [dataclasses.asdict(m) for m in self.managers.values()],
            "contacts": [dataclasses.asdict(c) for c in self.contacts.values()],
            "cdr_count": len(self.cdrs),
            "cdrs": [dataclasses.asdict(c) for c in cdrs],
            "next_ids": dict(self.next_ids),
            "pauses": [dataclasses.asdict(p) for p in self.pauses],
            "white_list": list(self.white_list),
            "max_sessions": self.max_sessions,
        }

    @classmethod
    def from_json(cls, data: Any) -> "AccountState":
        """The inverse of ``to_json`` (snapshots), plus ``provider_data``. Items are keyed as the
        seed keys them. Raises ``ValueError`` naming each bad field (``employees.3.id: ...``)."""
        from pydantic import TypeAdapter, ValidationError

        if not isinstance(data, dict):
            raise ValueError("state: must be an object")
        state, part = cls(), "state"
        try:
            for part, model, key in _PARTS:
                items = TypeAdapter(list[model]).validate_python(data.get(part, []))
                keyed = {getattr(item, key): item for item in items}
                if len(keyed) != len(items):
                    raise ValueError(f"{part}: two items have the same {key}")
                setattr(state, part, keyed)
            part = "cdrs"
            # in slices: one call of the validator holds the interpreter for its whole list, and a
            # snapshot is checked on a worker thread beside the serving loop
            raw, records = data.get("cdrs", []), TypeAdapter(list[CallRecord])
            if not isinstance(raw, list):
                raw = records.validate_python(raw)
            cdrs = []
            for start in range(0, len(raw), CDRS_PER_SLICE):
                try:
                    cdrs.extend(records.validate_python(raw[start:start + CDRS_PER_SLICE]))
                except ValidationError as err:     # the record's place in the whole list
                    raise ValueError("; ".join(
                        f"{'.'.join(str(p) for p in ('cdrs', start + e['loc'][0], *e['loc'][1:]))}: {e['msg']}"
                        for e in err.errors()[:5])) from None
            for part, kind in (("block_anonymous", bool), ("next_ids", dict[str, int]),
                               ("provider_data", dict[str, Any]), ("pauses", list[PauseRecord]),
                               ("white_list", list[str]), ("max_sessions", int)):
                if part in data:
                    setattr(state, part, TypeAdapter(kind).validate_python(data[part]))
        except ValidationError as err:
            raise ValueError("; ".join(f"{'.'.join(str(p) for p in (part, *e['loc']))}: {e['msg']}"
                                       for e in err.errors()[:5])) from None
        if data.get("cdr_count", len(cdrs)) != len(cdrs):
            raise ValueError(f"cdrs: {len(cdrs)} records but cdr_count says {data['cdr_count']}")
        for cdr in cdrs:
            cdr.legs = tuple(tuple(leg) if isinstance(leg, list) else leg for leg in cdr.legs)
            cdr.holds = tuple(tuple(span) if isinstance(span, list) else span for span in cdr.holds)
        state.cdrs.extend_sorted(sorted(cdrs, key=lambda c: c.started_at))
        return state


CDRS_PER_SLICE = 1000

# What ``from_json`` rebuilds, and the field each dict is keyed by.
_PARTS = (("employees", Employee, "id"), ("departments", Department, "id"),
          ("numbers", CompanyNumber, "number"), ("sims", SimCard, "number"),
          ("blacklist", BlacklistEntry, "number"), ("managers", PersonalManager, "id"),
          ("contacts", Contact, "id"))


def seeded_random(seed: int, *parts: str) -> random.Random:
    """A random generator that gives the same sequence for the same seed and parts."""
    return random.Random(f"{seed}:" + ":".join(parts))
