"""Phonet's wire shapes: request bodies (pydantic v2, strict JSON types) and the rendering of
users, Teler contacts and notes, and call records (company / missed / users views of a CDR).

Where the document is silent the rules are those of ``specs/phonet.md`` (§4.5, §4.11–§4.18);
see README.md next to this file for each choice.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, StrictInt, StrictStr, ValidationError

from .errors import BadRequest

if TYPE_CHECKING:
    from ...core.accounts import Account
    from ...core.models import CallRecord, Contact, Employee, Note, PauseRecord

PHONE_CODE = "Телефон"
FIRST_CODE, LAST_CODE, COMPANY_CODE, EMAIL_CODE = "Имя", "Фамилия", "Компания", "Email"


def ms(ts: float | None) -> int | None:
    return None if ts is None else int(round(ts * 1000))


def digits(number: str | None) -> str:
    return re.sub(r"\D", "", number or "")


def numbers_match(a: str, b: str) -> bool:
    """Digits equal, or the shorter (≥ 9 digits) is a suffix of the longer (§4.14)."""
    if not a or not b:
        return False
    if a == b:
        return True
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    return len(short) >= 9 and long_.endswith(short)


# ---- request bodies ----------------------------------------------------------------------------

def _integral(value: Any) -> Any:
    # Jackson binds a JSON number with a zero fraction (112.0) to a long; JSON says it is the integer
    if isinstance(value, float) and value.is_integer() and abs(value) < 2 ** 63:
        return int(value)
    return value


# strict otherwise: a string or a boolean for a number is refused
JsonInt = Annotated[StrictInt, BeforeValidator(_integral)]


class _Body(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")


class AuthorizeBody(_Body):
    domain: StrictStr
    apiKey: StrictStr


class MakeCallBody(_Body):
    legExt: StrictStr | JsonInt          # the doc's curl sends 202 as a number
    otherLegNum: StrictStr


class ValueBody(_Body):
    id: JsonInt | None = None
    enumValueCode: StrictStr | None = None
    lastModified: JsonInt | None = None
    value: StrictStr


class FieldBody(_Body):
    id: JsonInt | None = None
    enumCode: StrictStr
    values: list[ValueBody] = []


class ContactBody(_Body):
    id: JsonInt | None = None
    firstName: StrictStr | None = None
    lastName: StrictStr | None = None
    companyTitle: StrictStr | None = None
    responsibleUserId: JsonInt | None = None
    createUserId: JsonInt | None = None
    fields: list[FieldBody] | None = None


class BatchBody(_Body):
    merge: Literal[0, 1] = 0
    contacts: list[Any]


# the 20 keys of a note and their template defaults (seed, "Получение списка заметок")
NOTE_TEMPLATE: dict[str, Any] = {
    "id": 0, "elementId": 0, "elementType": 0, "noteType": 0, "dateCreate": 0, "lastModified": 0,
    "content": None, "responsibleUserId": 0, "otherLegNum": "", "otherLegName": None, "status": None,
    "errorMsg": None, "uuid": "", "end": 0, "legId": 0, "logicDirection": 0, "billSec": 0,
    "recordLink": "", "trunk": "", "tag": "",
}


class NoteBody(_Body):
    id: JsonInt | None = None
    elementId: JsonInt | None = None
    elementType: JsonInt | None = None
    noteType: JsonInt | None = None
    dateCreate: JsonInt | None = None
    lastModified: JsonInt | None = None
    content: StrictStr | None = None
    responsibleUserId: JsonInt | None = None
    otherLegNum: StrictStr | None = None
    otherLegName: StrictStr | None = None
    status: Any = None                    # undocumented type: stored as sent
    errorMsg: StrictStr | None = None
    uuid: StrictStr | None = None
    end: JsonInt | None = None
    legId: JsonInt | None = None
    logicDirection: JsonInt | None = None
    billSec: JsonInt | None = None
    recordLink: StrictStr | None = None
    trunk: StrictStr | None = None
    tag: StrictStr | None = None


def parse(model: type[BaseModel], data: Any):
    """Validate ``data``; the first problem becomes a 400 naming the parameter."""
    if not isinstance(data, dict):
        raise BadRequest("body", "must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        loc = ".".join(str(p) for p in first["loc"] if not str(p).startswith(("str", "int", "function")))
        missing = first["type"] == "missing"
        raise BadRequest(loc or "body", "is required" if missing else "is invalid") from None


# ---- users -------------------------------------------------------------------------------------

def _ext_key(emp: "Employee"):
    return (0, int(emp.ext), emp.ext) if emp.ext.isdigit() else (1, 0, emp.ext)




def users(account: "Account") -> list[dict]:
    emps = sorted(account.state.employees.values(), key=_ext_key)
    return [{"id": e.id, "displayName": e.name, "ext": e.ext, "email": e.email} for e in emps]


def event_leg(emp: "Employee | None") -> dict | None:
    """``leg``/``leg2`` of webhooks and active calls."""
    if emp is None:
        return None
    return {"id": emp.id, "ext": emp.ext, "displayName": emp.name}


def history_leg(emp: "Employee | None") -> dict | None:
    """``leg``/``leg2`` of call history (key order as in the doc's example)."""
    if emp is None:
        return None
    return {"id": emp.id, "type": 1, "displayName": emp.name, "ext": emp.ext}


# ---- Teler contacts ---------------------------------------------------------------------------
# A core Contact keeps Phonet's representation in ``Contact.fields`` (firstName, lastName,
# companyTitle, createUserId, dateCreate/lastModified in ms, fields[] with ids); the neutral
# name / numbers / company / email are kept in step for the other parts of the simulator.

def teler(account: "Account", contact: "Contact") -> dict:
    """The contact's Phonet data, created from the neutral fields the first time."""
    data = contact.fields
    if "fields" in data:
        return data
    state = account.state
    at = ms(contact.updated_at or contact.created_at) or 0
    first, _, last = (contact.name or "").partition(" ")
    rows: list[dict] = []

    def add(code: str, value_code: str, values: list[str]) -> None:
        values = [v for v in values if v]
        if values:
            rows.append({"id": state.next_id("phonet_field", 30000), "enumCode": code, "values": [
                {"id": state.next_id("phonet_value", 50000), "enumValueCode": value_code,
                 "lastModified": at, "value": v} for v in values]})

    add(FIRST_CODE, FIRST_CODE, [first])
    add(LAST_CODE, LAST_CODE, [last])
    add(PHONE_CODE, "Рабочий", list(contact.numbers))
    add(EMAIL_CODE, "Email рабочий", [contact.email])
    add(COMPANY_CODE, COMPANY_CODE, [contact.company])
    data.update({"firstName": first or None, "lastName": last or None,
                 "companyTitle": contact.company or None,
                 "createUserId": contact.responsible_employee_id or 0,
                 "dateCreate": ms(contact.created_at) or 0, "lastModified": at, "fields": rows})
    return data


def field_values(data: dict, code: str) -> list[str]:
    return [v["value"] for f in data["fields"] if f["enumCode"].lower() == code.lower() for v in f["values"]]


def sync_core(contact: "Contact") -> None:
    """Keep the neutral fields in step with the Phonet representation."""
    data = contact.fields
    name = " ".join(p for p in (data.get("firstName"), data.get("lastName")) if p)
    if not name:
        name = " ".join(field_values(data, FIRST_CODE)[:1] + field_values(data, LAST_CODE)[:1])
    contact.name = name
    contact.numbers = field_values(data, PHONE_CODE)
    emails = field_values(data, EMAIL_CODE)
    contact.email = emails[0] if emails else ""
    companies = field_values(data, COMPANY_CODE)
    contact.company = data.get("companyTitle") or (companies[0] if companies else "")
    contact.created_at = data.get("dateCreate", 0) / 1000
    contact.updated_at = data.get("lastModified", 0) / 1000


def render_contact(account: "Account", contact: "Contact") -> dict:
    data = teler(account, contact)
    return {
        "id": contact.id,
        "firstName": data.get("firstName"),
        "lastName": data.get("lastName"),
        "companyTitle": data.get("companyTitle"),
        "lastModified": data.get("lastModified", 0),
        "responsibleUserId": contact.responsible_employee_id or 0,
        "dateCreate": data.get("dateCreate", 0),
        "createUserId": data.get("createUserId", 0),
        "fields": [{"id": f["id"], "enumCode": f["enumCode"],
                    "values": [dict(v) for v in f["values"]]} for f in data["fields"]],
    }


def contact_name(account: "Account", contact: "Contact") -> str | None:
    data = teler(account, contact)
    name = " ".join(p for p in (data.get("firstName"), data.get("lastName")) if p)
    if not name:
        name = " ".join(field_values(data, FIRST_CODE)[:1] + field_values(data, LAST_CODE)[:1])
    return name or None


def company_name(account: "Account", contact: "Contact") -> str | None:
    data = teler(account, contact)
    companies = field_values(data, COMPANY_CODE)
    return data.get("companyTitle") or (companies[0] if companies else None)


def phone_digits(account: "Account", contact: "Contact") -> list[str]:
    return [digits(v) for v in field_values(teler(account, contact), PHONE_CODE)]


def replace_fields(account: "Account", data: dict, sent: list[FieldBody], now_ms: int) -> None:
    """``fields`` sent on update replace the list; known ids are kept, others get new ids."""
    state = account.state
    old_fields = {f["id"]: f for f in data["fields"]}
    rows = []
    for f in sent:
        old = old_fields.get(f.id) if f.id is not None else None
        old_values = {v["id"]: v for v in old["values"]} if old else {}
        values = []
        for v in f.values:
            prev = old_values.get(v.id) if v.id is not None else None
            code = v.enumValueCode or f.enumCode
            if prev is not None and prev["value"] == v.value and prev["enumValueCode"] == code:
                values.append(dict(prev))
                continue
            values.append({"id": prev["id"] if prev else state.next_id("phonet_value", 50000),
                           "enumValueCode": code, "lastModified": now_ms, "value": v.value})
        rows.append({"id": old["id"] if old else state.next_id("phonet_field", 30000),
                     "enumCode": f.enumCode, "values": values})
    data["fields"] = rows


def add_fields(account: "Account", data: dict, sent: list[FieldBody], now_ms: int) -> None:
    """Batch merge into an existing contact: add the values it does not have yet."""
    state = account.state
    for f in sent:
        target = next((x for x in data["fields"] if x["enumCode"] == f.enumCode), None)
        if target is None:
            target = {"id": state.next_id("phonet_field", 30000), "enumCode": f.enumCode, "values": []}
            data["fields"].append(target)
        have = [v["value"] for v in target["values"]]
        phone = f.enumCode.lower() == PHONE_CODE.lower()
        for v in f.values:
            if v.value in have or (phone and any(numbers_match(digits(v.value), digits(h)) for h in have)):
                continue   # already there (phones compare by digits, §4.14)
            have.append(v.value)
            target["values"].append({"id": state.next_id("phonet_value", 50000),
                                     "enumValueCode": v.enumValueCode or f.enumCode,
                                     "lastModified": now_ms, "value": v.value})


class TelerIndex:
    """Contacts by the last 9 digits of their phones: one build per request or call."""

    def __init__(self, account: "Account"):
        self.account = account
        self._by_tail: dict[str, list["Contact"]] = {}
        for contact in sorted(account.state.contacts.values(), key=lambda c: c.id):
            for d in phone_digits(account, contact):
                if d:
                    self._by_tail.setdefault(d[-9:], []).append(contact)

    def find(self, number: str | None) -> "Contact | None":
        d = digits(number)
        if not d:
            return None
        for contact in self._by_tail.get(d[-9:], ()):
            if any(numbers_match(d, p) for p in phone_digits(self.account, contact)):
                return contact
        return None


# ---- notes -------------------------------------------------------------------------------------

def render_note(note: "Note") -> dict:
    return dict(note.extra["phonet"])


# ---- call records ------------------------------------------------------------------------------

# core outcome → Phonet disposition (§4.5)
DISPOSITION = {
    "answered": 0, "missed": 1, "cancelled": 1, "out_of_hours": 1, "voicemail": 1,
    "busy": 4, "dnd": 4,
    "unavailable": 3, "forbidden": 3, "not_found": 3, "blocked_blacklist": 3, "blocked_anonymous": 3,
    "not_in_white_list": 3, "only_internal": 3,
    "congestion": 2, "max_sessions": 2,     # "route (direction) overloaded": no free line
}
LG_DIRECTION = {"internal": 1, "out": 2, "in": 4}
LG_DIRECTIONS = (1, 2, 4, 32, 64)       # 32 / 64: pause set / removed (§4.8)
DISPOSITIONS = (0, 1, 2, 3, 4)          # §4.5


def disposition(outcome: str | None) -> int:
    return DISPOSITION.get(outcome or "missed", 1)


def trunk_string(number: str, tried: tuple = ()) -> str | None:
    """``o=<digits>;`` per line tried (§A31): several when the first lines were full."""
    out = "".join(f"o={d};" for d in map(digits, tried or (number,)) if d)
    return out or None


class CallViews:
    """Renders call records for one request: company-level, per-employee-leg."""

    def __init__(self, account: "Account", public_url: str):
        self.account = account
        self.state = account.state
        self.public_url = public_url.rstrip("/")
        self._teler: TelerIndex | None = None

    def audio_url(self, uuid: str) -> str:
        return f"{self.public_url}/rest/public/calls/{uuid}/audio"

    def teler_index(self) -> TelerIndex:
        if self._teler is None:
            self._teler = TelerIndex(self.account)
        return self._teler

    def other_leg_name(self, cdr: "CallRecord") -> str | None:
        if cdr.direction == "internal":
            return None
        name = cdr.caller_name if cdr.direction == "in" else cdr.callee_name
        if not name:
            contact = self.teler_index().find(cdr.client)
            name = contact_name(self.account, contact) if contact else None
        return name or cdr.client or None

    def _department_leg(self, dept_id: str) -> dict | None:
        dept = self.state.departments.get(dept_id)
        if dept is None:
            return None
        return {"id": department_number(self.account, dept_id), "type": 2,
                "displayName": dept.name, "ext": dept.ext or None}

    def _scenario_leg(self, cdr: "CallRecord") -> dict:
        numbers = list(self.state.numbers)
        number = self.state.company_number(cdr.trunk)
        idx = numbers.index(number.number) + 1 if number is not None and number.number in numbers else 0
        name = (number.name if number is not None else "") or cdr.trunk or "IVR"
        return {"id": idx, "type": 4, "displayName": name, "ext": None}

    def _transfer_history(self, cdr: "CallRecord") -> str | None:
        if cdr.direction == "internal" or cdr.answered_at is None:
            return None
        if cdr.transfers:
            return cdr.transfer_history
        emp = self.state.employees.get(cdr.employee_id) if cdr.employee_id is not None else None
        if cdr.direction == "out":
            emp = self.state.employee_by_ext(cdr.caller) or emp
        return emp.ext if emp else None

    def _base(self, cdr: "CallRecord") -> dict:
        external = cdr.direction != "internal"
        return {
            "otherLegNum": (cdr.client or None) if external else None,
            "otherLegName": self.other_leg_name(cdr),
            "trunk": trunk_string(cdr.trunk, cdr.trunks) if external else None,
        }

    def company(self, cdr: "CallRecord") -> dict:
        """One record per root call (``parentUuid`` null): company.api, missed.api."""
        st = self.state
        leg2 = None
        if cdr.direction == "in":
            leg = None
            if cdr.department_id and not cdr.transfers:
                leg = self._department_leg(cdr.department_id)
            if leg is None and cdr.employee_id is not None:
                leg = history_leg(st.employees.get(cdr.employee_id))
            if leg is None:
                leg = self._scenario_leg(cdr)
        else:
            leg = history_leg(st.employee_by_ext(cdr.caller) or st.employees.get(cdr.employee_id or -1)) \
                or self._scenario_leg(cdr)
            if cdr.direction == "internal":
                leg2 = history_leg(st.employee_by_ext(cdr.callee))
        base = self._base(cdr)
        answered = cdr.answered_at is not None
        return {
            "parentUuid": None,
            "uuid": cdr.id,
            "endAt": ms(cdr.ended_at),
            "lgDirection": LG_DIRECTION[cdr.direction],
            "otherLegNum": base["otherLegNum"],
            "otherLegName": base["otherLegName"],
            "leg": leg,
            "leg2": leg2,
            "billSecs": cdr.talk_s,
            "duration": cdr.duration_s,
            "disposition": disposition(cdr.outcome),
            "transferHistory": self._transfer_history(cdr),
            "audioRecUrl": self.audio_url(cdr.id) if answered and cdr.record_file else None,
            "trunk": base["trunk"],
        }

    def user_legs(self, cdr: "CallRecord") -> list[tuple[str, "Employee | None", float, float | None, float]]:
        """(uuid, employee, dialled, answered, ended) of each Phonet leg of a call."""
        st = self.state
        legs = list(cdr.legs)
        if cdr.direction == "in":
            return [(lid, st.employees.get(eid), rang, ans, end or cdr.ended_at)
                    for lid, eid, rang, ans, end in legs if eid is not None]
        # outgoing / internal: the caller's leg carries the root uuid; transfer legs follow
        root_pos = next((i for i, leg in enumerate(legs) if leg[0] == cdr.id), None)
        caller = st.employee_by_ext(cdr.caller)
        first = legs[0] if legs else None
        start = first[2] if first else cdr.started_at
        root_end = legs[root_pos][4] if root_pos is not None and legs[root_pos][4] else cdr.ended_at
        out = [(cdr.id, caller, start, cdr.answered_at, root_end)]
        if root_pos is not None:
            for lid, eid, rang, ans, end in legs[root_pos + 1:]:
                if eid is not None:
                    out.append((lid, st.employees.get(eid), rang, ans, end or cdr.ended_at))
        return out

    def pause(self, record: "PauseRecord") -> dict:
        """users.api's record of a pause set (32) or removed (64): the employee alone."""
        emp = self.state.employees.get(record.employee_id)
        return {
            "parentUuid": None, "uuid": record.id, "endAt": ms(record.at),
            "lgDirection": 32 if record.on else 64, "otherLegNum": None, "otherLegName": None,
            "leg": history_leg(emp) or {"id": record.employee_id, "type": 1, "displayName": "", "ext": None},
            "leg2": None, "billSecs": 0, "duration": 0, "disposition": 0, "transferHistory": None,
            "audioRecUrl": None, "trunk": None,
        }

    def users(self, cdr: "CallRecord") -> list[dict]:
        """One record per employee leg: users.api."""
        base = self._base(cdr)
        records = []
        for uuid, emp, rang, answered, ended in self.user_legs(cdr):
            leg2 = history_leg(self.state.employee_by_ext(cdr.callee)) if cdr.direction == "internal" else None
            talk = max(0, int(round(ended - answered))) if answered is not None else 0
            if answered is not None:
                disp, th = 0, (None if cdr.direction == "internal" else emp.ext if emp else None)
            else:
                disp, th = (1 if cdr.answered_at is not None else disposition(cdr.outcome)), None
            if uuid == cdr.id and answered is not None and cdr.transfers:
                th = cdr.transfer_history
            records.append({
                "parentUuid": None if uuid == cdr.id else cdr.id,
                "uuid": uuid,
                "endAt": ms(ended),
                "lgDirection": LG_DIRECTION[cdr.direction],
                "otherLegNum": base["otherLegNum"],
                "otherLegName": base["otherLegName"],
                "leg": history_leg(emp) or {"id": 0, "type": 1, "displayName": cdr.caller, "ext": cdr.caller},
                "leg2": leg2,
                "billSecs": talk,
                "duration": max(0, int(round(ended - rang))),
                "disposition": disp,
                "transferHistory": th,
                "audioRecUrl": self.audio_url(uuid) if answered is not None and cdr.record_file else None,
                "trunk": base["trunk"],
            })
        return records


def department_number(account: "Account", dept_id: str) -> int:
    """Phonet ids are numbers; core department ids are strings (``g1``): use their digits,
    else their position."""
    d = digits(dept_id)
    if d:
        return int(d)
    return list(account.state.departments).index(dept_id) + 1
