"""Requests and answers of the vats CRM API v1: pydantic bodies (with how each one changes the
account) and the renderers of users, departments, numbers, SIMs, blacklist and history.

Field names, order and formats follow seed 002; where the seed is silent the choice is in
this package's README.
"""

from __future__ import annotations

import copy
import re
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any, Iterator, Literal

from aiohttp import web
from multidict import MultiDict
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ...body import BodyError, read_form, read_json
from ...http import json_response
from ...core.accounts import Account
from ...core.clock import PERIODS, period_window
from ...core.models import (
    BlacklistEntry,
    CallRecord,
    CompanyNumber,
    Department,
    DepartmentMember,
    Employee,
    Route,
    SimCard,
)
from ...core.store import AccountState
from .errors import NotFound, ValidationFailed

BASE_PATH = "/crmapi/v1"
DEFAULT_POSITION = "Менеджер"
FIRST_EXT = 700
DAY_NAMES = {"monday": "mon", "tuesday": "tue", "wednesday": "wed", "thursday": "thu",
             "friday": "fri", "saturday": "sat", "sunday": "sun"}
PHONE = r"^\+?[0-9]{3,20}$"


# ---- reading requests ------------------------------------------------------------------------

async def read_body(request: web.Request) -> Any:
    """A JSON body, or form fields; an empty body is ``{}``."""
    if not request.body_exists:   # not can_read_body: strict mode may have read it already (aiohttp keeps it)
        return {}
    ctype = request.content_type
    try:
        if ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            return await read_form(request)
        # only a body of no bytes is "no fields": whitespace alone is not JSON (PHP's json_decode)
        return {} if not await request.read() else await read_json(request)
    except BodyError as err:
        raise ValidationFailed.field(err.field, VATS_REASONS.get(err.reason, err.reason)) from None


# the reader's reasons in this API's words (its README: "Bad input")
VATS_REASONS = {"is not valid JSON": "invalid JSON", "is not a valid form": "invalid form"}


async def list_params(request: web.Request):
    """The parameters of a list or history GET: the query, over a JSON object in the body (the
    seed's examples send them as a JSON body on GET; the query wins when both name one)."""
    if not request.can_read_body:
        return request.query
    body = await read_body(request)
    if not isinstance(body, dict) or not body:
        return request.query
    params = MultiDict((str(k), _param_text(v)) for k, v in body.items()
                       if isinstance(v, (str, int, float)) and not isinstance(v, bool))
    for key in set(request.query):
        params.popall(key, None)
    params.extend(request.query)
    return params


def _param_text(value: str | int | float) -> str:
    return value if isinstance(value, str) else str(int(value)) if float(value).is_integer() else str(value)


def _field_errors(err: ValidationError, prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"] if p not in ("function-after", "function-before"))
        out[prefix + (loc or "body")] = e["msg"].removeprefix("Value error, ")
    return out


class _Body(BaseModel):
    # unknown fields are ignored as the live API does; numbers sent for strings are accepted
    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)

    @classmethod
    def parse(cls, data: Any):
        if not isinstance(data, dict):
            raise ValidationFailed.field("body", "must be a JSON object")
        try:
            return cls.model_validate(data)
        except ValidationError as err:
            raise ValidationFailed(_field_errors(err)) from None


QUERY_INT_MAX = 2 ** 63 - 1   # PHP's (int) of a larger number: the largest integer


def query_int(query, name: str, default: int | None, minimum: int = 0) -> int | None:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValidationFailed.field(name, "must be a number") from None
    if value < minimum:
        raise ValidationFailed.field(name, f"must be at least {minimum}")
    return min(value, QUERY_INT_MAX)


# ---- lists: search / start / limit and the items + info envelope (seed §3.2) ---------------

def page(params, items: list[dict], fields: tuple[str, ...]) -> web.Response:
    """A list answer (seed §2): ``search`` in ``fields``, then ``start``/``limit``; ``params``:
    ``list_params`` (the query over a JSON body)."""
    query = params
    search = query.get("search", "")
    start = query_int(query, "start", 0)
    limit = query_int(query, "limit", 0)   # 0 or absent: everything from start
    if search:
        needle = search.lower()
        items = [i for i in items if any(needle in str(i.get(f, "")).lower() for f in fields)]
    total = len(items)
    chunk = items[start:start + limit] if limit else items[start:]
    info: dict[str, Any] = {"search": search, "start": start, "limit": limit or total, "total": total}
    if limit and start + limit < total:
        info["next"] = start + limit
    return json_response({"items": chunk, "info": info})


# ---- employees -------------------------------------------------------------------------------

def find_user(state: AccountState, ref: str) -> Employee:
    """The ``{login}`` of a path: a login or an extension (seed §6)."""
    emp = state.employee_by_login(ref) or state.employee_by_ext(ref)
    if emp is None:
        raise NotFound()
    return emp


def user_by_ref(state: AccountState, ref: str) -> Employee | None:
    return state.employee_by_login(ref) or state.employee_by_ext(ref)


def render_user(emp: Employee) -> dict:
    redirect = emp.mobile_redirect or {}
    if redirect.get("enabled"):
        mobile_redirect = {"enabled": True, "forward": bool(redirect.get("forward", False)),
                           "delay": int(redirect.get("delay", 0))}
    else:
        mobile_redirect = {"enabled": False}
    return {"login": emp.login, "name": emp.name, "position": emp.position, "ext": emp.ext,
            "telnum": emp.direct_number, "email": emp.email, "role": emp.role, "mobile": emp.mobile,
            "mobile_redirect": mobile_redirect}


USER_SEARCH = ("login", "name", "position", "ext", "telnum", "email", "mobile")


class _Named(_Body):
    """Users and groups: a ``name`` that may be absent (update) but never blank."""
    name: str | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, v: str | None) -> str | None:
        if v is not None and not v.strip():
            raise ValueError("must not be empty")
        return v.strip() if v is not None else v


class MobileRedirectIn(_Body):
    enabled: bool
    forward: bool = False
    delay: int = 0

    @field_validator("delay")
    @classmethod
    def _delay(cls, v: int) -> int:
        if v not in (0, 5, 10, 15):
            raise ValueError("must be one of 0, 5, 10, 15")
        return v


class _UserFields(_Named):
    password: str | None = None
    position: str | None = None
    email: str | None = None
    ext: str | None = Field(None, pattern=r"^[0-9]{2,6}$")
    role: Literal["admin", "user", "restricted_user"] | None = None
    mobile: str | None = Field(None, pattern=r"^(\+?[0-9]{5,15})?$")
    mobile_redirect: MobileRedirectIn | None = None

    @field_validator("email")
    @classmethod
    def _email(cls, v: str | None) -> str | None:
        if v and not re.match(r"^[^@\s]+@[^@\s]+$", v):
            raise ValueError("is not an e-mail address")
        return v

    def _check(self, state: AccountState, emp: Employee | None) -> None:
        sent = self.model_fields_set
        if self.ext is not None:
            other = state.employee_by_ext(self.ext)
            if (other is not None and other is not emp) or any(d.ext == self.ext for d in state.departments.values()):
                raise ValidationFailed.field("ext", "is taken")
        mobile = self.mobile if "mobile" in sent else (emp.mobile if emp else "")
        if self.mobile_redirect is not None and self.mobile_redirect.enabled and not mobile:
            raise ValidationFailed.field("mobile", "is required for mobile_redirect")

    def _apply(self, emp: Employee) -> None:
        sent = self.model_fields_set
        for attr, key in (("name", "name"), ("position", "position"), ("email", "email"),
                          ("ext", "ext"), ("role", "role"), ("mobile", "mobile")):
            if key in sent:
                value = getattr(self, key)
                if value is None:
                    if key in ("name", "ext", "role"):
                        continue
                    value = ""
                setattr(emp, attr, value)
        if "password" in sent and self.password is not None:
            emp.extra["password"] = self.password
        if "mobile_redirect" in sent:
            mr = self.mobile_redirect
            emp.mobile_redirect = ({"enabled": mr.enabled, "forward": mr.forward, "delay": mr.delay}
                                   if mr is not None else {"enabled": False, "forward": False, "delay": 0})
        if not emp.mobile and emp.mobile_redirect.get("enabled"):
            emp.mobile_redirect = {"enabled": False, "forward": False, "delay": 0}


class UserCreate(_UserFields):
    name: str
    login: str | None = Field(None, pattern=r"^[A-Za-z0-9._-]{1,64}$")

    def create(self, account: Account) -> Employee:
        state = account.state
        self._check(state, None)
        ext = self.ext or state.free_ext(FIRST_EXT)
        login = self.login or free_login(state, f"u{ext}")
        if state.employee_by_login(login) is not None:
            raise ValidationFailed.field("login", "is taken")
        emp = Employee(id=state.next_id("employee", max(state.employees, default=0) + 1), login=login,
                       ext=ext, name=self.name, position=DEFAULT_POSITION, role="user")
        self._apply(emp)
        emp.ext = ext
        if "password" not in emp.extra:
            emp.extra["password"] = "%012x" % account.rng.getrandbits(48)   # generated, never shown
        state.employees[emp.id] = emp
        return emp


def free_login(state: AccountState, base: str) -> str:
    """``base``, or ``base_2``, ``base_3`` … the first no employee has (a generated login is
    never "taken")."""
    logins = {e.login for e in state.employees.values()}
    login, n = base, 2
    while login in logins:
        login, n = f"{base}_{n}", n + 1
    return login


class UserUpdate(_UserFields):
    def update(self, state: AccountState, emp: Employee) -> None:
        self._check(state, emp)
        self._apply(emp)


# ---- departments -----------------------------------------------------------------------------

TIMEOUT_TARGETS = {"voicemail": "voicemail", "user": "employee", "group": "department", "telnum": "external"}
TIMEOUT_TARGETS_BACK = {v: k for k, v in TIMEOUT_TARGETS.items()}
GROUP_SEARCH = ("id", "name", "ext")


def find_group(state: AccountState, group_id: str) -> Department:
    dept = state.departments.get(group_id)
    if dept is None:
        raise NotFound()
    return dept


def render_group(state: AccountState, dept: Department) -> dict:
    users = []
    for m in dept.members:
        emp = state.employees.get(m.employee_id)
        if emp is not None:
            users.append({"login": emp.login, "name": emp.name, "calls_enable": m.calls_enabled})
    target = TIMEOUT_TARGETS_BACK.get(dept.timeout_target, "voicemail")
    timeout: dict[str, Any] = {"time": dept.timeout, "target": target}
    if target != "voicemail":
        timeout[target] = dept.timeout_value
    return {"id": dept.id, "name": dept.name, "ext": dept.ext, "call_order": dept.call_order,
            "call_duration": 0 if dept.call_order == "ALL" else dept.ring_interval,
            "users": users, "timeout": timeout, "advanced": dept.advanced}


class TimeoutIn(_Body):
    time: int = 120
    target: Literal["voicemail", "user", "group", "telnum"] = "voicemail"
    user: str | None = None
    group: str | None = None
    telnum: str | None = None

    @field_validator("time")
    @classmethod
    def _time(cls, v: int) -> int:
        if v not in (15, 30, 60, 120, 300, 600):
            raise ValueError("must be one of 15, 30, 60, 120, 300, 600")
        return v

    def resolve(self, state: AccountState) -> str:
        """The core timeout value (login, department id or number) for the target."""
        if self.target == "voicemail":
            return ""
        ref = getattr(self, self.target)
        if not ref:
            raise ValidationFailed.field(f"timeout.{self.target}", f"is required when target is {self.target}")
        if self.target == "user":
            emp = user_by_ref(state, ref)
            if emp is None:
                raise ValidationFailed.field("timeout.user", "unknown user")
            return emp.login
        if self.target == "group":
            if ref not in state.departments:
                raise ValidationFailed.field("timeout.group", "unknown group")
            return ref
        if not re.match(PHONE, ref):
            raise ValidationFailed.field("timeout.telnum", "is not a phone number")
        return ref


class MemberIn(_Body):
    login: str
    calls_enable: bool = True


class _GroupFields(_Named):
    ext: str | None = Field(None, pattern=r"^[0-9]{2,6}$")
    call_order: Literal["ALL", "EVENLY", "BYORDER", "WATERFALL"] | None = None
    call_duration: int | None = None
    timeout: TimeoutIn | None = None
    advanced: Literal["off", "msg_busy", "callback"] | None = None
    users: list[MemberIn] | None = None

    def _prepare(self, state: AccountState, dept: Department | None) -> dict[str, Any]:
        """Check everything first, so a refused request changes nothing."""
        changes: dict[str, Any] = {}
        sent = self.model_fields_set
        order = self.call_order or (dept.call_order if dept else "ALL")
        if self.ext is not None:
            taken = state.employee_by_ext(self.ext) is not None or any(
                d.ext == self.ext and d is not dept for d in state.departments.values())
            if taken:
                raise ValidationFailed.field("ext", "is taken")
            changes["ext"] = self.ext
        if self.call_duration is not None:
            allowed = (0, 5, 10, 15, 20, 25, 30) if order == "ALL" else (5, 10, 15, 20, 25, 30)
            if self.call_duration not in allowed:
                raise ValidationFailed.field("call_duration", "must be one of 5, 10, 15, 20, 25, 30")
            if self.call_duration:
                changes["ring_interval"] = self.call_duration
        if self.timeout is not None:
            changes["timeout"] = self.timeout.time
            changes["timeout_target"] = TIMEOUT_TARGETS[self.timeout.target]
            changes["timeout_value"] = self.timeout.resolve(state)
        if self.users is not None:
            members, seen = [], set()
            for i, m in enumerate(self.users):
                emp = user_by_ref(state, m.login)
                if emp is None:
                    raise ValidationFailed.field(f"users.{i}.login", "unknown user")
                if emp.id not in seen:
                    seen.add(emp.id)
                    members.append(DepartmentMember(emp.id, m.calls_enable))
            changes["members"] = members
        for key in ("name", "call_order", "advanced"):
            if key in sent and getattr(self, key) is not None:
                changes[key] = getattr(self, key)
        return changes


class GroupCreate(_GroupFields):
    name: str

    def create(self, account: Account) -> Department:
        state = account.state
        changes = self._prepare(state, None)
        dept = Department(id="g_" + str(uuid.UUID(int=account.rng.getrandbits(128), version=4)),
                          name=self.name, ext=changes.pop("ext", None) or state.free_ext(FIRST_EXT),
                          call_order="ALL", ring_interval=15, timeout=120, timeout_target="voicemail")
        for key, value in changes.items():
            setattr(dept, key, value)
        state.departments[dept.id] = dept
        return dept


class GroupUpdate(_GroupFields):
    def update(self, state: AccountState, dept: Department) -> None:
        for key, value in self._prepare(state, dept).items():
            setattr(dept, key, value)


class GroupMembersEdit(_Body):
    add: list[str] = Field(default_factory=list)
    calls_disable: list[str] = Field(default_factory=list)
    remove: list[str] = Field(default_factory=list)
    position: int = -1

    def apply(self, state: AccountState, dept: Department) -> None:
        """add (reception on) → calls_disable → remove, in that order (seed §8.6)."""
        def resolve(key: str) -> list[Employee]:
            out = []
            for i, ref in enumerate(getattr(self, key)):
                emp = user_by_ref(state, ref)
                if emp is None:
                    raise ValidationFailed.field(f"{key}.{i}", "unknown user")
                out.append(emp)
            return out

        if self.position < -1:
            raise ValidationFailed.field("position", "must be -1, 0 or a position")
        add, disable, remove = resolve("add"), resolve("calls_disable"), resolve("remove")
        members = list(dept.members)
        new = []
        for emp in add:
            existing = next((m for m in members if m.employee_id == emp.id), None)
            if existing is not None:
                existing.calls_enabled = True
            elif all(m.employee_id != emp.id for m in new):
                new.append(DepartmentMember(emp.id, True))
        at = len(members) if self.position == -1 else min(self.position, len(members))
        members[at:at] = new
        for emp in disable:
            for m in members:
                if m.employee_id == emp.id:
                    m.calls_enabled = False
        gone = {e.id for e in remove}
        dept.members = [m for m in members if m.employee_id not in gone]


# ---- company numbers -------------------------------------------------------------------------

VATS_ROUTE = {"employee": "user", "department": "group", "ivr": "ivr", "schedule": "scheduler", "fax": "fax"}
TELNUM_SEARCH = ("telnum", "user", "user_name", "group", "group_name", "location")


def find_number(state: AccountState, telnum: str) -> CompanyNumber:
    number = state.company_number(telnum)
    if number is None:
        raise NotFound()
    return number


def _greeting(route: Route) -> bool:
    return bool(route.extra.get("greeting", bool(route.greeting)))


def _target_fields(state: AccountState, route: Route) -> dict:
    if route.type == "employee":
        emp = user_by_ref(state, route.target)
        return {"user": emp.login if emp else route.target, "user_name": emp.name if emp else ""}
    if route.type == "department":
        dept = state.departments.get(route.target)
        return {"group": route.target, "group_name": dept.name if dept else ""}
    return {}


def render_ivr(state: AccountState, route: Route) -> dict:
    items = []
    for button, sub in route.ivr.items():
        item: dict[str, Any] = {"button": button, "type": VATS_ROUTE.get(sub.type, sub.type)}
        if sub.type == "employee":
            item["user"] = sub.target
        elif sub.type == "department":
            item["group"] = sub.target
        elif sub.type == "ivr":
            item["ivr"] = sub.extra.get("name", "")
        elif sub.type == "external":
            item["telnum"] = sub.target
        items.append(item)
    if route.ivr_default and route.ivr_default != "timeout" and route.ivr_default in route.ivr:
        # the core's "nothing pressed" choice is vats's timeout button
        items.append({**next(i for i in items if i["button"] == route.ivr_default), "button": "timeout"})
    return {"name": route.extra.get("name", ""), "greeting": _greeting(route),
            "greeting_custom": bool(route.extra.get("greeting_custom", False)), "items": items}


def render_duty(route: Route) -> dict:
    kinds = {"employee": "user", "department": "group", "external": "telnum"}
    subtype = kinds.get(route.type, route.type)
    out: dict[str, Any] = {"subtype": subtype}
    if subtype in ("user", "group", "telnum"):
        out[subtype] = route.target
    out["greeting"] = _greeting(route)
    return out


def render_schedule(route: Route) -> dict:
    out = {}
    for day, short in DAY_NAMES.items():
        spans = route.schedule.get(short) or []
        if spans:
            out[day] = {"start": spans[0][0], "end": spans[0][1], "holiday": False}
        else:
            out[day] = {"start": 0, "end": 0, "holiday": True}
    return out


def render_telnum(account: Account, number: CompanyNumber) -> dict:
    state = account.state
    route = number.route
    extra = number.extra
    out: dict[str, Any] = {"type": VATS_ROUTE.get(route.type, route.type)}
    out.update(_target_fields(state, route))
    out.update({
        "greeting": _greeting(route),
        "is_main_phone": bool(extra.get("is_main_phone", number.number == account.default_clid())),
        "location": extra.get("location", ""),
        "disabled": not number.enabled,
        "telnum": number.number,
        "crm": extra.get("crm", ""),
        "calltracking": extra.get("calltracking", ""),
    })
    for key in ("abc_telnum", "abc_location"):
        if extra.get(key):
            out[key] = extra[key]
    if "greeting_custom" in route.extra:
        out["greeting_custom"] = bool(route.extra["greeting_custom"])
    if route.type == "ivr":
        out["ivr"] = render_ivr(state, route)
    elif route.type == "schedule":
        if route.work is not None:
            out["work"] = render_duty(route.work)
        if route.other is not None:
            out["other"] = render_duty(route.other)
        out["schedule"] = render_schedule(route)
    return out


class IvrItemIn(_Body):
    button: str = Field(pattern=r"^([0-9*#]|timeout)$")
    type: Literal["user", "group", "ivr"]
    user: str | None = None
    group: str | None = None
    ivr: str | None = None


class IvrIn(_Body):
    name: str = ""
    greeting: bool = False
    greeting_custom: bool = False
    items: list[IvrItemIn] = Field(default_factory=list)


class DutyIn(_Body):
    subtype: Literal["user", "group", "telnum"]
    user: str | None = None
    group: str | None = None
    telnum: str | None = None
    greeting: bool = False

    @model_validator(mode="before")
    @classmethod
    def _type_alias(cls, data: Any) -> Any:
        # the seed names the field subtype; route objects elsewhere call it type
        if isinstance(data, dict) and "subtype" not in data and "type" in data:
            data = {**data, "subtype": data["type"]}
        return data


class WorkDayIn(_Body):
    start: int = Field(ge=0, le=86400)
    end: int = Field(ge=0, le=86400)

    @model_validator(mode="after")
    def _order(self) -> "WorkDayIn":
        if self.start >= self.end:
            raise ValueError("start must be before end")
        return self


class TelnumRouteIn(_Body):
    type: Literal["user", "group", "ivr", "scheduler", "fax"]
    greeting: bool
    user: str | None = None
    group: str | None = None
    ivr: IvrIn | None = None
    work: DutyIn | None = None
    other: DutyIn | None = None
    schedule: dict[Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"],
                   WorkDayIn] | None = None

    def build(self, account: Account, number: CompanyNumber) -> Route:
        """The new core route (checked whole before anything changes)."""
        state = account.state
        extra = {"greeting": self.greeting}
        if self.type == "user":
            return Route(type="employee", target=self._user(state, self.user, "user"), extra=extra)
        if self.type == "group":
            return Route(type="department", target=self._group(state, self.group, "group"), extra=extra)
        if self.type == "fax":
            return Route(type="fax", extra=extra)
        if self.type == "ivr":
            if self.ivr is None:
                raise ValidationFailed.field("ivr", "is required when type is ivr")
            route = self._menu(account, number, self.ivr, "ivr")
            route.extra["greeting"] = self.greeting
            return route
        if self.work is None:
            raise ValidationFailed.field("work", "is required when type is scheduler")
        if self.schedule is None:
            raise ValidationFailed.field("schedule", "is required when type is scheduler")
        schedule = {}
        for day, span in self.schedule.items():
            # working hours are kept to the minute (seed §9.7)
            schedule[DAY_NAMES[day]] = [(round(span.start / 60) * 60, round(span.end / 60) * 60)]
        return Route(type="schedule", schedule=schedule, work=self._duty(state, self.work, "work"),
                     other=self._duty(state, self.other, "other") if self.other is not None else None,
                     extra=extra)

    @staticmethod
    def _user(state: AccountState, ref: str | None, where: str) -> str:
        if not ref:
            raise ValidationFailed.field(where, "is required")
        emp = user_by_ref(state, ref)
        if emp is None:
            raise ValidationFailed.field(where, "unknown user")
        return emp.login

    @staticmethod
    def _group(state: AccountState, ref: str | None, where: str) -> str:
        if not ref:
            raise ValidationFailed.field(where, "is required")
        if ref not in state.departments:
            raise ValidationFailed.field(where, "unknown group")
        return ref

    def _duty(self, state: AccountState, duty: DutyIn, where: str) -> Route:
        extra = {"greeting": duty.greeting}
        if duty.subtype == "user":
            return Route(type="employee", target=self._user(state, duty.user, f"{where}.user"), extra=extra)
        if duty.subtype == "group":
            return Route(type="department", target=self._group(state, duty.group, f"{where}.group"), extra=extra)
        if not duty.telnum or not re.match(PHONE, duty.telnum):
            raise ValidationFailed.field(f"{where}.telnum", "is not a phone number")
        return Route(type="external", target=duty.telnum, extra=extra)

    def _menu(self, account: Account, number: CompanyNumber, ivr: IvrIn, where: str) -> Route:
        state = account.state
        route = Route(type="ivr", greeting=number.route.greeting if number.route.type == "ivr" else "",
                      extra={"name": ivr.name, "greeting_custom": ivr.greeting_custom})
        for i, item in enumerate(ivr.items):
            at = f"{where}.items.{i}"
            if item.type == "user":
                sub = Route(type="employee", target=self._user(state, item.user, f"{at}.user"))
            elif item.type == "group":
                sub = Route(type="department", target=self._group(state, item.group, f"{at}.group"))
            else:
                sub = self._named_menu(account, item.ivr, f"{at}.ivr")
            route.ivr[item.button] = sub
        route.ivr_default = "timeout" if "timeout" in route.ivr else ""
        return route

    @staticmethod
    def _named_menu(account: Account, name: str | None, where: str) -> Route:
        """Another menu of the account, by name (a copy: routes stay a tree)."""
        if not name:
            raise ValidationFailed.field(where, "is required")
        for n in account.state.numbers.values():
            if n.route.type == "ivr" and n.route.extra.get("name") == name:
                return copy.deepcopy(n.route)
        raise ValidationFailed.field(where, "unknown ivr")


# ---- SIM cards -------------------------------------------------------------------------------

SIM_SEARCH = ("telnum", "user", "user_name")


def find_sim(state: AccountState, telnum: str) -> SimCard:
    sim = state.sims.get(telnum) or state.sims.get(telnum.lstrip("+"))
    if sim is None:
        sim = next((s for s in state.sims.values() if s.number.lstrip("+") == telnum.lstrip("+")), None)
    if sim is None:
        raise NotFound()
    return sim


def render_sim(state: AccountState, sim: SimCard) -> dict:
    emp = state.employees.get(sim.employee_id) if sim.employee_id is not None else None
    return {"telnum": sim.number, "user": emp.login if emp else "", "user_name": emp.name if emp else "",
            "company": sim.state == "company", "autocaller": bool(sim.extra.get("autocaller", False)),
            "disabled": sim.state == "disabled", "calltracking": sim.extra.get("calltracking", ""),
            "abc_telnum": sim.extra.get("abc_telnum", ""), "abc_location": sim.extra.get("abc_location", "")}


# ---- blacklist -------------------------------------------------------------------------------

WEEK_S = 7 * 86400
YEAR_S = 365 * 86400


def render_blacklist(entry: BlacklistEntry, now: float, statistics: bool) -> dict:
    out: dict[str, Any] = {"telnum": entry.number, "comment": entry.comment}
    if statistics:
        out["week"] = sum(1 for t in entry.blocked_at if now - WEEK_S <= t <= now)
        out["year"] = sum(1 for t in entry.blocked_at if now - YEAR_S <= t <= now)
    return out


class BlacklistItemIn(_Body):
    telnum: str = Field(pattern=r"^\+?[0-9]{1,20}\*?$")
    comment: str = ""


def parse_blacklist(data: Any) -> list[BlacklistItemIn]:
    """One ``{telnum, comment}`` object or a list of them."""
    if isinstance(data, dict) and isinstance(data.get("telnums"), list):
        data = data["telnums"]
    if isinstance(data, dict) and isinstance(data.get("telnum"), list):
        # seed §11.2: "a list of numbers/ranges and a comment"
        data = [{"telnum": t, "comment": data.get("comment", "")} for t in data["telnum"]]
    if isinstance(data, dict):
        return [BlacklistItemIn.parse(data)]
    if isinstance(data, list) and data:
        items = []
        for i, item in enumerate(data):
            try:
                items.append(BlacklistItemIn.parse(item))
            except ValidationFailed as err:
                raise ValidationFailed({f"{i}.{k}": v for k, v in err.errors.items()}) from None
        return items
    raise ValidationFailed.field("telnum", "Field required")


def add_blacklist(state: AccountState, items: list[BlacklistItemIn], now: float) -> None:
    for item in items:
        key = item.telnum.lstrip("+")
        entry = state.blacklist.get(key)
        if entry is None:
            state.blacklist[key] = BlacklistEntry(number=key, comment=item.comment, created_at=now)
        else:
            entry.comment = item.comment


# ---- makecall --------------------------------------------------------------------------------

class MakeCallIn(_Body):
    phone: str = Field(pattern=PHONE)
    user: str = Field(min_length=1)
    clid: str | None = Field(None, pattern=r"^(\+?[0-9]{3,20})?$")


# ---- history (seed §4) -----------------------------------------------------------------------

EXTERNAL_TYPES = ("all", "in", "out", "missed")
INNER_TYPES = ("all", "success", "noanswer")
DATE_FORMATS = ("%Y%m%dT%H%M%SZ", "%Y%m%dT%H%M%S", "%Y%m%d")


def parse_when(value: str, name: str) -> float:
    """``YYYYmmddTHHMMSSZ`` (documented) or ISO-8601 ``2026-01-01T00:00:00Z``; naive is UTC."""
    text = value.strip()
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=timezone.utc).timestamp()
        except ValueError:
            pass
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "+"))
    except ValueError:
        raise ValidationFailed.field(name, "must be YYYYmmddTHHMMSSZ") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.timestamp()


class HistoryQuery:
    """The period rules of seed §4.5: period wins; else start/end, where a missing end is now
    and a missing start is the start of end's day; nothing given is today."""

    def __init__(self, query, now: float, utc_offset: float, inner: bool):
        self.inner = inner
        period = query.get("period") or ""
        if period and period not in PERIODS:
            raise ValidationFailed.field("period", "must be one of " + ", ".join(PERIODS))
        types = INNER_TYPES if inner else EXTERNAL_TYPES
        self.type = query.get("type") or "all"
        if self.type not in types:
            raise ValidationFailed.field("type", "must be one of " + ", ".join(types))
        self.limit = query_int(query, "limit", 0) or None
        start, end = query.get("start") or "", query.get("end") or ""
        if period or not (start or end):   # the seed: period wins "regardless of start and end"
            self.start, self.end = period_window(period or "today", now, utc_offset)
            return
        end_ts = parse_when(end, "end") if end else now
        if start:
            start_ts = parse_when(start, "start")
        else:
            tz = timezone(timedelta(hours=utc_offset))
            start_ts = datetime.fromtimestamp(end_ts, tz).replace(
                hour=0, minute=0, second=0, microsecond=0).timestamp()
        if start_ts > end_ts:
            raise ValidationFailed.field("start", "must not be after end")
        self.start, self.end = start_ts, end_ts + 1   # end is inclusive to the second

    def records(self, account: Account) -> Iterator[CallRecord]:
        """Matching CDRs, newest first, at most ``limit`` (a bisected window, never a scan)."""
        n = 0
        for cdr in account.state.cdrs.iter_window(self.start, self.end, reverse=True):
            if not self._wanted(cdr):
                continue
            yield cdr
            n += 1
            if self.limit and n >= self.limit:
                return

    def _wanted(self, cdr: CallRecord) -> bool:
        t = self.type
        if self.inner:
            return cdr.direction == "internal" and (t == "all" or (t == "success") == cdr.answered)
        if cdr.direction == "internal":
            return False
        if t == "all":
            return True
        if t == "missed":
            return cdr.direction == "in" and not cdr.answered
        return cdr.direction == t


def iso_z(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def compact_z(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def record_url(base_url: str, cdr: CallRecord) -> str:
    """Where the recording is served (same API host, same X-API-KEY)."""
    return f"{base_url}{BASE_PATH}/records/{cdr.id}.mp3" if cdr.record_file else ""


def call_user(state: AccountState, cdr: CallRecord) -> Employee | None:
    """The employee a call belongs to: who talked, who called out, or the one user a direct
    incoming call rang; nobody for a department call nobody answered."""
    if cdr.direction == "in" and not cdr.answered and cdr.department_id is not None:
        return None
    if cdr.employee_id is None:
        return None
    return state.employees.get(cdr.employee_id)


# the documented values (seed §2.1 / vats.md "History")
HISTORY_STATUSES = ("success", "missed", "no_answer")
HISTORY_DESTINATIONS = ("user", "group", "telnum", "ivr", "onduty", "offtime", "hello", "vm", "am")
INNER_STATUSES = ("success", "noanswer")

# core destination → vats "Адресат входящего звонка"
DESTINATIONS = {"user": "user", "group": "group", "telnum": "telnum", "ivr": "ivr", "vm": "vm",
                "fax": "am", "offtime": "offtime", "blocked": "hello", "disabled": "hello", "none": "hello"}


def external_status(cdr: CallRecord) -> str:
    if cdr.answered:
        return "success"
    return "missed" if cdr.direction == "in" else "no_answer"


def render_history(account: Account, cdr: CallRecord, base_url: str) -> dict:
    state = account.state
    emp = call_user(state, cdr)
    dept = state.departments.get(cdr.department_id) if cdr.department_id else None
    if cdr.direction == "in" and cdr.on_duty:
        destination = "onduty"   # out of hours, to the schedule's on-duty target
    elif cdr.direction == "in":
        destination = "user" if cdr.answered and cdr.destination != "telnum" else DESTINATIONS.get(cdr.destination, "hello")
    else:
        destination = ""
    out: dict[str, Any] = {
        "uid": cdr.id, "type": cdr.direction, "direction": cdr.direction, "status": external_status(cdr),
        "client": cdr.client, "account": emp.login if emp else "", "destination": destination,
        "user": emp.login if emp else "", "user_name": emp.name if emp else "",
        "group_name": dept.name if dept else "", "diversion": cdr.via, "start": iso_z(cdr.started_at),
        "wait": cdr.wait_s, "duration": cdr.talk_s, "record": record_url(base_url, cdr),
    }
    if cdr.rating is not None:
        out["rating"] = cdr.rating
    return out


def history_csv_line(account: Account, cdr: CallRecord, base_url: str) -> str:
    state = account.state
    emp = call_user(state, cdr)
    kind = "missed" if cdr.direction == "in" and not cdr.answered else cdr.direction
    if emp is not None:
        who = f"{emp.login}@{account.domain}"
    elif cdr.department_id:
        who = f"{cdr.department_id}@{account.domain}"
    else:
        who = ""
    return ",".join((cdr.id, kind, cdr.client, who, cdr.via, iso_z(cdr.started_at), str(cdr.wait_s),
                     str(cdr.talk_s), record_url(base_url, cdr)))


def _parties(state: AccountState, cdr: CallRecord) -> tuple[Employee | None, Employee | None]:
    return state.employee_by_ext(cdr.caller), state.employee_by_ext(cdr.callee)


def render_inner(account: Account, cdr: CallRecord, base_url: str) -> dict:
    a, b = _parties(account.state, cdr)
    return {"uid": cdr.id, "status": "success" if cdr.answered else "noanswer",
            "from": a.login if a else cdr.caller, "to": b.login if b else cdr.callee,
            "from_name": a.name if a else cdr.caller_name, "to_name": b.name if b else cdr.callee_name,
            "start": iso_z(cdr.started_at), "wait": cdr.wait_s, "duration": cdr.talk_s,
            "record": record_url(base_url, cdr)}


def inner_csv_line(account: Account, cdr: CallRecord, base_url: str) -> str:
    a, b = _parties(account.state, cdr)
    host = account.domain
    return ",".join((cdr.id, "success" if cdr.answered else "noanswer",
                     f"{a.login if a else cdr.caller}@{host}", f"{b.login if b else cdr.callee}@{host}",
                     iso_z(cdr.started_at), str(cdr.wait_s), str(cdr.talk_s), record_url(base_url, cdr)))
