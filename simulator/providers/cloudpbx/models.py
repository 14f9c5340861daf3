"""Parsing of the command API's requests and rendering of its answers.

Requests are flat string fields (form body, query string, or both); answers are JSON, the
``history`` CSV, or the plain text ``OK``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Iterator

from aiohttp import web

from ...body import BodyError, read_form, read_json
from ...core.clock import PERIODS, period_window
from .auth import record_key
from .errors import InvalidParameters

if TYPE_CHECKING:
    from ...core.accounts import Account
    from ...core.models import CallRecord, Department, Employee
    from ...core.store import AccountState

BASE_PATH = "/sys/crm_api.wcgp"
RECORD_PATH = BASE_PATH + "/records/{call_id}.mp3"
COMPACT_UTC = "%Y%m%dT%H%M%SZ"          # the document's YYYYmmddTHHMMSSZ
HISTORY_TYPES = ("all", "in", "out", "missed")


# ---- requests ---------------------------------------------------------------------------------

async def read_params(request: web.Request) -> dict[str, str]:
    """Query string and body fields in one dict (the body wins). Clients POST forms, GET query
    strings, and a few POST a query string with an empty body; JSON objects are read too."""
    params = {k: v for k, v in request.query.items()}
    # body_exists, not can_read_body: a fault or strict mode may have read it (aiohttp keeps it)
    if request.method != "POST" or not request.body_exists:
        return params
    try:
        if request.content_type == "application/json":
            data = await read_json(request)
            if not isinstance(data, dict):
                raise InvalidParameters()
            params.update({str(k): _text(v) for k, v in data.items() if v is not None})
            return params
        params.update(await read_form(request))
    except BodyError as err:
        # the document's bare 400 for a body it cannot read; a readable one names its field
        raise InvalidParameters(None if err.field == "body" else err.field.split(".")[0]) from None
    return params


def _text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def required(params: dict[str, str], name: str) -> str:
    value = params.get(name, "").strip()
    if not value:
        raise InvalidParameters(name)
    return value


def optional(params: dict[str, str], name: str) -> str | None:
    """An optional field; sent empty (``limit=``) counts as not sent."""
    value = params.get(name, "").strip()
    return value or None


def find_user(state: "AccountState", ref: str | int | None) -> "Employee | None":
    """The employee a CRM names: login, extension or direct number (``telnum``), as the
    document allows for makeCall and ``responsible``."""
    if ref is None or isinstance(ref, bool):
        return None
    ref = str(ref).strip()
    if not ref:
        return None
    emp = state.employee_by_login(ref) or state.employee_by_ext(ref)
    if emp is not None:
        return emp
    digits = ref.lstrip("+")
    for e in state.employees.values():
        if e.direct_number and e.direct_number.lstrip("+") == digits:
            return e
    return None


def user_param(state: "AccountState", params: dict[str, str]) -> "Employee":
    emp = find_user(state, required(params, "user"))
    if emp is None:
        raise InvalidParameters("user")
    return emp


def phone_param(params: dict[str, str]) -> str:
    """The number makeCall dials: digits only; the live service refuses a leading '+'."""
    phone = required(params, "phone")
    if not (phone.isascii() and phone.isdigit()) or not 2 <= len(phone) <= 20:
        raise InvalidParameters("phone")
    return phone


def switch_param(params: dict[str, str], name: str, on: str, off: str) -> bool:
    value = required(params, name).lower()
    if value == on:
        return True
    if value == off:
        return False
    raise InvalidParameters(name)


def group_param(state: "AccountState", params: dict[str, str], employee: "Employee",
                needed: bool) -> "Department | None":
    """``group_id``: a department the employee belongs to (a subscription exists only there)."""
    group_id = required(params, "group_id") if needed else optional(params, "group_id")
    if group_id is None:
        return None
    dept = state.departments.get(group_id)
    if dept is None or dept.member(employee.id) is None:
        raise InvalidParameters("group_id")
    return dept


# ---- history query ----------------------------------------------------------------------------

@dataclass
class HistoryQuery:
    start: float
    end: float
    type: str = "all"
    limit: int | None = None


def parse_utc(value: str, name: str) -> float:
    """``YYYYmmddTHHMMSSZ`` (documented); ``YYYY-MM-DDTHH:MM:SSZ`` and ISO-8601 with an offset
    are read too, because clients of this API family send them."""
    try:
        return datetime.strptime(value, COMPACT_UTC).replace(tzinfo=timezone.utc).timestamp()
    except ValueError:
        pass
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidParameters(name) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)   # the document says the values are UTC
    return when.timestamp()


def history_query(params: dict[str, str], now: float, utc_offset: float) -> HistoryQuery:
    """The period wins; else ``end`` defaults to now and ``start`` to the start of ``end``'s day
    (account time zone); nothing given is today."""
    kind = (optional(params, "type") or "all").lower()
    if kind not in HISTORY_TYPES:
        raise InvalidParameters("type")
    limit_text = optional(params, "limit")
    limit = None
    if limit_text is not None:
        if not (limit_text.isascii() and limit_text.isdigit()) or not limit_text.strip("0"):
            raise InvalidParameters("limit")
        # a limit of more digits than any call count is all of them (and past Python's
        # 4300-digit conversion limit, it cannot be converted)
        limit = int(limit_text) if len(limit_text) <= 18 else 10 ** 18
    period = optional(params, "period")
    if period is not None:
        period = period.lower()
        if period not in PERIODS:
            raise InvalidParameters("period")
    try:
        start, end = _window(params, period, now, utc_offset)
    except (OverflowError, OSError, ValueError):
        # a date the calendar cannot hold (year 1 minus a day, year 10000 ...)
        raise InvalidParameters("end" if optional(params, "end") else "start") from None
    return HistoryQuery(start=start, end=end, type=kind, limit=limit)


def _window(params: dict[str, str], period: str | None, now: float, utc_offset: float) -> tuple[float, float]:
    start_text, end_text = optional(params, "start"), optional(params, "end")
    if period is not None:          # period overrides start and end, whatever they hold
        return period_window(period, now, utc_offset)
    if start_text is None and end_text is None:
        return period_window("today", now, utc_offset)
    end = parse_utc(end_text, "end") if end_text is not None else now + 1
    if start_text is not None:
        return parse_utc(start_text, "start"), end
    return period_window("today", end - 1, utc_offset)[0], end


# ---- rendering --------------------------------------------------------------------------------



def employee_json(emp: "Employee") -> dict:
    item = {"name": emp.login, "realName": emp.name, "ext": emp.ext}
    if emp.direct_number:
        item["telnum"] = emp.direct_number
    if emp.email:
        item["email"] = emp.email
    return item


def group_json(dept: "Department") -> dict:
    # the document's example writes the group's ext as a number (`ext: 701`)
    ext: int | str = int(dept.ext) if dept.ext.isdigit() else dept.ext
    return {"id": dept.id, "realName": dept.name, "ext": ext}


@dataclass
class Party:
    """Who a finished call belongs to: ``name`` is the PBX account (employee login, department
    ``g_<id>``, or ``ivr`` / ``fax`` when the call reached no employee)."""
    name: str
    employee: "Employee | None" = None
    department: "Department | None" = None

    def account(self, host: str) -> str:
        return self.name if self.name in ("ivr", "fax") else f"{self.name}@{host}"


def party(state: "AccountState", cdr: "CallRecord") -> Party:
    dept = state.departments.get(cdr.department_id) if cdr.department_id else None
    emp = state.employees.get(cdr.employee_id) if cdr.employee_id is not None else None
    if emp is not None and (cdr.answered or cdr.direction == "out"):
        return Party(emp.login, emp, dept)
    if cdr.department_id:
        return Party(f"g_{cdr.department_id}", None, dept)
    if cdr.destination == "fax":
        return Party("fax")
    if emp is not None and cdr.destination == "user":
        return Party(emp.login, emp, None)     # a direct call that rang the employee unanswered
    return Party("ivr")


def history_type(cdr: "CallRecord") -> str:
    if cdr.direction == "out":
        return "out"
    return "in" if cdr.answered else "missed"


def local_iso(ts: float, utc_offset: float) -> str:
    tz = timezone(timedelta(hours=utc_offset))
    return datetime.fromtimestamp(ts, tz).replace(microsecond=0).isoformat()


def compact_utc(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime(COMPACT_UTC)


def record_link(public_url: str, account: "Account", cdr: "CallRecord") -> str:
    if not cdr.record_file:
        return ""
    path = RECORD_PATH.format(call_id=cdr.id)
    return f"{public_url}{path}?key={record_key(account, cdr.id)}"


def history_rows(account: "Account", query: HistoryQuery, public_url: str) -> Iterator[str]:
    """CSV lines ``UID,type,client,account,via,start,wait,duration,record`` in start order,
    stopping at ``limit`` (the window is a bisected slice, never a scan)."""
    state = account.state
    count = 0
    for cdr in state.cdrs.iter_window(query.start, query.end):
        if cdr.direction not in ("in", "out"):
            continue
        kind = history_type(cdr)
        if query.type != "all" and kind != query.type:
            continue
        fields = (cdr.id, kind, cdr.client, party(state, cdr).account(account.domain), cdr.via,
                  local_iso(cdr.started_at, account.utc_offset), str(cdr.wait_s), str(cdr.talk_s),
                  record_link(public_url, account, cdr))
        # clients split on ',' with no quoting: a field never carries one
        yield ",".join(f.replace(",", " ").replace("\n", " ") for f in fields)
        count += 1
        if query.limit is not None and count >= query.limit:
            return
