"""Parsing of t2 requests and rendering of t2 responses (field names, order and formats
as in seeds 000/001), plus the few rules t2 applies when it saves (managers, blacklist).

The core's CDRs, live calls and state are rendered here; nothing in this module stores
anything beyond what the core's ``AccountState`` already holds.
"""

from __future__ import annotations

import re
import zlib
from operator import attrgetter, itemgetter
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

from multidict import MultiMapping
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError

from ...body import BodyError, loads
from ...core.models import BlacklistEntry, CallRecord, Customer, Employee, PersonalManager
from .errors import EmptyParameter, MissingParameter, ObjectNotFound, WrongParameter

JAVA_INT_MAX = 2**31 - 1     # t2 binds page/size to Java Integer and ids to Long
JAVA_LONG_MAX = 2**63 - 1

if TYPE_CHECKING:
    from ...core.accounts import Account
    from ...core.engine import Call
    from ...core.store import AccountState

# ---- enumerations (seed 000, "Возможные значения") -----------------------------------------

CALL_TYPES = ("SINGLE_CHANNEL", "MULTI_CHANNEL", "UNKNOWN_CALL", "INTERNAL", "HIMSELF", "INTERNAL_QUEUE",
              "CRM_OUTGOING", "VOICEMAIL", "CONFERENCE", "CALLBACK", "PICKUP_CALL", "FAX", "OUTGOING",
              "CRM_CALLBACK")
CALL_STATUSES = ("ANSWERED_COMMON", "ANSWERED_BY_ORIGINAL_CLIENT", "ANSWERED_BY_BUSY_FORWARD_CLIENT",
                 "ANSWERED_BY_NO_ANSWER_FORWARD_CLIENT", "NOT_ANSWERED_COMMON", "CANCELLED_BY_CALLER",
                 "DENIED_DUE_TO_MAX_SESSION", "DENIED_DUE_TO_INCOMING_CALLS_BLOCKED",
                 "DENIED_DUE_TO_OUTGOING_CALLS_BLOCKED", "DENIED_DUE_TO_ONLY_INTERNAL_CALLS_ENABLED",
                 "DENIED_DUE_TO_BLACK_LISTED", "DENIED_NOT_IN_WHITE_LIST", "DENIED_DUE_TO_NOT_WORK_TIME",
                 "DENIED_DUE_TO_UNKNOWN_NUMBER", "DESTINATION_BUSY", "CANCELLED_BY_PICKUP")

MONITORING_CALL_TYPES = ("MULTI_CHANNEL", "INTERNAL", "SINGLE_CHANNEL", "CONFERENCE")   # /monitoring/calls

# Core outcome → callStatus for calls nobody answered.
_UNANSWERED_STATUS = {
    "missed": "NOT_ANSWERED_COMMON",
    "unavailable": "NOT_ANSWERED_COMMON",
    "voicemail": "NOT_ANSWERED_COMMON",
    "cancelled": "CANCELLED_BY_CALLER",
    "busy": "DESTINATION_BUSY",
    "not_found": "DENIED_DUE_TO_UNKNOWN_NUMBER",
    "blocked_blacklist": "DENIED_DUE_TO_BLACK_LISTED",
    "blocked_anonymous": "DENIED_DUE_TO_INCOMING_CALLS_BLOCKED",
    "dnd": "DENIED_DUE_TO_INCOMING_CALLS_BLOCKED",
    "out_of_hours": "DENIED_DUE_TO_NOT_WORK_TIME",
    "congestion": "DESTINATION_BUSY",          # no free line: t2 has no status of its own for it
    "max_sessions": "DENIED_DUE_TO_MAX_SESSION",
    "not_in_white_list": "DENIED_NOT_IN_WHITE_LIST",
    "only_internal": "DENIED_DUE_TO_ONLY_INTERNAL_CALLS_ENABLED",
    "picked_up": "CANCELLED_BY_PICKUP",        # the rung employee's row of a picked-up call
}
# Unanswered incoming outcomes that count as a missed call on a multichannel number
# (denials — blacklist, unknown number — are not "missed").
MISSED_OUTCOMES = frozenset({"missed", "cancelled", "busy", "unavailable", "voicemail", "dnd", "out_of_hours",
                             "congestion"})

# Save results (a JSON string body)
SUCCESS = "SUCCESS"
DUPLICATE_BLACK_LIST_NUMBER = "DUPLICATE_BLACK_LIST_NUMBER"
MANAGER_HANDLING_ALL_CUSTOMERS_ALREADY_EXISTS = "MANAGER_HANDLING_ALL_CUSTOMERS_ALREADY_EXISTS"
CUSTOMER_ALREADY_ASSIGNED = "CUSTOMER_ALREADY_ASSIGNED"

# Java types the backend binds, as they appear in its 400 bodies
OFFSET_DATE_TIME = "OffsetDateTime"
STRING = "String"

MAX_PAGE_SIZE = 2000   # Spring Data's default cap; a larger size is cut silently

# ---- query parameters ----------------------------------------------------------------------

_DATE_TIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?"
    r"(?:([Zz])|([+-])(\d{2}):?(\d{2}))$")
# "…T10:15:30 03:00": a '+' sent without URL-encoding arrives as a space
_SPACE_OFFSET = re.compile(r"^(\S+T[\d:.,]+) (\d{2}:?\d{2})$")


def parse_date_time(text: str) -> datetime | None:
    """ISO-8601 with an offset (``Z`` or ``±HH:MM``), seconds and fraction optional; None
    for anything else (no offset, a date alone, garbage)."""
    text = text.strip()
    spaced = _SPACE_OFFSET.match(text)
    if spaced:
        text = f"{spaced.group(1)}+{spaced.group(2)}"
    m = _DATE_TIME.match(text)
    if not m:
        return None
    year, month, day, hour, minute = (int(m.group(i)) for i in range(1, 6))
    second = int(m.group(6) or 0)
    micro = int((m.group(7) or "0").ljust(6, "0")[:6])
    if m.group(8):
        tz = timezone.utc
    else:
        sign = 1 if m.group(9) == "+" else -1
        hours, minutes = int(m.group(10)), int(m.group(11))
        if hours > 18 or minutes > 59:
            return None
        tz = timezone(sign * timedelta(hours=hours, minutes=minutes))
    try:
        return datetime(year, month, day, hour, minute, second, micro, tzinfo=tz)
    except ValueError:
        return None


_TRUE = {"true", "on", "yes", "1"}
_FALSE = {"false", "off", "no", "0"}


class Query:
    """Typed reads of a request's query string that fail with t2's 400 bodies."""

    def __init__(self, query: MultiMapping[str]):
        self.query = query

    def _raw(self, name: str, java_type: str, required: bool, aliases: tuple[str, ...] = ()) -> str | None:
        for key in (name, *aliases):
            if key in self.query:
                value = self.query[key].strip()
                if value:
                    return value
                if required:
                    raise EmptyParameter(name, java_type)
                return None
        if required:
            raise MissingParameter(name, java_type)
        return None

    def date_time(self, name: str) -> datetime:
        value = parse_date_time(self._raw(name, OFFSET_DATE_TIME, True) or "")
        if value is None:
            raise WrongParameter(name)
        return value

    def text(self, name: str, required: bool = True, *aliases: str) -> str | None:
        return self._raw(name, STRING, required, aliases)

    def integer(self, name: str, default: int, *aliases: str, minimum: int = 0,
                maximum: int = JAVA_INT_MAX) -> int:
        raw = self._raw(name, "Integer", False, aliases)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise WrongParameter(name) from None
        if not minimum <= value <= maximum:   # past Java's Integer the backend cannot bind it
            raise WrongParameter(name)
        return value

    def boolean(self, name: str, default: bool) -> bool:
        raw = self._raw(name, "Boolean", False)
        if raw is None:
            return default
        if raw.lower() in _TRUE:
            return True
        if raw.lower() in _FALSE:
            return False
        raise WrongParameter(name)

    def many(self, name: str) -> list[str]:
        """An array parameter: ``name[]=a&name[]=b``, ``name=a&name=b`` or ``name=a,b``."""
        values: list[str] = []
        for key in (name, f"{name}[]"):
            for raw in self.query.getall(key, []):
                values.extend(v.strip() for v in raw.split(",") if v.strip())
        return values

    def page(self, default_size: int) -> tuple[int, int]:
        page = self.integer("page", 0)
        size = self.integer("size", default_size, "Size", minimum=1)
        return page, min(size, MAX_PAGE_SIZE)

    def sort(self, fields: dict[str, Any], default: str) -> list[tuple[str, bool]]:
        """Spring's ``sort=field[,field…][,ASC|DESC]`` (repeatable) → [(field, descending)]."""
        raws = self.query.getall("sort", []) or [default]
        order: list[tuple[str, bool]] = []
        for raw in raws:
            parts = [p.strip() for p in raw.split(",") if p.strip()]
            descending = False
            if parts and parts[-1].lower() in ("asc", "desc"):
                descending = parts.pop().lower() == "desc"
            if not parts:
                parts = [default]
            for part in parts:
                if part not in fields:
                    raise WrongParameter("sort")
                order.append((part, descending))
        return order


_NOT_DIGITS = re.compile(r"[\s()+\-]")


def normalize_number(number: str | None) -> str:
    """Digits only; a Russian 11-digit number starting with 8 gets its leading 7 (the seed's own example
    asks ``callee=89056678798``)."""
    digits = number if number and number.isdigit() else _NOT_DIGITS.sub("", number or "")
    if len(digits) == 11 and digits.startswith("8"):
        digits = "7" + digits[1:]
    return digits


# ---- times ----------------------------------------------------------------------------------

def utc_millis(ts: float) -> str:
    """``2022-07-15T07:27:06.348Z`` (call-records' callTimestamp)."""
    ms = round(ts * 1000)
    dt = datetime.fromtimestamp(ms // 1000, tz=timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + f".{ms % 1000:03d}Z"


def local_iso(ts: float, utc_offset: float) -> str:
    """``2023-08-28T15:03:19.68+03:00``: the account's offset, the fraction without trailing
    zeros (how the backend's Jackson writes an OffsetDateTime)."""
    ms = round(ts * 1000)
    dt = datetime.fromtimestamp(ms // 1000, tz=timezone(timedelta(hours=utc_offset)))
    text = dt.isoformat()
    frac = f"{ms % 1000:03d}".rstrip("0")
    if frac:
        text = text[:19] + "." + frac + text[19:]
    return text


# ---- people and numbers ---------------------------------------------------------------------

def full_number(emp: Employee) -> str:
    """An employee's federal number: t2 employees are subscribers with their own number."""
    return (emp.direct_number or emp.mobile or "").lstrip("+")


class Directory:
    """Lookups over one account's employees and numbers for the length of one request."""

    def __init__(self, account: "Account"):
        self.account = account
        state = account.state
        self.employees = state.employees
        self.by_ext = {e.ext: e for e in state.employees.values()}
        self.by_number: dict[str, Employee] = {}
        for e in state.employees.values():
            for n in (e.mobile, e.direct_number):   # the direct number wins
                if n:
                    self.by_number[normalize_number(n)] = e
        self.multichannel = {normalize_number(n.number): n.multichannel for n in state.numbers.values()}

    def find(self, ref: str) -> Employee | None:
        """By full (federal) number or short number."""
        digits = normalize_number(ref)
        return self.by_number.get(digits) or self.by_ext.get(digits) or self.by_ext.get(ref.strip())

    def party(self, employee_id: int | None, ext: str = "") -> Employee | None:
        emp = self.employees.get(employee_id) if employee_id is not None else None
        return emp or (self.by_ext.get(ext) if ext else None)

    def is_multichannel(self, number: str) -> bool | None:
        return self.multichannel.get(normalize_number(number))


EMPLOYEE_ID = attrgetter("id")


def employee_json(emp: Employee, groups: list) -> dict:
    """«Сотрудники»: fields without a value are left out, as in the seed's example. ``groups``:
    the employee's departments (``AccountState.departments_by_employee``)."""
    out: dict[str, Any] = {"employeeId": emp.id}
    name = emp.first_name or emp.name
    if name:
        out["name"] = name
    if emp.last_name:
        out["surname"] = emp.last_name
    number = (emp.direct_number or emp.mobile or "").lstrip("+")   # full_number()
    if number:
        out["fullNumber"] = number
    if emp.ext:
        out["shortNumber"] = emp.ext
    if emp.email:
        out["email"] = emp.email
    if groups and groups[0].name:
        out["groupName"] = groups[0].name
    return out


# ---- live calls -----------------------------------------------------------------------------

def live_call_json(call: "Call", directory: Directory) -> dict:
    """One item of /monitoring/calls; ``called*`` only once B rings."""
    if call.conference:
        call_type = "CONFERENCE"
    elif call.direction == "internal":
        call_type = "INTERNAL"
    elif call.direction == "in" and directory.is_multichannel(call.trunk):
        call_type = "MULTI_CHANNEL"
    else:
        call_type = "SINGLE_CHANNEL"
    out: dict[str, Any] = {"callType": call_type}
    if call.direction == "in":
        out["callerNumberFull"] = call.caller.lstrip("+")
    else:
        caller = directory.by_ext.get(call.caller)   # an employee's call: caller is their ext
        if caller is not None:
            out["callerNumberShort"] = caller.ext
        out["callerNumberFull"] = full_number(caller) if caller else call.caller
    leg = call.current_leg() or next(iter(call.ringing_legs()), None)
    if call.direction == "out":
        # click-to-call rings the employee first: B is reached when the client's phone rings
        leg = next((lg for lg in call.legs if lg.kind == "client" and lg.result in ("ringing", "answered")), None)
    if leg is not None:
        if leg.kind == "client":
            out["calledNumberFull"] = leg.number.lstrip("+")
        else:
            called = directory.party(leg.employee_id, leg.number)
            if called is not None:
                out["calledNumberShort"] = called.ext
                out["calledNumberFull"] = full_number(called)
            else:
                out["calledNumberFull"] = leg.number
    return out


# ---- call records ---------------------------------------------------------------------------

@dataclass(slots=True)
class CallView:
    """t2's reading of one CDR: who called whom, with which type and status."""
    cdr: CallRecord
    call_type: str
    status: str
    caller_number: str
    caller_short: str
    caller_name: str
    destination: str
    callee_number: str
    callee_short: str
    callee_name: str

    def to_json(self) -> dict:
        cdr = self.cdr
        stamp = utc_millis(cdr.started_at)
        out: dict[str, Any] = {
            "callTimestamp": stamp,
            "date": stamp,   # the older document's name for it; clients read either
            "callType": self.call_type,
            "destinationNumber": self.destination,
            "callerNumber": self.caller_number,
            "callerName": self.caller_name,
            "calleeNumber": self.callee_number,
            "calleeName": self.callee_name,
            "callDuration": cdr.duration_s,
        }
        if cdr.answered:
            out["conversationDuration"] = cdr.talk_s
        out["callStatus"] = self.status
        out["recordFileName"] = cdr.record_file if cdr.answered else ""
        return out

    def involves(self, number: str) -> bool:
        return number in (self.caller_number, self.callee_number, self.destination,
                          self.caller_short, self.callee_short)


def call_type(cdr: CallRecord, directory: Directory) -> str:
    if cdr.conference:
        return "CONFERENCE"
    if cdr.direction == "internal":
        return "HIMSELF" if cdr.caller == cdr.callee else "INTERNAL"
    if cdr.direction == "out":
        if cdr.click_to_call:
            return "CRM_CALLBACK" if cdr.missed_callback else "CRM_OUTGOING"
        return "CALLBACK" if cdr.missed_callback else "OUTGOING"
    if cdr.pickup_from is not None and cdr.answered:
        return "PICKUP_CALL"
    if cdr.destination == "vm":
        return "VOICEMAIL"
    if cdr.destination == "fax":
        return "FAX"
    if cdr.queue_position is not None:
        return "INTERNAL_QUEUE"   # waited in the department's queue for a free member
    multichannel = directory.is_multichannel(cdr.callee)
    if multichannel is None and cdr.outcome == "not_found":
        return "UNKNOWN_CALL"
    return "MULTI_CHANNEL" if multichannel else "SINGLE_CHANNEL"


def call_status(cdr: CallRecord) -> str:
    if not cdr.answered:
        if cdr.outcome == "forbidden":
            return ("DENIED_DUE_TO_INCOMING_CALLS_BLOCKED" if cdr.direction == "in"
                    else "DENIED_DUE_TO_OUTGOING_CALLS_BLOCKED")
        return _UNANSWERED_STATUS.get(cdr.outcome, "NOT_ANSWERED_COMMON")
    if cdr.direction != "in":
        return "ANSWERED_BY_ORIGINAL_CLIENT"
    if cdr.busy_forward:
        return "ANSWERED_BY_BUSY_FORWARD_CLIENT"   # the employee rung was busy; the forward answered
    if cdr.department_id is not None:
        return "ANSWERED_COMMON"   # a multichannel/group call: whoever of the group picked up
    first_rung = cdr.legs[0][1] if cdr.legs else None
    answered_by = next((leg[1] for leg in cdr.legs if leg[3] is not None), None)
    if first_rung is not None and answered_by is not None and answered_by != first_rung:
        return "ANSWERED_BY_NO_ANSWER_FORWARD_CLIENT"   # the first one rung did not answer
    return "ANSWERED_BY_ORIGINAL_CLIENT"


def call_view(cdr: CallRecord, directory: Directory) -> CallView:
    if cdr.direction == "in":
        caller_number, caller_short, caller_name = normalize_number(cdr.caller), "", cdr.caller_name
        destination = normalize_number(cdr.callee)
        callee = directory.party(cdr.employee_id)
    else:
        first = cdr.employee_ids[0] if cdr.employee_ids else cdr.employee_id
        caller = directory.party(first, cdr.caller)
        caller_number = full_number(caller) if caller else normalize_number(cdr.caller)
        caller_short = caller.ext if caller else ""
        caller_name = caller.name if caller else cdr.caller_name
        if cdr.direction == "internal":
            other = cdr.employee_ids[1] if len(cdr.employee_ids) > 1 else None
            callee = directory.party(other, cdr.callee) if cdr.caller != cdr.callee else caller
            destination = full_number(callee) if callee else normalize_number(cdr.callee)
        else:
            callee = None
            destination = normalize_number(cdr.callee)
    if callee is not None:
        callee_number, callee_short, callee_name = full_number(callee), callee.ext, callee.name
    else:
        callee_number, callee_short, callee_name = destination, "", cdr.callee_name
    return CallView(cdr, call_type(cdr, directory), call_status(cdr), caller_number, caller_short,
                    caller_name, destination, callee_number, callee_short, callee_name)


# sort keys of /call-records/info: any field of the answer ("date" is the call time)
RECORD_SORT_FIELDS: dict[str, Callable[[CallView], Any]] = {
    "date": lambda v: v.cdr.started_at,
    "callTimestamp": lambda v: v.cdr.started_at,
    "callType": lambda v: v.call_type,
    "destinationNumber": lambda v: v.destination,
    "callerNumber": lambda v: v.caller_number,
    "callerName": lambda v: v.caller_name,
    "calleeNumber": lambda v: v.callee_number,
    "calleeName": lambda v: v.callee_name,
    "callDuration": lambda v: v.cdr.duration_s,
    "conversationDuration": lambda v: v.cdr.talk_s if v.cdr.answered else None,
    "callStatus": lambda v: v.status,
    "recordFileName": lambda v: v.cdr.record_file if v.cdr.answered else "",
}


# the same, for the fields a record gives without working out the parties
RECORD_SORT_FIELDS_OF_CDR: dict[str, Callable[[CallRecord], Any]] = {
    "date": lambda c: c.started_at,
    "callTimestamp": lambda c: c.started_at,
    "callDuration": lambda c: c.duration_s,
    "conversationDuration": lambda c: c.talk_s if c.answered else None,
    "recordFileName": lambda c: c.record_file if c.answered else "",
}


def sort_views(items: list, order: list[tuple[str, bool]], fields: dict[str, Callable]) -> list:
    """Stable multi-key sort; a missing value sorts last ascending, first descending (as the
    backend's database does)."""
    for name, descending in reversed(order):
        key = fields[name]
        keyed = [(key(i), i) for i in items]
        present = [k for k in keyed if k[0] is not None]
        absent = [k[1] for k in keyed if k[0] is None]
        present.sort(key=itemgetter(0), reverse=descending)
        ordered = [k[1] for k in present]
        items = absent + ordered if descending else ordered + absent
    return items


def paged(items: Iterable, page: int, size: int) -> list:
    out = []
    skip = page * size
    for item in items:
        if skip:
            skip -= 1
            continue
        out.append(item)
        if len(out) >= size:
            break
    return out


@dataclass
class RecordFilter:
    """The filters of /call-records/info. Both caller and callee: calls between them only."""
    caller: str | None = None
    callee: str | None = None
    recorded_only: bool = False

    def __post_init__(self) -> None:
        self.caller = normalize_number(self.caller) if self.caller else None
        self.callee = normalize_number(self.callee) if self.callee else None

    @property
    def by_number(self) -> bool:
        return bool(self.caller or self.callee)

    def accepts_record(self, cdr: CallRecord) -> bool:
        return not self.recorded_only or bool(cdr.answered and cdr.record_file)

    def accepts(self, view: CallView) -> bool:
        if not self.accepts_record(view.cdr):
            return False
        if self.caller and self.caller not in (view.caller_number, view.caller_short):
            return False
        if self.callee and self.callee not in (view.callee_number, view.destination, view.callee_short):
            return False
        return True


def picked_up_row(cdr: CallRecord) -> CallRecord:
    """The row of the employee whose ringing phone a colleague picked up (CANCELLED_BY_PICKUP)."""
    return replace(cdr, outcome="picked_up", answered_at=None, employee_id=cdr.pickup_from,
                   employee_ids=(cdr.pickup_from,), pickup_from=None, record_file="", conference=(),
                   transfers=(), ended_at=next((leg[4] for leg in cdr.legs if leg[1] == cdr.pickup_from
                                                and leg[4] is not None), cdr.ended_at))


def rows_of(cdrs: Iterable[CallRecord], reverse: bool = False) -> Iterator[CallRecord]:
    """t2 lists a picked-up call twice: the rung employee's cancelled row, then the pickup."""
    for cdr in cdrs:
        if cdr.pickup_from is None:
            yield cdr
        elif reverse:
            yield cdr
            yield picked_up_row(cdr)
        else:
            yield picked_up_row(cdr)
            yield cdr


def call_records(account: "Account", start: datetime, end: datetime, flt: RecordFilter,
                 order: list[tuple[str, bool]], page: int, size: int) -> list[dict]:
    directory = Directory(account)
    cdrs = account.state.cdrs
    if len(order) == 1 and order[0][0] in ("date", "callTimestamp"):
        # the store's own order: walk the window lazily and stop after the page
        it = rows_of(cdrs.iter_window(start.timestamp(), end.timestamp(), reverse=order[0][1]), order[0][1])
        if not flt.by_number:
            return [call_view(c, directory).to_json() for c in paged(filter(flt.accepts_record, it), page, size)]
        views: Iterator[CallView] = (v for v in (call_view(c, directory) for c in it) if flt.accepts(v))
        return [v.to_json() for v in paged(views, page, size)]
    window = cdrs.window(start.timestamp(), end.timestamp())
    if cdrs.pickups:
        window = list(rows_of(window))
    if not flt.by_number and all(name in RECORD_SORT_FIELDS_OF_CDR for name, _ in order):
        # sorted on the records themselves: only the page is rendered
        chosen = paged(sort_views([c for c in window if flt.accepts_record(c)], order, RECORD_SORT_FIELDS_OF_CDR),
                       page, size)
        return [call_view(c, directory).to_json() for c in chosen]
    views = [v for v in (call_view(c, directory) for c in window) if flt.accepts(v)]
    return [v.to_json() for v in paged(sort_views(views, order, RECORD_SORT_FIELDS), page, size)]


# ---- statistics -----------------------------------------------------------------------------

def _calendar_days(start: datetime, end: datetime) -> int:
    """Days the period touches in the client's time zone: the seed's example (24.07 10:15 →
    26.07 10:15, 13 external calls) gives callCountPerDay 13/3."""
    if end <= start:
        return 1
    first: date = start.date()
    try:
        # an end at midnight closes the day before; it touches no part of its own day
        last: date = (end.astimezone(start.tzinfo) - timedelta(microseconds=1)).date()
    except OverflowError:   # year 9999 and a far offset
        return (end - start).days + 1
    return max(1, (last - first).days + 1)


def _window_cdrs(account: "Account", start: datetime, end: datetime, number: str | None) -> Iterator[CallRecord]:
    cdrs = account.state.cdrs.iter_window(start.timestamp(), end.timestamp())
    if not number:
        yield from cdrs
        return
    directory = Directory(account)
    digits = normalize_number(number)
    for cdr in cdrs:
        view = call_view(cdr, directory)
        if view.involves(digits) or any(
                (e := directory.employees.get(eid)) is not None and full_number(e) == digits
                for eid in cdr.employee_ids):
            yield cdr


def common_statistics(account: "Account", start: datetime, end: datetime, number: str | None) -> dict:
    total = success = outgoing = lost = 0
    talk_sum = talk_max = 0
    transfers = transfer_talk = 0
    hangup_a = hangup_b = 0
    internal = internal_talk = 0
    incoming = 0
    clients: set[str] = set()
    for cdr in _window_cdrs(account, start, end, number):
        total += 1
        if cdr.direction == "internal":
            internal += 1
            internal_talk += cdr.talk_s
            continue
        if cdr.direction == "out":
            outgoing += 1
        else:
            incoming += 1
            clients.add(normalize_number(cdr.caller))
        if not cdr.answered:
            lost += 1
            continue
        success += 1
        talk_sum += cdr.talk_s
        talk_max = max(talk_max, cdr.talk_s)
        if cdr.hangup_side == "A":
            hangup_a += 1
        else:
            hangup_b += 1
        if cdr.transfers:
            transfers += 1
            transfer_talk += cdr.talk_s
    external = success + lost
    per_day = external / _calendar_days(start, end)
    return {
        "allCallCount": total,
        "successCallCount": success,
        "outgoingCallCount": outgoing,
        "lostCallCount": lost,
        "commonCallDuration": talk_sum,
        "averageCallDuration": talk_sum // external if external else 0,
        "maxCallDuration": talk_max,
        "callCountPerDay": per_day,
        "callCountPerHour": per_day / 24,
        "mnAvgCallDuration": talk_sum // success if success else 0,
        "mnMaxCallDuration": talk_max,
        "averageCallCountPerHour": int(per_day / 24),
        "transferCallCount": transfers,
        "transferCallDuration": transfer_talk,
        "averageTransferCallDuration": transfer_talk // transfers if transfers else 0,
        "hangupACallCount": hangup_a,
        "hangupBCallCount": hangup_b,
        "uniqueCallCount": len(clients),
        "redialCount": incoming - len(clients),
        "internalCallCount": internal,
        "internalCallDuration": internal_talk,
        "averageInternalCallDuration": internal_talk // internal if internal else 0,
    }


def journal_statistics(account: "Account", start: datetime, end: datetime, number: str | None) -> dict:
    calls = answered = 0
    for cdr in _window_cdrs(account, start, end, number):
        calls += 1
        answered += cdr.answered
    return {
        # the document's example fills it (7 and ten digits): the number asked about, else the
        # company's main number (the whole company is counted)
        "number": normalize_number(number) if number else (normalize_number(account.default_clid()) or None),
        "startTimestamp": int(start.timestamp()),
        "endTimestamp": int(end.timestamp()),
        "numberOfCalls": calls,
        "numberOfSuccessCalls": answered,
    }


def numeric_call_id(cdr: CallRecord) -> int:
    """t2 call ids are integers; the core's are hex."""
    try:
        return int(cdr.id[-12:], 16)
    except ValueError:
        return zlib.crc32(cdr.id.encode())


@dataclass(slots=True)
class MissedCall:
    cdr: CallRecord
    id: int
    caller: str
    mcn: str
    callee_number: str
    callee_name: str

    def to_json(self, company_id: int, utc_offset: float) -> dict:
        return {
            "id": self.id,
            "startDate": local_iso(self.cdr.started_at, utc_offset),
            "waitDuration": self.cdr.wait_s,
            "callerNumber": self.caller,
            "destinationNumber": self.mcn,
            "calleeCompanyId": company_id,
            "calleeNumber": self.callee_number,
            "calleeName": self.callee_name,
        }


MISSED_SORT_FIELDS: dict[str, Callable[[MissedCall], Any]] = {
    "id": lambda m: m.id,
    "startDate": lambda m: m.cdr.started_at,
    "waitDuration": lambda m: m.cdr.wait_s,
    "callerNumber": lambda m: m.caller,
    "destinationNumber": lambda m: m.mcn,
    "calleeCompanyId": lambda m: 0,
    "calleeNumber": lambda m: m.callee_number,
    "calleeName": lambda m: m.callee_name,
}


def missed_calls(account: "Account", start: datetime, end: datetime, mcn_numbers: list[str],
                 order: list[tuple[str, bool]], page: int, size: int, company_id: int) -> list[dict]:
    """Unanswered incoming calls to multichannel numbers (MCN) in the window."""
    directory = Directory(account)
    wanted = {normalize_number(n) for n in mcn_numbers}

    def rows(cdrs: Iterable[CallRecord]) -> Iterator[MissedCall]:
        for cdr in cdrs:
            if cdr.direction != "in" or cdr.answered or cdr.outcome not in MISSED_OUTCOMES:
                continue
            mcn = normalize_number(cdr.callee)
            if not directory.is_multichannel(mcn) or (wanted and mcn not in wanted):
                continue
            emp = directory.party(cdr.employee_id)
            # the live service puts the MCN itself and a blank name when nobody was rung
            yield MissedCall(cdr, numeric_call_id(cdr), normalize_number(cdr.caller), mcn,
                             full_number(emp) if emp else mcn, emp.name if emp else " ")

    start_ts, end_ts = start.timestamp(), end.timestamp()
    if len(order) == 1 and order[0][0] == "startDate":
        items = paged(rows(account.state.cdrs.iter_window(start_ts, end_ts, reverse=order[0][1])), page, size)
    else:
        items = paged(sort_views(list(rows(account.state.cdrs.window(start_ts, end_ts))), order,
                                 MISSED_SORT_FIELDS), page, size)
    return [m.to_json(company_id, account.utc_offset) for m in items]


# ---- managers -------------------------------------------------------------------------------

class CustomerBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: int | None = None
    realNumber: str = Field(min_length=1)
    name: str | None = None
    companyName: str | None = None
    info: str | None = None
    isVip: bool | None = Field(None, validation_alias=AliasChoices("isVip", "isVIP"))


class ManagerBody(BaseModel):
    """«Менеджер» as POST/PUT send it; ``companyId`` and customers' ``clientId``/``companyId``
    are the PBX's own and ignored."""
    model_config = ConfigDict(extra="ignore")
    id: int | None = None
    employeeId: int | None = None   # missing = not found (404), as an unknown one
    name: str | None = None
    customers: list[CustomerBody] = Field(default_factory=list)
    handleAllCustomers: bool | None = False

    @classmethod
    def parse(cls, raw: bytes) -> "ManagerBody":
        try:
            return cls.model_validate(loads(raw or b""))
        except (BodyError, ValidationError):
            raise WrongParameter("manager") from None


def save_manager(state: "AccountState", body: ManagerBody, manager_id: int | None) -> str:
    """Create (``manager_id`` None) or replace a manager; the save result. Nothing is saved
    unless the result is SUCCESS."""
    existing = state.managers.get(manager_id) if manager_id is not None else None
    if manager_id is not None and existing is None:
        raise ObjectNotFound()
    if body.employeeId is None or body.employeeId not in state.employees:
        raise ObjectNotFound()
    others = [m for m in state.managers.values() if m.id != manager_id]
    if body.handleAllCustomers and any(m.handles_all_customers for m in others):
        return MANAGER_HANDLING_ALL_CUSTOMERS_ALREADY_EXISTS
    taken = {normalize_number(c.number) for m in others for c in m.customers}
    if any(normalize_number(c.realNumber) in taken for c in body.customers):
        return CUSTOMER_ALREADY_ASSIGNED
    kept = {c.id for c in existing.customers} if existing else set()
    customers = []
    for c in body.customers:
        cid = c.id if c.id is not None and c.id in kept else state.next_id("customer")
        kept.discard(cid)
        extra = {"isVip": bool(c.isVip)}
        if c.companyName is not None:
            extra["companyName"] = c.companyName
        if c.info is not None:
            extra["info"] = c.info
        customers.append(Customer(id=cid, number=c.realNumber.strip(), name=c.name or "", extra=extra))
    mid = manager_id if manager_id is not None else state.next_id("manager")
    extra = {"name": body.name} if body.name is not None else {}
    state.managers[mid] = PersonalManager(id=mid, employee_id=body.employeeId,
                                          handles_all_customers=bool(body.handleAllCustomers),
                                          customers=customers, extra=extra)
    return SUCCESS


def customer_json(c: Customer) -> dict:
    out: dict[str, Any] = {"id": c.id, "realNumber": c.number}
    if c.name:
        out["name"] = c.name
    for key in ("companyName", "info"):
        if c.extra.get(key) is not None:
            out[key] = c.extra[key]
    out["isVip"] = bool(c.extra.get("isVip", False))
    return out


def manager_json(m: PersonalManager, state: "AccountState", company_id: int) -> dict:
    emp = state.employees.get(m.employee_id)
    name = m.extra.get("name")
    if name is None:
        name = emp.name if emp else ""
    return {"id": m.id, "employeeId": m.employee_id, "companyId": company_id, "name": name,
            "customers": [customer_json(c) for c in m.customers],
            "handleAllCustomers": m.handles_all_customers}


def manager_for(state: "AccountState", caller: str) -> PersonalManager | None:
    """The personal manager a call from ``caller`` goes to first: the one whose customer it
    is, else the one handling all customers."""
    digits = normalize_number(caller)
    if not digits:
        return None
    for m in state.managers.values():
        if any(normalize_number(c.number) == digits for c in m.customers):
            return m
    return next((m for m in state.managers.values() if m.handles_all_customers), None)


# ---- blacklist ------------------------------------------------------------------------------

_MSISDN = re.compile(r"^7\d{10}$")


def parse_msisdn(raw: str) -> str | None:
    """The bare number POST /blacklist sends (``-d '79998887766'``, any content type); quotes,
    whitespace and a ``msisdn=`` form prefix are tolerated. None unless it is 7 and ten more digits."""
    text = raw.strip().strip("\"'").strip()
    if text.lower().startswith("msisdn="):
        text = text[7:].strip()
    text = text.lstrip("+")
    return text if _MSISDN.match(text) else None


def blacklist_ids(state: "AccountState") -> dict[str, int]:
    """Stable integer ids of blacklist entries (the core keys them by number): given in
    insertion order the first time an entry is seen, forgotten when it goes."""
    ids: dict[str, int] = state.provider_data.setdefault("t2", {}).setdefault("blacklist_ids", {})
    for key in list(ids):
        if key not in state.blacklist:
            del ids[key]
    for key in state.blacklist:
        if key not in ids:
            ids[key] = state.next_id("blacklist", 10001)
    return ids


def blacklist_json(entry: BlacklistEntry, entry_id: int) -> dict:
    return {"id": entry_id, "number": entry.number, "sourceType": entry.source}
